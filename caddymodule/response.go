package caddymodule

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/helpdeskapps/gateway/caddymodule/htmlstream"
	"github.com/helpdeskapps/gateway/caddymodule/rewrite"
)

// responseWriter rewrites an app's response headers as they are written:
// frame headers for the configured ancestors, Location and Set-Cookie kept
// inside the app's path. HTML documents stream through the shim injector,
// and with rewrite_links HTML and CSS through the link rewriter, decoded
// first when gzip or zstd; every other body streams through untouched, so
// WebSocket upgrades (through Unwrap and http.ResponseController) and SSE
// flushes work.
type responseWriter struct {
	caddyhttp.ResponseWriterWrapper
	req  *http.Request
	site *site
	app  *App
	// upstreamPath is the escaped path the backend was asked for, which
	// relative redirects resolve against.
	upstreamPath string
	// wroteHeader is set, with status, once the final header is written;
	// start is when the backend was handed the request.
	wroteHeader bool
	status      int
	start       time.Time

	// doc is set when the app injects the shim and the request loads a
	// document or a frame.
	doc bool
	// revalidating is set when the request revalidates a body the
	// gateway changed under the app's current settings.
	revalidating bool

	// body receives the body when it is rewritten: the first stage, or the
	// decoder in front of it; nil when the body passes through.
	body io.Writer
	// stages rewrite the body, the first writing into the second; the last
	// writes to the client.
	stages []stage
	// decoder, when the body is compressed, decodes it into the stages;
	// from then on its goroutine alone writes to the client and flushes it.
	decoder *decoder

	// siteHeaders are the origin-wide headers (rewrite.OriginWide) that
	// the site set before the backend ran, such as Caddy's Alt-Svc or a
	// header directive's Strict-Transport-Security: the site's own to
	// send, they survive; the app's are dropped. Nil when there are none.
	siteHeaders http.Header
	// refused is set when the app's response is replaced by a 502 page;
	// writing its body then fails.
	refused bool

	// heldStatus, when not zero, is the status of a response whose header
	// waits for the first bytes of its body, which tell whether the shim
	// goes in: then its Content-Length, length, grows by tagLen.
	heldStatus int
	length     int64
	tagLen     int

	// trace, when the console traces the request, records what the
	// gateway decides.
	trace *trace
}

// stage is one streaming rewrite of a body: the link rewriter or the shim
// injector.
type stage interface {
	io.WriteCloser
	Flush() error
}

func newResponseWriter(w http.ResponseWriter, r *http.Request, s *site, app *App, upstreamPath string) *responseWriter {
	rw := &responseWriter{
		ResponseWriterWrapper: caddyhttp.ResponseWriterWrapper{ResponseWriter: w},
		req:                   r,
		site:                  s,
		app:                   app,
		upstreamPath:          upstreamPath,
		start:                 time.Now(),
	}
	hdr := w.Header()
	for _, name := range rewrite.OriginWide {
		if v, ok := hdr[name]; ok {
			if rw.siteHeaders == nil {
				rw.siteHeaders = make(http.Header)
			}
			rw.siteHeaders[name] = slices.Clone(v)
		}
	}
	return rw
}

// askForBody shapes the request for a body the gateway may change: in a
// coding it can decode; for a document, whole, since a range of the
// upstream's would have no shim and offsets the injected page does not
// have (a browser resuming a cut-off load, say); and revalidated against
// the upstream's own ETags.
func (rw *responseWriter) askForBody() {
	app, hdr := rw.app, rw.req.Header
	rw.doc = app.shim != nil && isDocumentRequest(rw.req)
	if !rw.doc && !app.RewriteLinks {
		return
	}
	if rw.doc {
		hdr.Del("Range")
		hdr.Del("If-Range")
	}
	narrowAcceptEncoding(rw.req)
	if _, ok := hdr["If-None-Match"]; ok {
		rw.revalidating = upstreamETags(hdr, app.etagDigest)
	}
}

