package adminui

// The sign-in pages. When the Helpdesk is on another site, an app's frame
// is a third-party context: the gateway's cookies there are partitioned,
// and no identity provider lets itself be framed. So the gateway signs the
// user in itself, in two pages:
//
//   - the sign-in page (signin.html), which replaces the app's page in its
//     frame: its button opens the gateway's sign-in start in a popup, with
//     the hash of a secret only the frame knows; when the popup hands back a
//     one-time code, the page exchanges it, with the secret, for the
//     gateway's partitioned session cookie, and reloads the app;
//   - the popup's last page (signin-done.html), on the gateway's origin,
//     which posts the code (or the failure) to the frame that opened it,
//     and closes.
//
// Both must work at any URL (the sign-in page replaces an app's page at
// whatever path it was asked for), so they load nothing: their stylesheet
// and script are inline, allowed by their hashes, and what they show comes
// in a JSON island (a script element of type application/json), which is
// never parsed as markup.

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tdewolff/minify/v2"
	mhtml "github.com/tdewolff/minify/v2/html"
	"github.com/tdewolff/minify/v2/svg"
)

//go:embed signin.html signin-done.html signin.css signin.js signin-done.js
var signinSources embed.FS

// SignInPage is what the sign-in page shows and where it leads.
type SignInPage struct {
	// App is the app's name, "" when unknown. Without a session the caller
	// passes "", so that the page never tells whether an app exists.
	App string
	// Provider is a label for the identity provider, such as its host,
	// "login.example.com".
	Provider string
	// StartURL is the absolute URL of the gateway's sign-in start; it may
	// have a query. The page opens it in a popup with "flow=<hash>"
	// appended: the base64url SHA-256 of a fresh secret of its own.
	StartURL string
	// ExchangeURL is where the page POSTs the code and the secret, as JSON
	// {"code", "flow"}: a URL of the page's own origin, a path or absolute.
	// 204 means signed in; any other status is a failure, explained by the
	// detail of an application/problem+json body.
	ExchangeURL string
	// CallbackOrigin is the origin of the popup's last page: the only
	// origin whose messages the page listens to.
	CallbackOrigin string
	// Mismatch, when set, is shown above the button: why the user must
	// sign in again.
	Mismatch string
	// Targets are the origins of the Helpdesk that may frame the page: in
	// a frame, the page posts helpdesk:app:signin, naming no app, to each,
	// so that the Helpdesk knows the frame is live while the user signs
	// in, and again, with signedIn, as it reloads into the app.
	Targets []string
}

// SignInDone is what the popup's last page posts to the frame that opened
// it, or shows.
type SignInDone struct {
	// Code is the one-time code; "" when the sign-in failed.
	Code string
	// TargetOrigin is the frame's exact origin, the only one the page
	// posts to.
	TargetOrigin string
	// Error, when the sign-in failed, is a sentence for the user.
	Error string
}

// SignIn writes the sign-in page with status (401, normally), under a
// policy whose frame-ancestors is frameAncestors, the source list of the
// pages that may frame it ("https://helpdesk.example.com"); a list that is
// empty or holds what could end the directive (";", ",", a control or
// non-ASCII character) becomes 'none'. The page is the same at any path,
// for any method; HEAD gets the headers only.
func (p *Pages) SignIn(w http.ResponseWriter, r *http.Request, status int, frameAncestors string, d SignInPage) {
	p.signIn.write(w, r, status, p.signIn.policy+sourceList(frameAncestors), signInData(d))
}

// SignInDone writes the popup's last page with status (200, or 400 with
// an Error). Its script posts {channel: "helpdesk:apps", event:
// "helpdesk:signin:code", payload: {code}} to the window that opened the
// popup, at d.TargetOrigin only, and closes the popup; with an Error, it
// posts "helpdesk:signin:error" with {message} instead, and shows the
// error and a Close button. Without an opener to post to, it tells the
// user to go back to the Helpdesk. No page may frame it.
func (p *Pages) SignInDone(w http.ResponseWriter, r *http.Request, status int, d SignInDone) {
	p.signInDone.write(w, r, status, p.signInDone.policy+"'none'", signInDoneData(d))
}

// signInData is the sign-in page's JSON island: SignInPage, field for
// field, named as the script reads them.
type signInData struct {
	App            string   `json:"app"`
	Provider       string   `json:"provider"`
	StartURL       string   `json:"startURL"`
	ExchangeURL    string   `json:"exchangeURL"`
	CallbackOrigin string   `json:"callbackOrigin"`
	Mismatch       string   `json:"mismatch"`
	Targets        []string `json:"targets"`
}

// signInDoneData is the popup's last page's JSON island: SignInDone, field
// for field.
type signInDoneData struct {
	Code         string `json:"code"`
	TargetOrigin string `json:"targetOrigin"`
	Error        string `json:"error"`
}

// inlineSource is a page that carries its stylesheet and its script
// inline, and its data in a JSON island.
type inlineSource struct {
	// html is the page's HTML file, with the placeholders below once each.
	html string
	// style and script are the files inlined at styleSlot and scriptSlot.
	style, script string
	// policy is the page's Content-Security-Policy up to its frame-ancestors
	// sources, with %[1]s for the script's hash source and %[2]s for the
	// stylesheet's.
	policy string
}

// The placeholders of an inline page's HTML: the minified stylesheet and
// script go in place of the first two, once, and the JSON island's data in
// place of the third, on each request.
const (
	styleSlot  = "@@style@@"
	scriptSlot = "@@script@@"
	dataSlot   = "@@data@@"
)

