package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"time"
)

// target is a request path on both servers: the plain proxy serves the
// upstream at its root, the gateway under /apps/<app>.
type target struct {
	plainURL, gatewayURL string
	header               http.Header
	// marks are in the first 64 KB of the gateway's answer, and not in
	// plain's: the shim, rewritten links.
	marks [][]byte
}

// side is one server's figures in a load scenario: medians over its
// rounds, and the peak RSS over all of them.
type side struct {
	rps       float64
	p50, p99  time.Duration
	cpuPerReq time.Duration
	peak      int64
}

// roundResult is one measured round on one server: the load's result,
// the CPU time the server (with the processes that count with it), the
// upstream and the load generator used, and that which other processes
// used. withCPU is the part of cpu that the processes counted with the
// server used: the forward_auth anchor's auth service.
type roundResult struct {
	loadResult
	cpu, withCPU, upstreamCPU, loadCPU, foreign time.Duration
	reads, writes                               int64
}

// contender is a server in a scenario's rounds, and the URL of the
// scenario's document on it.
type contender struct {
	s   *server
	url string
}

// bench starts the stack, with its files in dir, and runs every scenario.
func bench(ctx context.Context, cfg config, procs *processes, dir string) (*report, error) {
	gen, err := pickGenerator(cfg)
	if err != nil {
		return nil, err
	}
	st, err := startStack(ctx, cfg, procs, dir)
	if err != nil {
		return nil, err
	}
	rep := newReport(cfg, st, gen)
	r := runner{cfg: cfg, st: st, gen: gen, rep: rep, maxRPS: map[string]float64{}}
	steps := map[string]func(context.Context) error{
		"json": r.json, "page": r.page, "rewrite": r.rewrite, "rs256": r.rs256,
		"halfrate": r.halfRate, "big": r.big, "ws": r.websockets, "gobench": r.goBenchmarks,
	}
	for _, key := range scenarioKeys {
		if cfg.only != nil && !cfg.only[key] {
			continue
		}
		if err := steps[key](ctx); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// scenarioKeys name the scenarios, in the order they run.
// The big body goes first, while the servers' heaps are fresh, so that any
// buffering shows in their RSS.
var scenarioKeys = []string{"big", "json", "page", "rewrite", "rs256", "halfrate", "ws", "gobench"}

// pickGenerator returns the load generator cfg asks for.
func pickGenerator(cfg config) (generator, error) {
	switch cfg.generator {
	case "go":
		return goGenerator{}, nil
	case "wrk", "auto":
		if path, err := exec.LookPath("wrk"); err == nil {
			return wrkGenerator{path: path, threads: cfg.threads}, nil
		}
		if cfg.generator == "wrk" {
			return nil, fmt.Errorf("wrk is not installed (apt-get install wrk)")
		}
		logf("wrk is not installed; the Go generator drives the load")
		return goGenerator{}, nil
	}
	return nil, fmt.Errorf("-generator %q: want wrk, go or auto", cfg.generator)
}

// runner runs the scenarios of one bench run.
type runner struct {
	cfg config
	st  *stack
	gen generator
	rep *report
	// maxRPS holds plain's closed-loop throughput by scenario, for the
	// constant-rate rounds.
	maxRPS map[string]float64
}

// targetFor returns path on the plain proxy and on the gateway site at
// gatewayAddr, app app, with the session cookie token and the extra
// headers.
func (r *runner) targetFor(gatewayAddr, app, path, token string, extra ...string) target {
	h := http.Header{"Cookie": {sessionCookie + "=" + token}}
	for i := 0; i+1 < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	return target{
		plainURL:   "http://" + r.st.plain.addr + path,
		gatewayURL: "http://" + gatewayAddr + "/apps/" + app + path,
		header:     h,
	}
}

// jsonTarget returns /json on the gateway site at gatewayAddr, whose
// sessions token opens.
func (r *runner) jsonTarget(gatewayAddr, token string) target {
	return r.targetFor(gatewayAddr, appID, "/json", token, "Accept", "application/json")
}

// pageTarget returns the HTML document at path, loaded into an iframe from
// app on the HS256 site: the gateway injects its shim and, for linksAppID,
// rewrites links.
func (r *runner) pageTarget(app, path string) target {
	t := r.targetFor(r.st.gateway.addr, app, path, r.st.hsToken,
		"Accept", "text/html,application/xhtml+xml", "Sec-Fetch-Dest", "iframe")
	t.marks = [][]byte{[]byte(`data-helpdesk-app="` + app + `"`)}
	if app == linksAppID {
		t.marks = append(t.marks, []byte(`href="/apps/`+linksAppID+`/tickets/`))
	}
	return t
}

// goal is what a throughput scenario's gateway must do against plain in
// the same rounds: at least minRatio times its req/s and, when maxCPU is
// not zero, at most maxCPU times its CPU per request.
type goal struct {
	minRatio, maxCPU float64
}

// The goals of the throughput scenarios against plain.
var (
	jsonGoal    = goal{minRatio: 0.93, maxCPU: 1.05}
	pageGoal    = goal{minRatio: 0.92}
	rewriteGoal = goal{minRatio: 0.70}
)

// json measures the JSON document, with the forward_auth anchor.
func (r *runner) json(ctx context.Context) error {
	return r.throughput(ctx, "json", "1 KB JSON", r.jsonTarget(r.st.gateway.addr, r.st.hsToken), jsonGoal, r.forwardAuthAnchor())
}

func (r *runner) page(ctx context.Context) error {
	return r.throughput(ctx, "page", "50 KB HTML, injection", r.pageTarget(appID, "/page"), pageGoal, nil)
}

// rewrite loads the page from the app with rewrite_links on, with
// Apache's mod_proxy_html as its anchor.
func (r *runner) rewrite(ctx context.Context) error {
	return r.throughput(ctx, "rewrite", "50 KB HTML, injection + link rewriting", r.pageTarget(linksAppID, "/page"), rewriteGoal, r.apacheAnchor())
}

// rs256 is the JSON scenario with sessions verified by a public key; its
// goals are JSON's.
func (r *runner) rs256(ctx context.Context) error {
	return r.throughput(ctx, "rs256", "1 KB JSON, RS256 session (cached)", r.jsonTarget(r.st.rsAddr, r.st.rsToken), jsonGoal, nil)
}

// throughput runs a closed-loop load scenario and reports it against its
// goal. An anchor, when not nil, runs in the same rounds, after plain and
// the gateway, and gets rows of its own.
func (r *runner) throughput(ctx context.Context, key, name string, t target, g goal, anc *anchor) error {
	if err := r.probe(ctx, t); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	cs := []contender{{r.st.plain, t.plainURL}, {r.st.gateway, t.gatewayURL}}
	if anc != nil && anc.s != nil {
		if err := anc.check(ctx, t, anc.url); err != nil {
			return fmt.Errorf("%s, anchor %s: %w", name, anc.name, err)
		}
		cs = append(cs, contender{anc.s, anc.url})
	}
	logf("%s: %d rounds of %v per server, %s, %d connections", name, r.cfg.rounds, r.cfg.round, r.gen.name(), r.cfg.conns)
	sides, err := r.interleave(ctx, key, cs, t.header, r.gen, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	plain, gw := sides[0], sides[1]
	r.maxRPS[key] = plain.rps
	r.rep.add(name, "req/s", plain.rps, gw.rps, fmtRate, fmt.Sprintf(">= %.2fx", g.minRatio),
		func(p, gw float64) bool { return gw >= g.minRatio*p })
	r.rep.add(name, "p50 ms", ms(plain.p50), ms(gw.p50), fmtMillis, "", nil)
	r.rep.add(name, "p99 ms", ms(plain.p99), ms(gw.p99), fmtMillis, "", nil)
	var cpuTarget string
	var cpuCheck func(p, g float64) bool
	if g.maxCPU > 0 {
		cpuTarget = fmt.Sprintf("<= %.2fx", g.maxCPU)
		cpuCheck = func(p, gw float64) bool { return gw <= g.maxCPU*p }
	}
	r.rep.add(name, "CPU µs/req", us(plain.cpuPerReq), us(gw.cpuPerReq), fmtMicros, cpuTarget, cpuCheck)
	r.rep.add(name, "peak RSS MB", mb(plain.peak), mb(gw.peak), fmtMB, "", nil)
	if anc != nil {
		r.addAnchorRows(name, anc, plain, gw, sides[2:])
	}
	return nil
}

// addAnchorRows reports the figures of anc, sides[0], beside plain's and
// the gateway's when it ran, or why it did not.
func (r *runner) addAnchorRows(name string, anc *anchor, plain, gw side, sides []side) {
	scenario := name + "; anchor: " + anc.name
	if anc.s == nil {
		r.rep.addAnchorMissing(scenario, anc.why, anc.target)
		return
	}
	a := sides[0]
	r.rep.addAnchor(scenario, "req/s", plain.rps, gw.rps, a.rps, fmtRate, "", nil)
	r.rep.addAnchor(scenario, "p50 ms", ms(plain.p50), ms(gw.p50), ms(a.p50), fmtMillis, "", nil)
	r.rep.addAnchor(scenario, "p99 ms", ms(plain.p99), ms(gw.p99), ms(a.p99), fmtMillis, "", nil)
	r.rep.addAnchor(scenario, "CPU µs/req", us(plain.cpuPerReq), us(gw.cpuPerReq), us(a.cpuPerReq), fmtMicros, anc.target, anc.ok)
}

// maxAddedP99 is the most milliseconds the gateway may add to plain's p99
// at half of plain's maximum throughput.
const maxAddedP99 = 0.5

// halfRate holds half of plain's maximum throughput, as the json and page
// scenarios measured it, on both servers, with the Go generator's constant
// rate, and compares their p99.
func (r *runner) halfRate(ctx context.Context) error {
	for _, s := range []struct {
		key, name string
		t         target
	}{
		{"json", "1 KB JSON", r.jsonTarget(r.st.gateway.addr, r.st.hsToken)},
		{"page", "50 KB HTML, injection", r.pageTarget(appID, "/page")},
	} {
		if r.maxRPS[s.key] == 0 {
			logf("no half-rate rounds for %s: its scenario did not run, so plain's maximum is unknown", s.key)
			continue
		}
		rate := r.maxRPS[s.key] / 2
		name := fmt.Sprintf("%s at %.0f req/s (half plain max)", s.name, rate)
		logf("%s: %d rounds of %v per server, constant rate", name, r.cfg.rounds, r.cfg.round)
		cs := []contender{{r.st.plain, s.t.plainURL}, {r.st.gateway, s.t.gatewayURL}}
		sides, err := r.interleave(ctx, "", cs, s.t.header, goGenerator{}, rate)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		plain, gw := sides[0], sides[1]
		r.rep.add(name, "achieved req/s", plain.rps, gw.rps, fmtRate, "", nil)
		r.rep.add(name, "p50 ms", ms(plain.p50), ms(gw.p50), fmtMillis, "", nil)
		r.rep.addAdded(name, "p99 ms", ms(plain.p99), ms(gw.p99), maxAddedP99)
	}
	return nil
}

// interleave warms each contender up, then runs rounds on each in turn,
// plain, gateway, plain, gateway, … (or plain, gateway, anchor, plain, …),
// and returns each one's medians. With a rate, gen holds it. Peak RSS is
// read only for contenders of one process.
func (r *runner) interleave(ctx context.Context, profileKey string, cs []contender, header http.Header, gen generator, rate float64) ([]side, error) {
	if r.cfg.warmup > 0 {
		for _, c := range cs {
			l := load{url: c.url, header: header, conns: r.cfg.conns, duration: r.cfg.warmup, rate: rate}
			if _, err := gen.run(ctx, l); err != nil {
				return nil, fmt.Errorf("warming %s up: %w", c.s.name, err)
			}
		}
	}
	for _, c := range cs {
		if !c.s.single() {
			continue
		}
		if err := resetPeak(c.s.pid); err != nil {
			return nil, fmt.Errorf("resetting the peak RSS of %s: %w", c.s.name, err)
		}
	}
	rounds := make([][]roundResult, len(cs))
	for n := range r.cfg.rounds {
		for i, c := range cs {
			profile := n == 0 && profileKey != "" && profileKey == r.cfg.profileScenario && r.st.admin[c.s.name] != ""
			l := load{url: c.url, header: header, conns: r.cfg.conns, duration: r.cfg.round, rate: rate}
			res, err := r.quietRound(ctx, c.s, gen, l, profile, n+1)
			if err != nil {
				return nil, fmt.Errorf("%s, round %d: %w", c.s.name, n+1, err)
			}
			rounds[i] = append(rounds[i], res)
		}
	}
	sides := make([]side, len(cs))
	for i, c := range cs {
		sides[i] = medians(rounds[i])
		if !c.s.single() {
			continue
		}
		m, err := readMemory(c.s.pid)
		if err != nil {
			return nil, err
		}
		sides[i].peak = m.peak
	}
	return sides, nil
}

// measure runs one round on s and charges it the CPU s used meanwhile, and
// the CPU time of the machine that neither the bench, its load generator,
// the upstream nor the servers used; with profile, it also takes a CPU
// profile of s during the round.
func (r *runner) measure(ctx context.Context, s *server, gen generator, l load, profile bool) (roundResult, error) {
	var profErr chan error
	if profile {
		profErr = make(chan error, 1)
		go func() { profErr <- r.profile(ctx, s, l.duration) }()
	}
	before, err := r.cpuSnapshot(s)
	if err != nil {
		return roundResult{}, err
	}
	res, err := gen.run(ctx, l)
	if err != nil {
		return roundResult{}, err
	}
	after, err := r.cpuSnapshot(s)
	if err != nil {
		return roundResult{}, err
	}
	if profErr != nil {
		if err := <-profErr; err != nil {
			return roundResult{}, err
		}
	}
	return roundResult{
		loadResult:  res,
		cpu:         after.server - before.server,
		withCPU:     after.with - before.with,
		upstreamCPU: after.upstream - before.upstream,
		loadCPU:     after.self - before.self,
		foreign:     after.foreign(before),
		reads:       after.reads - before.reads,
		writes:      after.writes - before.writes,
	}, nil
}

// medians returns the median of each figure over rounds.
func medians(rounds []roundResult) side {
	pick := func(f func(roundResult) float64) float64 {
		v := make([]float64, len(rounds))
		for i, rr := range rounds {
			v[i] = f(rr)
		}
		return median(v)
	}
	return side{
		rps:       pick(func(rr roundResult) float64 { return rr.rps }),
		p50:       time.Duration(pick(func(rr roundResult) float64 { return float64(rr.p50) })),
		p99:       time.Duration(pick(func(rr roundResult) float64 { return float64(rr.p99) })),
		cpuPerReq: time.Duration(pick(func(rr roundResult) float64 { return float64(rr.cpu) / float64(rr.requests) })),
	}
}

// median returns the median of v, which it sorts.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// probe checks that t answers 200 on both servers, and that the gateway's
// answer, and only the gateway's, has t's marks.
func (r *runner) probe(ctx context.Context, t target) error {
	for _, c := range []struct {
		url     string
		gateway bool
	}{{t.plainURL, false}, {t.gatewayURL, true}} {
		head, err := fetchHead(ctx, c.url, t.header, 64<<10)
		if err != nil {
			return err
		}
		if err := checkMarks(c.url, head, t.marks, c.gateway); err != nil {
			return err
		}
	}
	return nil
}

// checkMarks checks that head, the start of the answer to url, holds every
// one of marks when want is set, and none of them otherwise.
func checkMarks(url string, head []byte, marks [][]byte, want bool) error {
	for _, m := range marks {
		if bytes.Contains(head, m) != want {
			return fmt.Errorf("GET %s: %q in the answer: %v, want %v", url, m, !want, want)
		}
	}
	return nil
}

// fetchHead GETs url, checks it is 200 OK, and returns the first limit bytes
// of the body; it reads and discards the rest.
func fetchHead(ctx context.Context, url string, header http.Header, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header = header
	resp, err := noCompression.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	head, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(head))
	}
	return head, nil
}

// noCompression is a client that takes bodies as they are sent.
var noCompression = &http.Client{Transport: &http.Transport{DisableCompression: true}}
