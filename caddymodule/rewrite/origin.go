package rewrite

import (
	"net/http"
	"strings"

	"github.com/helpdeskapps/gateway/caddymodule/internal/ascii"
)

// OriginWide lists, in canonical form, the response headers whose effect
// reaches past the response and the app's path, to every page of the
// origin, the host or the site: an app's response must not carry them,
// since it answers for its own path only.
var OriginWide = [...]string{
	"Clear-Site-Data",             // wipes the cookies of the registrable domain, HttpOnly ones too, and the origin's storage
	"Origin-Agent-Cluster",        // keys the whole origin's agent cluster, for every page of it
	"Nel",                         // a network error logging policy for every request to the origin
	"Report-To",                   // the origin's endpoint groups, which Nel reports to
	"Strict-Transport-Security",   // the whole host, or domain; max-age=0 clears the site's own
	"Alt-Svc",                     // another server for every request to the origin
	"Accept-Ch",                   // client hints sent on every later request to the origin
	"Critical-Ch",                 // a retry asking for those hints
	"Set-Login",                   // the origin's sign-in status for federated sign-in
	"Expect-Ct",                   // host-wide, obsolete
	"Public-Key-Pins",             // host-wide, obsolete
	"Public-Key-Pins-Report-Only", // host-wide, obsolete
}

// Rewritten lists, in canonical form, the response headers that the
// gateway rewrites or drops in an app's responses. As trailers, which no
// rule reads, they are dropped too.
var Rewritten = func() []string {
	names := []string{
		"Content-Security-Policy", "Content-Security-Policy-Report-Only", "X-Frame-Options",
		"Location", "Refresh", "Set-Cookie", "Service-Worker-Allowed", "Link",
	}
	return append(names, OriginWide[:]...)
}()

// ScopeServiceWorkerAllowed returns the Service-Worker-Allowed value of a
// script an app serves with l's rules, so that the widest scope a service
// worker can take is in the app: a path or URL that Location.Rewrite keeps
// in the app stays, with a query or fragment removed (a scope has none);
// any other value becomes the app's root, l.Prefix + "/". Without the
// header, a worker's scope cannot leave the directory of its script,
// already in the app.
func (l Location) ScopeServiceWorkerAllowed(value, upstreamPath string) string {
	root := strings.TrimRight(l.Prefix, "/") + "/"
	p := l.Rewrite(value, upstreamPath)
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	// A scope is a plain prefix of the URLs it controls: /apps/crm would
	// also reach /apps/crm-admin/.
	if !strings.HasPrefix(p, root) || !Within(p, root[:len(root)-1]) {
		return root
	}
	return p
}

// DropServiceWorkerLinks removes from h's Link headers every link whose
// relation is serviceworker, which registers a service worker from a
// header, and the header with them when none is left. Other links are
// kept byte for byte.
func DropServiceWorkerLinks(h http.Header) {
	values := h["Link"]
	kept := values[:0]
	for _, v := range values {
		if v = dropServiceWorkerLinks(v); v != "" {
			kept = append(kept, v)
		}
	}
	if len(kept) == 0 {
		delete(h, "Link")
		return
	}
	h["Link"] = kept
}

// dropServiceWorkerLinks returns value, a Link header value (RFC 8288: links
// separated by commas, each `<uri>` and parameters), without the links whose
// rel parameter names serviceworker.
func dropServiceWorkerLinks(value string) string {
	var b strings.Builder
	changed := false
	for _, link := range splitLinks(value) {
		if isServiceWorkerLink(link) {
			changed = true
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(link)
	}
	if !changed {
		return value
	}
	return ascii.TrimSpace(b.String())
}

// splitLinks splits a Link header value at the commas that separate links:
// not those inside <…> or a quoted string.
func splitLinks(value string) []string {
	var links []string
	start, inURI, inQuote := 0, false, false
	for i := 0; i < len(value); i++ {
		switch c := value[i]; {
		case inQuote:
			if c == '\\' {
				i++
			} else if c == '"' {
				inQuote = false
			}
		case inURI:
			inURI = c != '>'
		case c == '<':
			inURI = true
		case c == '"':
			inQuote = true
		case c == ',':
			links = append(links, value[start:i])
			start = i + 1
		}
	}
	return append(links, value[start:])
}

// isServiceWorkerLink reports whether link, one link of a Link header, has
// a rel parameter (RFC 8288 §3: a space-separated list, in any case, quoted
// or not, or its rel* form) that names serviceworker; a parameter that only
// mentions it counts too.
func isServiceWorkerLink(link string) bool {
	if i := strings.IndexByte(link, '>'); i >= 0 {
		link = link[i+1:]
	}
	for param := range strings.SplitSeq(link, ";") {
		name, value, _ := strings.Cut(param, "=")
		if name = ascii.TrimSpace(name); ascii.EqualFold(name, "rel") || ascii.EqualFold(name, "rel*") {
			if strings.Contains(strings.ToLower(value), "serviceworker") {
				return true
			}
		}
	}
	return false
}