// WriteHeader rewrites the headers of the final response, then writes them.
// Informational responses (1xx other than 101) pass as they are: they are not
// the response, and the final one follows (RFC 9110 §15.2).
func (rw *responseWriter) WriteHeader(status int) {
	if rw.wroteHeader {
		return
	}
	if status >= 100 && status < 200 && status != http.StatusSwitchingProtocols {
		rw.ResponseWriterWrapper.WriteHeader(status)
		return
	}
	rw.wroteHeader, rw.status = true, status
	rw.site.metrics.backendTime(rw.app, time.Since(rw.start))
	if rw.trace != nil {
		rw.trace.Status, rw.trace.ContentType = status, rw.Header().Get("Content-Type")
	}
	if err := rw.rewriteHeaders(status); err != nil {
		if rw.trace != nil {
			rw.trace.Notes = append(rw.trace.Notes, "refused, answered with the gateway's 502 page: "+err.Error())
			rw.trace.Status = http.StatusBadGateway
		}
		rw.refuse(err)
		return
	}
	rw.startBody(status)
	if rw.heldStatus == 0 {
		rw.ResponseWriterWrapper.WriteHeader(status)
	}
}

// maxHeaderBytes bounds the header block of an app's response, counted as
// HTTP/1.1 writes it, that the gateway rewrites and passes on: browsers
// refuse more (Chromium at 256 KiB), and a rewrite must never be asked to
// grow an unbounded input.
const maxHeaderBytes = 256 << 10

// errHeaderTooLarge is reported for a response whose header block exceeds
// maxHeaderBytes.
var errHeaderTooLarge = fmt.Errorf("header block larger than %d bytes", maxHeaderBytes)

// headerBytes returns the size of hdr as HTTP/1.1 writes it, stopping
// early once it exceeds maxHeaderBytes.
func headerBytes(hdr http.Header) int {
	n := 0
	for name, values := range hdr {
		for _, v := range values {
			n += len(name) + len(v) + len(": \r\n")
		}
		if n > maxHeaderBytes {
			break
		}
	}
	return n
}

// errRefused stops a backend from writing the body of a response the
// gateway refused.
var errRefused = errors.New("app response refused by the gateway")

// refuse answers with the gateway's 502 page instead of the app's
// response, whose headers it could not pass on safely. The page is sent
// whole, with its length, and flushed; the backend's writes then fail with
// errRefused, so that a stream (server-sent events, say) ends instead of
// being read forever.
func (rw *responseWriter) refuse(err error) {
	rw.site.logger.Error("refusing an app's response", zap.String("app", rw.app.ID), zap.Error(err))
	rw.refused = true
	page := &pageBuffer{header: make(http.Header)}
	writeErrorPage(page, rw.req, errorPage{app: rw.app, site: rw.site}, http.StatusBadGateway, err)
	hdr := rw.Header()
	clear(hdr)
	maps.Copy(hdr, rw.siteHeaders) // the site's own HSTS, Alt-Svc
	maps.Copy(hdr, page.header)
	hdr.Set("Content-Length", strconv.Itoa(page.Len()))
	rw.ResponseWriterWrapper.WriteHeader(page.status)
	_, _ = rw.ResponseWriterWrapper.Write(page.Bytes())
	_ = http.NewResponseController(rw.ResponseWriterWrapper.ResponseWriter).Flush()
}

// pageBuffer is a ResponseWriter that keeps a page, to send it whole.
type pageBuffer struct {
	header http.Header
	status int
	bytes.Buffer
}

func (p *pageBuffer) Header() http.Header    { return p.header }
func (p *pageBuffer) WriteHeader(status int) { p.status = status }

