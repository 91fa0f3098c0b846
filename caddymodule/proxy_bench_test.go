package caddymodule

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// BenchmarkProxyJSON sends 1 KB JSON responses through a plain
// reverse_proxy site and through a helpdesk_apps site of the same Caddy,
// in one process with the upstream and the client, so the difference
// between the two sub-benchmarks (ns/op, allocs/op) is what the gateway
// adds to a request. The load harness in bench/ measures the same on
// separate processes.
func BenchmarkProxyJSON(b *testing.B) {
	body := `{"items":[` + strings.Repeat(`{"id":1234,"name":"example"},`, 35) + `{"id":0}]}`
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	})}
	go func() { _ = up.Serve(ln) }()
	b.Cleanup(func() { _ = up.Close() })

	plain, gateway := freeAddr(b), freeAddr(b)
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
`, plain, ln.Addr(), gateway, testSecret, ln.Addr(), ln.Addr()))
	cookie := "hd_session=" + token(b, agent("agent", 1))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	for _, c := range []struct{ name, url string }{
		{"plain", "http://" + plain + "/data.json"},
		{"gateway", "http://" + gateway + "/apps/bench/data.json"},
	} {
		b.Run(c.name, func(b *testing.B) {
			req, err := http.NewRequest(http.MethodGet, c.url, nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Cookie", cookie)
			req.Header.Set("Accept", "application/json")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					n, err := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != http.StatusOK || n != int64(len(body)) {
						b.Errorf("status %d, %d bytes, %v", resp.StatusCode, n, err)
						return
					}
				}
			})
		})
	}
}
