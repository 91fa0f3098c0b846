package caddymodule

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// stubBackend stands in for an app's backend in unit tests: it records the
// request it is handed and answers with a small JSON body.
type stubBackend struct {
	last *http.Request
}

func (s *stubBackend) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	s.last = r
	w.Header().Set("Content-Type", "application/json")
	_, err := io.WriteString(w, `{"items":[{"id":1234,"name":"example"}]}`)
	return err
}

// newUnitHandler provisions a Handler outside Caddy, with the test secret,
// an assertion key file and apps, each served by backend: request and
// response shaping can be tested, and measured, without booting Caddy.
func newUnitHandler(tb testing.TB, backend caddyhttp.MiddlewareHandler, apps ...*AppConfig) *Handler {
	tb.Helper()
	h := &Handler{
		FrameAncestors: []string{"https://helpdesk.test"},
		Session:        &SessionConfig{Cookie: "hd_session", HMACSecret: testSecret, Issuer: "https://helpdesk.test", Audience: "helpdesk-apps"},
		AssertionKey:   assertionKeyFile(tb),
		Apps:           apps,
	}
	for _, a := range apps {
		a.BackendRaw = []byte(`{"handler":"static_response"}`) // replaced by backend
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	tb.Cleanup(cancel)
	if err := h.Provision(ctx); err != nil {
		tb.Fatal(err)
	}
	h.logger = zap.NewNop()
	for _, a := range h.reg.Load().byID {
		a.backend.handler = backend
	}
	return h
}

// liveBackend is a backend for a test's hand-made App, serving with h.
func liveBackend(h caddyhttp.MiddlewareHandler) *backend {
	b := &backend{handler: h, cancel: func() {}}
	b.refs.Store(1)
	return b
}

// unitNext is the handler after the gateway in unit tests.
var unitNext = caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error {
	_, err := io.WriteString(w, "next")
	return err
})

func TestUnitRoutingAndAdmission(t *testing.T) {
	t.Parallel()
	stub := new(stubBackend)
	h := newUnitHandler(t, stub, &AppConfig{ID: "open"}, &AppConfig{ID: "agents", Roles: []string{"agent"}}, &AppConfig{ID: "admins", Roles: []string{"admin"}})
	tok := token(t, agent("agent", 3))
	for _, c := range []struct {
		target, cookie string
		status         int
		body           string
	}{
		{"/helpdesk", "", 200, "next"},
		{"/apps/open/x", "", 401, ""},
		{"/apps/open/x", tok, 200, `{"items"`},
		{"/apps/agents/x", tok, 200, `{"items"`},
		{"/apps/admins/x", tok, 403, ""},
		{"/apps/nope/x", tok, 404, ""},
		{"/apps/open%2f..%2fadmins/x", tok, 400, ""},
		{"/apps/open", "", 308, ""},
	} {
		r := httptest.NewRequest(http.MethodGet, c.target, nil)
		if c.cookie != "" {
			r.AddCookie(&http.Cookie{Name: "hd_session", Value: c.cookie})
		}
		r.Header.Set("X-Helpdesk-User-Role", "admin") // spoofed
		w := httptest.NewRecorder()
		stub.last = nil
		if err := h.ServeHTTP(w, r, unitNext); err != nil {
			t.Fatalf("%s: %v", c.target, err)
		}
		if w.Code != c.status || !strings.HasPrefix(w.Body.String(), c.body) {
			t.Errorf("%s: %d %q; want %d %q", c.target, w.Code, w.Body.String(), c.status, c.body)
		}
		if reached := stub.last != nil; reached != (c.status == 200 && c.body != "next") {
			t.Errorf("%s: backend reached = %v", c.target, reached)
		}
		if stub.last != nil {
			if got := stub.last.Header.Get("X-Helpdesk-User-Role"); got != "agent" {
				t.Errorf("%s: the backend got role %q; want the verified agent", c.target, got)
			}
			if stub.last.URL.Path != "/x" || stub.last.Header.Get("Cookie") != "" {
				t.Errorf("%s: the backend got path %q, cookie %q", c.target, stub.last.URL.Path, stub.last.Header.Get("Cookie"))
			}
			if got := w.Header().Get("Content-Security-Policy"); got != "frame-ancestors https://helpdesk.test" {
				t.Errorf("%s: policy %q", c.target, got)
			}
		}
	}
}

// BenchmarkServeHTTP measures what the gateway does for an allowed app
// request, from routing to the response headers, with a stub backend and
// without sockets: route, session (a cached token), access, request
// hardening and identity (the assertion is cached too), response shaping.
func BenchmarkServeHTTP(b *testing.B) {
	h := newUnitHandler(b, new(stubBackend), &AppConfig{ID: "bench"})
	tok := token(b, agent("agent", 1))
	r := httptest.NewRequest(http.MethodGet, "/apps/bench/api/items?page=2", nil)
	r.Header.Set("Accept", "application/json")
	r.AddCookie(&http.Cookie{Name: "hd_session", Value: tok})
	w := httptest.NewRecorder()
	if err := h.ServeHTTP(w, r.Clone(r.Context()), unitNext); err != nil || w.Code != 200 || !strings.HasPrefix(w.Body.String(), `{"items"`) {
		b.Fatalf("%d %v %q", w.Code, err, w.Body.String())
	}
	// ServeHTTP changes the request it is given, so each run gets a copy;
	// copy alone is what that costs, to subtract.
	b.Run("copy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := r.Clone(r.Context())
			_ = discardWriter{header: make(http.Header, 8)}
			_ = req
		}
	})
	b.Run("serve", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := r.Clone(r.Context())
			w := discardWriter{header: make(http.Header, 8)}
			if err := h.ServeHTTP(w, req, unitNext); err != nil || w.header.Get("Content-Type") != "application/json" {
				b.Fatalf("not served by the backend: %v %v", err, w.header)
			}
		}
	})
}

// discardWriter is a ResponseWriter that keeps nothing but its header map.
type discardWriter struct{ header http.Header }

func (d discardWriter) Header() http.Header         { return d.header }
func (d discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d discardWriter) WriteHeader(int)             {}

// After Cleanup, whose backends are stopped, a request gets an answer:
// it must not wait for a live backend that will never come.
func TestUnitRequestsAfterCleanupDoNotSpin(t *testing.T) {
	h := newUnitHandler(t, new(stubBackend), &AppConfig{ID: "open"})
	if err := h.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if err := h.apply([]*AppConfig{{ID: "open", BackendRaw: []byte(`{"handler":"static_response"}`)}}); err == nil {
		t.Error("apply after Cleanup succeeded")
	}
	r := httptest.NewRequest(http.MethodGet, "/apps/open/x", nil)
	r.AddCookie(&http.Cookie{Name: "hd_session", Value: token(t, agent("agent", 3))})
	w := httptest.NewRecorder()
	done := make(chan error, 1)
	go func() { done <- h.ServeHTTP(w, r, unitNext) }()
	select {
	case err := <-done:
		if err != nil || w.Code != http.StatusNotFound {
			t.Errorf("after Cleanup: %d, %v; want 404", w.Code, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a request after Cleanup did not return")
	}
}
