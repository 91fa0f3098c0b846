package caddymodule

// The gateway's own sign-in (OIDC): its endpoints, the sign-in page a
// framed app shows without a session, and the check of the user the
// Helpdesk reports against the one signed in.

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/helpdeskapps/gateway/adminui"
	"github.com/helpdeskapps/gateway/caddymodule/api"
	"github.com/helpdeskapps/gateway/caddymodule/session"
	"github.com/helpdeskapps/gateway/caddymodule/signin"
)

// authPath is the name under the prefix where the sign-in's endpoints
// are: start and callback (in the popup), session, check and signout (of
// the frame, also under hostPath on apps' hosts).
const authPath = "_auth"

// mismatchCookie tells the sign-in page, after a mismatch ended the
// session, why the user must sign in again.
const mismatchCookie = "__Host-helpdesk_apps_mismatch"

// maxAuthBody bounds the JSON the frame and the shim post.
const maxAuthBody = 8 << 10

// serveAuth serves the sign-in endpoint name; onAppHost is set on an
// app's own host, where only the frame's endpoints are.
func (h *Handler) serveAuth(w http.ResponseWriter, r *http.Request, name string, onAppHost bool) error {
	if h.signin == nil {
		return h.deny(w, r, http.StatusNotFound, nil, errors.New("sign-in is not configured"))
	}
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case name == "start" && !onAppHost && isMethod(r, http.MethodGet):
		return h.signInStart(w, r)
	case name == "callback" && !onAppHost && isMethod(r, http.MethodGet):
		code, origin, err := h.signin.Callback(w, r)
		if err != nil {
			h.metrics.signin("failed")
			h.logSignIn("sign-in failed", r, err)
			h.pages.SignInDone(w, r, http.StatusBadRequest, adminui.SignInDone{TargetOrigin: origin, Error: userDetail(err)})
			return nil
		}
		h.metrics.signin("completed")
		h.pages.SignInDone(w, r, http.StatusOK, adminui.SignInDone{Code: code, TargetOrigin: origin})
		return nil
	case name == "session" && r.Method == http.MethodPost:
		return h.signInExchange(w, r)
	case name == "check" && r.Method == http.MethodPost:
		return h.checkUser(w, r)
	case name == "signout" && r.Method == http.MethodPost:
		if h.crossOrigin.Check(r) != nil {
			return h.deny(w, r, http.StatusForbidden, nil, errCrossOrigin)
		}
		h.signin.SignOut(w, r)
		h.metrics.signin("signed_out")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return h.deny(w, r, http.StatusNotFound, nil, errors.New("no such sign-in endpoint, or not by this method"))
}

// isMethod reports whether r is a GET (or a HEAD, when method is GET).
func isMethod(r *http.Request, method string) bool {
	return r.Method == method || method == http.MethodGet && r.Method == http.MethodHead
}

// signInStart begins a sign-in in the popup, for the frame whose origin
// the query names: the gateway's own (an app under the prefix), or an
// app's host.
func (h *Handler) signInStart(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	origin := q.Get("origin")
	if !h.framesApps(r, origin) {
		return h.deny(w, r, http.StatusBadRequest, nil, errors.New("the sign-in is for a frame of no app of this gateway"))
	}
	err := h.signin.Start(w, r, origin, q.Get("flow"), h.callbackURL(r))
	if err == nil {
		h.metrics.signin("started")
	} else {
		h.metrics.signin("failed")
		h.logSignIn("sign-in not started", r, err)
		h.pages.SignInDone(w, r, http.StatusBadRequest, adminui.SignInDone{TargetOrigin: origin, Error: userDetail(err)})
	}
	return nil
}

// framesApps reports whether origin, a frame's origin, serves apps of
// this gateway: the request's own origin, or an app's host on the same
// scheme and port.
func (h *Handler) framesApps(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	scheme := api.RequestScheme(r)
	if err != nil || u.Scheme != scheme || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	_, port, _ := net.SplitHostPort(r.Host)
	if u.Port() != port {
		return false
	}
	return h.reg.Load().byHost[strings.ToLower(u.Hostname())] != nil
}

// callbackURL is where the provider sends the popup back.
func (h *Handler) callbackURL(r *http.Request) string {
	if h.Session.OIDC.RedirectURL != "" {
		return h.Session.OIDC.RedirectURL
	}
	return api.RequestScheme(r) + "://" + r.Host + h.Prefix + "/" + authPath + "/callback"
}

// authURL is the URL of the frame's sign-in endpoint name on the
// request's host: under the prefix, or under hostPath on an app's host.
func (h *Handler) authURL(app *App, name string) string {
	if app != nil && app.host != "" {
		return hostPath + name
	}
	return h.Prefix + "/" + authPath + "/" + name
}

