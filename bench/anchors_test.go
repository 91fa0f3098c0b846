package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestPageLinksReadsHrefAndSrcButNotTheShim(t *testing.T) {
	doc := `<!DOCTYPE html><html><head>
<script src="/apps/_client.js" data-helpdesk-app="bench-links" data-helpdesk-prefix="/apps/bench-links"></script>
<link rel=stylesheet href='/apps/bench-links/a.css?v=1&amp;w=2'>
<img src=/apps/bench-links/i.png alt="/not/a/link"><br/>
</head><body><a href="/apps/bench-links/t/1">1</a><a href="/apps/bench-links/t/1">again</a><a name=x>no link</a>
<form action="/not/read"></form></body></html>`
	got, err := pageLinks([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"/apps/bench-links/a.css?v=1&w=2": 1,
		"/apps/bench-links/i.png":         1,
		"/apps/bench-links/t/1":           2,
	}
	if len(got) != len(want) {
		t.Errorf("links %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%q: %d times, want %d (all: %v)", k, got[k], n, got)
		}
	}
}

func TestSameLinksIgnoresSerialisationAndTheShim(t *testing.T) {
	gateway := `<!DOCTYPE html>
<html lang="en"><head><script src="/apps/_client.js" data-helpdesk-app="bench-links"></script>
<link rel="stylesheet" href="/apps/bench-links/s.css?a=1&amp;b=2">
</head><body><a href="/apps/bench-links/t/1">#1</a><a href="/apps/bench-links/t/1">#1</a></body></html>`
	apache := `<html lang="en"><head><link href='/apps/bench-links/s.css?a=1&b=2' rel=stylesheet></head><body>
<a href=/apps/bench-links/t/1>#1</a></body></html>`
	if err := sameLinks([]byte(gateway), []byte(apache)); err != nil {
		t.Error(err)
	}
}

func TestSameLinksNamesTheDifferences(t *testing.T) {
	gateway := `<a href="/apps/bench-links/t/1"></a><a href="/apps/bench-links/t/2"></a><img src="/apps/bench-links/x.png">`
	apache := `<a href="/apps/bench-links/t/1"></a><a href="/t/2"></a><img src="/apps/bench-links/x.png">`
	err := sameLinks([]byte(gateway), []byte(apache))
	if err == nil {
		t.Fatal("no error for pages with different links")
	}
	for _, s := range []string{`"/apps/bench-links/t/2"`, `"/t/2"`, "1 are only in the gateway's", "1 only in Apache's"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("the error does not name %s: %v", s, err)
		}
	}
	if err := sameLinks([]byte("<p>no link</p>"), []byte("<p>none</p>")); err == nil {
		t.Error("no error for pages without a link")
	}
}

