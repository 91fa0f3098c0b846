package rewrite

import (
	"net/http"
	"testing"
)

func TestScriptAccessFor(t *testing.T) {
	helmet := "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests"
	cases := []struct {
		name     string
		csp      []string
		reportOn []string
		want     ScriptAccess
	}{
		{"no policy", nil, nil, ScriptAccess{}},
		{"helmet default allows the same-origin script", []string{helmet}, nil, ScriptAccess{}},
		{"nonce with strict-dynamic uses the nonce",
			[]string{"script-src 'nonce-r4nd0m' 'strict-dynamic' https: 'unsafe-inline'; object-src 'none'; base-uri 'none'"},
			nil, ScriptAccess{Nonce: "r4nd0m"}},
		{"nonce with self uses the nonce", []string{"script-src 'self' 'nonce-abc'"}, nil, ScriptAccess{Nonce: "abc"}},
		{"unsafe-inline without self needs an inline script", []string{"script-src 'unsafe-inline'"}, nil, ScriptAccess{Inline: true}},
		{"unsafe-inline with self stays external", []string{"script-src 'self' 'unsafe-inline'"}, nil, ScriptAccess{}},
		{"default-src is the fallback", []string{"default-src 'unsafe-inline'"}, nil, ScriptAccess{Inline: true}},
		{"script-src-elem wins over script-src", []string{"script-src 'unsafe-inline'; script-src-elem 'self'"}, nil, ScriptAccess{}},
		{"first duplicate directive wins", []string{"script-src 'self'; script-src 'unsafe-inline'"}, nil, ScriptAccess{}},
		{"hashes disable unsafe-inline: nothing runs, policy kept",
			[]string{"script-src 'unsafe-inline' 'sha256-AAAA'"}, nil, ScriptAccess{}},
		{"strict-dynamic without nonce ignores self", []string{"script-src 'self' 'strict-dynamic' 'sha256-AAAA'"}, nil, ScriptAccess{}},
		{"every policy must allow it: self and unsafe-inline only policies",
			[]string{"script-src 'self'", "script-src 'unsafe-inline'"}, nil, ScriptAccess{}},
		{"two policies in one header, one with a nonce",
			[]string{"script-src 'self', script-src 'nonce-xyz' 'strict-dynamic'"}, nil, ScriptAccess{Nonce: "xyz"}},
		{"report-only restricts nothing", nil, []string{"script-src 'none'"}, ScriptAccess{}},
		{"policy without script directives", []string{"img-src 'self'; frame-ancestors 'none'"}, nil, ScriptAccess{}},
		{"directive names are case-insensitive", []string{"SCRIPT-SRC 'NONCE-Q1'"}, nil, ScriptAccess{Nonce: "Q1"}},
		{"an empty nonce is not a nonce", []string{"script-src 'nonce-' 'unsafe-inline'"}, nil, ScriptAccess{Inline: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range c.csp {
				h.Add("Content-Security-Policy", v)
			}
			for _, v := range c.reportOn {
				h.Add("Content-Security-Policy-Report-Only", v)
			}
			if got := ScriptAccessFor(h); got != c.want {
				t.Errorf("ScriptAccessFor = %+v; want %+v", got, c.want)
			}
		})
	}
}
