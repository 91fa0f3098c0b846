package rewrite

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const testAppPath = "/apps/crm/"

// setCookieTests are the cases of TestSetCookie, for the app path
// testAppPath. An empty want means value is returned unchanged.
var setCookieTests = []struct {
	name  string
	value string
	want  string
}{
	{
		name:  "root path is scoped and domain removed, other attributes kept",
		value: "sid=1; Path=/; Domain=.example.com; HttpOnly; Secure; SameSite=None; Partitioned",
		want:  "sid=1; Path=/apps/crm/; HttpOnly; Secure; SameSite=None; Partitioned",
	},
	{name: "dot segments cannot climb out", value: "a=b; path=/x/../../y", want: "a=b; path=/apps/crm/y"},
	{name: "dot segments are cleaned before joining", value: "a=b; Path=/x/./y/../../../z/", want: "a=b; Path=/apps/crm/z/"},
	{name: "path under the app path that climbs out becomes the app path", value: "a=b; Path=/apps/crm/../x", want: "a=b; Path=/apps/crm/"},
	{name: "encoded slash that climbs into another app", value: "hda.admin.sid=planted; Path=/apps/crm/..%2fadmin/", want: "hda.admin.sid=planted; Path=/apps/crm/"},
	{name: "encoded slash that climbs out of the prefix", value: "a=b; Path=/..%2F..%2Fauth/refresh", want: "a=b; Path=/apps/crm/"},
	{name: "encoded slash inside the app is kept", value: "a=b; Path=/apps/crm/api/queues/%2F/"},
	{name: "encoded slash is scoped", value: "a=b; Path=/api/queues/%2F/", want: "a=b; Path=/apps/crm/api/queues/%2F/"},
	{name: "cookie without attributes is unchanged", value: "a=b"},
	{name: "cookie without path gets none", value: "a=b; Secure; HttpOnly"},
	{name: "path under the app path is kept", value: "a=b; Path=/apps/crm/z"},
	{name: "app path without trailing slash is kept", value: "a=b; Path=/apps/crm"},
	{name: "path sharing the app path's text is scoped", value: "a=b; Path=/apps/crmx", want: "a=b; Path=/apps/crm/apps/crmx"},
	{name: "path is scoped", value: "a=b; Path=/static", want: "a=b; Path=/apps/crm/static"},
	{name: "trailing slash of a path is kept", value: "a=b; Path=/static/", want: "a=b; Path=/apps/crm/static/"},
	{name: "domain is removed", value: "a=b; Domain=example.com", want: "a=b"},
	{name: "domain is removed whatever its case and spacing", value: "a=b;domain=x;DOMAIN = y ;  Domain;Secure", want: "a=b;Secure"},
	{name: "attribute named like domain is kept", value: "a=b; Domains=x; X-Domain=y"},
	{
		name:  "expires with its comma is kept",
		value: "a=b; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/",
		want:  "a=b; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/apps/crm/",
	},
	{name: "empty path becomes the app path", value: "a=b; Path=; Secure", want: "a=b; Path=/apps/crm/; Secure"},
	{name: "path without value becomes the app path", value: "a=b; Path", want: "a=b; Path=/apps/crm/"},
	{name: "relative path becomes the app path", value: "a=b; Path=static", want: "a=b; Path=/apps/crm/"},
	{name: "spacing of a scoped path is tidied", value: "a=b;  PATH = /x ; Secure", want: "a=b;  PATH=/apps/crm/x; Secure"},
	{name: "the last path attribute is the one scoped", value: "a=b; Path=/x; Path=/apps/crm/y; Path=/z", want: "a=b; Path=/apps/crm/z"},
	{name: "earlier path attributes go even when the last is kept", value: "a=b; path; Path=/apps/crm/y", want: "a=b; Path=/apps/crm/y"},
	{name: "many path attributes cannot amplify", value: "a=b" + strings.Repeat(";path", 1000), want: "a=b;path=/apps/crm/"},
	{name: "unknown attributes are kept", value: "a=b; Priority=High; Foo; Bar=baz;;Max-Age=0"},
	{name: "name and value are kept byte for byte", value: ` a = "b;c" ; Path=/`, want: ` a = "b;c" ; Path=/apps/crm/`},
	{name: "cookie named like an attribute is kept", value: "Domain=x; Path=/", want: "Domain=x; Path=/apps/crm/"},
}

func TestSetCookie(t *testing.T) {
	for _, tt := range setCookieTests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = tt.value
			}
			if got := SetCookie(tt.value, testAppPath); got != want {
				t.Errorf("SetCookie(%q)\n got %q\nwant %q", tt.value, got, want)
			}
		})
	}
}

