package caddymodule

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddytls"
)

// hostsGateway is a running Caddy serving apps both ways: under the
// prefix and on hosts of their own.
//   - crm: on crm.apps.test, from the hosts pattern, by `to`;
//   - wiki: on wiki.example.test, its own host, by a reverse_proxy block;
//   - legacy: under /apps/legacy/, by `mount prefix`, by `to`.
//
// Requests for other hosts and outside the prefix reach `respond`.
type hostsGateway struct {
	url, port string
	up        *upstream
}

const hostsSite = `
	helpdesk_apps /apps {
		frame_ancestors http://helpdesk.test:%[4]s
		hosts *.apps.test
		session {
			cookie hd_session
			bearer
			hmac_secret %[1]s
			issuer https://helpdesk.test
			audience helpdesk-apps
		}
		app crm {
			to %[2]s
		}
		app wiki {
			host WIKI.example.test
			reverse_proxy %[2]s
		}
		app legacy {
			mount prefix
			to %[2]s
		}
		%[3]s
	}
	respond "helpdesk {host} {path}" 200`

func startHostsGateway(t *testing.T, extra string) *hostsGateway {
	t.Helper()
	g := &hostsGateway{up: newUpstream(t)}
	addr := freeAddr(t)
	g.port = addr[strings.LastIndexByte(addr, ':')+1:]
	g.url = "http://" + addr
	startCaddyfile(t, fmt.Sprintf("http://:%s {\n\tbind 127.0.0.1\n%s\n}\n", g.port,
		fmt.Sprintf(hostsSite, testSecret, strings.TrimPrefix(g.up.URL, "http://"), extra, g.port)))
	return g
}

// at sends a GET for path to host (with the gateway's port), with the
// token as the session cookie and the extra headers.
func (g *hostsGateway) at(t *testing.T, host, path, tok string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, g.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host + ":" + g.port
	if tok != "" {
		req.AddCookie(&http.Cookie{Name: "hd_session", Value: tok})
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return do(t, req)
}

func TestHostMountServesTheWholePathWithoutPrefix(t *testing.T) {
	g := startHostsGateway(t, "")
	tok := token(t, agent("agent", 3))

	resp, body := g.at(t, "crm.apps.test", "/apps/_api/me?q=1", tok, "X-Forwarded-Prefix", "/evil")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	s := decodeSeen(t, body)
	if s.URI != "/apps/_api/me?q=1" {
		t.Errorf("upstream saw %q; want the whole path, the gateway's own names included", s.URI)
	}
	if got, ok := s.Header["X-Forwarded-Prefix"]; ok {
		t.Errorf("X-Forwarded-Prefix = %q reached the upstream; an app on its own host has no prefix", got)
	}
	if want := "crm.apps.test:" + g.port; s.Host != want {
		t.Errorf("`to` on a host sent Host %q; want the app's own host %q, which is the tool's", s.Host, want)
	}
	if s.Header.Get("Cookie") != "" {
		t.Errorf("the Helpdesk session reached the upstream: Cookie %q", s.Header.Get("Cookie"))
	}

	// An explicit host, in any case, and a reverse_proxy block.
	if resp, body := g.at(t, "wiki.example.test", "/", tok); resp.StatusCode != http.StatusOK || decodeSeen(t, body).URI != "/" {
		t.Fatalf("wiki.example.test/ = %d %s", resp.StatusCode, body)
	}

	// The app under the prefix keeps the prefix, and its upstream Host.
	resp, body = g.at(t, "helpdesk.test", "/apps/legacy/x", tok)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/apps/legacy/x = %d %s", resp.StatusCode, body)
	}
	if s := decodeSeen(t, body); s.URI != "/x" || s.Header.Get("X-Forwarded-Prefix") != "/apps/legacy" || s.Host != g.up.hostport() {
		t.Errorf("legacy upstream saw %q, prefix %q, Host %q", s.URI, s.Header.Get("X-Forwarded-Prefix"), s.Host)
	}
}

