package caddymodule

import (
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// maxZstdWindow bounds the memory a zstd-encoded app page may make the
// decoder hold; RFC 8878 §3.1.1.1.2 recommends decoders support 8 MiB.
const maxZstdWindow = 8 << 20

// decoder streams a compressed body through the rewriting stages: the
// backend writes compressed bytes, and a goroutine decodes them into the
// first stage, whose last writes to the client. Nothing is buffered beyond
// the decoder's window. A flush goes in order with the bytes: the decoding
// goroutine does it once it has decoded everything written before it and
// waits for more, so what an upstream flushed reaches the client then, not
// with its next bytes.
type decoder struct {
	mu   sync.Mutex
	cond sync.Cond
	// pending is what Write was handed and the decoding has not read yet.
	pending []byte
	// flushOut flushes the stages and the client; flushWanted asks the
	// decoding goroutine for it, and flushDone with flushErr answers.
	flushOut    func() error
	flushWanted bool
	flushDone   bool
	flushErr    error
	// closed is set when the body has ended; ended when the decoding has,
	// with endErr.
	closed bool
	ended  bool
	endErr error
}

// newDecoder starts decoding coding into w; flush flushes w and the client.
func newDecoder(coding string, w io.Writer, flush func() error) *decoder {
	d := &decoder{flushOut: flush}
	d.cond.L = &d.mu
	go func() {
		err := decodeInto(coding, decoderInput{d}, w)
		d.mu.Lock()
		// A decoding that stops early must not leave the backend blocked.
		d.ended, d.endErr = true, err
		d.cond.Broadcast()
		d.mu.Unlock()
	}()
	return d
}

// decodeInto copies the decoded form of r to w.
func decodeInto(coding string, r io.Reader, w io.Writer) error {
	switch coding {
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("reading gzip body: %w", err)
		}
		if _, err := io.Copy(w, zr); err != nil {
			return fmt.Errorf("decoding gzip body: %w", err)
		}
		return zr.Close()
	case "zstd":
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return fmt.Errorf("reading zstd body: %w", err)
		}
		defer zr.Close()
		if _, err := io.Copy(w, zr); err != nil {
			return fmt.Errorf("decoding zstd body: %w", err)
		}
		return nil
	}
	return fmt.Errorf("unsupported content coding %q", coding)
}

// Write hands compressed bytes to the decoding goroutine, and returns once
// it has read them all.
func (d *decoder) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, io.ErrClosedPipe
	}
	d.pending = p
	d.cond.Broadcast()
	for len(d.pending) > 0 && !d.ended {
		d.cond.Wait()
	}
	n := len(p) - len(d.pending)
	d.pending = nil
	if n < len(p) {
		return n, d.endError()
	}
	return n, nil
}

// Flush returns once the decoding goroutine has decoded what was written
// so far and flushed it, through the stages, to the client.
func (d *decoder) Flush() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ended {
		return d.endError()
	}
	d.flushWanted, d.flushDone = true, false
	d.cond.Broadcast()
	for !d.flushDone && !d.ended {
		d.cond.Wait()
	}
	if !d.flushDone {
		return d.endError()
	}
	return d.flushErr
}

// Close ends the compressed body and waits until it is decoded and handed
// to the stages.
func (d *decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	d.cond.Broadcast()
	for !d.ended {
		d.cond.Wait()
	}
	return d.endErr
}

// endError is what a write or flush after the decoding ended returns.
func (d *decoder) endError() error {
	if d.endErr != nil {
		return d.endErr
	}
	return io.ErrClosedPipe
}

// decoderInput is the decoding goroutine's side of a decoder: it reads
// what Write was handed, and does a wanted flush when nothing is left to
// read.
type decoderInput struct{ d *decoder }

func (in decoderInput) Read(p []byte) (int, error) {
	d := in.d
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		if len(d.pending) > 0 {
			n := copy(p, d.pending)
			d.pending = d.pending[n:]
			if len(d.pending) == 0 {
				d.cond.Broadcast()
			}
			return n, nil
		}
		if d.flushWanted {
			d.flushWanted = false
			d.mu.Unlock()
			err := d.flushOut()
			d.mu.Lock()
			d.flushDone, d.flushErr = true, err
			d.cond.Broadcast()
			continue
		}
		if d.closed {
			return 0, io.EOF
		}
		d.cond.Wait()
	}
}

// Interface guards
var (
	_ io.WriteCloser = (*decoder)(nil)
	_ io.Reader      = decoderInput{}
)
