package caddymodule

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/helpdeskapps/gateway/bridgejs"
)

// testPage is the HTML document pageServer serves.
const testPage = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>t</title></head><body><p>hello</p></body></html>\n"

// pageServer answers /page with testPage, shaped by the query: ct (the
// Content-Type), enc (gzip, zstd or br: the body is encoded so), status,
// csp (a Content-Security-Policy), etag, cd (a Content-Disposition), pad
// (paragraphs added to the body, see paddedPage).
var pageServer = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ct := q.Get("ct")
	if ct == "" {
		ct = "text/html; charset=utf-8"
	}
	pad, _ := strconv.Atoi(q.Get("pad"))
	body := []byte(paddedPage(pad))
	switch enc := q.Get("enc"); enc {
	case "gzip":
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		body = b.Bytes()
		w.Header().Set("Content-Encoding", enc)
	case "zstd":
		zw, _ := zstd.NewWriter(nil)
		body = zw.EncodeAll(body, nil)
		w.Header().Set("Content-Encoding", enc)
	case "br":
		body = []byte("not really brotli")
		w.Header().Set("Content-Encoding", enc)
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if csp := q.Get("csp"); csp != "" {
		w.Header().Set("Content-Security-Policy", csp)
	}
	if etag := q.Get("etag"); etag != "" {
		w.Header().Set("ETag", etag)
	}
	if cd := q.Get("cd"); cd != "" {
		w.Header().Set("Content-Disposition", cd)
	}
	status := http.StatusOK
	if s := q.Get("status"); s != "" {
		status, _ = strconv.Atoi(s)
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
})

// paddedPage is testPage with n more paragraphs in its body.
func paddedPage(n int) string {
	return strings.Replace(testPage, "</body>", strings.Repeat("<p>more</p>", n)+"</body>", 1)
}

// startInjectingGateway runs the gateway with app `open` (shim injected)
// and app `plain` (inject off), both on one upstream.
func startInjectingGateway(t *testing.T) (string, *upstream) {
	t.Helper()
	up := newUpstream(t)
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		frame_ancestors 'self' https://helpdesk.test
		session {
			hmac_secret %s
			issuer https://helpdesk.test
		}
		app open {
			auto_resize
			to %[2]s
		}
		app plain {
			inject off
			to %[2]s
		}
	}`, testSecret, up.URL))
	return base, up
}

// expectedShim is the tag injected into app open's pages in its usual form.
func expectedShim(t *testing.T) string {
	scripts, err := bridgejs.Load()
	if err != nil {
		t.Fatal(err)
	}
	return `<script src="/apps/_bridge/client.js?v=` + scripts[bridgejs.Client].Version +
		`" data-helpdesk-app="open" data-helpdesk-origins="self https://helpdesk.test" data-auto-resize="true"></script>`
}

// frameRequest is what a browser sends when it loads a page in an iframe.
var frameRequest = []string{"Sec-Fetch-Dest", "iframe", "Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}

func TestInjectsShimRightAfterHead(t *testing.T) {
	base, _ := startInjectingGateway(t)
	tok := token(t, agent("agent", 1))
	resp, body := get(t, base+"/apps/open/page?etag=%22v1%22", tok, frameRequest...)
	want := strings.Replace(testPage, "<head>", "<head>"+expectedShim(t), 1)
	if body != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	if cl := resp.Header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(want)) {
		t.Errorf("Content-Length %s of the original body kept", cl)
	}
	if got := resp.Header.Get("ETag"); !markedETag.MatchString(got) || !strings.HasPrefix(got, `W/"v1-hd`) {
		t.Errorf("ETag = %q; want the upstream's \"v1\", weak and marked", got)
	}
}

// markedETag is the form of a changed body's ETag.
var markedETag = regexp.MustCompile(`^W/".*-hd[0-9a-f]{8}"$`)

