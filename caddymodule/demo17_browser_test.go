package caddymodule

// A browser test of the demo Helpdesk as an agent and a supervisor use it:
// Caddyfile.example runs in process (startDemo), headless Chromium drives
// the workspace of testdata/demo/helpdesk and the demo tool's order lookup
// and team reports through the gateway. It shares the helpers of
// demo_browser_test.go and browser_test.go: it skips without Chromium, and
// fails instead when HELPDESK_BROWSER_TESTS=required. Every step checks the
// layout at 1366×900 and at 1280×720; with DEMO_SCREENSHOTS set, it saves
// screenshots at both sizes to /tmp/demo17-shots/. Popups are host.js's
// floating windows ([data-helpdesk-window]), dragged with real mouse events.

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
	"github.com/chromedp/chromedp/kb"
)

// demo17ShotsDir is where the screenshots go when DEMO_SCREENSHOTS is set.
const demo17ShotsDir = "/tmp/demo17-shots"

// The documents of the apps the Helpdesk mounted: the sidebar's and the
// popup's, in host.js's floating window. The apps are on the Helpdesk's
// origin, under /apps/.
const (
	demoSidebarDoc = `document.querySelector("#sidebar iframe").contentDocument`
	demoPopupDoc   = `document.querySelector("[data-helpdesk-window] iframe").contentDocument`
)

// The popup's window (host.js's), its app's frame, and their boxes; the
// window's box, summed, for settle.
const (
	demoPopupWindow   = `document.querySelector("[data-helpdesk-window]")`
	demoPopupFrame    = `document.querySelector("[data-helpdesk-window] iframe")`
	demoPopupBox      = demoBoxOf + `(` + demoPopupWindow + `)`
	demoPopupFrameBox = demoBoxOf + `(` + demoPopupFrame + `)`
	demoPopupSizes    = `((w) => { if (!w) return -1; const r = w.getBoundingClientRect(); return r.left + 3 * r.top + 7 * r.width + 11 * r.height; })(` + demoPopupWindow + `)`
	// demoPopupKey is where host.js remembers the reports' window.
	demoPopupKey = "helpdesk-host:window:reports"
)

// demoBoxOf, called with an element, is its box in the viewport, rounded,
// as a box (popup_browser_test.go) decodes it.
const demoBoxOf = `((n) => { const r = n.getBoundingClientRect(); return {left: Math.round(r.left), top: Math.round(r.top), right: Math.round(r.right), ` +
	`bottom: Math.round(r.bottom), width: Math.round(r.width), height: Math.round(r.height)}; })`

// demoViewports are the window sizes the demo must look right at.
var demoViewports = [][2]int64{{1366, 900}, {1280, 720}}

// demoLayoutProblems, called with opened, lists what is wrong with the
// Helpdesk's layout in the current window: the page scrolling sideways,
// controls cut off by the window or by their container, the popup covering
// the page's own controls, or the sidebar app's own bar overflowing. A
// popup opened in this window (opened true) must cover neither the header,
// the inbox, the ticket's column nor the sidebar's tabs: it sits over the
// ticket's apps. One opened in a larger window, which host.js has moved and
// shrunk to fit this one (and to the Helpdesk's popupMax, which it reads
// again), must still cover neither the header, the inbox, the ticket and
// its controls, nor the sidebar's tabs.
const demoLayoutProblems = `((opened) => {
	const W = innerWidth, H = innerHeight, out = [];
	const box = (n) => { const r = n.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom].map(Math.round); };
	const shown = (n) => !n.closest("[hidden]") && n.getBoundingClientRect().width > 0;
	const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
	if (document.documentElement.scrollWidth > W) out.push("the page is " + document.documentElement.scrollWidth + " px wide in a " + W + " px window");
	for (const sel of ["#signin button", ".brand", "nav [data-app]", "#who", "#settings-link", "#search", "#ticket-list",
		"#ticket-subject", "#ticket-status", "#ticket-priority", "#ticket-assignee", "#ticket-order", "#send-reply",
		"aside [data-app]", "#sidebar iframe", "[data-helpdesk-window]", '[data-helpdesk-part="close"]']) {
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
	const popup = document.querySelector("[data-helpdesk-window]");
	if (popup) {
		const p = popup.getBoundingClientRect();
		const clear = opened ? [".devbar", ".topbar", ".queue", ".ticket", ".side-head"]
			: [".devbar", ".topbar", ".queue", "#ticket-subject", ".requester", "#ticket-props", "#conversation .msg", ".composer", ".side-head"];
		for (const sel of clear) {
			for (const n of document.querySelectorAll(sel)) {
				if (overlap(p, n.getBoundingClientRect())) out.push("the popup " + box(popup) + " covers " + sel + " " + box(n));
			}
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
})`

