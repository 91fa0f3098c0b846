package htmlstream

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/bits"

	"github.com/helpdeskapps/gateway/caddymodule/internal/ascii"
)

// HTMLRewriter is an io.WriteCloser that copies an HTML document to an
// underlying writer, rewriting the URLs that belong to an app as
// Links.RewriteURL does, so that an app written for the root of its own
// origin keeps working under its prefix. Everything else is copied byte
// for byte.
//
// It rewrites, in start tags and whatever the element, the attributes
// href, src, action, formaction, poster, data, cite, background and
// xlink:href; each URL of srcset and imagesrcset; the url(…) arguments in
// style attributes; and the URL in the content of a
// <meta http-equiv="refresh">. The text of style elements is rewritten as
// CSSRewriter does.
//
// It reads the document byte by byte the way the HTML tokenizer does, far
// enough to tell tags, attributes, comments, doctypes, processing
// instructions, CDATA sections and the text of raw text elements apart:
// nothing in comments, in script (including its escaped "<!--" forms),
// textarea, title, xmp, iframe, noembed, noframes or plaintext text, nor
// in end tags is ever rewritten. Bytes are written on as soon as their
// meaning is known. Held back are only the first bytes of a URL, until it
// is known whether it is rewritten: a few dozen at most, the longest
// origin and the longer of Prefix and the Keep prefixes, plus 16; "</style"
// at the end of a Write; and a meta element from its content attribute to
// its end, at most 4 KB, as its http-equiv may come after its content: a
// longer one is copied unchanged. So memory use does not depend on the
// document, and a data: URL of many megabytes streams through.
//
// Attribute values are not decoded, so a URL spelled with character
// references where they matter, such as "&#47;x" or "/&#47;evil.example",
// is left unchanged; a reference later in the URL, such as the "&amp;" of
// a query, is copied like any other byte. In srcset and style values,
// where references can change where a URL starts and ends, they are read
// as the characters they stand for: style="background:
// url(&quot;/x.png&quot;)" is rewritten, though a URL whose end decides and
// is a reference, such as url(&quot;/&quot;), is not. srcdoc documents,
// JavaScript and URLs built by scripts are out of reach.
//
// The tree builder's view of the document is not modelled: a title or
// style element inside svg or math, where those are ordinary elements, is
// still read as raw text, so what it contains is not rewritten, or for
// style rewritten as CSS; select and noscript are read like other
// elements; and <![CDATA[…]]> is read as a section everywhere, as in svg
// and math, where in HTML content browsers read a bogus comment up to the
// first ">": a tag after that ">", inside what looks like a section, is not
// rewritten.
//
// An HTMLRewriter is not safe for concurrent use. The first error from the
// underlying writer is returned by every later call.
type HTMLRewriter struct {
	out   output
	url   urlLook
	css   cssScanner // for style elements and style attributes
	ref   charRef    // for srcset values
	state htmlState

	// The tag being read. The start of a name that goes on in the next
	// Write is kept as far as it fits, and its length counted.
	endTag   bool
	elem     element
	name     [len("plaintext")]byte
	nameLen  int
	attr     [len("imagesrcset")]byte
	attrLen  int
	attrKind attrKind // what the last attribute's name says of its value

	// The attribute value being read.
	kind  valueKind
	quote byte // '"', '\'' or 0 for an unquoted value
	sub   uint8
	comma bool // in srcset, the URL read so far ends with ","

	// Raw text and markup declarations.
	rawName string // the name of the end tag that ends the raw text
	pos     int    // how much of rawName, "script" or "[CDATA[" has been read
	cand    [len("</style")]byte
	candLen int   // the bytes of cand held back: maybe the end of a style element
	cstate  state // where in a comment, as the Injector has it

	// The meta element being read.
	equiv      uint8 // whether and how its http-equiv attribute was read
	equivPos   int   // how much of "refresh" the http-equiv value matches
	content    uint8 // whether and how its content attribute was read
	contentEnd int   // where the content attribute's value ends in what out holds
}

var _ io.WriteCloser = (*HTMLRewriter)(nil)

// htmlState is where an HTMLRewriter is in the document. The states
// follow those of the HTML tokenizer, keeping only what decides where
// tags, attribute values, comments and raw text end. Their order matters:
// those of text and tags, which markup reads, come first, up to
// hSelfClosing; and where scan steps from one to the next, hRaw and
// hScript are followed by their "<" states, and hScriptEsc and hScriptDbl
// by their "-", "--" and "<" states.
type htmlState uint8

