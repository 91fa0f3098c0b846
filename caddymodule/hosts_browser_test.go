package caddymodule

// Browser tests of apps on hosts of their own (DESIGN.md §8, deployment 3),
// judged by what Chromium does: the Helpdesk at helpdesk.localhost, each
// app at <id>.apps.helpdesk.localhost, all one Caddy site on one port.
// Chromium resolves every *.localhost name to loopback by itself and treats
// those origins as secure contexts, so Secure and __Host- cookies work over
// plain http here as they do over https in production.

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

const (
	// hostsBrowserDomain is the Helpdesk's host and the parent domain of
	// the apps' hosts pattern, *.apps.helpdesk.localhost.
	hostsBrowserDomain = "helpdesk.localhost"
	// hostsTestTimeout bounds each test of this file: each loads a dozen
	// pages and checks the cookie jar many times.
	hostsTestTimeout = 60 * time.Second
)

// hostsBrowserCaddyfile is one site for everything: the gateway serves
// spa, alpha and beta on their hosts and spaprefixed under /apps/ of
// any other host, and the Helpdesk's pages (host.html) come from
// testdata/browser for the hosts that are not the apps'.
const hostsBrowserCaddyfile = `
http://:%[1]s {
	bind 127.0.0.1
	helpdesk_apps /apps {
		hosts *.apps.helpdesk.localhost
		frame_ancestors http://helpdesk.localhost:%[1]s
		session {
			cookie hd_session
			hmac_secret %[2]s
			issuer https://helpdesk.test
			audience helpdesk-apps
		}
		app spa {
			to %[3]s
		}
		app spaprefixed {
			mount prefix
			to %[3]s
		}
		app alpha {
			to %[4]s
		}
		app beta {
			to %[5]s
		}
	}
	root * "%[6]s"
	file_server
}
`

// hostsEnv is one test's world: a tab in a browser context of its own,
// the gateway, the single-page tool and two plain upstreams.
type hostsEnv struct {
	*bridgeEnv
	spa         *spaTool
	alpha, beta *upstream
	setCookies  *setCookieLog
	// ana is the session token of the signed-in user, u-1.
	ana string
	// marks counts scriptCookies' markers.
	marks int
}

func newHostsEnv(t *testing.T) *hostsEnv {
	t.Helper()
	bctx := browserContext(t)
	// Cookies ignore ports: a browser context of its own keeps this test's
	// cookies for helpdesk.localhost from other tests and earlier runs, and
	// theirs from it. Registered first, it is disposed of last.
	own, closeOwn := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	t.Cleanup(closeOwn)
	if err := chromedp.Do(own); err != nil {
		t.Fatalf("opening a browser context: %v", err)
	}
	e := &hostsEnv{spa: newSPATool(t), alpha: newUpstream(t), beta: newUpstream(t), setCookies: newSetCookieLog()}
	port := distinctPorts(t, 1)[0]
	startCaddyfile(t, fmt.Sprintf(hostsBrowserCaddyfile, port, testSecret,
		e.spa.hostport(), e.alpha.hostport(), e.beta.hostport(), browserTestdata(t)))
	// openTab's own session cookie is for 127.0.0.1, which no page here uses.
	e.bridgeEnv = openTab(t, own, []string{port, port}, hostsTestTimeout, e.setCookies.listen)
	e.helpdesk = "http://" + hostsBrowserDomain + ":" + port
	e.apps = e.helpdesk // apps under the prefix are on the Helpdesk's host
	e.ana = token(t, agent("agent", 3))
	e.setSession(e.ana)
	return e
}

// setSession gives the browser the Helpdesk's session cookie as a real
// same-site deployment sets it: for the parent domain, so that it reaches
// every app host, and HttpOnly, Secure and Lax. HttpOnly is what keeps the
// apps' scripts from reading the token, and from overwriting it with
// another user's (same name, domain and path), which the gateway could not
// tell from the real one.
func (e *hostsEnv) setSession(tok string) {
	e.t.Helper()
	yes := true
	if _, err := chromedp.Call(e.ctx, network.SetCookie, network.SetCookieParams{
		Name: "hd_session", Value: tok,
		// With the leading dot a domain cookie; without it CDP stores
		// one for helpdesk.localhost only, which no app host receives.
		Domain: "." + hostsBrowserDomain, Path: "/",
		Secure: &yes, HTTPOnly: &yes, SameSite: network.CookieSameSiteLax,
	}); err != nil {
		e.t.Fatalf("setting the session cookie: %v", err)
	}
}

// host is the host name of app id; origin its origin.
func (e *hostsEnv) host(id string) string   { return id + ".apps." + hostsBrowserDomain }
func (e *hostsEnv) origin(id string) string { return "http://" + e.host(id) + ":" + e.port }

