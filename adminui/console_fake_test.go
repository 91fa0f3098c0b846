package adminui

// A fake of what the console talks to, for the browser tests: the gateway's
// /me, /apps and console trace endpoints, and two apps it "proxies": demo
// (an order lookup, in the ticket sidebar) and wiki (a popup of the main
// menu). Each request to an app is traced as the gateway would trace it.

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// traceEntry is one decision of the gateway, as /_api/console/trace lists it.
type traceEntry struct {
	Seq            int      `json:"seq"`
	At             string   `json:"at"`
	App            string   `json:"app"`
	Method         string   `json:"method"`
	Path           string   `json:"path"`
	Status         int      `json:"status"`
	Document       bool     `json:"document"`
	ContentType    string   `json:"content_type"`
	Body           string   `json:"body"`
	Shim           bool     `json:"shim"`
	ShimAs         string   `json:"shim_as,omitempty"`
	Rewrite        bool     `json:"rewrite"`
	DroppedHeaders []string `json:"dropped_headers"`
	Cookies        []string `json:"cookies"`
	Location       string   `json:"location,omitempty"`
	Notes          []string `json:"notes"`
}

// Reasons the gateway gives for what it did to a body.
const (
	reasonInjected    = "shim injected"
	reasonNotDocument = "not a document request (a fetch or XHR), and no links to rewrite"
	reasonNotHTML     = "not HTML or CSS in an ASCII-compatible charset"
	reasonCoding      = "a content coding the gateway does not decode"
)

// fakeGateway serves the console's APIs and the apps.
type fakeGateway struct {
	mu          sync.Mutex
	meStatus    int // when not 0, /me answers it
	traceStatus int // when not 0, the trace answers it
	seq         int
	entries     []traceEntry
	queries     []string // the trace's query strings, in order
}

func newFakeGateway() *fakeGateway {
	// Requests of earlier sessions: the console must not show them.
	f := &fakeGateway{}
	f.record(traceEntry{App: "demo", Method: "GET", Path: "/apps/demo/old-session", Status: 200, Document: true,
		ContentType: "text/html; charset=utf-8", Body: reasonInjected, Shim: true})
	return f
}

func (f *fakeGateway) set(me, trace int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.meStatus, f.traceStatus = me, trace
}

func (f *fakeGateway) record(e traceEntry) {
	f.seq++
	e.Seq = f.seq
	e.At = time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
	if e.DroppedHeaders == nil {
		e.DroppedHeaders = []string{}
	}
	if e.Cookies == nil {
		e.Cookies = []string{}
	}
	if e.Notes == nil {
		e.Notes = []string{}
	}
	f.entries = append(f.entries, e)
}

// traceQueries returns the trace's query strings so far.
func (f *fakeGateway) traceQueries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queries...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// deny answers as the gateway's API does.
func deny(w http.ResponseWriter, status int) {
	writeJSON(w, status, map[string]any{"status": status, "error": strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_")), "message": http.StatusText(status)})
}

func (f *fakeGateway) serveMe(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	status := f.meStatus
	f.mu.Unlock()
	if status != 0 {
		deny(w, status)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"user":       map[string]any{"id": "u-1", "name": "Olivia Owner", "email": "olivia@example.com", "role": "owner", "division_id": "1"},
		"expires_at": 1893456000, "can_manage": true, "settings_url": "/apps/_admin/",
	})
}

func (f *fakeGateway) serveApps(w http.ResponseWriter, r *http.Request) {
	origin := "http://" + r.Host
	writeJSON(w, http.StatusOK, map[string]any{"apps": []map[string]any{
		{"id": "demo", "name": "Order lookup", "placement": "ticket_sidebar", "mode": "embed", "url": origin + "/apps/demo/", "favorite": true, "order": 0},
		{"id": "wiki", "name": "Team wiki", "placement": "main_menu", "mode": "popup", "url": origin + "/apps/wiki/", "favorite": false, "order": 1},
	}})
}

func (f *fakeGateway) serveTrace(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, r.URL.RawQuery)
	if f.traceStatus != 0 {
		deny(w, f.traceStatus)
		return
	}
	app := r.URL.Query().Get("app")
	after, err := strconv.Atoi(r.URL.Query().Get("after"))
	if app == "" || err != nil {
		deny(w, http.StatusBadRequest)
		return
	}
	entries := []traceEntry{}
	for _, e := range f.entries {
		if e.App == app && e.Seq > after {
			entries = append(entries, e)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"seq": f.seq, "entries": entries})
}

