package rewrite

import (
	"bytes"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
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
// It reads loc as a browser does (the WHATWG URL standard): without tabs
// and newlines and the C0 controls and spaces around it, with "\" for "/"
// in http(s) and relative URLs, any number of slashes before a host, and
// the host percent-decoded, mapped by IDNA and, for IPv4, in any of its
// numeric forms. It resolves a relative reference against upstreamPath,
// the escaped path of the request as the app saw it (without the prefix,
// like /a/b), so that dot segments cannot climb out of the prefix, and
// keeps its path's escaping, query and fragment byte for byte, invalid
// escapes included. A path already under l.Prefix is not prefixed again.
// A path that Within does not place in the app (an encoded slash next to
// dots that would climb out of it, once decoded) becomes the app's root,
// l.Prefix + "/", without query or fragment.
// An http(s) URL without "//" after its scheme, which a browser reads as
// relative or as naming a host depending on the page's own scheme, is
// taken as relative: it stays in the app.
//
// Rewrite returns loc unchanged when it is empty, when it has a scheme
// other than http or https, and when it names another host, or a host no
// browser could parse.
func (l Location) Rewrite(loc, upstreamPath string) string {
	ref := browserForm(loc)
	if ref == "" {
		return loc
	}
	scheme, rest := splitScheme(ref)
	if scheme != "" && scheme != "http" && scheme != "https" {
		return loc
	}
	suffix := ""
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest, suffix = rest[:i], rest[i:]
	}
	rest = strings.ReplaceAll(rest, `\`, "/")
	if strings.HasPrefix(rest, "//") {
		authority, path, _ := strings.Cut(strings.TrimLeft(rest, "/"), "/")
		host, ok := browserHost(authority)
		if !ok || !l.own(host) {
			return loc
		}
		rest = "/" + path
	}
	p := rest
	if !strings.HasPrefix(p, "/") {
		p = resolve(upstreamPath, p)
	}
	p = removeDotSegments(p)
	prefix := strings.TrimRight(l.Prefix, "/")
	for prefix == "" && strings.HasPrefix(p, "//") {
		p = p[1:] // a reference starting with "//" would name a host
	}
	if !under(p, prefix) {
		p = prefix + p
	}
	if !Within(p, prefix) {
		return prefix + "/"
	}
	return p + suffix
}

// RewriteRefresh rewrites the URL of a Refresh header, `<seconds>;
// url=<url>`, read as browsers read it (the HTML standard's declarative
// refresh), with Rewrite. A value without a URL reloads the same page and
// is returned as it is.
func (l Location) RewriteRefresh(value, upstreamPath string) string {
	const ws = " \t\n\f\r"
	i := len(value) - len(strings.TrimLeft(value, ws))
	j := i
	for j < len(value) && ('0' <= value[j] && value[j] <= '9' || value[j] == '.') {
		j++
	}
	if j == i {
		return value
	}
	rest := strings.TrimLeft(value[j:], ws)
	if rest != "" && (rest[0] == ';' || rest[0] == ',') {
		rest = strings.TrimLeft(rest[1:], ws)
	}
	if len(rest) >= 3 && strings.EqualFold(rest[:3], "url") {
		if after := strings.TrimLeft(rest[3:], ws); strings.HasPrefix(after, "=") {
			rest = strings.TrimLeft(after[1:], ws)
		}
	}
	start := len(value) - len(rest)
	target, end := rest, ""
	if rest != "" && (rest[0] == '\'' || rest[0] == '"') {
		start++
		target = rest[1:]
		if k := strings.IndexByte(target, rest[0]); k >= 0 {
			target, end = target[:k], target[k:]
		}
	}
	if target == "" {
		return value
	}
	return value[:start] + l.Rewrite(target, upstreamPath) + end
}

// browserForm returns loc as a browser reads it before parsing: without
// leading and trailing C0 controls and spaces, and without tabs and
// newlines anywhere.
func browserForm(loc string) string {
	loc = strings.TrimFunc(loc, func(r rune) bool { return r <= ' ' })
	if !strings.ContainsAny(loc, "\t\n\r") {
		return loc
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, loc)
}

// splitScheme returns the scheme of ref, lower-cased, and the rest after
// its colon; or no scheme and ref.
func splitScheme(ref string) (scheme, rest string) {
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return strings.ToLower(ref[:i]), ref[i+1:]
		default:
			return "", ref
		}
	}
	return "", ref
}

