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

// pageCase is one of the pages, as the tests see it.
type pageCase struct {
	name string
	// page picks the page out of the loaded ones.
	page func(*Pages) *page
	// serve serves the page's file name as the gateway does.
	serve func(p *Pages, w http.ResponseWriter, r *http.Request, name string) bool
	// dir is where the gateway serves the page.
	dir    string
	source *source
	// policy is the Content-Security-Policy its HTML must be served with.
	policy string
	// scripts are the script elements the HTML must have, in order, up to
	// the version of each.
	scripts []string
	// selectors are hooks the tests and the gateway rely on.
	selectors []string
	// header is what the HTML's header must read first.
	header string
	// foreign are names the page must leave to its caller.
	foreign []string
}

// testHelpdeskURL is where the settings page's back links go in the tests.
const testHelpdeskURL = "https://helpdesk.example.com/"

var pageCases = []pageCase{
	{
		name: "settings",
		page: func(p *Pages) *page { return p.settings },
		serve: func(p *Pages, w http.ResponseWriter, r *http.Request, name string) bool {
			return p.Settings(w, r, name, testHelpdeskURL)
		},
		dir:     "/apps/_admin/",
		source:  &settingsSource,
		policy:  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'",
		scripts: []string{`<script src="base.js?v=`, `<script src="admin.js?v=`},
		selectors: []string{
			`<a[^>]* id="back-link"`,
			`<button[^>]* id="add-app"`,
			`<button[^>]* id="export"`,
			`<div id="groups"`,
			`<dialog[^>]* id="app-dialog"`,
			`<form id="app-form"`,
			`<div class="toast" id="toast"`,
			`<main class="fatal" id="fatal"`,
		},
		header:  "Helpdesk Settings Integrations Apps",
		foreign: []string{"console.js", "console.css", "host.js"},
	},
	{
		name: "console",
		page: func(p *Pages) *page { return p.console },
		serve: func(p *Pages, w http.ResponseWriter, r *http.Request, name string) bool {
			return p.Console(w, r, name, nil)
		},
		dir:    "/apps/_console/",
		source: &consoleSource,
		policy: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; " +
			"connect-src 'self'; frame-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'",
		// The host SDK, relative to the page (<prefix>/_console/ →
		// <prefix>/_bridge/), then the shared script and the console's.
		scripts: []string{`<script src="../_bridge/host.js">`, `<script src="base.js?v=`, `<script src="console.js?v=`},
		selectors: []string{
			`<select id="app-select"`,
			`<input id="custom-url"`,
			`<select[^>]* name="mode"`,
			`<select[^>]* name="placement"`,
			`<textarea[^>]* name="user"`,
			`<textarea[^>]* name="ticket"`,
			`<button[^>]* id="load"`,
			`<button[^>]* id="send-ticket"`,
			`<button[^>]* id="send-user"`,
			`<button[^>]* id="reload"`,
			`<div class="stage" id="stage"`,
			`<ol class="log" id="log"`,
			`<tbody id="decisions"`,
		},
		header:  "Helpdesk Apps · Developer console",
		foreign: []string{"admin.js", "admin.css", "host.js", "../_bridge/host.js"},
	},
}

// forEachPage runs test for each page, loaded.
func forEachPage(t *testing.T, test func(t *testing.T, pc pageCase, p *Pages)) {
	t.Helper()
	p, err := Load()
	if err != nil {
		t.Fatalf("minifying the embedded files: %v", err)
	}
	for _, pc := range pageCases {
		t.Run(pc.name, func(t *testing.T) { test(t, pc, p) })
	}
}

