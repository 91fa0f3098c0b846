package caddymodule

import (
	"errors"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/helpdeskapps/gateway/caddymodule/internal/cookies"
	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// maxHintCookies bounds the cookie names a hint lists.
const maxHintCookies = 20

// hints remembers which of the session mistakes the gateway can see for
// itself it has warned of: each is logged once at WARN, for a request
// denied at INFO (or DEBUG) says nothing of why the session is missing.
// missing sums up the requests refused for want of a token.
type hints struct {
	otherCookies, noCookie, skew atomic.Bool
	missing                      missingSummary
}

// missingSummaryEvery is how often, at most, the requests refused for want
// of a session token are summed up in the log.
var missingSummaryEvery = time.Minute

// missingSummary counts the requests refused for want of a session token
// since it last logged them, and the names of the cookies they carried.
type missingSummary struct {
	mu     sync.Mutex
	logged time.Time
	count  int
	names  []string
}

// note counts r, and logs the sum at INFO when the last one is older than
// missingSummaryEvery: the first refusal at once, then at most once a
// period, with how many there were and the cookie names they carried
// (never values). A 401 for a missing token is logged at DEBUG alone, yet
// a cookie of the wrong name is the usual cause.
func (s *missingSummary) note(logger *zap.Logger, r *http.Request, sessionCookie string) {
	s.mu.Lock()
	s.count++
	s.names = cookieNames(r, s.names)
	t := time.Now()
	if t.Sub(s.logged) < missingSummaryEvery {
		s.mu.Unlock()
		return
	}
	count, names := s.count, s.names
	s.logged, s.count, s.names = t, 0, nil
	s.mu.Unlock()
	logger.Info("requests refused for want of a session token",
		zap.Int("count", count), zap.Strings("cookie_names", names), zap.String("session_cookie", sessionCookie),
		zap.Duration("at_most_every", missingSummaryEvery))
}

// hintSession sums up the requests to apps refused for want of a token
// (missingSummary), and warns, once each, of a denied page of an app whose
// session failed in a way that points at the deployment rather than at
// the user:
// cookies arrive, but none has session.cookie's name; a frame arrives with
// no cookie at all, the Helpdesk's cookie not reaching this host; a token
// is not valid yet, the clocks apart by more than the leeway. Only the
// names of cookies are logged, never their values.
func (h *Handler) hintSession(r *http.Request, err error) {
	if errors.Is(err, session.ErrNoToken) {
		h.hints.missing.note(h.logger, r, h.sessionCookie)
	}
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
		if names := cookieNames(r, nil); len(names) > 0 && h.hints.otherCookies.CompareAndSwap(false, true) {
			h.logger.Warn("a page of an app came with cookies, but none named session.cookie: if the Helpdesk's session cookie has another name, set session.cookie to it",
				zap.String("session_cookie", h.sessionCookie), zap.Strings("cookie_names", names), zap.String("host", r.Host))
		}
	}
}

// cookieNames adds to names, up to maxHintCookies, the names of the
// cookies r carries that it lacks; values are never read.
func cookieNames(r *http.Request, names []string) []string {
	for _, line := range r.Header["Cookie"] {
		for p := range cookies.Pairs(line) {
			if len(names) < maxHintCookies && !slices.Contains(names, p.Name) {
				names = append(names, p.Name)
			}
		}
	}
	return names
}
