package caddymodule

import (
	"runtime/debug"
)

// modulePath is this module's path.
const modulePath = "github.com/helpdeskapps/gateway"

// Version returns the plugin's version as the build recorded it: the
// module's version when it was built as a dependency (xcaddy, go install
// with a version), else "(devel)", with the commit and its time when the
// build knows them.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	return versionOf(bi)
}

// versionOf reads Version from bi.
func versionOf(bi *debug.BuildInfo) string {
	version := ""
	if bi.Main.Path == modulePath {
		version = bi.Main.Version
	}
	for _, dep := range bi.Deps {
		if dep.Path == modulePath {
			version = dep.Version
			if dep.Replace != nil {
				version += " => " + dep.Replace.Path + " " + dep.Replace.Version
			}
		}
	}
	if version == "" {
		version = "(devel)"
	}
	var revision, at string
	modified := false
	if bi.Main.Path == modulePath {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if revision != "" {
		if len(revision) > 12 {
			revision = revision[:12]
		}
		version += " " + revision
		if modified {
			version += "+dirty"
		}
		if at != "" {
			version += " " + at
		}
	}
	return version
}
