package htmlstream

import (
	"io"
	"strings"
	"sync"

	"github.com/helpdeskapps/gateway/caddymodule/internal/ascii"
)

// Links says which URLs belong to an app and where the app is mounted, for
// RewriteURL, HTMLRewriter and CSSRewriter. They only read it: it must not
// be modified while they use it.
type Links struct {
	// Prefix is the path the app is mounted at, without a trailing slash,
	// such as /apps/crm.
	Prefix string

	// Origins lists the origins whose absolute URLs mean the app itself,
	// as scheme://host[:port]: the upstream's, such as http://10.0.0.5:8080,
	// and the gateway's, such as https://helpdesk.example.com, which pages
	// build from the Host header. Scheme and host are compared ignoring
	// ASCII case, and a missing port means the scheme's default one, so
	// http://h and http://h:80 are the same origin.
	Origins []string

	// Keep lists root-relative path prefixes that are never rewritten,
	// besides Prefix itself, such as /apps/_bridge/ for the gateway's own
	// scripts. They are compared byte for byte.
	Keep []string
}

// RewriteURL appends to dst the rewritten form of value, one URL, and
// returns the extended slice; it does not allocate when dst has room.
//
//   - A root-relative URL, "/x" but not "//x" or "/\x", becomes
//     Prefix+value unless it is at Prefix already (Prefix itself, or Prefix
//     followed by "/", "\", "?", "#" or whitespace) or starts with one of
//     the Keep prefixes.
//   - An absolute URL ("http://…", also written "http:\\…") or a
//     protocol-relative one ("//…") whose origin is in Origins becomes
//     Prefix followed by its path, query and fragment, byte for byte; a
//     missing path is "/". When the path is at Prefix or under a Keep
//     prefix already, only the scheme and host are dropped.
//   - Everything else is left as it is: relative URLs, external URLs, other
//     schemes (data:, javascript:, mailto:), fragments, empty values, and
//     absolute URLs with user information or any other oddity in their
//     scheme or host.
//
// ASCII whitespace around the URL is kept. Only the first bytes of a long
// value are read, as many as could decide; a value that is still undecided
// there, say a port with a hundred leading zeros, is left unchanged. The
// streaming rewriters make exactly the same decisions.
func (l *Links) RewriteURL(value, dst []byte) []byte {
	lead := 0
	for lead < len(value) && ascii.IsSpace(value[lead]) {
		lead++
	}
	u := value[lead:]
	n := min(len(u), l.window())
	d := l.decide(u[:n], n == len(u), 0)
	if d.verdict != rewritten {
		return append(dst, value...)
	}
	dst = append(dst, value[:lead]...)
	if d.prefix {
		dst = append(dst, l.Prefix...)
	}
	if d.slash {
		dst = append(dst, '/')
	}
	return append(dst, u[d.cut:]...)
}

// window returns how many bytes of a URL, after its leading whitespace,
// are enough to decide what becomes of it: an own origin with a long
// port, then the part of the path that may be Prefix or a Keep prefix.
func (l *Links) window() int {
	path := max(len(l.Prefix)+1, 2)
	for _, k := range l.Keep {
		path = max(path, len(k))
	}
	origin := 0
	for _, o := range l.Origins {
		origin = max(origin, len(o))
	}
	return origin + path + 16
}

// verdict is what decide makes of the first bytes of a URL.
type verdict uint8

const (
	undecided verdict = iota // more bytes are needed
	unchanged                // the URL stays as it is
	rewritten                // the URL is rewritten as the decision says
)

// decision says what becomes of a URL u: with verdict rewritten, it is
// replaced by Prefix (if prefix), then "/" (if slash), then u[cut:].
type decision struct {
	verdict verdict
	cut     int
	prefix  bool
	slash   bool
}

// escapes says which bytes may start an escape in the text a URL is
// written in, so that the URL the browser sees is not the one in the text.
type escapes uint8

const (
	escRef escapes = 1 << iota // "&", an HTML character reference
	escCSS                     // "\", a CSS escape
)

// tri is the answer to a question about the first bytes of a URL.
type tri uint8

const (
	no tri = iota
	yes
	maybe // it depends on the bytes that follow
)

var (
	keepURL     = decision{verdict: unchanged}
	needMore    = decision{verdict: undecided}
	prefixedURL = decision{verdict: rewritten, prefix: true}
)

// linkRules are Links made ready for deciding on URLs: what decide needs
// to know of the origins is worked out once, for the first few of them,
// rather than for every URL.
type linkRules struct {
	*Links
	schemeLen int              // the length of the longest scheme of Origins
	origins   [maxReady]origin // the first maxReady Origins, read
}

