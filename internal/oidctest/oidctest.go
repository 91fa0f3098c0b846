// Package oidctest starts a real OpenID provider for tests: npm's
// oidc-provider (panva's certified implementation), run by node from
// testdata/oidc/provider.mjs, one process per Start, on a loopback port,
// with the clients, accounts and token lifetimes the test gives it.
//
// # Installing
//
// testdata/thirdparty/install.sh installs the version that
// testdata/oidc/package.json pins into $HELPDESK_THIRDPARTY_DIR/oidc
// (default $HOME/.cache/helpdesk-thirdparty/oidc); HELPDESK_OIDC_DIR points
// elsewhere, HELPDESK_NODE names the node binary (default: node on $PATH).
// Without node or the module, Start skips the test, unless
// HELPDESK_OIDC_TESTS=required, which makes it fail.
//
// # What the provider does
//
//   - Clients use the authorization code flow with PKCE, which every
//     authorization request must carry (S256: the only method the library
//     knows); without it the provider redirects back with
//     error=invalid_request. Confidential clients authenticate at the token
//     endpoint as registered, client_secret_basic by default: with
//     golang.org/x/oauth2, set Endpoint.AuthStyle to oauth2.AuthStyleInHeader
//     (until a first success, auto-detection sends each refused token request
//     again with the secret in the body, so the provider sees a bad code
//     twice).
//   - Scopes and claims: openid (sub), email (email, email_verified), profile
//     (name), helpdesk (role, division_id, groups), offline_access. The
//     claims of the granted scopes are in the ID token as well as at
//     userinfo.
//   - Sign-in: the provider's own page (GET /interaction/<uid>) has a form
//     posting the field "login" (an account's sub or e-mail address) with a
//     button #sign-in; an unknown user gets the page again, status 401, with
//     #error. Every scope asked for is granted at once: there is no consent
//     page. SignIn drives it as a browser would.
//   - The redirect to the client carries iss (RFC 9207) besides code and
//     state; ID tokens carry sid, the provider's session.
//   - prompt=none answers from the provider's session (cookies _session and
//     _session.sig) and the client's grant: a code when the same browser
//     signed in before for the same client, error=login_required without a
//     session, error=consent_required when it asks for a scope not granted
//     before.
//   - Cookies are HttpOnly, SameSite=Lax, Secure only over https: they work
//     over plain http and in a top-level popup, not in a cross-site iframe.
//     A browser does not tell ports apart for cookies: a provider on
//     127.0.0.1 shares them with a gateway on 127.0.0.1. An issuer under
//     .localhost (http://idp.localhost:PORT, which Chromium resolves to
//     loopback, with Config.Listener) keeps them apart.
//   - Refresh tokens come only when the request asks for offline_access
//     together with prompt=consent (as OpenID Connect Core says; without
//     it offline_access is silently dropped) and the client's GrantTypes
//     include "refresh_token". The ID token of a refresh has the nonce of
//     the sign-in.
//   - Times are whole seconds: exp is iat plus the TTL, iat the current
//     second rounded down, so a token with TTL n lives between n-1 and n
//     seconds.
//   - RP-initiated logout at end_session_endpoint: a page with a form and a
//     button #sign-out; SignOut drives it.
//
// # Attack tests
//
//   - A tampered ID token: take a real one (SignIn, then the code exchange)
//     and change its payload, keeping the signature; or sign any claims with
//     the provider's own key with SignJWT (SigningKey and KeyID give the key
//     itself), for tokens whose signature verifies but whose claims must
//     not: another aud, an exp in the past, a missing or different nonce.
//     Other algorithms (none, HS256 keyed with the client secret) are for
//     go-jose directly; the provider signs RS256 only.
//   - A token for another client: configure two clients and sign in with the
//     other one; its ID token is signed by the same key, for aud = the other
//     client.
//   - A token from another provider: Start a second one with Config.Issuer
//     set to the first one's Issuer(): same iss, different key. Its
//     HTTPClient leads the issuer's host to it, so go-oidc discovery and
//     SignIn work against it with that client in the context.
//   - An expired token: TTL.IDToken of a few seconds and wait, or SignJWT
//     with an exp in the past.
//   - A replayed code: exchange the same code twice; the provider refuses the
//     second exchange (invalid_grant) and revokes the tokens of the first.
//   - A wrong PKCE verifier: refused with invalid_grant, without consuming
//     the code.
package oidctest

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Config is what a provider knows. Only Clients and Accounts are needed.
type Config struct {
	// Issuer is the provider's issuer identifier, the iss of its tokens and
	// the base of its endpoints. Empty: "http://" and the listener's address,
	// e.g. http://127.0.0.1:40123. Another host name works with a client that
	// reaches the listener for it (HTTPClient does). A path is not supported.
	Issuer string
	// Listener is the socket the provider serves on; Start hands it to the
	// provider and closes it here. Nil: a new one on 127.0.0.1, any free port.
	Listener *net.TCPListener
	// Clients are the registered relying parties.
	Clients []Client
	// Accounts are the users who can sign in.
	Accounts []Account
	// TTL sets the lifetimes of what the provider issues.
	TTL TTL
	// SigningKey is the RSA key the provider signs its tokens with (RS256).
	// Nil: a new 2048-bit key, so no two providers share a key.
	SigningKey *rsa.PrivateKey
}

