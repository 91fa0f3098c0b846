package caddymodule

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy/fastcgi"

	"github.com/helpdeskapps/gateway/caddymodule/upstreams"
)

// retireGrace is how long a backend that a new registry replaced keeps
// serving the requests that still use it, long polls and WebSockets
// included, before it is stopped. A variable, for tests to shorten.
var retireGrace = 30 * time.Second

// backend is an app's loaded backend, provisioned in a caddy.Context of its
// own so that it can be stopped (its Cleanup run: a reverse_proxy closes
// its WebSockets) without touching anything else. A registry that holds it
// counts as one reference, each request that uses it as another; it is
// stopped when the last one goes, or when its app is deleted or disabled.
type backend struct {
	handler caddyhttp.MiddlewareHandler
	// digest is the digest of the JSON it was loaded from: a new registry
	// reuses a backend whose JSON is unchanged.
	digest [sha256.Size]byte

	// What the gateway learned of it when it was loaded: a reverse_proxy
	// (proxy), over HTTP (http), sending the upstream its own Host
	// (upstreamHost), to FastCGI (fastCGI); an appTransport sets the
	// identity headers (identityInTransport).
	proxy, http, upstreamHost, fastCGI, identityInTransport bool

	refs   atomic.Int64
	once   sync.Once
	cancel context.CancelFunc
	// stopped, if set, is called once the backend is stopped.
	stopped func()
}

// loadBackend provisions the backend described by raw, a handler's JSON
// with its "handler" key, in a new child of parent. parent must be a
// context no one registers cleanup functions on: cancelling a child runs
// its parent's. With allow, the backend is a runtime app's reverse_proxy,
// which dials only what allow allows.
func loadBackend(parent caddy.Context, raw json.RawMessage, allow *upstreams.Allowlist) (*backend, error) {
	ctx, cancel := caddy.NewContext(parent)
	holder := AppConfig{BackendRaw: slices.Clone(raw)} // LoadModule empties the field it loads
	mod, err := ctx.LoadModule(&holder, "BackendRaw")
	if err != nil {
		cancel()
		return nil, err
	}
	b := &backend{handler: mod.(caddyhttp.MiddlewareHandler), digest: sha256.Sum256(raw), cancel: cancel}
	if rp, ok := mod.(*reverseproxy.Handler); ok {
		b.proxy = true
		_, b.http = rp.Transport.(*reverseproxy.HTTPTransport)
		_, b.fastCGI = rp.Transport.(*fastcgi.Transport)
		b.upstreamHost = sendsUpstreamHost(rp)
		if ht, ok := rp.Transport.(*reverseproxy.HTTPTransport); ok && allow != nil {
			guardDial(ht, allow)
		}
		b.identityInTransport = wrapTransport(rp)
	}
	b.refs.Store(1)
	return b, nil
}

// acquire takes a reference, for a request or a registry; false when the
// backend is stopped or stopping, and must not be used.
func (b *backend) acquire() bool {
	for {
		n := b.refs.Load()
		if n <= 0 {
			return false
		}
		if b.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release gives a reference back; the last one stops the backend.
func (b *backend) release() {
	if b.refs.Add(-1) == 0 {
		b.stop()
	}
}

// retire gives back a registry's reference to a backend it no longer
// holds: the requests that use it finish, for retireGrace at most.
func (b *backend) retire() {
	b.release()
	time.AfterFunc(retireGrace, b.stop)
}

// stop stops the backend now, once: its context is cancelled, which runs
// its Cleanup.
func (b *backend) stop() {
	b.once.Do(func() {
		b.refs.Store(0)
		b.cancel()
		if b.stopped != nil {
			b.stopped()
		}
	})
}
