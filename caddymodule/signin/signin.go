// Package signin signs users in at the gateway itself, with an OpenID
// provider, for a Helpdesk on another site: the app's frame is then a
// third-party context, where the Helpdesk cannot set a cookie the gateway
// reads and where providers refuse to be framed. The frame opens the
// provider in a popup (authorization code flow, PKCE and a nonce, the state
// bound to the popup by a cookie); the popup's last page hands the frame a
// one-time code by postMessage, which the frame, proving it started the
// flow, exchanges for the gateway's own session, in a Partitioned (CHIPS)
// cookie. Sessions are sealed by keys kept in Caddy's storage, so every
// instance reads them; with a refresh token, kept in storage too, they are
// renewed without the user.
package signin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// Config is a sign-in's settings, resolved.
type Config struct {
	// Issuer is the provider's issuer URL; its discovery document is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer string
	// ClientID and ClientSecret are the gateway's client at the provider.
	ClientID, ClientSecret string
	// Scopes are asked for; openid is always among them.
	Scopes []string
	// MaxAge bounds a session from the sign-in, renewals included.
	MaxAge time.Duration
	// Mapping reads the identity from the ID token's claims.
	Mapping session.Mapping
	// Storage keeps the keys, the used codes and the refresh tokens, under
	// Folder.
	Storage certmagic.Storage
	Folder  string
	// HTTPClient reaches the provider; nil: http.DefaultClient.
	HTTPClient *http.Client
	// Observe, when set, is told of renewals: "renewed", "renew_failed".
	Observe func(event string)
}

// Names of the cookies: the session, and the state of a sign-in in
// progress.
const (
	SessionCookie = "__Host-helpdesk_apps_session"
	StateCookie   = "__Host-helpdesk_apps_signin"
)

// Sealing purposes.
const (
	purposeState   = "state"
	purposeCode    = "code"
	purposeSession = "session"
	purposeRefresh = "refresh"
)

// Lifetimes of what a sign-in hands out along the way.
const (
	stateTTL = 10 * time.Minute
	codeTTL  = 2 * time.Minute
)

// Service signs users in with one provider.
type Service struct {
	cfg  Config
	keys *Keys

	mu       sync.Mutex
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	oauth    oauth2.Config
}

// New prepares the service: its keys are read (or made) now; the
// provider is discovered when first needed, and again after a failure.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if !containsFold(cfg.Scopes, oidc.ScopeOpenID) {
		cfg.Scopes = append([]string{oidc.ScopeOpenID}, cfg.Scopes...)
	}
	keys, err := LoadKeys(ctx, cfg.Storage, cfg.Folder+"keys.json", 7*24*time.Hour, cfg.MaxAge+stateTTL)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, keys: keys}, nil
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(v string) bool { return strings.EqualFold(v, s) })
}

// discover returns the provider, discovering it on first use.
func (s *Service) discover(ctx context.Context) (*oidc.IDTokenVerifier, oauth2.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider == nil {
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, s.cfg.HTTPClient), s.cfg.Issuer)
		if err != nil {
			return nil, oauth2.Config{}, fmt.Errorf("discovering the OpenID provider %s: %w", s.cfg.Issuer, err)
		}
		s.provider = p
		s.verifier = p.VerifierContext(oidc.ClientContext(context.WithoutCancel(ctx), s.cfg.HTTPClient), &oidc.Config{ClientID: s.cfg.ClientID})
		endpoint := p.Endpoint()
		endpoint.AuthStyle = oauth2.AuthStyleInHeader
		s.oauth = oauth2.Config{ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, Endpoint: endpoint, Scopes: s.cfg.Scopes}
	}
	return s.verifier, s.oauth, nil
}

// state is what the popup's state cookie holds between the start and the
// callback.
type state struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	// Origin is the frame's origin, to which the code goes; FlowHash the
	// hash of the frame's secret, which the code is bound to.
	Origin   string `json:"o"`
	FlowHash string `json:"f"`
	Redirect string `json:"r"`
}

