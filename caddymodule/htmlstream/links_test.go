package htmlstream

import (
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// rewriteURLTests are the cases of TestRewriteURL, for goldenLinks. An
// empty want means the value is unchanged.
var rewriteURLTests = []struct {
	name, value, want string
}{
	{"root-relative path is prefixed", "/x", "/apps/crm/x"},
	{"root is prefixed", "/", "/apps/crm/"},
	{"query and fragment are kept", "/x?a=1&b=/c#d", "/apps/crm/x?a=1&b=/c#d"},
	{"whitespace is kept", " /x ", " /apps/crm/x "},
	{"all leading whitespace is kept", "\t\n\f\r /x", "\t\n\f\r /apps/crm/x"},
	{"prefix is unchanged", "/apps/crm", ""},
	{"prefix with slash is unchanged", "/apps/crm/", ""},
	{"under the prefix is unchanged", "/apps/crm/x", ""},
	{"prefix with query is unchanged", "/apps/crm?x", ""},
	{"prefix with fragment is unchanged", "/apps/crm#x", ""},
	{"prefix with backslash is unchanged", `/apps/crm\x`, ""},
	{"prefix then whitespace is unchanged", "/apps/crm ", ""},
	{"path sharing the prefix's text is prefixed", "/apps/crmx", "/apps/crm/apps/crmx"},
	{"part of the prefix is prefixed", "/apps/cr", "/apps/crm/apps/cr"},
	{"another app is prefixed", "/apps/other/x", "/apps/crm/apps/other/x"},
	{"keep prefix is unchanged", "/apps/_bridge/client.js", ""},
	{"keep prefix itself is unchanged", "/apps/_bridge/", ""},
	{"part of the keep prefix is prefixed", "/apps/_bridge", "/apps/crm/apps/_bridge"},
	{"protocol-relative external is unchanged", "//evil.example/x", ""},
	{"backslash is protocol-relative", `/\evil`, ""},
	{"tab then slash is protocol-relative", "/\t/evil", ""},
	{"newlines then backslash is protocol-relative", "/\r\n\\evil", ""},
	{"tab then text is root-relative", "/\tx", "/apps/crm/\tx"},
	{"upstream URL becomes a path", "http://10.0.0.5:8080/x?y=1#z", "/apps/crm/x?y=1#z"},
	{"scheme case is ignored", "HTTP://10.0.0.5:8080/x", "/apps/crm/x"},
	{"host case is ignored", "https://HelpDesk.EXAMPLE.com/x", "/apps/crm/x"},
	{"other port is external", "http://10.0.0.5:8081/x", ""},
	{"missing port is not the upstream's", "http://10.0.0.5/x", ""},
	{"other scheme is external", "https://10.0.0.5:8080/x", ""},
	{"default port may be written", "https://helpdesk.example.com:443/x", "/apps/crm/x"},
	{"default port with leading zeros", "https://helpdesk.example.com:0443/x", "/apps/crm/x"},
	{"empty port is the default one", "https://helpdesk.example.com:/x", "/apps/crm/x"},
	{"port out of range is external", "http://10.0.0.5:65616/x", ""},
	{"own URL without path goes to the app root", "https://helpdesk.example.com", "/apps/crm/"},
	{"own URL without path keeps its query", "https://helpdesk.example.com?x=1", "/apps/crm/?x=1"},
	{"own URL without path keeps its fragment", "http://10.0.0.5:8080#top", "/apps/crm/#top"},
	{"own URL without path keeps whitespace", " http://10.0.0.5:8080 ", " /apps/crm/ "},
	{"protocol-relative own URL", "//10.0.0.5:8080/x", "/apps/crm/x"},
	{"protocol-relative own URL without port", "//helpdesk.example.com/x", "/apps/crm/x"},
	{"protocol-relative own URL with default port", "//helpdesk.example.com:443/x", "/apps/crm/x"},
	{"protocol-relative own URL without path", "//helpdesk.example.com", "/apps/crm/"},
	{"protocol-relative own URL on another port", "//helpdesk.example.com:8443/x", ""},
	{"backslashes after the scheme", `http:\\10.0.0.5:8080\x`, `/apps/crm\x`},
	{"own URL under the prefix loses only its origin", "https://helpdesk.example.com/apps/crm/x?y", "/apps/crm/x?y"},
	{"own URL under a keep prefix loses only its origin", "https://helpdesk.example.com/apps/_bridge/client.js", "/apps/_bridge/client.js"},
	{"own URL with a protocol-relative path", "https://helpdesk.example.com//evil.example/", "/apps/crm//evil.example/"},
	{"user information is external", "http://10.0.0.5:8080@evil.example/", ""},
	{"user information before an own host is left alone", "http://user@10.0.0.5:8080/", ""},
	{"longer host is external", "https://helpdesk.example.com.evil.example/", ""},
	{"host suffix is external", "https://xhelpdesk.example.com/", ""},
	{"one slash after the scheme is left alone", "http:/10.0.0.5:8080/x", ""},
	{"no slash after the scheme is left alone", "http:10.0.0.5:8080/x", ""},
	{"relative path is unchanged", "x/y", ""},
	{"dot path is unchanged", "../x", ""},
	{"query is unchanged", "?x=/y", ""},
	{"fragment is unchanged", "#/x", ""},
	{"empty is unchanged", "", ""},
	{"whitespace is unchanged", "  ", ""},
	{"data is unchanged", "data:text/html,<a href=/x>", ""},
	{"javascript is unchanged", "javascript:location='/x'", ""},
	{"mailto is unchanged", "mailto:a@b", ""},
	{"long scheme is unchanged", "chrome-extension://x/y", ""},
	{"character reference is not decoded", "&#47;x", ""},
}

func TestRewriteURL(t *testing.T) {
	for _, tt := range rewriteURLTests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = tt.value
			}
			if got := goldenLinks.RewriteURL([]byte(tt.value), nil); string(got) != want {
				t.Errorf("RewriteURL(%q) = %q, want %q", tt.value, got, want)
			}
			// Every streaming rewriter agrees.
			checkRewrite(t, "html", goldenLinks, `<a href="`+tt.value+`">`, `<a href="`+want+`">`)
			if !strings.ContainsAny(tt.value, "\"\\\n\r\f") {
				checkRewrite(t, "css", goldenLinks, `url("`+tt.value+`")`, `url("`+want+`")`)
			}
		})
	}
}

