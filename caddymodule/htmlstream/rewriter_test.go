package htmlstream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// linksDir holds the golden cases of the URL rewriters, shared with the
// rest of the repository; -update rewrites them.
var linksDir = filepath.Join("..", "..", "testdata", "links")

// goldenLinks are the Links the golden files expect.
var goldenLinks = &Links{
	Prefix:  "/apps/crm",
	Origins: []string{"http://10.0.0.5:8080", "https://helpdesk.example.com"},
	Keep:    []string{"/apps/_bridge/"},
}

// rewriter is an HTMLRewriter or a CSSRewriter.
type rewriter interface {
	io.WriteCloser
	Flush() error
	held() int
}

// newRewriter returns a new rewriter of a kind, "html" or "css".
func newRewriter(kind string, w io.Writer, links *Links) rewriter {
	if kind == "css" {
		return NewCSSRewriter(w, links)
	}
	return NewHTMLRewriter(w, links)
}

// maxHeld is the most bytes a rewriter for links may hold back.
func maxHeld(links *Links) int {
	return links.window() + len("</style") + maxMetaHold
}

// rewriteChunks writes chunks to a new rewriter of a kind, closes it and
// returns its output. It fails tb on any error or when the rewriter holds
// back more than it should.
func rewriteChunks(tb testing.TB, kind string, links *Links, chunks ...[]byte) []byte {
	tb.Helper()
	var out bytes.Buffer
	r := newRewriter(kind, &out, links)
	for _, c := range chunks {
		if n, err := r.Write(c); n != len(c) || err != nil {
			tb.Fatalf("Write(%q) = %d, %v; want %d, nil", c, n, err, len(c))
		}
		if n := r.held(); n > maxHeld(links) {
			tb.Fatalf("holding %d bytes, more than %d", n, maxHeld(links))
		}
	}
	if err := r.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
	return out.Bytes()
}

// rewriteFrom copies src to a new rewriter of a kind, closes it and
// returns its output.
func rewriteFrom(tb testing.TB, kind string, links *Links, src io.Reader) []byte {
	tb.Helper()
	var out bytes.Buffer
	r := newRewriter(kind, &out, links)
	if _, err := io.Copy(r, src); err != nil {
		tb.Fatalf("Copy: %v", err)
	}
	if err := r.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
	return out.Bytes()
}

// linksCase is a golden case: an input file and the kind of rewriter that
// reads it.
type linksCase struct {
	name, kind, input, golden string
}

// linksCases returns the golden cases.
func linksCases(tb testing.TB) []linksCase {
	tb.Helper()
	var cases []linksCase
	for _, kind := range []string{"html", "css"} {
		files, err := filepath.Glob(filepath.Join(linksDir, "*."+kind))
		if err != nil {
			tb.Fatal(err)
		}
		for _, file := range files {
			if name, ok := strings.CutSuffix(filepath.Base(file), ".golden."+kind); ok {
				if _, err := os.Stat(filepath.Join(linksDir, name+"."+kind)); err != nil {
					tb.Errorf("golden file %s has no input", file)
				}
				continue
			}
			name := strings.TrimSuffix(filepath.Base(file), "."+kind)
			cases = append(cases, linksCase{name, kind, file, filepath.Join(linksDir, name+".golden."+kind)})
		}
	}
	if len(cases) < 2 {
		tb.Fatal("no golden cases found")
	}
	return cases
}

