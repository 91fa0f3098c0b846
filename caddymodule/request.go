package caddymodule

// A request to an app, after routing: admitted (session, access, origin),
// then prepared for its backend (hardened, identity set, prefix stripped).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/helpdeskapps/gateway/caddymodule/rewrite"
	"github.com/helpdeskapps/gateway/caddymodule/session"
	"github.com/helpdeskapps/gateway/caddymodule/signin"
)

// admit decides whether the request may reach app (nil when there is no
// such app), and returns the verified claims, or the status to refuse it
// with and why. The session comes first: to a client without one, an app
// that exists and one that does not answer alike, so app ids cannot be
// listed. Then the app must exist and be enabled (404), the user's role
// and division must be allowed (403), and a state-changing request must
// come from the app's own origin unless the app says otherwise (403).
func (h *Handler) admit(w http.ResponseWriter, r *http.Request, app *App) (session.Claims, int, error) {
	claims, err := h.authenticate(w, r)
	switch {
	case err != nil:
		return claims, authStatus(err), err
	case app == nil || app.Disabled:
		return claims, http.StatusNotFound, errors.New("no such app")
	}
	if err := app.allows(claims); err != nil {
		return claims, http.StatusForbidden, err
	}
	if app.origin != OriginOff && h.crossOrigin.Check(r) != nil {
		return claims, http.StatusForbidden, errCrossOrigin
	}
	return claims, 0, nil
}

// authenticate reads and verifies the request's session: the Helpdesk's
// token when the request carries one, else the gateway's own session of
// OIDC, renewed (its cookie set again on w, when w is not nil) when it is
// due. Without either it reports session.ErrNoToken.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (session.Claims, error) {
	token, err := h.source.Token(r)
	switch {
	case err == nil:
		return h.verifier.Verify(token, now())
	case !errors.Is(err, session.ErrNoToken) || h.signin == nil:
		return session.Claims{}, err
	}
	if w == nil {
		w = discardHeaders{}
	}
	sess, err := h.signin.Session(w, r)
	switch {
	case errors.Is(err, signin.ErrNoSession):
		return session.Claims{}, session.ErrNoToken
	case err != nil:
		return session.Claims{}, err
	}
	return sess.Claims, nil
}

// discardHeaders is a ResponseWriter for what cannot answer: a session
// renewed through it is renewed again on the next request.
type discardHeaders struct{}

func (discardHeaders) Header() http.Header         { return http.Header{} }
func (discardHeaders) Write(p []byte) (int, error) { return len(p), nil }
func (discardHeaders) WriteHeader(int)             {}

// authStatus is the status for a failed authentication: 401, or 503 when the
// keys to verify with could not be had (the identity provider is down, not
// the token wrong).
func authStatus(err error) int {
	if errors.Is(err, session.ErrKeysUnavailable) {
		return http.StatusServiceUnavailable
	}
	return http.StatusUnauthorized
}

// prepare hardens the request before it reaches the backend: the
// Helpdesk's credentials and any client-sent identity are removed (and
// their names from Connection, which could make a proxy drop what the
// gateway sets), every trailer is dropped, the verified identity is set in
// placeholders and in headers, and the prefix is stripped: the backend sees
// the path that follows the app's, rawPath, as the client escaped it. A
// backend whose transport is an appTransport gets the identity headers from
// it, as the request leaves for the upstream; any other backend gets them
// in the request it is handed, which prepare returns.
func (h *Handler) prepare(r *http.Request, app *App, rawPath string, claims session.Claims) (*http.Request, error) {
	upstreamPath, err := url.PathUnescape(rawPath)
	if err != nil {
		return r, caddyhttp.Error(http.StatusBadRequest, err)
	}
	h.stripSession(r.Header)
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
		if id.assertion, err = h.asserter.Assertion(claims, app.ID, now()); err != nil {
			return r, caddyhttp.Error(http.StatusInternalServerError, fmt.Errorf("signing assertion: %w", err))
		}
	}
	id.fill()
	if app.backend.identityInTransport {
		h.stripIdentity(r.Header)
		caddyhttp.SetVar(r.Context(), identityVar, id)
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
	if app.host == "" {
		id.prefix[0] = app.prefix
		r.Header[forwardedPrefix] = id.prefix[:]
	} else {
		// The app has its host to itself: no prefix, and none a client
		// may claim.
		r.Header.Del(forwardedPrefix)
	}

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
	switch key {
	case "helpdesk.app.id":
		return id.app.ID, true
	case "helpdesk.app.prefix":
		return id.app.prefix, true
	}
	for _, field := range identityTable {
		if field.placeholder != "" && field.placeholder == key {
			return field.value(id), true
		}
	}
	return nil, false
}
