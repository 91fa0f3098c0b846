package session_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"slices"
	"strings"
	"testing"

	"github.com/helpdeskapps/gateway/caddymodule/internal/cookies"
	"github.com/helpdeskapps/gateway/caddymodule/session"
)

func TestSourceToken(t *testing.T) {
	both := session.Source{Cookie: "hd_session", Bearer: true}
	tests := []struct {
		name    string
		src     session.Source // both when zero
		cookies []string       // Cookie header values
		auth    []string       // Authorization header values
		want    string
		wantErr error
	}{
		{name: "cookie only", cookies: []string{"hd_session=tok-a"}, want: "tok-a"},
		{name: "cookie among others", cookies: []string{"theme=dark; hd_session=tok-a; hd_session2=tok-b"}, want: "tok-a"},
		{name: "bearer only", auth: []string{"Bearer tok-a"}, want: "tok-a"},
		{name: "bearer scheme is case-insensitive", auth: []string{"bEARER tok-a"}, want: "tok-a"},
		{name: "bearer with extra spaces", auth: []string{"  Bearer   tok-a  "}, want: "tok-a"},
		{name: "cookie and bearer equal", cookies: []string{"hd_session=tok-a"}, auth: []string{"Bearer tok-a"}, want: "tok-a"},
		{name: "cookie and bearer different conflict", cookies: []string{"hd_session=tok-a"}, auth: []string{"Bearer tok-b"}, wantErr: session.ErrConflictingTokens},
		{name: "two session cookies differing conflict", cookies: []string{"hd_session=tok-a; hd_session=tok-b"}, wantErr: session.ErrConflictingTokens},
		{name: "session cookies differing across headers conflict", cookies: []string{"hd_session=tok-a", "hd_session=tok-b"}, wantErr: session.ErrConflictingTokens},
		{name: "two identical session cookies", cookies: []string{"hd_session=tok-a; x=1; hd_session=tok-a"}, want: "tok-a"},
		{name: "two bearer headers differing conflict", auth: []string{"Bearer tok-a", "Bearer tok-b"}, wantErr: session.ErrConflictingTokens},
		{name: "basic auth is ignored", cookies: []string{"hd_session=tok-a"}, auth: []string{"Basic dXNlcjpwYXNz"}, want: "tok-a"},
		{name: "basic auth alone is no token", auth: []string{"Basic dXNlcjpwYXNz"}, wantErr: session.ErrNoToken},
		{name: "no token", cookies: []string{"theme=dark"}, wantErr: session.ErrNoToken},
		{name: "no headers at all", wantErr: session.ErrNoToken},
		{name: "empty cookie value is no token", cookies: []string{"hd_session="}, wantErr: session.ErrNoToken},
		{name: "empty bearer credentials are no token", auth: []string{"Bearer "}, wantErr: session.ErrNoToken},
		{name: "cookie source off ignores the cookie", src: session.Source{Bearer: true}, cookies: []string{"hd_session=tok-a"}, auth: []string{"Bearer tok-b"}, want: "tok-b"},
		{name: "bearer source off ignores the header", src: session.Source{Cookie: "hd_session"}, cookies: []string{"hd_session=tok-a"}, auth: []string{"Bearer tok-b"}, want: "tok-a"},
		{name: "bearer source off and no cookie", src: session.Source{Cookie: "hd_session"}, auth: []string{"Bearer tok-b"}, wantErr: session.ErrNoToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.src
			if src == (session.Source{}) {
				src = both
			}
			r := httptest.NewRequest(http.MethodGet, "/apps/crm/", nil)
			r.Header["Cookie"] = tt.cookies
			r.Header["Authorization"] = tt.auth
			got, err := src.Token(r)
			if tt.wantErr != nil {
				checkError(t, err, tt.wantErr, "tok-a", "tok-b")
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Token = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestSourceStrip(t *testing.T) {
	src := session.Source{Cookie: "hd_session", Bearer: true}
	tests := []struct {
		name    string
		src     session.Source // src when zero
		cookies []string
		want    []string // nil: no Cookie header left
	}{
		{name: "session cookie in the middle", cookies: []string{"a=1; hd_session=tok; b=2"}, want: []string{"a=1; b=2"}},
		{name: "session cookie first", cookies: []string{"hd_session=tok; a=1"}, want: []string{"a=1"}},
		{name: "session cookie last", cookies: []string{"a=1; hd_session=tok"}, want: []string{"a=1"}},
		{name: "session cookie alone deletes the header", cookies: []string{"hd_session=tok"}, want: nil},
		{name: "every session cookie goes", cookies: []string{"hd_session=x; z=1; hd_session=y"}, want: []string{"z=1"}},
		{name: "other cookies kept byte for byte", cookies: []string{`a=1;b=2;  hd_session=tok;c="q v";d=`}, want: []string{`a=1;b=2;c="q v";d=`}},
		{name: "similar names are kept", cookies: []string{"hd_session2=x; hd_session=y; xhd_session=z"}, want: []string{"hd_session2=x; xhd_session=z"}},
		{name: "session cookie with spaces around its name", cookies: []string{"a=1;  hd_session =tok"}, want: []string{"a=1"}},
		{name: "session cookie without a value", cookies: []string{"hd_session; a=1"}, want: []string{"a=1"}},
		{name: "header without the session cookie is untouched", cookies: []string{"a=1;  b=2 ; c;"}, want: []string{"a=1;  b=2 ; c;"}},
		{name: "several cookie headers", cookies: []string{"a=1; hd_session=x", "hd_session=y", "b=2"}, want: []string{"a=1", "b=2"}},
		{name: "no cookie header", cookies: nil, want: nil},
		{name: "cookie source off keeps cookies", src: session.Source{Bearer: true}, cookies: []string{"hd_session=tok; a=1"}, want: []string{"hd_session=tok; a=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.src
			if s == (session.Source{}) {
				s = src
			}
			h := http.Header{
				"Cookie":  tt.cookies,
				"X-Other": {"kept"},
			}
			if tt.cookies == nil {
				delete(h, "Cookie")
			}
			s.Strip(h, func(string) bool { return false })
			got, ok := h["Cookie"]
			if tt.want == nil && ok {
				t.Errorf("Cookie = %q, want no header", got)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Cookie = %q, want %q", got, tt.want)
			}
			if h.Get("X-Other") != "kept" {
				t.Errorf("X-Other = %q, want kept", h.Get("X-Other"))
			}
		})
	}
}

// TestSourceStripAuthorization: only the Helpdesk's credential is taken
// from Authorization; a tool's own sign-in reaches it.
func TestSourceStripAuthorization(t *testing.T) {
	const helpdesk = "hd.token.sig"
	isHelpdesk := func(tok string) bool { return tok == helpdesk }
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	tests := []struct {
		name string
		src  session.Source
		in   []string
		want []string // nil: no Authorization header left
	}{
		{"tool's Basic sign-in is kept", session.Source{Cookie: "hd_session"}, []string{basic("ana", "pw")}, []string{basic("ana", "pw")}},
		{"tool's Basic sign-in is kept with a bearer source", session.Source{Bearer: true}, []string{basic("ana", "pw")}, []string{basic("ana", "pw")}},
		{"tool's own bearer token is kept without a bearer source", session.Source{Cookie: "hd_session"}, []string{"Bearer tool-token"}, []string{"Bearer tool-token"}},
		{"tool's other scheme is kept", session.Source{Cookie: "hd_session"}, []string{"Token abc", "Digest username=\"ana\""}, []string{"Token abc", "Digest username=\"ana\""}},
		{"every bearer goes with a bearer source", session.Source{Bearer: true}, []string{"Bearer x", "bearer  y", basic("a", "b")}, []string{basic("a", "b")}},
		{"Helpdesk token as bearer without a bearer source", session.Source{Cookie: "hd_session"}, []string{"Bearer " + helpdesk}, nil},
		{"Helpdesk token in another scheme", session.Source{Cookie: "hd_session"}, []string{"JWT  " + helpdesk + " "}, nil},
		{"Helpdesk token without a scheme", session.Source{Cookie: "hd_session"}, []string{helpdesk}, nil},
		{"Helpdesk token as the Basic password", session.Source{Cookie: "hd_session"}, []string{basic("ana", helpdesk)}, nil},
		{"Helpdesk token as the Basic user", session.Source{Cookie: "hd_session"}, []string{basic(helpdesk, "")}, nil},
		{"Helpdesk token after a tab", session.Source{Cookie: "hd_session"}, []string{"Bearer\t" + helpdesk}, nil},
		{"any bearer after a tab, with a bearer source", session.Source{Bearer: true}, []string{"bearer\tx"}, nil},
		{"Helpdesk token among the tool's", session.Source{Cookie: "hd_session"}, []string{basic("ana", "pw"), "Bearer " + helpdesk, "Bearer t"}, []string{basic("ana", "pw"), "Bearer t"}},
		{"bad Basic encoding is the tool's", session.Source{Cookie: "hd_session"}, []string{"Basic !!!"}, []string{"Basic !!!"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Authorization": slices.Clone(tt.in)}
			tt.src.Strip(h, isHelpdesk)
			if got, ok := h["Authorization"]; !slices.Equal(got, tt.want) || tt.want == nil && ok {
				t.Errorf("Authorization = %q; want %q", got, tt.want)
			}
		})
	}
}

// FuzzSourceCookies checks the session cookie reading and stripping
// against references: net/http's own cookie parsing for Token, and the
// plain split-and-join the stripping is specified as for Strip.
func FuzzSourceCookies(f *testing.F) {
	for _, seed := range []string{
		"hd_session=tok", ` hd_session = "tok" ; a=1`, "a=1;;hd_session=x;b", "hd_session=\"x", "hd_session=a b",
		"hd_session=a\\b; hd_session=a", "\thd_session=a\t;hd_session=\"a\"", "hd_session; hd_session=", ";;", "hd_session=é",
	} {
		f.Add(seed, "hd_session=tok")
	}
	src := session.Source{Cookie: "hd_session"}
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		lines := []string{line1, line2}
		if strings.Count(line1+line2, ";") >= 2999 {
			t.Skip("net/http reads no cookie of a request with more than 3000")
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Cookie"] = lines
		var want []string
		for _, c := range r.CookiesNamed(src.Cookie) {
			if c.Value != "" {
				want = append(want, c.Value)
			}
		}
		got, err := src.Token(r)
		switch {
		case len(want) == 0:
			if err != session.ErrNoToken {
				t.Fatalf("Token(%q) = %q, %v; net/http reads no session cookie", lines, got, err)
			}
		case slices.ContainsFunc(want, func(v string) bool { return v != want[0] }):
			if err != session.ErrConflictingTokens {
				t.Fatalf("Token(%q) = %q, %v; net/http reads %q", lines, got, err, want)
			}
		case err != nil || got != want[0]:
			t.Fatalf("Token(%q) = %q, %v; net/http reads %q", lines, got, err, want)
		}

		h := http.Header{"Cookie": slices.Clone(lines)}
		src.Strip(h, func(string) bool { return false })
		var wantKept []string
		for _, line := range lines {
			if line = stripReference(line, src.Cookie); line != "" {
				wantKept = append(wantKept, line)
			}
		}
		if !slices.Equal(h["Cookie"], wantKept) {
			t.Fatalf("Strip(%q) left %q; want %q", lines, h["Cookie"], wantKept)
		}
		// Reading and stripping agree: nothing Token could read is left.
		r.Header["Cookie"] = h["Cookie"]
		if tok, err := src.Token(r); err != session.ErrNoToken {
			t.Fatalf("after Strip(%q), Token reads %q, %v", lines, tok, err)
		}
		for _, line := range h["Cookie"] {
			for p := range cookies.Pairs(line) {
				if p.Name == src.Cookie {
					t.Fatalf("Strip(%q) left a pair named %q: %q", lines, src.Cookie, h["Cookie"])
				}
			}
		}
	})
}

// stripReference is the specification of stripping one Cookie header
// value: split on ';', drop the pairs named name (trimmed of ASCII
// whitespace, as net/http trims names), join what is left and trim the
// separators at either end; a value without the cookie stays as it is.
func stripReference(line, name string) string {
	pairs := strings.Split(line, ";")
	var kept []string
	for _, p := range pairs {
		if n, _, _ := strings.Cut(textproto.TrimString(p), "="); textproto.TrimString(n) != name {
			kept = append(kept, p)
		}
	}
	if len(kept) == len(pairs) {
		return line
	}
	return strings.Trim(strings.Join(kept, ";"), "; \t")
}
