package session

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Defaults of [JWKSOptions].
const (
	// DefaultJWKSTimeout bounds one fetch of a key set when
	// [JWKSOptions.Client] is nil or has no timeout.
	DefaultJWKSTimeout = 10 * time.Second
	// DefaultJWKSRefresh is how long a fetched key set is fresh when
	// [JWKSOptions.RefreshInterval] is zero.
	DefaultJWKSRefresh = 5 * time.Minute
	// DefaultJWKSMinRefetch is the shortest time between two fetches when
	// [JWKSOptions.MinRefetch] is zero.
	DefaultJWKSMinRefetch = 30 * time.Second
	// DefaultJWKSMaxBytes is the largest key set response accepted when
	// [JWKSOptions.MaxBytes] is zero.
	DefaultJWKSMaxBytes = 1 << 20
)

// JWKSOptions configure how a [Verifier] made by [NewJWKS] fetches its key
// set.
type JWKSOptions struct {
	// Client fetches the key set; nil means a client with a
	// DefaultJWKSTimeout timeout.
	Client *http.Client
	// RefreshInterval is how long a fetched key set is fresh. The first
	// Verify after that fetches the set again; if that fails, the old set
	// keeps serving. 0 means DefaultJWKSRefresh.
	RefreshInterval time.Duration
	// MinRefetch is the shortest time between two fetches, whether for a
	// refresh or for a token whose "kid" is not in the set, however many
	// such tokens arrive. 0 means DefaultJWKSMinRefetch.
	MinRefetch time.Duration
	// MaxBytes is the largest key set response accepted, in bytes; 0 means
	// DefaultJWKSMaxBytes.
	MaxBytes int64
	// Logf, when set, is told of failed fetches and of ignored private or
	// symmetric keys. Its messages never hold key material or tokens.
	Logf func(format string, args ...any)
	// OnFetch, when set, is told of each fetch: the usable keys of the
	// set fetched, or the error that kept the last good one in use.
	OnFetch func(keys int, err error)
	// Now is the clock of refreshes and of the rate limit; nil means
	// time.Now. Verify checks claims against its own now argument.
	Now func() time.Time
}

// NewJWKS returns a Verifier for tokens signed with the keys of the JSON Web
// Key Set (RFC 7517 §5) served at jwksURL, an http or https URL. NewJWKS
// makes no request: the set is fetched on first use, or by
// [Verifier.Refresh], and then again when it is stale or when a token names
// a "kid" the set lacks, at most once per [JWKSOptions.MinRefetch]. A token
// whose key is still unknown then fails with ErrUnknownKey. The token's
// "kid" is only looked up in the fetched set; it never reaches a request.
//
// A key of the set is used when its "use" is absent or "sig", it is a
// public key that [NewPublicKey] would accept, and its "alg", when present,
// is among the accepted algorithms; it verifies only tokens with its own
// "alg" (when present) and the algorithms of its type. Private and symmetric
// keys are ignored. When the set holds more than one usable key, tokens must
// carry a "kid" (ErrNoKeyID otherwise); with exactly one, a token without
// "kid" uses it.
//
// algs, when not empty, narrows the accepted algorithms, which are all the
// algorithms of RSA, elliptic curve and Ed25519 keys; naming any other, such
// as HS256 or "none", is an error.
func NewJWKS(jwksURL string, algs []string, opts Options, jo JWKSOptions) (*Verifier, error) {
	u, err := url.Parse(jwksURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("jwks url must be an absolute http or https url")
	}
	allowed, err := narrowAlgs(publicAlgs, algs, "public")
	if err != nil {
		return nil, err
	}
	j := &jwks{
		url:        u.String(),
		display:    displayURL(u),
		client:     jo.Client,
		refreshAge: jo.RefreshInterval,
		minRefetch: jo.MinRefetch,
		maxBytes:   jo.MaxBytes,
		logf:       jo.Logf,
		onFetch:    jo.OnFetch,
		now:        jo.Now,
		algs:       allowed,
	}
	switch {
	case j.refreshAge < 0:
		return nil, errors.New("negative jwks refresh interval")
	case j.minRefetch < 0:
		return nil, errors.New("negative jwks minimum refetch interval")
	case j.maxBytes < 0:
		return nil, errors.New("negative jwks size limit")
	}
	if j.client == nil {
		j.client = &http.Client{Timeout: DefaultJWKSTimeout}
	}
	j.timeout = j.client.Timeout
	if j.timeout <= 0 {
		j.timeout = DefaultJWKSTimeout
	}
	if j.refreshAge == 0 {
		j.refreshAge = DefaultJWKSRefresh
	}
	if j.minRefetch == 0 {
		j.minRefetch = DefaultJWKSMinRefetch
	}
	if j.maxBytes == 0 {
		j.maxBytes = DefaultJWKSMaxBytes
	}
	if j.now == nil {
		j.now = time.Now
	}
	return newVerifier(allowed, nil, j, opts)
}

