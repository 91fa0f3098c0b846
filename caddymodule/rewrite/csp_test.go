package rewrite

import (
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// validateAncestorTests are the cases of TestValidateAncestor; wantErr is a
// substring of the expected error, or empty if src is valid.
var validateAncestorTests = []struct {
	name    string
	src     string
	wantErr string
}{
	{name: "self keyword", src: "'self'"},
	{name: "https origin", src: "https://helpdesk.example.com"},
	{name: "http origin with port", src: "http://localhost:8080"},
	{name: "single label host", src: "https://helpdesk"},
	{name: "wildcard subdomain", src: "https://*.example.com"},
	{name: "IPv4 host with port", src: "http://10.0.0.5:8080"},
	{name: "bracketed IPv6 host", src: "http://[2001:db8::1]"},
	{name: "bracketed IPv6 host with port", src: "http://[::1]:8080"},
	{name: "scheme and host in upper case", src: "HTTPS://Helpdesk.Example.COM"},
	{name: "highest port", src: "https://a.example:65535"},

	{name: "empty", src: "", wantErr: `frame ancestor "": must be 'self' or an origin such as https://helpdesk.example.com`},
	{name: "host without scheme", src: "helpdesk.example.com", wantErr: `frame ancestor "helpdesk.example.com": must be 'self' or an origin such as https://helpdesk.example.com`},
	{name: "none keyword", src: "'none'", wantErr: "must be 'self' or an origin"},
	{name: "self keyword in upper case", src: "'SELF'", wantErr: "must be 'self' or an origin"},
	{name: "self keyword without quotes", src: "self", wantErr: "must be 'self' or an origin"},
	{name: "bare wildcard", src: "*", wantErr: "must be 'self' or an origin"},
	{name: "scheme source", src: "https:", wantErr: "must be 'self' or an origin"},
	{name: "quoted origin", src: "'https://a.example'", wantErr: "must be 'self' or an origin"},
	{name: "two sources", src: "https://a.example https://b.example", wantErr: "must be 'self' or an origin"},
	{name: "tab", src: "https://a.example\t", wantErr: "must be 'self' or an origin"},
	{name: "semicolon", src: "https://a.example;script-src", wantErr: "must be 'self' or an origin"},
	{name: "comma", src: "https://a.example,https://b.example", wantErr: "must be 'self' or an origin"},
	{name: "other scheme", src: "ftp://a.example", wantErr: "scheme must be http or https"},
	{name: "trailing slash", src: "https://a.example/", wantErr: "must not have a path, query or fragment"},
	{name: "path", src: "https://a.example/helpdesk", wantErr: "must not have a path, query or fragment"},
	{name: "query", src: "https://a.example?x", wantErr: "must not have a path, query or fragment"},
	{name: "fragment", src: "https://a.example#x", wantErr: "must not have a path, query or fragment"},
	{name: "user information", src: "https://user@a.example", wantErr: "must not have user information"},
	{name: "empty host", src: "https://", wantErr: `invalid host ""`},
	{name: "empty host with port", src: "https://:443", wantErr: `invalid host ""`},
	{name: "underscore in host", src: "https://a_b.example", wantErr: "invalid host"},
	{name: "label starting with hyphen", src: "https://-a.example", wantErr: "invalid host"},
	{name: "empty label", src: "https://a..example", wantErr: "invalid host"},
	{name: "trailing dot", src: "https://a.example.", wantErr: "invalid host"},
	{name: "label longer than 63", src: "https://" + strings.Repeat("a", 64) + ".example", wantErr: "invalid host"},
	{name: "non-ASCII host", src: "https://bücher.example", wantErr: "invalid host"},
	{name: "wildcard inside host", src: "https://a.*.example", wantErr: "invalid host"},
	{name: "bare wildcard host", src: "https://*", wantErr: "invalid host"},
	{name: "double wildcard", src: "https://*.*.example", wantErr: "invalid host"},
	{name: "wildcard on IPv4", src: "https://*.10.0.0.5", wantErr: "no wildcard on an IP address"},
	{name: "host a browser reads as a short IPv4", src: "https://1.2.3", wantErr: "invalid host"},
	{name: "IPv4 with octet out of range", src: "https://10.0.0.256", wantErr: "invalid host"},
	{name: "host ending in a hexadecimal number", src: "https://a.0x1f", wantErr: "invalid host"},
	{name: "unbracketed IPv6", src: "http://::1", wantErr: "invalid host"},
	{name: "unclosed IPv6 bracket", src: "http://[::1", wantErr: `invalid IPv6 address "[::1"`},
	{name: "IPv4 in brackets", src: "http://[10.0.0.5]", wantErr: "invalid IPv6 address"},
	{name: "IPv6 with zone", src: "http://[fe80::1%eth0]", wantErr: "invalid IPv6 address"},
	{name: "garbage after IPv6", src: "http://[::1]x", wantErr: "invalid IPv6 address"},
	{name: "empty port", src: "https://a.example:", wantErr: `invalid port ""`},
	{name: "port zero", src: "https://a.example:0", wantErr: "invalid port"},
	{name: "port out of range", src: "https://a.example:65536", wantErr: "invalid port"},
	{name: "port longer than five digits", src: "https://a.example:000443", wantErr: "invalid port"},
	{name: "signed port", src: "https://a.example:+443", wantErr: "invalid port"},
	{name: "wildcard port", src: "https://a.example:*", wantErr: "invalid port"},
	{name: "two ports", src: "https://a.example:1:2", wantErr: "invalid port"},
}

func TestValidateAncestor(t *testing.T) {
	for _, tt := range validateAncestorTests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateAncestor(tt.src)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ValidateAncestor(%q) = %v, want nil", tt.src, err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("ValidateAncestor(%q) = nil, want error containing %q", tt.src, tt.wantErr)
			case err != nil && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("ValidateAncestor(%q) = %q, want error containing %q", tt.src, err, tt.wantErr)
			}
		})
	}
}