// TestEveryEmbeddedFileMinifiesAndIsVersioned loads the pages as the
// gateway does: each file parses, shrinks, and the HTML refers to its
// scripts and stylesheets at their current versions; the files both pages
// share are minified once.
func TestEveryEmbeddedFileMinifiesAndIsVersioned(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatalf("minifying the embedded files: %v", err)
	}
	if again, _ := Load(); again != p {
		t.Error("a second Load minified the pages again")
	}
	for _, name := range []string{"base.js", "base.css"} {
		if p.settings.files[name] != p.console.files[name] {
			t.Errorf("%s was minified for each page", name)
		}
	}
	forEachPage(t, func(t *testing.T, pc pageCase, p *Pages) {
		pg := pc.page(p)
		doc := string(pg.render("/"))
		versions := map[string]string{}
		if len(pg.files) != len(pc.source.files) {
			t.Errorf("%d files, want %d", len(pg.files), len(pc.source.files))
		}
		for _, name := range pc.source.files {
			f := pg.files[name]
			src, _ := sources.ReadFile(name)
			if len(f.body) == 0 || len(f.body) >= len(src) {
				t.Errorf("%s: minified to %d bytes from %d", name, len(f.body), len(src))
			}
			if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(f.version) {
				t.Errorf("%s: version %q is not 16 hex digits", name, f.version)
			}
			if other, ok := versions[f.version]; ok {
				t.Errorf("%s and %s share a version", name, other)
			}
			versions[f.version] = name
			if ref := `"` + name + `?v=` + f.version + `"`; strings.Count(doc, ref) != 1 {
				t.Errorf("the page does not refer to %s once", ref)
			}
		}
		src, _ := sources.ReadFile(pc.source.html)
		if len(doc) >= len(src) {
			t.Errorf("%s minified to %d bytes from %d", pc.source.html, len(doc), len(src))
		}
	})
}

// TestPagesNeedNoInlineScriptOrStyle checks the HTML against what its
// policy forbids: inline scripts, event handler attributes, style elements
// and style attributes would all be blocked. Its scripts are the shared one
// and its own, after the host SDK on the console.
func TestPagesNeedNoInlineScriptOrStyle(t *testing.T) {
	forEachPage(t, func(t *testing.T, pc pageCase, p *Pages) {
		doc := strings.ToLower(string(pc.page(p).render("/")))
		scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(doc, -1)
		ok := len(scripts) == len(pc.scripts)
		for i := 0; ok && i < len(scripts); i++ {
			ok = strings.HasPrefix(scripts[i], pc.scripts[i])
		}
		if !ok {
			t.Errorf("script elements %q, want %q", scripts, pc.scripts)
		}
		sheets := regexp.MustCompile(`<link rel="stylesheet" href="([a-z]+\.css)\?v=`).FindAllStringSubmatch(doc, -1)
		if len(sheets) != 2 || sheets[0][1] != "base.css" || sheets[1][1] != pc.source.files[1] {
			t.Errorf("stylesheets %q, want base.css, then %s", sheets, pc.source.files[1])
		}
		for _, bad := range []*regexp.Regexp{
			regexp.MustCompile(`<script[^>]*>[^<]`),
			regexp.MustCompile(`<style`),
			regexp.MustCompile(`\sstyle=`),
			regexp.MustCompile(`\son[a-z]+=`),
			regexp.MustCompile(`javascript:`),
			regexp.MustCompile(`<iframe`),
		} {
			if m := bad.FindString(doc); m != "" {
				t.Errorf("the page contains %q", m)
			}
		}
		if strings.Contains(doc, helpdeskPlaceholder) {
			t.Error("the rendered page still holds the placeholder")
		}
	})
}

// TestPagesHaveTheStableSelectors checks the hooks the gateway's tests and
// the pages' users rely on.
func TestPagesHaveTheStableSelectors(t *testing.T) {
	forEachPage(t, func(t *testing.T, pc pageCase, p *Pages) {
		doc := string(pc.page(p).render("/"))
		for _, want := range pc.selectors {
			if !regexp.MustCompile(want).MatchString(doc) {
				t.Errorf("the page has no %s", want)
			}
		}
		header := regexp.MustCompile(`(?s)<header.*</header>`).FindString(doc)
		text := strings.Join(strings.Fields(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(header, " ")), " ")
		if !strings.HasPrefix(text, pc.header) {
			t.Errorf("the header reads %q, want %q first", text, pc.header)
		}
	})
}

