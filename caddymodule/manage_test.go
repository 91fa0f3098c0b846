package caddymodule

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// manageSite is a Helpdesk with runtime management, one app in the config
// (static, open to agents) and upstreams allowed on the given patterns.
func manageSite(storageDir, upstreamURL string, patterns ...string) string {
	return fmt.Sprintf(`{
	admin off
	persist_config off
	auto_https off
	storage file_system %s
	log {
		level WARN
	}
%s}
http://%%s {
	bind 127.0.0.1
	helpdesk_apps /apps {
		session {
			cookie hd_session
			bearer
			hmac_secret %s
			issuer https://helpdesk.test
			audience helpdesk-apps
		}
		manage {
			upstreams %s
			poll 1s
		}
		app static {
			name "Static"
			roles agent supervisor admin owner
			order 5
			to %s
		}
	}
	respond "helpdesk"
}
`, storageDir, permissiveServer, testSecret, strings.Join(patterns, " "), strings.TrimPrefix(upstreamURL, "http://"))
}

// startManaged runs manageSite on a free port and returns its base URL.
func startManaged(t *testing.T, storageDir, upstreamURL string, patterns ...string) string {
	t.Helper()
	addr := freeAddr(t)
	startWholeCaddyfile(t, fmt.Sprintf(manageSite(storageDir, upstreamURL, patterns...), addr))
	return "http://" + addr
}

// startWholeCaddyfile runs a Caddyfile with its own global options until
// the test ends.
func startWholeCaddyfile(t testing.TB, caddyfile string) {
	t.Helper()
	caddyMu.Lock()
	t.Cleanup(caddyMu.Unlock)
	loadCaddyfile(t, caddyfile)
	t.Cleanup(func() {
		if err := caddy.Stop(); err != nil {
			t.Errorf("stopping caddy: %v", err)
		}
	})
}

// loadCaddyfile loads a Caddyfile in place of the running config.
func loadCaddyfile(t testing.TB, caddyfile string) {
	t.Helper()
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		t.Fatalf("adapting test Caddyfile: %v\n%s", err, caddyfile)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("loading test config: %v", err)
	}
	// The old config's servers close their idle connections: the next
	// request must not race them on a pooled one.
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
}

// admin is a client of the management API.
type admin struct {
	t    *testing.T
	base string
	tok  string
	// cookie sends the token as the session cookie instead of a bearer.
	cookie bool
	// etag is the last ETag an answer carried.
	etag string
}

// newAdmin returns a client with a token of role.
func newAdmin(t *testing.T, base, role string) *admin {
	c := agent(role, 1)
	c.Subject = "u-" + role
	c.Name = strings.ToUpper(role[:1]) + role[1:] + " User"
	return &admin{t: t, base: base, tok: token(t, c)}
}

// call sends a request to the management API and returns the answer with
// its decoded JSON body (nil for none).
func (a *admin) call(method, endpoint string, body any, hdr ...string) (*http.Response, map[string]any) {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, a.base+"/apps/_api/admin/"+endpoint, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.cookie {
		req.AddCookie(&http.Cookie{Name: "hd_session", Value: a.tok})
	} else {
		req.Header.Set("Authorization", "Bearer "+a.tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, raw := a.send(req)
	if tag := resp.Header.Get("ETag"); tag != "" {
		a.etag = tag
	}
	var out map[string]any
	if len(raw) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			a.t.Fatalf("%s %s: decoding %q: %v", method, endpoint, raw, err)
		}
	}
	return resp, out
}

// send sends req and reads the answer. A GET is tried again on a
// connection error: a Caddy reload closes the connections the old config's
// server accepted, and one may be accepted as it stops.
func (a *admin) send(req *http.Request) (*http.Response, string) {
	a.t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	for attempt := 1; ; attempt++ {
		resp, err := client.Do(req.Clone(req.Context()))
		if err != nil {
			if req.Method != http.MethodGet || attempt == 3 {
				a.t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			a.t.Fatal(err)
		}
		return resp, string(raw)
	}
}

// must sends a request with If-Match set to the last ETag and fails the
// test unless it answers want.
func (a *admin) must(want int, method, endpoint string, body any, hdr ...string) map[string]any {
	a.t.Helper()
	if method != http.MethodGet {
		hdr = append([]string{"If-Match", a.etag}, hdr...)
	}
	resp, out := a.call(method, endpoint, body, hdr...)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s = %d %v, want %d", method, endpoint, resp.StatusCode, out, want)
	}
	return out
}

// refresh reads the apps, for their ETag, and returns them by id.
func (a *admin) refresh() map[string]map[string]any {
	a.t.Helper()
	out := a.must(http.StatusOK, http.MethodGet, "apps", nil)
	apps := map[string]map[string]any{}
	for _, v := range out["apps"].([]any) {
		app := v.(map[string]any)
		apps[app["id"].(string)] = app
	}
	return apps
}

