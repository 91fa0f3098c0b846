package caddymodule

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/net/websocket"
)

// startStreamingGateway runs the gateway with one app, `live`, whose
// upstream serves a WebSocket echo at /ws and an SSE stream at /events that
// sends its second event only after the test has read the first.
func startStreamingGateway(t *testing.T) (base string, release chan struct{}) {
	t.Helper()
	release = make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/ws", websocket.Handler(func(ws *websocket.Conn) {
		for {
			var msg string
			if err := websocket.Message.Receive(ws, &msg); err != nil {
				return
			}
			if err := websocket.Message.Send(ws, "echo: "+msg); err != nil {
				return
			}
		}
	}))
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Frame-Options", "DENY")
		fmt.Fprint(w, "data: first\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: second\n\n")
	})
	up := httptest.NewServer(mux)
	t.Cleanup(up.Close)

	base = startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			hmac_secret %s
			issuer https://helpdesk.test
		}
		app live {
			to %s
		}
	}`, testSecret, up.URL))
	return base, release
}

func TestWebSocketEchoThroughApp(t *testing.T) {
	base, _ := startStreamingGateway(t)
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/apps/live/ws"

	cfg, err := websocket.NewConfig(wsURL, base)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Header.Set("Cookie", "hd_session="+token(t, agent("agent", 3)))
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatalf("dial through the gateway: %v", err)
	}
	defer ws.Close()
	_ = ws.SetDeadline(time.Now().Add(5 * time.Second))
	for _, msg := range []string{"hello", "again"} {
		if err := websocket.Message.Send(ws, msg); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := websocket.Message.Receive(ws, &got); err != nil {
			t.Fatal(err)
		}
		if got != "echo: "+msg {
			t.Errorf("got %q; want %q", got, "echo: "+msg)
		}
	}
}

func TestWebSocketUpgradeNeedsSession(t *testing.T) {
	base, _ := startStreamingGateway(t)
	cfg, err := websocket.NewConfig("ws"+strings.TrimPrefix(base, "http")+"/apps/live/ws", base)
	if err != nil {
		t.Fatal(err)
	}
	if ws, err := websocket.DialConfig(cfg); err == nil {
		ws.Close()
		t.Fatal("upgrade without a session succeeded")
	}
}

func TestServerSentEventsStreamUnbuffered(t *testing.T) {
	base, release := startStreamingGateway(t)
	req, err := http.NewRequest(http.MethodGet, base+"/apps/live/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "hd_session", Value: token(t, agent("agent", 3))})
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("X-Frame-Options") != "" {
		t.Error("X-Frame-Options not removed from the event stream")
	}

	lines := bufio.NewReader(resp.Body)
	readEvent := func() string {
		t.Helper()
		line, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		_, _ = lines.ReadString('\n') // the blank line ending the event
		return strings.TrimSpace(line)
	}
	// The upstream holds the second event back until the first has arrived:
	// a gateway that buffered would deadlock here until the client timeout.
	if got := readEvent(); got != "data: first" {
		t.Fatalf("first event %q", got)
	}
	close(release)
	if got := readEvent(); got != "data: second" {
		t.Fatalf("second event %q", got)
	}
}

// streamedPage is an HTML page its upstream sends in two parts, flushing
// after the first: streamedFirst ends where a link rewriter can let go of
// it, after a whole tag.
const (
	streamedFirst  = "<!doctype html><html><head><title>t</title></head><body><p>first</p><a href=\"/next\">next</a>"
	streamedSecond = "<p>second</p></body></html>"
)

// startStreamedPageGateway runs the gateway with app `shim` (the shim
// injected) and app `links` (links rewritten too), whose upstream sends
// streamedFirst, in the coding the query's enc names (gzip, zstd, or
// none), flushes it, and sends streamedSecond only once the test closes
// the channel it put in releases before the request.
func startStreamedPageGateway(t *testing.T) (base string, releases chan chan struct{}) {
	t.Helper()
	releases = make(chan chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release := <-releases
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		var out io.Writer = w
		var flushEncoder func() error
		switch enc := r.URL.Query().Get("enc"); enc {
		case "gzip":
			zw := gzip.NewWriter(w)
			defer zw.Close()
			out, flushEncoder = zw, zw.Flush
			w.Header().Set("Content-Encoding", enc)
		case "zstd":
			zw, err := zstd.NewWriter(w)
			if err != nil {
				t.Error(err)
				return
			}
			defer zw.Close()
			out, flushEncoder = zw, zw.Flush
			w.Header().Set("Content-Encoding", enc)
		}
		io.WriteString(out, streamedFirst)
		if flushEncoder != nil {
			flushEncoder()
		}
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		case <-time.After(10 * time.Second):
		}
		io.WriteString(out, streamedSecond)
	}))
	t.Cleanup(up.Close)
	base = startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			hmac_secret %s
		}
		app shim {
			to %[2]s
		}
		app links {
			rewrite_links on
			to %[2]s
		}
	}`, testSecret, up.URL))
	return base, releases
}

// A page an app streams reaches the frame as it comes, compressed or not:
// what the upstream flushed is in the browser before the rest is sent.
func TestStreamedPagesFlushThroughRewriting(t *testing.T) {
	base, releases := startStreamedPageGateway(t)
	tok := token(t, agent("agent", 1))
	for _, app := range []string{"shim", "links"} {
		for _, enc := range []string{"none", "gzip", "zstd"} {
			t.Run(app+"/"+enc, func(t *testing.T) {
				release := make(chan struct{})
				releases <- release
				released := false
				defer func() {
					if !released {
						close(release)
					}
				}()
				req, err := http.NewRequest(http.MethodGet, base+"/apps/"+app+"/?enc="+enc, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.AddCookie(&http.Cookie{Name: "hd_session", Value: tok})
				for i := 0; i+1 < len(frameRequest); i += 2 {
					req.Header.Set(frameRequest[i], frameRequest[i+1])
				}
				req.Header.Set("Accept-Encoding", "identity")
				resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()

				// Read until the first part is in; the upstream sends
				// the second only after that.
				var got strings.Builder
				firstIn := make(chan error, 1)
				go func() {
					buf := make([]byte, 1024)
					for !strings.Contains(got.String(), "<p>first</p>") {
						n, err := resp.Body.Read(buf)
						got.Write(buf[:n])
						if err != nil {
							firstIn <- err
							return
						}
					}
					firstIn <- nil
				}()
				select {
				case err := <-firstIn:
					if err != nil {
						t.Fatalf("reading the first part: %v", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("what the upstream flushed did not reach the client")
				}
				released = true
				close(release)
				rest, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				page := got.String() + string(rest)
				if !strings.HasPrefix(page, "<!doctype html><html><head><script src=\"/apps/_bridge/client.js") {
					t.Errorf("no shim after <head>: %q", page)
				}
				wantLink := `href="/next"`
				if app == "links" {
					wantLink = `href="/apps/links/next"`
				}
				if !strings.Contains(page, wantLink) || !strings.HasSuffix(page, streamedSecond) {
					t.Errorf("page %q; want %s and the second part at the end", page, wantLink)
				}
			})
		}
	}
}
