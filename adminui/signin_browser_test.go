package adminui

// Browser tests of the sign-in pages, in the world of signin_fake_test.go:
// a Helpdesk on one site frames an app on another, so the app's frame is a
// third-party context (an out-of-process frame in Chromium, a target of
// its own); the sign-in page's popup is a window of its own, another
// target. The tests click as a user does (real input events, which give
// the page the user activation popups need), and the fake checks what the
// page sends. With ADMINUI_SCREENSHOTS=<dir> they save screenshots in its
// signin/, at 1280×720, 1366×900 and 320×480 (a narrow frame).

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/helpdeskapps/gateway/internal/chromiumtest"
)

// catchFrameViolations records, in each document of a frame of another
// site, what its policy blocked, in that document's own window.
const catchFrameViolations = `window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
	window.__violations.push(location.pathname + ": " + e.violatedDirective + " " + e.blockedURI);
});`

// signinEnv is a browser test's world of the sign-in pages: the fake, and
// a tab in a browser context of its own (no cookie of another test).
type signinEnv struct {
	t    *testing.T
	ctx  context.Context
	fake *signinFake
	tab  target.ID
	*signinShared
}

// signinShared is what a test's subtests share of its world.
type signinShared struct {
	// root is the test, whose end ends what its subtests attached to.
	root *testing.T

	mu sync.Mutex
	// exceptions are the uncaught exceptions of the tab and of the frames
	// and popups the test attached to.
	exceptions []string
	// frames are the contexts attached to other targets, by target.
	frames map[target.ID]context.Context
	// instrumented is the app's frame once it reports its violations.
	instrumented context.Context
}

