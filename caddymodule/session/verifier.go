package session

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// DefaultLeeway is the clock skew tolerated for "exp", "nbf" and "iat" when
// [Options.Leeway] is zero.
const DefaultLeeway = 30 * time.Second

// NoLeeway, as [Options.Leeway], tolerates no clock skew at all.
const NoLeeway time.Duration = -1

// MaxLeeway is the largest clock skew a [Verifier] may tolerate: more would
// keep expired sessions working for long.
const MaxLeeway = 5 * time.Minute

// DefaultMaxTokenSize is the largest token, in bytes, accepted when
// [Options.MaxTokenSize] is zero.
const DefaultMaxTokenSize = 8192

// DefaultCacheSize is the number of verified tokens a [Verifier] remembers
// when [Options.CacheSize] is zero.
const DefaultCacheSize = 10000

// Options configure a [Verifier].
type Options struct {
	// Issuer, when non-empty, must equal the token's "iss".
	Issuer string
	// Audience, when non-empty, must be the token's "aud" or one of its
	// elements when "aud" is an array.
	Audience string
	// Leeway is the clock skew tolerated for "exp", "nbf" and "iat", at
	// most MaxLeeway; 0 means DefaultLeeway, NoLeeway none.
	Leeway time.Duration
	// Mapping names the claims read into [Claims]; empty fields are taken
	// from DefaultMapping.
	Mapping Mapping
	// MaxTokenSize is the largest token accepted, in bytes; 0 means
	// DefaultMaxTokenSize. Longer tokens are rejected before parsing.
	MaxTokenSize int
	// CacheSize is the number of verified tokens remembered until they
	// expire, so that a token seen again skips its signature check; 0 means
	// DefaultCacheSize, and a negative size disables the cache.
	CacheSize int
	// OnVerify, when set, is told of each verification: whether the
	// cache answered it, and its error, nil for a token accepted.
	OnVerify func(cached bool, err error)
}

// A Verifier checks session tokens: their signature, by an algorithm and a
// key pinned when the Verifier is made (an HMAC secret, a public key or the
// keys of a JWK Set), their registered claims, and their identity claims.
// It remembers the tokens it has verified until they expire. It is safe for
// concurrent use.
type Verifier struct {
	// algs are the accepted "alg" values.
	algs []jose.SignatureAlgorithm
	// key is the HMAC secret ([]byte) or the public key; nil with jwks.
	key any
	// jwks is the remote key set; nil with key.
	jwks *jwks
	opts Options
	// cache remembers verified tokens; nil when disabled.
	cache *tokenCache
	// checks counts signature verifications, so that tests can tell a
	// cached result from a fresh one.
	checks atomic.Uint64
}

// hmacKeySizes holds the minimum secret length of each HMAC algorithm: the
// size of its hash output (RFC 7518 §3.2).
var hmacKeySizes = map[jose.SignatureAlgorithm]int{
	jose.HS256: 32,
	jose.HS384: 48,
	jose.HS512: 64,
}

// ErrShortSecret reports an HMAC secret shorter than its algorithm's hash
// output.
var ErrShortSecret = errors.New("hmac secret too short")

// NewHMAC returns a Verifier for tokens signed with HS256, HS384 or HS512
// (alg spelled exactly as in JOSE; "" means HS256). The secret must be at
// least as long as the hash output: 32, 48 or 64 bytes (RFC 7518 §3.2).
// NewHMAC keeps its own copy of secret.
func NewHMAC(secret []byte, alg string, opts Options) (*Verifier, error) {
	if alg == "" {
		alg = string(jose.HS256)
	}
	minLen, ok := hmacKeySizes[jose.SignatureAlgorithm(alg)]
	if !ok {
		return nil, fmt.Errorf("unsupported hmac algorithm %q: want HS256, HS384 or HS512", alg)
	}
	if len(secret) < minLen {
		return nil, fmt.Errorf("%w for %s: %d bytes, need at least %d", ErrShortSecret, alg, len(secret), minLen)
	}
	return newVerifier([]jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}, append([]byte(nil), secret...), nil, opts)
}