// Start begins a sign-in in the popup: it binds the flow to the popup's
// browser with a state cookie and answers with the redirect to the
// provider. origin is the frame's origin, which the caller has checked;
// flowHash the hash the frame sent; redirectURL the callback's absolute
// URL.
func (s *Service) Start(w http.ResponseWriter, r *http.Request, origin, flowHash, redirectURL string) error {
	if !validFlowHash(flowHash) {
		return &Error{Status: http.StatusBadRequest, Detail: "the sign-in was not started from an app's frame (no flow)"}
	}
	_, oc, err := s.discover(r.Context())
	if err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Detail: "the identity provider cannot be reached; try again shortly", Err: err}
	}
	st := state{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(), Origin: origin, FlowHash: flowHash, Redirect: redirectURL}
	sealedState, err := s.keys.Seal(r.Context(), purposeState, st, time.Now().Add(stateTTL))
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: StateCookie, Value: sealedState, Path: "/", Secure: true, HttpOnly: true,
		// The provider sends the user back with a top-level GET: Lax
		// cookies come with it.
		SameSite: http.SameSiteLaxMode, MaxAge: int(stateTTL / time.Second),
	})
	oc.RedirectURL = redirectURL
	opts := []oauth2.AuthCodeOption{oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)}
	if containsFold(s.cfg.Scopes, oidc.ScopeOfflineAccess) {
		// OpenID Connect grants offline access only on consent.
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "consent"))
	}
	target := oc.AuthCodeURL(st.State, opts...)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
	return nil
}

// validFlowHash reports whether h is a base64url SHA-256 digest.
func validFlowHash(h string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(h)
	return err == nil && len(raw) == sha256.Size
}

// random returns 32 random bytes, base64url.
func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// code is what a one-time code holds: the session to start, for the
// frame of Origin that knows the secret of FlowHash.
type code struct {
	ID       string `json:"i"`
	Origin   string `json:"o"`
	FlowHash string `json:"f"`
	Session  Session
}

// Session is the gateway's own session, sealed in its cookie.
type Session struct {
	// ID names the session: its refresh token's storage key.
	ID     string         `json:"id"`
	Claims session.Claims `json:"c"`
	// Expiry is when the session must be renewed (the ID token's exp),
	// Deadline when it ends whatever happens (the sign-in plus MaxAge).
	Expiry   time.Time `json:"exp"`
	Deadline time.Time `json:"max"`
	// Refresh is whether a refresh token is kept for it.
	Refresh bool `json:"rt,omitempty"`
}

