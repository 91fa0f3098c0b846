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

	c := openConsole(t, bctx, base+"/apps/_console/", network.SetCookieParams{URL: base + "/"})
	until, js, choose := c.until, c.js, c.choose

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

// consolePage is the developer console open in a tab of its own.
type consolePage struct {
	t   *testing.T
	ctx context.Context
}

// openConsole opens the console at url in a new tab, as an admin whose
// session cookie is set where cookie says (URL or Domain).
func openConsole(t *testing.T, bctx context.Context, url string, cookie network.SetCookieParams) *consolePage {
	t.Helper()
	tab, closeTab := chromedp.NewContext(bctx)
	t.Cleanup(closeTab)
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	t.Cleanup(cancel)
	dev := agent("admin", 1)
	dev.Subject = "u-dev"
	cookie.Name, cookie.Value = "hd_session", token(t, dev)
	if _, err := chromedp.Call(ctx, network.SetCookie, cookie); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	return &consolePage{t: t, ctx: ctx}
}

// until waits for cond to hold in the console page, and fails the test
// with the protocol log and the decisions after 15 seconds.
func (c *consolePage) until(what, cond string) {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			state, _ := chromedp.Run(c.ctx, chromedp.Evaluate[string](`document.querySelector("#log")?.innerText.slice(0, 1500) + " || " + (document.querySelector("#decisions")?.innerText || "").slice(0, 1500)`))
			c.t.Fatalf("waiting for %s: %v\n%s", what, err, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// js runs expr in the console page.
func (c *consolePage) js(expr string) {
	c.t.Helper()
	if _, err := chromedp.Run(c.ctx, chromedp.Evaluate[any](expr)); err != nil {
		c.t.Fatalf("%s: %v", expr, err)
	}
}

// choose sets the value of the form control sel, as a user would.
func (c *consolePage) choose(sel, value string) {
	c.js(fmt.Sprintf(`((n) => { n.value = %q; n.dispatchEvent(new Event("input", {bubbles: true})); n.dispatchEvent(new Event("change", {bubbles: true})); })(document.querySelector(%q))`, value, sel))
}

// TestBrowserConsoleMountsAnAppOnItsOwnHost mounts, from the console on the
// gateway's host, an app served on a host of its own: the console frames
// the app's host, the shim there answers the handshake, ticket updates
// reach it across origins, and the gateway's decisions for the app's
// requests show in the console.
func TestBrowserConsoleMountsAnAppOnItsOwnHost(t *testing.T) {
	bctx := browserContext(t)
	tool := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>tool</title><p>on its own host</p>`)
	}))
	t.Cleanup(tool.Close)
	addr := freeAddr(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	startCaddyfile(t, fmt.Sprintf(`http://:%[1]s {
	bind 127.0.0.1
	helpdesk_apps {
		frame_ancestors http://gw.localhost:%[1]s
		hosts *.apps.gw.localhost
		session {
			hmac_secret %[2]s
		}
		console
		app crm {
			name "CRM"
			placement ticket_sidebar
			to %[3]s
		}
	}
}`, port, testSecret, strings.TrimPrefix(tool.URL, "http://")))

	c := openConsole(t, bctx, "http://gw.localhost:"+port+"/apps/_console/", network.SetCookieParams{Domain: ".gw.localhost", Path: "/"})
	c.until("the app list", `document.querySelector('#app-select option[value=crm]')`)
	c.choose("#app-select", "crm")
	c.until("the app's URL in the hint", `document.querySelector('#app-hint').textContent.includes("http://crm.apps.gw.localhost:`+port+`/")`)
	c.js(`document.querySelector("#load").click()`)
	c.until("the app's ready", `document.querySelector('#log [data-event="helpdesk:app:ready"]')`)
	c.until("the frame on the app's host", `document.querySelector('iframe[src^="http://crm.apps.gw.localhost:`+port+`/"]')`)

	c.js(`((n) => { const t = JSON.parse(n.value); t.status = "pending-by-test"; n.value = JSON.stringify(t, null, 2); n.dispatchEvent(new Event("input", {bubbles: true})); })(document.querySelector("textarea[name=ticket]"))`)
	c.js(`document.querySelector("#send-ticket").click()`)
	c.until("the update in the log", `[...document.querySelectorAll('#log [data-event="helpdesk:ticket:update"]')].some((r) => r.textContent.includes("pending-by-test"))`)
	c.until("the document's decision", `document.querySelector('#decisions [data-path="/"][data-injected="true"]')`)
}
