package caddymodule

// Browser tests of the gateway's own sign-in (session.oidc) for a Helpdesk
// on another site, judged by what Chromium does with third-party cookies
// blocked: the Helpdesk at helpdesk.localhost, the gateway at
// apps.localhost (another site: Chromium takes "localhost" for a registry,
// so each *.localhost name is a site of its own, resolved to loopback, and a
// secure context over plain http, where Secure and __Host- cookies work),
// the OpenID provider (internal/oidctest) at 127.0.0.1, a third site. The
// app's frame is a third-party context: the sign-in page's button opens the
// provider in a popup, and the session is a Partitioned cookie, kept for the
// Helpdesk's site alone.
//
// The browser is a Chromium of its own, started with the switch that turns
// on the third-party cookie phase-out (--test-third-party-cookie-phaseout),
// which refuses a cross-site frame's unpartitioned cookies whatever the
// profile says. (Headless Chromium's default profile blocks them too, by
// its settings: the reason it gives is then UserPreferences; a profile that
// allows them takes them.) Each test first proves, with a probe, that its
// browser context refuses a cross-site frame's unpartitioned cookie for the
// phase-out's reason, neither storing nor sending it, and takes its
// partitioned one; TestBrowserSignInProbeSeesThirdPartyCookiesWhereAllowed
// shows that the probe does see third-party cookies where they are allowed.
//
// Each test has a browser context of its own; each tab, and what runs in
// it (its frames, the popup), a timeout.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/helpdeskapps/gateway/caddymodule/signin"
	"github.com/helpdeskapps/gateway/internal/chromiumtest"
	"github.com/helpdeskapps/gateway/internal/oidctest"
)

const (
	// signInTestTimeout bounds each tab of these tests: a sign-in runs a
	// popup through three sites.
	signInTestTimeout = 60 * time.Second
	// signInAppPath is the path of the app's page in its frame.
	signInAppPath = "/apps/crm/app.html"
	// phaseoutReason is Chromium's reason for refusing a cookie that the
	// third-party cookie phase-out blocks (CookieBlockedReason and
	// SetCookieBlockedReason ThirdPartyPhaseout). A profile that blocks
	// third-party cookies by its settings gives UserPreferences instead.
	phaseoutReason = "ThirdPartyPhaseout"
)

// phaseoutFlags are the switches of the browser of these tests. The
// phase-out refuses a cross-site frame's unpartitioned cookies whatever
// the profile's settings say (the probe checks the reason).
var phaseoutFlags = map[string]any{"test-third-party-cookie-phaseout": true}

// signInCaddyfile is the Helpdesk's site (and another one, other.localhost,
// for a page of a third site), whose pages load host.js from the gateway,
// and the gateway's, with crm for agents. The gateway's site also
// serves the probe: /probe/page is a page that shows the Sec-Fetch-Site
// and Sec-Fetch-Dest it was requested with, /probe/set sets an
// unpartitioned and a partitioned SameSite=None cookie, /probe/echo
// answers with the Cookie header it got.
const signInCaddyfile = `
http://apps.localhost:%[1]s {
	bind 127.0.0.1
	handle /probe/page {
		header Content-Type "text/html; charset=utf-8"
		header Cache-Control no-store
		respond "<!doctype html><title>probe</title><p id=site>{http.request.header.Sec-Fetch-Site}</p><p id=dest>{http.request.header.Sec-Fetch-Dest}</p>"
	}
	handle /probe/set {
		header Cache-Control no-store
		header +Set-Cookie "probe_plain={query.n}; Path=/probe; Secure; SameSite=None"
		header +Set-Cookie "probe_part={query.n}; Path=/probe; Secure; SameSite=None; Partitioned"
		respond 204
	}
	handle /probe/echo {
		header Content-Type "text/plain; charset=utf-8"
		header Cache-Control no-store
		respond "{http.request.header.Cookie}"
	}
	helpdesk_apps /apps {
		frame_ancestors http://helpdesk.localhost:%[1]s
		session {
			oidc {
				issuer %[2]s
				client_id helpdesk-apps
				client_secret gateway-secret
				scopes openid email profile helpdesk
				mismatch deny
			}
		}
		app crm {
			roles agent
			to %[3]s
		}
	}
}

http://helpdesk.localhost:%[1]s, http://other.localhost:%[1]s {
	bind 127.0.0.1
	handle /apps/_bridge/* {
		reverse_proxy 127.0.0.1:%[1]s {
			header_up Host apps.localhost:%[1]s
		}
	}
	handle {
		root * "%[4]s"
		file_server
	}
}
`

// signInWorld is one test's world: the sites, the provider, the app's
// upstream, and a browser context of its own in the phase-out browser.
type signInWorld struct {
	t        *testing.T
	port     string
	helpdesk string // http://helpdesk.localhost:PORT, the Helpdesk's origin
	other    string // http://other.localhost:PORT, a page of a third site
	apps     string // http://apps.localhost:PORT, the gateway's origin
	p        *oidctest.Provider
	up       *recordingFiles
	// browser is the context of the world's own browser context; tabs
	// opened from it share its cookies.
	browser   context.Context
	browserID cdp.BrowserContextID
	probes    int
}

// newSignInWorld starts the world in the phase-out browser, and proves
// that its browser context blocks third-party cookies.
func newSignInWorld(t *testing.T) *signInWorld {
	t.Helper()
	w := startSignInWorld(t, chromiumtest.BrowserWith(t, phaseoutFlags))
	tab := w.tab()
	w.requireThirdPartyCookiesBlocked(tab)
	return w
}

// startSignInWorld starts the world in a new browser context of bctx.
func startSignInWorld(t *testing.T, bctx context.Context) *signInWorld {
	t.Helper()
	// Registered first, the browser context is disposed of last.
	own, closeOwn := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	t.Cleanup(closeOwn)
	if err := chromedp.Do(own); err != nil {
		t.Fatalf("opening a browser context: %v", err)
	}
	port := distinctPorts(t, 1)[0]
	w := &signInWorld{
		t: t, port: port, browser: own, browserID: chromedp.FromContext(own).BrowserContextID,
		helpdesk: "http://helpdesk.localhost:" + port,
		other:    "http://other.localhost:" + port,
		apps:     "http://apps.localhost:" + port,
		up:       newRecordingFiles(t, filepath.Join(browserTestdata(t), "apps")),
	}
	// The provider at 127.0.0.1 (the gateway reaches it there; Go does
	// not resolve *.localhost): a site of its own for the browser, whose
	// cookies no page of the other two shares.
	w.p = oidctest.Start(t, oidctest.Config{
		Clients: []oidctest.Client{{ID: "helpdesk-apps", Secret: "gateway-secret", RedirectURIs: []string{w.apps + "/apps/_auth/callback"}}},
		Accounts: []oidctest.Account{
			{Sub: "alice", Email: "alice@example.com", EmailVerified: true, Name: "Alice Agent", Role: "agent", DivisionID: 7},
			{Sub: "bob", Email: "bob@example.com", EmailVerified: true, Name: "Bob Owner", Role: "owner", DivisionID: 7},
		},
	})
	startCaddyfile(t, fmt.Sprintf(signInCaddyfile, port, w.p.Issuer(), w.up.hostport(), browserTestdata(t)))
	return w
}