// serveApp serves the apps under /apps/<id>/ and traces each request as
// the gateway would: whether it loads a document, and what became of the
// shim.
func (f *fakeGateway) serveApp(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/apps/")
	app, _, _ := strings.Cut(rest, "/")
	dest := r.Header.Get("Sec-Fetch-Dest")
	document := dest == "document" || dest == "iframe" || dest == "frame"
	e := traceEntry{App: app, Method: r.Method, Path: r.URL.Path, Document: document}
	rec := &statusRecorder{ResponseWriter: w}
	switch r.URL.Path {
	case "/apps/demo/":
		http.SetCookie(w, &http.Cookie{Name: "demo_session", Value: "s-1", Path: "/apps/demo/", HttpOnly: true})
		e.Cookies = []string{"demo_session: Path=/ → /apps/demo/"}
		e.DroppedHeaders = []string{"X-Frame-Options"}
		servePage(rec, demoPage)
	case "/apps/demo/data.json":
		rec.Header().Set("Content-Type", "application/json")
		_, _ = rec.Write([]byte(demoOrder))
	case "/apps/demo/legacy":
		// An upstream that compressed its page with brotli: the gateway
		// passes it on as it is, without the shim.
		e.Notes = []string{"the upstream sent Content-Encoding: br"}
		servePage(rec, strings.Replace(demoPage, shimTag("demo"), "", 1))
	case "/apps/wiki/":
		e.Location = "/home → /apps/wiki/home"
		http.Redirect(rec, r, "/apps/wiki/home", http.StatusFound)
	case "/apps/wiki/home":
		servePage(rec, wikiPage)
	default:
		http.NotFound(rec, r)
	}
	e.Status = rec.status
	e.ContentType = rec.Header().Get("Content-Type")
	html := strings.HasPrefix(e.ContentType, "text/html")
	switch {
	case r.URL.Path == "/apps/demo/legacy":
		e.Body = reasonCoding
	case !document:
		e.Body = reasonNotDocument
	case !html:
		e.Body = reasonNotHTML
	case e.Status/100 != 2:
		e.Body = "not a 2xx response"
	default:
		e.Body, e.Shim, e.ShimAs = reasonInjected, true, "a same-origin script"
	}
	f.mu.Lock()
	f.record(e)
	f.mu.Unlock()
}

func servePage(w http.ResponseWriter, page string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(page))
}

// shimTag is the shim's script element as the gateway injects it into an
// app's page, for a Helpdesk on the gateway's own origin.
func shimTag(app string) string {
	return `<script src="/apps/_bridge/client.js" data-helpdesk-app="` + app + `" data-helpdesk-origins="self"></script>`
}

const demoOrder = `{"order_number":"55-1234","placed_at":"2026-11-18","carrier":"JNE Express","shipping":"delivered",
"items":[{"sku":"MUG-BLU","name":"Ceramic mug, blue","qty":2,"price":"12.00"},{"sku":"TEA-SNC","name":"Sencha tea, 100 g","qty":1,"price":"8.50"}]}`

// appStyle is the look of the fake apps.
const appStyle = `<style>
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: #1b2130; background: #fff; }
header { display: flex; align-items: center; gap: 10px; padding: 12px 16px; border-bottom: 1px solid #e3e6eb; }
.logo { width: 30px; height: 30px; border-radius: 8px; color: #fff; display: grid; place-items: center; font-weight: 700; flex: none; }
h1 { font-size: 15px; margin: 0; }
.sub { color: #5b6476; font-size: 12.5px; }
.pill { margin-left: auto; font-size: 12px; font-weight: 600; padding: 2px 9px; border-radius: 999px; background: #f0f1f4; color: #5b6476; }
.pill.on { background: #e7f5ec; color: #1c7f48; }
main { padding: 14px 16px; display: grid; gap: 12px; }
.card { border: 1px solid #e3e6eb; border-radius: 10px; padding: 11px 14px; }
.label { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: #8991a1; font-weight: 650; margin-bottom: 4px; }
.big { font-size: 15px; font-weight: 600; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
td { padding: 5px 0; border-top: 1px solid #f0f2f5; }
td:last-child { text-align: right; color: #5b6476; }
.status { display: inline-block; font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 6px; background: #fff6e0; color: #8a5a00; }
ol { margin: 0; padding-left: 18px; color: #5b6476; font: 12px/1.6 ui-monospace, monospace; }
</style>`