func TestLinksGolden(t *testing.T) {
	for _, gc := range linksCases(t) {
		t.Run(gc.name+"."+gc.kind, func(t *testing.T) {
			input, err := os.ReadFile(gc.input)
			if err != nil {
				t.Fatal(err)
			}
			got := rewriteChunks(t, gc.kind, goldenLinks, input)
			if *update {
				if err := os.WriteFile(gc.golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(gc.golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("one Write: output differs from %s\n--- got\n%s\n--- want\n%s", gc.golden, got, want)
			}
			if got := rewriteFrom(t, gc.kind, goldenLinks, iotest.OneByteReader(bytes.NewReader(input))); !bytes.Equal(got, want) {
				t.Errorf("one byte per Write: got\n%s", got)
			}
			if got := rewriteFrom(t, gc.kind, goldenLinks, iotest.HalfReader(bytes.NewReader(input))); !bytes.Equal(got, want) {
				t.Errorf("half of each read per Write: got\n%s", got)
			}
			for i := range len(input) + 1 {
				if got := rewriteChunks(t, gc.kind, goldenLinks, input[:i], input[i:]); !bytes.Equal(got, want) {
					t.Fatalf("split at %d: got\n%s", i, got)
				}
			}
		})
	}
}

// TestLinksGoldenOnlyAddsPrefixes checks the golden files against their
// inputs: without origins, the output is the input with prefixes added.
func TestLinksGoldenOnlyAddsPrefixes(t *testing.T) {
	links := &Links{Prefix: "/\x00P", Keep: goldenLinks.Keep}
	for _, gc := range linksCases(t) {
		input, err := os.ReadFile(gc.input)
		if err != nil {
			t.Fatal(err)
		}
		got := rewriteChunks(t, gc.kind, links, input)
		if back := bytes.ReplaceAll(got, []byte(links.Prefix), nil); !bytes.Equal(back, input) {
			t.Errorf("%s: output without its prefixes is not the input:\n%s", gc.name, back)
		}
	}
}

// htmlTests are small cases for Links{Prefix: "/p", Origins:
// ["http://o.test"], Keep: ["/k/"]}.
var htmlTests = []struct {
	name, in, want string
}{
	{"empty", "", ""},
	{"text", "/x href=/x", "/x href=/x"},
	{"href", `<a href="/x">`, `<a href="/p/x">`},
	{"href single", `<a href='/x'>`, `<a href='/p/x'>`},
	{"href unquoted", `<a href=/x>`, `<a href=/p/x>`},
	{"href unquoted then attribute", `<a href=/x title=y>`, `<a href=/p/x title=y>`},
	{"href unquoted self-closing", `<a href=/x/>`, `<a href=/p/x/>`},
	{"href spaced", `<a href = "/x" >`, `<a href = "/p/x" >`},
	{"href upper", `<A HREF="/x">`, `<A HREF="/p/x">`},
	{"href whitespace kept", "<a href=\" \t/x \">", "<a href=\" \t/p/x \">"},
	{"href origin", `<a href="http://o.test/x?y#z">`, `<a href="/p/x?y#z">`},
	{"href origin upper", `<a href="HTTP://O.TEST/X">`, `<a href="/p/X">`},
	{"href origin no path", `<a href="http://o.test">`, `<a href="/p/">`},
	{"href origin query", `<a href="http://o.test?q">`, `<a href="/p/?q">`},
	{"href origin default port", `<a href="http://o.test:80/x">`, `<a href="/p/x">`},
	{"href origin other port", `<a href="http://o.test:81/x">`, `<a href="http://o.test:81/x">`},
	{"href origin protocol-relative", `<a href="//o.test/x">`, `<a href="/p/x">`},
	{"href origin under prefix", `<a href="http://o.test/p/x">`, `<a href="/p/x">`},
	{"href origin kept", `<a href="http://o.test/k/x">`, `<a href="/k/x">`},
	{"href origin user", `<a href="http://u@o.test/x">`, `<a href="http://u@o.test/x">`},
	{"href prefix", `<a href="/p">`, `<a href="/p">`},
	{"href under prefix", `<a href="/p/x">`, `<a href="/p/x">`},
	{"href prefix text", `<a href="/px">`, `<a href="/p/px">`},
	{"href keep", `<a href="/k/x">`, `<a href="/k/x">`},
	{"href keep partial", `<a href="/k">`, `<a href="/p/k">`},
	{"href protocol-relative", `<a href="//x.test/">`, `<a href="//x.test/">`},
	{"href backslash", `<a href="/\x.test/">`, `<a href="/\x.test/">`},
	{"href tab then slash", "<a href=\"/\t/x.test/\">", "<a href=\"/\t/x.test/\">"},
	{"href relative", `<a href="x/y">`, `<a href="x/y">`},
	{"href empty", `<a href="">`, `<a href="">`},
	{"href unquoted empty", `<a href=>`, `<a href=>`},
	{"href valueless", `<a href>/x`, `<a href>/x`},
	{"href reference first", `<a href="&#47;x">`, `<a href="&#47;x">`},
	{"href reference second", `<a href="/&#47;x">`, `<a href="/&#47;x">`},
	{"href reference later", `<a href="/x?a&amp;b">`, `<a href="/p/x?a&amp;b">`},
	{"href data", `<img src="data:image/png;base64,AAAA">`, `<img src="data:image/png;base64,AAAA">`},
	{"duplicate", `<a href="/x" href="/y">`, `<a href="/p/x" href="/p/y">`},
	{"all URL attributes", `<x href=/1 src=/2 action=/3 formaction=/4 poster=/5 data=/6 cite=/7 background=/8 xlink:href=/9>`,
		`<x href=/p/1 src=/p/2 action=/p/3 formaction=/p/4 poster=/p/5 data=/p/6 cite=/p/7 background=/p/8 xlink:href=/p/9>`},
	{"other attributes", `<a title="/x" data-src="/y" hrefs="/z" value=/v>`, `<a title="/x" data-src="/y" hrefs="/z" value=/v>`},
	{"gt in quotes", `<a title=">" href="/x">`, `<a title=">" href="/p/x">`},
	{"attribute name with quote", `<a x"="/" href="/x">`, `<a x"="/" href="/p/x">`},
	{"equals-first attribute name", `<a =href="/x">`, `<a =href="/x">`},
	{"slash between attributes", `<a/href="/x">`, `<a/href="/p/x">`},
	{"no space after value", `<a title="x"href="/x">`, `<a title="x"href="/p/x">`},
	{"end tag", `</a href="/x">`, `</a href="/x">`},
	{"end tag quoted gt", `</a title=">" href="/x"><a href="/y">`, `</a title=">" href="/x"><a href="/p/y">`},
	{"lt text", `< a href="/x">`, `< a href="/x">`},
	{"lt digit", `<1 href="/x">`, `<1 href="/x">`},
	{"empty end tag", `</><a href="/x">`, `</><a href="/p/x">`},
	{"bogus end tag", `</ href="/x"><a href="/y">`, `</ href="/x"><a href="/p/y">`},
	{"comment", `<!-- <a href="/x"> --><a href="/y">`, `<!-- <a href="/x"> --><a href="/p/y">`},
	{"comment abrupt", `<!--><a href="/y">`, `<!--><a href="/p/y">`},
	{"comment abrupt dash", `<!---><a href="/y">`, `<!---><a href="/p/y">`},
	{"comment bang", `<!-- --!><a href="/y">`, `<!-- --!><a href="/p/y">`},
	{"comment dashes", `<!-- -- -> --- ---><a href="/y">`, `<!-- -- -> --- ---><a href="/p/y">`},
	{"comment unterminated", `<!-- <a href="/x">`, `<!-- <a href="/x">`},
	{"doctype", `<!DOCTYPE html "<a href='/x'>"><a href="/y">`, `<!DOCTYPE html "<a href='/x'>"><a href="/p/y">`},
	{"processing instruction", `<?php echo "<a href='/x'"?><a href="/y">`, `<?php echo "<a href='/x'"?><a href="/p/y">`},
	{"bogus comment", `<!x <a href="/x"><a href="/y">`, `<!x <a href="/x"><a href="/p/y">`},
	{"cdata", `<![CDATA[ > <a href="/x"> ]]><a href="/y">`, `<![CDATA[ > <a href="/x"> ]]><a href="/p/y">`},
	{"cdata brackets", `<![CDATA[ ]]]> <a href="/y">`, `<![CDATA[ ]]]> <a href="/p/y">`},
	{"cdata lower case is bogus", `<![cdata[ > <a href="/y">`, `<![cdata[ > <a href="/p/y">`},
	{"script", `<script>"<a href='/x'>"</script><a href="/y">`, `<script>"<a href='/x'>"</script><a href="/p/y">`},
	{"script src", `<script src="/s.js"></script>`, `<script src="/p/s.js"></script>`},
	{"script end upper", `<script>x</SCRIPT ><a href="/y">`, `<script>x</SCRIPT ><a href="/p/y">`},
	{"script end slash", `<script>x</script/><a href="/y">`, `<script>x</script/><a href="/p/y">`},
	{"script end with attribute", `<script>x</script a=">"><a href="/y">`, `<script>x</script a=">"><a href="/p/y">`},
	{"script not ended by longer name", `<script></scripts><a href="/x"></script>`, `<script></scripts><a href="/x"></script>`},
	{"script self-closing", `<script/><a href="/x"></script>`, `<script/><a href="/x"></script>`},
	{"script escaped", `<script><!-- </script><a href="/y">`, `<script><!-- </script><a href="/p/y">`},
	{"script double escaped", `<script><!--<script></script><a href="/x">--></script><a href="/y">`,
		`<script><!--<script></script><a href="/x">--></script><a href="/p/y">`},
	{"script double escaped ended", `<script><!--<script></script>--></script><a href="/y">`,
		`<script><!--<script></script>--></script><a href="/p/y">`},
	{"script escaped then double end", `<script><!--<script>x</script>y</script><a href="/y">`,
		`<script><!--<script>x</script>y</script><a href="/p/y">`},
	{"script escape closed early", `<script><!--><script></script><a href="/y">`, `<script><!--><script></script><a href="/p/y">`},
	{"script scripts is not script", `<script><!--<scripts></script><a href="/y">`, `<script><!--<scripts></script><a href="/p/y">`},
	{"style", `<style>a{background:url(/x)}</style><a href="/y">`, `<style>a{background:url(/p/x)}</style><a href="/p/y">`},
	{"style end upper", `<style>a{}</STYLE><a href="/y">`, `<style>a{}</STYLE><a href="/p/y">`},
	{"style lt", `<style>a<b{background:url(/x)}</stylex{}</style>`, `<style>a<b{background:url(/p/x)}</stylex{}</style>`},
	{"style end in url", `<style>a{background:url(/x</style><a href="/y">`, `<style>a{background:url(/p/x</style><a href="/p/y">`},
	{"style end in comment", `<style>/*</style><a href="/y">`, `<style>/*</style><a href="/p/y">`},
	{"style at end", `<style>a{background:url(/x)`, `<style>a{background:url(/p/x)`},
	{"style url at end", `<style>a{background:url(/p`, `<style>a{background:url(/p`},
	{"style url at end partial", `<style>a{background:url(/`, `<style>a{background:url(/p/`},
	{"textarea", `<textarea><a href="/x"></textarea><a href="/y">`, `<textarea><a href="/x"></textarea><a href="/p/y">`},
	{"title", `<title><a href="/x"></title ><a href="/y">`, `<title><a href="/x"></title ><a href="/p/y">`},
	{"title not ended by other end tag", `<title></a><a href="/x"></title>`, `<title></a><a href="/x"></title>`},
	{"xmp", `<xmp><a href="/x"></xmp><a href="/y">`, `<xmp><a href="/x"></xmp><a href="/p/y">`},
	{"iframe", `<iframe src="/f"><a href="/x"></iframe><a href="/y">`, `<iframe src="/p/f"><a href="/x"></iframe><a href="/p/y">`},
	{"noembed", `<noembed><a href="/x"></noembed><a href="/y">`, `<noembed><a href="/x"></noembed><a href="/p/y">`},
	{"noframes", `<noframes><a href="/x"></noframes><a href="/y">`, `<noframes><a href="/x"></noframes><a href="/p/y">`},
	{"plaintext", `<plaintext></plaintext><a href="/x">`, `<plaintext></plaintext><a href="/x">`},
	{"end tag of raw element is not raw", `</script><a href="/y">`, `</script><a href="/p/y">`},
	{"srcset", `<img srcset="/a 1x, /b 2x">`, `<img srcset="/p/a 1x, /p/b 2x">`},
	{"srcset commas", `<img srcset="/a,/b, ,/c 1x,,/d">`, `<img srcset="/p/a,/b, ,/p/c 1x,,/p/d">`},
	{"srcset trailing comma", `<img srcset="/a, /b">`, `<img srcset="/p/a, /p/b">`},
	{"srcset parens", `<img srcset="/a 1x (x, /y), /b">`, `<img srcset="/p/a 1x (x, /y), /p/b">`},
	{"srcset relative and origin", `<img srcset="a 1x, http://o.test/b 2x">`, `<img srcset="a 1x, /p/b 2x">`},
	{"srcset unquoted", `<img srcset=/a>`, `<img srcset=/p/a>`},
	{"srcset reference whitespace", `<img srcset="/a 1x,&#32;/b 2x">`, `<img srcset="/p/a 1x,&#32;/p/b 2x">`},
	{"srcset reference comma", `<img srcset="/a 1x&#44;/b 2x">`, `<img srcset="/p/a 1x&#44;/p/b 2x">`},
	{"srcset reference first", `<img srcset="&#47;a 1x, /b">`, `<img srcset="&#47;a 1x, /p/b">`},
	{"srcset reference in URL", `<img srcset="/a?x&amp;y 1x, /b">`, `<img srcset="/p/a?x&amp;y 1x, /p/b">`},
	{"srcset reference second", `<img srcset="/&#47;a 1x, /b">`, `<img srcset="/&#47;a 1x, /p/b">`},
	{"srcset prefix", `<img srcset="/p">`, `<img srcset="/p">`},
	{"srcset root at the end", `<img srcset="/p 1x, /">`, `<img srcset="/p 1x, /p/">`},
	{"srcset unquoted origin at the end", `<img srcset=http://o.test >`, `<img srcset=/p/ >`},
	{"imagesrcset", `<link imagesrcset="/a 1x">`, `<link imagesrcset="/p/a 1x">`},
	{"style attribute", `<p style="background:url(/x)">`, `<p style="background:url(/p/x)">`},
	{"style attribute quoted", `<p style='background:url("/x")'>`, `<p style='background:url("/p/x")'>`},
	{"style attribute quot", `<p style="background:url(&quot;/x&quot;)">`, `<p style="background:url(&quot;/p/x&quot;)">`},
	{"style attribute quot missing semicolon", `<p style="background:url(&quot/x&quot)">`, `<p style="background:url(&quot/p/x&quot)">`},
	{"style attribute apos", `<p style="background:url(&#39;/x&#39;)">`, `<p style="background:url(&#39;/p/x&#39;)">`},
	{"style attribute string", `<p style="content:&quot;url(/x)&quot;">`, `<p style="content:&quot;url(/x)&quot;">`},
	{"style attribute reference before url", `<p style="x:&eacute;url(/x)">`, `<p style="x:&eacute;url(/x)">`},
	{"style attribute unknown reference before url", `<p style="x:&foo;url(/x)">`, `<p style="x:&foo;url(/x)">`},
	{"style attribute amp before url", `<p style="x:&amp;url(/x)">`, `<p style="x:&amp;url(/p/x)">`},
	{"style attribute not a reference", `<p style="x:& url(/x)">`, `<p style="x:& url(/p/x)">`},
	{"style attribute reference letter", `<p style="x:&#97;url(/x)">`, `<p style="x:&#97;url(/x)">`},
	{"style attribute reference in URL", `<p style="background:url(/x&amp;y)">`, `<p style="background:url(/p/x&amp;y)">`},
	{"style attribute unquoted", `<p style=background:url(/x)>`, `<p style=background:url(/p/x)>`},
	{"style attribute at end", `<p style="background:url(/x`, `<p style="background:url(/p/x`},
	{"style attribute undecided at end", `<p style="background:url(/`, `<p style="background:url(/`},
	{"style attribute end is a reference", `<p style="background:url(&quot;/&quot;)">`, `<p style="background:url(&quot;/&quot;)">`},
	{"meta refresh", `<meta http-equiv="refresh" content="0; url=/x">`, `<meta http-equiv="refresh" content="0; url=/p/x">`},
	{"meta refresh content first", `<meta content="0;url=/x" http-equiv=REFRESH>`, `<meta content="0;url=/p/x" http-equiv=REFRESH>`},
	{"meta refresh quoted", `<meta http-equiv="refresh" content="0; URL='/x'">`, `<meta http-equiv="refresh" content="0; URL='/p/x'">`},
	{"meta refresh origin", `<meta http-equiv="refresh" content="0; url=http://o.test">`, `<meta http-equiv="refresh" content="0; url=/p/">`},
	{"meta refresh no url", `<meta http-equiv="refresh" content="5">`, `<meta http-equiv="refresh" content="5">`},
	{"meta refresh no time", `<meta http-equiv="refresh" content="url=/x">`, `<meta http-equiv="refresh" content="url=/x">`},
	{"meta refresh bare URL", `<meta http-equiv="refresh" content="0 /x">`, `<meta http-equiv="refresh" content="0 /p/x">`},
	{"meta other", `<meta http-equiv="x" content="0; url=/x">`, `<meta http-equiv="x" content="0; url=/x">`},
	{"meta without http-equiv", `<meta content="0; url=/x">`, `<meta content="0; url=/x">`},
	{"meta refresh with spaces is other", `<meta http-equiv=" refresh" content="0; url=/x">`, `<meta http-equiv=" refresh" content="0; url=/x">`},
	{"meta refresh prefix is other", `<meta http-equiv="refreshx" content="0; url=/x">`, `<meta http-equiv="refreshx" content="0; url=/x">`},
	{"meta unterminated", `<meta content="0; url=/x" http-equiv=refresh`, `<meta content="0; url=/x" http-equiv=refresh`},
	{"meta end tag", `</meta content="0; url=/x" http-equiv=refresh>`, `</meta content="0; url=/x" http-equiv=refresh>`},
	{"value at end", `<a href="/x`, `<a href="/p/x`},
	{"value undecided at end", `<a href="/`, `<a href="/`},
	{"value prefix at end", `<a href="/p`, `<a href="/p`},
	{"lt at end", `<`, `<`},
}

// testLinks are the Links of the small cases.
var testLinks = &Links{Prefix: "/p", Origins: []string{"http://o.test"}, Keep: []string{"/k/"}}

func TestHTMLRewriter(t *testing.T) {
	for _, tt := range htmlTests {
		t.Run(tt.name, func(t *testing.T) {
			checkRewrite(t, "html", testLinks, tt.in, tt.want)
		})
	}
}

// checkRewrite checks that a rewriter of a kind for links turns in into
// want, in one Write and one byte per Write.
func checkRewrite(t *testing.T, kind string, links *Links, in, want string) {
	t.Helper()
	if got := rewriteChunks(t, kind, links, []byte(in)); string(got) != want {
		t.Errorf("one Write:\ngot  %q\nwant %q", got, want)
	}
	chunks := make([][]byte, len(in))
	for i := range chunks {
		chunks[i] = []byte(in[i : i+1])
	}
	if got := rewriteChunks(t, kind, links, chunks...); string(got) != want {
		t.Errorf("one byte per Write:\ngot  %q\nwant %q", got, want)
	}
}

// cssTests are small cases for testLinks.
var cssTests = []struct {
	name, in, want string
}{
	{"empty", "", ""},
	{"url", "a{b:url(/x)}", "a{b:url(/p/x)}"},
	{"url upper", "a{b:URL(/x)}", "a{b:URL(/p/x)}"},
	{"url mixed", "a{b:uRl(/x)}", "a{b:uRl(/p/x)}"},
	{"url double", `a{b:url("/x")}`, `a{b:url("/p/x")}`},
	{"url single", `a{b:url('/x')}`, `a{b:url('/p/x')}`},
	{"url spaces", `a{b:url(  "/x"  )}`, `a{b:url(  "/p/x"  )}`},
	{"url spaces unquoted", "a{b:url(\n/x\t)}", "a{b:url(\n/p/x\t)}"},
	{"url spaces in string", `a{b:url(" /x ")}`, `a{b:url(" /p/x ")}`},
	{"url origin", "a{b:url(http://o.test/x)}", "a{b:url(/p/x)}"},
	{"url origin no path", `a{b:url("http://o.test")}`, `a{b:url("/p/")}`},
	{"url origin protocol-relative", "a{b:url(//o.test)}", "a{b:url(/p/)}"},
	{"url under prefix", "a{b:url(/p/x)}", "a{b:url(/p/x)}"},
	{"url prefix", "a{b:url(/p)}", "a{b:url(/p)}"},
	{"url keep", "a{b:url(/k/x)}", "a{b:url(/k/x)}"},
	{"url relative", "a{b:url(x)}", "a{b:url(x)}"},
	{"url fragment", "a{b:url(#x)}", "a{b:url(#x)}"},
	{"url empty", "a{b:url()}", "a{b:url()}"},
	{"url empty string", `a{b:url("")}`, `a{b:url("")}`},
	{"url data", "a{b:url(data:x/y;base64,AA==)}", "a{b:url(data:x/y;base64,AA==)}"},
	{"url twice", "a{b:url(/x),url(/y)}", "a{b:url(/p/x),url(/p/y)}"},
	{"url at start", "url(/x)", "url(/p/x)"},
	{"url after comment", "a/**/url(/x)", "a/**/url(/p/x)"},
	{"url after string", `"a"url(/x)`, `"a"url(/p/x)`},
	{"not url: longer name", "a{b:xurl(/x) -url(/y) _url(/z) 1url(/w) \\61url(/v)}", "a{b:xurl(/x) -url(/y) _url(/z) 1url(/w) \\61url(/v)}"},
	{"not url: at-keyword", "@url(/x)", "@url(/x)"},
	{"not url: hash", "#url(/x)", "#url(/x)"},
	{"not url: space", "url (/x)", "url (/x)"},
	{"escaped name is url", `u\rl(/x) u\72 l(/y) \75rl(/z) \55 \52 \4C(/w) \url(/v)`, `u\rl(/p/x) u\72 l(/p/y) \75rl(/p/z) \55 \52 \4C(/p/w) \url(/p/v)`},
	{"escaped name is not url", `u\72m(/x) url\(/y) \000075rl(/z)`, `u\72m(/x) url\(/y) \000075rl(/p/z)`},
	{"escaped newline is not an escape", "u\\\nrl(/x) \\\nurl(/y)", "u\\\nrl(/x) \\\nurl(/p/y)"},
	{"hex escape takes a whitespace", "#\\fff url(/x) a\\41\r\nurl(/y) a\\41\n\nurl(/z)", "#\\fff url(/x) a\\41\r\nurl(/y) a\\41\n\nurl(/p/z)"},
	{"hex escape takes a newline in a string", "\"\\41\nurl(/x)\"url(/y)", "\"\\41\nurl(/x)\"url(/p/y)"},
	{"hex escape in URL", `url(/a\41 b) url(/c)`, `url(/p/a\41 b) url(/p/c)`},
	{"url in comment", "/* url(/x) */url(/y)", "/* url(/x) */url(/p/y)"},
	{"comment stars", "/*** url(/x) **/url(/y)", "/*** url(/x) **/url(/p/y)"},
	{"comment unterminated", "/* url(/x)", "/* url(/x)"},
	{"url in string", `a{content:"url(/x)"}`, `a{content:"url(/x)"}`},
	{"url in single string", `a{content:'url(/x)'}`, `a{content:'url(/x)'}`},
	{"escaped quote in string", `"\"url(/x)"url(/y)`, `"\"url(/x)"url(/p/y)`},
	{"escaped newline in string", "\"\\\nurl(/x)\"url(/y)", "\"\\\nurl(/x)\"url(/p/y)"},
	{"escaped CRLF in string", "\"\\\r\nurl(/x)\"url(/y)", "\"\\\r\nurl(/x)\"url(/p/y)"},
	{"newline ends string", "\"a\nurl(/x)", "\"a\nurl(/p/x)"},
	{"escaped quote outside string", `\"url(/x)`, `\"url(/x)`},
	{"escape in URL", `url(/x\)y)url(/z)`, `url(/p/x\)y)url(/p/z)`},
	{"escape first in URL", `url(\2f x)`, `url(\2f x)`},
	{"escape second in URL", `url(/\2f x)`, `url(/\2f x)`},
	{"escape in prefix", `url(/\70 /x)`, `url(/\70 /x)`},
	{"escape in quoted URL", `url("/x\"y")url(/z)`, `url("/p/x\"y")url(/p/z)`},
	{"bad URL", "url(/x y)url(/z)", "url(/p/x y)url(/p/z)"},
	{"bad URL quote", `url(/x"y)url(/z)`, `url(/p/x"y)url(/p/z)`},
	{"bad string URL", "url(\"/x\nurl(/y)", "url(\"/p/x\nurl(/p/y)"},
	{"import double", `@import "/x.css";`, `@import "/p/x.css";`},
	{"import single", `@import '/x.css';`, `@import '/p/x.css';`},
	{"import upper", `@IMPORT "/x.css";`, `@IMPORT "/p/x.css";`},
	{"import no space", `@import"/x.css";`, `@import"/p/x.css";`},
	{"import comment", `@import/* c */"/x.css";`, `@import/* c */"/p/x.css";`},
	{"import url", `@import url(/x.css);`, `@import url(/p/x.css);`},
	{"import url no space", `@importurl(/x.css);`, `@importurl(/x.css);`},
	{"import longer name", `@imports "/x.css";`, `@imports "/x.css";`},
	{"import relative", `@import "x.css";`, `@import "x.css";`},
	{"import origin", `@import "http://o.test/x.css";`, `@import "/p/x.css";`},
	{"import then string", `@import "/x.css" "/y";`, `@import "/p/x.css" "/y";`},
	{"at other", `@media "/x" {}`, `@media "/x" {}`},
	{"string not after import", `a "/x.css"`, `a "/x.css"`},
	{"ampersand is not an escape", "url(/x&y)", "url(/p/x&y)"},
	{"ampersand first", "url(&#47;x)", "url(&#47;x)"},
	{"url at end", "url(/x", "url(/p/x"},
	{"url prefix at end", "url(/p", "url(/p"},
	{"url undecided at end", "url(/", "url(/p/"},
	{"import at end", `@import "/`, `@import "/p/`},
	{"lt is text", "</style>url(/x)", "</style>url(/p/x)"},
}

func TestCSSRewriter(t *testing.T) {
	for _, tt := range cssTests {
		t.Run(tt.name, func(t *testing.T) {
			checkRewrite(t, "css", testLinks, tt.in, tt.want)
		})
	}
}

// TestStyleElementIsCSS checks that the text of a style element is
// rewritten as a style sheet is.
func TestStyleElementIsCSS(t *testing.T) {
	for _, tt := range cssTests {
		if strings.Contains(tt.in, "<") {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			checkRewrite(t, "html", testLinks, "<style>"+tt.in+"</style>", "<style>"+tt.want+"</style>")
		})
	}
}

// TestStyleAttributeIsCSS checks that a style attribute is rewritten as a
// style sheet is, once its quotes are written as character references,
// except where the URL's end decides and is a reference, which is left as
// it is.
func TestStyleAttributeIsCSS(t *testing.T) {
	endDecides := map[string]bool{"url origin no path": true}
	for _, tt := range cssTests {
		if strings.ContainsAny(tt.in, "&") || strings.HasSuffix(tt.name, "at end") {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if endDecides[tt.name] {
				want = tt.in
			}
			checkRewrite(t, "html", testLinks, `<p style="`+strings.ReplaceAll(tt.in, `"`, "&quot;")+`">`,
				`<p style="`+strings.ReplaceAll(want, `"`, "&quot;")+`">`)
			checkRewrite(t, "html", testLinks, `<p style='`+strings.ReplaceAll(tt.in, `'`, "&#39;")+`'>`,
				`<p style='`+strings.ReplaceAll(tt.want, `'`, "&#39;")+`'>`)
		})
	}
}

