// Package assertion signs the X-Helpdesk-Assertion tokens that tell an
// app's backend, verifiably, who the user is: short-lived ES256 JWTs whose
// audience is the app, with a key kept in Caddy's storage (or a PEM file),
// one for each Helpdesk, published as a JWK Set.
package assertion

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

const (
	// Issuer is the iss of every assertion.
	Issuer = "helpdesk-apps-gateway"
	// MinTTL is the shortest validity an assertion may have: its
	// exp has whole seconds.
	MinTTL = time.Second
	// MaxTTL caps how long an assertion is valid.
	MaxTTL = 5 * time.Minute
	// DefaultTTL is how long an assertion is valid by default.
	DefaultTTL = time.Minute
	// assertionKeyStorage is the folder of Caddy's storage where generated
	// keys are kept, one for each Helpdesk and shared by every instance
	// that shares the storage.
	assertionKeyStorage = "helpdesk_apps/assertion_keys/"
	// maxCachedAssertions bounds the memory signed assertions take.
	maxCachedAssertions = 10000
)

// Signer signs the X-Helpdesk-Assertion tokens that tell an app's backend,
// verifiably, who the user is.
type Signer struct {
	signer jose.Signer
	ttl    time.Duration
	// leeway is how long after a session's exp the gateway still accepts
	// it, and so still vouches for its identity.
	leeway time.Duration
	// jwks is the published key set, as served at <prefix>/_api/jwks.json.
	jwks []byte

	// An assertion is reused for the first half of its life: signing costs
	// far more than proxying a small response.
	mu    sync.Mutex
	cache map[assertionKey]cachedAssertion
	// OnAssertion, when set before the signer is used, is told of each
	// assertion: whether the cache gave it, or it was signed.
	OnAssertion func(cached bool)
}

// assertionKey is what an assertion says: the same identity for the same
// app gets the same assertion.
type assertionKey struct {
	session.Claims
	app string
}

// cachedAssertion is a signed assertion and when to stop reusing it.
type cachedAssertion struct {
	token    string
	reuseEnd time.Time
}

// ValidateTTL checks an assertion's lifetime, from MinTTL to MaxTTL.
func ValidateTTL(ttl time.Duration) error {
	if ttl < MinTTL || ttl > MaxTTL {
		return fmt.Errorf("assertion_ttl %s: must be from %s to %s", ttl, MinTTL, MaxTTL)
	}
	return nil
}

