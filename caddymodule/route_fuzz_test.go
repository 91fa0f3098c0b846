package caddymodule

import (
	"net/url"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/helpdeskapps/gateway/caddymodule/rewrite"
)

// FuzzRoutingAgreesWithTheBrowser checks, for any request path, that the
// place routing picks under the prefix is the one where both the browser's
// reading of the path (the WHATWG URL parser's, written here apart from the
// gateway's code) and its decoded, cleaned reading (Caddy's CleanPath) lie,
// or that the request is refused; and that the path the upstream gets has
// no dot segment once decoded.
func FuzzRoutingAgreesWithTheBrowser(f *testing.F) {
	for _, seed := range []string{
		"/apps/crm/a/b?x=1",
		"/apps/crm",
		"/apps/",
		"/helpdesk/tickets",
		"/apps/vault/..%2fcrm/steal",
		"/auth/refresh/..%2f..%2fapps/crm/x",
		"/apps/crm/..%2f..%2fadmin-console/settings",
		"/apps/crm%2f..%2fvault/",
		"/apps/x/%2e%2E/crm/",
		"/apps//crm/",
		"/apps/mq/api/queues/%2F/orders",
		"/apps/git/api/v4/projects/group%2Fproject",
		"/apps/crm/..%5c..%5cadmin",
		"/%61pps/crm/",
		"/apps/crm/a/.%2E/.%2e/../vault",
		"/apps/crm%2fx/../vault/",
		"/apps/crm/%2F..%2F",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return // a server refuses it, or reads no path from it
		}
		escaped := u.EscapedPath() // what ServeHTTP hands to Locate
		pl, err := rewrite.Locate(escaped, "/apps")
		if err != nil {
			return // refused: 400
		}
		readings := map[string]string{
			"browser": browserReading(escaped),
			"decoded": caddyhttp.CleanPath(u.Path, true),
		}
		for reading, p := range readings {
			if !pl.Under {
				if p == "/apps" || strings.HasPrefix(p, "/apps/") {
					t.Fatalf("%q passed on as outside /apps, but its %s reading %q is under it", target, reading, p)
				}
				continue
			}
			if pl.Name == "" {
				if p != "/apps" && p != "/apps/" {
					t.Fatalf("%q routed to the prefix itself, but its %s reading is %q", target, reading, p)
				}
				continue
			}
			app := "/apps/" + pl.Name
			if p != app && !strings.HasPrefix(p, app+"/") {
				t.Fatalf("%q routed to %q, but its %s reading %q lies elsewhere", target, pl.Name, reading, p)
			}
		}
		if !pl.Under {
			return
		}
		if strings.ContainsAny(pl.Name, "/%") {
			t.Fatalf("%q routed to the name %q", target, pl.Name)
		}
		upstream, err := url.PathUnescape(pl.Rest)
		if err != nil {
			t.Fatalf("%q: the upstream path %q does not decode: %v", target, pl.Rest, err)
		}
		for _, seg := range strings.Split(upstream, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("%q: the upstream path %q has a dot segment once decoded", target, pl.Rest)
			}
		}
	})
}

// browserReading is the path a browser makes of an escaped path (the WHATWG
// URL standard's path state): "." and ".." segments, in any mix of "."
// and "%2e", resolved; every escape kept.
func browserReading(escaped string) string {
	var out []string
	segs := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		switch strings.ToLower(seg) {
		case "..", ".%2e", "%2e.", "%2e%2e":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		case ".", "%2e":
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	return "/" + strings.Join(out, "/")
}
