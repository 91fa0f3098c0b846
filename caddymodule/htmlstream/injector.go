// Package htmlstream rewrites HTML and CSS while they stream through, in
// bounded memory and byte for byte where nothing changes: an Injector
// inserts a tag, such as a script element, into an HTML document, and the
// HTMLRewriter and CSSRewriter move an app's root-relative and own-origin
// URLs under the path it is mounted at (see Links).
//
// The Injector's tag goes right after the document's <head> start tag or, when some
// other content comes first, right before that content, which is where the
// HTML parser opens the head implicitly. Only the document's prologue is
// read, byte by byte, the way the HTML tokenizer reads it: a byte order mark,
// whitespace, comments, doctypes and other markup declarations, processing
// instructions and the <html> start tag. Once the tag is in, every write
// passes straight through. Bytes are written on as soon as their meaning is
// known; at most a few are held back, such as "<hea" at the end of a write,
// so memory use does not depend on the document.
package htmlstream

import (
	"bytes"
	"io"
	"sync"

	"github.com/helpdeskapps/gateway/caddymodule/internal/ascii"
)

// maxHold is the most bytes an Injector holds back: a tag start whose name
// may still turn out to be head or html.
const maxHold = len("<head")

// state is where an Injector is in the document's prologue. The states for
// comments and start tags follow those of the HTML tokenizer, keeping only
// what decides where a comment or tag ends.
type state uint8

const (
	stateStart             state = iota // nothing read yet
	stateBOM1                           // after the first byte of a byte order mark
	stateBOM2                           // after the second byte of a byte order mark
	stateUTF16BOM                       // after a first byte of a UTF-16 byte order mark
	stateData                           // between prologue items
	stateTagOpen                        // after "<" and maybe the start of a tag name
	stateBang                           // after "<!"
	stateBangDash                       // after "<!-"
	stateBogus                          // in a doctype, other declaration or processing instruction
	stateCommentStart                   // after "<!--"
	stateCommentStartDash               // after "<!---"
	stateComment                        // in a comment
	stateCommentEndDash                 // after "-" in a comment
	stateCommentEnd                     // after "--" in a comment
	stateCommentEndBang                 // after "--!" in a comment
	stateBeforeAttrName                 // in an html or head start tag, between attributes
	stateAttrName                       // in an attribute name
	stateAfterAttrName                  // after an attribute name
	stateBeforeAttrValue                // after "="
	stateAttrValueDouble                // in a double-quoted attribute value
	stateAttrValueSingle                // in a single-quoted attribute value
	stateAttrValueUnquoted              // in an unquoted attribute value
	stateDone                           // the tag has been written
	stateOff                            // the document is UTF-16: copied without the tag
)

// action is what an Injector does with one byte of the prologue.
type action uint8

const (
	copyByte     action = iota // the held bytes and this one belong to the prologue
	holdByte                   // this byte's meaning is not known yet
	insertBefore               // the tag goes before the held bytes and this one
	insertAfter                // the tag goes after the held bytes and this one
	passThrough                // the held bytes and the rest are copied; no tag
)

// Injector is an io.WriteCloser that copies an HTML document to an
// underlying writer and inserts a tag exactly once, at the first sensible
// place: right after the <head> start tag or, when the document has other
// content before any, right before that content. A document with no content
// at all, only whitespace and comments say, gets the tag at its end.
//
// An Injector is not safe for concurrent use. The first error from the
// underlying writer is returned by every later call.
type Injector struct {
	w     io.Writer
	tag   []byte
	state state
	head  bool // the start tag being read is head, not html
	n     int  // number of bytes held back in hold
	hold  [maxHold]byte
	err   error
}

var _ io.WriteCloser = (*Injector)(nil)

// NewInjector returns an Injector that writes to w and inserts tag. It keeps
// tag, which must not be modified until the Injector is closed.
func NewInjector(w io.Writer, tag []byte) *Injector {
	return &Injector{w: w, tag: tag}
}

// Write implements io.Writer. It returns len(p) on success: bytes held back
// until their meaning is known count as written. Once the tag has been
// written, Write hands p straight to the underlying writer.
func (in *Injector) Write(p []byte) (int, error) {
	if in.err != nil {
		return 0, in.err
	}
	if in.state == stateDone || in.state == stateOff {
		var n int
		n, in.err = in.w.Write(p)
		return n, in.err
	}
	in.scan(p)
	if in.err != nil {
		return 0, in.err
	}
	return len(p), nil
}

// Flush writes out the bytes held back that can safely be written, for use
// when the response is flushed. As the Injector writes every byte on as soon
// as its meaning is known, everything written so far has already reached the
// underlying writer, except at most the few bytes of an undecided byte order
// mark or tag start, which cannot be written before the bytes that follow
// them: Flush has nothing to write and returns the underlying writer's error,
// if any. It does not flush the underlying writer.
func (in *Injector) Flush() error {
	return in.err
}

