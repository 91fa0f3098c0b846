package main

import (
	"encoding/json"
	"os"
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