func TestRewriteURLAppends(t *testing.T) {
	dst := make([]byte, 0, 64)
	dst = append(dst, "x="...)
	if got := goldenLinks.RewriteURL([]byte("/y"), dst); string(got) != "x=/apps/crm/y" {
		t.Errorf("got %q", got)
	}
	if got := goldenLinks.RewriteURL([]byte("y"), dst); string(got) != "x=y" {
		t.Errorf("got %q", got)
	}
	value := []byte("https://helpdesk.example.com/x")
	if n := testing.AllocsPerRun(100, func() { dst = goldenLinks.RewriteURL(value, dst[:0]) }); n != 0 {
		t.Errorf("RewriteURL: %v allocations, want 0", n)
	}
}

// TestRewriteURLEmptyPrefix checks that with an empty Prefix, an own URL
// whose path starts with two slashes is not turned into a
// protocol-relative one.
func TestRewriteURLEmptyPrefix(t *testing.T) {
	links := &Links{Origins: []string{"http://o.test"}}
	for value, want := range map[string]string{
		"/x":                 "/x",
		"http://o.test/x":    "/x",
		"http://o.test":      "/",
		"http://o.test?q":    "/?q",
		"http://o.test//e/x": "http://o.test//e/x",
		`http://o.test/\e/x`: `http://o.test/\e/x`,
	} {
		if got := links.RewriteURL([]byte(value), nil); string(got) != want {
			t.Errorf("RewriteURL(%q) = %q, want %q", value, got, want)
		}
	}
}

// TestRewriteURLLongValue checks that a value still undecided after the
// bytes that could decide it is left unchanged.
func TestRewriteURLLongValue(t *testing.T) {
	for _, value := range []string{
		"http://10.0.0.5:" + strings.Repeat("0", 200) + "8080/x",
		"/" + strings.Repeat("\t", 200) + "x",
	} {
		if got := goldenLinks.RewriteURL([]byte(value), nil); string(got) != value {
			t.Errorf("RewriteURL(%.30q…) = %.30q…, want it unchanged", value, got)
		}
	}
}

