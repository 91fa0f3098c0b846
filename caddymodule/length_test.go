package caddymodule

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdeskapps/gateway/caddymodule/htmlstream"
)

// TestInjectedResponseLength drives the response writer as a backend
// would, and checks the Content-Length the client is sent against the
// body it gets: grown by the shim when the first bytes tell that it goes
// in, kept when they tell that it does not, and dropped (chunked encoding)
// when the header must go before they tell.
func TestInjectedResponseLength(t *testing.T) {
	const shim = `<script src="/apps/_bridge/client.js"></script>`
	page := "<!doctype html><html><head><title>t</title></head><body>" + strings.Repeat("x", 5000) + "</body></html>"
	utf16 := "\xFF\xFE<\x00p\x00>\x00"
	for _, c := range []struct {
		name     string
		chunks   []string
		length   string // the backend's Content-Length; "" for none
		flush    bool   // flush before the body
		readFrom bool   // copy the body with ReadFrom
		want     string // Content-Length sent; "" for none
	}{
		{name: "page", chunks: []string{page[:100], page[100:]}, length: strconv.Itoa(len(page)), want: strconv.Itoa(len(page) + len(shim))},
		{name: "page by ReadFrom", chunks: []string{page}, length: strconv.Itoa(len(page)), readFrom: true, want: strconv.Itoa(len(page) + len(shim))},
		{name: "utf-16", chunks: []string{utf16}, length: strconv.Itoa(len(utf16)), want: strconv.Itoa(len(utf16))},
		{name: "first byte undecided", chunks: []string{"\xFE", "<p>x</p>"}, length: "9"},
		{name: "lone byte", chunks: []string{"\xFE"}, length: "1", want: strconv.Itoa(1 + len(shim))},
		{name: "flush first", chunks: []string{page}, length: strconv.Itoa(len(page)), flush: true},
		{name: "empty", length: "0", want: "0"},
		{name: "body missing", length: "10"},
		{name: "no length", chunks: []string{page}},
		{name: "bad length", chunks: []string{page}, length: "+" + strconv.Itoa(len(page))},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/apps/x/", nil)
			req.Header.Set("Sec-Fetch-Dest", "iframe")
			s := &site{ancestors: "'self'", metrics: newMetrics(prometheus.NewRegistry())}
			app := &App{AppConfig: AppConfig{ID: "x"}, prefix: "/apps/x", path: "/apps/x/", shim: []byte(shim)}
			rw := newResponseWriter(rec, req, s, app, "/")
			rw.askForBody()
			rw.Header().Set("Content-Type", "text/html")
			if c.length != "" {
				rw.Header().Set("Content-Length", c.length)
			}
			rw.WriteHeader(http.StatusOK)
			if rec.Code != http.StatusOK && rec.Code != 0 {
				t.Fatalf("status %d", rec.Code)
			}
			if c.flush {
				if err := rw.FlushError(); err != nil {
					t.Fatal(err)
				}
			}
			body := strings.Join(c.chunks, "")
			if c.readFrom {
				if _, err := rw.ReadFrom(strings.NewReader(body)); err != nil {
					t.Fatal(err)
				}
			} else {
				for _, chunk := range c.chunks {
					if _, err := io.WriteString(rw, chunk); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := rw.close(); err != nil {
				t.Fatal(err)
			}

			var want bytes.Buffer
			in := htmlstream.NewInjector(&want, []byte(shim))
			io.WriteString(in, body)
			in.Close()
			res := rec.Result()
			got, _ := io.ReadAll(res.Body)
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("body %.80q…; want %.80q…", got, want.Bytes())
			}
			if cl := res.Header.Get("Content-Length"); cl != c.want {
				t.Fatalf("Content-Length %q; want %q (body of %d bytes)", cl, c.want, len(got))
			}
			if c.want != "" && c.want != strconv.Itoa(len(got)) {
				t.Fatalf("test case: want Content-Length %s for a %d-byte body", c.want, len(got))
			}
		})
	}
}

// TestInjectedPageKeepsItsLength checks through the gateway that a page
// with a Content-Length keeps one, grown by the shim, and is not chunked.
func TestInjectedPageKeepsItsLength(t *testing.T) {
	base, _ := startInjectingGateway(t)
	// Larger than what net/http buffers, measuring it, before it sends a
	// header.
	resp, body := get(t, base+"/apps/open/page?pad=2000", token(t, agent("agent", 1)), frameRequest...)
	want := strings.Replace(paddedPage(2000), "<head>", "<head>"+expectedShim(t), 1)
	if body != want {
		t.Fatalf("body\n%s\nwant\n%s", body, want)
	}
	if resp.ContentLength != int64(len(want)) || len(resp.TransferEncoding) > 0 {
		t.Errorf("Content-Length %d, Transfer-Encoding %v; want %d and none", resp.ContentLength, resp.TransferEncoding, len(want))
	}
	// A decoded page's length is not known when its header goes.
	resp, body = get(t, base+"/apps/open/page?pad=2000&enc=gzip", token(t, agent("agent", 1)), append(frameRequest, "Accept-Encoding", "gzip")...)
	if body != want || resp.ContentLength != -1 || fmt.Sprint(resp.TransferEncoding) != "[chunked]" {
		t.Errorf("decoded page: Content-Length %d, Transfer-Encoding %v; want the injected page, chunked", resp.ContentLength, resp.TransferEncoding)
	}
}