// signInTab is a tab of the world's browser context, with what the browser
// reports of the cookies of the responses the tab and its cross-site frames
// (targets of their own) get.
type signInTab struct {
	*bridgeEnv
	net *tabNetwork
	// frames holds the contexts attached to the tab's cross-site frames,
	// by target.
	frames map[target.ID]context.Context
}

// tab opens a tab in the world's browser context.
func (w *signInWorld) tab() *signInTab {
	w.t.Helper()
	n := newTabNetwork()
	e := openTab(w.t, w.browser, []string{w.port, w.port}, signInTestTimeout, n.listen)
	e.helpdesk, e.apps = w.helpdesk, w.apps
	return &signInTab{bridgeEnv: e, net: n, frames: make(map[target.ID]context.Context)}
}

// ---- The tab's cross-site frames ------------------------------------------

// frame returns a context attached to this tab's frame whose URL contains
// part, or nil when there is none yet. A cross-site frame runs in a
// process of its own, a target whose parent is the tab; other tabs' frames
// of the same URL are not this tab's.
func (t *signInTab) frame(part string) context.Context {
	tabID := chromedp.FromContext(t.ctx).Target.TargetID
	infos, err := chromedp.Targets(t.ctx)
	if err != nil {
		return nil
	}
	for _, info := range infos {
		if info.Type != "iframe" || info.ParentID != tabID || !strings.Contains(info.URL, part) {
			continue
		}
		if c, ok := t.frames[info.TargetID]; ok {
			return c
		}
		// Detached, not closed, when the test ends: the tab goes with it.
		c, cancel := chromedp.NewContext(t.ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel(), chromedp.WithListener(t.net.listen))
		t.t.Cleanup(cancel)
		if chromedp.Do(c) != nil {
			return nil
		}
		t.frames[info.TargetID] = c
		return c
	}
	return nil
}

