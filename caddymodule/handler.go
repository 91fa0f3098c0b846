// Package caddymodule implements the http.handlers.helpdesk_apps Caddy module:
// it serves registered web tools under a Helpdesk path, frameable by the
// Helpdesk only, and open only to the users their access rules allow.
package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/helpdeskapps/gateway/bridgejs"
	"github.com/helpdeskapps/gateway/caddymodule/rewrite"
	"github.com/helpdeskapps/gateway/caddymodule/session"
)

func init() {
	caddy.RegisterModule(new(Handler))
}

// Handler serves Helpdesk Apps. Every request whose cleaned path is under
// Prefix belongs to it; every other request goes to the next handler
// untouched. A request for `<prefix>/<id>/…` is checked against the app's
// access rules using the verified Helpdesk session, then handed to the app's
// backend with the prefix stripped; the backend's response is made frameable
// by FrameAncestors only, and its redirects and cookies are kept inside the
// app's path.
//
// The session's `hmac_secret` accepts global placeholders such as
// `{env.HD_SESSION_SECRET}`; they are resolved once, when the module is
// provisioned. Backends see the request placeholders `{helpdesk.user.id}`,
// `{helpdesk.user.name}`, `{helpdesk.user.email}`, `{helpdesk.user.role}`,
// `{helpdesk.user.division_id}`, `{helpdesk.app.id}` and
// `{helpdesk.app.prefix}`.
type Handler struct {
	// Prefix is the path under which apps are served; an app with id `crm`
	// is reached at `<prefix>/crm/`. It must begin with `/` and must not end
	// with one. Default: `/apps`.
	Prefix string `json:"prefix,omitempty"`

	// FrameAncestors lists who may frame the apps: `'self'` or origins such
	// as `https://helpdesk.example.com`. Every app response gets exactly this
	// `frame-ancestors` directive in each of its Content-Security-Policy
	// headers, and loses its X-Frame-Options header. Default: `['self']`.
	FrameAncestors []string `json:"frame_ancestors,omitempty"`

	// Session says where the Helpdesk session token is read from and how it
	// is verified. Required.
	Session *SessionConfig `json:"session,omitempty"`

	// IdentityHeaders names the headers that carry the verified identity to
	// every app's backend. Default: the names documented on IdentityHeaders.
	IdentityHeaders *IdentityHeaders `json:"identity_headers,omitempty"`

	// AssertionKey is a PEM file with the ECDSA P-256 private key that signs
	// X-Helpdesk-Assertion. Default: a key generated once and kept in
	// Caddy's storage, so it survives restarts and is shared by the
	// instances that share the storage; one for each Helpdesk, by the
	// prefix and the session's key, issuer and audience.
	AssertionKey string `json:"assertion_key,omitempty"`

	// AssertionTTL is how long an assertion is valid, from 1s to 5m, and
	// never past the session's exp plus its leeway. Default: `1m`.
	AssertionTTL caddy.Duration `json:"assertion_ttl,omitempty"`

	// Apps are the registered tools.
	Apps []*AppConfig `json:"apps,omitempty"`

	// reg is the current snapshot of the compiled apps; applying
	// serialises the making of the next one.
	reg      atomic.Pointer[registry]
	applying sync.Mutex
	// backends is the context the apps' backends are loaded in, each in a
	// child of its own; live holds the backends not stopped yet.
	backends caddy.Context
	live     sync.Map
	// site holds what the apps' requests and responses read of the
	// Handler's settings.
	site
	host   *bridgejs.Script
	source session.Source
	// crossOrigin refuses the cross-origin state-changing requests.
	crossOrigin *http.CrossOriginProtection
	asserter    *asserter
	verifier    *session.Verifier
}

