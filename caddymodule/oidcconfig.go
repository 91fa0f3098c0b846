package caddymodule

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/helpdeskapps/gateway/caddymodule/session"
	"github.com/helpdeskapps/gateway/caddymodule/signin"
)

// OIDCConfig signs users in at the gateway itself, with an OpenID
// provider: for a Helpdesk on another site, whose frames are third-party
// contexts where it cannot set a cookie the gateway reads. A framed app
// without a session shows a sign-in page whose button opens the provider
// in a popup; the gateway's own session then lives in a Partitioned
// (CHIPS) cookie of the app's host. Roles and divisions come from the ID
// token's claims, through the session's claim mapping, and decide access
// as a Helpdesk token's do.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, as its discovery document
	// (`<issuer>/.well-known/openid-configuration`) names it. Required.
	Issuer string `json:"issuer,omitempty"`

	// ClientID is the gateway's client at the provider. Required.
	ClientID string `json:"client_id,omitempty"`

	// ClientSecret is the client's secret; global placeholders such as
	// `{env.OIDC_CLIENT_SECRET}` are resolved when the module is
	// provisioned. Required: the gateway is a confidential client.
	ClientSecret string `json:"client_secret,omitempty"`

	// Scopes are asked for; `openid` is always added. Add the scopes that
	// carry the claims of the mapping (role, division), and
	// `offline_access` for sessions renewed without the user while the
	// provider allows. Default: `openid email profile`.
	Scopes []string `json:"scopes,omitempty"`

	// RedirectURL is the callback the provider sends users back to, as
	// registered there: `https://<the gateway's host><prefix>/_auth/callback`.
	// Default: that URL on the host the sign-in starts on, which is the
	// app's for an app under the prefix; apps on hosts of their own need
	// it set, to one host the provider knows.
	RedirectURL string `json:"redirect_url,omitempty"`

	// MaxAge bounds a session from its sign-in, renewals included, from 5m
	// to 720h. Default: `12h`.
	MaxAge caddy.Duration `json:"max_age,omitempty"`

	// Mismatch says what the gateway does when the user the Helpdesk
	// reports to an app (helpdesk:context:user, which the shim passes on)
	// is not the user signed in to the gateway: `warn` logs it, `deny`
	// also ends the gateway's session, so the frame asks for a sign-in
	// again. A consistency check, not a trust boundary: the Helpdesk's
	// report is not signed. Default: `warn`.
	Mismatch string `json:"mismatch,omitempty"`
}

// Mismatch policies.
const (
	MismatchWarn = "warn"
	MismatchDeny = "deny"
)

// Bounds and defaults of a sign-in's settings.
const (
	defaultMaxAge = 12 * time.Hour
	minMaxAge     = 5 * time.Minute
	maxMaxAge     = 720 * time.Hour
)

// validate checks the settings that need no placeholders resolved.
func (c *OIDCConfig) validate() error {
	switch {
	case c.Issuer == "":
		return errors.New("oidc: issuer: required")
	case c.ClientID == "":
		return errors.New("oidc: client_id: required")
	case c.ClientSecret == "":
		return errors.New("oidc: client_secret: required")
	}
	if !strings.Contains(c.Issuer, "{") {
		if u, err := url.Parse(c.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("oidc: issuer %q: must be an http(s) URL without query or fragment", c.Issuer)
		}
	}
	if c.RedirectURL != "" {
		if u, err := url.Parse(c.RedirectURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("oidc: redirect_url %q: must be an absolute http(s) URL", c.RedirectURL)
		}
	}
	if age := time.Duration(c.MaxAge); age != 0 && (age < minMaxAge || age > maxMaxAge) {
		return fmt.Errorf("oidc: max_age %s: must be from %s to %s", age, minMaxAge, maxMaxAge)
	}
	switch c.Mismatch {
	case "", MismatchWarn, MismatchDeny:
	default:
		return fmt.Errorf("oidc: mismatch %q: must be %s or %s", c.Mismatch, MismatchWarn, MismatchDeny)
	}
	for _, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\"\\") {
			return fmt.Errorf("oidc: scopes: %q is not a scope", s)
		}
	}
	return nil
}

// provision resolves the settings' placeholders and prepares the sign-in,
// its keys in the handler's storage under folder; observe is told of its
// renewals.
func (c *OIDCConfig) provision(ctx caddy.Context, mapping session.Mapping, folder string, observe func(string)) (*signin.Service, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	repl := caddy.NewReplacer()
	cfg := signin.Config{
		Issuer:       repl.ReplaceKnown(c.Issuer, ""),
		ClientID:     repl.ReplaceKnown(c.ClientID, ""),
		ClientSecret: repl.ReplaceKnown(c.ClientSecret, ""),
		Scopes:       slices.Clone(c.Scopes),
		MaxAge:       time.Duration(c.MaxAge),
		Mapping:      mapping,
		Storage:      ctx.Storage(),
		Folder:       folder,
		Observe:      observe,
	}
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("oidc: issuer: empty (is its placeholder set?)")
	case cfg.ClientSecret == "":
		return nil, errors.New("oidc: client_secret: empty (is its placeholder set?)")
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"openid", "email", "profile"}
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = defaultMaxAge
	}
	return signin.New(ctx, cfg)
}
