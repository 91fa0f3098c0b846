// Package consoleui serves the gateway's developer console, at
// <prefix>/_console/: a page on which the Helpdesk's admins and owners mount
// an app with the host SDK (<prefix>/_bridge/host.js), as the Helpdesk
// would, feed it a user and a ticket they edit, watch the helpdesk:apps
// messages both ways, and read what the gateway did to each of the app's
// responses (<prefix>/_api/console/trace) — which answers the usual
// question, "why is my app not connected?".
//
// The page is plain HTML, CSS and JavaScript, embedded, minified once and
// served under a policy that allows no inline script or style, and frames
// nothing but its own origin, where the apps are; its script and
// stylesheet are versioned by content, so they can be cached for good.
package consoleui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tdewolff/minify/v2"
	"github.com/tdewolff/minify/v2/css"
	mhtml "github.com/tdewolff/minify/v2/html"
	"github.com/tdewolff/minify/v2/js"
	"github.com/tdewolff/minify/v2/svg"
)

//go:embed index.html console.js console.css
var sources embed.FS

// Names of the page's script and stylesheet, which the HTML refers to by
// relative URLs.
const (
	scriptName     = "console.js"
	stylesheetName = "console.css"
)

// hostSDK is where the HTML loads the host SDK from: the gateway serves it
// at <prefix>/_bridge/host.js, next to the console's <prefix>/_console/.
const hostSDK = "../_bridge/host.js"

// contentSecurityPolicy is the policy the page's HTML is served with: the
// page runs its own scripts and stylesheet only (the host SDK is one of the
// gateway's, on the same origin), talks to its own origin only, frames the
// apps, which are on its own origin, and shows app icons from anywhere on
// HTTPS.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' https: data:; connect-src 'self'; frame-src 'self'; form-action 'none'; base-uri 'none'; " +
	"frame-ancestors 'self'"

// Page is the developer console, minified and ready to serve.
type Page struct {
	// html is the minified HTML.
	html []byte
	// files are the script and the stylesheet, by name.
	files map[string]*file
}

// file is the page's script or its stylesheet.
type file struct {
	name        string
	contentType string
	body        []byte
	version     string // a hash of body; URLs carrying it as ?v= never change
}

// Load returns the page, minified on the first call.
func Load() (*Page, error) { return load() }

var load = sync.OnceValues(func() (*Page, error) {
	m := minify.New()
	m.AddFunc("text/javascript", js.Minify)
	m.AddFunc("text/css", css.Minify)
	m.AddFunc("image/svg+xml", svg.Minify)
	m.Add("text/html", &mhtml.Minifier{KeepDocumentTags: true, KeepQuotes: true, KeepEndTags: true})

	p := &Page{files: make(map[string]*file, 2)}
	src, err := sources.ReadFile("index.html")
	if err != nil {
		return nil, err
	}
	page := string(src)
	if ref := strconv.Quote(hostSDK); strings.Count(page, ref) != 1 {
		return nil, fmt.Errorf("index.html must load the host SDK from %s once", ref)
	}
	for _, f := range []*file{
		{name: scriptName, contentType: "text/javascript; charset=utf-8"},
		{name: stylesheetName, contentType: "text/css; charset=utf-8"},
	} {
		mediatype, _, _ := strings.Cut(f.contentType, ";")
		if f.body, err = minifyFile(m, f.name, mediatype); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(f.body)
		f.version = hex.EncodeToString(sum[:8])
		p.files[f.name] = f
		ref := strconv.Quote(f.name)
		if n := strings.Count(page, ref); n != 1 {
			return nil, fmt.Errorf("index.html refers to %s %d times, want once", ref, n)
		}
		page = strings.Replace(page, ref, strconv.Quote(f.name+"?v="+f.version), 1)
	}
	var out bytes.Buffer
	if err := m.Minify("text/html", &out, strings.NewReader(page)); err != nil {
		return nil, fmt.Errorf("minifying index.html: %w", err)
	}
	p.html = out.Bytes()
	return p, nil
})

// minifyFile minifies the embedded file name as mediatype.
func minifyFile(m *minify.M, name, mediatype string) ([]byte, error) {
	src, err := sources.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := m.Minify(mediatype, &out, bytes.NewReader(src)); err != nil {
		return nil, fmt.Errorf("minifying %s: %w", name, err)
	}
	return out.Bytes(), nil
}

// ServeHTTP serves the page's file name: "" for the HTML, or console.js or
// console.css, which the HTML refers to by relative URLs carrying
// ?v=<hash>. It reports false, writing nothing, for any other name. Only
// GET and HEAD are served; other methods get 405 with Allow.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request, name string) bool {
	var f *file
	if name != "" {
		if f = p.files[name]; f == nil {
			return false
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return true
	}
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	if f != nil {
		f.serve(w, r)
		return true
	}
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Length", strconv.Itoa(len(p.html)))
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	hdr.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(p.html)
	}
	return true
}

// serve serves f. A request whose `v` query parameter is the file's version
// gets a response cacheable for a year and marked immutable; any other
// request must revalidate, which costs a 304 when the file has not changed
// (RFC 9111 §5.2.2, RFC 8246).
func (f *file) serve(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("ETag", `"`+f.version+`"`)
	if r.URL.Query().Get("v") == f.version {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	// ServeContent answers If-None-Match with 304, and HEAD and ranges.
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
}