// newVerifier returns a Verifier accepting algs, with either a static key or
// a key set.
func newVerifier(algs []jose.SignatureAlgorithm, key any, set *jwks, opts Options) (*Verifier, error) {
	opts, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	v := &Verifier{algs: algs, key: key, jwks: set, opts: opts}
	if opts.CacheSize > 0 {
		v.cache = newTokenCache(opts.CacheSize)
	}
	return v, nil
}

// resolve fills in the defaults of o and validates it.
func (o Options) resolve() (Options, error) {
	switch {
	case o.Leeway == NoLeeway:
		o.Leeway = 0
	case o.Leeway < 0:
		return o, errors.New("negative leeway")
	case o.Leeway > MaxLeeway:
		return o, fmt.Errorf("leeway %s: more than %s", o.Leeway, MaxLeeway)
	case o.Leeway == 0:
		o.Leeway = DefaultLeeway
	}
	if o.MaxTokenSize < 0 {
		return o, errors.New("negative maximum token size")
	}
	if o.MaxTokenSize == 0 {
		o.MaxTokenSize = DefaultMaxTokenSize
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	o.Mapping = o.Mapping.withDefaults()
	if err := o.Mapping.validate(); err != nil {
		return o, err
	}
	return o, nil
}

// Leeway returns the clock skew the verifier tolerates: a session is
// accepted until its "exp" plus the leeway.
func (v *Verifier) Leeway() time.Duration { return v.opts.Leeway }

// KeySet describes the remote key set of a JWKS verifier.
type KeySet struct {
	// Remote is set for a verifier of a JWKS; the fields below are its.
	Remote bool
	// Keys is how many usable keys the set holds, and Fetched when it was
	// fetched; zero before the first success.
	Keys    int
	Fetched time.Time
}

// KeySet reports the state of the verifier's key set.
func (v *Verifier) KeySet() KeySet {
	if v.jwks == nil {
		return KeySet{}
	}
	ks := KeySet{Remote: true}
	if s := v.jwks.set.Load(); s != nil {
		ks.Keys, ks.Fetched = len(s.keys), s.fetched
	}
	return ks
}

// Verify checks token at time now and returns the identity it carries.
//
// The token's "alg" must be one the verifier accepts; any other, including
// "none" and HMAC algorithms at a public key verifier, fails with
// ErrAlgorithm. With a key set, the token's "kid" selects the key. The
// signature must verify; then "exp" is required, "exp", "nbf" and "iat" are
// checked with the leeway, and "iss" and "aud" when the options ask for
// them. Finally the claims are mapped, and a token without a user id fails
// with ErrNoSubject.
//
// A token verified before is answered from the cache without checking its
// signature again, as long as the key that verified it is still in use; its
// time claims are checked against now every time.
func (v *Verifier) Verify(token string, now time.Time) (Claims, error) {
	c, cached, err := v.verifyCached(token, now)
	if v.opts.OnVerify != nil {
		v.opts.OnVerify(cached, err)
	}
	return c, err
}

// verifyCached is Verify, reporting whether the cache answered.
func (v *Verifier) verifyCached(token string, now time.Time) (Claims, bool, error) {
	if len(token) > v.opts.MaxTokenSize {
		return Claims{}, false, fmt.Errorf("token of %d bytes exceeds limit of %d: %w", len(token), v.opts.MaxTokenSize, ErrTooLarge)
	}
	var set *keySet
	if v.jwks != nil {
		set = v.jwks.current()
	}
	var sum [sha256.Size]byte
	if v.cache != nil {
		sum = tokenHash(token)
		if e, ok := v.cache.get(sum); ok && e.gen == set.generation() {
			if err := e.times.check(now, v.opts.Leeway); err != nil {
				return Claims{}, true, err
			}
			return e.claims, true, nil
		}
	}
	c, t, gen, err := v.verify(token, set, now)
	if err != nil {
		return Claims{}, false, err
	}
	if v.cache != nil {
		v.cache.put(sum, cacheEntry{claims: c, times: t, gen: gen}, now, v.opts.Leeway)
	}
	return c, false, nil
}

// Signed reports whether token is signed with a key of the verifier, by an
// algorithm it accepts, whatever its claims say: whether it is a Helpdesk
// credential, expired or not, that must not reach an app. A token in the
// cache was.
func (v *Verifier) Signed(token string) bool {
	if len(token) > v.opts.MaxTokenSize || strings.Count(token, ".") != 2 {
		return false
	}
	if v.cache != nil {
		if _, ok := v.cache.get(tokenHash(token)); ok {
			return true
		}
	}
	h, err := parseHeader(token)
	if err != nil {
		return false
	}
	alg := jose.SignatureAlgorithm(h.alg)
	if !slices.Contains(v.algs, alg) {
		return false
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{alg})
	if err != nil {
		return false
	}
	var set *keySet
	if v.jwks != nil {
		set = v.jwks.current()
	}
	_, _, err = v.verifySignature(jws, alg, h.kid, set)
	return err == nil
}

// verify checks token without the cache, using set when the verifier has a
// key set. It returns the claims, the time claims, and the generation of the
// key set whose key verified the signature (0 for a static key).
func (v *Verifier) verify(token string, set *keySet, now time.Time) (Claims, times, uint64, error) {
	h, err := parseHeader(token)
	if err != nil {
		return Claims{}, times{}, 0, err
	}
	alg := jose.SignatureAlgorithm(h.alg)
	if !slices.Contains(v.algs, alg) {
		return Claims{}, times{}, 0, fmt.Errorf("token alg %s, want %s: %w", printableAlg(h.alg), joinAlgs(v.algs), ErrAlgorithm)
	}
	// go-jose's own errors are dropped: they may quote parts of the token.
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{alg})
	if err != nil {
		return Claims{}, times{}, 0, fmt.Errorf("parsing jws: %w", ErrMalformed)
	}
	raw, gen, err := v.verifySignature(jws, alg, h.kid, set)
	if err != nil {
		return Claims{}, times{}, 0, err
	}
	payload, err := decodePayload(raw)
	if err != nil {
		return Claims{}, times{}, 0, err
	}
	t, err := v.checkRegistered(payload, now)
	if err != nil {
		return Claims{}, times{}, 0, err
	}
	c, err := v.opts.Mapping.apply(payload)
	if err != nil {
		return Claims{}, times{}, 0, err
	}
	if c.UserID == "" {
		return Claims{}, times{}, 0, ErrNoSubject
	}
	c.Expiry = t.exp
	return c, t, gen, nil
}

