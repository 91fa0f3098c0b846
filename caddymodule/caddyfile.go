package caddymodule

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/headers"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/helpdeskapps/gateway/caddymodule/assertion"
	"github.com/helpdeskapps/gateway/caddymodule/rewrite"
	"github.com/helpdeskapps/gateway/caddymodule/session"
	"github.com/helpdeskapps/gateway/caddymodule/upstreams"
)

func init() {
	// RegisterHandlerDirective would take a first argument beginning with
	// "/" as a path matcher, and the handler would never see the rest of
	// the prefix; the prefix is read here instead, as handle_path does.
	httpcaddyfile.RegisterDirective("helpdesk_apps", parseCaddyfile)
	// After encode, so site-wide compression and auth apply to apps too;
	// before handle, respond, reverse_proxy and file_server, so no
	// catch-all swallows the prefix.
	httpcaddyfile.RegisterDirectiveOrder("helpdesk_apps", httpcaddyfile.After, "encode")
}

// parseCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	helpdesk_apps [<prefix>] {
//		frame_ancestors <sources...>
//		hosts           *.<domain>
//		identity_headers {
//			user_id|name|email|role|division|assertion <header>|off
//		}
//		assertion_key <pem_file>
//		assertion_ttl <duration>
//		session {
//			cookie      <name>
//			bearer
//			hmac_secret <secret> | public_key <pem_file> | jwks <url>
//			algorithm   <alg>
//			issuer      <iss>
//			audience    <aud>
//			leeway      <duration>
//			claim       user_id|name|email|role|division <claim.path>
//			oidc {
//				issuer        <url>
//				client_id     <id>
//				client_secret <secret>
//				scopes        <scope...>
//				redirect_url  <url>
//				max_age       <duration>
//				mismatch      warn|deny
//			}
//		}
//		app <id> {
//			name      <label>
//			icon      <url>
//			placement ticket_sidebar|main_menu
//			mode      popup|embed
//			roles     <role...>
//			divisions <division_id...>
//			order     <n>
//			favorite
//			disabled
//			inject    on|off
//			auto_resize
//			manual_ready
//			rewrite_links on|off
//			isolate_cookies
//			origin    map|check|off
//			host      <host>
//			mount     host|prefix
//			to        <upstreams...>
//			reverse_proxy [<upstreams...>] {
//				...
//			}
//		}
//	}
func parseCaddyfile(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	handler := new(Handler)
	if err := handler.unmarshalCaddyfile(h); err != nil {
		return nil, err
	}
	// Runtime apps must never reach Caddy's admin endpoint, wherever the
	// admin global option moved it.
	if admin, ok := h.Option("admin").(*caddy.AdminConfig); ok && handler.Manage != nil && admin.Listen != "" &&
		!slices.Contains(handler.Manage.Refuse, admin.Listen) {
		handler.Manage.Refuse = append(handler.Manage.Refuse, admin.Listen)
	}
	return h.NewRoute(nil, handler), nil
}

