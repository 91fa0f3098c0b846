package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestReadAnswer(t *testing.T) {
	for _, c := range []struct {
		name, in string
		keep     bool
		bad      bool
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", true, false},
		{"no reason", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", true, false},
		{"chunked", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nX-T: 1\r\n\r\n", true, false},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi", false, false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", false, false},
		{"ends with the connection", "HTTP/1.1 200 OK\r\n\r\nhello", false, false},
		{"404", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false, true},
		{"2000", "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", false, true},
		{"not HTTP", "SSH-2.0-OpenSSH\r\n", false, true},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello", false, true},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, true},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, true},
		{"chunk without line end", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhiX\r\n0\r\n\r\n", false, true},
		{"gzip transfer coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, true},
		{"header without colon", "HTTP/1.1 200 OK\r\nbroken\r\n\r\n", false, true},
	} {
		in := c.in
		if !c.bad {
			in += "NEXT"
		}
		br := bufio.NewReader(strings.NewReader(in))
		keep, err := readAnswer(br)
		if (err != nil) != c.bad || keep != c.keep {
			t.Errorf("%s: keep %v, error %v; want keep %v, error %v", c.name, keep, err, c.keep, c.bad)
			continue
		}
		if rest, _ := io.ReadAll(br); !c.bad && c.keep && string(rest) != "NEXT" {
			t.Errorf("%s: %q left after the answer, want the next one", c.name, rest)
		}
	}
}

// TestGoGeneratorReadsEveryKindOfAnswer runs the Go generator against
// servers that answer with a length, in chunks, and closing every
// connection, and checks that it counts every request the server saw.
func TestGoGeneratorReadsEveryKindOfAnswer(t *testing.T) {
	for _, c := range []struct {
		name      string
		keepAlive bool
		chunked   bool
	}{
		{"length", true, false},
		{"chunked", true, true},
		{"connection close", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var served atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-Bench") != "yes" {
					http.Error(w, "no header", http.StatusBadRequest)
					return
				}
				served.Add(1)
				io.WriteString(w, strings.Repeat("x", 3000))
				if c.chunked {
					w.(http.Flusher).Flush()
				}
				io.WriteString(w, strings.Repeat("y", 3000))
			}))
			srv.Config.SetKeepAlivesEnabled(c.keepAlive)
			srv.Start()
			defer srv.Close()
			res, err := goGenerator{}.run(context.Background(), load{
				url: srv.URL + "/x", header: http.Header{"X-Bench": {"yes"}}, conns: 3, duration: 300 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.requests == 0 || res.requests != served.Load() || res.p99 < res.p50 {
				t.Errorf("%d requests counted, %d served; p50 %v, p99 %v", res.requests, served.Load(), res.p50, res.p99)
			}
		})
	}
}

func TestGoGeneratorHoldsItsRate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	res, err := goGenerator{}.run(context.Background(), load{url: srv.URL, conns: 4, duration: time.Second, rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	if res.requests < 190 || res.requests > 201 {
		t.Errorf("%d requests in 1s at 200 req/s", res.requests)
	}
}

func TestGoGeneratorFailsOnAnError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	if _, err := (goGenerator{}).run(context.Background(), load{url: srv.URL, conns: 2, duration: time.Second}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("error %v, want one for the 404", err)
	}
}

// TestGoGeneratorRedialsIdleClosedConnections has the server close each
// connection between two requests, as a server does when its idle timeout
// passes: the generator sends the request again on a new connection.
func TestGoGeneratorRedialsIdleClosedConnections(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.IdleTimeout = 5 * time.Millisecond
	srv.Start()
	defer srv.Close()
	res, err := goGenerator{}.run(context.Background(), load{url: srv.URL, conns: 1, duration: 500 * time.Millisecond, rate: 40})
	if err != nil {
		t.Fatal(err)
	}
	if res.requests < 18 {
		t.Errorf("%d requests in 0.5s at 40 req/s", res.requests)
	}
}
