package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/net/websocket"
)

// maxBigGrowth is the most the gateway's peak RSS may grow while it streams
// the big HTML body through injection and link rewriting.
const maxBigGrowth = 32 << 20

// big streams one big HTML document through each server, rounds times,
// alternately, and reports how far each one's peak RSS rose over its RSS
// before the download (the worst round) and the median download speed.
func (r *runner) big(ctx context.Context) error {
	name := fmt.Sprintf("%d MB HTML streamed, injection + link rewriting", r.cfg.bigSize>>20)
	t := r.pageTarget(linksAppID, fmt.Sprintf("/big?size=%d", r.cfg.bigSize))
	logf("%s: %d rounds per server", name, r.cfg.rounds)
	servers := []*server{r.st.plain, r.st.gateway}
	urls := []string{t.plainURL, t.gatewayURL}
	growth := make([]int64, len(servers))
	speeds := make([][]float64, len(servers))
	for range r.cfg.rounds {
		for i, s := range servers {
			g, speed, err := r.download(ctx, s, urls[i], t, s == r.st.gateway)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			growth[i] = max(growth[i], g)
			speeds[i] = append(speeds[i], speed)
		}
	}
	r.rep.add(name, "peak RSS growth MB", mb(growth[0]), mb(growth[1]), fmtMB, "gateway <= 32 MB",
		func(_, g float64) bool { return g <= mb(maxBigGrowth) })
	r.rep.add(name, "MB/s", median(speeds[0]), median(speeds[1]), fmtMB, "", nil)
	return nil
}

// download GETs url from s, discarding the body, and returns how far the
// peak RSS of s rose over its RSS before, and the speed in MB/s. The body
// must be at least the size asked (exactly, from plain), and carry t's
// marks when, and only when, it comes through the gateway.
func (r *runner) download(ctx context.Context, s *server, url string, t target, gateway bool) (int64, float64, error) {
	if err := resetPeak(s.pid); err != nil {
		return 0, 0, err
	}
	before, err := readMemory(s.pid)
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header = t.header
	start := time.Now()
	resp, err := noCompression.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	head := make([]byte, 64<<10)
	n, err := io.ReadFull(resp.Body, head)
	if err != nil {
		return 0, 0, fmt.Errorf("GET %s: %w", url, err)
	}
	rest, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, 0, fmt.Errorf("GET %s: %w", url, err)
	}
	elapsed := time.Since(start)
	total := int64(n) + rest
	if err := checkMarks(url, head[:n], t.marks, gateway); err != nil {
		return 0, 0, err
	}
	if total < r.cfg.bigSize || !gateway && total != r.cfg.bigSize {
		return 0, 0, fmt.Errorf("GET %s: %d bytes, want %d", url, total, r.cfg.bigSize)
	}
	after, err := readMemory(s.pid)
	if err != nil {
		return 0, 0, err
	}
	return after.peak - before.rss, float64(total) / (1 << 20) / elapsed.Seconds(), nil
}

// wsSettle is how long the connections stay idle before the RSS is read.
const wsSettle = 2 * time.Second

// websockets holds idle WebSocket connections through each server, one
// server after the other, and reports the RSS each connection costs.
func (r *runner) websockets(ctx context.Context) error {
	name := fmt.Sprintf("%d idle WebSockets", r.cfg.websockets)
	logf("%s: one round per server", name)
	t := r.targetFor(r.st.gateway.addr, appID, "/ws", r.st.hsToken)
	var perConn [2]float64
	for i, c := range []struct {
		s   *server
		url string
	}{{r.st.plain, t.plainURL}, {r.st.gateway, t.gatewayURL}} {
		growth, err := r.holdWebSockets(ctx, c.s, "ws"+c.url[len("http"):], t.header)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		perConn[i] = float64(growth) / float64(r.cfg.websockets) / 1024
	}
	r.rep.add(name, "RSS KB per connection", perConn[0], perConn[1], fmtKB, "", nil)
	return nil
}

// holdWebSockets opens the bench's number of WebSocket connections to url
// through s, echoes one message on each, lets them idle, and returns the
// growth of the RSS of s. It closes them before it returns.
func (r *runner) holdWebSockets(ctx context.Context, s *server, url string, header http.Header) (int64, error) {
	before, err := readMemory(s.pid)
	if err != nil {
		return 0, err
	}
	wsCfg, err := websocket.NewConfig(url, "http://"+s.addr)
	if err != nil {
		return 0, err
	}
	wsCfg.Header = header
	conns := make([]*websocket.Conn, 0, r.cfg.websockets)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	deadline := time.Now().Add(2 * time.Minute)
	msg := []byte("ping")
	reply := make([]byte, len(msg))
	for range r.cfg.websockets {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("opened only %d connections in 2 minutes", len(conns))
		}
		c, err := websocket.DialConfig(wsCfg)
		if err != nil {
			return 0, fmt.Errorf("connection %d: %w", len(conns)+1, err)
		}
		conns = append(conns, c)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(msg); err != nil {
			return 0, fmt.Errorf("connection %d: %w", len(conns), err)
		}
		if _, err := io.ReadFull(c, reply); err != nil || !bytes.Equal(reply, msg) {
			return 0, fmt.Errorf("connection %d: echo %q, %v", len(conns), reply, err)
		}
		c.SetDeadline(time.Time{})
	}
	settle := wsSettle
	if r.cfg.smoke {
		settle = 100 * time.Millisecond
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(settle):
	}
	after, err := readMemory(s.pid)
	if err != nil {
		return 0, err
	}
	return after.rss - before.rss, nil
}
