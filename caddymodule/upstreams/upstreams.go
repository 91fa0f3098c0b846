// Package upstreams decides where the apps that admins create at runtime
// may send requests. Ops list the hosts, host:port pairs, wildcard domains
// and networks those apps may use; an app's upstream URL must match the
// list when it is saved, and every address the gateway then dials for it is
// checked again, after name resolution, so that a name which later resolves
// to a cloud metadata address, to a loopback service or to Caddy's admin
// endpoint is refused.
package upstreams

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Allowlist is a parsed list of upstream patterns; the zero value allows
// nothing.
type Allowlist struct {
	patterns []pattern
	// refused are networks and ports never dialed, whatever the patterns
	// say.
	refused []pattern
}

// pattern is one entry of an Allowlist: a name (exact, or a wildcard for
// every name under a domain) or a network, with a port or any port.
type pattern struct {
	raw string
	// name is the lower-case host name; for a wildcard, the domain with
	// its leading dot. Empty for a network.
	name     string
	wildcard bool
	network  netip.Prefix
	// port is the only port allowed; 0 allows any.
	port uint16
}

// Parse parses patterns, each one of: a host name (`crm.internal`), every
// name under a domain (`*.internal.example.com`, at any depth), an IP
// address or a CIDR network (`10.0.0.0/8`, `fd00::/8`). A name or an
// address, not a network, may carry a port (`crm.internal:8080`, `127.0.0.1:8081`,
// `[::1]:8081`); without one, any port matches.
//
// refused lists listener addresses that are never dialed whatever the
// patterns allow, such as Caddy's admin endpoint: `localhost:2019` refuses
// port 2019 on every loopback address, `:2019` or `0.0.0.0:2019` on every
// address, a name the addresses it resolves to now.
func Parse(patterns, refused []string) (*Allowlist, error) {
	a := new(Allowlist)
	for _, raw := range patterns {
		p, err := parsePattern(raw)
		if err != nil {
			return nil, fmt.Errorf("upstream pattern %q: %w", raw, err)
		}
		a.patterns = append(a.patterns, p)
	}
	for _, addr := range refused {
		ps, err := parseRefused(addr)
		if err != nil {
			return nil, fmt.Errorf("refused address %q: %w", addr, err)
		}
		a.refused = append(a.refused, ps...)
	}
	return a, nil
}

// Patterns returns the patterns as they were given.
func (a *Allowlist) Patterns() []string {
	out := make([]string, len(a.patterns))
	for i, p := range a.patterns {
		out[i] = p.raw
	}
	return out
}

// parsePattern parses one allowlist entry.
func parsePattern(raw string) (pattern, error) {
	p := pattern{raw: raw}
	if strings.Contains(raw, "://") {
		return p, errors.New("a pattern is a host, not a URL: leave out the scheme")
	}
	if prefix, err := netip.ParsePrefix(raw); err == nil {
		if prefix.Masked() != prefix {
			return p, fmt.Errorf("network has host bits set; did you mean %s?", prefix.Masked())
		}
		p.network = unmapPrefix(prefix)
		return p, nil
	}
	host, port := raw, ""
	if h, pt, err := net.SplitHostPort(raw); err == nil {
		host, port = h, pt
	} else if strings.HasPrefix(raw, "[") {
		return p, errors.New("bad address")
	}
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return p, fmt.Errorf("bad port %q", port)
		}
		p.port = uint16(n)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return p, errors.New("zoned addresses are not supported")
		}
		ip = ip.Unmap()
		p.network = netip.PrefixFrom(ip, ip.BitLen())
		return p, nil
	}
	host = strings.ToLower(host)
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		p.wildcard, host = true, rest
	}
	if !validName(host) {
		return p, errors.New("must be a host name, *.domain, an IP address or a CIDR network, with an optional :port")
	}
	if p.wildcard {
		p.name = "." + host
	} else {
		p.name = host
	}
	return p, nil
}

// parseRefused parses a listener address into the networks and port it
// can be reached at.
func parseRefused(addr string) ([]pattern, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return nil, fmt.Errorf("bad port %q", port)
	}
	var networks []netip.Prefix
	switch ip, err := netip.ParseAddr(host); {
	case host == "" || err == nil && ip.IsUnspecified():
		networks = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
	case err == nil && ip.IsLoopback(), strings.EqualFold(host, "localhost"):
		networks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	case err == nil:
		networks = []netip.Prefix{netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen())}
	default:
		ips, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", host)
		if err != nil {
			return nil, err
		}
		for _, ip := range ips {
			networks = append(networks, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
		}
	}
	out := make([]pattern, len(networks))
	for i, network := range networks {
		out[i] = pattern{raw: addr, network: network, port: uint16(n)}
	}
	return out, nil
}

