package caddymodule

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/helpdeskapps/gateway/caddymodule/assertion"
	"github.com/helpdeskapps/gateway/caddymodule/session"
)

func TestIdentityHeadersComeOnlyFromVerifiedClaims(t *testing.T) {
	g := startGateway(t, "")
	spoofs := []string{
		"X-Helpdesk-User-Role", "x_helpdesk_user_role", "X-HELPDESK-USER-ROLE", "X_Helpdesk_User_Role",
		"X-Helpdesk-User-Id", "X-Helpdesk-Division-Id", "x-helpdesk-user-email", "X-Helpdesk-Assertion",
		"x.helpdesk.user.role", "X.Helpdesk.Division_Id",
	}
	hdr := []string{"Authorization", "Bearer " + token(t, agent("agent", 3))}
	for _, name := range spoofs {
		hdr = append(hdr, name, "owner")
	}
	// rawGet keeps the header names as written: Go's client would
	// canonicalise them, and servers differ in what they do with '_'.
	resp, body := rawGet(t, g.url, "/apps/open/echo", hdr...)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	s := decodeSeen(t, body)
	for name, values := range s.Header {
		if slices.Contains(values, "owner") {
			t.Errorf("spoofed header %s: %q reached the upstream", name, values)
		}
	}
	want := map[string]string{
		"X-Helpdesk-User-Id": "u-1", "X-Helpdesk-User-Name": "Ana", "X-Helpdesk-User-Email": "ana@example.com",
		"X-Helpdesk-User-Role": "agent", "X-Helpdesk-Division-Id": "3",
	}
	for name, v := range want {
		if got := s.Header.Values(name); len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q; want [%q]", name, got, v)
		}
	}
	if s.Header.Get("X-Helpdesk-Assertion") == "" {
		t.Error("no X-Helpdesk-Assertion")
	}
}

