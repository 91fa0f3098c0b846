package adminui

// What the browser tests of both pages share. Headless Chromium drives each
// page, served as the gateway serves it, against a fake of what the page
// talks to: the settings page against the admin API of admin_fake_test.go
// (admin_browser_test.go), the console against the gateway and the apps of
// console_fake_test.go (console_browser_test.go). They skip when Chromium is
// missing, and fail instead when HELPDESK_BROWSER_TESTS=required. With
// ADMINUI_SCREENSHOTS=<dir> they save screenshots of the pages in its
// settings/ and console/, at 1366×900 and 1280×720.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/helpdeskapps/gateway/internal/chromiumtest"
)

const (
	// browserTestTimeout bounds each browser test.
	browserTestTimeout = 90 * time.Second
	// waitTimeout bounds each wait for a condition in the page.
	waitTimeout = 10 * time.Second
)

// pageEnv is one browser test's world: a page and fake, what it talks to,
// on one httptest server, and a tab.
type pageEnv[F any] struct {
	t    *testing.T
	ctx  context.Context
	fake F
	url  string
	// shots is where the page's screenshots go, under ADMINUI_SCREENSHOTS.
	shots string
	// explain sums up what the page shows, for failure messages.
	explain func() string
	errs    *pageErrors
}

// pageErrors are the uncaught exceptions of a tab.
type pageErrors struct {
	mu         sync.Mutex
	exceptions []string
}

// in returns e for the subtest t.
func (e *pageEnv[F]) in(t *testing.T) *pageEnv[F] {
	c := *e
	c.t = t
	return &c
}

// catchViolations records, in every document the tab loads (the apps'
// frames too), what a policy blocked.
const catchViolations = `window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
	const top = window.top.__violations || window.__violations;
	top.push(location.pathname + ": " + e.violatedDirective + " " + e.blockedURI);
});`

// newPageEnv serves mux, on which the page is at path, and opens a tab at
// 1366×900; explain sums up what the page shows. When the test ends, it
// fails if the page threw or a policy blocked anything.
func newPageEnv[F any](t *testing.T, fake F, mux *http.ServeMux, path, shots string, explain func(ctx context.Context) string) *pageEnv[F] {
	t.Helper()
	bctx := chromiumtest.Browser(t)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	e := &pageEnv[F]{t: t, fake: fake, url: srv.URL + path, shots: shots, errs: &pageErrors{}}
	tab, closeTab := chromedp.NewContext(bctx, chromedp.WithListener(e.listen))
	t.Cleanup(closeTab)
	ctx, cancel := context.WithTimeout(tab, browserTestTimeout)
	t.Cleanup(cancel)
	e.ctx = ctx
	e.explain = func() string { return explain(ctx) }
	e.do(chromedp.EmulateViewport(1366, 900))
	if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: catchViolations}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.errs.mu.Lock()
		defer e.errs.mu.Unlock()
		if len(e.errs.exceptions) > 0 {
			t.Errorf("uncaught exceptions in the page:\n%s", strings.Join(e.errs.exceptions, "\n"))
		}
		if ctx.Err() == nil {
			if v := evalIn[[]string](e, `window.__violations || []`); len(v) > 0 {
				t.Errorf("a policy blocked: %q", v)
			}
		}
	})
	return e
}

// listen runs in the tab's event loop: it must return fast and run no command.
func (e *pageEnv[F]) listen(ev any) {
	if ev, ok := ev.(*runtime.EventExceptionThrown); ok && ev.ExceptionDetails != nil {
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		e.errs.mu.Lock()
		e.errs.exceptions = append(e.errs.exceptions, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, text))
		e.errs.mu.Unlock()
	}
}

func (e *pageEnv[F]) do(actions ...chromedp.Action[chromedp.Void]) {
	e.t.Helper()
	if err := chromedp.Do(e.ctx, actions...); err != nil {
		e.t.Fatal(err)
	}
}