// Client is a registered relying party.
type Client struct {
	// ID is the client_id.
	ID string `json:"client_id"`
	// Secret is the client_secret; empty for a public client
	// (TokenEndpointAuthMethod "none").
	Secret string `json:"client_secret,omitempty"`
	// RedirectURIs are the redirect_uri values the client may use, compared
	// exactly.
	RedirectURIs []string `json:"redirect_uris"`
	// PostLogoutRedirectURIs are the post_logout_redirect_uri values the
	// client may use at the end_session_endpoint.
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	// TokenEndpointAuthMethod is how the client authenticates at the token
	// endpoint: "client_secret_basic" (the default), "client_secret_post",
	// or "none".
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method,omitempty"`
	// GrantTypes are the grants the client may use; nil means
	// "authorization_code". Add "refresh_token" for refresh tokens.
	GrantTypes []string `json:"grant_types,omitempty"`
}

// Account is a user of the provider. Empty fields are claims it lacks.
type Account struct {
	// Sub is the subject identifier, the sub claim; the user signs in with
	// it or with Email.
	Sub string
	// Email is the email claim (scope email).
	Email string
	// EmailVerified is the email_verified claim (scope email), sent when
	// Email is set.
	EmailVerified bool
	// Name is the name claim (scope profile).
	Name string
	// Role is the role claim (scope helpdesk).
	Role string
	// DivisionID is the division_id claim (scope helpdesk): a string or a
	// number (an int, a float64 or a json.Number), kept as that JSON type.
	DivisionID any
	// Groups is the groups claim (scope helpdesk).
	Groups []string
}

// MarshalJSON writes the account as provider.mjs reads it.
func (a Account) MarshalJSON() ([]byte, error) {
	type wire struct {
		Sub           string   `json:"sub"`
		Email         string   `json:"email,omitempty"`
		EmailVerified *bool    `json:"email_verified,omitempty"`
		Name          string   `json:"name,omitempty"`
		Role          string   `json:"role,omitempty"`
		DivisionID    any      `json:"division_id,omitempty"`
		Groups        []string `json:"groups,omitempty"`
	}
	w := wire{Sub: a.Sub, Email: a.Email, Name: a.Name, Role: a.Role, DivisionID: a.DivisionID, Groups: a.Groups}
	if a.Email != "" {
		w.EmailVerified = &a.EmailVerified
	}
	return json.Marshal(w)
}

