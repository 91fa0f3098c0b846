package caddymodule

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// contentModified is when the page of startContentGateway last changed.
var contentModified = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// startContentGateway runs the gateway with app `open` (the shim
// injected) and app `links` (links rewritten, no shim) on an upstream that serves testPage with http.ServeContent:
// ETag "v1", Last-Modified contentModified, and ranges and conditional
// requests as net/http answers them. seen returns the headers of the
// upstream's last request.
func startContentGateway(t *testing.T) (base string, seen func() http.Header) {
	t.Helper()
	var mu sync.Mutex
	var last http.Header
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = r.Header.Clone()
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "page.html", contentModified, strings.NewReader(testPage))
	}))
	t.Cleanup(up.Close)
	base = startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			hmac_secret %s
		}
		app open {
			to %[2]s
		}
		app links {
			inject off
			rewrite_links on
			to %[2]s
		}
	}`, testSecret, up.URL))
	return base, func() http.Header {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

// A browser revalidating an injected page gets a 304 while the app's
// settings stand, and the page anew, with the shim of the new settings,
// once they changed: a 304 would keep the stale tag (the Helpdesk's old
// origins, the shim of an older gateway) until the upstream's page changed.
func TestRevalidationFollowsTheAppsSettings(t *testing.T) {
	base, seen := startContentGateway(t)
	tok := token(t, agent("agent", 1))
	resp, _ := get(t, base+"/apps/open/page", tok, frameRequest...)
	etag := resp.Header.Get("ETag")
	if !markedETag.MatchString(etag) {
		t.Fatalf("ETag %q", etag)
	}
	stale := etag[:len(etag)-1-digestLen] + "00000000" + `"`
	if stale == etag {
		t.Fatal("the stale tag is the current one")
	}
	since := contentModified.Format(http.TimeFormat)

	for _, c := range []struct {
		name      string
		hdr       []string
		status    int
		upstream  string // If-None-Match the upstream saw
		imsPassed bool   // whether the upstream saw If-Modified-Since
		etag      string // the answer's ETag, when not the page's
	}{
		{"current", []string{"If-None-Match", etag, "If-Modified-Since", since}, http.StatusNotModified, `W/"v1"`, true, ""},
		{"settings changed", []string{"If-None-Match", stale, "If-Modified-Since", since}, http.StatusOK, "", false, ""},
		{"one stale of two", []string{"If-None-Match", `"other", ` + stale}, http.StatusOK, `"other"`, false, ""},
		{"current among others", []string{"If-None-Match", `"a,b", ` + stale + ", " + etag}, http.StatusNotModified, `"a,b", W/"v1"`, false, ""},
		// Not a copy the gateway is known to have changed: the 304
		// passes as it is.
		{"any", []string{"If-None-Match", "*"}, http.StatusNotModified, "*", false, `"v1"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := get(t, base+"/apps/open/page", tok, append(c.hdr, frameRequest...)...)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d; want %d", resp.StatusCode, c.status)
			}
			if c.status == http.StatusOK && !strings.Contains(body, "<head><script src=") {
				t.Errorf("page without the shim: %q", body)
			}
			want := etag
			if c.etag != "" {
				want = c.etag
			}
			if got := resp.Header.Get("ETag"); got != want {
				t.Errorf("ETag %q; want %q", got, want)
			}
			up := seen()
			if got := up.Get("If-None-Match"); got != c.upstream {
				t.Errorf("the upstream saw If-None-Match %q; want %q", got, c.upstream)
			}
			if got := up.Get("If-Modified-Since") != ""; got != c.imsPassed {
				t.Errorf("the upstream saw If-Modified-Since: %v; want %v", got, c.imsPassed)
			}
		})
	}

	// A body changed only by link rewriting, fetched by script, is
	// revalidated the same way.
	resp, _ = get(t, base+"/apps/links/page", tok, "Sec-Fetch-Dest", "empty")
	linksTag := resp.Header.Get("ETag")
	if !markedETag.MatchString(linksTag) || linksTag == etag {
		t.Fatalf("ETag of the rewritten page %q; want one of its own", linksTag)
	}
	resp, _ = get(t, base+"/apps/links/page", tok, "Sec-Fetch-Dest", "empty", "If-None-Match", linksTag)
	if resp.StatusCode != http.StatusNotModified || resp.Header.Get("ETag") != linksTag || resp.Header.Get("Accept-Ranges") != "none" {
		t.Errorf("revalidating the rewritten page: %d, ETag %q, Accept-Ranges %q; want 304, %q, none",
			resp.StatusCode, resp.Header.Get("ETag"), resp.Header.Get("Accept-Ranges"), linksTag)
	}

	// A fetch() of the page gets the upstream's own body and tag.
	resp, _ = get(t, base+"/apps/open/page", tok, "Sec-Fetch-Dest", "empty", "If-None-Match", `"v1"`)
	if resp.StatusCode != http.StatusNotModified || resp.Header.Get("ETag") != `"v1"` {
		t.Errorf("fetch(): %d, ETag %q; want 304 and the upstream's \"v1\"", resp.StatusCode, resp.Header.Get("ETag"))
	}
}

func TestUpstreamETags(t *testing.T) {
	const digest = "0123abcd"
	for _, c := range []struct {
		name, in, want string // want "-" for no header
		current        bool
	}{
		{"current", `W/"v1-hd0123abcd"`, `W/"v1"`, true},
		{"strong form", `"v1-hd0123abcd"`, `W/"v1"`, true},
		{"stale", `W/"v1-hdffffffff"`, "-", false},
		{"unmarked", `"v1", W/"v2"`, `"v1", W/"v2"`, false},
		{"mixed", ` "x" ,W/"v1-hdffffffff",W/"v1-hd0123abcd"`, `"x", W/"v1"`, true},
		{"comma inside", `"a,b-hd0123abcd"`, `W/"a,b"`, true},
		{"empty opaque", `W/"-hd0123abcd"`, `W/""`, true},
		{"not hex", `"v1-hd0123abcG"`, `"v1-hd0123abcG"`, false},
		{"any", `*`, `*`, false},
		{"unreadable", `W/"v1-hdffffffff", v2`, `W/"v1-hdffffffff", v2`, false},
		{"unterminated", `"v1-hd0123abcd`, `"v1-hd0123abcd`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			hdr := http.Header{"If-None-Match": {c.in}, "If-Modified-Since": {"x"}}
			current := upstreamETags(hdr, digest)
			got := "-"
			if v, ok := hdr["If-None-Match"]; ok {
				got = strings.Join(v, ", ")
			}
			if got != c.want || current != c.current {
				t.Errorf("upstreamETags(%q) = %q, %v; want %q, %v", c.in, got, current, c.want, c.current)
			}
			if _, ims := hdr["If-Modified-Since"]; ims != (c.want != "-") {
				t.Errorf("If-Modified-Since kept: %v", ims)
			}
		})
	}
}

func TestMarkETag(t *testing.T) {
	for in, want := range map[string]string{
		`"v1"`:   `W/"v1-hd0123abcd"`,
		`W/"v1"`: `W/"v1-hd0123abcd"`,
		`""`:     `W/"-hd0123abcd"`,
		`v1`:     `v1`,
		`W/v1"`:  `W/v1"`,
		`"`:      `"`,
	} {
		hdr := http.Header{"Etag": {in}}
		markETag(hdr, "0123abcd")
		if got := hdr.Get("ETag"); got != want {
			t.Errorf("markETag(%q) = %q; want %q", in, got, want)
		}
	}
}
