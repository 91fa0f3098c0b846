package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// The gateway's apps, both proxying the upstream: appID as it is, at
// /apps/bench/, and linksAppID with rewrite_links on, at /apps/bench-links/.
const (
	appID      = "bench"
	linksAppID = "bench-links"
)

// stack is everything a run measures: the upstream, the two servers, and
// the anchors its scenarios need.
type stack struct {
	// root is the module's directory, dir the run's temporary one.
	root, dir string
	bin       string
	upstream  *server
	plain     *server
	gateway   *server
	// forwardAuth is the forward_auth anchor's Caddy, with its auth service
	// in its with; apache is Apache httpd with mod_proxy_html, and
	// apacheSkip says why it did not run when it did not. Each is nil when
	// no scenario that runs needs it.
	forwardAuth, apache *server
	apacheSkip          string
	apacheVersion       string
	// rsAddr is the gateway's RS256 site, served by the gateway process.
	rsAddr string
	// admin holds each server's admin address, by name, when profiling.
	admin map[string]string
	// hsToken and rsToken are session tokens for the two sites.
	hsToken, rsToken string
	caddyVersion     string
}

// moduleRoot returns the directory of the go.mod of the working directory.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run the bench inside the gateway's module")
	}
	return filepath.Dir(gomod), nil
}

// buildGateway builds cmd/helpdesk-gateway into dir.
func buildGateway(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "helpdesk-gateway")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/helpdesk-gateway")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the gateway: %w\n%s", err, out)
	}
	return bin, nil
}

// startStack builds the gateway and starts the upstream and both servers.
func startStack(ctx context.Context, cfg config, procs *processes, dir string) (*stack, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	logf("building ./cmd/helpdesk-gateway")
	st := &stack{root: root, dir: dir, admin: map[string]string{}}
	if st.bin, err = buildGateway(ctx, root, dir); err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, st.bin, "version").Output()
	if err != nil {
		return nil, fmt.Errorf("helpdesk-gateway version: %w", err)
	}
	st.caddyVersion = caddyVersion(string(out))

	keys, err := newSessionKeys(dir)
	if err != nil {
		return nil, err
	}
	if st.hsToken, err = keys.hs256(); err != nil {
		return nil, err
	}
	if st.rsToken, err = keys.rs256(); err != nil {
		return nil, err
	}

	if err := st.startUpstream(ctx, procs); err != nil {
		return nil, err
	}
	if err := st.startPlain(ctx, cfg, procs); err != nil {
		return nil, err
	}
	if err := st.startGateway(ctx, cfg, procs, keys); err != nil {
		return nil, err
	}
	if cfg.anchors && cfg.runs("json") {
		if err := st.startForwardAuth(ctx, cfg, procs, keys); err != nil {
			return nil, err
		}
	}
	if cfg.anchors && cfg.runs("rewrite") {
		if err := st.startApache(ctx, cfg, procs); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// measured returns the servers whose CPU time the bench counts, each with
// the processes that count with it: the upstream, plain, the gateway and
// the anchors that run.
func (st *stack) measured() []*server {
	all := []*server{st.upstream, st.plain, st.gateway}
	for _, s := range []*server{st.forwardAuth, st.apache} {
		if s != nil {
			all = append(all, s)
		}
	}
	return all
}

// caddyVersion returns Caddy's version from the output of
// `helpdesk-gateway version`: the line "Caddy v2.x.y h1:…" after the
// plugin's own, or, from older builds, the first word, Caddy's version.
func caddyVersion(out string) string {
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Caddy" {
			return f[1]
		}
	}
	if f := strings.Fields(out); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// startUpstream re-executes this program as the upstream.
func (st *stack) startUpstream(ctx context.Context, procs *processes) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-upstream", "-listen", addr)
	st.upstream, err = startServer(ctx, procs, "upstream", cmd, addr, filepath.Join(st.dir, "upstream.log"), syscall.SIGKILL)
	return err
}

// startPlain starts Caddy with a plain reverse_proxy to the upstream.
func (st *stack) startPlain(ctx context.Context, cfg config, procs *processes) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	site := fmt.Sprintf("http://%s {\n\treverse_proxy %s\n}\n", addr, st.upstream.addr)
	st.plain, err = st.startCaddy(ctx, cfg, procs, "plain", addr, site)
	return err
}

// startGateway starts Caddy with a helpdesk_apps site proxying the
// upstream, with HS256 sessions, and a second site whose sessions are RS256.
func (st *stack) startGateway(ctx context.Context, cfg config, procs *processes, keys sessionKeys) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	sites := gatewaySite(addr, fmt.Sprintf("hmac_secret %s", keys.secret), st.upstream.addr, cfg)
	rsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	sites += gatewaySite(rsAddr, fmt.Sprintf("public_key %s", keys.publicKeyPath), st.upstream.addr, cfg)
	st.rsAddr = rsAddr
	st.gateway, err = st.startCaddy(ctx, cfg, procs, "gateway", addr, sites)
	return err
}

// gatewaySite returns a site on addr whose helpdesk_apps apps proxy
// upstream, with sessions verified by the key line, and with every identity
// header switched off when cfg.noIdentity is set, the assertion when
// cfg.noAssertion is.
func gatewaySite(addr, key, upstream string, cfg config) string {
	identity := ""
	switch {
	case cfg.noIdentity:
		identity = "identity_headers {\n\t\t\tuser_id off\n\t\t\tname off\n\t\t\temail off\n\t\t\trole off\n\t\t\tdivision off\n\t\t\tassertion off\n\t\t}"
	case cfg.noAssertion:
		identity = "identity_headers {\n\t\t\tassertion off\n\t\t}"
	}
	return fmt.Sprintf(`http://%s {
	helpdesk_apps /apps {
		%s
		session {
			cookie %s
			bearer
			%s
		}
		app %s {
			to %s
		}
		app %s {
			rewrite_links on
			to %s
		}
	}
}
`, addr, identity, sessionCookie, key, appID, upstream, linksAppID, upstream)
}

// startCaddy writes a Caddyfile with the bench's global options and sites,
// and runs the gateway binary on it.
func (st *stack) startCaddy(ctx context.Context, cfg config, procs *processes, name, addr, sites string) (*server, error) {
	admin := "off"
	if cfg.cpuProfile != "" {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		admin, st.admin[name] = a, a
	}
	storage := filepath.Join(st.dir, name+"-storage")
	caddyfile := globalOptions(admin, storage) + sites
	path := filepath.Join(st.dir, name+".Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(st.bin, "run", "--config", path, "--adapter", "caddyfile")
	return startServer(ctx, procs, name, cmd, addr, filepath.Join(st.dir, name+".log"), syscall.SIGKILL)
}

// globalOptions returns the global options block of a bench Caddyfile:
// no admin endpoint unless profiling, nothing persisted, plain HTTP/1.1,
// errors only in the log.
func globalOptions(admin, storage string) string {
	return fmt.Sprintf(`{
	admin %s
	persist_config off
	auto_https off
	storage file_system %s
	servers {
		protocols h1
	}
	log {
		level ERROR
	}
}

`, admin, storage)
}
