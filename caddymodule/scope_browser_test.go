package caddymodule

// Browser tests of the rule that no app acts outside its own path: a
// hostile app (crm) attacks, in real Chromium through the real gateway,
// another app (vault, with isolate_cookies) and the Helpdesk, which keeps
// a cookie on a sub-path (/auth/refresh). Each attack worked before the
// gateway read paths as the browser does.

import (
	"fmt"
	htmlpkg "html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

const scopeCaddyfile = `
http://127.0.0.1:%[1]s {
	bind 127.0.0.1
	helpdesk_apps /apps {
		session {
			cookie hd_session
			hmac_secret %[2]s
			issuer https://helpdesk.test
			audience helpdesk-apps
		}
		app crm {
			to %[3]s
		}
		app vault {
			isolate_cookies
			to %[4]s
		}
		app tool {
			to %[5]s
		}
	}
	handle /auth/refresh {
		header Set-Cookie "hd_refresh=helpdesk-refresh; Path=/auth/refresh; HttpOnly; SameSite=Strict"
		respond "refreshed"
	}
	handle /admin-console/* {
		respond "helpdesk admin console"
	}
	respond "helpdesk {path}"
}
`

// cookieRecorder is an app's upstream that records the Cookie header of
// every request it receives.
type cookieRecorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // "<request-target> cookie=<Cookie>"
}

func newCookieRecorder(t *testing.T, serve func(w http.ResponseWriter, r *http.Request)) *cookieRecorder {
	t.Helper()
	c := new(cookieRecorder)
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.seen = append(c.seen, r.RequestURI+" cookie="+r.Header.Get("Cookie"))
		c.mu.Unlock()
		w.Header().Set("Cache-Control", "no-store")
		serve(w, r)
	}))
	t.Cleanup(c.Close)
	return c
}

