package signin

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"golang.org/x/oauth2"

	"github.com/helpdeskapps/gateway/caddymodule/session"
	"github.com/helpdeskapps/gateway/internal/oidctest"
)

const (
	clientID     = "helpdesk-apps"
	clientSecret = "gateway secret/with:odd+chars"
	otherID      = "other-app"
	otherSecret  = "other-secret"
	callback     = "https://apps.example.com/apps/_auth/callback"
	frameOrigin  = "https://apps.example.com"
)

// provider starts a real OpenID provider with the gateway's client, another
// client, and two users.
func provider(t *testing.T, ttl oidctest.TTL) *oidctest.Provider {
	t.Helper()
	return oidctest.Start(t, oidctest.Config{
		Clients: []oidctest.Client{
			{ID: clientID, Secret: clientSecret, RedirectURIs: []string{callback}, GrantTypes: []string{"authorization_code", "refresh_token"}},
			{ID: otherID, Secret: otherSecret, RedirectURIs: []string{callback}},
		},
		Accounts: []oidctest.Account{
			{Sub: "alice", Email: "alice@example.com", EmailVerified: true, Name: "Alice Agent", Role: "Agent", DivisionID: 7},
			{Sub: "bob", Email: "bob@example.com", Name: "Bob Owner", Role: "owner", DivisionID: "north"},
		},
		TTL: ttl,
	})
}