const (
	hData               htmlState = iota // in text
	hTagOpen                             // after "<"
	hEndTagOpen                          // after "</"
	hTagName                             // in a tag name
	hBeforeAttrName                      // in a tag, between attributes
	hAttrName                            // in an attribute name
	hAfterAttrName                       // after an attribute name
	hBeforeAttrValue                     // after "="
	hValue                               // in an attribute value; quote says how it ends
	hAfterValue                          // after a quoted attribute value
	hSelfClosing                         // after "/" in a tag
	hMarkup                              // after "<!"
	hMarkupDash                          // after "<!-"
	hCDATAOpen                           // after "<![" and maybe part of "CDATA["
	hCDATA                               // in a CDATA section
	hCDATAEnd                            // after "]" or "]]" in a CDATA section
	hBogus                               // in a doctype, processing instruction or bogus comment
	hComment                             // in a comment; cstate says where
	hRaw                                 // in the text of a raw text or RCDATA element
	hRawLT                               // after "<" there
	hRawEnd                              // after "</" and part of rawName there
	hStyle                               // in the text of a style element
	hStyleEnd                            // after "<", "</" and part of "style" there, held in cand
	hScript                              // in the text of a script element
	hScriptLT                            // after "<" there
	hScriptEnd                           // after "</" and part of "script" there
	hScriptEscStart                      // after "<!" there
	hScriptEscStartDash                  // after "<!-" there
	hScriptEsc                           // in script text after "<!--"
	hScriptEscDash                       // after "-" there
	hScriptEscDashDash                   // after "--" there
	hScriptEscLT                         // after "<" there
	hScriptEscEnd                        // after "</" and part of "script" there
	hScriptDblStart                      // after "<" and part of "script" there
	hScriptDbl                           // in script text after "<!--" and "<script"
	hScriptDblDash                       // after "-" there
	hScriptDblDashDash                   // after "--" there
	hScriptDblLT                         // after "<" there
	hScriptDblEnd                        // after "</" and part of "script" there
	hPlaintext                           // in the text of plaintext, to the end
)

// element is what the name of a start tag tells.
type element uint8

const (
	elemOther element = iota
	elemMeta
	elemScript
	elemStyle
	elemRaw // title, textarea, xmp, iframe, noembed, noframes
	elemPlaintext
)

// attrKind is what an attribute's name says of its value.
type attrKind uint8

const (
	attrOther   attrKind = iota
	attrURL              // href, src, action, formaction, poster, data, cite, background, xlink:href
	attrSrcset           // srcset, imagesrcset
	attrStyle            // style
	attrContent          // content
	attrEquiv            // http-equiv
)

// valueKind is what an attribute value holds.
type valueKind uint8

const (
	kindNone    valueKind = iota // nothing to rewrite
	kindURL                      // a URL
	kindSrcset                   // image candidates: URLs and descriptors
	kindStyle                    // CSS declarations
	kindContent                  // the content of a meta element
	kindEquiv                    // the http-equiv of a meta element
)

// Sub-states of a URL value.
const (
	urlFirst uint8 = iota // in the first bytes of the URL
	urlRest               // in the rest of it
)

// Sub-states of a srcset value.
const (
	ssSep   uint8 = iota // before a URL
	ssLook               // in the first bytes of a URL
	ssURL                // in the rest of it
	ssDesc               // in descriptors
	ssParen              // in parentheses in descriptors
)

// Values of equiv: what the meta element's first http-equiv says.
const (
	equivUnseen  uint8 = iota // no http-equiv attribute yet
	equivRefresh              // "refresh"
	equivOther                // something else
)

// Values of content: how far the meta element's first content attribute
// has been read.
const (
	contentUnseen uint8 = iota // not yet
	contentStart               // its value starts: hold from here on
	contentHeld                // its value is being read, and held
	contentDone                // it has been read, or is not to be rewritten
)

// NewHTMLRewriter returns an HTMLRewriter that writes to w and rewrites
// the URLs that links says belong to the app. It keeps links, which must
// not be modified until the HTMLRewriter is closed.
func NewHTMLRewriter(w io.Writer, links *Links) *HTMLRewriter {
	r := new(HTMLRewriter)
	r.out.init(w)
	r.url.init(links)
	r.css.init(&r.out, &r.url)
	return r
}

// Write implements io.Writer. It returns len(p) on success: bytes held
// back until their meaning is known count as written. What it has
// rewritten it writes on in pieces of up to 32 KB, the rest at the next
// Flush or Close; an error of the underlying writer shows at the Write,
// Flush or Close that meets it, and at every one after.
func (r *HTMLRewriter) Write(p []byte) (int, error) {
	if r.out.err != nil {
		return 0, r.out.err
	}
	r.out.begin()
	r.scan(p)
	r.out.release()
	if r.out.err != nil {
		return 0, r.out.err
	}
	return len(p), nil
}

// Flush writes on all it can, and returns the underlying writer's error,
// if any: all that is held back is what cannot be written before the
// bytes that follow it, the start of a URL that may or may not be
// rewritten, "</sty" at the end of a style element's text, or a meta
// element whose http-equiv may still come. Flush does not flush the
// underlying writer.
func (r *HTMLRewriter) Flush() error {
	r.out.end()
	return r.out.err
}

