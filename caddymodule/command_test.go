package caddymodule

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

func TestHelpdeskTokenCommandIsRegistered(t *testing.T) {
	if _, ok := caddycmd.Commands()["helpdesk-token"]; !ok {
		t.Fatal("helpdesk-token is not a registered command")
	}
}

func TestMintedHMACTokenPassesTheSessionCheck(t *testing.T) {
	now := time.Now()
	tok, err := mintToken(tokenRequest{
		Secret: testSecret, Subject: "u-9", Name: "Sam", Email: "sam@example.com", Role: "supervisor",
		Division: "12345678901234567", Issuer: "https://helpdesk.test", Audience: "helpdesk-apps", TTL: time.Hour,
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	v, err := session.NewHMAC([]byte(testSecret), "HS256", session.Options{Issuer: "https://helpdesk.test", Audience: "helpdesk-apps"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(tok, now)
	if err != nil {
		t.Fatalf("minted token rejected: %v", err)
	}
	if c.UserID != "u-9" || c.Role != "supervisor" || c.Division != "12345678901234567" || c.Email != "sam@example.com" {
		t.Errorf("claims %+v", c)
	}
	if _, err := v.Verify(tok, now.Add(2*time.Hour)); err == nil {
		t.Error("token still valid after its ttl")
	}
}

func TestMintsWithAPrivateKey(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	file := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	tok, err := mintToken(tokenRequest{KeyFile: file, KeyID: "k1", Subject: "u-1", Role: "agent", TTL: time.Minute}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES384})
	if err != nil {
		t.Fatalf("not an ES384 token: %v", err)
	}
	if parsed.Headers[0].KeyID != "k1" {
		t.Errorf("kid %q", parsed.Headers[0].KeyID)
	}
	var std jwt.Claims
	if err := parsed.Claims(&key.PublicKey, &std); err != nil || std.Subject != "u-1" {
		t.Errorf("verify: %v, sub %q", err, std.Subject)
	}
}

func TestMintTokenRefusesAmbiguousOrBadRequests(t *testing.T) {
	cases := map[string]tokenRequest{
		"no secret and no key": {TTL: time.Hour},
		"secret and key":       {Secret: testSecret, KeyFile: "k.pem", TTL: time.Hour},
		"RSA alg with secret":  {Secret: testSecret, Alg: "RS256", TTL: time.Hour},
		"zero ttl":             {Secret: testSecret},
		"missing key file":     {KeyFile: filepath.Join(t.TempDir(), "none.pem"), TTL: time.Hour},
	}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			if tok, err := mintToken(req, time.Now()); err == nil {
				t.Errorf("minted %q", tok)
			} else if strings.Contains(err.Error(), testSecret) {
				t.Error("the error shows the secret")
			}
		})
	}
}

func TestMintsTokensOutOfTheirTime(t *testing.T) {
	now := time.Now()
	v, err := session.NewHMAC([]byte(testSecret), "HS256", session.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		validFrom time.Duration
		want      error
	}{
		{"not valid yet", 10 * time.Minute, session.ErrNotYetValid},
		{"expired", -2 * time.Hour, session.ErrExpired},
		{"valid now", 0, nil},
	} {
		tok, err := mintToken(tokenRequest{Secret: testSecret, Subject: "u-1", Role: "agent", TTL: time.Hour, ValidFrom: tc.validFrom}, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(tok, now); !errors.Is(err, tc.want) && (tc.want != nil || err != nil) {
			t.Errorf("%s: %v; want %v", tc.name, err, tc.want)
		}
	}
}

func TestMintTokenSaysWhatTheGatewaySaysOfAShortSecret(t *testing.T) {
	_, err := mintToken(tokenRequest{Secret: "short", TTL: time.Hour}, time.Now())
	if err == nil || err.Error() != "--secret: hmac secret too short for HS256: 5 bytes, need at least 32" {
		t.Fatalf("error %v", err)
	}
}