const (
	testAncestors = "https://helpdesk.example.com"
	helmetPolicy  = "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';" +
		"frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';" +
		"script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests"
)

// frameAncestorsTests are the cases of TestFrameAncestors, with ancestors
// testAncestors unless they set their own.
var frameAncestorsTests = []struct {
	name      string
	value     string
	ancestors string
	want      string
}{
	{
		name:  "helmet default policy has its directive replaced in place",
		value: helmetPolicy,
		want:  strings.Replace(helmetPolicy, "frame-ancestors 'self'", "frame-ancestors "+testAncestors, 1),
	},
	{
		name:  "none is replaced",
		value: "frame-ancestors 'none'",
		want:  "frame-ancestors " + testAncestors,
	},
	{
		name:  "directive name in upper case is replaced",
		value: "FRAME-ANCESTORS 'none'",
		want:  "frame-ancestors " + testAncestors,
	},
	{
		name:  "directive name in mixed case is replaced",
		value: "default-src 'self'; Frame-Ancestors 'none'",
		want:  "default-src 'self'; frame-ancestors " + testAncestors,
	},
	{
		name:  "every policy of a list is handled",
		value: "default-src 'self', frame-ancestors 'none'; script-src 'self'",
		want: "default-src 'self'; frame-ancestors " + testAncestors +
			", frame-ancestors " + testAncestors + "; script-src 'self'",
	},
	{
		name:  "directive is appended after a trailing semicolon",
		value: "default-src 'self';",
		want:  "default-src 'self'; frame-ancestors " + testAncestors,
	},
	{
		name:  "trailing semicolon after the directive is kept",
		value: "frame-ancestors 'none';",
		want:  "frame-ancestors " + testAncestors + ";",
	},
	{
		name:  "later duplicate directives are removed",
		value: "frame-ancestors 'none'; default-src 'self'; frame-ancestors https://evil.example; img-src *",
		want:  "frame-ancestors " + testAncestors + "; default-src 'self'; img-src *",
	},
	{
		name:  "duplicate directive at the end is removed",
		value: "default-src 'self'; frame-ancestors 'none'; frame-ancestors *",
		want:  "default-src 'self'; frame-ancestors " + testAncestors,
	},
	{
		name:  "whitespace before a removed duplicate at the end is dropped",
		value: "frame-ancestors 'none'; img-src *  ; frame-ancestors *",
		want:  "frame-ancestors " + testAncestors + "; img-src *",
	},
	{
		name:  "whitespace of the replaced directive is dropped at the end",
		value: "frame-ancestors 'none' ;frame-ancestors *",
		want:  "frame-ancestors " + testAncestors,
	},
	{
		name:  "directive is appended to a policy without one",
		value: "default-src 'self'",
		want:  "default-src 'self'; frame-ancestors " + testAncestors,
	},
	{
		name:  "empty value becomes the directive",
		value: "",
		want:  "frame-ancestors " + testAncestors,
	},
	{
		name:  "whitespace-only value becomes the directive",
		value: " \t ",
		want:  "frame-ancestors " + testAncestors,
	},
	{
		name:  "empty policy in a list is dropped",
		value: "default-src 'self',,img-src *",
		want:  "default-src 'self'; frame-ancestors " + testAncestors + ",img-src *; frame-ancestors " + testAncestors,
	},
	{
		name:  "empty and whitespace policies around a list are dropped",
		value: " , \t,default-src 'self', ,",
		want:  "default-src 'self'; frame-ancestors " + testAncestors,
	},
	{
		name:  "a value of commas becomes one directive",
		value: strings.Repeat(",", 10000),
		want:  "frame-ancestors " + testAncestors,
	},
	{
		name:  "empty directives are kept",
		value: "default-src 'self';; ;img-src *",
		want:  "default-src 'self';; ;img-src *; frame-ancestors " + testAncestors,
	},
	{
		name:  "whitespace around the replaced directive is kept",
		value: "default-src 'self' ;  frame-ancestors   'none'  ; img-src *",
		want:  "default-src 'self' ;  frame-ancestors " + testAncestors + "  ; img-src *",
	},
	{
		name:  "trailing whitespace does not separate the appended directive",
		value: "default-src 'self'  ",
		want:  "default-src 'self'; frame-ancestors " + testAncestors,
	},
	{
		name:  "tab after the directive name",
		value: "frame-ancestors\t'none'",
		want:  "frame-ancestors " + testAncestors,
	},
	{
		name:  "directive without sources is replaced",
		value: "frame-ancestors; default-src 'self'",
		want:  "frame-ancestors " + testAncestors + "; default-src 'self'",
	},
	{
		name:  "longer directive name is another directive",
		value: "frame-ancestorsx 'none'",
		want:  "frame-ancestorsx 'none'; frame-ancestors " + testAncestors,
	},
	{
		name:  "non-ASCII look-alike name is another directive",
		value: "frame-anceſtors 'none'",
		want:  "frame-anceſtors 'none'; frame-ancestors " + testAncestors,
	},
	{
		name:  "other directives are kept byte for byte",
		value: "Script-Src  'self'   'unsafe-inline'\t;REPORT-URI /csp",
		want:  "Script-Src  'self'   'unsafe-inline'\t;REPORT-URI /csp; frame-ancestors " + testAncestors,
	},
	{
		name:      "several ancestors",
		value:     "frame-ancestors 'none'",
		ancestors: "'self' https://a.example https://b.example",
		want:      "frame-ancestors 'self' https://a.example https://b.example",
	},
}

