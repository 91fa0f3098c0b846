package caddymodule

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// originTool is an upstream that defends itself as notebook servers and
// admin consoles do: a state-changing request whose Origin or Referer names
// another host than the Host it received is refused (403). It records the
// Origin and Referer of every request it answers.
type originTool struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // "<method> <path> origin=<Origin> referer=<Referer>"
}

func newOriginTool(t *testing.T) *originTool {
	t.Helper()
	o := new(originTool)
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.seen = append(o.seen, fmt.Sprintf("%s %s origin=%s referer=%s", r.Method, r.URL.Path, r.Header.Get("Origin"), r.Header.Get("Referer")))
		o.mu.Unlock()
		if r.URL.Path == "/form.html" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<!doctype html><title>tool</title><form method="post" action="submit"><input name="q" value="1"><button id="go">Go</button></form>`)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			for _, h := range []string{"Origin", "Referer"} {
				if v := r.Header.Get(h); v != "" {
					if u, err := url.Parse(v); err != nil || u.Host != r.Host {
						http.Error(w, "tool: "+h+" "+v+" is not "+r.Host, http.StatusForbidden)
						return
					}
				}
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>tool</title><p id=result>saved</p>")
	}))
	t.Cleanup(o.Close)
	return o
}

// received lists what the tool recorded of the requests whose line
// contains s.
func (o *originTool) received(s string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, line := range o.seen {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

func TestOriginChecksAndMapping(t *testing.T) {
	tool := newOriginTool(t)
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps /apps {
		session {
			cookie hd_session
			hmac_secret %s
			issuer https://helpdesk.test
			audience helpdesk-apps
		}
		app tool {
			to %[2]s
		}
		app checked {
			origin check
			to %[2]s
		}
		app open {
			origin off
			to %[2]s
		}
		app block {
			reverse_proxy %[2]s
		}
	}`, testSecret, tool.URL))
	gw := base                                                        // the gateway's own origin
	toolOrigin := "http://" + strings.TrimPrefix(tool.URL, "http://") // the tool's
	tok := token(t, agent("agent", 3))
	post := func(app, path string, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+"/apps/"+app+path, strings.NewReader("q=1"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "hd_session", Value: tok})
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return do(t, req)
	}
	sameOrigin := []string{"Origin", gw, "Referer", gw + "/apps/tool/form.html?x=1", "Sec-Fetch-Site", "same-origin"}

	for _, c := range []struct {
		name, app, path string
		hdr             []string
		status          int
		toolSees        string // what the tool records, "" when it must not be reached
	}{
		{"same-origin post to a `to` app: the tool sees its own origin", "tool", "/submit", sameOrigin, 200,
			"POST /submit origin=" + toolOrigin + " referer=" + toolOrigin + "/form.html?x=1"},
		{"same-origin post with Origin only", "tool", "/origin-only", []string{"Origin", gw}, 200,
			"POST /origin-only origin=" + toolOrigin + " referer="},
		{"post without Origin or Fetch Metadata (not a browser)", "tool", "/cli", nil, 200, "POST /cli origin= referer="},
		{"cross-site post", "tool", "/evil", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 403, ""},
		{"same-site post from another origin", "tool", "/sibling", []string{"Origin", "http://127.0.0.1:1", "Sec-Fetch-Site", "same-site"}, 403, ""},
		{"cross-origin post without Fetch Metadata", "tool", "/old-browser", []string{"Origin", "https://evil.example"}, 403, ""},
		{"cross-origin put", "block", "/put", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 403, ""},
		{"check mode passes Origin as sent, and the tool refuses it itself", "checked", "/kept", sameOrigin, 403,
			"POST /kept origin=" + gw + " referer=" + gw + "/apps/tool/form.html?x=1"},
		{"check mode refuses a cross-site post", "checked", "/evil", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 403, ""},
		{"off lets a cross-site post through to the tool's own defence", "open", "/sso", []string{"Origin", "https://idp.example", "Sec-Fetch-Site", "cross-site"}, 403,
			"POST /sso origin=https://idp.example referer="},
		{"a block app keeps the gateway's Host, and Origin as sent", "block", "/ok", sameOrigin, 200,
			"POST /ok origin=" + gw + " referer=" + gw + "/apps/tool/form.html?x=1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := post(c.app, c.path, c.hdr...)
			if resp.StatusCode != c.status {
				t.Errorf("status %d; want %d: %s", resp.StatusCode, c.status, body)
			}
			got := tool.received("POST " + c.path + " ")
			switch {
			case c.toolSees == "" && len(got) > 0:
				t.Errorf("the tool was reached: %q", got)
			case c.toolSees != "" && (len(got) != 1 || got[0] != c.toolSees):
				t.Errorf("the tool saw %q; want %q", got, c.toolSees)
			}
			if c.toolSees == "" && !strings.Contains(body, "another site may not") {
				t.Errorf("the refusal does not say why: %s", body)
			}
		})
	}
	// Safe methods are never refused: a cross-site link or image works.
	resp, body := get(t, base+"/apps/tool/page", tok, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("cross-site GET: status %d: %s", resp.StatusCode, body)
	}
}
