package session_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// verifyOK fails unless v accepts token at testNow.
func verifyOK(tb testing.TB, v *session.Verifier, token string) {
	tb.Helper()
	c, err := v.Verify(token, testNow)
	if err != nil || c.UserID != "u-42" {
		tb.Fatalf("Verify = %+v, %v; want the token accepted", c, err)
	}
}

// checkFetches fails unless the server has seen want requests.
func checkFetches(tb testing.TB, srv *jwksServer, want int) {
	tb.Helper()
	if got := srv.fetches(); got != want {
		tb.Fatalf("JWKS fetches = %d, want %d", got, want)
	}
}

func TestJWKSRotation(t *testing.T) {
	k := testKeys()
	f := newJWKSFixture(t, nil, session.JWKSOptions{}, jwk(k.rsaA, "key-a"))
	tokenA := mintKID(t, jose.RS256, k.rsaA, "key-a", claimsWith(nil))
	tokenB := mintKID(t, jose.RS256, k.rsaB, "key-b", claimsWith(nil))
	tokenC := mintKID(t, jose.ES256, k.p256A, "key-c", claimsWith(nil))

	checkFetches(t, f.srv, 0) // NewJWKS makes no request
	verifyOK(t, f.v, tokenA)
	checkFetches(t, f.srv, 1)
	verifyOK(t, f.v, tokenA)
	checkFetches(t, f.srv, 1)

	// The server rotates to key B; key A is gone.
	f.srv.serve(t, jwk(k.rsaB, "key-b"))
	f.clock.Advance(time.Second)
	_, err := f.v.Verify(tokenB, testNow)
	checkError(t, err, session.ErrUnknownKey, tokenB)
	checkFetches(t, f.srv, 1) // within MinRefetch of the first fetch

	f.clock.Advance(session.DefaultJWKSMinRefetch)
	verifyOK(t, f.v, tokenB) // the unknown kid triggers one refetch
	checkFetches(t, f.srv, 2)
	verifyOK(t, f.v, tokenB)
	checkFetches(t, f.srv, 2)

	// A's tokens fail after the refresh, cached or not.
	_, err = f.v.Verify(tokenA, testNow)
	checkError(t, err, session.ErrUnknownKey, tokenA)
	checkFetches(t, f.srv, 2) // rate-limited
	f.clock.Advance(session.DefaultJWKSMinRefetch)
	_, err = f.v.Verify(tokenA, testNow)
	checkError(t, err, session.ErrUnknownKey, tokenA)
	checkFetches(t, f.srv, 3)

	// A stale set is refreshed on the next use, known kid or not.
	f.srv.serve(t, jwk(k.rsaB, "key-b"), jwk(k.p256A, "key-c"))
	f.clock.Advance(session.DefaultJWKSRefresh)
	verifyOK(t, f.v, tokenB)
	checkFetches(t, f.srv, 4)
	verifyOK(t, f.v, tokenC)
	checkFetches(t, f.srv, 4)
	if lines := f.log.Lines(); len(lines) != 0 {
		t.Errorf("log = %q, want nothing logged", lines)
	}
}

