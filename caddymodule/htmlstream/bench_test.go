package htmlstream

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// benchPage returns a realistic HTML page of size bytes: a head with meta
// and link elements, then paragraphs and tables, padded with newlines.
func benchPage(size int) []byte {
	const tail = "</main>\n<script src=\"/static/js/app.js\" defer></script>\n</body>\n</html>\n"
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	for i := range 8 {
		fmt.Fprintf(&b, "<link rel=\"stylesheet\" href=\"/static/css/part%d.css?v=1a2b3c\">\n", i)
	}
	b.WriteString("<title>Tickets — CRM</title>\n</head>\n<body>\n<main class=\"container\">\n")
	for i := 0; b.Len()+2048 < size; i++ {
		fmt.Fprintf(&b, "<p class=\"note\">Ticket #%d was updated by <a href=\"/users/%d\">agent %d</a>; "+
			"the customer replied &amp; the status is now <em>pending</em>.</p>\n", i, i%97, i%97)
		if i%10 == 0 {
			b.WriteString("<table class=\"grid\"><thead><tr><th>Id</th><th>Subject</th><th>State</th></tr></thead><tbody>\n")
			for r := range 10 {
				fmt.Fprintf(&b, "<tr><td>%d</td><td>Printer on floor %d is out of toner</td><td>open</td></tr>\n", i*10+r, r)
			}
			b.WriteString("</tbody></table>\n")
		}
	}
	b.WriteString(tail)
	b.Write(bytes.Repeat([]byte("\n"), size-b.Len()))
	return b.Bytes()
}

// copySink copies every Write into a fixed buffer, as a network connection
// copies into its send buffer.
type copySink struct{ buf [32 << 10]byte }

func (s *copySink) Write(p []byte) (int, error) {
	for n := 0; n < len(p); {
		n += copy(s.buf[:], p[n:])
	}
	return len(p), nil
}

// commentPage returns a page of size bytes that is all one comment, the
// worst case for the Injector: it scans to the end.
func commentPage(size int) []byte {
	line := []byte("Licensed under the Apache License - see LICENSE <head>\n")
	page := append([]byte("<!--\n"), bytes.Repeat(line, (size-5)/len(line))...)
	return append(page, bytes.Repeat([]byte(" "), size-len(page))...)
}

// BenchmarkInjector streams 1 MB pages through Injectors in 32 KB writes;
// one op is one Write, a new Injector starting every 32 writes. The discard
// cases measure the Injector alone, the copy case adds the copy any real
// writer makes, and the comment case scans a page that is all prologue. It
// also reports the allocations per response.
func BenchmarkInjector(b *testing.B) {
	const chunk, writes = 32 << 10, 32
	tag := []byte(`<script src="/apps/_bridge/client.js?v=bench" data-app="crm"></script>`)
	for _, bc := range []struct {
		name string
		page []byte
		w    io.Writer
	}{
		{"page/discard", benchPage(chunk * writes), io.Discard},
		{"page/copy", benchPage(chunk * writes), new(copySink)},
		{"comment/discard", commentPage(chunk * writes), io.Discard},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(chunk)
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var in *Injector
			responses := 0
			for i := 0; b.Loop(); i = (i + 1) % writes {
				if i == 0 {
					if in != nil {
						in.Close()
					}
					in = NewInjector(bc.w, tag)
					responses++
				}
				in.Write(bc.page[i*chunk : (i+1)*chunk])
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(responses), "allocs/response")
		})
	}
}
