package session_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// cacheKinds returns, for each kind of verifier, a function making one with
// opts and a valid token for it.
func cacheKinds(t *testing.T) []struct {
	name  string
	make  func(opts session.Options) *session.Verifier
	token func(claims map[string]any) string
} {
	k := testKeys()
	srv := newJWKSServer(t, jwk(k.p256A, "ec"))
	publicKey := func(pemData []byte) func(session.Options) *session.Verifier {
		return func(opts session.Options) *session.Verifier {
			v, err := session.NewPublicKey(pemData, nil, opts)
			if err != nil {
				t.Fatalf("NewPublicKey: %v", err)
			}
			return v
		}
	}
	return []struct {
		name  string
		make  func(opts session.Options) *session.Verifier
		token func(claims map[string]any) string
	}{
		{"HS256", func(opts session.Options) *session.Verifier { return newVerifier(t, opts) },
			func(c map[string]any) string { return mint(t, jose.HS256, secret32, c) }},
		{"RS256", publicKey(pkixPEM(t, &k.rsaA.PublicKey)),
			func(c map[string]any) string { return mint(t, jose.RS256, k.rsaA, c) }},
		{"EdDSA", publicKey(pkixPEM(t, k.ed.Public())),
			func(c map[string]any) string { return mint(t, jose.EdDSA, k.ed, c) }},
		{"JWKS ES256", func(opts session.Options) *session.Verifier {
			v, err := session.NewJWKS(srv.url(), nil, opts, session.JWKSOptions{})
			if err != nil {
				t.Fatalf("NewJWKS: %v", err)
			}
			return v
		}, func(c map[string]any) string { return mintKID(t, jose.ES256, k.p256A, "ec", c) }},
	}
}

func TestCacheSkipsSignatureOfRepeatedToken(t *testing.T) {
	for _, kind := range cacheKinds(t) {
		for _, tt := range []struct {
			name       string
			cacheSize  int
			wantChecks uint64
		}{
			{name: "default cache checks the signature once", cacheSize: 0, wantChecks: 1},
			{name: "disabled cache checks the signature every time", cacheSize: -1, wantChecks: 3},
		} {
			t.Run(kind.name+" "+tt.name, func(t *testing.T) {
				v := kind.make(session.Options{CacheSize: tt.cacheSize})
				token := kind.token(claimsWith(nil))
				first, err := v.Verify(token, testNow)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				for range 2 {
					again, err := v.Verify(token, testNow.Add(time.Minute))
					if err != nil || again != first {
						t.Fatalf("Verify again = %+v, %v; want %+v", again, err, first)
					}
				}
				if got := session.SignatureChecks(v); got != tt.wantChecks {
					t.Fatalf("signature checks = %d, want %d", got, tt.wantChecks)
				}
			})
		}
	}
}

// TestCachedTokenExpiresLikeUncached verifies tokens at a series of times
// with a caching and a non-caching verifier, and expects the same answer
// from both every time.
func TestCachedTokenExpiresLikeUncached(t *testing.T) {
	exp := testNow.Add(time.Hour)
	tests := []struct {
		name   string
		opts   session.Options
		claims map[string]any
		leeway time.Duration
		times  []time.Time
	}{
		{
			name:   "token expires at exp plus leeway",
			claims: claimsWith(nil),
			leeway: session.DefaultLeeway,
			times: []time.Time{testNow, exp, exp.Add(session.DefaultLeeway - time.Nanosecond),
				exp.Add(session.DefaultLeeway), exp.Add(time.Hour), testNow},
		},
		{
			name:   "custom leeway applies to cached tokens",
			opts:   session.Options{Leeway: 5 * time.Second},
			claims: claimsWith(nil),
			leeway: 5 * time.Second,
			times:  []time.Time{testNow, exp.Add(4 * time.Second), exp.Add(5 * time.Second), exp.Add(6 * time.Second)},
		},
		{
			name:   "token not yet valid at an earlier time",
			claims: claimsWith(map[string]any{"nbf": testNow.Add(10 * time.Second).Unix()}),
			leeway: session.DefaultLeeway,
			times:  []time.Time{testNow, testNow.Add(-20 * time.Second), testNow.Add(-21 * time.Second), testNow.Add(-time.Hour), testNow},
		},
		{
			name:   "token issued in the future is not valid before iat",
			claims: claimsWith(map[string]any{"iat": testNow.Add(20 * time.Second).Unix(), "nbf": absent{}}),
			leeway: session.DefaultLeeway,
			times:  []time.Time{testNow, testNow.Add(-11 * time.Second), testNow},
		},
		{
			name:   "fractional exp is honoured to the nanosecond",
			claims: claimsWith(map[string]any{"exp": float64(exp.Unix()) + 0.5}),
			leeway: session.DefaultLeeway,
			times: []time.Time{testNow, exp.Add(session.DefaultLeeway + 500*time.Millisecond - time.Nanosecond),
				exp.Add(session.DefaultLeeway + 500*time.Millisecond)},
		},
	}
	for _, kind := range cacheKinds(t) {
		for _, tt := range tests {
			t.Run(kind.name+" "+tt.name, func(t *testing.T) {
				cached := kind.make(tt.opts)
				uncachedOpts := tt.opts
				uncachedOpts.CacheSize = -1
				uncached := kind.make(uncachedOpts)
				token := kind.token(tt.claims)
				for i, now := range tt.times {
					want, wantErr := uncached.Verify(token, now)
					got, err := cached.Verify(token, now)
					if fmt.Sprint(err) != fmt.Sprint(wantErr) || got != want {
						t.Fatalf("time %d (%s): cached Verify = %+v, %v; uncached = %+v, %v", i, now, got, err, want, wantErr)
					}
				}
				if got := session.SignatureChecks(cached); got != 1 {
					t.Fatalf("cached verifier checked %d signatures, want 1", got)
				}
			})
		}
	}
}