// maxReady is how many origins linkRules reads in advance; the others are
// read for every URL that needs them.
const maxReady = 4

// origin is one of Links.Origins, read.
type origin struct {
	ok     bool   // it is scheme://host[:port] with a valid port; else it never matches
	scheme string // without "://"
	host   string
	port   int // the port, or if there is none the default port of scheme
	def    int // the default port of scheme
}

func (r *linkRules) init(l *Links) {
	r.Links = l
	r.schemeLen = 0
	for k, o := range l.Origins {
		if s, _, ok := strings.Cut(o, "://"); ok {
			r.schemeLen = max(r.schemeLen, len(s))
		}
		if k < len(r.origins) {
			r.origins[k] = readOrigin(o)
		}
	}
}

// origin returns Origins[k], read.
func (r *linkRules) origin(k int) origin {
	if k < len(r.origins) {
		return r.origins[k]
	}
	return readOrigin(r.Origins[k])
}

// readOrigin reads o, an origin.
func readOrigin(o string) origin {
	scheme, hostport, ok := strings.Cut(o, "://")
	if !ok {
		return origin{}
	}
	hostport = strings.TrimSuffix(hostport, "/")
	host, port := hostport, -1
	if i := strings.LastIndexByte(hostport, ':'); i > strings.LastIndexByte(hostport, ']') {
		host, port = hostport[:i], atoi(hostport[i+1:])
		if port < 0 {
			return origin{}
		}
	}
	def := defaultPort(scheme)
	if port < 0 {
		port = def
	}
	return origin{ok: true, scheme: scheme, host: host, port: port, def: def}
}

// decide is linkRules.decide, for Links not made ready in advance.
func (l *Links) decide(u []byte, complete bool, esc escapes) decision {
	var r linkRules
	r.init(l)
	return r.decide(u, complete, esc)
}

// decide decides what becomes of the URL whose first bytes are u, which
// does not start with whitespace; complete says whether u is the whole URL.
// It only returns undecided when u is incomplete and the bytes that follow
// could change the answer, and it gives the same answer for every u that
// starts with bytes it has decided on. Escapes are not decoded: the bytes
// after the first escape in u could be anything, so if they are needed
// the URL is left unchanged.
func (l *linkRules) decide(u []byte, complete bool, esc escapes) decision {
	if esc != 0 {
		if k := escapeIndex(u, esc); k >= 0 {
			if d := l.decide(u[:k], false, 0); d.verdict != undecided {
				return d
			}
			return keepURL
		}
	}
	if len(u) == 0 {
		if complete {
			return keepURL
		}
		return needMore
	}
	switch c := u[0]; {
	case c == '/':
		// Browsers drop tabs and newlines anywhere in a URL, and read
		// "\" as "/" in http(s) URLs: "/\t/x" and "/\x" name a host.
		j := 1
		for j < len(u) && isTabOrNewline(u[j]) {
			j++
		}
		if j < len(u) && isSlash(u[j]) {
			return l.ownOrigin(u, j+1, nil, complete)
		}
		if j == len(u) && !complete {
			return needMore
		}
		switch l.own(u, complete) {
		case no:
			return prefixedURL
		case maybe:
			return needMore
		}
		return keepURL
	case ascii.IsAlpha(c):
		return l.absolute(u, complete)
	}
	return keepURL
}

// escapeIndex returns the index of the first byte of u that may start one
// of the escapes esc, or -1.
func escapeIndex(u []byte, esc escapes) int {
	switch esc {
	case escRef:
		return indexByte(u, '&')
	case escCSS:
		return indexByte(u, '\\')
	}
	for k, c := range u {
		if c == '&' || c == '\\' {
			return k
		}
	}
	return -1
}

// absolute decides on u, which starts with a letter: a URL with a scheme
// or a relative path.
func (l *linkRules) absolute(u []byte, complete bool) decision {
	longest := l.schemeLen
	k := 1
	for k < len(u) && k <= longest && isSchemeChar(u[k]) {
		k++
	}
	switch {
	case k > longest:
		return keepURL
	case k == len(u):
		if complete {
			return keepURL
		}
		return needMore
	case u[k] != ':':
		return keepURL
	}
	j := k + 1
	for range 2 {
		switch {
		case j == len(u) && complete:
			return keepURL
		case j == len(u):
			return needMore
		case !isSlash(u[j]):
			return keepURL
		}
		j++
	}
	return l.ownOrigin(u, j, u[:k], complete)
}

