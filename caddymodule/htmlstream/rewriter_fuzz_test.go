package htmlstream

import (
	"bytes"
	"os"
	"regexp"
	"testing"
)

// fuzzLinks are the Links of the fuzz tests. Their prefix cannot occur in
// an input without "\x00P", so every occurrence in the output was put
// there by the rewriter, and removing them all must give back the input.
var fuzzLinks = &Links{Prefix: "/\x00P", Keep: []string{"/k/"}}

// fuzzOriginLinks add an origin, and no Keep prefixes, so that every
// rewrite of an own URL writes the prefix too.
var fuzzOriginLinks = &Links{Prefix: "/\x00P", Origins: []string{"http://\x00o"}}

// fuzzOwnAuthority matches what a rewriter may replace with the prefix
// for fuzzOriginLinks: the scheme and host of an own URL.
var fuzzOwnAuthority = regexp.MustCompile(`^(?i:http:[/\\]{2}|/[\t\n\r]*[/\\])\x00[oO](?::[0-9]*)?`)

func FuzzHTMLRewriter(f *testing.F) {
	addFuzzSeeds(f, "html")
	for _, tt := range htmlTests {
		f.Add([]byte(tt.in), uint16(1), uint16(len(tt.in)/2))
	}
	f.Add([]byte("<a href=\"HTTP://\x00O:80\">"), uint16(3), uint16(12))
	f.Add([]byte("<img srcset=\"//\x00o/a 1x, /\t\\\x00o?x 2x\">"), uint16(14), uint16(20))
	f.Fuzz(func(t *testing.T, input []byte, split1, split2 uint16) {
		fuzzRewriter(t, "html", input, split1, split2)
	})
}

func FuzzCSSRewriter(f *testing.F) {
	addFuzzSeeds(f, "css")
	for _, tt := range cssTests {
		f.Add([]byte(tt.in), uint16(1), uint16(len(tt.in)/2))
	}
	f.Add([]byte("a{b:url(http://\x00o)}@import '//\x00O:080/x';"), uint16(10), uint16(30))
	f.Fuzz(func(t *testing.T, input []byte, split1, split2 uint16) {
		fuzzRewriter(t, "css", input, split1, split2)
	})
}

// addFuzzSeeds adds the golden inputs of a kind to the seed corpus.
func addFuzzSeeds(f *testing.F, kind string) {
	for _, gc := range linksCases(f) {
		if gc.kind != kind {
			continue
		}
		input, err := os.ReadFile(gc.input)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(input, uint16(len(input)/3), uint16(len(input)/2))
	}
}

// fuzzRewriter checks a rewriter of a kind on input, split in three.
func fuzzRewriter(t *testing.T, kind string, input []byte, split1, split2 uint16) {
	i, j := int(split1)%(len(input)+1), int(split2)%(len(input)+1)
	i, j = min(i, j), max(i, j)
	prefix := []byte(fuzzLinks.Prefix)
	natural := bytes.Contains(input, []byte("\x00P"))

	// Without origins: only prefixes are added, everything read is
	// written but what is held back, and the pieces do not matter.
	var out bytes.Buffer
	r := newRewriter(kind, &out, fuzzLinks)
	for k, chunk := range [][]byte{input[:i], input[i:j], input[j:]} {
		if n, err := r.Write(chunk); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(chunk))
		}
		if err := r.Flush(); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		if n := r.held(); n > maxHeld(fuzzLinks) {
			t.Fatalf("holding %d bytes, more than %d", n, maxHeld(fuzzLinks))
		}
		if !natural {
			checkPrefixOf(t, input[:[]int{i, j, len(input)}[k]], out.Bytes(), prefix, r.held())
		}
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got := out.Bytes()
	if !natural {
		if back := bytes.ReplaceAll(got, prefix, nil); !bytes.Equal(back, input) {
			t.Fatalf("input %q: wrote %q, which without its prefixes is %q", input, got, back)
		}
	}
	if whole := rewriteChunks(t, kind, fuzzLinks, input); !bytes.Equal(got, whole) {
		t.Fatalf("input %q: split at %d and %d wrote %q, one Write wrote %q", input, i, j, got, whole)
	}
	if !bytes.ContainsRune(input, '/') {
		if got := rewriteChunks(t, kind, &Links{Prefix: "/p"}, input); !bytes.Equal(got, input) {
			t.Fatalf("input %q without a slash: wrote %q", input, got)
		}
	}

	// With an origin: the output is the input with prefixes added and
	// own schemes and hosts replaced by the prefix, and "/" added where
	// the path was missing.
	if natural {
		return
	}
	got = rewriteChunks(t, kind, fuzzOriginLinks, input[:i], input[i:j], input[j:])
	if whole := rewriteChunks(t, kind, fuzzOriginLinks, input); !bytes.Equal(got, whole) {
		t.Fatalf("input %q, with origins: split at %d and %d wrote %q, one Write wrote %q", input, i, j, got, whole)
	}
	segs := bytes.Split(got, prefix)
	if !bytes.HasPrefix(input, segs[0]) || !undoRewrites(input[len(segs[0]):], segs[1:]) {
		t.Fatalf("input %q, with origins: wrote %q, not the input with own URLs rewritten", input, got)
	}
}

// undoRewrites reports whether in is what segs, the pieces of an output
// that each followed a prefix, were made of: each piece follows a
// prefix that was inserted, or that replaced an own scheme and host and
// maybe then "/".
func undoRewrites(in []byte, segs [][]byte) bool {
	if len(segs) == 0 {
		return len(in) == 0
	}
	s := segs[0]
	if bytes.HasPrefix(in, s) && undoRewrites(in[len(s):], segs[1:]) {
		return true
	}
	m := fuzzOwnAuthority.Find(in)
	if m == nil {
		return false
	}
	rest := in[len(m):]
	if bytes.HasPrefix(rest, s) && undoRewrites(rest[len(s):], segs[1:]) {
		return true
	}
	return len(s) > 0 && s[0] == '/' && bytes.HasPrefix(rest, s[1:]) && undoRewrites(rest[len(s)-1:], segs[1:])
}
