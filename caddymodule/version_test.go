package caddymodule

import (
	"runtime/debug"
	"testing"
)

func TestVersionReadsTheBuild(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"a dependency, as xcaddy builds it", debug.BuildInfo{
			Main: debug.Module{Path: "caddy"},
			Deps: []*debug.Module{{Path: "github.com/caddyserver/caddy/v2", Version: "v2.11.9"}, {Path: modulePath, Version: "v0.4.0"}},
		}, "v0.4.0"},
		{"a replaced dependency", debug.BuildInfo{
			Main: debug.Module{Path: "caddy"},
			Deps: []*debug.Module{{Path: modulePath, Version: "v0.4.0", Replace: &debug.Module{Path: "../gateway"}}},
		}, "v0.4.0 => ../gateway "},
		{"the main module, from a checkout", debug.BuildInfo{
			Main:     debug.Module{Path: modulePath, Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-06T06:00:00Z"}, {Key: "vcs.modified", Value: "true"}},
		}, "(devel) 0123456789ab+dirty 2026-12-06T06:00:00Z"},
		{"the main module, installed at a version", debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "v0.4.0"}}, "v0.4.0"},
		{"not in the build", debug.BuildInfo{Main: debug.Module{Path: "other"}}, "(devel)"},
	} {
		if got := versionOf(&tc.bi); got != tc.want {
			t.Errorf("%s: %q; want %q", tc.name, got, tc.want)
		}
	}
}