func TestHostMountRoutingRefusesWhatItDoesNotServe(t *testing.T) {
	g := startHostsGateway(t, "")
	tok := token(t, agent("agent", 3))
	before := g.up.requests()
	for _, tc := range []struct {
		name, host, path, tok string
		status                int
		helpdesk              bool
	}{
		{"host app under the prefix", "helpdesk.test", "/apps/crm/x", tok, http.StatusNotFound, false},
		{"host app under the prefix of its host", "crm.apps.test", "/apps/crm/x", tok, http.StatusOK, false},
		{"prefix app on the pattern", "legacy.apps.test", "/x", tok, http.StatusNotFound, false},
		{"unknown app of the pattern", "nope.apps.test", "/", tok, http.StatusNotFound, false},
		{"unknown app of the pattern, no session", "nope.apps.test", "/", "", http.StatusUnauthorized, false},
		{"known app, no session", "crm.apps.test", "/", "", http.StatusUnauthorized, false},
		{"the pattern's own domain", "apps.test", "/", tok, http.StatusOK, true},
		{"two labels under the pattern", "a.crm.apps.test", "/", tok, http.StatusOK, true},
		{"another host", "helpdesk.test", "/x", tok, http.StatusOK, true},
		{"reserved path, other name", "crm.apps.test", "/.well-known/helpdesk-apps/host.js", tok, http.StatusNotFound, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := g.at(t, tc.host, tc.path, tc.tok)
			if resp.StatusCode != tc.status || strings.HasPrefix(body, "helpdesk ") != tc.helpdesk {
				t.Fatalf("%s%s = %d %q; want %d, from the helpdesk: %v", tc.host, tc.path, resp.StatusCode, body, tc.status, tc.helpdesk)
			}
		})
	}
	if got := g.up.requests() - before; got != 1 {
		t.Errorf("the upstream saw %d requests; want 1, the crm app's own /apps/crm/x", got)
	}
}