// Close writes what is held back, and does not close the underlying
// writer. A document that ends in the middle of a tag ends without that
// tag, so what is held back of it is written unchanged; one that ends in
// the text of a style element ends that text. Nothing is written to a
// closed HTMLRewriter.
func (r *HTMLRewriter) Close() error {
	r.out.begin()
	switch r.state {
	case hValue:
		r.endValue(false)
	case hStyle, hStyleEnd:
		r.css.write(r.cand[:r.candLen])
		r.candLen = 0
		r.css.end(true)
	}
	if r.out.holding {
		r.out.write(r.out.stopHolding())
	}
	r.state = hPlaintext
	r.out.end()
	return r.out.err
}

// held returns how many bytes are held back.
func (r *HTMLRewriter) held() int {
	return r.url.held() + r.candLen + r.out.held()
}

// scan reads p, writing on everything but what it must hold back.
func (r *HTMLRewriter) scan(p []byte) {
	start := 0 // p[start:i] is to be written
	for i := 0; i < len(p); {
		if r.state <= hSelfClosing {
			i, start = r.markup(p, i, start)
			continue
		}
		c := p[i]
		switch r.state {
		case hMarkup:
			switch c {
			case '-':
				r.state = hMarkupDash
			case '[':
				r.state, r.pos = hCDATAOpen, 1
			default:
				r.state = hBogus
				continue
			}
		case hMarkupDash:
			if c != '-' {
				r.state = hBogus
				continue
			}
			r.state, r.cstate = hComment, stateCommentStart
		case hCDATAOpen:
			// CDATA sections are only recognized in svg and math; this
			// takes one anywhere for one, leaving more of the document
			// unchanged.
			if c != "[CDATA["[r.pos] {
				r.state = hBogus
				continue
			}
			if r.pos++; r.pos == len("[CDATA[") {
				r.state = hCDATA
			}
		case hCDATA:
			k := bytes.IndexByte(p[i:], ']')
			if k < 0 {
				i = len(p)
				continue
			}
			i += k
			r.state, r.pos = hCDATAEnd, 1
		case hCDATAEnd:
			switch {
			case c == ']':
				r.pos = min(r.pos+1, 2)
			case c == '>' && r.pos == 2:
				r.state = hData
			default:
				r.state = hCDATA
			}
		case hBogus:
			k := bytes.IndexByte(p[i:], '>')
			if k < 0 {
				i = len(p)
				continue
			}
			i += k
			r.state = hData
		case hComment:
			if r.cstate == stateComment {
				k := bytes.IndexByte(p[i:], '-')
				if k < 0 {
					i = len(p)
					continue
				}
				i += k
				c = '-'
			}
			if r.cstate = commentStep(r.cstate, c); r.cstate == stateData {
				r.state = hData
			}
		case hRaw, hScript:
			k := bytes.IndexByte(p[i:], '<')
			if k < 0 {
				i = len(p)
				continue
			}
			i += k
			r.state++ // hRawLT or hScriptLT
		case hRawLT:
			if c != '/' {
				r.state = hRaw
				continue
			}
			r.state, r.pos = hRawEnd, 0
		case hRawEnd, hScriptEnd, hScriptEscEnd:
			name, back := r.rawName, hRaw
			switch r.state {
			case hScriptEnd:
				name, back = "script", hScript
			case hScriptEscEnd:
				name, back = "script", hScriptEsc
			}
			switch {
			case r.pos < len(name) && ascii.Lower(c) == name[r.pos]:
				r.pos++
			case r.pos == len(name) && isTagEnd(c):
				r.startTag(true)
				r.state = hTagName
				continue
			default:
				r.state = back
				continue
			}
		case hStyle:
			k := bytes.IndexByte(p[i:], '<')
			if k < 0 {
				k = len(p) - i
			}
			r.out.write(p[start:i])
			r.css.write(p[i : i+k])
			i += k
			start = i
			if i < len(p) {
				r.cand[0], r.candLen = '<', 1
				r.state = hStyleEnd
				i++
				start = i
			}
			continue
		case hStyleEnd:
			n := r.candLen
			switch {
			case n == 1 && c == '/', n >= 2 && n < len(r.cand) && ascii.Lower(c) == "style"[n-2]:
				r.cand[n] = c
				r.candLen++
				i++
				start = i
			case n == len(r.cand) && isTagEnd(c):
				r.css.end(true)
				r.out.write(r.cand[:n])
				r.candLen = 0
				r.startTag(true)
				r.state = hTagName
			default:
				// Style text after all.
				r.css.write(r.cand[:n])
				r.candLen = 0
				r.state = hStyle
			}
			continue
		case hScriptLT:
			switch c {
			case '/':
				r.state, r.pos = hScriptEnd, 0
			case '!':
				r.state = hScriptEscStart
			default:
				r.state = hScript
				continue
			}
		case hScriptEscStart, hScriptEscStartDash:
			if c != '-' {
				r.state = hScript
				continue
			}
			if r.state == hScriptEscStart {
				r.state = hScriptEscStartDash
			} else {
				r.state = hScriptEscDashDash
			}
		case hScriptEsc, hScriptDbl:
			j := i
			for j < len(p) && p[j] != '-' && p[j] != '<' {
				j++
			}
			if i = j; i == len(p) {
				continue
			}
			if p[i] == '-' {
				r.state++ // hScriptEscDash or hScriptDblDash
			} else {
				r.state += 3 // hScriptEscLT or hScriptDblLT
			}
		case hScriptEscDash, hScriptEscDashDash, hScriptDblDash, hScriptDblDashDash:
			esc := r.state == hScriptEscDash || r.state == hScriptEscDashDash
			dashDash := r.state == hScriptEscDashDash || r.state == hScriptDblDashDash
			switch {
			case c == '-' && esc:
				r.state = hScriptEscDashDash
			case c == '-':
				r.state = hScriptDblDashDash
			case c == '<' && esc:
				r.state = hScriptEscLT
			case c == '<':
				r.state = hScriptDblLT
			case c == '>' && dashDash:
				r.state = hScript
			case esc:
				r.state = hScriptEsc
			default:
				r.state = hScriptDbl
			}
		case hScriptEscLT:
			switch {
			case c == '/':
				r.state, r.pos = hScriptEscEnd, 0
			case ascii.IsAlpha(c):
				r.state, r.pos = hScriptDblStart, 0
				continue
			default:
				r.state = hScriptEsc
				continue
			}
		case hScriptDblLT:
			if c != '/' {
				r.state = hScriptDbl
				continue
			}
			r.state, r.pos = hScriptDblEnd, 0
		case hScriptDblStart, hScriptDblEnd:
			// "<script" after "<!--" starts, "</script" ends, text in
			// which "</script>" does not end the element.
			opening := r.state == hScriptDblStart
			switch {
			case r.pos < len("script") && ascii.Lower(c) == "script"[r.pos]:
				r.pos++
			case isTagEnd(c) && (r.pos == len("script")) == opening:
				r.state = hScriptDbl
			case isTagEnd(c):
				r.state = hScriptEsc
			case opening:
				r.state = hScriptEsc
				continue
			default:
				r.state = hScriptDbl
				continue
			}
		case hPlaintext:
			i = len(p)
			continue
		}
		i++
	}
	r.out.write(p[start:])
}

