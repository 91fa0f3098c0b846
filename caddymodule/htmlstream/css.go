package htmlstream

import (
	"bytes"
	"io"

	"github.com/helpdeskapps/gateway/caddymodule/internal/ascii"
)

// CSSRewriter is an io.WriteCloser that copies a style sheet to an
// underlying writer, rewriting the URLs that belong to an app as
// Links.RewriteURL does: the arguments of url(…), unquoted or quoted, and
// the strings of @import rules. Comments and other strings are copied
// unchanged, and so is everything else, byte for byte.
//
// A CSSRewriter reads the style sheet byte by byte the way the CSS
// tokenizer does, far enough to tell comments, strings, escapes and
// url( tokens apart; escapes in names are decoded, so u\72l( is url( too.
// It writes every byte on as soon as its meaning is known; it holds back
// only the first bytes of a URL until it can tell whether to rewrite it, a
// few dozen at most, so memory use does not depend on the style sheet. A
// URL with a backslash escape among the bytes that decide is left
// unchanged. The strings of image-set() are not rewritten.
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
	cssEscape                       // in an escape in a name
	cssSlash                        // after "/": a comment may start
	cssComment                      // in a comment
	cssCommentStar                  // after "*" in a comment
	cssString                       // in a string that is not a URL
	cssStringEscape                 // in an escape in a string; must follow cssString
	cssU                            // in a name at the start of a token that may be "url"
	cssAt                           // after "@", and maybe part of "import"
	cssImport                       // after "@import": a string here is a URL
	cssURLStart                     // after "url(", before its argument
	cssLook                         // at the start of a URL, or in its first bytes
	cssURL                          // in the rest of a URL
	cssURLEscape                    // in an escape in a URL; must follow cssURL
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
	n     int      // how much of "url" or "import" has been read
	prev  byte     // the last character read between tokens
	inEsc bool     // in cssU, in an escape
	hex   int      // the number of hex digits read in an escape
	val   int32    // their value, at most 0x110000
	cr    bool     // a CR ended an escape: a LF right after it belongs to it
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
	return c == ')' || ascii.IsSpace(c) || c == '"' || c == '\'' || c == '('
}

// skip returns the index of the first byte from p[i] on that can change
// the state, which is not a URL's first bytes.
func (s *cssScanner) skip(p []byte, i int) int {
	if s.cr {
		return i
	}
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
	if s.cr {
		s.cr = false
		if c == '\n' {
			return false
		}
	}
	switch s.state {
	case cssNormal:
		switch {
		case (c == 'u' || c == 'U' || c == '\\') && !continuesToken(s.prev):
			s.state, s.n, s.inEsc = cssU, 0, false
			return s.step(c, decoded)
		case c == '@':
			s.state, s.n = cssAt, 0
		case c == '/':
			s.state, s.ret = cssSlash, cssNormal
		case c == '"' || c == '\'':
			s.state, s.quote = cssString, c
		case c == '\\':
			s.state, s.hex, s.val = cssEscape, 0, 0
		}
		s.prev = c
	case cssEscape:
		if s.hex == 0 && isNewline(c) {
			// Not an escape: the "\" stood for itself.
			s.state, s.prev = cssNormal, '\\'
			return s.step(c, decoded)
		}
		if end, again := s.escape(c); end {
			// The escaped character is part of a name, whatever it is.
			s.state, s.prev = cssNormal, 'a'
			if again {
				return s.step(c, decoded)
			}
		}
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
		switch {
		case c == '\\':
			s.state++ // cssStringEscape or cssURLEscape
			s.hex, s.val = 0, 0
		case s.quote == 0 && c == ')',
			s.quote != 0 && (c == s.quote || isNewline(c)):
			// The end, or for a newline in a string a bad string.
			s.state, s.prev = cssNormal, c
		}
	case cssStringEscape, cssURLEscape:
		// "\" and a newline continue a string on the next line; in an
		// unquoted URL they make a bad URL, which ends at ")" too.
		if end, again := s.escape(c); end {
			s.state--
			if again {
				return s.step(c, decoded)
			}
		}
	case cssU:
		return s.urlName(c, decoded)
	case cssAt:
		if s.n < 6 && ascii.Lower(c) == "import"[s.n] {
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
		case ascii.IsSpace(c):
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
		case ascii.IsSpace(c):
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

// urlName reads c in a name at the start of a token, of which s.n
// characters match "url" so far, escapes decoded: u\72l( is url( too.
func (s *cssScanner) urlName(c byte, decoded bool) bool {
	if s.inEsc {
		if s.hex == 0 && isNewline(c) {
			// Not an escape: the name ends before the "\".
			s.inEsc = false
			s.state, s.prev = cssNormal, '\\'
			return s.step(c, decoded)
		}
		end, again := s.escape(c)
		if !end {
			return false
		}
		s.inEsc = false
		var ch byte = symOpaque
		switch {
		case s.hex == 0 && c < 0x80:
			ch = c
		case s.hex > 0 && 0 < s.val && s.val < 0x80:
			ch = byte(s.val)
		}
		if s.n >= 3 || ascii.Lower(ch) != "url"[s.n] {
			s.state, s.prev = cssNormal, 'a' // some other name
		} else {
			s.n++
		}
		if again {
			return s.step(c, decoded)
		}
		return false
	}
	switch {
	case c == '\\':
		s.inEsc, s.hex, s.val = true, 0, 0
		return false
	case s.n == 3 && c == '(':
		s.state = cssURLStart
		return false
	case s.n < 3 && ascii.Lower(c) == "url"[s.n]:
		s.n++
		return false
	}
	// Some other name, or "url" without "(": read on.
	s.state, s.prev = cssNormal, 'a'
	return s.step(c, decoded)
}

// escape reads c in an escape, after its "\" and s.hex hex digits of
// value s.val: up to six hex digits and a whitespace, or any one other
// character. It reports whether the escape ends, and if so whether
// before c, which is then to be read again.
func (s *cssScanner) escape(c byte) (end, again bool) {
	switch {
	case ascii.IsHex(c) && s.hex < 6:
		s.hex++
		s.val = min(s.val*16+int32(ascii.Unhex(c)), 0x110000)
		return false, false
	case s.hex == 0, ascii.IsSpace(c):
		s.cr = c == '\r'
		return true, false
	}
	return true, true
}

// isNewline reports whether c is a newline as CSS defines it.
func isNewline(c byte) bool { return c == '\n' || c == '\r' || c == '\f' }

// continuesToken reports whether a "u" after prev would be part of the
// same token as prev, so not the start of "url(".
func continuesToken(prev byte) bool {
	return ascii.IsAlnum(prev) || prev == '-' || prev == '_' || prev >= 0x80 || prev == '\\' || prev == '@' || prev == '#'
}
