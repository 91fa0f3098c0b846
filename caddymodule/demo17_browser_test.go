package caddymodule

// A browser test of the demo Helpdesk as an agent and a supervisor use it:
// Caddyfile.example runs in process (startDemo), headless Chromium drives
// the workspace of testdata/demo/helpdesk and the demo tool's order lookup
// and team reports through the gateway. It shares the helpers of
// demo_browser_test.go and browser_test.go: it skips without Chromium, and
// fails instead when HELPDESK_BROWSER_TESTS=required. Every step checks the
// layout at 1366×900 and at 1280×720; with DEMO_SCREENSHOTS set, it saves
// screenshots at both sizes to /tmp/demo17-shots/.

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// demo17ShotsDir is where the screenshots go when DEMO_SCREENSHOTS is set.
const demo17ShotsDir = "/tmp/demo17-shots"

// The documents of the apps the Helpdesk mounted: the sidebar's and the
// popup's. The apps are on the Helpdesk's origin, under /apps/.
const (
	demoSidebarDoc = `document.querySelector("#sidebar iframe").contentDocument`
	demoPopupDoc   = `document.querySelector("#popup-body iframe").contentDocument`
)

// demoViewports are the window sizes the demo must look right at.
var demoViewports = [][2]int64{{1366, 900}, {1280, 720}}

// demoLayoutProblems lists what is wrong with the Helpdesk's layout in the
// current window: the page scrolling sideways, controls cut off by the
// window or by their container, the popup covering the page's own
// controls, or the sidebar app's own bar overflowing.
const demoLayoutProblems = `(() => {
	const W = innerWidth, H = innerHeight, out = [];
	const box = (n) => { const r = n.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom].map(Math.round); };
	const shown = (n) => !n.closest("[hidden]") && n.getBoundingClientRect().width > 0;
	const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
	if (document.documentElement.scrollWidth > W) out.push("the page is " + document.documentElement.scrollWidth + " px wide in a " + W + " px window");
	for (const sel of ["#signin button", ".brand", "nav [data-app]", "#who", "#settings-link", "#search", "#ticket-list",
		"#ticket-subject", "#ticket-status", "#ticket-priority", "#ticket-assignee", "#ticket-order", "#send-reply",
		"aside [data-app]", "#sidebar iframe", "#popup", "#close-popup"]) {
		for (const n of document.querySelectorAll(sel)) {
			if (!shown(n)) continue;
			const r = n.getBoundingClientRect();
			if (r.left < -0.5 || r.top < -0.5 || r.right > W + 0.5 || r.bottom > H + 0.5) out.push(sel + " is cut off by the window: " + box(n));
		}
	}
	for (const n of document.querySelectorAll("nav [data-app], aside [data-app]")) {
		const c = n.parentElement.getBoundingClientRect(), r = n.getBoundingClientRect();
		if (r.left < c.left - 0.5 || r.right > c.right + 0.5) out.push(n.dataset.app + "'s menu entry is cut off: " + box(n));
	}
	const popup = document.querySelector("#popup");
	if (!popup.hidden) {
		const p = popup.getBoundingClientRect();
		for (const sel of [".devbar", ".topbar", ".queue", ".ticket", ".side-head"]) {
			if (overlap(p, document.querySelector(sel).getBoundingClientRect())) out.push("the popup " + box(popup) + " covers " + sel + " " + box(document.querySelector(sel)));
		}
	}
	const frame = document.querySelector("#sidebar iframe");
	const doc = frame && frame.contentDocument;
	if (doc && doc.body) {
		const de = doc.documentElement;
		if (de.scrollWidth > de.clientWidth) out.push("the sidebar app scrolls sideways: " + de.scrollWidth + " > " + de.clientWidth);
		const nav = doc.querySelector(".tb-nav"), user = doc.querySelector(".tb-user");
		if (nav && user && user.getBoundingClientRect().width > 0 && overlap(nav.getBoundingClientRect(), user.getBoundingClientRect())) out.push("the sidebar app's bar overlaps itself");
	}
	return out;
})()`