// markup reads p from p[i] on as long as the state is one of those of
// text and tags, hData to hSelfClosing, and returns where it stopped, the
// end of p or the first byte of another state, and the new start of what
// is to be written. Each state is a label, which the states that can come
// before it go to, as the HTML standard's tokenizer "switches to" them;
// r.state is kept up to date on the way, for where markup stops. Each
// state reads as many bytes at once as it can.
func (r *HTMLRewriter) markup(p []byte, i, start int) (int, int) {
	var j int // the end of a name or value
	switch r.state {
	case hData:
		goto data
	case hTagOpen:
		goto tagOpen
	case hEndTagOpen:
		goto endTagOpen
	case hTagName:
		goto tagName
	case hBeforeAttrName, hAfterAttrName:
		goto beforeAttrName
	case hAttrName:
		j = i
		goto attrName
	case hBeforeAttrValue:
		goto beforeAttrValue
	case hValue:
		goto value
	case hAfterValue:
		goto afterValue
	case hSelfClosing:
		goto selfClosing
	}
	return i, start

data:
	r.state = hData
	if i == len(p) {
		return i, start
	}
	if p[i] != '<' { // tags often follow one another
		k := indexByte(p[i:], '<')
		if k < 0 {
			return len(p), start
		}
		i += k
	}
	i++
	r.state = hTagOpen
tagOpen:
	if i == len(p) {
		return i, start
	}
	switch c := p[i]; {
	case ascii.IsAlpha(c):
		r.startTag(false)
		goto tagName
	case c == '!':
		r.state = hMarkup
		return i + 1, start
	case c == '?':
		r.state = hBogus
		return i + 1, start
	case c != '/':
		goto data
	}
	i++
	r.state = hEndTagOpen
endTagOpen:
	if i == len(p) {
		return i, start
	}
	switch c := p[i]; {
	case ascii.IsAlpha(c):
		r.startTag(true)
	case c == '>':
		i++
		goto data
	default:
		r.state = hBogus
		return i, start
	}
tagName:
	r.state = hTagName
	j = i + indexIn(p[i:], &tagNameEnd)
	if j == len(p) {
		// The name goes on in the next Write.
		r.nameLen = keep(r.name[:], r.nameLen, p[i:])
		return j, start
	}
	if !r.endTag {
		name := p[i:j]
		if r.nameLen > 0 {
			r.nameLen = keep(r.name[:], r.nameLen, name)
			name = kept(r.name[:], r.nameLen)
		}
		if len(name) >= len("xmp") && len(name) <= len("plaintext") { // else none of nameEnd's
			r.nameEnd(name)
		}
	}
	switch i = j + 1; p[j] {
	case '>':
		i = j
		goto tagEnd
	case '/':
		goto selfClosing
	}
	r.state = hBeforeAttrName
beforeAttrName: // or after one, as r.state says
	for i < len(p) && spaceSet[p[i]] {
		i++
	}
	if i == len(p) {
		return i, start
	}
	switch c := p[i]; {
	case c == '/':
		i++
		goto selfClosing
	case c == '>':
		goto tagEnd
	case c == '=' && r.state == hAfterAttrName:
		i++
		goto beforeAttrValue
	}
	// A new attribute, whose name starts with p[i] even if it is "=".
	r.attrLen = 0
	r.state = hAttrName
	j = i + 1
attrName:
	j += indexIn(p[j:], &attrNameEnd)
	if j == len(p) {
		// The name goes on in the next Write.
		r.attrLen = keep(r.attr[:], r.attrLen, p[i:])
		return j, start
	}
	if !r.endTag {
		name := p[i:j]
		if r.attrLen > 0 {
			r.attrLen = keep(r.attr[:], r.attrLen, name)
			name = kept(r.attr[:], r.attrLen)
		}
		r.attrKind = attrKindOf(name)
	}
	switch i = j + 1; p[j] {
	case '=':
	case '>':
		i = j
		goto tagEnd
	case '/':
		goto selfClosing
	default:
		r.state = hAfterAttrName
		goto beforeAttrName
	}
beforeAttrValue:
	r.state = hBeforeAttrValue
	for i < len(p) && spaceSet[p[i]] {
		i++
	}
	if i == len(p) {
		return i, start
	}
	switch c := p[i]; c {
	case '>':
		goto tagEnd
	case '"', '\'':
		r.quote = c
		i++
	default:
		r.quote = 0
	}
	r.state, r.kind = hValue, kindNone
	if !r.endTag && r.attrKind != attrOther {
		r.beginValue()
	}
value:
	if i == len(p) {
		return i, start
	}
	if r.quote != 0 {
		if j = indexByte(p[i:], r.quote); j < 0 {
			j = len(p)
		} else {
			j += i
		}
	} else {
		j = i
		for j < len(p) && !unquotedEnd[p[j]] {
			j++
		}
	}
	switch r.kind {
	case kindNone:
	case kindURL: // the most common, read here rather than in value
		if r.sub == urlFirst {
			end := lookMore
			if j < len(p) {
				end = lookComplete
			}
			n, left, done := r.url.take(&r.out, p[start:j], i-start, end)
			if done {
				r.sub = urlRest
			}
			start = i + n - left
		}
	default:
		start = r.value(p, start, i, j)
	}
	if i = j; i == len(p) {
		return i, start
	}
	r.kind = kindNone
	if r.quote == 0 {
		r.state = hBeforeAttrName
		goto beforeAttrName // which reads p[i]
	}
	i++
	r.state = hAfterValue
afterValue:
	if i == len(p) {
		return i, start
	}
	switch c := p[i]; {
	case c == '/':
		i++
		goto selfClosing
	case c == '>':
		goto tagEnd
	case spaceSet[c]:
		i++
	}
	r.state = hBeforeAttrName
	goto beforeAttrName
selfClosing:
	r.state = hSelfClosing
	if i == len(p) {
		return i, start
	}
	if p[i] != '>' {
		r.state = hBeforeAttrName
		goto beforeAttrName
	}
tagEnd: // at the ">" that ends a tag, which for most tags is all there is to it
	if r.out.holding || !r.endTag && r.elem != elemOther {
		start = r.tagEnd(p, i, start)
		if r.state != hData {
			return i + 1, start
		}
	}
	i++
	goto data
}

