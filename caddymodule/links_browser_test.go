package caddymodule

// Browser tests of link rewriting (rewrite_links on): legacy tools that
// believe they own "/" (testdata/legacy, served by legacyTool) run in an
// iframe of a Helpdesk page, through the real gateway, in headless
// Chromium. Every request the tab makes is recorded from the DevTools
// protocol, and none may leave the app's path. They share the browser and
// the helpers of browser_test.go: they skip without Chromium, and fail
// instead when HELPDESK_BROWSER_TESTS=required.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"html"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"golang.org/x/net/websocket"
)

const (
	// linksTestTimeout bounds each test: a whole tool session is longer
	// than one bridge exchange.
	linksTestTimeout = 60 * time.Second
	// linksWaitTimeout bounds each wait for a condition in a page.
	linksWaitTimeout = 10 * time.Second

	// legacyCSP is the tools' policy, helmet-like: the gateway must change
	// its frame-ancestors only, and its shim must run as a same-origin
	// script under script-src 'self'.
	legacyCSP = "default-src 'self'; base-uri 'self'; form-action 'self'; img-src 'self' data:; " +
		"object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self'; " +
		"connect-src 'self'; frame-ancestors 'self'"
)

// ---- The legacy tool -------------------------------------------------------

// legacyTool is a small tool that believes it owns "/", the way old tools
// do: root-relative URLs everywhere, absolute URLs built from the Host
// header, a login that sets a Path=/ cookie and redirects, an API, an
// event stream and a WebSocket echo, gzip'd HTML and CSS, and a helmet-like
// policy. Pages and assets come from testdata/legacy.
type legacyTool struct {
	*httptest.Server
	dir  string
	quit chan struct{}

	mu   sync.Mutex
	reqs []legacyRequest
}

// legacyUserPattern is the user names the tool accepts.
var legacyUserPattern = regexp.MustCompile(`^[a-z]{1,20}$`)

// legacyRequest is what the tool saw of one request.
type legacyRequest struct {
	Method string
	Path   string
	Host   string
	// Prefix is the X-Forwarded-Prefix header.
	Prefix string
	// SID and Theme are the values of the sid and theme cookies.
	SID, Theme string
	// Encoding is the Content-Encoding the tool answered with.
	Encoding string
}

func newLegacyTool(t *testing.T) *legacyTool {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "testdata", "legacy"))
	if err != nil {
		t.Fatal(err)
	}
	lt := &legacyTool{dir: dir, quit: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		// An absolute redirect built from the Host header.
		target := "/login"
		if lt.user(r) != "" {
			target = "/dashboard"
		}
		http.Redirect(w, r, "http://"+r.Host+target, http.StatusFound)
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		lt.page(w, r, "login.html", "")
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.PostFormValue("user")
		if !legacyUserPattern.MatchString(user) {
			http.Error(w, "bad user", http.StatusBadRequest)
			return
		}
		w.Header().Add("Set-Cookie", "sid=sid-"+user+"; Path=/; HttpOnly; SameSite=Lax")
		http.Redirect(w, r, "/dashboard", http.StatusFound)
	})
	dashboard := func(w http.ResponseWriter, r *http.Request) {
		user := lt.user(r)
		if user == "" {
			http.Redirect(w, r, "/login", http.StatusFound)
			return
		}
		lt.page(w, r, "dashboard.html", user)
	}
	mux.HandleFunc("GET /dashboard", dashboard)
	mux.HandleFunc("GET /dashboard/{n}", dashboard)
	mux.HandleFunc("GET /about", func(w http.ResponseWriter, r *http.Request) {
		lt.page(w, r, "about.html", "")
	})
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "sid=; Path=/; Max-Age=0")
		http.Redirect(w, r, "/login", http.StatusFound)
	})
	mux.HandleFunc("GET /api/items", func(w http.ResponseWriter, r *http.Request) {
		if lt.user(r) == "" {
			http.Error(w, `{"error":"no session"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`["alpha","beta"]`))
	})
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		user := lt.user(r)
		if user == "" {
			http.Error(w, `{"error":"no session"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"user": user})
	})
	mux.HandleFunc("POST /api/beacon", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /probe/{what}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /events", lt.events)
	mux.Handle("GET /ws", websocket.Server{
		Handshake: func(*websocket.Config, *http.Request) error { return nil },
		Handler:   lt.echo,
	})
	mux.HandleFunc("GET /static/{file}", lt.static)

	lt.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := lt.record(r)
		w.Header().Set("Content-Security-Policy", legacyCSP)
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		w.Header().Set("Cache-Control", "no-store")
		mux.ServeHTTP(w, r)
		if r.URL.Path != "/ws" {
			lt.mu.Lock()
			lt.reqs[i].Encoding = w.Header().Get("Content-Encoding")
			lt.mu.Unlock()
		}
	}))
	t.Cleanup(lt.Close)
	// Cleanups run last first: streams end before Close waits for them.
	t.Cleanup(func() { close(lt.quit) })
	return lt
}

func (lt *legacyTool) record(r *http.Request) int {
	var sid, theme string
	if c, err := r.Cookie("sid"); err == nil {
		sid = c.Value
	}
	if c, err := r.Cookie("theme"); err == nil {
		theme = c.Value
	}
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lt.reqs = append(lt.reqs, legacyRequest{
		Method: r.Method, Path: r.URL.Path, Host: r.Host, Prefix: r.Header.Get("X-Forwarded-Prefix"),
		SID: sid, Theme: theme,
	})
	return len(lt.reqs) - 1
}

