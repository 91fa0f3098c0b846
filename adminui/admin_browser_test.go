package adminui

// Browser tests of the settings page, against the in-memory admin API of
// admin_fake_test.go (see browser_test.go).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// settingsEnv is a browser test's world of the settings page.
type settingsEnv = pageEnv[*fakeAdmin]

// pageMessages lists what the page tells its user: toast, banners and form messages.
const pageMessages = `["#toast", "#stale-banner", "#notice", "#form-error", "#fatal"].map((s) => document.querySelector(s))
	.filter((n) => n && !n.closest("[hidden]") && n.textContent.trim()).map((n) => n.id + ": " + n.textContent.replace(/\s+/g, " ").trim())`

// newSettingsEnv serves the settings page at /apps/_admin/ and fake at
// /apps/_api/, and opens a tab on the page.
func newSettingsEnv(t *testing.T, fake *fakeAdmin) *settingsEnv {
	t.Helper()
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/apps/_admin/", func(w http.ResponseWriter, r *http.Request) {
		if !p.Settings(w, r, strings.TrimPrefix(r.URL.Path, "/apps/_admin/"), testHelpdeskURL) {
			http.NotFound(w, r)
		}
	})
	mux.Handle("/apps/_api/admin/", fake)
	mux.HandleFunc("/apps/_api/me", fake.serveMe)
	return newPageEnv(t, fake, mux, "/apps/_admin/", "settings", func(ctx context.Context) string {
		says, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](pageMessages))
		return fmt.Sprintf("the page says %q; writes %+v", says, fake.received())
	})
}

// order lists the ids of a placement's rows, top to bottom.
func (e *pageEnv[F]) order(placement string) []string {
	e.t.Helper()
	return evalIn[[]string](e, fmt.Sprintf(`[...document.querySelectorAll('[data-placement=%q] [data-app]')].map((r) => r.dataset.app)`, placement))
}

