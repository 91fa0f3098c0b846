package rewrite

import "testing"

// testOwnHosts are the OwnHosts of the Locations under test: the upstream's
// address and the gateway's host.
var testOwnHosts = []string{"10.0.0.5:8080", "helpdesk.example.com", "[::1]:9000", "[fd00::2]"}

// locationTests are the cases of TestLocationRewrite, for the prefix
// /apps/crm. An empty want means loc is returned unchanged.
var locationTests = []struct {
	name         string
	loc          string
	upstreamPath string
	want         string
}{
	{name: "root-relative path is prefixed", loc: "/login", upstreamPath: "/", want: "/apps/crm/login"},
	{name: "root is prefixed", loc: "/", upstreamPath: "/a", want: "/apps/crm/"},
	{name: "query and fragment are kept", loc: "/login?x=1#f", upstreamPath: "/", want: "/apps/crm/login?x=1#f"},
	{name: "upstream URL becomes a path", loc: "http://10.0.0.5:8080/login?next=%2Fx", upstreamPath: "/", want: "/apps/crm/login?next=%2Fx"},
	{name: "gateway URL becomes a path", loc: "https://helpdesk.example.com/x", upstreamPath: "/", want: "/apps/crm/x"},
	{name: "own host without port matches any port", loc: "https://helpdesk.example.com:8443/x", upstreamPath: "/", want: "/apps/crm/x"},
	{name: "own host is matched ignoring case", loc: "HTTPS://HelpDesk.Example.COM/x", upstreamPath: "/", want: "/apps/crm/x"},
	{name: "own IPv6 host", loc: "http://[::1]:9000/x", upstreamPath: "/", want: "/apps/crm/x"},
	{name: "own IPv6 host on another port is external", loc: "http://[::1]:9001/x", upstreamPath: "/"},
	{name: "own IPv6 host without port matches any port", loc: "http://[fd00::2]:8080/x", upstreamPath: "/", want: "/apps/crm/x"},
	{name: "own URL without path goes to the app root", loc: "http://10.0.0.5:8080", upstreamPath: "/a/b", want: "/apps/crm/"},
	{name: "own URL without path keeps its query", loc: "http://10.0.0.5:8080?x=1", upstreamPath: "/a/b", want: "/apps/crm/?x=1"},
	{name: "own URL path is not resolved against the request", loc: "http://10.0.0.5:8080/../x", upstreamPath: "/a/b", want: "/apps/crm/x"},
	{name: "upstream host on another port is external", loc: "http://10.0.0.5:9090/x", upstreamPath: "/"},
	{name: "external URL is unchanged", loc: "https://evil.example/", upstreamPath: "/"},
	{name: "own host as user information is external", loc: "https://10.0.0.5:8080@evil.example/", upstreamPath: "/"},
	{name: "protocol-relative external URL is unchanged", loc: "//evil.example/x", upstreamPath: "/"},
	{name: "protocol-relative own URL becomes a path", loc: "//10.0.0.5:8080/y", upstreamPath: "/", want: "/apps/crm/y"},
	{name: "relative path is resolved against the request directory", loc: "login", upstreamPath: "/a/b", want: "/apps/crm/a/login"},
	{name: "relative path from a directory", loc: "login", upstreamPath: "/a/b/", want: "/apps/crm/a/b/login"},
	{name: "relative parent cannot leave the prefix", loc: "../x", upstreamPath: "/", want: "/apps/crm/x"},
	{name: "relative parent from a subdirectory", loc: "../x", upstreamPath: "/a/b/c", want: "/apps/crm/a/x"},
	{name: "query-only reference keeps the request path", loc: "?q=1", upstreamPath: "/a/b", want: "/apps/crm/a/b?q=1"},
	{name: "fragment-only reference keeps the request path", loc: "#top", upstreamPath: "/a/b", want: "/apps/crm/a/b#top"},
	{name: "request path keeps its escaping", loc: "next", upstreamPath: "/my%20dir/page", want: "/apps/crm/my%20dir/next"},
	{name: "encoded slash of the request path stays data", loc: "orders", upstreamPath: "/api/queues/%2F/q", want: "/apps/crm/api/queues/%2F/orders"},
	{name: "encoded slash inside the app is kept", loc: "/api/queues/%2F/orders", upstreamPath: "/", want: "/apps/crm/api/queues/%2F/orders"},
	{name: "path under the prefix that climbs out once decoded", loc: "/apps/crm/..%2f..%2fadmin-console/settings?x#y", upstreamPath: "/", want: "/apps/crm/"},
	{name: "relative path that climbs into another app once decoded", loc: "..%2f..%2fadmin", upstreamPath: "/a/b", want: "/apps/crm/"},
	{name: "root-relative path that climbs out once decoded", loc: "/..%2F..%2F..%2Fauth", upstreamPath: "/", want: "/apps/crm/"},
	{name: "encoded backslash next to dots is data", loc: "/..%5c..%5cadmin", upstreamPath: "/", want: "/apps/crm/..%5c..%5cadmin"},
	{name: "own URL that climbs out once decoded", loc: "http://10.0.0.5:8080/x/..%2f..%2f..%2fother/", upstreamPath: "/", want: "/apps/crm/"},
	{name: "path already under the prefix is unchanged", loc: "/apps/crm/already", upstreamPath: "/"},
	{name: "prefix itself is unchanged", loc: "/apps/crm", upstreamPath: "/"},
	{name: "prefix with query is unchanged", loc: "/apps/crm?x=1", upstreamPath: "/"},
	{name: "own URL already under the prefix loses only its host", loc: "https://helpdesk.example.com/apps/crm/x?y", upstreamPath: "/", want: "/apps/crm/x?y"},
	{name: "path sharing the prefix's text is prefixed", loc: "/apps/crmx", upstreamPath: "/", want: "/apps/crm/apps/crmx"},
	{name: "dot segments cannot climb out", loc: "/../../etc", upstreamPath: "/", want: "/apps/crm/etc"},
	{name: "dot segments are removed before the prefix check", loc: "/apps/crm/../../etc", upstreamPath: "/", want: "/apps/crm/etc"},
	{name: "encoded dot segments cannot climb out", loc: "/apps/crm/%2e%2E/.%2e/etc", upstreamPath: "/", want: "/apps/crm/etc"},
	{name: "dot segments keep a trailing slash", loc: "/a/./b/../c/.", upstreamPath: "/", want: "/apps/crm/a/c/"},
	{name: "three dots are a name", loc: "/.../x", upstreamPath: "/", want: "/apps/crm/.../x"},
	{name: "escaping is kept", loc: "/caf%C3%A9/a%2Fb?q=a%20b#frag%20x", upstreamPath: "/", want: "/apps/crm/caf%C3%A9/a%2Fb?q=a%20b#frag%20x"},
	{name: "backslash names a host, as in browsers", loc: `/\evil.example`, upstreamPath: "/"},
	{name: "three slashes name a host, as in browsers", loc: "///evil.example", upstreamPath: "/"},
	{name: "backslash before an own host", loc: `/\helpdesk.example.com/admin`, upstreamPath: "/", want: "/apps/crm/admin"},
	{name: "backslashes in the path become slashes", loc: `/a\b`, upstreamPath: "/", want: "/apps/crm/a/b"},
	{name: "backslashes in the query are kept", loc: `/a?x=\y#\z`, upstreamPath: "/", want: `/apps/crm/a?x=\y#\z`},
	{name: "invalid escape in the path is kept", loc: "/reports/100%", upstreamPath: "/", want: "/apps/crm/reports/100%"},
	{name: "invalid escape in the fragment is kept", loc: "/a#%zz", upstreamPath: "/", want: "/apps/crm/a#%zz"},
	{name: "http without slashes is relative", loc: "http:/admin", upstreamPath: "/", want: "/apps/crm/admin"},
	{name: "https without slashes is relative", loc: "https:admin", upstreamPath: "/a/b", want: "/apps/crm/a/admin"},
	{name: "scheme in capitals", loc: "HTTP:/admin", upstreamPath: "/", want: "/apps/crm/admin"},
	{name: "backslashes after the scheme name a host", loc: `http:\\helpdesk.example.com\admin`, upstreamPath: "/", want: "/apps/crm/admin"},
	{name: "slash and backslash after the scheme name a host", loc: `https:/\helpdesk.example.com/admin`, upstreamPath: "/", want: "/apps/crm/admin"},
	{name: "many slashes after the scheme name a host", loc: "https:////helpdesk.example.com/admin", upstreamPath: "/", want: "/apps/crm/admin"},
	{name: "tab between slashes names a host", loc: "/\t/helpdesk.example.com/admin", upstreamPath: "/", want: "/apps/crm/admin"},
	{name: "newline in the scheme", loc: "ht\ntp://helpdesk.example.com/admin", upstreamPath: "/", want: "/apps/crm/admin"},
	{name: "leading controls and spaces are dropped", loc: " \x01/login ", upstreamPath: "/", want: "/apps/crm/login"},
	{name: "backslash ends the host", loc: `http://helpdesk.example.com\@evil.example/admin`, upstreamPath: "/", want: "/apps/crm/@evil.example/admin"},
	{name: "backslash in user information", loc: `http://evil.example\@helpdesk.example.com/`, upstreamPath: "/"},
	{name: "percent-encoded host", loc: "https://helpdesk%2eexample%2Ecom/admin", upstreamPath: "/", want: "/apps/crm/admin"},
	{name: "full-width host", loc: "http://\uff28\uff45\uff4c\uff50desk.example.com/x", upstreamPath: "/", want: "/apps/crm/x"},
	{name: "host with a trailing dot", loc: "http://helpdesk.example.com./x", upstreamPath: "/", want: "/apps/crm/x"},
	{name: "port with leading zeros", loc: "http://10.0.0.5:08080/x", upstreamPath: "/", want: "/apps/crm/x"},
	{name: "IPv4 in hexadecimal", loc: "http://0xa.0.0.5:8080/x", upstreamPath: "/", want: "/apps/crm/x"},
	{name: "IPv4 as one number", loc: "http://167772165:8080/x", upstreamPath: "/", want: "/apps/crm/x"},
	{name: "IPv4 in octal", loc: "http://012.0.0.05:8080/x", upstreamPath: "/", want: "/apps/crm/x"},
	{name: "own IPv6 host in capitals", loc: "http://[FD00::2]/x", upstreamPath: "/", want: "/apps/crm/x"},
	{name: "bad percent-encoding in the host is unchanged", loc: "http://helpdesk%zz/x", upstreamPath: "/"},
	{name: "empty location is unchanged", loc: "", upstreamPath: "/"},
	{name: "unparsable location is unchanged", loc: "http://[::1", upstreamPath: "/"},
	{name: "mailto is unchanged", loc: "mailto:x@y", upstreamPath: "/"},
	{name: "javascript is unchanged", loc: "javascript:alert(1)", upstreamPath: "/"},
	{name: "other scheme on an own host is unchanged", loc: "ftp://10.0.0.5:8080/x", upstreamPath: "/"},
}

