// Package chromiumtest starts the headless Chromium the browser tests of
// this module share: one per test process, found as $HELPDESK_CHROMIUM or
// under a usual name. Without one, browser tests skip, or fail when
// HELPDESK_BROWSER_TESTS=required. Tests that need other command-line
// switches get a browser of their own for each set of switches
// (BrowserWith), started the same way.
package chromiumtest

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser is one Chromium of the test process, started on first use; the
// process's exit ends it.
type browser struct {
	once sync.Once
	ctx  context.Context
	skip string
	err  error
}

var (
	// shared is the browser of Browser, with the default switches.
	shared browser
	// withFlags holds the browsers of BrowserWith, by their flags' key.
	withFlagsMu sync.Mutex
	withFlags   = make(map[string]*browser)
)

// Browser returns the shared browser's context, skipping the test when
// there is no Chromium (failing it instead when the browser tests are
// required). Tests open their tabs with chromedp.NewContext(Browser(t)).
func Browser(t testing.TB) context.Context {
	t.Helper()
	return shared.get(t, nil)
}

// BrowserWith returns the context of a browser started with the shared
// one's switches and flags besides: names without the leading dashes,
// values as chromedp.Flag takes them (true for a bare switch, a string
// for --name=value, false to leave out one of the default switches). Each
// distinct set of flags has one browser per test process, which the tests
// asking for it share. Without flags it is Browser. Like Browser, it
// skips the test, or fails it, when there is no Chromium.
func BrowserWith(t testing.TB, flags map[string]any) context.Context {
	t.Helper()
	if len(flags) == 0 {
		return Browser(t)
	}
	key := flagsKey(flags)
	withFlagsMu.Lock()
	b := withFlags[key]
	if b == nil {
		b = new(browser)
		withFlags[key] = b
	}
	withFlagsMu.Unlock()
	return b.get(t, maps.Clone(flags))
}

// flagsKey names a set of flags: its switches, sorted, as the command
// line has them.
func flagsKey(flags map[string]any) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(flags)) {
		parts = append(parts, fmt.Sprintf("--%s=%v", name, flags[name]))
	}
	return strings.Join(parts, " ")
}

// get starts b with flags on first use and returns its context, or skips
// or fails t.
func (b *browser) get(t testing.TB, flags map[string]any) context.Context {
	t.Helper()
	b.once.Do(func() { b.start(flags) })
	if b.skip != "" {
		if os.Getenv("HELPDESK_BROWSER_TESTS") == "required" {
			t.Fatalf("HELPDESK_BROWSER_TESTS=required, but %s", b.skip)
		}
		t.Skipf("skipping browser test: %s (install Debian's chromium package or set HELPDESK_CHROMIUM)", b.skip)
	}
	if b.err != nil {
		t.Fatalf("starting Chromium: %v", b.err)
	}
	return b.ctx
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

// start starts the browser, with a profile of its own, the default
// switches and flags.
func (b *browser) start(flags map[string]any) {
	bin := path()
	if bin == "" {
		b.skip = "no Chromium found (looked for chromium, chromium-browser, google-chrome, headless-shell)"
		return
	}
	if _, err := os.Stat(bin); err != nil {
		b.skip = "no Chromium at " + bin
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
		b.err = err
		return
	}
	opts := []chromedp.ExecAllocatorOption{
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
	}
	// After the defaults, so that a flag replaces one of them.
	for _, name := range slices.Sorted(maps.Keys(flags)) {
		opts = append(opts, chromedp.Flag(name, flags[name]))
	}
	alloc, _ := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, _ := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil {
		if len(flags) > 0 {
			b.err = fmt.Errorf("%s %s: %w", bin, flagsKey(flags), err)
		} else {
			b.err = fmt.Errorf("%s: %w", bin, err)
		}
		return
	}
	b.ctx = ctx
}