// unmarshalCaddyfile reads the directive. It takes the Helper, not only a
// Dispenser, because a reverse_proxy block may hold handle_response routes.
func (hd *Handler) unmarshalCaddyfile(h httpcaddyfile.Helper) error {
	d := h.Dispenser
	var backends []parsedBackend
	d.Next() // directive name
	if d.NextArg() {
		hd.Prefix = d.Val()
		if err := validatePrefix(hd.Prefix); err != nil {
			return d.Errf("%v (matchers are not supported; the prefix is the only argument)", err)
		}
		if d.NextArg() {
			return d.ArgErr()
		}
	}

	for d.NextBlock(0) {
		switch d.Val() {
		case "frame_ancestors":
			srcs := d.RemainingArgs()
			if len(srcs) == 0 {
				return d.ArgErr()
			}
			for _, src := range srcs {
				if err := rewrite.ValidateAncestor(src); err != nil {
					return d.Err(err.Error())
				}
			}
			hd.FrameAncestors = append(hd.FrameAncestors, srcs...)

		case "session":
			if hd.Session != nil {
				return d.Err("session: already defined")
			}
			hd.Session = new(SessionConfig)
			if err := hd.Session.unmarshalCaddyfile(d); err != nil {
				return err
			}

		case "identity_headers":
			if hd.IdentityHeaders != nil {
				return d.Err("identity_headers: already defined")
			}
			hd.IdentityHeaders = new(IdentityHeaders)
			if err := hd.IdentityHeaders.unmarshalCaddyfile(d); err != nil {
				return err
			}

		case "assertion_key":
			if !d.AllArgs(&hd.AssertionKey) {
				return d.ArgErr()
			}

		case "assertion_ttl":
			dur, err := durationArg(d, "assertion_ttl")
			if err != nil {
				return err
			}
			if err := assertion.ValidateTTL(dur); err != nil {
				return d.Err(err.Error())
			}
			hd.AssertionTTL = caddy.Duration(dur)

		case "console":
			if hd.Console != nil {
				return d.Err("console: already defined")
			}
			hd.Console = &ConsoleConfig{Roles: d.RemainingArgs()}
			for _, role := range hd.Console.Roles {
				if !slices.Contains(knownRoles, session.LowerRole(role)) {
					return d.Errf("console: unknown role %q (want one of %s)", role, strings.Join(knownRoles, ", "))
				}
			}

		case "manage":
			if hd.Manage != nil {
				return d.Err("manage: already defined")
			}
			hd.Manage = new(ManageConfig)
			if err := hd.Manage.unmarshalCaddyfile(d); err != nil {
				return err
			}

		case "hosts":
			if hd.Hosts != "" {
				return d.Err("hosts: already defined")
			}
			if !d.AllArgs(&hd.Hosts) {
				return d.ArgErr()
			}
			if _, err := validHostsPattern(hd.Hosts); err != nil {
				return d.Err(err.Error())
			}

		case "app":
			app, backend, err := unmarshalApp(h)
			if err != nil {
				return err
			}
			for _, other := range hd.Apps {
				if other.ID == app.ID {
					return d.Errf("app %q: duplicate id", app.ID)
				}
			}
			hd.Apps = append(hd.Apps, app)
			backends = append(backends, backend)

		default:
			return d.Errf("unrecognized subdirective %s", d.Val())
		}
	}
	if hd.Session == nil {
		return d.Err("session: required (a session block with hmac_secret, public_key or jwks)")
	}
	// Whether `to` sends the upstream its own Host depends on the app's
	// mount, and so on a hosts line that may come after the app.
	for i, app := range hd.Apps {
		b := backends[i]
		if b.to && !app.onHost(hd.Hosts != "") {
			b.rp.Headers = &headers.Handler{Request: &headers.HeaderOps{
				Set: http.Header{"Host": []string{upstreamHostPlaceholder}},
			}}
		}
		app.BackendRaw = caddyconfig.JSONModuleObject(b.rp, "handler", "reverse_proxy", nil)
	}
	return nil
}

