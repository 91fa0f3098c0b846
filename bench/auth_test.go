package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// askAuth sends the auth service a request with cookie as the session
// cookie, none when empty, and returns its answer.
func askAuth(a *authService, cookie string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/verify", nil)
	req.Header.Set("X-Forwarded-Uri", "/json")
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	}
	w := httptest.NewRecorder()
	a.ServeHTTP(w, req)
	return w
}

// signHS256 returns a compact JWS of payload with header, signed with
// secret.
func signHS256(secret, header, payload string) string {
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signed))
	return signed + "." + enc.EncodeToString(mac.Sum(nil))
}

func TestAuthServiceAcceptsTheBenchsTokenAndSetsTheIdentityHeaders(t *testing.T) {
	keys, err := newSessionKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := keys.hs256()
	if err != nil {
		t.Fatal(err)
	}
	w := askAuth(newAuthService(keys.secret), tok)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", w.Code)
	}
	want := map[string]string{
		"X-Helpdesk-User-Id":     "bench-agent",
		"X-Helpdesk-User-Name":   "Bench Agent",
		"X-Helpdesk-User-Email":  "bench@example.com",
		"X-Helpdesk-User-Role":   "agent",
		"X-Helpdesk-Division-Id": "1",
	}
	for name, v := range want {
		if got := w.Header().Values(name); len(got) != 1 || got[0] != v {
			t.Errorf("%s: %q, want %q", name, got, v)
		}
	}
	if len(want) != len(authIdentityHeaders) {
		t.Errorf("the service sends %d identity headers, the test checks %d", len(authIdentityHeaders), len(want))
	}
}

func TestAuthServiceRefusesBadTokens(t *testing.T) {
	keys, err := newSessionKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other, err := newSessionKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	good, err := keys.hs256()
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := other.hs256()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := keys.rs256()
	if err != nil {
		t.Fatal(err)
	}
	hs := `{"alg":"HS256","typ":"JWT"}`
	now := time.Now().Unix()
	for _, c := range []struct {
		name, token string
		later       time.Duration
	}{
		{"no cookie", "", 0},
		{"signed with another secret", otherKey, 0},
		{"signature of another token", good[:len(good)-43] + otherKey[len(otherKey)-43:], 0},
		{"expired", good, 3 * time.Hour},
		{"at its expiry", good, 2 * time.Hour},
		{"RS256", rs, 0},
		{"alg none", signHS256(keys.secret, `{"alg":"none"}`, `{"sub":"x","exp":9999999999}`), 0},
		{"no expiry", signHS256(keys.secret, hs, `{"sub":"x"}`), 0},
		{"not valid yet", signHS256(keys.secret, hs, `{"sub":"x","exp":9999999999,"nbf":`+strconv.FormatInt(now+3600, 10)+`}`), 0},
		{"two parts", "eyJhbGciOiJIUzI1NiJ9.e30", 0},
		{"four parts", good + ".x", 0},
		{"payload not JSON", signHS256(keys.secret, hs, `sub=x`), 0},
		{"not base64", "!!!." + good, 0},
	} {
		a := newAuthService(keys.secret)
		at := time.Now().Add(c.later)
		a.now = func() time.Time { return at }
		w := askAuth(a, c.token)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", c.name, w.Code)
		}
		for _, h := range authIdentityHeaders {
			if v := w.Header().Get(h); v != "" {
				t.Errorf("%s: %s: %q on a refusal", c.name, h, v)
			}
		}
	}
	// The same service takes a token of its own making with nbf in the
	// past: the cases above fail for their own reason.
	ok := signHS256(keys.secret, hs, `{"sub":"x","exp":9999999999,"nbf":`+strconv.FormatInt(now-60, 10)+`}`)
	if w := askAuth(newAuthService(keys.secret), ok); w.Code != http.StatusOK {
		t.Errorf("a hand-made valid token: status %d, want 200", w.Code)
	}
}