// noSetRefetch is the shortest time between two fetches while no key set
// has been fetched yet, when it is shorter than the MinRefetch.
const noSetRefetch = time.Second

// displayURL is u as messages show it: without its password, query and
// fragment, which may hold credentials.
func displayURL(u *url.URL) string {
	d := *u
	d.RawQuery, d.ForceQuery, d.Fragment, d.RawFragment = "", false, "", ""
	return d.Redacted()
}

// jwks is a JSON Web Key Set fetched from a URL, cached, refreshed when
// stale and refetched, rate-limited, for unknown key ids.
type jwks struct {
	url        string
	display    string // url without its password and query, for messages
	client     *http.Client
	timeout    time.Duration // bound on one fetch
	refreshAge time.Duration
	minRefetch time.Duration
	maxBytes   int64
	logf       func(format string, args ...any)
	onFetch    func(keys int, err error)
	now        func() time.Time
	algs       []jose.SignatureAlgorithm

	// set is the latest key set fetched; nil before the first success.
	set atomic.Pointer[keySet]

	// mu is held while fetching, so that concurrent callers share one
	// fetch; it guards the fields below.
	mu sync.Mutex
	// lastFetch is when the latest fetch started, successful or not.
	lastFetch time.Time
	// warnedSecret records that ignored private or symmetric keys were
	// logged, so that they are logged once.
	warnedSecret bool
}

// keySet holds the usable keys of one fetched key set. It is never modified
// once published.
type keySet struct {
	keys    []setKey
	byKID   map[string][]setKey
	fetched time.Time
	// digest is the SHA-256 of the response the set was parsed from.
	digest [sha256.Size]byte
	// gen numbers the distinct sets fetched, from 1; refetching the same
	// response keeps it, so cached tokens stay valid.
	gen uint64
}

// setKey is a usable public key of a key set.
type setKey struct {
	key  any
	algs []jose.SignatureAlgorithm
}

// generation returns s.gen, or 0 when there is no set.
func (s *keySet) generation() uint64 {
	if s == nil {
		return 0
	}
	return s.gen
}

// lookup returns the keys for a token with key id kid ("" when absent).
func (s *keySet) lookup(kid string) ([]setKey, error) {
	if s == nil {
		return nil, ErrKeysUnavailable
	}
	if kid == "" {
		switch len(s.keys) {
		case 0:
			return nil, fmt.Errorf("key set is empty: %w", ErrUnknownKey)
		case 1:
			return s.keys, nil
		}
		return nil, fmt.Errorf("key set holds %d keys: %w", len(s.keys), ErrNoKeyID)
	}
	if keys, ok := s.byKID[kid]; ok {
		return keys, nil
	}
	return nil, fmt.Errorf("token kid not in key set: %w", ErrUnknownKey)
}

// current returns the key set to use now. A missing set is fetched, and
// the caller waits; a stale one is refreshed unless a fetch is already under
// way, in which case the stale set serves meanwhile.
func (j *jwks) current() *keySet {
	s := j.set.Load()
	if s != nil && j.now().Sub(s.fetched) < j.refreshAge {
		return s
	}
	return j.update(s, s == nil)
}

// keysFor returns the keys for a token with key id kid, starting from set,
// and the set they come from. A key id not in set, or no set at all, makes
// it refetch the set once, as the rate limit allows.
func (j *jwks) keysFor(kid string, set *keySet) (*keySet, []setKey, error) {
	keys, err := set.lookup(kid)
	if err == nil || errors.Is(err, ErrNoKeyID) {
		return set, keys, err
	}
	set = j.update(set, true)
	keys, err = set.lookup(kid)
	return set, keys, err
}

