package caddymodule

// Tests of the API under <prefix>/_api/: the manifest, its CORS and its
// methods.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/helpdeskapps/gateway/caddymodule/api"
)

func TestManifestListsTheAppsTheUserMayOpen(t *testing.T) {
	up := newUpstream(t)
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			hmac_secret %s
		}
		app zed {
			name "Zed"
			placement ticket_sidebar
			mode popup
			icon https://icons.test/z.png
			to %[2]s
		}
		app alpha {
			name "Alpha"
			order 5
			to %[2]s
		}
		app beta {
			name "Beta"
			order 5
			favorite
			to %[2]s
		}
		app first {
			name "First"
			order -1
			to %[2]s
		}
		app admins {
			roles admin
			to %[2]s
		}
		app div3 {
			divisions 3
			to %[2]s
		}
		app hidden {
			disabled
			to %[2]s
		}
	}`, testSecret, up.URL))
	c := agent("agent", 7)
	c.Issuer, c.Audience = "", nil
	tok := token(t, c)

	ids := func(query string) []string {
		resp, body := get(t, base+"/apps/_api/apps"+query, tok)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var m struct{ Apps []api.ManifestApp }
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range m.Apps {
			out = append(out, a.ID)
			if a.URL != base+"/apps/"+a.ID+"/" {
				t.Errorf("%s: url %q; want the absolute %q", a.ID, a.URL, base+"/apps/"+a.ID+"/")
			}
			if a.ID == "zed" && (a.Icon != "https://icons.test/z.png" || a.Mode != "popup" || a.Placement != "ticket_sidebar") {
				t.Errorf("zed: %+v", a)
			}
		}
		return out
	}
	if got, want := ids(""), []string{"beta", "first", "zed", "alpha"}; !slices.Equal(got, want) {
		t.Errorf("apps %q; want %q (favorites, then order, then name; only what the user may open)", got, want)
	}
	if got, want := ids("?placement=ticket_sidebar"), []string{"zed"}; !slices.Equal(got, want) {
		t.Errorf("ticket_sidebar apps %q; want %q", got, want)
	}
	if resp, _ := get(t, base+"/apps/_api/apps", ""); resp.StatusCode != 401 {
		t.Errorf("manifest without a session: status %d; want 401", resp.StatusCode)
	}
	resp, body := get(t, base+"/apps/_api/me", tok)
	if resp.StatusCode != 200 || !strings.Contains(body, `"role":"agent"`) || !strings.Contains(body, `"division_id":"7"`) {
		t.Errorf("me: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, base+"/apps/_api/nope", tok); resp.StatusCode != 404 {
		t.Errorf("unknown API endpoint: status %d; want 404", resp.StatusCode)
	}
}

func TestAPIAllowsTheHelpdeskOriginOnly(t *testing.T) {
	g := startGateway(t, "")
	tok := token(t, agent("agent", 3))
	resp, _ := get(t, g.url+"/apps/_api/apps", tok, "Origin", "https://helpdesk.test")
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://helpdesk.test" || resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("Helpdesk origin not allowed: %v", resp.Header)
	}
	resp, _ = get(t, g.url+"/apps/_api/apps", tok, "Origin", "https://evil.test")
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("foreign origin allowed: %q", got)
	}
	req, _ := http.NewRequest(http.MethodOptions, g.url+"/apps/_api/apps", nil)
	req.Header.Set("Origin", "https://helpdesk.test")
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "authorization")
	resp, _ = do(t, req)
	if resp.StatusCode != http.StatusNoContent || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestAPIRefusesOtherMethods checks the 405 of the API: Allow, and a body
// that says what the API answers.
func TestAPIRefusesOtherMethods(t *testing.T) {
	g := startGateway(t, "")
	req, err := http.NewRequest(http.MethodPost, g.url+"/apps/_api/apps", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token(t, agent("agent", 3)))
	resp, body := do(t, req)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("status %d, Allow %q; want 405, GET, HEAD", resp.StatusCode, resp.Header.Get("Allow"))
	}
	var e struct{ Message string }
	if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e.Message, "GET and HEAD") {
		t.Errorf("body %s: want a message naming GET and HEAD", body)
	}
}