// Sets of bytes for the scanning loops.
var (
	spaceSet    = byteSet("\t\n\f\r ")
	tagNameEnd  = byteSet("\t\n\f\r />")
	attrNameEnd = byteSet("\t\n\f\r />=")
	unquotedEnd = byteSet("\t\n\f\r >")

	srcsetSep      = byteSet("\t\n\f\r ,") // between image candidates
	srcsetURLEnd   = byteSet("\t\n\f\r &") // the end of a URL, or a reference in it
	srcsetDescStop = byteSet(",(&")        // what matters in descriptors
)

// indexIn returns the index of the first byte of p in set, or len(p).
func indexIn(p []byte, set *[256]bool) int {
	for i, c := range p {
		if set[c] {
			return i
		}
	}
	return len(p)
}

// indexByte returns the index of the first c in p, or -1, as
// bytes.IndexByte does. It looks at the first 16 bytes itself, eight at a
// time: most runs of text, names and values between the bytes the
// rewriters look for are short, and for them the call and setup of
// bytes.IndexByte cost more than the search.
func indexByte(p []byte, c byte) int {
	if len(p) < 8 {
		for k, b := range p {
			if b == c {
				return k
			}
		}
		return -1
	}
	cs := lsb * uint64(c)
	if m := zeroBytes(binary.LittleEndian.Uint64(p) ^ cs); m != 0 {
		return bits.TrailingZeros64(m) / 8
	}
	if len(p) <= 16 {
		// The last eight bytes, which may overlap the first.
		if m := zeroBytes(binary.LittleEndian.Uint64(p[len(p)-8:]) ^ cs); m != 0 {
			return len(p) - 8 + bits.TrailingZeros64(m)/8
		}
		return -1
	}
	if m := zeroBytes(binary.LittleEndian.Uint64(p[8:]) ^ cs); m != 0 {
		return 8 + bits.TrailingZeros64(m)/8
	}
	if k := bytes.IndexByte(p[16:], c); k >= 0 {
		return 16 + k
	}
	return -1
}

