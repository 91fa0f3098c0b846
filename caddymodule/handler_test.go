package caddymodule

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// headerServer answers /headers?h=Name:Value&…&status=N with those headers
// and that status, so tests control exactly what an upstream sends.
var headerServer = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for _, h := range q["h"] {
		name, value, _ := strings.Cut(h, ":")
		w.Header().Add(name, strings.TrimSpace(value))
	}
	status := http.StatusOK
	if s := q.Get("status"); s != "" {
		status, _ = strconv.Atoi(s)
	}
	w.WriteHeader(status)
	fmt.Fprint(w, "ok")
})

// gateway is a running Caddy with the standard test apps:
//   - open: any signed-in user;
//   - agents: agents of divisions 3 and 7;
//   - admins: admins only, on its own upstream;
//   - off: disabled;
//   - proxied: a reverse_proxy block using placeholders.
//
// Requests outside the prefix reach `respond "helpdesk …"`.
type gateway struct {
	url       string
	a, admins *upstream
}

func startGateway(t *testing.T, extraSite string) *gateway {
	t.Helper()
	g := &gateway{
		a:      newUpstream(t),
		admins: newUpstream(t),
	}
	g.url = startCaddy(t, fmt.Sprintf(`
	helpdesk_apps /apps {
		frame_ancestors https://helpdesk.test
		session {
			cookie hd_session
			bearer
			hmac_secret %s
			issuer https://helpdesk.test
			audience helpdesk-apps
		}
		app open {
			to %[2]s
		}
		app agents {
			roles agent
			divisions 3 7
			to %[2]s
		}
		app admins {
			roles admin
			to %[3]s
		}
		app off {
			disabled
			to %[2]s
		}
		app proxied {
			reverse_proxy %[2]s {
				header_up X-User "{helpdesk.user.email} {helpdesk.user.role} {helpdesk.user.division_id} {helpdesk.app.id} {helpdesk.app.prefix}"
			}
		}
	}
	%[4]s
	respond "helpdesk {path} cookie={header.Cookie}" 200`, testSecret, g.a.URL, g.admins.URL, extraSite))
	return g
}

func TestRoutesAppRequestsWithPrefixStripped(t *testing.T) {
	g := startGateway(t, "")
	tok := token(t, agent("agent", 3))

	resp, body := get(t, g.url+"/apps/open/echo?q=1&r=%2F", tok)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	s := decodeSeen(t, body)
	if s.Path != "/echo" || s.URI != "/echo?q=1&r=%2F" {
		t.Errorf("upstream saw path %q uri %q; want /echo and /echo?q=1&r=%%2F", s.Path, s.URI)
	}
	if got := s.Header.Get("X-Forwarded-Prefix"); got != "/apps/open" {
		t.Errorf("X-Forwarded-Prefix = %q; want /apps/open", got)
	}
	if s.Host != g.a.hostport() {
		t.Errorf("`to` upstream saw Host %q; want its own host %q", s.Host, g.a.hostport())
	}
	if got, want := s.Header.Get("X-Forwarded-Host"), strings.TrimPrefix(g.url, "http://"); got != want {
		t.Errorf("X-Forwarded-Host = %q; want the original host %q", got, want)
	}
}