// signInExchange trades the popup's one-time code for the session cookie:
// the frame posts it, with its flow's secret, from its own origin.
func (h *Handler) signInExchange(w http.ResponseWriter, r *http.Request) error {
	origin := api.RequestScheme(r) + "://" + strings.ToLower(r.Host)
	if !strings.EqualFold(r.Header.Get("Origin"), origin) || h.crossOrigin.Check(r) != nil {
		return h.deny(w, r, http.StatusForbidden, nil, errCrossOrigin)
	}
	var body struct{ Code, Flow string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAuthBody)).Decode(&body); err != nil {
		writeProblem(w, newProblem(http.StatusBadRequest, "bad_json", "the body must be JSON: {\"code\", \"flow\"}"))
		return nil
	}
	if err := h.signin.Exchange(r.Context(), w, body.Code, body.Flow, origin); err != nil {
		h.metrics.signin("exchange_refused")
		h.logSignIn("sign-in code refused", r, err)
		writeProblem(w, newProblem(statusOf(err), "signin_failed", "%s", userDetail(err)))
		return nil
	}
	h.metrics.signin("exchanged")
	http.SetCookie(w, &http.Cookie{Name: mismatchCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteNoneMode, Partitioned: true, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkUser compares the user the Helpdesk reports to the app, which the
// shim posts, with the user signed in to the gateway. A session of the
// Helpdesk's own token needs no check.
func (h *Handler) checkUser(w http.ResponseWriter, r *http.Request) error {
	if h.crossOrigin.Check(r) != nil {
		return h.deny(w, r, http.StatusForbidden, nil, errCrossOrigin)
	}
	var body struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAuthBody)).Decode(&body); err != nil {
		writeProblem(w, newProblem(http.StatusBadRequest, "bad_json", "the body must be JSON: {\"id\", \"email\"}"))
		return nil
	}
	if _, err := h.source.Token(r); !errors.Is(err, session.ErrNoToken) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	sess, err := h.signin.Session(w, r)
	if err != nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	c := sess.Claims
	same := body.ID != "" && body.ID == c.UserID ||
		body.Email != "" && c.Email != "" && strings.EqualFold(body.Email, c.Email)
	if same || body.ID == "" && body.Email == "" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	h.metrics.signin("mismatch")
	deny := h.Session.OIDC.Mismatch == MismatchDeny
	h.logger.Warn("the Helpdesk reports another user than the one signed in to the gateway",
		zap.String("signed_in", c.UserID), zap.String("signed_in_email", c.Email),
		zap.String("helpdesk_user", body.ID), zap.String("helpdesk_email", body.Email), zap.Bool("session_ended", deny))
	if !deny {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	h.signin.SignOut(w, r)
	who := body.Email
	if who == "" {
		who = body.ID
	}
	msg := "You were signed in to the apps as " + displayUser(c) + ", but the Helpdesk says you are " + who + ". Sign in again."
	http.SetCookie(w, &http.Cookie{Name: mismatchCookie, Value: url.QueryEscape(msg), Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteNoneMode, Partitioned: true, MaxAge: int((5 * time.Minute) / time.Second)})
	writeProblem(w, newProblem(http.StatusConflict, "user_mismatch", "%s", msg))
	return nil
}

// displayUser names a signed-in user.
func displayUser(c session.Claims) string {
	if c.Email != "" {
		return c.Email
	}
	return c.UserID
}

// serveSignIn answers a page of an app requested without a session with
// the sign-in page. It names no app: without a session, an app that
// exists and one that does not answer alike.
func (h *Handler) serveSignIn(w http.ResponseWriter, r *http.Request, app *App) {
	start := h.callbackURL(r)
	start = start[:len(start)-len("callback")] + "start?origin=" + url.QueryEscape(api.RequestScheme(r)+"://"+strings.ToLower(r.Host))
	provider := h.Session.OIDC.Issuer
	if u, err := url.Parse(provider); err == nil && u.Host != "" {
		provider = u.Hostname()
	}
	d := adminui.SignInPage{
		Provider:       provider,
		StartURL:       start,
		ExchangeURL:    h.authURL(app, "session"),
		CallbackOrigin: originOf(h.callbackURL(r)),
		Targets:        h.messageTargets(r),
	}
	if c, err := r.Cookie(mismatchCookie); err == nil {
		d.Mismatch, _ = url.QueryUnescape(c.Value)
	}
	h.pages.SignIn(w, r, http.StatusUnauthorized, h.ancestors, d)
}

// originOf returns the origin of an absolute URL.
func originOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return strings.ToLower(p.Scheme + "://" + p.Host)
}

// wantsSignIn reports whether a request refused for want of a session
// gets the sign-in page: with OIDC, a page loaded in a frame or a tab that
// carries no Helpdesk token.
func (h *Handler) wantsSignIn(r *http.Request) bool {
	if h.signin == nil || r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if _, err := h.source.Token(r); !errors.Is(err, session.ErrNoToken) {
		return false
	}
	dest := r.Header.Get("Sec-Fetch-Dest")
	return dest == "iframe" || dest == "document" || dest == "" && strings.Contains(r.Header.Get("Accept"), "text/html")
}

// stripSession removes the Helpdesk's credentials and the gateway's own
// session from a request for an app.
func (h *Handler) stripSession(hdr http.Header) {
	var signed func(string) bool
	if h.verifier != nil {
		signed = h.verifier.Signed
	}
	h.source.Strip(hdr, signed)
	if h.signin != nil {
		session.Source{Cookie: signin.SessionCookie}.Strip(hdr, nil)
		session.Source{Cookie: mismatchCookie}.Strip(hdr, nil)
	}
}

// statusOf is the status of a sign-in error.
func statusOf(err error) int {
	var se *signin.Error
	if errors.As(err, &se) {
		return se.Status
	}
	return http.StatusInternalServerError
}

// userDetail is what a user is told of a sign-in error.
func userDetail(err error) string {
	var se *signin.Error
	if errors.As(err, &se) {
		return strings.ToUpper(se.Detail[:1]) + se.Detail[1:] + "."
	}
	return "The sign-in failed on the gateway; try again."
}

// logSignIn logs a failed sign-in step at INFO, with its cause.
func (h *Handler) logSignIn(msg string, r *http.Request, err error) {
	h.logger.Info(msg, zap.String("host", r.Host), zap.String("path", r.URL.Path), zap.Error(err))
}