// manifestIDs returns the ids of the manifest tok's user gets, in order.
func manifestIDs(t *testing.T, base, tok string) []string {
	t.Helper()
	resp, body := get(t, base+"/apps/_api/apps", tok)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("manifest = %d %s", resp.StatusCode, body)
	}
	var m struct {
		Apps []struct{ ID string } `json:"apps"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, a := range m.Apps {
		ids = append(ids, a.ID)
	}
	return ids
}

// pointers returns the pointers of a problem's field errors.
func pointers(p map[string]any) []string {
	var out []string
	errs, _ := p["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["pointer"].(string))
	}
	return out
}

func TestManageEndpointsAsAdminAndOwner(t *testing.T) {
	for _, role := range []string{"admin", "owner"} {
		t.Run(role, func(t *testing.T) {
			up := newUpstream(t)
			base := startManaged(t, t.TempDir(), up.URL, "127.0.0.1/32")
			a := newAdmin(t, base, role)
			agentTok := token(t, agent("agent", 1))
			supTok := token(t, agent("supervisor", 1))

			apps := a.refresh()
			if a.etag != `"0"` || apps["static"]["source"] != "caddyfile" || len(apps) != 1 {
				t.Fatalf("fresh registry: etag %s, apps %v", a.etag, apps)
			}

			crm := map[string]any{"id": "crm", "name": "CRM", "placement": "ticket_sidebar", "mode": "popup",
				"roles": []string{"agent"}, "divisions": []string{"1"}, "upstream": up.URL}

			// Writes need If-Match, and the current revision.
			if resp, p := a.call(http.MethodPost, "apps", crm); resp.StatusCode != http.StatusPreconditionRequired ||
				resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("POST without If-Match = %d %v", resp.StatusCode, p)
			}
			if resp, p := a.call(http.MethodPost, "apps", crm, "If-Match", `"7"`); resp.StatusCode != http.StatusPreconditionFailed || p["revision"] != 0.0 {
				t.Fatalf("POST with a stale If-Match = %d %v", resp.StatusCode, p)
			}
			if resp, p := a.call(http.MethodPost, "apps", crm, "If-Match", `W/"0"`); resp.StatusCode != http.StatusPreconditionFailed {
				t.Fatalf("POST with a weak If-Match = %d %v", resp.StatusCode, p)
			}

			// A dry run answers as the write would, and changes nothing.
			out := a.must(http.StatusOK, http.MethodPost, "apps?dry_run=true", crm)
			if out["dry_run"] != true || out["app"].(map[string]any)["id"] != "crm" {
				t.Fatalf("dry run = %v", out)
			}
			if apps := a.refresh(); len(apps) != 1 || a.etag != `"0"` {
				t.Fatalf("after a dry run: etag %s, apps %v", a.etag, apps)
			}
			if resp, _ := get(t, base+"/apps/crm/x", agentTok); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("the dry-run app answers %d", resp.StatusCode)
			}

			// Create: 201, Location, a new ETag; reachable at once, with
			// its access rules.
			resp, out := a.call(http.MethodPost, "apps", crm, "If-Match", a.etag)
			if resp.StatusCode != http.StatusCreated || resp.Header.Get("Location") != "/apps/_api/admin/apps/crm" || a.etag != `"1"` {
				t.Fatalf("create = %d %v (Location %q, ETag %s)", resp.StatusCode, out, resp.Header.Get("Location"), a.etag)
			}
			if w := out["warnings"].([]any); len(w) != 1 || !strings.Contains(w[0].(string), "not HTML") {
				t.Errorf("probe warnings = %v, want one about the JSON front page", w)
			}
			before := up.requests()
			if resp, body := get(t, base+"/apps/crm/hello", agentTok); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"/hello"`) {
				t.Fatalf("created app answers %d %s", resp.StatusCode, body)
			}
			if resp, _ := get(t, base+"/apps/crm/hello", supTok); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("created app open to a supervisor: %d", resp.StatusCode)
			}
			if up.requests() != before+1 {
				t.Fatalf("upstream saw %d requests, want 1", up.requests()-before)
			}
			if got := a.must(http.StatusOK, http.MethodGet, "apps/crm", nil)["app"].(map[string]any); got["source"] != "runtime" || got["upstream"] != up.URL {
				t.Fatalf("GET apps/crm = %v", got)
			}

			// Favorite and reorder, as patches and a full list.
			// A change that keeps the upstream does not probe it again.
			if w := a.must(http.StatusOK, http.MethodPatch, "apps/crm", map[string]any{"favorite": true}, "Content-Type", "application/merge-patch+json")["warnings"].([]any); len(w) != 0 {
				t.Errorf("a patch of the favorite probed the upstream: %v", w)
			}
			a.must(http.StatusCreated, http.MethodPost, "apps", map[string]any{"id": "wiki", "upstream": up.URL})
			a.must(http.StatusCreated, http.MethodPost, "apps", map[string]any{"id": "zeta", "name": "Zeta", "upstream": up.URL})
			a.must(http.StatusOK, http.MethodPut, "order/main_menu", map[string]any{"ids": []string{"zeta", "static", "wiki"}})
			if got := manifestIDs(t, base, agentTok); !slices.Equal(got, []string{"crm", "zeta", "static", "wiki"}) {
				t.Fatalf("manifest after reorder = %v", got)
			}
			if p := a.must(http.StatusUnprocessableEntity, http.MethodPut, "order/main_menu", map[string]any{"ids": []string{"zeta", "static"}}); !slices.Equal(pointers(p), []string{"/ids"}) {
				t.Fatalf("partial order = %v", p)
			}

			// Replace, then deactivate: hidden and 404.
			a.must(http.StatusOK, http.MethodPut, "apps/wiki", map[string]any{"name": "Wiki", "upstream": up.URL, "roles": []string{"agent"}})
			if app := a.refresh()["wiki"]; app["name"] != "Wiki" || app["order"] != 0.0 {
				t.Fatalf("replaced app = %v", app)
			}
			a.must(http.StatusOK, http.MethodPatch, "apps/wiki", map[string]any{"disabled": true})
			if resp, _ := get(t, base+"/apps/wiki/", agentTok); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("deactivated app answers %d", resp.StatusCode)
			}
			if got := manifestIDs(t, base, agentTok); slices.Contains(got, "wiki") {
				t.Fatalf("deactivated app in the manifest: %v", got)
			}

			// Dry runs of the other writes change nothing either.
			etag := a.etag
			a.must(http.StatusOK, http.MethodDelete, "apps/zeta?dry_run=true", nil)
			a.must(http.StatusOK, http.MethodPatch, "apps/crm?dry_run=true", map[string]any{"disabled": true})
			a.must(http.StatusOK, http.MethodPut, "order/main_menu?dry_run=true", map[string]any{"ids": []string{"wiki", "static", "zeta"}})
			a.must(http.StatusOK, http.MethodPost, "import?dry_run=true", map[string]any{"apps": []any{}, "overrides": map[string]any{}})
			if apps := a.refresh(); a.etag != etag || len(apps) != 4 || apps["crm"]["disabled"] != false || apps["zeta"]["order"] != 1.0 {
				t.Fatalf("after dry runs: etag %s (was %s), apps %v", a.etag, etag, apps)
			}
			if got := manifestIDs(t, base, agentTok); !slices.Equal(got, []string{"crm", "zeta", "static"}) {
				t.Fatalf("manifest after dry runs = %v", got)
			}

			// Delete: 204, then 404 everywhere.
			resp, _ = a.call(http.MethodDelete, "apps/zeta", nil, "If-Match", a.etag)
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("delete = %d", resp.StatusCode)
			}
			if resp, _ := get(t, base+"/apps/zeta/", agentTok); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("deleted app answers %d", resp.StatusCode)
			}
			a.must(http.StatusNotFound, http.MethodGet, "apps/zeta", nil)

			// Who can see this.
			acc := a.must(http.StatusOK, http.MethodGet, "access?role=supervisor&division=1", nil)
			reasons := map[string]any{}
			for _, e := range acc["apps"].([]any) {
				e := e.(map[string]any)
				reasons[e["id"].(string)] = e["reason"]
				if (e["id"] == "static") != (e["visible"] == true) {
					t.Errorf("access: %v", e)
				}
			}
			if reasons["wiki"] != "deactivated" || !strings.Contains(reasons["crm"].(string), `role "supervisor"`) {
				t.Errorf("access reasons = %v", reasons)
			}

			// The audit trail names who did what, newest first.
			audit := a.must(http.StatusOK, http.MethodGet, "audit?limit=3", nil)["entries"].([]any)
			last := audit[0].(map[string]any)
			user := last["user"].(map[string]any)
			if len(audit) != 3 || last["action"] != "delete" || last["target"] != "zeta" || last["after"] != nil ||
				last["before"].(map[string]any)["name"] != "Zeta" || user["id"] != "u-"+role || user["role"] != role ||
				last["from"] != "127.0.0.1" {
				t.Fatalf("audit = %v", audit)
			}

			// Export, and import it back after a change.
			exp := a.must(http.StatusOK, http.MethodGet, "export", nil)
			snippet := exp["caddyfile"].(string)
			if !strings.Contains(snippet, "app crm {") || !strings.Contains(snippet, "to "+up.URL) || !strings.Contains(snippet, "\tfavorite\n") {
				t.Errorf("Caddyfile snippet = %q", snippet)
			}
			resp, plain := get(t, base+"/apps/_api/admin/export?format=caddyfile", a.tok)
			if resp.StatusCode != http.StatusOK || plain != snippet {
				t.Errorf("export as a Caddyfile = %d %q", resp.StatusCode, plain)
			}
			promoted := fmt.Sprintf("http://127.0.0.1:1 {\n\thelpdesk_apps {\n\t\tsession {\n\t\t\thmac_secret %s\n\t\t}\n%s\t}\n}\n", testSecret, snippet)
			if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(promoted), nil); err != nil {
				t.Errorf("the exported snippet does not adapt: %v\n%s", err, promoted)
			}
			a.must(http.StatusNoContent, http.MethodDelete, "apps/crm", nil)
			a.must(http.StatusOK, http.MethodPost, "import", map[string]any{"apps": exp["apps"], "overrides": exp["overrides"]})
			if apps := a.refresh(); apps["crm"]["favorite"] != true || apps["wiki"]["disabled"] != true {
				t.Fatalf("after import: %v", apps)
			}

			inst := a.must(http.StatusOK, http.MethodGet, "instances", nil)
			self := inst["instances"].([]any)[0].(map[string]any)
			if self["self"] != true || self["revision"] != inst["revision"] || inst["storage_error"] != nil {
				t.Fatalf("instances = %v", inst)
			}
		})
	}
}

