package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/html"
)

// An anchor is stock software doing one of the gateway's jobs its own way,
// at its best, measured in the same interleaved rounds as plain and the
// gateway: a standard the gateway's CPU per request is held to.
type anchor struct {
	// name is what the anchor is, in the table.
	name string
	// s is its server and url the scenario's document on it; s is nil when
	// the anchor did not run, and why says why.
	s   *server
	url string
	why string
	// target and ok are the anchor's target: ok says whether the
	// gateway's CPU per request meets it against the anchor's.
	target string
	ok     func(gateway, anchor float64) bool
	// check checks the anchor's answers to t at url before its rounds.
	check func(ctx context.Context, t target, url string) error
}

// Targets against the anchors, on the CPU per request.
const (
	// maxForwardAuthShare is the most the gateway may spend on a JSON
	// request, as a share of what the forward_auth anchor spends.
	maxForwardAuthShare = 0.45
)

// forwardAuthAnchor returns the anchor of the json scenario, or nil.
func (r *runner) forwardAuthAnchor() *anchor {
	if r.st.forwardAuth == nil {
		return nil
	}
	return &anchor{
		name:   "Caddy forward_auth + auth service",
		s:      r.st.forwardAuth,
		url:    "http://" + r.st.forwardAuth.addr + "/json",
		target: fmt.Sprintf("gateway <= %.2fx anchor", maxForwardAuthShare),
		ok:     func(g, a float64) bool { return g <= maxForwardAuthShare*a },
		check:  checkForwardAuth,
	}
}

// apacheAnchor returns the anchor of the rewrite scenario, or nil.
func (r *runner) apacheAnchor() *anchor {
	if r.st.apache == nil && r.st.apacheSkip == "" {
		return nil
	}
	a := &anchor{
		name:   "Apache httpd mod_proxy_html",
		s:      r.st.apache,
		why:    r.st.apacheSkip,
		target: "gateway < anchor",
		ok:     func(g, a float64) bool { return g < a },
		check:  checkSameLinks,
	}
	if a.s != nil {
		a.url = "http://" + a.s.addr + "/apps/" + linksAppID + "/page"
	}
	return a
}

// checkForwardAuth checks that the forward_auth anchor answers t at url
// with the session cookie, and refuses it without.
func checkForwardAuth(ctx context.Context, t target, url string) error {
	if _, err := fetchHead(ctx, url, t.header, 64<<10); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header = t.header.Clone()
	req.Header.Del("Cookie")
	resp, err := noCompression.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("GET %s without the session cookie: %s, want 401 Unauthorized", url, resp.Status)
	}
	return nil
}

// checkSameLinks checks that the page through Apache, at url, has the
// links the gateway's bench-links app gives it.
func checkSameLinks(ctx context.Context, t target, url string) error {
	const limit = 4 << 20
	gw, err := fetchHead(ctx, t.gatewayURL, t.header, limit)
	if err != nil {
		return err
	}
	ap, err := fetchHead(ctx, url, t.header, limit)
	if err != nil {
		return err
	}
	if err := sameLinks(gw, ap); err != nil {
		return fmt.Errorf("the gateway and Apache rewrite the page's links differently, so Apache's figures would not be of the same work: %w", err)
	}
	n, _ := pageLinks(gw)
	logf("the gateway and Apache give the page the same %d distinct href and src values", len(n))
	return nil
}

// pageLinks returns the href and src attribute values of every tag of an
// HTML document, with the number of times each occurs, as an HTML
// tokenizer reads them (character references resolved); the tags of the
// gateway's shim, which carry data-helpdesk-app, are left out.
func pageLinks(doc []byte) (map[string]int, error) {
	links := map[string]int{}
	z := html.NewTokenizer(bytes.NewReader(doc))
	var vals []string
	for {
		switch z.Next() {
		case html.ErrorToken:
			if err := z.Err(); err != io.EOF {
				return nil, err
			}
			return links, nil
		case html.StartTagToken, html.SelfClosingTagToken:
			_, more := z.TagName()
			vals = vals[:0]
			shim := false
			for more {
				var k, v []byte
				k, v, more = z.TagAttr()
				switch string(k) {
				case "href", "src":
					vals = append(vals, string(v))
				case "data-helpdesk-app":
					shim = true
				}
			}
			if !shim {
				for _, v := range vals {
					links[v]++
				}
			}
		}
	}
}