// startBody routes the body through the stages it needs: the link
// rewriter for HTML and CSS of an app with rewrite_links, then the shim
// injector for HTML documents. A changed body keeps its length only when
// the shim alone changes it, a strong validator becomes weak (RFC 9110
// §8.8.1), it offers no ranges, and a decoded body loses its
// Content-Encoding.
func (rw *responseWriter) startBody(status int) {
	// The cheap check first: most responses of most apps are neither
	// documents to inject into nor rewritten.
	app := rw.app
	if app.shim == nil && !app.RewriteLinks {
		if rw.trace != nil {
			rw.trace.Body = reasonOff
		}
		rw.site.metrics.body(app, bodyPlan{reason: reasonOff})
		return
	}
	hdr := rw.Header()
	p := planBody(app, rw.doc, rw.req.Method, status, hdr)
	rw.site.metrics.body(app, p)
	if rw.trace != nil {
		rw.trace.Body, rw.trace.Shim, rw.trace.Rewrite = p.reason, p.inject, p.rewrite
	}
	if app.shim != nil && status < 300 && p.kind == kindHTML {
		// Whether the shim goes in depends on how the page is asked
		// for: a cache must not give a fetch()'s copy to a frame.
		hdr.Add("Vary", documentVary)
	}
	if p.bodiless {
		if status == http.StatusNotModified && rw.revalidating || p.inject {
			// What a GET of the changed body would have had, for a
			// cache to keep with it: its ETag, no ranges and, but for
			// a 304, which does not say, no length to trust. A 304
			// for a copy the gateway did not change (a PDF loaded
			// into a frame, say) passes as it is.
			markETag(hdr, app.etagDigest)
			hdr["Accept-Ranges"] = []string{"none"}
			if status != http.StatusNotModified {
				hdr.Del("Content-Length")
			}
		}
		return
	}
	if !p.inject && !p.rewrite {
		return
	}
	if p.keepLength {
		// Only the shim changes the body: its length stays known, and
		// the response needs no chunked encoding, once the first bytes
		// tell whether the shim goes in.
		rw.heldStatus, rw.length = status, p.length
	} else {
		hdr.Del("Content-Length")
	}
	markETag(hdr, app.etagDigest)
	// Ranges of the upstream's bytes are not ranges of this body.
	hdr["Accept-Ranges"] = []string{"none"}

	var out io.Writer = rw.ResponseWriter
	if p.decode != "" {
		hdr.Del("Content-Encoding")
	}
	if p.inject {
		tag := app.shim
		acc := rewrite.ScriptAccessFor(hdr)
		rw.trace.traceShim(acc)
		if acc != (rewrite.ScriptAccess{}) {
			if acc.Inline && isXHTML(hdr) {
				// The script's & and < would break the XML, and
				// the page with it.
				acc.Inline = false
			}
			tag = rw.site.shimTag(app, acc)
		}
		rw.tagLen = len(tag)
		inj := htmlstream.NewInjector(out, tag)
		rw.stages, out = append(rw.stages, inj), inj
	}
	if p.rewrite {
		var lr stage
		if p.kind == kindHTML {
			lr = htmlstream.NewHTMLRewriter(out, rw.links())
		} else {
			lr = htmlstream.NewCSSRewriter(out, rw.links())
		}
		rw.stages, out = append([]stage{lr}, rw.stages...), lr
	}
	rw.body = out
	if p.decode != "" {
		rw.decoder = newDecoder(p.decode, out, rw.flushStages)
		rw.body = rw.decoder
	}
}

// isAttachment reports whether the response is a download: its body is
// saved, not shown, and must stay as the app sent it.
func isAttachment(hdr http.Header) bool {
	cd := hdr.Get("Content-Disposition")
	if cd == "" {
		return false
	}
	disposition, _, _ := strings.Cut(cd, ";")
	return strings.EqualFold(strings.TrimSpace(disposition), "attachment")
}

// isXHTML reports whether the response is XHTML, which browsers parse as XML.
func isXHTML(hdr http.Header) bool {
	mediaType, _, _ := strings.Cut(hdr.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(mediaType), "application/xhtml+xml")
}

// links describes, for the link rewriter, the app's path and the origins
// whose absolute URLs mean the app: the upstream's and the gateway's, by
// either scheme. Paths under the gateway's prefix (its scripts, its API,
// other apps) are kept.
func (rw *responseWriter) links() *htmlstream.Links {
	hosts := rw.ownHosts()
	origins := make([]string, 0, 2*len(hosts))
	for _, h := range hosts {
		h = strings.ToLower(h)
		origins = append(origins, "http://"+h, "https://"+h)
	}
	return &htmlstream.Links{Prefix: rw.app.prefix, Origins: origins, Keep: []string{rw.site.prefix + "/"}}
}

