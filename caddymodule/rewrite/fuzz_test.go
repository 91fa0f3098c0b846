package rewrite

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// asciiSpace is the whitespace browsers strip from CSP directives.
const asciiSpace = "\t\n\f\r "

// directives returns the trimmed, non-empty directives of policy, split
// into frame-ancestors directives and others, reading directive names as
// browsers do.
func directives(policy string) (others, fa []string) {
	for _, d := range strings.Split(policy, ";") {
		d = strings.Trim(d, asciiSpace)
		fields := strings.FieldsFunc(d, func(r rune) bool { return strings.ContainsRune(asciiSpace, r) })
		switch {
		case len(fields) == 0:
		case strings.ToLower(fields[0]) == "frame-ancestors":
			fa = append(fa, d)
		default:
			others = append(others, d)
		}
	}
	return others, fa
}

func FuzzFrameAncestors(f *testing.F) {
	for _, tt := range frameAncestorsTests {
		f.Add(tt.value)
	}
	const ancestors = "'self' https://helpdesk.example.com"
	f.Fuzz(func(t *testing.T, value string) {
		got := FrameAncestors(value, ancestors)
		var in []string
		for _, p := range strings.Split(value, ",") {
			if strings.Trim(p, asciiSpace) != "" {
				in = append(in, p)
			}
		}
		if len(in) == 0 {
			in = []string{""}
		}
		out := strings.Split(got, ",")
		if len(in) != len(out) {
			t.Fatalf("FrameAncestors(%q) = %q: %d policies, want %d", value, got, len(out), len(in))
		}
		if bound := len(value) + max(1, CountPolicies(value))*len("; frame-ancestors "+ancestors); len(got) > bound {
			t.Fatalf("FrameAncestors(%q) = %d bytes; want at most %d", value, len(got), bound)
		}
		for i, policy := range out {
			others, fa := directives(policy)
			if len(fa) != 1 || fa[0] != "frame-ancestors "+ancestors {
				t.Fatalf("FrameAncestors(%q) = %q: policy %q has frame-ancestors %q", value, got, policy, fa)
			}
			if want, _ := directives(in[i]); strings.Join(others, ";") != strings.Join(want, ";") {
				t.Fatalf("FrameAncestors(%q) = %q: policy %q has directives %q, want %q", value, got, policy, others, want)
			}
		}
		if again := FrameAncestors(got, ancestors); again != got {
			t.Fatalf("FrameAncestors is not idempotent on %q: %q, then %q", value, got, again)
		}
	})
}

// FuzzAddFrameAncestorsIsBounded checks that the policies of a response,
// newline-separated values of its two CSP headers, grow by at most a
// constant: len(out) ≤ len(in) + (MaxPolicies+1) × len("; frame-ancestors "
// + ancestors), or are refused.
func FuzzAddFrameAncestorsIsBounded(f *testing.F) {
	for _, tt := range frameAncestorsTests {
		f.Add(tt.value)
	}
	f.Add(strings.Repeat(",", 4096))
	f.Add(strings.Repeat("a,", 31) + "\n" + strings.Repeat(" ,", 100))
	f.Add("frame-ancestors,frame-ancestors\nframe-ancestors;frame-ancestors")
	const ancestors = "'self' https://helpdesk.example.com https://*.helpdesk.example.com"
	keys := [...]string{"Content-Security-Policy", "Content-Security-Policy-Report-Only"}
	f.Fuzz(func(t *testing.T, values string) {
		h, in := http.Header{}, 0
		for i, v := range strings.Split(values, "\n") {
			h.Add(keys[i%2], v)
			in += len(v)
		}
		if err := AddFrameAncestors(h, ancestors); err != nil {
			return // refused: the response is not sent
		}
		out := 0
		for _, key := range keys {
			for _, v := range h[key] {
				out += len(v)
			}
		}
		if bound := in + (MaxPolicies+1)*len("; frame-ancestors "+ancestors); out > bound {
			t.Fatalf("AddFrameAncestors made %d bytes of %d (%q); want at most %d", out, in, values, bound)
		}
	})
}

