// Package caddymodule implements the http.handlers.helpdesk_apps Caddy module:
// it serves registered web tools under a Helpdesk path, frameable by the
// Helpdesk only, and open only to the users their access rules allow.
package caddymodule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/helpdeskapps/gateway/adminui"
	"github.com/helpdeskapps/gateway/bridgejs"
	"github.com/helpdeskapps/gateway/caddymodule/api"
	"github.com/helpdeskapps/gateway/caddymodule/assertion"
	"github.com/helpdeskapps/gateway/caddymodule/rewrite"
	"github.com/helpdeskapps/gateway/caddymodule/session"
	"github.com/helpdeskapps/gateway/caddymodule/signin"
)

func init() {
	caddy.RegisterModule(new(Handler))
}

// Handler serves Helpdesk Apps. Every request whose path is under Prefix
// belongs to it (a path that a browser and the gateway read as leading to
// different places is refused); every other request goes to the next
// handler untouched. A request for `<prefix>/<id>/…` is checked against the app's
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

	// Hosts gives every app a host of its own, the whole of its origin:
	// `*.apps.example.com` serves the app `crm` on `crm.apps.example.com`,
	// apps created at runtime included, with no reload. The apps own every
	// host of the pattern: a request for one no app is mounted on is
	// refused (404). An app with `mount prefix` stays under the prefix.
	// Off when absent: apps are served under the prefix, but for those
	// that name a host.
	Hosts string `json:"hosts,omitempty"`

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

	// Manage lets the Helpdesk's admins and owners manage apps at runtime,
	// shared through Caddy's storage. Off when absent.
	Manage *ManageConfig `json:"manage,omitempty"`

	// Console turns on the developer console, at `<prefix>/_console/`.
	// Off when absent.
	Console *ConsoleConfig `json:"console,omitempty"`

	// reg is the current snapshot of the compiled apps; applying
	// serialises the making of the next one.
	reg      atomic.Pointer[registry]
	applying sync.Mutex
	// closed is set, under applying, once Cleanup has run.
	closed bool
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
	asserter    *assertion.Signer
	api         *api.API
	verifier    *session.Verifier
	// hostsDomain is the domain of Hosts, with its leading dot.
	hostsDomain string
	// framers are the origins outside frame_ancestors already warned of,
	// hints the session mistakes.
	framers framers
	hints   hints
	// signin is the gateway's own sign-in; nil without Session.OIDC.
	signin *signin.Service
	// console is the developer console; nil without Console.
	console *console
	// pages are the settings page and the console; nil without either.
	pages *adminui.Pages
	// manager runs the runtime management; nil without Manage.
	// stopPolling ends the poll, which polling waits for.
	manager     *manager
	stopPolling context.CancelFunc
	polling     sync.WaitGroup
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
	// client is the shim, served at clientURL under the prefix and at
	// hostClientURL on the apps' own hosts.
	client                   *bridgejs.Script
	clientURL, hostClientURL string
	// sessionCookie is the name of the Helpdesk's session cookie;
	// reservedCookies are the names no app may set: it, and the cookies
	// of the gateway's own sign-in.
	sessionCookie   string
	reservedCookies []string
	// identity holds the resolved header names; identityStrip the
	// normalised names of every header deleted from client requests.
	identity      IdentityHeaders
	identityStrip []string
	logger        *zap.Logger
	// metrics are the config's, shared by its handlers.
	metrics *metrics
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
	h.metrics = metricsOf(ctx)
	handlers.Store(h, struct{}{})
	if h.Prefix == "" {
		h.Prefix = "/apps"
	}
	if len(h.FrameAncestors) == 0 {
		h.FrameAncestors = []string{"'self'"}
	}
	h.prefix = h.Prefix
	h.ancestors = strings.Join(h.FrameAncestors, " ")
	if h.Hosts != "" {
		var err error
		if h.hostsDomain, err = validHostsPattern(h.Hosts); err != nil {
			return err
		}
	}
	h.crossOrigin = http.NewCrossOriginProtection()

	if h.Session == nil {
		return errors.New("session: required")
	}
	var err error
	h.source, h.verifier, err = h.Session.provision(ctx, h.logger, h.metrics)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	h.sessionCookie = h.source.Cookie
	if h.sessionCookie != "" {
		h.reservedCookies = append(h.reservedCookies, h.sessionCookie)
	}
	if h.Session.OIDC != nil {
		h.reservedCookies = append(h.reservedCookies, signin.SessionCookie, signin.StateCookie, mismatchCookie)
	}

	var ih IdentityHeaders
	if h.IdentityHeaders != nil {
		ih = *h.IdentityHeaders
	}
	if h.identity, h.identityStrip, err = ih.resolve(); err != nil {
		return err
	}
	scope := h.Prefix + "\x00" + h.Session.scope
	leeway := session.DefaultLeeway
	if h.verifier != nil {
		leeway = h.verifier.Leeway()
	}
	if h.asserter, err = assertion.New(ctx, h.AssertionKey, scope, time.Duration(h.AssertionTTL), leeway); err != nil {
		return err
	}
	h.asserter.OnAssertion = h.metrics.assertion
	if h.Session.OIDC != nil {
		if h.Session.OIDC.RedirectURL == "" && (h.Hosts != "" || slices.ContainsFunc(h.Apps, func(a *AppConfig) bool { return a != nil && a.Host != "" })) {
			return errors.New("session: oidc: redirect_url: required when apps have hosts of their own: the sign-in's callback must be one URL on the gateway's host, such as https://apps.example.com" + h.Prefix + "/_auth/callback")
		}
		mapping, _ := h.Session.mapping()
		sum := sha256.Sum256([]byte(scope))
		folder := "helpdesk_apps/signin/" + hex.EncodeToString(sum[:8]) + "/"
		if h.signin, err = h.Session.OIDC.provision(ctx, mapping, folder, h.metrics.signin); err != nil {
			return fmt.Errorf("session: %w", err)
		}
	}

	scripts, err := bridgejs.Load()
	if err != nil {
		return fmt.Errorf("loading bridge scripts: %w", err)
	}
	h.client, h.host = scripts[bridgejs.Client], scripts[bridgejs.Host]
	h.clientURL = h.Prefix + "/" + bridgePath + "/" + bridgejs.Client + "?v=" + h.client.Version
	h.hostClientURL = hostPath + bridgejs.Client + "?v=" + h.client.Version

	h.api = &api.API{
		FrameAncestors: h.FrameAncestors,
		Authenticate: func(w http.ResponseWriter, r *http.Request) (session.Claims, int, error) {
			c, err := h.authenticate(w, r)
			return c, authStatus(err), err
		},
		Apps: func() []api.App { return h.reg.Load().manifest },
		JWKS: h.asserter.JWKS,
		CanManage: func(c session.Claims) bool {
			return h.manager != nil && h.manager.mayManage(c)
		},
		SettingsPath: h.Prefix + "/" + settingsPath + "/",
		Health:       h.health,
		Deny: func(w http.ResponseWriter, r *http.Request, status int, reason error) error {
			return h.deny(w, r, status, nil, reason)
		},
	}

	if h.Console != nil {
		if h.console, err = h.Console.provision(); err != nil {
			return fmt.Errorf("console: %w", err)
		}
	}
	if h.Console != nil || h.Manage != nil || h.signin != nil {
		if h.pages, err = adminui.Load(); err != nil {
			return fmt.Errorf("loading the settings and console pages: %w", err)
		}
	}

	// Not cancelled: a child's cancel runs its parent's cleanup functions,
	// and Cleanup stops each backend itself.
	h.backends, _ = caddy.NewContext(ctx)
	for _, app := range h.Apps {
		if app != nil && app.Upstream != "" {
			return fmt.Errorf("app %q: upstream: only apps created through the management API have one; name a backend (`to <upstream>`)", app.ID)
		}
	}
	if h.Manage == nil {
		reg, err := h.compileRegistry(h.Apps, nil, 1)
		if err != nil {
			return err
		}
		h.metrics.track(reg)
		h.reg.Store(reg)
		h.metrics.revision.WithLabelValues(h.Prefix).Set(float64(reg.revision))
		return nil
	}
	if h.manager, err = h.Manage.provision(ctx, h.Prefix, h.Session.Issuer, h.logger); err != nil {
		return fmt.Errorf("manage: %w", err)
	}
	h.api.SettingsHost = h.manager.host
	doc, err := h.manager.loadInitial(ctx)
	if err != nil {
		return fmt.Errorf("manage: %w", err)
	}
	reg, err := h.compileDocument(doc, nil)
	if err != nil {
		return fmt.Errorf("manage: revision %d: %w", doc.Revision, err)
	}
	for id, problem := range reg.problems {
		h.logger.Warn("app not served as stored", zap.String("app", id), zap.String("problem", problem))
	}
	h.metrics.track(reg)
	h.reg.Store(reg)
	h.metrics.revision.WithLabelValues(h.Prefix).Set(float64(reg.revision))
	pollCtx, stop := context.WithCancel(ctx)
	h.stopPolling = stop
	h.polling.Go(func() { h.run(pollCtx) })
	return nil
}

