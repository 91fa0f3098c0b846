package caddymodule

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// phpApp is a PHP app that, like many, builds its cookie path from the
// prefix a proxy tells it (X-Forwarded-Prefix) and the directory of the
// URI it was asked for (REQUEST_URI), and reports what it saw.
const phpApp = `<?php
$prefix = $_SERVER['HTTP_X_FORWARDED_PREFIX'] ?? '';
$uri = strtok($_SERVER['REQUEST_URI'], '?');
$dir = rtrim(substr($uri, 0, strrpos($uri, '/') + 1), '/');
$seen = $_COOKIE['sid'] ?? null;
setcookie('sid', 'php-session', ['path' => $prefix . $dir . '/']);
header('Content-Type: application/json');
echo json_encode([
	'REQUEST_URI' => $_SERVER['REQUEST_URI'],
	'DOCUMENT_URI' => $_SERVER['DOCUMENT_URI'] ?? '',
	'SCRIPT_NAME' => $_SERVER['SCRIPT_NAME'],
	'PATH_INFO' => $_SERVER['PATH_INFO'] ?? '',
	'QUERY_STRING' => $_SERVER['QUERY_STRING'],
	'X_FORWARDED_PREFIX' => $prefix,
	'ROLE' => $_SERVER['HTTP_X_HELPDESK_USER_ROLE'] ?? '',
	'sid' => $seen,
]);
`

// startPHPFPM runs Debian's php-fpm on a loopback port with dir as its
// document root, until the test ends, and returns its address.
func startPHPFPM(t *testing.T, dir string) string {
	t.Helper()
	bin := thirdPartyBinary(t, "HELPDESK_PHP_FPM", "php-fpm", "php-fpm8.4", "php-fpm8.3", "php-fpm8.2", "/usr/sbin/php-fpm8.2")
	addr := freeAddr(t)
	conf := filepath.Join(t.TempDir(), "php-fpm.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, `[global]
error_log = /dev/stderr
daemonize = no
pid = %s
[app]
listen = %s
pm = static
pm.max_children = 2
catch_workers_output = yes
`, filepath.Join(filepath.Dir(conf), "php-fpm.pid"), addr), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--nodaemonize", "--fpm-config", conf}
	if os.Geteuid() == 0 {
		args = append(args, "--allow-to-run-as-root")
	}
	p := startThirdParty(t, "php-fpm", exec.Command(bin, args...), "")
	deadline := time.Now().Add(thirdPartyStartTimeout)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("php-fpm did not listen on %s:\n%s", addr, p.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A PHP app behind FastCGI sees the request without the prefix, as an HTTP
// backend does: REQUEST_URI, DOCUMENT_URI, SCRIPT_NAME and PATH_INFO agree,
// the prefix comes only in X-Forwarded-Prefix, and the session cookie it
// builds from them comes back.
func TestFastCGIAppSeesThePrefixOnce(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "index.php"), []byte(phpApp), 0o644); err != nil {
		t.Fatal(err)
	}
	fpm := startPHPFPM(t, root)
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps /apps {
		session {
			cookie hd_session
			hmac_secret %s
			issuer https://helpdesk.test
			audience helpdesk-apps
		}
		app php {
			reverse_proxy %s {
				transport fastcgi {
					root %s
					split .php
				}
			}
		}
	}`, testSecret, fpm, root))

	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(base)
	jar.SetCookies(u, []*http.Cookie{{Name: "hd_session", Value: token(t, agent("agent", 3)), Path: "/"}})
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	type seen struct {
		RequestURI, DocumentURI, ScriptName, PathInfo, QueryString, Prefix, Role string
		SID                                                                      *string
	}
	fetch := func(path string) (seen, *http.Response) {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var raw map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
			t.Fatalf("%s: %d, %v", path, resp.StatusCode, err)
		}
		str := func(k string) string { s, _ := raw[k].(string); return s }
		s := seen{str("REQUEST_URI"), str("DOCUMENT_URI"), str("SCRIPT_NAME"), str("PATH_INFO"), str("QUERY_STRING"), str("X_FORWARDED_PREFIX"), str("ROLE"), nil}
		if v, ok := raw["sid"].(string); ok {
			s.SID = &v
		}
		return s, resp
	}

	got, resp := fetch("/apps/php/index.php/orders/7?tab=items")
	want := seen{"/index.php/orders/7?tab=items", "/index.php", "/index.php", "/orders/7", "tab=items", "/apps/php", "agent", nil}
	if got != want {
		t.Errorf("the PHP app saw %+v\nwant %+v", got, want)
	}
	if c := resp.Header.Get("Set-Cookie"); c != "sid=php-session; path=/apps/php/index.php/orders/" {
		t.Errorf("Set-Cookie %q; want the app's path once", c)
	}
	got, resp = fetch("/apps/php/index.php/orders/8")
	if got.SID == nil || *got.SID != "php-session" {
		t.Errorf("the PHP app's session did not come back: sid %v (Set-Cookie %q)", got.SID, resp.Header.Get("Set-Cookie"))
	}
	if got, _ := fetch("/apps/php/index.php"); got.RequestURI != "/index.php" || got.ScriptName != "/index.php" || got.PathInfo != "" {
		t.Errorf("the PHP app saw %+v for its index", got)
	}
}
