package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// TestManifestSchemeBehindATrustedProxy checks the scheme of manifest
// URLs: a trusted proxy that ends TLS says https in X-Forwarded-Proto; an
// untrusted client cannot say so.
func TestManifestSchemeBehindATrustedProxy(t *testing.T) {
	t.Parallel()
	a := &API{Apps: func() []App {
		return []App{{ManifestApp: ManifestApp{ID: "crm"}, Path: "/apps/crm/", Allows: func(session.Claims) error { return nil }}}
	}}
	for _, c := range []struct {
		trusted bool
		proto   []string
		want    string
	}{
		{false, nil, "http://gw.test/apps/crm/"},
		{false, []string{"https"}, "http://gw.test/apps/crm/"},
		{true, []string{"https"}, "https://gw.test/apps/crm/"},
		{true, []string{"http", "HTTPS"}, "https://gw.test/apps/crm/"},
		{true, []string{"gopher"}, "http://gw.test/apps/crm/"},
	} {
		r := httptest.NewRequest(http.MethodGet, "http://gw.test/apps/_api/apps", nil)
		r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{caddyhttp.TrustedProxyVarKey: c.trusted}))
		r.Header["X-Forwarded-Proto"] = c.proto
		apps := a.Manifest(r, session.Claims{UserID: "u-1"})
		if len(apps) != 1 || apps[0].URL != c.want {
			t.Errorf("trusted %v, X-Forwarded-Proto %q: %+v; want URL %s", c.trusted, c.proto, apps, c.want)
		}
	}
}

// testAPI is an API over two apps, for a user whose session the
// X-Test-Role header gives (none: 401).
func testAPI() *API {
	agentsOnly := func(c session.Claims) error {
		if c.Role != "agent" {
			return errors.New("agents only")
		}
		return nil
	}
	return &API{
		FrameAncestors: []string{"https://helpdesk.test"},
		Authenticate: func(_ http.ResponseWriter, r *http.Request) (session.Claims, int, error) {
			role := r.Header.Get("X-Test-Role")
			if role == "" {
				return session.Claims{}, http.StatusUnauthorized, session.ErrNoToken
			}
			return session.Claims{UserID: "u-1", Role: role, Division: "3", Expiry: time.Unix(1_900_000_000, 0)}, 0, nil
		},
		Apps: func() []App {
			return []App{
				{ManifestApp: ManifestApp{ID: "crm", Name: "CRM", Placement: "ticket_sidebar", Mode: "popup", Favorite: true}, Path: "/apps/crm/", Allows: agentsOnly},
				{ManifestApp: ManifestApp{ID: "wiki", Name: "Wiki", Placement: "main_menu", Mode: "embed"}, Path: "/apps/wiki/", Allows: func(session.Claims) error { return nil }},
			}
		},
		JWKS:         func() []byte { return []byte(`{"keys":[]}`) },
		CanManage:    func(c session.Claims) bool { return c.Role == "admin" },
		SettingsPath: "/apps/_admin/",
		SettingsHost: "admin.helpdesk.test",
		Deny: func(w http.ResponseWriter, r *http.Request, status int, reason error) error {
			http.Error(w, reason.Error(), status)
			return nil
		},
	}
}

func TestAPIEndpoints(t *testing.T) {
	t.Parallel()
	a := testAPI()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.ServeHTTP(w, r, strings.TrimPrefix(r.URL.Path, "/")); err != nil {
			t.Error(err)
		}
	}))
	t.Cleanup(srv.Close)
	do := func(method, path string, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for _, c := range []struct {
		name, method, path string
		hdr                []string
		status             int
		body               string
	}{
		{"the key set, to anyone", "GET", "/jwks.json", nil, 200, `{"keys":[]}`},
		{"the manifest needs a session", "GET", "/apps", nil, 401, "no session token"},
		{"an agent's manifest", "GET", "/apps", []string{"X-Test-Role", "agent"}, 200,
			`{"apps":[{"id":"crm","name":"CRM","placement":"ticket_sidebar","mode":"popup","url":"` + srv.URL + `/apps/crm/","favorite":true,"order":0},` +
				`{"id":"wiki","name":"Wiki","placement":"main_menu","mode":"embed","url":"` + srv.URL + `/apps/wiki/","favorite":false,"order":0}]}`},
		{"an admin's manifest lacks what admins may not open", "GET", "/apps", []string{"X-Test-Role", "admin"}, 200,
			`{"apps":[{"id":"wiki","name":"Wiki","placement":"main_menu","mode":"embed","url":"` + srv.URL + `/apps/wiki/","favorite":false,"order":0}]}`},
		{"one placement", "GET", "/apps?placement=ticket_sidebar", []string{"X-Test-Role", "agent"}, 200,
			`{"apps":[{"id":"crm","name":"CRM","placement":"ticket_sidebar","mode":"popup","url":"` + srv.URL + `/apps/crm/","favorite":true,"order":0}]}`},
		{"me", "GET", "/me", []string{"X-Test-Role", "agent"}, 200,
			`{"user":{"id":"u-1","name":"","email":"","role":"agent","division_id":"3"},"expires_at":1900000000,"can_manage":false}`},
		{"an admin's me", "GET", "/me", []string{"X-Test-Role", "admin"}, 200,
			`{"user":{"id":"u-1","name":"","email":"","role":"admin","division_id":"3"},"expires_at":1900000000,"can_manage":true,"settings_url":"http://admin.helpdesk.test/apps/_admin/"}`},
		{"another endpoint", "GET", "/nope", nil, 404, "no such API endpoint"},
		{"another method", "POST", "/apps", []string{"X-Test-Role", "agent"}, 405, "method not allowed"},
	} {
		resp, body := do(c.method, c.path, c.hdr...)
		if resp.StatusCode != c.status || strings.TrimSpace(body) != c.body {
			t.Errorf("%s: %d %q; want %d %q", c.name, resp.StatusCode, body, c.status, c.body)
		}
	}

	// CORS: the Helpdesk's origin may call with credentials; others get no
	// grant.
	resp, _ := do("OPTIONS", "/apps", "Origin", "https://helpdesk.test", "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://helpdesk.test" || resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("the Helpdesk's preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = do("GET", "/apps", "Origin", "https://evil.example", "X-Test-Role", "agent")
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("another origin was granted CORS: %q", got)
	}
}
