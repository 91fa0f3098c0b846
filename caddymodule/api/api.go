// Package api serves the gateway's API under <prefix>/_api/: the manifest
// of the apps a user may open, the user as the gateway sees them, and the
// key set that verifies the assertions backends receive. It reads the
// gateway through an API value, so it is tested with httptest alone.
package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/helpdeskapps/gateway/caddymodule/rewrite"
	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// Path is the name under the gateway's prefix where the API is served.
const Path = "_api"

// API serves the API of one gateway.
type API struct {
	// FrameAncestors are the origins that may frame the apps; the API
	// lets them call it with credentials (CORS).
	FrameAncestors []string
	// Authenticate verifies the request's session, with the status to
	// refuse it with when it fails.
	Authenticate func(http.ResponseWriter, *http.Request) (session.Claims, int, error)
	// Apps returns the enabled apps, in the manifest's order: favorites
	// first, then by order, then by name.
	Apps func() []App
	// JWKS is the key set that verifies assertions.
	JWKS func() []byte
	// CanManage reports whether the user may manage apps.
	CanManage func(session.Claims) bool
	// SettingsPath is the path of the settings page, and SettingsHost the
	// host that serves it ("": the request's).
	SettingsPath, SettingsHost string
	// Health reports whether the gateway can serve apps, and what it
	// knows of its state; it holds no secret.
	Health func(context.Context) (ok bool, report any)
	// Deny answers a request refused with status, for reason.
	Deny func(w http.ResponseWriter, r *http.Request, status int, reason error) error
}

// App is an app as the manifest lists it.
type App struct {
	ManifestApp
	// Host is the host the app is served on, "" when it is under the
	// prefix of the host that serves the manifest; Path its path, with its
	// trailing slash.
	Host, Path string
	// Allows reports whether the user may open the app.
	Allows func(session.Claims) error
}

// ManifestApp is one app in the manifest.
type ManifestApp struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Icon      string `json:"icon,omitempty"`
	Placement string `json:"placement"`
	Mode      string `json:"mode"`
	URL       string `json:"url"`
	Favorite  bool   `json:"favorite"`
	Order     int    `json:"order"`
}

// user is the user as `<prefix>/_api/me` reports it.
type user struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Email      string `json:"email"`
	Role       string `json:"role"`
	DivisionID string `json:"division_id"`
}

// ServeHTTP serves the endpoint name: jwks.json to anyone (backends fetch
// it to verify assertions), health to anyone (load balancers and
// monitoring ask it), apps and me to signed-in users.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request, name string) error {
	if !a.allowCORS(w, r) {
		return nil // a preflight, answered
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return a.Deny(w, r, http.StatusMethodNotAllowed, errors.New("method not allowed"))
	}
	if name == "jwks.json" {
		w.Header().Set("Cache-Control", "public, max-age=300")
		writeJSON(w, a.JWKS())
		return nil
	}
	if name == "health" {
		ok, report := a.Health(r.Context())
		body, err := json.Marshal(report)
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		writeJSON(w, body)
		return nil
	}
	if name != "apps" && name != "me" {
		return a.Deny(w, r, http.StatusNotFound, errors.New("no such API endpoint"))
	}
	claims, status, err := a.Authenticate(w, r)
	if err != nil {
		return a.Deny(w, r, status, err)
	}
	w.Header().Set("Cache-Control", "private, no-store")
	var body any
	if name == "me" {
		me := struct {
			User        user   `json:"user"`
			ExpiresAt   int64  `json:"expires_at"`
			CanManage   bool   `json:"can_manage"`
			SettingsURL string `json:"settings_url,omitempty"`
		}{User: user{claims.UserID, claims.Name, claims.Email, claims.Role, claims.Division}, ExpiresAt: claims.Expiry.Unix(),
			CanManage: a.CanManage != nil && a.CanManage(claims)}
		if me.CanManage {
			host := cmp.Or(a.SettingsHost, r.Host)
			me.SettingsURL = RequestScheme(r) + "://" + host + a.SettingsPath
		}
		body = me
	} else {
		body = struct {
			Apps []ManifestApp `json:"apps"`
		}{a.Manifest(r, claims)}
	}
	out, err := json.Marshal(body)
	if err != nil {
		return err
	}
	writeJSON(w, out)
	return nil
}

// Manifest lists the enabled apps the user may open, in the manifest's
// order; `?placement=` keeps one placement. URLs are absolute, so a
// Helpdesk on another origin can use them as they are.
func (a *API) Manifest(r *http.Request, claims session.Claims) []ManifestApp {
	placement := r.URL.Query().Get("placement")
	scheme := RequestScheme(r)
	origin := scheme + "://" + r.Host
	port := ""
	if _, p, err := net.SplitHostPort(r.Host); err == nil {
		port = ":" + p
	}
	listed := a.Apps()
	apps := make([]ManifestApp, 0, len(listed))
	for _, app := range listed {
		if placement != "" && app.Placement != placement || app.Allows(claims) != nil {
			continue
		}
		m := app.ManifestApp
		m.URL = origin + app.Path
		if app.Host != "" {
			// On the port the manifest was asked for: the apps' hosts
			// are served where the gateway is.
			m.URL = scheme + "://" + app.Host + port + app.Path
		}
		apps = append(apps, m)
	}
	return apps
}

// RequestScheme is the scheme the client used: https over TLS, or as a
// trusted proxy in front (the server's trusted_proxies) tells in its last
// X-Forwarded-Proto, as Caddy's reverse_proxy reads it.
func RequestScheme(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool); trusted {
		if v := r.Header.Values("X-Forwarded-Proto"); len(v) > 0 {
			if proto := strings.ToLower(strings.TrimSpace(v[len(v)-1])); proto == "http" || proto == "https" {
				scheme = proto
			}
		}
	}
	return scheme
}

// allowCORS lets a Helpdesk on another origin (an origin in frame_ancestors)
// call the API with its credentials. It answers a preflight itself and then
// reports false.
func (a *API) allowCORS(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	hdr := w.Header()
	hdr.Add("Vary", "Origin")
	if origin == "" || !slices.ContainsFunc(a.FrameAncestors, func(src string) bool { return rewrite.AncestorAllows(src, origin) }) {
		return true
	}
	hdr.Set("Access-Control-Allow-Origin", origin)
	hdr.Set("Access-Control-Allow-Credentials", "true")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return true
	}
	hdr.Set("Access-Control-Allow-Methods", "GET, HEAD")
	hdr.Set("Access-Control-Allow-Headers", "Authorization")
	hdr.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return false
}

// writeJSON writes a JSON body.
func writeJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(body)
}
