package oidctest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/helpdeskapps/gateway/internal/oidctest"
)

// The relying parties' redirects are returned by SignIn, never requested:
// nothing listens there.
const (
	gatewayID        = "gateway"
	gatewaySecret    = "gateway secret/with:specials+%" // client_secret_basic form-encodes it
	gatewayRedirect  = "http://127.0.0.1:9/oauth/callback"
	gatewayLoggedOut = "http://127.0.0.1:9/signed-out"
	otherID          = "other-app"
	otherSecret      = "other-secret"
	otherRedirect    = "http://127.0.0.1:9/other/callback"
)

// config has two clients (the gateway, allowed refresh tokens, and another
// app) and two accounts (division_id a string, then a number).
func config() oidctest.Config {
	return oidctest.Config{
		Clients: []oidctest.Client{{
			ID:                     gatewayID,
			Secret:                 gatewaySecret,
			RedirectURIs:           []string{gatewayRedirect},
			PostLogoutRedirectURIs: []string{gatewayLoggedOut},
			GrantTypes:             []string{"authorization_code", "refresh_token"},
		}, {
			ID:           otherID,
			Secret:       otherSecret,
			RedirectURIs: []string{otherRedirect},
		}},
		Accounts: []oidctest.Account{{
			Sub: "alice", Email: "alice@example.com", EmailVerified: true, Name: "Alice Agent",
			Role: "agent", DivisionID: "north-7", Groups: []string{"tier1", "billing"},
		}, {
			Sub: "bob", Email: "bob@example.com", Name: "Bob Admin", Role: "admin", DivisionID: 42,
		}},
	}
}

// rp is a relying party as the gateway will be: go-oidc and oauth2.
type rp struct {
	p        *oidctest.Provider
	ctx      context.Context // carries the back channel's client
	browser  *http.Client    // the user's browser, with the provider's cookies
	provider *oidc.Provider
	conf     oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newRP(t *testing.T, p *oidctest.Provider, id, secret, redirect string) *rp {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	back := p.HTTPClient()
	ctx = oidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, back), back)
	provider, err := oidc.NewProvider(ctx, p.Issuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	return &rp{
		p:        p,
		ctx:      ctx,
		browser:  p.HTTPClient(),
		provider: provider,
		conf: oauth2.Config{
			ClientID:     id,
			ClientSecret: secret,
			Endpoint:     endpoint,
			RedirectURL:  redirect,
			Scopes:       []string{oidc.ScopeOpenID, "email", "profile", "helpdesk"},
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: id}),
	}
}

// flow is what the relying party keeps between its redirect to the
// provider and the user's return.
type flow struct{ state, nonce, verifier string }

func newFlow() flow {
	return flow{state: oauth2.GenerateVerifier()[:16], nonce: oauth2.GenerateVerifier()[:16], verifier: oauth2.GenerateVerifier()}
}

// authURL is an authorization request with PKCE S256 and a nonce.
func (r *rp) authURL(f flow, opts ...oauth2.AuthCodeOption) string {
	return r.conf.AuthCodeURL(f.state, append([]oauth2.AuthCodeOption{oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier)}, opts...)...)
}

// signIn runs an authorization request in r's browser and returns the code.
func (r *rp) signIn(t *testing.T, f flow, login string, opts ...oauth2.AuthCodeOption) string {
	t.Helper()
	redirect, err := r.p.SignIn(r.ctx, r.browser, r.authURL(f, opts...), login)
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	return code(t, r.p, redirect, f.state)
}

// code checks the redirect to the client and returns its code.
func code(t *testing.T, p *oidctest.Provider, redirect *url.URL, state string) string {
	t.Helper()
	q := redirect.Query()
	if q.Get("error") != "" {
		t.Fatalf("redirected with error=%s: %s", q.Get("error"), q.Get("error_description"))
	}
	if q.Get("state") != state {
		t.Errorf("state = %q, want %q", q.Get("state"), state)
	}
	if q.Get("iss") != p.Issuer() {
		t.Errorf("iss = %q, want %q", q.Get("iss"), p.Issuer())
	}
	if q.Get("code") == "" {
		t.Fatalf("no code in %s", redirect)
	}
	return q.Get("code")
}

func (r *rp) exchange(code, verifier string) (*oauth2.Token, error) {
	return r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
}