// site is what an app's request and response read of the Handler's
// settings, resolved when it is provisioned: the writer, the transport and
// the identity get it, not the Handler.
type site struct {
	// prefix is the gateway's prefix; its paths (the bridge, the API,
	// other apps) are never moved by link rewriting.
	prefix string
	// ancestors is the frame-ancestors source list.
	ancestors string
	// client is the shim, served at clientURL.
	client    *bridgejs.Script
	clientURL string
	// sessionCookie is the name of the Helpdesk's session cookie, which no
	// app may set.
	sessionCookie string
	// identity holds the resolved header names; identityStrip the
	// normalised names of every header deleted from client requests.
	identity      IdentityHeaders
	identityStrip []string
	logger        *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (*Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.helpdesk_apps",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision sets defaults, compiles the session verifier and loads each app's backend.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if h.Prefix == "" {
		h.Prefix = "/apps"
	}
	if len(h.FrameAncestors) == 0 {
		h.FrameAncestors = []string{"'self'"}
	}
	h.prefix = h.Prefix
	h.ancestors = strings.Join(h.FrameAncestors, " ")
	h.crossOrigin = http.NewCrossOriginProtection()

	if h.Session == nil {
		return errors.New("session: required")
	}
	var err error
	h.source, h.verifier, err = h.Session.provision(ctx, h.logger)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	h.sessionCookie = h.source.Cookie

	var ih IdentityHeaders
	if h.IdentityHeaders != nil {
		ih = *h.IdentityHeaders
	}
	if h.identity, h.identityStrip, err = ih.resolve(); err != nil {
		return err
	}
	scope := h.Prefix + "\x00" + h.Session.scope
	if h.asserter, err = newAsserter(ctx, h.AssertionKey, scope, time.Duration(h.AssertionTTL), h.verifier.Leeway()); err != nil {
		return err
	}

	scripts, err := bridgejs.Load()
	if err != nil {
		return fmt.Errorf("loading bridge scripts: %w", err)
	}
	h.client, h.host = scripts[bridgejs.Client], scripts[bridgejs.Host]
	h.clientURL = h.Prefix + "/" + bridgePath + "/" + bridgejs.Client + "?v=" + h.client.Version

	// Not cancelled: a child's cancel runs its parent's cleanup functions,
	// and Cleanup stops each backend itself.
	h.backends, _ = caddy.NewContext(ctx)
	reg, err := h.compileRegistry(h.Apps, nil, 1)
	if err != nil {
		return err
	}
	h.reg.Store(reg)
	return nil
}

// Cleanup stops every backend the handler loaded.
func (h *Handler) Cleanup() error {
	h.live.Range(func(b, _ any) bool {
		b.(*backend).stop()
		return true
	})
	return nil
}

// Validate checks the site's settings; each app is validated when it is
// compiled, in Provision.
func (h *Handler) Validate() error {
	if err := validatePrefix(h.Prefix); err != nil {
		return err
	}
	for _, src := range h.FrameAncestors {
		if err := rewrite.ValidateAncestor(src); err != nil {
			return err
		}
	}
	return nil
}

// validatePrefix checks a configured prefix.
func validatePrefix(prefix string) error {
	switch {
	case !strings.HasPrefix(prefix, "/"):
		return fmt.Errorf("prefix %q: must begin with /", prefix)
	case len(prefix) > 1 && strings.HasSuffix(prefix, "/"), prefix == "/":
		return fmt.Errorf("prefix %q: must not end with /", prefix)
	case caddyhttp.CleanPath(prefix, true) != prefix:
		return fmt.Errorf("prefix %q: must be a clean path", prefix)
	case strings.ContainsAny(prefix, "{}*?#%"):
		return fmt.Errorf("prefix %q: must be a literal path", prefix)
	}
	return nil
}

