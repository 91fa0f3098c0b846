package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// consoleTraces fetches the traces tok's user sees.
func fetchTraces(t *testing.T, base, tok, query string) (int, []trace) {
	t.Helper()
	resp, body := get(t, base+"/apps/_api/console/trace"+query, "", "Authorization", "Bearer "+tok)
	var out struct {
		Seq     uint64  `json:"seq"`
		Entries []trace `json:"entries"`
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, out.Entries
}

// TestConsoleTracesTheDevelopersRequests asks for a legacy page as a
// document and its data with fetch, as an admin using the console: the
// console tells why the shim went into one and not the other, and what
// the gateway changed. Other users' requests are not traced, and no one
// sees another's.
func TestConsoleTracesTheDevelopersRequests(t *testing.T) {
	tool := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("X-Frame-Options", "DENY")
			w.Header().Set("Clear-Site-Data", `"cookies"`)
			w.Header().Add("Set-Cookie", "sid=1; Path=/; HttpOnly")
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, "<!doctype html><head><title>tool</title></head><body>hi</body>")
		case "/old":
			http.Redirect(w, r, "/new", http.StatusFound)
		case "/fragment":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<li>an item</li>")
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"ok":true}`)
		}
	}))
	t.Cleanup(tool.Close)
	base := startCaddy(t, fmt.Sprintf(`
	helpdesk_apps {
		session {
			hmac_secret %s
		}
		console
		app crm {
			to %s
		}
	}`, testSecret, strings.TrimPrefix(tool.URL, "http://")))
	dev := agent("admin", 1)
	dev.Subject = "u-dev"
	devTok := token(t, dev)
	other := agent("owner", 1)
	other.Subject = "u-other"
	otherTok, agentTok := token(t, other), token(t, agent("agent", 1))

	auth := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	get(t, base+"/apps/crm/", "", append(auth(devTok), "Sec-Fetch-Dest", "iframe", "Accept", "text/html")...)
	get(t, base+"/apps/crm/data.json", "", append(auth(devTok), "Sec-Fetch-Dest", "empty", "Accept", "application/json")...)
	get(t, base+"/apps/crm/fragment", "", append(auth(devTok), "Sec-Fetch-Dest", "empty", "Accept", "text/html")...)
	get(t, base+"/apps/crm/old", "", auth(devTok)...)
	get(t, base+"/apps/crm/", "", append(auth(agentTok), "Sec-Fetch-Dest", "iframe")...)
	get(t, base+"/apps/crm/other", "", auth(otherTok)...)

	status, traces := fetchTraces(t, base, devTok, "?app=crm")
	if status != http.StatusOK || len(traces) != 4 {
		t.Fatalf("the developer's traces: %d %+v", status, traces)
	}
	page, data, fragment, redirect := traces[0], traces[1], traces[2], traces[3]
	if page.Path != "/apps/crm/" || !page.Document || !page.Shim || page.Body != reasonInject || page.ShimAs != "a same-origin script" ||
		!slices.Equal(page.DroppedHeaders, []string{"X-Frame-Options", "Clear-Site-Data"}) ||
		!slices.Equal(page.Cookies, []string{"sid: Path=/ → /apps/crm/ as sid"}) || page.Status != 200 {
		t.Errorf("the page's trace: %+v", page)
	}
	if data.Document || data.Shim || data.Body != reasonKind || data.ContentType != "application/json" {
		t.Errorf("the JSON fetch's trace: %+v", data)
	}
	if fragment.Document || fragment.Shim || fragment.Body != reasonNotDoc {
		t.Errorf("the HTML fetch's trace: %+v", fragment)
	}
	if redirect.Location != "/new → /apps/crm/new" || redirect.Status != http.StatusFound {
		t.Errorf("the redirect's trace: %+v", redirect)
	}
	if _, newer := fetchTraces(t, base, devTok, fmt.Sprintf("?app=crm&after=%d", fragment.Seq)); len(newer) != 1 || newer[0].Seq != redirect.Seq {
		t.Errorf("traces after %d: %+v", fragment.Seq, newer)
	}
	if _, theirs := fetchTraces(t, base, otherTok, ""); len(theirs) != 1 || theirs[0].Path != "/apps/crm/other" {
		t.Errorf("another admin sees %+v", theirs)
	}
	if status, _ := fetchTraces(t, base, agentTok, ""); status != http.StatusForbidden {
		t.Errorf("an agent's traces: %d", status)
	}
}