func TestReverseProxyBlockKeepsHostAndSetsPlaceholders(t *testing.T) {
	g := startGateway(t, "")
	resp, body := get(t, g.url+"/apps/proxied/echo", token(t, agent("Agent", 3)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	s := decodeSeen(t, body)
	if want := strings.TrimPrefix(g.url, "http://"); s.Host != want {
		t.Errorf("reverse_proxy upstream saw Host %q; want the client's %q (Caddy's default)", s.Host, want)
	}
	if got, want := s.Header.Get("X-User"), "ana@example.com agent 3 proxied /apps/proxied"; got != want {
		t.Errorf("X-User = %q; want %q", got, want)
	}
}

func TestRedirectsBareAppPathToSlashFormKeepingQuery(t *testing.T) {
	g := startGateway(t, "")
	resp, _ := get(t, g.url+"/apps/open?x=1&y=%2F", "")
	if resp.StatusCode != http.StatusPermanentRedirect {
		t.Fatalf("status %d; want 308", resp.StatusCode)
	}
	if got := resp.Header.Get("Location"); got != "/apps/open/?x=1&y=%2F" {
		t.Errorf("Location = %q; want /apps/open/?x=1&y=%%2F", got)
	}
}

func TestUnknownAndDisabledAppsAreNotFound(t *testing.T) {
	g := startGateway(t, "")
	tok := token(t, agent("admin", 3))
	for _, path := range []string{"/apps/nope/", "/apps/off/", "/apps/", "/apps", "/apps/_api/", "/apps/OPEN/"} {
		t.Run(path, func(t *testing.T) {
			resp, body := get(t, g.url+path, tok)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("status %d; want 404: %s", resp.StatusCode, body)
			}
		})
	}
	if n := g.a.requests(); n != 0 {
		t.Errorf("upstream received %d requests; want 0", n)
	}
}

// App ids cannot be listed by probing without a session: an app that
// exists, one that is disabled and one that does not exist answer alike.
func TestAppIDsAreNotEnumerableWithoutASession(t *testing.T) {
	g := startGateway(t, "")
	for _, c := range []struct {
		paths []string
		want  int
	}{
		{[]string{"/apps/open/", "/apps/off/", "/apps/nope/", "/apps/admins/x"}, http.StatusUnauthorized},
		{[]string{"/apps/open", "/apps/off", "/apps/nope"}, http.StatusPermanentRedirect},
	} {
		for _, path := range c.paths {
			resp, body := get(t, g.url+path, "")
			if resp.StatusCode != c.want {
				t.Errorf("%s: status %d; want %d: %s", path, resp.StatusCode, c.want, body)
			}
			if c.want == http.StatusPermanentRedirect {
				if loc := resp.Header.Get("Location"); loc != path+"/" {
					t.Errorf("%s: Location %q; want %q", path, loc, path+"/")
				}
			}
		}
	}
	// Nor by what the refusal says: the page a frame gets, and the JSON a
	// script gets, are the same byte for byte whether the app exists or not.
	for _, hdr := range [][]string{
		{"Accept", "text/html", "Sec-Fetch-Dest", "iframe"},
		{"Accept", "application/json"},
	} {
		_, want := get(t, g.url+"/apps/nope/", "", hdr...)
		for _, path := range []string{"/apps/open/", "/apps/off/", "/apps/admins/x"} {
			if _, body := get(t, g.url+path, "", hdr...); body != want {
				t.Errorf("%s %v: the refusal differs from an unknown app's:\n%s\n---\n%s", path, hdr, body, want)
			}
		}
	}
}

func TestRequestsOutsidePrefixReachNextHandlerUntouched(t *testing.T) {
	g := startGateway(t, "")
	tok := token(t, agent("agent", 3))
	for _, path := range []string{"/", "/appsx/open/", "/app/open/", "/APPS/open/", "/other/apps/open/"} {
		t.Run(path, func(t *testing.T) {
			resp, body := get(t, g.url+path, tok)
			want := "helpdesk " + path + " cookie=hd_session=" + tok
			if resp.StatusCode != http.StatusOK || body != want {
				t.Errorf("got %d %q; want 200 %q", resp.StatusCode, body, want)
			}
		})
	}
	if n := g.a.requests(); n != 0 {
		t.Errorf("upstream received %d requests; want 0", n)
	}
}

func TestRequiresSession(t *testing.T) {
	g := startGateway(t, "")

	t.Run("api request gets JSON", func(t *testing.T) {
		resp, body := get(t, g.url+"/apps/open/", "", "Accept", "application/json")
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d; want 401", resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q; want application/json", ct)
		}
		var e struct{ Status int }
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Status != 401 {
			t.Errorf("body %q is not the JSON error (err %v)", body, err)
		}
		if resp.Header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
	})
	t.Run("navigation gets an HTML page", func(t *testing.T) {
		resp, body := get(t, g.url+"/apps/open/", "", "Sec-Fetch-Dest", "iframe", "Accept", "text/html")
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d; want 401", resp.StatusCode)
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "Sign in") {
			t.Errorf("not the HTML sign-in page: %s %q", resp.Header.Get("Content-Type"), body)
		}
	})
	if n := g.a.requests(); n != 0 {
		t.Errorf("upstream received %d requests; want 0", n)
	}
}

