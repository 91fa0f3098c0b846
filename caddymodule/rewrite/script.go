package rewrite

import (
	"net/http"
	"strings"

	"github.com/helpdeskapps/gateway/caddymodule/internal/ascii"
)

// ScriptAccess says how a script element the gateway adds to a page can run
// under the page's Content-Security-Policy without any policy being changed.
type ScriptAccess struct {
	// Nonce is a nonce the policy accepts, to put on the element; empty when
	// the policy lists none.
	Nonce string
	// Inline is true when only an inline script can run: the policy allows
	// 'unsafe-inline' but not the page's own origin.
	Inline bool
}

// ScriptAccessFor reads the enforced Content-Security-Policy headers of h
// (report-only ones restrict nothing) and says how an element loading a
// same-origin script can run. Every policy must allow it. For each policy the
// effective directive is script-src-elem, else script-src, else default-src
// (CSP3 §6.1.1). A nonce satisfies any policy that lists it, strict-dynamic
// included; 'self' satisfies a policy without 'strict-dynamic'; when neither
// does, 'unsafe-inline' in a policy without nonces, hashes or strict-dynamic
// allows an inline script. When nothing can run, the external form is
// returned: the page's policy forbids the shim, and it is not loosened.
func ScriptAccessFor(h http.Header) ScriptAccess {
	var acc ScriptAccess
	external, inline := true, true
	for _, value := range h["Content-Security-Policy"] {
		for policy := range strings.SplitSeq(value, ",") {
			p := scriptPolicy(policy)
			if !p.restricted {
				continue
			}
			if acc.Nonce == "" {
				acc.Nonce = p.nonce
			}
			external = external && (p.nonce != "" || p.self && !p.strictDynamic)
			inline = inline && (p.nonce != "" || p.unsafeInline && !p.hashes && !p.strictDynamic)
		}
	}
	acc.Inline = !external && inline
	return acc
}

// scriptSources is what one policy says about script elements.
type scriptSources struct {
	restricted    bool // the policy has an effective directive for scripts
	nonce         string
	self          bool
	strictDynamic bool
	unsafeInline  bool
	hashes        bool
}

// scriptPolicy reads the effective script directive of one policy.
func scriptPolicy(policy string) scriptSources {
	var byName [3]string // script-src-elem, script-src, default-src
	var found [3]bool
	for directive := range strings.SplitSeq(policy, ";") {
		name, sources, _ := strings.Cut(ascii.TrimSpace(directive), " ")
		for i, want := range [...]string{"script-src-elem", "script-src", "default-src"} {
			// The first occurrence of a directive wins (CSP3 §2.2.1).
			if !found[i] && ascii.EqualFold(name, want) {
				byName[i], found[i] = sources, true
			}
		}
	}
	var sources string
	switch {
	case found[0]:
		sources = byName[0]
	case found[1]:
		sources = byName[1]
	case found[2]:
		sources = byName[2]
	default:
		return scriptSources{}
	}
	s := scriptSources{restricted: true}
	for _, src := range strings.Fields(sources) {
		lower := strings.ToLower(src)
		switch {
		case lower == "'self'" || lower == "*":
			s.self = true
		case lower == "'strict-dynamic'":
			s.strictDynamic = true
		case lower == "'unsafe-inline'":
			s.unsafeInline = true
		case strings.HasPrefix(lower, "'nonce-") && strings.HasSuffix(src, "'") && len(src) > len("'nonce-'"):
			if s.nonce == "" {
				s.nonce = src[len("'nonce-") : len(src)-1]
			}
		case strings.HasPrefix(lower, "'sha256-"), strings.HasPrefix(lower, "'sha384-"), strings.HasPrefix(lower, "'sha512-"):
			s.hashes = true
		}
	}
	return s
}