// requests returns what the tool has seen so far.
func (lt *legacyTool) requests() []legacyRequest {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return slices.Clone(lt.reqs)
}

// user is the logged-in user of r, from its sid cookie.
func (lt *legacyTool) user(r *http.Request) string {
	c, err := r.Cookie("sid")
	if err != nil {
		return ""
	}
	user, ok := strings.CutPrefix(c.Value, "sid-")
	if !ok {
		return ""
	}
	return user
}

// page serves one of the tool's HTML pages, with the Host header and the
// user filled in, gzip'd when the client accepts it.
func (lt *legacyTool) page(w http.ResponseWriter, r *http.Request, name, user string) {
	b, err := os.ReadFile(filepath.Join(lt.dir, name))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b = []byte(strings.NewReplacer("{{HOST}}", html.EscapeString(r.Host), "{{USER}}", html.EscapeString(user)).Replace(string(b)))
	lt.write(w, r, "text/html; charset=utf-8", b, true)
}

// static serves testdata/legacy/static; CSS is gzip'd when the client
// accepts it.
func (lt *legacyTool) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := os.ReadFile(filepath.Join(lt.dir, "static", filepath.Base(name)))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	lt.write(w, r, ctype, b, path.Ext(name) == ".css")
}

func (lt *legacyTool) write(w http.ResponseWriter, r *http.Request, ctype string, b []byte, compress bool) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Vary", "Accept-Encoding")
	if compress && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(b)
		_ = zw.Close()
		b = buf.Bytes()
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	_, _ = w.Write(b)
}

// events is a server-sent event stream: one message, then it stays open.
func (lt *legacyTool) events(w http.ResponseWriter, r *http.Request) {
	user := lt.user(r)
	if user == "" {
		http.Error(w, "no session", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprintf(w, "retry: 60000\ndata: hello %s\n\n", user)
	_ = http.NewResponseController(w).Flush()
	select {
	case <-r.Context().Done():
	case <-lt.quit:
	case <-time.After(15 * time.Second):
	}
}

// echo answers each WebSocket message with "echo: " and the message.
func (lt *legacyTool) echo(ws *websocket.Conn) {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-lt.quit:
			_ = ws.Close()
		case <-done:
		}
	}()
	defer ws.Close()
	for {
		var msg string
		if err := websocket.Message.Receive(ws, &msg); err != nil {
			return
		}
		if err := websocket.Message.Send(ws, "echo: "+msg); err != nil {
			return
		}
	}
}

// ---- The world -------------------------------------------------------------

// linksCaddyfile: a Helpdesk origin serving testdata/browser (host.html),
// and the apps origin, where the tool is mounted three times: legacy (`to`,
// so the tool sees its own address as Host), legacy-rp (a reverse_proxy
// block, which passes the gateway's Host on) and plain (rewrite_links off).
const linksCaddyfile = `
http://127.0.0.1:%[1]s {
	bind 127.0.0.1
	helpdesk_apps /apps {
		frame_ancestors 'self'
		session {
			cookie hd_session
			hmac_secret %[3]s
			issuer https://helpdesk.test
			audience helpdesk-apps
		}
		app same {
			to %[4]s
		}
	}
	root * "%[5]s"
	file_server
}

http://127.0.0.1:%[2]s {
	bind 127.0.0.1
	helpdesk_apps /apps {
		frame_ancestors http://127.0.0.1:%[1]s
		session {
			cookie hd_session
			hmac_secret %[3]s
			issuer https://helpdesk.test
			audience helpdesk-apps
		}
		app legacy {
			rewrite_links on
			to %[4]s
		}
		app legacy-rp {
			rewrite_links on
			reverse_proxy %[4]s
		}
		app plain {
			rewrite_links off
			to %[4]s
		}
	}
}
`

// linksEnv is one test's world: the bridge tests' environment (a tab, the
// Helpdesk and apps origins), the tool, and the tab's network log.
type linksEnv struct {
	*bridgeEnv
	tool *legacyTool
	net  *networkLog
}

func newLinksEnv(t *testing.T) *linksEnv {
	t.Helper()
	bctx := browserContext(t)
	root := browserTestdata(t)
	tool := newLegacyTool(t)
	ports := distinctPorts(t, 2)
	startCaddyfile(t, fmt.Sprintf(linksCaddyfile, ports[0], ports[1], testSecret,
		strings.TrimPrefix(tool.URL, "http://"), root))
	netlog := newNetworkLog()
	e := openTab(t, bctx, ports, linksTestTimeout, netlog.listen)
	return &linksEnv{bridgeEnv: e, tool: tool, net: netlog}
}

// networkLog records, from the tab's events, every request of every frame
// (EventSource streams included), every WebSocket, and loads the browser
// blocked.
type networkLog struct {
	mu       sync.Mutex
	reqs     []loggedRequest
	byID     map[network.RequestID]int
	sockets  []string
	blocked  []string
	security []string
}

