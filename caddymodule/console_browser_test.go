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

// TestBrowserConsoleOnTheRealGateway drives the developer console against
// the gateway itself: it mounts a legacy tool the gateway injects, sends it
// an edited ticket and sees the update in the protocol log; then it loads a
// JSON URL of the tool and reads why the gateway put no shim into it.
func TestBrowserConsoleOnTheRealGateway(t *testing.T) {
	bctx := browserContext(t)
	tool := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/data.json" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"orders":[]}`)
			return
		}
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>tool</title><p id="got">no ticket yet</p><script src="tool.js"></script>`)
	}))
	t.Cleanup(tool.Close)
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			hmac_secret %s
		}
		console
		app crm {
			name "CRM"
			placement ticket_sidebar
			to %s
		}
	}`, testSecret, strings.TrimPrefix(tool.URL, "http://")))

	tab, closeTab := chromedp.NewContext(bctx)
	t.Cleanup(closeTab)
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	t.Cleanup(cancel)
	dev := agent("admin", 1)
	dev.Subject = "u-dev"
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: "hd_session", Value: token(t, dev), URL: base + "/"}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/apps/_console/")); err != nil {
		t.Fatal(err)
	}
	until := func(what, cond string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#log")?.innerText.slice(0, 1500) + " || " + (document.querySelector("#decisions")?.innerText || "").slice(0, 1500)`))
				t.Fatalf("waiting for %s: %v\n%s", what, err, state)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	js := func(expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr)); err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
	}
	choose := func(sel, value string) {
		js(fmt.Sprintf(`((n) => { n.value = %q; n.dispatchEvent(new Event("input", {bubbles: true})); n.dispatchEvent(new Event("change", {bubbles: true})); })(document.querySelector(%q))`, value, sel))
	}

	until("the app list", `document.querySelector('#app-select option[value=crm]')`)
	choose("#app-select", "crm")
	js(`document.querySelector("#load").click()`)
	until("the app's ready", `document.querySelector('#log [data-event="helpdesk:app:ready"]')`)

	js(`((n) => { const t = JSON.parse(n.value); t.status = "pending-by-test"; n.value = JSON.stringify(t, null, 2); n.dispatchEvent(new Event("input", {bubbles: true})); })(document.querySelector("textarea[name=ticket]"))`)
	js(`document.querySelector("#send-ticket").click()`)
	until("the update in the log", `[...document.querySelectorAll('#log [data-event="helpdesk:ticket:update"]')].some((r) => r.textContent.includes("pending-by-test"))`)

	until("the document's decision", `document.querySelector('#decisions [data-path="/apps/crm/"][data-injected="true"]')`)

	choose("#app-select", "custom:")
	until("the custom URL field", `!document.querySelector('#custom-url').closest('[hidden]')`)
	js(`((n) => { n.value = "/apps/crm/data.json"; n.dispatchEvent(new Event("input", {bubbles: true})); })(document.querySelector("#custom-url"))`)
	js(`document.querySelector("#load").click()`)
	until("the JSON's decision", `((r) => r && r.querySelector(".reason").textContent.includes("not HTML or CSS"))(document.querySelector('#decisions [data-path="/apps/crm/data.json"][data-injected="false"]'))`)
}
