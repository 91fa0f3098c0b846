package caddymodule

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// testSecret signs the session tokens of the integration tests.
const testSecret = "integration-test-secret-0123456789abcdef"

// caddyMu serialises tests that load a Caddy config: Caddy runs one config
// per process.
var caddyMu sync.Mutex

// startCaddy runs a Caddy config adapted from a Caddyfile site body, served
// on a free loopback port, and returns the site's base URL. It is stopped
// when the test ends.
func startCaddy(t *testing.T, site string) string {
	t.Helper()
	addr := freeAddr(t)
	startCaddyfile(t, fmt.Sprintf("http://%s {\n\tbind 127.0.0.1\n%s\n}\n", addr, site))
	return "http://" + addr
}

// startCaddyfile runs a whole Caddyfile, after global options that keep
// the test quiet and self-contained, until the test ends.
func startCaddyfile(t testing.TB, caddyfile string) {
	t.Helper()
	startCaddyfileLogging(t, "level WARN", caddyfile)
}

// startCaddyfileLogging is startCaddyfile with the body of the global
// log block.
func startCaddyfileLogging(t testing.TB, log, caddyfile string) {
	t.Helper()
	caddyMu.Lock()
	t.Cleanup(caddyMu.Unlock)

	caddyfile = fmt.Sprintf("{\n\tadmin off\n\tpersist_config off\n\tauto_https off\n\tstorage file_system %s\n\tlog {\n\t\t%s\n\t}\n%s}\n", testStorage(t), log, permissiveServer) + caddyfile
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		t.Fatalf("adapting test Caddyfile: %v\n%s", err, caddyfile)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("loading test config: %v", err)
	}
	t.Cleanup(func() {
		if err := caddy.Stop(); err != nil {
			t.Errorf("stopping caddy: %v", err)
		}
	})
}

// permissiveServer lets through the header names Caddy drops by default
// (with '_' or '.'), so that tests show the gateway's own defence against
// spoofed identity headers holds in such a deployment too. Plain-text test
// sites speak HTTP/1.1 only, which Caddy would otherwise warn about.
const permissiveServer = "\tservers {\n\t\tprotocols h1\n\t\texpected_underscore_headers x_helpdesk_* x_remote_*\n\t\texpected_dot_headers x.helpdesk.*\n\t}\n"

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// seen is what an upstream test server recorded of one request.
type seen struct {
	Method  string      `json:"method"`
	Path    string      `json:"path"`
	RawPath string      `json:"raw_path"`
	URI     string      `json:"uri"`
	Host    string      `json:"host"`
	Header  http.Header `json:"header"`
}

// upstream is a real HTTP server standing in for an app. It records every
// request; /headers and /page are served by headerServer and pageServer,
// every other path echoes the request as JSON.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := new(upstream)
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{r.Method, r.URL.Path, r.URL.RawPath, r.RequestURI, r.Host, r.Header.Clone()}
		u.mu.Lock()
		u.reqs = append(u.reqs, s)
		u.mu.Unlock()
		switch r.URL.Path {
		case "/headers":
			headerServer.ServeHTTP(w, r)
			return
		case "/page":
			pageServer.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	}))
	t.Cleanup(u.Close)
	return u
}

// requests returns how many requests the upstream has received.
func (u *upstream) requests() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

// hostport is the upstream's dial address.
func (u *upstream) hostport() string { return strings.TrimPrefix(u.URL, "http://") }

// claims are the session claims of a test token.
type claims struct {
	jwt.Claims
	Name       string `json:"name,omitempty"`
	Email      string `json:"email,omitempty"`
	Role       string `json:"role,omitempty"`
	DivisionID any    `json:"division_id,omitempty"`
}

// agent returns valid claims for a user of the given role and division.
func agent(role string, division any) claims {
	n := time.Now()
	return claims{
		Claims: jwt.Claims{
			Subject:  "u-1",
			Issuer:   "https://helpdesk.test",
			Audience: jwt.Audience{"helpdesk-apps"},
			IssuedAt: jwt.NewNumericDate(n),
			Expiry:   jwt.NewNumericDate(n.Add(time.Hour)),
		},
		Name: "Ana", Email: "ana@example.com", Role: role, DivisionID: division,
	}
}

// sign signs c with key using alg.
func sign(t testing.TB, alg jose.SignatureAlgorithm, key any, c any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	return signWith(t, signer, c)
}

// signWith signs c with signer.
func signWith(t testing.TB, signer jose.Signer, c any) string {
	t.Helper()
	tok, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// token signs c with the test secret, HS256.
func token(t testing.TB, c claims) string {
	return sign(t, jose.HS256, []byte(testSecret), c)
}

// get sends a GET with the session token as a cookie (when tok is not empty)
// and the extra headers, without following redirects.
func get(t *testing.T, url, tok string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.AddCookie(&http.Cookie{Name: "hd_session", Value: tok})
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// rawGet sends target as the request-target byte for byte, so no client
// cleans or re-escapes it, and returns the response.
func rawGet(t *testing.T, base, target string, hdr ...string) (*http.Response, string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", target, strings.TrimPrefix(base, "http://"))
	for i := 0; i+1 < len(hdr); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", hdr[i], hdr[i+1])
	}
	b.WriteString("\r\n")
	return rawExchange(t, base, b.String())
}

// rawExchange sends a raw HTTP/1.1 request and returns the response.
func rawExchange(t *testing.T, base, raw string) (*http.Response, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// fcgiEcho starts a FastCGI server that answers every request with the
// seen headers, and returns its address.
func fcgiEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(seen{Header: r.Header})
		}))
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// decodeSeen parses an upstream echo.
func decodeSeen(t *testing.T, body string) seen {
	t.Helper()
	var s seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("not an upstream echo: %v\n%s", err, body)
	}
	return s
}

// mustConfig decodes a JSON Caddy config.
func mustConfig(t *testing.T, raw string) *caddy.Config {
	t.Helper()
	var cfg caddy.Config
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatalf("test config: %v", err)
	}
	return &cfg
}

// testStorage is the directory tests use as Caddy's storage; a test that
// needs another sets HELPDESK_TEST_STORAGE.
func testStorage(t testing.TB) string {
	if dir := os.Getenv("HELPDESK_TEST_STORAGE"); dir != "" {
		return dir
	}
	return t.TempDir()
}

// assertionKeyFile writes a new P-256 key to a PEM file and returns its
// name, for an assertion_key.
func assertionKeyFile(t testing.TB) string {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	file := filepath.Join(t.TempDir(), "assertion.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}
