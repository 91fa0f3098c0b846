package rewrite

import (
	"bytes"
	"net/url"
	"strings"
)

// Location rewrites the Location header of an app's redirects so that they
// stay under the path the app is mounted at.
type Location struct {
	// Prefix is the path the app is mounted at, without a trailing slash,
	// such as /apps/crm.
	Prefix string

	// OwnHosts lists, as host or host:port with IPv6 addresses in
	// brackets, the hosts whose absolute URLs point to the app itself: the
	// upstream's address and the gateway's. They match a URL's host:port
	// ignoring case, and an entry without a port matches the URL's host
	// whatever its port.
	OwnHosts []string
}

// Rewrite returns loc, the value of a Location header sent by the app, as a
// root-relative reference under l.Prefix when it points to the app: a
// relative reference, or an http or https URL whose host is in l.OwnHosts.
// It resolves loc against upstreamPath, the unescaped path of the request as
// the app saw it (without the prefix, like /a/b), as a browser would, so
// that dot segments cannot climb out of the prefix, and keeps its query and
// fragment byte for byte. A path already under l.Prefix is not prefixed
// again.
//
// Rewrite returns loc unchanged when it is empty or unparsable, when it has
// a scheme other than http or https, and when it points to another host.
func (l Location) Rewrite(loc, upstreamPath string) string {
	if loc == "" {
		return loc
	}
	u, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	p := u.EscapedPath()
	switch {
	case u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https":
		return loc
	case u.Scheme != "" || u.Host != "" || u.User != nil:
		if !l.own(u.Host) {
			return loc
		}
	case !strings.HasPrefix(p, "/"):
		p = resolve(upstreamPath, p)
	}
	p = removeDotSegments(p)
	prefix := strings.TrimRight(l.Prefix, "/")
	for prefix == "" && strings.HasPrefix(p, "//") {
		p = p[1:] // a reference starting with "//" would name a host
	}
	if under(p, prefix) {
		prefix = ""
	}
	var suffix string
	if i := strings.IndexAny(loc, "?#"); i >= 0 {
		suffix = loc[i:]
	}
	return prefix + p + suffix
}

// own reports whether host, the host[:port] of a URL, is one of l.OwnHosts.
func (l Location) own(host string) bool {
	for _, h := range l.OwnHosts {
		if strings.EqualFold(host, h) || !hasPort(h) && strings.EqualFold(hostname(host), h) {
			return true
		}
	}
	return false
}

// hasPort reports whether hostport, a host or host:port where an IPv6 host
// is in brackets, has a port.
func hasPort(hostport string) bool {
	return strings.LastIndexByte(hostport, ':') > strings.LastIndexByte(hostport, ']')
}

// hostname returns hostport without its port, if any. An IPv6 host keeps
// its brackets.
func hostname(hostport string) string {
	if hasPort(hostport) {
		return hostport[:strings.LastIndexByte(hostport, ':')]
	}
	return hostport
}

// resolve returns the relative path reference ref, escaped, resolved against
// base, an unescaped absolute path.
func resolve(base, ref string) string {
	b := (&url.URL{Path: base}).EscapedPath()
	if ref == "" {
		return b
	}
	return b[:strings.LastIndexByte(b, '/')+1] + ref
}

// removeDotSegments returns p as a path starting with "/" and without "."
// and ".." segments, which it applies as browsers do, including their
// percent-encoded forms such as "%2e%2e". A ".." segment never climbs above
// the root.
func removeDotSegments(p string) string {
	out := make([]byte, 0, len(p)+1)
	for rest, more := strings.TrimPrefix(p, "/"), true; more; {
		var seg string
		seg, rest, more = strings.Cut(rest, "/")
		n := dots(seg)
		switch n {
		case 0:
			out = append(out, '/')
			out = append(out, seg...)
		case 2:
			out = out[:max(0, bytes.LastIndexByte(out, '/'))]
		}
		if !more && n > 0 {
			out = append(out, '/')
		}
	}
	return string(out)
}

// dots returns 1 if seg is a "." segment and 2 if it is a ".." segment,
// where each dot may be written "%2e" or "%2E"; otherwise it returns 0.
func dots(seg string) int {
	n := 0
	for ; seg != ""; n++ {
		switch {
		case seg[0] == '.':
			seg = seg[1:]
		case len(seg) >= 3 && seg[:2] == "%2" && (seg[2] == 'e' || seg[2] == 'E'):
			seg = seg[3:]
		default:
			return 0
		}
	}
	if n > 2 {
		return 0
	}
	return n
}

// under reports whether the escaped path p is prefix or below it.
func under(p, prefix string) bool {
	return strings.HasPrefix(p, prefix) && (len(p) == len(prefix) || p[len(prefix)] == '/')
}