func TestHostMountServesTheShimSameOrigin(t *testing.T) {
	g := startHostsGateway(t, "")
	tok := token(t, agent("agent", 3))

	resp, body := g.at(t, "crm.apps.test", "/page", tok, "Accept", "text/html", "Sec-Fetch-Dest", "iframe")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	i := strings.Index(body, `<script src="/.well-known/helpdesk-apps/client.js?v=`)
	if i < 0 || strings.Contains(body, "/apps/_bridge/") {
		t.Fatalf("page on its own host does not load the shim from its own origin:\n%s", body)
	}
	src := body[i+len(`<script src="`):]
	src = src[:strings.IndexByte(src, '"')]
	if strings.Contains(body, "data-helpdesk-prefix") {
		t.Errorf("shim told of a prefix on a host of its own:\n%s", body)
	}
	// Without a session, as every bridge script.
	resp, js := g.at(t, "crm.apps.test", src, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") || !strings.Contains(js, "helpdesk:app:ready") {
		t.Fatalf("%s = %d %s", src, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if got := resp.Header.Get("Cache-Control"); !strings.Contains(got, "immutable") {
		t.Errorf("versioned shim Cache-Control = %q; want immutable", got)
	}
}

func TestHostMountKeepsCookiePathsAndRedirects(t *testing.T) {
	g := startHostsGateway(t, "")
	tok := token(t, agent("agent", 3))
	hdr := func(kv ...string) string {
		q := make([]string, len(kv))
		for i, v := range kv {
			q[i] = "h=" + strings.NewReplacer("%", "%25", "&", "%26", "=", "%3D", ";", "%3B", " ", "%20", "+", "%2B").Replace(v)
		}
		return "/headers?" + strings.Join(q, "&")
	}
	resp, body := g.at(t, "crm.apps.test", hdr(
		"Set-Cookie: __Host-sid=abc; Path=/; Secure; HttpOnly; SameSite=Lax",
		"Set-Cookie: pref=1; Domain=apps.test; Path=/settings",
		"Set-Cookie: hd_session=forged; Path=/",
		"Location: "+g.up.URL+"/login?next=%2F",
	)+"&status=302", tok)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	got := resp.Header.Values("Set-Cookie")
	want := []string{"__Host-sid=abc; Path=/; Secure; HttpOnly; SameSite=Lax", "pref=1; Path=/settings"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Set-Cookie = %q; want %q (paths kept, Domain dropped, the session's name refused)", got, want)
	}
	if loc := resp.Header.Get("Location"); loc != "/login?next=%2F" {
		t.Errorf("Location = %q; want the upstream's URL as a path on the app's host", loc)
	}
}

func TestHostMountManifestURLsAreAbsolute(t *testing.T) {
	g := startHostsGateway(t, "")
	resp, body := g.at(t, "helpdesk.test", "/apps/_api/apps", token(t, agent("agent", 3)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`"url":"http://crm.apps.test:` + g.port + `/"`,
		`"url":"http://wiki.example.test:` + g.port + `/"`,
		`"url":"http://helpdesk.test:` + g.port + `/apps/legacy/"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("manifest lacks %s:\n%s", want, body)
		}
	}
}

func TestHostMountConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, apps, want string }{
		{"two apps on one host", "app crm2 {\n host crm.apps.test\n to 127.0.0.1:1\n}", `host "crm.apps.test": app "crm" is mounted there`},
		{"the Helpdesk's host", "app evil {\n host helpdesk.test\n to 127.0.0.1:1\n}", `is the host of http://helpdesk.test`},
		{"a host and mount prefix", "app both {\n host both.example.test\n mount prefix\n to 127.0.0.1:1\n}", `the app names a host`},
		{"a host with a port", "app port {\n host port.example.test:8080\n to 127.0.0.1:1\n}", `must be a host name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			caddyfile := fmt.Sprintf("{\n\tadmin off\n}\nhttp://:1 {\n%s\n}\n", fmt.Sprintf(hostsSite, testSecret, "127.0.0.1:2", tc.apps, "1"))
			cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
			if err == nil {
				err = caddy.Validate(mustConfig(t, string(cfg)))
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want one with %q", err, tc.want)
			}
		})
	}
}

func TestPermissionAllowsExactlyTheMounts(t *testing.T) {
	up := newUpstream(t)
	addr := freeAddr(t)
	startWholeCaddyfile(t, fmt.Sprintf(`{
	admin off
	persist_config off
	auto_https off
	storage file_system %s
	log {
		level WARN
	}
}
http://%s {
	bind 127.0.0.1
	helpdesk_apps /apps {
		hosts *.apps.test
		session {
			bearer
			hmac_secret %s
		}
		manage {
			upstreams %s
			poll 1s
		}
		app crm {
			to %[4]s
		}
		app wiki {
			host wiki.example.test
			to %[4]s
		}
		app legacy {
			mount prefix
			to %[4]s
		}
		app off {
			disabled
			to %[4]s
		}
	}
}
`, t.TempDir(), addr, testSecret, up.hostport()))
	allowed := func(name string) bool {
		err := Permission{}.CertificateAllowed(context.Background(), name)
		if err != nil && !errors.Is(err, caddytls.ErrPermissionDenied) {
			t.Fatalf("%s: %v is not a denial", name, err)
		}
		return err == nil
	}
	for name, want := range map[string]bool{
		"crm.apps.test": true, "CRM.apps.test.": true, "wiki.example.test": true, "off.apps.test": true,
		"legacy.apps.test": false, "nope.apps.test": false, "apps.test": false, "a.crm.apps.test": false,
		"wiki.apps.test": false, "127.0.0.1": false, "": false,
	} {
		if got := allowed(name); got != want {
			t.Errorf("certificate for %q allowed: %v; want %v", name, got, want)
		}
	}

	// An app created at runtime gets its certificate with no reload; once
	// deleted, its host gets none.
	a := newAdmin(t, "http://"+addr, "admin")
	a.refresh()
	a.must(http.StatusCreated, http.MethodPost, "apps", map[string]any{"id": "orders", "upstream": up.URL})
	if !allowed("orders.apps.test") {
		t.Fatal("no certificate for a runtime app's host")
	}
	a.must(http.StatusCreated, http.MethodPost, "apps", map[string]any{"id": "notes", "upstream": up.URL, "mount": "prefix"})
	if allowed("notes.apps.test") {
		t.Fatal("a certificate for a runtime app under the prefix")
	}
	a.must(http.StatusNoContent, http.MethodDelete, "apps/orders", nil)
	if allowed("orders.apps.test") {
		t.Fatal("a certificate for a deleted app's host")
	}
}

func TestOnDemandTLSCertificatesForMountsOnly(t *testing.T) {
	up := newUpstream(t)
	httpAddr, httpsAddr := freeAddr(t), freeAddr(t)
	httpsPort := httpsAddr[strings.LastIndexByte(httpsAddr, ':')+1:]
	startWholeCaddyfile(t, fmt.Sprintf(`{
	admin off
	persist_config off
	local_certs
	skip_install_trust
	auto_https disable_redirects
	https_port %s
	storage file_system %s
	on_demand_tls {
		permission helpdesk_apps
	}
	log {
		level ERROR
	}
}
(gateway) {
	helpdesk_apps /apps {
		hosts *.apps.test
		session {
			bearer
			hmac_secret %s
		}
		manage {
			upstreams %s
			poll 1s
		}
		app crm {
			to %[4]s
		}
	}
}
https://*.apps.test {
	bind 127.0.0.1
	tls {
		on_demand
	}
	import gateway
}
http://%s {
	bind 127.0.0.1
	import gateway
}
`, httpsPort, t.TempDir(), testSecret, up.hostport(), httpAddr))

	// handshake reports whether a TLS handshake for name gets a
	// certificate for it.
	handshake := func(name string) bool {
		t.Helper()
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", httpsAddr,
			&tls.Config{ServerName: name, InsecureSkipVerify: true})
		if err != nil {
			return false
		}
		defer conn.Close()
		certs := conn.ConnectionState().PeerCertificates
		return len(certs) > 0 && certs[0].VerifyHostname(name) == nil
	}
	if !handshake("crm.apps.test") {
		t.Fatal("no certificate for the config's app")
	}
	if handshake("nope.apps.test") {
		t.Fatal("a certificate for a host no app is mounted on")
	}

	// Through the TLS listener: the app on its host, by its certificate.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return new(net.Dialer).DialContext(ctx, network, httpsAddr)
		},
	}}
	req, _ := http.NewRequest(http.MethodGet, "https://crm.apps.test:"+httpsPort+"/x", nil)
	req.Header.Set("Authorization", "Bearer "+token(t, agent("agent", 1)))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("crm.apps.test/x over TLS = %d", resp.StatusCode)
	}

	a := newAdmin(t, "http://"+httpAddr, "admin")
	a.refresh()
	a.must(http.StatusCreated, http.MethodPost, "apps", map[string]any{"id": "orders", "upstream": up.URL})
	if !handshake("orders.apps.test") {
		t.Fatal("no certificate for an app created at runtime")
	}
	a.must(http.StatusCreated, http.MethodPost, "apps", map[string]any{"id": "gone", "upstream": up.URL})
	a.must(http.StatusNoContent, http.MethodDelete, "apps/gone", nil)
	// Both handlers must have seen the deletion: the TLS site's polls.
	deadline := time.Now().Add(10 * time.Second)
	for handshake("gone.apps.test") {
		if time.Now().After(deadline) {
			t.Fatal("a certificate for a deleted app's host")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