func TestManageRefusesOtherRoles(t *testing.T) {
	up := newUpstream(t)
	base := startManaged(t, t.TempDir(), up.URL, "127.0.0.1/32")
	for _, role := range []string{"agent", "supervisor"} {
		a := newAdmin(t, base, role)
		for _, ep := range []string{"apps", "apps/static", "audit", "export", "instances", "access?role=agent"} {
			if resp, p := a.call(http.MethodGet, ep, nil); resp.StatusCode != http.StatusForbidden || p["status"] != 403.0 {
				t.Errorf("%s GET %s = %d %v", role, ep, resp.StatusCode, p)
			}
		}
		if resp, _ := a.call(http.MethodPost, "apps", map[string]any{"id": "x", "upstream": up.URL}, "If-Match", "*"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s POST apps = %d", role, resp.StatusCode)
		}
		resp, body := get(t, base+"/apps/_api/me", a.tok)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"can_manage":false`) {
			t.Errorf("%s me = %s", role, body)
		}
	}
	if resp, body := get(t, base+"/apps/_api/me", newAdmin(t, base, "owner").tok); !strings.Contains(body, `"can_manage":true`) {
		t.Errorf("owner me = %d %s", resp.StatusCode, body)
	}
	anon := &admin{t: t, base: base}
	if resp, _ := anon.call(http.MethodGet, "apps", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no session: %d", resp.StatusCode)
	}
	if up.requests() != 0 {
		t.Errorf("the upstream was reached %d times", up.requests())
	}
}

func TestManageAnswersInvalidInputWithPointers(t *testing.T) {
	up := newUpstream(t)
	base := startManaged(t, t.TempDir(), up.URL, "127.0.0.1/32")
	a := newAdmin(t, base, "admin")
	a.refresh()
	for _, tc := range []struct {
		body any
		want []string
	}{
		{map[string]any{"id": "crm", "placement": "sidebar", "upstream": up.URL}, []string{"/placement"}},
		{map[string]any{"id": "crm", "roles": []string{"agent", "boss"}, "upstream": up.URL}, []string{"/roles/1"}},
		{map[string]any{"id": "crm", "roles": []string{"agent", "Agent"}, "upstream": up.URL}, []string{"/roles/1"}},
		{map[string]any{"id": "crm"}, []string{"/upstream"}},
		{map[string]any{"id": "Bad_Id", "upstream": up.URL}, []string{"/id"}},
		{map[string]any{"id": "crm", "order": "first", "upstream": up.URL}, []string{"/order"}},
		{map[string]any{"id": "crm", "upstream": up.URL, "backend": map[string]any{"handler": "static_response"}, "colour": "red"}, []string{"/backend", "/colour"}},
		{map[string]any{"id": "crm", "upstream": "http://127.0.0.1:2019"}, []string{"/upstream"}},
		{map[string]any{"id": "crm", "upstream": "http://169.254.169.254"}, []string{"/upstream"}},
		{map[string]any{"id": "crm", "upstream": "http://10.0.0.1:80"}, []string{"/upstream"}},
		{map[string]any{"id": "crm", "upstream": up.URL + "/admin"}, []string{"/upstream"}},
		{map[string]any{"id": "crm", "icon": "javascript:alert(1)", "upstream": up.URL}, []string{"/icon"}},
		{map[string]any{"id": "crm", "a/b~c": 1, "upstream": up.URL}, []string{"/a~1b~0c"}},
		{map[string]any{"id": "crm", "icon": "//evil.test/i.png", "upstream": up.URL}, []string{"/icon"}},
		{map[string]any{"id": "crm", "name": "CRM\n<script>", "upstream": up.URL}, []string{"/name"}},
		{map[string]any{"id": "crm", "name": strings.Repeat("n", 101), "upstream": up.URL}, []string{"/name"}},
		{map[string]any{"id": "crm", "divisions": []string{"1", strings.Repeat("9", 65)}, "upstream": up.URL}, []string{"/divisions/1"}},
	} {
		resp, p := a.call(http.MethodPost, "apps", tc.body, "If-Match", a.etag)
		if resp.StatusCode != http.StatusUnprocessableEntity || resp.Header.Get("Content-Type") != "application/problem+json" ||
			!slices.Equal(pointers(p), tc.want) {
			t.Errorf("POST %v = %d %v, want 422 with pointers %v", tc.body, resp.StatusCode, p, tc.want)
		}
	}
	resp, p := a.call(http.MethodPost, "apps", map[string]any{"id": "static", "upstream": up.URL}, "If-Match", a.etag)
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("taking the config's id = %d %v", resp.StatusCode, p)
	}
	if resp, _ := a.call(http.MethodPost, "apps", "[]", "If-Match", a.etag); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a non-object body = %d", resp.StatusCode)
	}
	big := map[string]any{"id": "crm", "upstream": up.URL, "name": strings.Repeat("x", 1<<20)}
	if resp, _ := a.call(http.MethodPost, "apps", big, "If-Match", a.etag); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over 1 MiB = %d", resp.StatusCode)
	}
	if resp, _ := a.call(http.MethodGet, "access?role=boss", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("access for an unknown role = %d", resp.StatusCode)
	}
	if a.refresh(); a.etag != `"0"` {
		t.Errorf("refused writes changed the revision to %s", a.etag)
	}
}

// TestManageUpstreamCheckedAtDial creates an app whose name the list
// allows but which resolves to a loopback address it does not: the app is
// saved, but no request ever reaches the listener behind it.
func TestManageUpstreamCheckedAtDial(t *testing.T) {
	up := newUpstream(t)
	_, port, _ := strings.Cut(strings.TrimPrefix(up.URL, "http://"), ":")
	base := startManaged(t, t.TempDir(), up.URL, "localhost:"+port)
	a := newAdmin(t, base, "admin")
	a.refresh()
	out := a.must(http.StatusCreated, http.MethodPost, "apps", map[string]any{"id": "sneaky", "upstream": "http://localhost:" + port})
	if w := fmt.Sprint(out["warnings"]); !strings.Contains(w, "not among the allowed upstreams") {
		t.Errorf("probe warnings = %s", w)
	}
	resp, body := get(t, base+"/apps/sneaky/", token(t, agent("agent", 1)))
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("app behind a refused address answers %d %s, want 502", resp.StatusCode, body)
	}
	if up.requests() != 0 {
		t.Fatalf("the loopback listener received %d requests", up.requests())
	}
}

func TestManageCaddyfileAppsPrecedence(t *testing.T) {
	up := newUpstream(t)
	storage := t.TempDir()
	base := startManaged(t, storage, up.URL, "127.0.0.1/32")
	a := newAdmin(t, base, "admin")
	static := a.refresh()["static"]
	if !slices.Contains(toStrings(static["locked"]), "roles") || slices.Contains(toStrings(static["locked"]), "favorite") {
		t.Fatalf("locked fields = %v", static["locked"])
	}
	p := a.must(http.StatusUnprocessableEntity, http.MethodPatch, "apps/static", map[string]any{"roles": []string{"admin"}, "name": "Mine"})
	if !slices.Equal(pointers(p), []string{"/name", "/roles"}) {
		t.Fatalf("changing locked fields: %v", p)
	}
	if p := a.must(http.StatusUnprocessableEntity, http.MethodPatch, "apps/static", map[string]any{"roles": nil}); !slices.Equal(pointers(p), []string{"/roles"}) {
		t.Fatalf("removing a locked field: %v", p)
	}
	if a.refresh(); a.etag != `"0"` {
		t.Fatalf("refused patches changed the revision to %s", a.etag)
	}
	a.must(http.StatusOK, http.MethodPatch, "apps/static", map[string]any{"favorite": true, "disabled": true})
	if resp, _ := get(t, base+"/apps/static/", token(t, agent("agent", 1))); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deactivated config app answers %d", resp.StatusCode)
	}
	a.must(http.StatusConflict, http.MethodDelete, "apps/static", nil)
	for _, tc := range []struct {
		body any
		want []string
	}{
		{map[string]any{"apps": []any{}, "overrides": map[string]any{"static": map[string]any{"disabled": true, "order": "7"}}}, []string{"/overrides/static/order"}},
		{map[string]any{"apps": []any{}, "overrides": map[string]any{"static": map[string]any{"roles": []string{"admin"}}}}, []string{"/overrides/static/roles"}},
		{map[string]any{"overrides": map[string]any{}}, []string{"/apps"}},
	} {
		if p := a.must(http.StatusUnprocessableEntity, http.MethodPost, "import", tc.body); !slices.Equal(pointers(p), tc.want) {
			t.Errorf("import %v = %v, want pointers %v", tc.body, p, tc.want)
		}
	}
	created := a.must(http.StatusCreated, http.MethodPost, "apps", map[string]any{"id": "crm", "upstream": "HTTP://" + strings.TrimPrefix(up.URL, "http://") + "/"})
	if got := created["app"].(map[string]any)["upstream"]; got != up.URL {
		t.Errorf("upstream stored as %v, want %s", got, up.URL)
	}

	// Reload without the app: its overrides are kept, as an orphan.
	addr := strings.TrimPrefix(base, "http://")
	without := strings.Replace(fmt.Sprintf(manageSite(storage, up.URL, "127.0.0.1/32"), addr), "app static", "app other", 1)
	loadCaddyfile(t, without)
	out := a.must(http.StatusOK, http.MethodGet, "apps", nil)
	orphans := out["orphans"].([]any)
	if len(orphans) != 1 || orphans[0].(map[string]any)["id"] != "static" {
		t.Fatalf("orphans = %v", orphans)
	}
	// And back: the overrides apply again.
	loadCaddyfile(t, fmt.Sprintf(manageSite(storage, up.URL, "127.0.0.1/32"), addr))
	if app := a.refresh()["static"]; app["favorite"] != true || app["disabled"] != true {
		t.Fatalf("overrides after the app came back: %v", app)
	}
	if resp, _ := get(t, base+"/apps/crm/", token(t, agent("agent", 1))); resp.StatusCode != http.StatusOK {
		t.Fatalf("the runtime app after two reloads answers %d", resp.StatusCode)
	}
}

// TestManageAppliesOverridesOneByOne stores overrides that ops no longer
// allow, or that are invalid, beside one that is fine: each is judged on
// its own, and an app an admin deactivated stays hidden.
func TestManageAppliesOverridesOneByOne(t *testing.T) {
	up := newUpstream(t)
	storage := t.TempDir()
	base := startManaged(t, storage, up.URL, "127.0.0.1/32")
	a := newAdmin(t, base, "admin")
	a.refresh()
	a.must(http.StatusOK, http.MethodPatch, "apps/static", map[string]any{"favorite": true})
	files, _ := filepath.Glob(filepath.Join(storage, "helpdesk_apps", "*", "registry.json"))
	for _, tc := range []struct {
		overrides string
		status    int
		favorite  any
	}{
		{`{"disabled":true,"name":"Renamed","favorite":true}`, http.StatusNotFound, true},
		{`{"disabled":"yes","favorite":true}`, http.StatusNotFound, true},
		{`{"placement":"nowhere","favorite":true}`, http.StatusOK, true},
	} {
		rev := a.must(http.StatusOK, http.MethodGet, "apps", nil)["revision"].(float64) + 1
		doc := fmt.Sprintf(`{"revision":%d,"apps":[],"overrides":{"static":%s}}`, int(rev), tc.overrides)
		if err := os.WriteFile(files[0], []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for runningHandler(t).reg.Load().doc.Revision != uint64(rev) {
			if time.Now().After(deadline) {
				t.Fatalf("revision %d was not installed", int(rev))
			}
			time.Sleep(100 * time.Millisecond)
		}
		if resp, _ := get(t, base+"/apps/static/", token(t, agent("agent", 1))); resp.StatusCode != tc.status {
			t.Errorf("overrides %s: the app answers %d, want %d", tc.overrides, resp.StatusCode, tc.status)
		}
		app := a.refresh()["static"]
		if app["favorite"] != tc.favorite || !strings.Contains(fmt.Sprint(app["problem"]), "not applied") {
			t.Errorf("overrides %s: listed as %v", tc.overrides, app)
		}
	}
}

func toStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

func TestManageSurvivesRestart(t *testing.T) {
	up := newUpstream(t)
	storage := t.TempDir()
	addr := freeAddr(t)
	cfg := fmt.Sprintf(manageSite(storage, up.URL, "127.0.0.1/32"), addr)
	base := "http://" + addr
	t.Run("write", func(t *testing.T) {
		startWholeCaddyfile(t, cfg)
		a := newAdmin(t, base, "admin")
		a.refresh()
		a.must(http.StatusCreated, http.MethodPost, "apps", map[string]any{"id": "crm", "upstream": up.URL})
		a.must(http.StatusOK, http.MethodPatch, "apps/static", map[string]any{"favorite": true})
	})
	t.Run("read", func(t *testing.T) {
		startWholeCaddyfile(t, cfg)
		agentTok := token(t, agent("agent", 1))
		if got := manifestIDs(t, base, agentTok); !slices.Equal(got, []string{"static", "crm"}) {
			t.Fatalf("manifest after restart = %v", got)
		}
		if resp, _ := get(t, base+"/apps/crm/", agentTok); resp.StatusCode != http.StatusOK {
			t.Fatalf("runtime app after restart: %d", resp.StatusCode)
		}
	})
}

func TestManageDeactivationAndDeletionCloseWebSockets(t *testing.T) {
	echo := wsEcho(t, "crm")
	base := startManaged(t, t.TempDir(), echo.URL, "127.0.0.1/32")
	a := newAdmin(t, base, "admin")
	a.refresh()
	tok := token(t, agent("agent", 1))
	for _, tc := range []struct {
		id, method string
		body       any
		status     int
	}{
		{"crm", http.MethodPatch, map[string]any{"disabled": true}, http.StatusOK},
		{"wiki", http.MethodDelete, nil, http.StatusNoContent},
	} {
		a.must(http.StatusCreated, http.MethodPost, "apps", map[string]any{"id": tc.id, "upstream": echo.URL})
		conn := wsDial(t, base, "/apps/"+tc.id+"/ws", tok)
		if got, err := wsSay(conn, "hi"); err != nil || got != "crm hi" {
			t.Fatalf("%s: echo = %q, %v", tc.id, got, err)
		}
		a.must(tc.status, tc.method, "apps/"+tc.id, tc.body)
		if _, err := wsSay(conn, "still there?"); err == nil {
			t.Fatalf("%s: the WebSocket is still open after %s", tc.id, tc.method)
		}
		if resp, _ := get(t, base+"/apps/"+tc.id+"/", tok); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s answers %d after %s", tc.id, resp.StatusCode, tc.method)
		}
	}
}

func TestManageRefusesCrossSiteCookieWrites(t *testing.T) {
	up := newUpstream(t)
	base := startManaged(t, t.TempDir(), up.URL, "127.0.0.1/32")
	a := newAdmin(t, base, "admin")
	a.cookie = true
	a.refresh()
	body := map[string]any{"id": "crm", "upstream": up.URL}
	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "http://evil.test"},
	} {
		if resp, p := a.call(http.MethodPost, "apps", body, append([]string{"If-Match", a.etag}, hdr...)...); resp.StatusCode != http.StatusForbidden {
			t.Errorf("cookie POST with %v = %d %v", hdr, resp.StatusCode, p)
		}
	}
	a.must(http.StatusCreated, http.MethodPost, "apps", body, "Sec-Fetch-Site", "same-origin")
	// A bearer token is not sent by browsers on their own: no check.
	a.cookie = false
	a.must(http.StatusOK, http.MethodPatch, "apps/crm", map[string]any{"favorite": true}, "Origin", "http://elsewhere.test")
}

// TestManageKeepsServingWhenStorageFails breaks the stored document in
// each way storage can: unreadable, not compiling, with a null app, gone.
// Each time the instance keeps the registry it had, and says why.
func TestManageKeepsServingWhenStorageFails(t *testing.T) {
	up := newUpstream(t)
	storage := t.TempDir()
	base := startManaged(t, storage, up.URL, "127.0.0.1/32")
	a := newAdmin(t, base, "admin")
	a.refresh()
	a.must(http.StatusCreated, http.MethodPost, "apps", map[string]any{"id": "crm", "upstream": up.URL})
	files, _ := filepath.Glob(filepath.Join(storage, "helpdesk_apps", "*", "registry.json"))
	if len(files) != 1 {
		t.Fatalf("registry files: %v", files)
	}
	write := func(doc string) func() error {
		return func() error { return os.WriteFile(files[0], []byte(doc), 0o600) }
	}
	for _, tc := range []struct {
		broken func() error
		want   string
	}{
		{write("{not json"), "reading the shared registry"},
		// Two apps of one id, as no write through the API makes.
		{write(fmt.Sprintf(`{"revision":7,"apps":[{"id":"x","upstream":%[1]q},{"id":"x","upstream":%[1]q}],"overrides":{}}`, up.URL)), "compiling revision 7"},
		{write(`{"revision":8,"apps":[null]}`), "an app is null"},
		// A storage failed over to an empty replica.
		{func() error { return os.Remove(files[0]) }, "is missing, though revision 7 was read before"},
	} {
		if err := tc.broken(); err != nil {
			t.Fatal(err)
		}
		var inst, self map[string]any
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(fmt.Sprint(self["error"]), tc.want) {
			if time.Now().After(deadline) {
				t.Fatalf("instances = %v, want an error saying %q", inst, tc.want)
			}
			time.Sleep(100 * time.Millisecond)
			inst = a.must(http.StatusOK, http.MethodGet, "instances", nil)
			self = inst["instances"].([]any)[0].(map[string]any)
		}
		if self["revision"] != 1.0 {
			t.Errorf("%s: the instance serves revision %v, want the last good, 1", tc.want, self["revision"])
		}
		if resp, _ := get(t, base+"/apps/crm/", token(t, agent("agent", 1))); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: the last registry is not served: %d", tc.want, resp.StatusCode)
		}
		if tc.want == "reading the shared registry" {
			if inst["storage_error"] == nil {
				t.Errorf("instances say nothing of the storage: %v", inst)
			}
			if resp, p := a.call(http.MethodGet, "apps", nil); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("GET apps with a broken document = %d %v", resp.StatusCode, p)
			}
		}
	}
}

// TestManagePollNeverUndoesAWrite installs what a poll read before this
// instance's own write: it is older than what the instance serves, and is
// not installed.
func TestManagePollNeverUndoesAWrite(t *testing.T) {
	up := newUpstream(t)
	base := startManaged(t, t.TempDir(), up.URL, "127.0.0.1/32")
	h := runningHandler(t)
	a := newAdmin(t, base, "admin")
	a.refresh()
	writes := h.manager.writes.Load()
	old, err := h.manager.load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a.must(http.StatusCreated, http.MethodPost, "apps", map[string]any{"id": "crm", "upstream": up.URL})
	if err := h.install(old, writes); err != nil {
		t.Fatal(err)
	}
	if got := h.reg.Load().doc.Revision; got != 1 {
		t.Fatalf("the instance serves revision %d after a stale poll, want 1", got)
	}
	if resp, _ := get(t, base+"/apps/crm/", token(t, agent("agent", 1))); resp.StatusCode != http.StatusOK {
		t.Fatalf("the app written answers %d", resp.StatusCode)
	}
}

// TestManageChangesUnderLoad makes 100 admin changes to other apps (create,
// patch, reorder, deactivate, delete) while 32 clients use an app of the
// config: not one request may fail.
func TestManageChangesUnderLoad(t *testing.T) {
	up := newUpstream(t)
	base := startManaged(t, t.TempDir(), up.URL, "127.0.0.1/32")
	a := newAdmin(t, base, "admin")
	a.refresh()
	tok := token(t, agent("agent", 1))

	clients := startLoad(base+"/apps/static/echo", tok)
	for i := range 100 {
		id := fmt.Sprintf("tool-%d", i/5)
		switch i % 5 {
		case 0:
			a.must(http.StatusCreated, http.MethodPost, "apps", map[string]any{"id": id, "upstream": up.URL})
		case 1:
			a.must(http.StatusOK, http.MethodPatch, "apps/"+id, map[string]any{"favorite": true, "name": "Tool " + id})
		case 2:
			ids := []string{id}
			for _, app := range a.refresh() {
				if app["placement"] == "main_menu" && app["id"] != id {
					ids = append(ids, app["id"].(string))
				}
			}
			a.must(http.StatusOK, http.MethodPut, "order/main_menu", map[string]any{"ids": ids})
		case 3:
			a.must(http.StatusOK, http.MethodPatch, "apps/"+id, map[string]any{"disabled": true})
		case 4:
			if i%10 == 4 {
				a.must(http.StatusNoContent, http.MethodDelete, "apps/"+id, nil)
			} else {
				a.must(http.StatusOK, http.MethodPatch, "apps/"+id, map[string]any{"disabled": false})
			}
		}
	}
	clients.check(t, "100 admin changes")
	if a.refresh(); a.etag != `"100"` {
		t.Errorf("revision %s after 100 changes", a.etag)
	}
}

func TestSettingsPageIsForTheManageRolesOnly(t *testing.T) {
	up := newUpstream(t)
	base := startManaged(t, t.TempDir(), up.URL, "127.0.0.1/32")
	for _, tc := range []struct {
		role   string
		status int
	}{{"", http.StatusUnauthorized}, {"agent", http.StatusForbidden}, {"supervisor", http.StatusForbidden}, {"admin", http.StatusOK}, {"owner", http.StatusOK}} {
		tok := ""
		if tc.role != "" {
			tok = newAdmin(t, base, tc.role).tok
		}
		resp, body := get(t, base+"/apps/_admin/", tok, "Accept", "text/html")
		if resp.StatusCode != tc.status {
			t.Errorf("%q: settings page = %d", tc.role, resp.StatusCode)
		}
		if tc.status == http.StatusOK && (!strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") ||
			!strings.Contains(body, "Integrations")) {
			t.Errorf("%q: settings page headers %v body %.200s", tc.role, resp.Header, body)
		}
		if tc.status != http.StatusOK && strings.Contains(body, "Integrations") {
			t.Errorf("%q: refused, but the page was sent", tc.role)
		}
	}
	if resp, _ := get(t, base+"/apps/_admin", ""); resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "/apps/_admin/" {
		t.Errorf("/apps/_admin = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestManageListsInstances lists the instances sharing the storage: this
// one first, one not heard from for three polls as stale, and one gone for
// a day not at all, its record deleted.
func TestManageListsInstances(t *testing.T) {
	up := newUpstream(t)
	storage := t.TempDir()
	base := startManaged(t, storage, up.URL, "127.0.0.1/32")
	a := newAdmin(t, base, "admin")
	dir := filepath.Join(storage, "helpdesk_apps", storageName("https://helpdesk.test", "/apps"))
	write := func(id string, seen time.Time) string {
		file := filepath.Join(dir, "instances", id+".json")
		raw, _ := json.Marshal(instanceRecord{ID: id, Host: "elsewhere", Revision: 0, SeenAt: seen, AppliedAt: seen})
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	write("b-live", time.Now())
	write("c-quiet", time.Now().Add(-time.Minute))
	gone := write("a-gone", time.Now().Add(-25*time.Hour))

	inst := a.must(http.StatusOK, http.MethodGet, "instances", nil)["instances"].([]any)
	var got []string
	for _, i := range inst {
		i := i.(map[string]any)
		got = append(got, fmt.Sprintf("%v self=%v stale=%v", i["host"], i["self"], i["stale"]))
	}
	host, _ := os.Hostname()
	want := []string{host + " self=true stale=<nil>", "elsewhere self=<nil> stale=<nil>", "elsewhere self=<nil> stale=true"}
	if !slices.Equal(got, want) {
		t.Fatalf("instances = %q, want %q", got, want)
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("the record of an instance gone for a day is still there: %v", err)
	}
}

// TestManageHostKeepsAppsOffTheManagementOrigin serves the management on a
// host of its own: there, no app; elsewhere, no management. No app page
// then shares an origin with the API an admin's cookie opens.
func TestManageHostKeepsAppsOffTheManagementOrigin(t *testing.T) {
	up := newUpstream(t)
	addr := freeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	cfg := strings.Replace(fmt.Sprintf(manageSite(t.TempDir(), up.URL, "127.0.0.1/32"), addr), "http://"+addr+" {", "http://:"+port+" {", 1)
	cfg = strings.Replace(cfg, "\t\t\tpoll 1s\n", "\t\t\tpoll 1s\n\t\t\thost Admin.Helpdesk.Test\n", 1)
	startWholeCaddyfile(t, cfg)
	base := "http://" + addr
	adminTok := newAdmin(t, base, "admin").tok
	at := func(host, path string) int {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Host = host
		req.AddCookie(&http.Cookie{Name: "hd_session", Value: adminTok})
		req.Header.Set("Accept", "text/html")
		resp, _ := do(t, req)
		return resp.StatusCode
	}
	for _, tc := range []struct {
		host, path string
		want       int
	}{
		{"admin.helpdesk.test", "/apps/_admin/", http.StatusOK},
		{"admin.helpdesk.test:" + port, "/apps/_api/admin/apps", http.StatusOK},
		{"admin.helpdesk.test", "/apps/static/", http.StatusNotFound},
		{"admin.helpdesk.test", "/apps/_api/me", http.StatusOK},
		{"apps.helpdesk.test", "/apps/static/", http.StatusOK},
		{"apps.helpdesk.test", "/apps/_admin/", http.StatusNotFound},
		{"apps.helpdesk.test", "/apps/_api/admin/apps", http.StatusNotFound},
		{"127.0.0.1", "/apps/_api/admin/apps", http.StatusNotFound},
	} {
		if got := at(tc.host, tc.path); got != tc.want {
			t.Errorf("%s%s = %d, want %d", tc.host, tc.path, got, tc.want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/apps/_api/me", nil)
	req.Host = "apps.helpdesk.test"
	req.Header.Set("Authorization", "Bearer "+adminTok)
	if _, body := do(t, req); !strings.Contains(body, `"settings_url":"http://admin.helpdesk.test/apps/_admin/"`) {
		t.Errorf("me on the apps host = %s", body)
	}
}

// TestExportedSnippetAdaptsAsWritten adapts the snippet of apps whose
// values the Caddyfile would misread: an environment variable in a name
// must not become its value, quotes and heredoc markers stay text.
func TestExportedSnippetAdaptsAsWritten(t *testing.T) {
	t.Setenv("HD_EXPORT_SECRET", "s3cr3t-value")
	no := false
	apps := []*AppConfig{
		{ID: "crm", Name: "{$HD_EXPORT_SECRET}", Icon: "/i.png", Roles: []string{"agent"}, Upstream: "http://crm.internal:8080"},
		{ID: "wiki", Name: `Team "wiki" <<EOF`, Divisions: []string{"1", "a b"}, Inject: &no, RewriteLinks: true, Upstream: "https://[fd00::5]:443"},
	}
	snippet := caddyfileSnippet(apps)
	promoted := fmt.Sprintf("http://127.0.0.1:1 {\n\thelpdesk_apps {\n\t\tsession {\n\t\t\thmac_secret %s\n\t\t}\n%s\t}\n}\n", testSecret, snippet)
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(promoted), nil)
	if err != nil {
		t.Fatalf("the snippet does not adapt: %v\n%s", err, snippet)
	}
	if strings.Contains(string(out), "s3cr3t") {
		t.Fatalf("the snippet let the Caddyfile read an environment variable:\n%s", snippet)
	}
	for _, want := range []string{`"name":"Team \"wiki\" \u003c\u003cEOF"`, `"divisions":["1","a b"]`, `"inject":false`, `"rewrite_links":true`, `"dial":"[fd00::5]:443"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("adapted snippet lacks %s:\n%s", want, out)
		}
	}
	if !strings.Contains(snippet, "# name: left out") {
		t.Errorf("the snippet does not say what it left out:\n%s", snippet)
	}
}

