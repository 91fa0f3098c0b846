package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// silentBackend sets headers but writes nothing, as a handler may; the
// server would then send those headers as they are.
type silentBackend struct{}

func (silentBackend) ServeHTTP(w http.ResponseWriter, _ *http.Request, _ caddyhttp.Handler) error {
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Location", "/login")
	return nil
}

func TestRewritesHeadersOfABackendThatWritesNothing(t *testing.T) {
	v, err := session.NewHMAC([]byte(testSecret), "", session.Options{})
	if err != nil {
		t.Fatal(err)
	}
	app := &App{AppConfig: AppConfig{ID: "quiet"}, prefix: "/apps/quiet", path: "/apps/quiet/", backend: liveBackend(silentBackend{})}
	h := &Handler{
		Prefix:   "/apps",
		source:   session.Source{Cookie: "hd_session"},
		verifier: v,
		site: site{
			prefix:    "/apps",
			ancestors: "'self'",
			identity:  IdentityHeaders{UserID: identityOff, Name: identityOff, Email: identityOff, Role: identityOff, Division: identityOff, Assertion: identityOff},
			logger:    zap.NewNop(),
			metrics:   newMetrics(prometheus.NewRegistry()),
		},
	}
	h.reg.Store(&registry{byID: map[string]*App{"quiet": app}})
	c := agent("agent", 1)
	c.Issuer, c.Audience = "", nil
	req := httptest.NewRequest(http.MethodGet, "/apps/quiet/", nil)
	req.AddCookie(&http.Cookie{Name: "hd_session", Value: token(t, c)})
	rec := httptest.NewRecorder()
	if err := h.ServeHTTP(rec, req, nil); err != nil {
		t.Fatal(err)
	}
	if got := rec.Header().Get("X-Frame-Options"); got != "" {
		t.Errorf("X-Frame-Options = %q; want it removed", got)
	}
	if got := rec.Header().Get("Content-Security-Policy"); got != "frame-ancestors 'self'" {
		t.Errorf("Content-Security-Policy = %q", got)
	}
	if got := rec.Header().Get("Location"); got != "/apps/quiet/login" {
		t.Errorf("Location = %q; want /apps/quiet/login", got)
	}
}