// unmarshalCaddyfile reads a session block.
func (c *SessionConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "cookie":
			if !d.AllArgs(&c.Cookie) {
				return d.ArgErr()
			}
		case "bearer":
			if d.NextArg() {
				return d.ArgErr()
			}
			c.Bearer = true
		case "hmac_secret":
			if !d.AllArgs(&c.HMACSecret) {
				return d.ArgErr()
			}
		case "public_key":
			if !d.AllArgs(&c.PublicKey) {
				return d.ArgErr()
			}
		case "jwks":
			if !d.AllArgs(&c.JWKS) {
				return d.ArgErr()
			}
		case "algorithm":
			if !d.AllArgs(&c.Algorithm) {
				return d.ArgErr()
			}
			if !slices.Contains(jwsAlgorithms, c.Algorithm) {
				return d.Errf("session: algorithm %q: must be one of %s", c.Algorithm, strings.Join(jwsAlgorithms, ", "))
			}
		case "issuer":
			if !d.AllArgs(&c.Issuer) {
				return d.ArgErr()
			}
		case "audience":
			if !d.AllArgs(&c.Audience) {
				return d.ArgErr()
			}
		case "leeway":
			dur, err := durationArg(d, "session: leeway")
			if err != nil {
				return err
			}
			if err := validateLeeway(dur); err != nil {
				return d.Errf("session: %v", err)
			}
			leeway := caddy.Duration(dur)
			c.Leeway = &leeway
		case "oidc":
			if c.OIDC != nil {
				return d.Err("session: oidc: already defined")
			}
			c.OIDC = new(OIDCConfig)
			if err := c.OIDC.unmarshalCaddyfile(d); err != nil {
				return err
			}
		case "claim":
			var field, path string
			if !d.AllArgs(&field, &path) {
				return d.ArgErr()
			}
			if claimField(field) == nil {
				return d.Errf("session: claim %q: unknown field (want one of %s)", field, strings.Join(claimFields, ", "))
			}
			if c.Claims == nil {
				c.Claims = make(map[string]string)
			}
			c.Claims[field] = path
		default:
			return d.Errf("session: unrecognized subdirective %s", d.Val())
		}
	}
	if err := c.validateKeys(); err != nil {
		return d.Errf("session: %v", err)
	}
	// A literal secret is checked now, a placeholder when it is resolved.
	if c.HMACSecret != "" && !strings.Contains(c.HMACSecret, "{") {
		if _, err := session.NewHMAC([]byte(c.HMACSecret), c.Algorithm, session.Options{}); errors.Is(err, session.ErrShortSecret) {
			return d.Errf("session: hmac_secret: %v", err)
		}
	}
	return nil
}

// unmarshalCaddyfile reads an oidc block.
func (c *OIDCConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		field := d.Val()
		switch field {
		case "issuer", "client_id", "client_secret", "redirect_url", "mismatch":
			var val string
			if !d.AllArgs(&val) {
				return d.Errf("session: oidc: %s: expected one value", field)
			}
			*map[string]*string{"issuer": &c.Issuer, "client_id": &c.ClientID, "client_secret": &c.ClientSecret,
				"redirect_url": &c.RedirectURL, "mismatch": &c.Mismatch}[field] = val
		case "scopes":
			if c.Scopes = append(c.Scopes, d.RemainingArgs()...); len(c.Scopes) == 0 {
				return d.Errf("session: oidc: scopes: expected at least one scope")
			}
		case "max_age":
			dur, err := durationArg(d, "session: oidc: max_age")
			if err != nil {
				return err
			}
			c.MaxAge = caddy.Duration(dur)
		default:
			return d.Errf("session: oidc: unrecognized subdirective %s", field)
		}
	}
	if err := c.validate(); err != nil {
		return d.Errf("session: %v", err)
	}
	return nil
}

// unmarshalCaddyfile reads a manage block.
func (c *ManageConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		field := d.Val()
		switch field {
		case "roles", "upstreams", "overrides":
			vals := d.RemainingArgs()
			if len(vals) == 0 {
				return d.Errf("manage: %s: expected at least one value", field)
			}
			switch field {
			case "roles":
				for _, role := range vals {
					if !slices.Contains(knownRoles, session.LowerRole(role)) {
						return d.Errf("manage: roles: unknown role %q (want one of %s)", role, strings.Join(knownRoles, ", "))
					}
				}
				c.Roles = append(c.Roles, vals...)
			case "upstreams":
				if _, err := upstreams.Parse(vals, nil); err != nil {
					return d.Errf("manage: %v", err)
				}
				c.Upstreams = append(c.Upstreams, vals...)
			default:
				for _, f := range vals {
					if !slices.Contains(overridable, f) {
						return d.Errf("manage: overrides: %q cannot be overridden (want any of %s)", f, strings.Join(overridable, ", "))
					}
				}
				c.Overrides = append(c.Overrides, vals...)
			}
		case "poll":
			dur, err := durationArg(d, "manage: poll")
			if err != nil {
				return err
			}
			if dur < time.Second {
				return d.Errf("manage: poll %s: must be at least 1s", dur)
			}
			c.Poll = caddy.Duration(dur)
		case "site":
			if !d.AllArgs(&c.Site) {
				return d.ArgErr()
			}
		case "refuse":
			addrs := d.RemainingArgs()
			if len(addrs) == 0 {
				return d.Errf("manage: refuse: expected at least one address")
			}
			for _, addr := range addrs {
				if _, err := caddy.ParseNetworkAddress(addr); err != nil {
					return d.Errf("manage: refuse %q: %v", addr, err)
				}
			}
			c.Refuse = append(c.Refuse, addrs...)
		case "host":
			if !d.AllArgs(&c.Host) {
				return d.ArgErr()
			}
			if _, err := validManageHost(c.Host); err != nil {
				return d.Errf("manage: %v", err)
			}
		default:
			return d.Errf("manage: unrecognized subdirective %s", field)
		}
	}
	return nil
}

