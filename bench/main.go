// Command bench measures what the helpdesk_apps gateway costs over a plain
// Caddy reverse_proxy, side by side in one run.
//
// It builds cmd/helpdesk-gateway once and starts, all on loopback and each
// in its own process: an upstream (this program re-executed with -upstream),
// a Caddy with a plain reverse_proxy to it, and a Caddy with a helpdesk_apps
// site proxying the same upstream. It drives both servers in interleaved
// rounds and prints one Markdown table: req/s, p50 and p99 latency, peak RSS
// and CPU per request for each, with the ratio gateway ÷ plain and the
// targets of bench/README.md. Two anchors run in the same rounds, with a
// table of their own: a Caddy with forward_auth to an auth service (this
// program re-executed with -auth) for the JSON scenario, and, when Debian's
// apache2 is installed, Apache httpd with mod_proxy_html for the page whose
// links the gateway rewrites.
//
//	go run ./bench          # the full run: asserts the targets, exits 1 on a miss
//	go run ./bench -smoke   # a few seconds of tiny loads: checks that every scenario runs
//
// It must run from the module's directory tree, on Linux (it reads /proc).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// config is what one run does.
type config struct {
	// smoke runs tiny loads and asserts nothing.
	smoke bool
	// generator is "auto", "wrk" or "go".
	generator string
	// threads and conns are the load generator's threads and connections.
	threads, conns int
	// rounds is the number of measured rounds per server and scenario, and
	// round the length of one; warmup is the length of the unmeasured round
	// each server gets first.
	rounds        int
	round, warmup time.Duration
	// bigSize is the size of the streamed HTML body, in bytes.
	bigSize int64
	// websockets is the number of idle WebSocket connections per server.
	websockets int
	// benchTime is the -benchtime of the htmlstream Go benchmarks.
	benchTime string
	// only, when not nil, holds the keys of the scenarios to run.
	only map[string]bool
	// cpuProfile, when set, is the file name prefix of CPU profiles taken
	// from both servers during the first measured round of profileScenario.
	cpuProfile, profileScenario string
	// noIdentity switches the gateway's identity headers off, to measure
	// what they cost; noAssertion only X-Helpdesk-Assertion.
	noIdentity, noAssertion bool
	// anchors runs the anchors of the json and rewrite scenarios; apache is
	// the Apache httpd binary of the rewrite scenario's.
	anchors bool
	apache  string
}

// runs reports whether the scenario key runs.
func (c config) runs(key string) bool {
	return c.only == nil || c.only[key]
}

// defaultApache is Debian's Apache httpd binary.
const defaultApache = "/usr/sbin/apache2"

// fullConfig and smokeConfig are the defaults of the two modes.
var (
	fullConfig = config{
		generator: "auto", threads: 2, conns: 32,
		rounds: 3, round: 5 * time.Second, warmup: time.Second,
		bigSize: 100 << 20, websockets: 1000,
		benchTime: "2s", profileScenario: "json",
	}
	smokeConfig = config{
		smoke: true, generator: "go", threads: 1, conns: 4,
		rounds: 1, round: 300 * time.Millisecond,
		bigSize: 4 << 20, websockets: 20,
		benchTime: "20x", profileScenario: "json",
	}
)