// demoPage is the order lookup: it shows the ticket and the user it is
// given, the order of the ticket's order_number, and what it received.
var demoPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">` + shimTag("demo") + `
<title>Order lookup</title>` + appStyle + `
<style>.logo { background: #0f9d8a; }</style>
</head>
<body>
<header><span class="logo">O</span><div><h1>Order lookup</h1><div class="sub" id="who">Waiting for the Helpdesk…</div></div><span class="pill" id="conn">offline</span></header>
<main>
  <section class="card"><div class="label">Ticket</div><div class="big" id="ticket-subject">No ticket</div><div class="sub" id="ticket-meta"></div></section>
  <section class="card"><div class="label">Order <span id="order-number"></span></div>
    <div class="sub" id="shipping">Loading…</div>
    <table id="items"></table></section>
  <section class="card"><div class="label">Received</div><ol id="events"></ol></section>
</main>
<script>
window.received = [];
const $ = (s) => document.querySelector(s);
function note(event) {
  window.received.push(event);
  const li = document.createElement("li");
  li.textContent = event;
  $("#events").append(li);
}
function showTicket(t) {
  if (!t) return;
  $("#ticket-subject").textContent = t.subject;
  const field = (t.custom_fields || []).find((f) => f.name === "order_number");
  $("#ticket-meta").textContent = "#" + t.sequential_id + " · " + t.status + " · " + t.priority + " · " + (t.requester ? t.requester.name : "");
  $("#order-number").textContent = field ? field.value : "";
}
// Served without the shim (legacy), the page works on its own.
const hd = window.HelpdeskApps;
if (hd) {
  hd.on("helpdesk:context:user", (p) => { note("context:user"); $("#who").textContent = "Signed in as " + p.user.name; });
  hd.on("helpdesk:context:ticket", (p) => { note("context:ticket"); showTicket(p.ticket); });
  hd.on("helpdesk:ticket:update", (p) => { note("ticket:update " + p.ticket.subject); showTicket(p.ticket); });
  hd.on("helpdesk:context:app", (p) => {
    note("context:app");
    $("#conn").textContent = "connected";
    $("#conn").className = "pill on";
    hd.getUser().catch(() => {});
  });
}
fetch("data.json").then((r) => r.json()).then((o) => {
  $("#shipping").innerHTML = "";
  $("#shipping").append("Placed " + o.placed_at + " · " + o.carrier + " · ");
  const s = document.createElement("span");
  s.className = "status";
  s.textContent = o.shipping;
  $("#shipping").append(s);
  for (const it of o.items) {
    const tr = document.createElement("tr");
    for (const v of [it.qty + " × " + it.name, "$" + it.price]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.append(td);
    }
    $("#items").append(tr);
  }
});
</script>
</body></html>`

// wikiPage is a popup that asks for the size it wants, and for a ticket it
// may not have.
var wikiPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">` + shimTag("wiki") + `
<title>Team wiki</title>` + appStyle + `
<style>.logo { background: #8b5cf6; } a { color: #2e5bd7; }</style>
</head>
<body>
<header><span class="logo">W</span><div><h1>Team wiki</h1><div class="sub">Answers for agents</div></div><span class="pill" id="conn">offline</span></header>
<main>
  <section class="card"><div class="label">Popular</div>
    <div><a href="#">Refunds for damaged parcels</a></div><div><a href="#">Courier claim forms</a></div><div><a href="#">Replacement orders</a></div></section>
</main>
<script>
window.received = [];
HelpdeskApps.on("helpdesk:context:app", () => {
  window.received.push("context:app");
  document.querySelector("#conn").textContent = "connected";
  document.querySelector("#conn").className = "pill on";
  HelpdeskApps.resize(380, 300);
  HelpdeskApps.getTicket().catch((err) => window.received.push("getTicket " + err.code));
});
</script>
</body></html>`