// TestManageRefusesListedAddresses refuses a runtime app the address of a
// listener ops named, though the allowlist covers it, and starts with an
// admin endpoint on a Unix socket, which no dial can reach.
func TestManageRefusesListedAddresses(t *testing.T) {
	up := newUpstream(t)
	defer func(listen string) { caddy.DefaultAdminListen = listen }(caddy.DefaultAdminListen)
	caddy.DefaultAdminListen = "unix/" + filepath.Join(t.TempDir(), "admin.sock")
	addr := freeAddr(t)
	cfg := strings.Replace(fmt.Sprintf(manageSite(t.TempDir(), up.URL, "127.0.0.1/32"), addr),
		"\t\t\tpoll 1s\n", "\t\t\tpoll 1s\n\t\t\trefuse "+strings.TrimPrefix(up.URL, "http://")+"\n", 1)
	startWholeCaddyfile(t, cfg)
	a := newAdmin(t, "http://"+addr, "admin")
	a.refresh()
	if p := a.must(http.StatusUnprocessableEntity, http.MethodPost, "apps", map[string]any{"id": "crm", "upstream": up.URL}); !slices.Equal(pointers(p), []string{"/upstream"}) {
		t.Fatalf("an upstream at a refused address = %v", p)
	}
}

// TestFitDocumentDropsTheOldestAuditEntries keeps the stored document
// within its bound by the audit trail's oldest entries, and refuses apps
// that alone exceed it.
func TestFitDocumentDropsTheOldestAuditEntries(t *testing.T) {
	doc := &document{Overrides: map[string]map[string]json.RawMessage{}}
	for i := range auditLimit {
		doc.Audit = append(doc.Audit, auditEntry{Revision: uint64(i + 1), Target: strings.Repeat("x", 2000)})
	}
	if p := fitDocument(doc); p != nil {
		t.Fatal(p)
	}
	raw, _ := json.Marshal(doc)
	if len(raw) > maxDocument || len(doc.Audit) == auditLimit || doc.Audit[len(doc.Audit)-1].Revision != auditLimit {
		t.Fatalf("fitted: %d bytes, %d entries, the newest %d", len(raw), len(doc.Audit), doc.Audit[len(doc.Audit)-1].Revision)
	}
	for i := range 5000 {
		doc.Apps = append(doc.Apps, &AppConfig{ID: fmt.Sprintf("app-%d", i), Name: strings.Repeat("n", 100)})
	}
	if p := fitDocument(doc); p == nil || p.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("apps over the bound = %v", p)
	}
}

