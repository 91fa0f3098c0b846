package htmlstream

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/inject with the current output")

// goldenTag is the tag the golden files expect.
const goldenTag = `<script src="/apps/_bridge/client.js?v=test" data-app="crm"></script>`

// goldenDir holds the golden cases, shared with the rest of the repository.
var goldenDir = filepath.Join("..", "..", "testdata", "inject")

// goldenInputs returns the paths of the golden inputs.
func goldenInputs(tb testing.TB) []string {
	tb.Helper()
	all, err := filepath.Glob(filepath.Join(goldenDir, "*.html"))
	if err != nil {
		tb.Fatal(err)
	}
	var inputs []string
	for _, file := range all {
		if !strings.HasSuffix(file, ".golden.html") {
			inputs = append(inputs, file)
		}
	}
	if len(inputs) == 0 {
		tb.Fatal("no golden inputs found")
	}
	return inputs
}

// writeChunks writes chunks to an Injector for tag, closes it and returns
// its output. It fails tb on any error.
func writeChunks(tb testing.TB, tag string, chunks ...[]byte) []byte {
	tb.Helper()
	var out bytes.Buffer
	in := NewInjector(&out, []byte(tag))
	for _, c := range chunks {
		if n, err := in.Write(c); n != len(c) || err != nil {
			tb.Fatalf("Write(%q) = %d, %v; want %d, nil", c, n, err, len(c))
		}
		if in.n > maxHold {
			tb.Fatalf("holding %d bytes, more than %d", in.n, maxHold)
		}
	}
	if err := in.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
	return out.Bytes()
}

// copyFrom copies r to an Injector for tag, closes it and returns its
// output.
func copyFrom(tb testing.TB, tag string, r io.Reader) []byte {
	tb.Helper()
	var out bytes.Buffer
	in := NewInjector(&out, []byte(tag))
	if _, err := io.Copy(in, r); err != nil {
		tb.Fatalf("Copy: %v", err)
	}
	if err := in.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
	return out.Bytes()
}

func TestGolden(t *testing.T) {
	for _, file := range goldenInputs(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".html")
		t.Run(name, func(t *testing.T) {
			input, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := writeChunks(t, goldenTag, input)
			goldenFile := filepath.Join(goldenDir, name+".golden.html")
			if *update {
				if err := os.WriteFile(goldenFile, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(goldenFile)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("one Write: output differs from %s\n--- got\n%s\n--- want\n%s", goldenFile, got, want)
			}
			if got := copyFrom(t, goldenTag, iotest.OneByteReader(bytes.NewReader(input))); !bytes.Equal(got, want) {
				t.Errorf("one byte per Write: got\n%s", got)
			}
			if got := copyFrom(t, goldenTag, iotest.HalfReader(bytes.NewReader(input))); !bytes.Equal(got, want) {
				t.Errorf("half of each read per Write: got\n%s", got)
			}
			for i := range len(input) + 1 {
				if got := writeChunks(t, goldenTag, input[:i], input[i:]); !bytes.Equal(got, want) {
					t.Errorf("split at %d: got\n%s", i, got)
				}
			}
		})
	}
}

