package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// format is the printf verb of a figure.
type format string

// Formats of the table's figures.
const (
	fmtRate   format = "%.0f"
	fmtMillis format = "%.3f"
	fmtMicros format = "%.1f"
	fmtMB     format = "%.1f"
	fmtKB     format = "%.1f"
	fmtCount  format = "%.0f"
	fmtMean   format = "%.2f"
)

// ms, us and mb convert to the table's units.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
func mb(n int64) float64         { return float64(n) / (1 << 20) }

// row is one line of the table.
type row struct {
	scenario, metric, plain, gateway, ratio, target, status string
	// missed is set when a full run missed the row's target.
	missed bool
}

// anchorRow is one line of the anchors' table: a figure of an anchor, and
// plain's and the gateway's in the same rounds.
type anchorRow struct {
	scenario, metric, plain, gateway, anchor, vsPlain, vsAnchor, target, status string
	// missed is set when a full run missed the row's target.
	missed bool
}

// report is a run's tables and the facts of the machine it ran on.
type report struct {
	smoke   bool
	facts   []string
	rows    []row
	anchors []anchorRow
	// retried counts the attempts at a round that other processes
	// disturbed, and disturbed the rounds they disturbed every time.
	retried, disturbed int
}

// newReport starts the report of a run with the machine's facts and the
// run's settings.
func newReport(cfg config, st *stack, gen generator) *report {
	mode := "full"
	if cfg.smoke {
		mode = "smoke (figures not meaningful, targets not asserted)"
	}
	goVersion := runtime.Version()
	if out, err := exec.Command("go", "version").Output(); err == nil {
		goVersion = strings.TrimSpace(string(out))
	}
	return &report{smoke: cfg.smoke, facts: append([]string{
		"date: " + time.Now().UTC().Format("2006-01-02 15:04 MST"),
		"mode: " + mode,
		fmt.Sprintf("machine: %d CPUs (%s), %s memory, Linux %s", runtime.NumCPU(), cpuModel(), memTotal(), kernel()),
		"source: " + sourceVersion(st.root),
		"go: " + goVersion,
		"caddy: " + st.caddyVersion,
		fmt.Sprintf("load: %s, %d connections; %d interleaved rounds of %v per server after a %v warm-up; medians",
			gen.name(), cfg.conns, cfg.rounds, cfg.round, cfg.warmup),
		"constant rate: the bench's Go generator (open-loop, latency from each request's due time)",
		"gateway: " + gatewayMode(cfg),
	}, anchorFacts(st)...)}
}

// anchorFacts describes the anchors that run, or could not.
func anchorFacts(st *stack) []string {
	var f []string
	if st.forwardAuth != nil {
		f = append(f, "anchor forward_auth: the same Caddy binary, forward_auth to the bench's auth service (HS256 cookie checked with the standard library, 5 identity headers copied), then reverse_proxy; CPU of both processes")
	}
	switch {
	case st.apache != nil:
		f = append(f, "anchor Apache: "+st.apacheVersion+", mpm_event, mod_proxy_html + mod_xml2enc + mod_proxy_http; CPU of its parent process and workers")
	case st.apacheSkip != "":
		f = append(f, "anchor Apache: not run: "+st.apacheSkip)
	}
	return f
}

// gatewayMode describes the gateway's configuration in the run.
func gatewayMode(cfg config) string {
	switch {
	case cfg.noIdentity:
		return "identity headers and assertion off (-identity=false)"
	case cfg.noAssertion:
		return "identity headers sent, the assertion off (-assertion=false)"
	}
	return "defaults (identity headers and assertion sent)"
}

// add adds a row comparing the two servers; ok, when not nil, says whether
// the figures meet target.
func (r *report) add(scenario, metric string, plain, gateway float64, f format, target string, ok func(plain, gateway float64) bool) {
	ratio := "—"
	if plain > 0 {
		ratio = fmt.Sprintf("%.3f×", gateway/plain)
	}
	r.push(row{scenario: scenario, metric: metric,
		plain: fmt.Sprintf(string(f), plain), gateway: fmt.Sprintf(string(f), gateway),
		ratio: ratio, target: target}, ok == nil || ok(plain, gateway), ok != nil, "")
}

// addAdded adds a row whose target is what the gateway adds to plain's
// figure, at most limit.
func (r *report) addAdded(scenario, metric string, plain, gateway, limit float64) {
	added := gateway - plain
	r.push(row{scenario: scenario, metric: metric,
		plain: fmt.Sprintf("%.3f", plain), gateway: fmt.Sprintf("%.3f", gateway),
		ratio: fmt.Sprintf("%.3f×", gateway/plain), target: fmt.Sprintf("added <= %g", limit)},
		added <= limit, true, fmt.Sprintf(" (%+.3f)", added))
}

