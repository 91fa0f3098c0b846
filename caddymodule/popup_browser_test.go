package caddymodule

// Browser tests of host.js's floating popup windows and of the failures it
// reports to the Helpdesk page ("error" events). The Helpdesk page is
// testdata/browser/popup.html, whose Content-Security-Policy forbids inline
// styles (host.js must style its windows through the CSSOM), driven through
// window.T of testdata/browser/popup.js. They reuse browser_test.go's world:
// the gateway, its apps, and a foreign origin.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// popupTestTimeout bounds each popup test, which runs more steps than most.
const popupTestTimeout = 45 * time.Second

// titleBarHeight is the height of a window's title bar, in CSS px.
const titleBarHeight = 40

// popupOptions are HelpdeskHost.mount's options, with those of windows and
// of failures.
type popupOptions struct {
	mountOptions
	Title    string `json:"title,omitempty"`
	Window   bool   `json:"window,omitempty"`
	Avoid    string `json:"avoid,omitempty"`
	Remember *bool  `json:"remember,omitempty"`
}

// box is an element's box in the viewport, in CSS px.
type box struct {
	Left   int `json:"left"`
	Top    int `json:"top"`
	Right  int `json:"right"`
	Bottom int `json:"bottom"`
	Width  int `json:"width"`
	Height int `json:"height"`
}

func (b box) String() string {
	return fmt.Sprintf("%d×%d at (%d, %d)", b.Width, b.Height, b.Left, b.Top)
}

// inside reports whether b lies within area.
func (b box) inside(area box) bool {
	return b.Left >= area.Left && b.Top >= area.Top && b.Right <= area.Right && b.Bottom <= area.Bottom
}

// hostError is the detail of an instance's "error" event.
type hostError struct {
	Code    string  `json:"code"`
	Status  *int    `json:"status"`
	Message string  `json:"message"`
	Source  string  `json:"source"`
	At      float64 `json:"at"`
}

// newPopupEnv is newBridgeEnv with a longer timeout.
func newPopupEnv(t *testing.T) *bridgeEnv {
	t.Helper()
	return newBridgeEnvWithin(t, popupTestTimeout)
}

// viewport sets the tab's viewport (emulation.SetDeviceMetricsOverride).
func (e *bridgeEnv) viewport(width, height int64) {
	e.t.Helper()
	if err := chromedp.Do(e.ctx, chromedp.EmulateViewport(width, height)); err != nil {
		e.t.Fatalf("setting the viewport to %d×%d: %v", width, height, err)
	}
}

// openPopupPage opens popup.html.
func (e *bridgeEnv) openPopupPage() {
	e.t.Helper()
	e.navigate(e.helpdesk + "/popup.html")
	e.waitHost("window.T !== undefined && window.HelpdeskHost !== undefined && document.readyState === 'complete'")
}

// mountPopup opens popup.html and mounts an app on its body.
func (e *bridgeEnv) mountPopup(o popupOptions) string {
	e.t.Helper()
	if o.User == nil {
		o.User = bridgeUser
	}
	e.openPopupPage()
	return hostEval[string](e, "(T.t0 = performance.now(), T.mount("+jsValue(e.t, o)+"))")
}

// withButtons marks a mouse event as one with the left button held.
func withButtons(p *input.DispatchMouseEventParams) { p.Buttons = 1 }

// dragActions press the left mouse button at (x, y), move it by (dx, dy)
// in steps, and release it: real input events, as a user's.
func dragActions(x, y, dx, dy float64) []chromedp.Action[chromedp.Void] {
	const steps = 8
	actions := []chromedp.Action[chromedp.Void]{
		chromedp.MouseEvent(chromedp.MouseMoved, x, y),
		chromedp.MouseEvent(chromedp.MousePressed, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1), withButtons),
	}
	for i := 1; i <= steps; i++ {
		f := float64(i) / steps
		actions = append(actions, chromedp.MouseEvent(chromedp.MouseMoved, x+dx*f, y+dy*f, chromedp.ButtonLeft, withButtons))
	}
	return append(actions, chromedp.MouseEvent(chromedp.MouseReleased, x+dx, y+dy, chromedp.ButtonLeft, chromedp.ClickCount(1)))
}

// drag drags with the mouse from (x, y) by (dx, dy).
func (e *bridgeEnv) drag(x, y, dx, dy float64) {
	e.t.Helper()
	if err := chromedp.Do(e.ctx, dragActions(x, y, dx, dy)...); err != nil {
		e.t.Fatalf("dragging from (%.0f, %.0f) by (%.0f, %.0f): %v", x, y, dx, dy, err)
	}
}

// click clicks the left mouse button at (x, y).
func (e *bridgeEnv) click(x, y int) {
	e.t.Helper()
	if err := chromedp.Do(e.ctx, chromedp.MouseClickXY(float64(x), float64(y))); err != nil {
		e.t.Fatalf("clicking at (%d, %d): %v", x, y, err)
	}
}

