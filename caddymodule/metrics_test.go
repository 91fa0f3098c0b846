package caddymodule

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// scrape reads the metrics of the config at base's /metrics, and returns
// the samples of the gateway's metrics, as "name{labels} value" lines.
func scrape(t *testing.T, base string) map[string]string {
	t.Helper()
	resp, body := get(t, base+"/metrics", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	samples := map[string]string{}
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, "caddy_helpdesk_apps_") {
			i := strings.LastIndexByte(line, ' ')
			samples[line[:i]] = line[i+1:]
		}
	}
	return samples
}

// TestMetricsCountEachOutcomeByApp sends a known mix of requests and finds
// each count, labelled by app, in the scrape of Caddy's metrics endpoint;
// an app deleted at runtime leaves no series.
func TestMetricsCountEachOutcomeByApp(t *testing.T) {
	up := newUpstream(t)
	addr := freeAddr(t)
	down := freeAddr(t) // nothing listens there
	startWholeCaddyfile(t, fmt.Sprintf(`{
	admin off
	persist_config off
	auto_https off
	storage file_system %s
	log {
		level ERROR
	}
%s}
http://%s {
	bind 127.0.0.1
	handle /metrics {
		metrics
	}
	helpdesk_apps /apps {
		session {
			cookie hd_session
			bearer
			hmac_secret %s
			issuer https://helpdesk.test
			audience helpdesk-apps
		}
		manage {
			upstreams 127.0.0.1/32
			poll 1s
		}
		app crm {
			roles agent
			to %s
		}
		app wiki {
			rewrite_links on
			inject off
			to %[5]s
		}
		app gone {
			to %s
		}
	}
}
`, t.TempDir(), permissiveServer, addr, testSecret, up.hostport(), down))
	base := "http://" + addr
	// Before any request, the series nearly every request counts in are
	// there at 0.
	start := scrape(t, base)
	for _, sample := range []string{
		`caddy_helpdesk_apps_requests_total{app="crm",outcome="allowed"}`,
		`caddy_helpdesk_apps_backend_response_seconds_count{app="wiki"}`,
		`caddy_helpdesk_apps_session_verifications_total{result="cache_hit"}`,
		`caddy_helpdesk_apps_assertions_total{result="signed"}`,
	} {
		if got := start[sample]; got != "0" {
			t.Errorf("before any request, %s = %q; want 0", sample, got)
		}
	}
	agentTok, adminTok := token(t, agent("agent", 1)), token(t, agent("admin", 1))
	page := []string{"Accept", "text/html", "Sec-Fetch-Dest", "iframe"}
	for _, tc := range []struct {
		path, tok string
		hdr       []string
		status    int
	}{
		{"/apps/crm/x", agentTok, nil, 200},
		{"/apps/crm/x", agentTok, nil, 200},
		{"/apps/crm/page", agentTok, page, 200},
		{"/apps/crm/x", "", nil, 401},
		{"/apps/crm/x", adminTok, nil, 403},
		{"/apps/nope/x", agentTok, nil, 404},
		{"/apps/wiki/page", agentTok, page, 200},
		{"/apps/gone/x", agentTok, nil, 502},
	} {
		if resp, _ := get(t, base+tc.path, tc.tok, tc.hdr...); resp.StatusCode != tc.status {
			t.Fatalf("%s: %d; want %d", tc.path, resp.StatusCode, tc.status)
		}
	}
	s := scrape(t, base)
	for sample, want := range map[string]string{
		`caddy_helpdesk_apps_requests_total{app="crm",outcome="allowed"}`:                      "3",
		`caddy_helpdesk_apps_requests_total{app="crm",outcome="unauthenticated"}`:              "1",
		`caddy_helpdesk_apps_requests_total{app="crm",outcome="forbidden"}`:                    "1",
		`caddy_helpdesk_apps_requests_total{app="_none",outcome="not_found"}`:                  "1",
		`caddy_helpdesk_apps_requests_total{app="wiki",outcome="allowed"}`:                     "1",
		`caddy_helpdesk_apps_requests_total{app="gone",outcome="backend_error"}`:               "1",
		`caddy_helpdesk_apps_bodies_total{action="injected",app="crm",reason="document"}`:      "1",
		`caddy_helpdesk_apps_bodies_total{action="passed",app="crm",reason="not_html_or_css"}`: "2",
		`caddy_helpdesk_apps_bodies_total{action="rewritten",app="wiki",reason="links"}`:       "1",
		`caddy_helpdesk_apps_backend_response_seconds_count{app="crm"}`:                        "3",
		`caddy_helpdesk_apps_session_verifications_total{result="verified"}`:                   "2",
		`caddy_helpdesk_apps_assertions_total{result="signed"}`:                                "3",
		`caddy_helpdesk_apps_registry_revision{prefix="/apps"}`:                                "1",
	} {
		if got := s[sample]; got != want {
			t.Errorf("%s = %q; want %s", sample, got, want)
		}
	}
	// A cache hit for each later request with a token already checked.
	if hits := s[`caddy_helpdesk_apps_session_verifications_total{result="cache_hit"}`]; hits == "" || hits == "0" {
		t.Errorf("no session cache hits counted: %v", s)
	}
	for sample := range s {
		if strings.Contains(sample, "u-1") || strings.Contains(sample, "/x") || strings.Contains(sample, "/page") {
			t.Errorf("a user or a path in a label: %s", sample)
		}
	}

	// An app created at runtime, used, then deleted: its series go with it.
	a := newAdmin(t, base, "admin")
	a.refresh()
	a.must(http.StatusCreated, http.MethodPost, "apps", map[string]any{"id": "orders", "upstream": up.URL})
	if resp, _ := get(t, base+"/apps/orders/x", agentTok); resp.StatusCode != 200 {
		t.Fatalf("orders: %d", resp.StatusCode)
	}
	if got := scrape(t, base)[`caddy_helpdesk_apps_requests_total{app="orders",outcome="allowed"}`]; got != "1" {
		t.Fatalf("orders counted %q", got)
	}
	a.must(http.StatusNoContent, http.MethodDelete, "apps/orders", nil)
	s = scrape(t, base)
	for sample := range s {
		if strings.Contains(sample, `app="orders"`) {
			t.Errorf("a deleted app's series is left: %s", sample)
		}
	}
	if s[`caddy_helpdesk_apps_registry_revision{prefix="/apps"}`] != "3" || s[`caddy_helpdesk_apps_requests_total{app="crm",outcome="allowed"}`] != "3" {
		t.Errorf("after the deletion: %v", s)
	}
}