// verify verifies the token's ID token as the gateway will, nonce included.
func (r *rp) verify(t *testing.T, tok *oauth2.Token, nonce string) (*oidc.IDToken, string) {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatalf("no id_token in the token response")
	}
	idToken, err := r.verifier.Verify(r.ctx, raw)
	if err != nil {
		t.Fatalf("verifying the ID token: %v", err)
	}
	if idToken.Nonce != nonce {
		t.Errorf("nonce = %q, want %q", idToken.Nonce, nonce)
	}
	return idToken, raw
}

// claims returns an ID token's claims as their JSON.
func claims(t *testing.T, idToken *oidc.IDToken) map[string]string {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := idToken.Claims(&raw); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range raw {
		out[k] = string(v)
	}
	return out
}

// oauthError returns the OAuth error code of a refused token request.
func oauthError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	p := oidctest.Start(t, config())
	r := newRP(t, p, gatewayID, gatewaySecret, gatewayRedirect) // go-oidc checks the issuer

	var doc struct {
		Issuer                string   `json:"issuer"`
		JWKSURI               string   `json:"jwks_uri"`
		EndSession            string   `json:"end_session_endpoint"`
		CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
		ResponseTypes         []string `json:"response_types_supported"`
		Scopes                []string `json:"scopes_supported"`
		Claims                []string `json:"claims_supported"`
		IDTokenAlgs           []string `json:"id_token_signing_alg_values_supported"`
		IssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	}
	if err := r.provider.Claims(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Issuer != p.Issuer() {
		t.Errorf("issuer = %q, want %q", doc.Issuer, p.Issuer())
	}
	if !slices.Equal(doc.CodeChallengeMethods, []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported = %v, want [S256]", doc.CodeChallengeMethods)
	}
	if !slices.Equal(doc.ResponseTypes, []string{"code"}) {
		t.Errorf("response_types_supported = %v, want [code]", doc.ResponseTypes)
	}
	if !slices.Equal(doc.IDTokenAlgs, []string{"RS256"}) {
		t.Errorf("id_token_signing_alg_values_supported = %v, want [RS256]", doc.IDTokenAlgs)
	}
	for _, s := range []string{"openid", "email", "profile", "helpdesk", "offline_access"} {
		if !slices.Contains(doc.Scopes, s) {
			t.Errorf("scopes_supported %v lacks %s", doc.Scopes, s)
		}
	}
	for _, c := range []string{"sub", "email", "email_verified", "name", "role", "division_id", "groups"} {
		if !slices.Contains(doc.Claims, c) {
			t.Errorf("claims_supported %v lacks %s", doc.Claims, c)
		}
	}
	if doc.EndSession != p.Issuer()+"/session/end" || !doc.IssParameterSupported {
		t.Errorf("end_session_endpoint = %q, iss parameter %v", doc.EndSession, doc.IssParameterSupported)
	}

	// The JWKS publishes the key the helper generated, under its kid.
	resp, err := p.HTTPClient().Get(doc.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct {
		Keys []struct{ Kid, Kty, Alg, Use, N, E, D string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil {
		t.Fatal(err)
	}
	if len(jwks.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(jwks.Keys))
	}
	k := jwks.Keys[0]
	n, _ := base64.RawURLEncoding.DecodeString(k.N)
	if k.Kid != p.KeyID() || k.Kty != "RSA" || k.Alg != "RS256" || k.D != "" || new(big.Int).SetBytes(n).Cmp(p.SigningKey().N) != 0 {
		t.Errorf("JWKS key %+v is not the public half of SigningKey() with kid %s", k, p.KeyID())
	}
}

func TestCodeFlowWithPKCEAndNonce(t *testing.T) {
	t.Parallel()
	p := oidctest.Start(t, config())

	for _, tc := range []struct {
		login string
		want  map[string]string // claim: its JSON
	}{
		{"alice@example.com", map[string]string{
			"sub": `"alice"`, "email": `"alice@example.com"`, "email_verified": `true`, "name": `"Alice Agent"`,
			"role": `"agent"`, "division_id": `"north-7"`, "groups": `["tier1","billing"]`, "aud": `"gateway"`,
		}},
		{"bob", map[string]string{
			"sub": `"bob"`, "email": `"bob@example.com"`, "email_verified": `false`, "name": `"Bob Admin"`,
			"role": `"admin"`, "division_id": `42`, "groups": "", // none: no claim
		}},
	} {
		t.Run(tc.login, func(t *testing.T) {
			r := newRP(t, p, gatewayID, gatewaySecret, gatewayRedirect)
			f := newFlow()
			tok, err := r.exchange(r.signIn(t, f, tc.login), f.verifier)
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			idToken, _ := r.verify(t, tok, f.nonce)
			got := claims(t, idToken)
			for name, want := range tc.want {
				if got[name] != want {
					t.Errorf("ID token claim %s = %s, want %s (claims: %v)", name, got[name], want, got)
				}
			}

			// userinfo has the same claims, for the access token.
			info, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			var infoClaims map[string]any
			if err := info.Claims(&infoClaims); err != nil {
				t.Fatal(err)
			}
			if info.Subject != idToken.Subject || infoClaims["role"] == nil {
				t.Errorf("userinfo = %v, want sub %s and a role", infoClaims, idToken.Subject)
			}
		})
	}

	t.Run("without PKCE", func(t *testing.T) {
		r := newRP(t, p, gatewayID, gatewaySecret, gatewayRedirect)
		f := newFlow()
		redirect, err := p.SignIn(r.ctx, r.browser, r.conf.AuthCodeURL(f.state, oidc.Nonce(f.nonce)), "alice")
		if err != nil {
			t.Fatal(err)
		}
		if q := redirect.Query(); q.Get("error") != "invalid_request" || q.Get("code") != "" || q.Get("state") != f.state {
			t.Errorf("redirect without PKCE = %s, want error=invalid_request", redirect)
		}
	})

	t.Run("unregistered redirect_uri", func(t *testing.T) {
		r := newRP(t, p, gatewayID, gatewaySecret, "http://127.0.0.1:9/elsewhere")
		_, err := p.SignIn(r.ctx, r.browser, r.authURL(newFlow()), "alice")
		if err == nil || !strings.Contains(err.Error(), "redirect_uri") {
			t.Errorf("sign-in with an unregistered redirect_uri: %v, want the error page's redirect_uri error", err)
		}
	})

	t.Run("unknown user", func(t *testing.T) {
		r := newRP(t, p, gatewayID, gatewaySecret, gatewayRedirect)
		_, err := p.SignIn(r.ctx, r.browser, r.authURL(newFlow()), "mallory@example.com")
		if err == nil || !strings.Contains(err.Error(), "Unknown user: mallory@example.com") {
			t.Errorf("sign-in as an unknown user: %v, want the login page's error", err)
		}
	})
}

func TestCodeExchangedTwiceIsRefused(t *testing.T) {
	t.Parallel()
	p := oidctest.Start(t, config())
	r := newRP(t, p, gatewayID, gatewaySecret, gatewayRedirect)
	f := newFlow()
	c := r.signIn(t, f, "alice")
	first, err := r.exchange(c, f.verifier)
	if err != nil {
		t.Fatalf("first exchange: %v", err)
	}
	if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(first)); err != nil {
		t.Fatalf("userinfo before the replay: %v", err)
	}

	_, err = r.exchange(c, f.verifier)
	if oauthError(err) != "invalid_grant" {
		t.Fatalf("second exchange: %v, want invalid_grant", err)
	}
	// The replay revoked what the first exchange issued.
	if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(first)); err == nil {
		t.Errorf("the first exchange's access token still works after the replay")
	}
}

