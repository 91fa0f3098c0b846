package caddymodule

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/helpdeskapps/gateway/caddymodule/api"
	"github.com/helpdeskapps/gateway/caddymodule/rewrite"
	"github.com/helpdeskapps/gateway/caddymodule/upstreams"
)

// registry is an immutable snapshot of the compiled apps. A request loads
// the Handler's current snapshot once, and everything it does reads that
// one, whatever replaces it meanwhile.
type registry struct {
	// revision counts the snapshots the Handler has had, from 1.
	revision uint64
	// byID holds every app, disabled ones too, and byHost those on a host
	// of their own by that host.
	byID, byHost map[string]*App
	// manifest holds the enabled apps in the manifest's order: favorites
	// first, then by order, then by name.
	manifest []api.App
	// doc is the shared document the snapshot was compiled with, and
	// problems what of it is not served, by app id; nil without manage.
	doc      *document
	problems map[string]string
}

// compileRegistry compiles configs into the snapshot of the given
// revision. Each app is validated, then compiled; an app id may appear
// once. An enabled app whose backend's JSON is the same as in prev keeps
// prev's backend, connections and all; any other gets a new one. The
// snapshot holds a reference to each of its backends.
func (h *Handler) compileRegistry(configs []*AppConfig, prev *registry, revision uint64) (*registry, error) {
	reg := &registry{revision: revision, byID: make(map[string]*App, len(configs)), byHost: make(map[string]*App)}
	fail := func(err error) (*registry, error) {
		reg.release(nil)
		return nil, err
	}
	for i, cfg := range configs {
		if cfg == nil {
			return fail(fmt.Errorf("apps[%d]: null", i))
		}
		if err := cfg.validate(); err != nil {
			return fail(err)
		}
		if _, ok := reg.byID[cfg.ID]; ok {
			return fail(fmt.Errorf("app %q: duplicate id", cfg.ID))
		}
		if cfg.BackendRaw == nil {
			return fail(fmt.Errorf("app %q: %w", cfg.ID, errNoBackend))
		}
		host, err := h.appHost(cfg)
		if err != nil {
			return fail(err)
		}
		if other := reg.byHost[host]; host != "" && other != nil {
			return fail(fmt.Errorf("app %q: host %q: app %q is mounted there", cfg.ID, host, other.ID))
		}
		var b *backend
		if !cfg.Disabled {
			if b = prev.reuse(cfg); b == nil {
				var err error
				if b, err = h.loadBackend(cfg); err != nil {
					return fail(err)
				}
			}
		}
		app, err := compileApp(cfg, h.Prefix, host, b)
		if err != nil {
			if b != nil {
				b.release()
			}
			return fail(err)
		}
		if app.Inject == nil || *app.Inject {
			check := ""
			if h.signin != nil {
				check = h.authURL(app, "check")
			}
			app.shimAttrs = shimAttrs(app, h.FrameAncestors, h.Prefix, check)
			app.shim = h.shimTag(app, rewrite.ScriptAccess{})
		}
		app.etagDigest = bodyDigest(app, h.Prefix)
		reg.byID[app.ID] = app
		if host != "" {
			reg.byHost[host] = app
		}
		if !app.Disabled {
			reg.manifest = append(reg.manifest, api.App{
				ManifestApp: api.ManifestApp{
					ID: app.ID, Name: app.Name, Icon: app.Icon, Placement: app.Placement, Mode: app.Mode,
					Favorite: app.Favorite, Order: app.Order,
				},
				Host:   app.host,
				Path:   app.path,
				Allows: app.allows,
			})
		}
	}
	slices.SortStableFunc(reg.manifest, func(x, y api.App) int {
		if x.Favorite != y.Favorite {
			if x.Favorite {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(x.Order, y.Order), strings.Compare(x.Name, y.Name))
	})
	return reg, nil
}

// reuse returns, with a new reference, the backend reg's app cfg.ID has
// when it was loaded from the same JSON as cfg's; nil otherwise.
func (reg *registry) reuse(cfg *AppConfig) *backend {
	if reg == nil {
		return nil
	}
	old := reg.byID[cfg.ID]
	if old == nil || old.backend == nil || old.backend.digest != sha256.Sum256(cfg.BackendRaw) || !old.backend.acquire() {
		return nil
	}
	return old.backend
}

// release gives back reg's references to its backends, now that next
// replaced it (nil: nothing replaced it; reg is dropped). A backend next
// holds too stays, its connections with it; one next replaced with
// another retires, finishing its requests; that of an app next deleted or
// disabled stops at once, closing its WebSockets and streams.
func (reg *registry) release(next *registry) {
	for id, app := range reg.byID {
		b := app.backend
		if b == nil {
			continue
		}
		var now *App
		if next != nil {
			now = next.byID[id]
		}
		switch {
		case now != nil && now.backend == b:
			b.release()
		case now != nil && now.backend != nil:
			b.retire()
		case next == nil:
			b.release()
		default:
			b.stop()
		}
	}
}

// acquire returns the app find returns from the current registry, nil
// when there is no such app, having taken a reference to its backend, if
// it has one, for the caller to release. A backend stopped since the
// registry was loaded (a newer one replaced or removed it) is not used:
// the newest registry is read again.
func (h *Handler) acquire(find func(*registry) *App) *App {
	var last *registry
	for {
		reg := h.reg.Load()
		app := find(reg)
		if app == nil || app.backend == nil || app.backend.acquire() {
			return app
		}
		if reg == last {
			// The newest registry's backend is stopped: the Handler
			// is cleaned up, and serves no app any more.
			return nil
		}
		last = reg
	}
}

// apply compiles configs into the next registry and swaps it in, for the
// requests that start from then on; a failed compile keeps the current
// one.
func (h *Handler) apply(configs []*AppConfig) error {
	return h.update(func(prev *registry) (*registry, error) {
		return h.compileRegistry(configs, prev, prev.revision+1)
	})
}

// update makes the next registry from the current one with build and
// swaps it in; one update runs at a time. A build that fails, or returns
// nil, leaves the current registry in place.
func (h *Handler) update(build func(prev *registry) (*registry, error)) error {
	h.applying.Lock()
	defer h.applying.Unlock()
	if h.closed {
		return errors.New("the handler is cleaned up")
	}
	prev := h.reg.Load()
	next, err := build(prev)
	if err != nil || next == nil {
		return err
	}
	h.metrics.track(next)
	h.reg.Store(next)
	h.metrics.revision.WithLabelValues(h.Prefix).Set(float64(next.revision))
	h.metrics.forget(prev, next)
	prev.release(next)
	return nil
}

// loadBackend loads cfg's backend in a context of its own, and keeps it
// among the live backends until it stops.
func (h *Handler) loadBackend(cfg *AppConfig) (*backend, error) {
	var allow *upstreams.Allowlist
	if cfg.Upstream != "" {
		allow = h.manager.allow
	}
	b, err := loadBackend(h.backends, cfg.BackendRaw, allow)
	if err != nil {
		return nil, fmt.Errorf("app %q: loading backend: %w", cfg.ID, err)
	}
	b.stopped = func() { h.live.Delete(b) }
	h.live.Store(b, struct{}{})
	return b, nil
}
