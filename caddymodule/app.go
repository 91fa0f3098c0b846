package caddymodule

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// AppConfig is one registered tool as configured: where it appears in the
// Helpdesk, who may open it, and the backend that serves it. It is the JSON
// the Caddyfile adapts to; compiling it (compileApp) never changes it.
type AppConfig struct {
	// ID names the app in its path, `<prefix>/<id>/`, and in the bridge
	// protocol. It matches `^[a-z0-9][a-z0-9-]{0,62}$`. Required.
	ID string `json:"id"`

	// Name is the label the Helpdesk shows: at most 100 characters, none a
	// control character. Default: the id.
	Name string `json:"name,omitempty"`

	// Icon is the URL of the app's icon: an http or https URL, or a path
	// beginning with `/`; at most 2048 characters.
	Icon string `json:"icon,omitempty"`

	// Placement is where the Helpdesk shows the app: `ticket_sidebar` (next
	// to a ticket, with the ticket's context) or `main_menu`. Default:
	// `main_menu`.
	Placement string `json:"placement,omitempty"`

	// Mode is how the Helpdesk renders the app: `popup` (a floating,
	// resizable window) or `embed` (part of the layout). Default: `embed`.
	Mode string `json:"mode,omitempty"`

	// Roles that may open the app: `agent`, `supervisor`, `admin`, `owner`,
	// compared case-insensitively. Empty means every role.
	Roles []string `json:"roles,omitempty"`

	// Divisions whose members may open the app, as division ids compared as
	// strings (a numeric claim 3 equals "3"), each of 1 to 64 characters;
	// at most 200. Empty means every division.
	Divisions []string `json:"divisions,omitempty"`

	// Order sorts apps within their placement, lowest first. Default: `0`.
	Order int `json:"order,omitempty"`

	// Favorite apps are listed before the others.
	Favorite bool `json:"favorite,omitempty"`

	// Disabled apps are hidden and unreachable (404), their config kept.
	Disabled bool `json:"disabled,omitempty"`

	// Inject adds the helpdesk:apps client shim to the app's HTML documents,
	// so the app joins the protocol with no change of its own. Default:
	// `true`.
	Inject *bool `json:"inject,omitempty"`

	// AutoResize makes the shim report the height of the app's pages to the
	// Helpdesk whenever it changes, so popups fit their content. Default:
	// `false`.
	AutoResize bool `json:"auto_resize,omitempty"`

	// ManualReady stops the shim from announcing the app as ready on load;
	// the app calls `HelpdeskApps.ready()` when it is. Default: `false`.
	ManualReady bool `json:"manual_ready,omitempty"`

	// RewriteLinks moves the app's root-relative and own-origin URLs under
	// its path: in HTML attributes and CSS as they stream, and, in the
	// shim, in the URLs the page builds in JavaScript (fetch, XHR,
	// WebSocket, EventSource, history, forms, window.open). Switch it on
	// for tools that believe they own "/". Default: `false`.
	RewriteLinks bool `json:"rewrite_links,omitempty"`

	// IsolateCookies gives the app a cookie jar of its own: cookies it sets
	// are renamed `hda.<id>.<name>` on the way out and given their names
	// back on the way in, and no other cookie (the Helpdesk's, another
	// app's) reaches it. The injected shim shows the page's scripts the
	// same jar through document.cookie: the app's cookies under their own
	// names, and no other; the cookies they write go into the jar, scoped
	// to the app. Default: `false`.
	IsolateCookies bool `json:"isolate_cookies,omitempty"`

	// Origin says what the gateway does with the origin of the app's
	// requests. `check` refuses (403) a state-changing request (POST, PUT,
	// PATCH, DELETE…) that a page of another origin sent, by its
	// Sec-Fetch-Site or Origin header, as Go's http.CrossOriginProtection
	// reads them. `map` checks too, and gives a tool that sees its own
	// Host its own origin in the Origin (and Referer) of the app's own
	// pages, so that a tool comparing Origin with Host accepts them: a
	// reverse_proxy over HTTP only. `off` does neither, for a tool that
	// takes cross-origin posts (a SAML sign-in, say); its own defence alone
	// decides. Default: `map` when the backend sends the upstream its own
	// Host (`to`), `check` otherwise.
	Origin string `json:"origin,omitempty"`

	// Host serves the app on a host of its own, the whole of its origin,
	// such as `crm.apps.example.com`, instead of under the prefix: an
	// origin apart from the Helpdesk's and from every other app's. A host
	// name, with no scheme, port or wildcard; not the host of an origin in
	// frame_ancestors, nor manage.host. Apps created through the
	// management API get theirs from the site's `hosts` pattern. Default:
	// the app's id in `hosts`, when the site has one.
	Host string `json:"host,omitempty"`

	// Mount says where the app is served: `host`, on its host (Host, or
	// its id in the site's `hosts` pattern), or `prefix`, under
	// `<prefix>/<id>/`. Default: `host` when the app has a host, `prefix`
	// otherwise.
	Mount string `json:"mount,omitempty"`

	// Upstream is the URL (`http://host:port` or `https://host:port`) of
	// the tool behind an app that an admin created at runtime, through the
	// management API; it must match `manage.upstreams`, and the gateway
	// builds the app's reverse_proxy from it. Apps in the config name
	// their backend instead.
	Upstream string `json:"upstream,omitempty"`

	// Backend is the handler that serves the app, usually `reverse_proxy`;
	// any `http.handlers` module works. It sees the request with the app's
	// prefix stripped. Required.
	BackendRaw json.RawMessage `json:"backend,omitempty" caddy:"namespace=http.handlers inline_key=handler"`
}

