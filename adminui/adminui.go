// Package adminui serves the gateway's pages for the Helpdesk's admins and
// owners:
//
//   - the settings page, Settings › Integrations › Apps, at
//     <prefix>/_admin/, on which they manage the apps through the admin API
//     (<prefix>/_api/admin/);
//   - the developer console, at <prefix>/_console/, on which they mount an
//     app with the host SDK (<prefix>/_bridge/host.js), as the Helpdesk
//     would, feed it a user and a ticket they edit, watch the helpdesk:apps
//     messages both ways, and read what the gateway did to each of the app's
//     responses (<prefix>/_api/console/trace) — which answers the usual
//     question, "why is my app not connected?".
//
// The pages are plain HTML, CSS and JavaScript, embedded and minified once.
// Each loads the stylesheet and the script both share (base.css, base.js),
// then its own. They are served under a policy that allows no inline script
// or style; their scripts and stylesheets are versioned by content, so they
// can be cached for good.
//
// It also serves the pages of the gateway's own sign-in, for a Helpdesk on
// another site (signin.go): the sign-in page an app's frame shows, and the
// sign-in popup's last page. Those work at any URL, so they carry their
// stylesheet and script inline, allowed by their hashes.
package adminui

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"path"
	"regexp"
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

//go:embed base.css base.js admin.html admin.css admin.js console.html console.css console.js
var sources embed.FS

// source is what a page is made of.
type source struct {
	// html is the page's HTML file.
	html string
	// files are the scripts and stylesheets the HTML refers to by relative
	// URLs, once each: they are served next to it, at their versions.
	files []string
	// refs are other URLs the HTML must refer to once each, as they are.
	refs []string
	// policy is the Content-Security-Policy the HTML is served with.
	policy string
	// linksHelpdesk is whether the HTML links back to the Helpdesk, at
	// helpdeskPlaceholder.
	linksHelpdesk bool
}

// settingsSource is the settings page: it runs its own scripts and
// stylesheets only, talks to its own origin only, and shows app icons from
// anywhere on HTTPS.
var settingsSource = source{
	html:  "admin.html",
	files: []string{"base.css", "admin.css", "base.js", "admin.js"},
	policy: "default-src 'none'; script-src 'self'; style-src 'self'; " +
		"img-src 'self' https: data:; connect-src 'self'; form-action 'none'; base-uri 'none'; " +
		"frame-ancestors 'self'",
	linksHelpdesk: true,
}

// consoleSource is the developer console: as the settings page, and it
// also loads the host SDK, one of the gateway's scripts on the same origin
// (hostSDK), and frames the apps: those on its own origin, and those on
// hosts of their own that Console names.
var consoleSource = source{
	html:  "console.html",
	files: []string{"base.css", "console.css", "base.js", "console.js"},
	refs:  []string{hostSDK},
	policy: "default-src 'none'; script-src 'self'; style-src 'self'; " +
		"img-src 'self' https: data:; connect-src 'self'; frame-src 'self'; form-action 'none'; base-uri 'none'; " +
		"frame-ancestors 'self'",
}

// hostSDK is where the console loads the host SDK from: the gateway serves
// it at <prefix>/_bridge/host.js, next to the console's <prefix>/_console/.
const hostSDK = "../_bridge/host.js"

// helpdeskPlaceholder stands for the Helpdesk's URL in the settings page's
// HTML; Settings puts the URL of each request in its place.
const helpdeskPlaceholder = "https://helpdesk.invalid/"

// Pages are the settings page, the developer console and the sign-in
// pages, minified and ready to serve.
type Pages struct {
	settings, console *page
	// signIn and signInDone are the sign-in pages (signin.go).
	signIn, signInDone *inlinePage
}

// page is one page, minified.
type page struct {
	// html is the minified HTML, split where the Helpdesk's URL goes: one
	// piece when the page does not link to the Helpdesk.
	html [][]byte
	// files are the scripts and stylesheets the HTML refers to, by name.
	files  map[string]*file
	policy string
}

// file is a script or a stylesheet.
type file struct {
	name        string
	contentType string
	body        []byte
	version     string // a hash of body; URLs carrying it as ?v= never change
}

// contentTypes are the types of the files the pages refer to, by extension.
var contentTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
}

// Load returns the pages, minified on the first call.
func Load() (*Pages, error) { return load() }

var load = sync.OnceValues(func() (*Pages, error) {
	m := minify.New()
	m.AddFunc("text/javascript", js.Minify)
	m.AddFunc("text/css", css.Minify)
	m.AddFunc("image/svg+xml", svg.Minify)
	// Quotes are kept so that the Helpdesk's URL, escaped, can be put
	// inside an attribute value.
	m.Add("text/html", &mhtml.Minifier{KeepDocumentTags: true, KeepQuotes: true, KeepEndTags: true})

	files := make(map[string]*file) // minified once, whichever pages share them
	settings, err := settingsSource.build(m, files)
	if err != nil {
		return nil, err
	}
	console, err := consoleSource.build(m, files)
	if err != nil {
		return nil, err
	}
	signIn, err := signInSource.build(m)
	if err != nil {
		return nil, err
	}
	signInDone, err := signInDoneSource.build(m)
	if err != nil {
		return nil, err
	}
	return &Pages{settings: settings, console: console, signIn: signIn, signInDone: signInDone}, nil
})

