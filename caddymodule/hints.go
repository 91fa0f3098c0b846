package caddymodule

import (
	"errors"
	"net/http"
	"slices"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/helpdeskapps/gateway/caddymodule/internal/cookies"
	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// maxHintCookies bounds the cookie names a hint lists.
const maxHintCookies = 20

// hints remembers which of the session mistakes the gateway can see for
// itself it has warned of: each is logged once at WARN, for a request
// denied at INFO (or DEBUG) says nothing of why the session is missing.
type hints struct {
	otherCookies, noCookie, skew atomic.Bool
}

// hintSession warns, once each, of a denied page of an app whose session
// failed in a way that points at the deployment rather than at the user:
// cookies arrive, but none has session.cookie's name; a frame arrives with
// no cookie at all, the Helpdesk's cookie not reaching this host; a token
// is not valid yet, the clocks apart by more than the leeway. Only the
// names of cookies are logged, never their values.
func (h *Handler) hintSession(r *http.Request, err error) {
	dest := r.Header.Get("Sec-Fetch-Dest")
	if dest != "iframe" && dest != "document" {
		return
	}
	switch {
	case errors.Is(err, session.ErrNotYetValid):
		if h.hints.skew.CompareAndSwap(false, true) {
			h.logger.Warn("a session token is not valid yet by this server's clock: the Helpdesk's clock and this server's differ by more than session.leeway; synchronise both (NTP), or raise the leeway",
				zap.String("reason", err.Error()), zap.Time("now", now().UTC()), zap.Duration("leeway", h.verifier.Leeway()),
				zap.String("host", r.Host))
		}
	case !errors.Is(err, session.ErrNoToken) || h.sessionCookie == "":
	case len(r.Header["Cookie"]) == 0:
		if dest == "iframe" && h.hints.noCookie.CompareAndSwap(false, true) {
			h.logger.Warn("an app was framed without any cookie: the Helpdesk's session cookie does not reach this host; its Domain must include the host, and in a frame of another site it needs SameSite=None and Secure",
				zap.String("session_cookie", h.sessionCookie), zap.String("host", r.Host))
		}
	default:
		var names []string
		for _, line := range r.Header["Cookie"] {
			for p := range cookies.Pairs(line) {
				if len(names) < maxHintCookies && !slices.Contains(names, p.Name) {
					names = append(names, p.Name)
				}
			}
		}
		if len(names) > 0 && h.hints.otherCookies.CompareAndSwap(false, true) {
			h.logger.Warn("a page of an app came with cookies, but none named session.cookie: if the Helpdesk's session cookie has another name, set session.cookie to it",
				zap.String("session_cookie", h.sessionCookie), zap.Strings("cookie_names", names), zap.String("host", r.Host))
		}
	}
}