func TestRejectsEveryInvalidToken(t *testing.T) {
	g := startGateway(t, "")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	valid := token(t, agent("agent", 3))
	parts := strings.Split(valid, ".")
	b64 := base64.RawURLEncoding.EncodeToString

	expired := agent("agent", 3)
	expired.Expiry = jwt.NewNumericDate(time.Now().Add(-time.Hour))
	notYet := agent("agent", 3)
	notYet.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour))
	wrongIss := agent("agent", 3)
	wrongIss.Issuer = "https://evil.test"
	wrongAud := agent("agent", 3)
	wrongAud.Audience = jwt.Audience{"other"}
	noExp := agent("agent", 3)
	noExp.Expiry = nil
	payload, _ := json.Marshal(agent("admin", 3))

	cases := map[string]string{
		"expired":          token(t, expired),
		"not yet valid":    token(t, notYet),
		"wrong issuer":     token(t, wrongIss),
		"wrong audience":   token(t, wrongAud),
		"no expiry":        token(t, noExp),
		"bad signature":    sign(t, jose.HS256, []byte("another-secret-another-secret-0123456789"), agent("agent", 3)),
		"tampered payload": parts[0] + "." + b64(payload) + "." + parts[2],
		"alg none":         b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
		"other HMAC size":  sign(t, jose.HS512, []byte(testSecret+testSecret), agent("agent", 3)),
		"RS256":            sign(t, jose.RS256, rsaKey, agent("agent", 3)),
		"malformed":        "not.a.jwt",
		"garbage":          "%%%",
		"two parts":        parts[0] + "." + parts[1],
		"oversized":        valid + strings.Repeat("A", 9000),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			for _, bearer := range []bool{false, true} {
				var resp *http.Response
				if bearer {
					resp, _ = get(t, g.url+"/apps/open/echo", "", "Authorization", "Bearer "+tok)
				} else {
					resp, _ = get(t, g.url+"/apps/open/echo", tok)
				}
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("bearer=%v: status %d; want 401", bearer, resp.StatusCode)
				}
			}
		})
	}
	if n := g.a.requests(); n != 0 {
		t.Errorf("upstream received %d requests; want 0", n)
	}
	if resp, _ := get(t, g.url+"/apps/open/echo", valid); resp.StatusCode != http.StatusOK {
		t.Errorf("the valid token was refused: %d", resp.StatusCode)
	}
}

func TestAccessRulesCheckRoleAndDivision(t *testing.T) {
	g := startGateway(t, "")
	cases := []struct {
		name     string
		role     string
		division any
		app      string
		want     int
	}{
		{"any user opens an app without rules", "agent", 99, "open", 200},
		{"agent of listed division", "agent", 3, "agents", 200},
		{"numeric and string division ids are equal", "agent", "7", "agents", 200},
		{"role compares case-insensitively", "AGENT", 3, "agents", 200},
		{"role not listed", "supervisor", 3, "agents", 403},
		{"division not listed", "agent", 5, "agents", 403},
		{"no division claim", "agent", nil, "agents", 403},
		{"admin opens admin app", "admin", 1, "admins", 200},
		{"agent may not open admin app", "agent", 3, "admins", 403},
		{"owner is not admin", "owner", 3, "admins", 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := get(t, g.url+"/apps/"+c.app+"/echo", token(t, agent(c.role, c.division)))
			if resp.StatusCode != c.want {
				t.Errorf("status %d; want %d: %s", resp.StatusCode, c.want, body)
			}
		})
	}
}

func TestAcceptsBearerAndRejectsConflictingTokens(t *testing.T) {
	g := startGateway(t, "")
	agentTok, adminTok := token(t, agent("agent", 3)), token(t, agent("admin", 3))

	if resp, _ := get(t, g.url+"/apps/open/echo", "", "Authorization", "Bearer "+agentTok); resp.StatusCode != 200 {
		t.Errorf("bearer only: status %d; want 200", resp.StatusCode)
	}
	if resp, _ := get(t, g.url+"/apps/open/echo", agentTok, "Authorization", "Bearer "+agentTok); resp.StatusCode != 200 {
		t.Errorf("same token in cookie and bearer: status %d; want 200", resp.StatusCode)
	}
	if resp, _ := get(t, g.url+"/apps/admins/echo", agentTok, "Authorization", "Bearer "+adminTok); resp.StatusCode != 401 {
		t.Errorf("cookie and bearer with different identities: status %d; want 401", resp.StatusCode)
	}
	if n := g.admins.requests(); n != 0 {
		t.Errorf("admin upstream received %d requests; want 0", n)
	}
}