func TestIdentityHeaderNamesAreConfigurable(t *testing.T) {
	up := newUpstream(t)
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			hmac_secret %s
		}
		identity_headers {
			user_id X-Remote-User
			email off
			assertion off
		}
		app open {
			to %s
		}
	}`, testSecret, up.URL))
	c := agent("agent", 3)
	c.Issuer, c.Audience = "", nil
	_, body := rawGet(t, base, "/apps/open/echo", "Cookie", "hd_session="+token(t, c),
		"X-Helpdesk-User-Email", "spoofed@example.com", "x_remote_user", "spoofed")
	s := decodeSeen(t, body)
	if got := s.Header.Values("X-Remote-User"); len(got) != 1 || got[0] != "u-1" {
		t.Errorf("X-Remote-User = %q; want [u-1]", got)
	}
	for _, name := range []string{"X-Helpdesk-User-Id", "X-Helpdesk-User-Email", "X_remote_user", "X-Helpdesk-Assertion"} {
		if got := s.Header.Values(name); len(got) != 0 {
			t.Errorf("%s = %q; want absent (renamed, off, or spoofed)", name, got)
		}
	}
	if got := s.Header.Get("X-Helpdesk-User-Role"); got != "agent" {
		t.Errorf("X-Helpdesk-User-Role = %q; want the default header kept", got)
	}
}

// TestUpstreamVerifiesAssertionWithPublishedKeys plays the part of an app
// backend: it verifies X-Helpdesk-Assertion with the key set the gateway
// publishes, as a tool would.
func TestUpstreamVerifiesAssertionWithPublishedKeys(t *testing.T) {
	g := startGateway(t, "")
	resp, jwksBody := get(t, g.url+"/apps/_api/jwks.json", "")
	if resp.StatusCode != 200 {
		t.Fatalf("jwks.json: status %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(jwksBody), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks.json: %v, %d keys: %s", err, len(set.Keys), jwksBody)
	}
	if !set.Keys[0].IsPublic() || set.Keys[0].KeyID == "" || set.Keys[0].Algorithm != "ES256" {
		t.Fatalf("published key: public %v, kid %q, alg %q", set.Keys[0].IsPublic(), set.Keys[0].KeyID, set.Keys[0].Algorithm)
	}

	_, body := get(t, g.url+"/apps/agents/echo", token(t, agent("agent", 7)))
	signed := decodeSeen(t, body).Header.Get("X-Helpdesk-Assertion")
	tok, err := jwt.ParseSigned(signed, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if kid := tok.Headers[0].KeyID; kid != set.Keys[0].KeyID {
		t.Errorf("assertion kid %q; published %q", kid, set.Keys[0].KeyID)
	}
	var std jwt.Claims
	var extra assertion.Claims
	if err := tok.Claims(set.Keys[0].Key, &std, &extra); err != nil {
		t.Fatalf("assertion does not verify with the published key: %v", err)
	}
	if err := std.Validate(jwt.Expected{Issuer: assertion.Issuer, AnyAudience: jwt.Audience{"agents"}, Time: time.Now()}); err != nil {
		t.Errorf("assertion claims: %v", err)
	}
	if life := std.Expiry.Time().Sub(std.IssuedAt.Time()); life <= 0 || life > 5*time.Minute {
		t.Errorf("assertion lives %s; want at most 5m", life)
	}
	if std.Subject != "u-1" || extra.Role != "agent" || extra.DivisionID != "7" || extra.Email != "ana@example.com" {
		t.Errorf("assertion identity: sub %q %+v", std.Subject, extra)
	}
	if err := std.Validate(jwt.Expected{AnyAudience: jwt.Audience{"open"}, Time: time.Now()}); err == nil {
		t.Error("an assertion for app agents is accepted for app open")
	}
}

func TestAssertionKeySurvivesRestartsInStorage(t *testing.T) {
	storage := t.TempDir()
	t.Setenv("HELPDESK_TEST_STORAGE", storage)
	var kids []string
	for _, run := range []string{"first start", "restart"} {
		// Each subtest stops its Caddy when it ends.
		t.Run(run, func(t *testing.T) {
			g := startGateway(t, "")
			_, body := get(t, g.url+"/apps/_api/jwks.json", "")
			var set jose.JSONWebKeySet
			if err := json.Unmarshal([]byte(body), &set); err != nil || len(set.Keys) != 1 {
				t.Fatalf("jwks.json: %v %s", err, body)
			}
			kids = append(kids, set.Keys[0].KeyID)
		})
	}
	if len(kids) != 2 || kids[0] != kids[1] {
		t.Errorf("key ids across a restart: %q; want the same key", kids)
	}
	if entries, _ := os.ReadDir(storage); len(entries) == 0 {
		t.Error("nothing was written to the storage directory")
	}
}

// TestEachHelpdeskSignsWithItsOwnKey serves four helpdesk_apps handlers
// from one Caddy and one storage, each with an app crm: two Helpdesks (by
// their session secret), one of them also under a second prefix, and a
// third Helpdesk with the first one's secret but its own issuer. An
// assertion one of them signs for crm must not verify with the key another
// publishes, or its crm would take the first one's users; handlers of the
// same configuration share their key.
func TestEachHelpdeskSignsWithItsOwnKey(t *testing.T) {
	up := newUpstream(t)
	const otherSecret = "another-helpdesk-secret-0123456789abcdef"
	handler := func(prefix, secret, issuer string) string {
		return fmt.Sprintf(`
	handle %[1]s/* {
		helpdesk_apps %[1]s {
			session {
				hmac_secret %[2]s
				%[3]s
			}
			app crm {
				to %[4]s
			}
		}
	}`, prefix, secret, issuer, up.URL)
	}
	sites := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	startCaddyfile(t, fmt.Sprintf("http://%s {\n\tbind 127.0.0.1\n%s\n%s\n}\nhttp://%s {\n\tbind 127.0.0.1\n%s\n}\nhttp://%s {\n\tbind 127.0.0.1\n%s\n}\n",
		sites[0], handler("/apps", testSecret, ""), handler("/tools", testSecret, ""),
		sites[1], handler("/apps", otherSecret, ""),
		sites[2], handler("/apps", testSecret, "issuer https://third.test")))

	kid := func(base, prefix string) string {
		_, body := get(t, base+prefix+"/_api/jwks.json", "")
		var set jose.JSONWebKeySet
		if err := json.Unmarshal([]byte(body), &set); err != nil || len(set.Keys) != 1 {
			t.Fatalf("%s%s/_api/jwks.json: %v %s", base, prefix, err, body)
		}
		return set.Keys[0].KeyID
	}
	kids := map[string]string{
		"first Helpdesk":                "http://" + sites[0] + " /apps",
		"first Helpdesk, second prefix": "http://" + sites[0] + " /tools",
		"second Helpdesk":               "http://" + sites[1] + " /apps",
		"first secret, another issuer":  "http://" + sites[2] + " /apps",
	}
	seen := map[string]string{}
	for name, where := range kids {
		base, prefix, _ := strings.Cut(where, " ")
		k := kid(base, prefix)
		if other, ok := seen[k]; ok {
			t.Errorf("%s and %s publish the same key %s", name, other, k)
		}
		seen[k] = name
	}

	// The same configuration again, as after a restart, finds its key.
	first := kid("http://"+sites[0], "/apps")
	_, body := get(t, "http://"+sites[0]+"/apps/crm/echo", token(t, agent("agent", 3)))
	tok, err := jwt.ParseSigned(decodeSeen(t, body).Header.Get("X-Helpdesk-Assertion"), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Headers[0].KeyID; got != first {
		t.Errorf("the assertion names key %s; its Helpdesk publishes %s", got, first)
	}
}

// TestIdentityHeaderOffInAnyCase checks that `off` switches a field off
// however it is written, and makes no header named Off.
func TestIdentityHeaderOffInAnyCase(t *testing.T) {
	for _, off := range []string{"off", "OFF", "Off"} {
		got, _, err := IdentityHeaders{Name: off}.resolve()
		if err != nil {
			t.Fatalf("%s: %v", off, err)
		}
		if got.Name != identityOff {
			t.Errorf("name %s resolved to header %q; want it off", off, got.Name)
		}
	}
}

// TestIdentityVariableShowsNoIdentity: the request variable that carries
// the identity to the transport is readable by placeholders and logs
// ({http.vars.helpdesk_apps.identity}); it must give them the app's id,
// never the user's identity or the assertion.
func TestIdentityVariableShowsNoIdentity(t *testing.T) {
	id := &identity{
		app:       &App{AppConfig: AppConfig{ID: "crm"}},
		claims:    session.Claims{UserID: "u-42", Name: "Ann Agent", Email: "ann@example.com", Role: "agent", Division: "7"},
		assertion: "eyJhbGciOiJFUzI1NiJ9.secret.signature",
	}
	id.fill()
	for _, got := range []string{caddy.ToString(id), fmt.Sprint(id), fmt.Sprintf("%v", id)} {
		if got != "crm" {
			t.Errorf("the identity variable reads %q, want the app's id", got)
		}
	}
}
