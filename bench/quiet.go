package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// A round is disturbed when other processes use more than maxForeignShare
// of one CPU during it. Before each round the bench waits, for at most
// quietWait, until a second passes without such a disturbance; a disturbed
// round is measured again, up to maxRetries times.
const (
	maxForeignShare = 0.03
	quietWait       = 30 * time.Second
	maxRetries      = 2
)

// quietRound measures round n on s once the machine is quiet, and again
// while other processes disturb it, up to maxRetries times; then it keeps
// the least disturbed attempt. A smoke run measures each round once.
func (r *runner) quietRound(ctx context.Context, s *server, gen generator, l load, profile bool, n int) (roundResult, error) {
	var best roundResult
	for attempt := 0; attempt <= maxRetries; attempt++ {
		if !r.cfg.smoke {
			if err := r.waitQuiet(ctx); err != nil {
				return best, err
			}
		}
		res, err := r.measure(ctx, s, gen, l, profile)
		if err != nil {
			return best, err
		}
		logf("  %s round %d: %d requests in %v, %.0f req/s, p50 %.3f ms, p99 %.3f ms, %.1f µs CPU/req%s (upstream %.1f, load generator %.1f), %.2f reads and %.2f writes/req; other processes: %v CPU",
			s.name, n, res.requests, res.elapsed.Round(time.Millisecond), res.rps, ms(res.p50), ms(res.p99),
			us(res.cpu)/float64(res.requests), withNote(s, res), us(res.upstreamCPU)/float64(res.requests), us(res.loadCPU)/float64(res.requests),
			float64(res.reads)/float64(res.requests), float64(res.writes)/float64(res.requests), res.foreign.Round(time.Millisecond))
		if attempt == 0 || res.foreign < best.foreign {
			best = res
		}
		if r.cfg.smoke || !disturbed(res.foreign, res.elapsed) {
			return res, nil
		}
		if attempt < maxRetries {
			r.rep.retried++
			logf("  %s round %d: disturbed by other processes; measuring it again", s.name, n)
		}
	}
	r.rep.disturbed++
	logf("  %s round %d: still disturbed; keeping the least disturbed attempt", s.name, n)
	return best, nil
}

// withNote says how much of the CPU time of a round on s the processes
// counted with it used, if any.
func withNote(s *server, res roundResult) string {
	if len(s.with) == 0 {
		return ""
	}
	names := make([]string, len(s.with))
	for i, w := range s.with {
		names[i] = w.name
	}
	return fmt.Sprintf(", %.1f of it %s", us(res.withCPU)/float64(res.requests), strings.Join(names, " and "))
}

// disturbed reports whether other processes using foreign CPU time over
// elapsed disturb a measurement.
func disturbed(foreign, elapsed time.Duration) bool {
	return foreign.Seconds() > maxForeignShare*elapsed.Seconds()
}

// waitQuiet waits until other processes leave the CPUs alone for a second,
// or quietWait has passed.
func (r *runner) waitQuiet(ctx context.Context) error {
	deadline := time.Now().Add(quietWait)
	for {
		before, err := r.cpuSnapshot(nil)
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		after, err := r.cpuSnapshot(nil)
		if err != nil {
			return err
		}
		if !disturbed(after.foreign(before), time.Second) {
			return nil
		}
		if time.Now().After(deadline) {
			logf("  other processes are still busy after %v; measuring anyway", quietWait)
			return nil
		}
	}
}

// cpuTimes are CPU times read at one moment: the server's (with the
// processes that count with it, whose part is with), those of every
// process of the bench together, and the machine's.
type cpuTimes struct {
	server, with, upstream, ours, machine time.Duration
	// self is the bench's own, the Go generator's, and wrk's once reaped.
	self time.Duration
	// reads and writes are the server's read and write system calls.
	reads, writes int64
}

// foreign returns the CPU time that processes other than the bench's used
// between before and t.
func (t cpuTimes) foreign(before cpuTimes) time.Duration {
	return max(0, (t.machine-before.machine)-(t.ours-before.ours))
}

// cpuSnapshot reads the CPU times of s (when not nil), of the bench's
// processes and of the machine.
func (r *runner) cpuSnapshot(s *server) (cpuTimes, error) {
	var t cpuTimes
	var err error
	if t.machine, err = machineBusy(); err != nil {
		return t, err
	}
	if t.self, err = selfCPU(); err != nil {
		return t, err
	}
	t.ours = t.self
	for _, p := range r.st.measured() {
		d, err := serverCPU(p)
		if err != nil {
			return t, err
		}
		var with time.Duration
		for _, w := range p.with {
			dw, err := serverCPU(w)
			if err != nil {
				return t, err
			}
			with += dw
		}
		t.ours += d + with
		switch p {
		case s:
			t.server, t.with = d+with, with
			for _, q := range append([]*server{p}, p.with...) {
				reads, writes, err := serverSyscalls(q)
				if err != nil {
					return t, err
				}
				t.reads, t.writes = t.reads+reads, t.writes+writes
			}
		case r.st.upstream:
			t.upstream = d
		}
	}
	return t, nil
}
