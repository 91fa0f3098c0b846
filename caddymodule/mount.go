package caddymodule

// Where an app is served: under the gateway's prefix, or on a host of its
// own, its whole origin.

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Mounts an app may ask for.
const (
	MountHost   = "host"
	MountPrefix = "prefix"
)

// hostPattern is what a host name must match: ASCII labels (an
// internationalised name in its xn-- form) of letters, digits and inner
// hyphens, in lower case once read.
var hostPattern = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// validHost checks a host name as a mount: a DNS name of at most 253
// characters, with no scheme, port, path or wildcard; it returns it in
// lower case.
func validHost(host string) (string, error) {
	lower := strings.ToLower(host)
	if len(lower) > 253 || !hostPattern.MatchString(lower) {
		return "", fmt.Errorf("%q: must be a host name, such as crm.apps.example.com, with no scheme, port, path or wildcard", host)
	}
	return lower, nil
}

// validHostsPattern checks the site's hosts pattern, `*.<domain>`, and
// returns its domain with the leading dot, in lower case.
func validHostsPattern(pattern string) (string, error) {
	domain, ok := strings.CutPrefix(pattern, "*.")
	if !ok {
		return "", fmt.Errorf("hosts %q: must be *.<domain>, such as *.apps.example.com: the first label names the app", pattern)
	}
	lower, err := validHost(domain)
	if err != nil {
		return "", fmt.Errorf("hosts %q: the domain %w", pattern, err)
	}
	return "." + lower, nil
}

// appHost returns the host cfg is served on: its own Host, or its id in
// the site's hosts pattern; "" for an app served under the prefix. A host
// that is the management's, or the host of an origin that frames the
// apps, is refused: an app there could act as the Helpdesk.
func (h *Handler) appHost(cfg *AppConfig) (string, error) {
	var host string
	switch {
	case cfg.Mount == MountPrefix:
		return "", nil
	case cfg.Host != "":
		host = strings.ToLower(cfg.Host)
	case h.hostsDomain != "":
		host = cfg.ID + h.hostsDomain
	case cfg.Mount == MountHost:
		return "", cfg.fieldErr("mount", `"host"`, "the app needs a host: name one (`host`), or give the site a hosts pattern")
	default:
		return "", nil
	}
	if h.manager != nil && host == h.manager.host {
		return "", cfg.fieldErr("host", fmt.Sprintf("%q", host), "is manage.host, where the settings page is served")
	}
	for _, src := range h.FrameAncestors {
		if u, err := url.Parse(src); err == nil && strings.EqualFold(u.Hostname(), host) {
			return "", cfg.fieldErr("host", fmt.Sprintf("%q", host), "is the host of %s, which frames the apps", src)
		}
	}
	return host, nil
}

// onHost reports whether the app is served on a host of its own, the
// site having a hosts pattern or not.
func (a *AppConfig) onHost(siteHosts bool) bool {
	return a.Mount == MountHost || a.Mount == "" && (a.Host != "" || siteHosts)
}

// hostOwned reports whether host, a request's host as requestHost reads
// it, is one of the site's hosts pattern: the apps own every such host,
// whether an app is mounted on it or not.
func (h *Handler) hostOwned(host string) bool {
	if h.hostsDomain == "" {
		return false
	}
	label, ok := strings.CutSuffix(host, h.hostsDomain)
	return ok && label != "" && !strings.Contains(label, ".")
}

// appHosts returns the hosts apps are served on: the hosts pattern, which
// covers apps created later, and every other host an app has.
func (h *Handler) appHosts() []string {
	var hosts []string
	if h.Hosts != "" {
		hosts = append(hosts, strings.ToLower(h.Hosts))
	}
	for host := range h.reg.Load().byHost {
		if !h.hostOwned(host) {
			hosts = append(hosts, host)
		}
	}
	slices.Sort(hosts)
	return hosts
}

// hostPath is the path where an app on a host of its own gets the shim:
// reserved on every app host, and same-origin with the app's pages, so the
// shim runs under their `script-src 'self'`.
const hostPath = "/.well-known/helpdesk-apps/"
