package htmlstream

import (
	"bytes"
	"io"
)

// CSSRewriter is an io.WriteCloser that copies a style sheet to an
// underlying writer, rewriting the URLs that belong to an app as
// Links.RewriteURL does: the arguments of url(…), unquoted or quoted, and
// the strings of @import rules. Comments and other strings are copied
// unchanged, and so is everything else, byte for byte.
//
// A CSSRewriter reads the style sheet byte by byte the way the CSS
// tokenizer does, far enough to tell comments, strings, escapes and
// url( tokens apart. It writes every byte on as soon as its meaning is
// known; it holds back only the first bytes of a URL until it can tell
// whether to rewrite it, at most Links.window bytes, so memory use does not
// depend on the style sheet. A URL with a backslash escape among the bytes
// that decide is left unchanged, and so is a url( token written with an
// escape, such as u\72l(.
//
// A CSSRewriter is not safe for concurrent use. The first error from the
// underlying writer is returned by every later call.
type CSSRewriter struct {
	out output
	url urlLook
	css cssScanner
}

var _ io.WriteCloser = (*CSSRewriter)(nil)

// NewCSSRewriter returns a CSSRewriter that writes to w and rewrites the
// URLs that links says belong to the app. It keeps links, which must not
// be modified until the CSSRewriter is closed.
func NewCSSRewriter(w io.Writer, links *Links) *CSSRewriter {
	r := new(CSSRewriter)
	r.out.init(w)
	r.url.init(links)
	r.css.init(&r.out, &r.url)
	r.css.reset(false)
	return r
}

// Write implements io.Writer. It returns len(p) on success: bytes held
// back until their meaning is known count as written.
func (r *CSSRewriter) Write(p []byte) (int, error) {
	if r.out.err != nil {
		return 0, r.out.err
	}
	r.css.write(p)
	r.out.flush()
	if r.out.err != nil {
		return 0, r.out.err
	}
	return len(p), nil
}

// Flush returns the underlying writer's error, if any. Every Write writes
// all it can on: all that is held back is the start of a URL that may or
// may not be rewritten, which cannot be written before the bytes that
// follow it. Flush does not flush the underlying writer.
func (r *CSSRewriter) Flush() error {
	return r.out.err
}

// Close writes what is held back, rewritten if the style sheet ends
// where a URL would, and does not close the underlying writer.
func (r *CSSRewriter) Close() error {
	r.css.end(true)
	r.out.flush()
	return r.out.err
}

// held returns how many bytes are held back.
func (r *CSSRewriter) held() int { return r.url.held() }

// cssState is where a cssScanner is in a style sheet.
type cssState uint8

const (
	cssNormal       cssState = iota // between tokens, or in one that does not matter
	cssEscape                       // after "\" outside strings
	cssSlash                        // after "/": a comment may start
	cssComment                      // in a comment
	cssCommentStar                  // after "*" in a comment
	cssString                       // in a string that is not a URL
	cssStringEscape                 // after "\" in a string
	cssU                            // after "u", "ur" or "url" at the start of a token
	cssAt                           // after "@", and maybe part of "import"
	cssImport                       // after "@import": a string here is a URL
	cssURLStart                     // after "url(", before its argument
	cssLook                         // at the start of a URL, or in its first bytes
	cssURL                          // in the rest of a URL
	cssURLEscape                    // after "\" in a URL
)

// cssScanner rewrites the URLs in CSS as it streams through: a style
// sheet, the text of a style element, or a style attribute's value, where
// character references are read as the characters they stand for.
type cssScanner struct {
	out   *output
	url   *urlLook
	attr  bool // in an attribute value: character references count
	ref   charRef
	state cssState
	ret   cssState // the state a comment returns to
	quote byte     // the quote that ends the string or URL; 0 for an unquoted URL
	n     int      // how much of "url(" or "@import" has been read
	prev  byte     // the last character read between tokens
	cr    bool     // a CR was escaped: a LF right after it belongs to it
}

func (s *cssScanner) init(out *output, url *urlLook) {
	s.out, s.url = out, url
}

// reset gets ready for new CSS; attr says whether it is an attribute
// value.
func (s *cssScanner) reset(attr bool) {
	s.attr = attr
	s.state, s.prev, s.cr = cssNormal, ' ', false
	s.ref.state = refNone
	s.url.reset()
	s.url.esc = escCSS
	if attr {
		s.url.esc |= escRef
	}
}

// end ends the CSS: a URL being read ends there if complete, or is left
// as it is.
func (s *cssScanner) end(complete bool) {
	if s.state == cssLook {
		s.url.finish(s.out, complete)
	}
	s.reset(s.attr)
}

// cssSpecial marks the bytes that matter between tokens.
var cssSpecial = [256]bool{'u': true, 'U': true, '@': true, '/': true, '"': true, '\'': true, '\\': true}

// lookScan is the most bytes cssScanner.write looks at ahead for the end
// of a URL.
const lookScan = 256

// write reads p, the next bytes of the CSS.
func (s *cssScanner) write(p []byte) {
	start := 0 // p[start:i] is to be written
	for i := 0; i < len(p); {
		c := p[i]
		if s.attr {
			if s.ref.active() {
				sym, done, again := s.ref.feed(c)
				if !again {
					i++
				}
				if done {
					s.step(sym, true)
				}
				continue
			}
			if c == '&' && s.state != cssLook {
				s.ref.begin()
				i++
				continue
			}
		}
		if s.state == cssLook {
			s.out.write(p[start:i])
			j := i
			for j < len(p) && j-i < lookScan && !s.endsLook(p[j]) {
				j++
			}
			end := lookMore
			if j < len(p) && j-i < lookScan {
				end = lookComplete
				if p[j] == '&' || p[j] == '\\' {
					end = lookEscape
				}
			}
			n, done := s.url.take(s.out, p[i:j], end)
			i += n
			start = i
			if done {
				s.state = cssURL
			}
			continue
		}
		if !s.attr {
			if i = s.skip(p, i); i == len(p) {
				break
			}
			c = p[i]
		}
		if s.step(c, false) {
			continue // a URL starts at c
		}
		i++
	}
	s.out.write(p[start:])
}

