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

// wrkGenerator runs wrk (Debian's package): closed-loop, keep-alive, in C,
// so it costs the machine less CPU than the Go generator. It cannot hold a
// constant rate; the bench's Go generator does that.
type wrkGenerator struct {
	path    string
	threads int
}

func (w wrkGenerator) name() string {
	return fmt.Sprintf("wrk -t%d", w.threads)
}

func (w wrkGenerator) run(ctx context.Context, l load) (loadResult, error) {
	if l.rate > 0 {
		return loadResult{}, fmt.Errorf("wrk cannot hold a constant rate")
	}
	secs := max(1, int(l.duration.Round(time.Second)/time.Second))
	args := []string{
		"-t", strconv.Itoa(min(w.threads, l.conns)),
		"-c", strconv.Itoa(l.conns),
		"-d", fmt.Sprintf("%ds", secs),
		"--timeout", "10s",
		"--latency",
	}
	for name, values := range l.header {
		for _, v := range values {
			args = append(args, "-H", name+": "+v)
		}
	}
	args = append(args, l.url)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, w.path, args...).CombinedOutput()
	if err != nil {
		return loadResult{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	res, err := parseWrk(string(out))
	if err != nil {
		return loadResult{}, fmt.Errorf("reading wrk's output: %w\n%s", err, out)
	}
	return res, nil
}

// parseWrk reads the result of a `wrk --latency` run: the requests and the
// time they took, the 50% and 99% lines of the latency distribution. A run
// with errors or non-2xx answers is an error.
func parseWrk(out string) (loadResult, error) {
	var res loadResult
	var have int
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "50%":
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return res, err
			}
			res.p50, have = d, have|1
		case len(f) == 2 && f[0] == "99%":
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return res, err
			}
			res.p99, have = d, have|2
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return res, fmt.Errorf("request count %q: %w", f[0], err)
			}
			d, err := parseWrkDuration(strings.TrimSuffix(f[3], ","))
			if err != nil {
				return res, err
			}
			res.requests, res.elapsed, have = n, d, have|4
		case strings.HasPrefix(sc.Text(), "  Non-2xx or 3xx responses:"),
			strings.HasPrefix(sc.Text(), "  Socket errors:"):
			return res, fmt.Errorf("the run had errors: %s", strings.TrimSpace(sc.Text()))
		}
	}
	if have != 7 {
		return res, fmt.Errorf("no latency distribution or request count")
	}
	if res.requests == 0 || res.elapsed <= 0 {
		return res, fmt.Errorf("no request completed")
	}
	res.rps = float64(res.requests) / res.elapsed.Seconds()
	return res, nil
}

// parseWrkDuration reads a duration as wrk prints it: 842.00us, 1.10ms,
// 1.00s, 2.00m.
func parseWrkDuration(s string) (time.Duration, error) {
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}} {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("duration %q: %w", s, err)
			}
			return time.Duration(v * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("duration %q: unknown unit", s)
}
