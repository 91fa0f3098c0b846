package caddymodule

// A browser test of the demo: Caddyfile.example runs in process, on free
// loopback ports, and headless Chromium drives it the way the README's
// "Quick start" and "Managing apps at runtime" tell a person to try it. It
// shares the browser and the helpers of browser_test.go: it skips without
// Chromium, and fails instead when HELPDESK_BROWSER_TESTS=required. With
// DEMO_SCREENSHOTS set, it saves screenshots of the settings page and of the
// Helpdesk to /tmp/demo-e2e-shots/.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const (
	// demoTestTimeout bounds the whole demo session.
	demoTestTimeout = 90 * time.Second
	// demoWaitTimeout bounds each wait for a condition in a page. The
	// Helpdesk reads the manifest every 5 s, and at once on focus.
	demoWaitTimeout = 8 * time.Second
	// demoShotsDir is where the screenshots go when DEMO_SCREENSHOTS is set.
	demoShotsDir = "/tmp/demo-e2e-shots"
	// demoViolation starts the console warning catchDemoViolations logs.
	demoViolation = "CSP violation: "
)

// catchDemoViolations reports, in every document and frame the tabs load,
// what a Content-Security-Policy blocked, as a console warning the tab's
// listener records.
const catchDemoViolations = `document.addEventListener("securitypolicyviolation", (e) =>
	console.warn("` + demoViolation + `" + e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " in " + e.documentURI));`

// demoPageState describes a page of the demo, for failure messages.
const demoPageState = `JSON.stringify({
	url: location.href,
	who: (document.querySelector("#who") || {}).textContent,
	settingsLink: !!document.querySelector("#settings-link"),
	nav: [...document.querySelectorAll("nav [data-app]")].map((b) => b.dataset.app),
	aside: [...document.querySelectorAll("aside [data-app]")].map((b) => b.dataset.app),
	rows: [...document.querySelectorAll("[data-placement] [data-app]")].map((r) => r.closest("[data-placement]").dataset.placement + ":" + r.dataset.app),
	said: ["#toast", "#notice", "#form-error", "#stale-banner", "#fatal"].map((s) => document.querySelector(s))
		.filter((n) => n && !n.closest("[hidden]") && n.textContent.trim()).map((n) => n.id + ": " + n.textContent.replace(/\s+/g, " ").trim()),
	log: [...document.querySelectorAll("#log li")].slice(0, 5).map((li) => li.textContent),
})`

