package caddymodule

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/helpdeskapps/gateway/caddymodule/session"
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

// TestLogsOfRefusalsNameTheCausesNotTheSecrets drives the log lines of
// refused sessions through a zap observer: the summary of requests without
// a token (at once, then at most once a period, with the cookie names), and
// the issuer and audience a token has and the gateway wants. No token or
// cookie value is logged.
func TestLogsOfRefusalsNameTheCausesNotTheSecrets(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	v, err := session.NewHMAC([]byte(testSecret), "HS256", session.Options{Issuer: "https://helpdesk.test", Audience: "helpdesk-apps"})
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{verifier: v, source: session.Source{Cookie: "hd_session"}}
	h.metrics = newMetrics(prometheus.NewRegistry())
	h.logger, h.sessionCookie = zap.New(core), "hd_session"
	every := missingSummaryEvery
	missingSummaryEvery = 200 * time.Millisecond
	t.Cleanup(func() { missingSummaryEvery = every })

	refuse := func(hdr ...string) {
		r := httptest.NewRequest(http.MethodGet, "/apps/crm/", nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Add(hdr[i], hdr[i+1])
		}
		_, err := h.authenticate(nil, r)
		h.hintSession(r, err)
	}
	summaries := func() []observer.LoggedEntry {
		return logs.FilterMessage("requests refused for want of a session token").AllUntimed()
	}
	refuse("Cookie", "helpdesk_sid=s3cr3t-one")
	refuse("Cookie", "theme=dark; helpdesk_sid=s3cr3t-two")
	refuse()
	if got := summaries(); len(got) != 1 || got[0].Level != zapcore.InfoLevel || got[0].ContextMap()["count"] != int64(1) {
		t.Fatalf("the first refusal: %v", got)
	}
	time.Sleep(missingSummaryEvery + 50*time.Millisecond)
	refuse("Cookie", "other=1")
	got := summaries()
	if len(got) != 2 {
		t.Fatalf("after a period: %d summaries", len(got))
	}
	fields := got[1].ContextMap()
	if fields["count"] != int64(3) || fmt.Sprint(fields["cookie_names"]) != "[theme helpdesk_sid other]" || fields["session_cookie"] != "hd_session" {
		t.Errorf("the summary of a period: %v", fields)
	}

	// A token of another issuer and audience: both, with what is wanted.
	c := agent("agent", 1)
	c.Issuer, c.Audience = "https://other.example", jwt.Audience{"someone-else"}
	r := httptest.NewRequest(http.MethodGet, "/apps/crm/", nil)
	r.AddCookie(&http.Cookie{Name: "hd_session", Value: token(t, c)})
	if _, err := h.authenticate(nil, r); err == nil || !strings.Contains(err.Error(), `iss "https://other.example", want "https://helpdesk.test"`) {
		t.Errorf("issuer mismatch: %v", err)
	}
	c.Issuer = "https://helpdesk.test"
	r = httptest.NewRequest(http.MethodGet, "/apps/crm/", nil)
	r.AddCookie(&http.Cookie{Name: "hd_session", Value: token(t, c)})
	if _, err := h.authenticate(nil, r); err == nil || !strings.Contains(err.Error(), `aud "someone-else", want "helpdesk-apps"`) {
		t.Errorf("audience mismatch: %v", err)
	}

	for _, e := range logs.AllUntimed() {
		line := e.Message + fmt.Sprint(e.ContextMap())
		if strings.Contains(line, "s3cr3t") || strings.Contains(line, "dark") {
			t.Errorf("a cookie's value reached the log: %s", line)
		}
	}
}
