package caddymodule

import (
	"net/http"
	"slices"
	"strings"
)

// forwardedPrefix is the header that tells a backend the path it is
// served under.
const forwardedPrefix = "X-Forwarded-Prefix"

// gatewayOwned reports whether a client must not name in Connection the
// header called name: an identity header (by its normalised name), a
// credential of the Helpdesk, or X-Forwarded-Prefix.
func (s *site) gatewayOwned(name string) bool {
	for _, strip := range s.identityStrip {
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
// strip chosen identity headers from what a backend receives.
func (s *site) guardConnection(hdr http.Header) {
	removeNames(hdr, "Connection", s.gatewayOwned)
}

// removeNames removes from hdr[key], a comma-separated list of header
// names (Connection, Trailer), the names drop reports, and the header when
// none is left. It allocates only when there is something to remove.
func removeNames(hdr http.Header, key string, drop func(name string) bool) {
	values := hdr[key]
	if !slices.ContainsFunc(values, func(v string) bool {
		for name := range strings.SplitSeq(v, ",") {
			if drop(strings.TrimSpace(name)) {
				return true
			}
		}
		return false
	}) {
		return
	}
	kept := make([]string, 0, len(values))
	for _, v := range values {
		var names []string
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" && !drop(name) {
				names = append(names, name)
			}
		}
		if len(names) > 0 {
			kept = append(kept, strings.Join(names, ", "))
		}
	}
	if len(kept) == 0 {
		delete(hdr, key)
		return
	}
	hdr[key] = kept
}

// dropTrailers keeps a request's trailers from its backend, which a proxy
// would forward: a client could name one like a header the gateway sets, or
// one a backend's header_up sets (X-Webauth-User for Grafana, say), and an
// upstream that merges trailers into headers would believe it. Browsers
// send no request trailers. The request is copied, so that the map the
// server fills at the body's end is not the one the backend reads.
func dropTrailers(r *http.Request) *http.Request {
	if r.Trailer == nil {
		return r
	}
	r = r.WithContext(r.Context())
	r.Trailer = nil
	return r
}