// TestBrowserDemoAdminManagesApps proves, on the demo of Caddyfile.example
// in a real browser, that an admin signs in to the demo, opens Settings,
// creates an app, drags it to the top, stars it, deactivates another; that
// after each step the manifest and the Helpdesk's menus show the change (an
// open Helpdesk page follows without being reloaded); and that an agent sees
// no Settings entry and gets 403 at its URL. No page may throw an uncaught
// exception or break a Content-Security-Policy.
func TestBrowserDemoAdminManagesApps(t *testing.T) {
	bctx := browserContext(t)
	base, tool := startDemo(t)
	// A browser context of its own: the demo's session cookie neither
	// meets nor outlives the other browser tests' cookies for 127.0.0.1.
	hd := openDemoTab(t, bctx, "Helpdesk", base, chromedp.WithNewBrowserContext())
	// The settings page, from step 4, in a second tab beside the Helpdesk.
	st := openDemoTab(t, hd.tab, "Settings", base)

	step(t, "1 admin signs in", func(t *testing.T) {
		hd := hd.in(t)
		hd.navigate(base + "/")
		hd.signIn("Ada Admin", "admin")
		hd.waitRefreshed("the Settings link and the Caddyfile's apps in the menus",
			`document.querySelector("#settings-link").offsetParent !== null && `+
				`!!document.querySelector('nav [data-app="reports"]') && !!document.querySelector('aside [data-app="orders"]')`)
		if got := hd.text("#settings-link"); got != "Settings" {
			t.Errorf("the Settings link reads %q", got)
		}
		if me := hd.me(); me.User.Role != "admin" || me.User.DivisionID != "1" || !me.CanManage {
			t.Errorf("/apps/_api/me = %+v, want an admin of division 1 who can manage", me)
		}
		hd.clean()
	})

	step(t, "2 opens Settings", func(t *testing.T) {
		hd := hd.in(t)
		resp, err := chromedp.RunResponse(hd.ctx, chromedp.Click(chromedp.CSS("#settings-link")))
		if err != nil {
			t.Fatalf("following the Settings link: %v", err)
		}
		if resp.Status != http.StatusOK || resp.URL != base+"/apps/_admin/" {
			t.Fatalf("the Settings link led to %s, %d; want %s/apps/_admin/, 200", resp.URL, resp.Status, base)
		}
		for _, id := range []string{"orders", "reports", "old-crm"} {
			hd.waitFor("the settings page to list "+id, fmt.Sprintf(`!!document.querySelector('[data-placement] [data-app=%q]')`, id))
		}
		hd.waitFor("the settings page to name the admin", `document.querySelector("#who-name").textContent === "Ada Admin"`)
		if got := hd.attr(`[data-app="old-crm"] .active-toggle`, "aria-checked"); got != "false" {
			t.Errorf("old-crm, disabled in the Caddyfile, has its Active switch aria-checked=%q, want false", got)
		}
		hd.clean()
	})

	step(t, "3 creates an app", func(t *testing.T) {
		hd := hd.in(t)
		hd.click("#add-app")
		hd.waitFor("the form", `document.querySelector("#app-dialog").open`)
		hd.fill("#app-form [name=name]", "Team wiki")
		hd.fill("#app-form [name=id]", "wiki")
		hd.click("#app-form [name=placement][value=main_menu]")
		hd.click("#app-form [name=mode][value=popup]")
		hd.fill("#app-form [name=upstream]", "http://"+tool)
		if got := hd.text("#hint-upstream"); !strings.Contains(got, tool) {
			t.Errorf("the upstream hint %q does not name the demo tool %s", got, tool)
		}
		hd.click("#save-app")
		hd.waitFor("the new row", `!document.querySelector("#app-dialog").open && !!document.querySelector('[data-placement=main_menu] [data-app="wiki"]')`)
		hd.waitFor("the toast", `document.querySelector("#toast").textContent === "Added Team wiki"`)
		if got := hd.text(`[data-app="wiki"] .app-name`) + " | " + hd.text(`[data-app="wiki"] .cell-mode`) + " | " + hd.text(`[data-app="wiki"] .badge`); got != "Team wiki | Popup | Added here" {
			t.Errorf("the new row shows %q", got)
		}
		wiki, ok := findDemoApp(hd.manifest(), "wiki")
		if !ok || wiki.Name != "Team wiki" || wiki.Placement != "main_menu" || wiki.Mode != "popup" || wiki.Favorite {
			t.Fatalf("the manifest lists wiki as %+v (found %v), want Team wiki, main_menu, popup, no favorite", wiki, ok)
		}
		if status := hd.fetchStatus("/apps/wiki/"); status != http.StatusOK {
			t.Errorf("GET /apps/wiki/ answered %d, want 200 from the demo tool", status)
		}
		hd.shoot("3-settings")

		resp, err := chromedp.RunResponse(hd.ctx, chromedp.Click(chromedp.CSS("#back-link")))
		if err != nil {
			t.Fatalf("following Back to Helpdesk: %v", err)
		}
		if resp.Status != http.StatusOK || resp.URL != base+"/" {
			t.Fatalf("Back to Helpdesk led to %s, %d; want %s/, 200", resp.URL, resp.Status, base)
		}
		hd.waitRefreshed("wiki in the Helpdesk's main menu", `!!document.querySelector('nav [data-app="wiki"]')`)
		if got := hd.text(`nav [data-app="wiki"]`); got != "Team wiki" {
			t.Errorf("the menu entry reads %q", got)
		}
		// From now on the Helpdesk page stays open: the menus must follow
		// the changes without a reload.
		demoEval[bool](hd, `window.demoSameDocument = true`)
		hd.shoot("3-helpdesk")
		hd.clean()
	})

	// The steps below change the apps in a second tab, as an admin with
	// the Helpdesk open beside the settings would.
	step(t, "4 drags the app to the top", func(t *testing.T) {
		st := st.in(t)
		st.navigate(base + "/apps/_admin/")
		st.waitFor("the main menu rows", `document.querySelectorAll("[data-placement=main_menu] [data-app]").length === 3`)
		before := st.rows("main_menu")
		if len(before) != 3 || before[0] == "wiki" || !slices.Contains(before, "reports") || !slices.Contains(before, "wiki") {
			t.Fatalf("the main menu lists %q before the drag, want wiki, reports and old-crm, wiki not first", before)
		}
		// The page keeps favorites above the others: the drag is within
		// the non-favorites, which is every main-menu app of the demo.
		if favs := demoEval[[]string](st, `[...document.querySelectorAll("[data-placement=main_menu] [data-app]")].filter((r) => r.dataset.favorite !== "false").map((r) => r.dataset.app)`); len(favs) != 0 {
			t.Fatalf("main-menu favorites %q: the demo has none, and wiki could not be dragged above them", favs)
		}
		want := append([]string{"wiki"}, slices.DeleteFunc(slices.Clone(before), func(id string) bool { return id == "wiki" })...)

		demoEval[bool](st, `document.querySelector("[data-placement=main_menu]").scrollIntoView({block: "center"}), true`)
		fx, fy := st.center(`[data-placement=main_menu] [data-app="wiki"] .handle`, 0)
		_, ty := st.center(`[data-placement=main_menu] li[data-app]`, -12) // above the middle of the top row
		st.do(chromedp.DragAndDropXY(fx, fy, fx, ty, 16))
		st.waitFor("the reorder to be saved", `document.querySelector("#toast").textContent === "Reordered: Team wiki is now 1 of 3"`)
		if got := st.rows("main_menu"); !reflect.DeepEqual(got, want) {
			t.Errorf("after the drag the page lists %q, want %q", got, want)
		}
		if got := placementIDs(st.manifest(), "main_menu"); !reflect.DeepEqual(got, []string{"wiki", "reports"}) {
			t.Errorf("the manifest's main menu is %q, want wiki before reports", got)
		}
		hd := hd.in(t)
		hd.waitRefreshed("the Helpdesk's main menu to be wiki, reports", `navIDs() === "wiki,reports"`)
		hd.sameDocument()
		st.shoot("4-settings")
		hd.shoot("4-helpdesk")
		st.clean()
		hd.clean()
	})

	step(t, "5 stars the app", func(t *testing.T) {
		st, hd := st.in(t), hd.in(t)
		st.click(`[data-placement=main_menu] [data-app="wiki"] .star`)
		st.waitFor("the star to be on", `document.querySelector('[data-app="wiki"] .star').getAttribute("aria-pressed") === "true"`)
		st.waitFor("the toast", `document.querySelector("#toast").textContent === "Team wiki is now a favorite"`)
		if got := st.rows("main_menu"); len(got) == 0 || got[0] != "wiki" {
			t.Errorf("after starring the page lists %q, want wiki first", got)
		}
		wiki, ok := findDemoApp(st.manifest(), "wiki")
		if !ok || !wiki.Favorite {
			t.Errorf("the manifest lists wiki as %+v (found %v), want favorite: true", wiki, ok)
		}
		if got := placementIDs(st.manifest(), "main_menu"); !reflect.DeepEqual(got, []string{"wiki", "reports"}) {
			t.Errorf("the manifest's main menu is %q, want the favorite wiki first", got)
		}
		hd.waitRefreshed("wiki to be the Helpdesk's first menu entry, starred",
			`navIDs() === "wiki,reports" && !!document.querySelector('nav [data-app="wiki"]:first-child .fav') && !document.querySelector('nav [data-app="reports"] .fav')`)
		if got := hd.text(`nav [data-app="wiki"]`); got != "★ Team wiki" {
			t.Errorf("the starred entry reads %q", got)
		}
		hd.sameDocument()
		st.shoot("5-settings")
		hd.shoot("5-helpdesk")
		st.clean()
		hd.clean()
	})

	step(t, "6 deactivates another app", func(t *testing.T) {
		st, hd := st.in(t), hd.in(t)
		st.click(`[data-placement=main_menu] [data-app="reports"] .active-toggle`)
		st.waitFor("reports to be inactive", `document.querySelector('[data-app="reports"] .active-toggle').getAttribute("aria-checked") === "false" && `+
			`document.querySelector('[data-app="reports"]').classList.contains("is-inactive")`)
		st.waitFor("the toast", `document.querySelector("#toast").textContent === "Team reports is deactivated: hidden from everyone"`)
		if _, ok := findDemoApp(st.manifest(), "reports"); ok {
			t.Errorf("the manifest still lists the deactivated reports")
		}
		if got := placementIDs(st.manifest(), "main_menu"); !reflect.DeepEqual(got, []string{"wiki"}) {
			t.Errorf("the manifest's main menu is %q, want wiki alone", got)
		}
		hd.waitRefreshed("reports to leave the Helpdesk's main menu", `navIDs() === "wiki" && !document.querySelector('nav [data-app="reports"]')`)
		if got := hd.ids("aside [data-app]"); !reflect.DeepEqual(got, []string{"orders"}) {
			t.Errorf("the Helpdesk's sidebar lists %q, want orders", got)
		}
		hd.sameDocument()
		if status := hd.fetchStatus("/apps/reports/"); status != http.StatusNotFound {
			t.Errorf("GET /apps/reports/ of a deactivated app answered %d, want 404", status)
		}
		st.shoot("6-settings")
		hd.shoot("6-helpdesk")
		st.clean()
		hd.clean()
		st.close()
	})

	step(t, "7 an agent sees no Settings", func(t *testing.T) {
		hd := hd.in(t)
		hd.signIn("Aldo Agent", "agent")
		hd.waitRefreshed("the Settings link to go", `!document.querySelector("#settings-link") && navIDs() === "wiki"`)
		if me := hd.me(); me.User.Role != "agent" || me.CanManage {
			t.Fatalf("/apps/_api/me = %+v, want an agent who may not manage", me)
		}
		if status := hd.fetchStatus("/apps/_api/admin/apps"); status != http.StatusForbidden {
			t.Errorf("the management API answered the agent %d, want 403", status)
		}
		resp, err := chromedp.Run(hd.ctx, chromedp.NavigateResponse(base+"/apps/_admin/"))
		if err != nil {
			t.Fatalf("opening the settings page as an agent: %v", err)
		}
		if resp.Status != http.StatusForbidden {
			t.Errorf("the settings page answered the agent %d, want 403", resp.Status)
		}
		if !demoEval[bool](hd, `!document.querySelector("#groups") && !document.querySelector("#add-app") && !document.querySelector('script[src*="admin.js"]')`) {
			t.Errorf("the settings page was rendered for an agent: %s", hd.state())
		}
		if got := demoEval[string](hd, `document.title`); got != "403 Forbidden" {
			t.Errorf("the agent got a page titled %q, want 403 Forbidden", got)
		}
		hd.clean()
	})
}

