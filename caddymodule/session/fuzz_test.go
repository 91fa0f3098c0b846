package session_test

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// FuzzVerify checks that Verify never panics, that every error wraps exactly
// one sentinel without quoting the token, and that a token is accepted only
// when it really carries an HS256 signature by the secret.
func FuzzVerify(f *testing.F) {
	v := newVerifier(f, session.Options{Issuer: testIssuer, Audience: testAudience})
	valid := mint(f, jose.HS256, secret32, claimsWith(nil))
	header, payload, sig := splitToken(f, valid)
	for _, seed := range []string{
		valid,
		mint(f, jose.HS256, otherSecret, claimsWith(nil)),
		mint(f, jose.HS512, secret64, claimsWith(nil)),
		signRaw(f, jose.HS256, secret32, `{"sub":12345678901234567890,"exp":1e10,"aud":["helpdesk-apps"],"iss":"https://helpdesk.example.com"}`),
		rawToken(`{"alg":"none"}`, `{"sub":"u-42","exp":9999999999}`, nil),
		header + "." + payload + ".",
		header + ".." + sig,
		header + "." + payload + "." + sig + "." + sig + "." + sig,
		"", ".", "...", "a.b.c", "garbage",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(token, testNow)
		if err != nil {
			checkSentinel(t, err)
			checkNoLeak(t, err, tokenText(token))
			return
		}
		if !signedHS256(token, secret32) {
			t.Fatalf("accepted a token not signed with the secret: %q", token)
		}
		if c.UserID == "" || c.Expiry.IsZero() {
			t.Fatalf("accepted claims without user id or expiry: %+v", c)
		}
	})
}

// FuzzClaims signs arbitrary payloads with the secret, so that the claim
// checks and the mapping see every shape of JSON.
func FuzzClaims(f *testing.F) {
	v := newVerifier(f, session.Options{Issuer: testIssuer, Audience: testAudience,
		Mapping: session.Mapping{Role: "realm.role", Division: "org.division"}})
	for _, seed := range []string{
		string(mustJSON(f, claimsWith(nil))),
		`{"sub":"u","exp":1e10,"iss":"https://helpdesk.example.com","aud":"helpdesk-apps","realm":{"role":"ADMIN"},"org":{"division":12345678901234567890}}`,
		`{"sub":1.5e3,"exp":9999999999.999,"nbf":null,"iat":0,"iss":"https://helpdesk.example.com","aud":[1,"helpdesk-apps"]}`,
		`{"exp":-1}`, `[]`, `null`, `"x"`, `{}`, `{"realm.role":"x"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		token := signRaw(t, jose.HS256, secret32, payload)
		c, err := v.Verify(token, testNow)
		if err != nil {
			checkSentinel(t, err)
			return
		}
		if !json.Valid([]byte(payload)) {
			t.Fatalf("accepted invalid JSON %q", payload)
		}
		if c.UserID == "" || !c.Expiry.After(testNow.Add(-session.DefaultLeeway)) {
			t.Fatalf("accepted claims without user id or with a past expiry: %+v", c)
		}
		if c.Role != strings.ToLower(c.Role) {
			t.Fatalf("role %q is not lower-cased", c.Role)
		}
	})
}

// signedHS256 reports whether token is a canonical compact JWS with an
// HS256 header and a valid HMAC-SHA256 signature by secret, checked
// independently of the package.
func signedHS256(token string, secret []byte) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	enc := base64.RawURLEncoding.Strict()
	rawHeader, err := enc.DecodeString(parts[0])
	if err != nil {
		return false
	}
	var h map[string]any
	if json.Unmarshal(rawHeader, &h) != nil || h["alg"] != "HS256" {
		return false
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil || strings.ContainsAny(token, "\r\n") {
		return false
	}
	return hmac.Equal(sig, hmacSHA256(secret, parts[0]+"."+parts[1]))
}
