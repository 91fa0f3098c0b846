package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// upstreamHostPlaceholder is the value `to` gives the Host header: the
// host and port of the upstream each request is sent to.
const upstreamHostPlaceholder = "{http.reverse_proxy.upstream.hostport}"

// setHostInTransport moves a reverse_proxy's request header operation
// `Host: {http.reverse_proxy.upstream.hostport}`, when it is the proxy's
// only header operation, into the proxy's HTTP transport. `to` configures
// exactly that operation, and so does the usual `header_up Host
// {upstream_hostport}` of a reverse_proxy block. The upstream sees the
// same Host header either way; but a proxy with any header operation
// copies every request header into a new map on every attempt, which
// costs the gateway an allocation per header on each request.
func setHostInTransport(rp *reverseproxy.Handler) {
	ops := rp.Headers
	if ops == nil || ops.Response != nil || ops.Request == nil {
		return
	}
	req := ops.Request
	if len(req.Add) > 0 || len(req.Delete) > 0 || len(req.Replace) > 0 || len(req.Set) != 1 {
		return
	}
	if host := req.Set["Host"]; len(host) != 1 || host[0] != upstreamHostPlaceholder {
		return
	}
	ht, ok := rp.Transport.(*reverseproxy.HTTPTransport)
	if !ok {
		return
	}
	rp.Transport = upstreamHostTransport{ht}
	rp.Headers = nil
}

// upstreamHostTransport is Caddy's HTTP transport sending each request
// with the Host of the upstream it is dialled to. Caddy has set the URL's
// host to that upstream's address (the value of
// {http.reverse_proxy.upstream.hostport}) by the time it calls RoundTrip,
// after X-Forwarded-Host took the client's Host. Every other method is the
// transport's own.
type upstreamHostTransport struct {
	*reverseproxy.HTTPTransport
}

// RoundTrip sets the request's Host to its URL's host and sends it.
func (t upstreamHostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req.Host = req.URL.Host
	return t.HTTPTransport.RoundTrip(req)
}

// Interface guard
var _ http.RoundTripper = upstreamHostTransport{}