func TestWrongPKCEVerifierIsRefused(t *testing.T) {
	t.Parallel()
	p := oidctest.Start(t, config())
	r := newRP(t, p, gatewayID, gatewaySecret, gatewayRedirect)
	f := newFlow()
	c := r.signIn(t, f, "alice")

	if _, err := r.exchange(c, oauth2.GenerateVerifier()); oauthError(err) != "invalid_grant" {
		t.Fatalf("exchange with another verifier: %v, want invalid_grant", err)
	}
	if _, err := r.conf.Exchange(r.ctx, c); oauthError(err) != "invalid_grant" {
		t.Fatalf("exchange without a verifier: %v, want invalid_grant", err)
	}
	// The refusals did not use the code up.
	tok, err := r.exchange(c, f.verifier)
	if err != nil {
		t.Fatalf("exchange with the right verifier: %v", err)
	}
	r.verify(t, tok, f.nonce)
}

func TestPromptNone(t *testing.T) {
	t.Parallel()
	p := oidctest.Start(t, config())

	t.Run("with a session", func(t *testing.T) {
		r := newRP(t, p, gatewayID, gatewaySecret, gatewayRedirect)
		first := newFlow()
		tok, err := r.exchange(r.signIn(t, first, "alice"), first.verifier)
		if err != nil {
			t.Fatal(err)
		}
		before, _ := r.verify(t, tok, first.nonce)

		// Silent renewal: the same browser, no login (SignIn fails with
		// ErrLoginPage if the provider shows its page).
		again := newFlow()
		tok, err = r.exchange(r.signIn(t, again, "", oauth2.SetAuthURLParam("prompt", "none")), again.verifier)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := r.verify(t, tok, again.nonce)
		if after.Subject != "alice" || claims(t, after)["role"] != `"agent"` {
			t.Errorf("renewed ID token: sub %s, claims %v", after.Subject, claims(t, after))
		}
		if before.Subject != after.Subject || claims(t, before)["sid"] != claims(t, after)["sid"] {
			t.Errorf("renewal changed the session: sid %s then %s", claims(t, before)["sid"], claims(t, after)["sid"])
		}

	})

	t.Run("asking more than was granted", func(t *testing.T) {
		r := newRP(t, p, gatewayID, gatewaySecret, gatewayRedirect)
		r.conf.Scopes = []string{oidc.ScopeOpenID}
		r.signIn(t, newFlow(), "alice")
		r.conf.Scopes = []string{oidc.ScopeOpenID, "helpdesk"}
		f := newFlow()
		redirect, err := p.SignIn(r.ctx, r.browser, r.authURL(f, oauth2.SetAuthURLParam("prompt", "none")), "")
		if err != nil {
			t.Fatal(err)
		}
		if q := redirect.Query(); q.Get("error") != "consent_required" || q.Get("state") != f.state {
			t.Errorf("prompt=none asking for a scope not granted redirected to %s, want error=consent_required", redirect)
		}
	})

	t.Run("without a session", func(t *testing.T) {
		r := newRP(t, p, gatewayID, gatewaySecret, gatewayRedirect)
		f := newFlow()
		redirect, err := p.SignIn(r.ctx, r.browser, r.authURL(f, oauth2.SetAuthURLParam("prompt", "none")), "")
		if err != nil {
			t.Fatal(err)
		}
		if q := redirect.Query(); q.Get("error") != "login_required" || q.Get("state") != f.state || q.Get("code") != "" {
			t.Errorf("prompt=none without a session redirected to %s, want error=login_required", redirect)
		}
		// Without prompt=none, the page shows.
		if _, err := p.SignIn(r.ctx, r.browser, r.authURL(newFlow()), ""); !errors.Is(err, oidctest.ErrLoginPage) {
			t.Errorf("without a session and a login: %v, want ErrLoginPage", err)
		}
	})
}