// TestRewriterAllocs checks that Write does not allocate once the
// rewriters are warm.
func TestRewriterAllocs(t *testing.T) {
	for _, kind := range []string{"html", "css"} {
		page := benchHTML(64 << 10)
		if kind == "css" {
			page = benchCSS(64 << 10)
		}
		r := newRewriter(kind, io.Discard, goldenLinks)
		r.Write(page) // warm up: the meta element's hold buffer
		if n := testing.AllocsPerRun(20, func() {
			for i := 0; i < len(page); i += 4096 {
				r.Write(page[i:min(i+4096, len(page))])
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per page, want 0", kind, n)
		}
	}
}

// TestRewriterHoldBound checks that the rewriters hold back no more than a few
// bytes whatever the input: a data: URL of a megabyte streams through.
func TestRewriterHoldBound(t *testing.T) {
	const size = 1 << 20
	data := "data:image/png;base64," + strings.Repeat("QUJD", size/4)
	long := "/" + strings.Repeat("a", size)
	cases := []struct {
		kind, input string
		bound       int
	}{
		{"html", `<img src="` + data + `">`, 0},
		{"html", `<img src=` + data + `>`, 0},
		{"html", `<img src="` + long + `">`, 0},
		{"html", `<img src="/apps/crm` + strings.Repeat("\t", size) + `">`, 0},
		{"html", `<img src="http://10.0.0.5:` + strings.Repeat("0", size) + `8080/">`, 0},
		{"html", `<img src="/` + strings.Repeat("\n", size) + `/x">`, 0},
		{"html", `<img src="` + strings.Repeat(" ", size) + `/x">`, 0},
		{"html", `<img srcset="` + data + ` 1x, ` + long + ` 2x">`, 0},
		{"html", `<img srcset="/x ` + strings.Repeat("(", size) + `">`, 0},
		{"html", `<p style="background: url(` + data + `)">`, 0},
		{"html", `<p style="background: url('` + long + `')">`, 0},
		{"html", `<p style="` + strings.Repeat("&amp;", size/5) + `">`, 0},
		{"html", `<style>a { background: url(` + data + `) }</style>`, 0},
		{"html", `<style>` + strings.Repeat("</styl", size/6) + `</style>`, len("</styl")},
		{"html", `<meta content="0; url=/` + strings.Repeat("x", size) + `" http-equiv=refresh>`, maxMetaHold},
		{"html", `<meta content="0; url=/x" ` + strings.Repeat("a=b ", size/4) + `http-equiv=refresh>`, maxMetaHold},
		{"html", `<script>` + strings.Repeat("<!--<script>", size/12) + `</script>`, 0},
		{"html", `<!--` + strings.Repeat("<a href='/x'>", size/13), 0},
		{"html", `<a ` + strings.Repeat("href", size/4) + `="/x">`, 0},
		{"html", `<` + strings.Repeat("meta", size/4) + ` content="0;url=/x" http-equiv=refresh>`, 0},
		{"css", `a { background: url(` + data + `) }`, 0},
		{"css", `a { background: url("` + long + `") }`, 0},
		{"css", `@import "` + long + `";`, 0},
		{"css", `/*` + strings.Repeat("url(/x)", size/7), 0},
	}
	for _, c := range cases {
		var out countWriter
		r := newRewriter(c.kind, &out, goldenLinks)
		bound := goldenLinks.window() + c.bound
		for i := 0; i < len(c.input); i += 1000 {
			chunk := c.input[i:min(i+1000, len(c.input))]
			r.Write([]byte(chunk))
			if n := r.held(); n > bound {
				t.Fatalf("%s %.40q…: holding %d bytes after %d, more than %d", c.kind, c.input, n, i+len(chunk), bound)
			}
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if out.n < len(c.input) {
			t.Errorf("%s %.40q…: wrote %d bytes of %d", c.kind, c.input, out.n, len(c.input))
		}
	}
}

// countWriter counts the bytes written to it.
type countWriter struct{ n int }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}

// TestFlushWritesAllButHeld checks that after every Write, all the
// rewriters have read has been written, rewritten, except what they hold
// back.
func TestFlushWritesAllButHeld(t *testing.T) {
	links := &Links{Prefix: "/\x00P", Keep: goldenLinks.Keep}
	for _, gc := range linksCases(t) {
		input, err := os.ReadFile(gc.input)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		r := newRewriter(gc.kind, &out, links)
		for i := range input {
			r.Write(input[i : i+1])
			if err := r.Flush(); err != nil {
				t.Fatal(err)
			}
			checkPrefixOf(t, input[:i+1], out.Bytes(), []byte(links.Prefix), r.held())
		}
	}
}

// checkPrefixOf checks that out, without its prefixes, is all of input
// but its last held bytes.
func checkPrefixOf(t testing.TB, input, out, prefix []byte, held int) {
	t.Helper()
	back := bytes.ReplaceAll(out, prefix, nil)
	if len(back)+held != len(input) || !bytes.HasPrefix(input, back) {
		t.Fatalf("after %q: wrote %q and holds %d bytes", input, out, held)
	}
}

// errLinksWriter fails every Write.
type errLinksWriter struct{}

var errLinksBroken = errors.New("broken pipe")

func (errLinksWriter) Write([]byte) (int, error) { return 0, errLinksBroken }

// TestRewriterWriteError checks that the underlying writer's error shows
// at the Write that meets it, which a Write of more than the output
// buffer does, or else at the next Flush; and then at every call.
func TestRewriterWriteError(t *testing.T) {
	for _, kind := range []string{"html", "css"} {
		for _, input := range []string{`<a href="/x">`, "x", strings.Repeat("x", 5000), strings.Repeat("x", outBufSize+1)} {
			r := newRewriter(kind, errLinksWriter{}, goldenLinks)
			_, err := io.WriteString(r, input)
			if len(input) > outBufSize && !errors.Is(err, errLinksBroken) {
				t.Errorf("%s: Write(%.20q) error = %v, want %v", kind, input, err, errLinksBroken)
			}
			if err == nil {
				if err := r.Flush(); !errors.Is(err, errLinksBroken) {
					t.Errorf("%s: Flush after Write(%.20q) error = %v, want %v", kind, input, err, errLinksBroken)
				}
			}
			if _, err := io.WriteString(r, "more"); !errors.Is(err, errLinksBroken) {
				t.Errorf("%s: Write after error = %v, want %v", kind, err, errLinksBroken)
			}
			if err := r.Flush(); !errors.Is(err, errLinksBroken) {
				t.Errorf("%s: Flush after error = %v, want %v", kind, err, errLinksBroken)
			}
			if err := r.Close(); !errors.Is(err, errLinksBroken) {
				t.Errorf("%s: Close after error = %v, want %v", kind, err, errLinksBroken)
			}
		}
	}
}

// TestChainedWithInjector checks the chain the gateway builds: upstream
// body, HTMLRewriter, Injector, client.
func TestChainedWithInjector(t *testing.T) {
	var out bytes.Buffer
	in := NewInjector(&out, []byte(goldenTag))
	r := NewHTMLRewriter(in, goldenLinks)
	io.WriteString(r, `<!doctype html><html><head><link href="/a.css"></head><body><a href="/x">x</a></body></html>`)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	want := `<!doctype html><html><head>` + goldenTag + `<link href="/apps/crm/a.css"></head><body><a href="/apps/crm/x">x</a></body></html>`
	if got := out.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestBenchDocumentsInChunks feeds the benchmark documents to the rewriters
// in chunks of every size from 1 byte to 17, and of a few larger sizes, and
// checks that the output is the same as in one Write, with the rewriters
// holding back no more than they may after every chunk.
func TestBenchDocumentsInChunks(t *testing.T) {
	sizes := []int{100, 1000, 4096, 32 << 10}
	for n := 17; n >= 1; n-- {
		sizes = append([]int{n}, sizes...)
	}
	for _, kind := range []string{"html", "css"} {
		doc := benchHTML(64 << 10)
		if kind == "css" {
			doc = benchCSS(64 << 10)
		}
		for _, links := range []*Links{goldenLinks, testLinks, fuzzOriginLinks} {
			want := rewriteChunks(t, kind, links, doc)
			for _, size := range sizes {
				var chunks [][]byte
				for i := 0; i < len(doc); i += size {
					chunks = append(chunks, doc[i:min(i+size, len(doc))])
				}
				if got := rewriteChunks(t, kind, links, chunks...); !bytes.Equal(got, want) {
					t.Fatalf("%s, links %+v, in chunks of %d bytes: output differs from one Write's", kind, *links, size)
				}
			}
		}
	}
}

// TestRewritersShareNoBuffer runs every golden case in several goroutines
// at once, each writing in pieces of its own sizes: rewriters take their output
// buffers from a pool for each Write, and one still writing into a buffer
// that another has been given would mix their documents.
func TestRewritersShareNoBuffer(t *testing.T) {
	cases := linksCases(t)
	want := make([][]byte, len(cases))
	inputs := make([][]byte, len(cases))
	for i, gc := range cases {
		var err error
		if inputs[i], err = os.ReadFile(gc.input); err != nil {
			t.Fatal(err)
		}
		if want[i], err = os.ReadFile(gc.golden); err != nil {
			t.Fatal(err)
		}
	}
	for g := range 8 {
		t.Run(fmt.Sprint(g), func(t *testing.T) {
			t.Parallel()
			for round := range 20 {
				size := 1 + (g*7+round*13)%97
				for i, gc := range cases {
					var chunks [][]byte
					for in := inputs[i]; len(in) > 0; in = in[min(size, len(in)):] {
						chunks = append(chunks, in[:min(size, len(in))])
					}
					if got := rewriteChunks(t, gc.kind, goldenLinks, chunks...); !bytes.Equal(got, want[i]) {
						t.Fatalf("%s.%s in pieces of %d: output differs from %s:\n%s", gc.name, gc.kind, size, gc.golden, got)
					}
				}
			}
		})
	}
}