// rewriteHeaders applies the frame, Location (and Refresh), service worker
// and Set-Cookie rules, drops the headers that act on the whole origin and
// keeps every rewritten header out of the trailers. It reports an error
// for a response it cannot pass on: headers too large, or too many
// policies to rewrite.
func (rw *responseWriter) rewriteHeaders(status int) error {
	hdr := rw.Header()
	if status == http.StatusSwitchingProtocols {
		// The connection is the backend's from now on: there is no
		// page to frame, and nothing to refuse it with.
		hdr.Del("Content-Security-Policy")
		hdr.Del("Content-Security-Policy-Report-Only")
	} else if headerBytes(hdr) > maxHeaderBytes {
		return errHeaderTooLarge
	}
	rw.trace.traceHeaders(hdr, rw.site.ancestors)
	if err := rewrite.AddFrameAncestors(hdr, rw.site.ancestors); err != nil {
		return err
	}
	rw.dropOriginWide(hdr)
	loc, refresh, swa := hdr.Get("Location"), hdr.Get("Refresh"), hdr.Get("Service-Worker-Allowed")
	reports := len(hdr["Reporting-Endpoints"]) > 0 || rewrite.HasReportURI(hdr)
	if loc != "" || refresh != "" || swa != "" || reports {
		l := rewrite.Location{Prefix: rw.app.prefix, OwnHosts: rw.ownHosts()}
		if reports {
			// Violation reports of the app's pages go to the app, not
			// to the origin's root.
			for _, key := range [...]string{"Content-Security-Policy", "Content-Security-Policy-Report-Only"} {
				for i, v := range hdr[key] {
					hdr[key][i] = l.ReportURIs(v, rw.upstreamPath)
				}
			}
			for i, v := range hdr["Reporting-Endpoints"] {
				hdr["Reporting-Endpoints"][i] = l.ReportingEndpoints(v, rw.upstreamPath)
			}
		}
		if loc != "" {
			hdr.Set("Location", l.Rewrite(loc, rw.upstreamPath))
			if rw.trace != nil && hdr.Get("Location") != loc {
				rw.trace.Location = loc + " → " + hdr.Get("Location")
			}
		}
		if refresh != "" {
			hdr.Set("Refresh", l.RewriteRefresh(refresh, rw.upstreamPath))
		}
		if swa != "" {
			// A service worker's scope must stay in the app: one
			// scoped to "/" would answer every request of the origin,
			// and outlive the app.
			hdr.Set("Service-Worker-Allowed", l.ScopeServiceWorkerAllowed(swa, rw.upstreamPath))
		}
	}
	if len(hdr["Link"]) > 0 {
		rewrite.DropServiceWorkerLinks(hdr)
	}
	if len(hdr["Trailer"]) > 0 {
		// Sent as trailers, the headers the gateway rewrites or drops
		// would escape its rules. Trailers the backend adds without
		// declaring them are removed when the response ends.
		removeNames(hdr, "Trailer", rewritten)
	}
	if len(hdr["Set-Cookie"]) > 0 {
		var before []string
		if rw.trace != nil {
			before = slices.Clone(hdr["Set-Cookie"])
			defer func() { rw.trace.traceCookies(before, hdr["Set-Cookie"]) }()
		}
		reserved := rw.site.reservedCookies
		rewrite.ScopeSetCookies(hdr, rw.app.path, func(name string) bool {
			// An app must not plant a cookie named like the Helpdesk
			// session, or the gateway's own, inside its own path: it
			// would shadow the real one.
			return slices.Contains(reserved, name)
		})
		if rw.app.IsolateCookies {
			for i, v := range hdr["Set-Cookie"] {
				hdr["Set-Cookie"][i] = rewrite.PrefixSetCookie(v, rw.app.cookiePrefix)
			}
		}
	}
	if (reports || len(hdr["Set-Cookie"]) > 0) && headerBytes(hdr) > maxHeaderBytes {
		// What the rewrites added, to URLs and cookie paths, is
		// bounded too.
		return errHeaderTooLarge
	}
	return nil
}

// dropOriginWide removes from hdr the headers whose effect reaches past the
// app's path (rewrite.OriginWide), but for the site's own.
func (rw *responseWriter) dropOriginWide(hdr http.Header) {
	for _, name := range rewrite.OriginWide {
		if _, ok := hdr[name]; !ok {
			continue
		}
		if site, ok := rw.siteHeaders[name]; ok {
			hdr[name] = site
			continue
		}
		delete(hdr, name)
		if rw.trace != nil {
			rw.trace.DroppedHeaders = append(rw.trace.DroppedHeaders, name)
		}
		if c := rw.site.logger.Check(zapcore.DebugLevel, "dropped an origin-wide header from an app's response"); c != nil {
			c.Write(zap.String("app", rw.app.ID), zap.String("header", name))
		}
	}
}

// rewritten reports whether name is a header the gateway rewrites or drops
// (rewrite.Rewritten).
func rewritten(name string) bool {
	return slices.Contains(rewrite.Rewritten, textproto.CanonicalMIMEHeaderKey(name))
}