// startDemo runs Caddyfile.example, isolated: on free loopback ports, with
// its files found from this directory, a storage of its own, and the
// registry read every second. It returns the Helpdesk's base URL and the
// demo tool's address.
func startDemo(t *testing.T) (base, tool string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "Caddyfile.example"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	ports := distinctPorts(t, 2)
	site, tool := "127.0.0.1:"+ports[0], "127.0.0.1:"+ports[1]
	caddyfile := string(src)
	for _, r := range [][2]string{{"localhost:8080", site}, {"127.0.0.1:8081", tool}, {"poll 2s", "poll 1s"}} {
		if !strings.Contains(caddyfile, r[0]) {
			t.Fatalf("Caddyfile.example has no %q any more: update this test", r[0])
		}
		caddyfile = strings.ReplaceAll(caddyfile, r[0], r[1])
	}
	roots := regexp.MustCompile(`(?m)^(\s*root \* )(testdata/demo/\S+)$`)
	if n := len(roots.FindAllString(caddyfile, -1)); n != 2 {
		t.Fatalf("Caddyfile.example has %d `root * testdata/demo/...` lines, want 2: update this test", n)
	}
	caddyfile = roots.ReplaceAllStringFunc(caddyfile, func(line string) string {
		m := roots.FindStringSubmatch(line)
		return m[1] + fmt.Sprintf("%q", filepath.ToSlash(filepath.Join(root, m[2])))
	})
	// The demo as it runs, but for HTTP/1.1 only, as plain-text test sites
	// speak (permissiveServer's header options would keep the tool from
	// the identity headers).
	global := fmt.Sprintf("{\n\tadmin off\n\tpersist_config off\n\tauto_https off\n\tstorage file_system %s\n\tlog {\n\t\tlevel WARN\n\t}\n\tservers {\n\t\tprotocols h1\n\t}\n}\n",
		t.TempDir())
	startWholeCaddyfile(t, global+caddyfile)
	return "http://" + site, tool
}

