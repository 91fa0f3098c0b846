package caddymodule

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// syncBuffer is a bytes.Buffer that the decoding goroutine writes and the
// test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// within fails the test if f does not return within a few seconds: a
// decoder that deadlocks must fail, not hang the suite.
func within(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not return", what)
		return nil
	}
}

// encoder is a streaming compressor whose Flush ends what it has so far in
// a form a decoder can decode whole.
type encoder interface {
	io.WriteCloser
	Flush() error
}

func TestDecoderFlushesInOrderWithTheBytes(t *testing.T) {
	for _, coding := range []string{"gzip", "zstd"} {
		t.Run(coding, func(t *testing.T) {
			var compressed bytes.Buffer
			var enc encoder
			if coding == "gzip" {
				enc = gzip.NewWriter(&compressed)
			} else {
				zw, err := zstd.NewWriter(&compressed)
				if err != nil {
					t.Fatal(err)
				}
				enc = zw
			}
			// writeEncoded compresses s, flushes the encoder, and hands the
			// decoder what came out.
			out := &syncBuffer{}
			var atFlush []string
			d := newDecoder(coding, out, func() error {
				atFlush = append(atFlush, out.String())
				return nil
			})
			writeEncoded := func(s string, end func() error) {
				t.Helper()
				if _, err := io.WriteString(enc, s); err != nil {
					t.Fatal(err)
				}
				if err := end(); err != nil {
					t.Fatal(err)
				}
				if err := within(t, "Write", func() error {
					_, err := d.Write(compressed.Bytes())
					return err
				}); err != nil {
					t.Fatal(err)
				}
				compressed.Reset()
			}

			first := strings.Repeat("<p>first</p>", 500)
			writeEncoded(first, enc.Flush)
			if err := within(t, "Flush", d.Flush); err != nil {
				t.Fatal(err)
			}
			if len(atFlush) != 1 || atFlush[0] != first {
				t.Fatalf("at the flush the stages had %d bytes; want the %d flushed", len(strings.Join(atFlush, "")), len(first))
			}
			writeEncoded("<p>second</p>", enc.Close)
			if err := within(t, "Close", d.Close); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != first+"<p>second</p>" {
				t.Errorf("decoded %d bytes ending %q", len(got), got[max(0, len(got)-20):])
			}
			if _, err := d.Write([]byte("more")); !errors.Is(err, io.ErrClosedPipe) {
				t.Errorf("Write after Close: %v; want io.ErrClosedPipe", err)
			}
		})
	}
}

func TestDecoderReportsAFlushThatFails(t *testing.T) {
	broken := errors.New("client gone")
	d := newDecoder("gzip", io.Discard, func() error { return broken })
	if err := within(t, "Flush", d.Flush); !errors.Is(err, broken) {
		t.Errorf("Flush: %v; want the client's error", err)
	}
	_ = within(t, "Close", d.Close)
}

// A body that is not what it says must fail its writes and its flushes,
// not leave the backend blocked on a decoder that has stopped reading.
func TestDecoderStopsOnACorruptBody(t *testing.T) {
	for _, coding := range []string{"gzip", "zstd"} {
		t.Run(coding, func(t *testing.T) {
			d := newDecoder(coding, io.Discard, func() error { return nil })
			junk := bytes.Repeat([]byte("not compressed at all "), 4096)
			err := within(t, "Write", func() error {
				// The first write may be read whole before the decoder
				// finds it wrong; the next one cannot be.
				for range 2 {
					if _, err := d.Write(junk); err != nil {
						return err
					}
				}
				return nil
			})
			if err == nil || !strings.Contains(err.Error(), coding) {
				t.Errorf("Write: %v; want a %s error", err, coding)
			}
			if err := within(t, "Flush", d.Flush); err == nil {
				t.Error("Flush after the decoding failed: no error")
			}
			if err := within(t, "Close", d.Close); err == nil {
				t.Error("Close after the decoding failed: no error")
			}
		})
	}
}