// lsb has the lowest bit of every byte of a word set.
const lsb = 0x0101010101010101

// zeroBytes returns a word whose lowest set bit is the high bit of the
// lowest zero byte of x, or 0 if no byte of x is zero. Bits above that one
// may be set whether their bytes are zero or not.
func zeroBytes(x uint64) uint64 {
	return (x - lsb) &^ x & (lsb << 7)
}

// byteSet returns the set of the bytes of s.
func byteSet(s string) (set [256]bool) {
	for i := 0; i < len(s); i++ {
		set[s[i]] = true
	}
	return set
}

// isTagEnd reports whether c ends a tag name.
func isTagEnd(c byte) bool { return tagNameEnd[c] }

// startTag gets ready for a start or end tag.
func (r *HTMLRewriter) startTag(end bool) {
	r.endTag, r.nameLen, r.elem = end, 0, elemOther
	r.equiv, r.content = equivUnseen, contentUnseen
}

// nameEnd handles the end of a start tag's name. Names are told apart by
// their length first, so that most are done with after one comparison.
func (r *HTMLRewriter) nameEnd(name []byte) {
	switch len(name) {
	case 3:
		if isName(name, "xmp") {
			r.elem, r.rawName = elemRaw, "xmp"
		}
	case 4:
		if isName(name, "meta") {
			r.elem = elemMeta
		}
	case 5:
		if isName(name, "style") {
			r.elem = elemStyle
		} else if isName(name, "title") {
			r.elem, r.rawName = elemRaw, "title"
		}
	case 6:
		if isName(name, "script") {
			r.elem = elemScript
		} else if isName(name, "iframe") {
			r.elem, r.rawName = elemRaw, "iframe"
		}
	case 7:
		if isName(name, "noembed") {
			r.elem, r.rawName = elemRaw, "noembed"
		}
	case 8:
		if isName(name, "textarea") {
			r.elem, r.rawName = elemRaw, "textarea"
		} else if isName(name, "noframes") {
			r.elem, r.rawName = elemRaw, "noframes"
		}
	case 9:
		if isName(name, "plaintext") {
			r.elem = elemPlaintext
		}
	}
}

// attrKindOf returns what an attribute's name says of its value. Names
// are told apart by their length first, as in nameEnd.
func attrKindOf(name []byte) attrKind {
	switch len(name) {
	case 3:
		if isName(name, "src") {
			return attrURL
		}
	case 4:
		if isName(name, "href") || isName(name, "data") || isName(name, "cite") {
			return attrURL
		}
	case 5:
		if isName(name, "style") {
			return attrStyle
		}
	case 6:
		if isName(name, "action") || isName(name, "poster") {
			return attrURL
		}
		if isName(name, "srcset") {
			return attrSrcset
		}
	case 7:
		if isName(name, "content") {
			return attrContent
		}
	case 10:
		if isName(name, "formaction") || isName(name, "background") || isName(name, "xlink:href") {
			return attrURL
		}
		if isName(name, "http-equiv") {
			return attrEquiv
		}
	case 11:
		if isName(name, "imagesrcset") {
			return attrSrcset
		}
	}
	return attrOther
}

// isName reports whether name, which is as long as lower, is lower
// ignoring the case of ASCII letters.
func isName(name []byte, lower string) bool {
	name = name[:len(lower)]
	for k := range len(lower) {
		if ascii.Lower(name[k]) != lower[k] {
			return false
		}
	}
	return true
}