// injectTests are small cases; @ stands for the tag.
var injectTests = []struct {
	name, in, want string
}{
	{"empty", "", ""},
	{"text", "x", "@x"},
	{"whitespace", " \t\r\n\f", " \t\r\n\f@"},
	{"head", "<head>x", "<head>@x"},
	{"head upper", "<HEAD>", "<HEAD>@"},
	{"head mixed", "<hEaD>", "<hEaD>@"},
	{"UTF-16LE byte order mark", "\xFF\xFE<\x00h\x00", "\xFF\xFE<\x00h\x00"},
	{"UTF-16BE byte order mark", "\xFE\xFF\x00<\x00h", "\xFE\xFF\x00<\x00h"},
	{"UTF-16 byte order mark alone", "\xFE\xFF", "\xFE\xFF"},
	{"half a UTF-16 byte order mark", "\xFE<head>", "@\xFE<head>"},
	{"FF FF is not a byte order mark", "\xFF\xFF", "@\xFF\xFF"},
	{"head newline", "<head\n>", "<head\n>@"},
	{"head self-closing", "<head/>", "<head/>@"},
	{"head self-closing attribute", "<head/a=\">\">x", "<head/a=\">\">@x"},
	{"head at eof", "<head", "<head@"},
	{"head attributes at eof", "<head a=\">", "<head a=\">@"},
	{"lt at eof", "<", "<@"},
	{"html then head", "<html><head>", "<html><head>@"},
	{"html twice", "<html><html lang=en><head>", "<html><html lang=en><head>@"},
	{"html then text", "<html>x", "<html>@x"},
	{"html at eof", "<html", "<html@"},
	{"html quote in name", "<html a\"b>x\">", "<html a\"b>@x\">"},
	{"html double quoted", "<html a=\">\"><head>", "<html a=\">\"><head>@"},
	{"html single quoted", "<html a='>'><head>", "<html a='>'><head>@"},
	{"html quotes mixed", "<html a='\">' b=\"'>\"><head>", "<html a='\">' b=\"'>\"><head>@"},
	{"html spaced value", "<html a = \">\" ><head>", "<html a = \">\" ><head>@"},
	{"html unquoted", "<html a=b>c><head>", "<html a=b>@c><head>"},
	{"html unquoted quote", "<html a=b\">\"><head>", "<html a=b\">@\"><head>"},
	{"html empty value", "<html a=><head>", "<html a=><head>@"},
	{"html equals first", "<html =\">\"><head>", "<html =\">@\"><head>"},
	{"html attribute after quoted", "<html a=\"x\"b=\">\"><head>", "<html a=\"x\"b=\">\"><head>@"},
	{"html slash before equals", "<html a/=\">\"><head>", "<html a/=\">@\"><head>"},
	{"html slash attribute", "<html/a=\">\"><head>", "<html/a=\">\"><head>@"},
	{"header", "<header>", "@<header>"},
	{"heads", "<heads>", "@<heads>"},
	{"hea", "<hea>", "@<hea>"},
	{"htmlx", "<htmlx>", "@<htmlx>"},
	{"html-x", "<html-x><head>", "@<html-x><head>"},
	{"h1", "<h1>", "@<h1>"},
	{"body", "<body><head>", "@<body><head>"},
	{"meta", "<meta charset=utf-8><head>", "@<meta charset=utf-8><head>"},
	{"script", "<script>'<head>'</script>", "@<script>'<head>'</script>"},
	{"end tag", "</head><head>", "@</head><head>"},
	{"empty tag", "<><head>", "@<><head>"},
	{"lt space", "< head>", "@< head>"},
	{"lt digit", "<3", "@<3"},
	{"comment", "<!-- <head> -->x", "<!-- <head> -->@x"},
	{"comment dashes", "<!-- a -- b --- c ->-->x", "<!-- a -- b --- c ->-->@x"},
	{"comment empty", "<!---->x", "<!---->@x"},
	{"comment three dashes", "<!----->x", "<!----->@x"},
	{"comment abrupt", "<!-->x", "<!-->@x"},
	{"comment abrupt dash", "<!--->x", "<!--->@x"},
	{"comment bang", "<!-- a --!>x", "<!-- a --!>@x"},
	{"comment bang dash", "<!-- a --!-->x", "<!-- a --!-->@x"},
	{"comment bang text", "<!-- --!x -->y", "<!-- --!x -->@y"},
	{"comment nested", "<!-- <!-- -->x", "<!-- <!-- -->@x"},
	{"comment unterminated", "<!-- <head>", "<!-- <head>@"},
	{"bogus", "<!x>y", "<!x>@y"},
	{"bogus dash", "<!-x>y", "<!-x>@y"},
	{"bogus dash gt", "<!->y", "<!->@y"},
	{"bogus empty", "<!>y", "<!>@y"},
	{"doctype", "<!DOCTYPE html><head>", "<!DOCTYPE html><head>@"},
	{"doctype gt in identifier", "<!DOCTYPE html PUBLIC \"a>b\">", "<!DOCTYPE html PUBLIC \"a>@b\">"},
	{"processing instruction", "<?xml version=\"1.0\"?><head>", "<?xml version=\"1.0\"?><head>@"},
	{"bom", "\xEF\xBB\xBF<head>", "\xEF\xBB\xBF<head>@"},
	{"bom only", "\xEF\xBB\xBF", "\xEF\xBB\xBF@"},
	{"bom partial", "\xEF\xBB", "\xEF\xBB@"},
	{"bom broken", "\xEF\xBBx", "@\xEF\xBBx"},
	{"bom broken early", "\xEFx", "@\xEFx"},
	{"bom not at start", " \xEF\xBB\xBF", " @\xEF\xBB\xBF"},
	{"bom twice", "\xEF\xBB\xBF\xEF\xBB\xBF", "\xEF\xBB\xBF@\xEF\xBB\xBF"},
	{"nul", "\x00<head>", "@\x00<head>"},
	{"after injection", "<head><head>", "<head>@<head>"},
}