// App is an app compiled from its AppConfig, defaults filled in and its
// backend loaded: immutable once compiled, and shared by every request that
// reaches it.
type App struct {
	AppConfig

	// backend serves the app; nil when the app is disabled.
	backend *backend
	// host is the host the app is served on, in lower case; "" for an
	// app under the prefix.
	host string
	// prefix is the app's path without its trailing slash: "" for an app
	// on a host of its own, which has the whole of it.
	prefix string
	// path is the app's path with its trailing slash: "/" for an app on a
	// host of its own.
	path string
	// cookiePrefix renames the app's cookies when they are isolated.
	cookiePrefix string
	// origin is the effective Origin mode.
	origin string
	// shimAttrs are the attributes of the injected shim's script element
	// that do not change per response, and shim the element in its usual
	// form; both nil when injection is off.
	shimAttrs, shim []byte
	// etagDigest marks the ETags of the bodies the gateway changes with
	// the settings that shape them.
	etagDigest string
}

// Placements and modes an app may use.
const (
	PlacementTicketSidebar = "ticket_sidebar"
	PlacementMainMenu      = "main_menu"
	ModePopup              = "popup"
	ModeEmbed              = "embed"
)

// knownRoles are the Helpdesk's roles.
var knownRoles = []string{"agent", "supervisor", "admin", "owner"}

// appIDPattern is what an app id must match.
var appIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// validate checks the app's own fields; errors name the app and the field,
// and are *fieldError.
func (a *AppConfig) validate() error {
	if err := validateAppID(a.ID); err != nil {
		return err
	}
	if len(a.Name) > maxNameLen || strings.ContainsFunc(a.Name, unicode.IsControl) {
		return a.fieldErr("name", "", "at most %d characters, and no control characters", maxNameLen)
	}
	if err := validateIcon(a.Icon); err != nil {
		return a.fieldErr("icon", "", "%v", err)
	}
	switch a.Placement {
	case "", PlacementTicketSidebar, PlacementMainMenu:
	default:
		return a.fieldErr("placement", fmt.Sprintf("%q", a.Placement), "must be %s or %s", PlacementTicketSidebar, PlacementMainMenu)
	}
	switch a.Mode {
	case "", ModePopup, ModeEmbed:
	default:
		return a.fieldErr("mode", fmt.Sprintf("%q", a.Mode), "must be %s or %s", ModePopup, ModeEmbed)
	}
	for i, role := range a.Roles {
		lower := session.LowerRole(role)
		if !slices.Contains(knownRoles, lower) {
			return a.fieldErr("roles/"+strconv.Itoa(i), "", "unknown role %q (want one of %s)", role, strings.Join(knownRoles, ", "))
		}
		if slices.IndexFunc(a.Roles[:i], func(r string) bool { return session.LowerRole(r) == lower }) >= 0 {
			return a.fieldErr("roles/"+strconv.Itoa(i), "", "role %q is listed twice", role)
		}
	}
	if len(a.Divisions) > maxDivisions {
		return a.fieldErr("divisions", "", "at most %d divisions", maxDivisions)
	}
	for i, div := range a.Divisions {
		if div == "" || len(div) > maxDivisionLen || strings.ContainsFunc(div, unicode.IsControl) {
			return a.fieldErr("divisions/"+strconv.Itoa(i), "", "a division id of 1 to %d characters, without control characters", maxDivisionLen)
		}
	}
	switch a.Origin {
	case "", OriginMap, OriginCheck, OriginOff:
	default:
		return a.fieldErr("origin", fmt.Sprintf("%q", a.Origin), "must be %s, %s or %s", OriginMap, OriginCheck, OriginOff)
	}
	if a.Host != "" {
		if _, err := validHost(a.Host); err != nil {
			return a.fieldErr("host", "", "%v", err)
		}
	}
	switch a.Mount {
	case "", MountHost:
	case MountPrefix:
		if a.Host != "" {
			return a.fieldErr("mount", `"prefix"`, "the app names a host; leave out one or the other")
		}
	default:
		return a.fieldErr("mount", fmt.Sprintf("%q", a.Mount), "must be %s or %s", MountHost, MountPrefix)
	}
	return nil
}