func TestExpiredIDTokenIsRejected(t *testing.T) {
	t.Parallel()
	cfg := config()
	const ttl = 3 * time.Second // lives between 2 and 3 seconds: whole seconds
	cfg.TTL.IDToken = ttl
	p := oidctest.Start(t, cfg)
	r := newRP(t, p, gatewayID, gatewaySecret, gatewayRedirect)
	f := newFlow()
	tok, err := r.exchange(r.signIn(t, f, "alice"), f.verifier)
	if err != nil {
		t.Fatal(err)
	}
	idToken, raw := r.verify(t, tok, f.nonce)
	if got := idToken.Expiry.Sub(idToken.IssuedAt); got != ttl {
		t.Errorf("exp - iat = %v, want %v", got, ttl)
	}

	// go-oidc allows no clock skew on exp: once past it, the token is refused.
	time.Sleep(time.Until(idToken.Expiry.Add(50 * time.Millisecond)))
	_, err = r.verifier.Verify(r.ctx, raw)
	var expired *oidc.TokenExpiredError
	if !errors.As(err, &expired) {
		t.Fatalf("verifying after exp: %v, want a TokenExpiredError", err)
	}
}

func TestRefreshToken(t *testing.T) {
	t.Parallel()
	p := oidctest.Start(t, config())
	offline := func(r *rp) { r.conf.Scopes = append(r.conf.Scopes, "offline_access") }

	t.Run("offline_access with prompt=consent", func(t *testing.T) {
		r := newRP(t, p, gatewayID, gatewaySecret, gatewayRedirect)
		offline(r)
		f := newFlow()
		tok, err := r.exchange(r.signIn(t, f, "alice", oauth2.SetAuthURLParam("prompt", "consent")), f.verifier)
		if err != nil {
			t.Fatal(err)
		}
		first, _ := r.verify(t, tok, f.nonce)
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token")
		}

		refreshed, err := r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if refreshed.AccessToken == "" || refreshed.AccessToken == tok.AccessToken {
			t.Errorf("refresh gave access token %q, first was %q", refreshed.AccessToken, tok.AccessToken)
		}
		// A new ID token, with the same subject and claims, and the nonce of
		// the sign-in.
		idToken, _ := r.verify(t, refreshed, f.nonce)
		if idToken.Subject != first.Subject || claims(t, idToken)["division_id"] != `"north-7"` {
			t.Errorf("refreshed ID token: sub %s, claims %v", idToken.Subject, claims(t, idToken))
		}
		if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(refreshed)); err != nil {
			t.Errorf("userinfo with the refreshed access token: %v", err)
		}
	})

	t.Run("offline_access without prompt=consent", func(t *testing.T) {
		r := newRP(t, p, gatewayID, gatewaySecret, gatewayRedirect)
		offline(r)
		f := newFlow()
		tok, err := r.exchange(r.signIn(t, f, "alice"), f.verifier)
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken != "" || strings.Contains(tok.Extra("scope").(string), "offline_access") {
			t.Errorf("refresh token %q, scope %q: offline_access should be dropped", tok.RefreshToken, tok.Extra("scope"))
		}
	})

	t.Run("client without the refresh_token grant", func(t *testing.T) {
		r := newRP(t, p, otherID, otherSecret, otherRedirect)
		offline(r)
		f := newFlow()
		tok, err := r.exchange(r.signIn(t, f, "alice", oauth2.SetAuthURLParam("prompt", "consent")), f.verifier)
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken != "" {
			t.Errorf("client %s got a refresh token", otherID)
		}
	})
}

