package session_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// TestAttackAlgorithmConfusion presents tokens whose "alg" tries to make the
// verifier use its key in another way than the key type allows.
func TestAttackAlgorithmConfusion(t *testing.T) {
	k := testKeys()
	rsaPEM := pkixPEM(t, &k.rsaA.PublicKey)
	rsaDER, err := x509.MarshalPKIXPublicKey(&k.rsaA.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaPKCS1 := x509.MarshalPKCS1PublicKey(&k.rsaA.PublicKey)
	ecPEM := pkixPEM(t, &k.p256A.PublicKey)
	edPEM := pkixPEM(t, k.ed.Public())
	edRaw := []byte(k.ed.Public().(ed25519.PublicKey))

	rsaV := newPublicKeyVerifier(t, k.rsaA)
	rs256Only := newPublicKeyVerifier(t, k.rsaA, "RS256")
	ecV := newPublicKeyVerifier(t, k.p256A)
	edV := newPublicKeyVerifier(t, k.ed)
	jwksF := newJWKSFixture(t, nil, session.JWKSOptions{}, jwk(k.rsaA, "rsa-a"), jwk(k.p256A, "ec-a"))

	valid := mint(t, jose.RS256, k.rsaA, claimsWith(nil))
	_, validPayload, validSig := splitToken(t, valid)
	payload := string(mustJSON(t, claimsWith(nil)))

	tests := []struct {
		name    string
		v       *session.Verifier
		token   string
		wantErr error // nil: accepted
	}{
		{name: "alg none is rejected by an RSA verifier", v: rsaV, token: rawToken(`{"alg":"none","typ":"JWT"}`, payload, nil), wantErr: session.ErrAlgorithm},
		{name: "alg none is rejected by an ES256 verifier", v: ecV, token: rawToken(`{"alg":"none"}`, payload, nil), wantErr: session.ErrAlgorithm},
		{name: "alg none is rejected by an EdDSA verifier", v: edV, token: rawToken(`{"alg":"none"}`, payload, nil), wantErr: session.ErrAlgorithm},
		{name: "alg none is rejected by a JWKS verifier", v: jwksF.v, token: rawToken(`{"alg":"none","kid":"rsa-a"}`, payload, nil), wantErr: session.ErrAlgorithm},
		{name: "alg none over a valid RS256 signature is rejected", v: rsaV, token: b64(`{"alg":"none"}`) + "." + validPayload + "." + validSig, wantErr: session.ErrAlgorithm},
		{name: "HS256 keyed with the PEM public key is rejected by an RSA verifier", v: rsaV, token: mint(t, jose.HS256, rsaPEM, claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "HS256 keyed with the DER public key is rejected by an RSA verifier", v: rsaV, token: mint(t, jose.HS256, rsaDER, claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "HS256 keyed with the PKCS1 public key is rejected by an RSA verifier", v: rsaV, token: mint(t, jose.HS256, rsaPKCS1, claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "HS512 keyed with the PEM public key is rejected by an RSA verifier", v: rsaV, token: mint(t, jose.HS512, rsaPEM, claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "HS256 keyed with the PEM public key is rejected by an ES256 verifier", v: ecV, token: mint(t, jose.HS256, ecPEM, claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "HS256 keyed with the PEM public key is rejected by an EdDSA verifier", v: edV, token: mint(t, jose.HS256, edPEM, claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "HS256 keyed with the raw Ed25519 public key is rejected", v: edV, token: mint(t, jose.HS256, edRaw, claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "HS256 keyed with the PEM public key and its kid is rejected by a JWKS verifier", v: jwksF.v, token: mintKID(t, jose.HS256, rsaPEM, "rsa-a", claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "ES256 token is rejected by an RSA verifier", v: rsaV, token: mint(t, jose.ES256, k.p256A, claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "EdDSA token is rejected by an RSA verifier", v: rsaV, token: mint(t, jose.EdDSA, k.ed, claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "RS256 token is rejected by an ES256 verifier", v: ecV, token: mint(t, jose.RS256, k.rsaA, claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "ES384 token is rejected by an ES256 verifier", v: ecV, token: mint(t, jose.ES384, k.p384, claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "ES256 token by another P-256 key is rejected", v: ecV, token: mint(t, jose.ES256, k.p256B, claimsWith(nil)), wantErr: session.ErrSignature},
		{name: "EdDSA token by another Ed25519 key is rejected", v: edV, token: mint(t, jose.EdDSA, k.edB, claimsWith(nil)), wantErr: session.ErrSignature},
		{name: "RS256 token by another RSA key is rejected", v: rsaV, token: mint(t, jose.RS256, k.rsaB, claimsWith(nil)), wantErr: session.ErrSignature},
		{name: "ES256 token naming an RSA kid is rejected by a JWKS verifier", v: jwksF.v, token: mintKID(t, jose.ES256, k.p256A, "rsa-a", claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "RS256 token naming an EC kid is rejected by a JWKS verifier", v: jwksF.v, token: mintKID(t, jose.RS256, k.rsaA, "ec-a", claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "RS256 header over a PS256 signature is rejected", v: rsaV, token: swapAlg(t, mint(t, jose.PS256, k.rsaA, claimsWith(nil)), `{"alg":"RS256","typ":"JWT"}`), wantErr: session.ErrSignature},
		{name: "PS256 token is accepted by an RSA verifier", v: rsaV, token: mint(t, jose.PS256, k.rsaA, claimsWith(nil))},
		{name: "PS512 token is accepted by an RSA verifier", v: rsaV, token: mint(t, jose.PS512, k.rsaA, claimsWith(nil))},
		{name: "PS256 token is rejected by an RSA verifier narrowed to RS256", v: rs256Only, token: mint(t, jose.PS256, k.rsaA, claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "RS512 token is rejected by an RSA verifier narrowed to RS256", v: rs256Only, token: mint(t, jose.RS512, k.rsaA, claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "RS256 token is accepted by an RSA verifier narrowed to RS256", v: rs256Only, token: valid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.v.Verify(tt.token, testNow)
			if tt.wantErr == nil {
				if err != nil || c.UserID != "u-42" {
					t.Fatalf("Verify = %+v, %v; want the token accepted", c, err)
				}
				return
			}
			checkError(t, err, tt.wantErr, tokenText(tt.token), pemBody(rsaPEM), pemBody(ecPEM))
		})
	}
}

// TestAttackKidInjection presents tokens whose "kid" looks like a path, a
// URL or worse to a JWKS verifier. Each must fail with ErrUnknownKey without
// the kid ever reaching the JWKS endpoint, even on the refetches it causes.
func TestAttackKidInjection(t *testing.T) {
	k := testKeys()
	f := newJWKSFixture(t, nil, session.JWKSOptions{}, jwk(k.rsaA, "rsa-a"))
	if _, err := f.v.Verify(mintKID(t, jose.RS256, k.rsaA, "rsa-a", claimsWith(nil)), testNow); err != nil {
		t.Fatalf("Verify with the real kid: %v", err)
	}
	kids := []struct{ name, kid string }{
		{"relative path", "../../etc/passwd"},
		{"encoded relative path", "..%2F..%2Fetc%2Fpasswd"},
		{"absolute path", "/etc/passwd"},
		{"http url", "http://evil/x"},
		{"https url with query", "https://evil.example.com/jwks.json?kid=1#frag"},
		{"file url", "file:///etc/passwd"},
		{"query string", "?kid=rsa-a&x=1"},
		{"NUL byte", "rsa-a\x00../../x"},
		{"only a NUL byte", "\x00"},
		{"CRLF header injection", "rsa-a\r\nX-Injected: 1"},
		{"very long kid", strings.Repeat("k", 4000)},
		{"kid one byte off", "rsa-a "},
	}
	for _, tt := range kids {
		t.Run(tt.name+" is an unknown key", func(t *testing.T) {
			f.clock.Advance(session.DefaultJWKSMinRefetch) // let it refetch
			before := f.srv.fetches()
			token := mintKID(t, jose.RS256, k.rsaA, tt.kid, claimsWith(nil))
			_, err := f.v.Verify(token, testNow)
			checkError(t, err, session.ErrUnknownKey, tokenText(token), tt.kid)
			if f.srv.fetches() != before+1 {
				t.Errorf("fetches = %d, want %d: an unknown kid refetches the set once", f.srv.fetches(), before+1)
			}
		})
	}
	for _, uri := range f.srv.requestURIs() {
		if uri != f.srv.path {
			t.Errorf("JWKS server saw request %q, want only %q", uri, f.srv.path)
		}
		for _, tt := range kids {
			if strings.Contains(uri, tt.kid) {
				t.Errorf("JWKS server saw the kid %q in request %q", tt.name, uri)
			}
		}
	}
}

// TestAttackClaims checks that each public key verifier enforces the same
// claim and size checks as the HMAC one.
func TestAttackClaims(t *testing.T) {
	k := testKeys()
	for _, kv := range []struct {
		alg  jose.SignatureAlgorithm
		priv crypto.Signer
	}{
		{jose.RS256, k.rsaA},
		{jose.ES256, k.p256A},
		{jose.EdDSA, k.ed},
	} {
		v := newPublicKeyVerifier(t, kv.priv)
		sign := func(overrides map[string]any) string { return mint(t, kv.alg, kv.priv, claimsWith(overrides)) }
		valid := sign(nil)
		header, _, sig := splitToken(t, valid)
		tests := []struct {
			name    string
			token   string
			wantErr error // nil: accepted
		}{
			{name: "valid token is accepted", token: valid},
			{name: "expired token is rejected", token: sign(map[string]any{"exp": testNow.Add(-time.Hour).Unix()}), wantErr: session.ErrExpired},
			{name: "token without exp is rejected", token: sign(map[string]any{"exp": absent{}}), wantErr: session.ErrNoExpiry},
			{name: "not yet valid token is rejected", token: sign(map[string]any{"nbf": testNow.Add(time.Hour).Unix()}), wantErr: session.ErrNotYetValid},
			{name: "wrong iss is rejected", token: sign(map[string]any{"iss": "https://evil.example.com"}), wantErr: session.ErrIssuer},
			{name: "wrong aud is rejected", token: sign(map[string]any{"aud": "other-app"}), wantErr: session.ErrAudience},
			{name: "tampered payload is rejected", token: header + "." + b64(string(mustJSON(t, claimsWith(map[string]any{"role": "owner"})))) + "." + sig, wantErr: session.ErrSignature},
			{name: "truncated signature is rejected", token: header + "." + strings.Split(valid, ".")[1] + "." + truncateSig(t, sig), wantErr: session.ErrSignature},
			{name: "oversized token is rejected", token: sign(map[string]any{"pad": strings.Repeat("x", session.DefaultMaxTokenSize)}), wantErr: session.ErrTooLarge},
		}
		for _, tt := range tests {
			t.Run(string(kv.alg)+" "+tt.name, func(t *testing.T) {
				c, err := v.Verify(tt.token, testNow)
				if tt.wantErr == nil {
					if err != nil || c.UserID != "u-42" {
						t.Fatalf("Verify = %+v, %v; want the token accepted", c, err)
					}
					return
				}
				checkError(t, err, tt.wantErr, tokenText(tt.token))
			})
		}
	}
}

// TestAttackUnknownKidStorm floods a JWKS verifier with tokens naming random
// key ids for 95 s of a fake clock. With MinRefetch 30 s, the JWKS server
// must see at most 4 requests: the first fetch and one each at 30, 60 and
// 90 s.
func TestAttackUnknownKidStorm(t *testing.T) {
	k := testKeys()
	const (
		tokens   = 2000
		duration = 95 * time.Second
		minGap   = 30 * time.Second
	)
	storm := make([]string, tokens)
	for i := range storm {
		storm[i] = mintKID(t, jose.EdDSA, k.ed, rand.Text(), claimsWith(nil))
	}
	run := func(t *testing.T, workers int) *jwksFixture {
		f := newJWKSFixture(t, nil, session.JWKSOptions{MinRefetch: minGap, RefreshInterval: time.Hour}, jwk(k.ed, "ed"))
		var wg sync.WaitGroup
		next := make(chan string)
		errs := make(chan error, tokens)
		for range workers {
			wg.Go(func() {
				for token := range next {
					if _, err := f.v.Verify(token, testNow); !errors.Is(err, session.ErrUnknownKey) {
						errs <- err
					}
				}
			})
		}
		for _, token := range storm {
			next <- token
			f.clock.Advance(duration / tokens)
		}
		close(next)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("Verify = %v, want ErrUnknownKey", err)
		}
		return f
	}
	t.Run("sequential storm fetches once per interval", func(t *testing.T) {
		f := run(t, 1)
		if n := f.srv.fetches(); n != 4 {
			t.Fatalf("JWKS fetches = %d, want 4 (at 0, 30, 60 and 90 s)", n)
		}
	})
	t.Run("concurrent storm fetches at most once per interval", func(t *testing.T) {
		f := run(t, 32)
		if n := f.srv.fetches(); n < 1 || n > 4 {
			t.Fatalf("JWKS fetches = %d, want 1 to 4", n)
		}
	})
}

// swapAlg returns token with its header replaced by header, keeping payload
// and signature.
func swapAlg(tb testing.TB, token, header string) string {
	tb.Helper()
	return replacePart(token, 0, b64(header))
}

// truncateSig returns sig, base64url-encoded, without its last byte.
func truncateSig(tb testing.TB, sig string) string {
	tb.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1])
}

// TestAttackDuplicateHeaderParameters presents correctly signed tokens
// whose header names a parameter twice, which JSON parsers read
// differently (first or last wins): a verifier that picked one reading for
// the algorithm and another for the signature could be steered. Such a
// header must be refused whatever the values.
func TestAttackDuplicateHeaderParameters(t *testing.T) {
	v := newVerifier(t, session.Options{})
	payload := string(mustJSON(t, claimsWith(nil)))
	for _, header := range []string{
		`{"alg":"HS256","alg":"HS256"}`,
		`{"alg":"none","alg":"HS256"}`,
		`{"alg":"HS256","alg":"none"}`,
		`{"alg":"HS256","kid":"a","kid":"b"}`,
		`{"alg":"HS256","typ":"JWT","typ":"JWT"}`,
	} {
		t.Run(header, func(t *testing.T) {
			mac := hmac.New(sha256.New, secret32)
			mac.Write([]byte(b64(header) + "." + b64(payload)))
			token := rawToken(header, payload, mac.Sum(nil))
			_, err := v.Verify(token, testNow)
			checkError(t, err, session.ErrMalformed)
		})
	}
}
