package caddymodule

import (
	"context"
	"time"
)

// healthReport is what `<prefix>/_api/health` answers: whether the gateway
// can serve apps, why not, and the state it serves. It holds no secret.
type healthReport struct {
	// Status is "ok", or "unavailable" with Reasons.
	Status  string   `json:"status"`
	Reasons []string `json:"reasons,omitempty"`
	// Revision counts the registry snapshots this instance has had; Apps
	// is how many apps the current one serves.
	Revision uint64 `json:"revision"`
	Apps     int    `json:"apps"`
	// Shared is the runtime registry's, with manage.
	Shared *sharedHealth `json:"shared,omitempty"`
	// KeySet is the session's key set, with jwks.
	KeySet *keySetHealth `json:"key_set,omitempty"`
}

// sharedHealth is the state of the shared registry on this instance.
type sharedHealth struct {
	// Revision is the document's revision this instance serves.
	Revision uint64 `json:"revision"`
	// Error is the last read's, while it fails: the last good revision
	// serves meanwhile.
	Error string `json:"error,omitempty"`
}

// keySetHealth is the state of the session's JWKS.
type keySetHealth struct {
	Keys    int        `json:"keys"`
	Fetched *time.Time `json:"fetched_at,omitempty"`
}

// health reports on the gateway: 200 when its registry is compiled and,
// with a JWKS, a key set is loaded; 503 otherwise. While no key set could
// be fetched, it tries to fetch one, as a request would.
func (h *Handler) health(ctx context.Context) (bool, any) {
	reg := h.reg.Load()
	rep := healthReport{Status: "ok"}
	if reg == nil {
		rep.Reasons = append(rep.Reasons, "the registry is not compiled yet")
	} else {
		rep.Revision, rep.Apps = reg.revision, len(reg.manifest)
		if reg.doc != nil {
			rep.Shared = &sharedHealth{Revision: reg.doc.Revision, Error: h.manager.lastError()}
		}
	}
	if h.verifier != nil {
		ks := h.verifier.KeySet()
		if ks.Remote && ks.Fetched.IsZero() {
			fetch, cancel := context.WithTimeout(ctx, 2*time.Second)
			_ = h.verifier.Refresh(fetch)
			cancel()
			ks = h.verifier.KeySet()
		}
		if ks.Remote {
			rep.KeySet = &keySetHealth{Keys: ks.Keys}
			if ks.Fetched.IsZero() {
				rep.Reasons = append(rep.Reasons, "the session's key set (jwks) could not be fetched yet")
			} else {
				at := ks.Fetched.UTC()
				rep.KeySet.Fetched = &at
			}
		}
	}
	if len(rep.Reasons) > 0 {
		rep.Status = "unavailable"
	}
	return len(rep.Reasons) == 0, rep
}