// TestProbeTellsNothingOfOtherServices points an app at a service that
// does not speak HTTP: the admin learns it is not HTTP, not what it said.
func TestProbeTellsNothingOfOtherServices(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = conn.Write([]byte("SSH-2.0-OpenSSH_9.2p1 secret-banner-1.2.3\r\n"))
			conn.Close()
		}
	}()
	up := newUpstream(t)
	base := startManaged(t, t.TempDir(), up.URL, "127.0.0.1/32")
	a := newAdmin(t, base, "admin")
	a.refresh()
	out := a.must(http.StatusOK, http.MethodPost, "apps?dry_run=true", map[string]any{"id": "ssh", "upstream": "http://" + ln.Addr().String()})
	w := fmt.Sprint(out["warnings"])
	if !strings.Contains(w, "not HTTP") || strings.Contains(w, "secret-banner") || strings.Contains(w, "OpenSSH") {
		t.Fatalf("probe warnings = %s", w)
	}
}

func TestHealthReportsTheSharedRegistry(t *testing.T) {
	up := newUpstream(t)
	base := startManaged(t, t.TempDir(), up.URL, "127.0.0.1/32")
	resp, body := get(t, base+"/apps/_api/health", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"ok"`) || !strings.Contains(body, `"shared":{"revision":0}`) || !strings.Contains(body, `"apps":1`) {
		t.Fatalf("health: %d %s", resp.StatusCode, body)
	}
	a := newAdmin(t, base, "admin")
	a.refresh()
	a.must(http.StatusCreated, http.MethodPost, "apps", map[string]any{"id": "crm", "upstream": up.URL})
	if _, body := get(t, base+"/apps/_api/health", ""); !strings.Contains(body, `"shared":{"revision":1}`) || !strings.Contains(body, `"apps":2`) {
		t.Fatalf("health after a write: %s", body)
	}
}