// Cleanup stops the poll of the shared registry, waiting for it to end,
// and every backend the handler loaded; Permission no longer allows its
// hosts.
func (h *Handler) Cleanup() error {
	handlers.Delete(h)
	if h.stopPolling != nil {
		h.stopPolling()
		h.polling.Wait()
	}
	h.applying.Lock()
	defer h.applying.Unlock()
	h.closed = true
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

// ServeHTTP routes requests for an app's host, and those under the prefix,
// to their app, and passes every other request to next.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.hostsDomain != "" || len(h.reg.Load().byHost) > 0 {
		if host := requestHost(r); h.hostOwned(host) || h.reg.Load().byHost[host] != nil {
			return h.serveHost(w, r, host)
		}
	}
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
	case api.Path:
		name := strings.TrimPrefix(pl.Rest, "/")
		if endpoint, ok := strings.CutPrefix(name, "console/"); ok && h.console != nil {
			return h.serveConsoleAPI(w, r, endpoint)
		}
		if endpoint, ok := strings.CutPrefix(name, "admin/"); ok && h.manager != nil {
			if !h.manager.managesHere(r) {
				return h.deny(w, r, http.StatusNotFound, nil, errors.New("the management API is served on manage.host only"))
			}
			return h.serveAdmin(w, r, endpoint)
		}
		return h.api.ServeHTTP(w, r, name)
	case authPath:
		return h.serveAuth(w, r, strings.TrimPrefix(pl.Rest, "/"), false)
	case settingsPath:
		return h.serveSettings(w, r, pl.Rest)
	case consolePath:
		return h.serveConsole(w, r, pl.Rest)
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

	if h.manager.hostsNoApps(r) {
		h.checkFramer(r)
		return h.deny(w, r, http.StatusNotFound, nil, errors.New("no app is served on the management host"))
	}
	return h.serveApp(w, r, func(reg *registry) *App {
		if app := reg.byID[pl.Name]; app != nil && app.host == "" {
			return app
		}
		return nil
	}, pl.Rest)
}