// ownOrigin decides on u, whose host starts at u[j], when it has scheme,
// or when it is protocol-relative and scheme is nil.
func (l *linkRules) ownOrigin(u []byte, j int, scheme []byte, complete bool) decision {
	more := false
	for k := range l.Origins {
		o := l.origin(k)
		if !o.ok || scheme != nil && !ascii.EqualFold(scheme, o.scheme) {
			continue
		}
		end, t := matchAuthority(u[j:], o, complete)
		switch t {
		case yes:
			return l.ownPath(u, j+end, complete)
		case maybe:
			more = true
		}
	}
	if more {
		return needMore
	}
	return keepURL
}

// matchAuthority reports whether a, the part of a URL after "scheme://" or
// "//", starts with the host and port of origin o, and if so where the
// authority ends. A URL's port matches when it is the origin's, either may
// be left out when it is the scheme's default one; a protocol-relative URL
// without a port matches an origin without one.
func matchAuthority(a []byte, o origin, complete bool) (int, tri) {
	host := o.host
	if len(a) < len(host) {
		if !complete && ascii.HasPrefixFold(host, a) {
			return 0, maybe
		}
		return 0, no
	}
	if !ascii.EqualFold(a[:len(host)], host) {
		return 0, no
	}
	i, port := len(host), -1
	if i < len(a) && a[i] == ':' {
		i++
		start := i
		for i < len(a) && ascii.IsDigit(a[i]) {
			i++
		}
		if i > start {
			if port = atoi(a[start:i]); port < 0 {
				return 0, no
			}
		}
	}
	switch {
	case i == len(a) && !complete:
		return 0, maybe
	case i < len(a) && !isAuthorityEnd(a[i]):
		return 0, no
	}
	// A missing port is the default one: the scheme's, or for a
	// protocol-relative URL the page's, taken to be the origin's.
	if port < 0 {
		port = o.def
	}
	if port != o.port {
		return 0, no
	}
	return i, yes
}

// ownPath decides on the own URL u whose path starts at u[p].
func (l *linkRules) ownPath(u []byte, p int, complete bool) decision {
	if p == len(u) && !complete {
		return needMore
	}
	if p == len(u) || !isSlash(u[p]) {
		// No path: "?query", "#fragment", whitespace or nothing follows.
		return decision{verdict: rewritten, cut: p, prefix: true, slash: true}
	}
	switch l.own(u[p:], complete) {
	case no:
		return decision{verdict: rewritten, cut: p, prefix: true}
	case maybe:
		return needMore
	}
	// Already at the prefix: only the origin goes, unless the path alone
	// would name a host, which can only happen with an empty Prefix.
	j := p + 1
	for j < len(u) && isTabOrNewline(u[j]) {
		j++
	}
	switch {
	case j < len(u) && isSlash(u[j]):
		return keepURL
	case j == len(u) && !complete:
		return needMore
	}
	return decision{verdict: rewritten, cut: p}
}

// own reports whether the root-relative path p is at Prefix or under one
// of the Keep prefixes.
func (l *linkRules) own(p []byte, complete bool) tri {
	t := no
	n := len(l.Prefix)
	switch {
	case len(p) < n:
		if !complete && string(p) == l.Prefix[:len(p)] {
			t = maybe
		}
	case string(p[:n]) != l.Prefix:
	case len(p) == n:
		if !complete {
			return maybe
		}
		return yes
	case isSlash(p[n]) || p[n] == '?' || p[n] == '#' || ascii.IsSpace(p[n]):
		return yes
	}
	for _, k := range l.Keep {
		switch {
		case k == "":
		case len(p) >= len(k):
			if string(p[:len(k)]) == k {
				return yes
			}
		case !complete && string(p) == k[:len(p)]:
			t = maybe
		}
	}
	return t
}

// defaultPort returns the default port of a scheme, or -2 if it has none
// that matters here.
func defaultPort(scheme string) int {
	switch {
	case strings.EqualFold(scheme, "http"), strings.EqualFold(scheme, "ws"):
		return 80
	case strings.EqualFold(scheme, "https"), strings.EqualFold(scheme, "wss"):
		return 443
	}
	return -2
}

// atoi returns the value of s, a decimal number of at most a few digits
// after any leading zeros, or -1 if it is empty, not a number or more
// than 65535.
func atoi[T string | []byte](s T) int {
	if len(s) == 0 {
		return -1
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !ascii.IsDigit(s[i]) {
			return -1
		}
		n = n*10 + int(s[i]-'0')
		if n > 65535 {
			return -1
		}
	}
	return n
}