func main() {
	upstream := flag.Bool("upstream", false, "serve the bench upstream on -listen and print its address (used by the bench itself)")
	auth := flag.Bool("auth", false, "serve the forward_auth anchor's auth service on -listen, with the HS256 secret in $"+authSecretEnv+", and print its address (used by the bench itself)")
	listen := flag.String("listen", "127.0.0.1:0", "address of the -upstream or -auth server")
	smoke := flag.Bool("smoke", false, "run every scenario with tiny loads for a few seconds; assert no target")
	generator := flag.String("generator", "", `load generator: "wrk", "go" or "auto" (wrk when installed; default: auto, "go" with -smoke)`)
	threads := flag.Int("threads", 0, "load generator threads (wrk -t; default 2)")
	conns := flag.Int("conns", 0, "load generator connections (default 32)")
	rounds := flag.Int("rounds", 0, "measured rounds per server and scenario (default 3)")
	round := flag.Duration("round", 0, "length of one round (default 5s)")
	websockets := flag.Int("websockets", 0, "idle WebSocket connections per server (default 1000)")
	bigMB := flag.Int64("big", 0, "size of the streamed HTML body in MiB (default 100)")
	only := flag.String("only", "", "comma-separated scenarios to run, of: "+strings.Join(scenarioKeys, ", ")+" (default: all)")
	cpuProfile := flag.String("cpuprofile", "", "write CPU profiles of both servers to <prefix>plain.pprof and <prefix>gateway.pprof")
	profileScenario := flag.String("profile", "", `scenario whose first round is profiled: "json", "page", "rewrite" or "rs256" (default json)`)
	identity := flag.Bool("identity", true, "send the identity headers and assertion to the upstream, as the gateway does by default; -identity=false measures what they cost")
	assertion := flag.Bool("assertion", true, "send X-Helpdesk-Assertion with the other identity headers, as the gateway does by default; -assertion=false measures what the assertion alone costs")
	anchors := flag.Bool("anchors", true, "measure the anchors of json (Caddy forward_auth) and rewrite (Apache mod_proxy_html) in the same rounds; -anchors=false leaves them out")
	apache := flag.String("apache", defaultApache, "Apache httpd binary of the rewrite scenario's anchor, with Debian's modules in "+apacheModules+"; when it is missing the anchor's row says so")
	flag.Parse()

	if *upstream {
		if err := serveUpstream(*listen); err != nil {
			fmt.Fprintln(os.Stderr, "bench upstream:", err)
			os.Exit(1)
		}
		return
	}
	if *auth {
		if err := serveAuth(*listen, os.Getenv(authSecretEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "bench auth service:", err)
			os.Exit(1)
		}
		return
	}

	cfg := fullConfig
	if *smoke {
		cfg = smokeConfig
	}
	override(&cfg.generator, *generator)
	override(&cfg.threads, *threads)
	override(&cfg.conns, *conns)
	override(&cfg.rounds, *rounds)
	override(&cfg.round, *round)
	override(&cfg.websockets, *websockets)
	override(&cfg.bigSize, *bigMB<<20)
	override(&cfg.cpuProfile, *cpuProfile)
	override(&cfg.profileScenario, *profileScenario)
	cfg.noIdentity, cfg.noAssertion = !*identity, !*assertion
	cfg.anchors, cfg.apache = *anchors, *apache
	if *only != "" {
		cfg.only = map[string]bool{}
		for _, k := range strings.Split(*only, ",") {
			if !slices.Contains(scenarioKeys, k) {
				fmt.Fprintf(os.Stderr, "bench: -only: unknown scenario %q, want some of %s\n", k, strings.Join(scenarioKeys, ", "))
				os.Exit(2)
			}
			cfg.only[k] = true
		}
	}

	if cfg.cpuProfile != "" && !slices.Contains([]string{"json", "page", "rewrite", "rs256"}, cfg.profileScenario) {
		fmt.Fprintf(os.Stderr, "bench: -profile %q: want json, page, rewrite or rs256\n", cfg.profileScenario)
		os.Exit(2)
	}

	os.Exit(run(cfg))
}

// override sets *dst to v unless v is the zero value.
func override[T comparable](dst *T, v T) {
	var zero T
	if v != zero {
		*dst = v
	}
}

// run runs the bench and returns the exit code: 0 when everything ran (and,
// in a full run, every target is met), 1 on a missed target, 2 when
// something broke.
func run(cfg config) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := raiseFileLimit(); err != nil {
		fmt.Fprintln(os.Stderr, "bench: raising the open-file limit:", err)
		return 2
	}
	dir, err := os.MkdirTemp("", "helpdesk-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	// Deferred before stopAll, so it runs after it: once the servers are gone.
	defer os.RemoveAll(dir)
	procs := &processes{}
	defer procs.stopAll()
	// A signal cancels ctx; stop the children at once rather than when the
	// current step notices.
	go func() {
		<-ctx.Done()
		procs.stopAll()
	}()

	res, err := bench(ctx, cfg, procs, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	res.print(os.Stdout)
	if cfg.smoke {
		fmt.Fprintln(os.Stderr, "bench: smoke run complete; targets are not asserted in smoke mode")
		return 0
	}
	if missed := res.missed(); len(missed) > 0 {
		fmt.Fprintln(os.Stderr, "bench: missed targets:")
		for _, m := range missed {
			fmt.Fprintln(os.Stderr, "  -", m)
		}
		return 1
	}
	fmt.Fprintln(os.Stderr, "bench: every target met")
	return 0
}

// raiseFileLimit lifts the soft open-file limit to the hard one: the
// WebSocket scenario holds thousands of sockets, and the servers inherit the
// limit (an explicit Setrlimit keeps os/exec from restoring the old one).
func raiseFileLimit() error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return err
	}
	l.Cur = l.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
}

// logf reports progress on standard error; the table goes to standard
// output.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