// scriptCookies has the page of app id assign each of cookies to
// document.cookie, then waits until the browser's cookie store has handled
// them, stored or refused. A page's cookie writes reach the store
// asynchronously but in order: once a marker written after them is
// stored, they have been handled, and any request sees their outcome.
func (e *hostsEnv) scriptCookies(id string, cookies ...string) {
	e.t.Helper()
	e.marks++
	mark := strconv.Itoa(e.marks)
	// Its own path keeps the marker out of every other check.
	var b strings.Builder
	for _, c := range append(cookies, "mark="+mark+"; path=/.mark") {
		b.WriteString("document.cookie = " + jsValue(e.t, c) + "; ")
	}
	b.WriteString("true")
	appEval[bool](e.bridgeEnv, e.host(id), b.String())
	e.eventually("the cookie store to take "+id+"'s cookies", func() bool {
		return slices.Equal(e.cookieValues(e.origin(id)+"/.mark", "mark"), []string{mark})
	})
}

// cookies returns the browser's cookies named name that it would send to u.
func (e *hostsEnv) cookies(u, name string) []*network.Cookie {
	e.t.Helper()
	var out []*network.Cookie
	for _, c := range e.browserCookies(u) {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// cookieValues returns the values of the cookies named name that the
// browser would send to u, sorted.
func (e *hostsEnv) cookieValues(u, name string) []string {
	e.t.Helper()
	var out []string
	for _, c := range e.cookies(u, name) {
		out = append(out, c.Value)
	}
	slices.Sort(out)
	return out
}

// cookieNames returns the names of the cookies the browser would send to
// u, sorted.
func (e *hostsEnv) cookieNames(u string) []string {
	e.t.Helper()
	var out []string
	for _, c := range e.browserCookies(u) {
		out = append(out, c.Name)
	}
	slices.Sort(out)
	return out
}

// eventually waits until cond holds, failing the test after
// bridgeWaitTimeout with what it waited for.
func (e *hostsEnv) eventually(what string, cond func() bool) {
	e.t.Helper()
	for deadline := time.Now().Add(bridgeWaitTimeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) || e.ctx.Err() != nil {
			e.t.Fatalf("waiting for %s: timed out", what)
		}
	}
}

// setCookieLog records, from the tab's events, the Set-Cookie lines the
// browser refused to store, with its reasons, by response URL.
type setCookieLog struct {
	mu      sync.Mutex
	urls    map[network.RequestID]string
	refused map[network.RequestID][]string
}

func newSetCookieLog() *setCookieLog {
	return &setCookieLog{urls: make(map[network.RequestID]string), refused: make(map[network.RequestID][]string)}
}

// listen runs in the tab's event loop: it must return fast and run no command.
func (l *setCookieLog) listen(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if ev.Request != nil {
			l.urls[ev.RequestID] = ev.Request.URL
		}
	case *network.EventResponseReceivedExtraInfo:
		for _, b := range ev.BlockedCookies {
			reasons := make([]string, len(b.BlockedReasons))
			for i, r := range b.BlockedReasons {
				reasons[i] = string(r)
			}
			l.refused[ev.RequestID] = append(l.refused[ev.RequestID], b.CookieLine+" ["+strings.Join(reasons, " ")+"]")
		}
	}
}

// refusedFor returns the refused lines of the responses for URLs that
// begin with prefix, each with its reasons in brackets.
func (l *setCookieLog) refusedFor(prefix string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for id, lines := range l.refused {
		if strings.HasPrefix(l.urls[id], prefix) {
			out = append(out, lines...)
		}
	}
	slices.Sort(out)
	return out
}

// seenBy returns a copy of what u has recorded.
func seenBy(u *upstream) []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.reqs)
}

// ---- A single-page tool that owns "/" -------------------------------------

// spaTool is a single-page application built the way many tools' UIs are
// (a package registry's, a CI server's): every path that is not an asset
// or the API gets the same HTML shell, whose inline JSON gives the client
// router its basename and the API's base URL. That URL, and the script's,
// are absolute, built from the request's Host. The tool's own session is a
// __Host- cookie the shell sets; its API answers 401 without it.
type spaTool struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []seen
	issued map[string]bool
}

