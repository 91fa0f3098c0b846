package caddymodule

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/helpdeskapps/gateway/caddymodule/rewrite"
	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// apiPath is the name under the prefix where the API is served.
const apiPath = "_api"

// manifestApp is one app in the manifest (DESIGN §5).
type manifestApp struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Icon      string `json:"icon,omitempty"`
	Placement string `json:"placement"`
	Mode      string `json:"mode"`
	URL       string `json:"url"`
	Favorite  bool   `json:"favorite"`
	Order     int    `json:"order"`
}

// meUser is the user as `<prefix>/_api/me` reports it.
type meUser struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Email      string `json:"email"`
	Role       string `json:"role"`
	DivisionID string `json:"division_id"`
}

// serveAPI serves the API: jwks.json to anyone (backends fetch it to verify
// assertions), apps and me to signed-in users.
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request, name string) error {
	if !h.allowCORS(w, r) {
		return nil // a preflight, answered
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return h.deny(w, r, http.StatusMethodNotAllowed, nil, errors.New("method not allowed"))
	}
	if name == "jwks.json" {
		w.Header().Set("Cache-Control", "public, max-age=300")
		writeJSON(w, h.asserter.JWKS())
		return nil
	}
	if name != "apps" && name != "me" {
		return h.deny(w, r, http.StatusNotFound, nil, errors.New("no such API endpoint"))
	}
	claims, err := h.authenticate(r)
	if err != nil {
		return h.deny(w, r, authStatus(err), nil, err)
	}
	w.Header().Set("Cache-Control", "private, no-store")
	var body any
	if name == "me" {
		body = struct {
			User      meUser `json:"user"`
			ExpiresAt int64  `json:"expires_at"`
		}{meUser{claims.UserID, claims.Name, claims.Email, claims.Role, claims.Division}, claims.Expiry.Unix()}
	} else {
		body = struct {
			Apps []manifestApp `json:"apps"`
		}{h.manifest(r, claims)}
	}
	out, err := json.Marshal(body)
	if err != nil {
		return err
	}
	writeJSON(w, out)
	return nil
}

// manifest lists the enabled apps the user may open, favorites first, then
// by order, then by name; `?placement=` keeps one placement. URLs are
// absolute, so a Helpdesk on another origin can use them as they are.
func (h *Handler) manifest(r *http.Request, claims session.Claims) []manifestApp {
	placement := r.URL.Query().Get("placement")
	scheme := requestScheme(r)
	listed := h.reg.Load().listed
	apps := make([]manifestApp, 0, len(listed))
	for _, a := range listed {
		if placement != "" && a.Placement != placement || a.allows(claims) != nil {
			continue
		}
		apps = append(apps, manifestApp{
			ID: a.ID, Name: a.Name, Icon: a.Icon, Placement: a.Placement, Mode: a.Mode,
			URL: scheme + "://" + r.Host + a.path, Favorite: a.Favorite, Order: a.Order,
		})
	}
	return apps
}

// requestScheme is the scheme the client used: https over TLS, or as a
// trusted proxy in front (the server's trusted_proxies) tells in its last
// X-Forwarded-Proto, as Caddy's reverse_proxy reads it.
func requestScheme(r *http.Request) string {
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
func (h *Handler) allowCORS(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	hdr := w.Header()
	hdr.Add("Vary", "Origin")
	if origin == "" || !slices.ContainsFunc(h.FrameAncestors, func(src string) bool { return rewrite.AncestorAllows(src, origin) }) {
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
