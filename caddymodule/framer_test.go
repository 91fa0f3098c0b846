package caddymodule

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// framerWarnings returns the log's warnings of a framing origin.
func framerWarnings(t *testing.T, logFile string) []string {
	t.Helper()
	raw, _ := os.ReadFile(logFile)
	var out []string
	for line := range strings.SplitSeq(string(raw), "\n") {
		if strings.Contains(line, "framed by a page of an origin frame_ancestors does not name") {
			out = append(out, line)
		}
	}
	return out
}

// TestBrowserFramingOriginOutsideFrameAncestorsIsLogged frames an app, twice,
// from a page whose origin frame_ancestors does not name: Chromium refuses
// to show it, and the gateway says why in its log, once, naming the origin
// and the fix.
func TestBrowserFramingOriginOutsideFrameAncestorsIsLogged(t *testing.T) {
	bctx := browserContext(t)
	up := newUpstream(t)
	logFile := filepath.Join(t.TempDir(), "gateway.log")
	addr := freeAddr(t)
	startCaddyfileLogging(t, "level WARN\n\t\toutput file "+logFile, fmt.Sprintf(`http://%s {
	bind 127.0.0.1
	helpdesk_apps /apps {
		frame_ancestors https://helpdesk.test
		session {
			bearer
			hmac_secret %s
		}
		app crm {
			to %s
		}
	}
}`, addr, testSecret, up.URL))
	helpdesk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><iframe src="http://%[1]s/apps/crm/"></iframe><iframe src="http://%[1]s/apps/crm/page"></iframe>`, addr)
	}))
	t.Cleanup(helpdesk.Close)

	tab, closeTab := chromedp.NewContext(bctx)
	t.Cleanup(closeTab)
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate(helpdesk.URL)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(framerWarnings(t, logFile)) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the second frame's request, had it logged again
	warnings := framerWarnings(t, logFile)
	if len(warnings) != 1 || !strings.Contains(warnings[0], `"origin":"`+helpdesk.URL+`"`) || !strings.Contains(warnings[0], "add its origin to frame_ancestors") {
		t.Fatalf("warnings of the framing origin: %q", warnings)
	}

	// A frame that follows its own links, and a Helpdesk the list names,
	// are no news.
	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "same-origin", "Referer", "http://" + addr + "/apps/crm/"},
		{"Sec-Fetch-Site", "cross-site", "Referer", "https://helpdesk.test/tickets/1"},
		{"Sec-Fetch-Site", "cross-site", "Referer", "https://other.test/"},
	} {
		get(t, "http://"+addr+"/apps/crm/x", "", append(hdr, "Sec-Fetch-Dest", "iframe")...)
	}
	time.Sleep(200 * time.Millisecond)
	if got := framerWarnings(t, logFile); len(got) != 2 || !strings.Contains(got[1], `"origin":"https://other.test"`) {
		t.Fatalf("warnings after the requests from named and own origins: %q", got)
	}
}
