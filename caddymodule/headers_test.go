package caddymodule

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskapps/gateway/caddymodule/rewrite"
)

// headersQuery asks headerServer for a response with these headers.
func headersQuery(headers ...string) string {
	q := url.Values{}
	for _, h := range headers {
		q.Add("h", h)
	}
	return "/headers?" + q.Encode()
}

// A hostile app answers with the headers that act on the whole origin:
// none reaches the browser, but the site's own (set by a header directive
// before the app runs) stay as the site set them.
func TestOriginWideHeadersAreDroppedButTheSitesKept(t *testing.T) {
	g := startGateway(t, `header Strict-Transport-Security "max-age=63072000; includeSubDomains"`)
	tok := token(t, agent("agent", 3))
	hostile := []string{
		`Clear-Site-Data: "cookies", "storage", "cache"`,
		`Clear-Site-Data: "*"`,
		"Origin-Agent-Cluster: ?1",
		`NEL: {"report_to":"app","max_age":31536000,"include_subdomains":true}`,
		`Report-To: {"group":"app","max_age":31536000,"endpoints":[{"url":"https://collector.example/r"}]}`,
		"Strict-Transport-Security: max-age=0",
		`Alt-Svc: h2="evil.example:443"; ma=86400`,
		"Accept-CH: Sec-CH-UA-Full-Version-List, Sec-CH-UA-Model",
		"Critical-CH: Sec-CH-UA-Model",
		"Set-Login: logged-in",
		"Expect-CT: max-age=86400, enforce",
		`Public-Key-Pins: pin-sha256="AAAA"; max-age=1`,
		`Public-Key-Pins-Report-Only: pin-sha256="AAAA"; max-age=1`,
	}
	// What acts on the app's own document stays.
	kept := []string{
		"Supports-Loading-Mode: credentialed-prerender",
		"Permissions-Policy: geolocation=()",
		`Reporting-Endpoints: app="https://reports.example/r"`,
		"Cross-Origin-Opener-Policy: same-origin",
	}
	resp, body := get(t, g.url+"/apps/open"+headersQuery(append(slices.Clone(hostile), kept...)...), tok)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for _, h := range hostile {
		name, _, _ := strings.Cut(h, ":")
		got := resp.Header.Values(name)
		if name == "Strict-Transport-Security" {
			if want := "max-age=63072000; includeSubDomains"; len(got) != 1 || got[0] != want {
				t.Errorf("%s = %q; want only the site's own %q", name, got, want)
			}
			continue
		}
		if len(got) > 0 {
			t.Errorf("%s = %q reached the browser", name, got)
		}
	}
	for _, h := range kept {
		name, value, _ := strings.Cut(h, ": ")
		if got := resp.Header.Get(name); got != value {
			t.Errorf("%s = %q; want %q", name, got, value)
		}
	}
	for _, name := range rewrite.OriginWide {
		if !slices.ContainsFunc(hostile, func(h string) bool { return strings.EqualFold(strings.SplitN(h, ":", 2)[0], name) }) {
			t.Errorf("origin-wide header %s is not tried here", name)
		}
	}
}

// A service worker takes at most the scope its script's
// Service-Worker-Allowed allows: the gateway keeps it inside the app.
func TestServiceWorkerAllowedStaysInTheApp(t *testing.T) {
	g := startGateway(t, "")
	tok := token(t, agent("agent", 3))
	for value, want := range map[string]string{
		"/":                        "/apps/open/",
		"/static/":                 "/apps/open/static/",
		"../":                      "/apps/open/",
		"/apps/open/workers/":      "/apps/open/workers/",
		"/apps/":                   "/apps/open/apps/",
		"/apps/open/..%2f..%2f":    "/apps/open/",
		"/..%2F..%2Fauth/":         "/apps/open/",
		"https://evil.example/":    "/apps/open/",
		"//evil.example/":          "/apps/open/",
		"/scope/?q=1#f":            "/apps/open/scope/",
		"/apps/open":               "/apps/open/", // a scope of /apps/open would reach /apps/open-admin/ too
		"/apps/open?x":             "/apps/open/",
		"http://" + g.a.hostport(): "/apps/open/",
	} {
		resp, body := get(t, g.url+"/apps/open"+headersQuery("Service-Worker-Allowed: "+value), tok, "Service-Worker", "script")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if got := resp.Header.Values("Service-Worker-Allowed"); len(got) != 1 || got[0] != want {
			t.Errorf("Service-Worker-Allowed %q became %q; want %q", value, got, want)
		}
	}
}

