package caddymodule

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/helpdeskapps/gateway/caddymodule/signin"
	"github.com/helpdeskapps/gateway/internal/oidctest"
)

// oidcGateway is a running Caddy whose only sessions are its own, signed
// in with a real OpenID provider:
//   - crm: agents of division 7;
//   - owners: owners, any division;
//   - north: any role of division north.
type oidcGateway struct {
	base string
	p    *oidctest.Provider
	up   *upstream
}

func startOIDCGateway(t *testing.T, mismatch string) *oidcGateway {
	t.Helper()
	addr := freeAddr(t)
	g := &oidcGateway{base: "http://" + addr, up: newUpstream(t)}
	g.p = oidctest.Start(t, oidctest.Config{
		Clients: []oidctest.Client{{ID: "helpdesk-apps", Secret: "gateway-secret", RedirectURIs: []string{g.base + "/apps/_auth/callback"}}},
		Accounts: []oidctest.Account{
			{Sub: "alice", Email: "alice@example.com", Name: "Alice Agent", Role: "agent", DivisionID: 7},
			{Sub: "bob", Email: "bob@example.com", Name: "Bob Owner", Role: "Owner", DivisionID: "north"},
			{Sub: "carol", Email: "carol@example.com", Name: "Carol Agent", Role: "agent", DivisionID: "north"},
		},
	})
	startCaddyfile(t, fmt.Sprintf(`http://%s {
	bind 127.0.0.1
	handle /metrics {
		metrics
	}
	helpdesk_apps /apps {
		frame_ancestors https://helpdesk.vendor.test
		session {
			oidc {
				issuer %s
				client_id helpdesk-apps
				client_secret gateway-secret
				scopes openid email profile helpdesk
				mismatch %s
			}
		}
		app crm {
			roles agent
			divisions 7
			to %[4]s
		}
		app owners {
			roles owner
			to %[4]s
		}
		app north {
			divisions north
			to %[4]s
		}
	}
	respond "helpdesk"
}`, addr, g.p.Issuer(), mismatch, g.up.hostport()))
	return g
}

// flowOf returns a frame's flow secret and its hash, as the sign-in page
// makes them.
func flowOf(secret string) (string, string) {
	sum := sha256.Sum256([]byte(secret))
	return secret, base64.RawURLEncoding.EncodeToString(sum[:])
}