// TTL holds lifetimes, in whole seconds; zero keeps the default.
type TTL struct {
	// IDToken is how long an ID token is valid (default 1 hour).
	IDToken time.Duration
	// AccessToken is how long an access token is valid (default 1 hour).
	AccessToken time.Duration
	// RefreshToken is how long a refresh token is valid (default 14 days).
	RefreshToken time.Duration
	// AuthorizationCode is how long a code can be exchanged (default 1
	// minute).
	AuthorizationCode time.Duration
	// Session is how long the provider's sign-in session, and its cookie,
	// last (default 14 days); prompt=none needs one.
	Session time.Duration
	// Grant is how long what a user granted a client lasts (default 14
	// days); prompt=none needs one that covers the scopes asked for.
	Grant time.Duration
	// Interaction is how long a sign-in page stays usable (default 1 hour).
	Interaction time.Duration
}

// seconds returns the non-zero lifetimes by provider.mjs's names.
func (t TTL) seconds() (map[string]int64, error) {
	out := map[string]int64{}
	for name, d := range map[string]time.Duration{
		"id_token": t.IDToken, "access_token": t.AccessToken, "refresh_token": t.RefreshToken,
		"authorization_code": t.AuthorizationCode, "session": t.Session, "grant": t.Grant,
		"interaction": t.Interaction,
	} {
		if d == 0 {
			continue
		}
		if d < time.Second || d%time.Second != 0 {
			return nil, fmt.Errorf("ttl %s is %v: the provider counts whole seconds, at least one", name, d)
		}
		out[name] = int64(d / time.Second)
	}
	return out, nil
}

// Provider is a running provider, stopped when the test ends.
type Provider struct {
	issuer     string
	issuerHost string // host:port the issuer names
	addr       string // host:port it listens on
	key        *rsa.PrivateKey
	keyID      string
	clients    []Client
	transport  *http.Transport

	cmd      *exec.Cmd
	stdin    io.WriteCloser
	log      *syncBuffer
	exited   chan struct{}
	waitErr  error
	stopOnce sync.Once
	stopErr  error
}

// Start starts a provider for the test and stops it at the test's end. It
// skips the test when node or the installed module is missing, unless
// HELPDESK_OIDC_TESTS=required, and fails it when the provider does not
// start. On failure the test's log gets the provider's.
func Start(t testing.TB, cfg Config) *Provider {
	t.Helper()
	node, moduleDir, script, err := locate()
	if err != nil {
		if os.Getenv("HELPDESK_OIDC_TESTS") == "required" {
			t.Fatalf("HELPDESK_OIDC_TESTS=required, but %v", err)
		}
		t.Skipf("skipping OpenID provider test: %v (run testdata/thirdparty/install.sh, or set HELPDESK_NODE and HELPDESK_OIDC_DIR)", err)
	}
	began := time.Now()
	p, err := start(t, cfg, node, moduleDir, script)
	if err != nil {
		if cfg.Listener != nil {
			_ = cfg.Listener.Close()
		}
		t.Fatalf("starting the OpenID provider: %v", err)
	}
	t.Logf("oidctest: provider %s ready in %v", p.issuer, time.Since(began).Round(time.Millisecond))
	return p
}

