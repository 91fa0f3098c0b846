package session_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

func TestVerify(t *testing.T) {
	strict := newVerifier(t, session.Options{Issuer: testIssuer, Audience: testAudience})
	lax := newVerifier(t, session.Options{})
	hs512, err := session.NewHMAC(secret64, "HS512", session.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}

	valid := mint(t, jose.HS256, secret32, claimsWith(nil))
	validHeader, validPayload, validSig := splitToken(t, valid)
	noneHeader := `{"alg":"none","typ":"JWT"}`
	payload := func(overrides map[string]any) string { return string(mustJSON(t, claimsWith(overrides))) }
	exp := testNow.Add(time.Hour).Unix()

	want := session.Claims{
		UserID:   "u-42",
		Name:     "Ada Lovelace",
		Email:    "ada@example.com",
		Role:     "agent",
		Division: "3",
		Expiry:   time.Unix(exp, 0),
	}
	with := func(f func(*session.Claims)) session.Claims {
		c := want
		f(&c)
		return c
	}

	tests := []struct {
		name    string
		v       *session.Verifier // strict when nil
		token   string
		want    session.Claims
		wantErr error
	}{
		{name: "valid token is accepted", token: valid, want: want},
		{name: "hand-signed token with a plain header is accepted", token: signRawHeader(t, `{"alg":"HS256"}`, payload(nil)), want: want},
		{name: "valid token without iss and aud checks", v: lax, token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"iss": absent{}, "aud": absent{}})), want: want},
		{name: "expired token is rejected", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"exp": testNow.Add(-time.Hour).Unix()})), wantErr: session.ErrExpired},
		{name: "expired within leeway is accepted", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"exp": testNow.Add(-10 * time.Second).Unix()})),
			want: with(func(c *session.Claims) { c.Expiry = testNow.Add(-10 * time.Second) })},
		{name: "expired exactly by the leeway is rejected", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"exp": testNow.Add(-session.DefaultLeeway).Unix()})), wantErr: session.ErrExpired},
		{name: "fractional exp is accepted", token: signRaw(t, jose.HS256, secret32, fmt.Sprintf(`{"sub":"u-42","exp":%d.5}`, exp)), v: lax,
			want: session.Claims{UserID: "u-42", Expiry: time.Unix(exp, 5e8)}},
		{name: "missing exp is rejected", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"exp": absent{}})), wantErr: session.ErrNoExpiry},
		{name: "null exp is rejected", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"exp": nil})), wantErr: session.ErrNoExpiry},
		{name: "string exp is malformed", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"exp": "tomorrow"})), wantErr: session.ErrMalformed},
		{name: "negative exp is malformed", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"exp": -1})), wantErr: session.ErrMalformed},
		{name: "exp beyond year 9999 is malformed", token: signRaw(t, jose.HS256, secret32, `{"sub":"u-42","exp":1e300}`), v: lax, wantErr: session.ErrMalformed},
		{name: "nbf in the future is rejected", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"nbf": testNow.Add(time.Minute).Unix()})), wantErr: session.ErrNotYetValid},
		{name: "nbf within leeway is accepted", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"nbf": testNow.Add(10 * time.Second).Unix()})), want: want},
		{name: "nbf of the wrong type is malformed", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"nbf": true})), wantErr: session.ErrMalformed},
		{name: "iat in the future is rejected", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"iat": testNow.Add(time.Hour).Unix()})), wantErr: session.ErrNotYetValid},
		{name: "wrong iss is rejected", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"iss": "https://evil.example.com"})), wantErr: session.ErrIssuer},
		{name: "missing iss is rejected", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"iss": absent{}})), wantErr: session.ErrIssuer},
		{name: "non-string iss is rejected", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"iss": []string{testIssuer}})), wantErr: session.ErrIssuer},
		{name: "wrong aud is rejected", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"aud": "other-app"})), wantErr: session.ErrAudience},
		{name: "missing aud is rejected", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"aud": absent{}})), wantErr: session.ErrAudience},
		{name: "aud array containing the audience is accepted", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"aud": []any{"other", 7, testAudience}})), want: want},
		{name: "aud array without the audience is rejected", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"aud": []string{"other", "more"}})), wantErr: session.ErrAudience},
		{name: "signature by another secret is rejected", token: mint(t, jose.HS256, otherSecret, claimsWith(nil)), wantErr: session.ErrSignature},
		{name: "payload tampered after signing is rejected",
			token:   validHeader + "." + b64(payload(map[string]any{"role": "owner"})) + "." + validSig,
			wantErr: session.ErrSignature},
		{name: "truncated signature is rejected", token: validHeader + "." + validPayload + "." + validSig[:40], wantErr: session.ErrSignature},
		{name: "empty signature is rejected", token: validHeader + "." + validPayload + ".", wantErr: session.ErrSignature},
		{name: "non-canonical signature encoding is malformed", token: validHeader + "." + validPayload + "." + flipPaddingBit(t, validSig), wantErr: session.ErrMalformed},
		{name: "alg none is rejected", token: rawToken(noneHeader, payload(nil), nil), wantErr: session.ErrAlgorithm},
		{name: "alg none with a signature is rejected", token: b64(noneHeader) + "." + validPayload + "." + validSig, wantErr: session.ErrAlgorithm},
		{name: "alg NONE in upper case is rejected", token: rawToken(`{"alg":"NONE"}`, payload(nil), nil), wantErr: session.ErrAlgorithm},
		{name: "HS256 token presented to an HS512 verifier is rejected", v: hs512, token: mint(t, jose.HS256, secret64, claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "HS512 token presented to an HS256 verifier is rejected", token: mint(t, jose.HS512, secret64, claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "RS256 token presented to an HS256 verifier is rejected", token: mint(t, jose.RS256, rsaKey, claimsWith(nil)), wantErr: session.ErrAlgorithm},
		{name: "empty token is malformed", token: "", wantErr: session.ErrMalformed},
		{name: "garbage is malformed", token: "garbage", wantErr: session.ErrMalformed},
		{name: "garbage with three parts is malformed", token: "a.b.c", wantErr: session.ErrMalformed},
		{name: "two dots only is malformed", token: "..", wantErr: session.ErrMalformed},
		{name: "three dots is malformed", token: "...", wantErr: session.ErrMalformed},
		{name: "four parts is malformed", token: valid + ".xyz", wantErr: session.ErrMalformed},
		{name: "JWE with five parts is malformed", token: b64(`{"alg":"dir","enc":"A256GCM"}`) + "..aXY.Y2lwaGVy.dGFn", wantErr: session.ErrMalformed},
		{name: "JSON serialization is malformed", token: `{"payload":"` + validPayload + `","protected":"` + validHeader + `","signature":"` + validSig + `"}`, wantErr: session.ErrMalformed},
		{name: "whitespace in token is malformed", token: validHeader + "." + validPayload + "\n." + validSig, wantErr: session.ErrMalformed},
		{name: "padded base64 is malformed", token: validHeader + "." + validPayload + "." + validSig + "=", wantErr: session.ErrMalformed},
		{name: "header that is not JSON is malformed", token: b64("alg=HS256") + "." + validPayload + "." + validSig, wantErr: session.ErrMalformed},
		{name: "header that is an array is malformed", token: b64(`["HS256"]`) + "." + validPayload + "." + validSig, wantErr: session.ErrMalformed},
		{name: "header without alg is malformed", token: b64(`{"typ":"JWT"}`) + "." + validPayload + "." + validSig, wantErr: session.ErrMalformed},
		{name: "numeric alg is malformed", token: b64(`{"alg":256}`) + "." + validPayload + "." + validSig, wantErr: session.ErrMalformed},
		{name: "crit header is malformed", token: signRawHeader(t, `{"alg":"HS256","crit":["exp"],"exp":1}`, payload(nil)), wantErr: session.ErrMalformed},
		{name: "unencoded payload header is malformed", token: signRawHeader(t, `{"alg":"HS256","b64":false,"crit":["b64"]}`, payload(nil)), wantErr: session.ErrMalformed},
		{name: "header with a non-string kid is malformed", token: signRawHeader(t, `{"alg":"HS256","kid":5}`, payload(nil)), wantErr: session.ErrMalformed},
		{name: "b64 header without crit is malformed", token: signRawHeader(t, `{"alg":"HS256","b64":false}`, payload(nil)), wantErr: session.ErrMalformed},
		{name: "signed payload that is not an object is malformed", token: signRaw(t, jose.HS256, secret32, `["sub"]`), wantErr: session.ErrMalformed},
		{name: "signed payload that is null is malformed", token: signRaw(t, jose.HS256, secret32, `null`), wantErr: session.ErrMalformed},
		{name: "signed payload with trailing data is malformed", token: signRaw(t, jose.HS256, secret32, payload(nil)+`{}`), wantErr: session.ErrMalformed},
		{name: "9 KB token is too large", token: valid + strings.Repeat("A", 9*1024), wantErr: session.ErrTooLarge},
		{name: "numeric division becomes text", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"division_id": 3})), want: want},
		{name: "big numeric division stays exact",
			token: signRaw(t, jose.HS256, secret32, strings.Replace(payload(nil), `"division_id":"3"`, `"division_id":12345678901234567890`, 1)),
			want:  with(func(c *session.Claims) { c.Division = "12345678901234567890" })},
		{name: "bool claim becomes true or false", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"name": true})),
			want: with(func(c *session.Claims) { c.Name = "true" })},
		{name: "null claim becomes empty", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"division_id": nil})),
			want: with(func(c *session.Claims) { c.Division = "" })},
		{name: "missing claim becomes empty", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"email": absent{}})),
			want: with(func(c *session.Claims) { c.Email = "" })},
		{name: "object and array claims become empty", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"role": map[string]any{"x": 1}, "division_id": []int{3}})),
			want: with(func(c *session.Claims) { c.Role, c.Division = "", "" })},
		{name: "upper-case role is lower-cased", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"role": "SuperVisor"})),
			want: with(func(c *session.Claims) { c.Role = "supervisor" })},
		{name: "role is lower-cased in ASCII only: a dotted capital I stays", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"role": "ADM\u0130N"})),
			want: with(func(c *session.Claims) { c.Role = "adm\u0130n" })},
		{name: "role with a Kelvin sign stays", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"role": "\u212Aing"})),
			want: with(func(c *session.Claims) { c.Role = "\u212Aing" })},
		{name: "tab in a name is accepted", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"name": "Ada\tLovelace"})),
			want: with(func(c *session.Claims) { c.Name = "Ada\tLovelace" })},
		{name: "CR LF in a name is malformed", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"name": "Ada\r\nX-Helpdesk-User-Role: owner"})), wantErr: session.ErrMalformed},
		{name: "NUL in an email is malformed", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"email": "ada@example.com\x00"})), wantErr: session.ErrMalformed},
		{name: "DEL in a division is malformed", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"division_id": "3\x7f"})), wantErr: session.ErrMalformed},
		{name: "control character in the user id is malformed", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"sub": "u\x1b42"})), wantErr: session.ErrMalformed},
		{name: "big numeric sub stays exact",
			token: signRaw(t, jose.HS256, secret32, strings.Replace(payload(nil), `"sub":"u-42"`, `"sub":98765432109876543210`, 1)),
			want:  with(func(c *session.Claims) { c.UserID = "98765432109876543210" })},
		{name: "missing sub is rejected", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"sub": absent{}})), wantErr: session.ErrNoSubject},
		{name: "empty sub is rejected", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"sub": ""})), wantErr: session.ErrNoSubject},
		{name: "object sub is rejected", token: mint(t, jose.HS256, secret32, claimsWith(map[string]any{"sub": map[string]any{"id": "u-42"}})), wantErr: session.ErrNoSubject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.v
			if v == nil {
				v = strict
			}
			got, err := v.Verify(tt.token, testNow)
			if tt.wantErr != nil {
				checkError(t, err, tt.wantErr, tokenText(tt.token), string(secret32), string(secret64))
				if got != (session.Claims{}) {
					t.Errorf("claims = %+v on error, want zero", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !got.Expiry.Equal(tt.want.Expiry) {
				t.Errorf("Expiry = %v, want %v", got.Expiry, tt.want.Expiry)
			}
			got.Expiry, tt.want.Expiry = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("claims = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestVerifyOptions(t *testing.T) {
	nested := session.Mapping{Role: "realm.role", Division: "org.division.id", UserID: "uid"}
	tests := []struct {
		name    string
		opts    session.Options
		payload map[string]any
		want    session.Claims
		wantErr error
	}{
		{
			name:    "nested claim paths are walked",
			opts:    session.Options{Mapping: nested},
			payload: claimsWith(map[string]any{"uid": 7, "realm": map[string]any{"role": "Admin"}, "org": map[string]any{"division": map[string]any{"id": 9}}}),
			want:    session.Claims{UserID: "7", Name: "Ada Lovelace", Email: "ada@example.com", Role: "admin", Division: "9"},
		},
		{
			name:    "nested path through a non-object is empty",
			opts:    session.Options{Mapping: nested},
			payload: claimsWith(map[string]any{"uid": "u", "realm": "admin", "org": []any{map[string]any{"division": 1}}}),
			want:    session.Claims{UserID: "u", Name: "Ada Lovelace", Email: "ada@example.com"},
		},
		{
			name:    "top-level claim named with dots wins over nesting",
			opts:    session.Options{Mapping: session.Mapping{Role: "https://helpdesk.example.com/role"}},
			payload: claimsWith(map[string]any{"https://helpdesk.example.com/role": "owner", "https://helpdesk": map[string]any{"example": "x"}}),
			want:    session.Claims{UserID: "u-42", Name: "Ada Lovelace", Email: "ada@example.com", Role: "owner", Division: "3"},
		},
		{
			name:    "mapped user id missing is rejected",
			opts:    session.Options{Mapping: nested},
			payload: claimsWith(nil),
			wantErr: session.ErrNoSubject,
		},
		{
			name:    "custom leeway rejects what the default accepts",
			opts:    session.Options{Leeway: 5 * time.Second},
			payload: claimsWith(map[string]any{"exp": testNow.Add(-10 * time.Second).Unix()}),
			wantErr: session.ErrExpired,
		},
		{
			name:    "custom leeway accepts what the default rejects",
			opts:    session.Options{Leeway: session.MaxLeeway},
			payload: claimsWith(map[string]any{"exp": testNow.Add(-time.Minute).Unix()}),
			want:    session.Claims{UserID: "u-42", Name: "Ada Lovelace", Email: "ada@example.com", Role: "agent", Division: "3"},
		},
		{
			name:    "no leeway rejects a token expired a second ago",
			opts:    session.Options{Leeway: session.NoLeeway},
			payload: claimsWith(map[string]any{"exp": testNow.Add(-time.Second).Unix()}),
			wantErr: session.ErrExpired,
		},
		{
			name:    "no leeway rejects a token valid from a second on",
			opts:    session.Options{Leeway: session.NoLeeway},
			payload: claimsWith(map[string]any{"nbf": testNow.Add(time.Second).Unix()}),
			wantErr: session.ErrNotYetValid,
		},
		{
			name:    "custom size limit rejects a normal token",
			opts:    session.Options{MaxTokenSize: 100},
			payload: claimsWith(nil),
			wantErr: session.ErrTooLarge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := mint(t, jose.HS256, secret32, tt.payload)
			got, err := newVerifier(t, tt.opts).Verify(token, testNow)
			if tt.wantErr != nil {
				checkError(t, err, tt.wantErr, tokenText(token))
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got.Expiry = time.Time{}
			if got != tt.want {
				t.Errorf("claims = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLeewayBounds(t *testing.T) {
	for _, leeway := range []time.Duration{-time.Second, session.MaxLeeway + time.Second, 365 * 24 * time.Hour} {
		if _, err := session.NewHMAC(secret32, "", session.Options{Leeway: leeway}); err == nil {
			t.Errorf("leeway %s accepted", leeway)
		}
	}
	v := newVerifier(t, session.Options{Leeway: session.NoLeeway})
	if got := v.Leeway(); got != 0 {
		t.Errorf("Leeway() = %s with NoLeeway; want 0", got)
	}
	if got := newVerifier(t, session.Options{}).Leeway(); got != session.DefaultLeeway {
		t.Errorf("Leeway() = %s by default; want %s", got, session.DefaultLeeway)
	}
}

func TestTooLargeIsNotMalformed(t *testing.T) {
	_, err := newVerifier(t, session.Options{}).Verify(strings.Repeat("A", session.DefaultMaxTokenSize+1), testNow)
	if !errors.Is(err, session.ErrTooLarge) || errors.Is(err, session.ErrMalformed) {
		t.Fatalf("error = %v, want ErrTooLarge only", err)
	}
}

func TestNewHMAC(t *testing.T) {
	tests := []struct {
		name    string
		secret  []byte
		alg     string
		opts    session.Options
		wantErr string // substring; "" means success
	}{
		{name: "empty alg means HS256", secret: secret32, alg: ""},
		{name: "HS256 with 32 bytes", secret: secret32, alg: "HS256"},
		{name: "HS256 with 31 bytes is too short", secret: secret32[:31], alg: "HS256", wantErr: "need at least 32"},
		{name: "HS384 with 48 bytes", secret: secret48, alg: "HS384"},
		{name: "HS384 with 47 bytes is too short", secret: secret48[:47], alg: "HS384", wantErr: "need at least 48"},
		{name: "HS384 with a HS256-sized secret is too short", secret: secret32, alg: "HS384", wantErr: "need at least 48"},
		{name: "HS512 with 64 bytes", secret: secret64, alg: "HS512"},
		{name: "HS512 with 63 bytes is too short", secret: secret64[:63], alg: "HS512", wantErr: "need at least 64"},
		{name: "empty secret is too short", secret: nil, alg: "", wantErr: "need at least 32"},
		{name: "lower-case alg is unsupported", secret: secret32, alg: "hs256", wantErr: "unsupported"},
		{name: "none is unsupported", secret: secret32, alg: "none", wantErr: "unsupported"},
		{name: "RS256 is unsupported", secret: secret32, alg: "RS256", wantErr: "unsupported"},
		{name: "negative leeway", secret: secret32, opts: session.Options{Leeway: -time.Second}, wantErr: "leeway"},
		{name: "negative size limit", secret: secret32, opts: session.Options{MaxTokenSize: -1}, wantErr: "size"},
		{name: "claim path with an empty segment", secret: secret32, opts: session.Options{Mapping: session.Mapping{Role: "realm..role"}}, wantErr: "invalid claim path"},
		{name: "claim path with a leading dot", secret: secret32, opts: session.Options{Mapping: session.Mapping{Division: ".division"}}, wantErr: "invalid claim path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := session.NewHMAC(tt.secret, tt.alg, tt.opts)
			if tt.wantErr == "" {
				if err != nil || v == nil {
					t.Fatalf("NewHMAC: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if len(tt.secret) > 0 && strings.Contains(err.Error(), string(tt.secret)) {
				t.Fatalf("error %q contains the secret", err)
			}
		})
	}
}

func TestNewHMACAlgorithms(t *testing.T) {
	for _, tt := range []struct {
		alg    jose.SignatureAlgorithm
		secret []byte
	}{
		{jose.HS256, secret32},
		{jose.HS384, secret48},
		{jose.HS512, secret64},
	} {
		t.Run(string(tt.alg)+" verifies its own tokens only", func(t *testing.T) {
			v, err := session.NewHMAC(tt.secret, string(tt.alg), session.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(mint(t, tt.alg, tt.secret, claimsWith(nil)), testNow); err != nil {
				t.Fatalf("Verify own token: %v", err)
			}
			for _, other := range []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512} {
				if other == tt.alg {
					continue
				}
				_, err := v.Verify(mint(t, other, secret64, claimsWith(nil)), testNow)
				checkError(t, err, session.ErrAlgorithm)
			}
		})
	}
}

func TestNewHMACCopiesSecret(t *testing.T) {
	secret := append([]byte(nil), secret32...)
	v, err := session.NewHMAC(secret, "HS256", session.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clear(secret)
	if _, err := v.Verify(mint(t, jose.HS256, secret32, claimsWith(nil)), testNow); err != nil {
		t.Fatalf("Verify after the caller reused its secret: %v", err)
	}
}

// splitToken returns the three parts of a compact token.
func splitToken(tb testing.TB, token string) (header, payload, sig string) {
	tb.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		tb.Fatalf("token has %d parts", len(parts))
	}
	return parts[0], parts[1], parts[2]
}

// b64 encodes s as unpadded base64url.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// flipPaddingBit returns sig with the lowest bit of its last character
// flipped. That bit is padding for a 32-byte signature, so a lenient decoder
// would decode the result to the same signature.
func flipPaddingBit(tb testing.TB, sig string) string {
	tb.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, sig[len(sig)-1])
	flipped := sig[:len(sig)-1] + string(alphabet[i^1])
	a, errA := base64.RawURLEncoding.DecodeString(sig)
	b, errB := base64.RawURLEncoding.DecodeString(flipped)
	if errA != nil || errB != nil || string(a) != string(b) {
		tb.Fatal("flipped bit is not a padding bit")
	}
	return flipped
}

// signRawHeader returns a token with exactly header and payload, signed
// HS256 with secret32.
func signRawHeader(tb testing.TB, header, payload string) string {
	tb.Helper()
	input := b64(header) + "." + b64(payload)
	return input + "." + base64.RawURLEncoding.EncodeToString(hmacSHA256(secret32, input))
}

// tokenText returns the token when it is long enough to be recognisable in
// an error message, and "" otherwise.
func tokenText(token string) string {
	if len(token) < 32 {
		return ""
	}
	return token
}

// TestSigned: any token the verifier's key signed is a Helpdesk credential,
// whatever its claims; nothing else is.
func TestSigned(t *testing.T) {
	v := newVerifier(t, session.Options{Issuer: testIssuer, Audience: testAudience})
	valid := mint(t, jose.HS256, secret32, claimsWith(nil))
	for _, tt := range []struct {
		name  string
		token string
		want  bool
	}{
		{"valid", valid, true},
		{"expired", mint(t, jose.HS256, secret32, claimsWith(map[string]any{"exp": testNow.Add(-time.Hour).Unix()})), true},
		{"another issuer and audience", mint(t, jose.HS256, secret32, claimsWith(map[string]any{"iss": "x", "aud": "y"})), true},
		{"no subject", mint(t, jose.HS256, secret32, claimsWith(map[string]any{"sub": absent{}})), true},
		{"another key", mint(t, jose.HS256, otherSecret, claimsWith(nil)), false},
		{"another algorithm", mint(t, jose.HS512, secret64, claimsWith(nil)), false},
		{"signature cut", valid[:len(valid)-2], false},
		{"alg none", signRawHeader(t, `{"alg":"none"}`, "e30"), false},
		{"not a token", "dXNlcjpwYXNz", false},
		{"empty", "", false},
	} {
		if got := v.Signed(tt.token); got != tt.want {
			t.Errorf("%s: Signed = %v; want %v", tt.name, got, tt.want)
		}
	}
	if _, err := v.Verify(valid, testNow); err != nil {
		t.Fatal(err)
	}
	if !v.Signed(valid) {
		t.Error("a token in the cache is not Signed")
	}
}
