// Package rewrite edits the response headers of an app that is proxied under
// a Helpdesk path prefix: it lets only the Helpdesk frame the app's pages,
// keeps the app's redirects under its prefix and scopes its cookies to it.
//
// Policies and cookies are edited as text, not parsed and re-serialised, so
// that whatever is not changed reaches the browser byte for byte.
package rewrite

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/helpdeskapps/gateway/caddymodule/internal/ascii"
)

// frameAncestors is the name of the CSP directive that lists who may frame a
// page.
const frameAncestors = "frame-ancestors"

// errNotSource is returned for a frame ancestor that is neither 'self' nor
// shaped like an origin.
var errNotSource = errors.New("must be 'self' or an origin such as https://helpdesk.example.com")

// ValidateAncestor reports whether src may be configured as one source of a
// frame-ancestors directive. It accepts 'self' and http or https origins
// without path, query, fragment or user information, such as
// https://helpdesk.example.com, https://*.example.com:8443,
// http://10.0.0.5:8080 or http://[::1]:8080.
func ValidateAncestor(src string) error {
	if src == "'self'" {
		return nil
	}
	if err := validateOrigin(src); err != nil {
		return fmt.Errorf("frame ancestor %q: %w", src, err)
	}
	return nil
}

// AncestorAllows reports whether src, a frame ancestor that
// ValidateAncestor accepts, names origin, an origin as a browser sends it
// in an Origin header: schemes and hosts compare without regard to case, a
// missing port is the scheme's default, and a "*." first label stands for
// one or more labels. 'self' names no origin here.
func AncestorAllows(src, origin string) bool {
	srcScheme, srcHostport, ok := strings.Cut(src, "://")
	scheme, hostport, ok2 := strings.Cut(origin, "://")
	if !ok || !ok2 || !ascii.EqualFold(srcScheme, scheme) {
		return false
	}
	srcHost, srcPort, _ := splitOrigin(srcHostport)
	host, port, _ := splitOrigin(hostport)
	if originPort(scheme, srcPort) != originPort(scheme, port) {
		return false
	}
	srcHost, host = strings.ToLower(srcHost), strings.ToLower(host)
	if suffix, ok := strings.CutPrefix(srcHost, "*"); ok {
		return len(host) > len(suffix) && strings.HasSuffix(host, suffix)
	}
	return srcHost == host
}

// originPort returns port as a number, the scheme's default when empty; -1
// when it is not a port.
func originPort(scheme, port string) int {
	if port == "" {
		if ascii.EqualFold(scheme, "https") {
			return 443
		}
		return 80
	}
	if !validPort(port) {
		return -1
	}
	n, _ := strconv.Atoi(port)
	return n
}

// validateOrigin reports whether src is an http or https origin, optionally
// with a wildcard first label.
func validateOrigin(src string) error {
	if strings.ContainsAny(src, " \t\n\v\f\r;,'\"") {
		return errNotSource
	}
	scheme, hostport, ok := strings.Cut(src, "://")
	if !ok {
		return errNotSource
	}
	if !ascii.EqualFold(scheme, "http") && !ascii.EqualFold(scheme, "https") {
		return errors.New("scheme must be http or https")
	}
	if strings.ContainsAny(hostport, "/?#") {
		return errors.New("must not have a path, query or fragment")
	}
	if strings.Contains(hostport, "@") {
		return errors.New("must not have user information")
	}
	host, port, hasPort := splitOrigin(hostport)
	if err := validateHost(host); err != nil {
		return err
	}
	if hasPort && !validPort(port) {
		return fmt.Errorf("invalid port %q", port)
	}
	return nil
}

// splitOrigin splits the host[:port] part of an origin, where an IPv6 host
// is in brackets.
func splitOrigin(hostport string) (host, port string, hasPort bool) {
	i := 0
	if strings.HasPrefix(hostport, "[") {
		i = strings.IndexByte(hostport, ']') + 1
		if i == 0 {
			return hostport, "", false
		}
	}
	if j := strings.IndexByte(hostport[i:], ':'); j >= 0 {
		return hostport[:i+j], hostport[i+j+1:], true
	}
	return hostport, "", false
}