// TestBrowserDemoHelpdesk proves, on the demo of Caddyfile.example in a real
// browser, that the demo Helpdesk works as an agent workspace: an agent is
// not offered the apps it may not open; the order lookup in the ticket
// sidebar shows the open ticket's order and requester, and follows the
// ticket as the agent changes it and opens another; a reload keeps the
// session and the open ticket; a supervisor of division 1 opens Team
// reports in a popup that connects and grows with its content. At each
// step the layout holds at 1366×900 and 1280×720, and no page throws an
// uncaught exception or breaks a Content-Security-Policy.
func TestBrowserDemoHelpdesk(t *testing.T) {
	bctx := browserContext(t)
	base, _ := startDemo(t)
	hd := openDemoTab(t, bctx, "Helpdesk", base, chromedp.WithNewBrowserContext())

	step := func(name string, f func(t *testing.T)) {
		t.Helper()
		if !t.Run(name, f) {
			t.FailNow()
		}
	}

	step("1 an agent sees the order lookup and not Team reports", func(t *testing.T) {
		hd := hd.in(t)
		hd.navigate(base + "/")
		hd.signIn("Aldo Agent", "agent")
		hd.waitRefreshed("the order lookup mounted in the sidebar",
			`!!document.querySelector('aside [data-app="orders"]') && document.querySelector("#sidebar").dataset.state === "connected"`)
		if got := hd.ids("nav [data-app]"); slices.Contains(got, "reports") {
			t.Errorf("the agent's main menu lists %q, with reports", got)
		}
		if _, ok := findDemoApp(hd.manifest(), "reports"); ok {
			t.Errorf("the agent's manifest lists reports")
		}
		if status := hd.fetchStatus("/apps/reports/"); status != http.StatusForbidden {
			t.Errorf("GET /apps/reports/ answered the agent %d, want 403", status)
		}
		if got := hd.text("#ticket-number") + " " + hd.text("#ticket-subject"); !strings.HasPrefix(got, "#1042 ") {
			t.Errorf("the ticket view shows %q, want ticket #1042", got)
		}
		hd.waitLookup("ticket #1042's order", "#1042", "Budi Santoso", "55-1234")
		if got := hd.frameText(demoSidebarDoc, "#order-customer"); got != "Budi Santoso" {
			t.Errorf("the lookup names the order's customer %q", got)
		}
		if got := hd.frameText(demoSidebarDoc, "#tb-user .tb-user-name"); got != "Aldo Agent" {
			t.Errorf("the tool's bar names %q, want the Helpdesk user", got)
		}
		hd.checkViewports("1-agent")
		hd.clean()
	})

	step("2 the lookup follows the ticket", func(t *testing.T) {
		hd := hd.in(t)
		// The agent sets the status…
		hd.choose("#ticket-status", "pending")
		hd.waitFor("the lookup to show the new status",
			frameCond(demoSidebarDoc, `d.querySelector("#linked-status").textContent === "Pending" && d.querySelector("#linked-note").textContent.includes("status Pending")`))
		if got := hd.text(`[data-ticket="1042"] .pill`); got != "Pending" {
			t.Errorf("the inbox shows #1042 as %q", got)
		}
		// …corrects the order number…
		hd.fill("#ticket-order", "55-1102")
		hd.do(chromedp.SendKeys(chromedp.CSS("#ticket-order"), "\r"))
		hd.waitLookup("the corrected order", "#1042", "Budi Santoso", "55-1102")
		// …and opens another ticket.
		hd.click(`[data-ticket="1044"]`)
		hd.waitFor("ticket #1044 in the ticket view", `document.querySelector("#ticket-number").textContent === "#1044"`)
		hd.waitLookup("ticket #1044's order", "#1044", "Kenji Sato", "55-1198")
		log := hd.text("#log")
		for _, want := range []string{"orders: host → app helpdesk:ticket:update (#1042 status pending)",
			"orders: host → app helpdesk:ticket:update (#1042 order number 55-1102)",
			"orders: host → app helpdesk:ticket:update (#1044 opened)"} {
			if !strings.Contains(log, want) {
				t.Errorf("the protocol log lacks %q: %s", want, log)
			}
		}
		hd.checkViewports("2-workspace")
		hd.clean()
	})

	step("3 a reload keeps the session and the ticket", func(t *testing.T) {
		hd := hd.in(t)
		hd.do(chromedp.Reload())
		hd.waitFor("the Helpdesk to show the user after the reload", `document.querySelector("#who").textContent === "Aldo Agent · agent · division 1"`)
		if got := hd.text("#ticket-number"); got != "#1044" {
			t.Errorf("after the reload the ticket view shows %q, want #1044", got)
		}
		hd.waitFor("the order lookup to connect again", `document.querySelector("#sidebar").dataset.state === "connected"`)
		hd.waitLookup("ticket #1044's order after the reload", "#1044", "Kenji Sato", "55-1198")
		if me := hd.me(); me.User.Name != "Aldo Agent" || me.User.Role != "agent" {
			t.Errorf("/apps/_api/me = %+v after the reload, want Aldo Agent, agent", me)
		}
		hd.clean()
	})

	step("4 a supervisor opens Team reports", func(t *testing.T) {
		hd := hd.in(t)
		hd.signIn("Sara Supervisor", "supervisor")
		hd.waitRefreshed("Team reports in the main menu", `!!document.querySelector('nav [data-app="reports"]')`)
		if got := hd.text(`nav [data-app="reports"]`); got != "Team reports" {
			t.Errorf("the menu entry reads %q", got)
		}
		hd.click(`nav [data-app="reports"]`)
		hd.waitFor("the popup to connect", `!document.querySelector("#popup").hidden && document.querySelector("#popup-body").dataset.state === "connected"`)
		hd.waitFor("the ready in the protocol log", `document.querySelector("#log").textContent.includes("reports: connected as ")`)
		hd.waitFor("the report in the popup", frameCond(demoPopupDoc, `d.querySelector("#report h1").textContent === "Team reports" && d.querySelector("#report h1").getBoundingClientRect().height > 0`))
		if got := hd.text("#popup-title"); got != "Team reports" {
			t.Errorf("the popup is titled %q", got)
		}
		if got := hd.attr(`nav [data-app="reports"]`, "aria-pressed"); got != "true" {
			t.Errorf("the open app's menu entry has aria-pressed=%q", got)
		}
		// The report fits the popup, which follows its height.
		hd.waitFor("the popup to fit the report", `document.querySelector("#log").textContent.includes("reports: resized to ")`)
		hd.settle(`document.querySelector("#popup-body iframe").getBoundingClientRect().height`)
		before := demoEval[float64](hd, `document.querySelector("#popup-body iframe").getBoundingClientRect().height`)
		demoEval[bool](hd, frameCond(demoPopupDoc, `(d.querySelector("#sec-agents summary").click(), true)`))
		hd.waitFor("the popup to grow with the opened section",
			fmt.Sprintf(`document.querySelector("#popup-body iframe").getBoundingClientRect().height > %f + 60`, before))
		hd.checkViewports("4-reports")
		// Everything open: the popup stops below the sidebar's tabs.
		demoEval[bool](hd, frameCond(demoPopupDoc, `(d.querySelector("#toggle-all").click(), true)`))
		hd.settle(`document.querySelector("#popup-body iframe").getBoundingClientRect().height`)
		hd.checkViewports("")
		hd.click("#close-popup")
		hd.waitFor("the popup to close", `document.querySelector("#popup").hidden && !document.querySelector("#popup-body iframe")`)
		hd.clean()
	})
}

