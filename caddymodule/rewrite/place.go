package rewrite

import (
	"errors"
	"path"
	"strings"

	"github.com/helpdeskapps/gateway/caddymodule/internal/ascii"
)

// ErrAmbiguousPath is returned by Locate for a path that a browser and the
// gateway would file in different places.
var ErrAmbiguousPath = errors.New("the path leads elsewhere for a browser than for the gateway (encoded slash or dot segment)")

// Place is where a path leads under a prefix.
type Place struct {
	// Under is set when the path is the prefix or below it.
	Under bool
	// Name is the first segment below the prefix: an app id or a name the
	// gateway reserves, such as _api. It holds no escape (a name spelled
	// with one reads differently decoded), and is empty for the prefix
	// itself.
	Name string
	// Rest is what follows Name, escaped as sent, with dot segments
	// resolved and runs of slashes collapsed: empty when nothing follows
	// Name, else a path starting with "/".
	Rest string
}

// Locate says where escaped, the escaped path of a request or of a URL an
// app sends, leads under prefix, a clean path without escapes such as
// /apps. It reads the path twice, and both readings must agree:
//
//   - as a browser does, which files cookies, redirects and service
//     workers by it: "." and ".." segments resolved (their "%2e" forms
//     too), and "%2F" and "%5C" kept as data, inside their segment;
//   - as the gateway's routing does: decoded, then cleaned.
//
// When only one of them is under prefix, when they name different first
// segments below it, or when Rest would hold a dot segment once decoded
// (which the upstream would climb by), Locate returns ErrAmbiguousPath.
// Encoded slashes that stay inside one name, such as /apps/mq/api/queues/%2F/q,
// are fine.
func Locate(escaped, prefix string) (Place, error) {
	if plain(escaped) {
		rest, ok := cutPath(escaped, prefix)
		if !ok {
			return Place{}, nil
		}
		name, after := firstSegment(rest)
		return Place{Under: true, Name: name, Rest: after}, nil
	}
	browser := removeDotSegments(escaped)
	gateway := path.Clean("/" + unescape(escaped))
	bRest, bUnder := cutPath(browser, prefix)
	gRest, gUnder := cutPath(gateway, prefix)
	if bUnder != gUnder {
		return Place{}, ErrAmbiguousPath
	}
	if !bUnder {
		return Place{}, nil
	}
	bName, rest := firstSegment(bRest)
	gName, _ := firstSegment(gRest)
	if bName != gName || bName == "" && rest != "" {
		return Place{}, ErrAmbiguousPath
	}
	rest = collapseSlashes(rest)
	if hasDotSegment(unescape(rest)) {
		return Place{}, ErrAmbiguousPath
	}
	return Place{Under: true, Name: gName, Rest: rest}, nil
}

// Within reports whether escaped, an escaped absolute path, leads into the
// app mounted at appPrefix, such as /apps/crm, as Locate reads it. Every
// path is within an empty appPrefix.
func Within(escaped, appPrefix string) bool {
	if appPrefix == "" {
		return true
	}
	i := strings.LastIndexByte(appPrefix, '/')
	pl, err := Locate(escaped, appPrefix[:i])
	return err == nil && pl.Under && pl.Name == appPrefix[i+1:]
}

// plain reports whether p is an absolute path that both readings leave as
// it is: without escapes, dot segments or runs of slashes.
func plain(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.Contains(p, "%") && !strings.Contains(p, "//") && !strings.Contains(p, "/.")
}

// cutPath returns what follows prefix in p, and whether p is prefix or
// below it.
func cutPath(p, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(p, prefix)
	if !ok || rest != "" && rest[0] != '/' {
		return "", false
	}
	return rest, true
}

// firstSegment splits rest, empty or a path starting with "/", into its
// first segment and what follows it.
func firstSegment(rest string) (name, after string) {
	if rest == "" {
		return "", ""
	}
	rest = rest[1:]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i], rest[i:]
	}
	return rest, ""
}

// collapseSlashes returns p with each run of slashes made one.
func collapseSlashes(p string) string {
	if !strings.Contains(p, "//") {
		return p
	}
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && len(b) > 0 && b[len(b)-1] == '/' {
			continue
		}
		b = append(b, p[i])
	}
	return string(b)
}

// hasDotSegment reports whether p, a decoded path, has a "." or ".."
// segment.
func hasDotSegment(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// unescape decodes the %XX escapes of p; a "%" that does not start one is
// kept as it is.
func unescape(p string) string {
	i := strings.IndexByte(p, '%')
	if i < 0 {
		return p
	}
	b := make([]byte, 0, len(p))
	b = append(b, p[:i]...)
	for ; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) && ascii.IsHex(p[i+1]) && ascii.IsHex(p[i+2]) {
			b = append(b, ascii.Unhex(p[i+1])<<4|ascii.Unhex(p[i+2]))
			i += 2
			continue
		}
		b = append(b, p[i])
	}
	return string(b)
}