// loggedRequest is one request, or one hop of a redirect chain.
type loggedRequest struct {
	URL    string
	Method string
	Type   string
	Frame  cdp.FrameID
	Status int64
}

func newNetworkLog() *networkLog {
	return &networkLog{byID: make(map[network.RequestID]int)}
}

// listen runs in the tab's event loop: it must return fast and run no command.
func (l *networkLog) listen(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if ev.Request == nil {
			return
		}
		if ev.RedirectResponse != nil {
			if i, ok := l.byID[ev.RequestID]; ok {
				l.reqs[i].Status = ev.RedirectResponse.Status
			}
		}
		l.reqs = append(l.reqs, loggedRequest{URL: ev.Request.URL, Method: ev.Request.Method, Type: string(ev.Type), Frame: ev.FrameID})
		l.byID[ev.RequestID] = len(l.reqs) - 1
	case *network.EventResponseReceived:
		if i, ok := l.byID[ev.RequestID]; ok && ev.Response != nil {
			l.reqs[i].Status = ev.Response.Status
		}
	case *network.EventLoadingFailed:
		if ev.BlockedReason != "" {
			u := "?"
			if i, ok := l.byID[ev.RequestID]; ok {
				u = l.reqs[i].URL
			}
			l.blocked = append(l.blocked, fmt.Sprintf("%s blocked (%s)", u, ev.BlockedReason))
		}
	case *network.EventWebSocketCreated:
		l.sockets = append(l.sockets, ev.URL)
	case *log.EventEntryAdded:
		if ev.Entry != nil && (ev.Entry.Source == log.EntrySourceSecurity || strings.Contains(ev.Entry.Text, "Content Security Policy")) {
			l.security = append(l.security, ev.Entry.Text)
		}
	}
}

func (l *networkLog) snapshot() (reqs []loggedRequest, sockets, blocked, security []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs), slices.Clone(l.sockets), slices.Clone(l.blocked), slices.Clone(l.security)
}

// status returns the last status seen for url, 0 when none.
func (l *networkLog) status(u string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.reqs) - 1; i >= 0; i-- {
		if l.reqs[i].URL == u && l.reqs[i].Status != 0 {
			return l.reqs[i].Status
		}
	}
	return 0
}

// escapes lists the requests and WebSockets of the tab that left app id's
// path: to the apps origin outside /apps/<id>/ and /apps/_bridge/ (outside
// /apps/ when id is ""), or to any origin but the apps' and the Helpdesk's
// (the host page's).
func (e *linksEnv) escapes(id string) []string {
	reqs, sockets, _, _ := e.net.snapshot()
	var out []string
	check := func(kind, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			out = append(out, kind+" "+raw+" (unparsable)")
			return
		}
		scheme := u.Scheme
		switch scheme {
		case "ws":
			scheme = "http"
		case "wss":
			scheme = "https"
		case "http", "https":
		default:
			return // data:, blob:, about:
		}
		origin := scheme + "://" + u.Host
		p := u.EscapedPath()
		switch {
		case origin == e.helpdesk:
		case origin == e.apps:
			under := "/apps/" + id + "/"
			if id == "" {
				under = "/apps/" // any app: for failure messages
			}
			if !strings.HasPrefix(p, under) && p != strings.TrimSuffix(under, "/") && !strings.HasPrefix(p, "/apps/_bridge/") {
				out = append(out, kind+" "+raw)
			}
		default:
			out = append(out, kind+" "+raw+" (another origin)")
		}
	}
	for _, r := range reqs {
		check(r.Method+" "+r.Type, r.URL)
	}
	for _, s := range sockets {
		check("WebSocket", s)
	}
	return out
}

// requested reports whether the tab requested u (of the given type, when
// not empty).
func (e *linksEnv) requested(u, typ string) bool {
	reqs, _, _, _ := e.net.snapshot()
	for _, r := range reqs {
		if r.URL == u && (typ == "" || r.Type == typ) {
			return true
		}
	}
	return false
}

// waitFor waits until cond is true in the frame whose URL contains part;
// on time-out it fails with the value of state, evaluated there.
func (e *linksEnv) waitFor(part, cond, state string) {
	e.t.Helper()
	e.waitWithin(linksWaitTimeout, part, cond, state)
}

