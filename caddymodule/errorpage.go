package caddymodule

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"slices"
	"strings"

	"github.com/helpdeskapps/gateway/caddymodule/api"
)

// errorMessages are the default explanations of the statuses the handler
// answers with itself.
var errorMessages = map[int]string{
	http.StatusBadRequest:         "This address reads differently to a browser and to the gateway (an encoded slash or dot segment), so it opens no app.",
	http.StatusUnauthorized:       "Sign in to the Helpdesk to open this app.",
	http.StatusForbidden:          "Your role or division may not open this app.",
	http.StatusNotFound:           "There is no such app.",
	http.StatusMethodNotAllowed:   "The API answers GET and HEAD only.",
	http.StatusBadGateway:         "The app answered with headers the gateway cannot pass on safely.",
	http.StatusServiceUnavailable: "The Helpdesk's sign-in keys cannot be reached; try again shortly.",
	http.StatusGatewayTimeout:     "The app's server did not answer in time.",
}

// reasonMessages are the explanations of refusals whose status alone would
// mislead.
var reasonMessages = []struct {
	reason error
	msg    string
}{
	{errCrossOrigin, "Only the app's own pages may send it this request; a page of another site may not."},
	{errAppUnreachable, "The app's server could not be reached; it may be down. Try again shortly."},
}

// errAppUnreachable marks a backend that answered nothing: its upstream
// could not be dialed or failed before responding.
var errAppUnreachable = errors.New("the app's server could not be reached")

// errorCodes name the statuses in helpdesk:app:error messages.
var errorCodes = map[int]string{
	http.StatusBadRequest:         "BAD_REQUEST",
	http.StatusUnauthorized:       "UNAUTHENTICATED",
	http.StatusForbidden:          "FORBIDDEN",
	http.StatusNotFound:           "NOT_FOUND",
	http.StatusMethodNotAllowed:   "METHOD_NOT_ALLOWED",
	http.StatusBadGateway:         "BAD_GATEWAY",
	http.StatusServiceUnavailable: "UNAVAILABLE",
	http.StatusGatewayTimeout:     "GATEWAY_TIMEOUT",
}

// errorScript is the error page's one script: it tells the Helpdesk that
// frames the page what happened, with a helpdesk:app:error message posted
// to each origin the page names (those in frame_ancestors that are exact
// origins). Constant, so the page's policy allows it by its hash.
const errorScript = `(function(){var d=JSON.parse(document.getElementById("hd-error").textContent);` +
	`if(window.parent===window)return;d.targets.forEach(function(t){try{window.parent.postMessage(` +
	`{channel:"helpdesk:apps",event:"helpdesk:app:error",payload:d.payload},t)}catch(e){}})})();`

// errorScriptHash is errorScript's CSP hash source.
var errorScriptHash = func() string {
	sum := sha256.Sum256([]byte(errorScript))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// errorPage is what an error page says, and to whom.
type errorPage struct {
	// app is the app the request was for, if there is one.
	app *App
	// site is the gateway's settings; nil for a page no Helpdesk frames.
	site *site
}

// writeErrorPage writes the default body for an error status, explained
// for reason: a small HTML page when a browser navigates (or frames) the
// URL, JSON otherwise. The page names the app, may be framed by the
// Helpdesk, and tells it what happened (helpdesk:app:error).
func writeErrorPage(w http.ResponseWriter, r *http.Request, p errorPage, status int, reason error) {
	msg := errorMessages[status]
	for _, m := range reasonMessages {
		if errors.Is(reason, m.reason) {
			msg = m.msg
		}
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if !isDocumentRequest(r) {
		hdr.Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(struct {
			Status  int    `json:"status"`
			Error   string `json:"error"`
			Message string `json:"message"`
		}{status, strings.ToLower(http.StatusText(status)), msg})
		return
	}
	code := errorCodes[status]
	if code == "" {
		code = fmt.Sprintf("HTTP_%d", status)
	}
	data := struct {
		Targets []string `json:"targets"`
		Payload struct {
			App     string `json:"app,omitempty"`
			Code    string `json:"code"`
			Status  int    `json:"status"`
			Message string `json:"message"`
		} `json:"payload"`
	}{Targets: []string{}}
	data.Payload.Code, data.Payload.Status, data.Payload.Message = code, status, msg
	heading := fmt.Sprintf("%d %s", status, http.StatusText(status))
	ancestors := "'none'"
	if p.app != nil {
		data.Payload.App = p.app.ID
		heading = p.app.Name + ": " + heading
	}
	if p.site != nil {
		ancestors = p.site.ancestors
		data.Targets = p.site.messageTargets(r)
	}
	raw, _ := json.Marshal(data) // escapes <, > and &: safe in a script element
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Security-Policy", "default-src 'none'; script-src "+errorScriptHash+
		"; style-src 'unsafe-inline'; frame-ancestors "+ancestors)
	w.WriteHeader(status)
	title := html.EscapeString(heading)
	fmt.Fprintf(w, "<!doctype html>\n<html lang=\"en\"><meta charset=\"utf-8\"><title>%s</title>\n"+
		"<body style=\"font-family:system-ui,sans-serif;margin:3rem;color:#333\"><h1 style=\"font-size:1.4rem\">%s</h1><p>%s</p>\n"+
		"<script type=\"application/json\" id=\"hd-error\">%s</script><script>%s</script></body></html>\n",
		title, title, html.EscapeString(msg), raw, errorScript)
}

// messageTargets are the origins an error page posts its message to: each
// source of frame_ancestors that is one exact origin, 'self' as the
// request's own. A wildcard source names no origin a message can be
// posted to, and is left out.
func (s *site) messageTargets(r *http.Request) []string {
	targets := append([]string{}, s.exactAncestors()...) // [] in JSON, never null
	if slices.Contains(strings.Fields(s.ancestors), "'self'") {
		targets = append([]string{api.RequestScheme(r) + "://" + r.Host}, targets...)
	}
	return targets
}

// exactAncestors are the sources of frame_ancestors that name one exact
// origin, in their order: not 'self', nor a wildcard.
func (s *site) exactAncestors() []string {
	var origins []string
	for src := range strings.FieldsSeq(s.ancestors) {
		if (strings.HasPrefix(src, "https://") || strings.HasPrefix(src, "http://")) && !strings.Contains(src, "*") {
			origins = append(origins, strings.TrimSuffix(src, "/"))
		}
	}
	return origins
}