// New loads or creates the signing key and prepares the signer. A
// generated key belongs to scope, which names one Helpdesk: handlers of
// different Helpdesks sign with different keys, even in one process or
// with shared storage, so that no backend of one accepts the assertions
// of another for an app of the same id.
func New(ctx caddy.Context, keyFile, scope string, ttl, leeway time.Duration) (*Signer, error) {
	switch {
	case ttl == 0:
		ttl = DefaultTTL
	default:
		if err := ValidateTTL(ttl); err != nil {
			return nil, err
		}
	}
	var key *ecdsa.PrivateKey
	var err error
	if keyFile != "" {
		key, err = readAssertionKey(keyFile)
	} else {
		key, err = storedAssertionKey(ctx, assertionKeyStorage+scopeName(scope)+".pem")
	}
	if err != nil {
		return nil, err
	}

	pub := jose.JSONWebKey{Key: &key.PublicKey, Algorithm: string(jose.ES256), Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("assertion key thumbprint: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), pub.KeyID))
	if err != nil {
		return nil, fmt.Errorf("assertion signer: %w", err)
	}
	return &Signer{signer: signer, ttl: ttl, leeway: leeway, jwks: jwks, cache: make(map[assertionKey]cachedAssertion)}, nil
}

// readAssertionKey reads an ECDSA P-256 private key from a PEM file.
func readAssertionKey(file string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("assertion_key: %w", err)
	}
	key, err := parseECKey(data)
	if err != nil {
		return nil, fmt.Errorf("assertion_key %s: %w", file, err)
	}
	return key, nil
}

// scopeName is the file name of the key of a scope: it names the scope
// without revealing it.
func scopeName(scope string) string {
	sum := sha256.Sum256([]byte(scope))
	return hex.EncodeToString(sum[:16])
}

// storedAssertionKey returns the key kept in Caddy's storage under name,
// generating and storing it first if there is none. The storage lock keeps
// instances that share storage from generating two keys.
func storedAssertionKey(ctx caddy.Context, name string) (*ecdsa.PrivateKey, error) {
	storage := ctx.Storage()
	if err := storage.Lock(ctx, name); err != nil {
		return nil, fmt.Errorf("locking the assertion key in storage: %w", err)
	}
	defer func() { _ = storage.Unlock(ctx, name) }()

	data, err := storage.Load(ctx, name)
	if err == nil {
		key, err := parseECKey(data)
		if err != nil {
			return nil, fmt.Errorf("assertion key in storage (%s): %w", name, err)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("loading the assertion key from storage: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := storage.Store(ctx, name, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return nil, fmt.Errorf("storing the assertion key: %w", err)
	}
	return key, nil
}

// parseECKey parses a PEM ECDSA P-256 private key.
func parseECKey(data []byte) (*ecdsa.PrivateKey, error) {
	key, err := ParsePrivateKey(data)
	if err != nil {
		return nil, err
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("want an ECDSA P-256 key (ES256)")
	}
	return ec, nil
}

// JWKS returns the JWK Set that publishes the signer's public key.
func (a *Signer) JWKS() []byte { return a.jwks }

// ParsePrivateKey parses a PEM private key: PKCS #8, or PKCS #1 (RSA) or
// SEC 1 (ECDSA). Errors never quote the key.
func ParsePrivateKey(data []byte) (any, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, errors.New("not a valid private key")
	}
	return key, nil
}

// Claims are the claims of an assertion beyond the registered ones.
type Claims struct {
	Name       string `json:"name,omitempty"`
	Email      string `json:"email,omitempty"`
	Role       string `json:"role,omitempty"`
	DivisionID string `json:"division_id,omitempty"`
}

// Assertion returns an assertion of c for the app, reusing one signed less
// than half its lifetime ago.
func (a *Signer) Assertion(c session.Claims, appID string, now time.Time) (string, error) {
	key := assertionKey{c, appID}
	a.mu.Lock()
	hit, ok := a.cache[key]
	a.mu.Unlock()
	if ok && now.Before(hit.reuseEnd) {
		if a.OnAssertion != nil {
			a.OnAssertion(true)
		}
		return hit.token, nil
	}
	if a.OnAssertion != nil {
		a.OnAssertion(false)
	}
	token, exp, err := a.sign(c, appID, now)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cache) >= maxCachedAssertions {
		a.evict(now)
	}
	a.cache[key] = cachedAssertion{token: token, reuseEnd: now.Add(exp.Sub(now) / 2)}
	return token, nil
}

// evict empties half of a full cache: the entries past reuse first, then
// others at random (map order is random). Its cost is paid once every
// maxCachedAssertions/2 assertions signed. a.mu must be held.
func (a *Signer) evict(now time.Time) {
	maps.DeleteFunc(a.cache, func(_ assertionKey, v cachedAssertion) bool { return !now.Before(v.reuseEnd) })
	for k := range a.cache {
		if len(a.cache) <= maxCachedAssertions/2 {
			break
		}
		delete(a.cache, k)
	}
}

// sign returns a new assertion of c for the app, and its expiry: audience
// the app id, valid for the TTL but never past the end of the session as
// the gateway accepts it, its exp plus the leeway. (Capped at exp alone, a
// session accepted within the leeway would get an assertion that has
// already expired.)
func (a *Signer) sign(c session.Claims, appID string, now time.Time) (string, time.Time, error) {
	exp := now.Add(a.ttl)
	if end := c.Expiry.Add(a.leeway); !c.Expiry.IsZero() && end.Before(exp) {
		exp = end
	}
	token, err := jwt.Signed(a.signer).Claims(jwt.Claims{
		Issuer:    Issuer,
		Subject:   c.UserID,
		Audience:  jwt.Audience{appID},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		Expiry:    jwt.NewNumericDate(exp),
	}).Claims(Claims{Name: c.Name, Email: c.Email, Role: c.Role, DivisionID: c.Division}).Serialize()
	return token, exp, err
}
