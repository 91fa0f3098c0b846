package caddymodule

import (
	"net/http"
	"testing"
)

func TestPlanBody(t *testing.T) {
	t.Parallel()
	injecting := &App{shim: []byte("<script></script>")}
	rewriting := &App{AppConfig: AppConfig{RewriteLinks: true}}
	both := &App{AppConfig: AppConfig{RewriteLinks: true}, shim: []byte("<script></script>")}
	plain := &App{}
	html := func(kv ...string) http.Header {
		h := http.Header{"Content-Type": {"text/html; charset=utf-8"}}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	for _, c := range []struct {
		name   string
		app    *App
		doc    bool
		method string
		status int
		hdr    http.Header
		want   bodyPlan
	}{
		{"an app that does neither", plain, true, "GET", 200, html(), bodyPlan{kind: kindHTML, reason: reasonOff}},
		{"a document", injecting, true, "GET", 200, html(), bodyPlan{kind: kindHTML, inject: true, reason: reasonInject}},
		{"a document of known length", injecting, true, "GET", 200, html("Content-Length", "42"),
			bodyPlan{kind: kindHTML, inject: true, keepLength: true, length: 42, reason: reasonInject}},
		{"a gzip document", injecting, true, "GET", 200, html("Content-Encoding", "gzip", "Content-Length", "42"),
			bodyPlan{kind: kindHTML, inject: true, decode: "gzip", reason: reasonInject}},
		{"a brotli document", injecting, true, "GET", 200, html("Content-Encoding", "br"), bodyPlan{kind: kindHTML, reason: reasonCoding}},
		{"a fetch of HTML", injecting, false, "GET", 200, html(), bodyPlan{kind: kindHTML, reason: reasonNotDoc}},
		{"an error page", injecting, true, "GET", 404, html(), bodyPlan{kind: kindHTML, reason: reasonStatus}},
		{"a download", injecting, true, "GET", 200, html("Content-Disposition", "attachment; filename=x.html"), bodyPlan{kind: kindHTML, reason: reasonDownload}},
		{"CSS loaded as a document", injecting, true, "GET", 200, http.Header{"Content-Type": {"text/css"}}, bodyPlan{kind: kindCSS, reason: reasonNotHTML}},
		{"JSON", injecting, true, "GET", 200, http.Header{"Content-Type": {"application/json"}}, bodyPlan{reason: reasonKind}},
		{"UTF-16 HTML", injecting, true, "GET", 200, http.Header{"Content-Type": {"text/html; charset=utf-16"}}, bodyPlan{reason: reasonKind}},
		{"HEAD of a document", injecting, true, "HEAD", 200, html(), bodyPlan{kind: kindHTML, bodiless: true, inject: true, reason: reasonBodiless}},
		{"304 of a document", injecting, true, "GET", 304, html(), bodyPlan{kind: kindHTML, bodiless: true, reason: reasonBodiless}},
		{"206 of a document", injecting, true, "GET", 206, html(), bodyPlan{kind: kindHTML, bodiless: true, inject: true, reason: reasonBodiless}},
		{"CSS with rewrite_links", rewriting, false, "GET", 200, http.Header{"Content-Type": {"text/css"}}, bodyPlan{kind: kindCSS, rewrite: true, reason: reasonRewrite}},
		{"an error page with rewrite_links", rewriting, false, "GET", 404, html(), bodyPlan{kind: kindHTML, rewrite: true, reason: reasonRewrite}},
		{"a zstd document, both", both, true, "GET", 200, html("Content-Encoding", "zstd", "Content-Length", "9"),
			bodyPlan{kind: kindHTML, inject: true, rewrite: true, decode: "zstd", reason: reasonInjectBoth}},
		{"a document of known length, both", both, true, "GET", 200, html("Content-Length", "9"),
			bodyPlan{kind: kindHTML, inject: true, rewrite: true, reason: reasonInjectBoth}},
	} {
		got := planBody(c.app, c.doc, c.method, c.status, c.hdr)
		if got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}