// TestForeignTokensAreRejected shows the means of the gateway's attack
// tests: tokens that are real, but not for it.
func TestForeignTokensAreRejected(t *testing.T) {
	t.Parallel()
	p := oidctest.Start(t, config())
	gateway := newRP(t, p, gatewayID, gatewaySecret, gatewayRedirect)

	t.Run("another client's ID token", func(t *testing.T) {
		other := newRP(t, p, otherID, otherSecret, otherRedirect)
		f := newFlow()
		tok, err := other.exchange(other.signIn(t, f, "alice"), f.verifier)
		if err != nil {
			t.Fatal(err)
		}
		_, raw := other.verify(t, tok, f.nonce)
		if _, err := gateway.verifier.Verify(gateway.ctx, raw); err == nil || !strings.Contains(err.Error(), "audience") {
			t.Errorf("the gateway verified %s's ID token: %v", otherID, err)
		}
	})

	t.Run("another provider with the same issuer", func(t *testing.T) {
		cfg := config()
		cfg.Issuer = p.Issuer()
		impostor := oidctest.Start(t, cfg)
		if impostor.KeyID() == p.KeyID() {
			t.Fatal("two providers share a key")
		}
		r := newRP(t, impostor, gatewayID, gatewaySecret, gatewayRedirect) // its client reaches the impostor
		f := newFlow()
		tok, err := r.exchange(r.signIn(t, f, "alice"), f.verifier)
		if err != nil {
			t.Fatal(err)
		}
		_, raw := r.verify(t, tok, f.nonce) // valid for the impostor's keys
		if _, err := gateway.verifier.Verify(gateway.ctx, raw); err == nil {
			t.Errorf("the gateway verified an ID token of another provider with its issuer")
		}
	})

	t.Run("minted and tampered", func(t *testing.T) {
		now := time.Now()
		valid := map[string]any{
			"iss": p.Issuer(), "sub": "alice", "aud": gatewayID, "nonce": "n",
			"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "role": "agent",
		}
		minted, err := p.SignJWT(valid)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gateway.verifier.Verify(gateway.ctx, minted); err != nil {
			t.Fatalf("SignJWT's token, as the provider's: %v", err)
		}

		valid["exp"] = now.Add(-time.Minute).Unix()
		expired, err := p.SignJWT(valid)
		if err != nil {
			t.Fatal(err)
		}
		var e *oidc.TokenExpiredError
		if _, err := gateway.verifier.Verify(gateway.ctx, expired); !errors.As(err, &e) {
			t.Errorf("expired token: %v, want a TokenExpiredError", err)
		}

		// The payload changed, the signature kept.
		parts := strings.Split(minted, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"agent"`, `"admin"`, 1)))
		if _, err := gateway.verifier.Verify(gateway.ctx, strings.Join(parts, ".")); err == nil || !strings.Contains(err.Error(), "signature") {
			t.Errorf("tampered token: %v, want a signature error", err)
		}
	})
}

func TestSignOut(t *testing.T) {
	t.Parallel()
	p := oidctest.Start(t, config())
	r := newRP(t, p, gatewayID, gatewaySecret, gatewayRedirect)
	f := newFlow()
	tok, err := r.exchange(r.signIn(t, f, "alice"), f.verifier)
	if err != nil {
		t.Fatal(err)
	}
	_, raw := r.verify(t, tok, f.nonce)

	var doc struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := r.provider.Claims(&doc); err != nil {
		t.Fatal(err)
	}
	logout := doc.EndSession + "?" + url.Values{
		"id_token_hint": {raw}, "post_logout_redirect_uri": {gatewayLoggedOut}, "state": {"bye"},
	}.Encode()
	redirect, err := p.SignOut(r.ctx, r.browser, logout)
	if err != nil {
		t.Fatal(err)
	}
	if redirect == nil || !strings.HasPrefix(redirect.String(), gatewayLoggedOut+"?") || redirect.Query().Get("state") != "bye" {
		t.Fatalf("sign-out redirected to %v, want %s?state=bye", redirect, gatewayLoggedOut)
	}

	// The provider's session is over.
	again := newFlow()
	redirect, err = p.SignIn(r.ctx, r.browser, r.authURL(again, oauth2.SetAuthURLParam("prompt", "none")), "")
	if err != nil {
		t.Fatal(err)
	}
	if redirect.Query().Get("error") != "login_required" {
		t.Errorf("prompt=none after sign-out: %s, want error=login_required", redirect)
	}

	// Without a post_logout_redirect_uri, the provider's own page ends it.
	r.signIn(t, newFlow(), "bob")
	if redirect, err := p.SignOut(r.ctx, r.browser, doc.EndSession); redirect != nil || err != nil {
		t.Errorf("sign-out without a redirect: %v, %v; want the provider's page", redirect, err)
	}
}

func TestStop(t *testing.T) {
	t.Parallel()
	p := oidctest.Start(t, config())
	client := p.HTTPClient()
	if resp, err := client.Get(p.Issuer() + "/.well-known/openid-configuration"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := client.Get(p.Issuer() + "/.well-known/openid-configuration"); err == nil {
		t.Errorf("the provider still answers after Stop")
	}
}

// TestIssuerWithAHostName runs a provider under a name that no resolver
// knows, on a socket the test opened: HTTPClient leads the name to it.
func TestIssuerWithAHostName(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config()
	cfg.Issuer = "http://idp.helpdesk.test"
	cfg.Listener = ln.(*net.TCPListener)
	p := oidctest.Start(t, cfg)
	if p.Issuer() != cfg.Issuer || p.Addr() != ln.Addr().String() {
		t.Errorf("issuer %s at %s, want %s at %s", p.Issuer(), p.Addr(), cfg.Issuer, ln.Addr())
	}
	r := newRP(t, p, gatewayID, gatewaySecret, gatewayRedirect)
	if got := r.provider.Endpoint().AuthURL; got != cfg.Issuer+"/auth" {
		t.Errorf("authorization endpoint %s, want one under %s", got, cfg.Issuer)
	}
	f := newFlow()
	tok, err := r.exchange(r.signIn(t, f, "alice"), f.verifier)
	if err != nil {
		t.Fatal(err)
	}
	if idToken, _ := r.verify(t, tok, f.nonce); idToken.Issuer != cfg.Issuer {
		t.Errorf("iss = %s, want %s", idToken.Issuer, cfg.Issuer)
	}
}
