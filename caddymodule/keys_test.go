package caddymodule

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func TestSessionWithRSAPublicKey(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	file := filepath.Join(t.TempDir(), "session.pub.pem")
	if err := os.WriteFile(file, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	up := newUpstream(t)
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			public_key %s
			issuer https://helpdesk.test
		}
		app open {
			to %s
		}
	}`, file, up.URL))
	c := agent("agent", 3)
	c.Audience = nil

	if resp, body := get(t, base+"/apps/open/echo", sign(t, jose.RS256, key, c)); resp.StatusCode != 200 {
		t.Errorf("RS256 token: status %d: %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, base+"/apps/open/echo", sign(t, jose.PS256, key, c)); resp.StatusCode != 200 {
		t.Errorf("PS256 token from the same RSA key: status %d", resp.StatusCode)
	}
	// Algorithm confusion: an HMAC "signed" with the public key's bytes.
	for name, secret := range map[string][]byte{"PEM": pemBytes, "DER": der} {
		if resp, _ := get(t, base+"/apps/open/echo", sign(t, jose.HS256, secret, c)); resp.StatusCode != 401 {
			t.Errorf("HS256 keyed with the public key's %s: status %d; want 401", name, resp.StatusCode)
		}
	}
	if n := up.requests(); n != 2 {
		t.Errorf("upstream saw %d requests; want the 2 valid ones", n)
	}
}

func TestSessionWithJWKS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"},
	}})
	var jwksDown atomic.Bool
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if jwksDown.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(set)
	}))
	t.Cleanup(idp.Close)

	start := func(t *testing.T) (string, *upstream) {
		up := newUpstream(t)
		return startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			jwks %s/jwks.json
		}
		app open {
			to %s
		}
	}`, idp.URL, up.URL)), up
	}
	c := agent("agent", 3)
	c.Issuer, c.Audience = "", nil
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	tok := signWith(t, signer, c)

	t.Run("verifies with the published key", func(t *testing.T) {
		base, _ := start(t)
		if resp, body := get(t, base+"/apps/open/echo", tok); resp.StatusCode != 200 {
			t.Errorf("status %d: %s", resp.StatusCode, body)
		}
	})
	t.Run("keys unreachable is 503, not 401", func(t *testing.T) {
		jwksDown.Store(true)
		defer jwksDown.Store(false)
		base, up := start(t)
		if resp, _ := get(t, base+"/apps/open/echo", tok); resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("status %d; want 503", resp.StatusCode)
		}
		if up.requests() != 0 {
			t.Error("the upstream was reached without a verified session")
		}
	})
	t.Run("health is 503 until the key set is fetched", func(t *testing.T) {
		jwksDown.Store(true)
		defer jwksDown.Store(false)
		base, _ := start(t)
		resp, body := get(t, base+"/apps/_api/health", "")
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"status":"unavailable"`) ||
			!strings.Contains(body, "key set (jwks) could not be fetched") || !strings.Contains(body, `"key_set":{"keys":0}`) {
			t.Fatalf("health while the key set is down: %d %s", resp.StatusCode, body)
		}
		jwksDown.Store(false)
		resp, body = get(t, base+"/apps/_api/health", "")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"ok"`) || !strings.Contains(body, `"key_set":{"keys":1,"fetched_at":"`) ||
			!strings.Contains(body, `"apps":1`) || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("health once it is up: %d %s", resp.StatusCode, body)
		}
		if strings.Contains(body, idp.URL) {
			t.Errorf("health names the key set's URL: %s", body)
		}
	})
}
