package caddymodule

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// logLines returns the lines of a JSON log that hold all of parts.
func logLines(t *testing.T, logFile string, parts ...string) []string {
	t.Helper()
	raw, _ := os.ReadFile(logFile)
	var out []string
	for line := range strings.SplitSeq(string(raw), "\n") {
		all := line != ""
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			out = append(out, line)
		}
	}
	return out
}

// TestSessionMistakesAreLoggedOnceWithTheFix sends the page requests a
// misconfigured Helpdesk causes, each twice, and some that are no news:
// each mistake is logged once at WARN with its fix, with cookie names but
// never their values.
func TestSessionMistakesAreLoggedOnceWithTheFix(t *testing.T) {
	up := newUpstream(t)
	logFile := filepath.Join(t.TempDir(), "gateway.log")
	addr := freeAddr(t)
	startCaddyfileLogging(t, "level WARN\n\t\toutput file "+logFile, fmt.Sprintf(`http://%s {
	bind 127.0.0.1
	helpdesk_apps /apps {
		session {
			cookie hd_session
			hmac_secret %s
			issuer https://helpdesk.test
			audience helpdesk-apps
			leeway 30s
		}
		app crm {
			to %s
		}
	}
}`, addr, testSecret, up.URL))
	base := "http://" + addr + "/apps/crm/"
	frame := []string{"Sec-Fetch-Dest", "iframe", "Sec-Fetch-Site", "same-site"}
	early := agent("agent", 1)
	early.NotBefore = jwt.NewNumericDate(time.Now().Add(10 * time.Minute))
	expired := agent("agent", 1)
	expired.Expiry = jwt.NewNumericDate(time.Now().Add(-time.Hour))

	// No news: requests that are not pages, and an expired session.
	get(t, base, "", "Cookie", "helpdesk_sid=s3cr3t-value")
	get(t, base, "", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "same-site")
	get(t, base, token(t, expired), frame...)
	if got := logLines(t, logFile, `"level":"warn"`, "helpdesk_apps"); len(got) > 0 {
		t.Fatalf("warned of requests that are no news:\n%s", got)
	}

	for range 2 {
		for _, hdr := range [][]string{
			append([]string{"Cookie", "helpdesk_sid=s3cr3t-value; theme=dark"}, frame...),
			frame,
		} {
			if resp, _ := get(t, base, "", hdr...); resp.StatusCode != 401 {
				t.Fatalf("status %d; want 401", resp.StatusCode)
			}
		}
		if resp, _ := get(t, base, token(t, early), "Sec-Fetch-Dest", "document"); resp.StatusCode != 401 {
			t.Fatalf("a token not valid yet: status %d; want 401", resp.StatusCode)
		}
	}
	for _, tc := range []struct {
		name  string
		parts []string
	}{
		{"another cookie name", []string{`"level":"warn"`, "none named session.cookie", `"cookie_names":["helpdesk_sid","theme"]`, `"session_cookie":"hd_session"`}},
		{"no cookie at all", []string{`"level":"warn"`, "does not reach this host", "SameSite=None"}},
		{"clocks apart", []string{`"level":"warn"`, "not valid yet by this server's clock", "raise the leeway", `"leeway":30`}},
	} {
		if got := logLines(t, logFile, tc.parts...); len(got) != 1 {
			raw, _ := os.ReadFile(logFile)
			t.Errorf("%s: %d warnings with %q; want 1. Log:\n%s", tc.name, len(got), tc.parts, raw)
		}
	}
	if raw, _ := os.ReadFile(logFile); strings.Contains(string(raw), "s3cr3t") {
		t.Errorf("a cookie's value reached the log:\n%s", raw)
	}
}
