package caddymodule

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/helpdeskapps/gateway/caddymodule/rewrite"
	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// ConsoleConfig turns on the developer console at `<prefix>/_console/`:
// it mounts an app as the Helpdesk would, with a user and a ticket the
// developer edits, logs the protocol, and shows what the gateway decided
// for each of the developer's own requests to the app, and why.
type ConsoleConfig struct {
	// Roles that may use the console. Default: `admin`, `owner`.
	Roles []string `json:"roles,omitempty"`
}

// consoleTraces is how many traces the console keeps, of all its users.
const consoleTraces = 200

// console is the developer console of one Handler: who may use it, and
// the traces of their recent requests to apps.
type console struct {
	roles []string

	mu     sync.Mutex
	seq    uint64
	traces []*trace
}

// trace is what the gateway decided for one request to an app, as the
// console shows it.
type trace struct {
	Seq    uint64    `json:"seq"`
	At     time.Time `json:"at"`
	App    string    `json:"app"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Status int       `json:"status"`
	// Document is set for a request that loads a document or a frame.
	Document    bool   `json:"document"`
	ContentType string `json:"content_type"`
	// Body says what happened to the body, or why nothing did; Shim and
	// Rewrite tell whether the shim went in and links were rewritten,
	// and ShimAs how the shim's element was made to run.
	Body    string `json:"body"`
	Shim    bool   `json:"shim"`
	ShimAs  string `json:"shim_as,omitempty"`
	Rewrite bool   `json:"rewrite"`
	// DroppedHeaders are the app's headers the gateway removed; Cookies
	// the cookies it scoped, renamed or dropped; Location a redirect it
	// moved into the app.
	DroppedHeaders []string `json:"dropped_headers"`
	Cookies        []string `json:"cookies"`
	Location       string   `json:"location,omitempty"`
	Notes          []string `json:"notes"`

	// user is the id of the user whose request it was: each sees their
	// own.
	user string
}

// provision checks the config.
func (c *ConsoleConfig) provision() (*console, error) {
	roles, err := staffRoles(c.Roles)
	if err != nil {
		return nil, err
	}
	return &console{roles: roles}, nil
}

// traceFor starts the trace of a request to app, when the user may use
// the console: the requests of other users are not traced.
func (con *console) traceFor(r *http.Request, app *App, claims session.Claims, doc bool) *trace {
	if con == nil || !slices.Contains(con.roles, claims.Role) {
		return nil
	}
	return &trace{
		At: time.Now().UTC(), App: app.ID, Method: r.Method, Path: r.URL.EscapedPath(), Document: doc,
		DroppedHeaders: []string{}, Cookies: []string{}, Notes: []string{}, user: claims.UserID,
	}
}

// record keeps t, numbered, dropping the oldest trace beyond
// consoleTraces.
func (con *console) record(t *trace) {
	con.mu.Lock()
	defer con.mu.Unlock()
	con.seq++
	t.Seq = con.seq
	if len(con.traces) == consoleTraces {
		con.traces = slices.Delete(con.traces, 0, 1)
	}
	con.traces = append(con.traces, t)
}

// since returns the traces of user's requests numbered after after, of
// app (any app when empty), oldest first, and the last number given.
func (con *console) since(user, app string, after uint64) ([]trace, uint64) {
	con.mu.Lock()
	defer con.mu.Unlock()
	out := []trace{}
	for _, t := range con.traces {
		if t.Seq > after && t.user == user && (app == "" || t.App == app) {
			out = append(out, *t)
		}
	}
	return out, con.seq
}

// serveConsole serves the console page, and its script and stylesheet,
// to the console roles; rest is the path after `<prefix>/_console`.
func (h *Handler) serveConsole(w http.ResponseWriter, r *http.Request, rest string) error {
	if h.console == nil || h.manager.hostsNoApps(r) {
		return h.deny(w, r, http.StatusNotFound, nil, errors.New("the console is not enabled on this host"))
	}
	return h.servePage(w, r, consolePath, rest, h.console.roles, func(name string) bool {
		return h.pages.Console(w, r, name, h.appHosts())
	})
}

// serveConsoleAPI serves `<prefix>/_api/console/<endpoint>` to the console
// roles: `trace?app=<id>&after=<seq>`, the traces of the user's own
// requests.
func (h *Handler) serveConsoleAPI(w http.ResponseWriter, r *http.Request, endpoint string) error {
	claims, err := h.authenticate(w, r)
	if err != nil {
		return h.deny(w, r, authStatus(err), nil, err)
	}
	if !slices.Contains(h.console.roles, claims.Role) {
		return h.deny(w, r, http.StatusForbidden, nil, fmt.Errorf("role %q may not use the console", claims.Role))
	}
	if endpoint != "trace" {
		return h.deny(w, r, http.StatusNotFound, nil, errors.New("no such console endpoint"))
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return h.deny(w, r, http.StatusMethodNotAllowed, nil, errors.New("method not allowed"))
	}
	q := r.URL.Query()
	var after uint64
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			return h.deny(w, r, http.StatusBadRequest, nil, errors.New("after: not a trace number"))
		}
	}
	entries, seq := h.console.since(claims.UserID, q.Get("app"), after)
	out, err := json.Marshal(map[string]any{"seq": seq, "entries": entries})
	if err != nil {
		return err
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write(out)
	return err
}

// traceHeaders notes, for a traced response, what rewriting its headers
// is about to drop: the frame headers the frame rules replace.
func (t *trace) traceHeaders(hdr http.Header, ancestors string) {
	if t == nil {
		return
	}
	if _, ok := hdr["X-Frame-Options"]; ok {
		t.DroppedHeaders = append(t.DroppedHeaders, "X-Frame-Options")
	}
	t.Notes = append(t.Notes, "frame-ancestors set to "+ancestors)
}

// traceCookies notes how the cookies an app set were scoped, renamed or
// dropped: before are its Set-Cookie lines, after what the gateway sends.
func (t *trace) traceCookies(before, after []string) {
	if t == nil || len(before) == 0 {
		return
	}
	sent := make(map[string]*http.Cookie, len(after))
	for _, line := range after {
		if c, err := http.ParseSetCookie(line); err == nil {
			sent[c.Name] = c
		}
	}
	for _, line := range before {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			continue
		}
		now := sent[c.Name]
		for name, s := range sent {
			if strings.HasSuffix(name, "."+c.Name) && strings.HasPrefix(name, "hda.") {
				now = s
			}
		}
		switch {
		case now == nil:
			t.Cookies = append(t.Cookies, c.Name+": dropped")
		default:
			t.Cookies = append(t.Cookies, fmt.Sprintf("%s: Path=%s → %s as %s", c.Name, cmp.Or(c.Path, "(none)"), now.Path, now.Name))
		}
	}
}

// traceShim notes how the shim's element was made to run.
func (t *trace) traceShim(acc rewrite.ScriptAccess) {
	if t == nil {
		return
	}
	switch {
	case acc.Inline:
		t.ShimAs = "inline, as the page's policy allows only inline scripts"
	case acc.Nonce != "":
		t.ShimAs = "with the page's nonce"
	default:
		t.ShimAs = "a same-origin script"
	}
}