// signInSource is the sign-in page: it talks to its own origin only (the
// exchange), and may be framed by the pages SignIn is told.
var signInSource = inlineSource{
	html:   "signin.html",
	style:  "signin.css",
	script: "signin.js",
	policy: "default-src 'none'; script-src %[1]s; style-src %[2]s; connect-src 'self'; img-src data:; " +
		"form-action 'none'; base-uri 'none'; frame-ancestors ",
}

// signInDoneSource is the popup's last page: it talks to no server, and no
// page may frame it.
var signInDoneSource = inlineSource{
	html:   "signin-done.html",
	style:  "signin.css",
	script: "signin-done.js",
	policy: "default-src 'none'; script-src %[1]s; style-src %[2]s; img-src data:; " +
		"form-action 'none'; base-uri 'none'; frame-ancestors ",
}

// inlinePage is an inline page, minified.
type inlinePage struct {
	// head and tail are the HTML before and after the island's data.
	head, tail []byte
	// policy is the page's Content-Security-Policy up to its
	// frame-ancestors sources.
	policy string
	// script and style are the minified inline script and stylesheet,
	// exactly as in the HTML: their hashes are in the policy.
	script, style []byte
}

// build minifies the page of s: its stylesheet and script with m, and its
// HTML around them, whose inline script and style are then allowed by
// their hashes.
func (s *inlineSource) build(m *minify.M) (*inlinePage, error) {
	src, err := signinSources.ReadFile(s.html)
	if err != nil {
		return nil, err
	}
	for _, slot := range []string{styleSlot, scriptSlot, dataSlot} {
		if n := bytes.Count(src, []byte(slot)); n != 1 {
			return nil, fmt.Errorf("%s holds %s %d times, want once", s.html, slot, n)
		}
	}
	style, err := minifyInline(m, s.style, "text/css", "</style")
	if err != nil {
		return nil, err
	}
	script, err := minifyInline(m, s.script, "text/javascript", "</script")
	if err != nil {
		return nil, err
	}
	// The HTML minifier alone: with no minifier for the types of the
	// style and script elements, it leaves their placeholders as they are.
	hm := minify.New()
	hm.AddFunc("image/svg+xml", svg.Minify)
	hm.Add("text/html", &mhtml.Minifier{KeepDocumentTags: true, KeepQuotes: true, KeepEndTags: true})
	var out bytes.Buffer
	if err := hm.Minify("text/html", &out, bytes.NewReader(src)); err != nil {
		return nil, fmt.Errorf("minifying %s: %w", s.html, err)
	}
	doc := out.Bytes()
	for _, slot := range []string{styleSlot, scriptSlot, dataSlot} {
		if n := bytes.Count(doc, []byte(slot)); n != 1 {
			return nil, fmt.Errorf("%s holds %s %d times once minified, want once", s.html, slot, n)
		}
	}
	doc = bytes.Replace(doc, []byte(styleSlot), style, 1)
	doc = bytes.Replace(doc, []byte(scriptSlot), script, 1)
	head, tail, _ := bytes.Cut(doc, []byte(dataSlot))
	return &inlinePage{
		head:   head,
		tail:   tail,
		policy: fmt.Sprintf(s.policy, hashSource(script), hashSource(style)),
		script: script,
		style:  style,
	}, nil
}

// minifyInline minifies the embedded file name, of mediatype, for an
// element whose end tag is end: the result must not hold that end tag.
func minifyInline(m *minify.M, name, mediatype, end string) ([]byte, error) {
	src, err := signinSources.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := m.Minify(mediatype, &out, bytes.NewReader(src)); err != nil {
		return nil, fmt.Errorf("minifying %s: %w", name, err)
	}
	if lower := bytes.ToLower(out.Bytes()); bytes.Contains(lower, []byte(end)) || bytes.Contains(lower, []byte("<!--")) {
		return nil, fmt.Errorf("%s holds %s or <!--, which would end or upset its inline element", name, end)
	}
	return out.Bytes(), nil
}

// hashSource is the CSP hash source of an inline element's text.
func hashSource(text []byte) string {
	sum := sha256.Sum256(text)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// sourceList returns list, a frame-ancestors source list, its sources
// separated by one space; or 'none' when it has no source, or holds
// anything that could end the directive (";"), start another policy (","),
// or is neither printable ASCII nor a space or a tab.
func sourceList(list string) string {
	if strings.ContainsFunc(list, func(r rune) bool { return (r < ' ' && r != '\t') || r >= 0x7f || r == ';' || r == ',' }) {
		return "'none'"
	}
	if sources := strings.Fields(list); len(sources) > 0 {
		return strings.Join(sources, " ")
	}
	return "'none'"
}

// island returns v as the text of a JSON island: json.Marshal escapes <, >
// and & (and U+2028, U+2029) as \u003c and so on, as html/template does, so
// nothing in it can end the script element or open a comment.
func island(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// The islands are structs of strings: they always marshal.
		panic(fmt.Sprintf("adminui: marshaling a JSON island: %v", err))
	}
	return b
}

// write writes the page with v in its island, with status, under policy.
func (p *inlinePage) write(w http.ResponseWriter, r *http.Request, status int, policy string, v any) {
	data := island(v)
	body := make([]byte, 0, len(p.head)+len(data)+len(p.tail))
	body = append(append(append(body, p.head...), data...), p.tail...)
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Content-Security-Policy", policy)
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