// island reads the JSON island id of a page: its strings as they are,
// its other values as JSON.
func island(t *testing.T, page, id string) map[string]string {
	t.Helper()
	m := regexp.MustCompile(`<script type="?application/json"? id="?` + id + `"?>([^<]*)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s island in:\n%s", id, page)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(m[1]), &raw); err != nil {
		t.Fatal(err)
	}
	v := make(map[string]string, len(raw))
	for k, r := range raw {
		var s string
		if json.Unmarshal(r, &s) == nil {
			v[k] = s
		} else {
			v[k] = string(r)
		}
	}
	return v
}

// signIn runs the whole sign-in as the frame and its popup do, over
// HTTP, and returns the session cookie.
func (g *oidcGateway) signIn(t *testing.T, login string) *http.Cookie {
	t.Helper()
	// The frame: no session, the sign-in page.
	resp, page := get(t, g.base+"/apps/crm/", "", "Sec-Fetch-Dest", "iframe", "Accept", "text/html")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors https://helpdesk.vendor.test") {
		t.Fatalf("the frame without a session: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	data := island(t, page, "signin-data")
	if data["app"] != "" {
		t.Errorf("the sign-in page names the app %q", data["app"])
	}
	if data["targets"] != `["https://helpdesk.vendor.test"]` {
		t.Errorf("the sign-in page posts its ready to %s, want the Helpdesk's origin only", data["targets"])
	}
	secret, hash := flowOf("frame-secret-" + login)

	// The popup: start, the provider, the callback.
	resp, _ = get(t, data["startURL"]+"&flow="+hash, "")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	var state *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == signin.StateCookie {
			state = c
		}
	}
	redirect, err := g.p.SignIn(context.Background(), g.p.HTTPClient(), resp.Header.Get("Location"), login)
	if err != nil {
		t.Fatal(err)
	}
	resp, page = get(t, redirect.String(), "", "Cookie", state.Name+"="+state.Value)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback: %d %s", resp.StatusCode, page)
	}
	done := island(t, page, "done-data")
	if done["targetOrigin"] != g.base || done["code"] == "" {
		t.Fatalf("the popup's last page: %v", done)
	}

	// The frame trades the code, from its own origin.
	body := strings.NewReader(`{"code":"` + done["code"] + `","flow":"` + secret + `"}`)
	req, _ := http.NewRequest(http.MethodPost, g.base+data["exchangeURL"], body)
	req.Header.Set("Origin", g.base)
	req.Header.Set("Content-Type", "application/json")
	resp, page = do(t, req)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("exchange: %d %s", resp.StatusCode, page)
	}
	for _, c := range resp.Cookies() {
		if c.Name == signin.SessionCookie && c.Value != "" {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// withSession sends a GET with the gateway's session cookie.
func withSession(t *testing.T, u string, c *http.Cookie, hdr ...string) (*http.Response, string) {
	t.Helper()
	return get(t, u, "", append([]string{"Cookie", c.Name + "=" + c.Value}, hdr...)...)
}

func TestOIDCSignInOpensAppsByTheProvidersClaims(t *testing.T) {
	g := startOIDCGateway(t, MismatchWarn)
	alice := g.signIn(t, "alice")

	resp, body := withSession(t, g.base+"/apps/crm/hello", alice)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("crm as alice: %d %s", resp.StatusCode, body)
	}
	s := decodeSeen(t, body)
	if s.Header.Get("X-Helpdesk-User-Id") != "alice" || s.Header.Get("X-Helpdesk-User-Role") != "agent" || s.Header.Get("X-Helpdesk-Division-Id") != "7" {
		t.Errorf("crm's upstream saw the identity %v", s.Header)
	}
	if cookie := s.Header.Get("Cookie"); strings.Contains(cookie, "helpdesk_apps") {
		t.Errorf("the gateway's session reached the upstream: %q", cookie)
	}

	// Each rule, as with the Helpdesk's tokens: role and division both.
	bob, carol := g.signIn(t, "bob"), g.signIn(t, "carol")
	for _, tc := range []struct {
		who    string
		c      *http.Cookie
		app    string
		status int
	}{
		{"alice (agent, 7)", alice, "crm", 200},
		{"carol (agent, north): the division", carol, "crm", 403},
		{"bob (owner, north): the role", bob, "crm", 403},
		{"bob: an Owner claim is the owner role", bob, "owners", 200},
		{"alice: not an owner", alice, "owners", 403},
		{"carol: division north", carol, "north", 200},
		{"bob: division north, any role", bob, "north", 200},
		{"alice: division 7", alice, "north", 403},
	} {
		if resp, body := withSession(t, g.base+"/apps/"+tc.app+"/", tc.c); resp.StatusCode != tc.status {
			t.Errorf("%s, %s: %d; want %d: %s", tc.who, tc.app, resp.StatusCode, tc.status, body)
		}
	}

	// The manifest and me read the same session.
	if resp, body := withSession(t, g.base+"/apps/_api/apps", carol); resp.StatusCode != 200 || strings.Contains(body, `"crm"`) || !strings.Contains(body, `"north"`) {
		t.Errorf("carol's manifest: %d %s", resp.StatusCode, body)
	}

	// Signed out, the cookie is gone and the frame asks again.
	req, _ := http.NewRequest(http.MethodPost, g.base+"/apps/_auth/signout", nil)
	req.Header.Set("Origin", g.base)
	req.AddCookie(alice)
	resp, _ = do(t, req)
	if resp.StatusCode != http.StatusNoContent || !strings.Contains(resp.Header.Get("Set-Cookie"), signin.SessionCookie+"=;") {
		t.Errorf("sign-out: %d %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
	}

	samples := scrape(t, g.base)
	for result, want := range map[string]string{"started": "3", "completed": "3", "exchanged": "3", "signed_out": "1"} {
		if got := samples[`caddy_helpdesk_apps_signins_total{result="`+result+`"}`]; got != want {
			t.Errorf("sign-ins %s: %q; want %s", result, got, want)
		}
	}
	if got := samples[`caddy_helpdesk_apps_requests_total{app="crm",outcome="forbidden"}`]; got != "2" {
		t.Errorf("crm refused %q times; want 2", got)
	}
}

func TestOIDCRefusesWhatAnAttackerSends(t *testing.T) {
	g := startOIDCGateway(t, MismatchWarn)
	_, hash := flowOf("x")
	for _, tc := range []struct {
		name, url string
		status    int
	}{
		{"a start for a frame of another site", g.base + "/apps/_auth/start?origin=" + url.QueryEscape("http://evil.test") + "&flow=" + hash, 400},
		{"a start for a frame of another scheme", g.base + "/apps/_auth/start?origin=" + url.QueryEscape(strings.Replace(g.base, "http:", "https:", 1)) + "&flow=" + hash, 400},
		{"a start for a frame of this origin", g.base + "/apps/_auth/start?origin=" + url.QueryEscape(g.base) + "&flow=" + hash, 302},
		{"a start without a flow", g.base + "/apps/_auth/start?origin=" + url.QueryEscape(g.base), 400},
		{"a callback this browser did not start", g.base + "/apps/_auth/callback?code=abc&state=def", 400},
	} {
		if resp, body := get(t, tc.url, ""); resp.StatusCode != tc.status {
			t.Errorf("%s: %d; want %d: %s", tc.name, resp.StatusCode, tc.status, body)
		}
	}
	// An exchange posted by another origin, or with a forged code.
	for _, origin := range []string{"https://evil.test", ""} {
		req, _ := http.NewRequest(http.MethodPost, g.base+"/apps/_auth/session", strings.NewReader(`{"code":"x","flow":"y"}`))
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if resp, _ := do(t, req); resp.StatusCode != http.StatusForbidden {
			t.Errorf("an exchange from %q: %d; want 403", origin, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, g.base+"/apps/_auth/session", strings.NewReader(`{"code":"forged","flow":"y"}`))
	req.Header.Set("Origin", g.base)
	if resp, body := do(t, req); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("Content-Type"), "problem+json") {
		t.Errorf("a forged code: %d %s", resp.StatusCode, body)
	}
	// A forged session cookie, and an app's attempt to plant one.
	if resp, _ := withSession(t, g.base+"/apps/crm/", &http.Cookie{Name: signin.SessionCookie, Value: "forged"}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a forged session: %d", resp.StatusCode)
	}
	alice := g.signIn(t, "alice")
	resp, _ := withSession(t, g.base+"/apps/crm/headers?h="+url.QueryEscape("Set-Cookie: "+signin.SessionCookie+"=planted; Path=/; Secure"), alice)
	if got := resp.Header.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("an app set the gateway's session cookie: %q", got)
	}
}

func TestOIDCMismatchWithTheHelpdesksUser(t *testing.T) {
	for _, policy := range []string{MismatchWarn, MismatchDeny} {
		t.Run(policy, func(t *testing.T) {
			g := startOIDCGateway(t, policy)
			alice := g.signIn(t, "alice")
			check := func(body string) *http.Response {
				req, _ := http.NewRequest(http.MethodPost, g.base+"/apps/_auth/check", strings.NewReader(body))
				req.Header.Set("Origin", g.base)
				req.AddCookie(alice)
				resp, _ := do(t, req)
				return resp
			}
			if resp := check(`{"id":"u-9","email":"ALICE@example.com"}`); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("the same user by e-mail: %d", resp.StatusCode)
			}
			resp := check(`{"id":"u-7","email":"mallory@example.com"}`)
			if policy == MismatchWarn {
				if resp.StatusCode != http.StatusNoContent {
					t.Fatalf("warn: %d", resp.StatusCode)
				}
				if r, _ := withSession(t, g.base+"/apps/crm/", alice); r.StatusCode != 200 {
					t.Fatalf("warn ended the session: %d", r.StatusCode)
				}
				return
			}
			if resp.StatusCode != http.StatusConflict || !strings.Contains(resp.Header.Get("Set-Cookie"), signin.SessionCookie+"=;") {
				t.Fatalf("deny: %d %q", resp.StatusCode, resp.Header.Values("Set-Cookie"))
			}
			var mismatch *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == mismatchCookie {
					mismatch = c
				}
			}
			// The frame reloads without a session: the sign-in page says why.
			r, page := get(t, g.base+"/apps/crm/", "", "Sec-Fetch-Dest", "iframe", "Cookie", mismatch.Name+"="+mismatch.Value)
			if r.StatusCode != http.StatusUnauthorized || !strings.Contains(island(t, page, "signin-data")["mismatch"], "mallory@example.com") {
				t.Fatalf("after a mismatch: %d %v", r.StatusCode, island(t, page, "signin-data"))
			}
		})
	}
}

// TestOIDCSignInForAnAppOnItsOwnHost signs in for an app on a host of its
// own: the popup runs on the gateway's host (redirect_url), the code goes
// to the app's origin, and the app's host gets the session cookie.
func TestOIDCSignInForAnAppOnItsOwnHost(t *testing.T) {
	addr := freeAddr(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	gw, app := "http://gw.test:"+port, "http://crm.apps.test:"+port
	up := newUpstream(t)
	p := oidctest.Start(t, oidctest.Config{
		Clients:  []oidctest.Client{{ID: "helpdesk-apps", Secret: "gateway-secret", RedirectURIs: []string{gw + "/apps/_auth/callback"}}},
		Accounts: []oidctest.Account{{Sub: "alice", Email: "alice@example.com", Role: "agent"}},
	})
	startCaddyfile(t, fmt.Sprintf(`http://:%s {
	bind 127.0.0.1
	helpdesk_apps /apps {
		hosts *.apps.test
		session {
			oidc {
				issuer %s
				client_id helpdesk-apps
				client_secret gateway-secret
				redirect_url %s/apps/_auth/callback
			}
		}
		app crm {
			to %s
		}
	}
}`, port, p.Issuer(), gw, up.hostport()))
	// send sends req to the gateway, whatever host its URL names.
	send := func(method, u string, body string, hdr ...string) (*http.Response, string) {
		t.Helper()
		target, _ := url.Parse(u)
		req, _ := http.NewRequest(method, "http://"+addr+target.RequestURI(), strings.NewReader(body))
		req.Host = target.Host
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Add(hdr[i], hdr[i+1])
		}
		return do(t, req)
	}
	resp, page := send(http.MethodGet, app+"/", "", "Sec-Fetch-Dest", "iframe")
	data := island(t, page, "signin-data")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(data["startURL"], gw+"/apps/_auth/start?") ||
		data["exchangeURL"] != "/.well-known/helpdesk-apps/session" || data["callbackOrigin"] != gw {
		t.Fatalf("the app's frame: %d %v", resp.StatusCode, data)
	}
	secret, hash := flowOf("frame-secret")
	resp, _ = send(http.MethodGet, data["startURL"]+"&flow="+hash, "")
	var state string
	for _, c := range resp.Cookies() {
		if c.Name == signin.StateCookie {
			state = c.Name + "=" + c.Value
		}
	}
	redirect, err := p.SignIn(context.Background(), p.HTTPClient(), resp.Header.Get("Location"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	_, page = send(http.MethodGet, redirect.String(), "", "Cookie", state)
	if done := island(t, page, "done-data"); done["targetOrigin"] != app {
		t.Fatalf("the code goes to %q; want the app's origin %q", done["targetOrigin"], app)
	} else {
		// Traded on the gateway's host, it is refused: it is the app's.
		body := `{"code":"` + done["code"] + `","flow":"` + secret + `"}`
		if resp, _ := send(http.MethodPost, gw+"/apps/_auth/session", body, "Origin", gw); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the app's code traded on the gateway's host: %d", resp.StatusCode)
		}
		resp, _ = send(http.MethodPost, app+"/.well-known/helpdesk-apps/session", body, "Origin", app)
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("exchange on the app's host: %d", resp.StatusCode)
		}
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == signin.SessionCookie {
			session = c
		}
	}
	if resp, body := send(http.MethodGet, app+"/x", "", "Cookie", session.Name+"="+session.Value); resp.StatusCode != 200 || decodeSeen(t, body).Header.Get("X-Helpdesk-User-Id") != "alice" {
		t.Fatalf("the app with its session: %d %s", resp.StatusCode, body)
	}
}

func TestOIDCNeedsOneCallbackWhenAppsHaveHosts(t *testing.T) {
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(`{
	admin off
}
http://:1 {
	helpdesk_apps {
		hosts *.apps.test
		session {
			oidc {
				issuer https://login.example.com
				client_id helpdesk-apps
				client_secret s
			}
		}
	}
}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := caddy.Validate(mustConfig(t, string(cfg))); err == nil || !strings.Contains(err.Error(), "redirect_url: required") {
		t.Fatalf("validated: %v", err)
	}
}