func FuzzLocationRewrite(f *testing.F) {
	for _, tt := range locationTests {
		f.Add(tt.loc, tt.upstreamPath)
	}
	f.Fuzz(func(t *testing.T, loc, upstreamPath string) {
		for _, prefix := range []string{"/apps/crm", ""} {
			l := Location{Prefix: prefix, OwnHosts: testOwnHosts}
			got := l.Rewrite(loc, upstreamPath)
			if got == loc {
				// Unchanged: it names a host (another, or one no
				// browser parses), has another scheme, is empty, or
				// is already a path under the prefix.
				ref := browserForm(loc)
				scheme, rest := splitScheme(ref)
				rest = strings.ReplaceAll(rest, `\`, "/")
				if ref != "" && (scheme == "" || scheme == "http" || scheme == "https") && !strings.HasPrefix(rest, "//") &&
					!(scheme == "" && under(strings.SplitN(strings.SplitN(rest, "?", 2)[0], "#", 2)[0], strings.TrimRight(prefix, "/"))) {
					t.Fatalf("Rewrite(%q, %q) with prefix %q left unchanged a reference that names no host", loc, upstreamPath, prefix)
				}
				continue
			}
			p, suffix := got, ""
			if i := strings.IndexAny(got, "?#"); i >= 0 {
				p, suffix = got[:i], got[i:]
			}
			if p != prefix && !strings.HasPrefix(p, prefix+"/") {
				t.Fatalf("Rewrite(%q, %q) with prefix %q = %q, not under the prefix", loc, upstreamPath, prefix, got)
			}
			if form := browserForm(got); form != got || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, `/\`) {
				t.Fatalf("Rewrite(%q, %q) with prefix %q = %q, which names a host", loc, upstreamPath, prefix, got)
			}
			for _, seg := range strings.Split(p, "/") {
				if dots(seg) > 0 {
					t.Fatalf("Rewrite(%q, %q) with prefix %q = %q, which has dot segment %q", loc, upstreamPath, prefix, got, seg)
				}
			}
			if !strings.HasSuffix(browserForm(loc), suffix) {
				t.Fatalf("Rewrite(%q, %q) with prefix %q = %q, which changed the query or fragment", loc, upstreamPath, prefix, got)
			}
		}
	})
}

func FuzzSetCookie(f *testing.F) {
	for _, tt := range setCookieTests {
		f.Add(tt.value)
	}
	f.Fuzz(func(t *testing.T, value string) {
		got := SetCookie(value, testAppPath)
		if len(got) > len(value)+len(testAppPath)+1 {
			t.Fatalf("SetCookie(%q) = %d bytes; want at most %d", value, len(got), len(value)+len(testAppPath)+1)
		}
		pair, _, _ := strings.Cut(value, ";")
		if gotPair, _, _ := strings.Cut(got, ";"); gotPair != pair {
			t.Fatalf("SetCookie(%q) = %q, which changed the name=value pair", value, got)
		}
		var others []string
		for _, attr := range strings.Split(got, ";")[1:] {
			name, v, _ := strings.Cut(attr, "=")
			// Browsers trim spaces and tabs only; a Path value starting
			// with other whitespace is ignored like any relative path.
			switch name = strings.Trim(name, asciiSpace); {
			case strings.EqualFold(name, "domain"):
				t.Fatalf("SetCookie(%q) = %q, which has a Domain attribute", value, got)
			case strings.EqualFold(name, "path"):
				v = strings.Trim(v, asciiSpace)
				if v != strings.TrimSuffix(testAppPath, "/") && !strings.HasPrefix(v, testAppPath) {
					t.Fatalf("SetCookie(%q) = %q, which has path %q outside %s", value, got, v, testAppPath)
				}
			default:
				others = append(others, attr)
			}
		}
		var want []string
		for _, attr := range strings.Split(value, ";")[1:] {
			name, _, _ := strings.Cut(attr, "=")
			if name = strings.Trim(name, asciiSpace); !strings.EqualFold(name, "domain") && !strings.EqualFold(name, "path") {
				want = append(want, attr)
			}
		}
		if strings.Join(others, ";") != strings.Join(want, ";") {
			t.Fatalf("SetCookie(%q) = %q, which changed other attributes", value, got)
		}
		if again := SetCookie(got, testAppPath); again != got {
			t.Fatalf("SetCookie is not idempotent on %q: %q, then %q", value, got, again)
		}
	})
}

func FuzzValidateAncestor(f *testing.F) {
	for _, tt := range validateAncestorTests {
		f.Add(tt.src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if ValidateAncestor(src) != nil || src == "'self'" {
			return
		}
		if strings.ContainsAny(src, asciiSpace+"\v;,'\"") {
			t.Fatalf("ValidateAncestor accepted %q, which would break the policy", src)
		}
		u, err := url.Parse(src)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("ValidateAncestor accepted %q, which is not an origin (%v)", src, err)
		}
	})
}