func TestFrameAncestors(t *testing.T) {
	for _, tt := range frameAncestorsTests {
		t.Run(tt.name, func(t *testing.T) {
			ancestors := tt.ancestors
			if ancestors == "" {
				ancestors = testAncestors
			}
			if got := FrameAncestors(tt.value, ancestors); got != tt.want {
				t.Errorf("FrameAncestors(%q, %q)\n got %q\nwant %q", tt.value, ancestors, got, tt.want)
			}
		})
	}
}

func TestAddFrameAncestors(t *testing.T) {
	const fa = "frame-ancestors " + testAncestors
	tests := []struct {
		name string
		in   http.Header
		want http.Header
	}{
		{
			name: "policy is added to a response without one",
			in:   http.Header{"Content-Type": {"text/html"}},
			want: http.Header{"Content-Type": {"text/html"}, "Content-Security-Policy": {fa}},
		},
		{
			name: "X-Frame-Options is removed",
			in:   http.Header{"X-Frame-Options": {"DENY", "SAMEORIGIN"}},
			want: http.Header{"Content-Security-Policy": {fa}},
		},
		{
			name: "existing policy is edited, not doubled",
			in:   http.Header{"Content-Security-Policy": {"default-src 'self'; frame-ancestors 'none'"}, "X-Frame-Options": {"DENY"}},
			want: http.Header{"Content-Security-Policy": {"default-src 'self'; " + fa}},
		},
		{
			name: "several policy lines keep their order, empty ones dropped",
			in:   http.Header{"Content-Security-Policy": {"default-src 'self'", "", "frame-ancestors 'none'", " , "}},
			want: http.Header{"Content-Security-Policy": {"default-src 'self'; " + fa, fa}},
		},
		{
			name: "empty lines alone leave the added policy",
			in:   http.Header{"Content-Security-Policy": {"", ","}, "Content-Security-Policy-Report-Only": {" "}},
			want: http.Header{"Content-Security-Policy": {fa}},
		},
		{
			name: "as many policies as allowed",
			in:   http.Header{"Content-Security-Policy": {strings.Repeat("img-src *,", MaxPolicies-1), "a"}},
			want: http.Header{"Content-Security-Policy": {strings.Repeat(",img-src *; "+fa, MaxPolicies-1)[1:], "a; " + fa}},
		},
		{
			name: "report-only policy alone still gets an enforced policy",
			in:   http.Header{"Content-Security-Policy-Report-Only": {"frame-ancestors 'none'; report-uri /r"}},
			want: http.Header{
				"Content-Security-Policy-Report-Only": {fa + "; report-uri /r"},
				"Content-Security-Policy":             {fa},
			},
		},
		{
			name: "both policies are edited",
			in: http.Header{
				"Content-Security-Policy":             {"img-src *"},
				"Content-Security-Policy-Report-Only": {"script-src 'self'", "style-src 'self'"},
			},
			want: http.Header{
				"Content-Security-Policy":             {"img-src *; " + fa},
				"Content-Security-Policy-Report-Only": {"script-src 'self'; " + fa, "style-src 'self'; " + fa},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := AddFrameAncestors(tt.in, testAncestors); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tt.in, tt.want) {
				t.Errorf("AddFrameAncestors gave\n%v\nwant\n%v", tt.in, tt.want)
			}
		})
	}
}