func TestSessionCredentialsNeverReachUpstream(t *testing.T) {
	g := startGateway(t, "")
	tok := token(t, agent("agent", 3))
	for _, app := range []string{"open", "proxied"} {
		t.Run(app, func(t *testing.T) {
			resp, body := get(t, g.url+"/apps/"+app+"/echo", "",
				"Cookie", "a=1; hd_session="+tok+"; b=2",
				"Authorization", "Bearer "+tok)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			s := decodeSeen(t, body)
			if got := s.Header.Values("Cookie"); len(got) != 1 || got[0] != "a=1; b=2" {
				t.Errorf("upstream Cookie = %q; want only the app's cookies \"a=1; b=2\"", got)
			}
			if got := s.Header.Get("Authorization"); got != "" {
				t.Errorf("upstream got Authorization %q", got)
			}
			if strings.Contains(body, tok) {
				t.Error("the session token reached the upstream")
			}
		})
	}
}

func TestFrameHeadersAllowOnlyTheHelpdesk(t *testing.T) {
	g := startGateway(t, "")
	tok := token(t, agent("agent", 3))
	const fa = "frame-ancestors https://helpdesk.test"
	helmet := "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests"
	cases := []struct {
		name       string
		headers    []string
		wantCSP    []string
		wantReport []string
	}{
		{"helmet default with frame-ancestors 'self'",
			[]string{"X-Frame-Options:SAMEORIGIN", "Content-Security-Policy:" + helmet},
			[]string{strings.Replace(helmet, "frame-ancestors 'self'", fa, 1)}, nil},
		{"frame-ancestors 'none' and DENY",
			[]string{"X-Frame-Options:DENY", "Content-Security-Policy:default-src 'none'; frame-ancestors 'none'"},
			[]string{"default-src 'none'; " + fa}, nil},
		{"two CSP headers",
			[]string{"Content-Security-Policy:script-src 'self'", "Content-Security-Policy:frame-ancestors 'none'; img-src *"},
			[]string{"script-src 'self'; " + fa, fa + "; img-src *"}, nil},
		{"no CSP gets one",
			[]string{"X-Frame-Options:DENY"},
			[]string{fa}, nil},
		{"report-only is rewritten and an enforcing one added",
			[]string{"Content-Security-Policy-Report-Only:frame-ancestors 'none'; report-uri /r"},
			[]string{fa}, []string{fa + "; report-uri /apps/open/r"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := "/apps/open/headers?"
			for _, h := range c.headers {
				q += "h=" + url.QueryEscape(h) + "&"
			}
			resp, _ := get(t, g.url+q, tok)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if xfo := resp.Header.Values("X-Frame-Options"); len(xfo) != 0 {
				t.Errorf("X-Frame-Options still present: %q", xfo)
			}
			if got := resp.Header.Values("Content-Security-Policy"); !slices.Equal(got, c.wantCSP) {
				t.Errorf("CSP = %q\nwant %q", got, c.wantCSP)
			}
			if got := resp.Header.Values("Content-Security-Policy-Report-Only"); !slices.Equal(got, c.wantReport) {
				t.Errorf("CSP-Report-Only = %q\nwant %q", got, c.wantReport)
			}
		})
	}
}

func TestFrameHeadersOnErrorsAndEmptyResponses(t *testing.T) {
	g := startGateway(t, "")
	tok := token(t, agent("agent", 3))
	for _, status := range []string{"204", "404", "500"} {
		resp, _ := get(t, g.url+"/apps/open/headers?status="+status+"&h=X-Frame-Options:DENY", tok)
		if resp.Header.Get("X-Frame-Options") != "" || resp.Header.Get("Content-Security-Policy") != "frame-ancestors https://helpdesk.test" {
			t.Errorf("status %s: XFO %q CSP %q", status, resp.Header.Get("X-Frame-Options"), resp.Header.Get("Content-Security-Policy"))
		}
	}
}

func TestLocationStaysInsideTheApp(t *testing.T) {
	g := startGateway(t, "")
	tok := token(t, agent("agent", 3))
	cases := []struct{ name, location, want string }{
		{"root-relative", "/login?next=%2Fhome", "/apps/open/login?next=%2Fhome"},
		{"absolute to the upstream", g.a.URL + "/x", "/apps/open/x"},
		{"absolute to the gateway host", g.url + "/y", "/apps/open/y"},
		{"already under the prefix", "/apps/open/z", "/apps/open/z"},
		{"external", "https://example.org/a", "https://example.org/a"},
		{"protocol-relative external", "//example.org/a", "//example.org/a"},
		{"dot segments cannot climb out", "/../../admins/", "/apps/open/admins/"},
		{"invalid escape (201: Go's client would not follow it)", "/reports/100%", "/apps/open/reports/100%"},
		{"scheme without slashes", "http:/admins/", "/apps/open/admins/"},
		{"backslashes to the gateway host", `http:\\` + strings.TrimPrefix(g.url, "http://") + `\admins`, "/apps/open/admins"},
		{"tab between slashes", "/\t/" + strings.TrimPrefix(g.url, "http://") + "/admins", "/apps/open/admins"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status := "302"
			if strings.HasPrefix(c.name, "invalid escape") {
				status = "201"
			}
			resp, _ := get(t, g.url+"/apps/open/headers?status="+status+"&h="+url.QueryEscape("Location:"+c.location), tok)
			if strconv.Itoa(resp.StatusCode) != status {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("Location"); got != c.want {
				t.Errorf("Location = %q; want %q", got, c.want)
			}
		})
	}
	t.Run("Refresh", func(t *testing.T) {
		resp, _ := get(t, g.url+"/apps/open/headers?h="+url.QueryEscape("Refresh:0; url=/login"), tok)
		if got := resp.Header.Get("Refresh"); got != "0; url=/apps/open/login" {
			t.Errorf("Refresh = %q; want 0; url=/apps/open/login", got)
		}
	})
}

func TestSetCookieScopedToTheApp(t *testing.T) {
	g := startGateway(t, "")
	tok := token(t, agent("agent", 3))
	resp, _ := get(t, g.url+"/apps/open/headers?"+
		"h="+url.QueryEscape("Set-Cookie:sid=1; Path=/; Domain=.helpdesk.test; HttpOnly; SameSite=Lax")+
		"&h="+url.QueryEscape("Set-Cookie:pref=dark; Path=/settings")+
		"&h="+url.QueryEscape("Set-Cookie:hd_session=planted; Path=/"), tok)
	got := resp.Header.Values("Set-Cookie")
	want := []string{"sid=1; Path=/apps/open/; HttpOnly; SameSite=Lax", "pref=dark; Path=/apps/open/settings"}
	if !slices.Equal(got, want) {
		t.Errorf("Set-Cookie = %q\nwant %q (the planted session cookie dropped)", got, want)
	}
}

func TestPathTricksNeverReachAnotherAppOrSkipAccess(t *testing.T) {
	g := startGateway(t, "")
	agentTok := token(t, agent("agent", 3))
	cases := []struct {
		name, target string
		tok          string
		want         int
		helpdesk     bool // answered by the next handler
	}{
		{"dot segments into a forbidden app", "/apps/open/../admins/echo", agentTok, 403, false},
		{"encoded dot segments", "/apps/open/%2e%2e/admins/echo", agentTok, 403, false},
		{"upper-case encoded dots", "/apps/open/%2E%2E/admins/echo", agentTok, 403, false},
		{"dot segment without a session", "/apps/open/%2e%2e/admins/echo", "", 401, false},
		{"climbing out from deep inside", "/apps/admins/x/%2e%2e/%2e%2e/%2e%2e/echo", "", 200, true},
		{"single dot", "/apps/./admins/echo", agentTok, 403, false},
		{"backslash is not a separator", "/apps/open/..%5cadmins/echo", agentTok, 200, false},
		{"encoded backslash stays data", "/apps/open/..%5C..%5C..%5Cadmins/echo", agentTok, 200, false},
		{"encoded dots stay dots", "/apps/open/x/%2E%2e/echo", agentTok, 200, false},

		// A browser reads %2F as data and files these URLs under the
		// first app (its cookies go with them); decoded, they lead
		// elsewhere. Refused, with or without a session.
		{"encoded slash in the app id", "/apps/open%2f..%2fadmins/echo", agentTok, 400, false},
		{"encoded slash from one app into another", "/apps/admins/..%2fopen/echo", agentTok, 400, false},
		{"encoded slash, upper case", "/apps/admins/..%2Fopen/echo", "", 400, false},
		{"encoded slash out of the prefix", "/apps/admins/..%2f..%2fopen/echo", agentTok, 400, false},
		{"encoded slash from the Helpdesk into an app", "/auth/refresh/..%2f..%2fapps/open/echo", agentTok, 400, false},
		{"encoded slash into the prefix", "/x/..%2fapps/open/echo", "", 400, false},
		{"encoded prefix", "/apps%2fopen/echo", agentTok, 400, false},
		{"escaped letter in the prefix", "/%61pps/open/echo", agentTok, 400, false},
		{"escaped letter in the app id", "/apps/op%65n/echo", agentTok, 400, false},
		{"double slash before the app id", "/apps//admins/echo", agentTok, 400, false},
		{"encoded slash and dots inside the app", "/apps/open/x/..%2fecho", agentTok, 400, false},
		{"bridge by an encoded slash", "/apps/open/..%2f_bridge/client.js", "", 400, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.tok != "" {
				hdr = []string{"Cookie", "hd_session=" + c.tok}
			}
			resp, body := rawGet(t, g.url, c.target, hdr...)
			if resp.StatusCode != c.want {
				t.Errorf("status %d; want %d: %s", resp.StatusCode, c.want, body)
			}
			if c.helpdesk != strings.HasPrefix(body, "helpdesk ") {
				t.Errorf("answered by the next handler = %v; want %v: %s", !c.helpdesk, c.helpdesk, body)
			}
			if resp.StatusCode == 200 && !c.helpdesk {
				s := decodeSeen(t, body)
				if slices.Contains(strings.Split(s.Path, "/"), "..") {
					t.Errorf("upstream saw a dot segment: path %q uri %q", s.Path, s.URI)
				}
			}
		})
	}
	if n := g.admins.requests(); n != 0 {
		t.Errorf("the admin app's upstream received %d requests; want 0", n)
	}
}

// Encoded slashes that stay inside one app are data the tool gave them:
// they reach it as sent.
func TestKeepsEncodedSlashesInsideAnAppPath(t *testing.T) {
	g := startGateway(t, "")
	for _, c := range []struct{ name, target, want string }{
		{"a file name", "/apps/open/files/a%2Fb", "/files/a%2Fb"},
		{"RabbitMQ's default vhost", "/apps/open/api/queues/%2F/orders", "/api/queues/%2F/orders"},
		{"RabbitMQ's default vhost, lower case", "/apps/open/api/exchanges/%2f", "/api/exchanges/%2f"},
		{"GitLab's project path", "/apps/open/api/v4/projects/group%2Fproject/issues?state=opened", "/api/v4/projects/group%2Fproject/issues?state=opened"},
		{"GitLab's nested group", "/apps/open/api/v4/projects/a%2Fb%2Fc", "/api/v4/projects/a%2Fb%2Fc"},
		{"encoded backslash", "/apps/open/share/a%5Cb", "/share/a%5Cb"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := rawGet(t, g.url, c.target, "Cookie", "hd_session="+token(t, agent("agent", 3)))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if s := decodeSeen(t, body); s.URI != c.want {
				t.Errorf("upstream request-target %q; want %q", s.URI, c.want)
			}
		})
	}
}

func TestHandleErrorsRendersDenials(t *testing.T) {
	g := startGateway(t, `handle_errors {
		respond "custom {err.status_code}"
	}`)
	for path, want := range map[string]string{
		"/apps/open/":                   "custom 401",
		"/apps/nope/":                   "custom 404",
		"/apps/admins/":                 "custom 403",
		"/apps/admins/..%2fopen/":       "custom 400",
		"/apps/../apps/open%2f../open/": "custom 400",
	} {
		tok := ""
		if path != "/apps/open/" {
			tok = token(t, agent("agent", 3))
		}
		resp, body := get(t, g.url+path, tok)
		if body != want || strconv.Itoa(resp.StatusCode) != strings.TrimPrefix(want, "custom ") {
			t.Errorf("%s: got %d %q; want %q", path, resp.StatusCode, body, want)
		}
	}
}
