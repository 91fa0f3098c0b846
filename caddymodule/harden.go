package caddymodule

import (
	"io"
	"net/http"
	"slices"
	"strings"
)

// forwardedPrefix is the header that tells a backend the path it is
// served under.
const forwardedPrefix = "X-Forwarded-Prefix"

// gatewayOwned reports whether a client must not send, as a trailer, or
// name in Connection, the header called name: an identity header (by its
// normalised name), a credential of the Helpdesk, or X-Forwarded-Prefix.
func (h *Handler) gatewayOwned(name string) bool {
	for _, strip := range h.identityStrip {
		if foldedEqual(name, strip) {
			return true
		}
	}
	for _, own := range [...]string{"authorization", "proxy-authorization", "cookie", "x-forwarded-prefix"} {
		if foldedEqual(name, own) {
			return true
		}
	}
	return false
}

// guardConnection removes from the Connection header every name the
// gateway owns. A proxy deletes the headers that Connection names, as
// hop-by-hop, after the gateway has set them: a client could otherwise
// strip chosen identity headers from what a backend receives. It allocates
// only when there is something to remove.
func (h *Handler) guardConnection(hdr http.Header) {
	values := hdr["Connection"]
	owned := false
	for _, v := range values {
		owned = owned || h.namesOwned(v)
	}
	if !owned {
		return
	}
	kept := make([]string, 0, len(values))
	for _, v := range values {
		var names []string
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" && !h.gatewayOwned(name) {
				names = append(names, name)
			}
		}
		if len(names) > 0 {
			kept = append(kept, strings.Join(names, ", "))
		}
	}
	if len(kept) == 0 {
		delete(hdr, "Connection")
		return
	}
	hdr["Connection"] = kept
}

// namesOwned reports whether a Connection value names a header the
// gateway owns.
func (h *Handler) namesOwned(v string) bool {
	for name := range strings.SplitSeq(v, ",") {
		if h.gatewayOwned(strings.TrimSpace(name)) {
			return true
		}
	}
	return false
}

// guardTrailers keeps the headers the gateway owns out of a request's
// trailers, which a proxy forwards: a client may declare, say,
// X-Helpdesk-User-Role as a trailer of a chunked body. The request gets a
// map of the declared trailers it may send, filled from what the client
// sent once its body is read to the end, and so returns a shallow copy of
// r when the client declared any.
func (h *Handler) guardTrailers(r *http.Request) *http.Request {
	if r.Trailer == nil || r.Body == nil || r.Body == http.NoBody {
		return r
	}
	declared := r.Trailer
	r = r.WithContext(r.Context())
	r.Trailer = make(http.Header, len(declared))
	for name := range declared {
		if !h.gatewayOwned(name) {
			r.Trailer[name] = nil
		}
	}
	r.Body = &trailerGuard{ReadCloser: r.Body, h: h, from: declared, to: r.Trailer}
	return r
}

// trailerGuard copies a request's trailers, less those the gateway owns,
// when its body reaches EOF: net/http sets the trailers it read in the
// original request's map just before.
type trailerGuard struct {
	io.ReadCloser
	h        *Handler
	from, to http.Header
}

// Read reads the body, and at its end publishes the trailers.
func (g *trailerGuard) Read(p []byte) (int, error) {
	n, err := g.ReadCloser.Read(p)
	if err == io.EOF && g.from != nil {
		for name, values := range g.from {
			if !g.h.gatewayOwned(name) {
				g.to[name] = slices.Clone(values)
			}
		}
		g.from = nil
	}
	return n, err
}
