package caddymodule

import (
	"io"
	"net"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/helpdeskapps/gateway/caddymodule/rewrite"
)

// responseWriter rewrites an app's response headers as they are written:
// frame headers for the configured ancestors, Location and Set-Cookie kept
// inside the app's path. Bodies stream through untouched, so WebSocket
// upgrades (through Unwrap and http.ResponseController) and SSE flushes work.
type responseWriter struct {
	*caddyhttp.ResponseWriterWrapper
	req          *http.Request
	h            *Handler
	app          *App
	upstreamPath string
	wroteHeader  bool
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
	rw.ResponseWriterWrapper.WriteHeader(status)
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
	return rw.ResponseWriterWrapper.Write(p)
}

// ReadFrom writes the headers first if the backend did not, then lets the
// underlying writer copy the body.
func (rw *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	rw.ensureHeader()
	return rw.ResponseWriterWrapper.ReadFrom(r)
}

// FlushError writes the headers first if the backend did not, then flushes.
// Without it, http.ResponseController would flush the underlying writer and
// send headers that were never rewritten.
func (rw *responseWriter) FlushError() error {
	rw.ensureHeader()
	return http.NewResponseController(rw.ResponseWriter).Flush()
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