// keep adds b to the n bytes of a name kept in buf, as far as they fit,
// and returns the name's new length.
func keep(buf []byte, n int, b []byte) int {
	if n < len(buf) {
		copy(buf[n:], b)
	}
	return n + len(b)
}

// kept returns the name of length n kept in buf, or nil if it did not fit.
func kept(buf []byte, n int) []byte {
	if n > len(buf) {
		return nil
	}
	return buf[:n]
}

// tagEnd handles the ">" at p[i] that ends a tag, and returns the new
// start of what is to be written.
func (r *HTMLRewriter) tagEnd(p []byte, i, start int) int {
	if r.out.holding {
		r.out.write(p[start:i])
		start = i
		r.writeMeta()
	}
	r.state = hData
	if r.endTag {
		return start
	}
	switch r.elem {
	case elemScript:
		r.state = hScript
	case elemStyle:
		r.state = hStyle
		r.css.reset(false)
	case elemRaw:
		r.state = hRaw
	case elemPlaintext:
		r.state = hPlaintext
	}
	return start
}

// beginValue gets ready for the value of an attribute of a start tag
// whose name says something of it.
func (r *HTMLRewriter) beginValue() {
	switch r.attrKind {
	case attrURL:
		r.kind, r.sub = kindURL, urlFirst
		r.url.reset()
		r.url.esc = escRef
	case attrSrcset:
		r.kind, r.sub = kindSrcset, ssSep
		r.ref.state = refNone
		r.url.reset()
		r.url.esc = 0 // the first bytes of a URL stop before any "&"
	case attrStyle:
		r.kind = kindStyle
		r.css.reset(true)
	case attrContent:
		if r.elem == elemMeta && r.content == contentUnseen {
			r.content = contentDone
			if r.equiv != equivOther {
				r.kind, r.content = kindContent, contentStart
			}
		}
	case attrEquiv:
		if r.elem == elemMeta && r.equiv == equivUnseen {
			r.kind, r.equivPos = kindEquiv, 0
		}
	}
}

// value reads p[i:j], the next bytes of an attribute value to rewrite
// that is not a URL, which end the value if j < len(p); p[start:i] are yet
// to be written. It returns the new start of what is to be written.
func (r *HTMLRewriter) value(p []byte, start, i, j int) int {
	r.out.write(p[start:i])
	v, complete := p[i:j], j < len(p)
	switch r.kind {
	case kindSrcset:
		r.srcset(v, complete)
	case kindStyle:
		r.css.write(v)
		if complete {
			r.css.end(true)
		}
	case kindContent:
		if r.content == contentStart {
			r.out.startHolding()
			r.content = contentHeld
		}
		r.out.write(v)
		if complete {
			r.content, r.contentEnd = contentDone, r.out.held()
		}
	case kindEquiv:
		for _, c := range v {
			if r.equivPos < len("refresh") && ascii.Lower(c) == "refresh"[r.equivPos] {
				r.equivPos++
			} else {
				r.equivPos = len("refresh") + 1
			}
		}
		r.out.write(v)
		if complete {
			r.equiv = equivOther
			if r.equivPos == len("refresh") {
				r.equiv = equivRefresh
			}
		}
	}
	return j
}

// endValue ends an attribute value at the end of the document, where
// the tag it is in is dropped: what is held back is written unchanged.
func (r *HTMLRewriter) endValue(complete bool) {
	switch r.kind {
	case kindURL:
		if r.sub == urlFirst {
			r.url.finish(&r.out, complete)
		}
	case kindSrcset:
		if r.sub == ssLook {
			r.url.finish(&r.out, complete)
		}
	case kindStyle:
		r.css.end(complete)
	}
	r.kind = kindNone
}

// srcset reads v, the next bytes of a srcset value: image candidates
// separated by commas, each a URL and maybe descriptors. A URL runs to
// the next whitespace; commas at its end end the candidate.
func (r *HTMLRewriter) srcset(v []byte, complete bool) {
	start := 0 // v[start:i] is to be written
	for i := 0; i < len(v); {
		c := v[i]
		if r.ref.active() {
			sym, done, again := r.ref.feed(c)
			if !again {
				i++
			}
			if done {
				r.srcsetStep(sym, true)
			}
			continue
		}
		if r.sub == ssLook {
			j := i + indexIn(v[i:min(len(v), i+lookScan)], &srcsetURLEnd)
			end := lookMore
			switch {
			case j-i == lookScan:
			case j < len(v) && v[j] == '&':
				end = lookEscape
			case j < len(v) || complete:
				end = lookComplete
			}
			n, left, done := r.url.take(&r.out, v[start:j], i-start, end)
			if n > 0 {
				r.comma = v[i+n-1] == ','
			}
			i += n
			start = i - left
			if done {
				r.sub = ssURL
			}
			continue
		}
		if i = r.srcsetSkip(v, i); i == len(v) {
			break
		}
		c = v[i]
		if c == '&' {
			r.ref.begin()
			i++
			continue
		}
		if r.srcsetStep(c, false) {
			continue // a URL starts at c
		}
		i++
	}
	r.out.write(v[start:])
	if complete && r.sub == ssLook {
		// The value ends where the previous Write did.
		r.url.finish(&r.out, true)
	}
}

