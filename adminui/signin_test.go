package adminui

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// testSignIn is a sign-in page as the gateway would fill it in.
var testSignIn = SignInPage{
	App:            "CRM",
	Provider:       "login.example.com",
	StartURL:       "https://gw.example.com/apps/_signin/start?app=crm",
	ExchangeURL:    "/apps/_signin/exchange",
	CallbackOrigin: "https://gw.example.com",
}

// inlineParts are what an inline page's HTML holds that its policy must
// allow: its style elements, its executable scripts, its JSON islands.
type inlineParts struct {
	styles, scripts, islands []string
}

var (
	styleElement  = regexp.MustCompile(`(?is)<style([^>]*)>(.*?)</style>`)
	scriptElement = regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`)
)

// splitInline finds the style and script elements of doc.
func splitInline(t *testing.T, doc string) inlineParts {
	t.Helper()
	var p inlineParts
	for _, m := range styleElement.FindAllStringSubmatch(doc, -1) {
		if m[1] != "" {
			t.Errorf("a style element with attributes %q", m[1])
		}
		p.styles = append(p.styles, m[2])
	}
	for _, m := range scriptElement.FindAllStringSubmatch(doc, -1) {
		switch {
		case m[1] == "":
			p.scripts = append(p.scripts, m[2])
		case regexp.MustCompile(`^ type="application/json" id="[a-z-]+"$`).MatchString(m[1]):
			p.islands = append(p.islands, m[2])
		default:
			t.Errorf("a script element with attributes %q", m[1])
		}
	}
	return p
}

// sha256Source is the CSP hash source of text, computed here apart from
// the code under test.
func sha256Source(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// serveSignIn serves the sign-in page at path.
func serveSignIn(t *testing.T, method, path string, status int, ancestors string, d SignInPage) *httptest.ResponseRecorder {
	t.Helper()
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.SignIn(rec, httptest.NewRequest(method, path, nil), status, ancestors, d)
	return rec
}

// serveSignInDone serves the popup's last page.
func serveSignInDone(t *testing.T, method string, status int, d SignInDone) *httptest.ResponseRecorder {
	t.Helper()
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.SignInDone(rec, httptest.NewRequest(method, "/apps/_signin/callback?code=x&state=y", nil), status, d)
	return rec
}

// TestSignInPagesAreServedUnderTheirExactPolicy checks every header of
// both pages, the policy to the byte, with the hashes computed here from
// the inline style and script the body holds; HEAD gets the headers only.
func TestSignInPagesAreServedUnderTheirExactPolicy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		serve  func(method string) *httptest.ResponseRecorder
		policy string // with STYLE and SCRIPT for the hash sources
	}{
		{
			name:   "sign-in",
			status: http.StatusUnauthorized,
			serve: func(method string) *httptest.ResponseRecorder {
				return serveSignIn(t, method, "/apps/crm/", http.StatusUnauthorized, "https://helpdesk.example.com", testSignIn)
			},
			policy: "default-src 'none'; script-src SCRIPT; style-src STYLE; connect-src 'self'; img-src data:; " +
				"form-action 'none'; base-uri 'none'; frame-ancestors https://helpdesk.example.com",
		},
		{
			name:   "done",
			status: http.StatusOK,
			serve: func(method string) *httptest.ResponseRecorder {
				return serveSignInDone(t, method, http.StatusOK, SignInDone{Code: "c0de", TargetOrigin: "https://crm.example.com"})
			},
			policy: "default-src 'none'; script-src SCRIPT; style-src STYLE; img-src data:; " +
				"form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
		},
		{
			name:   "done with an error",
			status: http.StatusBadRequest,
			serve: func(method string) *httptest.ResponseRecorder {
				return serveSignInDone(t, method, http.StatusBadRequest, SignInDone{Error: "The identity provider refused.", TargetOrigin: "https://crm.example.com"})
			},
			policy: "default-src 'none'; script-src SCRIPT; style-src STYLE; img-src data:; " +
				"form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			get := tc.serve(http.MethodGet)
			parts := splitInline(t, get.Body.String())
			if len(parts.styles) != 1 || len(parts.scripts) != 1 || len(parts.islands) != 1 {
				t.Fatalf("%d style, %d script and %d island elements, want one each", len(parts.styles), len(parts.scripts), len(parts.islands))
			}
			policy := strings.NewReplacer("SCRIPT", sha256Source(parts.scripts[0]), "STYLE", sha256Source(parts.styles[0])).Replace(tc.policy)
			want := http.Header{
				"Content-Type":            {"text/html; charset=utf-8"},
				"Content-Length":          {strconv.Itoa(get.Body.Len())},
				"Cache-Control":           {"no-store"},
				"X-Content-Type-Options":  {"nosniff"},
				"Referrer-Policy":         {"no-referrer"},
				"Content-Security-Policy": {policy},
			}
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				rec := tc.serve(method)
				if rec.Code != tc.status {
					t.Errorf("%s: status %d, want %d", method, rec.Code, tc.status)
				}
				if !reflect.DeepEqual(rec.Header(), want) {
					t.Errorf("%s: headers\n%q\nwant\n%q", method, rec.Header(), want)
				}
				if method == http.MethodHead && rec.Body.Len() != 0 {
					t.Errorf("HEAD: %d bytes of body", rec.Body.Len())
				}
			}
		})
	}
}

// TestSignInPagesNeedNothingButTheirHashedInlineParts checks that the
// pages load nothing, by any URL, and hold nothing their policy would
// block: no style attribute, no event handler attribute, no javascript:
// URL; their scripts run in strict mode, inside a function of their own.
func TestSignInPagesNeedNothingButTheirHashedInlineParts(t *testing.T) {
	for name, doc := range map[string]string{
		"sign-in": serveSignIn(t, http.MethodGet, "/", http.StatusUnauthorized, "'self'", testSignIn).Body.String(),
		"done":    serveSignInDone(t, http.MethodGet, http.StatusOK, SignInDone{Code: "c0de", TargetOrigin: "https://crm.example.com"}).Body.String(),
	} {
		t.Run(name, func(t *testing.T) {
			lower := strings.ToLower(doc)
			for _, bad := range []*regexp.Regexp{
				regexp.MustCompile(`\ssrc=`),
				regexp.MustCompile(`<link`),
				regexp.MustCompile(`<img`),
				regexp.MustCompile(`<iframe`),
				regexp.MustCompile(`<base`),
				regexp.MustCompile(`<form`),
				regexp.MustCompile(`\sstyle=`),
				regexp.MustCompile(`\son[a-z]+=`),
				regexp.MustCompile(`javascript:`),
				regexp.MustCompile(`@@[a-z]+@@`),
			} {
				if m := bad.FindString(lower); m != "" {
					t.Errorf("the page holds %q", m)
				}
			}
			// Its only links are to its own icons.
			for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(doc, -1) {
				if !strings.HasPrefix(m[1], "#i-") {
					t.Errorf("the page links to %q", m[1])
				}
			}
			parts := splitInline(t, doc)
			for _, css := range parts.styles {
				if m := regexp.MustCompile(`(?i)url\(|@import`).FindString(css); m != "" {
					t.Errorf("the stylesheet holds %q", m)
				}
			}
			if len(parts.scripts) != 1 || !strings.HasPrefix(parts.scripts[0], `(function(){"use strict";`) || !strings.HasSuffix(parts.scripts[0], "})()") {
				t.Errorf("the script is not one strict function expression, called: %.60q…", parts.scripts)
			}
		})
	}
}

// TestSignInPageIsTheSameAtAnyPath serves the sign-in page where the
// gateway replaces an app's page with it: the same bytes everywhere.
func TestSignInPageIsTheSameAtAnyPath(t *testing.T) {
	want := serveSignIn(t, http.MethodGet, "/", http.StatusUnauthorized, "'self'", testSignIn).Body.String()
	for _, path := range []string{"/apps/crm/", "/apps/crm/any/deep/path/", "/apps/crm/any/deep/path?x=1#y", "/index.php/a/b", "/%2e%2e/x"} {
		if got := serveSignIn(t, http.MethodGet, path, http.StatusUnauthorized, "'self'", testSignIn).Body.String(); got != want {
			t.Errorf("at %s the page differs", path)
		}
	}
}

// TestSignInFrameAncestorsCannotWidenThePolicy gives SignIn source lists
// that try to end the directive, add a policy, or break the header: such
// a list becomes 'none', and a fine one is kept, its whitespace tidied.
func TestSignInFrameAncestorsCannotWidenThePolicy(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://helpdesk.example.com", "https://helpdesk.example.com"},
		{"'self' https://helpdesk.example.com  https://*.example.org:8443", "'self' https://helpdesk.example.com https://*.example.org:8443"},
		{" \thttps://helpdesk.example.com\t ", "https://helpdesk.example.com"},
		{"https://helpdesk.example.com\nhttps://evil.example", "'none'"},
		{"", "'none'"},
		{"   ", "'none'"},
		{"https://helpdesk.example.com; script-src *", "'none'"},
		{"https://helpdesk.example.com;", "'none'"},
		{"https://helpdesk.example.com, script-src *", "'none'"},
		{"https://helpdesk.example.com\r\nSet-Cookie: a=b", "'none'"},
		{"https://helpdesk.example.com\x00", "'none'"},
		{"https://hélpdesk.example.com", "'none'"},
		{"https://helpdesk.example.com\u00a0https://evil.example", "'none'"},
	} {
		got := serveSignIn(t, http.MethodGet, "/", http.StatusUnauthorized, tc.in, testSignIn).Header().Get("Content-Security-Policy")
		if _, ancestors, _ := strings.Cut(got, "; frame-ancestors "); ancestors != tc.want {
			t.Errorf("%q: frame-ancestors %q, want %q", tc.in, ancestors, tc.want)
		}
		if strings.Count(got, ";") != 7 || strings.Contains(got, ",") {
			t.Errorf("%q: policy %q", tc.in, got)
		}
	}
}

// TestSignInDataStaysInItsIsland fills every field of both pages with
// what would end a script element, open a comment, or break out of an
// attribute or a string: the islands hold it escaped, decode to it
// exactly, and the pages have no other element.
func TestSignInDataStaysInItsIsland(t *testing.T) {
	const hostile = `</script><script>alert(1)</script><!-- "quoted" 'single' & </SCRIPT > <img src=x onerror=alert(2)>` + "\u2028\u2029"
	d := SignInPage{App: hostile, Provider: hostile, StartURL: hostile, ExchangeURL: hostile, CallbackOrigin: hostile, Mismatch: hostile}
	done := SignInDone{Code: hostile, TargetOrigin: hostile, Error: hostile}
	for _, tc := range []struct {
		name string
		doc  string
		want any
	}{
		{"sign-in", serveSignIn(t, http.MethodGet, "/", http.StatusUnauthorized, "'self'", d).Body.String(), signInData(d)},
		{"done", serveSignInDone(t, http.MethodGet, http.StatusBadRequest, done).Body.String(), signInDoneData(done)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts := splitInline(t, tc.doc)
			if len(parts.islands) != 1 || len(parts.scripts) != 1 || len(parts.styles) != 1 {
				t.Fatalf("%d islands, %d scripts, %d styles: the data made elements", len(parts.islands), len(parts.scripts), len(parts.styles))
			}
			text := parts.islands[0]
			for _, bad := range []string{"<", ">", "&", "\u2028", "\u2029"} {
				if strings.Contains(text, bad) {
					t.Errorf("the island holds %q unescaped", bad)
				}
			}
			if n := strings.Count(strings.ToLower(tc.doc), "<script"); n != 2 {
				t.Errorf("%d script elements, want the island and the script", n)
			}
			if strings.Contains(tc.doc, "alert(") && !strings.Contains(text, "alert(") {
				t.Error("the data is outside its island")
			}
			got := reflect.New(reflect.TypeOf(tc.want))
			if err := json.Unmarshal([]byte(text), got.Interface()); err != nil {
				t.Fatalf("the island is not JSON: %v", err)
			}
			if !reflect.DeepEqual(got.Elem().Interface(), tc.want) {
				t.Errorf("the island decodes to %+v, want %+v", got.Elem().Interface(), tc.want)
			}
		})
	}
}

// TestSignInPagesBuildFromTheirPlaceholders checks where the inline
// parts went, that the policies allow exactly them, and that a page
// missing its placeholders fails to build rather than serve a page its
// policy does not match.
func TestSignInPagesBuildFromTheirPlaceholders(t *testing.T) {
	p, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, pg := range []*inlinePage{p.signIn, p.signInDone} {
		if !strings.Contains(pg.policy, "script-src "+sha256Source(string(pg.script))+";") ||
			!strings.Contains(pg.policy, "style-src "+sha256Source(string(pg.style))+";") {
			t.Errorf("policy %q does not allow its own script and style", pg.policy)
		}
		if !strings.HasSuffix(string(pg.head), `<script type="application/json" id="`+map[*inlinePage]string{p.signIn: "signin-data", p.signInDone: "done-data"}[pg]+`">`) ||
			!strings.HasPrefix(string(pg.tail), "</script><script>") {
			t.Errorf("the island's data goes elsewhere: …%s|%.30s…", pg.head[len(pg.head)-60:], pg.tail)
		}
	}
	if p.signIn.style == nil || string(p.signIn.style) != string(p.signInDone.style) {
		t.Error("the two pages do not share their stylesheet")
	}
	bad := inlineSource{html: "signin.css", style: "signin.css", script: "signin.js", policy: signInSource.policy}
	if _, err := bad.build(nil); err == nil || !strings.Contains(err.Error(), "@@style@@ 0 times") {
		t.Error("a page without placeholders was built")
	}
}
