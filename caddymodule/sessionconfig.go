package caddymodule

import (
	"errors"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// SessionConfig says where the Helpdesk session token is read from and how
// it is verified. Tokens are JWTs (RFC 7519) signed with HMAC; the algorithm
// is pinned, `exp` is required, and `nbf`, `iss` and `aud` are checked with
// a small leeway.
type SessionConfig struct {
	// Cookie is the name of the Helpdesk session cookie to read the token
	// from. The cookie is removed from every request before it reaches an
	// app. Default: `hd_session` when Bearer is also unset.
	Cookie string `json:"cookie,omitempty"`

	// Bearer reads the token from an `Authorization: Bearer` header. When
	// both sources carry a token, they must carry the same one. Default:
	// `true` when Cookie is also unset.
	Bearer bool `json:"bearer,omitempty"`

	// HMACSecret is the shared secret the Helpdesk signs its session tokens
	// with. It must be at least as long as the algorithm's hash output (32
	// bytes for HS256). Global placeholders such as `{env.HD_SESSION_SECRET}`
	// are resolved when the module is provisioned. Required.
	HMACSecret string `json:"hmac_secret,omitempty"`

	// Algorithm is the one JWS algorithm tokens may use: `HS256`, `HS384` or
	// `HS512`. Tokens with any other `alg`, `none` included, are rejected.
	// Default: `HS256`.
	Algorithm string `json:"algorithm,omitempty"`

	// Issuer, when set, must equal the token's `iss` claim.
	Issuer string `json:"issuer,omitempty"`

	// Audience, when set, must be one of the token's `aud` values.
	Audience string `json:"audience,omitempty"`

	// Leeway is the clock skew tolerated when checking `exp`, `nbf` and
	// `iat`. Default: `30s`.
	Leeway caddy.Duration `json:"leeway,omitempty"`

	// Claims maps identity fields to claim paths (dots walk nested
	// objects). Fields: `user_id`, `name`, `email`, `role`, `division`.
	// Default: `{"user_id": "sub", "name": "name", "email": "email",
	// "role": "role", "division": "division_id"}`.
	Claims map[string]string `json:"claims,omitempty"`
}

// claimFields are the identity fields a claim mapping may name.
var claimFields = []string{"user_id", "name", "email", "role", "division"}

// provision builds the token source and the verifier.
func (c *SessionConfig) provision() (session.Source, *session.Verifier, error) {
	src := session.Source{Cookie: c.Cookie, Bearer: c.Bearer}
	if src.Cookie == "" && !src.Bearer {
		src = session.Source{Cookie: "hd_session", Bearer: true}
	}

	secret := caddy.NewReplacer().ReplaceKnown(c.HMACSecret, "")
	if secret == "" {
		return src, nil, errors.New("hmac_secret: required (it may be empty because its placeholder is unset)")
	}

	mapping := session.DefaultMapping
	for field, path := range c.Claims {
		if path == "" {
			return src, nil, fmt.Errorf("claim %s: empty claim path", field)
		}
		switch field {
		case "user_id":
			mapping.UserID = path
		case "name":
			mapping.Name = path
		case "email":
			mapping.Email = path
		case "role":
			mapping.Role = path
		case "division":
			mapping.Division = path
		default:
			return src, nil, fmt.Errorf("claim %q: unknown field (want one of %v)", field, claimFields)
		}
	}

	v, err := session.NewHMAC([]byte(secret), c.Algorithm, session.Options{
		Issuer:   c.Issuer,
		Audience: c.Audience,
		Leeway:   time.Duration(c.Leeway),
		Mapping:  mapping,
	})
	if err != nil {
		return src, nil, err
	}
	return src, v, nil
}
