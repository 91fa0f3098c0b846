package adminui

// Browser tests of the developer console, with the real host SDK and client
// shim, against the fake gateway and apps of console_fake_test.go (see
// browser_test.go).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/helpdeskapps/gateway/bridgejs"
)

// regexpClock matches the times of the log: hh:mm:ss.mmm.
var regexpClock = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3}$`)

// pageState sums up what the console shows, for failure messages.
const pageState = `JSON.stringify({
	status: document.querySelector("#status-text").textContent,
	alert: document.querySelector("#stage-alert").hidden ? "" : document.querySelector("#stage-alert").textContent.replace(/\s+/g, " ").trim(),
	fatal: document.querySelector("#fatal").hidden ? "" : document.querySelector("#fatal").textContent.replace(/\s+/g, " ").trim(),
	log: [...document.querySelectorAll("#log [data-event]")].map((r) => r.dataset.direction + " " + r.dataset.event),
	decisions: [...document.querySelectorAll("#decisions [data-path]")].map((r) => r.dataset.path + " " + r.dataset.injected),
})`

// consoleEnv is a browser test's world of the console.
type consoleEnv = pageEnv[*fakeGateway]

// newConsoleEnv serves the console at /apps/_console/, the bridge scripts
// at /apps/_bridge/, and fake at /apps/_api/ and /apps/<id>/, and opens a
// tab.
func newConsoleEnv(t *testing.T, fake *fakeGateway) *consoleEnv {
	t.Helper()
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	scripts, err := bridgejs.Load()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/apps/_console/", func(w http.ResponseWriter, r *http.Request) {
		if !p.Console(w, r, strings.TrimPrefix(r.URL.Path, "/apps/_console/"), nil) {
			http.NotFound(w, r)
		}
	})
	mux.Handle("/apps/_bridge/host.js", scripts[bridgejs.Host])
	mux.Handle("/apps/_bridge/client.js", scripts[bridgejs.Client])
	mux.HandleFunc("/apps/_api/me", fake.serveMe)
	mux.HandleFunc("/apps/_api/apps", fake.serveApps)
	mux.HandleFunc("/apps/_api/console/trace", fake.serveTrace)
	mux.HandleFunc("/apps/demo/", fake.serveApp)
	mux.HandleFunc("/apps/wiki/", fake.serveApp)
	return newPageEnv(t, fake, mux, "/apps/_console/", "console", func(ctx context.Context) string {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](pageState))
		return "the console shows " + state
	})
}

// inApp evaluates expr in the app's frame, on the console's origin.
func inApp[T, F any](e *pageEnv[F], expr string) T {
	e.t.Helper()
	return evalIn[T](e, `((w) => `+expr+`)(document.querySelector("#stage iframe").contentWindow)`)
}

// logRow selects the protocol log's rows of an event in a direction.
func logRow(direction, event string) string {
	return fmt.Sprintf(`#log [data-direction=%q][data-event=%q]`, direction, event)
}

// decision selects the rows of Gateway decisions of a path.
func decision(path string) string {
	return fmt.Sprintf(`#decisions [data-path=%q]`, path)
}