// jwsAlgorithms are the algorithms a session may be pinned to.
var jwsAlgorithms = []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// unmarshalCaddyfile reads an identity_headers block.
func (ih *IdentityHeaders) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		field := d.Val()
		var name string
		if !d.AllArgs(&name) {
			return d.Errf("identity_headers: %s: expected a header name or off", field)
		}
		i := slices.IndexFunc(identityTable[:], func(f identityField) bool { return f.name == field })
		if i < 0 {
			return d.Errf("identity_headers: unrecognized subdirective %s", field)
		}
		*identityTable[i].header(ih) = name
	}
	if _, _, err := ih.resolve(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// durationArg reads the one argument of the current line as a duration;
// what names the line in errors.
func durationArg(d *caddyfile.Dispenser, what string) (time.Duration, error) {
	var val string
	if !d.AllArgs(&val) {
		return 0, d.ArgErr()
	}
	dur, err := caddy.ParseDuration(val)
	if err != nil {
		return 0, d.Errf("%s %q: not a duration", what, val)
	}
	return dur, nil
}

// appValues are the app subdirectives that take one value, and the field
// it sets; appFlags those that take none, and the field they switch on.
var (
	appValues = map[string]func(*AppConfig) *string{
		"name":      func(a *AppConfig) *string { return &a.Name },
		"icon":      func(a *AppConfig) *string { return &a.Icon },
		"placement": func(a *AppConfig) *string { return &a.Placement },
		"mode":      func(a *AppConfig) *string { return &a.Mode },
		"origin":    func(a *AppConfig) *string { return &a.Origin },
		"host":      func(a *AppConfig) *string { return &a.Host },
		"mount":     func(a *AppConfig) *string { return &a.Mount },
	}
	appFlags = map[string]func(*AppConfig) *bool{
		"favorite":        func(a *AppConfig) *bool { return &a.Favorite },
		"disabled":        func(a *AppConfig) *bool { return &a.Disabled },
		"auto_resize":     func(a *AppConfig) *bool { return &a.AutoResize },
		"manual_ready":    func(a *AppConfig) *bool { return &a.ManualReady },
		"isolate_cookies": func(a *AppConfig) *bool { return &a.IsolateCookies },
	}
)

// parsedBackend is an app's reverse_proxy as read, and whether it was
// given with `to`.
type parsedBackend struct {
	rp *reverseproxy.Handler
	to bool
}

// unmarshalApp reads an app block. Its backend is returned apart, for the
// directive to complete once it knows the app's mount.
func unmarshalApp(h httpcaddyfile.Helper) (*AppConfig, parsedBackend, error) {
	d := h.Dispenser
	app := new(AppConfig)
	var backend parsedBackend
	fail := func(err error) (*AppConfig, parsedBackend, error) { return nil, backend, err }
	if !d.AllArgs(&app.ID) {
		return fail(d.Err("app: expected exactly one id, as in: app <id> { … }"))
	}
	if err := validateAppID(app.ID); err != nil {
		return fail(d.Err(err.Error()))
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		field := d.Val()
		if value, ok := appValues[field]; ok {
			if !d.AllArgs(value(app)) {
				return fail(d.Errf("app %q: %s: expected one value", app.ID, field))
			}
		} else if flag, ok := appFlags[field]; ok {
			if d.NextArg() {
				return fail(d.Errf("app %q: %s: takes no value", app.ID, field))
			}
			*flag(app) = true
		}
		switch field {
		case "roles", "divisions":
			// A line without values must not pass for "everyone": an
			// unset environment variable would open the app to all.
			vals := d.RemainingArgs()
			if len(vals) == 0 {
				return fail(d.Errf("app %q: %s: expected at least one value (leave the line out to allow every %s)",
					app.ID, field, strings.TrimSuffix(field, "s")))
			}
			if field == "roles" {
				app.Roles = append(app.Roles, vals...)
			} else {
				app.Divisions = append(app.Divisions, vals...)
			}
		case "order":
			var val string
			if !d.AllArgs(&val) {
				return fail(d.Errf("app %q: order: expected one number", app.ID))
			}
			n, err := strconv.Atoi(val)
			if err != nil {
				return fail(d.Errf("app %q: order %q: not a whole number", app.ID, val))
			}
			app.Order = n
		case "rewrite_links":
			var val string
			if !d.AllArgs(&val) || val != "on" && val != "off" {
				return fail(d.Errf("app %q: rewrite_links: expected on or off", app.ID))
			}
			app.RewriteLinks = val == "on"
		case "inject":
			var val string
			if !d.AllArgs(&val) || val != "on" && val != "off" {
				return fail(d.Errf("app %q: inject: expected on or off", app.ID))
			}
			on := val == "on"
			app.Inject = &on
		case "to", "reverse_proxy":
			if backend.rp != nil {
				return fail(d.Errf("app %q: %s: the backend is already set; use either `to` or one reverse_proxy block", app.ID, field))
			}
			rp, err := unmarshalBackend(h, app.ID, field)
			if err != nil {
				return fail(err)
			}
			backend = parsedBackend{rp: rp, to: field == "to"}
		default:
			if appValues[field] == nil && appFlags[field] == nil {
				return fail(d.Errf("app %q: unrecognized subdirective %s", app.ID, field))
			}
		}
		// Checked line by line, so an error points at the offending line.
		if err := app.validate(); err != nil {
			return fail(d.Err(err.Error()))
		}
	}
	if backend.rp == nil {
		return fail(d.Errf("app %q: %v", app.ID, errNoBackend))
	}
	return app, backend, nil
}

// unmarshalBackend reads a `to` line or a reverse_proxy block into a
// reverse_proxy handler. The proxy's own parser reads both, so upstream
// syntax and errors are Caddy's. Under the prefix, `to` also sends the
// upstream its own host in the Host header (legacy tools check it); on a
// host of its own, the app's host is the tool's, and goes through as
// reverse_proxy passes it, as Caddy does. Either way the original host is
// in X-Forwarded-Host.
func unmarshalBackend(h httpcaddyfile.Helper, appID, field string) (*reverseproxy.Handler, error) {
	seg := h.Dispenser.NewFromNextSegment()
	if seg.Next() && seg.NextArg() && isMatcherToken(seg.Val()) {
		return nil, seg.Errf("app %q: %s: %s: matchers are not supported here; the backend takes every request under the app's path", appID, field, seg.Val())
	}
	seg.Reset()
	rp := new(reverseproxy.Handler)
	if err := rp.UnmarshalCaddyfile(seg); err != nil {
		return nil, err
	}
	if field == "to" {
		seg.Reset()
		seg.Next()
		seg.RemainingArgs()
		if seg.NextBlock(0) {
			return nil, seg.Errf("to: takes upstream addresses only; use a reverse_proxy block for options")
		}
		if len(rp.Upstreams) == 0 {
			return nil, seg.Err("to: expected at least one upstream address")
		}
	}
	if err := rp.FinalizeUnmarshalCaddyfile(h.WithDispenser(seg)); err != nil {
		return nil, err
	}
	return rp, nil
}

// isMatcherToken reports whether tok would be a request matcher as the first
// argument of a Caddyfile directive: `*`, a path or a named matcher.
func isMatcherToken(tok string) bool {
	return tok == "*" || strings.HasPrefix(tok, "/") || strings.HasPrefix(tok, "@")
}
