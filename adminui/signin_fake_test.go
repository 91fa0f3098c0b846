package adminui

// The world of the sign-in pages' browser tests (signin_browser_test.go):
// one server, on which host names tell the sites apart, as Chromium
// resolves every *.localhost name to the loopback address:
//
//   - helpdesk.localhost: the Helpdesk, whose page frames the app (and, to
//     try the page, a frame of the gateway's origin beside it);
//   - crm.localhost: an app on a host of its own, another site: its pages
//     are the sign-in page until the frame has a session, and the exchange
//     is there;
//   - gw.localhost: the gateway's sign-in start and callback, in the popup;
//   - idp.localhost: an identity provider, whose page the popup passes.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"strings"
	"sync"
)

// The fake's sign-in starts: what the popup meets after the start.
const (
	// startOK goes on to the callback, which hands over a code.
	startOK = "ok"
	// startHold stops at a page of the gateway's origin, which does
	// nothing: the test drives the popup from there.
	startHold = "hold"
	// startIdP passes an identity provider's page, which posts a forged
	// code and a forged error to the frame, then goes on to the callback.
	startIdP = "idp"
	// startError goes on to the callback, which reports a failure.
	startError = "error"
)

// fakeProblem is an exchange's failure, as the gateway answers it.
type fakeProblem struct {
	Status int
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

// fakeStart is a request of the sign-in start.
type fakeStart struct {
	Flow, App, Dest string
}

// fakeExchange is a request of the exchange.
type fakeExchange struct {
	Code, Flow, ContentType, Origin string
	// Matched is whether sha256(Flow) is the hash of the start the code
	// was issued for.
	Matched bool
	Status  int
}

// signinFake is the gateway, the Helpdesk and the identity provider of
// the tests.
type signinFake struct {
	pages *Pages
	port  string

	mu sync.Mutex
	// mode is what the start does next, one of the start* constants.
	mode string
	// problem, when set, is the exchange's answer.
	problem *fakeProblem
	// app and mismatch fill the sign-in page in.
	app, mismatch string
	// override, when set, changes the sign-in page's data at /apps/crm/.
	override func(d *SignInPage)
	// starts and exchanges are the requests of the start and the
	// exchange, in order.
	starts    []fakeStart
	exchanges []fakeExchange
	// codes are the codes issued, by code: the flow hash each is for.
	codes map[string]string
	// sessions are the session cookies issued.
	sessions map[string]bool
	// signedIn counts the app's pages served with a session.
	signedIn int
}

func newSigninFake(pages *Pages) *signinFake {
	return &signinFake{pages: pages, mode: startOK, app: "CRM", codes: map[string]string{}, sessions: map[string]bool{}}
}

// origin is the origin of the site name (helpdesk, crm, gw, idp).
func (f *signinFake) origin(name string) string {
	return "http://" + name + ".localhost:" + f.port
}

// appURL is the app's page the Helpdesk frames: deep, with a query.
func (f *signinFake) appURL() string { return f.origin("crm") + "/any/deep/path?x=1" }

// sessionCookie is the name of the fake gateway's session cookie.
const sessionCookie = "__Host-gateway-session"

// set changes the fake under its lock.
func (f *signinFake) set(change func(f *signinFake)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// seen returns what the fake received.
func (f *signinFake) seen() ([]fakeStart, []fakeExchange, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeStart(nil), f.starts...), append([]fakeExchange(nil), f.exchanges...), f.signedIn
}

func (f *signinFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.Host)
	if r.URL.Path == "/_test/opener" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, openerPage)
		return
	}
	switch host {
	case "helpdesk.localhost":
		f.serveHelpdesk(w, r)
	case "crm.localhost":
		if r.URL.Path == "/_signin/exchange" {
			f.serveExchange(w, r)
		} else {
			f.serveApp(w, r)
		}
	case "gw.localhost":
		f.serveGateway(w, r)
	case "idp.localhost":
		f.serveIdP(w, r)
	default:
		// The tests that open a page of their own (a deep path, the popup's
		// last page alone) reach the gateway's routes on 127.0.0.1.
		f.serveGateway(w, r)
	}
}

// helpdeskPage frames the app, filling the window, with sandbox as the
// frame's sandbox attribute ("": none), and beside it, out of sight, a
// frame of the gateway's origin.
const helpdeskPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Helpdesk</title>
<style>html, body { margin: 0; height: 100%%; } #app { display: block; border: 0; width: 100%%; height: 100%%; } #sibling { position: absolute; width: 1px; height: 1px; border: 0; left: -10px; }</style>
</head><body><iframe id="app" title="CRM" %s src="%s"></iframe><iframe id="sibling" title="gateway" src="%s"></iframe></body></html>`

func (f *signinFake) serveHelpdesk(w http.ResponseWriter, r *http.Request) {
	sandbox := ""
	if r.URL.Path == "/sandboxed" {
		sandbox = `sandbox="allow-scripts allow-same-origin allow-forms"`
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, helpdeskPage, sandbox, html.EscapeString(f.appURL()), html.EscapeString(f.origin("gw")+"/_test/sibling"))
}

// serveApp serves the app's page to a frame with a session, and the
// sign-in page to any other.
func (f *signinFake) serveApp(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	c, err := r.Cookie(sessionCookie)
	signedIn := err == nil && f.sessions[c.Value]
	if signedIn {
		f.signedIn++
	}
	d := SignInPage{
		App:            f.app,
		Provider:       "login.example.com",
		StartURL:       f.origin("gw") + "/_signin/start?app=crm",
		ExchangeURL:    "/_signin/exchange",
		CallbackOrigin: f.origin("gw"),
		Mismatch:       f.mismatch,
	}
	f.mu.Unlock()
	if signedIn {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><title>CRM</title><h1 id="signed-in">CRM: signed in</h1></html>`)
		return
	}
	f.pages.SignIn(w, r, http.StatusUnauthorized, f.origin("helpdesk"), d)
}