// received lists the requests whose line contains s.
func (c *cookieRecorder) received(s string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, line := range c.seen {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// hostileApp is crm's upstream: each path is one attack.
func hostileApp(w http.ResponseWriter, r *http.Request) {
	html := func(body string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html><head><title>crm</title></head><body>%s</body></html>", body)
	}
	switch r.URL.Path {
	case "/steal.html":
		// A browser files both URLs under the first path, and sends the
		// cookies scoped to it.
		html(`<img src="/apps/vault/..%2fcrm/steal-vault"><img src="/auth/refresh/..%2f..%2fapps/crm/steal-refresh">`)
	case "/plant":
		w.Header().Set("Set-Cookie", "hda.vault.sid=planted; Path=/apps/crm/..%2fvault/")
		html("planted")
	case "/redirect":
		http.Redirect(w, r, "/apps/crm/..%2f..%2fadmin-console/settings", http.StatusFound)
	case "/x/redirect-relative":
		w.Header().Set("Location", "..%2f..%2fvault/whoami")
		w.WriteHeader(http.StatusFound)
	case "/refresh":
		w.Header().Set("Refresh", "0; url=/apps/crm/..%2f..%2fadmin-console/settings")
		html("refreshing")
	case "/wipe":
		w.Header().Set("Clear-Site-Data", `"cookies", "storage"`)
		html("wiped")
	case "/sw.js", "/static/sw.js":
		w.Header().Set("Content-Type", "text/javascript")
		w.Header().Set("Service-Worker-Allowed", "/")
		fmt.Fprint(w, `self.addEventListener("fetch", () => {});`)
	case "/hostile.html":
		// Served from crm's own origin, not through the gateway: a page
		// of another origin of the same site, posting to the gateway.
		html(`<form id="f" method="post" action="` + htmlpkg.EscapeString(r.URL.Query().Get("target")) +
			`"><input name="all" value="1"></form><script>document.getElementById("f").submit()</script>`)
	case "/":
		html("crm home")
	default:
		html("crm " + r.URL.Path)
	}
}

// victimApp is vault's upstream: it signs its user in with a cookie of its
// own and tells what cookies it received.
func victimApp(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/login":
		w.Header().Set("Set-Cookie", "sid=vault-secret; Path=/; HttpOnly")
	case "/csrf":
		// The cookie its own scripts read, as Syncthing's and AngularJS's.
		w.Header().Set("Set-Cookie", "CSRF-Token-AB=tok123")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>vault</title><p>vault saw cookie=%s</p>", r.Header.Get("Cookie"))
}

// scopeEnv is one test's world: a tab, the gateway with both apps and the
// Helpdesk, and the apps' upstreams.
type scopeEnv struct {
	*bridgeEnv
	crm, vault *cookieRecorder
	tool       *originTool
	net        *networkLog
}

func newScopeEnv(t *testing.T) *scopeEnv {
	t.Helper()
	bctx := browserContext(t)
	crm, vault, tool := newCookieRecorder(t, hostileApp), newCookieRecorder(t, victimApp), newOriginTool(t)
	port := distinctPorts(t, 1)[0]
	startCaddyfile(t, fmt.Sprintf(scopeCaddyfile, port, testSecret, crm.URL, vault.URL, tool.URL))
	netlog := newNetworkLog()
	e := openTab(t, bctx, []string{port, port}, 40*time.Second, netlog.listen)
	return &scopeEnv{bridgeEnv: e, crm: crm, vault: vault, tool: tool, net: netlog}
}

// signIn gives the browser the Helpdesk's refresh cookie and vault's own
// session, as a user who used both would have.
func (e *scopeEnv) signIn() {
	e.t.Helper()
	e.navigate(e.apps + "/auth/refresh")
	e.navigate(e.apps + "/apps/vault/login")
	if got := e.cookieValues(e.apps + "/apps/vault/"); got["hda.vault.sid"] != "vault-secret" {
		e.t.Fatalf("vault's isolated session cookie is missing: %v", got)
	}
	if got := e.cookieValues(e.apps + "/auth/refresh"); got["hd_refresh"] != "helpdesk-refresh" {
		e.t.Fatalf("the Helpdesk's refresh cookie is missing: %v", got)
	}
}

// cookieValues returns the values of the browser's cookies for u by name,
// and their paths by name + "@path".
func (e *scopeEnv) cookieValues(u string) map[string]string {
	e.t.Helper()
	out := make(map[string]string)
	for _, c := range e.browserCookies(u) {
		out[c.Name] = c.Value
		out[c.Name+"@path"] = c.Path
	}
	return out
}

// location returns the tab's path and the text of its page.
func (e *scopeEnv) location() (path, text string) {
	e.t.Helper()
	got := hostEval[[]string](e.bridgeEnv, "[location.pathname, document.body ? document.body.innerText : '']")
	return got[0], got[1]
}

// A page of crm loads URLs that the browser files under vault's path and
// under the Helpdesk's /auth/refresh: the browser sends their cookies, and
// crm's backend must receive neither.
func TestBrowserEncodedSlashesCannotCarryCookiesToAnotherApp(t *testing.T) {
	e := newScopeEnv(t)
	e.signIn()
	e.navigate(e.apps + "/apps/crm/steal.html")
	e.waitHost("document.images.length === 2 && Array.from(document.images).every(i => i.complete)")

	for _, secret := range []string{"vault-secret", "helpdesk-refresh"} {
		if got := e.crm.received(secret); len(got) > 0 {
			t.Errorf("crm's backend received %s:\n\t%s", secret, strings.Join(got, "\n\t"))
		}
	}
	for _, u := range []string{"/apps/vault/..%2fcrm/steal-vault", "/auth/refresh/..%2f..%2fapps/crm/steal-refresh"} {
		if got := e.net.status(e.apps + u); got != http.StatusBadRequest {
			t.Errorf("%s answered %d; want 400", u, got)
		}
	}
	if got := e.crm.received("/steal-"); len(got) > 0 {
		t.Errorf("crm's backend was reached by the attack URLs:\n\t%s", strings.Join(got, "\n\t"))
	}
}

// crm plants a cookie named like vault's isolated session on a path that,
// decoded, is vault's: the path is kept inside crm, and vault never sees it.
func TestBrowserAppCannotPlantCookiesInAnotherAppsJar(t *testing.T) {
	e := newScopeEnv(t)
	e.navigate(e.apps + "/apps/crm/plant")
	got := e.cookieValues(e.apps + "/apps/crm/")
	if got["hda.vault.sid"] != "planted" || got["hda.vault.sid@path"] != "/apps/crm/" {
		t.Errorf("the planted cookie is %q on path %q; want it kept in /apps/crm/", got["hda.vault.sid"], got["hda.vault.sid@path"])
	}
	e.navigate(e.apps + "/apps/crm/..%2fvault/whoami")
	e.navigate(e.apps + "/apps/vault/whoami")
	if got := e.vault.received("planted"); len(got) > 0 {
		t.Errorf("vault's backend received the planted session:\n\t%s", strings.Join(got, "\n\t"))
	}
	if got := e.vault.received("whoami"); len(got) != 1 {
		t.Errorf("vault's backend received %q; want its own whoami once", got)
	}
}

// crm's redirects and Refresh point, once decoded, at a Helpdesk page or
// another app: the browser lands in crm.
func TestBrowserRedirectsCannotLeaveTheApp(t *testing.T) {
	e := newScopeEnv(t)
	for _, c := range []struct{ name, start string }{
		{"Location under crm's path", "/apps/crm/redirect"},
		{"relative Location", "/apps/crm/x/redirect-relative"},
		{"Refresh", "/apps/crm/refresh"},
	} {
		e.navigate(e.apps + c.start)
		e.waitHost("location.pathname !== " + jsValue(t, c.start))
		if path, text := e.location(); path != "/apps/crm/" || !strings.Contains(text, "crm home") {
			t.Errorf("%s: landed on %s (%q); want crm's root", c.name, path, text)
		}
	}
	if got := e.vault.received("whoami"); len(got) > 0 {
		t.Errorf("vault's backend was reached:\n\t%s", strings.Join(got, "\n\t"))
	}
}

// crm answers with Clear-Site-Data, which would wipe every cookie of the
// site, the Helpdesk's HttpOnly ones too.
func TestBrowserAppCannotClearTheSitesData(t *testing.T) {
	e := newScopeEnv(t)
	e.signIn()
	e.navigate(e.apps + "/apps/crm/wipe")
	if got := e.cookieValues(e.apps + "/auth/refresh"); got["hd_refresh"] != "helpdesk-refresh" || got["hd_session"] == "" {
		t.Errorf("the Helpdesk's cookies are gone after crm's Clear-Site-Data: %v", got)
	}
	if got := e.cookieValues(e.apps + "/apps/vault/"); got["hda.vault.sid"] != "vault-secret" {
		t.Errorf("vault's cookie is gone after crm's Clear-Site-Data: %v", got)
	}
}

// crm's script says Service-Worker-Allowed: / and its page asks for a
// worker over the whole origin: the browser refuses; a worker over crm's
// own path still registers.
func TestBrowserAppCannotRegisterAServiceWorkerOverTheOrigin(t *testing.T) {
	e := newScopeEnv(t)
	e.navigate(e.apps + "/apps/crm/")
	t.Cleanup(func() {
		// The profile is shared: leave no worker behind.
		_, _ = e.evalRaw(nil, `navigator.serviceWorker.getRegistrations().then(rs => Promise.all(rs.map(r => r.unregister()))).then(() => true)`)
	})
	type registration struct{ Scope, Error string }
	register := func(script, scope string) registration {
		return hostEval[registration](e.bridgeEnv, "navigator.serviceWorker.register("+jsValue(t, script)+", {scope: "+
			jsValue(t, scope)+"}).then(r => ({Scope: r.scope}), e => ({Error: String(e && e.message || e)}))")
	}
	for _, scope := range []string{"/", "/apps/", "/auth/"} {
		if got := register("/apps/crm/sw.js", scope); got.Error == "" {
			t.Errorf("a worker of crm registered with scope %s", got.Scope)
		} else if !strings.Contains(got.Error, "max scope") {
			t.Errorf("scope %s refused for another reason than its max scope: %s", scope, got.Error)
		}
	}
	if got, want := register("/apps/crm/static/sw.js", "/apps/crm/"), e.apps+"/apps/crm/"; got.Scope != want {
		t.Errorf("a worker over crm's own path: %+v; want registered with scope %s", got, want)
	}
}

// vault has a cookie jar of its own (isolate_cookies): its scripts see
// their cookies under their own names and no other, and the cookies they
// write go into the jar, scoped to the app, and reach vault's backend.
func TestBrowserIsolatedAppScriptsSeeTheirOwnJar(t *testing.T) {
	e := newScopeEnv(t)
	e.signIn()
	if _, err := chromedp.Call(e.ctx, network.SetCookie, network.SetCookieParams{Name: "hda.crm.theme", Value: "dark", URL: e.apps + "/"}); err != nil {
		t.Fatal(err)
	}
	e.navigate(e.apps + "/apps/vault/csrf")
	sorted := func(cookies string) string {
		parts := strings.Split(cookies, "; ")
		slices.Sort(parts)
		return strings.Join(parts, "; ")
	}
	if got := sorted(hostEval[string](e.bridgeEnv, "document.cookie")); got != "CSRF-Token-AB=tok123" {
		t.Errorf("vault's page reads document.cookie %q; want its own CSRF cookie only", got)
	}
	got := sorted(hostEval[string](e.bridgeEnv, `document.cookie = "js=1; path=/; domain=127.0.0.1"; document.cookie`))
	if got != "CSRF-Token-AB=tok123; js=1" {
		t.Errorf("after writing js=1, vault's page reads %q", got)
	}
	if c := e.cookieValues(e.apps + "/apps/vault/"); c["hda.vault.js"] != "1" || c["hda.vault.js@path"] != "/apps/vault/" {
		t.Errorf("the cookie vault's page wrote is stored as %v; want hda.vault.js on /apps/vault/", c)
	}
	if c := e.cookieValues(e.apps + "/"); c["js"] != "" || c["hda.vault.js"] != "" {
		t.Errorf("the cookie vault's page wrote reaches the origin's root: %v", c)
	}
	// A value that is not a string is written as its string, into the jar.
	hostEval[bool](e.bridgeEnv, `document.cookie = {toString() { return "obj=2; path=/"; }}, true`)
	if c := e.cookieValues(e.apps + "/"); c["obj"] != "" {
		t.Errorf("an object written to document.cookie escaped the jar: %v", c)
	}
	if c := e.cookieValues(e.apps + "/apps/vault/"); c["hda.vault.obj"] != "2" || c["hda.vault.obj@path"] != "/apps/vault/" {
		t.Errorf("an object written to document.cookie is stored as %v; want hda.vault.obj on /apps/vault/", c)
	}
	e.navigate(e.apps + "/apps/vault/whoami")
	if got := e.vault.received("/whoami cookie="); len(got) != 1 || !strings.Contains(got[0], "js=1") || !strings.Contains(got[0], "CSRF-Token-AB=tok123") || !strings.Contains(got[0], "obj=2") || strings.Contains(got[0], "hda.") {
		t.Errorf("vault's backend received %q; want its own cookies under their names", got)
	}
	// A page of an app without a jar of its own reads the origin's cookies
	// as the browser gives them.
	e.navigate(e.apps + "/apps/crm/")
	if got := hostEval[string](e.bridgeEnv, "document.cookie"); !strings.Contains(got, "hda.crm.theme=dark") || !strings.Contains(got, "hd_session=") {
		t.Errorf("crm's page reads document.cookie %q", got)
	}
}

// tool checks that a state-changing request's Origin names the Host it
// receives. Its own form, posted in the browser through the gateway, is
// accepted: the gateway gives it its own origin. A page of another origin
// of the same site (so the user's cookies go with it) posts to it: the
// gateway refuses, and the tool is never reached.
func TestBrowserCrossOriginPostsAreRefusedAndTheAppsOwnPass(t *testing.T) {
	e := newScopeEnv(t)
	e.navigate(e.apps + "/apps/tool/form.html")
	hostEval[bool](e.bridgeEnv, `document.getElementById("go").click(), true`)
	e.waitHost(`location.pathname === "/apps/tool/submit" && document.readyState === "complete"`)
	if _, text := e.location(); !strings.Contains(text, "saved") {
		t.Errorf("the tool's own form was refused: %q", text)
	}
	toolOrigin := "origin=" + e.tool.URL + " "
	if got := e.tool.received("POST /submit"); len(got) != 1 || !strings.Contains(got[0], toolOrigin) {
		t.Errorf("the tool received %q; want one post with its own %s", got, toolOrigin)
	}

	target := e.apps + "/apps/tool/delete"
	e.navigate(e.crm.URL + "/hostile.html?target=" + url.QueryEscape(target))
	e.waitHost(`location.pathname === "/apps/tool/delete" && document.readyState === "complete"`)
	if got := e.net.status(target); got != http.StatusForbidden {
		t.Errorf("the cross-origin post answered %d; want 403", got)
	}
	if _, text := e.location(); !strings.Contains(text, "another site may not") {
		t.Errorf("the refusal page says %q", text)
	}
	if got := e.tool.received("/delete"); len(got) > 0 {
		t.Errorf("the cross-origin post reached the tool: %q", got)
	}
}