// step runs one step of a scenario as a subtest; a failed step ends the
// scenario, whose later steps build on it.
func step(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}

// demoTab is a tab of the demo session.
type demoTab struct {
	t    *testing.T
	name string
	base string
	// tab is the tab's context; ctx is tab limited to demoTestTimeout.
	tab    context.Context
	ctx    context.Context
	frames *frameTracker
	csp    *cspLog
	// seen counts the exceptions and violations already reported.
	seen   *[2]int
	closed *bool
	stop   func()
}

// openDemoTab opens a tab of parent, at 1366×900. When the test ends, or
// at each clean, the test fails if a page of the tab threw or broke a
// Content-Security-Policy.
func openDemoTab(t *testing.T, parent context.Context, name, base string, opts ...chromedp.ContextOption) *demoTab {
	t.Helper()
	d := &demoTab{t: t, name: name, base: base, frames: newFrameTracker(), csp: &cspLog{}, seen: new([2]int), closed: new(bool)}
	opts = append(opts, chromedp.WithListener(d.frames.listen), chromedp.WithListener(d.csp.listen))
	tab, closeTab := chromedp.NewContext(parent, opts...)
	if err := chromedp.Do(tab); err != nil {
		closeTab()
		t.Fatalf("opening the %s tab: %v", name, err)
	}
	ctx, cancel := context.WithTimeout(tab, demoTestTimeout)
	d.tab, d.ctx = tab, ctx
	d.stop = func() { cancel(); closeTab() }
	t.Cleanup(d.close)
	d.do(chromedp.EmulateViewport(1366, 900))
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: catchDemoViolations}); err != nil {
		t.Fatalf("watching the %s tab for violations: %v", name, err)
	}
	return d
}