// serveExchange takes a code and its flow's secret, and answers as the
// gateway does: 204 with a partitioned session cookie, or a problem.
func (f *signinFake) serveExchange(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Code string `json:"code"`
		Flow string `json:"flow"`
	}
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&body) != nil {
		http.Error(w, "bad exchange", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	sum := sha256.Sum256([]byte(body.Flow))
	hash, issued := f.codes[body.Code]
	ex := fakeExchange{
		Code: body.Code, Flow: body.Flow, ContentType: r.Header.Get("Content-Type"), Origin: r.Header.Get("Origin"),
		Matched: issued && base64.RawURLEncoding.EncodeToString(sum[:]) == hash,
	}
	problem := f.problem
	if problem == nil && !ex.Matched {
		problem = &fakeProblem{Status: http.StatusUnauthorized, Title: "Not this frame's code", Detail: "the sign-in's code was not made for this frame: sign in again"}
	}
	if problem != nil {
		ex.Status = problem.Status
		f.exchanges = append(f.exchanges, ex)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(problem.Status)
		_ = json.NewEncoder(w).Encode(problem)
		return
	}
	delete(f.codes, body.Code)
	session := randomHex()
	f.sessions[session] = true
	ex.Status = http.StatusNoContent
	f.exchanges = append(f.exchanges, ex)
	w.Header().Set("Set-Cookie", sessionCookie+"="+session+"; Path=/; Secure; HttpOnly; SameSite=None; Partitioned")
	w.WriteHeader(http.StatusNoContent)
}

// serveGateway serves the sign-in's start, its callback (the popup's last
// page), a page where the popup waits, and a page to post from.
func (f *signinFake) serveGateway(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case r.URL.Path == "/_signin/start":
		f.mu.Lock()
		f.starts = append(f.starts, fakeStart{Flow: q.Get("flow"), App: q.Get("app"), Dest: r.Header.Get("Sec-Fetch-Dest")})
		code := "code-" + randomHex()
		f.codes[code] = q.Get("flow")
		mode := f.mode
		f.mu.Unlock()
		next := "/_signin/callback?state=" + code
		switch mode {
		case startHold:
			next = "/_signin/hold?state=" + code
		case startIdP:
			next = f.origin("idp") + "/authorize?state=" + code
		case startError:
			next = "/_signin/callback?error=access_denied"
		}
		http.Redirect(w, r, next, http.StatusFound)
	case r.URL.Path == "/_signin/callback" && q.Has("error"):
		f.pages.SignInDone(w, r, http.StatusBadRequest, SignInDone{
			TargetOrigin: f.origin("crm"),
			Error:        "The identity provider refused the sign-in (" + q.Get("error") + ").",
		})
	case r.URL.Path == "/_signin/callback":
		f.pages.SignInDone(w, r, http.StatusOK, SignInDone{Code: q.Get("state"), TargetOrigin: f.origin("crm")})
	case r.URL.Path == "/_signin/hold", r.URL.Path == "/_test/sibling":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><title>Gateway</title><p>Signing in…</p></html>`)
	case strings.HasPrefix(r.URL.Path, "/apps/crm/"):
		// The sign-in page, top level, at a deep path.
		f.mu.Lock()
		d := SignInPage{App: f.app, Provider: "login.example.com", StartURL: f.origin("gw") + "/_signin/start",
			ExchangeURL: "/_signin/exchange", CallbackOrigin: f.origin("gw"), Mismatch: f.mismatch}
		if f.override != nil {
			f.override(&d)
		}
		f.mu.Unlock()
		f.pages.SignIn(w, r, http.StatusUnauthorized, "'self'", d)
	default:
		http.NotFound(w, r)
	}
}

// openerPage, on any origin, opens its ?open= URL in a popup when its
// button (the whole page) is clicked, and keeps the messages it gets as
// JSON in window.__got.
const openerPage = `<!doctype html><html lang="en"><title>Opener</title>
<style>button { position: fixed; inset: 0; }</style><button id="go">Open</button><script>
window.__got = [];
addEventListener("message", (ev) => window.__got.push(JSON.stringify(ev.data)));
document.getElementById("go").addEventListener("click", () => window.open(new URLSearchParams(location.search).get("open"), "w", "popup"));
</script></html>`

// idpPage is the identity provider's page: it forges what the popup's
// last page would post, from its own origin, then goes on.
const idpPage = `<!doctype html><html lang="en"><title>Identity provider</title><p>Identity provider</p><script>
const forged = [
	{ channel: "helpdesk:apps", event: "helpdesk:signin:code", payload: { code: "forged-by-the-idp" } },
	{ channel: "helpdesk:apps", event: "helpdesk:signin:error", payload: { message: "forged by the identity provider" } },
];
for (const m of forged) opener.postMessage(m, "*");
setTimeout(() => location.replace(%q), 300);
</script></html>`

func (f *signinFake) serveIdP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, idpPage, f.origin("gw")+"/_signin/callback?state="+r.URL.Query().Get("state"))
}

func randomHex() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