func TestInjector(t *testing.T) {
	for _, tt := range injectTests {
		t.Run(tt.name, func(t *testing.T) {
			want := strings.ReplaceAll(tt.want, "@", "[tag]")
			if got := writeChunks(t, "[tag]", []byte(tt.in)); string(got) != want {
				t.Errorf("one Write: got %q, want %q", got, want)
			}
			chunks := make([][]byte, len(tt.in))
			for i := range chunks {
				chunks[i] = []byte(tt.in[i : i+1])
			}
			if got := writeChunks(t, "[tag]", chunks...); string(got) != want {
				t.Errorf("one byte per Write: got %q, want %q", got, want)
			}
		})
	}
}

func TestInjected(t *testing.T) {
	var out bytes.Buffer
	in := NewInjector(&out, []byte("T"))
	io.WriteString(in, "<!doctype html><hea")
	if in.Injected() {
		t.Fatal("Injected before the head start tag is complete")
	}
	io.WriteString(in, "d>")
	if !in.Injected() {
		t.Fatal("not Injected after the head start tag")
	}
	if got := out.String(); got != "<!doctype html><head>T" {
		t.Fatalf("output %q", got)
	}

	in = NewInjector(&out, []byte("T"))
	if err := in.Close(); err != nil || in.Injected() {
		t.Fatalf("empty document: Close() = %v, Injected() = %t; want nil, false", err, in.Injected())
	}
}

// TestPassThroughAllocs checks that Write does not allocate once the tag is
// in.
func TestPassThroughAllocs(t *testing.T) {
	in := NewInjector(io.Discard, []byte(goldenTag))
	io.WriteString(in, "<!doctype html><html><head>")
	chunk := bytes.Repeat([]byte("<p>Hello, <b>world</b>.</p>\n"), 1000)
	if n := testing.AllocsPerRun(100, func() { in.Write(chunk) }); n != 0 {
		t.Errorf("pass-through Write: %v allocations, want 0", n)
	}
}

// TestHoldBound checks that an Injector never holds back more than maxHold
// bytes and that everything else it has read has been written.
func TestHoldBound(t *testing.T) {
	const size = 1 << 20
	inputs := []string{
		"<" + strings.Repeat("h", size),
		"<" + strings.Repeat("a", size),
		"<head" + strings.Repeat("e", size),
		"<html" + strings.Repeat("l", size),
		"<html " + strings.Repeat("a", size),
		"<html a=\"" + strings.Repeat(">", size),
		"<!--" + strings.Repeat("<head", size/5),
		"<!" + strings.Repeat("<", size),
		strings.Repeat(" ", size),
		"\xEF\xBB",
	}
	for _, input := range inputs {
		var out bytes.Buffer
		in := NewInjector(&out, []byte("T"))
		for i := range len(input) {
			in.Write([]byte{input[i]})
			if in.n > maxHold {
				t.Fatalf("%.20q…: holding %d bytes after %d, more than %d", input, in.n, i+1, maxHold)
			}
			if !in.Injected() && out.Len()+in.n != i+1 {
				t.Fatalf("%.20q…: wrote %d bytes and holds %d after reading %d", input, out.Len(), in.n, i+1)
			}
		}
	}
}