// validName reports whether host is a DNS name of letters, digits and
// hyphens in dot-separated labels.
func validName(host string) bool {
	if host == "" || len(host) > 253 {
		return false
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// unmapPrefix turns an IPv4-mapped IPv6 network into its IPv4 network.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if !p.Addr().Is4In6() {
		return p
	}
	return netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
}

// matchName reports whether the pattern allows the name on port.
func (p pattern) matchName(name string, port uint16) bool {
	if p.name == "" || p.port != 0 && p.port != port {
		return false
	}
	if p.wildcard {
		return strings.HasSuffix(name, p.name)
	}
	return name == p.name
}

// matchAddr reports whether the pattern allows the address.
func (p pattern) matchAddr(ap netip.AddrPort) bool {
	return p.name == "" && p.network.Contains(ap.Addr().Unmap()) && (p.port == 0 || p.port == ap.Port())
}

// Check parses upstream, an app's upstream URL, and checks it against the
// list. The URL is `http://` or `https://`, a host and an optional port,
// and nothing else (no user, path, query or fragment). A name must match a
// name pattern, an address an address or network pattern. Check returns
// the scheme and the host:port to dial.
func (a *Allowlist) Check(upstream string) (scheme, dial string, err error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return "", "", errors.New("must be a URL such as http://crm.internal:8080")
	}
	scheme = strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", "", errors.New("must begin with http:// or https://")
	}
	if u.User != nil || u.Opaque != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || (u.Path != "" && u.Path != "/") {
		return "", "", errors.New("must be a scheme, a host and a port only (the app's path is its own)")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", "", errors.New("must name a host")
	}
	var port uint16 = 80
	if scheme == "https" {
		port = 443
	}
	if ps := u.Port(); ps != "" {
		n, err := strconv.ParseUint(ps, 10, 16)
		if err != nil || n == 0 {
			return "", "", fmt.Errorf("bad port %q", ps)
		}
		port = uint16(n)
	}
	dial = net.JoinHostPort(host, strconv.Itoa(int(port)))
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return "", "", errors.New("zoned addresses are not supported")
		}
		if err := a.checkAddr(netip.AddrPortFrom(ip.Unmap(), port), true); err != nil {
			return "", "", err
		}
		return scheme, dial, nil
	}
	if !validName(host) {
		return "", "", errors.New("must name a host")
	}
	for _, p := range a.patterns {
		if p.matchName(host, port) {
			return scheme, dial, nil
		}
	}
	return "", "", fmt.Errorf("%s is not among the allowed upstreams", dial)
}

// checkAddr checks an address: it must not be refused, and must match an
// address or network pattern. A name's resolved address need not (the name
// matched a name pattern), unless it is a loopback, link-local (where cloud
// metadata services answer), unspecified or multicast one.
func (a *Allowlist) checkAddr(ap netip.AddrPort, literal bool) error {
	for _, p := range a.refused {
		if p.matchAddr(ap) {
			return fmt.Errorf("%s is refused (%s)", ap, p.raw)
		}
	}
	for _, p := range a.patterns {
		if p.matchAddr(ap) {
			return nil
		}
	}
	if literal || sensitive(ap.Addr().Unmap()) {
		return fmt.Errorf("%s is not among the allowed upstreams", ap)
	}
	return nil
}

// metadata are the addresses of cloud metadata services outside the
// link-local ranges: AWS's over IPv6, Alibaba Cloud's.
var metadata = []netip.Addr{netip.MustParseAddr("fd00:ec2::254"), netip.MustParseAddr("100.100.100.200")}

// nat64 is the well-known NAT64 prefix (RFC 6052), whose addresses reach
// the IPv4 address in their last 32 bits.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// sensitive reports whether a name may resolve to ip only when a network
// pattern covers it: a loopback, link-local, unspecified or multicast
// address, a cloud metadata address, or a NAT64 address of any of these.
func sensitive(ip netip.Addr) bool {
	if nat64.Contains(ip) {
		b := ip.As16()
		if sensitive(netip.AddrFrom4([4]byte(b[12:]))) {
			return true
		}
	}
	return ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || !ip.IsValid() || slices.Contains(metadata, ip)
}

// Control is a net.Dialer Control function that refuses a connection to an
// address the list does not allow: it runs after name resolution, on the
// address actually dialed, for every attempt.
func (a *Allowlist) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dialing %s %s: not an IP address", network, address)
	}
	if err := a.checkAddr(ap, false); err != nil {
		return &RefusedError{Address: address, Err: err}
	}
	return nil
}

// RefusedError is returned for a connection the list refused.
type RefusedError struct {
	Address string
	Err     error
}

func (e *RefusedError) Error() string { return "upstream refused: " + e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }
