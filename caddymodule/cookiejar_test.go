package caddymodule

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"
)

// TestIsolatedAppsKeepTheirOwnCookieJars plays a browser (a cookie jar)
// against two isolated apps that both set a cookie named session.
func TestIsolatedAppsKeepTheirOwnCookieJars(t *testing.T) {
	up := newUpstream(t)
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			hmac_secret %s
		}
		app one {
			isolate_cookies
			to %[2]s
		}
		app two {
			isolate_cookies
			to %[2]s
		}
		app shared {
			to %[2]s
		}
	}`, testSecret, up.URL))
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(base)
	c := agent("agent", 1)
	c.Issuer, c.Audience = "", nil
	jar.SetCookies(u, []*http.Cookie{
		{Name: "hd_session", Value: token(t, c), Path: "/"},
		{Name: "theme", Value: "dark", Path: "/"}, // a Helpdesk cookie
	})
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	fetch := func(path string) string {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(body)
	}
	for _, app := range []string{"one", "two"} {
		fetch("/apps/" + app + "/headers?h=" + url.QueryEscape("Set-Cookie:session="+app+"; Path=/; HttpOnly"))
	}

	for _, app := range []string{"one", "two"} {
		got := decodeSeen(t, fetch("/apps/"+app+"/echo")).Header.Values("Cookie")
		if want := "session=" + app; len(got) != 1 || got[0] != want {
			t.Errorf("app %s got cookies %q; want only [%q]", app, got, want)
		}
	}
	if got := decodeSeen(t, fetch("/apps/shared/echo")).Header.Values("Cookie"); len(got) != 1 || got[0] != "theme=dark" {
		t.Errorf("a non-isolated app got %q; want the Helpdesk's theme cookie only (session stripped, isolated apps' cookies scoped away)", got)
	}
}
