package caddymodule

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"golang.org/x/net/http/httpguts"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// SessionConfig says where the Helpdesk session token is read from and how
// it is verified. Tokens are JWTs (RFC 7519) signed with a shared HMAC
// secret, a public key, or a key from a JWKS; the algorithms are pinned by
// the key's type, `exp` is required, and `nbf`, `iss` and `aud` are checked
// with a small leeway. Verified tokens are cached until they expire.
type SessionConfig struct {
	// Cookie is the name of the Helpdesk session cookie to read the token
	// from, a valid cookie name (an HTTP token). The cookie is removed from
	// every request before it reaches an app. Default: `hd_session` when
	// Bearer is also unset.
	Cookie string `json:"cookie,omitempty"`

	// Bearer reads the token from an `Authorization: Bearer` header. When
	// both sources carry a token, they must carry the same one. Default:
	// `true` when Cookie is also unset.
	Bearer bool `json:"bearer,omitempty"`

	// HMACSecret is the shared secret the Helpdesk signs its session tokens
	// with. It must be at least as long as the algorithm's hash output (32
	// bytes for HS256). Global placeholders such as `{env.HD_SESSION_SECRET}`
	// are resolved when the module is provisioned. Exactly one of
	// HMACSecret, PublicKey and JWKS is required.
	HMACSecret string `json:"hmac_secret,omitempty"`

	// PublicKey is a PEM file holding the public key (or a certificate) the
	// Helpdesk's tokens verify with: RSA (RS256/384/512, PS256/384/512),
	// ECDSA (ES256, ES384 or ES512 by its curve) or Ed25519 (EdDSA).
	PublicKey string `json:"public_key,omitempty"`

	// JWKS is the URL of the Helpdesk's JSON Web Key Set. It is fetched on
	// first use (and at start-up in the background), refreshed every 5
	// minutes, refetched when a token names an unknown `kid` (at most once
	// every 30 seconds; every second while no set could be fetched yet),
	// and its last good copy is used while it cannot be fetched. Tokens
	// must name a `kid` when the set holds several keys.
	// Global placeholders are resolved when the module is provisioned.
	JWKS string `json:"jwks,omitempty"`

	// Algorithm narrows the JWS algorithms tokens may use to this one. With
	// an HMAC secret: `HS256`, `HS384` or `HS512`; with a key: one its type
	// allows. Tokens with any other `alg`, `none` included, are rejected.
	// Default: `HS256` with a secret, every algorithm of the key's type
	// otherwise.
	Algorithm string `json:"algorithm,omitempty"`

	// Issuer, when set, must equal the token's `iss` claim.
	Issuer string `json:"issuer,omitempty"`

	// Audience, when set, must be one of the token's `aud` values.
	Audience string `json:"audience,omitempty"`

	// Leeway is the clock skew tolerated when checking `exp`, `nbf` and
	// `iat`, from `0s` (none) to `5m`. Default: `30s`.
	Leeway *caddy.Duration `json:"leeway,omitempty"`

	// OIDC signs users in at the gateway itself, with an OpenID provider,
	// for a Helpdesk on another site. A request that carries a Helpdesk
	// token is judged by it; one without, by the gateway's own session.
	// With OIDC, the Helpdesk's key (HMACSecret, PublicKey or JWKS) may
	// be left out: then only the gateway's own sessions count.
	OIDC *OIDCConfig `json:"oidc,omitempty"`

	// Claims maps identity fields to claim paths (dots walk nested
	// objects), in the Helpdesk's tokens and in the ID tokens of OIDC.
	// Fields: `user_id`, `name`, `email`, `role`, `division`.
	// Default: `{"user_id": "sub", "name": "name", "email": "email",
	// "role": "role", "division": "division_id"}`.
	Claims map[string]string `json:"claims,omitempty"`

	// scope names the Helpdesk whose sessions these are, by the key that
	// verifies them (a secret only by a keyed digest), the issuer and the
	// audience; set by provision.
	scope string
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// validateLeeway checks a leeway; the Caddyfile and Provision both use it.
func validateLeeway(leeway time.Duration) error {
	if leeway < 0 || leeway > session.MaxLeeway {
		return fmt.Errorf("leeway %s: must be from 0s (none) to %s", leeway, session.MaxLeeway)
	}
	return nil
}

// validateKeys checks that exactly one key is given, or none with oidc;
// the Caddyfile and Provision both use it.
func (c *SessionConfig) validateKeys() error {
	keys := 0
	for _, v := range []string{c.HMACSecret, c.PublicKey, c.JWKS} {
		if v != "" {
			keys++
		}
	}
	switch {
	case keys == 0 && c.OIDC != nil:
		if c.Cookie != "" || c.Bearer || c.Algorithm != "" || c.Issuer != "" || c.Audience != "" {
			return errors.New("cookie, bearer, algorithm, issuer and audience are for the Helpdesk's tokens: give its key (hmac_secret, public_key or jwks) too, or leave them out")
		}
	case keys != 1:
		return errors.New("give exactly one of hmac_secret, public_key and jwks (or an oidc block)")
	}
	if c.OIDC != nil {
		return c.OIDC.validate()
	}
	return nil
}

// hasKey reports whether the Helpdesk's tokens are verified: a key is
// given.
func (c *SessionConfig) hasKey() bool {
	return c.HMACSecret != "" || c.PublicKey != "" || c.JWKS != ""
}

// mapping returns the claim mapping.
func (c *SessionConfig) mapping() (session.Mapping, error) {
	mapping := session.DefaultMapping
	for field, path := range c.Claims {
		if path == "" {
			return mapping, fmt.Errorf("claim %s: empty claim path", field)
		}
		f := claimField(field)
		if f == nil {
			return mapping, fmt.Errorf("claim %q: unknown field (want one of %v)", field, claimFields)
		}
		*f.claim(&mapping) = path
	}
	return mapping, nil
}

// provision builds the token source and the verifier, which tells m of
// its checks and fetches; without a key (an oidc block alone), the source
// reads nothing and the verifier is nil.
func (c *SessionConfig) provision(ctx caddy.Context, logger *zap.Logger, m *metrics) (session.Source, *session.Verifier, error) {
	if !c.hasKey() && c.OIDC != nil {
		if err := c.validateKeys(); err != nil {
			return session.Source{}, nil, err
		}
		if _, err := c.mapping(); err != nil {
			return session.Source{}, nil, err
		}
		c.scope = "oidc\x00" + c.OIDC.Issuer + "\x00" + c.OIDC.ClientID
		return session.Source{}, nil, nil
	}
	src := session.Source{Cookie: c.Cookie, Bearer: c.Bearer}
	if src.Cookie == "" && !src.Bearer {
		src = session.Source{Cookie: "hd_session", Bearer: true}
	}
	if src.Cookie != "" && !httpguts.ValidHeaderFieldName(src.Cookie) {
		return src, nil, fmt.Errorf("cookie %q: not a valid cookie name", src.Cookie)
	}

	repl := caddy.NewReplacer()
	secret := repl.ReplaceKnown(c.HMACSecret, "")
	jwksURL := repl.ReplaceKnown(c.JWKS, "")
	if err := c.validateKeys(); err != nil {
		return src, nil, err
	}
	switch {
	case c.HMACSecret != "" && secret == "":
		return src, nil, errors.New("hmac_secret: empty (is its placeholder set?)")
	case c.JWKS != "" && jwksURL == "":
		return src, nil, errors.New("jwks: empty (is its placeholder set?)")
	}

	mapping, err := c.mapping()
	if err != nil {
		return src, nil, err
	}

	opts := session.Options{
		Issuer:   c.Issuer,
		Audience: c.Audience,
		Mapping:  mapping,
		OnVerify: m.verified,
	}
	if c.Leeway != nil {
		leeway := time.Duration(*c.Leeway)
		if err := validateLeeway(leeway); err != nil {
			return src, nil, err
		}
		opts.Leeway = cmp.Or(leeway, session.NoLeeway)
	}
	var algs []string
	if c.Algorithm != "" {
		algs = []string{c.Algorithm}
	}
	var v *session.Verifier
	var authority string
	switch {
	case secret != "":
		if v, err = session.NewHMAC([]byte(secret), c.Algorithm, opts); errors.Is(err, session.ErrShortSecret) {
			err = fmt.Errorf("hmac_secret: %w", err)
		} else if err != nil {
			err = fmt.Errorf("algorithm: %w", err)
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte("helpdesk_apps session scope"))
		authority = "hmac_secret " + hex.EncodeToString(mac.Sum(nil))
	case c.PublicKey != "":
		var pemData []byte
		if pemData, err = os.ReadFile(c.PublicKey); err != nil {
			return src, nil, fmt.Errorf("public_key: %w", err)
		}
		if v, err = session.NewPublicKey(pemData, algs, opts); err != nil {
			return src, nil, fmt.Errorf("public_key %s: %w", c.PublicKey, err)
		}
		sum := sha256.Sum256(pemData)
		authority = "public_key " + hex.EncodeToString(sum[:])
	default:
		authority = "jwks " + jwksURL
		sugar := logger.Sugar()
		label := jwksURL
		if u, err := url.Parse(jwksURL); err == nil {
			u.User, u.RawQuery, u.Fragment = nil, "", ""
			label = u.String()
		}
		v, err = session.NewJWKS(jwksURL, algs, opts, session.JWKSOptions{
			Logf:    func(format string, args ...any) { sugar.Warnf(format, args...) },
			OnFetch: func(keys int, err error) { m.jwksFetch(label, keys, err) },
		})
		if err == nil {
			if u, _ := url.Parse(jwksURL); u != nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
				logger.Warn("session jwks is fetched over plain http: whoever can alter that traffic can make the gateway accept sessions they sign",
					zap.String("host", u.Host))
			}
			// Warm the key set so the first request does not wait for
			// it; a failure is logged and retried on use.
			go func() {
				if err := v.Refresh(ctx); err != nil && ctx.Err() == nil {
					logger.Warn("fetching the session key set at start-up; retrying on use", zap.Error(err))
				}
			}()
		}
	}
	if err != nil {
		return src, nil, err
	}
	c.scope = strings.Join([]string{authority, c.Issuer, c.Audience}, "\x00")
	return src, v, nil
}