// sameLinks checks that the HTML documents a, the gateway's, and b,
// Apache's, have the same set of href and src values.
func sameLinks(a, b []byte) error {
	la, err := pageLinks(a)
	if err != nil {
		return fmt.Errorf("the gateway's page: %w", err)
	}
	lb, err := pageLinks(b)
	if err != nil {
		return fmt.Errorf("the page through Apache: %w", err)
	}
	onlyA, onlyB := missingFrom(la, lb), missingFrom(lb, la)
	if len(onlyA) == 0 && len(onlyB) == 0 {
		if len(la) == 0 {
			return errors.New("neither page has a link")
		}
		return nil
	}
	return fmt.Errorf("of %d and %d distinct href and src values, %d are only in the gateway's page (%s) and %d only in Apache's (%s)",
		len(la), len(lb), len(onlyA), examples(onlyA), len(onlyB), examples(onlyB))
}

// missingFrom returns the keys of a that b lacks, sorted.
func missingFrom(a, b map[string]int) []string {
	var m []string
	for k := range a {
		if _, ok := b[k]; !ok {
			m = append(m, k)
		}
	}
	slices.Sort(m)
	return m
}

// examples returns the first few of values, quoted, for a message.
func examples(values []string) string {
	const n = 5
	q := make([]string, 0, n+1)
	for i, v := range values {
		if i == n {
			q = append(q, "…")
			break
		}
		q = append(q, strconv.Quote(v))
	}
	return strings.Join(q, ", ")
}

// startForwardAuth starts the forward_auth anchor: the auth service, this
// program re-executed with -auth, and a Caddy of standard directives only,
// that asks it about every request and then proxies the upstream with the
// identity headers it answered.
func (st *stack) startForwardAuth(ctx context.Context, cfg config, procs *processes, keys sessionKeys) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	authAddr, err := freeAddr()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-auth", "-listen", authAddr)
	cmd.Env = append(os.Environ(), authSecretEnv+"="+keys.secret)
	auth, err := startServer(ctx, procs, "auth", cmd, authAddr, filepath.Join(st.dir, "auth.log"), syscall.SIGKILL)
	if err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	st.forwardAuth, err = st.startCaddy(ctx, cfg, procs, "forward_auth", addr, forwardAuthSite(addr, auth.addr, st.upstream.addr))
	if err != nil {
		return err
	}
	st.forwardAuth.with = []*server{auth}
	return nil
}

// forwardAuthSite returns the forward_auth anchor's site on addr.
func forwardAuthSite(addr, auth, upstream string) string {
	return fmt.Sprintf(`http://%s {
	forward_auth %s {
		uri /verify
		copy_headers %s
	}
	reverse_proxy %s
}
`, addr, auth, strings.Join(authIdentityHeaders, " "), upstream)
}

// apacheModules is where Debian installs Apache's modules.
const apacheModules = "/usr/lib/apache2/modules"

// apacheModuleFiles are the modules the Apache anchor loads.
var apacheModuleFiles = []struct{ name, file string }{
	{"mpm_event_module", "mod_mpm_event.so"},
	{"authz_core_module", "mod_authz_core.so"},
	{"proxy_module", "mod_proxy.so"},
	{"proxy_http_module", "mod_proxy_http.so"},
	{"xml2enc_module", "mod_xml2enc.so"},
	{"proxy_html_module", "mod_proxy_html.so"},
}