// ServeHTTP routes requests under the prefix to their app and passes every
// other request to next.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	// A browser files cookies, redirects and service workers by the raw
	// path, where %2F is data; routing reads it decoded and cleaned. A path
	// the two readings put in different places is refused before anything
	// else, so that no URL the browser scopes to one place reaches another.
	pl, err := rewrite.Locate(r.URL.EscapedPath(), h.Prefix)
	if err != nil {
		return h.deny(w, r, http.StatusBadRequest, nil, err)
	}
	if !pl.Under {
		return next.ServeHTTP(w, r)
	}
	switch pl.Name {
	case bridgePath:
		return h.serveBridge(w, r, strings.TrimPrefix(pl.Rest, "/"))
	case apiPath:
		return h.serveAPI(w, r, strings.TrimPrefix(pl.Rest, "/"))
	}
	if pl.Rest == "" && pl.Name != "" {
		// Whether the app exists or not: the answer tells nothing.
		target := h.Prefix + "/" + pl.Name + "/"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusPermanentRedirect)
		return nil
	}

	app := h.reg.Load().byID[pl.Name]
	if app != nil && app.backend != nil {
		for !app.backend.acquire() {
			// Stopped since this request loaded the registry: a newer
			// one holds the app's live backend, or none.
			if app = h.reg.Load().byID[pl.Name]; app == nil || app.backend == nil {
				break
			}
		}
		if app != nil && app.backend != nil {
			defer app.backend.release()
		}
	}
	// The session first: to a client without one, an app that exists
	// and one that does not answer alike, so app ids cannot be listed.
	claims, err := h.authenticate(r)
	if err != nil {
		return h.deny(w, r, authStatus(err), app, err)
	}
	if app == nil || app.Disabled {
		return h.deny(w, r, http.StatusNotFound, app, errors.New("no such app"))
	}
	if err := app.allows(claims); err != nil {
		return h.deny(w, r, http.StatusForbidden, app, err)
	}
	if app.origin != OriginOff && h.crossOrigin.Check(r) != nil {
		return h.deny(w, r, http.StatusForbidden, app, errCrossOrigin)
	}

	upstreamPath, err := url.PathUnescape(pl.Rest)
	if err != nil {
		return h.deny(w, r, http.StatusBadRequest, app, err)
	}
	r, err = h.prepareRequest(r, app, pl.Rest, upstreamPath, claims)
	if err != nil {
		return err
	}
	rw := newResponseWriter(w, r, &h.site, app, pl.Rest)
	rw.askForBody()
	defer func() {
		if cerr := rw.close(); cerr != nil {
			h.logger.Error("finishing app response", zap.String("app", app.ID), zap.Error(cerr))
		}
	}()
	err = app.backend.handler.ServeHTTP(rw, r, appNotFound)
	if err == nil {
		// A backend that wrote nothing still answered; its headers must go
		// through the same rewriting as any other response.
		rw.ensureHeader()
	}
	return err
}

// bridgePath is the name under the prefix where the bridge scripts are
// served; app ids cannot begin with "_".
const bridgePath = "_bridge"

// serveBridge serves the bridge scripts. They hold no secret and need no
// session: host.js is loaded by the Helpdesk page itself.
func (h *Handler) serveBridge(w http.ResponseWriter, r *http.Request, name string) error {
	switch name {
	case bridgejs.Client:
		h.client.ServeHTTP(w, r)
	case bridgejs.Host:
		h.host.ServeHTTP(w, r)
	default:
		return h.deny(w, r, http.StatusNotFound, nil, errors.New("no such bridge script"))
	}
	return nil
}

// authenticate reads and verifies the request's session token.
func (h *Handler) authenticate(r *http.Request) (session.Claims, error) {
	token, err := h.source.Token(r)
	if err != nil {
		return session.Claims{}, err
	}
	return h.verifier.Verify(token, now())
}

// authStatus is the status for a failed authentication: 401, or 503 when the
// keys to verify with could not be had (the identity provider is down, not
// the token wrong).
func authStatus(err error) int {
	if errors.Is(err, session.ErrKeysUnavailable) {
		return http.StatusServiceUnavailable
	}
	return http.StatusUnauthorized
}

