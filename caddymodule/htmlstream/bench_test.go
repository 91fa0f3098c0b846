package htmlstream

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// benchPage returns a realistic HTML page of about size bytes: a head with
// meta and link elements, then paragraphs and tables.
func benchPage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	for i := range 8 {
		fmt.Fprintf(&b, "<link rel=\"stylesheet\" href=\"/static/css/part%d.css?v=1a2b3c\">\n", i)
	}
	b.WriteString("<title>Tickets — CRM</title>\n</head>\n<body>\n<main class=\"container\">\n")
	for i := 0; b.Len() < size; i++ {
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
	b.WriteString("</main>\n<script src=\"/static/js/app.js\" defer></script>\n</body>\n</html>\n")
	return b.Bytes()
}

// BenchmarkInjector streams a 1 MB page through an Injector in 32 KB
// writes; one op is one response. It also reports the allocations per
// Write.
func BenchmarkInjector(b *testing.B) {
	const chunk = 32 << 10
	page := benchPage(1 << 20)
	tag := []byte(`<script src="/apps/_bridge/client.js?v=bench" data-app="crm"></script>`)
	writes := (len(page) + chunk - 1) / chunk
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		in := NewInjector(io.Discard, tag)
		for p := page; len(p) > 0; {
			n := min(chunk, len(p))
			in.Write(p[:n])
			p = p[n:]
		}
		in.Close()
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N*writes), "allocs/write")
}