// An upstream's policies must not make the gateway amplify them: a policy
// made of a million commas became a 69 MB header once, each empty policy
// getting its own frame-ancestors.
func TestAddFrameAncestorsIsBoundedByItsInput(t *testing.T) {
	const fa = "frame-ancestors " + testAncestors
	commas := http.Header{"Content-Security-Policy": {strings.Repeat(",", 1_000_000)}, "Content-Security-Policy-Report-Only": {strings.Repeat(" ,", 500_000)}}
	if err := AddFrameAncestors(commas, testAncestors); err != nil {
		t.Fatal(err)
	}
	if want := (http.Header{"Content-Security-Policy": {fa}}); !reflect.DeepEqual(commas, want) {
		t.Errorf("a million empty policies gave %d bytes; want %v", len(commas.Get("Content-Security-Policy")), want)
	}

	for _, tt := range []struct {
		name string
		in   http.Header
	}{
		{"one value", http.Header{"Content-Security-Policy": {strings.Repeat("a,", MaxPolicies) + "a"}}},
		{"across values", http.Header{"Content-Security-Policy": {strings.Repeat("a,", 20)}, "Content-Security-Policy-Report-Only": {strings.Repeat("b,", 20)}}},
		{"one policy a value", http.Header{"Content-Security-Policy": slices.Repeat([]string{"img-src *"}, MaxPolicies+1)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.in.Clone()
			if err := AddFrameAncestors(tt.in, testAncestors); !errors.Is(err, ErrTooManyPolicies) {
				t.Errorf("AddFrameAncestors = %v; want ErrTooManyPolicies", err)
			}
			if !reflect.DeepEqual(tt.in, before) {
				t.Error("AddFrameAncestors changed a response it refused")
			}
		})
	}
}

func TestFrameAncestorsAllocations(t *testing.T) {
	if allocs := testing.AllocsPerRun(100, func() { FrameAncestors(helmetPolicy, testAncestors) }); allocs != 1 {
		t.Errorf("FrameAncestors allocated %v times, want 1", allocs)
	}
}

func TestAncestorAllows(t *testing.T) {
	for _, tt := range []struct {
		src, origin string
		want        bool
	}{
		{"https://helpdesk.example.com", "https://helpdesk.example.com", true},
		{"HTTPS://Helpdesk.Example.com", "https://helpdesk.example.com", true},
		{"https://hd.example.org:443", "https://hd.example.org", true},
		{"https://hd.example.org", "https://hd.example.org:443", true},
		{"http://hd.example.org:8080", "http://hd.example.org:8080", true},
		{"http://hd.example.org:8080", "http://hd.example.org", false},
		{"https://*.example.net", "https://hd.example.net", true},
		{"https://*.example.net", "https://a.b.example.net", true},
		{"https://*.example.net", "https://example.net", false},
		{"https://*.example.net", "https://evilexample.net", false},
		{"https://helpdesk.example.com", "http://helpdesk.example.com", false},
		{"https://helpdesk.example.com", "https://helpdesk.example.com.evil", false},
		{"https://[::1]:9000", "https://[::1]:9000", true},
		{"'self'", "https://helpdesk.example.com", false},
		{"https://helpdesk.example.com", "null", false},
	} {
		if got := AncestorAllows(tt.src, tt.origin); got != tt.want {
			t.Errorf("AncestorAllows(%q, %q) = %v, want %v", tt.src, tt.origin, got, tt.want)
		}
	}
}