// in returns d for the subtest t.
func (d *demoTab) in(t *testing.T) *demoTab {
	c := *d
	c.t = t
	return &c
}

// close reports what the tab's pages did wrong, and closes it.
func (d *demoTab) close() {
	if *d.closed {
		return
	}
	*d.closed = true
	d.clean()
	d.stop()
}

// clean fails the test if a page of the tab threw an uncaught exception or
// broke a Content-Security-Policy since the last clean.
func (d *demoTab) clean() {
	d.t.Helper()
	if exc := d.frames.uncaught(); len(exc) > d.seen[0] {
		d.t.Errorf("uncaught exceptions in the %s tab:\n%s", d.name, strings.Join(exc[d.seen[0]:], "\n"))
		d.seen[0] = len(exc)
	}
	if v := d.csp.list(); len(v) > d.seen[1] {
		d.t.Errorf("Content-Security-Policy violations in the %s tab:\n%s", d.name, strings.Join(v[d.seen[1]:], "\n"))
		d.seen[1] = len(v)
	}
}

// cspLog records, from a tab's events, what a Content-Security-Policy
// blocked: the warnings of catchDemoViolations, and the browser's own
// security messages.
type cspLog struct {
	mu   sync.Mutex
	seen []string
}

// listen runs in the tab's event loop: it must return fast and run no command.
func (l *cspLog) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeWarning && len(ev.Args) > 0 {
			var s string
			if json.Unmarshal(ev.Args[0].Value, &s) == nil && strings.HasPrefix(s, demoViolation) {
				msg = s
			}
		}
	case *log.EventEntryAdded:
		if ev.Entry != nil && (ev.Entry.Source == log.EntrySourceSecurity || strings.Contains(ev.Entry.Text, "Content Security Policy")) {
			msg = ev.Entry.URL + ": " + ev.Entry.Text
		}
	}
	if msg != "" {
		l.mu.Lock()
		l.seen = append(l.seen, msg)
		l.mu.Unlock()
	}
}

func (l *cspLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.seen)
}

func (d *demoTab) do(actions ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	if err := chromedp.Do(d.ctx, actions...); err != nil {
		d.t.Fatalf("in the %s tab: %v", d.name, err)
	}
}

// demoEval evaluates expr in d's page, awaiting a promise, and decodes its value.
func demoEval[T any](d *demoTab, expr string) T {
	d.t.Helper()
	v, err := chromedp.Run(d.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		d.t.Fatalf("evaluating in the %s tab: %s: %v", d.name, expr, err)
	}
	return v
}

func (d *demoTab) navigate(u string) {
	d.t.Helper()
	resp, err := chromedp.Run(d.ctx, chromedp.NavigateResponse(u))
	if err != nil {
		d.t.Fatalf("navigating the %s tab to %s: %v", d.name, u, err)
	}
	if resp.Status != http.StatusOK {
		d.t.Fatalf("%s answered %d", u, resp.Status)
	}
}