// TestBrowserDemoHelpdesk proves, on the demo of Caddyfile.example in a real
// browser, that the demo Helpdesk works as an agent workspace: an agent is
// not offered the apps it may not open, and one it opens anyway shows the
// gateway's refusal in the protocol log; the order lookup in the ticket
// sidebar shows the open ticket's order and requester, and follows the
// ticket as the agent changes it and opens another; a reload keeps the
// session and the open ticket; a supervisor of division 1 opens Team
// reports in host.js's floating window, over the ticket's apps, which
// connects and grows with its content, is dragged by its title bar, opens
// again where it was left after a reload, and closes with Escape. At each
// step the layout holds at 1366×900 and 1280×720, and no page throws an
// uncaught exception or breaks a Content-Security-Policy.
func TestBrowserDemoHelpdesk(t *testing.T) {
	bctx := browserContext(t)
	base, _ := startDemo(t)
	hd := openDemoTab(t, bctx, "Helpdesk", base, chromedp.WithNewBrowserContext())

	step(t, "1 an agent sees the order lookup and not Team reports", func(t *testing.T) {
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

		// Team reports opened anyway, as a stale menu entry would: the
		// gateway's 403 page tells the Helpdesk (helpdesk:app:error), which
		// logs host.js's error event.
		demoEval[bool](hd, `openPopup({id: "reports", name: "Team reports", url: "/apps/reports/", placement: "main_menu", mode: "popup"}), true`)
		hd.waitFor("the gateway's refusal in the protocol log", `document.querySelector("#log").textContent.includes("reports: error FORBIDDEN 403: ")`)
		hd.click(`[data-helpdesk-part="close"]`)
		hd.waitPopupClosed("button")
		hd.clean()
	})

	step(t, "2 the lookup follows the ticket", func(t *testing.T) {
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

	step(t, "3 a reload keeps the session and the ticket", func(t *testing.T) {
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

	step(t, "4 a supervisor opens Team reports", func(t *testing.T) {
		hd := hd.in(t)
		hd.signIn("Sara Supervisor", "supervisor")
		hd.waitRefreshed("Team reports in the main menu", `!!document.querySelector('nav [data-app="reports"]')`)
		if got := hd.text(`nav [data-app="reports"]`); got != "Team reports" {
			t.Errorf("the menu entry reads %q", got)
		}
		hd.openReports()
		if got := hd.text(`[data-helpdesk-part="title"]`); got != "Team reports" {
			t.Errorf("the popup is titled %q", got)
		}
		if got := hd.attr(`nav [data-app="reports"]`, "aria-pressed"); got != "true" {
			t.Errorf("the open app's menu entry has aria-pressed=%q", got)
		}
		// The report fits the popup, which follows its height.
		hd.waitFor("the popup to fit the report", `document.querySelector("#log").textContent.includes("reports: resized to ")`)
		hd.settle(demoPopupSizes)
		// host.js's default spot: the bottom-right corner, over the
		// ticket's apps; the app fills the window below its title bar.
		win, frame := demoEval[box](hd, demoPopupBox), demoEval[box](hd, demoPopupFrameBox)
		if win.Right != 1366-24 || win.Bottom != 900-24 {
			t.Errorf("the popup opened at %v, want 24 px from the bottom-right corner of the 1366×900 window", win)
		}
		if frame.Left != win.Left || frame.Right != win.Right || frame.Bottom != win.Bottom || frame.Top != win.Top+titleBarHeight {
			t.Errorf("the app's frame is %v in the window %v, want it below the title bar", frame, win)
		}
		before := demoEval[float64](hd, demoPopupFrame+`.getBoundingClientRect().height`)
		demoEval[bool](hd, frameCond(demoPopupDoc, `(d.querySelector("#sec-agents summary").click(), true)`))
		hd.waitFor("the popup to grow with the opened section",
			fmt.Sprintf(demoPopupFrame+`.getBoundingClientRect().height > %f + 60`, before))
		hd.checkViewports("4-reports")
		// Everything open: the popup stops below the sidebar's tabs.
		demoEval[bool](hd, frameCond(demoPopupDoc, `(d.querySelector("#toggle-all").click(), true)`))
		hd.settle(demoPopupSizes)
		hd.checkViewports("4-reports-all")
		hd.click(`[data-helpdesk-part="close"]`)
		hd.waitPopupClosed("button")

		// Opened in the smaller window, with everything open: it keeps clear
		// of the page's controls there too.
		hd.do(chromedp.EmulateViewport(1280, 720))
		hd.openReports()
		demoEval[bool](hd, frameCond(demoPopupDoc, `(d.querySelector("#toggle-all").click(), true)`))
		hd.settle(demoPopupSizes)
		if win := demoEval[box](hd, demoPopupBox); win.Right != 1280-24 || win.Bottom != 720-24 {
			t.Errorf("the popup opened at %v, want 24 px from the bottom-right corner of the 1280×720 window", win)
		}
		hd.checkLayout("4-reports-opened", 1280, 720, true)
		hd.click(`[data-helpdesk-part="close"]`)
		hd.waitPopupClosed("button")
		hd.do(chromedp.EmulateViewport(demoViewports[0][0], demoViewports[0][1]))
		hd.clean()
	})

	step(t, "5 the popup is dragged, remembered and closed with Escape", func(t *testing.T) {
		hd := hd.in(t)
		hd.openReports()
		hd.settle(demoPopupSizes)
		from := demoEval[box](hd, demoPopupBox)
		// Dragged by its title bar, with the mouse: up and to the left.
		title := demoEval[box](hd, demoBoxOf+`(document.querySelector('[data-helpdesk-part="title"]'))`)
		const dx, dy = -180, -90
		hd.drag(float64(title.Left+title.Width/2), float64(title.Top+title.Height/2), dx, dy)
		hd.settle(demoPopupSizes)
		moved := demoEval[box](hd, demoPopupBox)
		want := box{Left: from.Left + dx, Top: from.Top + dy, Right: from.Right + dx, Bottom: from.Bottom + dy, Width: from.Width, Height: from.Height}
		if moved != want {
			t.Errorf("dragged by (%d, %d) from %v, the popup is at %v, want %v", dx, dy, from, moved, want)
		}
		if saved := demoEval[string](hd, fmt.Sprintf(`localStorage.getItem(%q) || ""`, demoPopupKey)); saved == "" {
			t.Errorf("host.js did not remember the moved window in localStorage[%q]", demoPopupKey)
		}
		if os.Getenv("DEMO_SCREENSHOTS") != "" {
			hd.screenshot("5-dragged-1366x900")
		}

		// After a reload, Team reports opens where it was left.
		hd.do(chromedp.Reload())
		hd.waitFor("the Helpdesk to show the user after the reload", `document.querySelector("#who").textContent === "Sara Supervisor · supervisor · division 1"`)
		hd.waitRefreshed("Team reports in the main menu after the reload", `!!document.querySelector('nav [data-app="reports"]')`)
		hd.openReports()
		hd.settle(demoPopupSizes)
		if got := demoEval[box](hd, demoPopupBox); got != moved {
			t.Errorf("after a reload the popup opened at %v, want %v, where it was left", got, moved)
		}

		// Escape, with the focus on its title bar (where it goes on
		// opening), closes it, and the focus goes back to the menu entry.
		if got := demoEval[string](hd, `document.activeElement.getAttribute("data-helpdesk-part") || document.activeElement.tagName`); got != "titlebar" {
			t.Errorf("the opened popup left the focus on %q, want its title bar", got)
		}
		hd.do(chromedp.KeyEvent(kb.Escape))
		hd.waitPopupClosed("escape")
		if !demoEval[bool](hd, `document.activeElement === document.querySelector('nav [data-app="reports"]')`) {
			t.Errorf("after Escape the focus is on %s, want the Team reports menu entry", demoEval[string](hd, `document.activeElement.outerHTML.slice(0, 120)`))
		}
		hd.clean()
	})
}

// openReports opens Team reports from the main menu, and waits until its
// window shows the report, connected.
func (d *demoTab) openReports() {
	d.t.Helper()
	n := demoEval[int](d, `document.querySelector("#log").textContent.split("reports: connected as ").length`)
	d.click(`nav [data-app="reports"]`)
	d.waitFor("the popup window", `!!`+demoPopupFrame)
	d.waitFor("the ready in the protocol log", fmt.Sprintf(`document.querySelector("#log").textContent.split("reports: connected as ").length > %d`, n))
	d.waitFor("the report in the popup", frameCond(demoPopupDoc, `d.querySelector("#report h1").textContent === "Team reports" && d.querySelector("#report h1").getBoundingClientRect().height > 0`))
}

// waitPopupClosed waits until the popup's window is gone, for reason (the
// close event's), and its menu entry, if any, no longer shows it open.
func (d *demoTab) waitPopupClosed(reason string) {
	d.t.Helper()
	d.waitFor("the popup to close ("+reason+")", fmt.Sprintf(`!`+demoPopupWindow+` && !document.querySelector("iframe[data-helpdesk-app=reports]") && `+
		`((b) => !b || b.getAttribute("aria-pressed") === "false")(document.querySelector('nav [data-app="reports"]')) && `+
		`document.querySelector("#log li").textContent === %q`, "reports: closed ("+reason+")"))
}

// drag drags with the mouse from (x, y) by (dx, dy).
func (d *demoTab) drag(x, y, dx, dy float64) {
	d.t.Helper()
	d.do(dragActions(x, y, dx, dy)...)
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

// checkViewports checks the layout at each of demoViewports, from the tab
// at 1366×900, where an open popup was opened, and saves a screenshot named
// name at each when DEMO_SCREENSHOTS is set and name is not empty. It
// leaves the tab at 1366×900.
func (d *demoTab) checkViewports(name string) {
	d.t.Helper()
	for i, vp := range demoViewports {
		d.do(chromedp.EmulateViewport(vp[0], vp[1]))
		d.checkLayout(name, vp[0], vp[1], i == 0)
	}
	d.do(chromedp.EmulateViewport(demoViewports[0][0], demoViewports[0][1]))
}

// checkLayout checks the layout in the tab's window, width×height, once the
// popup has settled (opened: an open popup was opened in this window; see
// demoLayoutProblems), and saves a screenshot named name-WxH when
// DEMO_SCREENSHOTS is set and name is not empty.
func (d *demoTab) checkLayout(name string, width, height int64, opened bool) {
	d.t.Helper()
	d.settle(demoPopupSizes + ` + innerWidth`)
	if problems := demoEval[[]string](d, fmt.Sprintf("(%s)(%t)", demoLayoutProblems, opened)); len(problems) > 0 {
		d.t.Errorf("at %d×%d:\n%s", width, height, strings.Join(problems, "\n"))
	}
	if name != "" && os.Getenv("DEMO_SCREENSHOTS") != "" {
		d.screenshot(fmt.Sprintf("%s-%dx%d", name, width, height))
	}
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