// Close writes the bytes held back and, if the tag has not been written
// yet, appends it, unless nothing at all was written: an empty document
// stays empty. Close does not close the underlying writer.
func (in *Injector) Close() error {
	if in.err != nil || in.state == stateDone || in.state == stateOff || in.state == stateStart {
		return in.err
	}
	in.state = stateDone
	in.emitJoined(nil, in.hold[:in.n], in.tag)
	in.n = 0
	return in.err
}

// AddsTag reports whether an Injector adds its tag to a document of size
// bytes that begins with start, so that the length of what it writes is
// known before it has read the document: size plus the tag's length when
// adds is true, size otherwise. Every document gets the tag but an empty
// one and one that begins with a UTF-16 byte order mark. ok is false when
// start is too short to tell: a first byte 0xFE or 0xFF alone, of a longer
// document.
func AddsTag(start []byte, size int64) (adds, ok bool) {
	switch {
	case size == 0:
		return false, true
	case len(start) == 0:
		return false, false
	case start[0] != 0xFE && start[0] != 0xFF:
		return true, true
	case size == 1:
		return true, true // a lone first byte of a byte order mark is content
	case len(start) < 2:
		return false, false
	}
	return !isUTF16BOM(start[0], start[1]), true
}

// isUTF16BOM reports whether b0 b1 is a UTF-16 byte order mark.
func isUTF16BOM(b0, b1 byte) bool {
	return b0 == 0xFE && b1 == 0xFF || b0 == 0xFF && b1 == 0xFE
}

// Injected reports whether the tag has been written.
func (in *Injector) Injected() bool {
	return in.state == stateDone
}

// scan reads p, a piece of the prologue, writing on what belongs to it and
// inserting the tag, followed by the rest of p, as soon as its place is
// found. What p holds of the prologue goes out in one write with the tag,
// not piece by piece: every write costs the layers below it (a chunk, a
// deadline reset).
func (in *Injector) scan(p []byte) {
	// p[from:] is not written yet. Bytes held back are the last ones read:
	// the first prev of them came in an earlier write and are only in
	// in.hold; the others are also in p, right before i.
	from, prev := 0, in.n
	for i := 0; i < len(p); i++ {
		if stop := in.state.stop(); stop != 0 {
			j := bytes.IndexByte(p[i:], stop)
			if j < 0 {
				break
			}
			i += j
		}
		c := p[i]
		switch in.step(c) {
		case copyByte:
			if in.n > 0 { // the held bytes belong to the prologue
				in.emit(in.hold[:prev])
				in.n, prev = 0, 0
			}
		case holdByte:
			in.hold[in.n] = c
			in.n++
		case insertBefore:
			in.state = stateDone
			held := in.n - prev
			in.emitJoined(p[i-held:], p[from:i-held], in.tag, in.hold[:prev])
			in.n = 0
			return
		case insertAfter:
			in.state = stateDone
			in.emitJoined(p[i+1:], in.hold[:prev], p[from:i+1], in.tag)
			in.n = 0
			return
		case passThrough:
			in.state = stateOff
			in.emit(in.hold[:prev])
			in.emit(p[from:])
			in.n = 0
			return
		}
	}
	in.emit(p[from : len(p)-(in.n-prev)])
}

// stop returns the only byte that can move an Injector out of state s, or
// 0 if there are several: until then, bytes are copied unread.
func (s state) stop() byte {
	switch s {
	case stateBogus:
		return '>'
	case stateComment:
		return '-'
	case stateAttrValueDouble:
		return '"'
	case stateAttrValueSingle:
		return '\''
	}
	return 0
}

// step moves the Injector past c and says what to do with it.
func (in *Injector) step(c byte) action {
	switch in.state {
	case stateStart:
		switch c {
		case 0xEF:
			in.state = stateBOM1
			return holdByte
		case 0xFE, 0xFF:
			in.state = stateUTF16BOM
			return holdByte
		}
		in.state = stateData
		return in.step(c)
	case stateUTF16BOM:
		// FE FF or FF FE: a UTF-16 document, which an ASCII tag would
		// corrupt; it is left as it is.
		if isUTF16BOM(in.hold[0], c) {
			return passThrough
		}
		return insertBefore
	case stateBOM1:
		if c == 0xBB {
			in.state = stateBOM2
			return holdByte
		}
		return insertBefore
	case stateBOM2:
		if c == 0xBF {
			in.state = stateData
			return copyByte
		}
		return insertBefore
	case stateData:
		switch {
		case ascii.IsSpace(c):
			return copyByte
		case c == '<':
			in.state = stateTagOpen
			return holdByte
		}
		return insertBefore
	case stateTagOpen:
		return in.tagOpen(c)
	case stateBang:
		if c == '-' {
			in.state = stateBangDash
			return copyByte
		}
		in.state = stateBogus
		return in.step(c)
	case stateBangDash:
		if c == '-' {
			in.state = stateCommentStart
			return copyByte
		}
		in.state = stateBogus
		return in.step(c)
	case stateBogus:
		if c == '>' {
			in.state = stateData
		}
	case stateCommentStart, stateCommentStartDash, stateComment, stateCommentEndDash, stateCommentEnd, stateCommentEndBang:
		in.state = commentStep(in.state, c)
	default:
		return in.attrStep(c)
	}
	return copyByte
}