// browserHost returns the host[:port] of an http(s) URL's authority as a
// browser connects to it: without user information, percent-decoded,
// mapped to ASCII by IDNA (lower-cased, full-width forms folded), an IPv4
// address in dotted decimal whatever numeric form it was written in,
// without a trailing dot, and the port without leading zeros. It reports
// false when a browser would refuse the host.
func browserHost(authority string) (string, bool) {
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	host, port := authority, ""
	if i := strings.LastIndexByte(authority, ':'); i > strings.LastIndexByte(authority, ']') {
		host, port = authority[:i], authority[i+1:]
		if strings.Trim(port, "0123456789") != "" {
			return "", false
		}
		if port = strings.TrimLeft(port, "0"); port == "" && authority[i+1:] != "" {
			port = "0"
		}
	}
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return "", false
		}
		host = strings.ToLower(host)
	} else {
		decoded, err := url.PathUnescape(host)
		if err != nil {
			return "", false
		}
		if host, err = idna.Lookup.ToASCII(decoded); err != nil || host == "" {
			return "", false
		}
		host = strings.TrimSuffix(host, ".")
		if ip, ok := ipv4(host); ok {
			host = ip
		}
	}
	if port != "" {
		return host + ":" + port, true
	}
	return host, true
}

// ipv4 returns host in dotted decimal when a browser reads it as an IPv4
// address: one to four parts, each decimal, hexadecimal (0x) or octal (a
// leading 0), the last filling the bytes that remain.
func ipv4(host string) (string, bool) {
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return "", false
	}
	nums := make([]uint64, len(parts))
	for i, part := range parts {
		base := 10
		switch {
		case len(part) >= 2 && (part[:2] == "0x" || part[:2] == "0X"):
			part, base = part[2:], 16
		case len(part) >= 2 && part[0] == '0':
			part, base = part[1:], 8
		}
		if part == "" && base == 16 {
			continue // "0x" is 0
		}
		n, err := strconv.ParseUint(part, base, 32)
		if err != nil {
			return "", false
		}
		nums[i] = n
	}
	last := len(nums) - 1
	var addr uint64
	for i, n := range nums[:last] {
		if n > 255 {
			return "", false
		}
		addr |= n << (8 * (3 - i))
	}
	if nums[last] >= 1<<(8*(4-last)) {
		return "", false
	}
	addr |= nums[last]
	return netip.AddrFrom4([4]byte{byte(addr >> 24), byte(addr >> 16), byte(addr >> 8), byte(addr)}).String(), true
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

// resolve returns the relative path reference ref resolved against base,
// both escaped, base an absolute path. Bytes that an escaped path cannot
// hold as they are, in base, are escaped.
func resolve(base, ref string) string {
	if i := strings.IndexFunc(base, mustEscape); i >= 0 {
		var b strings.Builder
		for _, c := range []byte(base) {
			if mustEscape(rune(c)) {
				fmt.Fprintf(&b, "%%%02X", c)
			} else {
				b.WriteByte(c)
			}
		}
		base = b.String()
	}
	if ref == "" {
		return base
	}
	return base[:strings.LastIndexByte(base, '/')+1] + ref
}

// mustEscape reports whether c, a byte of a path, changes how the path
// reads unless escaped: a control, a space, "?", "#", or "\", which
// browsers take for "/".
func mustEscape(c rune) bool {
	return c <= ' ' || c == 0x7f || c == '?' || c == '#' || c == '\\'
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