// TestFlush checks that after Flush everything written so far has reached
// the underlying writer, except an undecided byte order mark or tag start.
func TestFlush(t *testing.T) {
	for _, file := range goldenInputs(t) {
		input, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i := range len(input) + 1 {
			var out bytes.Buffer
			in := NewInjector(&out, []byte(goldenTag))
			in.Write(input[:i])
			if err := in.Flush(); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			checkFlushed(t, input[:i], out.Bytes(), []byte(goldenTag), in.Injected())
		}
	}
}

// checkFlushed checks the output of an Injector that has read input and
// been flushed.
func checkFlushed(t *testing.T, input, out, tag []byte, injected bool) {
	t.Helper()
	if injected {
		if !isInjected(input, out, tag) {
			t.Fatalf("after Flush of %q: wrote %q, want the input with the tag inserted", input, out)
		}
		return
	}
	if !bytes.HasPrefix(input, out) {
		t.Fatalf("after Flush of %q: wrote %q, not a prefix of the input", input, out)
	}
	held := input[len(out):]
	undecided := len(held) == 0 ||
		held[0] == '<' && len(held) <= maxHold ||
		len(out) == 0 && len(held) < 3 && bytes.HasPrefix([]byte("\xEF\xBB\xBF"), held) ||
		len(out) == 0 && len(held) == 1 && (held[0] == 0xFE || held[0] == 0xFF)
	if !undecided {
		t.Fatalf("after Flush of %q: holds %q, not an undecided tag start", input, held)
	}
}

// isInjected reports whether out is input with tag inserted once, and tag
// occurs in out once more than in input.
func isInjected(input, out, tag []byte) bool {
	if len(out) != len(input)+len(tag) || bytes.Count(out, tag) != bytes.Count(input, tag)+1 {
		return false
	}
	for i := 0; i <= len(input); i++ {
		if bytes.HasPrefix(out[i:], tag) && bytes.Equal(out[i+len(tag):], input[i:]) {
			return true
		}
		if i == len(input) || out[i] != input[i] {
			break
		}
	}
	return false
}

// errWriter fails every Write.
type errWriter struct{}

var errBroken = errors.New("broken pipe")

func (errWriter) Write([]byte) (int, error) { return 0, errBroken }

func TestWriteError(t *testing.T) {
	for _, input := range []string{"<head>", "<!doctype html>", "x"} {
		in := NewInjector(errWriter{}, []byte("T"))
		if _, err := io.WriteString(in, input); !errors.Is(err, errBroken) {
			t.Errorf("Write(%q) error = %v, want %v", input, err, errBroken)
		}
		if _, err := io.WriteString(in, "more"); !errors.Is(err, errBroken) {
			t.Errorf("Write after error = %v, want %v", err, errBroken)
		}
		if err := in.Flush(); !errors.Is(err, errBroken) {
			t.Errorf("Flush after error = %v, want %v", err, errBroken)
		}
		if err := in.Close(); !errors.Is(err, errBroken) {
			t.Errorf("Close after error = %v, want %v", err, errBroken)
		}
	}
}

// TestAddsTag checks that AddsTag tells the length of what an Injector
// writes, for every table and golden input and for each of their first
// bytes, and that it does not guess when the start cannot tell.
func TestAddsTag(t *testing.T) {
	inputs := [][]byte{nil, {0xFE}, {0xFF}, {0xFE, 0xFF}, {0xFF, 0xFE, 'a'}, {0xFE, 'a'}, {0xEF, 0xBB, 0xBF}, []byte("\xFF<p>")}
	for _, tt := range injectTests {
		inputs = append(inputs, []byte(tt.in))
	}
	for _, file := range goldenInputs(t) {
		input, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, input)
	}
	for _, input := range inputs {
		var out bytes.Buffer
		in := NewInjector(&out, []byte(goldenTag))
		in.Write(input)
		if err := in.Close(); err != nil {
			t.Fatal(err)
		}
		checkLength(t, input, out.Bytes(), len(goldenTag))
		full, _ := AddsTag(input[:min(len(input), 2)], int64(len(input)))
		for n := range min(len(input), 2) {
			if adds, ok := AddsTag(input[:n], int64(len(input))); ok && adds != full {
				t.Errorf("AddsTag(%q, %d) = %t from too few bytes; the document says %t", input[:n], len(input), adds, full)
			}
		}
	}
	if _, ok := AddsTag(nil, 10); ok {
		t.Error("AddsTag decided without any byte of a non-empty document")
	}
}

