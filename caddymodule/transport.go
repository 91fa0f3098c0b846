package caddymodule

import (
	"maps"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// upstreamHostPlaceholder is the value `to` gives the Host header: the
// host and port of the upstream each request is sent to.
const upstreamHostPlaceholder = "{http.reverse_proxy.upstream.hostport}"

// wrapTransport gives a reverse_proxy backend that uses Caddy's HTTP
// transport an appTransport, and reports whether it did. The proxy's
// request header operation `Host: {http.reverse_proxy.upstream.hostport}`,
// when it is its only header operation, moves into the transport too: `to`
// configures exactly that operation, and so does the usual `header_up Host
// {upstream_hostport}` of a reverse_proxy block. The upstream sees the
// same Host header either way; but a proxy with any header operation
// copies every request header into a new map on every attempt.
func wrapTransport(rp *reverseproxy.Handler) bool {
	ht, ok := rp.Transport.(*reverseproxy.HTTPTransport)
	if !ok {
		return false
	}
	t := appTransport{HTTPTransport: ht}
	if onlyUpstreamHost(rp) {
		t.upstreamHost = true
		rp.Headers = nil
	}
	rp.Transport = t
	return true
}

// onlyUpstreamHost reports whether the proxy's one header operation sets
// the Host header to the upstream's.
func onlyUpstreamHost(rp *reverseproxy.Handler) bool {
	ops := rp.Headers
	if ops == nil || ops.Response != nil || ops.Request == nil {
		return false
	}
	req := ops.Request
	if len(req.Add) > 0 || len(req.Delete) > 0 || len(req.Replace) > 0 || len(req.Set) != 1 {
		return false
	}
	host := req.Set["Host"]
	return len(host) == 1 && host[0] == upstreamHostPlaceholder
}

// appTransport is Caddy's HTTP transport as an app's reverse_proxy uses
// it. It adds the identity headers to each request as it leaves for the
// upstream, on a copy of the request's headers: the request that Caddy's
// reverse_proxy logs (in its debug log, with every header) never holds
// the assertion, and the proxy does not copy and encode headers it has no
// use for. With upstreamHost it also sets the request's Host to the
// upstream it is dialled to: Caddy has set the URL's host to that
// upstream's address (the value of {http.reverse_proxy.upstream.hostport})
// by the time it calls RoundTrip, after X-Forwarded-Host took the client's
// Host. Every other method is the transport's own.
type appTransport struct {
	*reverseproxy.HTTPTransport
	upstreamHost bool
}

// RoundTrip sends req with the identity of the app request it proxies.
// Requests of Caddy's own, such as active health checks, carry none.
func (t appTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.upstreamHost {
		req.Host = req.URL.Host
	}
	id, _ := caddyhttp.GetVar(req.Context(), identityVar).(*identity)
	if id == nil {
		return t.HTTPTransport.RoundTrip(req)
	}
	out := *req
	out.Header = make(http.Header, len(req.Header)+identityFields)
	maps.Copy(out.Header, req.Header)
	id.set(out.Header)
	if id.origin != "" {
		scheme := "http"
		if t.TLSEnabled() {
			scheme = "https"
		}
		mapOrigin(out.Header, id.origin, scheme+"://"+out.Host, id.app.prefix)
	}
	return t.HTTPTransport.RoundTrip(&out)
}

// Interface guard
var _ http.RoundTripper = appTransport{}
