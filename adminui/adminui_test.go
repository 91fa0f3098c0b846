package adminui

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestEveryEmbeddedFileMinifiesAndIsVersioned loads the page as the gateway
// does: each file parses, shrinks, and the HTML refers to the script and the
// stylesheet at their current versions.
func TestEveryEmbeddedFileMinifiesAndIsVersioned(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatalf("minifying the embedded files: %v", err)
	}
	if again, _ := Load(); again != p {
		t.Error("a second Load minified the page again")
	}
	page := string(p.render("/"))
	for _, name := range []string{scriptName, stylesheetName} {
		f := p.files[name]
		src, _ := sources.ReadFile(name)
		if len(f.body) == 0 || len(f.body) >= len(src) {
			t.Errorf("%s: minified to %d bytes from %d", name, len(f.body), len(src))
		}
		if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(f.version) {
			t.Errorf("%s: version %q is not 16 hex digits", name, f.version)
		}
		if ref := `"` + name + `?v=` + f.version + `"`; strings.Count(page, ref) != 1 {
			t.Errorf("the page does not refer to %s once", ref)
		}
	}
	if p.files[scriptName].version == p.files[stylesheetName].version {
		t.Error("the script and the stylesheet share a version")
	}
	src, _ := sources.ReadFile("index.html")
	if len(page) >= len(src) {
		t.Errorf("index.html minified to %d bytes from %d", len(page), len(src))
	}
}