// update fetches the key set to replace seen, and returns the set current
// afterwards. It does not fetch when another caller replaced seen
// meanwhile, or when the latest fetch started less than minRefetch ago.
// When wait is false and a fetch is under way, it returns seen at once.
func (j *jwks) update(seen *keySet, wait bool) *keySet {
	if wait {
		j.mu.Lock()
	} else if !j.mu.TryLock() {
		return seen
	}
	defer j.mu.Unlock()
	if cur := j.set.Load(); cur != seen {
		return cur
	}
	now := j.now()
	limit := j.minRefetch
	if seen == nil {
		// Without any set, every token fails: try again sooner, as when
		// the key set's server was starting together with the gateway.
		limit = min(limit, noSetRefetch)
	}
	if !j.lastFetch.IsZero() && now.Sub(j.lastFetch) < limit {
		return seen
	}
	ctx, cancel := context.WithTimeout(context.Background(), j.timeout)
	defer cancel()
	if err := j.fetchLocked(ctx, now); err != nil && j.logf != nil {
		if seen != nil {
			j.logf("session: %v; still using the key set fetched at %s", err, seen.fetched.Format(time.RFC3339))
		} else {
			j.logf("session: %v", err)
		}
	}
	return j.set.Load()
}

// refresh fetches the key set now, whatever the rate limit.
func (j *jwks) refresh(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, j.timeout)
	defer cancel()
	return j.fetchLocked(ctx, j.now())
}

// fetchLocked fetches and parses the key set, and publishes it; j.mu must be
// held. A response identical to the current set's only renews it.
func (j *jwks) fetchLocked(ctx context.Context, now time.Time) error {
	err := j.fetchSet(ctx, now)
	if j.onFetch != nil {
		keys := 0
		if s := j.set.Load(); s != nil && err == nil {
			keys = len(s.keys)
		}
		j.onFetch(keys, err)
	}
	return err
}

// fetchSet fetches the set, and publishes it when it parses.
func (j *jwks) fetchSet(ctx context.Context, now time.Time) error {
	j.lastFetch = now
	body, err := j.download(ctx)
	if err != nil {
		return fmt.Errorf("fetching jwks from %s: %w", j.display, err)
	}
	prev := j.set.Load()
	digest := sha256.Sum256(body)
	if prev != nil && prev.digest == digest {
		renewed := *prev
		renewed.fetched = now
		j.set.Store(&renewed)
		return nil
	}
	s, err := j.parse(body)
	if err != nil {
		return fmt.Errorf("jwks from %s: %w", j.display, err)
	}
	s.fetched, s.digest, s.gen = now, digest, prev.generation()+1
	j.set.Store(s)
	return nil
}

// download returns the body of a successful GET of the key set URL, of at
// most maxBytes.
func (j *jwks) download(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		// The *url.Error would repeat the URL, with its password.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	if resp.ContentLength > j.maxBytes {
		return nil, fmt.Errorf("response of %d bytes exceeds limit of %d", resp.ContentLength, j.maxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, j.maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading response: %w", err)
	}
	if int64(len(body)) > j.maxBytes {
		return nil, fmt.Errorf("response exceeds limit of %d bytes", j.maxBytes)
	}
	return body, nil
}

// parse reads the usable keys of a key set. Keys that cannot be parsed or
// used are skipped, as RFC 7517 §5 asks; private and symmetric keys are
// skipped too, and logged once. A set without usable keys is logged but
// still replaces the current one, so that emptying a set revokes its keys.
func (j *jwks) parse(body []byte) (*keySet, error) {
	// Each key is parsed on its own: jose.JSONWebKeySet would reject the
	// whole set for one key of a type go-jose does not know.
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Keys == nil {
		return nil, errors.New("response is not a json web key set")
	}
	s := &keySet{byKID: make(map[string][]setKey)}
	secret := false
	for _, raw := range doc.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		if !k.IsPublic() {
			secret = true
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		algs := j.keyAlgs(k)
		if len(algs) == 0 {
			continue
		}
		sk := setKey{key: k.Key, algs: algs}
		s.keys = append(s.keys, sk)
		if k.KeyID != "" {
			s.byKID[k.KeyID] = append(s.byKID[k.KeyID], sk)
		}
	}
	if secret && !j.warnedSecret && j.logf != nil {
		j.warnedSecret = true
		j.logf("session: jwks from %s holds private or symmetric keys; they are ignored", j.display)
	}
	if len(s.keys) == 0 && j.logf != nil {
		j.logf("session: jwks from %s holds no usable signing keys", j.display)
	}
	return s, nil
}

// keyAlgs returns the accepted algorithms that k may verify: those of its
// type, narrowed to its "alg" parameter when present.
func (j *jwks) keyAlgs(k jose.JSONWebKey) []jose.SignatureAlgorithm {
	typeAlgs, _, err := algsForKey(k.Key)
	if err != nil {
		return nil
	}
	var algs []jose.SignatureAlgorithm
	for _, a := range typeAlgs {
		if slices.Contains(j.algs, a) && (k.Algorithm == "" || k.Algorithm == string(a)) {
			algs = append(algs, a)
		}
	}
	return algs
}
