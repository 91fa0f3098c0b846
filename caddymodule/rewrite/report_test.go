package rewrite

import (
	"net/http"
	"strings"
	"testing"
)

func TestReportURIs(t *testing.T) {
	t.Parallel()
	l := Location{Prefix: "/apps/crm", OwnHosts: testOwnHosts}
	for _, tt := range []struct{ in, want string }{
		{"default-src 'self'; report-uri /api/csp-report", "default-src 'self'; report-uri /apps/crm/api/csp-report"},
		{"report-uri http://10.0.0.5:8080/csp https://collector.example/r  /r2", "report-uri /apps/crm/csp https://collector.example/r  /apps/crm/r2"},
		{"REPORT-URI\t/x; img-src *, script-src 'self'; report-uri /y", "REPORT-URI\t/apps/crm/x; img-src *, script-src 'self'; report-uri /apps/crm/y"},
		{"report-uri ../../../auth", "report-uri /apps/crm/auth"},
		{"report-uri /apps/crm/..%2f..%2fauth", "report-uri /apps/crm/"},
		{"report-uri /apps/crm/r", "report-uri /apps/crm/r"},
		{"default-src 'self'; report-to csp", "default-src 'self'; report-to csp"},
		{"report-urix /x; frame-ancestors 'self'", "report-urix /x; frame-ancestors 'self'"},
		{"report-uri", "report-uri"},
	} {
		if got := l.ReportURIs(tt.in, "/a/b"); got != tt.want {
			t.Errorf("ReportURIs(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
	if !HasReportURI(http.Header{"Content-Security-Policy-Report-Only": {"Report-URI /x"}}) || HasReportURI(http.Header{"Content-Security-Policy": {"report-to g"}}) {
		t.Error("HasReportURI misreads a policy")
	}
}

func TestReportingEndpoints(t *testing.T) {
	t.Parallel()
	l := Location{Prefix: "/apps/crm", OwnHosts: testOwnHosts}
	for _, tt := range []struct{ in, want string }{
		{`csp="/api/csp-report"`, `csp="/apps/crm/api/csp-report"`},
		{`csp="/r", default="https://collector.example/r?a=1,2", own="http://10.0.0.5:8080/x";p=1`,
			`csp="/apps/crm/r", default="https://collector.example/r?a=1,2", own="/apps/crm/x";p=1`},
		{`a= "/x"`, `a= "/apps/crm/x"`},
		{`a="/q\"uote"`, `a="/apps/crm/q\"uote"`},
		{`a=token, b="/apps/crm/..%2f..%2fauth"`, `a=token, b="/apps/crm/"`},
		{`a="/unclosed`, `a="/unclosed`},
	} {
		if got := l.ReportingEndpoints(tt.in, "/"); got != tt.want {
			t.Errorf("ReportingEndpoints(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// FuzzReportURIs checks that every report-uri URL of a rewritten policy
// leads into the app, or to another host.
func FuzzReportURIs(f *testing.F) {
	f.Add("default-src 'self'; report-uri /api/csp-report https://x.example/r ../../a")
	f.Add("report-uri /apps/crm/..%2f..%2f, report-uri\t//10.0.0.5:8080/x")
	l := Location{Prefix: "/apps/crm", OwnHosts: testOwnHosts}
	f.Fuzz(func(t *testing.T, policy string) {
		got := l.ReportURIs(policy, "/a/b")
		for _, d := range strings.FieldsFunc(got, func(r rune) bool { return r == ';' || r == ',' }) {
			fields := strings.FieldsFunc(d, func(r rune) bool { return strings.ContainsRune(asciiSpace, r) })
			if len(fields) == 0 || !strings.EqualFold(fields[0], "report-uri") {
				continue
			}
			for _, u := range fields[1:] {
				if l.Rewrite(u, "/a/b") != u {
					t.Fatalf("ReportURIs(%q) = %q: %q is not kept in the app", policy, got, u)
				}
			}
		}
	})
}
