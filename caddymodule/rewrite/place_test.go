package rewrite

import (
	"errors"
	"testing"
)

func TestLocate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path string
		want       Place
		ambiguous  bool
	}{
		{name: "outside the prefix", path: "/helpdesk/tickets", want: Place{}},
		{name: "root", path: "/", want: Place{}},
		{name: "text shared with the prefix", path: "/appsx/crm/", want: Place{}},
		{name: "prefix in another case", path: "/APPS/crm/", want: Place{}},
		{name: "the prefix itself", path: "/apps", want: Place{Under: true}},
		{name: "the prefix with a slash", path: "/apps/", want: Place{Under: true}},
		{name: "an app without a slash", path: "/apps/crm", want: Place{Under: true, Name: "crm"}},
		{name: "an app's root", path: "/apps/crm/", want: Place{Under: true, Name: "crm", Rest: "/"}},
		{name: "a page of an app", path: "/apps/crm/a/b.html", want: Place{Under: true, Name: "crm", Rest: "/a/b.html"}},
		{name: "dot segments resolved", path: "/apps/x/../crm/./a/", want: Place{Under: true, Name: "crm", Rest: "/a/"}},
		{name: "encoded dot segments resolved", path: "/apps/x/%2E%2e/crm/.%2e/crm/a", want: Place{Under: true, Name: "crm", Rest: "/a"}},
		{name: "dot segments cannot climb above the root", path: "/../../apps/crm/a", want: Place{Under: true, Name: "crm", Rest: "/a"}},
		{name: "runs of slashes after the app collapse", path: "/apps/crm//a///b", want: Place{Under: true, Name: "crm", Rest: "/a/b"}},
		{name: "encoded slash inside the app is kept", path: "/apps/mq/api/queues/%2F/orders", want: Place{Under: true, Name: "mq", Rest: "/api/queues/%2F/orders"}},
		{name: "encoded slashes inside a segment are kept", path: "/apps/git/p/group%2fsub%2Fproject", want: Place{Under: true, Name: "git", Rest: "/p/group%2fsub%2Fproject"}},
		{name: "encoded backslash next to dots is data", path: "/apps/crm/..%5C..%5Cx", want: Place{Under: true, Name: "crm", Rest: "/..%5C..%5Cx"}},
		{name: "invalid escape is data", path: "/apps/crm/100%", want: Place{Under: true, Name: "crm", Rest: "/100%"}},
		{name: "dots outside the prefix that stay outside", path: "/a/%2e%2e/b", want: Place{}},

		{name: "encoded slash from one app into another", path: "/apps/vault/..%2fcrm/steal", ambiguous: true},
		{name: "encoded slash from the Helpdesk into an app", path: "/auth/refresh/..%2f..%2fapps/crm/x", ambiguous: true},
		{name: "encoded slash out of the prefix", path: "/apps/crm/..%2f..%2fadmin-console/settings", ambiguous: true},
		{name: "encoded slash into another app, deeper", path: "/apps/crm/a/..%2F..%2Fadmin/x", ambiguous: true},
		{name: "encoded slash inside the app id", path: "/apps/crm%2f..%2fvault/", ambiguous: true},
		{name: "encoded prefix separator", path: "/apps%2Fcrm/", ambiguous: true},
		{name: "escaped letter in the prefix", path: "/%61pps/crm/", ambiguous: true},
		{name: "escaped letter in the app id", path: "/apps/cr%6D/", ambiguous: true},
		{name: "double slash before the app id", path: "/apps//crm/", ambiguous: true},
		{name: "empty app id", path: "/apps//", ambiguous: true},
		{name: "dot segment once decoded, inside the app", path: "/apps/crm/a/..%2fb", ambiguous: true},
		{name: "dot segment hidden in an encoded slash pair", path: "/apps/crm/%2F..%2F", ambiguous: true},
		{name: "segment popped whole by the browser, in part decoded", path: "/apps/crm%2fx/../vault/", ambiguous: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Locate(tt.path, "/apps")
			if tt.ambiguous {
				if !errors.Is(err, ErrAmbiguousPath) {
					t.Errorf("Locate(%q) = %+v, %v; want ErrAmbiguousPath", tt.path, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Locate(%q) = %+v, %v; want %+v", tt.path, got, err, tt.want)
			}
		})
	}
}

func TestWithin(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		path string
		want bool
	}{
		{"/apps/crm", true},
		{"/apps/crm/", true},
		{"/apps/crm/x/%2F/y", true},
		{"/apps/crmx/", false},
		{"/apps/vault/", false},
		{"/apps/", false},
		{"/", false},
		{"/apps/crm/..%2fvault/", false},
		{"/apps/crm/x/../../vault/", false},
		{"/apps/vault/../crm/x", true},
	} {
		if got := Within(tt.path, "/apps/crm"); got != tt.want {
			t.Errorf("Within(%q, /apps/crm) = %v; want %v", tt.path, got, tt.want)
		}
	}
	if !Within("/anything/..%2f", "") {
		t.Error("Within(…, \"\") = false; every path is within an empty prefix")
	}
}

func TestLocatePlainPathDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Locate("/apps/crm/static/app.js", "/apps"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Locate allocated %v times for a plain path; want 0", allocs)
	}
}