// evalIn evaluates expr in the page.
func evalIn[T, F any](e *pageEnv[F], expr string) T {
	e.t.Helper()
	v, err := chromedp.Run(e.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		e.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// until waits for expr to be true in the page.
func (e *pageEnv[F]) until(expr string) {
	e.t.Helper()
	if _, err := chromedp.Run(e.ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(waitTimeout))); err != nil {
		e.t.Fatalf("waiting for %s: %v; %s", expr, err, e.explain())
	}
}

// click clicks the first element sel matches, as a user would, once it
// is shown and enabled, scrolled to the middle of the window (where a
// sticky top bar does not cover it).
func (e *pageEnv[F]) click(sel string) {
	e.t.Helper()
	e.until(fmt.Sprintf(`((n) => !!n && n.offsetParent !== null && !n.disabled && (n.scrollIntoView({ block: "center" }), true))(document.querySelector(%q))`, sel))
	e.do(chromedp.Click(chromedp.CSS(sel)))
}

// fill replaces the text of an input or a textarea as a user would:
// selects it all, and types over it.
func (e *pageEnv[F]) fill(sel, text string) {
	e.t.Helper()
	evalIn[bool](e, fmt.Sprintf(`((n) => { n.focus(); n.select(); return true; })(document.querySelector(%q))`, sel))
	e.do(chromedp.SendKeys(chromedp.CSS(sel), text))
}

// choose picks an option of a select, as the keyboard would.
func (e *pageEnv[F]) choose(sel, value string) {
	e.t.Helper()
	if !evalIn[bool](e, fmt.Sprintf(`((n, v) => {
		if (![...n.options].some((o) => o.value === v)) return false;
		n.focus(); n.value = v; n.dispatchEvent(new Event("input", { bubbles: true })); n.dispatchEvent(new Event("change", { bubbles: true }));
		return true;
	})(document.querySelector(%q), %q)`, sel, value)) {
		e.t.Fatalf("%s has no option %q", sel, value)
	}
}

// key presses key on the focused element.
func (e *pageEnv[F]) key(key string, opts ...chromedp.KeyOption) {
	e.t.Helper()
	e.do(chromedp.KeyEvent(key, opts...))
}

// text is the trimmed text of the first element sel matches, or "".
func (e *pageEnv[F]) text(sel string) string {
	e.t.Helper()
	return evalIn[string](e, fmt.Sprintf(`((n) => n ? n.textContent.replace(/\s+/g, " ").trim() : "")(document.querySelector(%q))`, sel))
}

// attr is the attribute name of the first element sel matches, or "".
func (e *pageEnv[F]) attr(sel, name string) string {
	e.t.Helper()
	return evalIn[string](e, fmt.Sprintf(`((n) => n ? n.getAttribute(%q) || "" : "")(document.querySelector(%q))`, name, sel))
}

// count is the number of elements sel matches.
func (e *pageEnv[F]) count(sel string) int {
	e.t.Helper()
	return evalIn[int](e, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

// center returns the page coordinates of the middle of sel's element,
// moved by dy.
func (e *pageEnv[F]) center(sel string, dy float64) (float64, float64) {
	e.t.Helper()
	xy := evalIn[[]float64](e, fmt.Sprintf(`((r) => [r.left + r.width / 2, r.top + r.height / 2])(document.querySelector(%q).getBoundingClientRect())`, sel))
	return xy[0], xy[1] + dy
}

// shoot saves screenshots at 1280×720 and 1366×900 when
// ADMINUI_SCREENSHOTS names a directory, and leaves the viewport at
// 1366×900.
func (e *pageEnv[F]) shoot(name string) {
	e.t.Helper()
	dir := os.Getenv("ADMINUI_SCREENSHOTS")
	if dir == "" {
		return
	}
	dir = filepath.Join(dir, e.shots)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	for _, size := range [][2]int64{{1280, 720}, {1366, 900}} {
		e.do(chromedp.EmulateViewport(size[0], size[1]), chromedp.Sleep(300*time.Millisecond))
		png, err := chromedp.Run(e.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			e.t.Fatal(err)
		}
		file := filepath.Join(dir, fmt.Sprintf("%s-%dx%d.png", name, size[0], size[1]))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
}

// statusRecorder keeps the status a fake's handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}