func TestCookieName(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  string
	}{
		{name: "name before the equals sign", value: "sid=1; Path=/", want: "sid"},
		{name: "whitespace is trimmed", value: " sid \t=1", want: "sid"},
		{name: "value may hold equals signs", value: "sid=a=b", want: "sid"},
		{name: "nameless cookie is named by its value", value: "=sid=1; Path=/", want: "sid"},
		{name: "cookie without equals sign is named by its value", value: "sid; Path=/", want: "sid"},
		{name: "empty value has no name", value: "", want: ""},
		{name: "lone equals sign has no name", value: "=; Path=/", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CookieName(tt.value); got != tt.want {
				t.Errorf("CookieName(%q) = %q, want %q", tt.value, got, tt.want)
			}
		})
	}
}

func TestScopeSetCookies(t *testing.T) {
	dropSession := func(name string) bool { return name == "helpdesk_session" }
	tests := []struct {
		name string
		in   []string
		drop func(string) bool
		want []string // nil when no Set-Cookie header must remain
	}{
		{
			name: "every value is scoped in order",
			in:   []string{"a=1; Path=/", "b=2; Domain=example.com", "c=3"},
			want: []string{"a=1; Path=/apps/crm/", "b=2", "c=3"},
		},
		{
			name: "values whose name is dropped are removed",
			in:   []string{"a=1; Path=/", "helpdesk_session=x; Path=/", "b=2"},
			drop: dropSession,
			want: []string{"a=1; Path=/apps/crm/", "b=2"},
		},
		{
			name: "nameless cookie that browsers send as a dropped name is removed",
			in:   []string{"=helpdesk_session=x; Path=/", " helpdesk_session =y", "a=1"},
			drop: dropSession,
			want: []string{"a=1"},
		},
		{
			name: "header is removed when every value is dropped",
			in:   []string{"helpdesk_session=x"},
			drop: dropSession,
		},
		{
			name: "nothing is dropped without a drop function",
			in:   []string{"helpdesk_session=x; Path=/"},
			want: []string{"helpdesk_session=x; Path=/apps/crm/"},
		},
		{
			name: "response without cookies is left alone",
			drop: dropSession,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"text/html"}}
			if tt.in != nil {
				h["Set-Cookie"] = tt.in
			}
			ScopeSetCookies(h, testAppPath, tt.drop)
			if got := h["Set-Cookie"]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Set-Cookie = %q, want %q", got, tt.want)
			}
			if _, ok := h["Set-Cookie"]; ok && tt.want == nil {
				t.Error("empty Set-Cookie header left in place")
			}
			if got := h.Get("Content-Type"); got != "text/html" {
				t.Errorf("Content-Type = %q, want it untouched", got)
			}
		})
	}
}

func TestSetCookieAllocations(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  float64
	}{
		{name: "unchanged cookie allocates nothing", value: "sid=1; Path=/apps/crm/x; Secure; HttpOnly; SameSite=Lax", want: 0},
		{name: "unchanged path with trailing slash allocates nothing", value: "sid=1; Path=/apps/crm/", want: 0},
		{name: "edited cookie allocates once", value: "sid=1; Path=/; Domain=example.com; Secure; HttpOnly", want: 1},
		{name: "scoped clean path with trailing slash allocates once", value: "sid=1; Path=/static/", want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(100, func() { SetCookie(tt.value, testAppPath) })
			if allocs != tt.want {
				t.Errorf("SetCookie(%q) allocated %v times, want %v", tt.value, allocs, tt.want)
			}
		})
	}
}

func TestPrefixSetCookie(t *testing.T) {
	for in, want := range map[string]string{
		"session=abc; Path=/; HttpOnly": "hda.crm.session=abc; Path=/; HttpOnly",
		"  sid=1":                       "  hda.crm.sid=1",
		"__Host-id=x; Secure; Path=/":   "hda.crm.__Host-id=x; Secure; Path=/",
	} {
		if got := PrefixSetCookie(in, "hda.crm."); got != want {
			t.Errorf("PrefixSetCookie(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestIsolateCookies(t *testing.T) {
	cases := []struct {
		name string
		in   []string
		want []string
	}{
		{"only the app's cookies, unprefixed", []string{"hd_session=tok; hda.crm.session=a; theme=dark; hda.wiki.session=b"}, []string{"session=a"}},
		{"several headers joined", []string{"hda.crm.a=1", "x=2; hda.crm.b=2"}, []string{"a=1; b=2"}},
		{"nothing of the app's: header dropped", []string{"hd_session=tok; theme=dark"}, nil},
		{"a bare prefix is no cookie", []string{"hda.crm.=x; hda.crm."}, nil},
		{"a longer app id is another app", []string{"hda.crm2.session=z; hda.crm.s=1"}, []string{"s=1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{"Cookie": c.in}
			IsolateCookies(h, "hda.crm.")
			if got := h["Cookie"]; !slices.Equal(got, c.want) {
				t.Errorf("Cookie = %q; want %q", got, c.want)
			}
		})
	}
}
