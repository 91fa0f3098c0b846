package caddymodule

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strings"
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
}

// reasonMessages are the explanations of refusals whose status alone would
// mislead.
var reasonMessages = []struct {
	reason error
	msg    string
}{
	{errCrossOrigin, "Only the app's own pages may send it this request; a page of another site may not."},
}

// writeErrorPage writes the default body for an error status, explained
// for reason: a small HTML page when a browser navigates (or frames) the
// URL, JSON otherwise.
func writeErrorPage(w http.ResponseWriter, r *http.Request, status int, reason error) {
	msg := errorMessages[status]
	for _, m := range reasonMessages {
		if errors.Is(reason, m.reason) {
			msg = m.msg
		}
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if isDocumentRequest(r) {
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		title := html.EscapeString(fmt.Sprintf("%d %s", status, http.StatusText(status)))
		fmt.Fprintf(w, "<!doctype html>\n<html lang=\"en\"><meta charset=\"utf-8\"><title>%s</title>\n"+
			"<body style=\"font-family:system-ui,sans-serif;margin:3rem;color:#333\"><h1>%s</h1><p>%s</p></body></html>\n",
			title, title, html.EscapeString(msg))
		return
	}
	hdr.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Status  int    `json:"status"`
		Error   string `json:"error"`
		Message string `json:"message"`
	}{status, strings.ToLower(http.StatusText(status)), msg})
}