// Callback ends the sign-in in the popup: the state cookie must match the
// provider's answer; the code is exchanged with the PKCE verifier; the ID
// token is verified (signature by the provider's keys, issuer, audience,
// expiry, nonce) and its claims mapped. It returns the one-time code for
// the frame and the frame's origin.
func (s *Service) Callback(w http.ResponseWriter, r *http.Request) (oneTime, origin string, err error) {
	ctx := r.Context()
	// The state cookie is single-use, whatever follows.
	http.SetCookie(w, &http.Cookie{Name: StateCookie, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return "", "", &Error{Status: http.StatusUnauthorized, Detail: "the identity provider did not sign you in (" + short(e) + ")"}
	}
	c, err := r.Cookie(StateCookie)
	if err != nil {
		return "", "", &Error{Status: http.StatusBadRequest, Detail: "this sign-in was not started in this browser, or took too long: start it again from the app"}
	}
	var st state
	if err := s.keys.Open(ctx, purposeState, c.Value, &st); err != nil {
		return "", "", &Error{Status: http.StatusBadRequest, Detail: "this sign-in was not started in this browser, or took too long: start it again from the app", Err: err}
	}
	if q.Get("state") == "" || q.Get("state") != st.State {
		return "", "", &Error{Status: http.StatusBadRequest, Detail: "the identity provider's answer is not for this sign-in", Err: errors.New("state mismatch")}
	}
	if iss := q.Get("iss"); iss != "" && iss != s.cfg.Issuer {
		return "", "", &Error{Status: http.StatusBadRequest, Detail: "the answer comes from another identity provider", Err: fmt.Errorf("iss %q", iss)}
	}
	verifier, oc, err := s.discover(ctx)
	if err != nil {
		return "", "", &Error{Status: http.StatusServiceUnavailable, Detail: "the identity provider cannot be reached; try again shortly", Err: err}
	}
	oc.RedirectURL = st.Redirect
	tok, err := oc.Exchange(oidc.ClientContext(ctx, s.cfg.HTTPClient), q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return "", "", &Error{Status: http.StatusUnauthorized, Detail: "the identity provider refused the sign-in's code", Err: err}
	}
	sess, err := s.session(ctx, verifier, tok, st.Nonce, time.Now().Add(s.cfg.MaxAge))
	if err != nil {
		return "", "", err
	}
	if tok.RefreshToken != "" {
		if err := s.storeRefresh(ctx, sess.ID, tok.RefreshToken, sess.Deadline); err != nil {
			return "", "", err
		}
		sess.Refresh = true
	}
	oneTime, err = s.keys.Seal(ctx, purposeCode, code{ID: random(), Origin: st.Origin, FlowHash: st.FlowHash, Session: sess}, time.Now().Add(codeTTL))
	if err != nil {
		return "", "", err
	}
	return oneTime, st.Origin, nil
}

// session verifies tok's ID token, with nonce unless it is empty, and
// makes the session it starts, ending by deadline.
func (s *Service) session(ctx context.Context, verifier *oidc.IDTokenVerifier, tok *oauth2.Token, nonce string, deadline time.Time) (Session, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Session{}, &Error{Status: http.StatusUnauthorized, Detail: "the identity provider sent no ID token", Err: errors.New("no id_token")}
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		return Session{}, &Error{Status: http.StatusUnauthorized, Detail: "the identity provider's ID token is not valid", Err: err}
	}
	if nonce != "" && idt.Nonce != nonce {
		return Session{}, &Error{Status: http.StatusUnauthorized, Detail: "the ID token is not for this sign-in", Err: errors.New("nonce mismatch")}
	}
	// Numbers as written, as the Helpdesk's tokens are read: a division
	// 7 is "7".
	var claimsJSON json.RawMessage
	var payload map[string]any
	if err := idt.Claims(&claimsJSON); err == nil {
		dec := json.NewDecoder(bytes.NewReader(claimsJSON))
		dec.UseNumber()
		if dec.Decode(&payload) != nil {
			payload = nil
		}
	}
	if payload == nil {
		return Session{}, &Error{Status: http.StatusUnauthorized, Detail: "the ID token's claims cannot be read", Err: errors.New("claims are not an object")}
	}
	claims, err := s.cfg.Mapping.Apply(payload)
	if err != nil {
		return Session{}, &Error{Status: http.StatusUnauthorized, Detail: "the ID token does not name a user the gateway can use", Err: err}
	}
	expiry := idt.Expiry
	if expiry.After(deadline) {
		expiry = deadline
	}
	claims.Expiry = expiry
	return Session{ID: random(), Claims: claims, Expiry: expiry, Deadline: deadline}, nil
}

// Exchange trades a one-time code for the session cookie, for the frame
// of origin that knows flow, the secret whose hash started the sign-in.
// A code is good once, on any instance sharing the storage.
func (s *Service) Exchange(ctx context.Context, w http.ResponseWriter, oneTime, flow, origin string) error {
	var c code
	if err := s.keys.Open(ctx, purposeCode, oneTime, &c); err != nil {
		return &Error{Status: http.StatusUnauthorized, Detail: "the sign-in's code is not valid, or expired: sign in again", Err: err}
	}
	sum := sha256.Sum256([]byte(flow))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != c.FlowHash || c.Origin != origin {
		return &Error{Status: http.StatusUnauthorized, Detail: "the sign-in's code was not made for this frame: sign in again", Err: errors.New("flow or origin mismatch")}
	}
	if err := s.spend(ctx, c.ID); err != nil {
		return err
	}
	return s.setSession(ctx, w, c.Session)
}

// spend marks the code id used, and reports an error if it was already.
func (s *Service) spend(ctx context.Context, id string) error {
	key := s.cfg.Folder + "used/" + id
	if err := s.cfg.Storage.Lock(ctx, key); err != nil {
		return fmt.Errorf("locking a sign-in code: %w", err)
	}
	defer func() { _ = s.cfg.Storage.Unlock(context.WithoutCancel(ctx), key) }()
	if s.cfg.Storage.Exists(ctx, key) {
		return &Error{Status: http.StatusUnauthorized, Detail: "the sign-in's code was already used: sign in again", Err: errors.New("code replayed")}
	}
	expires, _ := time.Now().Add(codeTTL).MarshalText()
	if err := s.cfg.Storage.Store(ctx, key, expires); err != nil {
		return fmt.Errorf("recording a sign-in code: %w", err)
	}
	return nil
}