// tagOpen handles c after "<" and the part of a tag name held so far.
func (in *Injector) tagOpen(c byte) action {
	name := in.hold[1:in.n]
	switch {
	case len(name) == 0 && c == '!':
		in.state = stateBang
		return copyByte
	case len(name) == 0 && c == '?':
		in.state = stateBogus
		return copyByte
	case ascii.IsSpace(c) || c == '/' || c == '>':
		switch {
		case ascii.EqualFold(name, "head"):
			in.head = true
		case ascii.EqualFold(name, "html"):
			in.head = false
		default:
			return insertBefore
		}
		if c == '>' {
			return in.endTag()
		}
		// A "/" starts the self-closing flag, which head and html ignore.
		in.state = stateBeforeAttrName
		return copyByte
	case continues(name, c, "head") || continues(name, c, "html"):
		return holdByte
	}
	return insertBefore
}

// commentStep returns the state after c in comment state s. A comment ends
// at "-->", "--!>" or, abruptly, at "<!-->" or "<!--->".
func commentStep(s state, c byte) state {
	switch {
	case c == '>' && s != stateComment && s != stateCommentEndDash:
		return stateData
	case c == '-':
		switch s {
		case stateCommentStart:
			return stateCommentStartDash
		case stateComment, stateCommentEndBang:
			return stateCommentEndDash
		}
		return stateCommentEnd
	case c == '!' && s == stateCommentEnd:
		return stateCommentEndBang
	}
	return stateComment
}

// attrStep handles c in the attributes of an html or head start tag. Quoted
// values may contain ">".
func (in *Injector) attrStep(c byte) action {
	s := in.state
	switch {
	case s == stateAttrValueDouble || s == stateAttrValueSingle:
		if c == '"' && s == stateAttrValueDouble || c == '\'' && s == stateAttrValueSingle {
			in.state = stateBeforeAttrName
		}
	case c == '>':
		return in.endTag()
	case s == stateAttrValueUnquoted:
		if ascii.IsSpace(c) {
			in.state = stateBeforeAttrName
		}
	case s == stateBeforeAttrValue:
		switch c {
		case '"':
			in.state = stateAttrValueDouble
		case '\'':
			in.state = stateAttrValueSingle
		default:
			if !ascii.IsSpace(c) {
				in.state = stateAttrValueUnquoted
			}
		}
	case c == '/':
		in.state = stateBeforeAttrName
	case c == '=' && s != stateBeforeAttrName:
		in.state = stateBeforeAttrValue
	case ascii.IsSpace(c):
		if s == stateAttrName {
			in.state = stateAfterAttrName
		}
	default:
		in.state = stateAttrName
	}
	return copyByte
}

// endTag handles the ">" that ends an html or head start tag.
func (in *Injector) endTag() action {
	if in.head {
		return insertAfter
	}
	in.state = stateData
	return copyByte
}

// emit writes b to the underlying writer unless an earlier write failed.
func (in *Injector) emit(b []byte) {
	if len(b) > 0 && in.err == nil {
		_, in.err = in.w.Write(b)
	}
}

// maxJoin is the most bytes emitJoined copies to write them at once.
const maxJoin = 4 << 10

// joinBuffers holds the buffers of emitJoined, each of capacity maxJoin.
var joinBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, maxJoin)
	return &b
}}

// emitJoined writes the parts, in order, followed by rest. Parts that fit
// in maxJoin bytes together, rest too if it fits with them, go out in one
// write through a pooled buffer; otherwise each goes out on its own.
func (in *Injector) emitJoined(rest []byte, parts ...[]byte) {
	n := 0
	for _, b := range parts {
		n += len(b)
	}
	if n > maxJoin {
		for _, b := range parts {
			in.emit(b)
		}
		in.emit(rest)
		return
	}
	bp := joinBuffers.Get().(*[]byte)
	buf := (*bp)[:0]
	for _, b := range parts {
		buf = append(buf, b...)
	}
	if n+len(rest) <= maxJoin {
		buf, rest = append(buf, rest...), nil
	}
	in.emit(buf)
	*bp = buf[:0]
	joinBuffers.Put(bp)
	in.emit(rest)
}

// continues reports whether name followed by c is a prefix of s, a
// lower-case ASCII name, ignoring ASCII case.
func continues(name []byte, c byte, s string) bool {
	return len(name) < len(s) && ascii.Lower(c) == s[len(name)] && ascii.HasPrefixFold(s, name)
}