func TestInjectsOnlyIntoHTMLDocuments(t *testing.T) {
	base, _ := startInjectingGateway(t)
	tok := token(t, agent("agent", 1))
	xhr := []string{"Sec-Fetch-Dest", "empty", "Accept", "text/html"}
	cases := []struct {
		name, path string
		method     string
		hdr        []string
	}{
		{"fetch() of an HTML page", "/apps/open/page", "GET", xhr},
		{"XMLHttpRequest without fetch metadata", "/apps/open/page", "GET", []string{"Accept", "text/html", "X-Requested-With", "XMLHttpRequest"}},
		{"client that does not accept HTML", "/apps/open/page", "GET", []string{"Accept", "*/*"}},
		{"script destination", "/apps/open/page", "GET", []string{"Sec-Fetch-Dest", "script"}},
		{"HEAD", "/apps/open/page", "HEAD", frameRequest},
		{"JSON", "/apps/open/page?ct=application/json", "GET", frameRequest},
		{"plain text", "/apps/open/page?ct=text/plain", "GET", frameRequest},
		{"UTF-16 HTML", "/apps/open/page?ct=" + url.QueryEscape("text/html; charset=UTF-16LE"), "GET", frameRequest},
		{"UTF-16 HTML by another label", "/apps/open/page?ct=" + url.QueryEscape("text/html; charset=unicode"), "GET", frameRequest},
		{"download", "/apps/open/page?cd=" + url.QueryEscape(`Attachment; filename="report.html"`), "GET", frameRequest},
		{"204", "/apps/open/page?status=204", "GET", frameRequest},
		{"206", "/apps/open/page?status=206", "GET", frameRequest},
		{"404 page", "/apps/open/page?status=404", "GET", frameRequest},
		{"brotli, which the gateway does not decode", "/apps/open/page?enc=br", "GET", frameRequest},
		{"app with inject off", "/apps/plain/page", "GET", frameRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, base+c.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.AddCookie(&http.Cookie{Name: "hd_session", Value: tok})
			for i := 0; i+1 < len(c.hdr); i += 2 {
				req.Header.Set(c.hdr[i], c.hdr[i+1])
			}
			resp, body := do(t, req)
			if strings.Contains(body, "_bridge/client.js") {
				t.Errorf("shim injected: %s", body)
			}
			if c.method == "GET" && resp.StatusCode != 204 && resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %q for a %d-byte body left untouched", resp.Header.Get("Content-Length"), len(body))
			}
		})
	}
}