// validPort reports whether port is a decimal number from 1 to 65535.
func validPort(port string) bool {
	if port == "" || len(port) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
		n = n*10 + int(port[i]-'0')
	}
	return n >= 1 && n <= 65535
}

// validateHost reports whether host is a bracketed IPv6 address, an IPv4
// address or a DNS name, the last optionally with a leading "*." wildcard
// label.
func validateHost(host string) error {
	if ip, ok := strings.CutPrefix(host, "["); ok {
		ip, ok = strings.CutSuffix(ip, "]")
		if a, err := netip.ParseAddr(ip); !ok || err != nil || !a.Is6() || a.Zone() != "" {
			return fmt.Errorf("invalid IPv6 address %q", host)
		}
		return nil
	}
	name, wildcard := strings.CutPrefix(host, "*.")
	if a, err := netip.ParseAddr(name); err == nil && a.Is4() {
		if wildcard {
			return fmt.Errorf("invalid host %q: no wildcard on an IP address", host)
		}
		return nil
	}
	if !validDNSName(name) {
		return fmt.Errorf("invalid host %q", host)
	}
	return nil
}

// validDNSName reports whether name is a DNS name made of letters, digits and
// hyphens that a browser would not read as an IPv4 address.
func validDNSName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	label := ""
	for rest, more := name, true; more; {
		label, rest, more = strings.Cut(rest, ".")
		if !validLabel(label) {
			return false
		}
	}
	return !endsInNumber(label)
}

// validLabel reports whether label is 1 to 63 letters, digits and hyphens,
// neither starting nor ending with a hyphen.
func validLabel(label string) bool {
	if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
		return false
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// endsInNumber reports whether label, the last label of a host, is a decimal
// or 0x-prefixed hexadecimal number, which makes browsers parse the host as
// an IPv4 address.
func endsInNumber(label string) bool {
	digits := "0123456789"
	if len(label) >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X') {
		label, digits = label[2:], "0123456789abcdefABCDEF"
	}
	for i := 0; i < len(label); i++ {
		if strings.IndexByte(digits, label[i]) < 0 {
			return false
		}
	}
	return true
}

// FrameAncestors returns value, one Content-Security-Policy or
// Content-Security-Policy-Report-Only header value, with the frame-ancestors
// directive of each of its comma-separated policies set to ancestors, a
// space-separated source list such as 'self' or
// "https://a.example https://b.example".
//
// In each policy the first frame-ancestors directive is replaced, later ones
// are removed, and one is appended to a policy that has none. Other
// directives are kept byte for byte; only whitespace at the end of a policy
// is dropped. Policies that are empty or only whitespace enforce nothing and
// are dropped; a value made only of them becomes
// "frame-ancestors " + ancestors. The result is longer than value by at most
// the length of "; frame-ancestors " + ancestors for each policy that is
// not empty (CountPolicies).
func FrameAncestors(value, ancestors string) string {
	var b strings.Builder
	b.Grow(len(value) + len("; "+frameAncestors+" ") + len(ancestors))
	for policy := range strings.SplitSeq(value, ",") {
		if ascii.TrimRightSpace(policy) == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		writePolicy(&b, policy, ancestors)
	}
	if b.Len() == 0 {
		writeFrameAncestors(&b, ancestors)
	}
	return b.String()
}

// CountPolicies returns the number of policies in value, a
// Content-Security-Policy header value, that are not empty or only
// whitespace.
func CountPolicies(value string) int {
	n := 0
	for policy := range strings.SplitSeq(value, ",") {
		if ascii.TrimRightSpace(policy) != "" {
			n++
		}
	}
	return n
}

