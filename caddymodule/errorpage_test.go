package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// downUpstream returns the address of a port nothing listens on.
func downUpstream(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// errorData returns the helpdesk:app:error data an error page carries.
func errorData(t *testing.T, body string) (targets []string, payload map[string]any) {
	t.Helper()
	m := regexp.MustCompile(`<script type="application/json" id="hd-error">(.*?)</script>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no error data in the page: %s", body)
	}
	var d struct {
		Targets []string       `json:"targets"`
		Payload map[string]any `json:"payload"`
	}
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatal(err)
	}
	return d.Targets, d.Payload
}

// TestAppDownAnswersWithAPageNamingIt asks for an app whose server is down,
// and one whose server is too slow: a browser gets the gateway's page naming
// the app, framable by the Helpdesk and telling it what happened; a script
// gets JSON.
func TestAppDownAnswersWithAPageNamingIt(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Second)
	}))
	t.Cleanup(slow.Close)
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		frame_ancestors 'self' https://helpdesk.test https://*.example.com
		session {
			hmac_secret %s
		}
		app crm {
			name "CRM"
			to %s
		}
		app slow {
			name "Slow tool"
			reverse_proxy %s {
				transport http {
					response_header_timeout 200ms
				}
			}
		}
	}`, testSecret, downUpstream(t), strings.TrimPrefix(slow.URL, "http://")))
	tok := bearerToken(t)
	for _, tc := range []struct {
		app, code, name, says string
		status                int
	}{
		{"crm", "BAD_GATEWAY", "CRM", "could not be reached", http.StatusBadGateway},
		{"slow", "GATEWAY_TIMEOUT", "Slow tool", "did not answer in time", http.StatusGatewayTimeout},
	} {
		resp, body := get(t, base+"/apps/"+tc.app+"/", "", "Authorization", "Bearer "+tok, "Sec-Fetch-Dest", "iframe")
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.name+": ") || !strings.Contains(body, tc.says) {
			t.Errorf("%s: %d %s", tc.app, resp.StatusCode, body)
			continue
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src "+errorScriptHash+";") || !strings.HasSuffix(csp, "frame-ancestors 'self' https://helpdesk.test https://*.example.com") {
			t.Errorf("%s: policy %q", tc.app, csp)
		}
		targets, payload := errorData(t, body)
		if strings.Join(targets, " ") != base+" https://helpdesk.test" {
			t.Errorf("%s: the page posts to %v", tc.app, targets)
		}
		if payload["code"] != tc.code || payload["status"] != float64(tc.status) || payload["app"] != tc.app {
			t.Errorf("%s: payload %v", tc.app, payload)
		}
		resp, body = get(t, base+"/apps/"+tc.app+"/api", "", "Authorization", "Bearer "+tok, "Accept", "application/json")
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !strings.Contains(body, tc.says) {
			t.Errorf("%s, from a script: %d %s %s", tc.app, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}

// TestErrorPageTargetsAreNeverNull gives a page framed by wildcard
// ancestors only an empty list of origins to post to, which its script
// can walk.
func TestErrorPageTargetsAreNeverNull(t *testing.T) {
	s := &site{ancestors: "https://*.example.com"}
	r := httptest.NewRequest(http.MethodGet, "http://apps.example.com/apps/x/", nil)
	if got := s.messageTargets(r); got == nil || len(got) != 0 {
		t.Fatalf("targets = %#v", got)
	}
	s.ancestors = "https://helpdesk.example.com/ 'self'"
	if got := strings.Join(s.messageTargets(r), " "); got != "http://apps.example.com https://helpdesk.example.com" {
		t.Fatalf("targets = %s", got)
	}
}

// TestAppDownGoesToHandleErrors leaves a site's own error routes to render
// an app that is down.
func TestAppDownGoesToHandleErrors(t *testing.T) {
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			hmac_secret %s
		}
		app crm {
			to %s
		}
	}
	handle_errors {
		respond "site error page {err.status_code}"
	}`, testSecret, downUpstream(t)))
	resp, body := get(t, base+"/apps/crm/", "", "Authorization", "Bearer "+bearerToken(t), "Sec-Fetch-Dest", "document")
	if resp.StatusCode != http.StatusBadGateway || body != "site error page 502" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

// TestBrowserErrorPagesTellTheHelpdesk mounts, with host.js, an app that is
// down and one the user may not open: the Helpdesk page receives
// helpdesk:app:error from each frame, as Chromium delivers it, and host.js
// turns each into an error event of its instance.
func TestBrowserErrorPagesTellTheHelpdesk(t *testing.T) {
	bctx := browserContext(t)
	up := newUpstream(t)
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			hmac_secret %s
		}
		app crm {
			to %s
		}
		app admins {
			roles admin
			to %s
		}
	}
	header /host.html Content-Type "text/html; charset=utf-8"
	respond /host.html `+"`"+`<!doctype html><body><script src="/apps/_bridge/host.js"></script><script>
		window.got = [];
		addEventListener("message", (e) => {
			if (e.data && e.data.channel === "helpdesk:apps") got.push({origin: e.origin, event: e.data.event, payload: e.data.payload, frame: [...document.querySelectorAll("iframe")].findIndex((f) => f.contentWindow === e.source)});
		});
		window.errors = [];
		for (const app of ["crm", "admins"]) {
			const box = document.createElement("div");
			document.body.append(box);
			HelpdeskHost.mount(box, {app, src: "/apps/" + app + "/", mode: "embed", placement: "main_menu", user: {id: "u-1"}})
				.on("error", (e) => errors.push({app, code: e.code, status: e.status, source: e.source}));
		}
	</script>`+"`"+` 200 {
		close
	}`, testSecret, downUpstream(t), up.URL))

	tab, closeTab := chromedp.NewContext(bctx)
	t.Cleanup(closeTab)
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	t.Cleanup(cancel)
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: "hd_session", Value: token(t, agent("agent", 3)), URL: base + "/"}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/host.html")); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < 2 && time.Now().Before(deadline) {
		var err error
		if got, err = chromedp.Run(ctx, chromedp.Evaluate[[]map[string]any]("window.got")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	want := map[float64][2]any{0: {"BAD_GATEWAY", 502.0}, 1: {"FORBIDDEN", 403.0}}
	if len(got) != 2 {
		html, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.documentElement.outerHTML + ' || ' + [...document.querySelectorAll('iframe')].map(f => { try { return f.contentDocument.documentElement.outerHTML } catch (e) { return String(e) } }).join(' || ')"))
		t.Fatalf("the Helpdesk received %v\n%s", got, html)
	}
	for _, m := range got {
		p := m["payload"].(map[string]any)
		w := want[m["frame"].(float64)]
		if m["event"] != "helpdesk:app:error" || m["origin"] != base || p["code"] != w[0] || p["status"] != w[1] {
			t.Errorf("message %v, want %v from frame %v", m, w, m["frame"])
		}
	}
	// host.js turns each into an error event of its instance.
	errs, err := chromedp.Run(ctx, chromedp.Evaluate[[]map[string]any]("window.errors"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(errs) != "[map[app:crm code:BAD_GATEWAY source:gateway status:502] map[app:admins code:FORBIDDEN source:gateway status:403]]" &&
		fmt.Sprint(errs) != "[map[app:admins code:FORBIDDEN source:gateway status:403] map[app:crm code:BAD_GATEWAY source:gateway status:502]]" {
		t.Errorf("host.js error events: %v", errs)
	}
	if up.requests() != 0 {
		t.Errorf("the app an agent may not open was reached %d times", up.requests())
	}
}
