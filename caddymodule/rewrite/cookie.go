package rewrite

import (
	"iter"
	"net/http"
	"path"
	"strings"

	"github.com/helpdeskapps/gateway/caddymodule/internal/ascii"
	"github.com/helpdeskapps/gateway/caddymodule/internal/cookies"
)

// SetCookie returns value, one Set-Cookie header value, scoped to the app
// mounted at appPath, a path with a trailing slash such as /apps/crm/.
//
// It removes every Domain attribute, and every Path attribute but the
// last, the one browsers use (RFC 6265 §5.3), which it moves under
// appPath: an empty path or one not starting with "/" becomes appPath; a
// path equal to appPath without its trailing slash or starting with appPath
// is kept; any other path p is cleaned with path.Clean, so that its dot
// segments cannot climb out, and becomes appPath followed by p without its
// leading slash. A kept path needs no cleaning: browsers match a cookie's
// path as a plain prefix of the request's path. A path that, so scoped,
// Within does not place in the app (an encoded slash next to dots, which
// climbs out once decoded) becomes appPath. A cookie without a Path
// attribute keeps none: browsers then scope it to the directory of the
// request, which is already under appPath.
//
// The name=value pair and all other attributes are kept byte for byte and
// in order, so the result is at most len(appPath)+1 bytes longer than
// value. SetCookie does not allocate when it changes nothing.
func SetCookie(value, appPath string) string {
	s := splicer{src: value, size: len(value) + len(appPath) + 1}
	lastPath := lastPathAttr(value)
	for i, attr := range attributes(value) {
		rawName, rawValue, hasValue := strings.Cut(attr, "=")
		name := ascii.TrimSpace(rawName)
		switch {
		case ascii.EqualFold(name, "domain"), ascii.EqualFold(name, "path") && i != lastPath:
			s.cut(i, i+1+len(attr))
		case ascii.EqualFold(name, "path"):
			p := ascii.TrimSpace(rawValue)
			head, tail := scopePath(p, appPath)
			// Browsers trim the value: judge what they read.
			if tail = ascii.TrimRightSpace(tail); !Within(head+tail, appPath[:len(appPath)-1]) {
				head, tail = appPath, ""
			}
			if head != "" || tail != p || !hasValue {
				nameEnd := i + 1 + len(rawName) - len(ascii.TrimLeftSpace(rawName)) + len(name)
				s.cut(nameEnd, i+1+len(attr))
				s.b.WriteByte('=')
				s.b.WriteString(head)
				s.b.WriteString(tail)
			}
		}
	}
	return s.String()
}

// attributes yields the attributes of value, a Set-Cookie header value:
// the index of the ";" that starts each, and its text up to the next ";".
func attributes(value string) iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		for i := strings.IndexByte(value, ';'); i >= 0; {
			attr, next := value[i+1:], -1
			if j := strings.IndexByte(attr, ';'); j >= 0 {
				attr, next = attr[:j], i+1+j
			}
			if !yield(i, attr) {
				return
			}
			i = next
		}
	}
}

// lastPathAttr returns the index of the ";" that starts the last Path
// attribute of value, a Set-Cookie header value; -1 when there is none.
func lastPathAttr(value string) int {
	last := -1
	for i, attr := range attributes(value) {
		name, _, _ := strings.Cut(attr, "=")
		if ascii.EqualFold(ascii.TrimSpace(name), "path") {
			last = i
		}
	}
	return last
}

// splicer builds an edited copy of src, allocating only at the first edit.
type splicer struct {
	src  string
	size int // expected size of the copy
	b    strings.Builder
	done int // src[:done] has been copied to b or cut
}

// cut copies to b what precedes src[i:j] and skips src[i:j]. Callers may
// then write a replacement to b.
func (s *splicer) cut(i, j int) {
	if s.done == 0 {
		s.b.Grow(s.size)
	}
	s.b.WriteString(s.src[s.done:i])
	s.done = j
}

// String returns the edited copy of src, or src itself if nothing was cut.
func (s *splicer) String() string {
	if s.done == 0 {
		return s.src
	}
	s.b.WriteString(s.src[s.done:])
	return s.b.String()
}

// scopePath returns the value of a Path attribute p scoped to appPath, as
// head+tail so that callers can write it without allocating.
func scopePath(p, appPath string) (head, tail string) {
	switch {
	case !strings.HasPrefix(p, "/"):
		return appPath, ""
	case p == strings.TrimSuffix(appPath, "/") || strings.HasPrefix(p, appPath):
		return "", p
	default:
		return appPath, cleanPath(p)[1:]
	}
}

// cleanPath returns the absolute path p cleaned with path.Clean, keeping its
// trailing slash if it has one.
func cleanPath(p string) string {
	c := path.Clean(p)
	switch {
	case c == "/" || !strings.HasSuffix(p, "/"):
		return c
	case len(p) == len(c)+1 && strings.HasPrefix(p, c):
		return p
	default:
		return c + "/"
	}
}

// CookieName returns the name, without surrounding whitespace, of the
// cookie that value, a Set-Cookie header value, sets. For a cookie without
// a name, such as "=sid=1" or "sid", which browsers send back as its value
// alone, it returns the name that servers read from that value: "sid".
func CookieName(value string) string {
	pair, _, _ := strings.Cut(value, ";")
	name, v, ok := strings.Cut(pair, "=")
	if name = ascii.TrimSpace(name); name != "" || !ok {
		return name
	}
	name, _, _ = strings.Cut(v, "=")
	return ascii.TrimSpace(name)
}

// ScopeSetCookies rewrites every Set-Cookie value in h with SetCookie, and
// removes those whose CookieName satisfies drop, unless drop is nil. It
// keeps the order of the remaining values.
func ScopeSetCookies(h http.Header, appPath string, drop func(name string) bool) {
	values := h["Set-Cookie"]
	kept := values[:0]
	for _, v := range values {
		if drop == nil || !drop(CookieName(v)) {
			kept = append(kept, SetCookie(v, appPath))
		}
	}
	if len(kept) == 0 {
		delete(h, "Set-Cookie")
		return
	}
	h["Set-Cookie"] = kept
}

// PrefixSetCookie returns value, one Set-Cookie header value, with prefix
// put before its cookie name; everything else is kept byte for byte.
func PrefixSetCookie(value, prefix string) string {
	i := len(value) - len(ascii.TrimLeftSpace(value))
	return value[:i] + prefix + value[i:]
}

// IsolateCookies keeps, of the cookies in h's Cookie headers (split by
// cookies.Pairs), only those whose names begin with prefix, and gives them
// back their names without it. Every other cookie is dropped, and the
// header with it when none is left. The cookies kept are joined in one
// header, in their order.
func IsolateCookies(h http.Header, prefix string) {
	var b strings.Builder
	for _, line := range h["Cookie"] {
		for p := range cookies.Pairs(line) {
			name, ok := strings.CutPrefix(p.Name, prefix)
			if !ok || name == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(name)
			if p.HasValue() {
				b.WriteByte('=')
				b.WriteString(p.Value)
			}
		}
	}
	if b.Len() == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = []string{b.String()}
}