// TestServesTheHTMLUnderAStrictPolicy checks the headers of each page and
// that HEAD gets them without the body.
func TestServesTheHTMLUnderAStrictPolicy(t *testing.T) {
	forEachPage(t, func(t *testing.T, pc pageCase, p *Pages) {
		full := pc.page(p).render(testHelpdeskURL)
		want := map[string]string{
			"Content-Type":            "text/html; charset=utf-8",
			"Cache-Control":           "no-store",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "same-origin",
			"Content-Security-Policy": pc.policy,
			"Content-Length":          strconv.Itoa(len(full)),
			"ETag":                    "",
		}
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			rec := httptest.NewRecorder()
			if !pc.serve(p, rec, httptest.NewRequest(method, pc.dir, nil), "") {
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
			case method == http.MethodGet && !bytes.Equal(rec.Body.Bytes(), full):
				t.Error("GET: the body is not the page")
			}
		}
	})
}

// TestScriptsAndStylesheetsAreImmutableAtTheirVersionOnly checks the
// caching of the versioned files, and that revalidation costs a 304.
func TestScriptsAndStylesheetsAreImmutableAtTheirVersionOnly(t *testing.T) {
	forEachPage(t, func(t *testing.T, pc pageCase, p *Pages) {
		for _, name := range pc.source.files {
			f := pc.page(p).files[name]
			ctype := "text/javascript; charset=utf-8"
			if strings.HasSuffix(name, ".css") {
				ctype = "text/css; charset=utf-8"
			}
			for _, tc := range []struct {
				query, cache string
			}{
				{"?v=" + f.version, "public, max-age=31536000, immutable"},
				{"", "no-cache"},
				{"?v=0123456789abcdef", "no-cache"},
			} {
				for _, method := range []string{http.MethodGet, http.MethodHead} {
					rec := httptest.NewRecorder()
					if !pc.serve(p, rec, httptest.NewRequest(method, pc.dir+name+tc.query, nil), name) {
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
			req := httptest.NewRequest(http.MethodGet, pc.dir+name, nil)
			req.Header.Set("If-None-Match", `"`+f.version+`"`)
			rec := httptest.NewRecorder()
			pc.serve(p, rec, req, name)
			if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
				t.Errorf("%s revalidated: %d with %d bytes, want 304", name, rec.Code, rec.Body.Len())
			}
		}
	})
}

// TestRefusesMethodsOtherThanGetAndHead checks the 405 and its Allow.
func TestRefusesMethodsOtherThanGetAndHead(t *testing.T) {
	forEachPage(t, func(t *testing.T, pc pageCase, p *Pages) {
		for _, name := range append([]string{""}, pc.source.files...) {
			for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
				rec := httptest.NewRecorder()
				if !pc.serve(p, rec, httptest.NewRequest(method, pc.dir+name, nil), name) {
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
	})
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

// TestLeavesOtherNamesToTheCaller checks that names of no file of the
// page, the other page's files among them, are reported and nothing is
// written, whatever the method.
func TestLeavesOtherNamesToTheCaller(t *testing.T) {
	forEachPage(t, func(t *testing.T, pc pageCase, p *Pages) {
		names := []string{"index.html", "admin.html", "console.html", "x", "/", "base.js/", "./base.js", "BASE.JS", "base.css.map"}
		for _, name := range append(names, pc.foreign...) {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				if pc.serve(p, untouched{t}, httptest.NewRequest(method, pc.dir+"x", nil), name) {
					t.Errorf("%s %q: reported served", method, name)
				}
			}
		}
	})
}

// TestHelpdeskURLIsEscapedOrRefused tries to break out of the attributes
// of the settings page that hold the Helpdesk's URL, or to send the back
// link off-site or into script.
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
		p.Settings(rec, httptest.NewRequest(http.MethodGet, "/apps/_admin/", nil), "", tc.in)
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

// TestConsoleFramesTheAppHostsItIsGiven serves the console with the hosts
// of apps on hosts of their own: its policy lets it frame those, on any
// port, and nothing that is not a host name.
func TestConsoleFramesTheAppHostsItIsGiven(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.Console(rec, httptest.NewRequest(http.MethodGet, "/apps/_console/", nil), "",
		[]string{"*.apps.example.com", "wiki.example.com", "evil.example.com; script-src *", "https://x.example.com", "*"})
	got := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(got, "; frame-src 'self' *.apps.example.com:* wiki.example.com:*; form-action") {
		t.Errorf("policy %q: want the app hosts, and nothing else, in frame-src", got)
	}
	if strings.Count(got, "script-src") != 1 {
		t.Errorf("policy %q: a host let a directive in", got)
	}
}
