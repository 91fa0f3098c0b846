package caddymodule

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/helpdeskapps/gateway/caddymodule/rewrite"
)

// registry is an immutable snapshot of the compiled apps. A request loads
// the Handler's current snapshot once, and everything it does reads that
// one, whatever replaces it meanwhile.
type registry struct {
	// revision counts the snapshots the Handler has had, from 1.
	revision uint64
	// byID holds every app, disabled ones too.
	byID map[string]*App
	// listed holds the enabled apps in the manifest's order: favorites
	// first, then by order, then by name.
	listed []*App
}

// compileRegistry compiles configs into the snapshot of the given
// revision. Each app is validated, then compiled; an app id may appear
// once.
func (h *Handler) compileRegistry(ctx caddy.Context, configs []*AppConfig, revision uint64) (*registry, error) {
	reg := &registry{revision: revision, byID: make(map[string]*App, len(configs))}
	for i, cfg := range configs {
		if cfg == nil {
			return nil, fmt.Errorf("apps[%d]: null", i)
		}
		if _, ok := reg.byID[cfg.ID]; ok {
			return nil, fmt.Errorf("app %q: duplicate id", cfg.ID)
		}
		app, err := compileApp(ctx, cfg, h.Prefix)
		if err != nil {
			return nil, err
		}
		if app.Inject == nil || *app.Inject {
			app.shimAttrs = shimAttrs(app, h.FrameAncestors, h.Prefix)
			app.shim = h.shimTag(app, rewrite.ScriptAccess{})
		}
		app.etagDigest = bodyDigest(app, h.Prefix)
		reg.byID[app.ID] = app
		if !app.Disabled {
			reg.listed = append(reg.listed, app)
		}
	}
	slices.SortStableFunc(reg.listed, func(x, y *App) int {
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
