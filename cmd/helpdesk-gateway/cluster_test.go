package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TestMain lets the test binary run as the gateway itself, for the tests
// that start gateway processes: HELPDESK_GATEWAY_ARGS holds the command
// line.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("HELPDESK_GATEWAY_ARGS"); ok {
		os.Args = append([]string{"helpdesk-gateway"}, strings.Fields(args)...)
		main()
		return
	}
	os.Exit(m.Run())
}

const clusterSecret = "cluster-test-secret-0123456789abcdef"

// gateway is a gateway process started by a test.
type gateway struct {
	base string
	mu   sync.Mutex
	logs bytes.Buffer
}

func (g *gateway) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.logs.Write(p)
}

// log returns what the process has logged so far.
func (g *gateway) log() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.logs.String()
}

// startGateway runs a gateway process with the site's storage in storage
// and its own data folder (and so its own instance id), until the test
// ends.
func startGateway(t *testing.T, storage, upstreams string) *gateway {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	caddyfile := fmt.Sprintf(`{
	admin off
	persist_config off
	auto_https off
	storage file_system %s
	servers {
		protocols h1
	}
}
http://%s {
	bind 127.0.0.1
	helpdesk_apps /apps {
		session {
			bearer
			hmac_secret %s
		}
		manage {
			upstreams %s
			poll 1s
		}
	}
	respond "helpdesk"
}
`, storage, addr, clusterSecret, upstreams)
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &gateway{base: "http://" + addr}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"HELPDESK_GATEWAY_ARGS=run --config "+file+" --adapter caddyfile",
		"XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	cmd.Stdout, cmd.Stderr = g, g
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("gateway %s logged:\n%s", g.base, g.log())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(g.base + "/"); err == nil {
			resp.Body.Close()
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not start:\n%s", g.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clusterToken signs a token for a user of role.
func clusterToken(t *testing.T, role string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(clusterSecret)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := jwt.Signed(signer).Claims(map[string]any{
		"sub": "u-" + role, "name": role, "role": role, "division_id": 1,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// call sends a request with tok as a bearer token and returns the status,
// the ETag and the decoded JSON body.
func call(t *testing.T, method, url, tok, ifMatch string, body any) (int, string, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, resp.Header.Get("ETag"), out
}

// converge waits, for a poll and a second, until the instances g lists
// (itself and the other) both serve revision.
func converge(t *testing.T, g *gateway, admin string, revision float64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, _, inst := call(t, "GET", g.base+"/apps/_api/admin/instances", admin, "", nil)
		list, _ := inst["instances"].([]any)
		converged := len(list) == 2
		for _, i := range list {
			converged = converged && i.(map[string]any)["revision"] == revision
		}
		if converged {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("instances did not converge on revision %v: %v", revision, inst)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClusterSharesOneRegistry runs two gateway processes on one storage
// folder: what an admin changes through one is served by the other within
// a poll and a second; two writes of the same revision through the two
// cannot both win; and with the document unreadable, both keep serving
// what they had and say why.
func TestClusterSharesOneRegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gateway processes")
	}
	tool := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tool %s", r.URL.Path)
	}))
	defer tool.Close()
	storage := t.TempDir()
	a := startGateway(t, storage, "127.0.0.1/32")
	b := startGateway(t, storage, "127.0.0.1/32")
	admin, agent := clusterToken(t, "admin"), clusterToken(t, "agent")

	// A change through A is served by B within poll + 1 s.
	status, etag, out := call(t, "POST", a.base+"/apps/_api/admin/apps", admin, `"0"`, map[string]any{"id": "crm", "upstream": tool.URL})
	if status != http.StatusCreated || etag != `"1"` {
		t.Fatalf("create through A = %d %s %v", status, etag, out)
	}
	created := time.Now()
	for {
		status, _, _ := call(t, "GET", b.base+"/apps/crm/x", agent, "", nil)
		if status == http.StatusOK {
			break
		}
		if time.Since(created) > 2*time.Second {
			t.Fatalf("B still answers %d for the app A created %s ago", status, time.Since(created))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("B served the new app %s after A created it", time.Since(created).Round(time.Millisecond))

	// Both instances report the revision they apply.
	converge(t, a, admin, 1)
	// Two writes of revision 1, one through each: exactly one wins.
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i, g := range []*gateway{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _, _ = call(t, "PATCH", g.base+"/apps/_api/admin/apps/crm", admin, `"1"`, map[string]any{"name": "From " + g.base})
		}()
	}
	wg.Wait()
	if !(statuses[0] == 200 && statuses[1] == 412 || statuses[0] == 412 && statuses[1] == 200) {
		t.Fatalf("conflicting writes answered %v, want one 200 and one 412", statuses)
	}
	_, etag, _ = call(t, "GET", b.base+"/apps/_api/admin/apps", admin, "", nil)
	if etag != `"2"` {
		t.Fatalf("after the conflict the revision is %s, want 2", etag)
	}
	converge(t, b, admin, 2)

	// The document unreadable: both keep serving, and say so.
	files, _ := filepath.Glob(filepath.Join(storage, "helpdesk_apps", "*", "registry.json"))
	if len(files) != 1 {
		t.Fatalf("registry documents: %v", files)
	}
	if err := os.Remove(files[0]); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(files[0], 0o700); err != nil { // reading a folder fails, even as root
		t.Fatal(err)
	}
	for _, g := range []*gateway{a, b} {
		deadline := time.Now().Add(3 * time.Second)
		for !strings.Contains(g.log(), "shared registry unavailable") {
			if time.Now().After(deadline) {
				t.Fatalf("%s logged nothing of the unreadable registry", g.base)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if status, _, _ := call(t, "GET", g.base+"/apps/crm/y", agent, "", nil); status != http.StatusOK {
			t.Errorf("%s stopped serving the app: %d", g.base, status)
		}
		_, _, inst := call(t, "GET", g.base+"/apps/_api/admin/instances", admin, "", nil)
		self := inst["instances"].([]any)[0].(map[string]any)
		if self["self"] != true || self["revision"] != 2.0 || !strings.Contains(fmt.Sprint(self["error"]), "reading the shared registry") {
			t.Errorf("%s instances = %v", g.base, inst)
		}
		if status, _, p := call(t, "PATCH", g.base+"/apps/_api/admin/apps/crm", admin, `"2"`, map[string]any{"favorite": true}); status != http.StatusServiceUnavailable {
			t.Errorf("%s write with the registry unreadable = %d %v", g.base, status, p)
		}
	}
}