// frameCond evaluates cond with d bound to the document doc names.
func frameCond(doc, cond string) string {
	return "((d) => !!d && (" + cond + "))(" + doc + ")"
}

// frameText is the trimmed text of the element sel matches in the document
// doc names, or "".
func (d *demoTab) frameText(doc, sel string) string {
	d.t.Helper()
	return demoEval[string](d, fmt.Sprintf(`((d) => { const n = d && d.querySelector(%q); return n ? n.textContent.replace(/\s+/g, " ").trim() : ""; })(%s)`, sel, doc))
}

// waitLookup waits until the sidebar's order lookup shows the ticket, its
// requester and the order.
func (d *demoTab) waitLookup(what, ticket, requester, order string) {
	d.t.Helper()
	cond := fmt.Sprintf(`((d) => !!d && !!d.querySelector("#order-number") && d.querySelector("#linked-ticket").textContent === %q && `+
		`d.querySelector("#linked-requester").textContent === %q && d.querySelector("#order-number").textContent === %q && `+
		`d.querySelector("#order-number").getBoundingClientRect().height > 0)(%s)`, ticket, requester, order, demoSidebarDoc)
	d.poll("the order lookup to show "+what, cond, "")
}

// choose picks value in a select as a user does: the value changes, and
// the select says so.
func (d *demoTab) choose(sel, value string) {
	d.t.Helper()
	d.waitFor(sel+" to be shown", fmt.Sprintf(`document.querySelector(%q).offsetParent !== null`, sel))
	demoEval[bool](d, fmt.Sprintf(`((s) => { s.focus(); s.value = %q; s.dispatchEvent(new Event("input", {bubbles: true})); `+
		`s.dispatchEvent(new Event("change", {bubbles: true})); return s.value === %q; })(document.querySelector(%q))`, value, value, sel))
}

