package caddymodule

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestBrowserHostileAppCannotManage signs an admin in on both hosts of a
// Helpdesk whose management has a host of its own, opens a hostile app, and
// lets its page try everything a page can against the management API: on
// its own origin, and on the management's, with the admin's cookie. Chromium
// sends what it sends; the registry must not change, and the page must
// read nothing of the management.
func TestBrowserHostileAppCannotManage(t *testing.T) {
	bctx := browserContext(t)
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><title>hostile</title><p>nothing to see")
	}))
	t.Cleanup(hostile.Close)

	addr := freeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	cfg := strings.Replace(fmt.Sprintf(manageSite(t.TempDir(), hostile.URL, "127.0.0.1/32"), addr), "http://"+addr+" {", "http://:"+port+" {", 1)
	cfg = strings.Replace(cfg, "\t\t\tpoll 1s\n", "\t\t\tpoll 1s\n\t\t\thost admin.localhost\n", 1)
	startWholeCaddyfile(t, cfg)
	appsOrigin, adminOrigin := "http://apps.localhost:"+port, "http://admin.localhost:"+port
	a := newAdmin(t, "http://"+addr, "admin")

	tab, closeTab := chromedp.NewContext(bctx)
	t.Cleanup(closeTab)
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	t.Cleanup(cancel)
	for _, origin := range []string{appsOrigin, adminOrigin} {
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: "hd_session", Value: a.tok, URL: origin + "/"}); err != nil {
			t.Fatalf("setting the session cookie: %v", err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(appsOrigin+"/apps/static/")); err != nil {
		t.Fatal(err)
	}
	attack := `(async () => {
		const out = {};
		const body = JSON.stringify({id: "pwned", upstream: "` + hostile.URL + `"});
		const json = {"Content-Type": "application/json", "If-Match": "\"0\""};
		const try_ = async (name, url, init) => {
			try {
				const r = await fetch(url, Object.assign({credentials: "include"}, init));
				out[name] = r.type === "opaque" ? "opaque" : r.status + " " + (await r.text()).slice(0, 80);
			} catch (e) { out[name] = "blocked"; }
		};
		await try_("same-origin write", "/apps/_api/admin/apps", {method: "POST", headers: json, body});
		await try_("same-origin import", "/apps/_api/admin/import", {method: "POST", headers: json, body: "{}"});
		await try_("same-origin page", "/apps/_admin/", {});
		await try_("cross-origin write", "` + adminOrigin + `/apps/_api/admin/apps", {method: "POST", headers: json, body});
		await try_("cross-origin simple write", "` + adminOrigin + `/apps/_api/admin/apps", {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body});
		await try_("cross-origin read", "` + adminOrigin + `/apps/_api/admin/apps", {});
		await try_("cross-origin page", "` + adminOrigin + `/apps/_admin/", {});
		return out;
	})()`
	results, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](attack, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("what the hostile page got: %v", results)
	for name, got := range results {
		readable := strings.HasPrefix(got, "2") || strings.Contains(got, "revision") || strings.Contains(got, "Integrations")
		if readable {
			t.Errorf("%s: the hostile page got %q", name, got)
		}
	}
	if len(results) != 7 {
		t.Errorf("the attack ran %d of 7 steps: %v", len(results), results)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/apps/_api/admin/apps", nil)
	req.Host = "admin.localhost"
	req.Header.Set("Authorization", "Bearer "+a.tok)
	resp, body := do(t, req)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") != `"0"` || strings.Contains(body, "pwned") {
		t.Fatalf("the registry changed: %d %s %s", resp.StatusCode, resp.Header.Get("ETag"), body)
	}
}