// TestDecideIsMonotone checks what streaming relies on: once decide
// decides on the first bytes of a URL, the bytes that follow do not
// change its answer.
func TestDecideIsMonotone(t *testing.T) {
	var values []string
	for _, tt := range rewriteURLTests {
		values = append(values, strings.TrimLeft(tt.value, " \t\n\f\r"))
	}
	for _, tt := range htmlTests {
		for _, m := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(tt.in, -1) {
			values = append(values, m[1])
		}
	}
	for _, links := range []*Links{goldenLinks, testLinks, {Prefix: "/\x00P"}, {Origins: []string{"http://o.test"}}} {
		for _, v := range values {
			u := []byte(v)
			for _, esc := range []escapes{0, escRef, escCSS, escRef | escCSS} {
				final := links.decide(u, true, esc)
				if final.verdict == undecided {
					t.Fatalf("decide(%q, complete) is undecided", u)
				}
				for i := range len(u) + 1 {
					d := links.decide(u[:i], false, esc)
					if d.verdict != undecided && d != final {
						t.Errorf("links %v, escapes %d: decide(%q) = %+v, but decide(%q) = %+v", links, esc, u[:i], d, u, final)
					}
				}
			}
		}
	}
}

// charRefTests are the cases of TestCharRef: a reference, then the
// character it stands for and how many of its bytes are part of it.
var charRefTests = []struct {
	in   string
	sym  byte
	used int
}{
	{"&quot;", '"', 6},
	{"&QUOT;", '"', 6},
	{"&quot)", '"', 5},
	{"&quot=", symOpaque, 5},
	{"&quotx;", symOpaque, 7},
	{"&apos;", '\'', 6},
	{"&apos)", symOpaque, 5},
	{"&amp;", '&', 5},
	{"&amp ", '&', 4},
	{"&lpar;", '(', 6},
	{"&Tab;", '\t', 5},
	{"&DiacriticalGrave;", '`', 18},
	{"&eacute;", symOpaque, 8},
	{"&nvlt;", symOpaque, 6},
	{"&CounterClockwiseContourIntegral;", symOpaque, 33},
	{"&#34;", '"', 5},
	{"&#034;", '"', 6},
	{"&#34x", '"', 4},
	{"&#x22;", '"', 6},
	{"&#X22;", '"', 6},
	{"&#x00000022;", '"', 12},
	{"&#39;", '\'', 5},
	{"&#0;", symOpaque, 4},
	{"&#128;", symOpaque, 6},
	{"&#99999999999999999999;", symOpaque, 23},
	{"&#;", symOpaque, 2},
	{"&#x;", symOpaque, 3},
	{"& ", '&', 1},
	{"&;", '&', 1},
}

func TestCharRef(t *testing.T) {
	for _, tt := range charRefTests {
		var r charRef
		r.begin()
		used := 1
		for i := 1; ; i++ {
			c := byte(0) // the end of the value
			if i < len(tt.in) {
				c = tt.in[i]
			}
			sym, done, again := r.feed(c)
			if !again {
				used++
			}
			if done {
				if sym != tt.sym || used != tt.used {
					t.Errorf("%q: %q after %d bytes, want %q after %d", tt.in, sym, used, tt.sym, tt.used)
				}
				break
			}
		}
	}
}

// TestASCIIRefs checks asciiRefs and the references charRef decodes
// without a semicolon against the table of the html package.
func TestASCIIRefs(t *testing.T) {
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("go env GOROOT: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "src", "html", "entity.go"))
	if err != nil {
		t.Skipf("the html package's source is not available: %v", err)
	}
	names := regexp.MustCompile(`(?m)^\s+"([A-Za-z0-9]+;?)":`).FindAllStringSubmatch(string(src), -1)
	if len(names) < 2000 {
		t.Fatalf("found %d entity names in entity.go", len(names))
	}
	for _, m := range names {
		name, semicolon := strings.CutSuffix(m[1], ";")
		value := html.UnescapeString("&" + m[1])
		var want byte = symOpaque
		if len(value) == 1 && value[0] < 0x80 {
			want = value[0]
		}
		var r charRef
		r.begin()
		var sym byte
		for _, c := range []byte(name + map[bool]string{true: ";", false: " "}[semicolon]) {
			var done bool
			if sym, done, _ = r.feed(c); done {
				break
			}
		}
		if sym != want {
			t.Errorf("&%s: decoded as %q, want %q (%q)", m[1], sym, want, value)
		}
	}
	for name, c := range asciiRefs {
		if got := html.UnescapeString("&" + name + ";"); got != string(c) {
			t.Errorf("asciiRefs[%q] = %q, but it stands for %q", name, c, got)
		}
	}
}
