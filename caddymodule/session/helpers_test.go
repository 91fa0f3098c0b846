package session_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

const (
	testIssuer   = "https://helpdesk.example.com"
	testAudience = "helpdesk-apps"
)

var (
	// testNow is the verification time of every test.
	testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	secret32 = []byte("0123456789abcdef0123456789abcdef")
	secret48 = []byte("0123456789abcdef0123456789abcdef0123456789abcdef")
	secret64 = []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	// otherSecret is a valid HS256 secret that is not secret32.
	otherSecret = []byte("fedcba9876543210fedcba9876543210")
)

// sentinels lists every sentinel error of the package.
var sentinels = []error{
	session.ErrMalformed, session.ErrTooLarge, session.ErrAlgorithm,
	session.ErrUnknownKey, session.ErrNoKeyID, session.ErrKeysUnavailable,
	session.ErrSignature, session.ErrExpired, session.ErrNoExpiry,
	session.ErrNotYetValid, session.ErrIssuer, session.ErrAudience,
	session.ErrNoSubject, session.ErrNoToken, session.ErrConflictingTokens,
}

// absent marks a claim to delete in claimsWith.
type absent struct{}

// claimsWith returns a valid claims set for testNow, with the overrides
// applied; an override of absent{} deletes the claim.
func claimsWith(overrides map[string]any) map[string]any {
	c := map[string]any{
		"sub":         "u-42",
		"name":        "Ada Lovelace",
		"email":       "ada@example.com",
		"role":        "agent",
		"division_id": "3",
		"iss":         testIssuer,
		"aud":         testAudience,
		"exp":         testNow.Add(time.Hour).Unix(),
		"iat":         testNow.Add(-time.Minute).Unix(),
	}
	maps.Copy(c, overrides)
	maps.DeleteFunc(c, func(_ string, v any) bool { return v == absent{} })
	return c
}

// signer returns a go-jose signer for alg and key.
func signer(tb testing.TB, alg jose.SignatureAlgorithm, key any) jose.Signer {
	tb.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		tb.Fatalf("NewSigner: %v", err)
	}
	return s
}

// mint returns a JWT with claims, signed by go-jose.
func mint(tb testing.TB, alg jose.SignatureAlgorithm, key any, claims map[string]any) string {
	tb.Helper()
	tok, err := jwt.Signed(signer(tb, alg, key)).Claims(claims).Serialize()
	if err != nil {
		tb.Fatalf("Serialize: %v", err)
	}
	return tok
}

// signRaw returns a JWS whose payload is exactly payload, signed by go-jose.
// It lets tests use JSON that go-jose would not marshal, such as big numbers.
func signRaw(tb testing.TB, alg jose.SignatureAlgorithm, key any, payload string) string {
	tb.Helper()
	jws, err := signer(tb, alg, key).Sign([]byte(payload))
	if err != nil {
		tb.Fatalf("Sign: %v", err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		tb.Fatalf("CompactSerialize: %v", err)
	}
	return tok
}

// rawToken assembles a compact token from its decoded parts, for tokens
// go-jose refuses to produce.
func rawToken(header, payload string, sig []byte) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(sig)
}

// replacePart returns token with its i-th dot-separated part replaced.
func replacePart(token string, i int, part string) string {
	parts := strings.Split(token, ".")
	parts[i] = part
	return strings.Join(parts, ".")
}

// newVerifier returns an HS256 verifier keyed with secret32.
func newVerifier(tb testing.TB, opts session.Options) *session.Verifier {
	tb.Helper()
	v, err := session.NewHMAC(secret32, "HS256", opts)
	if err != nil {
		tb.Fatalf("NewHMAC: %v", err)
	}
	return v
}

// checkError fails unless err wraps want and no other sentinel, and its text
// leaks none of the given secrets.
func checkError(tb testing.TB, err, want error, secrets ...string) {
	tb.Helper()
	if !errors.Is(err, want) {
		tb.Fatalf("error = %v, want %v", err, want)
	}
	checkSentinel(tb, err)
	checkNoLeak(tb, err, secrets...)
}

// checkSentinel fails unless err wraps exactly one sentinel.
func checkSentinel(tb testing.TB, err error) {
	tb.Helper()
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		tb.Fatalf("error %q wraps %d sentinels, want 1", err, n)
	}
}

// checkNoLeak fails if the text of err contains any of secrets.
func checkNoLeak(tb testing.TB, err error, secrets ...string) {
	tb.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			tb.Fatalf("error %q contains secret text", err)
		}
	}
}

// mustJSON marshals v with encoding/json.
func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("json.Marshal: %v", err)
	}
	return b
}

// hmacSHA256 returns the HMAC-SHA256 of input under key.
func hmacSHA256(key []byte, input string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(input))
	return m.Sum(nil)
}