// addSingle adds a row with a gateway figure only.
func (r *report) addSingle(scenario, metric string, gateway float64, f format, target string, ok func(float64) bool) {
	r.push(row{scenario: scenario, metric: metric, plain: "—", gateway: fmt.Sprintf(string(f), gateway),
		ratio: "—", target: target}, ok(gateway), true, "")
}

// addAnchor adds a row of an anchor's figure beside plain's and the
// gateway's; ok, when not nil, says whether the gateway's and the anchor's
// figures meet target.
func (r *report) addAnchor(scenario, metric string, plain, gateway, anchor float64, f format, target string, ok func(gateway, anchor float64) bool) {
	ratio := func(a, b float64) string {
		if b <= 0 {
			return "—"
		}
		return fmt.Sprintf("%.3f×", a/b)
	}
	rw := anchorRow{scenario: scenario, metric: metric,
		plain: fmt.Sprintf(string(f), plain), gateway: fmt.Sprintf(string(f), gateway), anchor: fmt.Sprintf(string(f), anchor),
		vsPlain: ratio(anchor, plain), vsAnchor: ratio(gateway, anchor), target: target}
	rw.status, rw.missed = r.status(ok == nil || ok(gateway, anchor), ok != nil, "")
	r.anchors = append(r.anchors, rw)
}

// addAnchorMissing adds the row of an anchor that did not run, and why.
func (r *report) addAnchorMissing(scenario, why, target string) {
	r.anchors = append(r.anchors, anchorRow{scenario: scenario, metric: "—", plain: "—", gateway: "—",
		anchor: "not run: " + why, vsPlain: "—", vsAnchor: "—", target: target, status: "not run"})
}

// push adds rw with the status its check gives; note follows the status.
func (r *report) push(rw row, met, checked bool, note string) {
	rw.status, rw.missed = r.status(met, checked, note)
	r.rows = append(r.rows, rw)
}

// status returns the status of a row whose figures met its target or not,
// when it has one, and whether a full run missed it; note follows it.
func (r *report) status(met, checked bool, note string) (string, bool) {
	switch {
	case !checked:
		return "", false
	case r.smoke:
		return "not asserted (smoke)" + note, false
	case met:
		return "met" + note, false
	default:
		return "**missed**" + note, true
	}
}

// missed returns the rows whose targets a full run missed.
func (r *report) missed() []string {
	var m []string
	for _, rw := range r.rows {
		if rw.missed {
			m = append(m, fmt.Sprintf("%s, %s: plain %s, gateway %s, ratio %s; target %s",
				rw.scenario, rw.metric, rw.plain, rw.gateway, rw.ratio, rw.target))
		}
	}
	for _, rw := range r.anchors {
		if rw.missed {
			m = append(m, fmt.Sprintf("%s, %s: gateway %s, anchor %s, ratio %s; target %s",
				rw.scenario, rw.metric, rw.gateway, rw.anchor, rw.vsAnchor, rw.target))
		}
	}
	return m
}

// print writes the facts and the table, in Markdown.
func (r *report) print(w io.Writer) {
	for _, f := range r.facts {
		fmt.Fprintf(w, "- %s\n", f)
	}
	fmt.Fprintf(w, "- rounds measured again because other processes took over %.0f%% of a CPU: %d; still disturbed after %d attempts: %d\n",
		maxForeignShare*100, r.retried, maxRetries+1, r.disturbed)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| scenario | metric | plain | gateway | ratio | target | status |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | --- | --- |")
	for _, rw := range r.rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n",
			rw.scenario, rw.metric, rw.plain, rw.gateway, rw.ratio, rw.target, rw.status)
	}
	if len(r.anchors) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Anchors, in the same interleaved rounds as plain and the gateway (their figures are those of the table above):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| scenario; anchor | metric | plain | gateway | anchor | anchor ÷ plain | gateway ÷ anchor | target | status |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
	for _, rw := range r.anchors {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			rw.scenario, rw.metric, rw.plain, rw.gateway, rw.anchor, rw.vsPlain, rw.vsAnchor, rw.target, rw.status)
	}
}

// sourceVersion returns the commit the gateway was built from, and whether
// the work tree had changes.
func sourceVersion(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "not a git checkout"
	}
	v := "commit " + strings.TrimSpace(string(out))
	if out, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(out) > 0 {
		v += " with uncommitted changes"
	}
	return v
}

// cpuModel returns the model name of the first CPU in /proc/cpuinfo.
func cpuModel() string {
	return procField("/proc/cpuinfo", "model name")
}

// memTotal returns the machine's memory from /proc/meminfo.
func memTotal() string {
	kb := procField("/proc/meminfo", "MemTotal")
	var n int64
	if _, err := fmt.Sscanf(kb, "%d kB", &n); err != nil {
		return kb
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<20))
}

// kernel returns the kernel's release.
func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// procField returns the value of the first "name: value" line of the file
// at path, or "unknown".
func procField(path, name string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
