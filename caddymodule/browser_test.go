package caddymodule

// Browser tests of the helpdesk:apps bridge: headless Chromium loads a
// Helpdesk page (testdata/browser/host.html) that mounts apps with host.js;
// the apps come through the real gateway, which injects client.js, from a
// real upstream serving testdata/browser/apps. They skip when Chromium is
// missing, and fail instead when HELPDESK_BROWSER_TESTS=required.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/helpdeskapps/gateway/internal/chromiumtest"
)

const (
	// browserTestTimeout bounds each browser test.
	browserTestTimeout = 25 * time.Second
	// bridgeWaitTimeout bounds each wait for a condition in a page.
	bridgeWaitTimeout = 8 * time.Second
	// bridgeNonce is the nonce of the upstream's nonce-only policy.
	bridgeNonce = "Zml4dHVyZS1ub25jZQ"
)

var (
	bridgeUser = map[string]any{
		"id": "u-1", "name": "Ana", "email": "ana@example.com", "role": "agent", "division_id": "3",
	}
	bridgeTicket = map[string]any{
		"id": 7, "sequential_id": 1007, "subject": "Printer on fire", "status": "open", "priority": "high",
		"created_at": "2025-01-02T03:04:05Z", "updated_at": "2025-01-02T04:05:06Z",
		"requester":     map[string]any{"id": 11, "name": "Rui", "email": "rui@example.com", "phone": "+351 555 0100"},
		"assignee":      map[string]any{"id": 12, "name": "Ana", "email": "ana@example.com"},
		"division":      nil,
		"tags":          []any{"hardware", "urgent"},
		"form_id":       3,
		"custom_fields": []any{map[string]any{"id": 1, "name": "floor", "label": "Floor", "type": "number", "value": 2}},
	}
)

// browserContext returns the shared browser's context, skipping the test
// when there is no Chromium (failing instead when the browser tests are
// required).
func browserContext(t *testing.T) context.Context {
	return chromiumtest.Browser(t)
}

// frameTracker follows, from the tab's events, the main JavaScript context
// of each frame (so tests can evaluate inside an app's iframe), and records
// uncaught exceptions and warnings the pages log.
type frameTracker struct {
	mu         sync.Mutex
	contexts   map[cdp.FrameID]string // frame → unique id of its main-world context
	exceptions []string
	warnings   []string
}

func newFrameTracker() *frameTracker {
	return &frameTracker{contexts: make(map[cdp.FrameID]string)}
}

// listen runs in the tab's event loop: it must return fast and run no command.
func (f *frameTracker) listen(ev any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventExecutionContextCreated:
		var aux struct {
			FrameID   cdp.FrameID `json:"frameId"`
			IsDefault bool        `json:"isDefault"`
		}
		if ev.Context != nil && json.Unmarshal(ev.Context.AuxData, &aux) == nil && aux.IsDefault {
			f.contexts[aux.FrameID] = ev.Context.UniqueID
		}
	case *runtime.EventExecutionContextDestroyed:
		for frame, id := range f.contexts {
			if id == ev.ExecutionContextUniqueID {
				delete(f.contexts, frame)
			}
		}
	case *runtime.EventExecutionContextsCleared:
		clear(f.contexts)
	case *runtime.EventExceptionThrown:
		if d := ev.ExceptionDetails; d != nil {
			text := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				text += " " + d.Exception.Description
			}
			f.exceptions = append(f.exceptions, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, text))
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeWarning && len(ev.Args) > 0 {
			var s string
			if json.Unmarshal(ev.Args[0].Value, &s) == nil {
				f.warnings = append(f.warnings, s)
			}
		}
	}
}

func (f *frameTracker) context(frame cdp.FrameID) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.contexts[frame]
}

func (f *frameTracker) uncaught() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.exceptions...)
}

func (f *frameTracker) warned(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, w := range f.warnings {
		if strings.HasPrefix(w, prefix) {
			n++
		}
	}
	return n
}

// bridgeEnv is one browser test's world: a tab, and three origins on
// loopback.
type bridgeEnv struct {
	t      *testing.T
	ctx    context.Context
	frames *frameTracker
	// helpdesk is the Helpdesk's origin: it serves testdata/browser (the
	// host pages), the bridge scripts, and app "same" for a same-origin
	// deployment. Its site answers any host name on its port.
	helpdesk string
	port     string
	// apps is the apps origin: the gateway, whose apps only helpdesk may
	// frame. Apps: std, auto (auto_resize), manual (manual_ready) and raw
	// (inject off), all served by one upstream from testdata/browser/apps.
	apps string
	// foreign is an origin the Helpdesk does not trust, serving
	// testdata/browser as static files.
	foreign string
	// attached holds the contexts of out-of-process iframes, by target.
	attached map[string]context.Context
}

const bridgeCaddyfile = `
http://:%[1]s {
	bind 127.0.0.1
	helpdesk_apps /apps {
		frame_ancestors 'self'
		session {
			cookie hd_session
			hmac_secret %[4]s
			issuer https://helpdesk.test
			audience helpdesk-apps
		}
		app same {
			to %[5]s
		}
	}
	root * "%[6]s"
	file_server
}

http://127.0.0.1:%[2]s {
	bind 127.0.0.1
	helpdesk_apps /apps {
		frame_ancestors http://127.0.0.1:%[1]s
		session {
			cookie hd_session
			hmac_secret %[4]s
			issuer https://helpdesk.test
			audience helpdesk-apps
		}
		app std {
			to %[5]s
		}
		app auto {
			auto_resize
			to %[5]s
		}
		app manual {
			manual_ready
			to %[5]s
		}
		app raw {
			inject off
			to %[5]s
		}
	}
}

http://127.0.0.1:%[3]s {
	bind 127.0.0.1
	root * "%[6]s"
	file_server
}
`

// newBridgeEnv starts the sites, opens a tab with a session cookie for the
// apps, and checks when the test ends that no page threw.
func newBridgeEnv(t *testing.T) *bridgeEnv {
	t.Helper()
	return newBridgeEnvWithin(t, browserTestTimeout)
}

// newBridgeEnvWithin is newBridgeEnv for a test that may take timeout.
func newBridgeEnvWithin(t *testing.T, timeout time.Duration) *bridgeEnv {
	t.Helper()
	bctx := browserContext(t)
	root := browserTestdata(t)
	up := fixtureUpstream(t, filepath.Join(root, "apps"))
	ports := distinctPorts(t, 3)
	startCaddyfile(t, fmt.Sprintf(bridgeCaddyfile, ports[0], ports[1], ports[2],
		testSecret, strings.TrimPrefix(up.URL, "http://"), root))
	e := openTab(t, bctx, ports, timeout)
	e.foreign = "http://127.0.0.1:" + ports[2]
	return e
}

// browserTestdata is the absolute path of testdata/browser, which the test
// Caddyfiles serve the Helpdesk page from.
func browserTestdata(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "testdata", "browser"))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// openTab opens a tab of the shared browser, limited to timeout, for a
// world whose Helpdesk is served on ports[0] and whose apps on ports[1],
// with the session cookie set. listeners get the tab's events too. The test
// fails at its end if a page threw an uncaught exception.
func openTab(t *testing.T, bctx context.Context, ports []string, timeout time.Duration, listeners ...func(ev any)) *bridgeEnv {
	t.Helper()
	frames := newFrameTracker()
	opts := []chromedp.ContextOption{chromedp.WithListener(frames.listen)}
	for _, l := range listeners {
		opts = append(opts, chromedp.WithListener(l))
	}
	tab, closeTab := chromedp.NewContext(bctx, opts...)
	t.Cleanup(closeTab)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	ctx, cancel := context.WithTimeout(tab, timeout)
	t.Cleanup(cancel)

	e := &bridgeEnv{
		t: t, ctx: ctx, frames: frames, port: ports[0],
		helpdesk: "http://127.0.0.1:" + ports[0],
		apps:     "http://127.0.0.1:" + ports[1],
	}
	// Cookies ignore ports: this one reaches every loopback origin.
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
		Name: "hd_session", Value: token(t, agent("agent", 3)), URL: e.apps + "/",
	}); err != nil {
		t.Fatalf("setting the session cookie: %v", err)
	}
	t.Cleanup(func() {
		if exc := frames.uncaught(); len(exc) > 0 {
			t.Errorf("uncaught exceptions in the pages:\n%s", strings.Join(exc, "\n"))
		}
	})
	return e
}