// keys types keys into whatever has the focus.
func (e *bridgeEnv) keys(keys string, opts ...chromedp.KeyOption) {
	e.t.Helper()
	if err := chromedp.Do(e.ctx, chromedp.KeyEvent(keys, opts...)); err != nil {
		e.t.Fatalf("typing %q: %v", keys, err)
	}
}

// dragTitle drags the window by its title bar, from a point left of its
// buttons.
func (e *bridgeEnv) dragTitle(dx, dy float64) {
	e.t.Helper()
	bar := hostEval[box](e, `T.part("titlebar")`)
	e.drag(float64(bar.Left+40), float64(bar.Top+bar.Height/2), dx, dy)
}

// checkAppArea checks that the app's iframe fills the window below its
// title bar.
func (e *bridgeEnv) checkAppArea() {
	e.t.Helper()
	win := hostEval[box](e, "T.win()")
	frame := hostEval[box](e, "T.box()")
	want := box{Left: win.Left, Top: win.Top + titleBarHeight, Right: win.Right, Bottom: win.Bottom,
		Width: win.Width, Height: win.Height - titleBarHeight}
	if frame != want {
		e.t.Errorf("the app's iframe is %v, want %v (the window %v less its title bar)", frame, want, win)
	}
}

// noViolations checks that the page broke none of its policies: host.js
// styled everything through the CSSOM.
func (e *bridgeEnv) noViolations() {
	e.t.Helper()
	if v := hostEval[[]map[string]any](e, "T.violations"); len(v) > 0 {
		e.t.Errorf("the Helpdesk page's Content-Security-Policy was violated: %v", v)
	}
}

