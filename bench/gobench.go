package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// goBenchTargets are the one-core throughputs the streaming stages must
// reach, in MB/s, by benchmark name prefix.
var goBenchTargets = []struct {
	prefix, stage string
	mbps          float64
	// setup is how many allocations the stage makes per response, its
	// own: allocs/op, a truncated count per write, cannot show one more
	// per response (such as a buffer the pool no longer gives back).
	setup float64
}{
	{"BenchmarkInjector/", "injector", 500, 1},
	{"BenchmarkHTMLRewriter/", "HTML link rewriter", 1000, 4},
	{"BenchmarkHTMLRewriterLinks/", "HTML link rewriter, link-dense page", 1000, 4},
	{"BenchmarkCSSRewriter/", "CSS link rewriter", 1500, 3},
}

// goBenchResult is one line of `go test -bench` output: the benchmark's
// name and its metrics by unit.
type goBenchResult struct {
	name    string
	metrics map[string]float64
}

// goBenchmarks runs the htmlstream benchmarks of the injector and the link
// rewriters on one core and reports their MB/s and allocations per write.
func (r *runner) goBenchmarks(ctx context.Context) error {
	if !r.cfg.smoke {
		if err := r.waitQuiet(ctx); err != nil {
			return err
		}
	}
	const pattern = "^Benchmark(Injector|HTMLRewriter|HTMLRewriterLinks|CSSRewriter)$"
	logf("go test -bench '%s' -cpu 1 -benchtime %s ./caddymodule/htmlstream/", pattern, r.cfg.benchTime)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", pattern,
		"-benchmem", "-cpu", "1", "-count", "1", "-benchtime", r.cfg.benchTime, "./caddymodule/htmlstream/")
	cmd.Dir = r.st.root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go test -bench: %w\n%s", err, out)
	}
	results, err := parseGoBench(string(out))
	if err != nil {
		return fmt.Errorf("reading go test -bench output: %w\n%s", err, out)
	}
	for _, t := range goBenchTargets {
		ran := false
		for _, res := range results {
			c, ok := strings.CutPrefix(res.name, t.prefix)
			if !ok {
				continue
			}
			ran = true
			name := fmt.Sprintf("%s, %s (Go benchmark, 1 core)", t.stage, c)
			r.rep.addSingle(name, "MB/s", res.metrics["MB/s"], fmtRate, fmt.Sprintf(">= %.0f MB/s", t.mbps),
				func(v float64) bool { return v >= t.mbps })
			r.rep.addSingle(name, "allocs/write", res.metrics["allocs/op"], fmtCount, "0",
				func(v float64) bool { return v == 0 })
			perResponse, ok := res.metrics["allocs/response"]
			if !ok {
				return fmt.Errorf("%s: no allocs/response\n%s", res.name, out)
			}
			// Half an allocation of slack: the pools' first buffers count
			// in the mean.
			r.rep.addSingle(name, "allocs/response", perResponse, fmtMean, fmt.Sprintf("<= %.0f, its own", t.setup),
				func(v float64) bool { return v <= t.setup+0.5 })
		}
		if !ran {
			return fmt.Errorf("go test -bench ran no %s benchmark\n%s", t.stage, out)
		}
	}
	return nil
}

// parseGoBench reads the benchmark lines of `go test -bench -benchmem`
// output, such as
//
//	BenchmarkInjector/page/copy  38460  31086 ns/op  1054.12 MB/s  0 B/op  0 allocs/op
//
// Every line must have MB/s and allocs/op.
func parseGoBench(out string) ([]goBenchResult, error) {
	var results []goBenchResult
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		res := goBenchResult{name: f[0], metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %w", f[0], f[i], err)
			}
			res.metrics[f[i+1]] = v
		}
		if _, ok := res.metrics["MB/s"]; !ok {
			return nil, fmt.Errorf("%s: no MB/s", f[0])
		}
		if _, ok := res.metrics["allocs/op"]; !ok {
			return nil, fmt.Errorf("%s: no allocs/op", f[0])
		}
		results = append(results, res)
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("no benchmark ran")
	}
	return results, nil
}
