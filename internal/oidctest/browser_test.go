package oidctest_test

import (
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/helpdeskapps/gateway/internal/chromiumtest"
	"github.com/helpdeskapps/gateway/internal/oidctest"
)

// opener is the relying party's page: a button opening the authorization
// request in a popup, and the popup's answer (the callback's query).
var opener = template.Must(template.New("").Parse(`<!DOCTYPE html>
<title>relying party</title>
<button id="open">Sign in</button>
<pre id="result"></pre>
<script>
document.getElementById("open").onclick = () => window.open({{.}}, "signin", "popup,width=480,height=600");
addEventListener("message", (e) => {
	if (e.origin === location.origin) document.getElementById("result").textContent = e.data;
});
</script>`))

// callback is the redirect_uri: it hands its query to the opener and closes.
const callback = `<!DOCTYPE html>
<title>callback</title>
<script>opener.postMessage(location.search, location.origin); window.close();</script>`

// TestBrowserPopupSignIn signs in in a popup of headless Chromium over
// plain http, the provider under a *.localhost name (Chromium resolves it to
// loopback; its cookies are apart from 127.0.0.1's), the relying party on
// 127.0.0.1: another site. A second popup with prompt=none gets a code
// without a page: the provider's session cookie was kept and sent.
func TestBrowserPopupSignIn(t *testing.T) {
	browser := chromiumtest.Browser(t)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /start", func(w http.ResponseWriter, r *http.Request) {
		_ = opener.Execute(w, r.URL.Query().Get("auth"))
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, callback)
	})
	rpServer := httptest.NewServer(mux)
	t.Cleanup(rpServer.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config()
	cfg.Listener = ln.(*net.TCPListener)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	cfg.Issuer = "http://idp.localhost:" + port
	cfg.Clients[0].RedirectURIs = []string{rpServer.URL + "/callback"}
	p := oidctest.Start(t, cfg)
	r := newRP(t, p, gatewayID, gatewaySecret, rpServer.URL+"/callback")

	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, time.Minute)
	t.Cleanup(cancel)

	// popup opens the authorization request in a popup from the opener,
	// lets act drive it, and returns the query the popup came back with.
	popup := func(authURL string, act func(ctx context.Context) error) url.Values {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(rpServer.URL+"/start?"+url.Values{"auth": {authURL}}.Encode())); err != nil {
			t.Fatalf("opener: %v", err)
		}
		opened := chromedp.WaitNewTarget(ctx, func(info *target.Info) bool { return info.Type == "page" })
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("open"))); err != nil {
			t.Fatalf("opening the popup: %v", err)
		}
		if act != nil {
			id, ok := <-opened
			if !ok {
				t.Fatal("no popup")
			}
			popupCtx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
			defer cancel()
			if err := act(popupCtx); err != nil {
				t.Fatalf("in the popup: %v", err)
			}
		}
		result, err := chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById("result").textContent`))
		if err != nil {
			t.Fatalf("waiting for the popup's answer: %v", err)
		}
		q, err := url.ParseQuery(result[1:])
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	check := func(q url.Values, f flow) {
		t.Helper()
		if q.Get("error") != "" || q.Get("state") != f.state {
			t.Fatalf("the popup came back with %v", q)
		}
		tok, err := r.exchange(q.Get("code"), f.verifier)
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if idToken, _ := r.verify(t, tok, f.nonce); idToken.Subject != "alice" {
			t.Errorf("sub = %s, want alice", idToken.Subject)
		}
	}

	f := newFlow()
	q := popup(r.authURL(f), func(ctx context.Context) error {
		return chromedp.Do(ctx,
			chromedp.WaitVisible(chromedp.ID("sign-in")),
			chromedp.SendKeys(chromedp.CSS(`input[name="login"]`), "alice@example.com"),
			chromedp.Click(chromedp.ID("sign-in")),
		)
	})
	check(q, f)

	// The session cookie, as the browser keeps it.
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.Issuer() + "/auth"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range res.Cookies {
		names = append(names, fmt.Sprintf("%s (domain %s, path %s, HttpOnly %v, Secure %v, SameSite %s)", c.Name, c.Domain, c.Path, c.HTTPOnly, c.Secure, c.SameSite))
		if c.Name == "_session" && (c.Secure || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || c.Domain != "idp.localhost") {
			t.Errorf("session cookie %+v", c)
		}
	}
	t.Logf("the provider's cookies after sign-in: %v", names)

	f = newFlow()
	check(popup(r.authURL(f, oauth2.SetAuthURLParam("prompt", "none")), nil), f)
}