func TestForwardAuthSiteCopiesTheIdentityHeaders(t *testing.T) {
	site := forwardAuthSite("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
	for _, s := range []string{"http://127.0.0.1:1 {", "forward_auth 127.0.0.1:2 {", "reverse_proxy 127.0.0.1:3",
		"copy_headers X-Helpdesk-User-Id X-Helpdesk-User-Name X-Helpdesk-User-Email X-Helpdesk-User-Role X-Helpdesk-Division-Id\n"} {
		if !strings.Contains(site, s) {
			t.Errorf("no %q in\n%s", s, site)
		}
	}
}

// TestApacheRewritesThePageLinksIntoTheAppsPrefix runs Apache, when
// installed, on the bench's configuration in front of the bench's upstream,
// and checks that the page comes out with every root-relative link moved
// under /apps/bench-links/, as the gateway's rewrite_links moves them.
func TestApacheRewritesThePageLinksIntoTheAppsPrefix(t *testing.T) {
	if _, err := os.Stat(defaultApache); err != nil {
		t.Skipf("%s is not installed", defaultApache)
	}
	up := httptest.NewServer(upstreamMux())
	defer up.Close()
	dir := t.TempDir()
	procs := &processes{}
	defer procs.stopAll()
	st := &stack{dir: dir, upstream: &server{name: "upstream", addr: strings.TrimPrefix(up.URL, "http://")}}
	cfg := smokeConfig
	cfg.apache = defaultApache
	ctx := context.Background()
	if err := st.startApache(ctx, cfg, procs); err != nil {
		t.Fatal(err)
	}
	if st.apache == nil {
		t.Skipf("no Apache anchor: %s", st.apacheSkip)
	}
	got, err := fetchHead(ctx, "http://"+st.apache.addr+"/apps/"+linksAppID+"/page", http.Header{}, 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := pageLinks(htmlPage(pageSize))
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	for link := range orig {
		if !strings.HasPrefix(link, "/") {
			t.Fatalf("the page has a link that is not root-relative: %q", link)
		}
		want.WriteString(`<a href="/apps/` + linksAppID + link + `"></a>`)
	}
	if err := sameLinks(want.Bytes(), got); err != nil {
		t.Error(err)
	}

	// Its CPU counts that of its workers: the listing finds them.
	kids, err := childPIDs(st.apache.pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(kids) != 2 {
		t.Errorf("Apache has %d workers, want 2", len(kids))
	}
	procs.stopAll()
	for _, pid := range kids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("worker %d outlived its parent", pid)
		}
	}
}

func TestApacheAnchorIsSkippedWhenApacheIsMissing(t *testing.T) {
	st := &stack{dir: t.TempDir()}
	cfg := smokeConfig
	cfg.apache = filepath.Join(t.TempDir(), "no-apache2")
	if err := st.startApache(context.Background(), cfg, &processes{}); err != nil {
		t.Fatal(err)
	}
	if st.apache != nil || !strings.Contains(st.apacheSkip, "apache2 is not installed (no "+cfg.apache) {
		t.Errorf("apache %v, skip %q", st.apache, st.apacheSkip)
	}
}

func TestServerCPUOfATreeCountsItsChildren(t *testing.T) {
	// A shell that starts two children busy for a while and waits.
	cmd := exec.Command("sh", "-c", "while :; do :; done & sleep 30 & wait")
	procs := &processes{}
	defer procs.stopAll()
	if err := procs.start(cmd, filepath.Join(t.TempDir(), "log"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	var kids []int
	for len(kids) < 2 && time.Now().Before(deadline) {
		var err error
		if kids, err = childPIDs(cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(kids) != 2 {
		t.Fatalf("children %v, want 2", kids)
	}
	// The busy child runs until killed: wait, on a loaded machine, until
	// the kernel has counted some of its time (clock ticks of 10 ms).
	s := &server{pid: cmd.Process.Pid}
	var alone, tree time.Duration
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		s.tree = false
		if alone, err = serverCPU(s); err != nil {
			t.Fatal(err)
		}
		s.tree = true
		if tree, err = serverCPU(s); err != nil {
			t.Fatal(err)
		}
		if tree > alone || time.Now().After(deadline) {
			break
		}
	}
	if tree <= alone {
		t.Errorf("CPU of the tree %v, not more than that of its parent alone, %v", tree, alone)
	}
	for _, pid := range kids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func TestReportAnchorRows(t *testing.T) {
	full := &report{}
	full.addAnchor("json; anchor: a", "CPU µs/req", 70, 80, 180, fmtMicros, "gateway <= 0.45x anchor", func(g, a float64) bool { return g <= 0.45*a })
	full.addAnchor("page; anchor: b", "CPU µs/req", 100, 300, 250, fmtMicros, "gateway < anchor", func(g, a float64) bool { return g < a })
	full.addAnchorMissing("page; anchor: c", "apache2 is not installed", "gateway < anchor")
	m := full.missed()
	if len(m) != 1 || !strings.Contains(m[0], "anchor: b") {
		t.Errorf("missed %q, want the row of b only", m)
	}
	var out bytes.Buffer
	full.print(&out)
	for _, s := range []string{
		"| json; anchor: a | CPU µs/req | 70.0 | 80.0 | 180.0 | 2.571× | 0.444× | gateway <= 0.45x anchor | met |",
		"| page; anchor: b | CPU µs/req | 100.0 | 300.0 | 250.0 | 2.500× | 1.200× | gateway < anchor | **missed** |",
		"| page; anchor: c | — | — | — | not run: apache2 is not installed | — | — | gateway < anchor | not run |",
	} {
		if !slices.Contains(strings.Split(out.String(), "\n"), s) {
			t.Errorf("no line %q in\n%s", s, out.String())
		}
	}
}
