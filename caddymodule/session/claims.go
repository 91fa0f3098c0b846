package session

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Mapping names, for each identity field, the claim path to read it from.
// Dots in a path walk nested objects: "realm.role" reads the "role" member of
// the "realm" object. A top-level claim whose name is the whole path, dots
// included (such as "https://example.com/role"), takes precedence over the
// nested walk.
type Mapping struct {
	UserID   string
	Name     string
	Email    string
	Role     string
	Division string
}

// DefaultMapping is the mapping used for every field left empty in
// [Options.Mapping].
var DefaultMapping = Mapping{
	UserID:   "sub",
	Name:     "name",
	Email:    "email",
	Role:     "role",
	Division: "division_id",
}

// Claims is the identity carried by a verified token.
type Claims struct {
	// UserID identifies the user; it is never empty.
	UserID string
	// Name is the user's display name.
	Name string
	// Email is the user's email address.
	Email string
	// Role is lower-cased in ASCII (LowerRole), since roles compare
	// case-insensitively.
	Role string
	// Division is the division id as text; a numeric claim 3 becomes "3".
	Division string
	// Expiry is the token's "exp"; the claims may be cached until then.
	Expiry time.Time
}

// withDefaults returns m with its empty fields taken from DefaultMapping.
func (m Mapping) withDefaults() Mapping {
	fill := func(s *string, def string) {
		if *s == "" {
			*s = def
		}
	}
	fill(&m.UserID, DefaultMapping.UserID)
	fill(&m.Name, DefaultMapping.Name)
	fill(&m.Email, DefaultMapping.Email)
	fill(&m.Role, DefaultMapping.Role)
	fill(&m.Division, DefaultMapping.Division)
	return m
}

// validate reports a path with an empty segment, such as "a..b" or ".a".
func (m Mapping) validate() error {
	for _, f := range []struct{ field, path string }{
		{"user_id", m.UserID},
		{"name", m.Name},
		{"email", m.Email},
		{"role", m.Role},
		{"division", m.Division},
	} {
		if slices.Contains(strings.Split(f.path, "."), "") {
			return fmt.Errorf("invalid claim path %q for %s", f.path, f.field)
		}
	}
	return nil
}

// Apply reads the identity fields of payload, m's empty fields taken
// from DefaultMapping, and reports ErrNoSubject when it names no user.
func (m Mapping) Apply(payload map[string]any) (Claims, error) {
	c, err := m.withDefaults().apply(payload)
	if err == nil && c.UserID == "" {
		err = ErrNoSubject
	}
	return c, err
}

// apply reads the identity fields of payload. The role is lower-cased in
// ASCII only (LowerRole): Unicode case mapping would make "ADMİN", with a
// dotted capital I, the role "admin". A field with a control character
// other than tab is malformed: no header could carry it to a backend.
func (m Mapping) apply(payload map[string]any) (Claims, error) {
	c := Claims{
		UserID:   claimString(payload, m.UserID),
		Name:     claimString(payload, m.Name),
		Email:    claimString(payload, m.Email),
		Role:     LowerRole(claimString(payload, m.Role)),
		Division: claimString(payload, m.Division),
	}
	for _, f := range [...]struct{ field, value string }{
		{"user_id", c.UserID}, {"name", c.Name}, {"email", c.Email}, {"role", c.Role}, {"division", c.Division},
	} {
		if strings.ContainsFunc(f.value, isControl) {
			return Claims{}, fmt.Errorf("%w: claim for %s has a control character", ErrMalformed, f.field)
		}
	}
	return c, nil
}

// isControl reports whether r is a control character that no header value
// may hold: C0 but tab, and DEL.
func isControl(r rune) bool {
	return r < 0x20 && r != '\t' || r == 0x7f
}

// LowerRole returns a role as claims carry it: A-Z mapped to a-z, every
// other byte as it is.
func LowerRole(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// claimString returns the claim at path as text: a string as is, a number by
// its literal JSON text, a bool as "true" or "false". A missing claim, null,
// an object or an array yields "".
func claimString(payload map[string]any, path string) string {
	switch v := lookup(payload, path).(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	default:
		return ""
	}
}

// lookup returns the value at path, or nil. A top-level member named path
// wins over walking the dotted segments.
func lookup(payload map[string]any, path string) any {
	if v, ok := payload[path]; ok {
		return v
	}
	var cur any = payload
	for seg := range strings.SplitSeq(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[seg]
	}
	return cur
}
