package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"golang.org/x/net/websocket"
)

// Sizes of the upstream's responses.
const (
	jsonSize = 1 << 10
	pageSize = 50 << 10
	// maxBigSize bounds /big, so that a typo cannot stream for ever.
	maxBigSize = 1 << 30
)

// serveUpstream serves the bench upstream on addr and prints the address it
// listens on, on a line of its own, once it accepts connections. It serves
// until the process is killed.
func serveUpstream(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	fmt.Fprintln(os.Stdout, ln.Addr().String())
	srv := &http.Server{Handler: upstreamMux(), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// upstreamMux returns the upstream's routes: /json (1 KB of JSON), /page
// (a 50 KB HTML page), /big?size=<bytes> (an HTML page streamed from a
// generator, never held in memory) and /ws (a WebSocket echo).
func upstreamMux() *http.ServeMux {
	jsonBody := jsonDocument(jsonSize)
	page := htmlPage(pageSize)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		serveBytes(w, "application/json", jsonBody)
	})
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		serveBytes(w, "text/html; charset=utf-8", page)
	})
	mux.HandleFunc("GET /big", serveBig)
	mux.Handle("GET /ws", websocket.Server{Handler: func(ws *websocket.Conn) { io.Copy(ws, ws) }})
	return mux
}

// serveBytes answers with body, whole, with its length.
func serveBytes(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// serveBig streams an HTML page of ?size= bytes (default 100 MiB): a head,
// then the same 32 KB of markup over and over.
func serveBig(w http.ResponseWriter, r *http.Request) {
	size := int64(100 << 20)
	if s := r.URL.Query().Get("size"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1<<10 || n > maxBigSize {
			http.Error(w, "size: want a whole number of bytes between 1 KiB and 1 GiB", http.StatusBadRequest)
			return
		}
		size = n
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	io.Copy(w, io.LimitReader(&bigBody{}, size))
}

// bigBody is an endless HTML document: a prologue and head, then body
// markup repeated.
type bigBody struct {
	started bool
}

// bigHead and bigChunk make up a bigBody.
var (
	bigHead  = []byte("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Big report</title>\n</head>\n<body>\n")
	bigChunk = bodyMarkup(32 << 10)
)

func (b *bigBody) Read(p []byte) (int, error) {
	if !b.started {
		b.started = true
		return copy(p, bigHead), nil
	}
	return copy(p, bigChunk), nil
}

// jsonDocument returns a JSON object of exactly size bytes.
func jsonDocument(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"tickets":[`)
	for i := 0; b.Len() < size-120; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"subject":"Printer on floor %d is out of toner","state":"open"}`, 1000+i, i%9)
	}
	b.WriteString(`],"next":null,"pad":"`)
	pad := size - b.Len() - len(`"}`)
	b.Write(bytes.Repeat([]byte("x"), pad))
	b.WriteString(`"}`)
	return b.Bytes()
}

// htmlPage returns an HTML page of exactly size bytes with a <head> the
// shim goes into: stylesheets and a title, then body markup.
func htmlPage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	for i := range 6 {
		fmt.Fprintf(&b, "<link rel=\"stylesheet\" href=\"/static/css/part%d.css?v=1a2b3c\">\n", i)
	}
	b.WriteString("<title>Tickets — CRM</title>\n</head>\n<body>\n")
	const tail = "</body>\n</html>\n"
	b.Write(bodyMarkup(size - b.Len() - len(tail)))
	b.WriteString(tail)
	return b.Bytes()
}

// bodyMarkup returns size bytes of body markup, links and tables, padded
// with newlines.
func bodyMarkup(size int) []byte {
	var b bytes.Buffer
	for i := 0; ; i++ {
		line := fmt.Sprintf("<p class=\"note\">Ticket <a href=\"/tickets/%d\">#%d</a> was updated by "+
			"<a href=\"/users/%d\">agent %d</a>; the status is now <em>pending</em>.</p>\n", i, i, i%97, i%97)
		if b.Len()+len(line) > size {
			break
		}
		b.WriteString(line)
	}
	b.Write(bytes.Repeat([]byte("\n"), size-b.Len()))
	return b.Bytes()
}
