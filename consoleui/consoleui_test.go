package consoleui

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
	page := string(p.html)
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

// TestPageLoadsTheHostSDKAndNoInlineScriptOrStyle checks the HTML against
// what its policy forbids: inline scripts, event handler attributes, style
// elements and style attributes would all be blocked. Its scripts are the
// host SDK, relative to the page (<prefix>/_console/ → <prefix>/_bridge/),
// and its own.
func TestPageLoadsTheHostSDKAndNoInlineScriptOrStyle(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	page := strings.ToLower(string(p.html))
	scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1)
	if len(scripts) != 2 || scripts[0] != `<script src="../_bridge/host.js">` || !strings.Contains(scripts[1], ` src="console.js?v=`) {
		t.Errorf("script elements %q, want the host SDK, then the console's script", scripts)
	}
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<script[^>]*>[^<]`),
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`javascript:`),
		regexp.MustCompile(`<iframe`),
	} {
		if m := bad.FindString(page); m != "" {
			t.Errorf("the page contains %q", m)
		}
	}
}

// TestPageHasTheStableSelectors checks the hooks the gateway's tests and
// the console's users rely on.
func TestPageHasTheStableSelectors(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	page := string(p.html)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`<select id="app-select"`),
		regexp.MustCompile(`<input id="custom-url"`),
		regexp.MustCompile(`<select[^>]* name="mode"`),
		regexp.MustCompile(`<select[^>]* name="placement"`),
		regexp.MustCompile(`<textarea[^>]* name="user"`),
		regexp.MustCompile(`<textarea[^>]* name="ticket"`),
		regexp.MustCompile(`<button[^>]* id="load"`),
		regexp.MustCompile(`<button[^>]* id="send-ticket"`),
		regexp.MustCompile(`<button[^>]* id="send-user"`),
		regexp.MustCompile(`<button[^>]* id="reload"`),
		regexp.MustCompile(`<div class="stage" id="stage"`),
		regexp.MustCompile(`<ol class="log" id="log"`),
		regexp.MustCompile(`<tbody id="decisions"`),
	} {
		if !want.MatchString(page) {
			t.Errorf("the page has no %s", want)
		}
	}
	header := regexp.MustCompile(`(?s)<header.*</header>`).FindString(page)
	text := strings.Join(strings.Fields(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(header, " ")), " ")
	if !strings.HasPrefix(text, "Helpdesk Apps · Developer console") {
		t.Errorf("the header reads %q", text)
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
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "same-origin",
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; " +
			"connect-src 'self'; frame-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'",
		"Content-Length": strconv.Itoa(len(p.html)),
		"ETag":           "",
	}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		rec := httptest.NewRecorder()
		if !p.ServeHTTP(rec, httptest.NewRequest(method, "/apps/_console/", nil), "") {
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
		switch {
		case method == http.MethodHead && rec.Body.Len() != 0:
			t.Errorf("HEAD: %d bytes of body", rec.Body.Len())
		case method == http.MethodGet && !bytes.Equal(rec.Body.Bytes(), p.html):
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
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				rec := httptest.NewRecorder()
				if !p.ServeHTTP(rec, httptest.NewRequest(method, "/apps/_console/"+name+tc.query, nil), name) {
					t.Fatalf("%s %s%s: not served", method, name, tc.query)
				}
				h := rec.Header()
				body := f.body
				if method == http.MethodHead {
					body = nil
				}
				if rec.Code != http.StatusOK || h.Get("Cache-Control") != tc.cache || h.Get("Content-Type") != ctype ||
					h.Get("ETag") != `"`+f.version+`"` || h.Get("X-Content-Type-Options") != "nosniff" || !bytes.Equal(rec.Body.Bytes(), body) {
					t.Errorf("%s %s%s: %d, Cache-Control %q, Content-Type %q, ETag %q, %d bytes", method, name, tc.query, rec.Code,
						h.Get("Cache-Control"), h.Get("Content-Type"), h.Get("ETag"), rec.Body.Len())
				}
				if h.Get("Content-Security-Policy") != "" {
					t.Errorf("%s: a policy on a subresource", name)
				}
			}
		}
		req := httptest.NewRequest(http.MethodGet, "/apps/_console/"+name, nil)
		req.Header.Set("If-None-Match", `"`+f.version+`"`)
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req, name)
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
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
			rec := httptest.NewRecorder()
			if !p.ServeHTTP(rec, httptest.NewRequest(method, "/apps/_console/"+name, nil), name) {
				t.Errorf("%s %q: reported not served", method, name)
			}
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %q: %d, Allow %q", method, name, rec.Code, rec.Header().Get("Allow"))
			}
			if strings.Contains(rec.Body.String(), "<") || rec.Header().Get("Content-Security-Policy") != "" {
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
	for _, name := range []string{"index.html", "x", "console.js/", "./console.js", "CONSOLE.JS", "console.css.map", "/", "admin.js", "host.js", "../_bridge/host.js"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			if p.ServeHTTP(untouched{t}, httptest.NewRequest(method, "/apps/_console/x", nil), name) {
				t.Errorf("%s %q: reported served", method, name)
			}
		}
	}
}
