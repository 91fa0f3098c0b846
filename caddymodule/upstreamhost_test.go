package caddymodule

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/headers"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

func TestSetHostInTransportOnlyTakesTheLoneHostOperation(t *testing.T) {
	hostOp := func() http.Header { return http.Header{"Host": {upstreamHostPlaceholder}} }
	for _, c := range []struct {
		name  string
		ops   *headers.Handler
		moved bool
	}{
		{"host only", &headers.Handler{Request: &headers.HeaderOps{Set: hostOp()}}, true},
		{"no operations", nil, false},
		{"another host", &headers.Handler{Request: &headers.HeaderOps{Set: http.Header{"Host": {"example.com"}}}}, false},
		{"two values", &headers.Handler{Request: &headers.HeaderOps{Set: http.Header{"Host": {upstreamHostPlaceholder, "x"}}}}, false},
		{"another set", &headers.Handler{Request: &headers.HeaderOps{Set: http.Header{"Host": {upstreamHostPlaceholder}, "X-A": {"1"}}}}, false},
		{"an add", &headers.Handler{Request: &headers.HeaderOps{Set: hostOp(), Add: http.Header{"X-A": {"1"}}}}, false},
		{"a delete", &headers.Handler{Request: &headers.HeaderOps{Set: hostOp(), Delete: []string{"X-A"}}}, false},
		{"a replace", &headers.Handler{Request: &headers.HeaderOps{Set: hostOp(), Replace: map[string][]headers.Replacement{"X-A": {{Search: "a", Replace: "b"}}}}}, false},
		{"response operations", &headers.Handler{Request: &headers.HeaderOps{Set: hostOp()}, Response: &headers.RespHeaderOps{HeaderOps: &headers.HeaderOps{Delete: []string{"Server"}}}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ht := new(reverseproxy.HTTPTransport)
			rp := &reverseproxy.Handler{Headers: c.ops, Transport: ht}
			setHostInTransport(rp)
			_, moved := rp.Transport.(upstreamHostTransport)
			if moved != c.moved {
				t.Fatalf("moved = %v; want %v", moved, c.moved)
			}
			if moved && rp.Headers != nil {
				t.Error("the header operation was moved but is still applied")
			}
			if !moved && (rp.Headers != c.ops || rp.Transport != ht) {
				t.Error("a proxy that does not qualify was changed")
			}
		})
	}

	// Another transport keeps the operation.
	rp := &reverseproxy.Handler{Headers: &headers.Handler{Request: &headers.HeaderOps{Set: hostOp()}}, Transport: http.DefaultTransport}
	setHostInTransport(rp)
	if rp.Headers == nil || rp.Transport != http.DefaultTransport {
		t.Error("a proxy with a transport other than Caddy's HTTP transport was changed")
	}
}

// TestUpstreamHostFollowsTheChosenUpstream sends requests through `to`
// with two upstreams, and through a reverse_proxy block with the usual
// `header_up Host {upstream_hostport}` alone and beside another operation:
// every upstream must see its own host, and X-Forwarded-Host the client's.
func TestUpstreamHostFollowsTheChosenUpstream(t *testing.T) {
	a, b := newUpstream(t), newUpstream(t)
	url := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps /apps {
		session {
			cookie hd_session
			hmac_secret %s
		}
		app two {
			to %[2]s %[3]s
		}
		app block {
			reverse_proxy %[2]s %[3]s {
				lb_policy round_robin
				header_up Host {upstream_hostport}
			}
		}
		app more {
			reverse_proxy %[2]s %[3]s {
				lb_policy round_robin
				header_up Host {upstream_hostport}
				header_up X-Extra yes
			}
		}
	}`, testSecret, a.URL, b.URL))
	tok := token(t, agent("agent", 3))
	client := strings.TrimPrefix(url, "http://")
	for _, app := range []string{"two", "block", "more"} {
		before := [2]int{a.requests(), b.requests()}
		for range 16 {
			resp, body := get(t, url+"/apps/"+app+"/echo", tok)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d: %s", app, resp.StatusCode, body)
			}
			s := decodeSeen(t, body)
			if s.Host != a.hostport() && s.Host != b.hostport() {
				t.Errorf("%s: upstream saw Host %q; want its own host", app, s.Host)
			}
			if got := s.Header.Get("X-Forwarded-Host"); got != client {
				t.Errorf("%s: X-Forwarded-Host = %q; want the client's %q", app, got, client)
			}
			if app == "more" && s.Header.Get("X-Extra") != "yes" {
				t.Errorf("%s: the other header operation was lost", app)
			}
		}
		if a.requests() == before[0] || b.requests() == before[1] {
			t.Fatalf("%s: one upstream got no request; the test proves nothing", app)
		}
	}
	for _, u := range []*upstream{a, b} {
		u.mu.Lock()
		for _, s := range u.reqs {
			if s.Host != u.hostport() {
				t.Errorf("upstream %s saw Host %q; want its own", u.hostport(), s.Host)
			}
		}
		u.mu.Unlock()
	}
}