// state describes the tab's page, for failure messages.
func (d *demoTab) state() string {
	s, err := chromedp.Run(d.ctx, chromedp.Evaluate[string](demoPageState))
	if err != nil {
		return "(no state: " + err.Error() + ")"
	}
	return s
}

// waitFor waits until cond is true in the tab's page.
func (d *demoTab) waitFor(what, cond string) {
	d.t.Helper()
	d.poll(what, cond, "")
}

// waitRefreshed waits until cond is true in the Helpdesk's page, which
// reads the manifest again every 5 s and on focus: it gets focus events
// meanwhile, so that it need not wait for its timer.
func (d *demoTab) waitRefreshed(what, cond string) {
	d.t.Helper()
	d.poll(what, cond, `window.dispatchEvent(new Event("focus"))`)
}

// navIDs, defined in the page by poll, lists the ids of the Helpdesk's
// main-menu entries, in their order, as "a,b".
const navIDs = `const navIDs = () => [...document.querySelectorAll("nav [data-app]")].map((b) => b.dataset.app).join();`

// poll evaluates cond every 50 ms, and nudge, when not empty, every second,
// until cond is true or demoWaitTimeout has passed.
func (d *demoTab) poll(what, cond, nudge string) {
	d.t.Helper()
	check := "(() => { " + navIDs + " return " + jsCondition(cond) + "; })()"
	deadline := time.Now().Add(demoWaitTimeout)
	var nudged time.Time
	for {
		ok, err := chromedp.Run(d.ctx, chromedp.Evaluate[bool](check))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) || d.ctx.Err() != nil {
			d.t.Fatalf("waiting in the %s tab for %s (%s): timed out (last error: %v)\nthe page: %s", d.name, what, cond, err, d.state())
		}
		if nudge != "" && time.Since(nudged) > time.Second {
			_, _ = chromedp.Run(d.ctx, chromedp.Evaluate[bool](nudge))
			nudged = time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// click clicks the element sel matches, as a user would, once it is shown
// and enabled, scrolled to the middle of the window.
func (d *demoTab) click(sel string) {
	d.t.Helper()
	d.waitFor(sel+" to be clickable", fmt.Sprintf(`((n) => !!n && n.offsetParent !== null && !n.disabled && (n.scrollIntoView({block: "center"}), true))(document.querySelector(%q))`, sel))
	d.do(chromedp.Click(chromedp.CSS(sel)))
}

// fill replaces the text of an input as a user would: selects it all, and
// types over it.
func (d *demoTab) fill(sel, text string) {
	d.t.Helper()
	d.waitFor(sel+" to be shown", fmt.Sprintf(`((n) => !!n && n.offsetParent !== null && !n.disabled)(document.querySelector(%q))`, sel))
	demoEval[bool](d, fmt.Sprintf(`((n) => { n.focus(); n.select(); return true; })(document.querySelector(%q))`, sel))
	d.do(chromedp.SendKeys(chromedp.CSS(sel), text))
	if got := demoEval[string](d, fmt.Sprintf(`document.querySelector(%q).value`, sel)); got != text {
		d.t.Fatalf("typed %q into %s, which holds %q", text, sel, got)
	}
}

// text is the trimmed text of the element sel matches, or "".
func (d *demoTab) text(sel string) string {
	d.t.Helper()
	return demoEval[string](d, fmt.Sprintf(`((n) => n ? n.textContent.replace(/\s+/g, " ").trim() : "")(document.querySelector(%q))`, sel))
}

func (d *demoTab) attr(sel, name string) string {
	d.t.Helper()
	return demoEval[string](d, fmt.Sprintf(`((n) => n ? n.getAttribute(%q) || "" : "")(document.querySelector(%q))`, name, sel))
}

// ids lists the data-app of the elements sel matches.
func (d *demoTab) ids(sel string) []string {
	d.t.Helper()
	return demoEval[[]string](d, fmt.Sprintf(`[...document.querySelectorAll(%q)].map((n) => n.dataset.app)`, sel))
}

// rows lists the ids of the settings page's rows of a placement, top to bottom.
func (d *demoTab) rows(placement string) []string {
	d.t.Helper()
	return d.ids(fmt.Sprintf("[data-placement=%s] [data-app]", placement))
}

// center returns the viewport coordinates of the middle of sel's element,
// moved by dy.
func (d *demoTab) center(sel string, dy float64) (float64, float64) {
	d.t.Helper()
	xy := demoEval[[]float64](d, fmt.Sprintf(`((r) => [r.left + r.width / 2, r.top + r.height / 2])(document.querySelector(%q).getBoundingClientRect())`, sel))
	return xy[0], xy[1] + dy
}

// signIn signs in with the demo Helpdesk's development-only form, as a
// user of role in division 1.
func (d *demoTab) signIn(name, role string) {
	d.t.Helper()
	d.fill("#signin [name=name]", name)
	d.do(chromedp.SetValue(chromedp.CSS("#signin [name=role]"), role),
		chromedp.SetValue(chromedp.CSS("#signin [name=division_id]"), "1"))
	d.click("#signin button")
	d.waitFor("the Helpdesk to show "+name, fmt.Sprintf(`document.querySelector("#who").textContent === %q`, name+" · "+role+" · division 1"))
}

// sameDocument fails unless the Helpdesk page is the one step 3 marked:
// its menus changed without a reload.
func (d *demoTab) sameDocument() {
	d.t.Helper()
	if !demoEval[bool](d, `window.demoSameDocument === true`) {
		d.t.Errorf("the Helpdesk page was reloaded: %s", d.state())
	}
}

// demoApp is an app of the manifest.
type demoApp struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Placement string `json:"placement"`
	Mode      string `json:"mode"`
	URL       string `json:"url"`
	Favorite  bool   `json:"favorite"`
	Order     int    `json:"order"`
}

// manifest fetches the manifest from the tab's page, with its session.
func (d *demoTab) manifest() []demoApp {
	d.t.Helper()
	return demoEval[[]demoApp](d, `fetch("/apps/_api/apps", {credentials: "same-origin", cache: "no-store", headers: {Accept: "application/json"}})
		.then(async (r) => { if (!r.ok) throw new Error("the manifest answered " + r.status); return (await r.json()).apps; })`)
}

// demoMe is what /apps/_api/me answers.
type demoMe struct {
	User struct {
		Name       string `json:"name"`
		Role       string `json:"role"`
		DivisionID string `json:"division_id"`
	} `json:"user"`
	CanManage bool `json:"can_manage"`
}

// me fetches the user as the gateway sees the tab's session.
func (d *demoTab) me() demoMe {
	d.t.Helper()
	return demoEval[demoMe](d, `fetch("/apps/_api/me", {credentials: "same-origin", cache: "no-store", headers: {Accept: "application/json"}})
		.then(async (r) => { if (!r.ok) throw new Error("/apps/_api/me answered " + r.status); return r.json(); })`)
}

// fetchStatus is the status a GET of path answers the tab's page.
func (d *demoTab) fetchStatus(path string) int {
	d.t.Helper()
	return demoEval[int](d, fmt.Sprintf(`fetch(%q, {credentials: "same-origin", cache: "no-store", redirect: "manual"}).then((r) => r.status)`, path))
}

func findDemoApp(apps []demoApp, id string) (demoApp, bool) {
	i := slices.IndexFunc(apps, func(a demoApp) bool { return a.ID == id })
	if i < 0 {
		return demoApp{}, false
	}
	return apps[i], true
}

// placementIDs lists the ids of the apps of a placement, in their order.
func placementIDs(apps []demoApp, placement string) []string {
	var ids []string
	for _, a := range apps {
		if a.Placement == placement {
			ids = append(ids, a.ID)
		}
	}
	return ids
}

// shoot saves a screenshot of the tab when DEMO_SCREENSHOTS is set.
func (d *demoTab) shoot(name string) {
	d.t.Helper()
	if os.Getenv("DEMO_SCREENSHOTS") == "" {
		return
	}
	if err := os.MkdirAll(demoShotsDir, 0o755); err != nil {
		d.t.Fatal(err)
	}
	if _, err := chromedp.Call(d.ctx, page.BringToFront, cdp.Empty{}); err != nil {
		d.t.Fatalf("bringing the %s tab to the front: %v", d.name, err)
	}
	png, err := chromedp.Run(d.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		d.t.Fatalf("capturing the %s tab: %v", d.name, err)
	}
	if err := os.WriteFile(filepath.Join(demoShotsDir, name+".png"), png, 0o644); err != nil {
		d.t.Fatal(err)
	}
}
