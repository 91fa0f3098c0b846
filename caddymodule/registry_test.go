package caddymodule

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"golang.org/x/net/websocket"
)

// runningHandler finds the helpdesk_apps handler of the running Caddy.
func runningHandler(t *testing.T) *Handler {
	t.Helper()
	app, err := caddy.ActiveContext().App("http")
	if err != nil {
		t.Fatal(err)
	}
	var found *Handler
	var walk func(caddyhttp.RouteList)
	walk = func(routes caddyhttp.RouteList) {
		for _, r := range routes {
			for _, mh := range r.Handlers {
				switch h := mh.(type) {
				case *Handler:
					found = h
				case *caddyhttp.Subroute:
					walk(h.Routes)
				}
			}
		}
	}
	for _, srv := range app.(*caddyhttp.App).Servers {
		walk(srv.Routes)
	}
	if found == nil {
		t.Fatal("no helpdesk_apps handler in the running config")
	}
	return found
}

// with returns a copy of cfg changed by edit.
func with(cfg *AppConfig, edit func(*AppConfig)) *AppConfig {
	c := *cfg
	edit(&c)
	return &c
}

// TestRegistrySwapsUnderLoad swaps the registry 1,000 times while 32
// clients use an app present in every snapshot: some swaps change only its
// name and order (its backend is kept), some its backend's JSON (the old
// one retires while its requests finish), some delete another app (whose
// backend stops). No request may fail.
func TestRegistrySwapsUnderLoad(t *testing.T) {
	up1, up2 := newUpstream(t), newUpstream(t)
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			hmac_secret %s
		}
		app load {
			to %s
		}
		app other {
			to %s
		}
	}`, testSecret, up1.URL, up2.URL))
	h := runningHandler(t)
	load, other := h.Apps[0], h.Apps[1]
	variants := [][]*AppConfig{
		{load, other},
		{with(load, func(c *AppConfig) { c.Name, c.Order = "Renamed", 5 }), other},
		{with(load, func(c *AppConfig) { c.BackendRaw = other.BackendRaw })},
		{with(load, func(c *AppConfig) { c.Favorite = true }), with(other, func(c *AppConfig) { c.Disabled = true })},
	}
	tok := bearerToken(t)

	clients := startLoad(base+"/apps/load/echo", tok)
	for i := range 1000 {
		if err := h.apply(variants[i%len(variants)]); err != nil {
			t.Fatalf("swap %d: %v", i, err)
		}
	}
	clients.check(t, "1,000 swaps")
	if got := h.reg.Load().revision; got != 1001 {
		t.Errorf("revision %d after 1,000 swaps; want 1001", got)
	}
}

// loadClients are 32 clients that GET one URL with a bearer token, over and over,
// counting the requests that fail.
type loadClients struct {
	stop               atomic.Bool
	requests, failures atomic.Int64
	firstFailure       atomic.Value
	wg                 sync.WaitGroup
}

// startLoad starts the clients.
func startLoad(url, tok string) *loadClients {
	l := new(loadClients)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	for range 32 {
		l.wg.Go(func() {
			for !l.stop.Load() {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				l.requests.Add(1)
				if err != nil || resp.StatusCode != http.StatusOK {
					l.failures.Add(1)
					l.firstFailure.CompareAndSwap(nil, fmt.Sprintf("%v %v", resp, err))
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		})
	}
	return l
}

// check stops the clients, and fails the test if any request failed, or
// if too few ran during what to tell anything.
func (l *loadClients) check(t *testing.T, during string) {
	t.Helper()
	l.stop.Store(true)
	l.wg.Wait()
	if n := l.failures.Load(); n > 0 {
		t.Errorf("%d of %d requests failed during %s; the first: %v", n, l.requests.Load(), during, l.firstFailure.Load())
	}
	if l.requests.Load() < 100 {
		t.Errorf("only %d requests ran during %s", l.requests.Load(), during)
	}
	t.Logf("%d requests during %s", l.requests.Load(), during)
}

// A failed compile keeps the current registry, and stops what it loaded.
func TestRegistryKeepsTheLastGoodSnapshot(t *testing.T) {
	up := newUpstream(t)
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			hmac_secret %s
		}
		app a {
			to %s
		}
	}`, testSecret, up.URL))
	h := runningHandler(t)
	a := h.Apps[0]
	live := func() (n int) {
		h.live.Range(func(any, any) bool { n++; return true })
		return n
	}
	for _, bad := range [][]*AppConfig{
		{a, with(a, func(c *AppConfig) {
			c.ID = "b"
			c.BackendRaw = []byte(`{"handler":"reverse_proxy","upstreams":[{"dial":"127.0.0.1:1"}]}`)
		}), with(a, func(c *AppConfig) { c.ID = "_x" })},
		{a, a},
		{with(a, func(c *AppConfig) { c.BackendRaw = []byte(`{"handler":"no_such_module"}`) })},
	} {
		if err := h.apply(bad); err == nil {
			t.Errorf("apply(%d apps) succeeded; want an error", len(bad))
		}
	}
	if rev := h.reg.Load().revision; rev != 1 {
		t.Errorf("revision %d after failed swaps; want 1", rev)
	}
	if n := live(); n != 1 {
		t.Errorf("%d live backends after failed swaps; want the one in use", n)
	}
	if resp, body := get(t, base+"/apps/a/x", "", "Authorization", "Bearer "+bearerToken(t)); resp.StatusCode != 200 {
		t.Errorf("the app answers %d after failed swaps: %s", resp.StatusCode, body)
	}
}