// TestConsoleConnectsAnAppAndExplainsTheGateway drives the console as a
// developer would: loads the order lookup, watches the handshake, edits and
// sends the ticket and the user, filters the log, reads the gateway's
// decisions, loads a custom URL the app only fetches, meets a page without
// the shim, and opens a popup.
func TestConsoleConnectsAnAppAndExplainsTheGateway(t *testing.T) {
	e := newConsoleEnv(t, newFakeGateway())
	e.do(chromedp.Navigate(e.url))
	e.until(`!!document.querySelector('#app-select option[value=demo]') && document.querySelector('#who-name').textContent === 'Olivia Owner'`)

	if !t.Run("starts from the signed-in user, a sample ticket and the app's settings", func(t *testing.T) {
		e := e.in(t)
		var user map[string]any
		if err := json.Unmarshal([]byte(evalIn[string](e, `document.querySelector('textarea[name=user]').value`)), &user); err != nil {
			t.Fatal(err)
		}
		if user["id"] != "u-1" || user["name"] != "Olivia Owner" || user["email"] != "olivia@example.com" || user["role"] != "owner" || user["division_id"] != "1" {
			t.Errorf("the user context is %v", user)
		}
		var ticket struct {
			ID           string
			Subject      string
			Status       string
			Priority     string
			Requester    struct{ Name, Email string }
			CustomFields []struct{ Name, Value string } `json:"custom_fields"`
		}
		if err := json.Unmarshal([]byte(evalIn[string](e, `document.querySelector('textarea[name=ticket]').value`)), &ticket); err != nil {
			t.Fatal(err)
		}
		if ticket.ID == "" || ticket.Subject == "" || ticket.Status == "" || ticket.Priority == "" || ticket.Requester.Email == "" ||
			len(ticket.CustomFields) != 1 || ticket.CustomFields[0].Name != "order_number" || ticket.CustomFields[0].Value == "" {
			t.Errorf("the sample ticket is %+v", ticket)
		}
		if got := evalIn[string](e, `[document.querySelector('#app-select').value, document.querySelector('select[name=mode]').value, document.querySelector('select[name=placement]').value].join()`); got != "demo,embed,ticket_sidebar" {
			t.Errorf("app, mode, placement: %s", got)
		}
		e.choose("#app-select", "wiki")
		if got := evalIn[string](e, `[document.querySelector('select[name=mode]').value, document.querySelector('select[name=placement]').value].join()`); got != "popup,main_menu" {
			t.Errorf("the wiki's mode and placement: %s", got)
		}
		e.choose("#app-select", "demo")
		if e.text("#settings-link") != "Apps settings" || e.count("#send-ticket:disabled") != 1 {
			t.Error("the settings link is missing, or a send button is enabled before a load")
		}
	}) {
		return
	}

	if !t.Run("loads the app and logs the handshake", func(t *testing.T) {
		e := e.in(t)
		e.click("#load")
		e.until(`!!document.querySelector('` + logRow("app→host", "helpdesk:app:ready") + `')`)
		e.until(`!!document.querySelector('` + logRow("host→app", "helpdesk:context:app") + `')`)
		e.until(`document.querySelector('#status-text').textContent === 'Connected'`)
		if e.count(logRow("host→app", "helpdesk:context:user")) == 0 || e.count(logRow("host→app", "helpdesk:context:ticket")) == 0 || e.count(logRow("sdk", "ready")) != 1 {
			t.Error("the host's answers to ready are not all logged")
		}
		// The app asks for the user once connected; host.js answers it.
		e.until(`!!document.querySelector('` + logRow("app→host", "helpdesk:get:context:user") + `')`)
		e.until(`document.querySelectorAll('` + logRow("host→app", "helpdesk:context:user") + `').length === 2`)
		e.until(`document.querySelector("#stage iframe").contentWindow.document.querySelector("#ticket-subject").textContent === "Order 55-1234 arrived damaged"`)
		if got := inApp[string](e, `w.document.querySelector("#who").textContent`); got != "Signed in as Olivia Owner" {
			t.Errorf("the app shows %q", got)
		}
		if got := evalIn[string](e, `document.querySelector("#stage iframe").getAttribute("src")`); !strings.HasSuffix(got, "/apps/demo/") {
			t.Errorf("the app's frame loads %q", got)
		}
		// A row opens to its payload.
		e.click(logRow("app→host", "helpdesk:app:ready") + ` summary`)
		e.until(`!!document.querySelector('` + logRow("app→host", "helpdesk:app:ready") + ` pre.json')`)
		if got := e.text(logRow("host→app", "helpdesk:context:app") + ` .log-time`); !regexpClock.MatchString(got) {
			t.Errorf("a row's time is %q", got)
		}
	}) {
		return
	}

	if !t.Run("shows the gateway's decisions, the main document first among them", func(t *testing.T) {
		e := e.in(t)
		e.click("#tab-decisions")
		e.until(`!!document.querySelector('` + decision("/apps/demo/data.json") + `')`)
		main := decision("/apps/demo/")
		if e.count(main) != 1 {
			t.Fatalf("%d rows for the main document", e.count(main))
		}
		if got := evalIn[string](e, `((r) => [r.dataset.injected, r.dataset.main, r.querySelector(".reason").textContent].join("|"))(document.querySelector('`+main+`'))`); got != "true|true|"+reasonInjected {
			t.Errorf("the main document's row: %s", got)
		}
		if got := e.text(main + " .req-meta"); !strings.Contains(got, "Main document") || !strings.Contains(got, "dropped X-Frame-Options") || !strings.Contains(got, "1 cookie") {
			t.Errorf("the main document's details: %q", got)
		}
		data := decision("/apps/demo/data.json")
		if got := evalIn[string](e, `((r) => r.dataset.injected + "|" + r.querySelector(".reason").textContent)(document.querySelector('`+data+`'))`); got != "false|"+reasonNotDocument {
			t.Errorf("the fetch's row: %s", got)
		}
		if e.count(decision("/apps/demo/old-session")) != 0 {
			t.Error("a request from before the load is shown")
		}
		if got := e.text("#verdict-title"); got != "Shim injected, app connected" {
			t.Errorf("the verdict is %q", got)
		}
		e.click(main)
		if got := e.text(main + " .shim-as"); got != "as a same-origin script" {
			t.Errorf("how the shim runs: %q", got)
		}
		if got := e.text("#decisions .decision-detail"); !strings.Contains(got, "demo_session: Path=/ → /apps/demo/") || !strings.Contains(got, "X-Frame-Options") {
			t.Errorf("the details of the main document: %q", got)
		}
		e.click(main)
		for _, q := range e.fake.traceQueries() {
			if !strings.HasPrefix(q, "app=demo&after=") {
				t.Errorf("the trace was asked %q", q)
			}
		}
		e.shoot("decisions")
		e.click("#tab-log")
	}) {
		return
	}

	if !t.Run("validates the ticket, then sends the edited one", func(t *testing.T) {
		e := e.in(t)
		updates := e.count(logRow("host→app", "helpdesk:ticket:update"))
		e.fill("textarea[name=ticket]", `{"id": "t-1042", "subject": `)
		e.until(`document.querySelector('#ticket-msg').dataset.tone === 'error' && document.querySelector('#ticket-msg').textContent.startsWith('Not valid JSON')`)
		if e.count("textarea[name=ticket][aria-invalid=true]") != 1 {
			t.Error("the invalid ticket is not marked")
		}
		e.click("#send-ticket")
		if e.count(logRow("host→app", "helpdesk:ticket:update")) != updates {
			t.Fatal("an invalid ticket was sent")
		}
		edited := `{"id": "t-1042", "sequential_id": 1042, "subject": "Replacement sent for order 55-1234", "status": "pending", "priority": "normal",` +
			` "requester": {"id": "c-77", "name": "Budi Santoso", "email": "budi@example.com", "phone": null},` +
			` "custom_fields": [{"id": "cf-1", "name": "order_number", "label": "Order number", "type": "text", "value": "55-1234"}]}`
		e.fill("textarea[name=ticket]", edited)
		e.until(`document.querySelector('#ticket-msg').dataset.tone === 'ok' && document.querySelector('#send-ticket').classList.contains('has-changes')`)
		e.click("#format-ticket")
		if got := evalIn[string](e, `document.querySelector('textarea[name=ticket]').value.split("\n").slice(0, 3).join("|")`); got != `{|  "id": "t-1042",|  "sequential_id": 1042,` {
			t.Errorf("formatted, the ticket begins %q", got)
		}
		e.click("#send-ticket")
		e.until(`document.querySelectorAll('` + logRow("host→app", "helpdesk:ticket:update") + `').length === ` + fmt.Sprint(updates+1))
		e.until(`document.querySelector("#stage iframe").contentWindow.received.includes("ticket:update Replacement sent for order 55-1234")`)
		if got := inApp[string](e, `w.document.querySelector("#ticket-meta").textContent`); !strings.Contains(got, "pending") {
			t.Errorf("the app shows %q", got)
		}
		if e.count("#send-ticket.has-changes") != 0 {
			t.Error("the ticket still shows unsent changes")
		}
		var sent struct {
			Ticket struct{ Subject string }
		}
		payload := evalIn[string](e, `(() => { const rows = document.querySelectorAll('`+logRow("host→app", "helpdesk:ticket:update")+`'); const r = rows[rows.length - 1]; r.querySelector("summary").click(); return r.querySelector("pre").textContent; })()`)
		if err := json.Unmarshal([]byte(payload), &sent); err != nil || sent.Ticket.Subject != "Replacement sent for order 55-1234" {
			t.Errorf("the logged payload %s: %v", payload, err)
		}
	}) {
		return
	}

	if !t.Run("sends the user", func(t *testing.T) {
		e := e.in(t)
		before := e.count(logRow("host→app", "helpdesk:context:user"))
		e.fill("textarea[name=user]", `{"id": "u-2", "name": "Adi Agent", "email": "adi@example.com", "role": "agent", "division_id": "2"}`)
		e.until(`document.querySelector('#user-msg').dataset.tone === 'ok'`)
		e.click("#format-user")
		e.click("#send-user")
		e.until(`document.querySelectorAll('` + logRow("host→app", "helpdesk:context:user") + `').length === ` + fmt.Sprint(before+1))
		e.until(`document.querySelector("#stage iframe").contentWindow.document.querySelector("#who").textContent === "Signed in as Adi Agent"`)
	}) {
		return
	}

	if !t.Run("filters the log", func(t *testing.T) {
		e := e.in(t)
		e.fill("#log-filter", "ticket:update")
		e.until(`document.querySelector('#log-shown').textContent.endsWith('of ' + document.querySelector('#log-count').textContent)`)
		shown := evalIn[[]string](e, `[...document.querySelectorAll('#log [data-event]:not([hidden])')].map((r) => r.dataset.event)`)
		if len(shown) == 0 {
			t.Fatal("the filter hides everything")
		}
		for _, ev := range shown {
			if ev != "helpdesk:ticket:update" {
				t.Errorf("the filter shows %s", ev)
			}
		}
		evalIn[bool](e, `((n) => { n.value = ""; n.dispatchEvent(new Event("input", { bubbles: true })); return true; })(document.querySelector('#log-filter'))`)
		e.until(`document.querySelector('#log-shown').textContent === ''`)
		// Scroll the newest rows into view for the picture.
		evalIn[bool](e, `(document.querySelector('#log-scroll').scrollTop = 1e6, true)`)
		e.shoot("log")
	}) {
		return
	}

	if !t.Run("explains why a fetch-only JSON URL gets no shim", func(t *testing.T) {
		e := e.in(t)
		e.choose("#app-select", "custom:")
		e.until(`!document.querySelector('#custom-url').closest('[hidden]')`)
		for _, bad := range []struct{ url, says string }{
			{"/elsewhere/", "must start with /apps/"},
			{"https://evil.example/apps/demo/", "frames the apps of this gateway only"},
			{"/apps/_api/me", "the gateway's own path"},
			{"apps/demo/", "starts with /apps/"},
		} {
			e.fill("#custom-url", bad.url)
			e.click("#load")
			e.until(`!document.querySelector('#custom-error').hidden`)
			if got := e.text("#custom-error"); !strings.Contains(got, bad.says) {
				t.Errorf("%s: the console says %q", bad.url, got)
			}
		}
		if got := evalIn[string](e, `document.querySelector("#stage iframe").getAttribute("src")`); !strings.HasSuffix(got, "/apps/demo/") {
			t.Errorf("a refused URL replaced the app: %s", got)
		}
		e.fill("#custom-url", "/apps/demo/data.json")
		e.click("#load")
		e.until(`document.querySelector('#custom-error').hidden && (document.querySelector("#stage iframe")?.getAttribute("src") || "").endsWith("/apps/demo/data.json")`)
		e.click("#tab-decisions")
		row := decision("/apps/demo/data.json") + `[data-document=true]`
		e.until(`!!document.querySelector('` + row + `')`)
		if got := evalIn[string](e, `((r) => r.dataset.injected + "|" + r.querySelector(".reason").textContent)(document.querySelector('`+row+`'))`); got != "false|"+reasonNotHTML {
			t.Errorf("the JSON document's row: %s", got)
		}
		if got := e.text("#verdict"); !strings.Contains(got, "No shim in the main document") || !strings.Contains(got, "Not HTML or CSS") {
			t.Errorf("the verdict says %q", got)
		}
		// And the fetch of the same URL by the app, earlier, said why too.
		if e.count(decision("/apps/demo/data.json")+`[data-document=false][data-injected=false]`) != 1 {
			t.Error("the earlier fetch's row is gone")
		}
		// The console notices the missing handshake, and looks into the frame.
		e.until(`document.querySelector('#status-text').textContent === 'Not connected'`)
		if got := e.text("#stage-alert"); !strings.Contains(got, "The page has no shim") {
			t.Errorf("the stage says %q", got)
		}
	}) {
		return
	}

	if !t.Run("names the reason a page of the app was left alone", func(t *testing.T) {
		e := e.in(t)
		e.fill("#custom-url", "/apps/demo/legacy")
		e.click("#load")
		e.until(`!!document.querySelector('` + decision("/apps/demo/legacy") + `[data-main=true]')`)
		if got := e.text(decision("/apps/demo/legacy") + " .reason"); got != reasonCoding {
			t.Errorf("the reason is %q", got)
		}
		e.until(`document.querySelector('#verdict').dataset.tone === 'bad'`)
		e.until(`document.querySelector('#status-text').textContent === 'Not connected'`)
		e.shoot("not-connected")
	}) {
		return
	}

	if !t.Run("opens a popup, which asks for its size and a ticket it may not have", func(t *testing.T) {
		e := e.in(t)
		e.choose("#app-select", "wiki")
		e.click("#load")
		// In the SDK's floating window where host.js has them, else in the
		// console's framed box.
		windowed := evalIn[bool](e, `typeof HelpdeskHost.openPopup === "function"`)
		if windowed {
			e.until(`!!document.querySelector('[data-helpdesk-window] iframe') && !!document.querySelector('#stage .popup-note')`)
		} else {
			e.until(`!!document.querySelector('#stage .popup-window iframe')`)
		}
		e.until(`!!document.querySelector('` + logRow("sdk", "resize") + `')`)
		if got := evalIn[string](e, `((r) => Math.round(r.width) + "x" + Math.round(r.height))(document.querySelector("#stage iframe").getBoundingClientRect())`); got != "380x300" {
			t.Errorf("the popup is %s", got)
		}
		e.until(`!!document.querySelector('` + logRow("host→app", "helpdesk:error") + `')`)
		if got := e.text(logRow("host→app", "helpdesk:error") + " .log-preview"); !strings.Contains(got, "OUT_OF_SCOPE") {
			t.Errorf("the refusal is logged as %q", got)
		}
		e.until(`document.querySelector("#stage iframe").contentWindow.received.includes("getTicket OUT_OF_SCOPE")`)
		// The redirect and the page it leads to: the page is the main document.
		e.click("#tab-decisions")
		e.until(`!!document.querySelector('` + decision("/apps/wiki/home") + `[data-main=true]')`)
		if got := e.text(decision("/apps/wiki/") + " .req-meta"); !strings.Contains(got, "→ /apps/wiki/home") {
			t.Errorf("the redirect's row: %q", got)
		}
		e.click("#tab-log")
		e.shoot("popup")
		if windowed {
			// Closed by its own button, as a user would.
			e.click(`[data-helpdesk-window] [data-helpdesk-part=close]`)
			e.until(`!!document.querySelector('` + logRow("sdk", "close") + `')`)
		} else {
			e.click("#popup-close")
		}
		e.until(`!document.querySelector('#stage iframe') && !document.querySelector('[data-helpdesk-window]') && document.querySelector('#status-text').textContent === 'Closed'`)
		if e.count("#send-ticket:disabled") != 1 {
			t.Error("the send buttons stay enabled with no app")
		}
	}) {
		return
	}

	t.Run("clears the log and the decisions", func(t *testing.T) {
		e := e.in(t)
		e.click("#log-clear")
		if e.count("#log [data-event]") != 0 || e.text("#log-count") != "0" {
			t.Error("the log is not cleared")
		}
		e.click("#tab-decisions")
		e.click("#decisions-clear")
		if e.count("#decisions [data-path]") != 0 || e.text("#decisions-count") != "0" {
			t.Error("the decisions are not cleared")
		}
	})
}

