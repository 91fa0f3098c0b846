package caddymodule

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/helpdeskapps/gateway/caddymodule/api"
	"github.com/helpdeskapps/gateway/caddymodule/rewrite"
)

// maxFramers bounds the origins the gateway remembers having warned of.
const maxFramers = 64

// framers remembers the origins outside frame_ancestors that framed an
// app, so that each is logged once.
type framers struct {
	mu   sync.Mutex
	seen []string
}

// checkFramer warns, once for each origin, of a page that frames an app
// though frame_ancestors does not name its origin: the browser shows the
// user an error in the frame, and nothing at all reaches the gateway's log
// otherwise. The framing page's origin is the Referer of a cross-origin
// request that loads a frame; a frame following its own links is
// same-origin, and says nothing of its parent.
func (h *Handler) checkFramer(r *http.Request) {
	if r.Header.Get("Sec-Fetch-Dest") != "iframe" {
		return
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "cross-site" && site != "same-site" {
		return
	}
	ref, err := url.Parse(r.Header.Get("Referer"))
	if err != nil || ref.Host == "" || (ref.Scheme != "http" && ref.Scheme != "https") {
		return
	}
	origin := strings.ToLower(ref.Scheme + "://" + ref.Host)
	for _, src := range h.FrameAncestors {
		if src == "'self'" && origin == strings.ToLower(api.RequestScheme(r)+"://"+r.Host) || rewrite.AncestorAllows(src, origin) {
			return
		}
	}
	h.framers.mu.Lock()
	known := slices.Contains(h.framers.seen, origin) || len(h.framers.seen) >= maxFramers
	if !known {
		h.framers.seen = append(h.framers.seen, origin)
	}
	h.framers.mu.Unlock()
	if known {
		return
	}
	h.logger.Warn("an app was framed by a page of an origin frame_ancestors does not name: the browser refuses to show the app there; if that page is the Helpdesk, add its origin to frame_ancestors",
		zap.String("origin", origin), zap.Strings("frame_ancestors", h.FrameAncestors), zap.String("path", r.URL.Path))
}
