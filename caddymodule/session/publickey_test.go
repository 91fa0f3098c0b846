package session_test

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

func TestNewPublicKeyFormats(t *testing.T) {
	k := testKeys()
	rsaAlgs := []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512}
	tests := []struct {
		name  string
		pem   []byte
		priv  crypto.Signer
		algs  []jose.SignatureAlgorithm // each must verify
		other jose.SignatureAlgorithm   // signed with priv, must fail with ErrAlgorithm
	}{
		{name: "RSA PKIX public key", pem: pkixPEM(t, &k.rsaA.PublicKey), priv: k.rsaA, algs: rsaAlgs, other: jose.HS256},
		{name: "RSA PKCS1 public key", pem: pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsaA.PublicKey)}), priv: k.rsaA, algs: rsaAlgs, other: jose.HS256},
		{name: "RSA certificate", pem: certPEM(t, k.rsaA), priv: k.rsaA, algs: rsaAlgs, other: jose.HS256},
		{name: "RSA key after explanatory text", pem: append([]byte("Helpdesk signing key, rotated 2026-03\n"), pkixPEM(t, &k.rsaA.PublicKey)...), priv: k.rsaA, algs: rsaAlgs, other: jose.HS256},
		{name: "P-256 PKIX public key", pem: pkixPEM(t, &k.p256A.PublicKey), priv: k.p256A, algs: []jose.SignatureAlgorithm{jose.ES256}, other: jose.ES384},
		{name: "P-256 certificate", pem: certPEM(t, k.p256A), priv: k.p256A, algs: []jose.SignatureAlgorithm{jose.ES256}, other: jose.ES512},
		{name: "P-384 PKIX public key", pem: pkixPEM(t, &k.p384.PublicKey), priv: k.p384, algs: []jose.SignatureAlgorithm{jose.ES384}, other: jose.ES256},
		{name: "P-521 PKIX public key", pem: pkixPEM(t, &k.p521.PublicKey), priv: k.p521, algs: []jose.SignatureAlgorithm{jose.ES512}, other: jose.ES384},
		{name: "Ed25519 PKIX public key", pem: pkixPEM(t, k.ed.Public()), priv: k.ed, algs: []jose.SignatureAlgorithm{jose.EdDSA}, other: jose.HS256},
		{name: "Ed25519 certificate", pem: certPEM(t, k.ed), priv: k.ed, algs: []jose.SignatureAlgorithm{jose.EdDSA}, other: jose.HS256},
	}
	for _, tt := range tests {
		t.Run(tt.name+" verifies the algorithms of its type only", func(t *testing.T) {
			v, err := session.NewPublicKey(tt.pem, nil, session.Options{})
			if err != nil {
				t.Fatalf("NewPublicKey: %v", err)
			}
			for _, alg := range tt.algs {
				if _, err := v.Verify(mint(t, alg, tt.priv, claimsWith(nil)), testNow); err != nil {
					t.Errorf("Verify %s: %v", alg, err)
				}
			}
			// A token claiming another algorithm, whatever it was
			// signed with, is rejected before its signature is read.
			token := swapAlg(t, mint(t, tt.algs[0], tt.priv, claimsWith(nil)), `{"alg":"`+string(tt.other)+`"}`)
			_, err = v.Verify(token, testNow)
			checkError(t, err, session.ErrAlgorithm, token)
		})
	}
}

func TestNewPublicKeyNarrowsAlgorithms(t *testing.T) {
	k := testKeys()
	rsaPEM := pkixPEM(t, &k.rsaA.PublicKey)
	tests := []struct {
		name   string
		algs   []string
		accept []jose.SignatureAlgorithm
		reject []jose.SignatureAlgorithm
	}{
		{name: "nil allows every RSA algorithm", algs: nil,
			accept: []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512}},
		{name: "empty allows every RSA algorithm", algs: []string{},
			accept: []jose.SignatureAlgorithm{jose.RS256, jose.PS512}},
		{name: "PS256 only", algs: []string{"PS256"},
			accept: []jose.SignatureAlgorithm{jose.PS256},
			reject: []jose.SignatureAlgorithm{jose.RS256, jose.PS384, jose.RS512}},
		{name: "RS256 and RS512", algs: []string{"RS512", "RS256", "RS256"},
			accept: []jose.SignatureAlgorithm{jose.RS256, jose.RS512},
			reject: []jose.SignatureAlgorithm{jose.RS384, jose.PS256}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := session.NewPublicKey(rsaPEM, tt.algs, session.Options{})
			if err != nil {
				t.Fatalf("NewPublicKey: %v", err)
			}
			for _, alg := range tt.accept {
				if _, err := v.Verify(mint(t, alg, k.rsaA, claimsWith(nil)), testNow); err != nil {
					t.Errorf("Verify %s: %v", alg, err)
				}
			}
			for _, alg := range tt.reject {
				_, err := v.Verify(mint(t, alg, k.rsaA, claimsWith(nil)), testNow)
				checkError(t, err, session.ErrAlgorithm)
			}
		})
	}
}