// TestConsoleExplainsWhatItCannotDo meets a signed-out user, and a gateway
// whose trace refuses the user or is off: the protocol log still works.
func TestConsoleExplainsWhatItCannotDo(t *testing.T) {
	fake := newFakeGateway()
	e := newConsoleEnv(t, fake)

	t.Run("asks a signed-out user to sign in", func(t *testing.T) {
		e := e.in(t)
		fake.set(http.StatusUnauthorized, 0)
		e.do(chromedp.Navigate(e.url))
		e.until(`!document.querySelector('#fatal').hidden`)
		if got := e.text("#fatal-title"); got != "Sign in to the Helpdesk first" {
			t.Errorf("the page says %q", got)
		}
		if !evalIn[bool](e, `document.querySelector('#console').hidden`) {
			t.Error("the console shows behind the message")
		}
		e.shoot("signed-out")
		fake.set(0, 0)
		e.click("#fatal-retry")
		e.until(`!document.querySelector('#console').hidden && !!document.querySelector('#app-select option[value=demo]')`)
	})

	for _, tc := range []struct {
		status int
		says   string
	}{
		{http.StatusForbidden, "Only admins and owners may use the console"},
		{http.StatusNotFound, "The console is not enabled"},
	} {
		t.Run(fmt.Sprintf("says why the trace answers %d", tc.status), func(t *testing.T) {
			e := e.in(t)
			fake.set(0, tc.status)
			e.do(chromedp.Navigate(e.url))
			e.until(`!!document.querySelector('#app-select option[value=demo]')`)
			e.click("#load")
			e.until(`!!document.querySelector('` + logRow("app→host", "helpdesk:app:ready") + `')`)
			e.click("#tab-decisions")
			e.until(`!document.querySelector('#decisions-empty').hidden && document.querySelector('#decisions-empty-title').textContent === ` + fmt.Sprintf("%q", tc.says))
			if e.count("#decisions [data-path]") != 0 || !evalIn[bool](e, `document.querySelector('#verdict').hidden`) {
				t.Error("decisions are shown")
			}
			polls := len(fake.traceQueries())
			e.do(chromedp.Sleep(2500 * time.Millisecond))
			if n := len(fake.traceQueries()); n != polls {
				t.Errorf("the console asked the trace %d more times after %d", n-polls, tc.status)
			}
			if tc.status == http.StatusForbidden {
				e.shoot("forbidden")
			}
		})
	}
}
