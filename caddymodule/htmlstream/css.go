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
// back until their meaning is known count as written. It writes on as
// HTMLRewriter's Write does.
func (r *CSSRewriter) Write(p []byte) (int, error) {
	if r.out.err != nil {
		return 0, r.out.err
	}
	r.out.begin()
	r.css.write(p)
	r.out.release()
	if r.out.err != nil {
		return 0, r.out.err
	}
	return len(p), nil
}

// Flush writes on all it can, and returns the underlying writer's error,
// if any: all that is held back is the start of a URL that may or may not
// be rewritten, which cannot be written before the bytes that follow it.
// Flush does not flush the underlying writer.
func (r *CSSRewriter) Flush() error {
	r.out.end()
	return r.out.err
}

// Close writes what is held back, rewritten if the style sheet ends
// where a URL would, and does not close the underlying writer. Nothing is
// written to a closed CSSRewriter.
func (r *CSSRewriter) Close() error {
	r.out.begin()
	r.css.end(true)
	r.out.end()
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
	// The URL's first bytes stop before any escape or reference, which
	// lookEnd ends them at, so decide need not look for any.
	s.url.esc = 0
}

// end ends the CSS: a URL being read ends there if complete, or is left
// as it is.
func (s *cssScanner) end(complete bool) {
	if s.state == cssLook {
		s.url.finish(s.out, complete)
	}
	s.reset(s.attr)
}

// Byte classes for the scanning loops of a cssScanner, which stop at the
// first byte of any class of a mask: the bytes that can change the state,
// or end the first bytes of a URL.
const (
	ccStart     uint16 = 1 << iota // u U @ /: may start a URL, an at-rule or a comment
	ccU                            // u U
	ccName                         // continues a token: see continuesToken
	ccAmp                          // &: a character reference in an attribute
	ccBackslash                    // \
	ccNewline                      // \n \r \f
	ccBlank                        // space, tab
	ccDQuote                       // "
	ccSQuote                       // '
	ccOpen                         // (
	ccClose                        // )
)

// cssClass holds the classes of every byte.
var cssClass = func() (t [256]uint16) {
	for c := range 256 {
		if continuesToken(byte(c)) {
			t[c] |= ccName
		}
	}
	for _, c := range []byte("uU@/") {
		t[c] |= ccStart
	}
	t['u'] |= ccU
	t['U'] |= ccU
	t['&'] |= ccAmp
	t['\\'] |= ccBackslash
	t['\n'] |= ccNewline
	t['\r'] |= ccNewline
	t['\f'] |= ccNewline
	t[' '] |= ccBlank
	t['\t'] |= ccBlank
	t['"'] |= ccDQuote
	t['\''] |= ccSQuote
	t['('] |= ccOpen
	t[')'] |= ccClose
	return t
}()

// ccBetween are the bytes that matter between tokens.
const ccBetween = ccStart | ccBackslash | ccDQuote | ccSQuote

// quoteClass returns the class of q, a quote, or 0 if q is 0.
func quoteClass(q byte) uint16 {
	switch q {
	case '"':
		return ccDQuote
	case '\'':
		return ccSQuote
	}
	return 0
}

// refStop returns ccAmp in an attribute value, where "&" starts a
// character reference, or else 0.
func (s *cssScanner) refStop() uint16 {
	if s.attr {
		return ccAmp
	}
	return 0
}

// lookScan is the most bytes cssScanner.write looks at ahead for the end
// of a URL.
const lookScan = 256

// write reads p, the next bytes of the CSS.
func (s *cssScanner) write(p []byte) {
	start := 0 // p[start:i] is to be written
	for i := 0; i < len(p); {
		if s.attr && s.ref.active() {
			sym, done, again := s.ref.feed(p[i])
			if !again {
				i++
			}
			if done {
				s.step(sym, true)
			}
			continue
		}
		if s.state == cssLook {
			j := s.lookEnd(p, i)
			end := lookMore
			if j < len(p) && j-i < lookScan {
				end = lookComplete
				if p[j] == '&' || p[j] == '\\' {
					end = lookEscape
				}
			}
			n, left, done := s.url.take(s.out, p[start:j], i-start, end)
			i += n
			start = i - left
			if done {
				s.state = cssURL
			}
			continue
		}
		if i = s.skip(p, i); i == len(p) || s.state == cssLook {
			continue
		}
		c := p[i]
		if c == '&' && s.attr {
			s.ref.begin()
			i++
			continue
		}
		if s.step(c, false) {
			continue // a URL starts at c
		}
		i++
	}
	s.out.write(p[start:])
}

// lookEnd returns the index of the first byte from p[i] on, and at most
// lookScan bytes on, that ends the first bytes of a URL: a byte that ends
// the URL, or that starts an escape or a character reference, which the
// rest of the scanner is to read.
func (s *cssScanner) lookEnd(p []byte, i int) int {
	stop := ccBackslash | s.refStop()
	if s.quote != 0 {
		stop |= quoteClass(s.quote) | ccNewline
	} else {
		stop |= ccClose | ccOpen | ccBlank | ccNewline | ccDQuote | ccSQuote
	}
	p = p[:min(len(p), i+lookScan)]
	for i < len(p) && cssClass[p[i]]&stop == 0 {
		i++
	}
	return i
}

