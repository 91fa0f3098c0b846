package caddymodule

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkProxy sends responses through a plain reverse_proxy site and
// through a helpdesk_apps site of the same Caddy, in one process with the
// upstream and the client, so the difference between a scenario's two
// sub-benchmarks (ns/op, B/op, allocs/op) is what the gateway adds to a
// request: json is 1 KB of JSON; page a 50 KB HTML page loaded into an
// iframe, which the gateway gives its shim. no-assertion is the gateway
// without X-Helpdesk-Assertion, whose cost, the upstream's included, is
// the difference to gateway. The load harness in bench/ measures the same
// on separate processes.
func BenchmarkProxy(b *testing.B) {
	json := `{"items":[` + strings.Repeat(`{"id":1234,"name":"example"},`, 35) + `{"id":0}]}`
	page := paddedPage((50<<10 - len(testPage)) / len("<p>more</p>"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ct := json, "application/json"
		if r.URL.Path == "/page" {
			body, ct = page, "text/html; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = io.WriteString(w, body)
	})}
	go func() { _ = up.Serve(ln) }()
	b.Cleanup(func() { _ = up.Close() })

	plain, gateway, noAssertion := freeAddr(b), freeAddr(b), freeAddr(b)
	startCaddyfile(b, fmt.Sprintf(`http://%s {
	bind 127.0.0.1
	reverse_proxy %s
}
http://%s {
	bind 127.0.0.1
	helpdesk_apps /apps {
		session {
			cookie hd_session
			hmac_secret %s
		}
		app bench {
			to %s
		}
		app bare {
			to %s
		}
	}
}
http://%s {
	bind 127.0.0.1
	helpdesk_apps /apps {
		identity_headers {
			assertion off
		}
		session {
			cookie hd_session
			hmac_secret %s
		}
		app bench {
			to %s
		}
	}
}
`, plain, ln.Addr(), gateway, testSecret, ln.Addr(), ln.Addr(), noAssertion, testSecret, ln.Addr()))
	cookie := "hd_session=" + token(b, agent("agent", 1))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	for _, s := range []struct {
		name, path string
		header     []string
		body       string
	}{
		{"json", "/data.json", []string{"Accept", "application/json"}, json},
		{"page", "/page", frameRequest, page},
	} {
		for _, c := range []struct{ name, base string }{
			{"plain", "http://" + plain},
			{"gateway", "http://" + gateway + "/apps/bench"},
			{"no-assertion", "http://" + noAssertion + "/apps/bench"},
		} {
			b.Run(s.name+"/"+c.name, func(b *testing.B) {
				req, err := http.NewRequest(http.MethodGet, c.base+s.path, nil)
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Cookie", cookie)
				for i := 0; i < len(s.header); i += 2 {
					req.Header.Set(s.header[i], s.header[i+1])
				}
				size := proxiedSize(b, client, req, s.body, c.name != "plain" && s.name == "page")
				b.ReportAllocs()
				b.SetBytes(int64(size))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						n, err := io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if err != nil || resp.StatusCode != http.StatusOK || n != int64(size) {
							b.Errorf("status %d, %d bytes (want %d), %v", resp.StatusCode, n, size, err)
							return
						}
					}
				})
			})
		}
	}
}

// proxiedSize sends req once and returns the length of the body, which
// must be want, or want with the gateway's shim after <head> if shim is set.
func proxiedSize(b *testing.B, client *http.Client, req *http.Request, want string, shim bool) int {
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if shim {
		before, after, _ := strings.Cut(want, "<head>")
		tag := strings.TrimSuffix(strings.TrimPrefix(string(body), before+"<head>"), after)
		if !strings.HasPrefix(tag, `<script src="/apps/_bridge/client.js`) || !strings.HasSuffix(tag, "</script>") {
			b.Fatalf("the page has no shim right after <head>: %q", tag)
		}
	} else if string(body) != want {
		b.Fatalf("body of %d bytes, want the upstream's %d", len(body), len(want))
	}
	return len(body)
}