// writePolicy writes policy, which is not only whitespace, to b with its
// frame-ancestors directives replaced by one that lists ancestors.
// Whitespace that would end the policy is left out.
func writePolicy(b *strings.Builder, policy, ancestors string) {
	policy = ascii.TrimRightSpace(policy)
	replaced := false
	space := "" // after the last directive written, written if another follows
	for i, rest, more := 0, policy, true; more; i++ {
		var directive string
		directive, rest, more = strings.Cut(rest, ";")
		isFA := isFrameAncestors(directive)
		if isFA && replaced {
			continue
		}
		b.WriteString(space)
		if i > 0 {
			b.WriteByte(';')
		}
		d := ascii.TrimRightSpace(directive)
		space = directive[len(d):]
		if !isFA {
			b.WriteString(d)
			continue
		}
		b.WriteString(d[:len(d)-len(ascii.TrimLeftSpace(d))])
		writeFrameAncestors(b, ancestors)
		replaced = true
	}
	if replaced {
		return
	}
	if !strings.HasSuffix(policy, ";") {
		b.WriteByte(';')
	}
	b.WriteByte(' ')
	writeFrameAncestors(b, ancestors)
}

// writeFrameAncestors writes a frame-ancestors directive listing ancestors.
func writeFrameAncestors(b *strings.Builder, ancestors string) {
	b.WriteString(frameAncestors)
	b.WriteByte(' ')
	b.WriteString(ancestors)
}

// isFrameAncestors reports whether directive, one ';'-separated part of a
// policy, is a frame-ancestors directive. Like browsers, it takes the
// directive name to end at the first ASCII whitespace and ignores its case.
func isFrameAncestors(directive string) bool {
	directive = ascii.TrimLeftSpace(directive)
	n := len(frameAncestors)
	return len(directive) >= n && ascii.EqualFold(directive[:n], frameAncestors) &&
		(len(directive) == n || ascii.IsSpace(directive[n]))
}

// MaxPolicies is the most Content-Security-Policy and
// Content-Security-Policy-Report-Only policies, counted with CountPolicies,
// that AddFrameAncestors rewrites in one response. Each gets a
// frame-ancestors directive: past a few, a response's policies are an
// attempt to make the gateway amplify them, not a page's policy.
const MaxPolicies = 32

// ErrTooManyPolicies is returned by AddFrameAncestors for a response with
// more than MaxPolicies policies.
var ErrTooManyPolicies = fmt.Errorf("more than %d Content-Security-Policy policies", MaxPolicies)

// AddFrameAncestors makes the response with header h frameable by ancestors
// only: it sets the frame-ancestors directive of every policy of every
// Content-Security-Policy and Content-Security-Policy-Report-Only value with
// FrameAncestors, keeping the order of the values and dropping those made
// only of empty policies, deletes X-Frame-Options, and adds a
// Content-Security-Policy with only the frame-ancestors directive if h has
// none. A report-only policy does not
// count as one. A response with more than MaxPolicies policies is left as
// it is and ErrTooManyPolicies returned: the caller must not send it. What
// AddFrameAncestors adds to the header values is bounded: at most
// MaxPolicies+1 times "; frame-ancestors " and ancestors.
func AddFrameAncestors(h http.Header, ancestors string) error {
	keys := [...]string{"Content-Security-Policy", "Content-Security-Policy-Report-Only"}
	n := 0
	for _, key := range keys {
		for _, v := range h[key] {
			if n += CountPolicies(v); n > MaxPolicies {
				return ErrTooManyPolicies
			}
		}
	}
	h.Del("X-Frame-Options")
	for _, key := range keys {
		values := h[key]
		kept := values[:0]
		for _, v := range values {
			// A value of empty policies enforces nothing.
			if CountPolicies(v) > 0 {
				kept = append(kept, FrameAncestors(v, ancestors))
			}
		}
		if len(kept) == 0 {
			delete(h, key)
		} else {
			h[key] = kept
		}
	}
	if len(h["Content-Security-Policy"]) == 0 {
		h["Content-Security-Policy"] = []string{frameAncestors + " " + ancestors}
	}
	return nil
}