func newSPATool(t *testing.T) *spaTool {
	t.Helper()
	s := &spaTool{issued: make(map[string]bool)}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

func (s *spaTool) hostport() string { return strings.TrimPrefix(s.URL, "http://") }

func (s *spaTool) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, seen{r.Method, r.URL.Path, r.URL.RawPath, r.RequestURI, r.Host, r.Header.Clone()})
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	switch r.URL.Path {
	case "/assets/app.js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = io.WriteString(w, spaScript)
	case "/api/whoami":
		c, err := r.Cookie("__Host-spa")
		s.mu.Lock()
		ok := err == nil && s.issued[c.Value]
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"sign in"}`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"user": r.Header.Get("X-Helpdesk-User-Id")})
	default:
		s.mu.Lock()
		sid := "sid-" + strconv.Itoa(len(s.issued)+1)
		s.issued[sid] = true
		s.mu.Unlock()
		base := "http://" + r.Host + "/"
		config, _ := json.Marshal(map[string]string{"basename": "/", "base": base})
		w.Header().Add("Set-Cookie", "__Host-spa="+sid+"; Path=/; Secure; HttpOnly; SameSite=Lax")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, spaShell, config, base)
	}
}

// requests returns what the tool saw for path, in its requests from the
// index from on.
func (s *spaTool) requests(path string, from int) []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []seen
	for _, r := range s.reqs[min(from, len(s.reqs)):] {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// count returns how many requests the tool has seen.
func (s *spaTool) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// spaShell is the tool's HTML shell: %[1]s its config, %[2]s its base URL.
const spaShell = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Orders</title>
<script id="app-config" type="application/json">%[1]s</script>
<script src="%[2]sassets/app.js" defer></script>
</head>
<body>
<nav><a href="/" data-link>Home</a> <a href="/orders" data-link>Orders</a></nav>
<main id="root">Loading…</main>
</body>
</html>
`

// spaScript is the tool's client: a router in the manner of React Router's
// createBrowserRouter(routes, {basename}). A path outside its routes
// renders "Not found" and starts nothing; otherwise it asks the API who is
// signed in, then renders and marks the body started. Links navigate with
// history.pushState.
const spaScript = `(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("app-config").textContent);
  var basename = config.basename.replace(/\/+$/, "");
  var me = null;
  var routes = {
    "/": function () { return "<h1>Home</h1><p>Signed in as " + me.user + "</p>"; },
    "/orders": function () { return "<h1>Orders</h1><p>#1007 for " + me.user + "</p>"; }
  };
  var root = document.getElementById("root");
  function route() {
    var path = location.pathname;
    if (path !== basename && path.indexOf(basename + "/") !== 0) return null;
    var rest = path.slice(basename.length) || "/";
    return Object.prototype.hasOwnProperty.call(routes, rest) ? rest : null;
  }
  function render() {
    var r = route();
    document.body.dataset.route = r || "";
    if (r === null) root.textContent = "Not found";
    else root.innerHTML = routes[r]();
  }
  if (route() === null) {
    render();
    document.body.dataset.state = "not-found";
    return;
  }
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("a[data-link]");
    if (!a) return;
    ev.preventDefault();
    history.pushState(null, "", basename + a.getAttribute("href"));
    render();
  });
  window.addEventListener("popstate", render);
  fetch(config.base + "api/whoami").then(function (res) {
    if (!res.ok) throw new Error("whoami answered " + res.status);
    return res.json();
  }).then(function (who) {
    me = who;
    render();
    document.body.dataset.state = "started";
  }, function (err) {
    root.textContent = String(err);
    document.body.dataset.state = "failed";
  });
})();
`