// setSession sets the session cookie: host-only (__Host-), for every
// path, sent in frames of other sites (SameSite=None) and kept apart for
// each of them (Partitioned), never readable by scripts.
func (s *Service) setSession(ctx context.Context, w http.ResponseWriter, sess Session) error {
	value, err := s.keys.Seal(ctx, purposeSession, sess, sess.Deadline)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: value, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteNoneMode, Partitioned: true,
		MaxAge: int(time.Until(sess.Deadline) / time.Second),
	})
	return nil
}

// ErrNoSession reports a request without the gateway's session cookie.
var ErrNoSession = errors.New("no gateway session")

// Session returns the request's session, renewed with its refresh token
// (and its cookie set again on w) when it is past its expiry but not its
// deadline.
func (s *Service) Session(w http.ResponseWriter, r *http.Request) (Session, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return Session{}, ErrNoSession
	}
	var sess Session
	if err := s.keys.Open(r.Context(), purposeSession, c.Value, &sess); err != nil {
		return Session{}, fmt.Errorf("gateway session: %w", err)
	}
	now := time.Now()
	if now.Before(sess.Expiry) {
		return sess, nil
	}
	if !sess.Refresh || !now.Before(sess.Deadline) {
		return Session{}, fmt.Errorf("gateway session: %w", ErrExpired)
	}
	renewed, err := s.renew(r.Context(), sess)
	if err != nil {
		s.observe("renew_failed")
		return Session{}, fmt.Errorf("gateway session: renewing: %w", err)
	}
	s.observe("renewed")
	if err := s.setSession(r.Context(), w, renewed); err != nil {
		return Session{}, err
	}
	return renewed, nil
}

// observe tells the Config's Observe of event.
func (s *Service) observe(event string) {
	if s.cfg.Observe != nil {
		s.cfg.Observe(event)
	}
}

// renew refreshes sess with its refresh token: a new ID token, verified,
// whose user must be the session's.
func (s *Service) renew(ctx context.Context, sess Session) (Session, error) {
	rt, err := s.loadRefresh(ctx, sess.ID)
	if err != nil {
		return Session{}, err
	}
	verifier, oc, err := s.discover(ctx)
	if err != nil {
		return Session{}, err
	}
	tok, err := oc.TokenSource(oidc.ClientContext(ctx, s.cfg.HTTPClient), &oauth2.Token{RefreshToken: rt}).Token()
	if err != nil {
		return Session{}, err
	}
	next, err := s.session(ctx, verifier, tok, "", sess.Deadline)
	if err != nil {
		return Session{}, err
	}
	if next.Claims.UserID != sess.Claims.UserID {
		return Session{}, errors.New("the provider renewed the session for another user")
	}
	next.ID, next.Refresh = sess.ID, true
	if tok.RefreshToken != "" && tok.RefreshToken != rt {
		if err := s.storeRefresh(ctx, sess.ID, tok.RefreshToken, sess.Deadline); err != nil {
			return Session{}, err
		}
	}
	return next, nil
}

// refreshKey is the storage key of a session's refresh token.
func (s *Service) refreshKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return s.cfg.Folder + "refresh/" + hex.EncodeToString(sum[:16])
}

func (s *Service) storeRefresh(ctx context.Context, id, token string, deadline time.Time) error {
	sealed, err := s.keys.Seal(ctx, purposeRefresh, token, deadline)
	if err != nil {
		return err
	}
	if err := s.cfg.Storage.Store(ctx, s.refreshKey(id), []byte(sealed)); err != nil {
		return fmt.Errorf("storing a refresh token: %w", err)
	}
	return nil
}

func (s *Service) loadRefresh(ctx context.Context, id string) (string, error) {
	raw, err := s.cfg.Storage.Load(ctx, s.refreshKey(id))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", errors.New("the session was signed out")
		}
		return "", err
	}
	var token string
	return token, s.keys.Open(ctx, purposeRefresh, string(raw), &token)
}

// SignOut ends the request's session: its cookie is cleared and its
// refresh token forgotten.
func (s *Service) SignOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		var sess Session
		if s.keys.Open(r.Context(), purposeSession, c.Value, &sess) == nil && sess.Refresh {
			_ = s.cfg.Storage.Delete(r.Context(), s.refreshKey(sess.ID))
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteNoneMode, Partitioned: true, MaxAge: -1,
	})
}

// Error is a sign-in that failed: the status to answer, a sentence for the
// user, and the cause for the log.
type Error struct {
	Status int
	Detail string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Detail + ": " + e.Err.Error()
	}
	return e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// short returns an error code from the provider as at most 64 printable
// characters.
func short(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}
