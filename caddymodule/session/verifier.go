package session

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// DefaultLeeway is the clock skew tolerated for "exp", "nbf" and "iat" when
// [Options.Leeway] is zero.
const DefaultLeeway = 30 * time.Second

// DefaultMaxTokenSize is the largest token, in bytes, accepted when
// [Options.MaxTokenSize] is zero.
const DefaultMaxTokenSize = 8192

// Options configure a [Verifier].
type Options struct {
	// Issuer, when non-empty, must equal the token's "iss".
	Issuer string
	// Audience, when non-empty, must be the token's "aud" or one of its
	// elements when "aud" is an array.
	Audience string
	// Leeway is the clock skew tolerated for "exp", "nbf" and "iat";
	// 0 means DefaultLeeway.
	Leeway time.Duration
	// Mapping names the claims read into [Claims]; empty fields are taken
	// from DefaultMapping.
	Mapping Mapping
	// MaxTokenSize is the largest token accepted, in bytes; 0 means
	// DefaultMaxTokenSize. Longer tokens are rejected before parsing.
	MaxTokenSize int
}

// A Verifier checks session tokens signed with one pinned algorithm and key.
// It is safe for concurrent use.
type Verifier struct {
	alg  jose.SignatureAlgorithm
	key  []byte
	opts Options
}

// hmacKeySizes holds the minimum secret length of each HMAC algorithm: the
// size of its hash output (RFC 7518 §3.2).
var hmacKeySizes = map[jose.SignatureAlgorithm]int{
	jose.HS256: 32,
	jose.HS384: 48,
	jose.HS512: 64,
}

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
		return nil, fmt.Errorf("hmac secret too short for %s: need at least %d bytes", alg, minLen)
	}
	opts, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	return &Verifier{
		alg:  jose.SignatureAlgorithm(alg),
		key:  append([]byte(nil), secret...),
		opts: opts,
	}, nil
}

// resolve fills in the defaults of o and validates it.
func (o Options) resolve() (Options, error) {
	if o.Leeway < 0 {
		return o, errors.New("negative leeway")
	}
	if o.Leeway == 0 {
		o.Leeway = DefaultLeeway
	}
	if o.MaxTokenSize < 0 {
		return o, errors.New("negative maximum token size")
	}
	if o.MaxTokenSize == 0 {
		o.MaxTokenSize = DefaultMaxTokenSize
	}
	o.Mapping = o.Mapping.withDefaults()
	if err := o.Mapping.validate(); err != nil {
		return o, err
	}
	return o, nil
}

// Verify checks token at time now and returns the identity it carries.
//
// The signature must verify with the pinned algorithm; any other "alg",
// including "none" and other HMAC sizes, fails with ErrAlgorithm. "exp" is
// required; "exp", "nbf" and "iat" are checked with the leeway, then "iss"
// and "aud" when the options ask for them. Finally the claims are mapped,
// and a token without a user id fails with ErrNoSubject.
func (v *Verifier) Verify(token string, now time.Time) (Claims, error) {
	if len(token) > v.opts.MaxTokenSize {
		return Claims{}, fmt.Errorf("token of %d bytes exceeds limit of %d: %w", len(token), v.opts.MaxTokenSize, ErrTooLarge)
	}
	alg, err := headerAlg(token)
	if err != nil {
		return Claims{}, err
	}
	if alg != string(v.alg) {
		return Claims{}, fmt.Errorf("token alg %s, want %s: %w", printableAlg(alg), v.alg, ErrAlgorithm)
	}
	// go-jose's own errors are dropped: they may quote parts of the token.
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{v.alg})
	if err != nil {
		return Claims{}, fmt.Errorf("parsing jws: %w", ErrMalformed)
	}
	raw, err := jws.Verify(v.key)
	if err != nil {
		return Claims{}, ErrSignature
	}
	payload, err := decodePayload(raw)
	if err != nil {
		return Claims{}, err
	}
	exp, err := v.checkRegistered(payload, now)
	if err != nil {
		return Claims{}, err
	}
	c := v.opts.Mapping.apply(payload)
	if c.UserID == "" {
		return Claims{}, ErrNoSubject
	}
	c.Expiry = exp
	return c, nil
}
