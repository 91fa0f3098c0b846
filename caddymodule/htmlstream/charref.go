package htmlstream

import "github.com/helpdeskapps/gateway/caddymodule/internal/ascii"

// symOpaque stands for any character a rewriter does not look for: a
// non-ASCII character, or the text of something that looked like a
// character reference but was not one. The rewriters take it for a
// letter, a character that may be part of a CSS name or of a URL.
const symOpaque = 0x80

// charRef reads an HTML character reference in an attribute value, byte
// by byte, the way the HTML tokenizer does, far enough to tell which ASCII
// character, if any, it stands for. It holds back no bytes: they are
// copied on as they come.
type charRef struct {
	state refState
	n     int   // the number of name bytes or digits read
	value int32 // the value of the digits read, at most 0x110000
	name  [longestASCIIRef]byte
}

// refState is where a charRef is in a character reference.
type refState uint8

const (
	refNone refState = iota // not in a reference
	refAmp                  // after "&"
	refHash                 // after "&#"
	refX                    // after "&#x"
	refDec                  // in the digits of "&#…"
	refHex                  // in the digits of "&#x…"
	refName                 // in the name of "&…"
)

// active reports whether a reference is being read.
func (r *charRef) active() bool { return r.state != refNone }

// begin starts a reference, at its "&".
func (r *charRef) begin() {
	r.state, r.n, r.value = refAmp, 0, 0
}

// feed reads c, the next byte of the reference. When the reference is
// complete, it returns done and sym, the character the reference stands
// for, which is "&" when it was not a reference at all and symOpaque when
// it is not ASCII, and again when c itself is not part of the reference
// and must be read again.
func (r *charRef) feed(c byte) (sym byte, done, again bool) {
	switch r.state {
	case refAmp:
		switch {
		case c == '#':
			r.state = refHash
			return 0, false, false
		case ascii.IsAlnum(c):
			r.state = refName
			return r.feed(c)
		}
		return r.end('&', true)
	case refHash:
		switch {
		case c == 'x' || c == 'X':
			r.state = refX
			return 0, false, false
		case ascii.IsDigit(c):
			r.state = refDec
			return r.feed(c)
		}
		return r.end(symOpaque, true) // "&#" is text
	case refX:
		if ascii.IsHex(c) {
			r.state = refHex
			return r.feed(c)
		}
		return r.end(symOpaque, true) // "&#x" is text
	case refDec, refHex:
		switch {
		case r.state == refDec && ascii.IsDigit(c):
			r.value = min(r.value*10+int32(c-'0'), 0x110000)
			return 0, false, false
		case r.state == refHex && ascii.IsHex(c):
			r.value = min(r.value*16+int32(ascii.Unhex(c)), 0x110000)
			return 0, false, false
		}
		// The semicolon may be missing. Zero, surrogates and too large
		// values become U+FFFD, 0x80 to 0x9F are read as windows-1252:
		// only 1 to 0x7F stand for ASCII.
		sym = symOpaque
		if 0 < r.value && r.value < 0x80 {
			sym = byte(r.value)
		}
		return r.end(sym, c != ';')
	case refName:
		if ascii.IsAlnum(c) {
			if r.n < len(r.name) {
				r.name[r.n] = c
			}
			r.n++
			return 0, false, false
		}
		sym = symOpaque
		if r.n <= len(r.name) {
			name := r.name[:r.n]
			switch {
			case c == ';':
				if s, ok := asciiRefs[string(name)]; ok {
					sym = s
				}
			case c != '=':
				// Only a few names may leave out the semicolon; in an
				// attribute, not when "=" follows.
				switch string(name) {
				case "amp", "AMP":
					sym = '&'
				case "quot", "QUOT":
					sym = '"'
				case "lt", "LT":
					sym = '<'
				case "gt", "GT":
					sym = '>'
				}
			}
		}
		return r.end(sym, c != ';')
	}
	return 0, false, false
}

// end ends the reference.
func (r *charRef) end(sym byte, again bool) (byte, bool, bool) {
	r.state = refNone
	return sym, true, again
}

// longestASCIIRef is the length of the longest name in asciiRefs.
const longestASCIIRef = len("DiacriticalGrave")

// asciiRefs maps the names of the named character references that stand
// for a single ASCII character, without their semicolon, to that
// character. The others stand for non-ASCII characters, or for two
// characters the last of which is not ASCII, except fjlig, which is "fj";
// TestASCIIRefs checks this against the html package's table.
var asciiRefs = map[string]byte{
	"Tab": '\t', "NewLine": '\n',
	"excl": '!', "quot": '"', "QUOT": '"', "num": '#', "dollar": '$', "percnt": '%',
	"amp": '&', "AMP": '&', "apos": '\'', "lpar": '(', "rpar": ')', "ast": '*',
	"midast": '*', "plus": '+', "comma": ',', "period": '.', "sol": '/',
	"colon": ':', "semi": ';', "lt": '<', "LT": '<', "equals": '=', "gt": '>',
	"GT": '>', "quest": '?', "commat": '@', "lsqb": '[', "lbrack": '[',
	"bsol": '\\', "rsqb": ']', "rbrack": ']', "Hat": '^', "lowbar": '_',
	"UnderBar": '_', "grave": '`', "DiacriticalGrave": '`', "lcub": '{',
	"lbrace": '{', "verbar": '|', "vert": '|', "VerticalLine": '|',
	"rcub": '}', "rbrace": '}',
}
