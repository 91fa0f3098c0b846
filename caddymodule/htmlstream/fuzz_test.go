package htmlstream

import (
	"bytes"
	"os"
	"testing"
)

// fuzzTag is the tag FuzzInjector inserts. It contains no whitespace, "<",
// ">" or byte order mark byte, so it cannot straddle the place where it is
// inserted, and no prefix of it is also a suffix, so its occurrences cannot
// overlap: inserting it adds exactly one occurrence, whatever the input.
const fuzzTag = "\x00fuzz-injected-tag\x01"

func FuzzInjector(f *testing.F) {
	for _, file := range goldenInputs(f) {
		input, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(input, uint16(len(input)/3), uint16(len(input)/2))
	}
	for _, tt := range injectTests {
		f.Add([]byte(tt.in), uint16(1), uint16(2))
	}
	f.Fuzz(func(t *testing.T, input []byte, split1, split2 uint16) {
		i, j := int(split1)%(len(input)+1), int(split2)%(len(input)+1)
		i, j = min(i, j), max(i, j)

		var out bytes.Buffer
		in := NewInjector(&out, []byte(fuzzTag))
		for k, chunk := range [][]byte{input[:i], input[i:j], input[j:]} {
			if n, err := in.Write(chunk); n != len(chunk) || err != nil {
				t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(chunk))
			}
			if in.n > maxHold {
				t.Fatalf("holding %d bytes, more than %d", in.n, maxHold)
			}
			if err := in.Flush(); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			written := input[:[]int{i, j, len(input)}[k]]
			checkFlushed(t, written, out.Bytes(), []byte(fuzzTag), in.Injected())
		}
		if err := in.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		got := out.Bytes()
		checkLength(t, input, got, len(fuzzTag))
		if len(input) == 0 || isUTF16(input) {
			if !bytes.Equal(got, input) || in.Injected() {
				t.Fatalf("input %q: wrote %q, Injected() = %t; want it unchanged", input, got, in.Injected())
			}
			return
		}
		if !in.Injected() || !isInjected(input, got, []byte(fuzzTag)) {
			t.Fatalf("input %q: wrote %q, want the input with the tag inserted once", input, got)
		}
		if whole := writeChunks(t, fuzzTag, input); !bytes.Equal(got, whole) {
			t.Fatalf("input %q: split at %d and %d wrote %q, one Write wrote %q", input, i, j, got, whole)
		}
	})
}

// isUTF16 reports whether input begins with a UTF-16 byte order mark.
func isUTF16(input []byte) bool {
	return bytes.HasPrefix(input, []byte{0xFE, 0xFF}) || bytes.HasPrefix(input, []byte{0xFF, 0xFE})
}