// service is a sign-in with p, its storage in a folder of its own.
func service(t *testing.T, p *oidctest.Provider, storage certmagic.Storage, scopes ...string) *Service {
	t.Helper()
	if storage == nil {
		storage = &certmagic.FileStorage{Path: t.TempDir()}
	}
	s, err := New(context.Background(), Config{
		Issuer: p.Issuer(), ClientID: clientID, ClientSecret: clientSecret,
		Scopes: append([]string{"email", "profile", "helpdesk"}, scopes...), MaxAge: time.Hour,
		Storage: storage, Folder: "signin/", HTTPClient: p.HTTPClient(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// popup is the browser of the sign-in popup: the provider's cookies and
// the gateway's state cookie.
type popup struct {
	t      *testing.T
	p      *oidctest.Provider
	client *http.Client
	cookie *http.Cookie
}

// flowSecret is the frame's secret, and flowHash its hash, as the page
// computes it.
const flowSecret = "the-frame-s-own-secret"

var flowHash = func() string {
	sum := sha256.Sum256([]byte(flowSecret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}()

// start runs Start as the popup's first request and returns the redirect
// to the provider.
func (b *popup) start(s *Service) string {
	b.t.Helper()
	rec := httptest.NewRecorder()
	if err := s.Start(rec, httptest.NewRequest(http.MethodGet, "https://apps.example.com/apps/_auth/start", nil), frameOrigin, flowHash, callback); err != nil {
		b.t.Fatal(err)
	}
	resp := rec.Result()
	for _, c := range resp.Cookies() {
		if c.Name == StateCookie {
			b.cookie = c
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				b.t.Errorf("state cookie %v: want Secure, HttpOnly, SameSite=Lax, Path=/", c)
			}
		}
	}
	if b.cookie == nil {
		b.t.Fatal("no state cookie")
	}
	return resp.Header.Get("Location")
}

// signIn signs login in at the provider and returns the callback's URL.
func (b *popup) signIn(authURL, login string) *url.URL {
	b.t.Helper()
	redirect, err := b.p.SignIn(context.Background(), b.client, authURL, login)
	if err != nil {
		b.t.Fatalf("signing in at the provider: %v", err)
	}
	return redirect
}

// callback runs Callback for the redirect, with the state cookie.
func (b *popup) callback(s *Service, redirect *url.URL) (string, string, error) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, redirect.String(), nil)
	if b.cookie != nil {
		req.AddCookie(b.cookie)
	}
	return s.Callback(rec, req)
}

func newPopup(t *testing.T, p *oidctest.Provider) *popup {
	return &popup{t: t, p: p, client: p.HTTPClient()}
}

// exchange trades code for the session cookie, as the frame does.
func exchange(t *testing.T, s *Service, code, flow, origin string) (*http.Cookie, error) {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := s.Exchange(context.Background(), rec, code, flow, origin); err != nil {
		return nil, err
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == SessionCookie {
			return c, nil
		}
	}
	t.Fatal("no session cookie")
	return nil, nil
}

// sessionOf reads the session of a request with the cookie.
func sessionOf(s *Service, c *http.Cookie) (Session, *httptest.ResponseRecorder, error) {
	req := httptest.NewRequest(http.MethodGet, "https://apps.example.com/apps/crm/", nil)
	req.AddCookie(c)
	rec := httptest.NewRecorder()
	sess, err := s.Session(rec, req)
	return sess, rec, err
}

func TestSignInCodeFlowGivesAPartitionedSession(t *testing.T) {
	p := provider(t, oidctest.TTL{})
	s := service(t, p, nil)
	b := newPopup(t, p)
	authURL := b.start(s)
	q, _ := url.Parse(authURL)
	for name, want := range map[string]string{"code_challenge_method": "S256", "client_id": clientID, "redirect_uri": callback, "response_type": "code"} {
		if got := q.Query().Get(name); got != want {
			t.Errorf("authorization request %s = %q; want %q", name, got, want)
		}
	}
	for _, name := range []string{"code_challenge", "nonce", "state"} {
		if q.Query().Get(name) == "" {
			t.Errorf("authorization request without %s", name)
		}
	}
	code, origin, err := b.callback(s, b.signIn(authURL, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if origin != frameOrigin {
		t.Fatalf("the code goes to %q; want the frame's %q", origin, frameOrigin)
	}
	cookie, err := exchange(t, s, code, flowSecret, frameOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if !cookie.Secure || !cookie.HttpOnly || !cookie.Partitioned || cookie.SameSite != http.SameSiteNoneMode || cookie.Path != "/" || cookie.Domain != "" {
		t.Errorf("session cookie %s: want __Host-, Secure, HttpOnly, SameSite=None, Partitioned", cookie)
	}
	sess, _, err := sessionOf(s, cookie)
	if err != nil {
		t.Fatal(err)
	}
	want := session.Claims{UserID: "alice", Name: "Alice Agent", Email: "alice@example.com", Role: "agent", Division: "7"}
	got := sess.Claims
	got.Expiry = time.Time{}
	if got != want {
		t.Errorf("claims %+v; want %+v", got, want)
	}
	if sess.Deadline.After(time.Now().Add(time.Hour)) || sess.Expiry.After(sess.Deadline) {
		t.Errorf("session expiry %v, deadline %v: want within max_age", sess.Expiry, sess.Deadline)
	}
}

func TestSignInRefusesWhatAnAttackerTries(t *testing.T) {
	p := provider(t, oidctest.TTL{})
	s := service(t, p, nil)

	t.Run("no state cookie: a callback this browser did not start", func(t *testing.T) {
		b := newPopup(t, p)
		redirect := b.signIn(b.start(s), "alice")
		b.cookie = nil
		if _, _, err := b.callback(s, redirect); err == nil {
			t.Fatal("accepted")
		}
	})
	t.Run("another sign-in's state cookie", func(t *testing.T) {
		victim, attacker := newPopup(t, p), newPopup(t, p)
		victim.start(s)
		redirect := attacker.signIn(attacker.start(s), "bob")
		attacker.cookie = victim.cookie // the attacker's code, the victim's browser
		if _, _, err := attacker.callback(s, redirect); err == nil || !strings.Contains(err.Error(), "state") {
			t.Fatalf("accepted, or not for the state: %v", err)
		}
	})
	t.Run("the right state with another PKCE verifier", func(t *testing.T) {
		b := newPopup(t, p)
		redirect := b.signIn(b.start(s), "alice")
		var st state
		if err := s.keys.Open(context.Background(), purposeState, b.cookie.Value, &st); err != nil {
			t.Fatal(err)
		}
		st.Verifier = oauth2.GenerateVerifier()
		forged, err := s.keys.Seal(context.Background(), purposeState, st, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		b.cookie.Value = forged
		if _, _, err := b.callback(s, redirect); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("the provider took the code with another verifier: %v", err)
		}
	})
	t.Run("a provider code replayed", func(t *testing.T) {
		b := newPopup(t, p)
		redirect := b.signIn(b.start(s), "alice")
		if _, _, err := b.callback(s, redirect); err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.callback(s, redirect); err == nil {
			t.Fatal("the same code signed in twice")
		}
	})
	t.Run("a one-time code replayed", func(t *testing.T) {
		b := newPopup(t, p)
		code, _, err := b.callback(s, b.signIn(b.start(s), "alice"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := exchange(t, s, code, flowSecret, frameOrigin); err != nil {
			t.Fatal(err)
		}
		// On another instance sharing the storage too.
		other := service(t, p, s.cfg.Storage)
		for _, inst := range []*Service{s, other} {
			if _, err := exchange(t, inst, code, flowSecret, frameOrigin); err == nil || !strings.Contains(err.Error(), "already used") {
				t.Fatalf("replayed code: %v", err)
			}
		}
	})
	t.Run("a code for another frame", func(t *testing.T) {
		b := newPopup(t, p)
		code, _, err := b.callback(s, b.signIn(b.start(s), "alice"))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ flow, origin string }{
			{"not-the-flow-secret", frameOrigin},
			{flowHash, frameOrigin}, // the hash, which the popup's URL showed, is not the secret
			{flowSecret, "https://evil.example.net"},
		} {
			if _, err := exchange(t, s, code, tc.flow, tc.origin); err == nil {
				t.Errorf("exchanged with flow %q from %s", tc.flow, tc.origin)
			}
		}
		// Refusals do not spend it: the frame that started the flow still can.
		if _, err := exchange(t, s, code, flowSecret, frameOrigin); err != nil {
			t.Fatalf("the right frame: %v", err)
		}
	})
	t.Run("a code changed", func(t *testing.T) {
		b := newPopup(t, p)
		code, _, err := b.callback(s, b.signIn(b.start(s), "alice"))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(code)
		raw[len(raw)-1] ^= 1
		if _, err := exchange(t, s, base64.RawURLEncoding.EncodeToString(raw), flowSecret, frameOrigin); err == nil {
			t.Fatal("a changed code was exchanged")
		}
	})
	t.Run("a session cookie used as a code, and the reverse", func(t *testing.T) {
		b := newPopup(t, p)
		code, _, err := b.callback(s, b.signIn(b.start(s), "alice"))
		if err != nil {
			t.Fatal(err)
		}
		cookie, err := exchange(t, s, code, flowSecret, frameOrigin)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := exchange(t, s, cookie.Value, flowSecret, frameOrigin); err == nil {
			t.Error("a session cookie was exchanged as a code")
		}
		if _, _, err := sessionOf(s, &http.Cookie{Name: SessionCookie, Value: code}); err == nil {
			t.Error("a code was taken for a session")
		}
	})
	t.Run("a sign-in started without a frame's flow", func(t *testing.T) {
		rec := httptest.NewRecorder()
		err := s.Start(rec, httptest.NewRequest(http.MethodGet, "/", nil), frameOrigin, "", callback)
		var se *Error
		if !errors.As(err, &se) || se.Status != http.StatusBadRequest {
			t.Fatalf("started: %v", err)
		}
	})
}

// TestSignInVerifiesTheIDToken hands the sign-in ID tokens that must not
// pass, as a provider's compromised or confused answer would: each is
// refused.
func TestSignInVerifiesTheIDToken(t *testing.T) {
	p := provider(t, oidctest.TTL{})
	s := service(t, p, nil)
	verifier, _, err := s.discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	good := map[string]any{"iss": p.Issuer(), "aud": clientID, "sub": "alice", "role": "agent", "nonce": "n-1",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	sign := func(c map[string]any) string {
		tok, err := p.SignJWT(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	other := provider(t, oidctest.TTL{}) // another key, for the same claims
	foreign, err := other.SignJWT(good)
	if err != nil {
		t.Fatal(err)
	}
	tampered := func() string {
		parts := strings.Split(sign(good), ".")
		parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + p.Issuer() + `","aud":"` + clientID + `","sub":"alice","role":"owner","nonce":"n-1","exp":` + "9999999999}"))
		return strings.Join(parts, ".")
	}()
	unsigned := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+p.Issuer()+`","aud":"`+clientID+`","sub":"alice","nonce":"n-1","exp":9999999999}`)) + "."

	if _, err := s.session(context.Background(), verifier, token(sign(good)), "n-1", now.Add(time.Hour)); err != nil {
		t.Fatalf("the good token: %v", err)
	}
	for name, raw := range map[string]string{
		"another client's":           sign(with("aud", otherID)),
		"another issuer's":           sign(with("iss", "https://evil.example.net")),
		"expired":                    sign(with("exp", now.Add(-time.Minute).Unix())),
		"another sign-in's nonce":    sign(with("nonce", "n-2")),
		"without nonce":              sign(with("nonce", nil)),
		"without a user":             sign(with("sub", nil)),
		"signed by another provider": foreign,
		"its claims changed":         tampered,
		"unsigned (alg none)":        unsigned,
	} {
		if _, err := s.session(context.Background(), verifier, token(raw), "n-1", now.Add(time.Hour)); err == nil {
			t.Errorf("%s ID token accepted", name)
		}
	}
	if _, err := s.session(context.Background(), verifier, &oauth2.Token{AccessToken: "x"}, "n-1", now.Add(time.Hour)); err == nil {
		t.Error("an answer without an ID token accepted")
	}
}

// token is a token endpoint's answer carrying an ID token.
func token(idToken string) *oauth2.Token {
	return (&oauth2.Token{AccessToken: "at"}).WithExtra(map[string]any{"id_token": idToken})
}

// TestSignInRenewsWithTheRefreshTokenUntilTheDeadline signs in with
// offline access and ID tokens of 2 s: past their expiry, the session is
// renewed, its cookie set again; signed out, it is not.
func TestSignInRenewsWithTheRefreshTokenUntilTheDeadline(t *testing.T) {
	p := provider(t, oidctest.TTL{IDToken: 2 * time.Second})
	s := service(t, p, nil, "offline_access")
	b := newPopup(t, p)
	authURL := b.start(s)
	if q, _ := url.Parse(authURL); q.Query().Get("prompt") != "consent" {
		t.Errorf("offline access asked for without prompt=consent: %s", authURL)
	}
	code, _, err := b.callback(s, b.signIn(authURL, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	cookie, err := exchange(t, s, code, flowSecret, frameOrigin)
	if err != nil {
		t.Fatal(err)
	}
	first, _, err := sessionOf(s, cookie)
	if err != nil || !first.Refresh {
		t.Fatalf("session %+v, %v: want one with a refresh token", first, err)
	}
	time.Sleep(time.Until(first.Expiry) + 100*time.Millisecond)
	renewed, rec, err := sessionOf(s, cookie)
	if err != nil {
		t.Fatalf("renewing: %v", err)
	}
	if !renewed.Expiry.After(first.Expiry) || renewed.Claims.UserID != "bob" || renewed.Claims.Role != "owner" || renewed.Deadline != first.Deadline {
		t.Errorf("renewed %+v from %+v", renewed, first)
	}
	var again *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == SessionCookie {
			again = c
		}
	}
	if again == nil || !again.Partitioned {
		t.Fatalf("renewal set no partitioned cookie: %v", rec.Result().Header["Set-Cookie"])
	}

	// Signed out: the refresh token is gone, and the old cookie, past its
	// expiry, renews nothing.
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	req.AddCookie(again)
	s.SignOut(httptest.NewRecorder(), req)
	time.Sleep(time.Until(renewed.Expiry) + 100*time.Millisecond)
	if _, _, err := sessionOf(s, again); err == nil {
		t.Fatal("a signed-out session was renewed")
	}
}

func TestSessionWithoutRefreshEndsWithTheIDToken(t *testing.T) {
	p := provider(t, oidctest.TTL{IDToken: 2 * time.Second})
	s := service(t, p, nil)
	b := newPopup(t, p)
	code, _, err := b.callback(s, b.signIn(b.start(s), "alice"))
	if err != nil {
		t.Fatal(err)
	}
	cookie, err := exchange(t, s, code, flowSecret, frameOrigin)
	if err != nil {
		t.Fatal(err)
	}
	sess, _, err := sessionOf(s, cookie)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(sess.Expiry) + 100*time.Millisecond)
	if _, _, err := sessionOf(s, cookie); !errors.Is(err, ErrExpired) {
		t.Fatalf("past the ID token's expiry: %v; want ErrExpired", err)
	}
}