// build minifies the page of s, taking the files it refers to from
// minified, or minifying them into it.
func (s *source) build(m *minify.M, minified map[string]*file) (*page, error) {
	src, err := sources.ReadFile(s.html)
	if err != nil {
		return nil, err
	}
	doc := string(src)
	for _, ref := range s.refs {
		if n := strings.Count(doc, strconv.Quote(ref)); n != 1 {
			return nil, fmt.Errorf("%s refers to %q %d times, want once", s.html, ref, n)
		}
	}
	p := &page{files: make(map[string]*file, len(s.files)), policy: s.policy}
	for _, name := range s.files {
		f := minified[name]
		if f == nil {
			if f, err = minifyFile(m, name); err != nil {
				return nil, err
			}
			minified[name] = f
		}
		p.files[name] = f
		ref := strconv.Quote(name)
		if n := strings.Count(doc, ref); n != 1 {
			return nil, fmt.Errorf("%s refers to %s %d times, want once", s.html, ref, n)
		}
		doc = strings.Replace(doc, ref, strconv.Quote(name+"?v="+f.version), 1)
	}
	var out bytes.Buffer
	if err := m.Minify("text/html", &out, strings.NewReader(doc)); err != nil {
		return nil, fmt.Errorf("minifying %s: %w", s.html, err)
	}
	p.html = bytes.Split(out.Bytes(), []byte(helpdeskPlaceholder))
	switch links := len(p.html) > 1; {
	case s.linksHelpdesk && !links:
		return nil, fmt.Errorf("%s lost its Helpdesk links while minified", s.html)
	case !s.linksHelpdesk && links:
		return nil, fmt.Errorf("%s links to %s, which is filled in on the settings page only", s.html, helpdeskPlaceholder)
	}
	return p, nil
}

// minifyFile minifies the embedded script or stylesheet name, and versions
// it.
func minifyFile(m *minify.M, name string) (*file, error) {
	contentType := contentTypes[path.Ext(name)]
	if contentType == "" {
		return nil, fmt.Errorf("%s: no content type", name)
	}
	src, err := sources.ReadFile(name)
	if err != nil {
		return nil, err
	}
	mediatype, _, _ := strings.Cut(contentType, ";")
	var out bytes.Buffer
	if err := m.Minify(mediatype, &out, bytes.NewReader(src)); err != nil {
		return nil, fmt.Errorf("minifying %s: %w", name, err)
	}
	sum := sha256.Sum256(out.Bytes())
	return &file{name: name, contentType: contentType, body: out.Bytes(), version: hex.EncodeToString(sum[:8])}, nil
}

// Settings serves the settings page's file name: "" for the HTML, or one of
// the scripts and stylesheets it refers to by relative URLs carrying
// ?v=<hash> (base.css, admin.css, base.js, admin.js). It reports false,
// writing nothing, for any other name. helpdeskURL is where the page's
// "Back to Helpdesk" links go: an absolute http or https URL, or a path that
// begins with a single "/"; anything else becomes "/". Only GET and HEAD are
// served; other methods get 405 with Allow.
func (p *Pages) Settings(w http.ResponseWriter, r *http.Request, name, helpdeskURL string) bool {
	return p.settings.serve(w, r, name, helpdeskURL, "")
}

// Console serves the developer console's file name: "" for the HTML, or one
// of the scripts and stylesheets it refers to by relative URLs carrying
// ?v=<hash> (base.css, console.css, base.js, console.js). It reports false,
// writing nothing, for any other name. appHosts are the hosts of apps
// served on hosts of their own, which the console may frame besides its
// own origin: host names, `*.`-prefixed for every host of a domain; any
// other value is left out. Only GET and HEAD are served; other methods
// get 405 with Allow.
func (p *Pages) Console(w http.ResponseWriter, r *http.Request, name string, appHosts []string) bool {
	policy := p.console.policy
	if len(appHosts) > 0 {
		var frames strings.Builder
		frames.WriteString("frame-src 'self'")
		for _, h := range appHosts {
			if frameHost.MatchString(h) {
				// Any port, by the console's own scheme.
				frames.WriteString(" " + h + ":*")
			}
		}
		policy = strings.Replace(policy, "frame-src 'self'", frames.String(), 1)
	}
	return p.console.serve(w, r, name, "", policy)
}

// frameHost is what a host the console may frame must look like.
var frameHost = regexp.MustCompile(`^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`)

// serve serves the page's file name, "" for the HTML, with its links to
// the Helpdesk leading to helpdeskURL, under policy ("": the page's).
func (p *page) serve(w http.ResponseWriter, r *http.Request, name, helpdeskURL, policy string) bool {
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
	body := p.render(helpdeskURL)
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Security-Policy", cmp.Or(policy, p.policy))
	hdr.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
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

// render returns the HTML with the Helpdesk's URL in it.
func (p *page) render(helpdeskURL string) []byte {
	if len(p.html) == 1 {
		return p.html[0]
	}
	return bytes.Join(p.html, []byte(html.EscapeString(safeHelpdeskURL(helpdeskURL))))
}

// safeHelpdeskURL returns u when it is an absolute http or https URL, or a
// path that begins with a single "/"; otherwise "/". Browsers drop tabs and
// newlines from URLs and read "\" as "/", so "/\evil.example" and
// "/\t/evil.example" would lead off-site: such characters are refused
// anywhere.
func safeHelpdeskURL(u string) string {
	if u == "" || strings.ContainsFunc(u, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\\' }) {
		return "/"
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return "/"
	}
	if strings.HasPrefix(u, "/") {
		if strings.HasPrefix(u, "//") {
			return "/"
		}
		return u
	}
	if (parsed.Scheme == "http" || parsed.Scheme == "https") && parsed.Host != "" && parsed.User == nil && parsed.Opaque == "" {
		return u
	}
	return "/"
}
