package caddymodule

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/headers"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

func TestWrapTransportTakesOnlyTheLoneHostOperation(t *testing.T) {
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
			if !wrapTransport(rp) {
				t.Fatal("Caddy's HTTP transport was not wrapped")
			}
			at, ok := rp.Transport.(appTransport)
			if !ok || at.HTTPTransport != ht {
				t.Fatalf("transport %T; want an appTransport around the proxy's own", rp.Transport)
			}
			if at.upstreamHost != c.moved {
				t.Fatalf("Host moved into the transport: %v; want %v", at.upstreamHost, c.moved)
			}
			if c.moved && rp.Headers != nil {
				t.Error("the header operation was moved but is still applied")
			}
			if !c.moved && rp.Headers != c.ops {
				t.Error("the header operations of a proxy that does not qualify were changed")
			}
		})
	}

	// Another transport is left alone, header operation and all.
	rp := &reverseproxy.Handler{Headers: &headers.Handler{Request: &headers.HeaderOps{Set: hostOp()}}, Transport: http.DefaultTransport}
	if wrapTransport(rp) || rp.Headers == nil || rp.Transport != http.DefaultTransport {
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

// TestIdentityReachesEveryKindOfBackend sends spoofed identity headers, in
// every spelling, to a backend whose HTTP transport sets the identity
// headers (`to`, and a reverse_proxy block whose header_up tries to set
// one and to copy a spoofed one), and to a FastCGI backend, which gets them in the request itself
// and reads headers as CGI variables, folding `_`, `.` and case.
func TestIdentityReachesEveryKindOfBackend(t *testing.T) {
	up := newUpstream(t)
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps /apps {
		session {
			cookie hd_session
			hmac_secret %s
		}
		app http {
			to %s
		}
		app block {
			reverse_proxy %[2]s {
				header_up X-Helpdesk-User-Role owner
				header_up X-Copied "{http.request.header.X-Helpdesk-User-Role} {http.request.header.X_helpdesk_user_role}"
			}
		}
		app fcgi {
			reverse_proxy %[3]s {
				transport fastcgi
			}
		}
	}`, testSecret, up.URL, fcgiEcho(t)))
	hdr := []string{"Cookie", "hd_session=" + token(t, agent("agent", 3))}
	for _, name := range []string{"X-Helpdesk-User-Role", "x_helpdesk_user_role", "X.Helpdesk.User.Role", "X-Helpdesk-Assertion", "X_Helpdesk_Division_Id"} {
		hdr = append(hdr, name, "owner")
	}
	for _, app := range []string{"http", "block", "fcgi"} {
		resp, body := rawGet(t, base, "/apps/"+app+"/echo", hdr...)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", app, resp.StatusCode, body)
		}
		s := decodeSeen(t, body)
		for name, values := range s.Header {
			if strings.Contains(strings.Join(values, ","), "owner") {
				t.Errorf("%s: %s: %q reached the backend", app, name, values)
			}
		}
		for name, want := range map[string]string{"X-Helpdesk-User-Role": "agent", "X-Helpdesk-Division-Id": "3", "X-Helpdesk-User-Id": "u-1"} {
			if got := s.Header.Values(name); len(got) != 1 || got[0] != want {
				t.Errorf("%s: %s = %q; want [%q]", app, name, got, want)
			}
		}
		if got := s.Header.Values("X-Helpdesk-Assertion"); len(got) != 1 || strings.Count(got[0], ".") != 2 {
			t.Errorf("%s: X-Helpdesk-Assertion = %q; want one JWT", app, got)
		}
	}
}

// TestAssertionStaysOutOfDebugLogs runs the gateway with debug logs, in
// which Caddy's reverse_proxy logs every header of each request it sends:
// the assertion, a credential the upstream accepts, must not be among them.
func TestAssertionStaysOutOfDebugLogs(t *testing.T) {
	up := newUpstream(t)
	logFile := filepath.Join(t.TempDir(), "debug.log")
	addr := freeAddr(t)
	startCaddyfileLogging(t, "level DEBUG\n\t\toutput file "+logFile, fmt.Sprintf(`http://%s {
	bind 127.0.0.1
	helpdesk_apps /apps {
		session {
			cookie hd_session
			hmac_secret %s
		}
		app open {
			to %s
		}
	}
}`, addr, testSecret, up.URL))
	_, body := get(t, "http://"+addr+"/apps/open/echo", token(t, agent("agent", 3)))
	assertion := decodeSeen(t, body).Header.Get("X-Helpdesk-Assertion")
	if assertion == "" {
		t.Fatal("the upstream got no assertion")
	}
	var log []byte
	for range 50 { // the log file is written as entries come
		if log, _ = os.ReadFile(logFile); bytes.Contains(log, []byte("upstream roundtrip")) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !bytes.Contains(log, []byte("upstream roundtrip")) || !bytes.Contains(log, []byte("X-Forwarded-Prefix")) {
		t.Fatalf("no debug entry of the proxied request's headers in the log:\n%s", log)
	}
	_, sig, _ := strings.Cut(assertion[strings.IndexByte(assertion, '.')+1:], ".")
	if bytes.Contains(log, []byte(sig)) || bytes.Contains(log, []byte("X-Helpdesk-Assertion")) {
		t.Errorf("the assertion is in the debug log:\n%s", log)
	}
}