func TestJWKSServesStaleSetWhenEndpointFails(t *testing.T) {
	k := testKeys()
	tests := []struct {
		name    string
		break_  func(*jwksServer)
		wantLog string
	}{
		{name: "500", break_: func(s *jwksServer) { s.fail(http.StatusInternalServerError) }, wantLog: "status 500"},
		{name: "404", break_: func(s *jwksServer) { s.fail(http.StatusNotFound) }, wantLog: "status 404"},
		{name: "hanging", break_: (*jwksServer).hangUp, wantLog: "deadline exceeded"},
		{name: "garbage", break_: func(s *jwksServer) { s.serveBody([]byte("<html>maintenance</html>")) }, wantLog: "not a json web key set"},
		{name: "oversized", break_: func(s *jwksServer) { s.serveBody(make([]byte, 4096)) }, wantLog: "exceeds limit"},
		{name: "closed", break_: func(s *jwksServer) { s.Close() }, wantLog: "fetching jwks"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" endpoint keeps the stale set serving", func(t *testing.T) {
			jo := session.JWKSOptions{Client: &http.Client{Timeout: 200 * time.Millisecond}, MaxBytes: 2048}
			f := newJWKSFixture(t, nil, jo, jwk(k.rsaA, "key-a"))
			token := mintKID(t, jose.RS256, k.rsaA, "key-a", claimsWith(nil))
			uncached := mintKID(t, jose.RS256, k.rsaA, "key-a", claimsWith(map[string]any{"name": "Other"}))
			verifyOK(t, f.v, token)
			checkFetches(t, f.srv, 1)

			tt.break_(f.srv)
			f.clock.Advance(session.DefaultJWKSRefresh)
			verifyOK(t, f.v, token)
			verifyOK(t, f.v, uncached)
			if tt.name != "closed" {
				checkFetches(t, f.srv, 2)
			}
			if f.log.count(tt.wantLog) != 1 || f.log.count("still using the key set") != 1 {
				t.Fatalf("log = %q, want one failure mentioning %q", f.log.Lines(), tt.wantLog)
			}
			f.clock.Advance(session.DefaultJWKSMinRefetch)
			verifyOK(t, f.v, token)
			if f.log.count(tt.wantLog) != 2 {
				t.Fatalf("log = %q, want a second failure after MinRefetch", f.log.Lines())
			}
			for _, line := range f.log.Lines() {
				checkNoLeak(t, errors.New(line), token, uncached, b64Modulus(&k.rsaA.PublicKey))
			}
		})
	}
}

func TestJWKSUnavailableAtFirstUse(t *testing.T) {
	k := testKeys()
	f := newJWKSFixture(t, nil, session.JWKSOptions{}, jwk(k.ed, "ed"))
	f.srv.fail(http.StatusServiceUnavailable)
	token := mintKID(t, jose.EdDSA, k.ed, "ed", claimsWith(nil))

	_, err := f.v.Verify(token, testNow)
	checkError(t, err, session.ErrKeysUnavailable, token)
	checkFetches(t, f.srv, 1)
	if f.log.count("status 503") != 1 {
		t.Fatalf("log = %q, want the failure logged once", f.log.Lines())
	}
	_, err = f.v.Verify(token, testNow)
	checkError(t, err, session.ErrKeysUnavailable, token)
	checkFetches(t, f.srv, 1) // rate-limited

	// Without any set, the next try comes after a second, not after
	// the whole MinRefetch: the key set's server may have been
	// starting together with the gateway.
	f.srv.serve(t, jwk(k.ed, "ed"))
	f.clock.Advance(time.Second)
	verifyOK(t, f.v, token)
	checkFetches(t, f.srv, 2)
}

func TestJWKSResponseSizeLimit(t *testing.T) {
	k := testKeys()
	set := mustJSON(t, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk(k.ed, "ed")}})
	padded := append(append([]byte(nil), set[:len(set)-1]...), []byte(strings.Repeat(" ", 2048)+"}")...)
	tests := []struct {
		name     string
		body     []byte
		chunked  bool
		maxBytes int64
		wantErr  error
	}{
		{name: "set within the limit is accepted", body: padded, maxBytes: 4096},
		{name: "set over the limit is rejected", body: padded, maxBytes: 1024, wantErr: session.ErrKeysUnavailable},
		{name: "chunked set over the limit is rejected", body: padded, chunked: true, maxBytes: 1024, wantErr: session.ErrKeysUnavailable},
		{name: "set over the default limit is rejected", body: append(padded, make([]byte, session.DefaultJWKSMaxBytes)...), wantErr: session.ErrKeysUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newJWKSFixture(t, nil, session.JWKSOptions{MaxBytes: tt.maxBytes})
			f.srv.serveBody(tt.body)
			if tt.chunked {
				f.srv.setChunked()
			}
			token := mintKID(t, jose.EdDSA, k.ed, "ed", claimsWith(nil))
			_, err := f.v.Verify(token, testNow)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			checkError(t, err, tt.wantErr, token)
			if f.log.count("exceeds limit") != 1 {
				t.Fatalf("log = %q, want the size failure", f.log.Lines())
			}
		})
	}
}