// TestBrowserHostMountServesASinglePageAppThatOwnsTheRoot mounts one tool
// twice: under the prefix it cannot work (its router owns "/", and its
// __Host- cookie cannot be scoped to a path), on a host of its own it
// works unchanged, and talks to the Helpdesk across origins.
func TestBrowserHostMountServesASinglePageAppThatOwnsTheRoot(t *testing.T) {
	e := newHostsEnv(t)
	spa, spaHost := e.origin("spa"), e.host("spa")
	prefixed := e.helpdesk + "/apps/spaprefixed/"

	// The Helpdesk's front end mounts what the manifest gives it.
	e.navigate(e.helpdesk + "/host.html")
	urls := hostEval[map[string]string](e.bridgeEnv, `fetch("/apps/_api/apps").then(r => r.json()).then(m => Object.fromEntries(m.apps.map(a => [a.id, a.url])))`)
	if urls["spa"] != spa+"/" || urls["spaprefixed"] != prefixed {
		t.Fatalf("manifest URLs %v; want spa at %s/ and spaprefixed at %s", urls, spa, prefixed)
	}

	// ---- Under the prefix: the same tool does not start.
	e.mount(mountOptions{App: "spaprefixed", Src: urls["spaprefixed"], Mode: "embed", Placement: "ticket_sidebar", Ticket: bridgeTicket})
	e.waitApp("/apps/spaprefixed/", `document.body.dataset.state === "not-found"`)
	if text := appEval[string](e.bridgeEnv, "/apps/spaprefixed/", `document.getElementById("root").textContent`); text != "Not found" {
		t.Errorf("under the prefix the tool rendered %q; want its not-found page", text)
	}
	// `to` gave the tool its own address as Host, so the absolute URLs it
	// builds point past the gateway, at the upstream itself.
	if got := appEval[[]string](e.bridgeEnv, "/apps/spaprefixed/", `performance.getEntriesByType("resource").map(r => r.name).filter(n => n.endsWith("/assets/app.js"))`); !slices.Equal(got, []string{e.spa.URL + "/assets/app.js"}) {
		t.Errorf("under the prefix the tool's script came from %v; want the upstream's own %s", got, e.spa.URL)
	}
	// The browser refuses the tool's session cookie: the gateway had to
	// scope its Path into the prefix, and a __Host- cookie needs Path=/.
	e.eventually("the browser to refuse __Host-spa", func() bool { return len(e.setCookies.refusedFor(prefixed)) > 0 })
	if got := e.setCookies.refusedFor(prefixed); len(got) != 1 ||
		!strings.HasPrefix(got[0], "__Host-spa=") || !strings.Contains(got[0], "Path=/apps/spaprefixed/") || !strings.Contains(got[0], "InvalidPrefix") {
		t.Errorf("refused Set-Cookie lines under the prefix: %q; want __Host-spa, its Path scoped, refused for its prefix", got)
	}
	for _, u := range []string{prefixed, e.helpdesk + "/", spa + "/"} {
		if c := e.cookies(u, "__Host-spa"); len(c) != 0 {
			t.Errorf("__Host-spa stored for %s under the prefix: %s", u, jsValue(t, c))
		}
	}
	if n := len(e.spa.requests("/api/whoami", 0)); n != 0 {
		t.Errorf("the tool's API was called %d times while it was not started", n)
	}

	// Without its cookie the tool's API would have refused it anyway.
	if resp, body := get(t, e.spa.URL+"/api/whoami", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the tool's API without its cookie: %d %s; want 401", resp.StatusCode, body)
	}

	// ---- On its host: the same tool, unchanged, starts.
	onHost := e.spa.count()
	id := e.mount(mountOptions{App: "spa", Src: urls["spa"], Mode: "embed", Placement: "ticket_sidebar", Ticket: bridgeTicket})
	e.waitApp(spaHost, `document.body.dataset.state === "started"`)
	page := appEval[map[string]any](e.bridgeEnv, spaHost, `({
		route: document.body.dataset.route, text: document.getElementById("root").textContent,
		origins: [...new Set([location.href, ...performance.getEntriesByType("resource").map(r => r.name)].map(u => new URL(u).origin))],
		script: performance.getEntriesByType("resource").map(r => r.name).filter(n => n.endsWith("/assets/app.js")),
		shim: (s => s && {src: s.getAttribute("src"), app: s.dataset.helpdeskApp, origins: s.dataset.helpdeskOrigins})(document.querySelector("script[data-helpdesk-origins]")),
	})`)
	if page["route"] != "/" || page["text"] != "HomeSigned in as u-1" {
		t.Errorf("on its host the tool shows route %v, %q; want its home page for u-1", page["route"], page["text"])
	}
	// Its document, script, API call and the shim: all of its own origin.
	if !sameJSON(t, page["origins"], []string{spa}) || !sameJSON(t, page["script"], []string{spa + "/assets/app.js"}) {
		t.Errorf("on its host the tool loaded from %v (script %v); want only %s", page["origins"], page["script"], spa)
	}
	shim, _ := page["shim"].(map[string]any)
	if src, _ := shim["src"].(string); !strings.HasPrefix(src, "/.well-known/helpdesk-apps/client.js?v=") || shim["app"] != "spa" || shim["origins"] != e.helpdesk {
		t.Errorf("injected shim %v; want the same-origin client.js for app spa, trusting %s", shim, e.helpdesk)
	}
	// The tool's session cookie is stored as it was sent: host-only, Path=/.
	if c := e.cookies(spa+"/", "__Host-spa"); len(c) != 1 || c[0].Domain != spaHost || c[0].Path != "/" || !c[0].Secure || !c[0].HTTPOnly {
		t.Errorf("__Host-spa on its host: %s; want one, host-only, Path=/, Secure, HttpOnly", jsValue(t, c))
	}
	if got := e.setCookies.refusedFor(spa); len(got) != 0 {
		t.Errorf("the browser refused cookies of the tool on its host: %q", got)
	}
	for _, u := range []string{e.helpdesk + "/", e.origin("beta") + "/"} {
		if c := e.cookies(u, "__Host-spa"); len(c) != 0 {
			t.Errorf("the tool's cookie reaches %s", u)
		}
	}
	// The Helpdesk's domain cookie reached the app's host; the gateway
	// verified it and kept it from the tool, which got the whole path and
	// its public Host.
	if got := e.cookieValues(spa+"/", "hd_session"); !slices.Equal(got, []string{e.ana}) {
		t.Errorf("the browser sends %d hd_session cookies to %s; want the Helpdesk's one", len(got), spa)
	}
	for _, r := range append(e.spa.requests("/", onHost), e.spa.requests("/api/whoami", onHost)...) {
		if r.Host != spaHost+":"+e.port || strings.Contains(r.Header.Get("Cookie"), "hd_session") ||
			r.Header.Get("X-Forwarded-Prefix") != "" || r.Header.Get("X-Helpdesk-User-Id") != "u-1" {
			t.Errorf("the tool saw %s with Host %q, Cookie %q, X-Forwarded-Prefix %q, user %q",
				r.URI, r.Host, r.Header.Get("Cookie"), r.Header.Get("X-Forwarded-Prefix"), r.Header.Get("X-Helpdesk-User-Id"))
		}
	}
	// The API let the tool in by its own cookie.
	for _, r := range e.spa.requests("/api/whoami", onHost) {
		if !strings.Contains(r.Header.Get("Cookie"), "__Host-spa=sid-") {
			t.Errorf("the tool's API was called without its cookie: Cookie %q", r.Header.Get("Cookie"))
		}
	}

	// ---- The bridge, across origins: context on ready, then an update.
	e.waitApp(spaHost, "HelpdeskApps.appId === "+jsValue(t, id))
	state := appEval[map[string]any](e.bridgeEnv, spaHost, `({user: HelpdeskApps.user, ticket: HelpdeskApps.ticket, mode: HelpdeskApps.mode, connected: HelpdeskApps.connected})`)
	if !sameJSON(t, state, map[string]any{"user": bridgeUser, "ticket": bridgeTicket, "mode": "embed", "connected": true}) {
		t.Errorf("the app's HelpdeskApps: %v; want the user and ticket the Helpdesk mounted it with", state)
	}
	if got := hostEval[[]string](e.bridgeEnv, `[...new Set(T.events("message").map(m => m.origin))]`); !slices.Equal(got, []string{spa}) {
		t.Errorf("the Helpdesk accepted messages from %v; want only %s", got, spa)
	}
	appEval[bool](e.bridgeEnv, spaHost, `window.updates = [], HelpdeskApps.on("helpdesk:ticket:update", p => updates.push(p.ticket)), true`)
	updated := maps.Clone(bridgeTicket)
	updated["status"] = "solved"
	hostEval[bool](e.bridgeEnv, "T.inst.updateTicket("+jsValue(t, updated)+"), true")
	e.waitApp(spaHost, "updates.length === 1")
	if got := appEval[[]map[string]any](e.bridgeEnv, spaHost, "updates"); !sameJSON(t, got[0], updated) {
		t.Errorf("helpdesk:ticket:update brought %v; want the updated ticket", got[0])
	}

	// ---- Client-side navigation: a link, no request for the page.
	appEval[bool](e.bridgeEnv, spaHost, `window.sameDocument = true, document.querySelector('a[href="/orders"]').click(), true`)
	e.waitApp(spaHost, `document.body.dataset.route === "/orders"`)
	nav := appEval[map[string]any](e.bridgeEnv, spaHost, `({path: location.pathname, same: window.sameDocument === true, text: document.getElementById("root").textContent})`)
	if nav["path"] != "/orders" || nav["same"] != true || nav["text"] != "Orders#1007 for u-1" {
		t.Errorf("after following the link: %v; want /orders rendered in the same document", nav)
	}
	if n := len(e.spa.requests("/orders", 0)); n != 0 {
		t.Errorf("following the link asked the tool for /orders %d times; the router should have handled it", n)
	}

	// ---- A deep link: /orders reloaded, the shell served there, the
	// route found, and the bridge connected again with the current ticket.
	appEval[bool](e.bridgeEnv, spaHost, "setTimeout(() => location.reload(), 0), true")
	e.waitApp(spaHost, `window.sameDocument === undefined && document.body.dataset.state === "started"`)
	e.waitApp(spaHost, "HelpdeskApps.appId === "+jsValue(t, id))
	deep := appEval[map[string]any](e.bridgeEnv, spaHost, `({path: location.pathname, route: document.body.dataset.route, status: HelpdeskApps.ticket.status})`)
	if !sameJSON(t, deep, map[string]any{"path": "/orders", "route": "/orders", "status": "solved"}) {
		t.Errorf("after reloading /orders: %v; want the orders route, reconnected with the updated ticket", deep)
	}
	if n := len(e.spa.requests("/orders", 0)); n != 1 {
		t.Errorf("the tool was asked for /orders %d times; want once, by the reload", n)
	}
	if n := len(e.spa.requests("/api/whoami", onHost)); n != 2 {
		t.Errorf("the tool's API answered %d times; want 2, one per start", n)
	}
}