// shoot saves a screenshot of the tab to $HELPDESK_POPUP_SHOTS, when set.
func (e *bridgeEnv) shoot(name string) {
	e.t.Helper()
	dir := os.Getenv("HELPDESK_POPUP_SHOTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	if _, err := chromedp.Call(e.ctx, page.BringToFront, cdp.Empty{}); err != nil {
		e.t.Fatalf("bringing the tab to the front: %v", err)
	}
	png, err := chromedp.Run(e.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		e.t.Fatalf("capturing the tab: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// shootZoomed saves a close-up of part of the tab, scaled, to
// $HELPDESK_POPUP_SHOTS, when set.
func (e *bridgeEnv) shootZoomed(name string, b box, scale float64) {
	e.t.Helper()
	dir := os.Getenv("HELPDESK_POPUP_SHOTS")
	if dir == "" {
		return
	}
	res, err := chromedp.Call(e.ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
		FromSurface: boolPtr(true),
		Clip:        &page.Viewport{X: float64(b.Left), Y: float64(b.Top), Width: float64(b.Width), Height: float64(b.Height), Scale: scale},
	})
	if err != nil {
		e.t.Fatalf("capturing part of the tab: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), res.Data, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func intPtr(n int) *int    { return &n }
func boolPtr(b bool) *bool { return &b }

// ---- Windows ---------------------------------------------------------------

func TestBrowserPopupWindowDragResizeAndRestore(t *testing.T) {
	e := newPopupEnv(t)
	e.viewport(1280, 720)
	o := popupOptions{
		mountOptions: mountOptions{App: "crm", Src: e.app("std", "app.html"), Mode: "popup", Placement: "main_menu"},
		Title:        "CRM", Window: true, Avoid: "#top",
	}
	e.mountPopup(o)
	e.waitHost(`T.count("ready") === 1`)
	area := hostEval[box](e, "T.area()")
	start := hostEval[box](e, "T.win()")
	if !start.inside(area) || start.Width != 480 || start.Height != 360+titleBarHeight {
		t.Fatalf("a new window is %v, want 480×%d inside %v", start, 360+titleBarHeight, area)
	}
	if title := hostEval[string](e, `T.inst.windowElement.querySelector('[data-helpdesk-part="title"]').textContent`); title != "CRM" {
		t.Errorf("the title bar says %q, want the mount's title", title)
	}
	if f := hostEval[string](e, "T.focused()"); f != "titlebar" {
		t.Errorf("after opening, the focus is on %q, want the window's title bar", f)
	}
	e.checkAppArea()

	// Dragged by its title bar.
	e.dragTitle(-300, -200)
	moved := hostEval[box](e, "T.win()")
	if want := (box{Left: start.Left - 300, Top: start.Top - 200, Right: start.Right - 300, Bottom: start.Bottom - 200, Width: start.Width, Height: start.Height}); moved != want {
		t.Fatalf("after dragging the title bar by (-300, -200) the window is %v, want %v", moved, want)
	}
	e.checkAppArea()

	// Resized from its bottom-right corner, then from its top-left one.
	e.drag(float64(moved.Right-2), float64(moved.Bottom-2), 120, 80)
	got := hostEval[box](e, "T.win()")
	if got.Left != moved.Left || got.Top != moved.Top || got.Width != moved.Width+120 || got.Height != moved.Height+80 {
		t.Fatalf("after dragging the bottom-right corner by (120, 80) the window is %v, want %d×%d at (%d, %d)",
			got, moved.Width+120, moved.Height+80, moved.Left, moved.Top)
	}
	e.drag(float64(got.Left+2), float64(got.Top+2), -50, -30)
	prev := got
	got = hostEval[box](e, "T.win()")
	if got.Left != prev.Left-50 || got.Top != prev.Top-30 || got.Right != prev.Right || got.Bottom != prev.Bottom {
		t.Fatalf("after dragging the top-left corner by (-50, -30) the window is %v, want its bottom-right corner kept at (%d, %d)",
			got, prev.Right, prev.Bottom)
	}
	e.checkAppArea()

	// The keyboard: arrows move the focused title bar, Shift with arrows resizes.
	hostEval[bool](e, `T.inst.windowElement.querySelector('[data-helpdesk-part="titlebar"]').focus(), true`)
	prev = got
	e.keys(kb.ArrowLeft + kb.ArrowLeft + kb.ArrowUp)
	got = hostEval[box](e, "T.win()")
	if got.Left != prev.Left-20 || got.Top != prev.Top-10 || got.Width != prev.Width || got.Height != prev.Height {
		t.Errorf("after ←, ←, ↑ the window is %v, want it moved by (-20, -10) from %v", got, prev)
	}
	prev = got
	e.keys(kb.ArrowRight+kb.ArrowDown, chromedp.KeyModifiers(chromedp.ModifierShift))
	got = hostEval[box](e, "T.win()")
	if got.Left != prev.Left || got.Top != prev.Top || got.Width != prev.Width+10 || got.Height != prev.Height+10 {
		t.Errorf("after Shift+→, Shift+↓ the window is %v, want it 10 px wider and taller than %v", got, prev)
	}
	final := got

	// Remembered as distances to the area's corner nearest the window's
	// centre, and the app's size.
	stored := hostEval[map[string]any](e, `JSON.parse(localStorage.getItem("helpdesk-host:window:crm"))`)
	want := map[string]any{"anchor": "top-left", "x": final.Left - area.Left, "y": final.Top - area.Top,
		"width": final.Width, "height": final.Height - titleBarHeight}
	if 2*final.Left+final.Width > area.Left+area.Right {
		want["anchor"], want["x"] = "top-right", area.Right-final.Right
	}
	if 2*final.Top+final.Height > area.Top+area.Bottom {
		want["anchor"], want["y"] = strings.Replace(want["anchor"].(string), "top", "bottom", 1), area.Bottom-final.Bottom
	}
	if !sameJSON(t, stored, want) {
		t.Errorf("localStorage remembers %v, want %v", stored, want)
	}

	// Destroyed and mounted again: the same bounds.
	hostEval[bool](e, "T.inst.destroy(), T.mount("+jsValue(t, o)+"), true")
	if got := hostEval[box](e, "T.win()"); got != final {
		t.Errorf("mounted again, the window is %v, want %v", got, final)
	}
	// After a reload too.
	e.mountPopup(o)
	if got := hostEval[box](e, "T.win()"); got != final {
		t.Errorf("after a reload the window is %v, want %v", got, final)
	}
	e.waitHost(`T.count("ready") === 1`)
	e.checkAppArea()

	// Each app has its own: another one opens where a new window does.
	other := o
	other.App = "orders"
	hostEval[bool](e, "T.inst.destroy(), T.mount("+jsValue(t, other)+"), true")
	if got := hostEval[box](e, "T.win()"); got != start {
		t.Errorf("another app's window is %v, want a new window's %v", got, start)
	}
	// Without storage (the page's localStorage throws) windows still open.
	hostEval[bool](e, `Object.defineProperty(window, "localStorage", {get() { throw new DOMException("denied", "SecurityError"); }}), T.inst.destroy(), T.mount(`+jsValue(t, o)+"), true")
	if got := hostEval[box](e, "T.win()"); got != start {
		t.Errorf("without storage the window is %v, want a new window's %v", got, start)
	}
	e.dragTitle(-10, -10)
	e.noViolations()
}

func TestBrowserPopupWindowStaysInsideTheViewport(t *testing.T) {
	e := newPopupEnv(t)
	e.viewport(1366, 900)
	o := popupOptions{
		mountOptions: mountOptions{App: "crm", Src: e.app("std", "app.html"), Mode: "popup", Placement: "ticket_sidebar", Ticket: bridgeTicket},
		Title:        "CRM · customer 55-1234", Window: true, Avoid: "#top",
	}
	e.mountPopup(o)
	e.waitHost(`T.count("ready") === 1`)
	e.shoot("popup-1366x900")

	e.viewport(1280, 720)
	area := hostEval[box](e, "T.area()")
	if area.Top < 50 {
		t.Fatalf("the header's bottom is at %d px: the page did not load its style", area.Top)
	}
	inside := func(what string) box {
		t.Helper()
		e.waitHost(`(() => { const w = T.win(), a = T.area(); return w.left >= a.left && w.top >= a.top && w.right <= a.right && w.bottom <= a.bottom; })()`)
		got := hostEval[box](e, "T.win()")
		e.checkAppArea()
		return got
	}
	// A new window keeps its gap to the corner it opened in.
	if got := inside("at 1280×720"); got.Right != area.Right-24 || got.Bottom != area.Bottom-24 {
		t.Errorf("at 1280×720 the window is %v, want it 24 px from the bottom-right corner of %v", got, area)
	}
	e.shoot("popup-1280x720")
	if w := hostEval[box](e, "T.win()"); true {
		e.shootZoomed("popup-titlebar-zoomed", box{Left: w.Left - 16, Top: w.Top - 16, Width: w.Width + 32, Height: 100}, 2)
		e.shootZoomed("popup-bottom-zoomed", box{Left: w.Left - 30, Top: w.Bottom - 60, Width: 200, Height: 84}, 3)
	}

	// Dragged far past each edge, it stops at the edge, and at the header.
	e.dragTitle(-3000, -3000)
	if got := hostEval[box](e, "T.win()"); got.Left != area.Left || got.Top != area.Top {
		t.Errorf("dragged past the top-left corner, the window is %v, want it at (%d, %d), under the header", got, area.Left, area.Top)
	}
	e.dragTitle(3000, 3000)
	if got := hostEval[box](e, "T.win()"); got.Right != area.Right || got.Bottom != area.Bottom {
		t.Errorf("dragged past the bottom-right corner, the window is %v, want it flush with (%d, %d)", got, area.Right, area.Bottom)
	}
	// Resized far upwards from its top edge: it stops at the header.
	w := hostEval[box](e, "T.win()")
	e.drag(float64(w.Left+w.Width/2), float64(w.Top+1), 0, -3000)
	if got := hostEval[box](e, "T.win()"); got.Top != area.Top || got.Bottom != w.Bottom {
		t.Errorf("resized past the header, the window is %v, want its top at %d and its bottom kept at %d", got, area.Top, w.Bottom)
	}
	// Resized far to the left: it stops at the viewport's edge.
	w = hostEval[box](e, "T.win()")
	e.drag(float64(w.Left+1), float64(w.Top+w.Height/2), -3000, 0)
	if got := hostEval[box](e, "T.win()"); got.Left != area.Left || got.Right != w.Right {
		t.Errorf("resized past the left edge, the window is %v, want its left at %d and its right kept at %d", got, area.Left, w.Right)
	}
	// Back to a modest size in the middle.
	w = hostEval[box](e, "T.win()")
	e.drag(float64(w.Left+1), float64(w.Top+1), 500, 300)
	e.dragTitle(-200, -100)
	before := inside("after the drags")

	// The browser window shrinks: the window moves, then shrinks, to stay inside.
	e.viewport(900, 500)
	got := inside("at 900×500")
	if got.Width != before.Width || got.Height != before.Height {
		t.Errorf("at 900×500 the %v window became %v, want it moved, not resized", before, got)
	}
	e.viewport(420, 300)
	got = inside("at 420×300")
	if small := hostEval[box](e, "T.area()"); got.Width != small.Width || got.Height != small.Height {
		t.Errorf("at 420×300 the window is %v, want it to fill the %v area left", got, small)
	}
	// It grows back where it was when the viewport does.
	e.viewport(1280, 720)
	e.waitHost(fmt.Sprintf(`T.win().width === %d`, before.Width))
	if got := hostEval[box](e, "T.win()"); got != before {
		t.Errorf("back at 1280×720 the window is %v, want %v again", got, before)
	}

	// Without avoid, the window may go over the header.
	free := o
	free.Avoid = ""
	free.App = "free"
	hostEval[bool](e, "T.inst.destroy(), T.mount("+jsValue(t, free)+"), true")
	e.dragTitle(-3000, -3000)
	if got := hostEval[box](e, "T.win()"); got.Left != 0 || got.Top != 0 {
		t.Errorf("without avoid, dragged past the top-left corner, the window is %v, want it at (0, 0)", got)
	}
	e.noViolations()
}

func TestBrowserPopupWindowClampsAppResizeToMaxSizeAndViewport(t *testing.T) {
	e := newPopupEnv(t)
	e.viewport(1280, 720)
	e.mountPopup(popupOptions{
		mountOptions: mountOptions{
			App: "crm", Src: e.app("std", "app.html"), Mode: "popup", Placement: "main_menu",
			MinSize: map[string]int{"width": 200, "height": 100}, MaxSize: map[string]int{"width": 900, "height": 2000},
		},
		Title: "CRM", Window: true, Avoid: "#top",
	})
	e.waitApp("app.html", "HelpdeskApps.connected")
	area := hostEval[box](e, "T.area()")
	fullHeight := area.Bottom - area.Top - titleBarHeight

	// Beyond maxSize in width, beyond the viewport in height.
	appEval[bool](e, "app.html", "HelpdeskApps.resize(1500, 2000), true")
	e.waitHost(`T.count("resize") === 1`)
	if got := hostEval[frameBox](e, `T.events("resize")[0]`); got != (frameBox{Width: 900, Height: fullHeight}) {
		t.Errorf("resize event = %+v, want 900×%d (maxSize's width, the viewport's height)", got, fullHeight)
	}
	if got := hostEval[box](e, "T.box()"); got.Width != 900 || got.Height != fullHeight {
		t.Errorf("the app's area is %v, want 900×%d", got, fullHeight)
	}
	if got := hostEval[box](e, "T.win()"); !got.inside(area) {
		t.Errorf("the window %v left the area %v", got, area)
	}
	e.checkAppArea()

	// Within the limits, as asked; below minSize, minSize.
	appEval[bool](e, "app.html", `HelpdeskApps.resize(600, "300px"), true`)
	e.waitHost(`T.count("resize") === 2`)
	if got := hostEval[box](e, "T.box()"); got.Width != 600 || got.Height != 300 {
		t.Errorf("after resize(600, 300px) the app's area is %v, want 600×300", got)
	}
	appEval[bool](e, "app.html", "HelpdeskApps.resize(10, 10), true")
	e.waitHost(`T.count("resize") === 3`)
	if got := hostEval[frameBox](e, `T.events("resize")[2]`); got != (frameBox{Width: 200, Height: 100}) {
		t.Errorf("resize(10, 10) gave %+v, want minSize's 200×100", got)
	}

	// Full screen: the whole area below the header; a resize asked for
	// meanwhile applies on the way back, which the window's button asks for.
	appEval[bool](e, "app.html", "HelpdeskApps.fullscreen(true), true")
	e.waitHost(`T.count("fullscreen") === 1`)
	if got := hostEval[box](e, "T.win()"); got != area {
		t.Errorf("full screen the window is %v, want the area below the header, %v", got, area)
	}
	e.shoot("popup-fullscreen-1280x720")
	if b := hostEval[box](e, `T.part("titlebar")`); true {
		e.shootZoomed("popup-fullscreen-titlebar-zoomed", box{Left: b.Right - 120, Top: b.Top, Width: 120, Height: b.Height}, 3)
	}
	if pressed := hostEval[string](e, `T.inst.windowElement.querySelector('[data-helpdesk-part="fullscreen"]').getAttribute("aria-pressed")`); pressed != "true" {
		t.Errorf("the full-screen button's aria-pressed = %q while full screen", pressed)
	}
	appEval[bool](e, "app.html", "HelpdeskApps.resize(500, 250), true")
	e.waitHost(`T.count("resize") === 4`)
	if got := hostEval[box](e, "T.win()"); got != area {
		t.Errorf("a resize while full screen changed the window to %v", got)
	}
	button := hostEval[box](e, `T.part("fullscreen")`)
	e.click(button.Left+button.Width/2, button.Top+button.Height/2)
	e.waitHost(`T.count("fullscreen") === 2`)
	if got := hostEval[box](e, "T.box()"); got.Width != 500 || got.Height != 250 {
		t.Errorf("back from full screen the app's area is %v, want the 500×250 asked for meanwhile", got)
	}
	if evs := hostEval[[]map[string]bool](e, `T.events("fullscreen")`); !evs[0]["fullscreen"] || evs[1]["fullscreen"] {
		t.Errorf("fullscreen events = %v, want true then false", evs)
	}
	// A double click on the title bar toggles it too.
	bar := hostEval[box](e, `T.part("titlebar")`)
	doubleClick := func() {
		t.Helper()
		x, y := float64(bar.Left+40), float64(bar.Top+bar.Height/2)
		if err := chromedp.Do(e.ctx, chromedp.MouseClickXY(x, y), chromedp.MouseClickXY(x, y, chromedp.ClickCount(2))); err != nil {
			t.Fatalf("double-clicking the title bar: %v", err)
		}
	}
	doubleClick()
	e.waitHost(`T.count("fullscreen") === 3 && T.inst.fullscreen`)
	if got := hostEval[box](e, "T.win()"); got != area {
		t.Errorf("after a double click on the title bar the window is %v, want full screen, %v", got, area)
	}
	bar = hostEval[box](e, `T.part("titlebar")`)
	doubleClick()
	e.waitHost(`T.count("fullscreen") === 4 && !T.inst.fullscreen`)
	e.noViolations()
}

// TestBrowserPopupWindowFollowsMaxSizeFunction proves that a maxSize given
// as a function is read again when the viewport changes: a window at its
// maxSize shrinks to the smaller maxSize of a smaller viewport (not merely
// to the viewport), keeping its corner, and grows back with it; an app's
// resize request is clamped to the maxSize of the moment.
func TestBrowserPopupWindowFollowsMaxSizeFunction(t *testing.T) {
	e := newPopupEnv(t)
	e.viewport(1366, 900)
	o := popupOptions{
		mountOptions: mountOptions{App: "sized", Src: e.app("std", "app.html"), Mode: "popup", Placement: "main_menu"},
		Title:        "Sized", Window: true, Avoid: "#top", Remember: boolPtr(false),
	}
	e.openPopupPage()
	// The page's limit: the viewport less 600×400 px.
	hostEval[string](e, "T.mount(Object.assign("+jsValue(t, o)+`, {maxSize: () => ({
		width: document.documentElement.clientWidth - 600, height: document.documentElement.clientHeight - 400})}))`)
	e.waitApp("app.html", "HelpdeskApps.connected")

	// The app asks for more than the limit: it gets 766×500 at 1366×900.
	appEval[bool](e, "app.html", "HelpdeskApps.resize(2000, 2000), true")
	e.waitHost(`T.count("resize") === 1`)
	if got := hostEval[frameBox](e, `T.events("resize")[0]`); got != (frameBox{Width: 766, Height: 500}) {
		t.Errorf("at 1366×900 resize(2000, 2000) gave %+v, want maxSize's 766×500", got)
	}
	large := hostEval[box](e, "T.win()")
	if large.Width != 766 || large.Height != 500+titleBarHeight || large.Right != 1366-24 || large.Bottom != 900-24 {
		t.Errorf("at 1366×900 the window is %v (right %d, bottom %d), want 766×%d, 24 px from the bottom-right corner",
			large, large.Right, large.Bottom, 500+titleBarHeight)
	}

	// The viewport shrinks: the window, which would still fit it, shrinks
	// to the new maxSize, 680×320, in its corner.
	e.viewport(1280, 720)
	want := box{Left: 1280 - 24 - 680, Top: 720 - 24 - 320 - titleBarHeight, Right: 1280 - 24, Bottom: 720 - 24,
		Width: 680, Height: 320 + titleBarHeight}
	e.waitHost(`innerWidth === 1280 && innerHeight === 720`)
	deadline := time.Now().Add(2 * time.Second)
	got := hostEval[box](e, "T.win()")
	for got != want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		got = hostEval[box](e, "T.win()")
	}
	if got != want {
		t.Errorf("at 1280×720 the window is %v (right %d, bottom %d), want %v, within the maxSize of 680×320", got, got.Right, got.Bottom, want)
	}
	e.checkAppArea()

	// Back at 1366×900 it grows back with the limit.
	e.viewport(1366, 900)
	e.waitHost(fmt.Sprintf(`T.win().width === %d && T.win().height === %d`, large.Width, large.Height))
	if got := hostEval[box](e, "T.win()"); got != large {
		t.Errorf("back at 1366×900 the window is %v, want %v again", got, large)
	}

	// Smaller again, a request is clamped to the maxSize of the moment.
	e.viewport(1280, 720)
	e.waitHost(`T.win().width === 680`)
	appEval[bool](e, "app.html", "HelpdeskApps.resize(2000, 2000), true")
	e.waitHost(`T.count("resize") === 2`)
	if got := hostEval[frameBox](e, `T.events("resize")[1]`); got != (frameBox{Width: 680, Height: 320}) {
		t.Errorf("at 1280×720 resize(2000, 2000) gave %+v, want maxSize's 680×320", got)
	}
	if got := hostEval[box](e, "T.win()"); got != want {
		t.Errorf("after that request the window is %v, want %v", got, want)
	}
	e.noViolations()
}

func TestBrowserPopupWindowEscapeClosesAndFocusReturns(t *testing.T) {
	e := newPopupEnv(t)
	e.viewport(1280, 720)
	e.openPopupPage()
	o := popupOptions{
		mountOptions: mountOptions{App: "crm", Src: e.app("std", "app.html"), Placement: "main_menu", User: bridgeUser},
		Title:        "CRM", Avoid: "#top",
	}
	hostEval[bool](e, "T.next = "+jsValue(t, o)+", true")
	opener := hostEval[box](e, `T.rect(document.getElementById("open"))`)
	open := func(n int) {
		t.Helper()
		e.click(opener.Left+opener.Width/2, opener.Top+opener.Height/2)
		e.waitHost(fmt.Sprintf(`T.count("ready") === %d && T.inst.mode === "popup" && T.inst.windowElement.isConnected`, n))
	}

	// Opened from the button (HelpdeskHost.openPopup): the focus moves into
	// the window; Escape closes it, and the focus goes back to the button.
	open(1)
	if f := hostEval[string](e, "T.focused()"); f != "titlebar" {
		t.Fatalf("after opening, the focus is on %q, want the window's title bar", f)
	}
	e.shoot("popup-opened-by-click-1280x720")
	e.keys(kb.Escape)
	e.waitHost(`T.count("close") === 1`)
	if got := hostEval[map[string]any](e, `({reason: T.events("close")[0].reason, destroyed: T.inst.destroyed, shown: T.inst.windowElement.isConnected, focus: T.focused()})`); !sameJSON(t, got, map[string]any{"reason": "escape", "destroyed": true, "shown": false, "focus": "open"}) {
		t.Errorf("after Escape: %v, want the window closed with reason escape and the focus back on the button", got)
	}

	// With the focus in the app, the close button: the same.
	open(2)
	frame := hostEval[box](e, "T.box()")
	e.click(frame.Left+frame.Width/2, frame.Top+frame.Height/2)
	e.waitHost(`T.focused() === "iframe"`)
	closeButton := hostEval[box](e, `T.part("close")`)
	e.click(closeButton.Left+closeButton.Width/2, closeButton.Top+closeButton.Height/2)
	e.waitHost(`T.count("close") === 2`)
	if got := hostEval[map[string]any](e, `({reason: T.events("close")[1].reason, destroyed: T.inst.destroyed, focus: T.focused()})`); !sameJSON(t, got, map[string]any{"reason": "button", "destroyed": true, "focus": "open"}) {
		t.Errorf("after the close button: %v, want reason button and the focus back on the button", got)
	}

	// Full screen, Escape leaves full screen first.
	open(3)
	button := hostEval[box](e, `T.part("fullscreen")`)
	e.click(button.Left+button.Width/2, button.Top+button.Height/2)
	e.waitHost(`T.count("fullscreen") === 1 && T.inst.fullscreen`)
	e.keys(kb.Escape)
	e.waitHost(`T.count("fullscreen") === 2 && !T.inst.fullscreen`)
	if n := hostEval[int](e, `T.count("close")`); n != 2 {
		t.Errorf("Escape in full screen closed the window")
	}
	// close() from the page, with the focus in the app.
	frame = hostEval[box](e, "T.box()")
	e.click(frame.Left+frame.Width/2, frame.Top+frame.Height/2)
	e.waitHost(`T.focused() === "iframe"`)
	hostEval[bool](e, "T.inst.close(), true")
	if got := hostEval[map[string]any](e, `({reason: T.events("close")[2].reason, focus: T.focused()})`); !sameJSON(t, got, map[string]any{"reason": "api", "focus": "open"}) {
		t.Errorf("after close(): %v, want reason api and the focus back on the button", got)
	}
	e.noViolations()
}

// ---- Failures --------------------------------------------------------------

func TestBrowserHostReportsGatewayErrorPage(t *testing.T) {
	e := newPopupEnv(t)
	// error.html stands in for the gateway's 401 page: no shim, no ready,
	// only helpdesk:app:error.
	e.mountPopup(popupOptions{
		mountOptions: mountOptions{App: "crm", Src: e.app("raw", "error.html"), Mode: "popup", Placement: "main_menu", HandshakeTimeout: intPtr(500)},
		Title:        "CRM", Window: true,
	})
	e.waitHost(`T.count("error") === 1`)
	got := hostEval[hostError](e, `T.events("error")[0]`)
	if got.Code != "UNAUTHENTICATED" || got.Status == nil || *got.Status != 401 || got.Source != "gateway" || got.Message != "Sign in to the Helpdesk to open this app." {
		t.Errorf("error event = %+v, want UNAUTHENTICATED, 401, from the gateway, with its message", got)
	}
	if hostEval[bool](e, "T.inst.connected") {
		t.Errorf("an instance showing an error page says it is connected")
	}
	// The error ended the handshake: no TIMEOUT follows.
	time.Sleep(800 * time.Millisecond)
	if n := hostEval[int](e, `T.count("error")`); n != 1 {
		t.Errorf("%d error events, want the gateway's only: %v", n, hostEval[any](e, `T.events("error")`))
	}
}

// TestBrowserHostSignInHoldsTheHandshake: helpdesk:app:signin, the
// gateway's sign-in page's, holds the handshake while the user signs in;
// with signedIn, the app's own ready is awaited afresh, so a page without
// the bridge after the sign-in is still reported.
func TestBrowserHostSignInHoldsTheHandshake(t *testing.T) {
	e := newPopupEnv(t)
	const timeout = 800 * time.Millisecond
	e.mountPopup(popupOptions{
		mountOptions: mountOptions{Src: e.app("raw", "signin.html"), Mode: "embed", Placement: "main_menu", HandshakeTimeout: intPtr(int(timeout / time.Millisecond))},
	})
	e.waitHost(`T.received("helpdesk:app:signin").length === 1`)
	time.Sleep(timeout + 700*time.Millisecond)
	if errs := hostEval[[]hostError](e, `T.events("error")`); len(errs) != 0 {
		t.Fatalf("errors while the sign-in page was shown: %+v", errs)
	}
	signedIn := time.Now()
	hostEval[bool](e, `T.inst.iframe.contentWindow.postMessage("sign in", "*"), true`)
	e.waitHost(`T.count("error") === 1`)
	got := hostEval[hostError](e, `T.events("error")[0]`)
	if got.Code != "TIMEOUT" || got.Source != "handshake" {
		t.Errorf("after the sign-in, a page without the bridge gave %+v; want a handshake TIMEOUT", got)
	}
	if waited := time.Since(signedIn); waited < timeout {
		t.Errorf("the timeout came %v after the sign-in, before the %v the app has", waited, timeout)
	}
	if n := hostEval[int](e, `T.count("ready")`); n != 0 {
		t.Errorf("%d ready events; the sign-in page is not the app", n)
	}
}

func TestBrowserHostReportsHandshakeTimeout(t *testing.T) {
	e := newPopupEnv(t)
	// legacy.html without the shim (inject off) never sends ready.
	e.mountPopup(popupOptions{
		mountOptions: mountOptions{Src: e.app("raw", "legacy.html"), Mode: "embed", Placement: "main_menu", HandshakeTimeout: intPtr(300)},
	})
	e.waitHost(`T.count("error") === 1`)
	got := hostEval[hostError](e, `Object.assign(T.events("error")[0], {at: T.log.find(x => x.type === "error").at - T.t0})`)
	if got.Code != "TIMEOUT" || got.Source != "handshake" || got.Status != nil || got.Message == "" {
		t.Errorf("error event = %+v, want TIMEOUT from the handshake, without a status", got)
	}
	if got.At < 280 || got.At > 3000 {
		t.Errorf("the TIMEOUT came %.0f ms after mount, want about 300", got.At)
	}
	// A ready that comes late still connects.
	appEval[bool](e, "legacy.html", `parent.postMessage({channel: "helpdesk:apps", event: "helpdesk:app:ready"}, "*"), true`)
	e.waitHost(`T.count("ready") === 1 && T.inst.connected`)
	if n := hostEval[int](e, `T.count("error")`); n != 1 {
		t.Errorf("%d error events, want one", n)
	}

	// The default timeout is 10 s: none within a second.
	hostEval[bool](e, "T.inst.destroy(), T.log = [], T.mount("+jsValue(t, mountOptions{Src: e.app("raw", "legacy.html"), Mode: "embed", User: bridgeUser})+"), true")
	time.Sleep(time.Second)
	if n := hostEval[int](e, `T.count("error")`); n != 0 {
		t.Errorf("with the default timeout, %d error events within a second", n)
	}
}

func TestBrowserHostIgnoresErrorsFromOtherOriginsAndWindows(t *testing.T) {
	e := newPopupEnv(t)
	e.mountPopup(popupOptions{
		mountOptions: mountOptions{Src: e.app("raw", "legacy.html"), Mode: "popup", Placement: "main_menu", HandshakeTimeout: intPtr(0)},
		Window:       true,
	})
	e.waitApp("legacy.html", "document.readyState === 'complete'")

	// The instance's iframe, on another origin.
	hostEval[bool](e, "T.inst.iframe.src = "+jsValue(t, e.foreign+"/apps/error.html")+", true")
	e.waitHost(`T.reports("error-posted") === 1`)
	// Another iframe, on the app's origin.
	hostEval[bool](e, "T.frame("+jsValue(t, e.app("raw", "error.html"))+"), true")
	e.waitHost(`T.reports("error-posted") === 2`)
	// The instance's iframe and origin, naming another appId.
	hostEval[bool](e, "T.inst.iframe.src = "+jsValue(t, e.app("raw", "error.html?appId=app-someone-else"))+", true")
	e.waitHost(`T.reports("error-posted") === 3`)
	if n := hostEval[int](e, `T.count("error")`); n != 0 {
		t.Fatalf("errors from another origin, another window or another appId were reported: %v", hostEval[any](e, `T.events("error")`))
	}
	// The instance's iframe and origin: reported.
	hostEval[bool](e, "T.inst.iframe.src = "+jsValue(t, e.app("raw", "error.html?code=FORBIDDEN&status=403"))+", true")
	e.waitHost(`T.count("error") === 1`)
	if got := hostEval[hostError](e, `T.events("error")[0]`); got.Code != "FORBIDDEN" || got.Status == nil || *got.Status != 403 || got.Source != "gateway" {
		t.Errorf("error event = %+v, want FORBIDDEN, 403, from the gateway", got)
	}
}

func TestBrowserHostReportsFrameBlockedByThePagePolicy(t *testing.T) {
	e := newPopupEnv(t)
	// blocked.html's policy is frame-src 'self': the apps' origin is blocked.
	e.navigate(e.helpdesk + "/blocked.html")
	e.waitHost("window.T !== undefined && document.readyState === 'complete'")
	hostEval[string](e, "T.mount("+jsValue(t, popupOptions{
		mountOptions: mountOptions{Src: e.app("std", "app.html"), Mode: "embed", User: bridgeUser, HandshakeTimeout: intPtr(500)},
	})+")")
	e.waitHost(`T.count("error") === 1`)
	got := hostEval[hostError](e, `T.events("error")[0]`)
	if got.Code != "LOAD_FAILED" || got.Source != "load" || !strings.Contains(got.Message, "frame-src") {
		t.Errorf("error event = %+v, want LOAD_FAILED from the load, naming frame-src", got)
	}
	time.Sleep(800 * time.Millisecond)
	if n := hostEval[int](e, `T.count("error")`); n != 1 {
		t.Errorf("%d error events, want the one LOAD_FAILED: %v", n, hostEval[any](e, `T.events("error")`))
	}
	// An app the policy allows (the same origin) connects.
	hostEval[bool](e, "T.inst.destroy(), T.log = [], T.mount("+jsValue(t, mountOptions{Src: e.helpdesk + "/apps/same/app.html", Mode: "embed", User: bridgeUser})+"), true")
	e.waitHost(`T.count("ready") === 1`)
	if n := hostEval[int](e, `T.count("error")`); n != 0 {
		t.Errorf("an allowed app gave error events: %v", hostEval[any](e, `T.events("error")`))
	}
}