// locate finds node, the installed module and provider.mjs.
func locate() (node, moduleDir, script string, err error) {
	if want := os.Getenv("HELPDESK_NODE"); want != "" {
		if node, err = exec.LookPath(want); err != nil {
			return "", "", "", fmt.Errorf("no node at HELPDESK_NODE=%s", want)
		}
	} else if node, err = exec.LookPath("node"); err != nil {
		return "", "", "", errors.New("no node on $PATH")
	}

	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", "", "", errors.New("cannot tell where package oidctest's source is")
	}
	fixture := filepath.Join(filepath.Dir(self), "..", "..", "testdata", "oidc")
	script = filepath.Join(fixture, "provider.mjs")
	pinned, err := moduleVersion(filepath.Join(fixture, "package.json"), true)
	if err != nil {
		return "", "", "", err
	}

	moduleDir = os.Getenv("HELPDESK_OIDC_DIR")
	if moduleDir == "" {
		base := os.Getenv("HELPDESK_THIRDPARTY_DIR")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", "", "", fmt.Errorf("no home directory: %w", err)
			}
			base = filepath.Join(home, ".cache", "helpdesk-thirdparty")
		}
		moduleDir = filepath.Join(base, "oidc")
	}
	installed, err := moduleVersion(filepath.Join(moduleDir, "node_modules", "oidc-provider", "package.json"), false)
	if errors.Is(err, os.ErrNotExist) {
		return "", "", "", fmt.Errorf("oidc-provider is not installed in %s", moduleDir)
	} else if err != nil {
		return "", "", "", err
	}
	if installed != pinned {
		return "", "", "", fmt.Errorf("%s has oidc-provider %s, testdata/oidc/package.json pins %s", moduleDir, installed, pinned)
	}
	return node, moduleDir, script, nil
}

// moduleVersion reads oidc-provider's version from a package.json: the
// pinned dependency, or the package's own version.
func moduleVersion(file string, dependency bool) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	var pkg struct {
		Version      string            `json:"version"`
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		return "", fmt.Errorf("reading %s: %w", file, err)
	}
	if dependency {
		return pkg.Dependencies["oidc-provider"], nil
	}
	return pkg.Version, nil
}

// start runs provider.mjs on the configuration and waits for its ready line.
func start(t testing.TB, cfg Config, node, moduleDir, script string) (*Provider, error) {
	ttl, err := cfg.TTL.seconds()
	if err != nil {
		return nil, err
	}
	ln := cfg.Listener
	if ln == nil {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ln = l.(*net.TCPListener)
	}
	addr := ln.Addr().String()
	lnFile, err := ln.File()
	_ = ln.Close() // the provider's copy (lnFile, then its fd 3) stays open
	if err != nil {
		return nil, err
	}
	defer lnFile.Close()

	issuer := cfg.Issuer
	if issuer == "" {
		issuer = "http://" + addr
	}
	iu, err := url.Parse(issuer)
	if err != nil || (iu.Scheme != "http" && iu.Scheme != "https") || iu.Host == "" {
		return nil, fmt.Errorf("issuer %q is not an http(s) URL", issuer)
	}
	issuerHost := iu.Host
	if iu.Port() == "" {
		issuerHost = net.JoinHostPort(iu.Hostname(), map[string]string{"http": "80", "https": "443"}[iu.Scheme])
	}

	key := cfg.SigningKey
	if key == nil {
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, err
		}
	}
	jwk := jose.JSONWebKey{Key: key, Algorithm: string(jose.RS256), Use: "sig"}
	public := jwk.Public()
	thumb, err := public.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(thumb)

	config, err := json.Marshal(map[string]any{
		"issuer":          issuer,
		"fd":              3,
		"exit_with_stdin": true,
		"clients":         cfg.Clients,
		"accounts":        cfg.Accounts,
		"ttl":             ttl,
		"jwks":            jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}},
	})
	if err != nil {
		return nil, err
	}
	configFile := filepath.Join(t.TempDir(), "provider.json")
	if err := os.WriteFile(configFile, config, 0o600); err != nil {
		return nil, err
	}

	p := &Provider{
		issuer:     issuer,
		issuerHost: issuerHost,
		addr:       addr,
		key:        key,
		keyID:      jwk.KeyID,
		clients:    cfg.Clients,
		log:        &syncBuffer{},
		exited:     make(chan struct{}),
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	p.transport = &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			if address == p.issuerHost {
				address = p.addr
			}
			return dialer.DialContext(ctx, network, address)
		},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}

	cmd := exec.Command(node, script, configFile)
	cmd.Env = append(os.Environ(), "HELPDESK_OIDC_DIR="+moduleDir)
	cmd.ExtraFiles = []*os.File{lnFile}
	cmd.Stderr = p.log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p.cmd = cmd

	ready := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		ready <- strings.TrimSuffix(line, "\n")
		// Nothing more is expected; whatever comes goes to the log.
		_, _ = io.Copy(prefixWriter{p.log, "stdout: "}, r)
	}()
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	started := false
	t.Cleanup(func() {
		if !started { // start's error says it all
			_ = p.Stop()
			return
		}
		if err := p.Stop(); err != nil {
			t.Errorf("oidctest: the provider did not stop cleanly: %v", err)
		}
		if t.Failed() {
			t.Logf("oidctest: the provider's log (%s):\n%s", p.issuer, p.log.String())
		}
	})

	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	select {
	case line := <-ready:
		if line == "" { // stdout closed: the provider is exiting
			select {
			case <-p.exited:
			case <-timeout.C:
			}
			_ = p.Stop()
			return nil, fmt.Errorf("the provider exited before it was ready (%v); its log:\n%s", p.waitErr, p.log.String())
		}
		if line != "ready "+issuer {
			_ = p.Stop()
			return nil, fmt.Errorf("the provider said %q, not %q; its log:\n%s", line, "ready "+issuer, p.log.String())
		}
	case <-timeout.C:
		_ = p.Stop()
		return nil, fmt.Errorf("the provider was not ready after 30s; its log:\n%s", p.log.String())
	}
	started = true
	return p, nil
}