// fieldError is an invalid field of an app's config.
type fieldError struct {
	// app is the app's id.
	app string
	// pointer is the field's JSON pointer within the app, without its
	// leading slash: "placement", "roles/1".
	pointer string
	// value is the value as the message quotes it, if it does.
	value  string
	detail string
}

func (e *fieldError) Error() string {
	field, _, _ := strings.Cut(e.pointer, "/")
	if e.value != "" {
		field += " " + e.value
	}
	return fmt.Sprintf("app %q: %s: %s", e.app, field, e.detail)
}

// fieldErr returns a *fieldError for the app's field at pointer.
func (a *AppConfig) fieldErr(pointer, value, format string, args ...any) error {
	return &fieldError{app: a.ID, pointer: pointer, value: value, detail: fmt.Sprintf(format, args...)}
}

// Bounds of an app's free-form fields.
const (
	maxNameLen     = 100
	maxIconLen     = 2048
	maxDivisions   = 200
	maxDivisionLen = 64
)

// validateIcon checks an icon's URL: an absolute http or https URL, or a
// path on the Helpdesk's origin, for the Helpdesk to use as an image.
func validateIcon(icon string) error {
	if icon == "" {
		return nil
	}
	if len(icon) > maxIconLen {
		return fmt.Errorf("at most %d characters", maxIconLen)
	}
	u, err := url.Parse(icon)
	switch {
	case err != nil || strings.ContainsFunc(icon, func(r rune) bool { return r <= ' ' || r == '\\' }):
		return errors.New("must be a URL")
	case u.Scheme == "http" || u.Scheme == "https":
		if u.Host == "" || u.User != nil {
			return errors.New("must name a host, and no user")
		}
	case u.Scheme == "" && strings.HasPrefix(icon, "/") && !strings.HasPrefix(icon, "//"):
	default:
		return errors.New("must be an http(s) URL or a path beginning with /")
	}
	return nil
}

// validateAppID checks an app id; the error names it.
func validateAppID(id string) error {
	switch {
	case strings.HasPrefix(id, "_"):
		return &fieldError{app: id, pointer: "id", detail: "names beginning with _ are reserved for the gateway"}
	case !appIDPattern.MatchString(id):
		return &fieldError{app: id, pointer: "id", detail: "must match " + appIDPattern.String()}
	}
	return nil
}

// compileApp compiles cfg, which validate accepted, into an App served by
// b (nil for a disabled app) on host, or under prefix when host is "":
// defaults filled in, into a copy, so that cfg is never changed. An app on
// a host of its own has its origin to itself: its links need no rewriting
// and its cookies no jar of their own, so it gets neither.
func compileApp(cfg *AppConfig, prefix, host string, b *backend) (*App, error) {
	a := &App{AppConfig: *cfg, backend: b}
	if a.Name == "" {
		a.Name = a.ID
	}
	if a.Placement == "" {
		a.Placement = PlacementMainMenu
	}
	if a.Mode == "" {
		a.Mode = ModeEmbed
	}
	a.Roles = make([]string, len(cfg.Roles))
	for i, role := range cfg.Roles {
		a.Roles[i] = session.LowerRole(role)
	}
	a.Divisions = slices.Clone(cfg.Divisions)
	if a.host = host; host != "" {
		a.path = "/"
		a.RewriteLinks, a.IsolateCookies = false, false
	} else {
		a.prefix = prefix + "/" + a.ID
		a.path = a.prefix + "/"
	}
	a.cookiePrefix = "hda." + a.ID + "."
	var err error
	if a.origin, err = a.originMode(); err != nil {
		return nil, fmt.Errorf("app %q: %w", a.ID, err)
	}
	return a, nil
}

// allows reports whether the user may open the app: their role is one of
// Roles and their division one of Divisions, an empty list allowing any.
func (a *App) allows(c session.Claims) error {
	if len(a.Roles) > 0 && !slices.Contains(a.Roles, c.Role) {
		return fmt.Errorf("role %q may not open this app", c.Role)
	}
	if len(a.Divisions) > 0 && !slices.Contains(a.Divisions, c.Division) {
		return fmt.Errorf("division %q may not open this app", c.Division)
	}
	return nil
}

// errNoBackend is reported for an app without a backend.
var errNoBackend = errors.New("backend: required (`to <upstreams…>` or a reverse_proxy block)")