// A WebSocket through an app stays open when only the app's name or order
// changes, and is closed when the app is disabled or deleted.
func TestRegistryWebSocketsLiveWithTheirBackend(t *testing.T) {
	ws := wsEcho(t, "echo")
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			hmac_secret %s
		}
		app chat {
			to %s
		}
	}`, testSecret, ws.URL))
	h := runningHandler(t)
	chat := h.Apps[0]
	tok := bearerToken(t)
	dial := func() *websocket.Conn { return wsDial(t, base, "/apps/chat/socket", tok) }
	roundTrip := func(conn *websocket.Conn, msg string) error {
		got, err := wsSay(conn, msg)
		if err == nil && got != "echo "+msg {
			err = fmt.Errorf("got %q", got)
		}
		return err
	}

	conn := dial()
	if err := roundTrip(conn, "hello"); err != nil {
		t.Fatal(err)
	}
	before := h.reg.Load().byID["chat"].backend
	if err := h.apply([]*AppConfig{with(chat, func(c *AppConfig) { c.Name, c.Order, c.Favorite = "Chat", 3, true })}); err != nil {
		t.Fatal(err)
	}
	if after := h.reg.Load().byID["chat"]; after.backend != before || after.Name != "Chat" {
		t.Errorf("a change of name and order replaced the backend (or kept the name %q)", after.Name)
	}
	if err := roundTrip(conn, "after a rename"); err != nil {
		t.Errorf("the WebSocket did not survive a change of name and order: %v", err)
	}

	for _, c := range []struct {
		name    string
		configs []*AppConfig
	}{
		{"disabled", []*AppConfig{with(chat, func(c *AppConfig) { c.Disabled = true })}},
		{"deleted", nil},
	} {
		if err := h.apply([]*AppConfig{chat}); err != nil {
			t.Fatal(err)
		}
		conn := dial()
		if err := roundTrip(conn, "before"); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := h.apply(c.configs); err != nil {
			t.Fatal(err)
		}
		if err := roundTrip(conn, "after"); err == nil {
			t.Errorf("the WebSocket stayed open after the app was %s", c.name)
		}
	}
}

// A backend replaced by one of other JSON keeps the WebSockets it serves
// for the grace period, and no longer; new connections go to the new one.
func TestRegistryRetiredBackendKeepsItsWebSocketsForTheGrace(t *testing.T) {
	defer func(g time.Duration) { retireGrace = g }(retireGrace)
	retireGrace = 2 * time.Second
	one, two := wsEcho(t, "one"), wsEcho(t, "two")
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			hmac_secret %s
		}
		app chat {
			to %s
		}
		app spare {
			to %s
		}
	}`, testSecret, one.URL, two.URL))
	h := runningHandler(t)
	chat, spare := h.Apps[0], h.Apps[1]
	tok := bearerToken(t)
	dial := func() *websocket.Conn { return wsDial(t, base, "/apps/chat/socket", tok) }
	say := wsSay

	old := dial()
	if got, err := say(old, "hi"); got != "one hi" {
		t.Fatalf("before: %q, %v", got, err)
	}
	if err := h.apply([]*AppConfig{with(chat, func(c *AppConfig) { c.BackendRaw = spare.BackendRaw })}); err != nil {
		t.Fatal(err)
	}
	if got, err := say(old, "still"); got != "one still" {
		t.Errorf("the replaced backend's WebSocket closed at once: %q, %v", got, err)
	}
	fresh := dial()
	if got, err := say(fresh, "new"); got != "two new" {
		t.Errorf("a new connection after the swap: %q, %v; want the new backend", got, err)
	}
	time.Sleep(retireGrace + time.Second)
	if got, err := say(old, "late"); err == nil {
		t.Errorf("the replaced backend's WebSocket outlived the grace: %q", got)
	}
	if got, err := say(fresh, "again"); got != "two again" {
		t.Errorf("the new backend's WebSocket: %q, %v", got, err)
	}
}

// wsEcho starts a WebSocket server that answers each message with name,
// a space and the message.
func wsEcho(t *testing.T, name string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(websocket.Server{
		Handshake: func(*websocket.Config, *http.Request) error { return nil },
		Handler: func(c *websocket.Conn) {
			var msg string
			for websocket.Message.Receive(c, &msg) == nil {
				if websocket.Message.Send(c, name+" "+msg) != nil {
					return
				}
			}
		},
	})
	t.Cleanup(srv.Close)
	return srv
}

// wsDial opens a WebSocket to path of the gateway at base, signed in with
// the bearer token tok, closed when the test ends.
func wsDial(t *testing.T, base, path, tok string) *websocket.Conn {
	t.Helper()
	cfg, err := websocket.NewConfig(strings.Replace(base, "http", "ws", 1)+path, base)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Header.Set("Authorization", "Bearer "+tok)
	conn, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// wsSay sends msg on conn and returns the answer, waiting 2 s at most.
func wsSay(conn *websocket.Conn, msg string) (string, error) {
	if err := websocket.Message.Send(conn, msg); err != nil {
		return "", err
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	var got string
	err := websocket.Message.Receive(conn, &got)
	return got, err
}

// bearerToken is an agent's token for a gateway whose session names no
// issuer or audience.
func bearerToken(t *testing.T) string {
	c := agent("agent", 3)
	c.Issuer, c.Audience = "", nil
	return token(t, c)
}