// TestMetricsOfTheKeySet counts a failed fetch of the session's JWKS and,
// once it is up, its keys and the time of the fetch, labelled by its URL
// without its query.
func TestMetricsOfTheKeySet(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	var up atomic.Bool
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(set)
	}))
	t.Cleanup(idp.Close)
	base := startCaddy(t, fmt.Sprintf(`
	handle /metrics {
		metrics
	}
	helpdesk_apps {
		session {
			jwks %s/jwks.json?secret=x
		}
		app open {
			to 127.0.0.1:1
		}
	}`, idp.URL))
	label := idp.URL + "/jwks.json"
	get(t, base+"/apps/_api/health", "")
	if got := scrape(t, base)[`caddy_helpdesk_apps_jwks_fetch_failures_total{jwks="`+label+`"}`]; got == "" || got == "0" {
		t.Fatalf("no failed fetch counted: %v", scrape(t, base))
	}
	up.Store(true)
	if resp, body := get(t, base+"/apps/_api/health", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("health once the key set is up: %d %s", resp.StatusCode, body)
	}
	s := scrape(t, base)
	if s[`caddy_helpdesk_apps_jwks_keys{jwks="`+label+`"}`] != "1" || s[`caddy_helpdesk_apps_jwks_last_fetch_timestamp_seconds{jwks="`+label+`"}`] == "" {
		t.Errorf("the key set once up: %v", s)
	}
	for sample := range s {
		if strings.Contains(sample, "secret=") {
			t.Errorf("the key set's query in a label: %s", sample)
		}
	}
}

// TestDashboardQueriesTheMetrics reads docs/grafana-dashboard.json: every
// metric its queries name is one the gateway exports.
func TestDashboardQueriesTheMetrics(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "docs", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	newMetrics(reg)
	ch := make(chan *prometheus.Desc, 64)
	reg.Describe(ch)
	close(ch)
	known := map[string]bool{}
	for d := range ch {
		name := regexp.MustCompile(`fqName: "([a-z_]+)"`).FindStringSubmatch(d.String())[1]
		known[name] = true
		known[name+"_bucket"] = true
	}
	used := regexp.MustCompile(`caddy_helpdesk_apps_[a-z_]+`).FindAllString(string(raw), -1)
	if len(used) < 10 {
		t.Fatalf("the dashboard queries %d metrics", len(used))
	}
	for _, name := range used {
		if !known[name] {
			t.Errorf("the dashboard queries %s, which the gateway does not export", name)
		}
	}
}

// TestMetricsOfAnAppTwoHandlersServe: the helpdesk_apps handlers of one
// config share the metrics; when one of them drops an app that another
// still serves, the other's requests for it still count where a scrape
// finds them.
func TestMetricsOfAnAppTwoHandlersServe(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	registryOf := func(ids ...string) *registry {
		r := &registry{byID: map[string]*App{}}
		for _, id := range ids {
			r.byID[id] = &App{AppConfig: AppConfig{ID: id}}
		}
		return r
	}
	a, b := registryOf("crm"), registryOf("crm")
	m.track(a)
	m.track(b)
	next := registryOf()
	m.track(next)
	m.forget(a, next) // the first handler drops crm
	for range 5 {
		m.request(b.byID["crm"], http.StatusOK, nil, true)
		m.backendTime(b.byID["crm"], time.Millisecond)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var allowed, observed float64
	for _, f := range families {
		for _, s := range f.GetMetric() {
			switch f.GetName() {
			case "caddy_helpdesk_apps_requests_total":
				allowed += s.GetCounter().GetValue()
			case "caddy_helpdesk_apps_backend_response_seconds":
				observed += float64(s.GetHistogram().GetSampleCount())
			}
		}
	}
	if allowed != 5 || observed != 5 {
		t.Errorf("the other handler's 5 requests for crm: %v counted, %v timed", allowed, observed)
	}
}
