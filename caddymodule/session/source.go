package session

import (
	"net/http"
	"strings"
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
	var found []string
	if s.Cookie != "" {
		for _, c := range r.CookiesNamed(s.Cookie) {
			if c.Value != "" {
				found = append(found, c.Value)
			}
		}
	}
	if s.Bearer {
		for _, h := range r.Header.Values("Authorization") {
			if tok, ok := bearerToken(h); ok {
				found = append(found, tok)
			}
		}
	}
	if len(found) == 0 {
		return "", ErrNoToken
	}
	for _, tok := range found[1:] {
		if tok != found[0] {
			return "", ErrConflictingTokens
		}
	}
	return found[0], nil
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

// Strip removes from h every Authorization header, whatever its scheme, and
// every cookie named s.Cookie, so that no Helpdesk credential reaches an
// upstream. The other cookies of each Cookie header are kept byte for byte
// and in order; a Cookie header left empty is deleted.
func (s Source) Strip(h http.Header) {
	h.Del("Authorization")
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

// stripCookie removes the session cookie from one Cookie header value. A
// value without it is returned unchanged. Otherwise the other pairs are kept
// untouched, and only the separators left at either end are trimmed; a value
// left with no pair becomes "".
func (s Source) stripCookie(line string) string {
	pairs := strings.Split(line, ";")
	kept := make([]string, 0, len(pairs))
	for _, p := range pairs {
		name, _, _ := strings.Cut(p, "=")
		if strings.TrimSpace(name) != s.Cookie {
			kept = append(kept, p)
		}
	}
	if len(kept) == len(pairs) {
		return line
	}
	return strings.Trim(strings.Join(kept, ";"), "; \t")
}