// TestPageNeedsNoInlineScriptOrStyle checks the HTML against what its
// policy forbids: inline scripts, event handler attributes, style elements
// and style attributes would all be blocked.
func TestPageNeedsNoInlineScriptOrStyle(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	page := strings.ToLower(string(p.render("/")))
	scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1)
	if len(scripts) != 1 || !strings.Contains(scripts[0], ` src="admin.js?v=`) {
		t.Errorf("script elements %q, want the one external script", scripts)
	}
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<script[^>]*>[^<]`),
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`javascript:`),
	} {
		if m := bad.FindString(page); m != "" {
			t.Errorf("the page contains %q", m)
		}
	}
	if strings.Contains(page, helpdeskPlaceholder) {
		t.Error("the rendered page still holds the placeholder")
	}
}

// TestServesTheHTMLUnderAStrictPolicy checks the headers of the page and
// that HEAD gets them without the body.
func TestServesTheHTMLUnderAStrictPolicy(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'",
		"ETag":                    "",
	}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		rec := httptest.NewRecorder()
		if !p.ServeHTTP(rec, httptest.NewRequest(method, "/apps/_admin/", nil), "", "https://helpdesk.example.com/") {
			t.Fatalf("%s: the page was not served", method)
		}
		if rec.Code != http.StatusOK {
			t.Errorf("%s: status %d", method, rec.Code)
		}
		for k, v := range want {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", method, k, got, v)
			}
		}
		full := p.render("https://helpdesk.example.com/")
		if got := rec.Header().Get("Content-Length"); got != strconv.Itoa(len(full)) {
			t.Errorf("%s: Content-Length %s, want %d", method, got, len(full))
		}
		switch {
		case method == http.MethodHead && rec.Body.Len() != 0:
			t.Errorf("HEAD: %d bytes of body", rec.Body.Len())
		case method == http.MethodGet && !bytes.Equal(rec.Body.Bytes(), full):
			t.Error("GET: the body is not the page")
		}
	}
}

// TestScriptAndStylesheetAreImmutableAtTheirVersionOnly checks the caching
// of the versioned files, and that revalidation costs a 304.
func TestScriptAndStylesheetAreImmutableAtTheirVersionOnly(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for name, ctype := range map[string]string{scriptName: "text/javascript; charset=utf-8", stylesheetName: "text/css; charset=utf-8"} {
		f := p.files[name]
		for _, tc := range []struct {
			query, cache string
		}{
			{"?v=" + f.version, "public, max-age=31536000, immutable"},
			{"", "no-cache"},
			{"?v=0123456789abcdef", "no-cache"},
		} {
			rec := httptest.NewRecorder()
			if !p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/apps/_admin/"+name+tc.query, nil), name, "/") {
				t.Fatalf("%s%s: not served", name, tc.query)
			}
			h := rec.Header()
			if rec.Code != http.StatusOK || h.Get("Cache-Control") != tc.cache || h.Get("Content-Type") != ctype ||
				h.Get("ETag") != `"`+f.version+`"` || h.Get("X-Content-Type-Options") != "nosniff" || !bytes.Equal(rec.Body.Bytes(), f.body) {
				t.Errorf("%s%s: %d, Cache-Control %q, Content-Type %q, ETag %q", name, tc.query, rec.Code, h.Get("Cache-Control"), h.Get("Content-Type"), h.Get("ETag"))
			}
			if h.Get("Content-Security-Policy") != "" {
				t.Errorf("%s: a policy on a subresource", name)
			}
		}
		req := httptest.NewRequest(http.MethodGet, "/apps/_admin/"+name, nil)
		req.Header.Set("If-None-Match", `"`+f.version+`"`)
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req, name, "/")
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("%s revalidated: %d with %d bytes, want 304", name, rec.Code, rec.Body.Len())
		}
	}
}

// TestRefusesMethodsOtherThanGetAndHead checks the 405 and its Allow.
func TestRefusesMethodsOtherThanGetAndHead(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", scriptName, stylesheetName} {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions} {
			rec := httptest.NewRecorder()
			if !p.ServeHTTP(rec, httptest.NewRequest(method, "/apps/_admin/"+name, nil), name, "/") {
				t.Errorf("%s %q: reported not served", method, name)
			}
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %q: %d, Allow %q", method, name, rec.Code, rec.Header().Get("Allow"))
			}
			if strings.Contains(rec.Body.String(), "<") {
				t.Errorf("%s %q: the page was served", method, name)
			}
		}
	}
}

// untouched is a response writer that fails the test when used.
type untouched struct{ t *testing.T }

func (u untouched) Header() http.Header {
	u.t.Error("Header called")
	return http.Header{}
}

func (u untouched) Write(b []byte) (int, error) {
	u.t.Error("Write called")
	return len(b), nil
}

func (u untouched) WriteHeader(int) { u.t.Error("WriteHeader called") }

// TestLeavesOtherNamesToTheCaller checks that names of no file are reported
// and nothing is written, whatever the method.
func TestLeavesOtherNamesToTheCaller(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"index.html", "x", "admin.js/", "./admin.js", "ADMIN.JS", "admin.css.map", "/"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			if p.ServeHTTP(untouched{t}, httptest.NewRequest(method, "/apps/_admin/x", nil), name, "/") {
				t.Errorf("%s %q: reported served", method, name)
			}
		}
	}
}

// TestHelpdeskURLIsEscapedOrRefused tries to break out of the attributes
// that hold the Helpdesk's URL, or to send the back link off-site or into
// script.
func TestHelpdeskURLIsEscapedOrRefused(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, href string }{
		{"https://helpdesk.example.com/", "https://helpdesk.example.com/"},
		{"http://localhost:8080/", "http://localhost:8080/"},
		{"/", "/"},
		{"/helpdesk/#/settings", "/helpdesk/#/settings"},
		{"/?a=1&b=2", "/?a=1&amp;b=2"},
		{`https://helpdesk.example.com/?q="><script>alert(1)</script>`, "https://helpdesk.example.com/?q=&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"},
		{`/x'onmouseover='alert(1)`, "/x&#39;onmouseover=&#39;alert(1)"},
		{"", "/"},
		{"javascript:alert(1)", "/"},
		{"JavaScript:alert(1)", "/"},
		{" javascript:alert(1)", "/"},
		{"data:text/html,<script>alert(1)</script>", "/"},
		{"//evil.example/", "/"},
		{`/\evil.example/`, "/"},
		{"/\t/evil.example/", "/"},
		{"/\n/evil.example/", "/"},
		{"https:evil.example", "/"},
		{"https:///evil.example", "/"},
		{"https://user@evil.example/", "/"},
		{"ftp://helpdesk.example.com/", "/"},
		{"helpdesk", "/"},
		{"%2F%2Fevil.example", "/"},
	} {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/apps/_admin/", nil), "", tc.in)
		page := rec.Body.String()
		hrefs := regexp.MustCompile(`<a[^>]* id="back-link" href="([^"]*)"`).FindStringSubmatch(page)
		if hrefs == nil {
			t.Fatalf("%q: no back link in %s", tc.in, page)
		}
		if hrefs[1] != tc.href {
			t.Errorf("%q: back link href %q, want %q", tc.in, hrefs[1], tc.href)
		}
		if n := strings.Count(page, `href="`+tc.href+`"`); n != 3 {
			t.Errorf("%q: %d links to the Helpdesk, want 3 (brand, back, full-page message)", tc.in, n)
		}
		if strings.Contains(strings.ToLower(page), "<script>") || strings.Contains(page, "'onmouseover") {
			t.Errorf("%q: broke out of the attribute", tc.in)
		}
	}
}
