package caddymodule

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// legacyPage and legacyCSS are what a tool that believes it owns "/" serves.
const (
	legacyPage = `<!doctype html><html><head><link rel="stylesheet" href="/static/app.css"></head>` +
		`<body><a href="/login">in</a> <a href="https://example.org/x">out</a> <img src="logo.png"></body></html>`
	legacyCSS = `body { background: url(/static/bg.png) } @import "/static/more.css";`
)

// startLinksGateway serves the legacy tool as app `lk` (rewrite_links on)
// and as app `as-is` (off).
func startLinksGateway(t *testing.T) string {
	t.Helper()
	tool := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ct := legacyPage, "text/html; charset=utf-8"
		if strings.HasSuffix(r.URL.Path, ".css") {
			body, ct = legacyCSS, "text/css"
		}
		w.Header().Set("Content-Type", ct)
		if r.URL.Query().Get("enc") == "gzip" {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			io.WriteString(zw, body)
			zw.Close()
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(b.Bytes())
			return
		}
		io.WriteString(w, body)
	}))
	t.Cleanup(tool.Close)
	return startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			hmac_secret %s
		}
		app lk {
			rewrite_links on
			to %[2]s
		}
		app as-is {
			to %[2]s
		}
	}`, testSecret, tool.URL))
}

func TestRewritesLinksOfToolsThatOwnTheRoot(t *testing.T) {
	base := startLinksGateway(t)
	c := agent("agent", 1)
	c.Issuer, c.Audience = "", nil
	tok := token(t, c)
	fetch := func(path string, hdr ...string) string {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.AddCookie(&http.Cookie{Name: "hd_session", Value: tok})
		req.Header.Set("Accept-Encoding", "gzip")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := (&http.Client{}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			if r, err = gzip.NewReader(resp.Body); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := io.ReadAll(r)
		return string(b)
	}
	for _, enc := range []string{"", "gzip"} {
		t.Run("html "+enc, func(t *testing.T) {
			body := fetch("/apps/lk/index.html?enc="+enc, frameRequest...)
			for _, want := range []string{`href="/apps/lk/static/app.css"`, `href="/apps/lk/login"`, `href="https://example.org/x"`, `src="logo.png"`, `data-rewrite-links="true" data-helpdesk-prefix="/apps/lk" data-helpdesk-root="/apps"`} {
				if !strings.Contains(body, want) {
					t.Errorf("missing %s in\n%s", want, body)
				}
			}
		})
		t.Run("css "+enc, func(t *testing.T) {
			if body, want := fetch("/apps/lk/static/app.css?enc="+enc), `body { background: url(/apps/lk/static/bg.png) } @import "/apps/lk/static/more.css";`; body != want {
				t.Errorf("css\n%s\nwant\n%s", body, want)
			}
		})
	}
	t.Run("an HTML fragment fetched by script is rewritten, not injected", func(t *testing.T) {
		body := fetch("/apps/lk/fragment.html", "Sec-Fetch-Dest", "empty", "Accept", "text/html")
		if !strings.Contains(body, `href="/apps/lk/login"`) || strings.Contains(body, "_bridge") {
			t.Errorf("fragment\n%s", body)
		}
	})
	t.Run("apps without rewrite_links are left alone", func(t *testing.T) {
		if body := fetch("/apps/as-is/static/app.css"); body != legacyCSS {
			t.Errorf("css changed: %s", body)
		}
		if body := fetch("/apps/as-is/index.html", frameRequest...); !strings.Contains(body, `href="/static/app.css"`) || strings.Contains(body, "data-rewrite-links") {
			t.Errorf("html changed beyond the shim: %s", body)
		}
	})
}
