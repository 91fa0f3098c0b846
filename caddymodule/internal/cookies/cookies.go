// Package cookies splits Cookie header values, the one way the gateway
// reads them: to find the session token, to strip it before a backend, and
// to give an isolated app its own jar. Reading and stripping then agree on
// every input: a cookie the gateway reads is a cookie it strips.
package cookies

import (
	"iter"
	"net/textproto"
	"strings"
)

// Pair is one part of a Cookie header value, between semicolons.
type Pair struct {
	// Name and Value are split and trimmed as net/http's Request.Cookies
	// splits and trims them: the part trimmed of spaces and tabs, cut at
	// its first "=", the name trimmed again. A part without "=" is a name
	// with no value.
	Name, Value string
	// Raw is the part as it stands, untrimmed: the Raw of all the pairs,
	// joined with ";", give the header value back.
	Raw string
}

// HasValue reports whether the pair has an "=".
func (p Pair) HasValue() bool { return strings.IndexByte(p.Raw, '=') >= 0 }

// Pairs yields every part of line, a Cookie header value, empty ones too,
// without allocating. Unlike net/http it checks no name (callers compare
// names with a valid one) and sets no limit on how many cookies a value
// may have (its limit guards the allocations this does not make).
func Pairs(line string) iter.Seq[Pair] {
	return func(yield func(Pair) bool) {
		for raw := range strings.SplitSeq(line, ";") {
			name, value, _ := strings.Cut(textproto.TrimString(raw), "=")
			if !yield(Pair{Name: textproto.TrimString(name), Value: value, Raw: raw}) {
				return
			}
		}
	}
}