func isSchemeChar(c byte) bool { return ascii.IsAlnum(c) || c == '+' || c == '-' || c == '.' }

// isSlash reports whether c separates URL path segments, as "\" does in
// http(s) URLs.
func isSlash(c byte) bool { return c == '/' || c == '\\' }

// isTabOrNewline reports whether c is one of the bytes browsers remove
// from anywhere in a URL.
func isTabOrNewline(c byte) bool { return c == '\t' || c == '\n' || c == '\r' }

// isAuthorityEnd reports whether c ends the host and port of a URL.
func isAuthorityEnd(c byte) bool { return isSlash(c) || c == '?' || c == '#' || ascii.IsSpace(c) }

// urlLook holds back the first bytes of a URL in a stream until decide
// can tell what becomes of the URL, then writes them, rewritten or not,
// or leaves those it does not change for its caller to write. At most
// Links.window bytes are held.
type urlLook struct {
	rules   linkRules
	prefix  []byte  // links.Prefix
	esc     escapes // escapes that may be among the bytes take is given
	started bool    // the URL's leading whitespace is behind
	buf     []byte  // the bytes held back, at most cap(buf)
}

func (l *urlLook) init(links *Links) {
	l.rules.init(links)
	l.prefix = []byte(links.Prefix)
	l.buf = make([]byte, 0, links.window())
}

// lookEnd says what follows the bytes given to urlLook.take.
type lookEnd uint8

const (
	lookMore     lookEnd = iota // more of the URL, or nothing known yet
	lookComplete                // nothing: the URL ends there
	lookEscape                  // an escape, whose meaning decide cannot know
)

// take reads b[at:], the next bytes of the URL; b[:at] are bytes before
// them that the caller has not written yet, and end says what follows b.
// It returns how many bytes of b[at:] it read, whether it has decided,
// and how many of the bytes of b it read or was given, at their end, it
// leaves for the caller to write along with the bytes that follow: when
// the URL is left unchanged, all of them, and when it is rewritten, those
// after the bytes it replaced, so that most URLs cost no copy of their
// own. It has written or holds back the bytes before those. When it has
// not decided it has read all of b[at:]. With end lookComplete or
// lookEscape it always decides.
func (l *urlLook) take(o *output, b []byte, at int, end lookEnd) (n, left int, done bool) {
	v := b[at:]
	if !l.started {
		for n < len(v) && ascii.IsSpace(v[n]) {
			n++
		}
		if n == len(v) {
			return n, len(b), end != lookMore
		}
		l.started = true
	}
	k := min(len(v)-n, cap(l.buf)-len(l.buf))
	w := v[n : n+k]
	buffered := len(l.buf) > 0
	if buffered {
		l.buf = append(l.buf, w...)
		w = l.buf
	}
	d := l.rules.decide(w, end == lookComplete && n+k == len(v), l.esc)
	if d.verdict == undecided {
		switch {
		case end == lookEscape && n+k == len(v):
			d = keepURL
		case len(w) == cap(l.buf) || end == lookComplete && n+k == len(v):
			d = keepURL // too long to tell
		default:
			o.write(b[:at+n])
			if !buffered {
				l.buf = append(l.buf, w...)
			}
			return n + k, 0, false
		}
	}
	if buffered {
		o.write(b[:at+n])
		l.write(o, d, w)
		return n + k, 0, true
	}
	l.started = false
	if d.verdict != rewritten {
		return n + k, at + n + k, true
	}
	o.write(b[:at+n])
	if d.prefix {
		o.write(l.prefix)
	}
	if d.slash {
		o.write(slash)
	}
	return n + k, k - d.cut, true
}

// finish ends a URL that take has not decided on: the bytes held back are
// decided on as the whole URL if complete, or else written unchanged.
func (l *urlLook) finish(o *output, complete bool) {
	d := keepURL
	if complete {
		d = l.rules.decide(l.buf, true, l.esc)
	}
	l.write(o, d, l.buf)
}

// write writes u, the first bytes of a URL, as d says, and gets ready for
// the next URL.
func (l *urlLook) write(o *output, d decision, u []byte) {
	if d.verdict == rewritten {
		if d.prefix {
			o.write(l.prefix)
		}
		if d.slash {
			o.write(slash)
		}
		u = u[d.cut:]
	}
	o.write(u)
	l.buf = l.buf[:0]
	l.started = false
}

