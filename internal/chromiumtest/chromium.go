// Package chromiumtest starts the headless Chromium the browser tests of
// this module share: one per test process, found as $HELPDESK_CHROMIUM or
// under a usual name. Without one, browser tests skip, or fail when
// HELPDESK_BROWSER_TESTS=required.
package chromiumtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// shared is the one Chromium of the test process; the process's exit
// ends it.
var shared struct {
	once sync.Once
	ctx  context.Context
	skip string
	err  error
}

// Browser returns the shared browser's context, skipping the test when
// there is no Chromium (failing it instead when the browser tests are
// required). Tests open their tabs with chromedp.NewContext(Browser(t)).
func Browser(t testing.TB) context.Context {
	t.Helper()
	shared.once.Do(start)
	if shared.skip != "" {
		if os.Getenv("HELPDESK_BROWSER_TESTS") == "required" {
			t.Fatalf("HELPDESK_BROWSER_TESTS=required, but %s", shared.skip)
		}
		t.Skipf("skipping browser test: %s (install Debian's chromium package or set HELPDESK_CHROMIUM)", shared.skip)
	}
	if shared.err != nil {
		t.Fatalf("starting Chromium: %v", shared.err)
	}
	return shared.ctx
}

// path finds a Chromium: $HELPDESK_CHROMIUM, or a usual name.
func path() string {
	if p := os.Getenv("HELPDESK_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// start starts the shared browser, with a profile of its own.
func start() {
	bin := path()
	if bin == "" {
		shared.skip = "no Chromium found (looked for chromium, chromium-browser, google-chrome, headless-shell)"
		return
	}
	if _, err := os.Stat(bin); err != nil {
		shared.skip = "no Chromium at " + bin
		return
	}
	// The profile outlives any one test, so it is not a t.TempDir. Profiles
	// of earlier runs are removed once a day old.
	if old, _ := filepath.Glob(filepath.Join(os.TempDir(), "helpdesk-browser-tests-*")); len(old) > 0 {
		for _, dir := range old {
			if fi, err := os.Stat(dir); err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
				_ = os.RemoveAll(dir)
			}
		}
	}
	profile, err := os.MkdirTemp("", "helpdesk-browser-tests-")
	if err != nil {
		shared.err = err
		return
	}
	alloc, _ := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Text renders the same from run to run, for screenshots.
		chromedp.Flag("font-render-hinting", "none"),
		chromedp.UserDataDir(profile),
	)
	ctx, _ := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil {
		shared.err = fmt.Errorf("%s: %w", bin, err)
		return
	}
	shared.ctx = ctx
}
