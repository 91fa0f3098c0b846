package caddymodule

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// TestJSONConfigErrorsNameTheProblem loads JSON configs, which skip the
// Caddyfile parser, and checks that Provision and Validate refuse each
// mistake with a message naming the app and the field.
func TestJSONConfigErrorsNameTheProblem(t *testing.T) {
	const session = `"session": {"hmac_secret": "` + testSecret + `"}`
	const backend = `"backend": {"handler": "static_response"}`
	cases := []struct{ name, handler, want string }{
		{"no session", `"apps": [{"id": "crm", ` + backend + `}]`, "session: required"},
		{"short secret", `"session": {"hmac_secret": "short"}`, "session: hmac_secret: hmac secret too short for HS256: 5 bytes, need at least 32"},
		{"secret placeholder unset", `"session": {"hmac_secret": "{env.HELPDESK_TEST_UNSET_VARIABLE}"}`, "session: hmac_secret: empty (is its placeholder set?)"},
		{"no key", `"session": {"cookie": "s"}`, "session: give exactly one of hmac_secret, public_key and jwks"},
		{"bad cookie name", `"session": {"cookie": "hd session", "hmac_secret": "` + testSecret + `"}`, `session: cookie "hd session": not a valid cookie name`},
		{"two keys", `"session": {"hmac_secret": "` + testSecret + `", "jwks": "http://127.0.0.1:1/jwks"}`, "session: give exactly one of"},
		{"missing public key file", `"session": {"public_key": "/nonexistent/key.pem"}`, "session: public_key: open /nonexistent/key.pem"},
		{"unknown algorithm", `"session": {"hmac_secret": "` + testSecret + `", "algorithm": "RS256"}`, "session: algorithm: unsupported hmac algorithm"},
		{"unknown claim field", `"session": {"hmac_secret": "` + testSecret + `", "claims": {"team": "t"}}`, `session: claim "team": unknown field`},
		{"bad prefix", `"prefix": "apps", ` + session, `invalid configuration: prefix "apps": must begin with /`},
		{"bad frame ancestor", `"frame_ancestors": ["*"], ` + session, `invalid configuration: frame ancestor "*"`},
		{"bad id", session + `, "apps": [{"id": "Bad_Id", ` + backend + `}]`, `app "Bad_Id": id:`},
		{"reserved id", session + `, "apps": [{"id": "_bridge", ` + backend + `}]`, `app "_bridge": id: names beginning with _ are reserved`},
		{"duplicate id", session + `, "apps": [{"id": "crm", ` + backend + `}, {"id": "crm", ` + backend + `}]`, `app "crm": duplicate id`},
		{"unknown placement", session + `, "apps": [{"id": "crm", "placement": "footer", ` + backend + `}]`, `app "crm": placement "footer"`},
		{"unknown mode", session + `, "apps": [{"id": "crm", "mode": "modal", ` + backend + `}]`, `app "crm": mode "modal"`},
		{"unknown role", session + `, "apps": [{"id": "crm", "roles": ["root"], ` + backend + `}]`, `app "crm": roles: unknown role "root"`},
		{"no backend", session + `, "apps": [{"id": "crm"}]`, `app "crm": backend: required`},
		{"leeway too long", `"session": {"hmac_secret": "` + testSecret + `", "leeway": "10m"}`, `session: leeway 10m0s: must be from 0s (none) to 5m0s`},
		{"negative leeway", `"session": {"hmac_secret": "` + testSecret + `", "leeway": "-1s"}`, `session: leeway -1s: must be from 0s (none) to 5m0s`},
		{"identity header on another's default", session + `, "identity_headers": {"user_id": "X-Helpdesk-User-Email"}`, `identity header "X-Helpdesk-User-Email": also the header of user_id`},
		{"two identity fields in one header", session + `, "identity_headers": {"user_id": "X-Who", "email": "x-who"}`, `identity header "X-Who": also the header of user_id`},
		{"identity header Cookie", session + `, "identity_headers": {"user_id": "Cookie"}`, `identity header "Cookie": a header HTTP or the gateway itself uses`},
		{"identity header Content-Length", session + `, "identity_headers": {"name": "content-length"}`, `identity header "content-length": a header`},
		{"identity header X-Forwarded-For", session + `, "identity_headers": {"email": "X_Forwarded_For"}`, `identity header "X_Forwarded_For": a header`},
		{"null app", session + `, "apps": [{"id": "crm", ` + backend + `}, null]`, `apps[1]: null`},
		{"assertion ttl too short", `"assertion_ttl": 1, ` + session, `assertion_ttl 1ns: must be from 1s to 5m0s`},
		{"assertion ttl too long", `"assertion_ttl": "6m", ` + session, `assertion_ttl 6m0s: must be from 1s to 5m0s`},
		{"unknown backend module", session + `, "apps": [{"id": "crm", "backend": {"handler": "nope"}}]`, `app "crm": loading backend`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := fmt.Sprintf(`{"admin": {"disabled": true}, "apps": {"http": {"servers": {"s": {
				"listen": ["127.0.0.1:0"],
				"routes": [{"handle": [{"handler": "helpdesk_apps", %s}]}]}}}}}`, c.handler)
			err := caddy.Validate(mustConfig(t, cfg))
			if err == nil {
				t.Fatalf("config accepted; want an error containing %q", c.want)
			}
			// What the module says comes first after Caddy's chain of
			// modules, naming the directive or the app.
			_, own, _ := strings.Cut(err.Error(), "http.handlers.helpdesk_apps: ")
			if !strings.HasPrefix(own, c.want) {
				t.Errorf("error %q\ndoes not say %q after naming the module", err, c.want)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Error("the error reveals the secret")
			}
		})
	}
}

// TestSessionLeeway checks that an unset leeway is the default and that
// `leeway 0s` means none, not the default.
func TestSessionLeeway(t *testing.T) {
	zero, minute := caddy.Duration(0), caddy.Duration(time.Minute)
	for _, c := range []struct {
		leeway *caddy.Duration
		want   time.Duration
	}{{nil, session.DefaultLeeway}, {&zero, 0}, {&minute, time.Minute}} {
		sc := &SessionConfig{HMACSecret: testSecret, Leeway: c.leeway}
		_, v, err := sc.provision(caddy.Context{}, zap.NewNop(), newMetrics(prometheus.NewRegistry()))
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Leeway(); got != c.want {
			t.Errorf("leeway %v: the verifier tolerates %s; want %s", c.leeway, got, c.want)
		}
	}
}

// TestPlainHTTPKeySetIsWarnedAbout checks the start-up warning for a key
// set fetched over plain http from another machine, and its absence for
// https and for this machine.
func TestPlainHTTPKeySetIsWarnedAbout(t *testing.T) {
	for _, c := range []struct {
		url  string
		warn bool
	}{
		{"http://192.0.2.1/jwks.json", true},
		{"https://192.0.2.1/jwks.json", false},
		{"http://127.0.0.1:1/jwks.json", false},
		{"http://localhost:1/jwks.json", false},
	} {
		core, logs := observer.New(zap.WarnLevel)
		ctx, cancel := context.WithCancel(t.Context())
		if _, _, err := (&SessionConfig{JWKS: c.url}).provision(caddy.Context{Context: ctx}, zap.New(core), newMetrics(prometheus.NewRegistry())); err != nil {
			t.Fatal(err)
		}
		cancel() // the start-up fetch ends without a warning of its own
		if got := logs.FilterMessageSnippet("plain http").Len() > 0; got != c.warn {
			t.Errorf("%s: warned %v; want %v", c.url, got, c.warn)
		}
	}
}