func TestCacheStoresNoFailures(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{name: "bad signature", token: mint(t, jose.HS256, otherSecret, claimsWith(nil)), wantErr: session.ErrSignature},
		{name: "expired token", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"exp": testNow.Add(-time.Hour).Unix()})), wantErr: session.ErrExpired},
		{name: "wrong audience", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"aud": "other"})), wantErr: session.ErrAudience},
		{name: "missing user id", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"sub": absent{}})), wantErr: session.ErrNoSubject},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is not cached", func(t *testing.T) {
			v := newVerifier(t, session.Options{Issuer: testIssuer, Audience: testAudience})
			for range 3 {
				_, err := v.Verify(tt.token, testNow)
				checkError(t, err, tt.wantErr)
			}
			if n := session.CacheLen(v); n != 0 {
				t.Fatalf("cache holds %d entries, want 0", n)
			}
			if got := session.SignatureChecks(v); got != 3 {
				t.Fatalf("signature checks = %d, want 3", got)
			}
		})
	}
}

func TestCacheStaysWithinSize(t *testing.T) {
	const size = 5
	tokens := make([]string, 60)
	for i := range tokens {
		tokens[i] = mint(t, jose.HS256, secret32, claimsWith(map[string]any{"sub": fmt.Sprintf("u-%d", i)}))
	}
	t.Run("sequential tokens fill the cache to its size", func(t *testing.T) {
		v := newVerifier(t, session.Options{CacheSize: size})
		for i, token := range tokens {
			if _, err := v.Verify(token, testNow); err != nil {
				t.Fatal(err)
			}
			if n, want := session.CacheLen(v), min(i+1, size); n != want {
				t.Fatalf("after %d tokens, cache holds %d entries, want %d", i+1, n, want)
			}
		}
		// The latest token is cached.
		checks := session.SignatureChecks(v)
		if _, err := v.Verify(tokens[len(tokens)-1], testNow); err != nil {
			t.Fatal(err)
		}
		if session.SignatureChecks(v) != checks {
			t.Fatal("latest token was not cached")
		}
	})
	t.Run("concurrent tokens never overfill the cache", func(t *testing.T) {
		v := newVerifier(t, session.Options{CacheSize: size})
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range tokens {
					if _, err := v.Verify(tokens[(i+w*7)%len(tokens)], testNow); err != nil {
						t.Error(err)
						return
					}
					if n := session.CacheLen(v); n > size {
						t.Errorf("cache holds %d entries, want at most %d", n, size)
						return
					}
				}
			})
		}
		wg.Wait()
	})
	t.Run("disabled cache holds nothing", func(t *testing.T) {
		v := newVerifier(t, session.Options{CacheSize: -1})
		for _, token := range tokens[:3] {
			if _, err := v.Verify(token, testNow); err != nil {
				t.Fatal(err)
			}
		}
		if n := session.CacheLen(v); n != 0 {
			t.Fatalf("cache holds %d entries, want 0", n)
		}
	})
}

// TestCacheEvictsExpiredTokensFirst fills a cache of 8 with 7 live tokens
// and one expired token, then adds another: the expired one must go. A cache
// evicting at random would keep it 1 time in 8, so ten rounds tell.
func TestCacheEvictsExpiredTokensFirst(t *testing.T) {
	const size = 8
	long := make([]string, size-1)
	for i := range long {
		long[i] = mint(t, jose.HS256, secret32, claimsWith(map[string]any{"sub": fmt.Sprintf("u-%d", i)}))
	}
	short := mint(t, jose.HS256, secret32, claimsWith(map[string]any{"exp": testNow.Add(time.Minute).Unix()}))
	later := mint(t, jose.HS256, secret32, claimsWith(map[string]any{"sub": "u-later"}))
	for round := range 10 {
		v := newVerifier(t, session.Options{CacheSize: size})
		for _, token := range append([]string{short}, long...) {
			if _, err := v.Verify(token, testNow); err != nil {
				t.Fatal(err)
			}
		}
		// At +2 min the short token has expired; adding one more must
		// evict it rather than a live token.
		now := testNow.Add(2 * time.Minute)
		if _, err := v.Verify(later, now); err != nil {
			t.Fatal(err)
		}
		checks := session.SignatureChecks(v)
		for _, token := range append([]string{later}, long...) {
			if _, err := v.Verify(token, now); err != nil {
				t.Fatal(err)
			}
		}
		if got := session.SignatureChecks(v); got != checks {
			t.Fatalf("round %d: signature checks rose from %d to %d: a live token was evicted", round, checks, got)
		}
	}
}