// TestValidatorsMatchTheInjectedPage checks the answers that carry no
// body but describe the injected one: a 304 revalidating it and a HEAD
// keep its weak ETag, and the HEAD no Content-Length of the page without
// the shim.
func TestValidatorsMatchTheInjectedPage(t *testing.T) {
	base, _ := startInjectingGateway(t)
	tok := token(t, agent("agent", 1))
	page, _ := get(t, base+"/apps/open/page?etag=%22v1%22", tok, frameRequest...)
	etag := page.Header.Get("ETag")
	if !markedETag.MatchString(etag) {
		t.Fatalf("ETag of the page %q", etag)
	}
	for _, c := range []struct{ name, method, query string }{
		{"304", http.MethodGet, "&status=304"},
		{"HEAD", http.MethodHead, ""},
	} {
		req, err := http.NewRequest(c.method, base+"/apps/open/page?etag=%22v1%22"+c.query, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.AddCookie(&http.Cookie{Name: "hd_session", Value: tok})
		for i := 0; i+1 < len(frameRequest); i += 2 {
			req.Header.Set(frameRequest[i], frameRequest[i+1])
		}
		req.Header.Set("If-None-Match", etag)
		resp, _ := do(t, req)
		if got := resp.Header.Get("ETag"); got != etag {
			t.Errorf("%s: ETag = %q; want the injected page's %q", c.name, got, etag)
		}
		if c.method == http.MethodHead && resp.Header.Get("Content-Length") != "" {
			t.Errorf("HEAD: Content-Length %q of the page without the shim", resp.Header.Get("Content-Length"))
		}
		if c.method == http.MethodHead && resp.Header.Get("Accept-Ranges") != "none" {
			t.Errorf("HEAD: Accept-Ranges %q; want none, as the page's GET", resp.Header.Get("Accept-Ranges"))
		}
	}
}

// A document is never served in ranges of the upstream's bytes, which
// would lack the shim and sit at offsets the injected page does not have:
// a browser resuming a cut-off load of the page (Range with If-Range on
// its Last-Modified) gets it whole, and the page offers no ranges. A
// fetch() of the same URL still gets its range.
func TestDocumentsAreNeverRanged(t *testing.T) {
	base, _ := startContentGateway(t)
	tok := token(t, agent("agent", 1))
	ranged := []string{"Range", "bytes=20-", "If-Range", contentModified.Format(http.TimeFormat)}

	resp, body := get(t, base+"/apps/open/page", tok, append(ranged, frameRequest...)...)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<head><script src=") || !strings.HasPrefix(body, "<!doctype") {
		t.Errorf("frame load with a range: %d %q; want the whole page with the shim", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Accept-Ranges"); got != "none" {
		t.Errorf("injected page: Accept-Ranges %q; want none", got)
	}

	resp, body = get(t, base+"/apps/open/page", tok, append(ranged, "Sec-Fetch-Dest", "empty")...)
	if resp.StatusCode != http.StatusPartialContent || body != testPage[20:] {
		t.Errorf("fetch() with a range: %d %q; want 206 and the range", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Accept-Ranges"); got != "bytes" {
		t.Errorf("fetch(): Accept-Ranges %q; want the upstream's bytes", got)
	}
}

// TestHTMLVariesWithHowItIsAsked checks that an injecting app's HTML
// names the request headers that decide on the shim in Vary, injected or
// not, so that no cache gives a fetch()'s copy to a frame; other bodies
// and apps without the shim do not.
func TestHTMLVariesWithHowItIsAsked(t *testing.T) {
	base, _ := startInjectingGateway(t)
	tok := token(t, agent("agent", 1))
	for _, c := range []struct {
		name, path string
		hdr        []string
		want       bool
	}{
		{"frame", "/apps/open/page", frameRequest, true},
		{"fetch()", "/apps/open/page", []string{"Sec-Fetch-Dest", "empty"}, true},
		{"JSON", "/apps/open/page?ct=application/json", frameRequest, false},
		{"app with inject off", "/apps/plain/page", frameRequest, false},
	} {
		resp, _ := get(t, base+c.path, tok, c.hdr...)
		vary := strings.Join(resp.Header.Values("Vary"), ", ")
		if got := strings.Contains(vary, "Sec-Fetch-Dest") && strings.Contains(vary, "Accept") && strings.Contains(vary, "X-Requested-With"); got != c.want {
			t.Errorf("%s: Vary %q; want the document headers: %v", c.name, vary, c.want)
		}
	}
}

// TestCommonKinds checks that every Content-Type bodyKind knows without
// parsing is one it would parse to the same kind.
func TestCommonKinds(t *testing.T) {
	for ct, kind := range commonKinds {
		if got := parseKind(ct); got != kind {
			t.Errorf("commonKinds[%q] = %q, parsed %q", ct, kind, got)
		}
	}
}

func TestBodyKind(t *testing.T) {
	for ct, want := range map[string]string{
		"text/html; charset=utf-8":           kindHTML,
		"Text/HTML; Charset=\"UTF-8\"":       kindHTML,
		"application/xhtml+xml":              kindHTML,
		"text/css;charset=iso-8859-1":        kindCSS,
		"text/html; charset=utf-16le":        "",
		"text/html; charset=UTF-32":          "",
		"text/css; charset=\"utf-16\"":       "",
		"text/html; charset":                 "",
		"text/plain":                         "",
		"":                                   "",
		"application/json":                   "",
		"text/html ; charset=windows-1252 ":  kindHTML,
		"text/html; charset=ucs-2":           "",
		"text/html; charset=csUnicode":       "",
		"text/html; charset=UnicodeFFFE":     "",
		"text/html; charset=iso-10646-ucs-2": "",
	} {
		if got := bodyKind(http.Header{"Content-Type": {ct}}); got != want {
			t.Errorf("bodyKind(%q) = %q, want %q", ct, got, want)
		}
	}
}

func TestDecodesCompressedPagesToInject(t *testing.T) {
	base, up := startInjectingGateway(t)
	tok := token(t, agent("agent", 1))
	for _, enc := range []string{"gzip", "zstd"} {
		t.Run(enc, func(t *testing.T) {
			req, _ := http.NewRequest("GET", base+"/apps/open/page?enc="+enc, nil)
			req.AddCookie(&http.Cookie{Name: "hd_session", Value: tok})
			for i := 0; i+1 < len(frameRequest); i += 2 {
				req.Header.Set(frameRequest[i], frameRequest[i+1])
			}
			// Set by hand, so Go's client does not decode on its own.
			req.Header.Set("Accept-Encoding", "br, gzip;q=0.9, zstd, deflate")
			resp, err := (&http.Client{}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if ce := resp.Header.Get("Content-Encoding"); ce != "" {
				t.Fatalf("Content-Encoding %q: the page was not decoded", ce)
			}
			want := strings.Replace(testPage, "<head>", "<head>"+expectedShim(t), 1)
			if string(raw) != want {
				t.Errorf("body\n%q\nwant\n%q", raw, want)
			}
		})
	}
	up.mu.Lock()
	last := up.reqs[len(up.reqs)-1]
	up.mu.Unlock()
	if got := last.Header.Get("Accept-Encoding"); got != "zstd, gzip" {
		t.Errorf("upstream Accept-Encoding = %q; want it narrowed to \"zstd, gzip\", by preference", got)
	}
}

func TestShimRunsUnderThePagesCSP(t *testing.T) {
	base, _ := startInjectingGateway(t)
	tok := token(t, agent("agent", 1))
	scripts, _ := bridgejs.Load()
	external := `<script src="/apps/_bridge/client.js?v=` + scripts[bridgejs.Client].Version + `"`
	cases := []struct {
		name, csp string
		check     func(t *testing.T, body string)
	}{
		{"helmet default: same-origin script", "default-src 'self';script-src 'self';object-src 'none'", func(t *testing.T, body string) {
			if !strings.Contains(body, expectedShim(t)) {
				t.Errorf("no plain external shim: %s", body)
			}
		}},
		{"nonce and strict-dynamic: the page's nonce", "script-src 'nonce-Zm9vYmFy' 'strict-dynamic'; object-src 'none'", func(t *testing.T, body string) {
			if !strings.Contains(body, external) || !strings.Contains(body, ` nonce="Zm9vYmFy"></script>`) {
				t.Errorf("shim without the nonce: %s", body)
			}
		}},
		{"unsafe-inline only: inline shim", "script-src 'unsafe-inline'", func(t *testing.T, body string) {
			if strings.Contains(body, external) || !strings.Contains(body, string(scripts[bridgejs.Client].Body)) {
				t.Errorf("shim not inlined: %s", body)
			}
		}},
		{"XHTML: never inline, its & and < would break the XML", "script-src 'unsafe-inline'", func(t *testing.T, body string) {
			if !strings.Contains(body, expectedShim(t)) {
				t.Errorf("no plain external shim in XHTML: %s", body)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := "/apps/open/page?csp=" + url.QueryEscape(c.csp)
			if strings.HasPrefix(c.name, "XHTML") {
				path += "&ct=application/xhtml%2Bxml"
			}
			resp, body := get(t, base+path, tok, frameRequest...)
			if strings.Count(body, "data-helpdesk-app=") != 1 {
				t.Fatalf("want exactly one shim: %s", body)
			}
			c.check(t, body)
			wantCSP := c.csp + "; frame-ancestors 'self' https://helpdesk.test"
			if got := resp.Header.Get("Content-Security-Policy"); got != wantCSP {
				t.Errorf("CSP changed beyond frame-ancestors:\n%s\nwant\n%s", got, wantCSP)
			}
		})
	}
}

func TestServesBridgeScriptsWithoutSession(t *testing.T) {
	base, _ := startInjectingGateway(t)
	scripts, _ := bridgejs.Load()
	for _, name := range []string{bridgejs.Client, bridgejs.Host} {
		s := scripts[name]
		t.Run(name, func(t *testing.T) {
			resp, body := get(t, base+"/apps/_bridge/"+name, "")
			if resp.StatusCode != 200 || body != string(s.Body) {
				t.Fatalf("status %d, body of %d bytes; want 200 and the minified script", resp.StatusCode, len(body))
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("unversioned Cache-Control %q; want no-cache", cc)
			}
			etag := resp.Header.Get("ETag")
			if etag != `"`+s.Version+`"` {
				t.Errorf("ETag %q", etag)
			}
			resp, _ = get(t, base+"/apps/_bridge/"+name+"?v="+s.Version, "")
			if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
				t.Errorf("versioned Cache-Control %q", cc)
			}
			resp, body = get(t, base+"/apps/_bridge/"+name, "", "If-None-Match", etag)
			if resp.StatusCode != http.StatusNotModified || body != "" {
				t.Errorf("revalidation: status %d, body %q; want 304", resp.StatusCode, body)
			}
		})
	}
	if resp, _ := get(t, base+"/apps/_bridge/other.js", ""); resp.StatusCode != 404 {
		t.Errorf("unknown bridge file: status %d; want 404", resp.StatusCode)
	}
}