func TestNewPublicKeyErrors(t *testing.T) {
	k := testKeys()
	short, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(k.rsaA)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(k.p256A)
	if err != nil {
		t.Fatal(err)
	}
	block := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	rsaPEM := pkixPEM(t, &k.rsaA.PublicKey)

	tests := []struct {
		name    string
		pem     []byte
		algs    []string
		opts    session.Options
		wantErr string
	}{
		{name: "empty input", pem: nil, wantErr: "no pem block"},
		{name: "DER without PEM armour", pem: x509.MarshalPKCS1PublicKey(&k.rsaA.PublicKey), wantErr: "no pem block"},
		{name: "PKCS8 private key", pem: block("PRIVATE KEY", pkcs8), wantErr: "private key"},
		{name: "PKCS1 private key", pem: block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k.rsaA)), wantErr: "private key"},
		{name: "EC private key", pem: block("EC PRIVATE KEY", ecDER), wantErr: "private key"},
		{name: "certificate request", pem: block("CERTIFICATE REQUEST", []byte{1, 2, 3}), wantErr: "not a public key or certificate"},
		{name: "garbage in a public key block", pem: block("PUBLIC KEY", []byte("garbage")), wantErr: "invalid pkix"},
		{name: "garbage in an RSA public key block", pem: block("RSA PUBLIC KEY", []byte("garbage")), wantErr: "invalid pkcs #1"},
		{name: "garbage in a certificate block", pem: block("CERTIFICATE", []byte("garbage")), wantErr: "invalid certificate"},
		{name: "two public keys", pem: append(pkixPEM(t, &k.rsaA.PublicKey), pkixPEM(t, &k.rsaB.PublicKey)...), wantErr: "more than one block"},
		{name: "1024-bit RSA key is too short", pem: pkixPEM(t, &short.PublicKey), wantErr: "1024 bits"},
		{name: "X25519 key cannot sign", pem: pkixPEM(t, x25519.PublicKey()), wantErr: "unsupported key type"},
		{name: "HS256 with an RSA key", pem: rsaPEM, algs: []string{"HS256"}, wantErr: `"HS256" cannot be used with rsa keys`},
		{name: "none with an RSA key", pem: rsaPEM, algs: []string{"none"}, wantErr: `"none" cannot be used`},
		{name: "ES256 with an RSA key", pem: rsaPEM, algs: []string{"RS256", "ES256"}, wantErr: `"ES256" cannot be used`},
		{name: "ES384 with a P-256 key", pem: pkixPEM(t, &k.p256A.PublicKey), algs: []string{"ES384"}, wantErr: `"ES384" cannot be used with P-256 keys`},
		{name: "RS256 with an Ed25519 key", pem: pkixPEM(t, k.ed.Public()), algs: []string{"RS256"}, wantErr: `cannot be used with ed25519 keys`},
		{name: "Ed25519 spelled as a curve", pem: pkixPEM(t, k.ed.Public()), algs: []string{"Ed25519"}, wantErr: `cannot be used`},
		{name: "invalid options", pem: rsaPEM, opts: session.Options{MaxTokenSize: -1}, wantErr: "size"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is rejected", func(t *testing.T) {
			v, err := session.NewPublicKey(tt.pem, tt.algs, tt.opts)
			if err == nil || v != nil {
				t.Fatalf("NewPublicKey = %v, %v; want an error", v, err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if bytes.HasPrefix(tt.pem, []byte("-----BEGIN")) {
				body := pemBody(tt.pem)
				checkNoLeak(t, err, body, body[:min(len(body), 16)])
			}
		})
	}
}
