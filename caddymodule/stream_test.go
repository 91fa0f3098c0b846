package caddymodule

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