func TestServiceWorkerLinksAreDropped(t *testing.T) {
	g := startGateway(t, "")
	tok := token(t, agent("agent", 3))
	for _, c := range []struct{ in, want []string }{
		{[]string{"</sw.js>; rel=serviceworker"}, nil},
		{[]string{`</sw.js>; rel="serviceworker"; scope="/"`}, nil},
		{[]string{"</sw.js>; REL=ServiceWorker"}, nil},
		{[]string{`</a.css>; rel=preload; as=style, </sw.js>; rel="preload serviceworker", <https://cdn.example/x,y.js>; rel=preload; as=script`},
			[]string{`</a.css>; rel=preload; as=style, <https://cdn.example/x,y.js>; rel=preload; as=script`}},
		{[]string{"</a.css>; rel=preload; as=style", "</sw.js>; rel=serviceworker"}, []string{"</a.css>; rel=preload; as=style"}},
	} {
		hdr := make([]string, len(c.in))
		for i, v := range c.in {
			hdr[i] = "Link: " + v
		}
		resp, _ := get(t, g.url+"/apps/open"+headersQuery(hdr...), tok)
		if got := resp.Header.Values("Link"); !slices.Equal(got, c.want) {
			t.Errorf("Link %q became %q; want %q", c.in, got, c.want)
		}
	}
}