func TestLocationRewrite(t *testing.T) {
	l := Location{Prefix: "/apps/crm", OwnHosts: testOwnHosts}
	for _, tt := range locationTests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = tt.loc
			}
			if got := l.Rewrite(tt.loc, tt.upstreamPath); got != want {
				t.Errorf("Rewrite(%q, %q) = %q, want %q", tt.loc, tt.upstreamPath, got, want)
			}
		})
	}
}

func TestLocationRewriteAtRoot(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		loc    string
		want   string
	}{
		{name: "path is kept under an empty prefix", loc: "/login?x", want: "/login?x"},
		{name: "own URL becomes a path under an empty prefix", loc: "http://10.0.0.5:8080/x", want: "/x"},
		{name: "leading slashes are merged so that no host is named", loc: "/.//evil.example/x", want: "/evil.example/x"},
		{name: "own URL with leading slashes names no host", loc: "http://10.0.0.5:8080//evil.example", want: "/evil.example"},
		{name: "slash prefix is taken as the root", prefix: "/", loc: "/.//evil.example", want: "/evil.example"},
		{name: "trailing slash of a prefix is ignored", prefix: "/apps/crm/", loc: "/x", want: "/apps/crm/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Location{Prefix: tt.prefix, OwnHosts: testOwnHosts}
			if got := l.Rewrite(tt.loc, "/"); got != tt.want {
				t.Errorf("Rewrite(%q) with prefix %q = %q, want %q", tt.loc, tt.prefix, got, tt.want)
			}
		})
	}
}

func TestRefreshRewrite(t *testing.T) {
	l := Location{Prefix: "/apps/crm", OwnHosts: testOwnHosts}
	for _, tt := range []struct{ value, want string }{
		{"0; url=/login", "0; url=/apps/crm/login"},
		{"5;URL='/a?b=1'", "5;URL='/apps/crm/a?b=1'"},
		{`1, url="next" trailing`, `1, url="/apps/crm/x/next" trailing`},
		{"0;/login", "0;/apps/crm/login"},
		{"  2.5 ;  url = http://helpdesk.example.com/x", "  2.5 ;  url = /apps/crm/x"},
		{"0; url=https://evil.example/", "0; url=https://evil.example/"},
		{"0; url=//helpdesk.example.com/admin", "0; url=/apps/crm/admin"},
		{"0; url=/apps/crm/..%2f..%2fadmin", "0; url=/apps/crm/"},
		{"30", "30"},
		{"0;", "0;"},
		{"soon; url=/x", "soon; url=/x"},
	} {
		if got := l.RewriteRefresh(tt.value, "/x/y"); got != tt.want {
			t.Errorf("RewriteRefresh(%q) = %q, want %q", tt.value, got, tt.want)
		}
	}
}
