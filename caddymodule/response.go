package caddymodule

import (
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/helpdeskapps/gateway/caddymodule/htmlstream"
	"github.com/helpdeskapps/gateway/caddymodule/rewrite"
)

// responseWriter rewrites an app's response headers as they are written:
// frame headers for the configured ancestors, Location and Set-Cookie kept
// inside the app's path. HTML documents stream through the shim injector
// (decoded first when gzip or zstd); every other body streams through
// untouched, so WebSocket upgrades (through Unwrap and
// http.ResponseController) and SSE flushes work.
type responseWriter struct {
	*caddyhttp.ResponseWriterWrapper
	req          *http.Request
	h            *Handler
	app          *App
	upstreamPath string
	wroteHeader  bool

	// body receives the body when it is rewritten: the injector, or the
	// decoder in front of it; nil when the body passes through.
	body     io.WriteCloser
	injector *htmlstream.Injector
	// locked is the client writer shared with a decoding goroutine.
	locked *lockedWriter
}

func newResponseWriter(w http.ResponseWriter, r *http.Request, h *Handler, app *App, upstreamPath string) *responseWriter {
	return &responseWriter{
		ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w},
		req:                   r,
		h:                     h,
		app:                   app,
		upstreamPath:          upstreamPath,
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
	rw.wroteHeader = true
	rw.rewriteHeaders()
	if rw.app.shimAttrs != nil && isInjectable(rw.req, status, rw.Header()) {
		rw.startInjection()
	}
	rw.ResponseWriterWrapper.WriteHeader(status)
}

// startInjection routes the body through the shim injector. The body
// changes, so its length is unknown and a strong validator becomes weak
// (RFC 9110 §8.8.1); a decoded body loses its Content-Encoding.
func (rw *responseWriter) startInjection() {
	hdr := rw.Header()
	tag := rw.app.shim
	if acc := rewrite.ScriptAccessFor(hdr); acc != (rewrite.ScriptAccess{}) {
		tag = rw.h.shimTag(rw.app, acc)
	}
	hdr.Del("Content-Length")
	if etag := hdr.Get("ETag"); strings.HasPrefix(etag, `"`) {
		hdr.Set("ETag", "W/"+etag)
	}
	coding := contentEncoding(hdr)
	if coding == "" {
		rw.injector = htmlstream.NewInjector(rw.ResponseWriter, tag)
		rw.body = rw.injector
		return
	}
	hdr.Del("Content-Encoding")
	rw.locked = &lockedWriter{w: rw.ResponseWriter}
	rw.injector = htmlstream.NewInjector(rw.locked, tag)
	rw.body = newDecoder(coding, rw.injector)
}

// rewriteHeaders applies the frame, Location and Set-Cookie rules.
func (rw *responseWriter) rewriteHeaders() {
	hdr := rw.Header()
	rewrite.AddFrameAncestors(hdr, rw.h.ancestors)
	if loc := hdr.Get("Location"); loc != "" {
		l := rewrite.Location{Prefix: rw.app.prefix, OwnHosts: rw.ownHosts()}
		hdr.Set("Location", l.Rewrite(loc, rw.upstreamPath))
	}
	if len(hdr["Set-Cookie"]) > 0 {
		cookie := rw.h.source.Cookie
		rewrite.ScopeSetCookies(hdr, rw.app.path, func(name string) bool {
			// An app must not plant a cookie named like the Helpdesk
			// session inside its own path: it would shadow the real one.
			return cookie != "" && name == cookie
		})
		if rw.app.IsolateCookies {
			for i, v := range hdr["Set-Cookie"] {
				hdr["Set-Cookie"][i] = rewrite.PrefixSetCookie(v, rw.app.cookiePrefix)
			}
		}
	}
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

// Write writes the headers first if the backend did not.
func (rw *responseWriter) Write(p []byte) (int, error) {
	rw.ensureHeader()
	if rw.body != nil {
		return rw.body.Write(p)
	}
	return rw.ResponseWriterWrapper.Write(p)
}

// ReadFrom writes the headers first if the backend did not, then copies the
// body: through the injector, or by the underlying writer's own means.
func (rw *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	rw.ensureHeader()
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
	switch {
	case rw.locked != nil:
		// The decoder writes what it has decoded; flush that.
		return rw.locked.flush()
	case rw.injector != nil:
		if err := rw.injector.Flush(); err != nil {
			return err
		}
	}
	return http.NewResponseController(rw.ResponseWriter).Flush()
}

// close finishes a rewritten body: the rest of a compressed body is decoded
// and the injector writes what it held back.
func (rw *responseWriter) close() error {
	if rw.body == nil {
		return nil
	}
	return rw.body.Close()
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
