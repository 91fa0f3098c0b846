package caddymodule

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
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

// TestToolKeepsItsOwnAuthorizationButNeverTheHelpdesks: a tool that signs
// its users in with HTTP Basic, or takes a token of its own, gets its
// Authorization header; a Helpdesk token gets through in no form, valid or
// expired, whichever the session sources.
func TestToolKeepsItsOwnAuthorizationButNeverTheHelpdesks(t *testing.T) {
	up := newUpstream(t)
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	session := agent("agent", 3)
	expired := agent("admin", 3)
	expired.Expiry = jwt.NewNumericDate(time.Now().Add(-time.Hour))
	expired.IssuedAt = jwt.NewNumericDate(time.Now().Add(-2 * time.Hour))
	tok, old := token(t, session), token(t, expired)
	for _, bearer := range []string{"", "bearer"} {
		t.Run("sources cookie "+bearer, func(t *testing.T) {
			base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			cookie hd_session
			%s
			hmac_secret %s
			issuer https://helpdesk.test
			audience helpdesk-apps
		}
		app tool {
			to %s
		}
	}`, bearer, testSecret, up.URL))
			cases := []struct {
				auth string
				kept bool
			}{
				{basic("ana", "s3cret"), true},
				{"Digest username=\"ana\", realm=\"tool\"", true},
				{"Token tool-own-token", true},
				{"Bearer tool-own-token", bearer == ""}, // with a bearer source, the request has no other bearer than its session's
				{"Bearer " + old, false},
				{"Token " + tok, false},
				{basic("ana", tok), false},
				{basic("ana", old), false},
				{old, false},
			}
			for _, c := range cases {
				resp, body := get(t, base+"/apps/tool/echo", tok, "Authorization", c.auth)
				if resp.StatusCode != http.StatusOK {
					if bearer != "" && strings.HasPrefix(c.auth, "Bearer ") {
						continue // a bearer that is not the session's: refused before the tool (401)
					}
					t.Fatalf("%q: status %d: %s", c.auth, resp.StatusCode, body)
				}
				got := decodeSeen(t, body).Header.Values("Authorization")
				if c.kept && (len(got) != 1 || got[0] != c.auth) {
					t.Errorf("%q: the tool got Authorization %q; want it as sent", c.auth, got)
				}
				if !c.kept && len(got) > 0 {
					t.Errorf("%q: a Helpdesk token reached the tool: %q", c.auth, got)
				}
			}
			if bearer != "" {
				// Signed in by bearer alone: the token goes, the tool's
				// Basic sign-in in a second header stays.
				req, _ := http.NewRequest(http.MethodGet, base+"/apps/tool/echo", nil)
				req.Header["Authorization"] = []string{"Bearer " + tok, basic("ana", "s3cret")}
				resp, body := do(t, req)
				if got := decodeSeen(t, body).Header.Values("Authorization"); resp.StatusCode != 200 || len(got) != 1 || got[0] != basic("ana", "s3cret") {
					t.Errorf("bearer session with the tool's Basic: %d, the tool got %q", resp.StatusCode, got)
				}
			}
		})
	}
}
