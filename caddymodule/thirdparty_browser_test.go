package caddymodule

// Browser tests with real third-party web applications behind the gateway:
// Syncthing's web GUI (Debian's syncthing package) and live-server (from the
// npm registry), each started on loopback, mounted with rewrite_links on in
// the Helpdesk page (testdata/browser/host.html) in headless Chromium, with
// every request of the tab recorded. testdata/thirdparty/install.sh installs
// them; testdata/thirdparty/README.md says how to reproduce. The tests skip
// when an application is not installed, and fail instead when
// HELPDESK_THIRDPARTY_TESTS=required. They share the browser and the helpers
// of browser_test.go and links_browser_test.go.

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// thirdPartyStartTimeout bounds an application's start-up.
	thirdPartyStartTimeout = 30 * time.Second
	// thirdPartyWaitTimeout bounds each wait for an application's UI.
	thirdPartyWaitTimeout = 20 * time.Second
)

// thirdPartyDir is where install.sh puts what it installs from npm.
func thirdPartyDir() string {
	if d := os.Getenv("HELPDESK_THIRDPARTY_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "helpdesk-thirdparty")
	}
	return filepath.Join(home, ".cache", "helpdesk-thirdparty")
}

// thirdPartyMissing skips the test because an application is missing, or
// fails it when the third-party tests are required.
func thirdPartyMissing(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("HELPDESK_THIRDPARTY_TESTS") == "required" {
		t.Fatalf("HELPDESK_THIRDPARTY_TESTS=required, but %s (run testdata/thirdparty/install.sh)", msg)
	}
	t.Skipf("skipping third-party test: %s (run testdata/thirdparty/install.sh, see testdata/thirdparty/README.md)", msg)
}

// thirdPartyBinary finds an application's executable: $env, else the first
// of candidates that exists (a path, or a name on $PATH).
func thirdPartyBinary(t *testing.T, env string, candidates ...string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			thirdPartyMissing(t, "$%s is %s: %v", env, p, err)
		}
		return p
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	thirdPartyMissing(t, "none of %v is installed (or set $%s)", candidates, env)
	return ""
}