// endsLook reports whether c ends the first bytes of a URL: it ends the
// URL, or it starts an escape or a character reference, which the rest of
// the scanner is to read.
func (s *cssScanner) endsLook(c byte) bool {
	if c == '\\' || c == '&' && s.attr {
		return true
	}
	if s.quote != 0 {
		return c == s.quote || c == '\n' || c == '\r' || c == '\f'
	}
	return c == ')' || isSpace(c) || c == '"' || c == '\'' || c == '('
}

// skip returns the index of the first byte from p[i] on that can change
// the state, which is not a URL's first bytes.
func (s *cssScanner) skip(p []byte, i int) int {
	switch s.state {
	case cssNormal:
		j := i
		for j < len(p) && !cssSpecial[p[j]] {
			j++
		}
		if j > i {
			s.prev = p[j-1]
		}
		return j
	case cssComment:
		if k := bytes.IndexByte(p[i:], '*'); k >= 0 {
			return i + k
		}
		return len(p)
	case cssString, cssURL:
		if s.cr {
			return i
		}
		j := i
		if s.quote == 0 {
			for j < len(p) && p[j] != ')' && p[j] != '\\' {
				j++
			}
			return j
		}
		for j < len(p) && p[j] != s.quote && p[j] != '\\' && p[j] != '\n' && p[j] != '\r' && p[j] != '\f' {
			j++
		}
		return j
	}
	return i
}

// step reads c, the next character: a byte, or the character a reference
// stands for if decoded. It reports whether a URL starts at c, which can
// only be a byte; the state is then cssLook.
func (s *cssScanner) step(c byte, decoded bool) bool {
	switch s.state {
	case cssNormal:
		switch {
		case (c == 'u' || c == 'U') && !continuesToken(s.prev):
			s.state, s.n = cssU, 1
		case c == '@':
			s.state, s.n = cssAt, 0
		case c == '/':
			s.state, s.ret = cssSlash, cssNormal
		case c == '"' || c == '\'':
			s.state, s.quote = cssString, c
		case c == '\\':
			s.state = cssEscape
		}
		s.prev = c
	case cssEscape:
		// The escaped character is part of a name, whatever it is.
		s.state, s.prev = cssNormal, 'a'
	case cssSlash:
		if c == '*' {
			s.state = cssComment
			return false
		}
		s.state, s.prev = cssNormal, '/'
		return s.step(c, decoded)
	case cssComment:
		if c == '*' {
			s.state = cssCommentStar
		}
	case cssCommentStar:
		switch c {
		case '/':
			s.state, s.prev = s.ret, ' '
		case '*':
		default:
			s.state = cssComment
		}
	case cssString, cssURL:
		if s.cr {
			s.cr = false
			if c == '\n' {
				return false
			}
		}
		switch {
		case c == '\\':
			s.state++ // cssStringEscape or cssURLEscape
		case s.quote == 0 && c == ')',
			s.quote != 0 && (c == s.quote || c == '\n' || c == '\r' || c == '\f'):
			// The end, or for a newline in a string a bad string.
			s.state, s.prev = cssNormal, c
		}
	case cssStringEscape, cssURLEscape:
		s.state--
		s.cr = c == '\r'
	case cssU:
		if s.n < 3 && lower(c) == "url"[s.n] {
			s.n++
			return false
		}
		if s.n == 3 && c == '(' {
			s.state = cssURLStart
			return false
		}
		s.state, s.prev = cssNormal, 'u'
		return s.step(c, decoded)
	case cssAt:
		if s.n < 6 && lower(c) == "import"[s.n] {
			s.n++
			if s.n == 6 {
				s.state, s.prev = cssImport, 't'
			}
			return false
		}
		s.state, s.prev = cssNormal, '@'
		if s.n > 0 {
			s.prev = 'a' // in an at-keyword
		}
		return s.step(c, decoded)
	case cssImport:
		switch {
		case c == '"' || c == '\'':
			s.state, s.quote = cssLook, c
		case isSpace(c):
			s.prev = ' '
		case c == '/':
			s.state, s.ret = cssSlash, cssImport
		default:
			// Not a string: "@imports", "@import url(…)" or garbage.
			s.state = cssNormal
			return s.step(c, decoded)
		}
	case cssURLStart:
		switch {
		case isSpace(c):
		case c == '"' || c == '\'':
			s.state, s.quote = cssLook, c
		case c == ')':
			s.state, s.prev = cssNormal, c
		case decoded:
			// A URL that starts with a character reference is left as it is.
			s.state, s.quote = cssURL, 0
			return s.step(c, decoded)
		default:
			s.state, s.quote = cssLook, 0
			return true
		}
	case cssLook:
		return !decoded
	}
	return false
}

// continuesToken reports whether a "u" after prev would be part of the
// same token as prev, so not the start of "url(".
func continuesToken(prev byte) bool {
	return isAlnum(prev) || prev == '-' || prev == '_' || prev >= 0x80 || prev == '\\' || prev == '@' || prev == '#'
}