// distinctPorts returns n free loopback ports, all different.
func distinctPorts(t *testing.T, n int) []string {
	t.Helper()
	seen := make(map[string]bool)
	var ports []string
	for len(ports) < n {
		_, port, err := net.SplitHostPort(freeAddr(t))
		if err != nil {
			t.Fatal(err)
		}
		if !seen[port] {
			seen[port] = true
			ports = append(ports, port)
		}
	}
	return ports
}

// fixtureUpstream serves dir as the apps' backend. `?csp=inline` adds a
// policy that lets only inline scripts run, `?csp=nonce` one that lets only
// scripts with bridgeNonce run, `?csp=strict` a nonce with 'strict-dynamic',
// `?csp=helmet` helmet's default policy.
func fixtureUpstream(t *testing.T, dir string) *httptest.Server {
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("csp") {
		case "inline":
			w.Header().Set("Content-Security-Policy", "script-src 'unsafe-inline'")
		case "nonce":
			w.Header().Set("Content-Security-Policy", "script-src 'nonce-"+bridgeNonce+"'")
		case "strict":
			w.Header().Set("Content-Security-Policy", "script-src 'nonce-"+bridgeNonce+"' 'strict-dynamic' https: 'unsafe-inline'; object-src 'none'; base-uri 'none'")
		case "helmet":
			w.Header().Set("Content-Security-Policy", helmetPolicy)
		}
		w.Header().Set("Cache-Control", "no-store")
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// app returns the URL of a fixture page of an app on the apps origin.
func (e *bridgeEnv) app(id, page string) string { return e.apps + "/apps/" + id + "/" + page }

func (e *bridgeEnv) navigate(u string) {
	e.t.Helper()
	if err := chromedp.Do(e.ctx, chromedp.Navigate(u)); err != nil {
		e.t.Fatalf("navigating to %s: %v", u, err)
	}
}

// browserCookies returns the cookies the browser would send to u.
func (e *bridgeEnv) browserCookies(u string) []*network.Cookie {
	e.t.Helper()
	res, err := chromedp.Call(e.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
	if err != nil {
		e.t.Fatalf("reading cookies: %v", err)
	}
	return res.Cookies
}

// mountOptions are HelpdeskHost.mount's options.
type mountOptions struct {
	App       string         `json:"app,omitempty"`
	Src       string         `json:"src"`
	Mode      string         `json:"mode,omitempty"`
	Placement string         `json:"placement,omitempty"`
	User      map[string]any `json:"user,omitempty"`
	Ticket    map[string]any `json:"ticket"`
	MinSize   map[string]int `json:"minSize,omitempty"`
	MaxSize   map[string]int `json:"maxSize,omitempty"`
	Sandbox   string         `json:"sandbox,omitempty"`
	// HandshakeTimeout is host.js's handshakeTimeout in ms (0: none); nil
	// leaves its default.
	HandshakeTimeout *int `json:"handshakeTimeout,omitempty"`
}

// mount opens the Helpdesk page and mounts an app in it; it returns the
// instance's appId.
func (e *bridgeEnv) mount(o mountOptions) string {
	e.t.Helper()
	return e.mountOn(e.helpdesk, o)
}

func (e *bridgeEnv) mountOn(helpdesk string, o mountOptions) string {
	e.t.Helper()
	if o.User == nil {
		o.User = bridgeUser
	}
	e.navigate(helpdesk + "/host.html")
	return hostEval[string](e, "T.mount("+jsValue(e.t, o)+")")
}

// jsValue writes v as a JavaScript literal.
func jsValue(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// evalRaw evaluates expr, awaiting a promise, and returns its JSON: in the
// tab's main frame when where is nil, else in where's frame.
func (e *bridgeEnv) evalRaw(where *frameRef, expr string) ([]byte, error) {
	opts := []chromedp.EvaluateOption{chromedp.EvalAwaitPromise}
	ctx := e.ctx
	if where != nil {
		if where.ctx != nil {
			ctx = where.ctx
		} else {
			opts = append(opts, func(p *runtime.EvaluateParams) { p.UniqueContextID = where.context })
		}
	}
	return chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, opts...))
}

// frameRef says where a frame's scripts run: a context of the tab's own
// process, or, for a frame Chromium runs in a process of its own (a
// sandboxed one, say), a chromedp context attached to that frame's target.
type frameRef struct {
	context string
	ctx     context.Context
}

// frame finds the newest frame whose URL contains part, or returns nil
// when there is none yet.
func (e *bridgeEnv) frame(part string) *frameRef {
	tree, err := chromedp.Call(e.ctx, page.GetFrameTree, cdp.Empty{})
	if err != nil || tree.FrameTree == nil {
		return nil
	}
	var found cdp.FrameID
	var walk func(*page.FrameTree)
	walk = func(ft *page.FrameTree) {
		if ft.Frame != nil && strings.Contains(ft.Frame.URL, part) {
			found = ft.Frame.ID
		}
		for _, c := range ft.ChildFrames {
			walk(c)
		}
	}
	walk(tree.FrameTree)
	if found != "" {
		if id := e.frames.context(found); id != "" {
			return &frameRef{context: id}
		}
	}
	// An out-of-process iframe is a target of its own.
	infos, err := chromedp.Targets(e.ctx)
	if err != nil {
		return nil
	}
	for _, info := range infos {
		if info.Type != "iframe" || !strings.Contains(info.URL, part) {
			continue
		}
		if e.attached == nil {
			e.attached = make(map[string]context.Context)
		}
		id := string(info.TargetID)
		if c, ok := e.attached[id]; ok {
			return &frameRef{ctx: c}
		}
		c, cancel := chromedp.NewContext(e.ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithListener(e.frames.listen))
		e.t.Cleanup(cancel)
		if err := chromedp.Do(c); err != nil {
			return nil
		}
		e.attached[id] = c
		return &frameRef{ctx: c}
	}
	return nil
}

// hostEval evaluates expr in the tab's main frame and decodes its value.
func hostEval[T any](e *bridgeEnv, expr string) T {
	e.t.Helper()
	raw, err := e.evalRaw(nil, expr)
	if err != nil {
		e.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return decodeEval[T](e.t, expr, raw)
}

// appEval evaluates expr in the frame whose URL contains part, waiting for
// that frame to exist, and decodes its value.
func appEval[T any](e *bridgeEnv, part, expr string) T {
	e.t.Helper()
	deadline := time.Now().Add(bridgeWaitTimeout)
	for {
		var err error
		if where := e.frame(part); where != nil {
			var raw []byte
			if raw, err = e.evalRaw(where, expr); err == nil {
				return decodeEval[T](e.t, expr, raw)
			}
			var exc *chromedp.ExceptionError
			if errors.As(err, &exc) {
				e.t.Fatalf("evaluating in %s: %s: %v", part, expr, err)
			}
		}
		if time.Now().After(deadline) || e.ctx.Err() != nil {
			e.t.Fatalf("evaluating in %s: %s: no such frame or context (last error: %v)", part, expr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func decodeEval[T any](t *testing.T, expr string, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decoding the value of %s: %v\n%s", expr, err, raw)
	}
	return v
}

// jsCondition wraps a JavaScript condition so that an exception reads as false.
func jsCondition(cond string) string {
	return "(() => { try { return !!(" + cond + "); } catch (e) { return false; } })()"
}

// waitHost waits until cond is true in the tab's main frame.
func (e *bridgeEnv) waitHost(cond string) {
	e.t.Helper()
	e.wait("", cond)
}

// waitApp waits until cond is true in the frame whose URL contains part.
func (e *bridgeEnv) waitApp(part, cond string) {
	e.t.Helper()
	e.wait(part, cond)
}

func (e *bridgeEnv) wait(part, cond string) {
	e.t.Helper()
	deadline := time.Now().Add(bridgeWaitTimeout)
	for {
		var where *frameRef
		if part != "" {
			where = e.frame(part)
		}
		if part == "" || where != nil {
			if raw, err := e.evalRaw(where, jsCondition(cond)); err == nil && string(raw) == "true" {
				return
			}
		}
		if time.Now().After(deadline) || e.ctx.Err() != nil {
			where := "the Helpdesk page"
			if part != "" {
				where = "frame " + part
			}
			log, _ := e.evalRaw(nil, "JSON.stringify(window.T ? T.log.map(x => [x.type, x.detail]) : window.got || null)")
			e.t.Fatalf("waiting in %s for %s: timed out\nhost page saw: %s", where, cond, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jsSettle wraps a JavaScript promise expression so that it always resolves,
// to a promiseOutcome.
func jsSettle(expr string) string {
	return `(async () => {
		const t0 = performance.now();
		try {
			const v = await (` + expr + `);
			return {ok: true, value: v === undefined ? null : v, ms: performance.now() - t0};
		} catch (e) {
			return {ok: false, code: e && e.code || String(e), message: e && e.message || "", name: e && e.name || "", ms: performance.now() - t0};
		}
	})()`
}

// promiseOutcome is how a promise settled.
type promiseOutcome struct {
	OK      bool            `json:"ok"`
	Value   json.RawMessage `json:"value"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Name    string          `json:"name"`
	Ms      float64         `json:"ms"`
}

// sameJSON reports whether a and b encode to the same JSON value.
func sameJSON(t *testing.T, a, b any) bool {
	t.Helper()
	norm := func(v any) any {
		var raw []byte
		switch v := v.(type) {
		case json.RawMessage:
			raw = v
		default:
			var err error
			if raw, err = json.Marshal(v); err != nil {
				t.Fatal(err)
			}
		}
		var out any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// bridgeMessage is a protocol message as a page recorded it.
type bridgeMessage struct {
	Origin  string         `json:"origin"`
	Event   string         `json:"event"`
	Payload map[string]any `json:"payload"`
}

// frameBox is a resize event of a host instance, or an iframe's box.
type frameBox struct {
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	Position string `json:"position,omitempty"`
}

// postFromApp makes the app in frame part post each message (JavaScript
// object literals) to its parent with "*", then a barrier message; it
// returns once the Helpdesk page has received the barrier, and so every
// message before it.
func (e *bridgeEnv) postFromApp(part string, messages ...string) {
	e.t.Helper()
	barrier := fmt.Sprintf("barrier-%d", time.Now().UnixNano())
	var b strings.Builder
	for _, m := range messages {
		b.WriteString("parent.postMessage(" + m + `, "*");`)
	}
	b.WriteString(`parent.postMessage({channel: "test:report", event: "` + barrier + `"}, "*"); true`)
	appEval[bool](e, part, b.String())
	e.waitHost(`T.reports("` + barrier + `") === 1`)
}

// connect mounts an app and waits until its shim is connected.
func (e *bridgeEnv) connect(o mountOptions, part string) string {
	e.t.Helper()
	id := e.mount(o)
	e.waitApp(part, "HelpdeskApps.appId === "+jsValue(e.t, id))
	return id
}

// ---- Events of the protocol ----------------------------------------------

func TestBrowserHostAnswersReadyWithUserThenTicketThenApp(t *testing.T) {
	e := newBridgeEnv(t)
	id := e.mount(mountOptions{App: "std", Src: e.app("std", "app.html"), Mode: "popup", Placement: "ticket_sidebar", Ticket: bridgeTicket})
	e.waitApp("app.html", `R.got.some(m => m.event === "helpdesk:context:app")`)

	got := appEval[[]bridgeMessage](e, "app.html", "R.got")
	want := []string{"helpdesk:context:user", "helpdesk:context:ticket", "helpdesk:context:app"}
	if len(got) < 3 {
		t.Fatalf("the app got %d messages, want at least 3: %+v", len(got), got)
	}
	for i, name := range want {
		if got[i].Event != name {
			t.Errorf("message %d is %s, want %s (all: %+v)", i, got[i].Event, name, got)
		}
		if got[i].Origin != e.helpdesk {
			t.Errorf("message %d came from %s, want %s", i, got[i].Origin, e.helpdesk)
		}
	}
	if !sameJSON(t, got[0].Payload, map[string]any{"user": bridgeUser}) {
		t.Errorf("context:user payload = %v", got[0].Payload)
	}
	if !sameJSON(t, got[1].Payload, map[string]any{"ticket": bridgeTicket}) {
		t.Errorf("context:ticket payload = %v", got[1].Payload)
	}
	if !sameJSON(t, got[2].Payload, map[string]any{"appId": id, "mode": "popup"}) {
		t.Errorf("context:app payload = %v, want appId %s and mode popup", got[2].Payload, id)
	}

	state := appEval[map[string]any](e, "app.html",
		`({appId: HelpdeskApps.appId, mode: HelpdeskApps.mode, user: HelpdeskApps.user, ticket: HelpdeskApps.ticket, connected: HelpdeskApps.connected})`)
	if !sameJSON(t, state, map[string]any{"appId": id, "mode": "popup", "user": bridgeUser, "ticket": bridgeTicket, "connected": true}) {
		t.Errorf("HelpdeskApps state = %v", state)
	}
	// Each event reached HelpdeskApps.on listeners and window as a CustomEvent.
	for _, list := range []string{"R.events", "R.dom"} {
		names := appEval[[]string](e, "app.html", list+".map(x => x.name)")
		for _, name := range want {
			if !strings.Contains(strings.Join(names, " "), name) {
				t.Errorf("%s = %v, missing %s", list, names, name)
			}
		}
	}
	if n := hostEval[int](e, `T.count("ready")`); n < 1 {
		t.Errorf("host emitted %d ready events", n)
	}
	if appId := hostEval[string](e, `T.received("helpdesk:app:ready")[0].payload.appId || ""`); appId != "" {
		t.Errorf("the first ready carried appId %q before the host assigned one", appId)
	}
}

func TestBrowserHostSendsNoTicketContextOutsideTicketSidebar(t *testing.T) {
	e := newBridgeEnv(t)
	e.mount(mountOptions{Src: e.app("std", "app.html"), Mode: "popup", Placement: "main_menu", Ticket: bridgeTicket})
	e.waitApp("app.html", `R.got.some(m => m.event === "helpdesk:context:app")`)
	got := appEval[[]string](e, "app.html", "R.got.map(m => m.event)")
	if got[0] != "helpdesk:context:user" || got[1] != "helpdesk:context:app" {
		t.Errorf("a main_menu app got %v, want context:user then context:app", got)
	}
	// Nor ticket updates: setUser's message, sent after, marks when the
	// update would have arrived.
	hostEval[bool](e, "T.inst.updateTicket("+jsValue(t, bridgeTicket)+`), T.inst.setUser({id: "u-2"}), true`)
	e.waitApp("app.html", `HelpdeskApps.user.id === "u-2"`)
	got = appEval[[]string](e, "app.html", "R.got.map(m => m.event)")
	for _, ev := range got {
		if ev == "helpdesk:context:ticket" || ev == "helpdesk:ticket:update" {
			t.Errorf("a main_menu app got a ticket: %v", got)
		}
	}
}

func TestBrowserGetUserResolvesAndRepliesEchoRequestID(t *testing.T) {
	e := newBridgeEnv(t)
	e.connect(mountOptions{Src: e.app("std", "app.html"), Mode: "embed", Placement: "main_menu"}, "app.html")

	o := appEval[promiseOutcome](e, "app.html", jsSettle("HelpdeskApps.getUser()"))
	if !o.OK || !sameJSON(t, o.Value, bridgeUser) {
		t.Fatalf("getUser() = %+v, want the user", o)
	}
	last := appEval[bridgeMessage](e, "app.html", `R.got.filter(m => m.event === "helpdesk:context:user").pop()`)
	if rid, _ := last.Payload["requestId"].(string); !strings.HasPrefix(rid, "hd-") {
		t.Errorf("the reply to getUser() carried requestId %v, want the shim's", last.Payload["requestId"])
	}

	before := appEval[int](e, "app.html", `R.got.filter(m => m.event === "helpdesk:context:user").length`)
	e.postFromApp("app.html",
		`{channel: "helpdesk:apps", event: "helpdesk:get:context:user", payload: {requestId: "abc"}}`,
		`{channel: "helpdesk:apps", event: "helpdesk:get:context:user"}`)
	e.waitApp("app.html", fmt.Sprintf(`R.got.filter(m => m.event === "helpdesk:context:user").length === %d`, before+2))
	replies := appEval[[]bridgeMessage](e, "app.html", `R.got.filter(m => m.event === "helpdesk:context:user").slice(-2)`)
	if !sameJSON(t, replies[0].Payload, map[string]any{"user": bridgeUser, "requestId": "abc"}) {
		t.Errorf("reply to a request with requestId abc: %v", replies[0].Payload)
	}
	if !sameJSON(t, replies[1].Payload, map[string]any{"user": bridgeUser}) {
		t.Errorf("reply to a request without requestId: %v", replies[1].Payload)
	}
}

func TestBrowserGetTicketResolvesInTicketSidebar(t *testing.T) {
	e := newBridgeEnv(t)
	e.connect(mountOptions{Src: e.app("std", "app.html"), Mode: "embed", Placement: "ticket_sidebar", Ticket: bridgeTicket}, "app.html")
	o := appEval[promiseOutcome](e, "app.html", jsSettle("HelpdeskApps.getTicket()"))
	if !o.OK || !sameJSON(t, o.Value, bridgeTicket) {
		t.Fatalf("getTicket() = %+v, want the ticket", o)
	}
}

func TestBrowserTicketUpdateReachesTheApp(t *testing.T) {
	e := newBridgeEnv(t)
	e.connect(mountOptions{Src: e.app("std", "app.html"), Mode: "embed", Placement: "ticket_sidebar", Ticket: bridgeTicket}, "app.html")
	updated := map[string]any{}
	for k, v := range bridgeTicket {
		updated[k] = v
	}
	updated["status"] = "solved"
	hostEval[bool](e, "T.inst.updateTicket("+jsValue(t, updated)+"), true")
	e.waitApp("app.html", `R.dom.some(x => x.name === "helpdesk:ticket:update")`)

	ev := appEval[map[string]any](e, "app.html", `R.events.find(x => x.name === "helpdesk:ticket:update").payload`)
	if !sameJSON(t, ev, map[string]any{"ticket": updated}) {
		t.Errorf("helpdesk:ticket:update payload = %v", ev)
	}
	dom := appEval[map[string]any](e, "app.html", `R.dom.find(x => x.name === "helpdesk:ticket:update").detail`)
	if !sameJSON(t, dom, map[string]any{"ticket": updated}) {
		t.Errorf("CustomEvent detail = %v", dom)
	}
	if s := appEval[string](e, "app.html", "HelpdeskApps.ticket.status"); s != "solved" {
		t.Errorf("HelpdeskApps.ticket.status = %q after the update", s)
	}
}

func TestBrowserSetUserSendsUserContext(t *testing.T) {
	e := newBridgeEnv(t)
	e.connect(mountOptions{Src: e.app("std", "app.html"), Mode: "embed", Placement: "main_menu"}, "app.html")
	hostEval[bool](e, `T.inst.setUser({id: "u-2", name: "Bea", email: "bea@example.com", role: "supervisor", division_id: "7"}), true`)
	e.waitApp("app.html", `HelpdeskApps.user.id === "u-2"`)
	if n := appEval[int](e, "app.html", `R.events.filter(x => x.name === "helpdesk:context:user").length`); n < 2 {
		t.Errorf("helpdesk:context:user reached listeners %d times, want the ready answer and setUser", n)
	}
}

func TestBrowserResizeInPopupSizesIframeWithinLimits(t *testing.T) {
	e := newBridgeEnv(t)
	e.connect(mountOptions{
		Src: e.app("std", "app.html"), Mode: "popup", Placement: "main_menu",
		MinSize: map[string]int{"width": 200, "height": 100}, MaxSize: map[string]int{"width": 800, "height": 700},
	}, "app.html")

	appEval[bool](e, "app.html", `HelpdeskApps.resize(600, "900px"), true`)
	e.waitHost(`T.count("resize") === 1`)
	if got := hostEval[frameBox](e, `T.events("resize")[0]`); got != (frameBox{Width: 600, Height: 700}) {
		t.Errorf("resize event = %+v, want 600×700 (height clamped to maxSize)", got)
	}
	if box := hostEval[frameBox](e, "T.box()"); box.Width != 600 || box.Height != 700 {
		t.Errorf("iframe is %d×%d, want 600×700", box.Width, box.Height)
	}
	sent := hostEval[bridgeMessage](e, `({payload: T.received("helpdesk:app:resize")[0].payload})`)
	if !sameJSON(t, sent.Payload, map[string]any{"width": "600px", "height": "900px", "appId": hostEval[string](e, "T.inst.appId")}) {
		t.Errorf("the shim sent %v", sent.Payload)
	}

	// An invalid width is ignored, the height applied (and clamped).
	appEval[bool](e, "app.html", `HelpdeskApps.resize("50%", 20), true`)
	e.waitHost(`T.count("resize") === 2`)
	if box := hostEval[frameBox](e, "T.box()"); box.Width != 600 || box.Height != 100 {
		t.Errorf("after resize(50%%, 20) the iframe is %d×%d, want 600×100", box.Width, box.Height)
	}
	// A request with nothing valid changes nothing.
	e.postFromApp("app.html", `{channel: "helpdesk:apps", event: "helpdesk:app:resize", payload: {width: "wide", height: -5}}`)
	if n := hostEval[int](e, `T.count("resize")`); n != 2 {
		t.Errorf("an invalid resize emitted a resize event (%d events)", n)
	}
}

func TestBrowserFullscreenTogglesInPopup(t *testing.T) {
	e := newBridgeEnv(t)
	e.connect(mountOptions{Src: e.app("std", "app.html"), Mode: "popup", Placement: "main_menu"}, "app.html")
	appEval[bool](e, "app.html", "HelpdeskApps.resize(400, 300), true")
	e.waitHost(`T.count("resize") === 1`)

	appEval[bool](e, "app.html", "HelpdeskApps.fullscreen(true), true")
	e.waitHost(`T.count("fullscreen") === 1`)
	viewport := hostEval[frameBox](e, "({width: innerWidth, height: innerHeight})")
	if box := hostEval[frameBox](e, "T.box()"); box.Position != "fixed" || box.Width != viewport.Width || box.Height != viewport.Height {
		t.Errorf("full screen iframe: %+v, want fixed and %d×%d", box, viewport.Width, viewport.Height)
	}

	appEval[bool](e, "app.html", "HelpdeskApps.fullscreen(false), true")
	e.waitHost(`T.count("fullscreen") === 2`)
	if box := hostEval[frameBox](e, "T.box()"); box.Position == "fixed" || box.Width != 400 || box.Height != 300 {
		t.Errorf("after leaving full screen the iframe is %+v, want its 400×300 back", box)
	}
	if evs := hostEval[[]map[string]bool](e, `T.events("fullscreen")`); !evs[0]["fullscreen"] || evs[1]["fullscreen"] {
		t.Errorf("fullscreen events = %v, want true then false", evs)
	}
}

// ---- Host validation rules -------------------------------------------------

const fullscreenRequest = `{channel: "helpdesk:apps", event: "helpdesk:app:fullscreen", payload: {fullscreen: true}}`

func TestBrowserHostIgnoresWrongChannel(t *testing.T) {
	e := newBridgeEnv(t)
	e.connect(mountOptions{Src: e.app("std", "app.html"), Mode: "popup", Placement: "main_menu"}, "app.html")
	e.postFromApp("app.html",
		`{channel: "helpdesk:app", event: "helpdesk:app:fullscreen", payload: {fullscreen: true}}`,
		`{event: "helpdesk:app:fullscreen", payload: {fullscreen: true}}`,
		`"helpdesk:app:fullscreen"`,
		`null`)
	if n := hostEval[int](e, `T.count("fullscreen")`); n != 0 {
		t.Fatalf("messages on another channel were obeyed: %d fullscreen events", n)
	}
	// The same request on the right channel is obeyed.
	e.postFromApp("app.html", fullscreenRequest)
	if n := hostEval[int](e, `T.count("fullscreen")`); n != 1 {
		t.Errorf("the request on the right channel gave %d fullscreen events, want 1", n)
	}
}

func TestBrowserHostIgnoresMessagesFromAnotherFrame(t *testing.T) {
	e := newBridgeEnv(t)
	e.connect(mountOptions{Src: e.app("std", "app.html"), Mode: "popup", Placement: "main_menu"}, "app.html")
	// A second iframe, same origin as the app, posts a valid request.
	hostEval[bool](e, "T.frame("+jsValue(t, e.app("std", "poster.html"))+"), true")
	e.waitHost(`T.reports("posted") === 1`)
	e.waitApp("poster.html", "window.HelpdeskApps !== undefined")
	if n := hostEval[int](e, `T.count("fullscreen")`); n != 0 {
		t.Errorf("a request from another frame was obeyed")
	}
	if n := hostEval[int](e, `T.received("helpdesk:get:context:user").filter(m => m.payload.requestId === "poster").length`); n != 0 {
		t.Errorf("a request from another frame was accepted")
	}
	if appEval[bool](e, "poster.html", "HelpdeskApps.connected") {
		t.Errorf("the other frame's shim was answered")
	}
	// The same page in the instance's own iframe is obeyed.
	hostEval[bool](e, "T.inst.iframe.src = "+jsValue(t, e.app("std", "poster.html"))+", true")
	e.waitHost(`T.count("fullscreen") === 1`)
}

func TestBrowserHostIgnoresMessagesWithAnotherAppID(t *testing.T) {
	e := newBridgeEnv(t)
	id := e.connect(mountOptions{Src: e.app("std", "app.html"), Mode: "popup", Placement: "main_menu"}, "app.html")
	e.postFromApp("app.html", `{channel: "helpdesk:apps", event: "helpdesk:app:fullscreen", payload: {appId: "app-someone-else", fullscreen: true}}`)
	if n := hostEval[int](e, `T.count("fullscreen")`); n != 0 {
		t.Fatalf("a message naming another appId was obeyed")
	}
	e.postFromApp("app.html", `{channel: "helpdesk:apps", event: "helpdesk:app:fullscreen", payload: {appId: `+jsValue(t, id)+`, fullscreen: true}}`)
	if n := hostEval[int](e, `T.count("fullscreen")`); n != 1 {
		t.Errorf("a message naming this instance's appId gave %d fullscreen events, want 1", n)
	}
}

func TestBrowserHostAcceptsMessagesWithoutAppID(t *testing.T) {
	e := newBridgeEnv(t)
	e.connect(mountOptions{Src: e.app("std", "app.html"), Mode: "popup", Placement: "main_menu"}, "app.html")
	e.postFromApp("app.html", fullscreenRequest)
	if n := hostEval[int](e, `T.count("fullscreen")`); n != 1 {
		t.Fatalf("a message without appId gave %d fullscreen events, want 1", n)
	}
	// A vendor-style app sends appId: null until it knows its id.
	e.postFromApp("app.html", `{channel: "helpdesk:apps", event: "helpdesk:app:fullscreen", payload: {appId: null, fullscreen: false}}`)
	if n := hostEval[int](e, `T.count("fullscreen")`); n != 2 {
		t.Errorf("a message with appId null gave %d fullscreen events in all, want 2", n)
	}
}

func TestBrowserHostIgnoresMessagesFromAnotherOrigin(t *testing.T) {
	e := newBridgeEnv(t)
	e.connect(mountOptions{Src: e.app("std", "app.html"), Mode: "popup", Placement: "main_menu"}, "app.html")
	// The app's iframe goes to another origin, whose page posts a valid
	// request: its source is the instance's iframe, its origin is not the app's.
	hostEval[bool](e, "T.inst.iframe.src = "+jsValue(t, e.foreign+"/apps/poster.html")+", true")
	e.waitHost(`T.reports("posted") === 1`)
	if n := hostEval[int](e, `T.count("fullscreen")`); n != 0 {
		t.Errorf("a request from another origin was obeyed")
	}
	if n := hostEval[int](e, `T.received("helpdesk:get:context:user").filter(m => m.payload.requestId === "poster").length`); n != 0 {
		t.Errorf("a request from another origin was accepted")
	}
	// The same page from the app's origin is obeyed.
	hostEval[bool](e, "T.inst.iframe.src = "+jsValue(t, e.app("std", "poster.html"))+", true")
	e.waitHost(`T.count("fullscreen") === 1`)
}

func TestBrowserHostPostsNothingToAnOpaqueOrigin(t *testing.T) {
	e := newBridgeEnv(t)
	e.mount(mountOptions{Src: e.app("std", "app.html"), Mode: "popup", Placement: "main_menu", Sandbox: "allow-scripts"})
	// The sandboxed app posts ready, from origin "null".
	e.waitHost(`T.raw.some(m => m.fromApp && m.origin === "null" && m.data && m.data.event === "helpdesk:app:ready")`)
	time.Sleep(200 * time.Millisecond)
	if n := hostEval[int](e, `T.log.length`); n != 0 {
		t.Errorf("the host accepted %d messages from an opaque origin", n)
	}
	if got := appEval[[]bridgeMessage](e, "app.html", "R.got"); len(got) != 0 {
		t.Errorf("the host posted to an opaque origin: %+v", got)
	}
	if n := e.frames.warned("[HelpdeskHost]"); n != 1 {
		t.Errorf("the host warned %d times about the opaque origin, want once", n)
	}
}

// ---- Scope ---------------------------------------------------------------

func TestBrowserTicketContextOutsideTicketSidebarFailsFastWithOutOfScope(t *testing.T) {
	e := newBridgeEnv(t)
	e.connect(mountOptions{Src: e.app("std", "app.html"), Mode: "popup", Placement: "main_menu", Ticket: bridgeTicket}, "app.html")
	o := appEval[promiseOutcome](e, "app.html", jsSettle("HelpdeskApps.getTicket({timeout: 5000})"))
	if o.OK || o.Code != "OUT_OF_SCOPE" {
		t.Fatalf("getTicket() in main_menu = %+v, want code OUT_OF_SCOPE", o)
	}
	if o.Ms > 2000 {
		t.Errorf("getTicket() took %.0f ms to fail; the host's error should end it at once", o.Ms)
	}
	errEv := appEval[map[string]any](e, "app.html", `R.dom.find(x => x.name === "helpdesk:error").detail`)
	if errEv["event"] != "helpdesk:get:context:ticket" || errEv["code"] != "OUT_OF_SCOPE" || errEv["message"] == "" {
		t.Errorf("helpdesk:error detail = %v", errEv)
	}
	if rid, _ := errEv["requestId"].(string); !strings.HasPrefix(rid, "hd-") {
		t.Errorf("helpdesk:error did not echo the requestId: %v", errEv)
	}
}

func TestBrowserTicketContextWithoutOpenTicketFailsWithNoTicket(t *testing.T) {
	e := newBridgeEnv(t)
	e.connect(mountOptions{Src: e.app("std", "app.html"), Mode: "embed", Placement: "ticket_sidebar"}, "app.html")
	if got := appEval[[]string](e, "app.html", "R.got.map(m => m.event)"); strings.Contains(strings.Join(got, " "), "helpdesk:context:ticket") {
		t.Errorf("with no ticket open, ready was answered with %v", got)
	}
	o := appEval[promiseOutcome](e, "app.html", jsSettle("HelpdeskApps.getTicket()"))
	if o.OK || o.Code != "NO_TICKET" || o.Ms > 2000 {
		t.Errorf("getTicket() with no ticket = %+v, want code NO_TICKET at once", o)
	}
}

func TestBrowserResizeAndFullscreenInEmbedModeAreRefused(t *testing.T) {
	e := newBridgeEnv(t)
	e.connect(mountOptions{Src: e.app("std", "app.html"), Mode: "embed", Placement: "ticket_sidebar", Ticket: bridgeTicket}, "app.html")
	before := hostEval[frameBox](e, "T.box()")
	appEval[bool](e, "app.html", "HelpdeskApps.resize(600, 800), HelpdeskApps.fullscreen(true), true")
	e.waitApp("app.html", `R.events.filter(x => x.name === "helpdesk:error").length === 2`)

	errs := appEval[[]map[string]any](e, "app.html", `R.events.filter(x => x.name === "helpdesk:error").map(x => x.payload)`)
	for i, want := range []string{"helpdesk:app:resize", "helpdesk:app:fullscreen"} {
		if errs[i]["event"] != want || errs[i]["code"] != "OUT_OF_SCOPE" {
			t.Errorf("error %d = %v, want OUT_OF_SCOPE for %s", i, errs[i], want)
		}
	}
	if n := hostEval[int](e, `T.count("resize") + T.count("fullscreen")`); n != 0 {
		t.Errorf("an embed app's display request was carried out (%d events)", n)
	}
	if after := hostEval[frameBox](e, "T.box()"); after != before {
		t.Errorf("the embed iframe changed from %+v to %+v", before, after)
	}
}

// ---- Life cycle ------------------------------------------------------------

func TestBrowserReconnectsAfterIframeReload(t *testing.T) {
	e := newBridgeEnv(t)
	id := e.connect(mountOptions{Src: e.app("std", "app.html"), Mode: "popup", Placement: "main_menu"}, "app.html")
	readies := hostEval[int](e, `T.count("ready")`)
	appEval[bool](e, "app.html", "window.beforeReload = true; setTimeout(() => location.reload(), 0); true")
	e.waitHost(fmt.Sprintf(`T.count("ready") > %d`, readies))
	e.waitApp("app.html", "window.beforeReload === undefined && HelpdeskApps.appId === "+jsValue(t, id))
	if got := appEval[[]string](e, "app.html", "R.got.map(m => m.event)"); len(got) < 2 || got[0] != "helpdesk:context:user" {
		t.Errorf("after the reload the app got %v", got)
	}
}

func TestBrowserHostDestroyRemovesIframeAndStopsHandling(t *testing.T) {
	e := newBridgeEnv(t)
	e.connect(mountOptions{Src: e.app("std", "app.html"), Mode: "popup", Placement: "ticket_sidebar", Ticket: bridgeTicket}, "app.html")
	inDoc := hostEval[bool](e, `window.kept = T.inst.iframe; T.inst.destroy(); T.inst.updateTicket({id: 1}); T.inst.setUser({id: "x"}); document.contains(kept)`)
	if inDoc {
		t.Fatal("destroy() left the iframe in the document")
	}
	// Put the same iframe back: its app loads again and posts ready to the
	// destroyed instance, which must not answer.
	hostEval[bool](e, `document.getElementById("slot").appendChild(kept), true`)
	e.waitHost(`T.raw.filter(m => m.fromApp && m.data && m.data.event === "helpdesk:app:ready").length >= 2`)
	time.Sleep(200 * time.Millisecond)
	if got := appEval[[]bridgeMessage](e, "app.html", "R.got"); len(got) != 0 {
		t.Errorf("a destroyed instance answered: %+v", got)
	}
	if appEval[bool](e, "app.html", "HelpdeskApps.connected") {
		t.Errorf("the app connected to a destroyed instance")
	}
	// Nor does it carry out requests: a popup resize leaves the iframe alone.
	appEval[bool](e, "app.html", "HelpdeskApps.resize(640, 480), true")
	e.waitHost(`T.raw.some(m => m.fromApp && m.data && m.data.event === "helpdesk:app:resize")`)
	if w := hostEval[string](e, "kept.style.width"); w == "640px" {
		t.Errorf("a destroyed instance resized its iframe")
	}
}

// ---- Compatibility -------------------------------------------------------

func TestBrowserVendorStyleAppWorksBesideShim(t *testing.T) {
	e := newBridgeEnv(t)
	id := e.mount(mountOptions{Src: e.app("std", "vendor.html"), Mode: "popup", Placement: "main_menu"})
	e.waitHost(`T.count("resize") >= 1`)
	if got := hostEval[frameBox](e, `T.events("resize")[0]`); got != (frameBox{Width: 600, Height: 800}) {
		t.Errorf("resize event = %+v, want 600×800", got)
	}
	if box := hostEval[frameBox](e, "T.box()"); box.Width != 600 || box.Height != 800 {
		t.Errorf("iframe is %d×%d, want 600×800", box.Width, box.Height)
	}
	if got := hostEval[string](e, `T.received("helpdesk:app:resize")[0].payload.appId`); got != id {
		t.Errorf("the vendor-style resize carried appId %q, want %q", got, id)
	}
	e.waitApp("vendor.html", "window.vendorAppId === "+jsValue(t, id)+" && HelpdeskApps.appId === "+jsValue(t, id))
	if email := appEval[string](e, "vendor.html", "vendorUser.email"); email != bridgeUser["email"] {
		t.Errorf("the vendor-style app got user %q", email)
	}
}

func TestBrowserLegacyPageConnectsThroughInjectedShimAlone(t *testing.T) {
	e := newBridgeEnv(t)
	id := e.mount(mountOptions{Src: e.app("std", "legacy.html"), Mode: "embed", Placement: "main_menu"})
	e.waitHost(`T.count("ready") >= 1`)
	e.waitApp("legacy.html", "HelpdeskApps.appId === "+jsValue(t, id)+` && HelpdeskApps.mode === "embed"`)

	tag := appEval[map[string]any](e, "legacy.html", `(() => {
		const s = document.querySelectorAll("script[data-helpdesk-origins]");
		return {n: s.length, app: s[0].dataset.helpdeskApp, origins: s[0].dataset.helpdeskOrigins, src: s[0].getAttribute("src") || ""};
	})()`)
	if tag["n"] != float64(1) || tag["app"] != "std" || tag["origins"] != e.helpdesk ||
		!strings.HasPrefix(tag["src"].(string), "/apps/_bridge/client.js?v=") {
		t.Errorf("injected tag: %v", tag)
	}
}

func TestBrowserInlinedShimConnects(t *testing.T) {
	e := newBridgeEnv(t)
	id := e.mount(mountOptions{Src: e.app("std", "legacy.html?csp=inline"), Mode: "embed", Placement: "main_menu"})
	e.waitApp("legacy.html", "HelpdeskApps.appId === "+jsValue(t, id))
	tag := appEval[map[string]any](e, "legacy.html", `(() => {
		const s = document.querySelector("script[data-helpdesk-origins]");
		return {src: s.hasAttribute("src"), code: s.textContent.length > 1000, app: s.dataset.helpdeskApp};
	})()`)
	if tag["src"] != false || tag["code"] != true || tag["app"] != "std" {
		t.Errorf("under script-src 'unsafe-inline' the shim should be inline: %v", tag)
	}
}

func TestBrowserShimRunsUnderNoncePolicy(t *testing.T) {
	e := newBridgeEnv(t)
	id := e.mount(mountOptions{Src: e.app("std", "legacy.html?csp=nonce"), Mode: "embed", Placement: "main_menu"})
	e.waitApp("legacy.html", "HelpdeskApps.appId === "+jsValue(t, id))
	if nonce := appEval[string](e, "legacy.html", `document.querySelector("script[data-helpdesk-origins]").nonce`); nonce != bridgeNonce {
		t.Errorf("shim nonce = %q, want the page's", nonce)
	}
}

// helmetPolicy is helmet's default Content-Security-Policy.
const helmetPolicy = "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests"

func TestBrowserShimRunsUnderStrictDynamicPolicy(t *testing.T) {
	e := newBridgeEnv(t)
	id := e.mount(mountOptions{Src: e.app("std", "legacy.html?csp=strict"), Mode: "embed", Placement: "main_menu"})
	e.waitApp("legacy.html", "HelpdeskApps.appId === "+jsValue(t, id))
	if nonce := appEval[string](e, "legacy.html", `document.querySelector("script[data-helpdesk-origins]").nonce`); nonce != bridgeNonce {
		t.Errorf("shim nonce = %q, want the page's", nonce)
	}
}

func TestBrowserShimRunsUnderHelmetDefaultPolicy(t *testing.T) {
	e := newBridgeEnv(t)
	id := e.mount(mountOptions{Src: e.app("std", "legacy.html?csp=helmet"), Mode: "embed", Placement: "main_menu"})
	e.waitApp("legacy.html", "HelpdeskApps.appId === "+jsValue(t, id))
	if src := appEval[string](e, "legacy.html", `document.querySelector("script[data-helpdesk-origins]").getAttribute("src") || ""`); !strings.HasPrefix(src, "/apps/_bridge/client.js?v=") {
		t.Errorf("under helmet's policy the shim should be a same-origin script, got src %q", src)
	}
}

func TestBrowserShimLoadedTwiceIsANoOp(t *testing.T) {
	e := newBridgeEnv(t)
	e.connect(mountOptions{Src: e.app("std", "twice.html"), Mode: "popup", Placement: "main_menu"}, "twice.html")
	if !appEval[bool](e, "twice.html", "window.sameShim") {
		t.Errorf("the second client.js replaced HelpdeskApps")
	}
	if n := appEval[int](e, "twice.html", `document.querySelectorAll('script[src*="_bridge/client.js"]').length`); n != 2 {
		t.Fatalf("the page has %d client.js scripts, want 2 (the injected one and its own)", n)
	}
	// One shim sends one ready at a time; two would send two at once.
	times := hostEval[[]float64](e, `T.log.filter(x => x.type === "message" && x.detail.event === "helpdesk:app:ready").map(x => x.at)`)
	for i := 1; i < len(times); i++ {
		if times[i]-times[i-1] < 50 {
			t.Errorf("two readies %.0f ms apart: two shims are running (%v)", times[i]-times[i-1], times)
		}
	}
}

func TestBrowserManualReadyWaitsForReadyCall(t *testing.T) {
	e := newBridgeEnv(t)
	id := e.mount(mountOptions{Src: e.app("manual", "app.html"), Mode: "popup", Placement: "main_menu"})
	e.waitApp("app.html", "document.readyState === 'complete' && window.R !== undefined")
	time.Sleep(300 * time.Millisecond)
	if n := hostEval[int](e, `T.count("ready")`); n != 0 {
		t.Fatalf("a manual_ready app sent ready by itself (%d)", n)
	}
	o := appEval[promiseOutcome](e, "app.html", jsSettle("HelpdeskApps.ready()"))
	if !o.OK || !sameJSON(t, o.Value, map[string]any{"appId": id, "mode": "popup"}) {
		t.Errorf("ready() = %+v, want the app context", o)
	}
	if v := appEval[string](e, "app.html", `document.querySelector("script[data-helpdesk-origins]").dataset.manualReady`); v != "true" {
		t.Errorf("data-manual-ready = %q", v)
	}
}

func TestBrowserSameOriginDeploymentConnects(t *testing.T) {
	e := newBridgeEnv(t)
	id := e.mount(mountOptions{Src: e.helpdesk + "/apps/same/legacy.html", Mode: "embed", Placement: "main_menu"})
	e.waitApp("/apps/same/legacy.html", "HelpdeskApps.appId === "+jsValue(t, id))
	if o := appEval[string](e, "/apps/same/legacy.html", `document.querySelector("script[data-helpdesk-origins]").dataset.helpdeskOrigins`); o != "self" {
		t.Errorf("data-helpdesk-origins = %q, want self", o)
	}
}

func TestBrowserShimFindsHelpdeskAmongSeveralOriginsWithWildcard(t *testing.T) {
	e := newBridgeEnv(t)
	// The Helpdesk at h.localhost, which only the wildcard allows; the
	// shim must learn it from location.ancestorOrigins.
	origins := "https://helpdesk.invalid http://*.localhost:" + e.port
	src := e.foreign + "/apps/dynamic.html?client=" + url.QueryEscape(e.apps+"/apps/_bridge/client.js") + "&origins=" + url.QueryEscape(origins)
	id := e.mountOn("http://h.localhost:"+e.port, mountOptions{Src: src, Mode: "popup", Placement: "main_menu"})
	e.waitApp("dynamic.html", "HelpdeskApps.appId === "+jsValue(t, id))
	got := appEval[[]string](e, "dynamic.html", "HelpdeskApps.config.origins")
	if !sameJSON(t, got, []string{"https://helpdesk.invalid", "http://*.localhost:" + e.port}) {
		t.Errorf("config.origins = %v", got)
	}
}

// ---- Auto-resize ---------------------------------------------------------

func TestBrowserAutoResizeGrowsAndShrinks(t *testing.T) {
	e := newBridgeEnv(t)
	e.mount(mountOptions{Src: e.app("auto", "grow.html"), Mode: "popup", Placement: "main_menu", MaxSize: map[string]int{"height": 2000}})
	// grow.html: a 100px box in a body with the default 8px margin.
	e.waitHost(`T.count("resize") >= 1 && T.events("resize").pop().height === 116`)

	appEval[bool](e, "grow.html", `document.getElementById("box").style.height = "900px", true`)
	e.waitHost(`T.events("resize").pop().height === 916`)

	appEval[bool](e, "grow.html", `document.getElementById("box").style.height = "40px", true`)
	e.waitHost(`T.events("resize").pop().height === 56`)
	if box := hostEval[frameBox](e, "T.box()"); box.Height != 56 {
		t.Errorf("after shrinking the iframe is %d px tall, want 56", box.Height)
	}
	// Stable: the new size does not feed back into another resize.
	n := hostEval[int](e, `T.count("resize")`)
	time.Sleep(300 * time.Millisecond)
	if m := hostEval[int](e, `T.count("resize")`); m != n {
		t.Errorf("resize events went on after the content settled: %v", hostEval[[]frameBox](e, `T.events("resize")`))
	}
	heights := hostEval[[]int](e, `T.events("resize").map(r => r.height)`)
	if heights[0] != 116 {
		t.Errorf("resize heights = %v, want 116, 916, 56", heights)
	}
}

// ---- Client rules ------------------------------------------------------------

func TestBrowserClientIgnoresMessagesNotFromItsParent(t *testing.T) {
	e := newBridgeEnv(t)
	// Same-origin deployment: a message the page posts to itself has an
	// allowed origin (self), so only the source rule can stop it.
	id := e.connect(mountOptions{Src: e.helpdesk + "/apps/same/app.html", Mode: "popup", Placement: "main_menu"}, "app.html")
	// The page posts to itself: its own source, not the parent.
	appEval[bool](e, "app.html", `window.postMessage({channel: "helpdesk:apps", event: "helpdesk:context:app", payload: {appId: "app-forged", mode: "embed"}}, "*"), true`)
	// R's listener runs after the shim's: once R has the message, the shim saw it.
	e.waitApp("app.html", `R.got.some(m => m.payload && m.payload.appId === "app-forged")`)
	if got := appEval[string](e, "app.html", "HelpdeskApps.appId"); got != id {
		t.Errorf("a message from the page itself changed appId to %q", got)
	}
}

func TestBrowserClientIgnoresHelpdeskOutsideItsOrigins(t *testing.T) {
	e := newBridgeEnv(t)
	// wrongorigins.html loads the shim itself, allowing only another origin,
	// and sends a raw ready that the real Helpdesk answers.
	e.mount(mountOptions{Src: e.app("raw", "wrongorigins.html"), Mode: "popup", Placement: "main_menu"})
	e.waitApp("wrongorigins.html", `R.got.some(m => m.event === "helpdesk:context:app")`)
	time.Sleep(300 * time.Millisecond)
	if got := appEval[map[string]any](e, "wrongorigins.html", "({appId: HelpdeskApps.appId, connected: HelpdeskApps.connected})"); got["appId"] != nil || got["connected"] != false {
		t.Errorf("the shim accepted a Helpdesk outside its origins: %v", got)
	}
	// Its readies went to the allowed origin only, and never reached this one.
	if n := hostEval[int](e, `T.count("ready")`); n != 1 {
		t.Errorf("the Helpdesk got %d readies, want only the page's raw one", n)
	}
}

func TestBrowserClientMatchesRepliesByRequestID(t *testing.T) {
	e := newBridgeEnv(t)
	e.navigate(e.helpdesk + "/silent.html")
	hostEval[bool](e, `document.getElementById("app").src = `+jsValue(t, e.app("std", "app.html"))+", true")
	e.waitApp("app.html", "window.R !== undefined")
	appOrigin := jsValue(t, e.apps)

	// start begins a request in the app and returns its requestId.
	start := func(call string) string {
		t.Helper()
		n := hostEval[int](e, "got.length")
		appEval[bool](e, "app.html", `window.out = null; `+call+`.then(v => out = {ok: true, value: v}, err => out = {ok: false, code: err.code}), true`)
		e.waitHost(fmt.Sprintf(`got.slice(%d).some(m => m.data.event.startsWith("helpdesk:get:"))`, n))
		return hostEval[string](e, fmt.Sprintf(`got.slice(%d).find(m => m.data.event.startsWith("helpdesk:get:")).data.payload.requestId`, n))
	}
	result := func() map[string]any {
		t.Helper()
		e.waitApp("app.html", "window.out !== null")
		return appEval[map[string]any](e, "app.html", "out")
	}

	rid := start("HelpdeskApps.getTicket()")
	// Replies for other requests leave it pending.
	hostEval[bool](e, `reply("helpdesk:error", {event: "helpdesk:get:context:ticket", code: "NO_TICKET", requestId: "other"}, `+appOrigin+`),
		reply("helpdesk:context:ticket", {ticket: {id: 1}, requestId: "other"}, `+appOrigin+`), true`)
	// A later message from the parent: once the page has it, the shim has
	// handled the replies before it.
	hostEval[bool](e, `reply("helpdesk:ticket:update", {ticket: {id: 0}}, `+appOrigin+`), true`)
	e.waitApp("app.html", `R.got.some(m => m.event === "helpdesk:ticket:update")`)
	if got := appEval[any](e, "app.html", "out"); got != nil {
		t.Fatalf("a reply to another requestId settled the request: %v", got)
	}
	hostEval[bool](e, `reply("helpdesk:context:ticket", {ticket: {id: 7}, requestId: `+jsValue(t, rid)+`}, `+appOrigin+`), true`)
	if got := result(); !sameJSON(t, got, map[string]any{"ok": true, "value": map[string]any{"id": 7}}) {
		t.Errorf("getTicket() = %v, want the ticket of the matching reply", got)
	}

	// A host that does not echo requestId still answers.
	start("HelpdeskApps.getUser()")
	hostEval[bool](e, `reply("helpdesk:context:user", {user: {id: "u-9"}}, `+appOrigin+`), true`)
	if got := result(); !sameJSON(t, got, map[string]any{"ok": true, "value": map[string]any{"id": "u-9"}}) {
		t.Errorf("getUser() with a reply without requestId = %v", got)
	}

	// An error naming the request, by requestId or by event, rejects it with its code.
	rid = start("HelpdeskApps.getTicket()")
	hostEval[bool](e, `reply("helpdesk:error", {event: "helpdesk:get:context:ticket", code: "NO_TICKET", message: "none", requestId: `+jsValue(t, rid)+`}, `+appOrigin+`), true`)
	if got := result(); got["code"] != "NO_TICKET" {
		t.Errorf("getTicket() after an error with its requestId = %v, want NO_TICKET", got)
	}
	start("HelpdeskApps.getTicket()")
	hostEval[bool](e, `reply("helpdesk:error", {event: "helpdesk:get:context:ticket", code: "OUT_OF_SCOPE"}, `+appOrigin+`), true`)
	if got := result(); got["code"] != "OUT_OF_SCOPE" {
		t.Errorf("getTicket() after an error for its event = %v, want OUT_OF_SCOPE", got)
	}
}

func TestBrowserClientRequestTimesOutWithoutHost(t *testing.T) {
	e := newBridgeEnv(t)
	e.navigate(e.helpdesk + "/silent.html")
	hostEval[bool](e, `document.getElementById("app").src = `+jsValue(t, e.app("std", "app.html"))+", true")
	e.waitApp("app.html", "window.HelpdeskApps !== undefined")
	o := appEval[promiseOutcome](e, "app.html", jsSettle("HelpdeskApps.getUser({timeout: 300})"))
	if o.OK || o.Code != "TIMEOUT" || o.Name != "HelpdeskAppsError" || o.Ms < 250 || o.Ms > 3000 {
		t.Errorf("getUser({timeout: 300}) with a silent parent = %+v, want code TIMEOUT after about 300 ms", o)
	}
	// The shim kept trying: readies reached the parent, with backoff.
	if n := hostEval[int](e, `got.filter(m => m.data.event === "helpdesk:app:ready" && m.origin === `+jsValue(t, e.apps)+`).length`); n < 2 {
		t.Errorf("the parent got %d readies, want the shim to re-send", n)
	}
}

func TestBrowserClientDestroyRejectsPendingWithDestroyed(t *testing.T) {
	e := newBridgeEnv(t)
	e.navigate(e.helpdesk + "/silent.html")
	hostEval[bool](e, `document.getElementById("app").src = `+jsValue(t, e.app("std", "app.html"))+", true")
	e.waitApp("app.html", "window.HelpdeskApps !== undefined")

	o := appEval[promiseOutcome](e, "app.html", jsSettle(`(() => { const p = HelpdeskApps.getUser({timeout: 10000}); HelpdeskApps.destroy(); return p; })()`))
	if o.OK || o.Code != "DESTROYED" || o.Ms > 1000 {
		t.Errorf("a pending getUser() after destroy() = %+v, want code DESTROYED at once", o)
	}
	if o := appEval[promiseOutcome](e, "app.html", jsSettle("HelpdeskApps.getTicket()")); o.Code != "DESTROYED" {
		t.Errorf("getTicket() after destroy() = %+v, want DESTROYED", o)
	}
	// Its listener is gone: a host message no longer reaches it.
	hostEval[bool](e, `reply("helpdesk:context:app", {appId: "app-late", mode: "popup"}, `+jsValue(t, e.apps)+"), true")
	e.waitApp("app.html", `R.got.some(m => m.event === "helpdesk:context:app")`)
	if id := appEval[any](e, "app.html", "HelpdeskApps.appId"); id != nil {
		t.Errorf("a destroyed shim still handled a message: appId = %v", id)
	}
	// Its timers are gone: no more readies.
	n := hostEval[int](e, `got.filter(m => m.data.event === "helpdesk:app:ready").length`)
	time.Sleep(900 * time.Millisecond)
	if m := hostEval[int](e, `got.filter(m => m.data.event === "helpdesk:app:ready").length`); m != n {
		t.Errorf("a destroyed shim sent %d more readies", m-n)
	}
}

func TestBrowserShimDoesNothingWhenNotFramed(t *testing.T) {
	e := newBridgeEnv(t)
	// Same-origin deployment (origins "self"): a message the shim posted to
	// window.parent, which is the page itself, would be delivered and seen.
	e.navigate(e.helpdesk + "/apps/same/app.html")
	e.waitHost("window.R !== undefined && window.HelpdeskApps !== undefined && document.readyState === 'complete'")
	time.Sleep(300 * time.Millisecond)
	if got := hostEval[[]bridgeMessage](e, "R.got"); len(got) != 0 {
		t.Errorf("a top-level page got protocol messages: %+v", got)
	}
	for _, call := range []string{"HelpdeskApps.getUser()", "HelpdeskApps.getTicket()", "HelpdeskApps.ready()"} {
		if o := hostEval[promiseOutcome](e, jsSettle(call)); o.OK || o.Code != "NOT_FRAMED" {
			t.Errorf("%s in a top-level page = %+v, want code NOT_FRAMED", call, o)
		}
	}
	if framed := hostEval[bool](e, `HelpdeskApps.resize(1, 2); HelpdeskApps.fullscreen(true); HelpdeskApps.autoResize(true); HelpdeskApps.framed`); framed {
		t.Errorf("HelpdeskApps.framed = true in a top-level page")
	}
	time.Sleep(100 * time.Millisecond)
	if got := hostEval[[]bridgeMessage](e, "R.got"); len(got) != 0 {
		t.Errorf("API calls in a top-level page posted messages: %+v", got)
	}
}