// serveHost serves a request for host, an app's own host or one of the
// hosts pattern: the shim at its reserved path, the app everywhere else.
// The app has the whole path; only the reserved one is the gateway's.
func (h *Handler) serveHost(w http.ResponseWriter, r *http.Request, host string) error {
	rawPath := r.URL.EscapedPath()
	if name, ok := strings.CutPrefix(rawPath, hostPath); ok {
		switch name {
		case bridgejs.Client:
			h.client.ServeHTTP(w, r)
			return nil
		case "session", "check", "signout":
			return h.serveAuth(w, r, name, true)
		}
		return h.deny(w, r, http.StatusNotFound, nil, errors.New("no such bridge script"))
	}
	return h.serveApp(w, r, func(reg *registry) *App { return reg.byHost[host] }, rawPath)
}

// serveApp serves a request for the app that find returns from the
// current registry (nil: no such app), whose path in the app is rawPath,
// escaped as the client sent it: admitted, prepared for the app's backend
// and served by it, its response shaped on the way out.
func (h *Handler) serveApp(w http.ResponseWriter, r *http.Request, find func(*registry) *App, rawPath string) error {
	h.checkFramer(r)
	app := h.acquire(find)
	if app != nil && app.backend != nil {
		defer app.backend.release()
	}
	claims, status, err := h.admit(w, r, app)
	if err != nil {
		h.metrics.request(app, status, err, false)
		if claims.UserID == "" {
			// Without a session, an app that exists and one that does
			// not are refused alike, and the refusal names none.
			h.hintSession(r, err)
			if status == http.StatusUnauthorized && h.wantsSignIn(r) {
				h.logger.Debug("sign-in page", zap.String("path", r.URL.Path), zap.String("reason", err.Error()))
				h.serveSignIn(w, r, app)
				return nil
			}
			return h.deny(w, r, status, nil, err)
		}
		return h.deny(w, r, status, app, err)
	}
	tr := h.console.traceFor(r, app, claims, isDocumentRequest(r))
	if tr != nil {
		defer h.console.record(tr)
	}
	if r, err = h.prepare(r, app, rawPath, claims); err != nil {
		h.metrics.request(app, http.StatusBadRequest, err, false)
		return err
	}
	rw := newResponseWriter(w, r, &h.site, app, rawPath)
	rw.trace = tr
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
		h.metrics.request(app, rw.status, nil, true)
		return nil
	}
	var he caddyhttp.HandlerError
	if rw.wroteHeader {
		h.metrics.request(app, rw.status, nil, true)
	} else if errors.As(err, &he) {
		h.metrics.request(app, he.StatusCode, nil, true)
	} else {
		h.metrics.request(app, http.StatusInternalServerError, nil, true)
	}
	if tr != nil && !rw.wroteHeader {
		tr.Status = http.StatusInternalServerError
		if errors.As(err, &he) {
			tr.Status = he.StatusCode
		}
		tr.Notes = append(tr.Notes, "the backend answered nothing: "+err.Error())
	}
	if !rw.wroteHeader && errors.As(err, &he) {
		switch he.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable:
			// The page names the app, and tells the Helpdesk.
			return h.deny(w, r, he.StatusCode, app, fmt.Errorf("%w: %w", errAppUnreachable, err))
		case http.StatusGatewayTimeout:
			return h.deny(w, r, he.StatusCode, app, err)
		}
	}
	return err
}

// bridgePath is the name under the prefix where the bridge scripts are
// served, settingsPath where the settings page is; app ids cannot begin
// with "_".
const (
	bridgePath   = "_bridge"
	settingsPath = "_admin"
	consolePath  = "_console"
)

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
	writeErrorPage(w, r, errorPage{app: app, site: &h.site}, status, reason)
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