// startApache starts the Apache anchor when cfg.apache and its modules are
// installed; when they are not, it sets st.apacheSkip.
func (st *stack) startApache(ctx context.Context, cfg config, procs *processes) error {
	if _, err := os.Stat(cfg.apache); err != nil {
		st.apacheSkip = err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			st.apacheSkip = fmt.Sprintf("apache2 is not installed (no %s; Debian: apt-get install apache2)", cfg.apache)
		}
		logf("no Apache anchor: %s", st.apacheSkip)
		return nil
	}
	for _, m := range apacheModuleFiles {
		if _, err := os.Stat(filepath.Join(apacheModules, m.file)); err != nil {
			st.apacheSkip = fmt.Sprintf("no %s in %s", m.file, apacheModules)
			logf("no Apache anchor: %s", st.apacheSkip)
			return nil
		}
	}
	out, err := exec.CommandContext(ctx, cfg.apache, "-v").Output()
	if err != nil {
		return fmt.Errorf("%s -v: %w", cfg.apache, err)
	}
	st.apacheVersion = "unknown"
	if _, v, ok := strings.Cut(string(out), "Server version:"); ok {
		st.apacheVersion, _, _ = strings.Cut(strings.TrimSpace(v), "\n")
	}
	dir := filepath.Join(st.dir, "apache")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	conf := filepath.Join(dir, "httpd.conf")
	if err := os.WriteFile(conf, []byte(apacheConfig(dir, addr, st.upstream.addr, apacheWorkers(), cfg.conns)), 0o600); err != nil {
		return err
	}
	// SIGTERM: Apache's parent then ends its workers, which a SIGKILL
	// would orphan.
	cmd := exec.Command(cfg.apache, "-f", conf, "-DFOREGROUND")
	st.apache, err = startServer(ctx, procs, "apache", cmd, addr, filepath.Join(st.dir, "apache.log"), syscall.SIGTERM)
	if err != nil {
		return fmt.Errorf("%w\nits error log:\n%s", err, tail(filepath.Join(dir, "error.log"), 20))
	}
	st.apache.tree = true
	return nil
}

// apacheWorkers returns the User and Group lines of Apache's configuration:
// none unless the bench runs as root, when its workers must run as someone
// else (Apache refuses to serve as root) and run as Debian's www-data, or
// nobody.
func apacheWorkers() string {
	if os.Geteuid() != 0 {
		return ""
	}
	for _, name := range []string{"www-data", "nobody"} {
		if u, err := user.Lookup(name); err == nil {
			return fmt.Sprintf("User #%s\nGroup #%s\n", u.Uid, u.Gid)
		}
	}
	return "User #65534\nGroup #65534\n"
}

// apacheConfig returns the configuration of the Apache anchor, its files in
// dir, listening on addr: the event MPM with two processes of conns
// threads each, all started at once and kept, with unlimited keep-alive
// requests as Caddy's; mod_proxy_html rewrites the upstream's pages at
// /apps/bench-links/ as the gateway's bench-links app does. No access log,
// as the Caddys have none.
func apacheConfig(dir, addr, upstream, workers string, conns int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# The bench's Apache: mod_proxy_html rewriting the links of the upstream's
# pages into the prefix of the gateway's %[5]s app.
ServerRoot %[1]s
DefaultRuntimeDir %[1]s
PidFile %[1]s/apache.pid
ErrorLog %[1]s/error.log
LogLevel warn
Mutex file:%[1]s default
ServerName 127.0.0.1
Listen %[2]s
%[3]s
`, dir, addr, workers, upstream, linksAppID)
	for _, m := range apacheModuleFiles {
		fmt.Fprintf(&b, "LoadModule %s %s/%s\n", m.name, apacheModules, m.file)
	}
	fmt.Fprintf(&b, `
ServerLimit 2
StartServers 2
ThreadLimit %[1]d
ThreadsPerChild %[1]d
MaxRequestWorkers %[2]d
MinSpareThreads %[1]d
MaxSpareThreads %[2]d
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 30

# Debian's declaration of HTML links (mods-available/proxy_html.conf).
ProxyHTMLLinks  a           href
ProxyHTMLLinks  area        href
ProxyHTMLLinks  link        href
ProxyHTMLLinks  img         src longdesc usemap
ProxyHTMLLinks  object      classid codebase data usemap
ProxyHTMLLinks  q           cite
ProxyHTMLLinks  blockquote  cite
ProxyHTMLLinks  ins         cite
ProxyHTMLLinks  del         cite
ProxyHTMLLinks  form        action
ProxyHTMLLinks  input       src usemap
ProxyHTMLLinks  head        profile
ProxyHTMLLinks  base        href
ProxyHTMLLinks  script      src for

<Location /apps/%[3]s/>
	Require all granted
	ProxyPass http://%[4]s/
	ProxyHTMLEnable On
	ProxyHTMLDocType "<!DOCTYPE html>"
	ProxyHTMLURLMap / /apps/%[3]s/
</Location>
`, max(conns, 1), 2*max(conns, 1), linksAppID, upstream)
	return b.String()
}
