package upstreams

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	a, err := Parse([]string{"crm.internal:8080", "*.tools.example.com", "10.1.0.0/16", "127.0.0.1:8081", "[fd00::5]:80"}, []string{"localhost:2019"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url, dial string
		ok        bool
	}{
		{"http://crm.internal:8080", "crm.internal:8080", true},
		{"http://CRM.Internal:8080/", "crm.internal:8080", true},
		{"http://crm.internal:8081", "", false},
		{"http://crm.internal", "", false},
		{"https://a.tools.example.com", "a.tools.example.com:443", true},
		{"http://a.b.tools.example.com:9000", "a.b.tools.example.com:9000", true},
		{"http://tools.example.com", "", false},
		{"http://eviltools.example.com", "", false},
		{"http://10.1.2.3:5000", "10.1.2.3:5000", true},
		{"http://10.2.0.1", "", false},
		{"http://127.0.0.1:8081", "127.0.0.1:8081", true},
		{"http://127.0.0.1:2019", "", false},
		{"http://[::ffff:127.0.0.1]:8081", "[::ffff:127.0.0.1]:8081", true},
		{"http://[::ffff:127.0.0.1]:2019", "", false},
		{"http://[fd00::5]", "[fd00::5]:80", true},
		{"http://169.254.169.254", "", false},
		{"http://8.8.8.8", "", false},
		{"http://localhost:2019", "", false},
		{"ftp://crm.internal:8080", "", false},
		{"http://user:pw@crm.internal:8080", "", false},
		{"http://crm.internal:8080/admin", "", false},
		{"http://crm.internal:8080?x=1", "", false},
		{"http://crm.internal:8080#x", "", false},
		{"http://crm.internal:99999", "", false},
		{"//crm.internal:8080", "", false},
		{"http://crm_internal:8080", "", false},
		{"http://", "", false},
	} {
		_, dial, err := a.Check(tc.url)
		if (err == nil) != tc.ok || dial != tc.dial {
			t.Errorf("Check(%q) = %q, %v; want %q, ok=%v", tc.url, dial, err, tc.dial, tc.ok)
		}
	}
}

// TestControlRefusesResolvedAddresses dials as the reverse proxy does, after
// name resolution: a name the list allows must still not reach a loopback
// or metadata address, nor the admin endpoint, unless a network pattern
// covers it.
func TestControlRefusesResolvedAddresses(t *testing.T) {
	a, err := Parse([]string{"*.tools.example.com", "localhost", "10.0.0.0/8", "127.0.0.1:8081"}, []string{"localhost:2019"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"10.3.4.5:80", true},
		{"192.0.2.7:443", true}, // a name allowed by a name pattern
		{"127.0.0.1:8081", true},
		{"127.0.0.1:8082", false},
		{"127.0.0.2:80", false},
		{"[::1]:8081", false},
		{"169.254.169.254:80", false},
		{"[fe80::1]:80", false},
		{"0.0.0.0:80", false},
		{"224.0.0.1:80", false},
		{"[::ffff:169.254.169.254]:80", false},
		{"[fd00:ec2::254]:80", false},
		{"100.100.100.200:80", false},
		{"[64:ff9b::a9fe:a9fe]:80", false},
		{"[64:ff9b::7f00:1]:8081", false},
		{"[64:ff9b::c000:207]:80", true},
		{"127.0.0.1:2019", false},
		{"[::1]:2019", false},
	} {
		err := a.Control("tcp", tc.addr, nil)
		if (err == nil) != tc.ok {
			t.Errorf("Control(%s) = %v; want ok=%v", tc.addr, err, tc.ok)
		}
		var refused *RefusedError
		if err != nil && !errors.As(err, &refused) {
			t.Errorf("Control(%s) = %T, want *RefusedError", tc.addr, err)
		}
	}

	// A real dial: localhost is an allowed name, but it resolves to a
	// loopback address the list does not cover.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	d := net.Dialer{Timeout: 2 * time.Second, Control: a.Control}
	if conn, err := d.DialContext(context.Background(), "tcp", "localhost:"+port); err == nil {
		conn.Close()
		t.Fatal("dialing localhost reached a loopback listener the list does not allow")
	} else if !strings.Contains(err.Error(), "upstream refused") {
		t.Fatalf("dial error = %v, want a refusal", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{"", "10.0.0.1/8", "crm.internal:0", "crm.internal:x", "*", "*.", "a..b", "http://crm", "[::1", "fe80::1%eth0", "-a.example"} {
		if _, err := Parse([]string{bad}, nil); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if _, err := Parse(nil, []string{"nohost"}); err == nil {
		t.Error("a refused address without a port was accepted")
	}
	a, err := Parse(nil, []string{":2019"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Control("tcp", "10.0.0.1:2019", nil); err == nil {
		t.Error("an admin endpoint on every address did not refuse a private address on its port")
	}
	var zero Allowlist
	if _, _, err := zero.Check("http://crm.internal"); err == nil {
		t.Error("the empty list allowed an upstream")
	}
}
