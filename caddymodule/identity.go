package caddymodule

import (
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// IdentityHeaders names the request headers that carry the verified
// identity to every app's backend. Each field takes a header name, or `off`
// to send that field in no header. The names must differ, and none may be
// a header that HTTP or the gateway gives a meaning of its own (Host,
// Cookie, Authorization, hop-by-hop headers, Accept, Accept-Encoding,
// Range, Origin, Referer, User-Agent, Content-*, If-*, Sec-*,
// X-Forwarded-*, Forwarded). Whatever they are named, headers with
// these names (and with the default names) that the client sent are deleted
// first, comparing names without regard to case and taking `_` and `.` for
// `-`: CGI-style backends read `X_Helpdesk_User_Role` and
// `X.Helpdesk.User.Role` as `X-Helpdesk-User-Role`. (Caddy itself drops such
// names unless a server's expected_underscore_headers or
// expected_dot_headers lets them through; this holds either way.)
type IdentityHeaders struct {
	// UserID carries the user's id. Default: `X-Helpdesk-User-Id`.
	UserID string `json:"user_id,omitempty"`
	// Name carries the user's display name. Default: `X-Helpdesk-User-Name`.
	Name string `json:"name,omitempty"`
	// Email carries the user's email address. Default: `X-Helpdesk-User-Email`.
	Email string `json:"email,omitempty"`
	// Role carries the user's role, lower-case. Default: `X-Helpdesk-User-Role`.
	Role string `json:"role,omitempty"`
	// Division carries the user's division id. Default: `X-Helpdesk-Division-Id`.
	Division string `json:"division,omitempty"`
	// Assertion carries a short-lived JWT signed by the gateway, whose
	// audience is the app id; backends verify it with the keys published
	// at `<prefix>/_api/jwks.json`. Default: `X-Helpdesk-Assertion`.
	Assertion string `json:"assertion,omitempty"`
}

// identityTable is the one list of what the gateway passes on of a
// verified identity, in a fixed order: each field's name in the Caddyfile
// and JSON, its header name in IdentityHeaders and by default, its
// placeholder, its value, and where a claim mapping names it. Adding a
// field is a line here, a field of IdentityHeaders (for its JSON and its
// documentation), and its claim in the session package.
var identityTable = [...]identityField{
	{"user_id", func(ih *IdentityHeaders) *string { return &ih.UserID }, "X-Helpdesk-User-Id", "helpdesk.user.id",
		func(id *identity) string { return id.claims.UserID }, func(m *session.Mapping) *string { return &m.UserID }},
	{"name", func(ih *IdentityHeaders) *string { return &ih.Name }, "X-Helpdesk-User-Name", "helpdesk.user.name",
		func(id *identity) string { return id.claims.Name }, func(m *session.Mapping) *string { return &m.Name }},
	{"email", func(ih *IdentityHeaders) *string { return &ih.Email }, "X-Helpdesk-User-Email", "helpdesk.user.email",
		func(id *identity) string { return id.claims.Email }, func(m *session.Mapping) *string { return &m.Email }},
	{"role", func(ih *IdentityHeaders) *string { return &ih.Role }, "X-Helpdesk-User-Role", "helpdesk.user.role",
		func(id *identity) string { return id.claims.Role }, func(m *session.Mapping) *string { return &m.Role }},
	{"division", func(ih *IdentityHeaders) *string { return &ih.Division }, "X-Helpdesk-Division-Id", "helpdesk.user.division_id",
		func(id *identity) string { return id.claims.Division }, func(m *session.Mapping) *string { return &m.Division }},
	{"assertion", func(ih *IdentityHeaders) *string { return &ih.Assertion }, "X-Helpdesk-Assertion", "",
		func(id *identity) string { return id.assertion }, nil},
}

// claimField returns the identity field a claim mapping may name (all but
// the assertion), or nil.
func claimField(name string) *identityField {
	for i := range identityTable {
		if f := &identityTable[i]; f.name == name && f.claim != nil {
			return f
		}
	}
	return nil
}

// claimFields are the identity fields a claim mapping may name.
var claimFields = func() (names []string) {
	for _, f := range identityTable {
		if f.claim != nil {
			names = append(names, f.name)
		}
	}
	return names
}()

// identityField is one line of identityTable.
type identityField struct {
	name          string
	header        func(*IdentityHeaders) *string
	defaultHeader string
	// placeholder is empty for the assertion, which has none.
	placeholder string
	value       func(*identity) string
	// claim is the field of a claim mapping that reads it from a token;
	// nil for the assertion, which the gateway signs.
	claim func(*session.Mapping) *string
}

// identityFields is the number of identity headers, identityTable's
// length: a constant of its own, as identity's arrays are sized by it.
const identityFields = 6

// The build fails unless identityFields is identityTable's length.
var _ = [1]struct{}{}[len(identityTable)-identityFields]

// identityOff switches one identity header off.
const identityOff = "off"

// resolve returns the headers to use, defaults filled in and names
// canonicalised, and the normalised names of every header to delete from
// client requests.
func (ih IdentityHeaders) resolve() (IdentityHeaders, []string, error) {
	var strip []string
	add := func(name string) {
		if n := normalizeHeaderName(name); !slices.Contains(strip, n) {
			strip = append(strip, n)
		}
	}
	used := make(map[string]string, identityFields)
	for _, field := range identityTable {
		f := field.header(&ih)
		add(field.defaultHeader)
		switch {
		case *f == "":
			*f = field.defaultHeader
		case strings.EqualFold(*f, identityOff):
			*f = identityOff
			continue
		case !httpguts.ValidHeaderFieldName(*f):
			return ih, nil, fmt.Errorf("identity header %q: not a valid header name", *f)
		case reservedHeader(*f):
			return ih, nil, fmt.Errorf("identity header %q: a header HTTP or the gateway itself uses", *f)
		}
		*f = textproto.CanonicalMIMEHeaderKey(*f)
		n := normalizeHeaderName(*f)
		if other, ok := used[n]; ok {
			return ih, nil, fmt.Errorf("identity header %q: also the header of %s; one header carries one field", *f, other)
		}
		used[n] = field.name
		add(*f)
	}
	return ih, strip, nil
}

// reservedHeader reports whether name is a header that HTTP or the gateway
// gives a meaning of its own, which no identity header may take: the
// gateway deletes identity header names from every client request.
func reservedHeader(name string) bool {
	n := normalizeHeaderName(name)
	switch n {
	case "host", "cookie", "authorization", "proxy-authorization", "connection", "keep-alive",
		"proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "expect", "forwarded",
		"accept", "accept-encoding", "range", "origin", "referer", "user-agent":
		return true
	}
	return strings.HasPrefix(n, "content-") || strings.HasPrefix(n, "x-forwarded-") || strings.HasPrefix(n, "sec-") ||
		strings.HasPrefix(n, "if-")
}

// identity is the verified identity an app request carries to its
// backend, in headers and in placeholders.
type identity struct {
	site      *site
	app       *App
	claims    session.Claims
	assertion string
	// origin is the gateway's own origin when the app maps origins and
	// the request came from a page of it; the transport then gives the
	// upstream its own.
	origin string
	// values backs the identity headers' values; prefix the value of
	// X-Forwarded-Prefix. One allocation holds them with the identity.
	values [identityFields]string
	prefix [1]string
}

// identityVar is the name of the request variable (Caddy's vars, which
// every request's context already holds) that carries the identity to
// an appTransport, which sets it in the headers of the request it sends.
const identityVar = "helpdesk_apps.identity"

// String gives the app's id, and nothing of the user's identity, to a
// placeholder or log that reads the variable.
func (id *identity) String() string { return id.app.ID }

// stripIdentity deletes every header whose normalised name is in
// identityStrip.
func (s *site) stripIdentity(hdr http.Header) {
	for name := range hdr {
		for _, strip := range s.identityStrip {
			if foldedEqual(name, strip) {
				delete(hdr, name)
				break
			}
		}
	}
}

// fill reads the values of the identity headers from the claims and the
// assertion, once: set, which may run again for a request sent again,
// only reads them.
func (id *identity) fill() {
	for i, field := range identityTable {
		id.values[i] = field.value(id)
	}
}

// set deletes from hdr every header that could pass for an identity
// header, then sets the configured ones from the verified claims.
func (id *identity) set(hdr http.Header) {
	id.site.stripIdentity(hdr)
	ih := &id.site.identity
	// One array holds every value; each header gets a slice of it whose
	// capacity ends at its own value, so that adding to one header cannot
	// overwrite another.
	for i, field := range identityTable {
		if name := *field.header(ih); name != identityOff && id.values[i] != "" {
			hdr[name] = id.values[i : i+1 : i+1]
		}
	}
}

// normalizeHeaderName folds case and treats `_` and `.` as `-`.
func normalizeHeaderName(name string) string {
	b := []byte(name)
	for i, c := range b {
		b[i] = foldHeaderByte(c)
	}
	return string(b)
}

// foldedEqual reports whether name, normalised, is norm, a normalised
// name; it allocates nothing.
func foldedEqual(name, norm string) bool {
	if len(name) != len(norm) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if foldHeaderByte(name[i]) != norm[i] {
			return false
		}
	}
	return true
}

// foldHeaderByte lower-cases c and folds `_` and `.`, which CGI-style
// backends read as `-`.
func foldHeaderByte(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c + 'a' - 'A'
	case c == '_' || c == '.':
		return '-'
	}
	return c
}
