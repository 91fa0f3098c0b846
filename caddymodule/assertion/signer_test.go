package assertion

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

func TestAssertionsAreReusedForHalfTheirLife(t *testing.T) {
	file := assertionKeyFile(t)
	a, err := New(caddy.Context{}, file, "", time.Minute, session.DefaultLeeway)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_800_000_000, 0)
	ana := session.Claims{UserID: "u-1", Role: "agent", Expiry: t0.Add(time.Hour)}
	first, _ := a.Assertion(ana, "crm", t0)
	if again, _ := a.Assertion(ana, "crm", t0.Add(29*time.Second)); again != first {
		t.Error("a fresh assertion was signed within its first half-life")
	}
	if later, _ := a.Assertion(ana, "crm", t0.Add(31*time.Second)); later == first {
		t.Error("an assertion was reused past half its life")
	}
	if other, _ := a.Assertion(ana, "wiki", t0); other == first {
		t.Error("one app's assertion was given for another app")
	}
	boss := ana
	boss.Role = "admin"
	if promoted, _ := a.Assertion(boss, "crm", t0); promoted == first {
		t.Error("an assertion was reused for a different identity")
	}
	for i := range maxCachedAssertions - len(a.cache) {
		_, _ = a.Assertion(session.Claims{UserID: string(rune(i))}, "crm", t0)
	}
	if n := len(a.cache); n != maxCachedAssertions {
		t.Fatalf("%d cached assertions; want the cache full, %d", n, maxCachedAssertions)
	}
	// A full cache of live entries gives up half at once, so that the
	// next assertions do not each pay for a walk of the whole cache.
	_, _ = a.Assertion(session.Claims{UserID: "one more"}, "crm", t0)
	if n := len(a.cache); n != maxCachedAssertions/2+1 {
		t.Errorf("%d cached assertions after eviction; want %d", n, maxCachedAssertions/2+1)
	}
}

// TestAssertionLastsWhileTheSessionIsAccepted checks the assertion's exp:
// the TTL, but never past the session's exp plus the leeway, the last
// moment the gateway accepts the session; so a session accepted within
// the leeway gets an assertion that is still valid.
func TestAssertionLastsWhileTheSessionIsAccepted(t *testing.T) {
	file := assertionKeyFile(t)
	const leeway = 30 * time.Second
	a, err := New(caddy.Context{}, file, "", time.Minute, leeway)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	for _, c := range []struct {
		name       string
		sessionExp time.Time
		want       time.Time
	}{
		{"session valid for long", now.Add(time.Hour), now.Add(time.Minute)},
		{"session ending within the TTL", now.Add(10 * time.Second), now.Add(40 * time.Second)},
		{"session expired, within the leeway", now.Add(-10 * time.Second), now.Add(20 * time.Second)},
	} {
		_, exp, err := a.sign(session.Claims{UserID: "u-1", Expiry: c.sessionExp}, "crm", now)
		if err != nil {
			t.Fatal(err)
		}
		if !exp.Equal(c.want) {
			t.Errorf("%s: assertion exp %s; want %s", c.name, exp.Sub(now), c.want.Sub(now))
		}
	}
}

func TestAssertionKeyMustBeP256(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	file := filepath.Join(t.TempDir(), "p384.pem")
	os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	if _, err := New(caddy.Context{}, file, "", time.Minute, 0); err == nil {
		t.Error("a P-384 key was accepted for ES256")
	}
	if _, err := New(caddy.Context{}, file, "", 10*time.Minute, 0); err == nil {
		t.Error("an assertion TTL over 5m was accepted")
	}
}

// assertionKeyFile writes a new P-256 key to a PEM file and returns its name.
func assertionKeyFile(t testing.TB) string {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	file := filepath.Join(t.TempDir(), "assertion.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}