// checkLength checks that the output of an Injector that has read the
// whole input has the length AddsTag gives, from the input's first two
// bytes, or the input itself.
func checkLength(t *testing.T, input, out []byte, tagLen int) {
	t.Helper()
	adds, ok := AddsTag(input[:min(len(input), 2)], int64(len(input)))
	if !ok {
		t.Fatalf("AddsTag(%q, %d): undecided", input[:min(len(input), 2)], len(input))
	}
	want := len(input)
	if adds {
		want += tagLen
	}
	if len(out) != want {
		t.Fatalf("input %q: wrote %d bytes; AddsTag says %d", input, len(out), want)
	}
}

// countingWriter counts the writes it gets.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// TestFewWrites checks that a document read in one write reaches the
// underlying writer in one write when it is small, and otherwise in two:
// the prologue with the tag, and the rest.
func TestFewWrites(t *testing.T) {
	inputs := []string{
		"<!doctype html>\n<!-- c --><html lang=\"en\"><head><title>t</title></head><body>x</body></html>",
		"<!DOCTYPE html><html><body>x</body></html>",
		"\xEF\xBB\xBF<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\"><head></head></html>",
	}
	for _, file := range goldenInputs(t) {
		input, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(input))
	}
	for _, input := range inputs {
		var out countingWriter
		in := NewInjector(&out, []byte(goldenTag))
		in.Write([]byte(input))
		if in.Injected() {
			want := 2
			if len(input)+len(goldenTag) <= maxJoin {
				want = 1
			}
			if out.writes != want {
				t.Errorf("%.40q… (%d bytes): %d writes; want %d", input, len(input), out.writes, want)
			}
			continue
		}
		// The tag's place is the end: Close writes it with what is held.
		before := out.writes
		in.Close()
		if out.writes-before > 1 || out.writes > 2 {
			t.Errorf("%.40q…: %d writes, %d of them by Close; want at most 2, 1", input, out.writes, out.writes-before)
		}
	}
}

// TestJoinSizes checks documents around the size of the buffer that joins
// the prologue, the tag and, when it fits, the rest into one write: the
// output is the same whether they are joined or not, and the writes are as
// few as the buffer allows.
func TestJoinSizes(t *testing.T) {
	tag := goldenTag
	for _, lead := range []int{maxJoin - 1, maxJoin, maxJoin + 1, 2 * maxJoin} {
		// lead bytes of prologue and tag: a comment, then <head>
		prologue := "<!--" + strings.Repeat("x", lead-len(tag)-len("<!----><head>")) + "--><head>"
		for _, size := range []int{0, 1, maxJoin - lead, maxJoin - lead + 1, 3 * maxJoin} {
			if size < 0 {
				continue
			}
			rest := strings.Repeat("y", size)
			var out countingWriter
			in := NewInjector(&out, []byte(tag))
			if _, err := io.WriteString(in, prologue+rest); err != nil {
				t.Fatal(err)
			}
			if got, want := out.String(), prologue+tag+rest; got != want {
				t.Fatalf("prologue and tag %d bytes, rest %d: output differs", lead, size)
			}
			want := 1
			switch {
			case lead > maxJoin && size > 0:
				want = 3
			case lead > maxJoin, lead+size > maxJoin:
				want = 2
			}
			if out.writes != want {
				t.Errorf("prologue and tag %d bytes, rest %d: %d writes, want %d", lead, size, out.writes, want)
			}
		}
	}
}
