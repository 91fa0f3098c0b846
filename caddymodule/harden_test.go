package caddymodule

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestClientTrailersNeverReachTheUpstream sends a chunked body whose
// declared trailers spell identity headers, the Helpdesk's credentials,
// X-Forwarded-Prefix, the header a reverse_proxy block sets with header_up
// (X-Webauth-User, as for Grafana) and one of the app's own: none may reach
// the upstream, which reads the body to the end and reports its trailers.
func TestClientTrailersNeverReachTheUpstream(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"body": string(body), "header": r.Header, "trailer": r.Trailer})
	}))
	t.Cleanup(up.Close)
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
				header_up X-Webauth-User {helpdesk.user.email}
			}
		}
	}`, testSecret, up.URL))
	owned := []string{"X-Helpdesk-User-Role", "x_helpdesk_user_id", "X.Helpdesk.Division.Id", "X-Helpdesk-Assertion",
		"Authorization", "Cookie", "X-Forwarded-Prefix", "X-Webauth-User", "X-Checksum"}
	for _, app := range []string{"http", "block"} {
		t.Run(app, func(t *testing.T) {
			var req strings.Builder
			fmt.Fprintf(&req, "POST /apps/%s/echo HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", app, strings.TrimPrefix(base, "http://"))
			fmt.Fprintf(&req, "Cookie: hd_session=%s\r\nTransfer-Encoding: chunked\r\n", token(t, agent("agent", 3)))
			fmt.Fprintf(&req, "Trailer: %s\r\n\r\n5\r\nhello\r\n0\r\n", strings.Join(owned, ", "))
			for _, name := range owned {
				fmt.Fprintf(&req, "%s: owner\r\n", name)
			}
			req.WriteString("\r\n")
			resp, body := rawExchange(t, base, req.String())
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var got struct {
				Body    string      `json:"body"`
				Header  http.Header `json:"header"`
				Trailer http.Header `json:"trailer"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if got.Body != "hello" {
				t.Errorf("body %q; want hello", got.Body)
			}
			if len(got.Trailer) > 0 {
				t.Errorf("trailers %v reached the upstream; want none", got.Trailer)
			}
			for name, values := range got.Header {
				if strings.Contains(strings.Join(values, ","), "owner") {
					t.Errorf("header %s: %q reached the upstream", name, values)
				}
			}
			if v := got.Header.Get("X-Helpdesk-User-Role"); v != "agent" {
				t.Errorf("X-Helpdesk-User-Role = %q; want agent", v)
			}
			if want := map[string]string{"block": "ana@example.com"}[app]; got.Header.Get("X-Webauth-User") != want {
				t.Errorf("X-Webauth-User = %q; want %q", got.Header.Get("X-Webauth-User"), want)
			}
		})
	}
}

// TestConnectionCannotDropIdentity names identity headers and
// X-Forwarded-Prefix in Connection, which makes a proxy delete them as
// hop-by-hop after the gateway has set them: every kind of backend must
// still receive them.
func TestConnectionCannotDropIdentity(t *testing.T) {
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
		app fcgi {
			reverse_proxy %[3]s {
				transport fastcgi
			}
		}
	}`, testSecret, up.URL, fcgiEcho(t)))
	for _, app := range []string{"http", "fcgi"} {
		resp, body := rawGet(t, base, "/apps/"+app+"/echo",
			"Cookie", "hd_session="+token(t, agent("agent", 3)),
			"Connection", "X-Helpdesk-Division-Id, x_helpdesk_assertion,X-Forwarded-Prefix",
			"Connection", "X-App-Hop, X-Helpdesk-User-Id",
			"X-App-Hop", "dropped")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", app, resp.StatusCode, body)
		}
		s := decodeSeen(t, body)
		for name, want := range map[string]string{"X-Helpdesk-Division-Id": "3", "X-Helpdesk-User-Id": "u-1", "X-Forwarded-Prefix": "/apps/" + app} {
			if got := s.Header.Get(name); got != want {
				t.Errorf("%s: %s = %q; want %q", app, name, got, want)
			}
		}
		if s.Header.Get("X-Helpdesk-Assertion") == "" {
			t.Errorf("%s: no X-Helpdesk-Assertion", app)
		}
		if got := s.Header.Get("X-App-Hop"); got != "" {
			t.Errorf("%s: X-App-Hop = %q: a header the client named in Connection must still be dropped", app, got)
		}
	}
}