var slash = []byte("/")

// reset forgets the URL being read, if any.
func (l *urlLook) reset() {
	l.buf = l.buf[:0]
	l.started = false
}

// held returns how many bytes are held back.
func (l *urlLook) held() int { return len(l.buf) }

// Output buffering: pieces smaller than outDirect are gathered in a
// buffer of outBufSize bytes, so that the underlying writer sees a few
// large writes rather than one for every piece between two rewritten
// URLs: each write to a client costs a system call, and a chunk header when
// the response is chunked, where each write of the rewriter's became a
// chunk of its own and two system calls. What the buffer holds waits for
// the next Write, a Flush or Close, as it would in the client connection's
// own buffer. It comes from outBuffers when there is something to write
// and goes back once it is empty, so a rewriter that has flushed holds
// none.
const (
	outBufSize = 32 << 10
	outDirect  = outBufSize
)

// outBuffers holds the output buffers of rewriters between writes.
var outBuffers = sync.Pool{New: func() any { return new([outBufSize]byte) }}

// maxMetaHold is the most bytes an output holds back on request, for a meta
// element whose http-equiv attribute may come after its content.
const maxMetaHold = 4 << 10

// output writes to an underlying writer through a buffer, keeping the
// first error. On request, it holds back what it is given instead: while
// it holds back, buf is the hold buffer and the buffer waits in other, so
// that write appends to buf either way.
type output struct {
	w       io.Writer
	buf     []byte // the buffer, or the hold buffer while holding
	other   []byte // the hold buffer, or the buffer while holding
	holding bool
	err     error
}

func (o *output) init(w io.Writer) {
	o.w = w
}

// begin gives the output its buffer, if it has none, before a Write or
// Close.
func (o *output) begin() {
	out := &o.buf
	if o.holding {
		out = &o.other
	}
	if *out == nil {
		*out = outBuffers.Get().(*[outBufSize]byte)[:0]
	}
}

// release gives the buffer back if it is empty.
func (o *output) release() {
	out := &o.buf
	if o.holding {
		out = &o.other
	}
	if len(*out) == 0 && cap(*out) == outBufSize {
		outBuffers.Put((*[outBufSize]byte)((*out)[:outBufSize]))
		*out = nil
	}
}

// end writes what the buffer holds and gives it back.
func (o *output) end() {
	o.flush()
	o.release()
}

// write writes b, or holds it back. The common case, b fits in buf, is a
// copy, without append's checks for growing buf. After an error, what is
// appended to the buffer is never written.
func (o *output) write(b []byte) {
	n := len(o.buf)
	if len(b) >= cap(o.buf)-n {
		o.writeSlow(b)
		return
	}
	o.buf = o.buf[:n+len(b)]
	copy(o.buf[n:], b)
}

// writeSlow is write when b does not fit in buf.
func (o *output) writeSlow(b []byte) {
	if len(b) == 0 || o.err != nil {
		return
	}
	if o.holding {
		if len(o.buf)+len(b) <= maxMetaHold {
			o.buf = append(o.buf, b...)
			return
		}
		// Too much to hold: give up and write everything.
		o.write(o.stopHolding())
	}
	if len(b) >= outDirect {
		o.flush()
		if o.err == nil {
			_, o.err = o.w.Write(b)
		}
		return
	}
	if len(b) > cap(o.buf)-len(o.buf) {
		o.flush()
	}
	o.buf = append(o.buf, b...)
}

// flush writes the buffer.
func (o *output) flush() {
	buf := &o.buf
	if o.holding {
		buf = &o.other
	}
	if len(*buf) > 0 && o.err == nil {
		_, o.err = o.w.Write(*buf)
	}
	*buf = (*buf)[:0]
}

// startHolding holds back what is written from now on, at most maxMetaHold
// bytes; after that, holding stops and everything is written.
func (o *output) startHolding() {
	if o.holding {
		o.buf = o.buf[:0]
		return
	}
	if o.other == nil {
		o.other = make([]byte, 0, maxMetaHold)
	}
	o.buf, o.other = o.other[:0], o.buf
	o.holding = true
}

// held returns how many bytes are held back.
func (o *output) held() int {
	if o.holding {
		return len(o.buf)
	}
	return 0
}

// stopHolding stops holding back and returns what was held, which is
// valid until the next startHolding.
func (o *output) stopHolding() []byte {
	if !o.holding {
		return nil
	}
	h := o.buf
	o.buf, o.other = o.other, h[:0]
	o.holding = false
	return h
}
