package htmlstream

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// benchHTML returns a realistic page of a legacy tool of size bytes: a
// head with a meta refresh, style sheets, a style element and scripts,
// then rows of tickets, each with links, an image with srcset and an
// inline style, padded with newlines. About one byte in forty belongs to
// a URL that is rewritten.
func benchHTML(size int) []byte {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta http-equiv=\"refresh\" content=\"300; url=/session/keepalive\">\n")
	for i := range 6 {
		fmt.Fprintf(&b, "<link rel=\"stylesheet\" href=\"/static/css/part%d.css?v=1a2b3c\">\n", i)
	}
	b.WriteString("<style>\nbody { background: #fff url(/static/img/bg.png) repeat-x; }\n" +
		".logo { background-image: url('/static/img/logo.svg'); }\n/* url(/old.png) */\n</style>\n")
	b.WriteString("<script src=\"/static/js/jquery.min.js\"></script>\n<script>\nvar api = \"/api/v1\";\n" +
		"var row = '<a href=\"/tickets/' + id + '\">';\nif (a < b && c > d) { load(api + \"/tickets\"); }\n</script>\n")
	b.WriteString("<title>Tickets - CRM</title>\n</head>\n<body>\n<main class=\"container\">\n<table class=\"grid\">\n")
	for i := 0; b.Len()+2048 < size; i++ {
		fmt.Fprintf(&b, "<tr class=\"row\" data-id=\"%d\"><td><a href=\"/tickets/%d\" title=\"Open ticket %d\">#%d</a></td>"+
			"<td>Printer on floor %d is out of toner &amp; the spare is missing; the customer replied on Tuesday.</td>"+
			"<td><img src=\"/static/img/state-open.png\" srcset=\"/static/img/state-open.png 1x, /static/img/state-open@2x.png 2x\" alt=\"open\"></td>"+
			"<td style=\"background: url(/static/img/flag.png) no-repeat\"><a href=\"https://example.org/kb/%d\">KB</a> "+
			"<a href=\"mailto:agent%d@example.com\">mail</a> <a href=\"#details-%d\">details</a></td></tr>\n",
			i, i, i, i, i%9, i%97, i%31, i)
		if i%20 == 0 {
			b.WriteString("<!-- a comment with <a href=\"/x\"> in it -->\n<p>Some plain text that describes the " +
				"tickets below in more detail, as legacy tools like to do, with <b>bold</b> and <i>italic</i> words.</p>\n")
		}
	}
	b.WriteString("</table>\n</main>\n<script src=\"/static/js/app.js\" defer></script>\n</body>\n</html>\n")
	b.Write(bytes.Repeat([]byte("\n"), size-b.Len()))
	return b.Bytes()
}

// benchCSS returns a realistic style sheet of size bytes: imports, then
// rules with url() in all forms, comments and strings, padded with
// newlines.
func benchCSS(size int) []byte {
	var b bytes.Buffer
	b.WriteString("@charset \"utf-8\";\n@import \"/static/css/reset.css\";\n@import url(/static/css/grid.css) screen;\n")
	for i := 0; b.Len()+1024 < size; i++ {
		fmt.Fprintf(&b, "/* Section %d: ticket list, see https://example.org/guide#%d */\n"+
			".ticket-%d .status, .ticket-%d .status:hover {\n  margin: 0 auto; padding: 4px 8px;\n"+
			"  background: #f5f5f5 url(/static/img/sprite.png) no-repeat -%dpx 0;\n  font: 12px/1.5 \"Helvetica Neue\", Arial, sans-serif;\n}\n"+
			".ticket-%d .icon { background-image: url('/static/img/icons/%d.svg'), url(\"../img/fallback.png\"); }\n"+
			".ticket-%d:before { content: \"\\201C\"; color: rgba(0, 0, 0, .5); border-radius: 3px; }\n",
			i, i, i, i, i%40*16, i, i%50, i)
	}
	b.Write(bytes.Repeat([]byte("\n"), size-b.Len()))
	return b.Bytes()
}

// linkPage returns a link-dense page of size bytes, like the load
// harness's: a head with six style sheets and a title, then paragraphs
// with two root-relative links each, padded with newlines. About one
// byte in eight belongs to a URL that is rewritten.
func linkPage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	for i := range 6 {
		fmt.Fprintf(&b, "<link rel=\"stylesheet\" href=\"/static/css/part%d.css?v=1a2b3c\">\n", i)
	}
	b.WriteString("<title>Tickets — CRM</title>\n</head>\n<body>\n")
	const tail = "</body>\n</html>\n"
	for i := 0; ; i++ {
		line := fmt.Sprintf("<p class=\"note\">Ticket <a href=\"/tickets/%d\">#%d</a> was updated by "+
			"<a href=\"/users/%d\">agent %d</a>; the status is now <em>pending</em>.</p>\n", i, i, i%97, i%97)
		if b.Len()+len(line)+len(tail) > size {
			break
		}
		b.WriteString(line)
	}
	b.Write(bytes.Repeat([]byte("\n"), size-b.Len()-len(tail)))
	b.WriteString(tail)
	return b.Bytes()
}

// BenchmarkHTMLRewriter streams a 1 MB page through HTMLRewriters in 32 KB
// writes; one op is one Write, a new HTMLRewriter starting every 32 writes.
// The discard case measures the rewriter alone, the copy case adds the
// copy any real writer makes. It also reports the allocations per
// response, those of NewHTMLRewriter.
func BenchmarkHTMLRewriter(b *testing.B) {
	benchRewriter(b, "html", benchHTML)
}

// BenchmarkHTMLRewriterLinks does the same for a 1 MB link-dense page,
// where the cost of tags, attributes and URLs outweighs that of the text
// between them.
func BenchmarkHTMLRewriterLinks(b *testing.B) {
	benchRewriter(b, "html", linkPage)
}

// BenchmarkCSSRewriter does the same for a 1 MB style sheet.
func BenchmarkCSSRewriter(b *testing.B) {
	benchRewriter(b, "css", benchCSS)
}

func benchRewriter(b *testing.B, kind string, input func(int) []byte) {
	const chunk, writes = 32 << 10, 32
	page := input(chunk * writes)
	for _, bc := range []struct {
		name string
		w    io.Writer
	}{
		{"discard", io.Discard},
		{"copy", new(copySink)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(chunk)
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var r rewriter
			responses := 0
			for i := 0; b.Loop(); i = (i + 1) % writes {
				if i == 0 {
					if r != nil {
						r.Close()
					}
					r = newRewriter(kind, bc.w, goldenLinks)
					responses++
				}
				r.Write(page[i*chunk : (i+1)*chunk])
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(responses), "allocs/response")
		})
	}
}