func TestJWKSKeySelection(t *testing.T) {
	k := testKeys()
	rsaPriv := jose.JSONWebKey{Key: k.rsaB, KeyID: "priv", Use: "sig"}
	octKey := []byte("0123456789abcdef0123456789abcdef")
	oct := jose.JSONWebKey{Key: octKey, KeyID: "oct", Use: "sig"}
	short, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	withAlg := func(key jose.JSONWebKey, alg string) jose.JSONWebKey { key.Algorithm = alg; return key }
	withUse := func(key jose.JSONWebKey, use string) jose.JSONWebKey { key.Use = use; return key }
	unknownType := json.RawMessage(`{"kty":"XYZ","kid":"odd","x":"AAAA"}`)
	x25519 := json.RawMessage(`{"kty":"OKP","crv":"X25519","kid":"x","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}`)

	tests := []struct {
		name    string
		algs    []string
		keys    []jose.JSONWebKey
		extra   []json.RawMessage // raw keys added to the set
		token   string
		wantErr error // nil: accepted
	}{
		{name: "two keys and a token without kid is rejected", keys: []jose.JSONWebKey{jwk(k.rsaA, "a"), jwk(k.rsaB, "b")},
			token: mint(t, jose.RS256, k.rsaA, claimsWith(nil)), wantErr: session.ErrNoKeyID},
		{name: "one key and a token without kid is accepted", keys: []jose.JSONWebKey{jwk(k.rsaA, "a")},
			token: mint(t, jose.RS256, k.rsaA, claimsWith(nil))},
		{name: "one key without kid and a token without kid is accepted", keys: []jose.JSONWebKey{jwk(k.ed, "")},
			token: mint(t, jose.EdDSA, k.ed, claimsWith(nil))},
		{name: "one key without kid and a token with a kid is unknown", keys: []jose.JSONWebKey{jwk(k.ed, "")},
			token: mintKID(t, jose.EdDSA, k.ed, "ed", claimsWith(nil)), wantErr: session.ErrUnknownKey},
		{name: "one key and a token without kid signed by another key is rejected", keys: []jose.JSONWebKey{jwk(k.rsaA, "a")},
			token: mint(t, jose.RS256, k.rsaB, claimsWith(nil)), wantErr: session.ErrSignature},
		{name: "empty set and a token without kid is unknown", keys: []jose.JSONWebKey{},
			token: mint(t, jose.RS256, k.rsaA, claimsWith(nil)), wantErr: session.ErrUnknownKey},
		{name: "kid of another key in the set is rejected", keys: []jose.JSONWebKey{jwk(k.rsaA, "a"), jwk(k.rsaB, "b")},
			token: mintKID(t, jose.RS256, k.rsaA, "b", claimsWith(nil)), wantErr: session.ErrSignature},
		{name: "key for encryption is not used", keys: []jose.JSONWebKey{withUse(jwk(k.rsaA, "a"), "enc")},
			token: mintKID(t, jose.RS256, k.rsaA, "a", claimsWith(nil)), wantErr: session.ErrUnknownKey},
		{name: "key alg parameter is enforced", keys: []jose.JSONWebKey{withAlg(jwk(k.rsaA, "a"), "PS256")},
			token: mintKID(t, jose.RS256, k.rsaA, "a", claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "key alg parameter matching the token is accepted", keys: []jose.JSONWebKey{withAlg(jwk(k.rsaA, "a"), "PS256")},
			token: mintKID(t, jose.PS256, k.rsaA, "a", claimsWith(nil))},
		{name: "key with an HMAC alg parameter is not used", keys: []jose.JSONWebKey{withAlg(jwk(k.rsaA, "a"), "HS256")},
			token: mintKID(t, jose.RS256, k.rsaA, "a", claimsWith(nil)), wantErr: session.ErrUnknownKey},
		{name: "P-256 key rejects an ES384 token", keys: []jose.JSONWebKey{jwk(k.p256A, "ec")},
			token: mintKID(t, jose.ES384, k.p384, "ec", claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "P-521 key accepts an ES512 token", keys: []jose.JSONWebKey{jwk(k.p521, "ec")},
			token: mintKID(t, jose.ES512, k.p521, "ec", claimsWith(nil))},
		{name: "private RSA key in the set is ignored", keys: []jose.JSONWebKey{jwk(k.rsaA, "a"), rsaPriv},
			token: mintKID(t, jose.RS256, k.rsaB, "priv", claimsWith(nil)), wantErr: session.ErrUnknownKey},
		{name: "private Ed25519 key in the set is ignored", keys: []jose.JSONWebKey{jwk(k.rsaA, "a"), {Key: k.edB, KeyID: "edpriv"}},
			token: mintKID(t, jose.EdDSA, k.edB, "edpriv", claimsWith(nil)), wantErr: session.ErrUnknownKey},
		{name: "symmetric key in the set cannot verify HS256", keys: []jose.JSONWebKey{jwk(k.rsaA, "a"), oct},
			token: mintKID(t, jose.HS256, octKey, "oct", claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "symmetric key in the set is ignored", keys: []jose.JSONWebKey{jwk(k.rsaA, "a"), oct},
			token: mintKID(t, jose.RS256, k.rsaA, "oct", claimsWith(nil)), wantErr: session.ErrUnknownKey},
		{name: "public key beside ignored keys still verifies", keys: []jose.JSONWebKey{jwk(k.rsaA, "a"), rsaPriv, oct},
			token: mintKID(t, jose.RS256, k.rsaA, "a", claimsWith(nil))},
		{name: "only usable keys count for the kid requirement", keys: []jose.JSONWebKey{jwk(k.rsaA, "a"), rsaPriv, oct, withUse(jwk(k.rsaB, "b"), "enc")},
			token: mint(t, jose.RS256, k.rsaA, claimsWith(nil))},
		{name: "short RSA key in the set is ignored", keys: []jose.JSONWebKey{jwk(k.rsaA, "a"), jwk(short, "short")},
			token: mintKID(t, jose.RS256, short, "short", claimsWith(nil)), wantErr: session.ErrUnknownKey},
		{name: "keys of unknown types do not spoil the set", keys: []jose.JSONWebKey{jwk(k.rsaA, "a")}, extra: []json.RawMessage{unknownType, x25519, json.RawMessage(`null`), json.RawMessage(`{"kty":"RSA","kid":"bad"}`)},
			token: mintKID(t, jose.RS256, k.rsaA, "a", claimsWith(nil))},
		{name: "duplicate kid selects the key fitting the alg", keys: []jose.JSONWebKey{jwk(k.rsaA, "dup"), jwk(k.p256A, "dup")},
			token: mintKID(t, jose.ES256, k.p256A, "dup", claimsWith(nil))},
		{name: "duplicate kid tries each fitting key", keys: []jose.JSONWebKey{jwk(k.rsaA, "dup"), jwk(k.rsaB, "dup")},
			token: mintKID(t, jose.RS256, k.rsaB, "dup", claimsWith(nil))},
		{name: "algs narrowed to ES256 reject an RS256 token", algs: []string{"ES256"}, keys: []jose.JSONWebKey{jwk(k.rsaA, "a")},
			token: mintKID(t, jose.RS256, k.rsaA, "a", claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "algs narrowed to ES256 leave RSA keys unusable", algs: []string{"ES256"}, keys: []jose.JSONWebKey{jwk(k.rsaA, "a"), jwk(k.p256A, "ec")},
			token: mint(t, jose.ES256, k.p256A, claimsWith(nil))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newJWKSFixture(t, tt.algs, session.JWKSOptions{})
			raw := make([]json.RawMessage, 0, len(tt.keys)+len(tt.extra))
			for _, key := range tt.keys {
				raw = append(raw, mustJSON(t, key))
			}
			raw = append(raw, tt.extra...)
			f.srv.serveBody(mustJSON(t, map[string]any{"keys": raw}))
			_, err := f.v.Verify(tt.token, testNow)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			checkError(t, err, tt.wantErr, tokenText(tt.token), string(octKey))
		})
	}
}

func TestJWKSIgnoredSecretKeysAreLoggedOnce(t *testing.T) {
	k := testKeys()
	octKey := []byte("0123456789abcdef0123456789abcdef")
	priv := jose.JSONWebKey{Key: k.rsaB, KeyID: "priv"}
	f := newJWKSFixture(t, nil, session.JWKSOptions{}, jwk(k.rsaA, "a"), priv, jose.JSONWebKey{Key: octKey, KeyID: "oct"})
	verifyOK(t, f.v, mintKID(t, jose.RS256, k.rsaA, "a", claimsWith(nil)))

	// Another set, with secrets again, fetched for an unknown kid.
	f.srv.serve(t, jwk(k.rsaA, "a"), jwk(k.p256A, "ec"), priv)
	f.clock.Advance(session.DefaultJWKSMinRefetch)
	verifyOK(t, f.v, mintKID(t, jose.ES256, k.p256A, "ec", claimsWith(nil)))
	checkFetches(t, f.srv, 2)

	if n := f.log.count("private or symmetric keys"); n != 1 {
		t.Fatalf("log = %q, want the ignored keys logged once", f.log.Lines())
	}
	privJSON := string(mustJSON(t, priv))
	for _, line := range f.log.Lines() {
		checkNoLeak(t, errors.New(line), string(octKey), b64(string(octKey)), privJSON, b64Modulus(&k.rsaB.PublicKey))
	}
}

func TestJWKSConcurrentUseSharesFetches(t *testing.T) {
	k := testKeys()
	f := newJWKSFixture(t, nil, session.JWKSOptions{}, jwk(k.p256A, "a"))
	const workers = 64
	run := func(token string) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Go(func() {
				if _, err := f.v.Verify(token, testNow); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("Verify: %v", err)
		}
	}
	run(mintKID(t, jose.ES256, k.p256A, "a", claimsWith(nil)))
	checkFetches(t, f.srv, 1)

	f.srv.serve(t, jwk(k.p256A, "a"), jwk(k.p256B, "b"))
	f.clock.Advance(session.DefaultJWKSMinRefetch)
	run(mintKID(t, jose.ES256, k.p256B, "b", claimsWith(nil)))
	checkFetches(t, f.srv, 2)
}

func TestJWKSRefresh(t *testing.T) {
	k := testKeys()
	t.Run("refresh fetches before first use", func(t *testing.T) {
		f := newJWKSFixture(t, nil, session.JWKSOptions{}, jwk(k.ed, "ed"))
		if err := f.v.Refresh(t.Context()); err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		checkFetches(t, f.srv, 1)
		verifyOK(t, f.v, mintKID(t, jose.EdDSA, k.ed, "ed", claimsWith(nil)))
		checkFetches(t, f.srv, 1)
	})
	t.Run("refresh ignores the rate limit", func(t *testing.T) {
		f := newJWKSFixture(t, nil, session.JWKSOptions{}, jwk(k.ed, "ed"))
		for range 3 {
			if err := f.v.Refresh(t.Context()); err != nil {
				t.Fatalf("Refresh: %v", err)
			}
		}
		checkFetches(t, f.srv, 3)
	})
	t.Run("refresh reports a failed fetch", func(t *testing.T) {
		f := newJWKSFixture(t, nil, session.JWKSOptions{}, jwk(k.ed, "ed"))
		f.srv.fail(http.StatusBadGateway)
		err := f.v.Refresh(t.Context())
		if err == nil || !strings.Contains(err.Error(), "status 502") {
			t.Fatalf("Refresh = %v, want the status", err)
		}
	})
	t.Run("refresh honours its context", func(t *testing.T) {
		f := newJWKSFixture(t, nil, session.JWKSOptions{}, jwk(k.ed, "ed"))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := f.v.Refresh(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Refresh = %v, want context.Canceled", err)
		}
		checkFetches(t, f.srv, 0)
	})
	t.Run("refresh of a static key does nothing", func(t *testing.T) {
		if err := newVerifier(t, session.Options{}).Refresh(t.Context()); err != nil {
			t.Fatalf("Refresh = %v, want nil", err)
		}
	})
}

func TestJWKSRedactsURLPassword(t *testing.T) {
	srv := newJWKSServer(t)
	srv.fail(http.StatusInternalServerError)
	log := &logRecorder{}
	url := strings.Replace(srv.url(), "http://", "http://user:hunter2@", 1) + "?api_key=hunter3"
	v, err := session.NewJWKS(url, nil, session.Options{}, session.JWKSOptions{Logf: log.Logf})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(mint(t, jose.EdDSA, testKeys().ed, claimsWith(nil)), testNow)
	checkError(t, err, session.ErrKeysUnavailable)
	if lines := log.Lines(); len(lines) != 1 || !strings.Contains(lines[0], "user:xxxxx@") || strings.Contains(lines[0], "hunter") {
		t.Fatalf("log = %q, want a failure without the password and the query", lines)
	}
	srv.Close()
	if err := v.Refresh(t.Context()); err == nil || strings.Contains(err.Error(), "hunter") {
		t.Fatalf("Refresh = %v, want an error without the password and the query", err)
	}
}

func TestNewJWKS(t *testing.T) {
	srv := newJWKSServer(t)
	tests := []struct {
		name    string
		url     string
		algs    []string
		opts    session.Options
		jo      session.JWKSOptions
		wantErr string // "" means success
	}{
		{name: "http url", url: srv.url()},
		{name: "https url", url: "https://idp.example.com/.well-known/jwks.json"},
		{name: "narrowed algorithms", url: srv.url(), algs: []string{"RS256", "ES256", "EdDSA", "PS512"}},
		{name: "empty url", url: "", wantErr: "absolute http or https"},
		{name: "relative url", url: "/jwks.json", wantErr: "absolute http or https"},
		{name: "file url", url: "file:///etc/jwks.json", wantErr: "absolute http or https"},
		{name: "url without host", url: "https:///jwks.json", wantErr: "absolute http or https"},
		{name: "unparsable url", url: "http://[::1/jwks", wantErr: "absolute http or https"},
		{name: "HS256 is not a public key algorithm", url: srv.url(), algs: []string{"HS256"}, wantErr: `"HS256" cannot be used`},
		{name: "none is not a public key algorithm", url: srv.url(), algs: []string{"RS256", "none"}, wantErr: `"none" cannot be used`},
		{name: "lower-case alg is unknown", url: srv.url(), algs: []string{"rs256"}, wantErr: `"rs256" cannot be used`},
		{name: "negative refresh interval", url: srv.url(), jo: session.JWKSOptions{RefreshInterval: -1}, wantErr: "refresh interval"},
		{name: "negative refetch interval", url: srv.url(), jo: session.JWKSOptions{MinRefetch: -1}, wantErr: "refetch"},
		{name: "negative size limit", url: srv.url(), jo: session.JWKSOptions{MaxBytes: -1}, wantErr: "size limit"},
		{name: "invalid options", url: srv.url(), opts: session.Options{Leeway: -time.Second}, wantErr: "leeway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := session.NewJWKS(tt.url, tt.algs, tt.opts, tt.jo)
			if tt.wantErr == "" {
				if err != nil || v == nil {
					t.Fatalf("NewJWKS: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	checkFetches(t, srv, 0)
}

// b64Modulus returns the base64url modulus of key, as it appears in a JWK.
func b64Modulus(key *rsa.PublicKey) string {
	return b64(string(key.N.Bytes()))
}
