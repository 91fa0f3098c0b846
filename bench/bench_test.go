package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const wrkOutput = `Running 5s test @ http://127.0.0.1:8080/json
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.74ms    1.10ms   5.84ms   62.88%
    Req/Sec     8.01k   977.61    10.01k    90.91%
  Latency Distribution
     50%  842.00us
     75%    3.53ms
     90%    3.94ms
     99%    1.20s
  80000 requests in 5.00s, 96.06MB read
Requests/sec:  16000.00
Transfer/sec:     19.21MB
`

func TestParseWrkReadsRequestsAndPercentiles(t *testing.T) {
	res, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	if res.requests != 80000 || res.elapsed != 5*time.Second || res.rps != 16000 {
		t.Errorf("requests %d in %v, %.0f req/s; want 80000 in 5s, 16000 req/s", res.requests, res.elapsed, res.rps)
	}
	if res.p50 != 842*time.Microsecond || res.p99 != 1200*time.Millisecond {
		t.Errorf("p50 %v, p99 %v; want 842µs, 1.2s", res.p50, res.p99)
	}
}

func TestParseWrkRejectsRunsWithErrors(t *testing.T) {
	for _, line := range []string{
		"  Non-2xx or 3xx responses: 12\n",
		"  Socket errors: connect 0, read 3, write 0, timeout 0\n",
	} {
		out := strings.Replace(wrkOutput, "Requests/sec:", line+"Requests/sec:", 1)
		if _, err := parseWrk(out); err == nil {
			t.Errorf("no error for a run with %q", strings.TrimSpace(line))
		}
	}
}

func TestParseWrkRejectsOutputWithoutLatencyDistribution(t *testing.T) {
	out := strings.Replace(wrkOutput, "99%", "98%", 1)
	if _, err := parseWrk(out); err == nil {
		t.Error("no error without a 99% line")
	}
}

func TestParseGoBenchReadsMetricsByUnit(t *testing.T) {
	out := `goos: linux
BenchmarkInjector/page/copy         	  100000	     31086 ns/op	1054.12 MB/s	        24.00 allocs/response	       0 B/op	       0 allocs/op
BenchmarkInjector/comment/discard   	   20000	     5700 ns/op	5755.00 MB/s	        24.00 allocs/response	       1 B/op	       1 allocs/op
PASS
`
	got, err := parseGoBench(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].name != "BenchmarkInjector/page/copy" || got[0].metrics["MB/s"] != 1054.12 ||
		got[1].metrics["allocs/op"] != 1 || got[1].metrics["allocs/response"] != 24 {
		t.Errorf("got %+v", got)
	}
}

func TestParseGoBenchRejectsLinesWithoutBenchmem(t *testing.T) {
	if _, err := parseGoBench("BenchmarkInjector/page/copy  100  31086 ns/op  1054.12 MB/s\n"); err == nil {
		t.Error("no error for a line without allocs/op")
	}
}

func TestPercentileIsTheNearestRank(t *testing.T) {
	sorted := make([]time.Duration, 200)
	for i := range sorted {
		sorted[i] = time.Duration(i+1) * time.Millisecond
	}
	if p := percentile(sorted, 0.50); p != 100*time.Millisecond {
		t.Errorf("p50 = %v, want 100ms", p)
	}
	if p := percentile(sorted, 0.99); p != 198*time.Millisecond {
		t.Errorf("p99 = %v, want 198ms", p)
	}
	if p := percentile(sorted[:1], 0.99); p != time.Millisecond {
		t.Errorf("p99 of one = %v, want 1ms", p)
	}
}

func TestMedianOfEvenAndOddCounts(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median of 3 1 2 = %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median of 4 1 3 2 = %v", m)
	}
}

func TestUpstreamServesItsDocumentsAtTheirSizes(t *testing.T) {
	srv := httptest.NewServer(upstreamMux())
	defer srv.Close()
	for _, c := range []struct {
		path, contentType string
		size              int
	}{
		{"/json", "application/json", jsonSize},
		{"/page", "text/html; charset=utf-8", pageSize},
		{"/big?size=200000", "text/html; charset=utf-8", 200000},
	} {
		resp, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != c.contentType || len(body) != c.size {
			t.Errorf("GET %s: %s, %q, %d bytes; want 200, %q, %d bytes",
				c.path, resp.Status, resp.Header.Get("Content-Type"), len(body), c.contentType, c.size)
		}
		if c.path == "/json" && !json.Valid(body) {
			t.Errorf("GET /json: not JSON")
		}
		if c.path != "/json" && !bytes.Contains(body[:1024], []byte("<head>")) {
			t.Errorf("GET %s: no <head> in the first KB", c.path)
		}
	}
}

func TestUpstreamRefusesAnAbsurdBigSize(t *testing.T) {
	srv := httptest.NewServer(upstreamMux())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/big?size=99999999999")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %s, want 400", resp.Status)
	}
}

func TestReportFlagsOnlyMissedTargetsOfAFullRun(t *testing.T) {
	full := &report{}
	full.add("json", "req/s", 100, 96, fmtRate, ">= 0.97x", func(p, g float64) bool { return g >= 0.97*p })
	full.addAdded("json", "p99 ms", 1, 1.5, 1)
	if m := full.missed(); len(m) != 1 || !strings.Contains(m[0], "req/s") {
		t.Errorf("missed %q, want the req/s row only", m)
	}
	smoke := &report{smoke: true}
	smoke.add("json", "req/s", 100, 1, fmtRate, ">= 0.97x", func(p, g float64) bool { return g >= 0.97*p })
	if m := smoke.missed(); len(m) != 0 {
		t.Errorf("a smoke run missed %q", m)
	}
}

func TestCaddyVersionFromTheVersionCommand(t *testing.T) {
	for out, want := range map[string]string{
		"helpdesk-gateway (devel)\nCaddy v2.11.9 h1:bhZtcRKQ=\n": "v2.11.9",
		"v2.11.9 h1:bhZtcRKQ=\n":                                 "v2.11.9",
		"":                                                       "unknown",
	} {
		if got := caddyVersion(out); got != want {
			t.Errorf("caddyVersion(%q) = %q, want %q", out, got, want)
		}
	}
}