// settle waits until expr has kept its value for a quarter of a second:
// the popup follows its app's height a little later, and with a transition.
func (d *demoTab) settle(expr string) {
	d.t.Helper()
	var last string
	stable := time.Now()
	deadline := time.Now().Add(demoWaitTimeout)
	for time.Now().Before(deadline) {
		v := demoEval[float64](d, expr)
		s := fmt.Sprint(v)
		if s != last {
			last, stable = s, time.Now()
		} else if time.Since(stable) > 250*time.Millisecond {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkViewports checks the layout at each of demoViewports, and saves a
// screenshot named name at each when DEMO_SCREENSHOTS is set and name is
// not empty. It leaves the tab at 1366×900.
func (d *demoTab) checkViewports(name string) {
	d.t.Helper()
	for _, vp := range demoViewports {
		d.do(chromedp.EmulateViewport(vp[0], vp[1]))
		d.settle(`document.querySelector("#popup").getBoundingClientRect().height + innerWidth`)
		if problems := demoEval[[]string](d, demoLayoutProblems); len(problems) > 0 {
			d.t.Errorf("at %d×%d:\n%s", vp[0], vp[1], strings.Join(problems, "\n"))
		}
		if name != "" && os.Getenv("DEMO_SCREENSHOTS") != "" {
			d.screenshot(fmt.Sprintf("%s-%dx%d", name, vp[0], vp[1]))
		}
	}
	d.do(chromedp.EmulateViewport(demoViewports[0][0], demoViewports[0][1]))
}

// screenshot saves the tab's window to demo17ShotsDir.
func (d *demoTab) screenshot(name string) {
	d.t.Helper()
	if err := os.MkdirAll(demo17ShotsDir, 0o755); err != nil {
		d.t.Fatal(err)
	}
	if _, err := chromedp.Call(d.ctx, page.BringToFront, cdp.Empty{}); err != nil {
		d.t.Fatalf("bringing the %s tab to the front: %v", d.name, err)
	}
	png, err := chromedp.Run(d.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		d.t.Fatalf("capturing the %s tab: %v", d.name, err)
	}
	if err := os.WriteFile(filepath.Join(demo17ShotsDir, name+".png"), png, 0o644); err != nil {
		d.t.Fatal(err)
	}
}
