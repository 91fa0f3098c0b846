package caddymodule

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddytls"
)

func init() {
	caddy.RegisterModule(Permission{})
}

// Permission allows an on-demand TLS certificate for exactly the hosts apps
// are mounted on: an app's own `host`, and its id in a site's `hosts`
// pattern, apps created at runtime included, as the current registry of
// every helpdesk_apps handler has them. With a wildcard DNS record for the
// pattern and on-demand TLS, every app gets its certificate when it is
// first visited, and no other name does: a host whose app was deleted
// gets none. In the Caddyfile:
//
//	{
//		on_demand_tls {
//			permission helpdesk_apps
//		}
//	}
type Permission struct{}

// CaddyModule returns the Caddy module information.
func (Permission) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "tls.permission.helpdesk_apps",
		New: func() caddy.Module { return new(Permission) },
	}
}

// CertificateAllowed allows name when an app is mounted on it, and
// refuses it with caddytls.ErrPermissionDenied otherwise.
func (Permission) CertificateAllowed(_ context.Context, name string) error {
	host := strings.ToLower(strings.TrimSuffix(name, "."))
	allowed := false
	handlers.Range(func(h, _ any) bool {
		reg := h.(*Handler).reg.Load()
		allowed = reg != nil && reg.byHost[host] != nil
		return !allowed
	})
	if allowed {
		return nil
	}
	return fmt.Errorf("%w: no app is mounted on %q", caddytls.ErrPermissionDenied, name)
}

// UnmarshalCaddyfile reads `permission helpdesk_apps`, which takes no
// arguments.
func (*Permission) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // module name
	if d.NextArg() {
		return d.ArgErr()
	}
	if d.NextBlock(d.Nesting()) {
		return d.Errf("permission helpdesk_apps: takes no options")
	}
	return nil
}

// handlers holds the handlers provisioned and not cleaned up, whose
// mounts Permission allows.
var handlers sync.Map

// Interface guards
var (
	_ caddytls.OnDemandPermission = Permission{}
	_ caddyfile.Unmarshaler       = (*Permission)(nil)
)
