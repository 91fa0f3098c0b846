package caddymodule

import "net/http"

// bodyPlan is what the gateway does with one response's body, and why.
type bodyPlan struct {
	// kind is the body's kind (kindHTML, kindCSS), "" for any other.
	kind string
	// bodiless is set for a response without a body: to HEAD, or 1xx,
	// 204, 205, 206 or 304.
	bodiless bool
	// inject puts the shim in (for a bodiless response: would have, in
	// the body of a GET); rewrite moves the body's links.
	inject, rewrite bool
	// decode is the content coding the body is decoded from first, ""
	// for none.
	decode string
	// keepLength is set when only the shim changes the body, so that its
	// Content-Length stays known: length, grown by the shim's.
	keepLength bool
	length     int64
	// reason says what happens to the body, or why nothing does.
	reason string
}

// Reasons of a body plan.
const (
	reasonOff        = "the app neither injects the shim nor rewrites links"
	reasonBodiless   = "no body (HEAD, 204, 205, 206 or 304)"
	reasonKind       = "not HTML or CSS in an ASCII-compatible charset"
	reasonCoding     = "a content coding the gateway does not decode"
	reasonNotDoc     = "not a document request (a fetch or XHR), and no links to rewrite"
	reasonStatus     = "not a 2xx response, and no links to rewrite"
	reasonNotHTML    = "not HTML, and no links to rewrite"
	reasonDownload   = "a download (Content-Disposition: attachment), and no links to rewrite"
	reasonInject     = "shim injected"
	reasonRewrite    = "links rewritten"
	reasonInjectBoth = "shim injected and links rewritten"
)

// planBody decides what happens to the body of a response with status and
// header hdr, to a request with method, of app: the shim goes into HTML
// documents (doc: the request loads a document or a frame) of 2xx
// responses that are not downloads; with rewrite_links, the links of HTML
// and CSS are moved; either needs a body in a coding the gateway decodes.
// It reads hdr and changes nothing.
func planBody(app *App, doc bool, method string, status int, hdr http.Header) bodyPlan {
	p := bodyPlan{kind: bodyKind(hdr)}
	shim := app.shim != nil
	if !shim && !app.RewriteLinks {
		p.reason = reasonOff
		return p
	}
	p.inject = shim && doc && status < 300 && p.kind == kindHTML && !isAttachment(hdr)
	p.rewrite = app.RewriteLinks && p.kind != ""
	p.bodiless = !hasBody(method, status)
	coding := contentEncoding(hdr)
	switch {
	case p.bodiless:
		p.rewrite = false
		p.reason = reasonBodiless
		return p
	case !p.inject && !p.rewrite:
		p.reason = whyNoShim(app, doc, status, p.kind, hdr)
		return p
	case !decodable(coding):
		p.inject, p.rewrite = false, false
		p.reason = reasonCoding
		return p
	}
	p.decode = coding
	if length, ok := contentLength(hdr); ok && p.inject && !p.rewrite && coding == "" {
		p.keepLength, p.length = true, length
	}
	switch {
	case p.inject && p.rewrite:
		p.reason = reasonInjectBoth
	case p.inject:
		p.reason = reasonInject
	default:
		p.reason = reasonRewrite
	}
	return p
}

// whyNoShim says why an app that injects, and has no links to rewrite in
// this body, gets no shim in it.
func whyNoShim(app *App, doc bool, status int, kind string, hdr http.Header) string {
	switch {
	case app.shim == nil || kind == "":
		return reasonKind
	case !doc:
		return reasonNotDoc
	case status >= 300:
		return reasonStatus
	case kind != kindHTML:
		return reasonNotHTML
	}
	return reasonDownload
}
