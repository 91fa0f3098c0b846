package caddymodule

import (
	"errors"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/helpdeskapps/gateway/caddymodule/api"
)

// What the gateway does with the origin of an app's requests (App.Origin).
const (
	// OriginMap refuses cross-origin state-changing requests and gives the
	// upstream its own origin in the Origin and Referer of the app's own
	// pages, so that a tool comparing Origin with the Host it receives
	// accepts them.
	OriginMap = "map"
	// OriginCheck refuses cross-origin state-changing requests and passes
	// Origin and Referer as sent.
	OriginCheck = "check"
	// OriginOff does neither: the tool's own defence alone decides.
	OriginOff = "off"
)

// errCrossOrigin is the reason a cross-origin state-changing request to an
// app is refused.
var errCrossOrigin = errors.New("cross-origin request refused: another site may not change this app's state")

// originMode returns the app's effective origin mode: its Origin, or by
// default map when its backend gives the upstream its own Host (the `to`
// form) and check otherwise. It reports an error for a mode the backend
// cannot carry out.
func (a *App) originMode() (string, error) {
	b := a.backend
	switch a.Origin {
	case "":
		if b != nil && b.upstreamHost {
			return OriginMap, nil
		}
		return OriginCheck, nil
	case OriginMap:
		if b != nil && !b.proxy {
			return "", errors.New("origin map: the backend must be a reverse_proxy")
		}
		if b != nil && !b.http {
			return "", errors.New("origin map: the backend must proxy over HTTP")
		}
		return OriginMap, nil
	}
	return a.Origin, nil // check or off; validate refuses any other
}

// sendsUpstreamHost reports whether the proxy sets the Host header to the
// upstream's own, as `to` does.
func sendsUpstreamHost(rp *reverseproxy.Handler) bool {
	if rp.Headers == nil || rp.Headers.Request == nil {
		return false
	}
	host := rp.Headers.Request.Set["Host"]
	return len(host) == 1 && host[0] == upstreamHostPlaceholder
}

// sameOrigin returns the gateway's own origin, as the client reached it,
// when the request carries an Origin or Referer of that origin (a request
// of the app's own page); "" otherwise.
func sameOrigin(r *http.Request) string {
	origin, referer := r.Header.Get("Origin"), r.Header.Get("Referer")
	if origin == "" && referer == "" {
		return ""
	}
	own := api.RequestScheme(r) + "://" + r.Host
	if strings.EqualFold(origin, own) || hasOriginPrefix(referer, own) {
		return own
	}
	return ""
}

// hasOriginPrefix reports whether the URL u is of origin.
func hasOriginPrefix(u, origin string) bool {
	return len(u) > len(origin) && strings.EqualFold(u[:len(origin)], origin) && strings.IndexByte("/?#", u[len(origin)]) >= 0
}

// mapOrigin gives the upstream its own origin, upstream, where hdr's
// Origin and Referer name the gateway's, gateway: a Referer under the app's
// path, appPrefix, also loses the prefix, as the tool's own URL.
func mapOrigin(hdr http.Header, gateway, upstream, appPrefix string) {
	if strings.EqualFold(hdr.Get("Origin"), gateway) {
		hdr["Origin"] = []string{upstream}
	}
	if ref := hdr.Get("Referer"); hasOriginPrefix(ref, gateway) {
		if rest, ok := strings.CutPrefix(ref[len(gateway):], appPrefix); ok && (rest == "" || strings.IndexByte("/?#", rest[0]) >= 0) {
			if rest == "" || rest[0] != '/' {
				rest = "/" + rest
			}
			hdr["Referer"] = []string{upstream + rest}
		}
	}
}