// The headers the gateway rewrites must not come as trailers, declared or
// not: the rules read headers only.
func TestRewrittenHeadersCannotBeTrailers(t *testing.T) {
	trailing := []string{"Set-Cookie", "Location", "Refresh", "X-Frame-Options", "Content-Security-Policy",
		"Clear-Site-Data", "Service-Worker-Allowed", "Link", "Strict-Transport-Security"}
	trailerUp := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		declared := r.URL.Query().Get("declared") == "1"
		if declared {
			w.Header().Set("Trailer", strings.Join(append(slices.Clone(trailing), "X-Checksum"), ", "))
		}
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, "body")
		http.NewResponseController(w).Flush() // chunked, or undeclared trailers are lost
		prefix := http.TrailerPrefix
		if declared {
			prefix = ""
		}
		for _, name := range trailing {
			w.Header().Set(prefix+name, "from-trailer")
		}
		w.Header().Set(prefix+"X-Checksum", "abc")
	})
	up := httptest.NewServer(trailerUp)
	t.Cleanup(up.Close)
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			hmac_secret %s
		}
		app t {
			to %s
		}
	}`, testSecret, up.URL))
	for _, declared := range []string{"0", "1"} {
		t.Run("declared="+declared, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, base+"/apps/t/x?declared="+declared, nil)
			c := agent("agent", 3)
			c.Issuer, c.Audience = "", nil
			req.Header.Set("Authorization", "Bearer "+token(t, c))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if _, err := io.ReadAll(resp.Body); err != nil {
				t.Fatal(err)
			}
			for _, name := range trailing {
				if v := resp.Trailer.Values(name); len(v) > 0 {
					t.Errorf("trailer %s = %q reached the client", name, v)
				}
			}
			if got := resp.Trailer.Get("X-Checksum"); got != "abc" {
				t.Errorf("the app's own trailer X-Checksum = %q; want abc (trailers %v)", got, resp.Trailer)
			}
		})
	}
}

// An upstream's headers must not make the gateway amplify them or hold
// more than a browser would take: such a response becomes a 502.
func TestOversizedOrAmplifyingHeadersAreRefused(t *testing.T) {
	streamEnded := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stream":
			// Server-sent events without end, under too many policies:
			// refused, the stream must end, not be read forever.
			defer func() { streamEnded <- struct{}{} }()
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Content-Security-Policy", strings.Repeat("img-src *,", rewrite.MaxPolicies+1))
			for {
				if _, err := fmt.Fprint(w, "data: tick\n\n"); err != nil {
					return
				}
				http.NewResponseController(w).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		case "/commas":
			w.Header().Set("Content-Security-Policy", strings.Repeat(",", 1_000_000))
		case "/policies":
			w.Header().Set("Content-Security-Policy", strings.Repeat("img-src *,", rewrite.MaxPolicies+1))
		case "/many":
			for i := range 5000 {
				w.Header().Add("X-Filler", fmt.Sprintf("%060d", i))
			}
		case "/empty-policies":
			w.Header().Set("Content-Security-Policy", strings.Repeat(" ,", 50_000)+"default-src 'self'")
		}
		w.Header().Set("Set-Cookie", "sid=1; Path=/")
		fmt.Fprint(w, strings.Repeat("app body ", 1000))
	}))
	t.Cleanup(up.Close)
	base := startCaddy(t, fmt.Sprintf(`
	header Strict-Transport-Security "max-age=63072000"
	helpdesk_apps {
		frame_ancestors https://helpdesk.test
		session {
			hmac_secret %s
		}
		app t {
			to %s
		}
	}`, testSecret, up.URL))
	c := agent("agent", 3)
	c.Issuer, c.Audience = "", nil
	tok := token(t, c)
	for _, path := range []string{"/commas", "/policies", "/many", "/stream"} {
		t.Run(path, func(t *testing.T) {
			resp, body := get(t, base+"/apps/t"+path, "", "Authorization", "Bearer "+tok, "Accept", "text/html", "Sec-Fetch-Dest", "iframe")
			if resp.StatusCode != http.StatusBadGateway {
				t.Fatalf("status %d; want 502", resp.StatusCode)
			}
			if !strings.Contains(body, "cannot pass on safely") {
				t.Errorf("the 502 page does not say why: %q", body)
			}
			if strings.Contains(body, "app body") || resp.Header.Get("Set-Cookie") != "" || len(resp.Header.Values("X-Filler")) > 0 {
				t.Errorf("the refused response leaked the app's headers or body: %v %q", resp.Header, body)
			}
			if got := resp.Header.Get("Content-Security-Policy"); !strings.HasSuffix(got, "; frame-ancestors https://helpdesk.test") ||
				strings.Count(got, "frame-ancestors") != 1 || len(resp.Header.Values("Content-Security-Policy")) != 1 {
				t.Errorf("the 502 page's policy is %q; want the frame-ancestors of the gateway", got)
			}
			if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=63072000" {
				t.Errorf("the 502 page lost the site's own HSTS: %q", got)
			}
		})
	}
	select {
	case <-streamEnded:
	case <-time.After(5 * time.Second):
		t.Error("the refused stream is still read from its upstream")
	}
	resp, body := get(t, base+"/apps/t/empty-policies", "", "Authorization", "Bearer "+tok)
	if want := "default-src 'self'; frame-ancestors https://helpdesk.test"; resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Security-Policy") != want {
		t.Errorf("empty policies: %d, policy %.80q; want 200 and %q: %.80s", resp.StatusCode, resp.Header.Get("Content-Security-Policy"), want, body)
	}
}

// An app's violation reports go to the app: report-uri and
// Reporting-Endpoints URLs that point at its own root or its upstream are
// moved under its path, like Location.
func TestReportURLsStayInTheApp(t *testing.T) {
	g := startGateway(t, "")
	tok := token(t, agent("agent", 3))
	upstream := "http://" + g.a.hostport()
	resp, body := get(t, g.url+"/apps/open"+headersQuery(
		"Content-Security-Policy: default-src 'self'; report-uri /api/csp-report "+upstream+"/r2 https://collector.example/r; report-to csp",
		"Content-Security-Policy-Report-Only: script-src 'self'; report-uri /ro",
		`Reporting-Endpoints: csp="/api/reports", other="https://collector.example/r"`,
	), tok)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for name, want := range map[string]string{
		"Content-Security-Policy":             "default-src 'self'; report-uri /apps/open/api/csp-report /apps/open/r2 https://collector.example/r; report-to csp; frame-ancestors https://helpdesk.test",
		"Content-Security-Policy-Report-Only": "script-src 'self'; report-uri /apps/open/ro; frame-ancestors https://helpdesk.test",
		"Reporting-Endpoints":                 `csp="/apps/open/api/reports", other="https://collector.example/r"`,
	} {
		if got := resp.Header.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q\nwant %q", name, got, want)
		}
	}
}