// verifySignature checks the signature of jws, made with alg, and returns
// its payload and the generation of the key set that verified it. With a
// key set, kid selects the key, and set is the key set to start from.
func (v *Verifier) verifySignature(jws *jose.JSONWebSignature, alg jose.SignatureAlgorithm, kid string, set *keySet) ([]byte, uint64, error) {
	if v.jwks == nil {
		v.checks.Add(1)
		raw, err := jws.Verify(v.key)
		if err != nil {
			return nil, 0, ErrSignature
		}
		return raw, 0, nil
	}
	set, keys, err := v.jwks.keysFor(kid, set)
	if err != nil {
		return nil, 0, err
	}
	fits := false
	for _, k := range keys {
		if !slices.Contains(k.algs, alg) {
			continue
		}
		fits = true
		v.checks.Add(1)
		if raw, err := jws.Verify(k.key); err == nil {
			return raw, set.gen, nil
		}
	}
	if !fits {
		return nil, 0, fmt.Errorf("token alg %s does not fit its key: %w", alg, ErrAlgorithm)
	}
	return nil, 0, ErrSignature
}

// Refresh fetches the key set of a verifier made by [NewJWKS] now, whatever
// the refresh interval and the rate limit, and reports whether that
// succeeded; ctx bounds the fetch. It lets a server load the keys while it
// starts rather than on the first request. For other verifiers it does
// nothing and returns nil.
func (v *Verifier) Refresh(ctx context.Context) error {
	if v.jwks == nil {
		return nil
	}
	return v.jwks.refresh(ctx)
}
