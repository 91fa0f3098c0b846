package session

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/helpdeskapps/gateway/caddymodule/internal/cookies"
)

// Source says where session tokens are read from.
type Source struct {
	// Cookie is the name of the session cookie; "" means no cookie source.
	Cookie string
	// Bearer reads "Authorization: Bearer <token>"; the scheme is matched
	// case-insensitively.
	Bearer bool
}

// Token returns the session token of r. Empty cookie values and empty bearer
// credentials count as absent, and so does an Authorization header with
// another scheme, such as Basic. When the sources present carry different
// tokens (a cookie and a bearer token, or several session cookies), Token
// returns ErrConflictingTokens rather than guess; identical tokens are fine.
// Without any token it returns ErrNoToken.
func (s Source) Token(r *http.Request) (string, error) {
	var found tokens
	if s.Cookie != "" {
		for _, line := range r.Header["Cookie"] {
			for p := range cookies.Pairs(line) {
				if p.Name == s.Cookie {
					if value, ok := cookieValue(p.Value); ok {
						found.add(value)
					}
				}
			}
		}
	}
	if s.Bearer {
		for _, h := range r.Header["Authorization"] {
			if tok, ok := bearerToken(h); ok {
				found.add(tok)
			}
		}
	}
	switch {
	case found.n == 0:
		return "", ErrNoToken
	case found.conflict:
		return "", ErrConflictingTokens
	}
	return found.first, nil
}

// tokens gathers the tokens a request carries: the first, how many, and
// whether any differs from the first. Empty ones do not count.
type tokens struct {
	first    string
	n        int
	conflict bool
}

func (t *tokens) add(tok string) {
	switch {
	case tok == "":
		return
	case t.n == 0:
		t.first = tok
	case tok != t.first:
		t.conflict = true
	}
	t.n++
}

// cookieValue returns a raw cookie value without the double quotes around
// it, if any, and whether it is valid, as net/http reads cookie values.
func cookieValue(raw string) (string, bool) {
	if len(raw) > 1 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	for i := 0; i < len(raw); i++ {
		if b := raw[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return "", false
		}
	}
	return raw, true
}

// bearerToken returns the credentials of an Authorization header value with
// the Bearer scheme.
func bearerToken(h string) (string, bool) {
	scheme, cred, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	cred = strings.TrimSpace(cred)
	return cred, cred != ""
}

// Strip removes from h the Helpdesk's credentials, so that none reaches an
// upstream: every cookie named s.Cookie; with Bearer, every Authorization
// header of the Bearer scheme (a request that passed the session check
// carries no bearer token but its session's); and every other
// Authorization header whose credentials, or for Basic whose user or
// password, isHelpdesk reports to be a Helpdesk token. The other Authorization
// headers, a tool's own Basic sign-in or a token of its own, are the
// tool's business and stay. The other cookies of each Cookie header are
// kept byte for byte and in order; a Cookie header left empty is deleted.
func (s Source) Strip(h http.Header, isHelpdesk func(token string) bool) {
	if values := h["Authorization"]; len(values) > 0 {
		var kept []string
		for _, v := range values {
			if !s.helpdeskAuthorization(v, isHelpdesk) {
				kept = append(kept, v)
			}
		}
		if len(kept) == 0 {
			delete(h, "Authorization")
		} else {
			h["Authorization"] = kept
		}
	}
	if s.Cookie == "" {
		return
	}
	var kept []string
	for _, line := range h.Values("Cookie") {
		if line = s.stripCookie(line); line != "" {
			kept = append(kept, line)
		}
	}
	if len(kept) == 0 {
		h.Del("Cookie")
		return
	}
	h["Cookie"] = kept
}

// helpdeskAuthorization reports whether v, an Authorization header value,
// carries a Helpdesk credential: a bearer token when Bearer is a source, or
// credentials (the whole value when it has no scheme, the user or password
// of Basic) that isHelpdesk recognises. The scheme ends at a space or a
// tab, as servers that split on whitespace read it.
func (s Source) helpdeskAuthorization(v string, isHelpdesk func(string) bool) bool {
	v = strings.TrimSpace(v)
	scheme, cred := v, ""
	if i := strings.IndexAny(v, " \t"); i >= 0 {
		scheme, cred = v[:i], strings.TrimSpace(v[i+1:])
	}
	switch {
	case strings.EqualFold(scheme, "Bearer") && s.Bearer:
		return true
	case cred == "":
		return isHelpdesk(v)
	case isHelpdesk(cred):
		return true
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return false
		}
		user, password, _ := strings.Cut(string(raw), ":")
		return isHelpdesk(password) || isHelpdesk(user)
	}
	return false
}

// stripCookie removes the session cookie from one Cookie header value,
// every pair that cookies.Pairs names s.Cookie, as Token reads them. A
// value without it is returned unchanged. Otherwise the other pairs are
// kept untouched, and only the separators left at either end are trimmed;
// a value left with no pair becomes "".
func (s Source) stripCookie(line string) string {
	var kept strings.Builder
	removed := false
	for p := range cookies.Pairs(line) {
		if p.Name == s.Cookie {
			removed = true
			continue
		}
		if kept.Len() > 0 {
			kept.WriteByte(';')
		}
		kept.WriteString(p.Raw)
	}
	if !removed {
		return line
	}
	return strings.Trim(kept.String(), "; \t")
}