// prepareRequest hardens the request before it reaches the backend: the
// Helpdesk's credentials and any client-sent identity are removed (and
// their names from Connection, which could make a proxy drop what the
// gateway sets), every trailer is dropped, the verified identity is set in
// placeholders and in headers, and the prefix is stripped: the backend sees
// the path that follows the app's, rawPath escaped and upstreamPath
// decoded. A backend whose transport is an appTransport gets the identity
// headers from it, as the request leaves for the upstream; any other
// backend gets them in the request it is handed, which prepareRequest
// returns.
func (h *Handler) prepareRequest(r *http.Request, app *App, rawPath, upstreamPath string, claims session.Claims) (*http.Request, error) {
	h.source.Strip(r.Header, h.verifier.Signed)
	h.guardConnection(r.Header)
	r = dropTrailers(r)
	if app.IsolateCookies {
		rewrite.IsolateCookies(r.Header, app.cookiePrefix)
	}
	id := &identity{site: &h.site, app: app, claims: claims}
	if app.origin == OriginMap {
		id.origin = sameOrigin(r)
	}
	if h.identity.Assertion != identityOff {
		var err error
		if id.assertion, err = h.asserter.assertion(claims, app.ID, now()); err != nil {
			return r, caddyhttp.Error(http.StatusInternalServerError, fmt.Errorf("signing assertion: %w", err))
		}
	}
	if app.backend.identityInTransport {
		h.stripIdentity(r.Header)
		r = r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
	} else {
		id.set(r.Header)
	}
	// The path as the client escaped it: an encoded slash inside the
	// app's own path (RabbitMQ's vhost %2F, GitLab's group%2Fproject)
	// reaches the upstream as sent.
	if rawPath == upstreamPath {
		rawPath = "" // net/url's form of a path without escapes
	}
	r.URL.Path, r.URL.RawPath = upstreamPath, rawPath
	if app.backend.fastCGI {
		r = withOriginalURL(r)
	}
	r.Header.Set(forwardedPrefix, app.prefix)

	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		// One provider, not seven Set calls: the placeholders cost
		// nothing until a backend uses one.
		repl.Map(id.placeholder)
	}
	return r, nil
}

// withOriginalURL returns r with the original request of its context (from
// which Caddy's FastCGI transport takes REQUEST_URI, and placeholders such
// as {http.request.orig_uri} their value) given r's URL: without the
// prefix, like DOCUMENT_URI, SCRIPT_NAME and PATH_INFO, so that a PHP app
// sees the prefix only in X-Forwarded-Prefix, as an HTTP backend does.
func withOriginalURL(r *http.Request) *http.Request {
	orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request)
	if !ok {
		return r
	}
	u := *r.URL
	orig.URL = &u
	orig.RequestURI = u.RequestURI()
	return r.WithContext(context.WithValue(r.Context(), caddyhttp.OriginalRequestCtxKey, orig))
}

// placeholder returns the value of a {helpdesk.*} placeholder.
func (id *identity) placeholder(key string) (any, bool) {
	c, app := &id.claims, id.app
	switch key {
	case "helpdesk.user.id":
		return c.UserID, true
	case "helpdesk.user.name":
		return c.Name, true
	case "helpdesk.user.email":
		return c.Email, true
	case "helpdesk.user.role":
		return c.Role, true
	case "helpdesk.user.division_id":
		return c.Division, true
	case "helpdesk.app.id":
		return app.ID, true
	case "helpdesk.app.prefix":
		return app.prefix, true
	}
	return nil, false
}

// deny answers a request that may not reach an app. With error routes
// configured (handle_errors), it returns a caddyhttp.Error for them to
// render; otherwise it writes the default page itself. The reason is logged,
// never the token.
func (h *Handler) deny(w http.ResponseWriter, r *http.Request, status int, app *App, reason error) error {
	appID := ""
	if app != nil {
		appID = app.ID
	}
	level := zapcore.InfoLevel
	if status == http.StatusNotFound || errors.Is(reason, session.ErrNoToken) {
		level = zapcore.DebugLevel
	}
	if c := h.logger.Check(level, "request denied"); c != nil {
		c.Write(
			zap.Int("status", status),
			zap.String("app", appID),
			zap.String("path", r.URL.Path),
			zap.String("reason", reason.Error()),
		)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="helpdesk_apps"`)
	}
	if srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok &&
		srv.Errors != nil && len(srv.Errors.Routes) > 0 {
		return caddyhttp.Error(status, reason)
	}
	writeErrorPage(w, r, status, reason)
	return nil
}

// appNotFound ends the chain inside an app's backend: a backend that passes
// a request on (a file_server with pass_thru, say) must not fall through to
// the Helpdesk's own routes.
var appNotFound = caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
	return caddyhttp.Error(http.StatusNotFound, errors.New("not found in app"))
})

// now is the clock used to verify sessions; tests replace it.
var now = time.Now

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
