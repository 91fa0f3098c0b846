package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// sessionCookie is the cookie the gateway reads the session token from.
const sessionCookie = "hd_session"

// sessionKeys are the keys the bench's Helpdesk signs sessions with.
type sessionKeys struct {
	// secret is the HS256 secret, as written in the Caddyfile.
	secret string
	// rsaKey signs RS256 sessions; its public half is in publicKeyPath.
	rsaKey        *rsa.PrivateKey
	publicKeyPath string
}

// newSessionKeys makes a random HMAC secret and an RSA key, and writes the
// public key into dir.
func newSessionKeys(dir string) (sessionKeys, error) {
	raw := make([]byte, 32)
	rand.Read(raw)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return sessionKeys{}, fmt.Errorf("generating the rsa key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return sessionKeys{}, fmt.Errorf("encoding the rsa public key: %w", err)
	}
	path := dir + "/session-rsa.pub.pem"
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		return sessionKeys{}, err
	}
	return sessionKeys{secret: hex.EncodeToString(raw), rsaKey: key, publicKeyPath: path}, nil
}

// hs256 returns a session token signed with the HMAC secret.
func (k sessionKeys) hs256() (string, error) {
	return mint(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(k.secret)})
}

// rs256 returns a session token signed with the RSA key.
func (k sessionKeys) rs256() (string, error) {
	return mint(jose.SigningKey{Algorithm: jose.RS256, Key: k.rsaKey})
}

// mint returns a session token for an agent of division 1, valid for two
// hours: longer than any run.
func mint(key jose.SigningKey) (string, error) {
	signer, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("making a %s signer: %w", key.Algorithm, err)
	}
	now := time.Now()
	claims := map[string]any{
		"sub":         "bench-agent",
		"name":        "Bench Agent",
		"email":       "bench@example.com",
		"role":        "agent",
		"division_id": 1,
		"iat":         now.Unix(),
		"exp":         now.Add(2 * time.Hour).Unix(),
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("signing a %s token: %w", key.Algorithm, err)
	}
	return tok, nil
}