// lastWrite waits for the fake to have received n writes, and returns the last.
func lastWrite(e *settingsEnv, n int) fakeRequest {
	e.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		got := e.fake.received()
		if len(got) >= n {
			if len(got) > n {
				e.t.Fatalf("the fake received %d writes, want %d: %+v", len(got), n, got[n:])
			}
			return got[n-1]
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the fake received %d writes, want %d", len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// body decodes a write's body member into v.
func body(t *testing.T, r fakeRequest, member string, v any) {
	t.Helper()
	b, _ := json.Marshal(r.Body[member])
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s %s: body member %s: %v", r.Method, r.Path, member, err)
	}
}

// wantWrite checks the method, path, If-Match and status of a write.
func wantWrite(t *testing.T, r fakeRequest, method, path string, revision, status int) {
	t.Helper()
	if r.Method != method || r.Path != path || r.IfMatch != fmt.Sprintf(`"%d"`, revision) || r.Status != status {
		t.Fatalf("got %s %s If-Match %s → %d, want %s %s If-Match \"%d\" → %d", r.Method, r.Path, r.IfMatch, r.Status, method, path, revision, status)
	}
}

// TestAdminPageManagesApps drives the page as an admin would: adds an app
// (meeting a field error first), reorders by dragging and by keyboard,
// stars, deactivates, deletes, edits, meets another admin's change, checks
// who can see what, and reads the activity.
func TestAdminPageManagesApps(t *testing.T) {
	e := newSettingsEnv(t, newFakeAdmin())
	e.do(chromedp.Navigate(e.url))
	e.until(`!!document.querySelector('[data-placement=main_menu] [data-app=dashboard]')`)

	if !t.Run("lists the apps by placement", func(t *testing.T) {
		e := e.in(t)
		if got, want := e.order("main_menu"), []string{"dashboard", "reports", "wiki", "kb"}; !reflect.DeepEqual(got, want) {
			t.Errorf("main menu %q, want %q", got, want)
		}
		if got := e.order("ticket_sidebar"); !reflect.DeepEqual(got, []string{"orders"}) {
			t.Errorf("ticket sidebar %q", got)
		}
		if got := e.text("[data-app=reports] .cell-access"); got != "Supervisors, Admins, Owners · Division 1" {
			t.Errorf("reports' access %q", got)
		}
		if got := e.text("[data-app=dashboard] .cell-access"); got != "Everyone" {
			t.Errorf("dashboard's access %q", got)
		}
		if e.text("[data-app=reports] .badge") != "Caddyfile" || e.text("[data-app=wiki] .badge") != "Added here" {
			t.Error("the source badges are wrong")
		}
		if evalIn[bool](e, `!!document.querySelector('[data-app=reports] .delete')`) {
			t.Error("a Caddyfile app can be deleted")
		}
		if got := e.text("[data-app=kb] .problem"); !strings.Contains(got, "no longer allowed") {
			t.Errorf("kb's problem %q", got)
		}
		if e.attr("[data-app=dashboard] .star", "aria-pressed") != "true" || e.attr("[data-app=wiki] .active-toggle", "aria-checked") != "true" {
			t.Error("the star or the switch is wrong")
		}
		e.until(`document.querySelector('#who-name').textContent === 'Olivia Owner'`)
		e.until(`document.querySelector('#cluster-summary').textContent === '1 of 3 instances behind revision 7'`)
		if got := e.attr("#back-link", "href"); got != testHelpdeskURL {
			t.Errorf("back link %q", got)
		}
		if got := e.text("#orphans [data-app=old-crm]"); !strings.Contains(got, "old-crm") {
			t.Errorf("leftover settings %q", got)
		}
		e.shoot("list")
	}) {
		return
	}

	if !t.Run("adds an app after fixing a field error", func(t *testing.T) {
		e := e.in(t)
		e.click("#add-app")
		e.until(`document.querySelector('#app-dialog').open`)
		if !evalIn[bool](e, `document.querySelector('#app-form [name=inject]').checked`) {
			t.Error("inject is not on by default")
		}
		e.fill("#app-form [name=name]", "CRM")
		if got := evalIn[string](e, `document.querySelector('#app-form [name=id]').value`); got != "crm" {
			t.Errorf("the id suggested for CRM is %q", got)
		}
		e.fill("#app-form [name=id]", "crm")
		e.click("#app-form [name=placement][value=ticket_sidebar]")
		e.click("#app-form [name=mode][value=popup]")
		e.click("#app-form [name=roles][value=agent]")
		e.click("#app-form [name=roles][value=supervisor]")
		e.fill("#app-form [name=divisions]", "1, 3")
		e.fill("#app-form [name=upstream]", "http://crm.evil.example")
		e.click("#app-form [name=auto_resize]")
		if got := e.text("#hint-upstream"); got != "Allowed: 127.0.0.1:8081, *.internal.example.com." {
			t.Errorf("upstream hint %q", got)
		}
		e.click("#save-app")
		e.until(`document.querySelector('#app-form [name=upstream]').getAttribute('aria-invalid') === 'true'`)
		wantWrite(t, lastWrite(e, 1), "POST", "apps", 7, 422)
		if got := e.text("#error-upstream"); !strings.HasPrefix(got, "Not an allowed upstream") {
			t.Errorf("the upstream's error %q", got)
		}
		if got := e.attr("#app-form [name=upstream]", "aria-describedby"); !strings.Contains(got, "error-upstream") {
			t.Errorf("the upstream is described by %q", got)
		}
		if !evalIn[bool](e, `document.activeElement === document.querySelector('#app-form [name=upstream]')`) {
			t.Error("the invalid field is not focused")
		}
		e.shoot("form-error")

		e.fill("#app-form [name=upstream]", "http://crm.internal.example.com:8080")
		if e.attr("#app-form [name=upstream]", "aria-invalid") != "" {
			t.Error("the error stays after the field changed")
		}
		e.click("#save-app")
		e.until(`!document.querySelector('#app-dialog').open && !!document.querySelector('[data-placement=ticket_sidebar] [data-app=crm]')`)
		w := lastWrite(e, 2)
		wantWrite(t, w, "POST", "apps", 7, 201)
		var roles, divisions []string
		body(t, w, "roles", &roles)
		body(t, w, "divisions", &divisions)
		for k, want := range map[string]any{
			"id": "crm", "name": "CRM", "placement": "ticket_sidebar", "mode": "popup", "upstream": "http://crm.internal.example.com:8080",
			"inject": true, "auto_resize": true, "rewrite_links": false, "isolate_cookies": false, "favorite": false, "disabled": false,
		} {
			if w.Body[k] != want {
				t.Errorf("created with %s = %v, want %v", k, w.Body[k], want)
			}
		}
		if !reflect.DeepEqual(roles, []string{"agent", "supervisor"}) || !reflect.DeepEqual(divisions, []string{"1", "3"}) {
			t.Errorf("created with roles %q, divisions %q", roles, divisions)
		}
		for _, k := range []string{"source", "locked", "problem"} {
			if _, ok := w.Body[k]; ok {
				t.Errorf("created with %s", k)
			}
		}
		if got := e.text("[data-app=crm] .cell-access"); got != "Agents, Supervisors · Divisions 1, 3" {
			t.Errorf("crm's access %q", got)
		}
		if got := e.text("#notice"); !strings.Contains(got, "The upstream answered 502") {
			t.Errorf("the warning is not shown: %q", got)
		}
	}) {
		return
	}

	if !t.Run("reorders by dragging, within the favorites or the others", func(t *testing.T) {
		e := e.in(t)
		fx, fy := e.center("[data-app=kb] .handle", 0)
		_, ty := e.center("[data-app=dashboard]", -12)
		e.do(chromedp.DragAndDropXY(fx, fy, fx, ty, 16))
		w := lastWrite(e, 3)
		wantWrite(t, w, "PUT", "order/main_menu", 8, 200)
		var ids []string
		body(t, w, "ids", &ids)
		want := []string{"dashboard", "kb", "reports", "wiki"}
		if !reflect.DeepEqual(ids, want) {
			t.Errorf("sent the order %q, want %q (a non-favorite stays below the favorites)", ids, want)
		}
		e.until(`document.querySelector('#toast').textContent.startsWith('Reordered')`)
		if got := e.order("main_menu"); !reflect.DeepEqual(got, want) {
			t.Errorf("the list shows %q, want %q", got, want)
		}
	}) {
		return
	}

	if !t.Run("reorders with the keyboard", func(t *testing.T) {
		e := e.in(t)
		evalIn[bool](e, `document.querySelector('[data-app=reports] .handle').focus(), true`)
		e.key(kb.ArrowDown)
		w := lastWrite(e, 4)
		wantWrite(t, w, "PUT", "order/main_menu", 9, 200)
		var ids []string
		body(t, w, "ids", &ids)
		if want := []string{"dashboard", "kb", "wiki", "reports"}; !reflect.DeepEqual(ids, want) {
			t.Errorf("sent the order %q, want %q", ids, want)
		}
		e.until(`document.activeElement.matches('[data-app=reports] .handle')`)

		evalIn[bool](e, `document.querySelector('[data-app=reports] .edit').focus(), true`)
		e.key(kb.ArrowUp, chromedp.KeyModifiers(chromedp.ModifierAlt))
		w = lastWrite(e, 5)
		wantWrite(t, w, "PUT", "order/main_menu", 10, 200)
		e.until(`[...document.querySelectorAll('[data-placement=main_menu] [data-app]')].map((r) => r.dataset.app).join() === 'dashboard,kb,reports,wiki'`)
	}) {
		return
	}

	if !t.Run("stars an app", func(t *testing.T) {
		e := e.in(t)
		e.click("[data-app=wiki] .star")
		w := lastWrite(e, 6)
		wantWrite(t, w, "PATCH", "apps/wiki", 11, 200)
		if w.ContentType != "application/merge-patch+json" || len(w.Body) != 1 || w.Body["favorite"] != true {
			t.Errorf("sent %s %v", w.ContentType, w.Body)
		}
		e.until(`document.querySelector('[data-app=wiki] .star').getAttribute('aria-pressed') === 'true'`)
		if got, want := e.order("main_menu"), []string{"dashboard", "wiki", "kb", "reports"}; !reflect.DeepEqual(got, want) {
			t.Errorf("after starring, %q, want %q", got, want)
		}
	}) {
		return
	}

	if !t.Run("deactivates an app", func(t *testing.T) {
		e := e.in(t)
		e.click("[data-app=kb] .active-toggle")
		w := lastWrite(e, 7)
		wantWrite(t, w, "PATCH", "apps/kb", 12, 200)
		if len(w.Body) != 1 || w.Body["disabled"] != true {
			t.Errorf("sent %v", w.Body)
		}
		e.until(`document.querySelector('[data-app=kb] .active-toggle').getAttribute('aria-checked') === 'false'`)
		if !evalIn[bool](e, `document.querySelector('[data-app=kb]').classList.contains('is-inactive')`) {
			t.Error("the deactivated row does not look it")
		}
	}) {
		return
	}

	if !t.Run("deletes an app once confirmed", func(t *testing.T) {
		e := e.in(t)
		e.click("[data-app=crm] .delete")
		e.until(`document.querySelector('#confirm-dialog').open`)
		e.key(kb.Escape)
		e.until(`!document.querySelector('#confirm-dialog').open`)
		e.click("[data-app=crm] .delete")
		e.until(`document.querySelector('#confirm-dialog').open`)
		if got := e.text("#confirm-title"); got != "Delete CRM?" {
			t.Errorf("confirmation %q", got)
		}
		e.click("#confirm-ok")
		e.until(`!document.querySelector('[data-app=crm]') && !document.querySelector('#confirm-dialog').open`)
		wantWrite(t, lastWrite(e, 8), "DELETE", "apps/crm", 13, 204)
	}) {
		return
	}

	if !t.Run("locks what the Caddyfile sets", func(t *testing.T) {
		e := e.in(t)
		e.click("[data-app=reports] .edit")
		e.until(`document.querySelector('#app-dialog').open`)
		if !evalIn[bool](e, `[...document.querySelectorAll('#app-form [name=roles]')].every((i) => i.disabled)`) {
			t.Error("the roles of a Caddyfile app can be changed")
		}
		for _, name := range []string{"name", "upstream", "divisions"} {
			if !evalIn[bool](e, fmt.Sprintf(`document.querySelector('#app-form [name=%s]').disabled`, name)) {
				t.Errorf("%s is not locked", name)
			}
		}
		if got := e.text("[data-field=roles] .lock-note"); got != "Set in the Caddyfile" {
			t.Errorf("lock note %q", got)
		}
		if evalIn[bool](e, `document.querySelector('#app-form [name=icon]').disabled`) {
			t.Error("the icon is locked, though the Caddyfile does not lock it")
		}
		if evalIn[bool](e, `!document.querySelector('[data-field=id]').hidden`) {
			t.Error("the id can be edited")
		}
		e.shoot("edit-caddyfile")
		e.key(kb.Escape)
		e.until(`!document.querySelector('#app-dialog').open`)
	}) {
		return
	}

	if !t.Run("says when someone else changed the apps", func(t *testing.T) {
		e := e.in(t)
		e.fake.bump("wiki", "Team wiki")
		e.click("[data-app=dashboard] .star")
		e.until(`!document.querySelector('#stale-banner').hidden`)
		wantWrite(t, lastWrite(e, 9), "PATCH", "apps/dashboard", 14, 412)
		if got := e.text("#stale-banner"); !strings.Contains(got, "Someone else changed the apps (revision 15)") {
			t.Errorf("banner %q", got)
		}
		if e.attr("[data-app=dashboard] .star", "aria-pressed") != "true" {
			t.Error("the refused change shows as made")
		}
		e.shoot("stale")
		e.click("#stale-reload")
		e.until(`document.querySelector('#stale-banner').hidden && document.querySelector('[data-app=wiki] .app-name').textContent === 'Team wiki'`)
		e.click("[data-app=dashboard] .star")
		wantWrite(t, lastWrite(e, 10), "PATCH", "apps/dashboard", 15, 200)
		e.until(`document.querySelector('[data-app=dashboard] .star').getAttribute('aria-pressed') === 'false'`)
	}) {
		return
	}

	if !t.Run("keeps what was typed when someone else changed the apps", func(t *testing.T) {
		e := e.in(t)
		e.click("[data-app=wiki] .edit")
		e.until(`document.querySelector('#app-dialog').open`)
		e.fill("#app-form [name=name]", "Wiki (internal)")
		e.fake.bump("wiki", "Company wiki")
		e.click("#save-app")
		e.until(`!!document.querySelector('#app-dialog #stale-banner:not([hidden])')`)
		wantWrite(t, lastWrite(e, 11), "PUT", "apps/wiki", 16, 412)
		if got := evalIn[string](e, `document.querySelector('#app-form [name=name]').value`); got != "Wiki (internal)" {
			t.Errorf("the form lost the name typed: %q", got)
		}
		e.click("#app-dialog #stale-reload")
		e.until(`!document.querySelector('#form-error').hidden`)
		if got := e.text("#form-error"); !strings.Contains(got, "Someone else changed Name") {
			t.Errorf("form message %q", got)
		}
		e.click("#save-app")
		e.until(`!document.querySelector('#app-dialog').open`)
		w := lastWrite(e, 12)
		wantWrite(t, w, "PUT", "apps/wiki", 17, 200)
		if w.Body["name"] != "Wiki (internal)" || w.Body["upstream"] != "http://wiki.internal.example.com" || w.Body["favorite"] != true {
			t.Errorf("replaced with %v", w.Body)
		}
		e.until(`document.querySelector('[data-app=wiki] .app-name').textContent === 'Wiki (internal)'`)
	}) {
		return
	}

	if !t.Run("shows who can see what", func(t *testing.T) {
		e := e.in(t)
		e.click("#tab-access")
		e.until(`!document.querySelector('#access').hidden`)
		evalIn[bool](e, `((s) => { s.value = 'agent'; s.dispatchEvent(new Event('change')); return true; })(document.querySelector('#access select[name=role]'))`)
		e.fill("#access input[name=division]", "2")
		e.until(`document.querySelector('#access-summary').textContent === 'An agent in division 2 sees 3 of 5 apps.'`)
		rows := evalIn[[][]string](e, `[...document.querySelectorAll('#access [data-app]')].map((r) => [r.dataset.app, r.querySelector('.access-status').textContent])`)
		want := [][]string{
			{"wiki", "Can open"}, {"dashboard", "Can open"}, {"kb", "HiddenDeactivated"},
			{"reports", `HiddenRole "agent" may not open this app`}, {"orders", "Can open"},
		}
		if !reflect.DeepEqual(rows, want) {
			t.Errorf("access rows %q, want %q", rows, want)
		}
		e.shoot("access")
	}) {
		return
	}

	if !t.Run("shows the activity", func(t *testing.T) {
		e := e.in(t)
		e.click("#tab-audit")
		e.until(`document.querySelectorAll('#audit .audit-entry').length === 9`)
		first := e.text("#audit .audit-entry")
		for _, want := range []string{"Olivia Owner (owner) edited Wiki (internal)", "from 127.0.0.1", "revision 18", "NameCompany wiki→Wiki (internal)"} {
			if !strings.Contains(first, want) {
				t.Errorf("the newest entry %q lacks %q", first, want)
			}
		}
		if got := e.text("#audit [data-action=order]"); !strings.Contains(got, "reordered Main menu") || !strings.Contains(got, "dashboard, kb, wiki, reports→dashboard, kb, reports, wiki") {
			t.Errorf("the order entry %q", got)
		}
		e.shoot("activity")
	}) {
		return
	}

	if !t.Run("exports the apps", func(t *testing.T) {
		e := e.in(t)
		e.click("#tab-apps")
		e.click("#export")
		e.until(`document.querySelector('#export-dialog').open`)
		if got := evalIn[string](e, `document.querySelector('#export-caddyfile').value`); !strings.Contains(got, "app wiki {") {
			t.Errorf("Caddyfile %q", got)
		}
		if got := e.attr("#export-download", "href"); !strings.HasPrefix(got, "blob:") {
			t.Errorf("download link %q", got)
		}
		e.shoot("export")
		e.key(kb.Escape)
		e.until(`!document.querySelector('#export-dialog').open`)
	}) {
		return
	}

	for _, w := range e.fake.received() {
		if w.IfMatch == "" {
			t.Errorf("%s %s without If-Match", w.Method, w.Path)
		}
	}
}

// TestAdminPageExplainsWhatItCannotDo checks the full-page messages: for a
// user who may not manage apps, for storage that is unavailable (and that
// "Try again" recovers), and the empty state.
func TestAdminPageExplainsWhatItCannotDo(t *testing.T) {
	fake := newFakeAdmin()
	e := newSettingsEnv(t, fake)

	fake.setStatus(http.StatusForbidden)
	e.do(chromedp.Navigate(e.url))
	e.until(`!document.querySelector('#fatal').hidden`)
	if got := e.text("#fatal-title"); got != "You can't manage apps" {
		t.Errorf("403: %q", got)
	}
	if got := e.attr("#fatal-back", "href"); got != testHelpdeskURL {
		t.Errorf("403: back link %q", got)
	}
	if !evalIn[bool](e, `document.querySelector('#page').hidden && document.querySelector('#fatal-retry').hidden`) {
		t.Error("403: the settings are still shown, or offered again")
	}
	e.shoot("forbidden")

	fake.setStatus(http.StatusServiceUnavailable)
	e.do(chromedp.Navigate(e.url))
	e.until(`!document.querySelector('#fatal').hidden`)
	if got := e.text("#fatal-title"); got != "Apps settings are unavailable" {
		t.Errorf("503: %q", got)
	}
	fake.setStatus(0)
	fake.mu.Lock()
	fake.apps, fake.orphans = nil, nil
	fake.mu.Unlock()
	e.click("#fatal-retry")
	e.until(`document.querySelector('#fatal').hidden && !!document.querySelector('#groups .empty')`)
	if got := e.text("#groups .empty h2"); got != "No apps yet" {
		t.Errorf("empty state %q", got)
	}
	e.shoot("empty")
	e.click("#groups .empty button")
	e.until(`document.querySelector('#app-dialog').open`)
}
