package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestCaddyfileExampleProvisions adapts Caddyfile.example with the modules
// this binary links and provisions the result, as `run` would, without
// binding its ports.
func TestCaddyfileExampleProvisions(t *testing.T) {
	if _, err := caddy.GetModule("http.handlers.helpdesk_apps"); err != nil {
		t.Fatalf("the binary lacks the module: %v", err)
	}
	src, err := os.ReadFile("../../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	out, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(src, map[string]any{"filename": "Caddyfile.example"})
	if err != nil {
		t.Fatalf("adapting Caddyfile.example: %v", err)
	}
	for _, w := range warnings {
		t.Errorf("adapt warning: %s", w)
	}
	var cfg caddy.Config
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	if err := caddy.Validate(&cfg); err != nil {
		t.Fatalf("provisioning Caddyfile.example: %v", err)
	}
}

// TestVersionNamesThePlugin runs `helpdesk-gateway version`: the plugin's
// version first, then Caddy's.
func TestVersionNamesThePlugin(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), "HELPDESK_GATEWAY_ARGS=version")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "helpdesk-gateway ") || !strings.HasPrefix(lines[1], "Caddy v2.") {
		t.Fatalf("version printed %q", out)
	}
}