// ownHosts are the hosts that absolute URLs in an app's redirects may name
// to mean the app itself: the upstream that answered (as dialed, and without
// a default port) and the host the client asked for, which a backend sees
// when the Host header is passed through.
func (rw *responseWriter) ownHosts() []string {
	hosts := []string{rw.req.Host}
	repl, _ := rw.req.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if repl == nil {
		return hosts
	}
	if hp, ok := repl.GetString("http.reverse_proxy.upstream.hostport"); ok && hp != "" {
		hosts = append(hosts, hp)
		if host, port, err := net.SplitHostPort(hp); err == nil && (port == "80" || port == "443") {
			hosts = append(hosts, host)
		}
	}
	return hosts
}

// releaseHeader writes a held header, once start, the first bytes of the
// body, tell whether the shim goes in: its Content-Length grows by the
// shim's length, or stays. When they cannot tell (a flush before any body,
// say), the response loses its Content-Length.
func (rw *responseWriter) releaseHeader(start []byte) {
	hdr := rw.Header()
	if adds, ok := htmlstream.AddsTag(start, rw.length); !ok {
		hdr.Del("Content-Length")
	} else if adds {
		hdr.Set("Content-Length", strconv.FormatInt(rw.length+int64(rw.tagLen), 10))
	}
	status := rw.heldStatus
	rw.heldStatus = 0
	rw.ResponseWriterWrapper.WriteHeader(status)
}

// Write writes the headers first if the backend did not.
func (rw *responseWriter) Write(p []byte) (int, error) {
	rw.ensureHeader()
	if rw.refused {
		return 0, errRefused
	}
	if rw.heldStatus != 0 {
		if len(p) == 0 {
			return 0, nil
		}
		rw.releaseHeader(p)
	}
	if rw.body != nil {
		return rw.body.Write(p)
	}
	return rw.ResponseWriterWrapper.Write(p)
}

// ReadFrom writes the headers first if the backend did not, then copies the
// body: through the stages, or by the underlying writer's own means.
func (rw *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	rw.ensureHeader()
	if rw.refused {
		return 0, errRefused
	}
	if rw.heldStatus != 0 {
		// Write releases the header with the body's first bytes.
		return io.Copy(struct{ io.Writer }{rw}, r)
	}
	if rw.body != nil {
		return io.Copy(rw.body, r)
	}
	return rw.ResponseWriterWrapper.ReadFrom(r)
}

// FlushError writes the headers first if the backend did not, then flushes
// what is written so far. Without it, http.ResponseController would flush
// the underlying writer and send headers that were never rewritten.
func (rw *responseWriter) FlushError() error {
	rw.ensureHeader()
	if rw.refused {
		return nil
	}
	if rw.heldStatus != 0 {
		rw.releaseHeader(nil)
	}
	if rw.decoder != nil {
		// The decoding goroutine drives the stages: it flushes them in
		// order with the bytes.
		return rw.decoder.Flush()
	}
	return rw.flushStages()
}

// flushStages has each stage write what it can of what it holds, first to
// last, then flushes the client.
func (rw *responseWriter) flushStages() error {
	for _, st := range rw.stages {
		if err := st.Flush(); err != nil {
			return err
		}
	}
	return http.NewResponseController(rw.ResponseWriter).Flush()
}

// close finishes a rewritten body: the rest of a compressed body is
// decoded, then each stage, first to last, writes what it held back. The
// trailers the backend added undeclared, named like a rewritten header,
// are dropped.
func (rw *responseWriter) close() error {
	if rw.heldStatus != 0 {
		rw.releaseHeader(nil) // no body was written
	}
	hdr := rw.Header()
	for name := range hdr {
		if t, ok := strings.CutPrefix(name, http.TrailerPrefix); ok && rewritten(t) {
			delete(hdr, name)
		}
	}
	var errs []error
	if rw.decoder != nil {
		errs = append(errs, rw.decoder.Close())
	}
	for _, st := range rw.stages {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

// ensureHeader writes a 200 status if nothing was written yet.
func (rw *responseWriter) ensureHeader() {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
}

// Interface guards
var (
	_ http.ResponseWriter                       = (*responseWriter)(nil)
	_ io.ReaderFrom                             = (*responseWriter)(nil)
	_ interface{ FlushError() error }           = (*responseWriter)(nil)
	_ interface{ Unwrap() http.ResponseWriter } = (*responseWriter)(nil)
)
