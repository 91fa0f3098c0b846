package session_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// testKeySet holds the asymmetric keys of the tests. They are generated
// when the tests run; no private key is kept in the repository.
type testKeySet struct {
	rsaA, rsaB *rsa.PrivateKey
	p256A      *ecdsa.PrivateKey
	p256B      *ecdsa.PrivateKey
	p384       *ecdsa.PrivateKey
	p521       *ecdsa.PrivateKey
	ed         ed25519.PrivateKey
	edB        ed25519.PrivateKey
}

// testKeys generates the keys of the tests once.
var testKeys = sync.OnceValue(func() testKeySet {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	var k testKeySet
	var err error
	k.rsaA, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsaB, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.p256A, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.p256B, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(err)
	k.p521, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	must(err)
	_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	_, k.edB, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	return k
})

// pkixPEM returns pub as a "PUBLIC KEY" PEM block.
func pkixPEM(tb testing.TB, pub any) []byte {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		tb.Fatalf("MarshalPKIXPublicKey: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// certPEM returns a self-signed certificate for key as a PEM block.
func certPEM(tb testing.TB, key crypto.Signer) []byte {
	tb.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "helpdesk session signer"},
		NotBefore:    testNow.Add(-time.Hour),
		NotAfter:     testNow.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		tb.Fatalf("CreateCertificate: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// pemBody returns the base64 lines of a PEM block, the text that must never
// appear in an error.
func pemBody(pemData []byte) string {
	lines := strings.Split(strings.TrimSpace(string(pemData)), "\n")
	return strings.Join(lines[1:len(lines)-1], "")
}

// newPublicKeyVerifier returns a verifier for the public key of priv with
// the issuer and audience checks on.
func newPublicKeyVerifier(tb testing.TB, priv crypto.Signer, algs ...string) *session.Verifier {
	tb.Helper()
	v, err := session.NewPublicKey(pkixPEM(tb, priv.Public()), algs, session.Options{Issuer: testIssuer, Audience: testAudience})
	if err != nil {
		tb.Fatalf("NewPublicKey: %v", err)
	}
	return v
}

// mintKID returns a JWT with claims and a "kid" header, signed by go-jose.
func mintKID(tb testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	tb.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		tb.Fatalf("NewSigner: %v", err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		tb.Fatalf("Serialize: %v", err)
	}
	return tok
}

// jwk returns the public JWK of priv with key id kid and use "sig".
func jwk(priv crypto.Signer, kid string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: priv.Public(), KeyID: kid, Use: "sig"}
}

// jwksServer is a local JWKS endpoint whose answer tests change while it
// runs. It records every request it receives.
type jwksServer struct {
	*httptest.Server
	// path is where the set is served; other paths answer 404.
	path string

	mu       sync.Mutex
	body     []byte
	status   int
	chunked  bool
	hang     bool
	requests []string // path and query of every request
	release  chan struct{}
}

// newJWKSServer starts a JWKS endpoint on 127.0.0.1 serving keys.
func newJWKSServer(tb testing.TB, keys ...jose.JSONWebKey) *jwksServer {
	tb.Helper()
	s := &jwksServer{path: "/.well-known/jwks.json", release: make(chan struct{})}
	s.serve(tb, keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	tb.Cleanup(s.Close)
	// Runs before Close, so that hanging handlers return.
	tb.Cleanup(func() { close(s.release) })
	return s
}

func (s *jwksServer) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.URL.RequestURI())
	body, status, chunked, hang := s.body, s.status, s.chunked, s.hang
	s.mu.Unlock()
	if r.URL.Path != s.path {
		http.NotFound(w, r)
		return
	}
	if hang {
		select {
		case <-r.Context().Done():
		case <-s.release:
		}
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.WriteHeader(status)
	if chunked {
		w.(http.Flusher).Flush()
	}
	w.Write(body)
}

// url returns the URL of the key set.
func (s *jwksServer) url() string { return s.URL + s.path }

// serve makes the server answer 200 with a set of keys.
func (s *jwksServer) serve(tb testing.TB, keys ...jose.JSONWebKey) {
	tb.Helper()
	s.serveBody(mustJSON(tb, jose.JSONWebKeySet{Keys: keys}))
}

// serveBody makes the server answer 200 with body.
func (s *jwksServer) serveBody(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.status, s.hang = body, http.StatusOK, false
}

// fail makes the server answer with status and a JSON error body.
func (s *jwksServer) fail(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.status, s.hang = []byte(`{"error":"unavailable"}`), status, false
}

// hangUp makes the server never answer, until the client gives up.
func (s *jwksServer) hangUp() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang = true
}

// setChunked makes the server send bodies without a Content-Length.
func (s *jwksServer) setChunked() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chunked = true
}

// fetches returns how many requests the server has received.
func (s *jwksServer) fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// requestURIs returns the path and query of every request received.
func (s *jwksServer) requestURIs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

// newFakeClock returns a clock set to t.
func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}

// Now returns the clock's time.
func (c *fakeClock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// Advance moves the clock forward by d.
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// logRecorder collects Logf messages.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

// Logf records one message.
func (l *logRecorder) Logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

// Lines returns the messages recorded so far.
func (l *logRecorder) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// count returns how many messages contain substr.
func (l *logRecorder) count(substr string) int {
	n := 0
	for _, line := range l.Lines() {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

// jwksFixture is a JWKS verifier with its server, clock and log.
type jwksFixture struct {
	v     *session.Verifier
	srv   *jwksServer
	clock *fakeClock
	log   *logRecorder
}

// newJWKSFixture starts a server serving keys and returns a verifier of its
// set with the issuer and audience checks on, a fake clock and a recorded
// log. jo's Now and Logf are set by the fixture.
func newJWKSFixture(tb testing.TB, algs []string, jo session.JWKSOptions, keys ...jose.JSONWebKey) *jwksFixture {
	tb.Helper()
	f := &jwksFixture{srv: newJWKSServer(tb, keys...), clock: newFakeClock(testNow), log: &logRecorder{}}
	jo.Now, jo.Logf = f.clock.Now, f.log.Logf
	v, err := session.NewJWKS(f.srv.url(), algs, session.Options{Issuer: testIssuer, Audience: testAudience}, jo)
	if err != nil {
		tb.Fatalf("NewJWKS: %v", err)
	}
	f.v = v
	return f
}