// storageWrite makes the app in the frame write name, with the same keys
// as the other app, into everything an origin keeps: a cookie from its
// server (host-only, as the gateway leaves it), one from its script,
// localStorage, sessionStorage and IndexedDB.
func storageWrite(name string) string {
	return `(async () => {
		const res = await fetch("/headers?h=" + encodeURIComponent("Set-Cookie: ` + name + `_srv=1; Path=/"));
		if (!res.ok) throw new Error("status " + res.status);
		document.cookie = "` + name + `_js=1; path=/";
		localStorage.setItem("owner", "` + name + `");
		sessionStorage.setItem("owner", "` + name + `");
		await new Promise((resolve, reject) => {
			const open = indexedDB.open("notes", 1);
			open.onupgradeneeded = () => open.result.createObjectStore("kv");
			open.onerror = () => reject(open.error);
			open.onsuccess = () => {
				const tx = open.result.transaction("kv", "readwrite");
				tx.objectStore("kv").put("` + name + `", "owner");
				tx.oncomplete = () => { open.result.close(); resolve(); };
				tx.onerror = () => reject(tx.error);
			};
		});
		return true;
	})()`
}

// storageRead reads back what storageWrite wrote, in the frame's app.
const storageRead = `(async () => {
	const idb = await new Promise((resolve, reject) => {
		const open = indexedDB.open("notes", 1);
		open.onupgradeneeded = () => open.result.createObjectStore("kv");
		open.onerror = () => reject(open.error);
		open.onsuccess = () => {
			const get = open.result.transaction("kv").objectStore("kv").get("owner");
			get.onsuccess = () => { open.result.close(); resolve(get.result === undefined ? null : get.result); };
			get.onerror = () => reject(get.error);
		};
	});
	return {cookies: document.cookie.split("; ").filter(Boolean).sort(), local: localStorage.getItem("owner"),
		session: sessionStorage.getItem("owner"), idb: idb};
})()`