// srcsetSkip returns the index of the first byte of v from v[i] on that
// srcsetStep does more with than read it, or that starts a character
// reference.
func (r *HTMLRewriter) srcsetSkip(v []byte, i int) int {
	switch r.sub {
	case ssSep:
		for i < len(v) && srcsetSep[v[i]] {
			i++
		}
	case ssURL:
		j := i
		for j < len(v) && !srcsetURLEnd[v[j]] {
			j++
		}
		if j > i {
			r.comma = v[j-1] == ','
		}
		return j
	case ssDesc:
		for i < len(v) && !srcsetDescStop[v[i]] {
			i++
		}
	case ssParen:
		for i < len(v) && v[i] != ')' && v[i] != '&' {
			i++
		}
	}
	return i
}

// srcsetStep reads c, the next character of a srcset value: a byte, or the
// character a reference stands for if decoded. It reports whether a URL
// starts at c, which can only be a byte; the sub-state is then ssLook.
func (r *HTMLRewriter) srcsetStep(c byte, decoded bool) bool {
	switch r.sub {
	case ssSep:
		if ascii.IsSpace(c) || c == ',' {
			return false
		}
		if !decoded {
			r.sub = ssLook
			return true
		}
		// A URL that starts with a character reference is left as it is.
		r.sub, r.comma = ssURL, false
	case ssURL:
		if ascii.IsSpace(c) {
			r.sub = ssDesc
			if r.comma {
				r.sub = ssSep
			}
			return false
		}
		r.comma = c == ','
	case ssDesc:
		switch c {
		case ',':
			r.sub = ssSep
		case '(':
			r.sub = ssParen
		}
	case ssParen:
		if c == ')' {
			r.sub = ssDesc
		}
	}
	return false
}

// writeMeta stops holding back a meta element at its end and writes it,
// with the URL in its content rewritten if it is a refresh.
func (r *HTMLRewriter) writeMeta() {
	h := r.out.stopHolding()
	if r.equiv == equivRefresh && r.content == contentDone {
		if k, e, ok := refreshURL(h[:r.contentEnd]); ok {
			for k < e && ascii.IsSpace(h[k]) {
				k++
			}
			u := h[k:e]
			n := min(len(u), r.url.rules.window())
			if d := r.url.rules.decide(u[:n], n == len(u), escRef); d.verdict == rewritten {
				r.out.write(h[:k])
				r.url.write(&r.out, d, h[k:])
				return
			}
		}
	}
	r.out.write(h)
}

// refreshURL returns where the URL starts and ends in v, the content of
// a <meta http-equiv="refresh">, as in "5; url='/x'", following the
// HTML standard's declarative refresh steps. It returns false if there is
// no URL, or if a character reference comes before it.
func refreshURL(v []byte) (start, end int, ok bool) {
	i := skipSpace(v, 0)
	j := i
	for j < len(v) && ascii.IsDigit(v[j]) {
		j++
	}
	if j == i && (j == len(v) || v[j] != '.') {
		return 0, 0, false
	}
	for j < len(v) && (ascii.IsDigit(v[j]) || v[j] == '.') {
		j++
	}
	if j == len(v) || v[j] != ';' && v[j] != ',' && !ascii.IsSpace(v[j]) {
		return 0, 0, false
	}
	i = skipSpace(v, j)
	if i < len(v) && (v[i] == ';' || v[i] == ',') {
		i++
	}
	i = skipSpace(v, i)
	if i == len(v) || bytes.IndexByte(v[:i], '&') >= 0 {
		return 0, 0, false
	}
	// "url=" is optional, and without its "=" is part of the URL.
	if ascii.Lower(v[i]) == 'u' {
		j := i + 1
		if j+2 > len(v) || ascii.Lower(v[j]) != 'r' || ascii.Lower(v[j+1]) != 'l' {
			return i, len(v), true
		}
		j = skipSpace(v, j+2)
		if j == len(v) || v[j] != '=' {
			return i, len(v), true
		}
		i = skipSpace(v, j+1)
	}
	if i < len(v) && (v[i] == '\'' || v[i] == '"') {
		if k := bytes.IndexByte(v[i+1:], v[i]); k >= 0 {
			return i + 1, i + 1 + k, true
		}
		return i + 1, len(v), true
	}
	return i, len(v), true
}

// skipSpace returns the index of the first byte of v from i on that is
// not whitespace, or len(v).
func skipSpace(v []byte, i int) int {
	for i < len(v) && ascii.IsSpace(v[i]) {
		i++
	}
	return i
}
