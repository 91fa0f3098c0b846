package caddymodule

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/helpdeskapps/gateway/caddymodule/upstreams"
)

// probeTimeout bounds the probe of a runtime app's upstream.
const probeTimeout = 3 * time.Second

// probeBodyLimit is how much of the upstream's front page the probe reads.
const probeBodyLimit = 64 << 10

// frameBusters are what pages that refuse to be framed in JavaScript
// commonly test or set; the gateway's header rewriting cannot mend them.
var frameBusters = [][]byte{[]byte("top.location"), []byte("top != self"), []byte("top !== self"),
	[]byte("self != top"), []byte("self !== top"), []byte("window.top !== window"), []byte("window.top != window")}

// probe asks a runtime app's upstream for its front page, through the same
// dial checks as the app's backend, and returns what an admin should know:
// it does not answer, fails, sends the frame elsewhere, is not HTML, or
// has script that breaks out of frames. It never blocks a write.
func (h *Handler) probe(ctx context.Context, app adminApp) []string {
	warnings := []string{}
	scheme, dial, err := h.manager.allow.Check(app.Upstream)
	if err != nil {
		return append(warnings, "upstream not allowed: "+err.Error())
	}
	d := &net.Dialer{Timeout: probeTimeout, Control: h.manager.allow.Control}
	client := &http.Client{
		Timeout:   probeTimeout,
		Transport: &http.Transport{DialContext: d.DialContext, Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+dial+"/", nil)
	if err != nil {
		return append(warnings, err.Error())
	}
	req.Header.Set("Accept", "text/html")
	req.Header.Set("User-Agent", "helpdesk-apps-probe")
	resp, err := client.Do(req)
	if err != nil {
		return append(warnings, "the upstream did not answer HTTP: "+probeFailure(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 500:
		warnings = append(warnings, fmt.Sprintf("the upstream answered %s", resp.Status))
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		if loc, err := resp.Location(); err == nil && !sameHost(loc, req.URL) {
			warnings = append(warnings, fmt.Sprintf("the upstream redirects to %s, another origin: the app's frame would leave the gateway", loc.Host))
		}
		return warnings
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if app.Inject && resp.StatusCode < 300 && mt != "text/html" && mt != "application/xhtml+xml" {
		warnings = append(warnings, fmt.Sprintf("its front page is %s, not HTML: the shim cannot join it to the Helpdesk", mt))
		return warnings
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, probeBodyLimit))
	for _, fb := range frameBusters {
		if bytes.Contains(head, fb) {
			warnings = append(warnings, "its front page has script that may break out of frames ("+string(fb)+"); it may not stay inside the Helpdesk")
			break
		}
	}
	return warnings
}

// probeFailure says why the probe got no answer, in words of its own: an
// error's text may quote what a service that is not HTTP sent back, and
// the probe must not read other services for an admin.
func probeFailure(err error) string {
	var refused *upstreams.RefusedError
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.As(err, &refused):
		return refused.Error()
	case errors.As(err, &netErr) && netErr.Timeout():
		return "no answer within " + probeTimeout.String()
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return "the connection was refused or could not be made"
	}
	return "the answer was not HTTP"
}

// sameHost reports whether a redirect target stays on the probed host.
func sameHost(loc, base *url.URL) bool {
	return loc.Host == "" || strings.EqualFold(loc.Host, base.Host)
}
