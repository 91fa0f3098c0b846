package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"time"
)

// wireGET is what the Go generator sends: one GET, serialized once.
type wireGET struct {
	addr  string
	bytes []byte
}

// newWireGET serializes a GET of rawURL, an http URL, with header, as
// net/http's client would send it.
func newWireGET(rawURL string, header http.Header) (*wireGET, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("%s: the Go generator speaks only http", rawURL)
	}
	req := &http.Request{Method: http.MethodGet, URL: u, Host: u.Host, Header: header, ProtoMajor: 1, ProtoMinor: 1}
	var b bytes.Buffer
	if err := req.Write(&b); err != nil {
		return nil, err
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &wireGET{addr: addr, bytes: b.Bytes()}, nil
}

// client is one keep-alive connection that sends a wireGET, with one
// request in flight at a time. Its close may be called from another
// goroutine, to stop a request that hangs.
type client struct {
	get *wireGET

	mu     sync.Mutex
	conn   net.Conn
	closed bool

	br *bufio.Reader
}

// dialTimeout bounds each connection attempt.
const dialTimeout = 10 * time.Second

// do sends the request and reads the whole answer, which must be 200 OK.
// A connection the server closed while it was idle is dialled again, and
// the request sent again, once.
func (c *client) do() error {
	reused := c.br != nil
	err := c.roundTrip()
	if err != nil && reused && errors.Is(err, errIdleClosed) {
		c.drop()
		err = c.roundTrip()
	}
	if err != nil {
		c.drop()
		return fmt.Errorf("GET http://%s: %w", c.get.addr, err)
	}
	return nil
}

// errIdleClosed is a connection that ended before the first byte of an
// answer.
var errIdleClosed = errors.New("connection closed before an answer")

// roundTrip sends the request on the connection, dialling it if needed,
// and reads the answer.
func (c *client) roundTrip() error {
	if c.br == nil {
		conn, err := net.DialTimeout("tcp", c.get.addr, dialTimeout)
		if err != nil {
			return err
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			conn.Close()
			return net.ErrClosed
		}
		c.conn = conn
		c.mu.Unlock()
		c.br = bufio.NewReaderSize(conn, 64<<10)
	}
	if _, err := c.conn.Write(c.get.bytes); err != nil {
		return errors.Join(errIdleClosed, err)
	}
	keep, err := readAnswer(c.br)
	if err == nil && !keep {
		c.drop()
	}
	return err
}

// drop closes the connection, for the next request to dial a new one.
func (c *client) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
	c.br = nil
}

// close closes the connection and keeps the client from dialling again.
func (c *client) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.conn != nil {
		c.conn.Close()
	}
}

// readAnswer reads a response to a GET from br, which must be 200 OK, and
// discards its body. It reports whether the connection may carry another
// request.
func readAnswer(br *bufio.Reader) (keep bool, err error) {
	if _, err := br.Peek(1); err != nil {
		if err == io.EOF || errors.Is(err, net.ErrClosed) || isReset(err) {
			return false, errors.Join(errIdleClosed, err)
		}
		return false, fmt.Errorf("reading the answer: %w", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return false, fmt.Errorf("reading the answer: %w", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return false, fmt.Errorf("reading the body: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("answer %s, want 200", resp.Status)
	}
	return !resp.Close, nil
}

// isReset reports whether err is a connection reset by the server.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
