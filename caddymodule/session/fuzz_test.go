package session_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
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
		if c.Role != session.LowerRole(c.Role) {
			t.Fatalf("role %q is not lower-cased", c.Role)
		}
		for _, v := range []string{c.UserID, c.Name, c.Email, c.Role, c.Division} {
			if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
				t.Fatalf("accepted a claim with a control character: %+v", c)
			}
		}
	})
}

// FuzzJWKSResponse serves arbitrary key set responses to a JWKS verifier and
// checks that parsing never panics, that errors wrap exactly one sentinel,
// and that a token is accepted only when the response publishes the public
// key that signed it.
func FuzzJWKSResponse(f *testing.F) {
	k := testKeys()
	pub := jwk(k.rsaA, "a")
	priv := jose.JSONWebKey{Key: k.rsaA, KeyID: "a"}
	for _, seed := range [][]byte{
		mustJSON(f, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}}),
		mustJSON(f, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{priv}}),
		mustJSON(f, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: secret32, KeyID: "a"}}}),
		mustJSON(f, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk(k.rsaB, "a"), jwk(k.ed, "b")}}),
		[]byte(`{"keys":[{"kty":"OKP","crv":"X25519","x":"AA"},null,1,"a"]}`),
		[]byte(`{"keys":null}`), []byte(`[]`), []byte(``),
	} {
		f.Add(seed)
	}
	tokens := []string{
		mintKID(f, jose.RS256, k.rsaA, "a", claimsWith(nil)),
		mint(f, jose.PS256, k.rsaA, claimsWith(nil)),
		mintKID(f, jose.HS256, secret32, "a", claimsWith(nil)),
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		client := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: -1}, nil
		})}
		v, err := session.NewJWKS("https://idp.example.com/jwks.json", nil, session.Options{}, session.JWKSOptions{Client: client})
		if err != nil {
			t.Fatal(err)
		}
		for _, token := range tokens {
			_, err := v.Verify(token, testNow)
			if err != nil {
				checkSentinel(t, err)
				continue
			}
			if !publishesPublicKey(body, &k.rsaA.PublicKey) {
				t.Fatalf("accepted a token although the set does not publish its public key: %q", body)
			}
		}
	})
}

// publishesPublicKey reports whether the key set body holds a key with the
// modulus of pub and without a private exponent, checked independently of
// go-jose (member names match exactly, as in go-jose).
func publishesPublicKey(body []byte, pub *rsa.PublicKey) bool {
	var set struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if json.Unmarshal(body, &set) != nil {
		return false
	}
	for _, key := range set.Keys {
		var n string
		if json.Unmarshal(key["n"], &n) != nil {
			continue
		}
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(n, "="))
		d, private := key["d"]
		if err == nil && (!private || string(d) == "null") && new(big.Int).SetBytes(raw).Cmp(pub.N) == 0 {
			return true
		}
	}
	return false
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

// RoundTrip calls f.
func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

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