// waitWithin is waitFor with a time limit of its own; on time-out the
// failure also shows what the network log holds.
func (e *linksEnv) waitWithin(limit time.Duration, part, cond, state string) {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if where := e.frame(part); where != nil {
			if raw, err := e.evalRaw(where, jsCondition(cond)); err == nil && string(raw) == "true" {
				return
			}
		}
		if time.Now().After(deadline) || e.ctx.Err() != nil {
			got := "(no such frame)"
			if where := e.frame(part); where != nil {
				raw, err := e.evalRaw(where, "JSON.stringify("+state+")")
				got = string(raw)
				if err != nil {
					got = err.Error()
				}
			}
			reqs, sockets, blocked, _ := e.net.snapshot()
			var log []string
			for _, r := range reqs {
				log = append(log, fmt.Sprintf("%s %s %s → %d", r.Method, r.Type, r.URL, r.Status))
			}
			e.t.Fatalf("waiting in frame %s for %s: timed out\nstate: %s\nescaped requests: %v\nframes: %s\nrequests:\n\t%s\nWebSockets: %v\nblocked: %v",
				part, cond, got, e.escapes(""), e.frameURLs(), strings.Join(log, "\n\t"), sockets, blocked)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// frameURLs lists the URLs of the tab's frames, for failure messages.
func (e *linksEnv) frameURLs() string {
	raw, err := e.evalRaw(nil, `JSON.stringify([location.href].concat(Array.from(document.querySelectorAll("iframe"), f => f.src)))`)
	if err != nil {
		return err.Error()
	}
	return string(raw)
}

// cookies returns the browser's cookies for u, by name and path.
func (e *linksEnv) cookies(u string) map[string]string {
	e.t.Helper()
	out := make(map[string]string)
	for _, c := range e.browserCookies(u) {
		out[c.Name] = c.Path
	}
	return out
}

// checkNetwork fails the test for every request that escaped app id's
// path, every blocked load and every policy violation.
func (e *linksEnv) checkNetwork(id string) {
	e.t.Helper()
	reqs, _, blocked, security := e.net.snapshot()
	if len(reqs) == 0 {
		e.t.Fatalf("the network log is empty: the recorder saw nothing")
	}
	if esc := e.escapes(id); len(esc) > 0 {
		e.t.Errorf("%d requests escaped /apps/%s/:\n\t%s", len(esc), id, strings.Join(esc, "\n\t"))
	}
	if len(blocked) > 0 {
		e.t.Errorf("the browser blocked loads:\n\t%s", strings.Join(blocked, "\n\t"))
	}
	if len(security) > 0 {
		e.t.Errorf("security messages in the pages:\n\t%s", strings.Join(security, "\n\t"))
	}
}

// ---- Tests -------------------------------------------------------------------

func TestLinksLegacyToolStaysUnderItsPrefix(t *testing.T) {
	for _, tc := range []struct {
		name, id string
		// gatewayHost: the tool sees the gateway's Host (reverse_proxy)
		// rather than its own (to).
		gatewayHost bool
	}{
		{"to", "legacy", false},
		{"reverse_proxy", "legacy-rp", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newLinksEnv(t)
			runLegacySession(t, e, tc.id, tc.gatewayHost)
		})
	}
}

// legacyState is what the tests read of a tool's page.
const legacyState = `({
	url: location.href,
	appJS: document.documentElement.dataset.appJs || null,
	hostJS: document.documentElement.dataset.hostJs || null,
	logo: document.getElementById("logo") ? document.getElementById("logo").naturalWidth : null,
	bg: getComputedStyle(document.body).backgroundImage,
	h1: document.querySelector("h1") ? getComputedStyle(document.querySelector("h1")).color : null,
	items: document.getElementById("items") ? document.getElementById("items").textContent : null,
	me: document.getElementById("me") ? document.getElementById("me").textContent : null,
	sse: document.getElementById("sse") ? document.getElementById("sse").textContent : null,
	ws: document.getElementById("ws") ? document.getElementById("ws").textContent : null,
	about: document.getElementById("about") ? document.getElementById("about").getAttribute("href") : null,
	late: document.getElementById("late-img") ? [document.getElementById("late-img").getAttribute("src"), document.getElementById("late-img").naturalWidth] : null,
	shim: window.HelpdeskApps ? HelpdeskApps.config : null,
	connected: window.HelpdeskApps ? HelpdeskApps.connected : null,
})`

// runLegacySession goes through a whole session of the tool mounted as id:
// the login redirect, the login form, the dashboard's calls, and a logout
// by assignment to location; then it checks what the network log, the
// cookie jar and the tool saw.
func runLegacySession(t *testing.T, e *linksEnv, id string, gatewayHost bool) {
	prefix := "/apps/" + id
	e.mount(mountOptions{App: id, Src: e.apps + prefix + "/", Mode: "embed", Placement: "main_menu"})

	// "/" redirects to http://<Host>/login: the login page, with its
	// stylesheet (and its @import and background image), scripts (one by
	// an absolute URL built from Host) and logo.
	login := prefix + "/login"
	e.waitFor(login, `document.readyState === "complete" && HelpdeskApps.connected &&
		document.documentElement.dataset.appJs === "loaded" && document.documentElement.dataset.hostJs === "loaded" &&
		document.getElementById("logo").naturalWidth === 16 &&
		getComputedStyle(document.querySelector("h1")).color === "rgb(1, 2, 3)" &&
		getComputedStyle(document.body).backgroundImage.includes("`+prefix+`/static/bg.png")`, legacyState)
	bg := e.apps + prefix + "/static/bg.png"
	deadline := time.Now().Add(linksWaitTimeout)
	for e.net.status(bg) != http.StatusOK && time.Now().Before(deadline) {
		time.Sleep(25 * time.Millisecond)
	}
	if s := e.net.status(bg); s != http.StatusOK {
		t.Errorf("the CSS background %s: status %d, want 200", bg, s)
	}

	// Logging in: the form posts to /login, which sets a Path=/ cookie and
	// redirects to /dashboard, whose script calls the API with fetch and
	// XMLHttpRequest, opens an EventSource and a WebSocket on root-relative
	// URLs, pushes /dashboard/2, sets an anchor's href and inserts an image
	// with innerHTML.
	appEval[bool](e.bridgeEnv, login, `document.querySelector("#login button").click(), true`)
	dash := prefix + "/dashboard"
	e.waitFor(dash, `document.readyState === "complete" &&
		document.getElementById("welcome").textContent === "Welcome, ana" &&
		document.getElementById("items").textContent === "alpha,beta" &&
		document.getElementById("me").textContent === "ana" &&
		document.getElementById("sse").textContent === "hello ana" &&
		document.getElementById("ws").textContent === "echo: ping" &&
		location.pathname === "`+prefix+`/dashboard/2" &&
		document.getElementById("about").getAttribute("href") === "`+prefix+`/about" &&
		document.getElementById("late-img").getAttribute("src") === "`+prefix+`/static/logo.png" &&
		document.getElementById("late-img").naturalWidth === 16 &&
		document.documentElement.dataset.hostJs === "loaded"`, legacyState)
	if got := appEval[string](e.bridgeEnv, dash, `document.getElementById("about").href`); got != e.apps+prefix+"/about" {
		t.Errorf("the anchor's href, set in JavaScript: %s", got)
	}
	if !e.requested(e.apps+prefix+"/events", "EventSource") {
		t.Errorf("no EventSource request to %s/events was recorded", prefix)
	}

	// Cookies: the tool's sid (Set-Cookie, Path=/) and theme (document.cookie,
	// path=/) are both scoped to the app's path, and none is at the root.
	jar := e.cookies(e.apps + prefix + "/")
	if jar["sid"] != prefix+"/" || jar["theme"] != prefix+"/" {
		t.Errorf("cookies at %s/: %v; want sid and theme with path %s/", prefix, jar, prefix)
	}
	if root := e.cookies(e.apps + "/"); root["sid"] != "" || root["theme"] != "" {
		t.Errorf("cookies at the origin's root: %v; want no sid and no theme", root)
	}

	// Logging out by assigning to location.href a root-relative URL: the
	// navigation is redone under the prefix, /logout clears the cookie and
	// redirects to the login page.
	appEval[bool](e.bridgeEnv, dash, `document.getElementById("logout").click(), true`)
	e.waitFor(login, `document.readyState === "complete" && document.getElementById("login") !== null`, legacyState)
	if !e.requested(e.apps+prefix+"/logout", "Document") {
		t.Errorf("the logout did not request %s/logout", prefix)
	}
	if jar := e.cookies(e.apps + prefix + "/"); jar["sid"] != "" {
		t.Errorf("after logout the sid cookie is still there (path %s)", jar["sid"])
	}

	e.checkNetwork(id)

	// What the tool saw.
	wantHost := strings.TrimPrefix(e.tool.URL, "http://")
	if gatewayHost {
		wantHost = strings.TrimPrefix(e.apps, "http://")
	}
	var sawSID, sawTheme, gzHTML, gzCSS bool
	for _, r := range e.tool.requests() {
		if r.Prefix != prefix {
			t.Errorf("%s %s: X-Forwarded-Prefix %q, want %q", r.Method, r.Path, r.Prefix, prefix)
		}
		if r.Host != wantHost {
			t.Errorf("%s %s: Host %q, want %q", r.Method, r.Path, r.Host, wantHost)
		}
		if r.Path == "/api/items" && r.SID == "sid-ana" {
			sawSID = true
			sawTheme = sawTheme || r.Theme == "dark"
		}
		if r.Encoding == "gzip" {
			gzHTML = gzHTML || r.Path == "/login" || strings.HasPrefix(r.Path, "/dashboard")
			gzCSS = gzCSS || strings.HasSuffix(r.Path, ".css")
		}
	}
	if !sawSID || !sawTheme {
		t.Errorf("the API call carried the sid cookie: %v, the theme cookie: %v", sawSID, sawTheme)
	}
	if !gzHTML || !gzCSS {
		t.Errorf("the tool served gzip'd HTML: %v, gzip'd CSS: %v (the fixture must exercise compressed bodies)", gzHTML, gzCSS)
	}
}

// shimProbe checks, in a page of app legacy, each URL the shim moves (or
// leaves alone) and each API it patches; it returns the failures.
const shimProbe = `(async () => {
	const P = HelpdeskApps.config.prefix, H = location.host, O = location.origin;
	const bad = [];
	const show = (v) => typeof v === "string" ? JSON.stringify(v) : String(v);
	const eq = (name, got, want) => { if (got !== want) bad.push(name + ": got " + show(got) + ", want " + show(want)); };
	const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
	const until = async (name, f) => {
		for (let i = 0; i < 200; i++) { try { if (f()) return; } catch (e) {} await sleep(20); }
		bad.push(name + ": timed out");
	};
	const to = HelpdeskApps.toApp;

	// toApp: what moves.
	eq("config.root", HelpdeskApps.config.root, "/apps");
	eq("config.rewriteLinks", HelpdeskApps.config.rewriteLinks, true);
	eq("root-relative", to("/api/x?q=1#h"), P + "/api/x?q=1#h");
	eq("dot segments", to("/a/../../b"), P + "/b");
	eq("own origin", to(O + "/x?y#z"), O + P + "/x?y#z");
	eq("protocol-relative", to("//" + H + "/x"), O + P + "/x");
	eq("ws", to("ws://" + H + "/ws"), "ws://" + H + P + "/ws");
	eq("URL object", to(new URL("/x", location.href)), O + P + "/x");
	eq("relative, climbing out", to("../../x"), O + P + "/x");
	eq("a path that only starts like the root", to("/appsx"), P + "/appsx");
	eq("the root itself", to("/apps"), P + "/apps");
	// What stays, as the very same value.
	for (const v of ["", "api/x", "./x", "?q=1", "#h", P, P + "/", P + "/x", "/apps/_bridge/client.js",
			"/apps/other/x", "/apps/", "wss://" + H + "/ws", "https://" + H + "/x", "http://example.com/x",
			"data:text/plain,x", "javascript:void(0)", "about:blank", "mailto:a@example.com", "blob:" + O + "/0b4d"]) {
		if (to(v) !== v) bad.push("toApp(" + show(v) + ") = " + show(to(v)) + ", want it unchanged");
	}
	const kept = new URL(P + "/x", location.href);
	eq("an unchanged URL object is returned as is", to(kept), kept);
	const other = { toString() { return "/x"; } };
	eq("other objects are left alone", to(other), other);
	eq("non-strings are left alone", to(42), 42);

	// Element URL properties and attributes.
	const a = document.createElement("a");
	a.href = "/about"; eq("a.href =", a.getAttribute("href"), P + "/about");
	a.setAttribute("href", "/x"); eq("setAttribute", a.getAttribute("href"), P + "/x");
	a.setAttribute("HREF", "/y"); eq("setAttribute, upper case", a.getAttribute("href"), P + "/y");
	a.setAttributeNS(null, "href", "/z"); eq("setAttributeNS", a.getAttribute("href"), P + "/z");
	a.attributes.href.value = "/w"; eq("Attr.value", a.getAttribute("href"), P + "/w");
	a.href = P + "/kept"; eq("a.href under the prefix", a.getAttribute("href"), P + "/kept");
	const div = document.createElement("div");
	div.setAttribute("href", "/x"); eq("a div's href is no URL", div.getAttribute("href"), "/x");
	const span = document.createElement("span");
	span.setAttribute("data-src", "/x"); eq("data-src is no URL", span.getAttribute("data-src"), "/x");
	const img = document.createElement("img");
	img.src = "/static/logo.png"; eq("img.src", img.getAttribute("src"), P + "/static/logo.png");
	img.srcset = "/a.png 1x, " + P + "/b.png 2x,data:image/png;base64,AAAA 3x";
	eq("img.srcset", img.getAttribute("srcset"), P + "/a.png 1x, " + P + "/b.png 2x,data:image/png;base64,AAAA 3x");
	img.setAttribute("srcset", "/c.png 100w, /d.png 200w"); eq("srcset attribute", img.getAttribute("srcset"), P + "/c.png 100w, " + P + "/d.png 200w");
	const props = [["script", "src"], ["iframe", "src"], ["source", "src"], ["video", "src"], ["video", "poster"],
		["audio", "src"], ["track", "src"], ["embed", "src"], ["object", "data"], ["link", "href"], ["area", "href"],
		["form", "action"], ["input", "formAction"], ["button", "formAction"], ["input", "src"]];
	for (const [tag, prop] of props) {
		const el = document.createElement(tag);
		el[prop] = "/p/" + tag;
		eq(tag + "." + prop, el.getAttribute(prop.toLowerCase()), P + "/p/" + tag);
	}
	eq("new Audio()", new Audio("/static/none.ogg").getAttribute("src"), P + "/static/none.ogg");

	// Markup, fixed before any of it loads.
	const box = document.createElement("div");
	box.innerHTML = '<img src="/i.png"><a href="/a"></a><form action="/f"><button formaction="/b"></button></form><img srcset="/s.png 2x">';
	eq("innerHTML img", box.querySelector("img").getAttribute("src"), P + "/i.png");
	eq("innerHTML a", box.querySelector("a").getAttribute("href"), P + "/a");
	eq("innerHTML form", box.querySelector("form").getAttribute("action"), P + "/f");
	eq("innerHTML button", box.querySelector("button").getAttribute("formaction"), P + "/b");
	eq("innerHTML srcset", box.querySelectorAll("img")[1].getAttribute("srcset"), P + "/s.png 2x");
	box.insertAdjacentHTML("beforeend", '<a id="adj" href="/adj"></a>');
	eq("insertAdjacentHTML", box.querySelector("#adj").getAttribute("href"), P + "/adj");
	const inner = box.appendChild(document.createElement("span"));
	inner.outerHTML = '<a id="outer" href="/outer"></a>';
	eq("outerHTML", box.querySelector("#outer").getAttribute("href"), P + "/outer");
	const frag = document.createRange().createContextualFragment('<a href="/r"></a>');
	eq("createContextualFragment", frag.firstChild.getAttribute("href"), P + "/r");
	const tpl = document.createElement("template");
	tpl.innerHTML = '<a href="/t"></a>';
	eq("template innerHTML", tpl.content.firstChild.getAttribute("href"), P + "/t");
	// Nodes of another document are fixed as they come in.
	const parsed = new DOMParser().parseFromString('<a id="parsed" href="/parsed">x</a><img id="imported" src="/imported.png"><a id="adopted" href="/adopted">', "text/html");
	document.body.appendChild(parsed.getElementById("parsed"));
	eq("appendChild(a node of another document)", document.getElementById("parsed").getAttribute("href"), P + "/parsed");
	document.getElementById("parsed").remove();
	eq("importNode", document.importNode(parsed.getElementById("imported"), true).getAttribute("src"), P + "/imported.png");
	eq("adoptNode", document.adoptNode(parsed.getElementById("adopted")).getAttribute("href"), P + "/adopted");
	// An attribute change no patch sees is fixed by the observer.
	const late = document.body.appendChild(document.createElement("a"));
	late.setAttribute("href", P + "/ok");
	late.attributes.href.nodeValue = "/late";
	await until("an attribute set through nodeValue", () => late.getAttribute("href") === P + "/late");
	late.remove();

	// Constructors: same objects, statics, prototype, errors.
	eq("WebSocket.OPEN", WebSocket.OPEN, 1);
	eq("WebSocket.CLOSED", WebSocket.CLOSED, 3);
	eq("EventSource.CLOSED", EventSource.CLOSED, 2);
	eq("WebSocket.prototype.constructor", WebSocket.prototype.constructor, WebSocket);
	eq("WebSocket.name", WebSocket.name, "WebSocket");
	eq("WebSocket.length", WebSocket.length, 1);
	eq("WebSocket's parent", Object.getPrototypeOf(WebSocket), EventTarget);
	const ws = new WebSocket("/ws");
	eq("new WebSocket(root-relative).url", ws.url, "ws://" + H + P + "/ws");
	eq("instanceof WebSocket", ws instanceof WebSocket, true);
	eq("the native prototype", Object.getPrototypeOf(ws), WebSocket.prototype);
	eq("ws.constructor", ws.constructor, WebSocket);
	ws.close();
	class MySocket extends WebSocket { hello() { return "hi"; } }
	const mine = new MySocket("ws://" + H + "/ws");
	eq("subclass url", mine.url, "ws://" + H + P + "/ws");
	eq("subclass instance", mine instanceof MySocket && mine instanceof WebSocket && mine.hello() === "hi", true);
	mine.close();
	try { WebSocket("ws://" + H + "/ws"); bad.push("WebSocket() without new did not throw"); } catch (e) { eq("WebSocket() without new", e instanceof TypeError, true); }
	try { new WebSocket("ftp://example.com/"); bad.push("new WebSocket(ftp:) did not throw"); } catch (e) { eq("new WebSocket(ftp:)", e.name, "SyntaxError"); }
	const es = new EventSource("/events");
	eq("EventSource url", es.url, O + P + "/events");
	eq("instanceof EventSource", es instanceof EventSource, true);
	es.close();
	const worker = new Worker("/static/worker.js");
	const said = await new Promise((resolve) => { worker.onmessage = (m) => resolve(m.data); worker.onerror = () => resolve("error"); setTimeout(() => resolve("timeout"), 3000); });
	eq("Worker", said, "worker at " + P + "/static/worker.js");
	worker.terminate();

	// Network calls, with this, return values and errors of the originals.
	eq("fetch(root-relative)", (await fetch("/api/items")).url, O + P + "/api/items");
	eq("fetch(Request)", (await fetch(new Request("/api/items", { headers: { "X-Probe": "1" } }))).url, O + P + "/api/items");
	eq("fetch(URL)", (await fetch(new URL("/api/items", location.href))).url, O + P + "/api/items");
	eq("fetch(under the prefix)", (await fetch(P + "/api/items")).url, O + P + "/api/items");
	try { await fetch.call({}, "/api/items"); bad.push("fetch with a foreign this did not fail"); } catch (e) { eq("fetch with a foreign this", e instanceof TypeError, true); }
	const xhr = new XMLHttpRequest();
	xhr.open("GET", "/api/me");
	await new Promise((resolve) => { xhr.onloadend = resolve; xhr.send(); });
	eq("XMLHttpRequest", xhr.responseURL, O + P + "/api/me");
	eq("sendBeacon", navigator.sendBeacon("/api/beacon", "x"), true);

	// History.
	const before = location.href;
	history.replaceState(history.state, "", "/login?probe=1");
	eq("replaceState", location.pathname + location.search, P + "/login?probe=1");
	history.pushState(null, "", "/login?probe=2");
	eq("pushState", location.pathname + location.search, P + "/login?probe=2");
	history.replaceState(null, "", before);
	// window.open and form.submit(), into frames of the page: the gateway
	// lets only the Helpdesk frame app pages, so the test reads the
	// requests (answered 204) from the tool.
	const frame = (name) => { const f = document.createElement("iframe"); f.name = name; document.body.appendChild(f); return f; };
	frame("probe-open");
	frame("probe-submit");
	window.open("/probe/open", "probe-open");
	const form = document.createElement("form");
	form.method = "get";
	form.target = "probe-submit";
	const action = document.createAttribute("action");
	action.value = "/probe/submit";
	document.body.appendChild(form);
	form.setAttributeNode(action); // a path no patch sees: form.submit() must fix it
	form.submit();

	// document.cookie paths. (The shim drops Domain too, but on an IP
	// address Domain=<the host> is host-only anyway: not checked here.)
	document.cookie = "probe=1; path=/; domain=" + location.hostname;
	// cookieStore sees a cookie document.cookie just wrote a moment later,
	// now and then: ask again for up to a second.
	let c = null;
	for (let i = 0; i < 20 && !c; i++) {
		c = await cookieStore.get("probe");
		if (!c) await new Promise((r) => setTimeout(r, 50));
	}
	eq("document.cookie path", c && c.path, P + "/");
	document.cookie = "probe=; path=/; max-age=0";
	eq("document.cookie deletion", await cookieStore.get("probe"), null);

	return bad;
})()`

func TestLinksShimPatchesURLsBuiltInJavaScript(t *testing.T) {
	e := newLinksEnv(t)
	e.mount(mountOptions{App: "legacy", Src: e.apps + "/apps/legacy/login", Mode: "embed", Placement: "main_menu"})
	e.waitFor("/apps/legacy/login", `document.readyState === "complete" && HelpdeskApps.connected`, legacyState)
	if bad := appEval[[]string](e.bridgeEnv, "/apps/legacy/login", shimProbe); len(bad) > 0 {
		t.Errorf("%d checks failed:\n\t%s", len(bad), strings.Join(bad, "\n\t"))
	}
	// What the tool got: the calls the probe made, under the prefix.
	want := []string{"POST /api/beacon", "GET /static/worker.js", "GET /api/me", "GET /probe/open", "GET /probe/submit"}
	deadline := time.Now().Add(linksWaitTimeout)
	for {
		var missing []string
		for _, w := range want {
			if !slices.ContainsFunc(e.tool.requests(), func(r legacyRequest) bool {
				return r.Method+" "+r.Path == w && r.Prefix == "/apps/legacy"
			}) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the tool never got %v", missing)
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	e.checkNetwork("legacy")
}

// nativeProbe lists the APIs the shim patches, and those of them that are
// not native functions.
const nativeProbe = `(() => {
	const setter = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).set;
	const apis = {
		fetch: window.fetch, open: window.open, WebSocket, EventSource, Worker, Audio,
		"XMLHttpRequest.open": XMLHttpRequest.prototype.open,
		"sendBeacon": Navigator.prototype.sendBeacon,
		"pushState": History.prototype.pushState, "replaceState": History.prototype.replaceState,
		"form.submit": HTMLFormElement.prototype.submit, "form.requestSubmit": HTMLFormElement.prototype.requestSubmit,
		"setAttribute": Element.prototype.setAttribute, "setAttributeNS": Element.prototype.setAttributeNS,
		"insertAdjacentHTML": Element.prototype.insertAdjacentHTML,
		"createContextualFragment": Range.prototype.createContextualFragment,
		"appendChild": Node.prototype.appendChild, "append": Element.prototype.append,
		"importNode": Document.prototype.importNode, "adoptNode": Document.prototype.adoptNode,
		"serviceWorker.register": ServiceWorkerContainer.prototype.register,
		"a.href": setter(HTMLAnchorElement.prototype, "href"), "img.src": setter(HTMLImageElement.prototype, "src"),
		"form.action": setter(HTMLFormElement.prototype, "action"), "media.src": setter(HTMLMediaElement.prototype, "src"),
		"Attr.value": setter(Attr.prototype, "value"), "innerHTML": setter(Element.prototype, "innerHTML"),
		"outerHTML": setter(Element.prototype, "outerHTML"), "document.cookie": setter(Document.prototype, "cookie"),
	};
	const all = Object.keys(apis);
	return {all, patched: all.filter((k) => !Function.prototype.toString.call(apis[k]).includes("[native code]"))};
})()`

// nativeReport is nativeProbe's value.
type nativeReport struct {
	All     []string `json:"all"`
	Patched []string `json:"patched"`
}

func TestLinksOffPatchesNothing(t *testing.T) {
	e := newLinksEnv(t)
	e.mount(mountOptions{App: "plain", Src: e.apps + "/apps/plain/login", Mode: "embed", Placement: "main_menu"})
	e.waitFor("/apps/plain/login", `document.readyState === "complete" && HelpdeskApps.connected`, legacyState)
	if r := appEval[nativeReport](e.bridgeEnv, "/apps/plain/login", nativeProbe); len(r.Patched) > 0 || len(r.All) == 0 {
		t.Errorf("with rewrite_links off, these are not native: %v", r.Patched)
	}
	got := appEval[map[string]any](e.bridgeEnv, "/apps/plain/login", `({
		fetchNative: fetch.toString().includes("[native code]"),
		rewriteLinks: HelpdeskApps.config.rewriteLinks,
		prefix: HelpdeskApps.config.prefix,
		toApp: HelpdeskApps.toApp("/x"),
		attr: document.querySelector("script[data-helpdesk-origins]").hasAttribute("data-rewrite-links"),
	})`)
	want := map[string]any{"fetchNative": true, "rewriteLinks": false, "prefix": nil, "toApp": "/x", "attr": false}
	if !sameJSON(t, got, want) {
		t.Errorf("with rewrite_links off: %v, want %v", got, want)
	}

	// With it on, the same page is patched, framed or not.
	e.navigate(e.apps + "/apps/legacy/login")
	if r := hostEval[nativeReport](e.bridgeEnv, nativeProbe); !slices.Equal(r.All, r.Patched) {
		t.Errorf("with rewrite_links on, in a page that is not framed, only %v of %v are patched", r.Patched, r.All)
	}
}