// reachOut is what a hostile app's script tries on the Helpdesk page and
// on the other app's frame; each probe gives the error's name, "undefined",
// or what it got.
const reachOut = `(() => {
	const probe = f => { try { const v = f(); return v === undefined ? "undefined" : "got " + typeof v; } catch (e) { return e.name; } };
	const frames = Array.from({length: parent.frames.length}, (_, i) => parent.frames[i]);
	const sibling = frames.find(w => w !== window);
	return {
		frames: frames.length,
		parentDocument: probe(() => parent.document),
		topHref: probe(() => top.location.href),
		helpdeskHost: probe(() => parent.HelpdeskHost),
		helpdeskT: probe(() => parent.T),
		siblingDocument: probe(() => sibling.document),
		siblingStorage: probe(() => sibling.localStorage),
		siblingNavigate: probe(() => { sibling.location.href = location.origin + "/page?hijacked"; }),
		// Relaxing document.domain to the shared parent is a no-op in
		// origin-keyed agent clusters; the Helpdesk stays out of reach.
		parentAfterDomain: probe(() => { document.domain = "` + hostsBrowserDomain + `"; return parent.document; }),
	};
})()`

// TestBrowserHostsIsolateAppsFromEachOtherAndFromTheHelpdesk mounts two
// apps, each on its host, in one Helpdesk page, and has each try what a
// hostile app would: read the other's data, script the Helpdesk or the
// other frame, plant cookies for the whole domain, and toss a session
// cookie of another user at its sibling.
func TestBrowserHostsIsolateAppsFromEachOtherAndFromTheHelpdesk(t *testing.T) {
	e := newHostsEnv(t)
	alpha, beta := e.origin("alpha"), e.origin("beta")
	alphaHost, betaHost := e.host("alpha"), e.host("beta")

	e.navigate(e.helpdesk + "/host.html")
	ids := hostEval[[]string](e.bridgeEnv, "[T.mount("+jsValue(t, mountOptions{App: "alpha", Src: alpha + "/page", Mode: "embed", Placement: "main_menu", User: bridgeUser})+
		"), T.mount("+jsValue(t, mountOptions{App: "beta", Src: beta + "/page", Mode: "embed", Placement: "main_menu", User: bridgeUser})+")]")
	e.waitApp(alphaHost, "HelpdeskApps.appId === "+jsValue(t, ids[0]))
	e.waitApp(betaHost, "HelpdeskApps.appId === "+jsValue(t, ids[1]))

	// ---- Cookies and storage: same keys, each app keeps its own.
	appEval[bool](e.bridgeEnv, alphaHost, storageWrite("alpha"))
	appEval[bool](e.bridgeEnv, betaHost, storageWrite("beta"))
	e.scriptCookies("alpha")
	e.scriptCookies("beta")
	for _, app := range []struct{ name, host, url string }{{"alpha", alphaHost, alpha}, {"beta", betaHost, beta}} {
		want := map[string]any{"cookies": []string{app.name + "_js=1", app.name + "_srv=1"}, "local": app.name, "session": app.name, "idb": app.name}
		// hd_session is HttpOnly: not in document.cookie either.
		if got := appEval[map[string]any](e.bridgeEnv, app.host, storageRead); !sameJSON(t, got, want) {
			t.Errorf("%s reads back %v; want only its own %v", app.name, got, want)
		}
		if got := e.cookieNames(app.url + "/"); !slices.Equal(got, []string{app.name + "_js", app.name + "_srv", "hd_session"}) {
			t.Errorf("the browser sends %s the cookies %v; want its own and the Helpdesk's session", app.name, got)
		}
		if c := e.cookies(app.url+"/", app.name+"_srv"); len(c) != 1 || c[0].Domain != app.host {
			t.Errorf("%s's cookie from its server: %s; want it host-only, on %s", app.name, jsValue(t, c), app.host)
		}
	}
	if got := e.cookieNames(e.helpdesk + "/"); !slices.Equal(got, []string{"hd_session"}) {
		t.Errorf("the browser sends the Helpdesk the cookies %v; want its session only", got)
	}

	// ---- Neither app can script the Helpdesk page or the other's frame.
	for _, host := range []string{alphaHost, betaHost} {
		got := appEval[map[string]any](e.bridgeEnv, host, reachOut)
		if got["frames"] != float64(2) {
			t.Fatalf("%s sees %v frames in the Helpdesk page; want the two apps", host, got["frames"])
		}
		delete(got, "frames")
		for probe, v := range got {
			if v != "SecurityError" && !(v == "undefined" && probe != "siblingNavigate") {
				t.Errorf("from %s, %s: %v; want a SecurityError", host, probe, v)
			}
		}
	}
	if got := appEval[string](e.bridgeEnv, betaHost, "location.pathname + location.search"); got != "/page" {
		t.Errorf("alpha navigated beta's frame to %s", got)
	}
	// Chromium lets a frame of the Helpdesk's site, as every app host here
	// is, navigate the Helpdesk page without a user gesture (it refuses a
	// cross-site frame); host.js's default sandbox allows it only on one.
	if got := appEval[string](e.bridgeEnv, alphaHost, `(() => { try { top.location.href = location.origin + "/page?top"; return "navigated"; } catch (e) { return e.name; } })()`); got == "navigated" {
		t.Errorf("alpha's script navigated the Helpdesk page without a gesture")
	}
	if got := hostEval[string](e.bridgeEnv, "location.href"); got != e.helpdesk+"/host.html" {
		t.Fatalf("the Helpdesk page is now %s", got)
	}

	// ---- alpha's server plants cookies for the whole domain: the gateway
	// drops the Domain of leak (alpha's alone), and hd_session entirely.
	if status := appEval[int](e.bridgeEnv, alphaHost, `fetch("/headers?h=" + encodeURIComponent("Set-Cookie: leak=1; Domain=`+hostsBrowserDomain+`; Path=/") +
		"&h=" + encodeURIComponent("Set-Cookie: hd_session=forged; Domain=`+hostsBrowserDomain+`; Path=/")).then(r => r.status)`); status != http.StatusOK {
		t.Fatalf("alpha's hostile response: status %d", status)
	}
	if c := e.cookies(alpha+"/", "leak"); len(c) != 1 || c[0].Domain != alphaHost {
		t.Errorf("leak on alpha: %s; want one cookie, host-only on %s", jsValue(t, c), alphaHost)
	}
	for _, u := range []string{e.helpdesk + "/", beta + "/", e.helpdesk + "/apps/_api/me"} {
		if c := e.cookies(u, "leak"); len(c) != 0 {
			t.Errorf("alpha's leak cookie reaches %s: %s", u, jsValue(t, c))
		}
	}
	for _, u := range []string{e.helpdesk + "/", alpha + "/", beta + "/"} {
		if got := e.cookieValues(u, "hd_session"); !slices.Equal(got, []string{e.ana}) {
			t.Errorf("after alpha's forged hd_session the browser sends %s %d session cookies; want the Helpdesk's one", u, len(got))
		}
	}
	if id := hostEval[string](e.bridgeEnv, `fetch("/apps/_api/me").then(r => r.json()).then(me => me.user.id)`); id != "u-1" {
		t.Errorf("after alpha's response the Helpdesk's own session is %q's; want u-1's", id)
	}

	// ---- Cookie tossing. mallory is a valid session of another user.
	mallory := agent("agent", 3)
	mallory.Subject, mallory.Name, mallory.Email = "u-mallory", "Mallory", "mallory@example.com"
	tok := token(t, mallory)
	// whoAmI is who beta's upstream says it serves, for beta's next request.
	whoAmI := `fetch("/whoami").then(r => r.ok ? r.json().then(j => j.header["X-Helpdesk-User-Id"][0]) : "status " + r.status)`

	// The same name, domain and path as the Helpdesk's cookie: a script
	// cannot overwrite an HttpOnly cookie, so the browser ignores it.
	e.scriptCookies("alpha", "hd_session="+tok+"; domain="+hostsBrowserDomain+"; path=/")
	for _, u := range []string{e.helpdesk + "/", beta + "/"} {
		if got := e.cookieValues(u, "hd_session"); !slices.Equal(got, []string{e.ana}) {
			t.Errorf("alpha's script overwrote the Helpdesk's HttpOnly session for %s", u)
		}
	}
	if who := appEval[string](e.bridgeEnv, betaHost, whoAmI); who != "u-1" {
		t.Errorf("after alpha's overwrite attempt beta serves %q; want u-1", who)
	}

	// A cookie of the same name for a domain between, which is not the
	// HttpOnly one's: the browser stores it beside the Helpdesk's and sends
	// both to beta, whose next request carries two tokens. The gateway
	// refuses to pick one.
	before := len(seenBy(e.beta))
	e.scriptCookies("alpha", "hd_session="+tok+"; domain=apps."+hostsBrowserDomain+"; path=/")
	if got := e.cookieValues(beta+"/", "hd_session"); !slices.Equal(got, slices.Sorted(slices.Values([]string{e.ana, tok}))) {
		t.Fatalf("the browser sends beta %d session cookies; want the Helpdesk's and alpha's", len(got))
	}
	if got := e.cookieValues(e.helpdesk+"/", "hd_session"); !slices.Equal(got, []string{e.ana}) {
		t.Errorf("alpha's cookie for apps.%s reached the Helpdesk", hostsBrowserDomain)
	}
	if who := appEval[string](e.bridgeEnv, betaHost, whoAmI); who != "status 401" {
		t.Errorf("with two session cookies beta's request got %q; want status 401", who)
	}
	// A navigation of beta's frame shows the gateway's page, which tells
	// the Helpdesk why beta is gone.
	hostEval[bool](e.bridgeEnv, "T.inst.iframe.src = "+jsValue(t, beta+"/page?tossed")+", true")
	e.waitHost(`T.received("helpdesk:app:error").some(m => m.origin === ` + jsValue(t, beta) + ` && m.payload.code === "UNAUTHENTICATED")`)
	if n := len(seenBy(e.beta)) - before; n != 0 {
		t.Errorf("beta's upstream got %d requests while the browser sent two session tokens", n)
	}
	// alpha takes its cookie back: beta works again, as u-1.
	e.scriptCookies("alpha", "hd_session=; domain=apps."+hostsBrowserDomain+"; path=/; max-age=0")
	hostEval[bool](e.bridgeEnv, "T.inst.iframe.src = "+jsValue(t, beta+"/page?again")+", true")
	e.waitApp(betaHost, `location.search === "?again" && HelpdeskApps.appId === `+jsValue(t, ids[1]))
	if who := appEval[string](e.bridgeEnv, betaHost, whoAmI); who != "u-1" {
		t.Errorf("once alpha's cookie is gone beta serves %q; want u-1", who)
	}

	// The Helpdesk's host is in reach too, by another path: the browser
	// sends both cookies to /apps/…, and the gateway's own API there
	// answers 401, never as mallory.
	e.scriptCookies("alpha", "hd_session="+tok+"; domain="+hostsBrowserDomain+"; path=/apps")
	if got := e.cookieValues(e.helpdesk+"/apps/_api/me", "hd_session"); len(got) != 2 {
		t.Fatalf("the browser sends /apps/_api/me %d session cookies; want the Helpdesk's and alpha's", len(got))
	}
	if status := hostEval[int](e.bridgeEnv, `fetch("/apps/_api/me").then(r => r.status)`); status != http.StatusUnauthorized {
		t.Errorf("with two session cookies the Helpdesk's /apps/_api/me answered %d; want 401", status)
	}
	e.scriptCookies("alpha", "hd_session=; domain="+hostsBrowserDomain+"; path=/apps; max-age=0")

	// What the upstreams saw, all along: u-1 only, never a session cookie,
	// never the other app's cookies.
	for _, app := range []struct {
		name, other string
		up          *upstream
	}{{"alpha", "beta", e.alpha}, {"beta", "alpha", e.beta}} {
		for _, r := range seenBy(app.up) {
			cookie := r.Header.Get("Cookie")
			if r.Header.Get("X-Helpdesk-User-Id") != "u-1" || strings.Contains(cookie, "hd_session") ||
				strings.Contains(cookie, app.other+"_") || (app.name == "beta" && strings.Contains(cookie, "leak")) {
				t.Errorf("%s's upstream saw %s as %q with Cookie %q", app.name, r.URI, r.Header.Get("X-Helpdesk-User-Id"), cookie)
			}
		}
	}
}