// newSigninEnv serves the fake and opens a tab, at 1366×900. When the
// test ends, it fails if a page threw or a policy blocked anything.
func newSigninEnv(t *testing.T) *signinEnv {
	t.Helper()
	bctx := chromiumtest.Browser(t)
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	fake := newSigninFake(p)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	fake.port = u.Port()

	e := &signinEnv{t: t, fake: fake, signinShared: &signinShared{root: t, frames: map[target.ID]context.Context{}}}
	tab, closeTab := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(e.listen))
	t.Cleanup(closeTab)
	ctx, cancel := context.WithTimeout(tab, browserTestTimeout)
	t.Cleanup(cancel)
	e.ctx = ctx
	e.do(ctx, chromedp.EmulateViewport(1366, 900))
	if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: catchViolations}); err != nil {
		t.Fatal(err)
	}
	e.tab = chromedp.FromContext(ctx).Target.TargetID
	t.Cleanup(func() {
		e.mu.Lock()
		exceptions := e.exceptions
		e.mu.Unlock()
		if len(exceptions) > 0 {
			t.Errorf("uncaught exceptions:\n%s", strings.Join(exceptions, "\n"))
		}
		if ctx.Err() != nil {
			return
		}
		if v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__violations || []`)); err == nil && len(v) > 0 {
			t.Errorf("a policy blocked, in the tab: %q", v)
		}
		if e.instrumented != nil {
			if v, err := chromedp.Run(e.instrumented, chromedp.Evaluate[[]string](`window.__violations || []`)); err == nil && len(v) > 0 {
				t.Errorf("a policy blocked, in the app's frame: %q", v)
			}
		}
	})
	return e
}

// in returns e for the subtest t.
func (e *signinEnv) in(t *testing.T) *signinEnv {
	c := *e
	c.t = t
	return &c
}

// listen runs in a target's event loop: it must return fast and run no
// command.
func (e *signinEnv) listen(ev any) {
	if ev, ok := ev.(*runtime.EventExceptionThrown); ok && ev.ExceptionDetails != nil {
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		e.mu.Lock()
		e.exceptions = append(e.exceptions, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, text))
		e.mu.Unlock()
	}
}

func (e *signinEnv) do(ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	e.t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		e.t.Fatal(err)
	}
}

// eval evaluates expr in ctx (the tab, a frame or a popup), awaiting a
// promise.
func eval[T any](e *signinEnv, ctx context.Context, expr string) T {
	e.t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		e.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor waits until cond is true in ctx, through navigations.
func (e *signinEnv) waitFor(ctx context.Context, cond string) {
	e.t.Helper()
	expr := "(() => { try { return !!(" + cond + "); } catch (e) { return false; } })()"
	deadline := time.Now().Add(waitTimeout)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) || e.ctx.Err() != nil {
			e.t.Fatalf("waiting for %s: %v; %s", cond, err, e.explain())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// explain sums up the world, for failure messages.
func (e *signinEnv) explain() string {
	starts, exchanges, signedIn := e.fake.seen()
	says := "?"
	if c := e.attached(func(i *target.Info) bool { return i.Type == "iframe" && strings.HasPrefix(i.URL, e.fake.origin("crm")) }); c != nil {
		if s, err := chromedp.Run(c, chromedp.Evaluate[string](`document.body.innerText.replace(/\s+/g, " ")`)); err == nil {
			says = s
		}
	}
	return fmt.Sprintf("the frame says %q; the fake saw starts %+v, exchanges %+v, %d signed-in pages", says, starts, exchanges, signedIn)
}

// targets lists the targets of the tab's browser context.
func (e *signinEnv) targets() []*target.Info {
	infos, err := chromedp.Targets(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	ctxID := chromedp.FromContext(e.ctx).BrowserContextID
	var mine []*target.Info
	for _, i := range infos {
		if i.BrowserContextID == ctxID {
			mine = append(mine, i)
		}
	}
	return mine
}

// attached returns a context attached to the first target match accepts,
// attaching to it once; nil when there is none.
func (e *signinEnv) attached(match func(*target.Info) bool) context.Context {
	infos, err := chromedp.Targets(e.ctx)
	if err != nil {
		return nil
	}
	ctxID := chromedp.FromContext(e.ctx).BrowserContextID
	for _, info := range infos {
		if info.BrowserContextID != ctxID || info.TargetID == e.tab || !match(info) {
			continue
		}
		e.mu.Lock()
		c, ok := e.frames[info.TargetID]
		e.mu.Unlock()
		if ok {
			return c
		}
		// Detached, not closed, when the test ends: closing a frame's
		// target would close its page.
		c, cancel := chromedp.NewContext(e.ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithListener(e.listen), chromedp.WithDetachOnCancel())
		if err := chromedp.Do(c); err != nil {
			cancel()
			return nil
		}
		e.root.Cleanup(cancel)
		e.mu.Lock()
		e.frames[info.TargetID] = c
		e.mu.Unlock()
		return c
	}
	return nil
}

// waitTarget waits for a target match accepts, and attaches to it.
func (e *signinEnv) waitTarget(what string, match func(*target.Info) bool) context.Context {
	e.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		if c := e.attached(match); c != nil {
			return c
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no %s; %s", what, e.explain())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// frame returns the app's frame, a target of its own, once it shows the
// sign-in page or the app.
func (e *signinEnv) frame() context.Context {
	e.t.Helper()
	c := e.waitTarget("app frame", func(i *target.Info) bool {
		return i.Type == "iframe" && strings.HasPrefix(i.URL, e.fake.origin("crm"))
	})
	e.waitFor(c, `document.readyState === "complete" && (document.getElementById("signin") || document.getElementById("signed-in"))`)
	return c
}

// sibling returns the frame of the gateway's origin beside the app's.
func (e *signinEnv) sibling() context.Context {
	e.t.Helper()
	c := e.waitTarget("sibling frame", func(i *target.Info) bool {
		return i.Type == "iframe" && strings.HasPrefix(i.URL, e.fake.origin("gw"))
	})
	e.waitFor(c, `document.readyState === "complete"`)
	return c
}

// popups lists the windows the pages opened.
func (e *signinEnv) popups() []*target.Info {
	var popups []*target.Info
	for _, i := range e.targets() {
		if i.Type == "page" && i.TargetID != e.tab {
			popups = append(popups, i)
		}
	}
	return popups
}

// popup returns the sign-in window, once it is at a URL with prefix.
func (e *signinEnv) popup(prefix string) context.Context {
	e.t.Helper()
	return e.waitTarget("popup at "+prefix, func(i *target.Info) bool {
		return i.Type == "page" && strings.HasPrefix(i.URL, prefix)
	})
}

// waitNoPopup waits until every popup is closed.
func (e *signinEnv) waitNoPopup() {
	e.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for len(e.popups()) > 0 {
		if time.Now().After(deadline) {
			e.t.Fatalf("a popup is still open: %+v", e.popups()[0])
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// openHelpdesk opens the Helpdesk's page at path, which frames the app,
// and waits for the frame's sign-in page. The first time, it has the frame
// report its policy's violations from then on, and loads it again.
func (e *signinEnv) openHelpdesk(path string) context.Context {
	e.t.Helper()
	e.do(e.ctx, chromedp.Navigate(e.fake.origin("helpdesk")+path))
	c := e.frame()
	if e.instrumented == nil {
		if _, err := chromedp.Call(c, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: catchFrameViolations}); err != nil {
			e.t.Fatal(err)
		}
		eval[bool](e, c, `(location.reload(), true)`)
		e.waitFor(c, `Array.isArray(window.__violations) && document.readyState === "complete" && !!document.getElementById("signin")`)
		e.instrumented = c
	}
	return c
}

// frameText is the trimmed text of the first element sel matches in the
// frame c, or "".
func (e *signinEnv) frameText(c context.Context, sel string) string {
	e.t.Helper()
	return eval[string](e, c, fmt.Sprintf(`((n) => n ? n.textContent.replace(/\s+/g, " ").trim() : "")(document.querySelector(%q))`, sel))
}

// status is what the frame's status line says.
func (e *signinEnv) status(c context.Context) string {
	e.t.Helper()
	return e.frameText(c, "#status")
}

// statusLook sums up how the frame's status line looks: its classes, and
// which of its spinner and icon show.
func (e *signinEnv) statusLook(c context.Context) string {
	e.t.Helper()
	return eval[string](e, c, `((shows) => document.getElementById("status").className +
		(shows("status-busy") ? " with spinner" : "") + (shows("status-error") ? " with icon" : ""))(
		(id) => getComputedStyle(document.getElementById(id)).display !== "none")`)
}

// clickFrame clicks, with the mouse of the tab, the middle of the
// element sel matches in the app's frame c, once it is enabled.
func (e *signinEnv) clickFrame(c context.Context, sel string) {
	e.t.Helper()
	e.waitFor(c, fmt.Sprintf(`((n) => !!n && !n.disabled && n.offsetParent !== null)(document.querySelector(%q))`, sel))
	in := eval[[]float64](e, c, fmt.Sprintf(`((r) => [r.left + r.width / 2, r.top + r.height / 2])(document.querySelector(%q).getBoundingClientRect())`, sel))
	e.clickFrameAt(c, in[0], in[1])
}

// clickFrameAt clicks at (x, y) in the app's frame c. A frame of another
// process takes input once the browser knows where it is on the screen,
// which may lag its load: the click is made again until the frame gets it.
func (e *signinEnv) clickFrameAt(c context.Context, x, y float64) {
	e.t.Helper()
	eval[bool](e, c, `(window.__clicks = 0, window.__counting || document.addEventListener("click", () => window.__clicks++, true), window.__counting = true)`)
	at := eval[[]float64](e, e.ctx, `((r) => [r.left, r.top])(document.getElementById("app").getBoundingClientRect())`)
	for try := 0; ; try++ {
		e.do(e.ctx, chromedp.MouseClickXY(at[0]+x, at[1]+y))
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			if eval[int](e, c, `window.__clicks`) > 0 {
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
		if try == 5 {
			e.t.Fatalf("the frame got no click at (%.0f, %.0f); %s", x, y, e.explain())
		}
	}
}

// signinMessage is a message as the popup's last page posts it.
func signinMessage(code string) string {
	return fmt.Sprintf(`{ channel: "helpdesk:apps", event: "helpdesk:signin:code", payload: { code: %q } }`, code)
}

// jsonString is v in JSON, a JavaScript literal.
func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// settle gives the frame time to act on what it should ignore.
func settle() { time.Sleep(500 * time.Millisecond) }

// checkIgnored checks that the frame did nothing: no exchange, and the
// status line still says want.
func (e *signinEnv) checkIgnored(c context.Context, what, want string) {
	e.t.Helper()
	settle()
	if _, exchanges, _ := e.fake.seen(); len(exchanges) > 0 {
		e.t.Fatalf("%s: the frame exchanged %+v", what, exchanges)
	}
	if got := e.status(c); got != want {
		e.t.Fatalf("%s: the frame says %q, want %q", what, got, want)
	}
}

// checkSignedIn checks the end of a sign-in: one more start, whose flow
// hash was the base64url SHA-256 of a 32-byte secret; one exchange of the
// code issued, with that secret, from the frame's origin, as JSON, which
// got 204; the popup closed; and the frame reloaded with its session.
func (e *signinEnv) checkSignedIn(c context.Context, starts, exchanges int) {
	e.t.Helper()
	e.waitFor(c, `document.getElementById("signed-in") !== null`)
	e.waitNoPopup()
	s, x, signedIn := e.fake.seen()
	if len(s) != starts || len(x) != exchanges {
		e.t.Fatalf("%d starts and %d exchanges, want %d and %d: %+v %+v", len(s), len(x), starts, exchanges, s, x)
	}
	start, ex := s[starts-1], x[exchanges-1]
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(start.Flow) || start.App != "crm" || start.Dest != "document" {
		e.t.Errorf("the start got flow %q, app %q, Sec-Fetch-Dest %q", start.Flow, start.App, start.Dest)
	}
	secret, err := base64.RawURLEncoding.DecodeString(ex.Flow)
	sum := sha256.Sum256([]byte(ex.Flow))
	if err != nil || len(secret) != 32 || base64.RawURLEncoding.EncodeToString(sum[:]) != start.Flow {
		e.t.Errorf("the exchange's secret %q is not 32 bytes whose hash is the start's %q", ex.Flow, start.Flow)
	}
	if !ex.Matched || ex.Status != 204 || !strings.HasPrefix(ex.Code, "code-") || ex.ContentType != "application/json" || ex.Origin != e.fake.origin("crm") {
		e.t.Errorf("exchange %+v", ex)
	}
	if signedIn == 0 {
		e.t.Error("the frame did not come back with its session")
	}
}

// shoot saves screenshots of the tab at 1280×720, 1366×900 and 320×480,
// and at the extra sizes, when ADMINUI_SCREENSHOTS names a directory, and
// leaves the viewport at 1366×900.
func (e *signinEnv) shoot(name string, extra ...[2]int64) {
	e.t.Helper()
	dir := os.Getenv("ADMINUI_SCREENSHOTS")
	if dir == "" {
		return
	}
	dir = filepath.Join(dir, "signin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	for _, size := range append([][2]int64{{1280, 720}, {1366, 900}, {320, 480}}, extra...) {
		e.do(e.ctx, chromedp.EmulateViewport(size[0], size[1]), chromedp.Sleep(300*time.Millisecond))
		png, err := chromedp.Run(e.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%dx%d.png", name, size[0], size[1])), png, 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	e.do(e.ctx, chromedp.EmulateViewport(1366, 900))
}

// TestSignInInAThirdPartyFrame signs in as a user does, in an app's frame
// on another site than the Helpdesk's: the page asks, the click opens the
// popup at the start with the flow's hash, the popup's last page hands the
// code back, the frame exchanges it with the secret and reloads, signed in.
func TestSignInInAThirdPartyFrame(t *testing.T) {
	e := newSigninEnv(t)
	c := e.openHelpdesk("/")

	if !t.Run("shows the sign-in page, under its policy", func(t *testing.T) {
		e := e.in(t)
		if got := e.frameText(c, "h1"); got != "Sign in to open CRM" {
			t.Errorf("title %q", got)
		}
		if got := e.frameText(c, "#lede"); got != "The Helpdesk is on another site, so this app needs you to sign in with login.example.com. A window opens for it." {
			t.Errorf("lede %q", got)
		}
		if got := e.frameText(c, "#signin"); got != "Sign in with login.example.com" {
			t.Errorf("button %q", got)
		}
		if got := e.status(c); got != "" {
			t.Errorf("the status line says %q before anything happened", got)
		}
		if eval[bool](e, c, `!document.getElementById("mismatch").hidden`) {
			t.Error("a mismatch is shown")
		}
		// The stylesheet applies (its hash is allowed): the button is the
		// primary colour.
		if got := eval[string](e, c, `getComputedStyle(document.getElementById("signin")).backgroundColor`); got != "rgb(46, 91, 215)" {
			t.Errorf("the button's background is %s: the stylesheet did not apply", got)
		}
		// The script ran (its hash is allowed), and left no global: the
		// frame's window has no name a plain page of another site lacks.
		plain := eval[[]string](e, e.sibling(), `Object.getOwnPropertyNames(window)`)
		if got := eval[[]string](e, c, fmt.Sprintf(`((plain) => Object.getOwnPropertyNames(window).filter((k) => !plain.has(k) && !k.startsWith("__")))(new Set(%s))`, jsonString(t, plain))); len(got) > 0 {
			t.Errorf("the script leaked globals %q", got)
		}
		if got := eval[string](e, c, `document.title`); got != "Sign in to open CRM" {
			t.Errorf("document title %q", got)
		}
		e.shoot("frame")
	}) {
		return
	}

	t.Run("ignores a code posted before any click", func(t *testing.T) {
		e := e.in(t)
		eval[bool](e, e.ctx, `(document.getElementById("app").contentWindow.postMessage(`+signinMessage("from-the-helpdesk")+`, "*"), true)`)
		eval[bool](e, e.sibling(), `(parent[0].postMessage(`+signinMessage("from-the-gateway-origin")+`, "*"), true)`)
		e.checkIgnored(c, "before a click", "")
	})

	if !t.Run("signs in through the popup and reloads the app", func(t *testing.T) {
		e := e.in(t)
		e.clickFrame(c, "#signin")
		e.checkSignedIn(c, 1, 1)
		if got := e.frameText(c, "h1"); got != "CRM: signed in" {
			t.Errorf("the frame shows %q", got)
		}
	}) {
		return
	}
}

// TestSignInIgnoresHostileMessages has others post well-formed answers to
// the waiting frame: the Helpdesk's window, a frame of the gateway's own
// origin that is not the popup, the popup from the identity provider's
// origin, and the popup from the right origin with look-alike messages.
// None counts; the popup's real answer then signs in.
func TestSignInIgnoresHostileMessages(t *testing.T) {
	e := newSigninEnv(t)
	e.fake.set(func(f *signinFake) { f.mode = startHold })
	c := e.openHelpdesk("/")
	e.clickFrame(c, "#signin")
	popup := e.popup(e.fake.origin("gw") + "/_signin/hold")
	e.waitFor(c, `document.getElementById("status").textContent.includes("Waiting")`)
	const waiting = "Waiting for the sign-in window…"
	if got := e.status(c); got != waiting {
		t.Fatalf("status %q", got)
	}
	if !eval[bool](e, c, `document.getElementById("signin").disabled`) {
		t.Error("the button is enabled while the popup is open")
	}
	if got := e.statusLook(c); got != "status is-busy with spinner" {
		t.Errorf("the status line looks %q, want busy with a spinner", got)
	}
	e.shoot("waiting")
	if got := eval[string](e, popup, `window.name`); got != "helpdesk-apps-signin" {
		t.Errorf("the popup's name is %q", got)
	}

	t.Run("from the Helpdesk's window", func(t *testing.T) {
		e := e.in(t)
		eval[bool](e, e.ctx, `(document.getElementById("app").contentWindow.postMessage(`+signinMessage("from-the-helpdesk")+`, "*"), true)`)
		e.checkIgnored(c, "the Helpdesk", waiting)
	})
	t.Run("from another window of the callback's origin", func(t *testing.T) {
		e := e.in(t)
		eval[bool](e, e.sibling(), `(parent[0].postMessage(`+signinMessage("from-a-sibling")+`, "*"), true)`)
		e.checkIgnored(c, "a sibling frame of the gateway's origin", waiting)
	})
	t.Run("look-alikes from the popup", func(t *testing.T) {
		e := e.in(t)
		for _, msg := range []string{
			`{ channel: "helpdesk:app", event: "helpdesk:signin:code", payload: { code: "c" } }`,
			`{ channel: "helpdesk:apps", event: "helpdesk:signin:Code", payload: { code: "c" } }`,
			`{ channel: "helpdesk:apps", event: "helpdesk:app:ready", payload: { code: "c" } }`,
			`{ channel: "helpdesk:apps", event: "helpdesk:signin:code", payload: { code: 42 } }`,
			`{ channel: "helpdesk:apps", event: "helpdesk:signin:code", payload: { code: "" } }`,
			`{ channel: "helpdesk:apps", event: "helpdesk:signin:code", payload: { code: ["c"] } }`,
			`{ channel: "helpdesk:apps", event: "helpdesk:signin:code", payload: { code: "c".repeat(4097) } }`,
			`{ channel: "helpdesk:apps", event: "helpdesk:signin:code", payload: { code: "é".repeat(2049) } }`,
			`{ channel: "helpdesk:apps", event: "helpdesk:signin:code", payload: "c" }`,
			`{ channel: "helpdesk:apps", event: "helpdesk:signin:code", code: "c" }`,
			`{ channel: "helpdesk:apps", event: "helpdesk:signin:code" }`,
			`[{ channel: "helpdesk:apps", event: "helpdesk:signin:code", payload: { code: "c" } }]`,
			`JSON.stringify(` + signinMessage("c") + `)`,
			`"helpdesk:signin:code"`,
			`null`,
		} {
			eval[bool](e, popup, `(opener.postMessage(`+msg+`, "*"), true)`)
		}
		e.checkIgnored(c, "look-alikes", waiting)
	})
	t.Run("from the popup at the identity provider's origin", func(t *testing.T) {
		e := e.in(t)
		// The identity provider's page posts a forged code and a forged
		// error, then goes on to the callback, whose code signs in.
		state := eval[string](e, popup, `new URLSearchParams(location.search).get("state")`)
		eval[bool](e, popup, fmt.Sprintf(`(location.href = %q, true)`, e.fake.origin("idp")+"/authorize?state="+state))
		e.checkSignedIn(c, 1, 1)
		if _, x, _ := e.fake.seen(); x[0].Code != state {
			t.Errorf("exchanged %q, want the callback's %q", x[0].Code, state)
		}
	})
}

// TestSignInForgedByTheIdentityProviderOnTheWay passes the identity
// provider's page on the way to the callback, as a real sign-in does: what
// it posts from its origin does not count.
func TestSignInForgedByTheIdentityProviderOnTheWay(t *testing.T) {
	e := newSigninEnv(t)
	e.fake.set(func(f *signinFake) { f.mode = startIdP })
	c := e.openHelpdesk("/")
	e.clickFrame(c, "#signin")
	e.checkSignedIn(c, 1, 1)
}

// TestSignInRecoversFromFailures meets each way a sign-in can end without
// a session, and checks that the page says why and offers the button
// again: the popup closed, blocked, the sign-in refused, the exchange
// refused. The keyboard works the page.
func TestSignInRecoversFromFailures(t *testing.T) {
	e := newSigninEnv(t)
	e.fake.set(func(f *signinFake) { f.mode = startHold })
	c := e.openHelpdesk("/")

	t.Run("the popup closed without a code, opened by the keyboard", func(t *testing.T) {
		e := e.in(t)
		// A click on the page, off the button, then Tab: the button has the
		// focus, visibly; Enter opens the popup.
		e.clickFrameAt(c, 4, 4)
		e.do(e.ctx, chromedp.KeyEvent(kb.Tab))
		e.waitFor(c, `document.activeElement === document.getElementById("signin")`)
		if got := eval[string](e, c, `getComputedStyle(document.activeElement).boxShadow`); !strings.Contains(got, "rgba(46, 91, 215, 0.32) 0px 0px 0px 3px") {
			t.Errorf("the focused button's shadow is %q, want the focus ring", got)
		}
		e.do(e.ctx, chromedp.KeyEvent(kb.Enter))
		popup := e.popup(e.fake.origin("gw") + "/_signin/hold")
		e.waitFor(c, `document.getElementById("signin").disabled`)
		if _, err := chromedp.CallBrowser(popup, target.CloseTarget, target.CloseTargetParams{TargetID: chromedp.FromContext(popup).Target.TargetID}); err != nil {
			t.Fatal(err)
		}
		e.waitFor(c, `!document.getElementById("signin").disabled`)
		if got := e.status(c); got != "The sign-in window was closed before you signed in." {
			t.Errorf("status %q", got)
		}
		if got := e.statusLook(c); got != "status is-note" {
			t.Errorf("the status line looks %q, want a note", got)
		}
		if !eval[bool](e, c, `document.activeElement === document.getElementById("signin")`) {
			t.Error("the button did not get the focus back")
		}
		e.shoot("closed")
	})

	t.Run("the sign-in refused", func(t *testing.T) {
		e := e.in(t)
		e.fake.set(func(f *signinFake) { f.mode = startError })
		e.clickFrame(c, "#signin")
		const refused = "The identity provider refused the sign-in (access_denied)."
		e.waitFor(c, `!document.getElementById("signin").disabled && document.getElementById("status").textContent.includes("refused")`)
		if got := e.status(c); got != refused {
			t.Errorf("status %q", got)
		}
		if got := e.statusLook(c); got != "status is-error with icon" {
			t.Errorf("the status line looks %q, want an error with its icon", got)
		}
		// The popup stays, says so, and closes with its button.
		popup := e.popup(e.fake.origin("gw") + "/_signin/callback")
		e.waitFor(popup, `document.getElementById("title").textContent === "Sign-in failed"`)
		if got := e.frameText(popup, "#text"); got != refused {
			t.Errorf("the popup says %q", got)
		}
		if !eval[bool](e, popup, `document.activeElement === document.getElementById("close")`) {
			t.Error("the popup's Close button has no focus")
		}
		// The click closes the popup, which may be gone before the click
		// returns: only the popup's going away counts.
		if err := chromedp.Do(popup, chromedp.Click(chromedp.CSS("#close"))); err != nil && !strings.Contains(err.Error(), "target detached") {
			t.Fatal(err)
		}
		e.waitNoPopup()
		e.shoot("refused")
	})

	t.Run("the exchange refused", func(t *testing.T) {
		e := e.in(t)
		e.fake.set(func(f *signinFake) {
			f.mode = startOK
			f.problem = &fakeProblem{Status: 400, Title: "Sign-in expired", Detail: "The sign-in took too long: sign in again."}
		})
		e.clickFrame(c, "#signin")
		e.waitFor(c, `!document.getElementById("signin").disabled && document.getElementById("status").textContent.includes("too long")`)
		if got := e.status(c); got != "The sign-in took too long: sign in again." {
			t.Errorf("status %q", got)
		}
		e.waitNoPopup()
		e.shoot("exchange-refused")
	})

	t.Run("then signs in", func(t *testing.T) {
		e := e.in(t)
		e.fake.set(func(f *signinFake) { f.problem = nil })
		starts, _, _ := e.fake.seen()
		e.clickFrame(c, "#signin")
		e.checkSignedIn(c, len(starts)+1, 2)
		s, _, _ := e.fake.seen()
		seen := map[string]bool{}
		for _, st := range s {
			if seen[st.Flow] {
				t.Errorf("flow %q started twice: each click must have a fresh secret", st.Flow)
			}
			seen[st.Flow] = true
		}
	})
}

// TestSignInBlockedPopup frames the app in a sandbox without
// allow-popups: the popup cannot open, and the page says what to do.
func TestSignInBlockedPopup(t *testing.T) {
	e := newSigninEnv(t)
	c := e.openHelpdesk("/sandboxed")
	e.clickFrame(c, "#signin")
	e.waitFor(c, `document.getElementById("status").textContent !== ""`)
	if got := e.status(c); got != "Your browser blocked the sign-in window: allow pop-ups for this site, then sign in again." {
		t.Errorf("status %q", got)
	}
	if eval[bool](e, c, `document.getElementById("signin").disabled`) {
		t.Error("the button stays disabled")
	}
	if starts, _, _ := e.fake.seen(); len(starts) > 0 || len(e.popups()) > 0 {
		t.Errorf("a popup opened: %+v", starts)
	}
	e.shoot("blocked")
}

// TestSignInShowsAMismatch shows why the user must sign in again.
func TestSignInShowsAMismatch(t *testing.T) {
	e := newSigninEnv(t)
	const mismatch = "You were signed in as bob@example.com, but the Helpdesk says you are alice@example.com. Sign in again."
	e.fake.set(func(f *signinFake) { f.mismatch = mismatch })
	c := e.openHelpdesk("/")
	if got := e.frameText(c, "#mismatch"); got != mismatch || eval[bool](e, c, `document.getElementById("mismatch").hidden`) {
		t.Errorf("the mismatch reads %q", got)
	}
	e.shoot("mismatch")
}

// TestSignInPageAtADeepPathShowsDataAsText opens the sign-in page top
// level at a deep path, with an app name and a mismatch that would be
// markup: they read as text, no script but the page's runs (the policy
// reports none blocked), and the page still works.
func TestSignInPageAtADeepPathShowsDataAsText(t *testing.T) {
	e := newSigninEnv(t)
	const hostile = `</script><script>alert(1)</script>"quoted" 'single' <img src=x onerror=alert(2)>`
	e.fake.set(func(f *signinFake) {
		f.app = hostile
		f.mismatch = hostile
	})
	dialogs := make(chan string, 4)
	if err := chromedp.Listen(e.ctx, func(ev any) {
		if ev, ok := ev.(*cdppage.EventJavascriptDialogOpening); ok {
			dialogs <- ev.Message
		}
	}); err != nil {
		t.Fatal(err)
	}
	e.do(e.ctx, chromedp.Navigate("http://127.0.0.1:"+e.fake.port+"/apps/crm/any/deep/path/?x=1"))
	e.waitFor(e.ctx, `document.readyState === "complete"`)
	if got := e.frameText(e.ctx, "h1"); got != "Sign in to open "+hostile {
		t.Errorf("title %q", got)
	}
	if got := e.frameText(e.ctx, "#mismatch-text"); got != hostile {
		t.Errorf("mismatch %q", got)
	}
	if n := eval[int](e, e.ctx, `document.querySelectorAll("img, script:not([type])").length`); n != 1 {
		t.Errorf("%d img or script elements, want the page's one script", n)
	}
	if got := eval[string](e, e.ctx, `getComputedStyle(document.getElementById("signin")).backgroundColor`); got != "rgb(46, 91, 215)" {
		t.Errorf("the button's background is %s: the stylesheet did not apply", got)
	}
	settle()
	select {
	case m := <-dialogs:
		t.Errorf("a dialog opened: %q", m)
	default:
	}
}

// TestSignInRefusesAddressesItCannotTrust gives the page a start that is
// not http(s), an exchange on another origin, or no callback origin: the
// click opens nothing, sends nothing, and says the page cannot sign in.
func TestSignInRefusesAddressesItCannotTrust(t *testing.T) {
	e := newSigninEnv(t)
	for _, tc := range []struct {
		name     string
		override func(d *SignInPage)
	}{
		{"a javascript: start", func(d *SignInPage) { d.StartURL = "javascript:alert(1)" }},
		{"a data: start", func(d *SignInPage) { d.StartURL = "data:text/html,<script>alert(1)</script>" }},
		{"an exchange on another origin", func(d *SignInPage) { d.ExchangeURL = e.fake.origin("gw") + "/_signin/exchange" }},
		{"an exchange by a protocol-relative URL", func(d *SignInPage) { d.ExchangeURL = "//gw.localhost:" + e.fake.port + "/_signin/exchange" }},
		{"no callback origin", func(d *SignInPage) { d.CallbackOrigin = "" }},
		{"a callback origin that is no URL", func(d *SignInPage) { d.CallbackOrigin = "*" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.in(t)
			e.fake.set(func(f *signinFake) { f.override = tc.override })
			e.do(e.ctx, chromedp.Navigate("http://127.0.0.1:"+e.fake.port+"/apps/crm/x"))
			e.waitFor(e.ctx, `document.readyState === "complete"`)
			e.do(e.ctx, chromedp.Click(chromedp.CSS("#signin")))
			e.waitFor(e.ctx, `document.getElementById("status-text").textContent !== ""`)
			if got := e.status(e.ctx); got != "This page cannot sign you in: the gateway gave it no valid sign-in address." {
				t.Errorf("status %q", got)
			}
			settle()
			if starts, exchanges, _ := e.fake.seen(); len(starts) > 0 || len(exchanges) > 0 || len(e.popups()) > 0 {
				t.Errorf("the page went on: starts %+v, exchanges %+v, %d popups", starts, exchanges, len(e.popups()))
			}
		})
	}
}

// TestSignInDoneWithoutAnOpener opens the popup's last page in a window
// of its own: there is no frame to hand the code to, so it says where to
// go; a failure says what failed.
func TestSignInDoneWithoutAnOpener(t *testing.T) {
	e := newSigninEnv(t)
	base := "http://127.0.0.1:" + e.fake.port + "/_signin/callback"
	for _, tc := range []struct {
		name, query, state, title, text string
	}{
		{"signed in", "?state=code-1", "ok", "You are signed in", "Go back to the Helpdesk; this window can be closed."},
		{"failed", "?error=access_denied", "error", "Sign-in failed", "The identity provider refused the sign-in (access_denied)."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.in(t)
			e.do(e.ctx, chromedp.Navigate(base+tc.query))
			e.waitFor(e.ctx, `document.getElementById("done").dataset.state !== "pending"`)
			if got := eval[string](e, e.ctx, `document.getElementById("done").dataset.state`); got != tc.state {
				t.Errorf("state %q", got)
			}
			if got := e.frameText(e.ctx, "#title"); got != tc.title {
				t.Errorf("title %q", got)
			}
			if got := e.frameText(e.ctx, "#text"); got != tc.text {
				t.Errorf("text %q", got)
			}
			if eval[bool](e, e.ctx, `document.getElementById("close").hidden`) {
				t.Error("no Close button")
			}
			shown := eval[[]bool](e, e.ctx, `["mark-ok", "mark-error"].map((id) => getComputedStyle(document.getElementById(id)).display !== "none")`)
			if shown[0] != (tc.state == "ok") || shown[1] != (tc.state == "error") {
				t.Errorf("marks shown (ok, error): %v", shown)
			}
			// At the popup's size too.
			e.shoot("done-"+strings.ReplaceAll(tc.name, " ", "-"), [2]int64{500, 650})
		})
	}
}

// TestSignInDonePostsToItsTargetOriginOnly opens the popup's last page
// from a page of another origin than its target's, which listens: it
// gets nothing, and the popup, having posted, closes. From a page of the
// target's origin, it gets exactly the message the sign-in page expects.
func TestSignInDonePostsToItsTargetOriginOnly(t *testing.T) {
	e := newSigninEnv(t)
	for _, tc := range []struct {
		name, opener string
		want         []string
	}{
		{"another origin", e.fake.origin("helpdesk"), nil},
		{"the target origin", e.fake.origin("crm"), []string{`{"channel":"helpdesk:apps","event":"helpdesk:signin:code","payload":{"code":"code-42"}}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.in(t)
			e.do(e.ctx, chromedp.Navigate(tc.opener+"/_test/opener?open="+url.QueryEscape(e.fake.origin("gw")+"/_signin/callback?state=code-42")))
			// A click, for the popup blocker.
			e.do(e.ctx, chromedp.MouseClickXY(100, 100))
			e.waitNoPopup()
			settle()
			got := eval[[]string](e, e.ctx, `window.__got`)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("the opener got %q, want %q", got, tc.want)
			}
			for _, m := range got {
				var v any
				if err := json.Unmarshal([]byte(m), &v); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