// thirdPartyProcess is an application running for one test.
type thirdPartyProcess struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startThirdParty runs cmd (its output going to a log file), waits until
// ready answers 200 (unless ready is empty: the caller waits), and stops
// the process, its process group with it, when the test ends. The log is shown when the start-up fails and when the test
// fails.
func startThirdParty(t *testing.T, name string, cmd *exec.Cmd, ready string) *thirdPartyProcess {
	t.Helper()
	p := &thirdPartyProcess{name: name, cmd: cmd, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	out, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s's log:\n%s", name, p.tail())
		}
	})
	t.Cleanup(p.stop)
	if ready == "" {
		return p
	}

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(thirdPartyStartTimeout)
	for {
		select {
		case <-p.done:
			t.Fatalf("%s exited during start-up (%v):\n%s", name, cmd.ProcessState, p.tail())
		default:
		}
		if resp, err := client.Get(ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %s with 200 within %s:\n%s", name, ready, thirdPartyStartTimeout, p.tail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends the process group: politely, then not.
func (p *thirdPartyProcess) stop() {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

// tail is the end of the process's log.
func (p *thirdPartyProcess) tail() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	if len(b) > 8000 {
		b = append([]byte("…"), b[len(b)-8000:]...)
	}
	return string(b)
}

// thirdPartyCaddyfile: the Helpdesk origin serving testdata/browser
// (host.html, and host.js from its own gateway), and the apps origin with
// one app, mounted with `to` (the application sees its own address as Host:
// Syncthing refuses foreign host names) and rewrite_links on.
const thirdPartyCaddyfile = `
http://127.0.0.1:%[1]s {
	bind 127.0.0.1
	helpdesk_apps /apps {
		session {
			cookie hd_session
			hmac_secret %[3]s
			issuer https://helpdesk.test
			audience helpdesk-apps
		}
	}
	root * "%[4]s"
	file_server
}

http://127.0.0.1:%[2]s {
	bind 127.0.0.1
	helpdesk_apps /apps {
		frame_ancestors http://127.0.0.1:%[1]s
		session {
			cookie hd_session
			hmac_secret %[3]s
			issuer https://helpdesk.test
			audience helpdesk-apps
		}
		app %[5]s {
			rewrite_links on
			%[7]s
			to %[6]s
		}
	}
}
`

// newThirdPartyEnv starts the gateway with app id proxied to upstream
// (host:port), with the app subdirective option if any, and opens a tab
// that records every request; it is newLinksEnv's world with a third-party
// application for the tool.
func newThirdPartyEnv(t *testing.T, id, upstream, option string) *linksEnv {
	t.Helper()
	bctx := browserContext(t)
	ports := distinctPorts(t, 2)
	startCaddyfile(t, fmt.Sprintf(thirdPartyCaddyfile, ports[0], ports[1], testSecret, browserTestdata(t), id, upstream, option))
	netlog := newNetworkLog()
	e := openTab(t, bctx, ports, linksTestTimeout, netlog.listen)
	return &linksEnv{bridgeEnv: e, net: netlog}
}

// checkThirdParty checks what every third-party test requires once the
// application's UI is up in frame part: the handshake completed (the host
// saw helpdesk:app:ready, and the frame's HelpdeskApps.appId is the
// instance's), no request of the tab left /apps/<id>/ on the gateway's
// origin, none went to another origin, and the browser blocked nothing.
func (e *linksEnv) checkThirdParty(id, part, instance string) {
	e.t.Helper()
	e.waitHost(`T.count("ready") >= 1 && T.received("helpdesk:app:ready").length >= 1`)
	got := appEval[map[string]any](e.bridgeEnv, part,
		`({appId: HelpdeskApps.appId, connected: HelpdeskApps.connected, prefix: HelpdeskApps.config.prefix, rewriteLinks: HelpdeskApps.config.rewriteLinks})`)
	want := map[string]any{"appId": instance, "connected": true, "prefix": "/apps/" + id, "rewriteLinks": true}
	if !sameJSON(e.t, got, want) {
		e.t.Errorf("the frame's HelpdeskApps: %v, want %v", got, want)
	}

	reqs, _, blocked, security := e.net.snapshot()
	if len(reqs) == 0 {
		e.t.Fatalf("the network log is empty: the recorder saw nothing")
	}
	var escaped, external []string
	for _, x := range e.escapes(id) {
		if s, ok := strings.CutSuffix(x, " (another origin)"); ok {
			external = append(external, s)
		} else {
			escaped = append(escaped, x)
		}
	}
	if len(escaped) > 0 {
		e.t.Errorf("%d requests to the gateway's origin escaped /apps/%s/:\n\t%s", len(escaped), id, strings.Join(escaped, "\n\t"))
	}
	if len(external) > 0 {
		e.t.Errorf("%d requests went to other origins (nothing external is needed):\n\t%s", len(external), strings.Join(external, "\n\t"))
	}
	if len(blocked) > 0 {
		e.t.Errorf("the browser blocked loads:\n\t%s", strings.Join(blocked, "\n\t"))
	}
	if len(security) > 0 {
		e.t.Errorf("security messages in the pages:\n\t%s", strings.Join(security, "\n\t"))
	}
	var inApp int
	for _, r := range reqs {
		if strings.HasPrefix(r.URL, e.apps+"/apps/"+id+"/") {
			inApp++
		}
	}
	e.t.Logf("%d requests recorded, %d of them under /apps/%s/", len(reqs), inApp, id)
}

// failedUnder lists the requests under /apps/<id>/ answered with an error
// status.
func (e *linksEnv) failedUnder(id string) []string {
	reqs, _, _, _ := e.net.snapshot()
	var out []string
	for _, r := range reqs {
		if strings.HasPrefix(r.URL, e.apps+"/apps/"+id+"/") && r.Status >= 400 {
			out = append(out, fmt.Sprintf("%s %s → %d", r.Method, r.URL, r.Status))
		}
	}
	return out
}

// ---- Syncthing (Debian) ------------------------------------------------------

// syncthingConfig keeps Syncthing off the network: no discovery, relays,
// NAT traversal, usage reporting (whose consent dialog would also cover the
// GUI), crash reports or upgrades, and a sync listener on a loopback port of
// its choosing.
const syncthingConfig = `<configuration version="36">
    <gui enabled="true" tls="false">
        <address>%s</address>
        <theme>default</theme>
    </gui>
    <options>
        <listenAddress>tcp://127.0.0.1:0</listenAddress>
        <globalAnnounceEnabled>false</globalAnnounceEnabled>
        <localAnnounceEnabled>false</localAnnounceEnabled>
        <relaysEnabled>false</relaysEnabled>
        <natEnabled>false</natEnabled>
        <urAccepted>-1</urAccepted>
        <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
        <crashReportingEnabled>false</crashReportingEnabled>
        <startBrowser>false</startBrowser>
    </options>
</configuration>
`

// syncthingState is what the test reads of Syncthing's GUI.
const syncthingState = `({
	url: location.href,
	title: document.title,
	thisDevice: document.getElementById("device-this") ? document.getElementById("device-this").innerText.slice(0, 300) : null,
	angular: typeof angular,
	csrf: document.cookie.split("; ").filter(c => c.startsWith("CSRF-Token-")).map(c => c.split("=")[0]),
	shim: window.HelpdeskApps ? HelpdeskApps.config : null,
})`

func TestThirdPartySyncthingGUI(t *testing.T) {
	bin := thirdPartyBinary(t, "HELPDESK_SYNCTHING", "syncthing", "/usr/bin/syncthing")
	browserContext(t) // skip before starting anything when there is no Chromium

	home := t.TempDir()
	addr := freeAddr(t)
	if err := os.WriteFile(filepath.Join(home, "config.xml"), []byte(fmt.Sprintf(syncthingConfig, addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--home="+home, "--gui-address=http://"+addr,
		"--no-browser", "--no-restart", "--no-upgrade", "--no-default-folder", "--skip-port-probing")
	cmd.Env = append(os.Environ(), "HOME="+home, "STNODEFAULTFOLDER=1", "STNOUPGRADE=1", "STNORESTART=1")
	startThirdParty(t, "syncthing", cmd, "http://"+addr+"/")

	// The device ID, whose short form the GUI shows once its REST calls
	// (which need the CSRF cookie and header) have answered.
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	deviceID := resp.Header.Get("X-Syncthing-Id")
	if len(deviceID) < 7 {
		t.Fatalf("Syncthing sent no X-Syncthing-Id header (%q)", deviceID)
	}

	// With isolate_cookies, the gateway renames Syncthing's CSRF cookie
	// into the app's jar; the shim shows it to Syncthing's JavaScript
	// under its own name, which must read it to send its header, or every
	// REST call is refused with 403.
	for _, c := range []struct{ id, option, jarPrefix string }{
		{"syncthing", "", ""},
		{"syncthing-jar", "isolate_cookies", "hda.syncthing-jar."},
	} {
		t.Run(c.id, func(t *testing.T) {
			id := c.id
			e := newThirdPartyEnv(t, id, addr, c.option)
			instance := e.mount(mountOptions{App: id, Src: e.apps + "/apps/" + id + "/", Mode: "embed", Placement: "main_menu"})
			part := "/apps/" + id + "/"
			// The UI: Angular has rendered the "This Device" panel from
			// rest/system/config and rest/system/status, with the device's short ID (its first six characters).
			e.waitWithin(thirdPartyWaitTimeout, part, `document.readyState === "complete" && HelpdeskApps.connected &&
		document.getElementById("device-this") !== null &&
		document.getElementById("device-this").innerText.includes(`+jsValue(t, deviceID[:6])+`) &&
		document.title.endsWith("| Syncthing") && document.title !== " | Syncthing"`, syncthingState)
			// The REST calls went through, under the prefix, with the CSRF token.
			for _, api := range []string{"rest/system/status", "rest/config", "rest/events?limit=1"} {
				u := e.apps + "/apps/" + id + "/" + api
				if s := e.net.status(u); s != http.StatusOK {
					t.Errorf("%s: status %d, want 200", u, s)
				}
			}
			// Started with --no-upgrade, Syncthing answers rest/system/upgrade with
			// 503 "upgrade unsupported" itself, with or without the gateway.
			upgrade := fmt.Sprintf("GET %s/apps/%s/rest/system/upgrade → 503", e.apps, id)
			if bad := slices.DeleteFunc(e.failedUnder(id), func(s string) bool { return s == upgrade }); len(bad) > 0 {
				t.Errorf("requests that failed:\n\t%s", strings.Join(bad, "\n\t"))
			}
			// Syncthing's CSRF cookie, set without a Path, has the default path of
			// the page's URL: the app's, so no other app or page sees it.
			jar := e.cookies(e.apps + "/apps/" + id + "/")
			csrf := "CSRF-Token-" + deviceID[:5]
			stored := c.jarPrefix + csrf
			if p := jar[stored]; p != "/apps/"+id && p != "/apps/"+id+"/" {
				t.Errorf("cookie %s: path %q, want /apps/%s (jar: %v)", stored, p, id, jar)
			}
			if root := e.cookies(e.apps + "/"); root[stored] != "" {
				t.Errorf("cookie %s reaches the origin's root (path %q)", stored, root[stored])
			}
			// Syncthing's JavaScript sees its cookie under its own name, and
			// nothing of the Helpdesk's.
			seen := appEval[string](e.bridgeEnv, part, "document.cookie")
			if !strings.Contains(seen, csrf+"=") || c.jarPrefix != "" && (strings.Contains(seen, "hda.") || strings.Contains(seen, "hd_session")) {
				t.Errorf("Syncthing's page reads document.cookie %q", seen)
			}
			e.checkThirdParty(id, part, instance)
		})
	}
}

// ---- live-server (npm) -------------------------------------------------------

// liveServerVersion is the version install.sh pins.
const liveServerVersion = "1.2.2"

// liveServerSite is the site live-server serves: a page that believes it
// owns "/" (a root-relative stylesheet, script, image and fetch), to which
// live-server adds its live-reload script, a WebSocket client.
var liveServerSite = map[string]string{
	"index.html": `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>live-server fixture</title>
<link rel="stylesheet" href="/css/site.css">
</head>
<body>
<h1 id="title">Served by live-server</h1>
<img id="logo" src="/img/logo.svg" alt="">
<p id="data"></p>
<script src="/js/site.js"></script>
</body>
</html>
`,
	"css/site.css": "h1 { color: rgb(1, 2, 3); }\n",
	"img/logo.svg": `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><rect width="16" height="16" fill="#08c"/></svg>` + "\n",
	"js/site.js": `fetch("/data.json").then((r) => r.json()).then((d) => { document.getElementById("data").textContent = d.message; });
`,
	"data.json": `{"message": "data from /data.json"}` + "\n",
}

// liveServerState is what the test reads of the live-server page.
const liveServerState = `({
	url: location.href,
	title: document.getElementById("title") ? document.getElementById("title").textContent : null,
	color: document.getElementById("title") ? getComputedStyle(document.getElementById("title")).color : null,
	logo: document.getElementById("logo") ? document.getElementById("logo").naturalWidth : null,
	data: document.getElementById("data") ? document.getElementById("data").textContent : null,
	injected: Array.from(document.scripts).some(s => s.textContent.includes("Live reload")),
	shim: window.HelpdeskApps ? HelpdeskApps.config : null,
})`

func TestThirdPartyLiveServer(t *testing.T) {
	bin := thirdPartyBinary(t, "HELPDESK_LIVE_SERVER",
		filepath.Join(thirdPartyDir(), "npm", "node_modules", ".bin", "live-server"))
	if _, err := exec.LookPath("node"); err != nil {
		thirdPartyMissing(t, "live-server needs node: %v", err)
	}
	browserContext(t)

	site := t.TempDir()
	for name, body := range liveServerSite {
		p := filepath.Join(site, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	port := addr[strings.LastIndex(addr, ":")+1:]
	cmd := exec.Command(bin, "--host=127.0.0.1", "--port="+port, "--no-browser", "--wait=50", site)
	cmd.Dir = site
	p := startThirdParty(t, "live-server", cmd, "http://"+addr+"/")
	if out, err := exec.Command(bin, "--version").CombinedOutput(); err != nil || !strings.Contains(string(out), liveServerVersion) {
		t.Logf("live-server --version: %q (%v); install.sh pins %s", strings.TrimSpace(string(out)), err, liveServerVersion)
	}

	const id = "live"
	e := newThirdPartyEnv(t, id, addr, "")
	instance := e.mount(mountOptions{App: id, Src: e.apps + "/apps/" + id + "/", Mode: "embed", Placement: "main_menu"})
	part := "/apps/" + id + "/"
	prefix := "/apps/" + id
	e.waitWithin(thirdPartyWaitTimeout, part, `document.readyState === "complete" && HelpdeskApps.connected &&
		document.getElementById("title").textContent === "Served by live-server" &&
		getComputedStyle(document.getElementById("title")).color === "rgb(1, 2, 3)" &&
		document.getElementById("logo").naturalWidth === 16 &&
		document.getElementById("data").textContent === "data from /data.json" &&
		Array.from(document.scripts).some(s => s.textContent.includes("Live reload"))`, liveServerState)

	// live-server's own WebSocket, built from location, stays in the app.
	deadline := time.Now().Add(linksWaitTimeout)
	var socket string
	for socket == "" {
		_, sockets, _, _ := e.net.snapshot()
		for _, s := range sockets {
			if strings.HasPrefix(s, "ws://"+strings.TrimPrefix(e.apps, "http://")+prefix+"/") {
				socket = s
			}
		}
		if socket == "" {
			if time.Now().After(deadline) {
				t.Fatalf("live-server's page opened no WebSocket under %s/ (sockets: %v)", prefix, sockets)
			}
			time.Sleep(25 * time.Millisecond)
		}
	}

	// A change on disk reaches the page through that WebSocket: live-server
	// sends "reload", the page reloads under the prefix and connects again.
	readyBefore := hostEval[int](e.bridgeEnv, `T.count("ready")`)
	index := filepath.Join(site, "index.html")
	if err := os.WriteFile(index, []byte(strings.Replace(liveServerSite["index.html"], "Served by live-server", "Reloaded by live-server", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	e.waitWithin(thirdPartyWaitTimeout, part, `document.readyState === "complete" && HelpdeskApps.connected &&
		document.getElementById("title").textContent === "Reloaded by live-server" &&
		document.getElementById("data").textContent === "data from /data.json" &&
		location.pathname.startsWith("`+prefix+`/")`, liveServerState)
	e.waitHost(fmt.Sprintf(`T.count("ready") > %d`, readyBefore))

	if bad := e.failedUnder(id); len(bad) > 0 {
		t.Errorf("requests that failed:\n\t%s", strings.Join(bad, "\n\t"))
	}
	e.checkThirdParty(id, part, instance)
	select {
	case <-p.done:
		t.Errorf("live-server exited during the test:\n%s", p.tail())
	default:
	}
}