// Stop stops the provider (SIGTERM, then SIGKILL after 10 seconds) and
// waits for it; it returns an error unless the provider exited with status
// 0. The test's end stops it anyway; Stop is for a test of a provider that
// has gone away. Later calls return the first one's result.
func (p *Provider) Stop() error {
	p.stopOnce.Do(func() {
		defer p.transport.CloseIdleConnections()
		select {
		case <-p.exited:
			p.stopErr = fmt.Errorf("it had exited already: %v", p.waitErr)
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
			p.stopErr = errors.New("still running 10s after SIGTERM, killed")
			return
		}
		_ = p.stdin.Close()
		p.stopErr = p.waitErr
	})
	return p.stopErr
}

// Issuer returns the provider's issuer identifier, without a trailing slash.
func (p *Provider) Issuer() string { return p.issuer }

// Addr returns the address the provider listens on, 127.0.0.1:port unless
// Config.Listener said otherwise.
func (p *Provider) Addr() string { return p.addr }

// Log returns what the provider wrote to its standard error so far.
func (p *Provider) Log() string { return p.log.String() }

// HTTPClient returns a new client with a cookie jar of its own, a browser
// starting without a session. Connections to the issuer's host go to the
// provider's address, whatever the issuer names; the rest are dialled as
// usual (without a proxy). Put it in go-oidc's and oauth2's context with
// oidc.ClientContext.
func (p *Provider) HTTPClient() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err) // cookiejar.New fails on no input
	}
	return &http.Client{Transport: p.transport, Jar: jar, Timeout: 30 * time.Second}
}

// SigningKey returns the private key the provider signs with.
func (p *Provider) SigningKey() *rsa.PrivateKey { return p.key }

// KeyID returns the kid of the provider's signing key, in its JWKS and in
// the header of the tokens it signs.
func (p *Provider) KeyID() string { return p.keyID }

// SignJWT signs claims as the provider would, RS256 with its key and kid
// and typ JWT, for tokens the provider would not issue: an expired one, one
// for another audience, one without a nonce.
func (p *Provider) SignJWT(claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encoding claims: %w", err)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: p.key, KeyID: p.keyID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("signing: %w", err)
	}
	return jws.CompactSerialize()
}

// syncBuffer is a bytes.Buffer safe for the writer goroutines and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// prefixWriter writes to w, each write after a prefix.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (pw prefixWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(pw.w, pw.prefix); err != nil {
		return 0, err
	}
	return pw.w.Write(p)
}
