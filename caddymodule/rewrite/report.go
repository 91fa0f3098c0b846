package rewrite

import (
	"net/http"
	"strings"

	"github.com/helpdeskapps/gateway/caddymodule/internal/ascii"
)

// HasReportURI reports whether a Content-Security-Policy or
// Content-Security-Policy-Report-Only value of h has a report-uri
// directive, or something that could be one.
func HasReportURI(h http.Header) bool {
	for _, key := range [...]string{"Content-Security-Policy", "Content-Security-Policy-Report-Only"} {
		for _, v := range h[key] {
			if ascii.ContainsFold(v, "report-uri") {
				return true
			}
		}
	}
	return false
}

// ReportURIs returns value, a Content-Security-Policy or
// Content-Security-Policy-Report-Only header value, with each URL of its
// report-uri directives rewritten by l.Rewrite, so that violation reports
// of the app's pages go to the app, not to the root of the origin it is
// served on. Everything else is kept byte for byte; a value without a
// report-uri directive is returned as it is.
func (l Location) ReportURIs(value, upstreamPath string) string {
	if !ascii.ContainsFold(value, "report-uri") {
		return value
	}
	var b strings.Builder
	b.Grow(len(value))
	for i, directive := range strings.Split(value, ";") {
		if i > 0 {
			b.WriteByte(';')
		}
		policies := strings.Split(directive, ",")
		for j, d := range policies {
			if j > 0 {
				b.WriteByte(',')
			}
			l.writeReportURI(&b, d, upstreamPath)
		}
	}
	return b.String()
}

// writeReportURI writes d, one directive, to b; the URLs of a report-uri
// directive rewritten.
func (l Location) writeReportURI(b *strings.Builder, d, upstreamPath string) {
	rest := ascii.TrimLeftSpace(d)
	b.WriteString(d[:len(d)-len(rest)])
	name, _, _ := strings.Cut(rest, " ")
	if end := strings.IndexAny(name, "\t\n\f\r"); end >= 0 {
		name = name[:end]
	}
	if !ascii.EqualFold(name, "report-uri") {
		b.WriteString(rest)
		return
	}
	b.WriteString(name)
	rest = rest[len(name):]
	for rest != "" {
		space := rest[:len(rest)-len(ascii.TrimLeftSpace(rest))]
		b.WriteString(space)
		rest = rest[len(space):]
		end := 0
		for end < len(rest) && !ascii.IsSpace(rest[end]) {
			end++
		}
		if end > 0 {
			b.WriteString(l.Rewrite(rest[:end], upstreamPath))
		}
		rest = rest[end:]
	}
}

// ReportingEndpoints returns value, a Reporting-Endpoints header value (a
// structured-field dictionary of name="url" members, RFC 9651), with each
// URL rewritten by l.Rewrite. Members that are not strings, and
// parameters, are kept as they are.
func (l Location) ReportingEndpoints(value, upstreamPath string) string {
	var b strings.Builder
	b.Grow(len(value))
	for i, member := range splitOutsideQuotes(value, ',') {
		if i > 0 {
			b.WriteByte(',')
		}
		key, item, ok := strings.Cut(member, "=")
		lead := ascii.TrimLeftSpace(item)
		if !ok || !strings.HasPrefix(lead, `"`) {
			b.WriteString(member)
			continue
		}
		u, tail, ok := readSFString(lead)
		if !ok {
			b.WriteString(member)
			continue
		}
		b.WriteString(key)
		b.WriteByte('=')
		b.WriteString(item[:len(item)-len(lead)])
		writeSFString(&b, l.Rewrite(u, upstreamPath))
		b.WriteString(tail)
	}
	return b.String()
}

// splitOutsideQuotes splits s at each sep that is not inside a
// double-quoted string, where a backslash escapes the next byte.
func splitOutsideQuotes(s string, sep byte) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// readSFString reads the structured-field string that s starts with, and
// returns its value and what follows it; false when it is not closed.
func readSFString(s string) (value, tail string, ok bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) {
				return "", "", false
			}
			i++
			b.WriteByte(s[i])
		case '"':
			return b.String(), s[i+1:], true
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}

// writeSFString writes v as a structured-field string.
func writeSFString(b *strings.Builder, v string) {
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
}