// frameEval evaluates expr, awaiting a promise, in the tab's frame whose
// URL contains part, waiting for that frame and its document, and decodes
// its value.
func frameEval[T any](t *signInTab, part, expr string) T {
	t.t.Helper()
	deadline := time.Now().Add(bridgeWaitTimeout)
	for {
		var err error
		if c := t.frame(part); c != nil {
			var raw []byte
			if raw, err = chromedp.Run(c, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise)); err == nil {
				return decodeEval[T](t.t, expr, raw)
			}
			var exc *chromedp.ExceptionError
			if errors.As(err, &exc) {
				t.t.Fatalf("evaluating in %s: %s: %v", part, expr, err)
			}
		}
		if time.Now().After(deadline) || t.ctx.Err() != nil {
			t.t.Fatalf("evaluating in %s: %s: no such frame of this tab, or no document (last error: %v)", part, expr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFrame waits until cond is true in the tab's frame whose URL
// contains part.
func (t *signInTab) waitFrame(part, cond string) {
	t.t.Helper()
	deadline := time.Now().Add(bridgeWaitTimeout)
	for {
		if c := t.frame(part); c != nil {
			if ok, err := chromedp.Run(c, chromedp.Evaluate[bool](jsCondition(cond))); err == nil && ok {
				return
			}
		}
		if time.Now().After(deadline) || t.ctx.Err() != nil {
			var shows string
			if c := t.frame(part); c != nil {
				shows, _ = chromedp.Run(c, chromedp.Evaluate[string](`location.href + ": " + document.title + ": " + (document.body ? document.body.innerText.slice(0, 300) : "")`))
			}
			log, _ := t.evalRaw(nil, "JSON.stringify(window.T ? T.log.map(x => [x.type, x.detail]) : null)")
			t.t.Fatalf("waiting in frame %s for %s: timed out\nthe frame shows: %s\nthe Helpdesk page saw: %s\nthe browser refused the cookies:%s",
				part, cond, shows, log, t.net.refused())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mount opens the Helpdesk page in the tab and mounts crm's page as the
// Helpdesk's user; it returns the instance's appId.
func (w *signInWorld) mount(tab *signInTab, user map[string]any) string {
	w.t.Helper()
	return tab.mountOn(w.helpdesk, mountOptions{
		App: "crm", Src: w.apps + signInAppPath, Mode: "embed", Placement: "main_menu", User: user,
	})
}

// aliceAsTheHelpdeskSeesHer is the Helpdesk's user who is alice at the
// provider: another id (the Helpdesk's own), the same e-mail address.
var aliceAsTheHelpdeskSeesHer = map[string]any{"id": "u-1", "name": "Alice", "email": "alice@example.com", "role": "agent"}

// ---- The network as the tab sees it -------------------------------------

// tabRequest is a request of a tab or its frames, as their events tell it.
type tabRequest struct {
	URL string
	// Extra is whether the browser reported what it did with the
	// response's cookies (Network.responseReceivedExtraInfo), Refused the
	// Set-Cookie lines it refused, each with its reasons.
	Extra   bool
	Refused []string
}

// tabNetwork records the requests of a tab and its frames from their
// events. The browser does not send every request's ExtraInfo events (the
// headers as sent, and what became of the response's cookies), a
// navigation's least of all: the tests read such facts from the servers
// (the Sec-Fetch-* headers, the Cookie header) and from the cookie store,
// and only the reasons of a refusal from here.
type tabNetwork struct {
	mu    sync.Mutex
	order []network.RequestID
	reqs  map[network.RequestID]*tabRequest
}

func newTabNetwork() *tabNetwork {
	return &tabNetwork{reqs: make(map[network.RequestID]*tabRequest)}
}

func (n *tabNetwork) get(id network.RequestID) *tabRequest {
	r := n.reqs[id]
	if r == nil {
		r = new(tabRequest)
		n.reqs[id] = r
		n.order = append(n.order, id)
	}
	return r
}

// listen runs in the tab's event loop: it must return fast and run no command.
func (n *tabNetwork) listen(ev any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if ev.Request != nil {
			n.get(ev.RequestID).URL = ev.Request.URL
		}
	case *network.EventResponseReceivedExtraInfo:
		r := n.get(ev.RequestID)
		r.Extra = true
		for _, b := range ev.BlockedCookies {
			reasons := make([]string, len(b.BlockedReasons))
			for i, reason := range b.BlockedReasons {
				reasons[i] = string(reason)
			}
			r.Refused = append(r.Refused, elideValue(b.CookieLine)+" ["+strings.Join(reasons, " ")+"]")
		}
	}
}

// elideValue shortens the value of a Set-Cookie line that is longer than a
// probe's, such as a sealed session's.
func elideValue(line string) string {
	nameValue, attrs, _ := strings.Cut(line, ";")
	if name, value, ok := strings.Cut(nameValue, "="); ok && len(value) > 32 {
		nameValue = name + "=" + value[:16] + "…"
	}
	if attrs != "" {
		return nameValue + ";" + attrs
	}
	return nameValue
}

// refused lists the cookies the browser reported it refused, by URL.
func (n *tabNetwork) refused() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var b strings.Builder
	for _, id := range n.order {
		for _, line := range n.reqs[id].Refused {
			fmt.Fprintf(&b, "\n\t%s: %s", n.reqs[id].URL, line)
		}
	}
	if b.Len() == 0 {
		return " none reported"
	}
	return b.String()
}

// response returns the last request for u, of the tab or its frames, whose
// response's cookies the browser reported on, if there is one.
func (t *signInTab) response(u string) (tabRequest, bool) {
	t.net.mu.Lock()
	defer t.net.mu.Unlock()
	for _, id := range slices.Backward(t.net.order) {
		if r := t.net.reqs[id]; r.URL == u && r.Extra {
			found := *r
			found.Refused = slices.Clone(r.Refused)
			return found, true
		}
	}
	return tabRequest{}, false
}

// eventually waits until cond holds, failing the test after
// bridgeWaitTimeout with what it waited for.
func (t *signInTab) eventually(what string, cond func() bool) {
	t.t.Helper()
	for deadline := time.Now().Add(bridgeWaitTimeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) || t.ctx.Err() != nil {
			t.t.Fatalf("waiting for %s: timed out", what)
		}
	}
}

// ---- Cookies --------------------------------------------------------------

// cookies returns every cookie of the world's browser context named name,
// partitioned or not, from the browser's store.
func (w *signInWorld) cookies(name string) []*network.Cookie {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.browser, bridgeWaitTimeout)
	defer cancel()
	res, err := chromedp.CallBrowser(ctx, storage.GetCookies, storage.GetCookiesParams{BrowserContextID: w.browserID})
	if err != nil {
		w.t.Fatalf("reading the browser's cookies: %v", err)
	}
	var out []*network.Cookie
	for _, c := range res.Cookies {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// describe writes cookies for a failure message.
func describe(cookies []*network.Cookie) string {
	var b strings.Builder
	for _, c := range cookies {
		fmt.Fprintf(&b, "\n\t%s (domain %s, path %s, Secure %v, HttpOnly %v, SameSite %q, partition %+v)",
			c.Name, c.Domain, c.Path, c.Secure, c.HTTPOnly, c.SameSite, c.PartitionKey)
	}
	if b.Len() == 0 {
		return " none"
	}
	return b.String()
}

// helpdeskSite is the top-level site a cookie partitioned under the
// Helpdesk's pages has for its key: scheme and registrable domain, no port.
func (w *signInWorld) helpdeskSite() string { return "http://helpdesk.localhost" }

// requireSession checks that the browser context holds exactly one
// gateway session, as the gateway must set it: host-only for the gateway's
// host, every path, Secure, HttpOnly, SameSite=None, and partitioned under
// the Helpdesk's site as a cross-site frame's.
func (w *signInWorld) requireSession() *network.Cookie {
	w.t.Helper()
	got := w.cookies(signin.SessionCookie)
	if len(got) != 1 {
		w.t.Fatalf("the browser holds %d gateway sessions, want one partitioned under %s:%s", len(got), w.helpdeskSite(), describe(got))
	}
	c := got[0]
	if c.Domain != "apps.localhost" || c.Path != "/" || !c.Secure || !c.HTTPOnly || c.SameSite != network.CookieSameSiteNone {
		w.t.Errorf("the gateway's session cookie:%s\nwant host-only apps.localhost, path /, Secure, HttpOnly, SameSite None", describe(got))
	}
	if c.PartitionKey == nil || c.PartitionKey.TopLevelSite != w.helpdeskSite() || !c.PartitionKey.HasCrossSiteAncestor {
		w.t.Fatalf("the gateway's session cookie is not partitioned under the Helpdesk's site %s (as a cross-site frame's):%s", w.helpdeskSite(), describe(got))
	}
	return c
}

// ---- The probe ------------------------------------------------------------

// probeResult is what a cross-site frame's cookies came to.
type probeResult struct {
	value string
	// site and dest are the Sec-Fetch-Site and Sec-Fetch-Dest the frame's
	// page was requested with, as the server got them.
	site, dest string
	// sent is the Cookie header of the frame's fetch of /probe/echo, as the
	// server got it.
	sent string
	// refused are the Set-Cookie lines of /probe/set the browser refused,
	// with its reasons.
	refused []string
	// plain and part are the probe's cookies of this value in the store.
	plain, part []*network.Cookie
}

// probeTries bounds the probe's tries to have the browser report on the
// cookies it was sent, probeReportWait the wait for each report.
const (
	probeTries      = 3
	probeReportWait = 2 * time.Second
)

// holdsWithin reports whether cond holds, trying until d has passed.
func holdsWithin(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// probe opens, in a page of the Helpdesk's site in tab, a frame of the
// gateway's site, which fetches /probe/set (an unpartitioned and a
// partitioned cookie, both SameSite=None and Secure) and then /probe/echo,
// which says what the frame sent back.
func (w *signInWorld) probe(tab *signInTab) probeResult {
	w.t.Helper()
	w.probes++
	page := fmt.Sprintf("%s/probe/page?probe=%d-%d", w.apps, time.Now().UnixNano(), w.probes)
	tab.navigate(w.helpdesk + "/silent.html")
	hostEval[bool](tab.bridgeEnv, `document.getElementById("app").src = `+jsValue(w.t, page)+`, true`)
	tab.waitFrame(page, `document.readyState === "complete" && document.title === "probe"`)
	r := probeResult{
		site: frameEval[string](tab, page, `document.getElementById("site").textContent`),
		dest: frameEval[string](tab, page, `document.getElementById("dest").textContent`),
	}
	// The browser reports on a response's cookies in an event it does
	// not always send: each try sets cookies of a value of its own.
	for try := 1; try <= probeTries; try++ {
		r.value = fmt.Sprintf("%d-%d", w.probes, try)
		set := w.apps + "/probe/set?n=" + r.value
		if status := frameEval[int](tab, page, `fetch(`+jsValue(w.t, set)+`, {credentials: "include", cache: "no-store"}).then(r => r.status)`); status != http.StatusNoContent {
			w.t.Fatalf("the probe's /probe/set: %d", status)
		}
		r.sent = frameEval[string](tab, page, `fetch("/probe/echo", {credentials: "include", cache: "no-store"}).then(r => r.text())`)
		r.plain, r.part = nil, nil
		for _, c := range w.cookies("probe_plain") {
			if c.Value == r.value {
				r.plain = append(r.plain, c)
			}
		}
		for _, c := range w.cookies("probe_part") {
			if c.Value == r.value {
				r.part = append(r.part, c)
			}
		}
		var res tabRequest
		if holdsWithin(probeReportWait, func() bool {
			var ok bool
			res, ok = tab.response(set)
			return ok
		}) {
			r.refused = res.Refused
			return r
		}
		w.t.Logf("the browser did not report on the cookies of %s (try %d of %d)", set, try, probeTries)
	}
	w.t.Fatalf("the browser reported on the cookies of none of %d tries of the probe", probeTries)
	return r
}

// requireThirdPartyCookiesBlocked proves that the world's browser context
// blocks third-party cookies, by the phase-out: a cross-site frame's
// unpartitioned cookie is refused for that reason, neither stored nor
// sent, while its partitioned one is stored, under the Helpdesk's site,
// and sent.
func (w *signInWorld) requireThirdPartyCookiesBlocked(tab *signInTab) {
	w.t.Helper()
	r := w.probe(tab)
	if r.site != "cross-site" || r.dest != "iframe" {
		w.t.Fatalf("the probe's frame was requested with Sec-Fetch-Site %q, Sec-Fetch-Dest %q; want a cross-site iframe", r.site, r.dest)
	}
	part, plain := "probe_part="+r.value, "probe_plain="+r.value
	if strings.Contains(r.sent, plain) || len(r.plain) != 0 {
		w.t.Fatalf("third-party cookies are not blocked: a cross-site frame's unpartitioned cookie was sent back (%q) or stored:%s", r.sent, describe(r.plain))
	}
	if len(r.refused) != 1 || !strings.HasPrefix(r.refused[0], plain+";") || !strings.Contains(r.refused[0], phaseoutReason) {
		w.t.Fatalf("the browser refused %q; want the unpartitioned cookie only, for the reason %s (the switch in force)", r.refused, phaseoutReason)
	}
	if !strings.Contains(r.sent, part) || len(r.part) != 1 || r.part[0].PartitionKey == nil || r.part[0].PartitionKey.TopLevelSite != w.helpdeskSite() {
		w.t.Fatalf("the frame's partitioned cookie was not kept for the Helpdesk's site: sent %q, stored:%s", r.sent, describe(r.part))
	}
}

// ---- The sign-in ----------------------------------------------------------

// requireSignInPage waits until the frame shows the gateway's sign-in page,
// and checks what its data island tells the page.
func (w *signInWorld) requireSignInPage(tab *signInTab) {
	w.t.Helper()
	tab.waitFrame(signInAppPath, `document.getElementById("signin") && document.getElementById("signin-data") && document.readyState === "complete"`)
	var data map[string]any
	if err := json.Unmarshal([]byte(frameEval[string](tab, signInAppPath, `document.getElementById("signin-data").textContent`)), &data); err != nil {
		w.t.Fatalf("the sign-in page's data: %v", err)
	}
	want := map[string]any{
		"startURL":       w.apps + "/apps/_auth/start?origin=" + url.QueryEscape(w.apps),
		"exchangeURL":    "/apps/_auth/session",
		"callbackOrigin": w.apps,
		"targets":        []any{w.helpdesk},
	}
	for k, v := range want {
		if !sameJSON(w.t, data[k], v) {
			w.t.Errorf("the sign-in page's %s = %v, want %v", k, data[k], v)
		}
	}
}

// clickPoint returns where, in the tab's viewport, the centre of the
// element sel of the app's frame is, after scrolling it into view; it
// checks that a click there hits it.
func clickPoint(tab *signInTab, sel string) (float64, float64) {
	tab.t.Helper()
	type point struct {
		X   float64 `json:"x"`
		Y   float64 `json:"y"`
		Hit bool    `json:"hit"`
	}
	outer := hostEval[point](tab.bridgeEnv, `(() => {
		const f = T.inst.iframe;
		f.scrollIntoView({block: "nearest", inline: "nearest"});
		const r = f.getBoundingClientRect(), s = getComputedStyle(f);
		return {x: r.left + f.clientLeft + parseFloat(s.paddingLeft), y: r.top + f.clientTop + parseFloat(s.paddingTop), hit: true};
	})()`)
	inner := frameEval[point](tab, signInAppPath, `(() => {
		const b = document.querySelector(`+jsValue(tab.t, sel)+`);
		b.scrollIntoView({block: "center", inline: "center"});
		const r = b.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
		const at = document.elementFromPoint(x, y);
		return {x, y, hit: !!at && (at === b || b.contains(at))};
	})()`)
	x, y := outer.X+inner.X, outer.Y+inner.Y
	if !inner.Hit || !hostEval[bool](tab.bridgeEnv, fmt.Sprintf(`document.elementFromPoint(%g, %g) === T.inst.iframe`, x, y)) {
		tab.t.Fatalf("%s of the app's frame is not under (%g, %g) of the tab", sel, x, y)
	}
	return x, y
}

// click clicks with the mouse, as a user does, at the centre of sel in the
// app's frame, the tab's viewport taking the click; it returns after the
// try at which the frame had the mousedown. The browser sends a click to a
// cross-site frame by hit-testing data that the frame's compositor hands
// it: before that, a click there goes to the Helpdesk page's iframe element
// instead (which ignores it), and is tried again, after both pages have
// painted once more.
func click(tab *signInTab, sel string) int {
	tab.t.Helper()
	const tries = 5
	paint := `new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))`
	// Each page records the mousedowns it gets: the frame whether on sel.
	record := `(window.__downs = [], window.__recording || addEventListener("mousedown", e => __downs.push(
		e.target.closest && e.target.closest(` + jsValue(tab.t, sel) + `) ? "target" : e.target.id || e.target.tagName), true), window.__recording = true)`
	for try := 1; ; try++ {
		frameEval[bool](tab, signInAppPath, paint)
		hostEval[bool](tab.bridgeEnv, paint)
		x, y := clickPoint(tab, sel)
		frameEval[bool](tab, signInAppPath, record)
		hostEval[bool](tab.bridgeEnv, record)
		if err := chromedp.Do(tab.ctx, chromedp.MouseClickXY(x, y)); err != nil {
			tab.t.Fatalf("clicking %s: %v", sel, err)
		}
		var inFrame, inHost []string
		tab.eventually("the mousedown at ("+fmt.Sprint(x, ", ", y)+") to reach a page", func() bool {
			inFrame = frameEval[[]string](tab, signInAppPath, "window.__downs || []")
			inHost = hostEval[[]string](tab.bridgeEnv, "window.__downs || []")
			return len(inFrame)+len(inHost) > 0
		})
		if slices.Equal(inFrame, []string{"target"}) && len(inHost) == 0 {
			return try
		}
		if len(inFrame) > 0 || !slices.Equal(inHost, []string{"IFRAME"}) || try == tries {
			tab.t.Fatalf("a click at (%g, %g) for %s of the app's frame, try %d: the frame had it on %v, the Helpdesk page on %v", x, y, sel, try, inFrame, inHost)
		}
	}
}

// signIn clicks the frame's sign-in button with the mouse, signs in as
// login on the provider's page in the popup that opens, and waits until
// the popup has closed itself.
func (w *signInWorld) signIn(tab *signInTab, login string) {
	w.t.Helper()
	w.requireSignInPage(tab)
	tab.waitFrame(signInAppPath, `!document.getElementById("signin").disabled`)
	opened := w.popups(tab)
	if tries := click(tab, "#signin"); tries > 1 {
		w.t.Logf("the click reached the frame at try %d", tries)
	}
	w.signInInPopup(tab, opened, login, func() string {
		return frameEval[string](tab, signInAppPath, `document.getElementById("status-text").textContent`)
	})
	// The click was the user's, as the browser sees it.
	if !frameEval[bool](tab, signInAppPath, `navigator.userActivation.hasBeenActive`) {
		w.t.Error("the frame has no user activation after the click")
	}
}

// popups returns the popup the tab opens next: a page with an opener, in
// the world's browser context. Call it before the click.
func (w *signInWorld) popups(tab *signInTab) <-chan target.ID {
	return chromedp.WaitNewTarget(tab.ctx, func(info *target.Info) bool {
		return info.Type == "page" && info.BrowserContextID == w.browserID
	})
}

// signInInPopup waits for the popup opened to open, signs in there as
// login on the provider's page, and waits until the popup has closed
// itself; status says what the sign-in page says, for a failure.
func (w *signInWorld) signInInPopup(tab *signInTab, opened <-chan target.ID, login string, status func() string) {
	w.t.Helper()
	var id target.ID
	select {
	case got, ok := <-opened:
		if !ok {
			w.t.Fatal("waiting for the popup: the tab is gone")
		}
		id = got
	case <-time.After(bridgeWaitTimeout):
		w.t.Fatalf("no popup opened on the click; the sign-in page says %q", status())
	}
	popup, closePopup := chromedp.NewContext(tab.ctx, chromedp.WithTargetID(id))
	defer closePopup()
	if err := chromedp.Do(popup,
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		chromedp.SendKeys(chromedp.CSS(`input[name="login"]`), login),
	); err != nil {
		w.t.Fatalf("the provider's page in the popup: %v", err)
	}
	if at, err := chromedp.Run(popup, chromedp.Location()); err != nil || !strings.HasPrefix(at, w.p.Issuer()+"/interaction/") {
		w.t.Errorf("the popup signs in at %q (%v), want the provider's page", at, err)
	}
	if opener, err := chromedp.Run(popup, chromedp.Evaluate[bool](`window.opener !== null`)); err != nil || !opener {
		w.t.Errorf("the popup has no opener (%v): its last page could not answer the sign-in page", err)
	}
	if err := chromedp.Do(popup, chromedp.Click(chromedp.ID("sign-in"))); err != nil {
		w.t.Fatalf("signing in in the popup: %v", err)
	}
	tab.eventually("the popup to close itself", func() bool {
		infos, err := chromedp.Targets(tab.ctx)
		if err != nil {
			return false
		}
		return !slices.ContainsFunc(infos, func(i *target.Info) bool { return i.TargetID == id })
	})
}

// waitForApp waits until the frame shows the app with the bridge
// connected to instance id, and the Helpdesk page had the app's ready.
func waitForApp(tab *signInTab, id string) {
	tab.t.Helper()
	tab.waitFrame(signInAppPath, `window.R !== undefined && HelpdeskApps.connected === true && HelpdeskApps.appId === `+jsValue(tab.t, id))
	tab.waitHost(`T.count("ready") >= 1 && T.received("helpdesk:app:ready").length >= 1`)
}

// frameStatus returns the HTTP status of the document in the app's frame.
func frameStatus(tab *signInTab) int {
	tab.t.Helper()
	return frameEval[int](tab, signInAppPath, `performance.getEntriesByType("navigation")[0].responseStatus`)
}

// ---- The tests ------------------------------------------------------------

// TestBrowserSignInOpensTheAppInACrossSiteFrame: a Helpdesk on another
// site frames crm; without a session the frame shows the sign-in page;
// a real click opens the provider in a popup, the user signs in there, the
// popup closes itself, and the frame reloads into the app, its bridge
// connected, with a session the browser keeps partitioned under the
// Helpdesk's site, in a browser that blocks third-party cookies.
func TestBrowserSignInOpensTheAppInACrossSiteFrame(t *testing.T) {
	w := newSignInWorld(t)
	tab := w.tab()
	id := w.mount(tab, aliceAsTheHelpdeskSeesHer)

	// The frame, a third-party context (the probe's frame, of the same
	// two hosts, was requested as cross-site), has no session: the
	// gateway answers with the sign-in page.
	w.requireSignInPage(tab)
	if got := frameStatus(tab); got != http.StatusUnauthorized {
		t.Errorf("the frame without a session: status %d, want 401", got)
	}
	if n := w.up.count(signInAppPath); n != 0 {
		t.Errorf("the app's upstream served %d pages to a frame without a session", n)
	}

	// A click that is no user's, a script's, opens no popup: the browser
	// blocks popups without a user's activation, so the one below opens
	// on the mouse's click.
	tab.waitFrame(signInAppPath, `!document.getElementById("signin").disabled`)
	frameEval[bool](tab, signInAppPath, `document.getElementById("signin").click(), true`)
	tab.waitFrame(signInAppPath, `document.getElementById("status-text").textContent.startsWith("Your browser blocked the sign-in window")`)
	if frameEval[bool](tab, signInAppPath, `navigator.userActivation.hasBeenActive`) {
		t.Fatal("the frame had a user's activation before any click")
	}

	w.signIn(tab, "alice@example.com")
	waitForApp(tab, id)

	if got := frameStatus(tab); got != http.StatusOK {
		t.Errorf("the app's page in the frame: status %d", got)
	}
	if got := frameEval[map[string]any](tab, signInAppPath, "HelpdeskApps.user"); !sameJSON(t, got, aliceAsTheHelpdeskSeesHer) {
		t.Errorf("the app has the Helpdesk's user %v", got)
	}
	w.requireSession()
	if got := w.cookies(signin.StateCookie); len(got) != 0 {
		t.Errorf("the popup's state cookie outlived the callback:%s", describe(got))
	}
	// The session is HttpOnly: the app's scripts never see it.
	if got := frameEval[string](tab, signInAppPath, "document.cookie"); strings.Contains(got, "helpdesk_apps") {
		t.Errorf("the app's page reads the gateway's cookies: %q", got)
	}
	// The app's upstream had the user from the provider's claims, and
	// never the gateway's session.
	reqs := w.up.requests(signInAppPath)
	if len(reqs) == 0 {
		t.Fatal("the app's upstream saw no request for its page")
	}
	last := reqs[len(reqs)-1]
	// The sign-in page reloaded the frame: a request of the frame's own
	// origin, for a frame.
	if last.Header.Get("Sec-Fetch-Site") != "same-origin" || last.Header.Get("Sec-Fetch-Dest") != "iframe" {
		t.Errorf("the app's upstream had the frame's reload with Sec-Fetch-Site %q, Sec-Fetch-Dest %q", last.Header.Get("Sec-Fetch-Site"), last.Header.Get("Sec-Fetch-Dest"))
	}
	if last.Header.Get("X-Helpdesk-User-Id") != "alice" || last.Header.Get("X-Helpdesk-User-Role") != "agent" || last.Header.Get("X-Helpdesk-User-Email") != "alice@example.com" {
		t.Errorf("the app's upstream saw the identity %v", last.Header)
	}
	for _, r := range w.up.all() {
		if c := r.Header.Get("Cookie"); strings.Contains(c, "helpdesk_apps") {
			t.Errorf("the gateway's cookies reached the app's upstream on %s: %q", r.Path, c)
		}
	}

	// The shim checked the Helpdesk's user against the one signed in: the
	// same e-mail address, so the app stays.
	tab.waitFrame(signInAppPath, `performance.getEntriesByType("resource").some(r => r.name === `+jsValue(t, w.apps+"/apps/_auth/check")+` && r.responseStatus === 204)`)
	if !frameEval[bool](tab, signInAppPath, `window.R !== undefined && HelpdeskApps.connected === true`) {
		t.Error("the app went away after the check of the matching user")
	}
	w.requireSession()

	// The popup's sign-in granted no third-party cookie access (such as
	// Chromium's popup heuristics would): they are still blocked.
	w.requireThirdPartyCookiesBlocked(tab)
}

// signedIn mounts crm in a new tab and signs in as alice; it returns the
// tab.
func (w *signInWorld) signedIn() *signInTab {
	w.t.Helper()
	tab := w.tab()
	id := w.mount(tab, aliceAsTheHelpdeskSeesHer)
	w.signIn(tab, "alice@example.com")
	waitForApp(tab, id)
	w.requireSession()
	return tab
}

// TestBrowserSignInPageHoldsTheHandshake: the sign-in page in the frame
// tells the Helpdesk that the frame is live, so that the Helpdesk reports
// no handshake timeout while the user signs in; it is not the app's ready.
func TestBrowserSignInPageHoldsTheHandshake(t *testing.T) {
	w := newSignInWorld(t)
	tab := w.tab()
	const timeout = 3 * time.Second
	start := time.Now()
	tab.mountOn(w.helpdesk, mountOptions{
		App: "crm", Src: w.apps + signInAppPath, Mode: "embed", Placement: "main_menu",
		User: aliceAsTheHelpdeskSeesHer, HandshakeTimeout: intPtr(int(timeout / time.Millisecond)),
	})
	w.requireSignInPage(tab)
	tab.waitHost(`T.received("helpdesk:app:signin").length === 1`)
	time.Sleep(time.Until(start.Add(timeout + time.Second)))
	if errs := hostEval[[]map[string]any](tab.bridgeEnv, `T.events("error")`); len(errs) != 0 {
		t.Errorf("the Helpdesk reported errors while the sign-in page was shown: %v", errs)
	}
	if n := hostEval[int](tab.bridgeEnv, `T.count("ready")`); n != 0 {
		t.Errorf("the Helpdesk had %d ready events from the sign-in page", n)
	}
}

// TestBrowserSignInSessionServesAnotherTabOfTheHelpdesk: another tab of
// the same Helpdesk, in the same browser, mounts the app and has it at
// once: the partitioned session is the Helpdesk site's, not one tab's.
func TestBrowserSignInSessionServesAnotherTabOfTheHelpdesk(t *testing.T) {
	w := newSignInWorld(t)
	w.signedIn()
	before := w.up.count(signInAppPath)

	second := w.tab()
	id := w.mount(second, aliceAsTheHelpdeskSeesHer)
	waitForApp(second, id)
	// The frame's first and only document is the app's.
	if nav := frameEval[map[string]any](second, signInAppPath, `(e => ({status: e.responseStatus, type: e.type}))(performance.getEntriesByType("navigation")[0])`); !sameJSON(t, nav, map[string]any{"status": 200, "type": "navigate"}) {
		t.Errorf("the second tab's frame: %v; want the app's page at once", nav)
	}
	if frameEval[bool](second, signInAppPath, `document.getElementById("signin") !== null`) {
		t.Error("the second tab's frame shows a sign-in button")
	}
	reqs := w.up.requests(signInAppPath)
	if len(reqs) != before+1 {
		t.Fatalf("the app's upstream served its page %d times to the second tab, want once", len(reqs)-before)
	}
	if r := reqs[len(reqs)-1]; r.Header.Get("Sec-Fetch-Site") != "cross-site" || r.Header.Get("Sec-Fetch-Dest") != "iframe" || r.Header.Get("X-Helpdesk-User-Id") != "alice" {
		t.Errorf("the app's upstream saw the second tab's frame as: Sec-Fetch-Site %q, Sec-Fetch-Dest %q, user %q",
			r.Header.Get("Sec-Fetch-Site"), r.Header.Get("Sec-Fetch-Dest"), r.Header.Get("X-Helpdesk-User-Id"))
	}
}

// TestBrowserSignInSessionIsTheHelpdeskSitesOnly: the partitioned session
// reaches the gateway from frames under the Helpdesk's site only: not when
// the same URL is opened top-level, nor from a frame under another site.
func TestBrowserSignInSessionIsTheHelpdeskSitesOnly(t *testing.T) {
	w := newSignInWorld(t)
	framed := w.signedIn()
	c := w.requireSession()
	before := w.up.count(signInAppPath)

	// Top-level, the gateway's own site has no session: the sign-in page.
	top := w.tab()
	top.navigate(w.apps + signInAppPath)
	top.waitHost(`document.readyState === "complete"`)
	if status := hostEval[int](top.bridgeEnv, `performance.getEntriesByType("navigation")[0].responseStatus`); status != http.StatusUnauthorized || !hostEval[bool](top.bridgeEnv, `document.getElementById("signin") !== null`) {
		t.Errorf("the app's URL top-level: status %d, %q; want 401 and the sign-in page", status, hostEval[string](top.bridgeEnv, "document.title"))
	}
	if n := w.up.count(signInAppPath); n != before {
		t.Errorf("the app's upstream served its page top-level %d times", n-before)
	}
	// What a top-level page of the gateway's site sends it.
	top.navigate(w.apps + "/probe/page?top")
	if sent := hostEval[string](top.bridgeEnv, `fetch("/probe/echo", {credentials: "include", cache: "no-store"}).then(r => r.text())`); strings.Contains(sent, "helpdesk_apps") {
		t.Errorf("a top-level page of the gateway's site sends %q", sent)
	}
	// Nor do the tab's cookies for the URL, as DevTools lists them, hold
	// an unpartitioned session.
	t.Logf("the top-level tab's cookies for the app's URL (Network.getCookies):%s", describe(top.browserCookies(w.apps+signInAppPath)))
	for _, got := range top.browserCookies(w.apps + signInAppPath) {
		if got.Name == signin.SessionCookie && got.PartitionKey == nil {
			t.Errorf("an unpartitioned session for the gateway:%s", describe([]*network.Cookie{got}))
		}
	}
	// The store still has the one session, partitioned under the
	// Helpdesk's site, and the first tab's frame still sends it.
	if again := w.requireSession(); again.Value != c.Value {
		t.Error("the session cookie changed")
	}
	sent := frameEval[string](framed, signInAppPath, `fetch("/probe/echo", {credentials: "include", cache: "no-store"}).then(r => r.text())`)
	if !strings.Contains(sent, signin.SessionCookie+"="+c.Value) {
		t.Errorf("the Helpdesk's frame of the gateway's site sends %q, without the session", sent)
	}

	// A frame of the gateway's site under a third site's page does not
	// send it either.
	other := w.tab()
	other.navigate(w.other + "/silent.html")
	page := w.apps + "/probe/page?other"
	hostEval[bool](other.bridgeEnv, `document.getElementById("app").src = `+jsValue(t, page)+`, true`)
	other.waitFrame(page, `document.readyState === "complete" && document.title === "probe"`)
	if site := frameEval[string](other, page, `document.getElementById("site").textContent`); site != "cross-site" {
		t.Fatalf("the frame under %s was requested as %q", w.other, site)
	}
	sent = frameEval[string](other, page, `fetch("/probe/set?n=other", {credentials: "include", cache: "no-store"}).then(() => fetch("/probe/echo", {credentials: "include", cache: "no-store"})).then(r => r.text())`)
	if strings.Contains(sent, "helpdesk_apps") || !strings.Contains(sent, "probe_part=other") {
		t.Errorf("a frame of the gateway's site under %s sends %q; want its own partition's cookies only", w.other, sent)
	}
}

// TestBrowserSignInTopLevelSessionDoesNotServeTheHelpdesksFrame: the other
// way round, a sign-in in a top-level tab of the gateway (the sign-in page
// offers it when the popup is blocked) opens the app there, with a session
// partitioned under the gateway's own site, which the Helpdesk's frame
// does not get.
func TestBrowserSignInTopLevelSessionDoesNotServeTheHelpdesksFrame(t *testing.T) {
	w := newSignInWorld(t)
	top := w.tab()
	top.navigate(w.apps + signInAppPath)
	top.waitHost(`document.getElementById("signin") !== null && !document.getElementById("signin").disabled`)
	opened := w.popups(top)
	if err := chromedp.Do(top.ctx, chromedp.Click(chromedp.ID("signin"))); err != nil {
		t.Fatalf("clicking the sign-in button: %v", err)
	}
	w.signInInPopup(top, opened, "alice@example.com", func() string {
		return hostEval[string](top.bridgeEnv, `document.getElementById("status-text").textContent`)
	})
	top.waitHost(`window.R !== undefined && performance.getEntriesByType("navigation")[0].responseStatus === 200`)
	got := w.cookies(signin.SessionCookie)
	if len(got) != 1 || got[0].PartitionKey == nil || got[0].PartitionKey.TopLevelSite != "http://apps.localhost" || got[0].PartitionKey.HasCrossSiteAncestor {
		t.Fatalf("the session of a top-level sign-in:%s\nwant one, partitioned under the gateway's own site", describe(got))
	}
	before := w.up.count(signInAppPath)

	tab := w.tab()
	w.mount(tab, aliceAsTheHelpdeskSeesHer)
	w.requireSignInPage(tab)
	if status := frameStatus(tab); status != http.StatusUnauthorized {
		t.Errorf("the Helpdesk's frame after a top-level sign-in: status %d, want 401", status)
	}
	if n := w.up.count(signInAppPath); n != before {
		t.Errorf("the app's upstream served the Helpdesk's frame %d times", n-before)
	}
}

// TestBrowserSignInRefusesAUserOfAnotherRole: a user the provider signs in
// whose role crm does not allow gets the gateway's 403 page in the frame,
// which tells the Helpdesk, and the app's upstream sees nothing.
func TestBrowserSignInRefusesAUserOfAnotherRole(t *testing.T) {
	w := newSignInWorld(t)
	tab := w.tab()
	w.mount(tab, map[string]any{"id": "u-2", "name": "Bob", "email": "bob@example.com", "role": "owner"})
	w.signIn(tab, "bob")

	tab.waitFrame(signInAppPath, `document.readyState === "complete" && performance.getEntriesByType("navigation")[0].responseStatus === 403`)
	if text := frameEval[string](tab, signInAppPath, "document.body.textContent"); !strings.Contains(text, "Your role or division may not open this app.") {
		t.Errorf("the frame after the sign-in shows %q", text)
	}
	tab.waitHost(`T.raw.some(m => m.fromApp && m.data.event === "helpdesk:app:error" && m.data.payload.code === "FORBIDDEN" && m.data.payload.status === 403)`)
	if hostEval[int](tab.bridgeEnv, `T.count("ready")`) != 0 {
		t.Error("the Helpdesk page got a ready from a refused app")
	}
	if n := w.up.count(signInAppPath); n != 0 {
		t.Errorf("the app's upstream served bob %d times", n)
	}
	w.requireSession() // bob is signed in; crm refuses his role
}

// TestBrowserSignInMismatchDenyEndsTheSession: with mismatch deny, a
// Helpdesk page that says its user is someone else than the one signed in
// to the gateway ends the gateway's session: the frame reloads into the
// sign-in page, which names both users.
func TestBrowserSignInMismatchDenyEndsTheSession(t *testing.T) {
	w := newSignInWorld(t)
	tab := w.tab()
	w.mount(tab, map[string]any{"id": "u-9", "name": "Someone", "email": "someone-else@example.com", "role": "agent"})
	w.signIn(tab, "alice@example.com")

	tab.waitFrame(signInAppPath, `document.getElementById("mismatch") && !document.getElementById("mismatch").hidden`)
	text := frameEval[string](tab, signInAppPath, `document.getElementById("mismatch-text").textContent`)
	if !strings.Contains(text, "alice@example.com") || !strings.Contains(text, "someone-else@example.com") {
		t.Errorf("the mismatch notice says %q; want both users named", text)
	}
	visible := frameEval[bool](tab, signInAppPath, `(() => { const r = document.getElementById("mismatch").getBoundingClientRect(); return r.width > 0 && r.height > 0; })()`)
	if !visible {
		t.Error("the mismatch notice takes no room on the page")
	}
	if got := frameStatus(tab); got != http.StatusUnauthorized {
		t.Errorf("the frame after the mismatch: status %d, want 401", got)
	}
	// The app was open in between, and its shim's check ended the session.
	if n := w.up.count(signInAppPath); n == 0 {
		t.Error("the app never opened: the mismatch was not the shim's check")
	}
	if got := w.cookies(signin.SessionCookie); len(got) != 0 {
		t.Errorf("the session outlived the mismatch:%s", describe(got))
	}
	if got := w.cookies(mismatchCookie); len(got) != 1 || got[0].PartitionKey == nil || got[0].PartitionKey.TopLevelSite != w.helpdeskSite() {
		t.Errorf("the mismatch notice's cookie:%s", describe(got))
	}
}

// TestBrowserSignInProbeSeesThirdPartyCookiesWhereAllowed runs the probe
// in a browser without the phase-out switch whose profile allows
// third-party cookies: there the unpartitioned cookie is stored and sent,
// so the probe can tell, and its verdict elsewhere means what it says.
func TestBrowserSignInProbeSeesThirdPartyCookiesWhereAllowed(t *testing.T) {
	w := startSignInWorld(t, chromiumtest.BrowserWith(t, map[string]any{"user-data-dir": allowingProfile(t)}))
	r := w.probe(w.tab())
	if !strings.Contains(r.sent, "probe_plain="+r.value) || len(r.plain) != 1 || len(r.refused) != 0 {
		t.Fatalf("with third-party cookies allowed, the probe's unpartitioned cookie: sent %q, refused %q, stored:%s", r.sent, r.refused, describe(r.plain))
	}
}

// allowing is the profile of TestBrowserSignInProbeSeesThirdPartyCookiesWhereAllowed.
var allowing struct {
	once sync.Once
	dir  string
	err  error
}

// allowingProfile returns a Chromium profile, one per test process, whose
// settings allow third-party cookies (the setting "Allow third-party
// cookies", cookie_controls_mode 0; Chromium's default blocks them).
func allowingProfile(t *testing.T) string {
	t.Helper()
	allowing.once.Do(func() {
		// Named as chromiumtest's profiles, so that it goes with them.
		allowing.dir, allowing.err = os.MkdirTemp("", "helpdesk-browser-tests-")
		if allowing.err == nil {
			allowing.err = os.MkdirAll(filepath.Join(allowing.dir, "Default"), 0o700)
		}
		if allowing.err == nil {
			allowing.err = os.WriteFile(filepath.Join(allowing.dir, "Default", "Preferences"), []byte(`{"profile":{"cookie_controls_mode":0}}`), 0o600)
		}
	})
	if allowing.err != nil {
		t.Fatal(allowing.err)
	}
	return allowing.dir
}

// ---- The app's upstream ---------------------------------------------------

// recordingFiles serves a folder as the app's upstream, and records every
// request.
type recordingFiles struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newRecordingFiles(t *testing.T, dir string) *recordingFiles {
	t.Helper()
	f := new(recordingFiles)
	files := http.FileServer(http.Dir(dir))
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{r.Method, r.URL.Path, r.URL.RawPath, r.RequestURI, r.Host, r.Header.Clone()})
		f.mu.Unlock()
		w.Header().Set("Cache-Control", "no-store")
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *recordingFiles) hostport() string { return strings.TrimPrefix(f.URL, "http://") }

// all returns what the upstream has recorded.
func (f *recordingFiles) all() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// requests returns the requests for the app's path p (the gateway's
// prefix and the app's id taken off).
func (f *recordingFiles) requests(p string) []seen {
	p = strings.TrimPrefix(p, "/apps/crm")
	var out []seen
	for _, r := range f.all() {
		if r.Path == p {
			out = append(out, r)
		}
	}
	return out
}

func (f *recordingFiles) count(p string) int { return len(f.requests(p)) }