// skip reads p from p[i] on as far as it can without step: the bytes that
// cannot change the state, and the sequences jump reads. It returns the
// index of the next byte for step to read, of the first bytes of a URL,
// or of a character reference in an attribute value; or len(p).
func (s *cssScanner) skip(p []byte, i int) int {
	for i < len(p) && !s.cr {
		switch s.state {
		case cssNormal:
			i = s.skipBetween(p, i)
		case cssComment:
			k := bytes.IndexByte(p[i:], '*')
			if k < 0 {
				k = len(p) - i
			}
			if s.attr {
				if a := bytes.IndexByte(p[i:i+k], '&'); a >= 0 {
					k = a
				}
			}
			i += k
		case cssString, cssURL:
			stop := ccBackslash | s.refStop()
			if s.quote == 0 {
				stop |= ccClose
			} else {
				stop |= quoteClass(s.quote) | ccNewline
			}
			for i < len(p) && cssClass[p[i]]&stop == 0 {
				i++
			}
		case cssURLStart:
			for i < len(p) && ascii.IsSpace(p[i]) {
				i++
			}
		default:
			return i
		}
		if i == len(p) {
			break
		}
		state := s.state
		j := s.jump(p, i)
		if j == i && s.state == state {
			break
		}
		i = j
	}
	return i
}

// jump reads, at p[i], one of the few sequences of bytes that come up
// again and again, which step would read the same way one byte at a time:
// "url(" at the start of a token, and the quote or first byte of its URL;
// the start or end of a comment; a quote that starts or ends a string; the
// end of a URL; an escape in a string or URL; and a "/" that does not
// start a comment. It returns the index of the byte after the sequence, or
// i if there is none there. At the first byte of an unquoted URL, it moves
// to cssLook and returns that byte's index. In an attribute value, "&" may
// stand for any character: no byte jump reads or looks at to decide is
// "&" then.
func (s *cssScanner) jump(p []byte, i int) int {
	c := p[i]
	switch s.state {
	case cssNormal:
		switch {
		case c == '"' || c == '\'':
			s.state, s.quote, s.prev = cssString, c, c
			return i + 1
		case c == '/' && i+1 < len(p) && p[i+1] != '&':
			if p[i+1] == '*' {
				s.state, s.ret, s.prev = cssComment, cssNormal, '/'
				return i + 2
			}
			s.ret, s.prev = cssNormal, '/'
			return i + 1
		case c|0x20 == 'u' && i+3 < len(p) && !continuesToken(s.prev) &&
			p[i+1]|0x20 == 'r' && p[i+2]|0x20 == 'l' && p[i+3] == '(':
			s.state, s.n, s.inEsc = cssURLStart, 3, false
			if i+4 < len(p) && !ascii.IsSpace(p[i+4]) {
				return s.urlStart(p, i+4)
			}
			return i + 4
		}
	case cssComment:
		if c == '*' && i+1 < len(p) && p[i+1] == '/' {
			s.state, s.prev = s.ret, ' '
			return i + 2
		}
	case cssString, cssURL:
		switch {
		case s.quote != 0 && c == s.quote || s.quote == 0 && c == ')':
			s.state, s.prev = cssNormal, c
			return i + 1
		case c == '\\':
			return s.jumpEscape(p, i)
		}
	case cssURLStart:
		return s.urlStart(p, i)
	}
	return i
}

// urlStart is jump in cssURLStart, at p[i], which is not whitespace.
func (s *cssScanner) urlStart(p []byte, i int) int {
	switch c := p[i]; {
	case c == '"' || c == '\'':
		s.state, s.quote = cssLook, c
		return i + 1
	case c == ')':
		s.state, s.prev = cssNormal, c
		return i + 1
	case c != '&' || !s.attr:
		s.state, s.quote = cssLook, 0
	}
	return i
}

// jumpEscape is jump at p[i], the "\" of an escape in a string or URL:
// it returns the index of the byte after the escape when the bytes that
// end it are in p and need no more than a look, or else i. The value of
// the escape does not matter there.
func (s *cssScanner) jumpEscape(p []byte, i int) int {
	k := i + 1
	for k < len(p) && k <= i+6 && ascii.IsHex(p[k]) {
		k++
	}
	switch {
	case k == len(p) || p[k] == '\r' || p[k] == '&' && s.attr:
		return i
	case k == i+1:
		return k + 1 // any one other character
	case ascii.IsSpace(p[k]):
		return k + 1 // hex digits and the whitespace that ends them
	}
	return k
}

// skipBetween is skip between tokens, where most bytes are read four at a
// time: only those of betweenStops matter, and of them a "u" only at the
// start of a name. The last byte it skips is the new prev.
func (s *cssScanner) skipBetween(p []byte, i int) int {
	stops := &betweenStops
	if s.attr {
		stops = &betweenStopsAttr
	}
	j := i
scan:
	for j < len(p) {
		for ; j+4 <= len(p); j += 4 {
			q := p[j : j+4 : j+4]
			if stops[q[0]]|stops[q[1]]|stops[q[2]]|stops[q[3]] != 0 {
				break
			}
		}
		for ; j < len(p); j++ {
			c := p[j]
			if stops[c] == 0 {
				continue
			}
			prev := s.prev
			if j > i {
				prev = p[j-1]
			}
			if cssClass[c]&ccU == 0 || cssClass[prev]&ccName == 0 {
				break scan
			}
			// A "u" in the middle of a name, which is most of them.
			j++
			continue scan
		}
	}
	if j > i {
		s.prev = p[j-1]
	}
	return j
}

// betweenStops are the bytes that matter between tokens, as 1s that can be
// or'ed together; betweenStopsAttr adds "&", in an attribute value.
var betweenStops, betweenStopsAttr = func() (t, a [256]uint8) {
	for c := range 256 {
		if cssClass[c]&ccBetween != 0 {
			t[c], a[c] = 1, 1
		}
	}
	a['&'] = 1
	return t, a
}()

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
