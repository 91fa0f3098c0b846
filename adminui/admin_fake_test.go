package adminui

// An in-memory admin API for the browser tests of the settings page: the
// contract the page is written against, with real ETag, If-Match, 412 and
// 428 behaviour.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// fakeApp is an app as the admin API lists it.
type fakeApp struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Icon           string   `json:"icon,omitempty"`
	Placement      string   `json:"placement"`
	Mode           string   `json:"mode"`
	Roles          []string `json:"roles"`
	Divisions      []string `json:"divisions"`
	Order          int      `json:"order"`
	Favorite       bool     `json:"favorite"`
	Disabled       bool     `json:"disabled"`
	Inject         bool     `json:"inject"`
	AutoResize     bool     `json:"auto_resize"`
	ManualReady    bool     `json:"manual_ready"`
	RewriteLinks   bool     `json:"rewrite_links"`
	IsolateCookies bool     `json:"isolate_cookies"`
	Upstream       string   `json:"upstream,omitempty"`
	Mount          string   `json:"mount,omitempty"`
	Host           string   `json:"host,omitempty"`
	Source         string   `json:"source"`
	Locked         []string `json:"locked"`
	Problem        string   `json:"problem,omitempty"`
}

// fakeRequest is a write the fake received.
type fakeRequest struct {
	Method, Path, IfMatch, ContentType string
	Body                               map[string]any
	Status                             int
}

// fakeAdmin is the admin API and `me` of one gateway, in memory.
type fakeAdmin struct {
	mu         sync.Mutex
	revision   int
	apps       []*fakeApp
	orphans    []map[string]any
	audit      []map[string]any
	writes     []fakeRequest
	placements []string
	roles      []string
	upstreams  []string
	// status, when not 0, answers every admin request.
	status int
}

var (
	fakeRoles     = []string{"agent", "supervisor", "admin", "owner"}
	fakeUpstreams = []string{"127.0.0.1:8081", "*.internal.example.com"}
	fakeID        = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	fakeCaddyLock = []string{"id", "name", "placement", "mode", "roles", "divisions", "inject", "auto_resize",
		"manual_ready", "rewrite_links", "isolate_cookies"}
)

// newFakeAdmin returns the fake with the apps of a small Helpdesk: two
// from the Caddyfile and three added on the page.
func newFakeAdmin() *fakeAdmin {
	return &fakeAdmin{
		revision:   7,
		placements: []string{"main_menu", "ticket_sidebar"},
		roles:      fakeRoles,
		upstreams:  fakeUpstreams,
		apps: []*fakeApp{
			{ID: "dashboard", Name: "Dashboard", Placement: "main_menu", Mode: "embed", Favorite: true, Inject: true,
				Upstream: "http://dash.internal.example.com", Source: "runtime", Locked: []string{"id"}},
			{ID: "reports", Name: "Team reports", Placement: "main_menu", Mode: "popup", Order: 1, Inject: true, AutoResize: true,
				Roles: []string{"supervisor", "admin", "owner"}, Divisions: []string{"1"}, Source: "caddyfile", Locked: fakeCaddyLock},
			{ID: "wiki", Name: "Wiki", Placement: "main_menu", Mode: "embed", Order: 2, Inject: true,
				Upstream: "http://wiki.internal.example.com", Host: "wiki.apps.helpdesk.example.com", Source: "runtime", Locked: []string{"id"}},
			{ID: "kb", Name: "Knowledge base", Placement: "main_menu", Mode: "embed", Order: 3, Inject: true,
				Roles: []string{"agent", "supervisor"}, Upstream: "http://kb.old.example.com", Source: "runtime", Locked: []string{"id"},
				Problem: "its upstream kb.old.example.com is no longer allowed"},
			{ID: "orders", Name: "Order lookup", Placement: "ticket_sidebar", Mode: "embed", Favorite: true, Inject: true,
				Source: "caddyfile", Locked: fakeCaddyLock},
		},
		orphans: []map[string]any{{"id": "old-crm", "overrides": map[string]any{"favorite": true, "order": 4}}},
	}
}

func (f *fakeAdmin) etag() string { return `"` + strconv.Itoa(f.revision) + `"` }

// sorted returns the apps as the Helpdesk lists them.
func (f *fakeAdmin) sorted() []*fakeApp {
	apps := slices.Clone(f.apps)
	slices.SortStableFunc(apps, func(a, b *fakeApp) int {
		if d := slices.Index(f.placements, a.Placement) - slices.Index(f.placements, b.Placement); d != 0 {
			return d
		}
		if a.Favorite != b.Favorite {
			if a.Favorite {
				return -1
			}
			return 1
		}
		if a.Order != b.Order {
			return a.Order - b.Order
		}
		return strings.Compare(a.Name, b.Name)
	})
	return apps
}

func (f *fakeAdmin) find(id string) *fakeApp {
	for _, a := range f.apps {
		if a.ID == id {
			return a
		}
	}
	return nil
}

// bump is another admin's change, behind the page's back.
func (f *fakeAdmin) bump(id, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.find(id); a != nil {
		a.Name = name
	}
	f.revision++
}

func (f *fakeAdmin) received() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.writes)
}

func (f *fakeAdmin) setStatus(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = status
}

// problem is an RFC 9457 problem.
type problem struct {
	Type     string         `json:"type"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty"`
	Errors   []problemError `json:"errors,omitempty"`
	Revision *int           `json:"revision,omitempty"`
}

type problemError struct {
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

func (f *fakeAdmin) fail(w http.ResponseWriter, status int, detail string, errs ...problemError) {
	p := problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Errors: errs}
	if status == http.StatusPreconditionFailed {
		rev := f.revision
		p.Revision = &rev
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

func (f *fakeAdmin) reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("ETag", f.etag())
	if body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (f *fakeAdmin) list() map[string]any {
	return map[string]any{
		"revision": f.revision, "placements": f.placements, "roles": f.roles, "upstreams": f.upstreams,
		"apps": f.sorted(), "orphans": f.orphans,
	}
}

// ServeMe serves <prefix>/_api/me.
func (f *fakeAdmin) serveMe(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"user":{"id":"u-1","name":"Olivia Owner","email":"olivia@example.com","role":"owner","division_id":"1"},"expires_at":1893456000,"can_manage":true}`))
}

// ServeHTTP serves the admin API under /apps/_api/admin/.
func (f *fakeAdmin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status != 0 {
		f.fail(w, f.status, "the fake answers "+strconv.Itoa(f.status))
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/apps/_api/admin/")
	if r.Method == http.MethodGet {
		f.read(w, r, path)
		return
	}
	var body map[string]any
	req := fakeRequest{Method: r.Method, Path: path, IfMatch: r.Header.Get("If-Match"), ContentType: r.Header.Get("Content-Type")}
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		req.Body, req.Status = body, rec.status
		f.writes = append(f.writes, req)
	}()
	if r.Body != nil && r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			f.fail(rec, http.StatusBadRequest, "the body is not JSON: "+err.Error())
			return
		}
	}
	switch {
	case req.IfMatch == "":
		f.fail(rec, http.StatusPreconditionRequired, "send If-Match with the revision you saw")
		return
	case req.IfMatch != f.etag():
		f.fail(rec, http.StatusPreconditionFailed, "the apps changed since revision "+strings.Trim(req.IfMatch, `"`))
		return
	}
	dryRun := r.URL.Query().Get("dry_run") == "true"
	id, _ := strings.CutPrefix(path, "apps/")
	switch {
	case r.Method == http.MethodPost && path == "apps":
		f.create(rec, body, dryRun)
	case r.Method == http.MethodPut && strings.HasPrefix(path, "apps/"):
		f.replace(rec, id, body, dryRun)
	case r.Method == http.MethodPatch && strings.HasPrefix(path, "apps/"):
		if req.ContentType != "application/merge-patch+json" {
			f.fail(rec, http.StatusUnsupportedMediaType, "PATCH takes application/merge-patch+json")
			return
		}
		f.patch(rec, id, body)
	case r.Method == http.MethodDelete && strings.HasPrefix(path, "apps/"):
		f.delete(rec, id)
	case r.Method == http.MethodPut && strings.HasPrefix(path, "order/"):
		f.order(rec, strings.TrimPrefix(path, "order/"), body)
	default:
		f.fail(rec, http.StatusMethodNotAllowed, r.Method+" "+path)
	}
}

func (f *fakeAdmin) read(w http.ResponseWriter, r *http.Request, path string) {
	switch {
	case path == "apps":
		f.reply(w, http.StatusOK, f.list())
	case strings.HasPrefix(path, "apps/"):
		if a := f.find(strings.TrimPrefix(path, "apps/")); a != nil {
			f.reply(w, http.StatusOK, map[string]any{"revision": f.revision, "app": a})
		} else {
			f.fail(w, http.StatusNotFound, "no such app")
		}
	case path == "access":
		role, division := r.URL.Query().Get("role"), r.URL.Query().Get("division")
		var rows []map[string]any
		for _, a := range f.sorted() {
			reason := ""
			switch {
			case a.Disabled:
				reason = "deactivated"
			case len(a.Roles) > 0 && !slices.Contains(a.Roles, role):
				reason = fmt.Sprintf("role %q may not open this app", role)
			case len(a.Divisions) > 0 && !slices.Contains(a.Divisions, division):
				reason = fmt.Sprintf("division %q may not open this app", division)
			}
			rows = append(rows, map[string]any{"id": a.ID, "name": a.Name, "placement": a.Placement, "visible": reason == "", "reason": reason})
		}
		f.reply(w, http.StatusOK, map[string]any{"role": role, "division": division, "apps": rows})
	case path == "audit":
		entries := slices.Clone(f.audit)
		slices.Reverse(entries)
		f.reply(w, http.StatusOK, map[string]any{"revision": f.revision, "entries": entries})
	case path == "instances":
		f.reply(w, http.StatusOK, map[string]any{"revision": f.revision, "storage_error": "", "instances": []map[string]any{
			{"id": "a1", "host": "gw-1", "pid": 311, "revision": f.revision, "applied_at": "2026-12-06T03:00:00Z", "seen_at": "2026-12-06T03:00:00Z", "self": true},
			{"id": "b2", "host": "gw-2", "pid": 422, "revision": f.revision, "applied_at": "2026-12-06T03:00:00Z", "seen_at": "2026-12-06T03:00:00Z"},
			{"id": "c3", "host": "gw-3", "pid": 533, "revision": f.revision - 1, "applied_at": "2026-12-06T02:00:00Z", "seen_at": "2026-12-06T03:00:00Z"},
		}})
	case path == "export":
		var runtime []*fakeApp
		var caddyfile strings.Builder
		for _, a := range f.sorted() {
			if a.Source == "runtime" {
				runtime = append(runtime, a)
				fmt.Fprintf(&caddyfile, "app %s {\n\tname %q\n\tplacement %s\n\tto %s\n}\n", a.ID, a.Name, a.Placement, a.Upstream)
			}
		}
		f.reply(w, http.StatusOK, map[string]any{"revision": f.revision, "apps": runtime, "overrides": map[string]any{}, "caddyfile": caddyfile.String()})
	default:
		f.fail(w, http.StatusNotFound, "no such endpoint")
	}
}

// decodeApp reads a request body into an app.
func decodeApp(body map[string]any) (*fakeApp, error) {
	b, _ := json.Marshal(body)
	var a fakeApp
	err := json.Unmarshal(b, &a)
	return &a, err
}

// validate checks an app as the gateway would, with JSON pointers.
func (f *fakeAdmin) validate(a *fakeApp) []problemError {
	var errs []problemError
	if !slices.Contains(f.placements, a.Placement) {
		errs = append(errs, problemError{"/placement", "must be ticket_sidebar or main_menu"})
	}
	if a.Mode != "embed" && a.Mode != "popup" {
		errs = append(errs, problemError{"/mode", "must be embed or popup"})
	}
	for i, r := range a.Roles {
		if !slices.Contains(f.roles, r) {
			errs = append(errs, problemError{"/roles/" + strconv.Itoa(i), "unknown role " + r})
		}
	}
	for i, d := range a.Divisions {
		if _, err := strconv.Atoi(d); err != nil {
			errs = append(errs, problemError{"/divisions/" + strconv.Itoa(i), fmt.Sprintf("%q is not a division id", d)})
		}
	}
	if a.Source == "runtime" && !f.upstreamAllowed(a.Upstream) {
		errs = append(errs, problemError{"/upstream", "not an allowed upstream: allowed are " + strings.Join(f.upstreams, ", ")})
	}
	return errs
}

func (f *fakeAdmin) upstreamAllowed(u string) bool {
	parsed, err := url.Parse(u)
	if err != nil || parsed.Host == "" {
		return false
	}
	for _, allowed := range f.upstreams {
		if parsed.Host == allowed || strings.HasPrefix(allowed, "*.") && strings.HasSuffix(parsed.Hostname(), allowed[1:]) {
			return true
		}
	}
	return false
}

func (f *fakeAdmin) record(action, target string, before, after any) {
	f.audit = append(f.audit, map[string]any{
		"at": "2026-12-06T03:00:00Z", "user": map[string]any{"id": "u-1", "name": "Olivia Owner", "role": "owner"},
		"from": "127.0.0.1", "action": action, "target": target, "revision": f.revision, "before": before, "after": after,
	})
}

func (f *fakeAdmin) create(w http.ResponseWriter, body map[string]any, dryRun bool) {
	a, err := decodeApp(body)
	if err != nil {
		f.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	a.Source, a.Locked = "runtime", []string{"id"}
	errs := f.validate(a)
	if !fakeID.MatchString(a.ID) {
		errs = append(errs, problemError{"/id", "must be lower-case letters, digits and dashes"})
	} else if f.find(a.ID) != nil {
		errs = append(errs, problemError{"/id", "an app of this id exists"})
	}
	if len(errs) > 0 {
		f.fail(w, http.StatusUnprocessableEntity, "the app is not valid", errs...)
		return
	}
	warnings := []string{"the upstream answered 502"}
	if dryRun {
		f.reply(w, http.StatusOK, map[string]any{"revision": f.revision, "dry_run": true, "app": a, "warnings": warnings})
		return
	}
	f.apps = append(f.apps, a)
	f.revision++
	f.record("create", a.ID, nil, a)
	w.Header().Set("Location", "/apps/_api/admin/apps/"+a.ID)
	f.reply(w, http.StatusCreated, map[string]any{"revision": f.revision, "app": a, "warnings": warnings})
}

func (f *fakeAdmin) replace(w http.ResponseWriter, id string, body map[string]any, dryRun bool) {
	old := f.find(id)
	if old == nil {
		f.fail(w, http.StatusNotFound, "no app "+id)
		return
	}
	a, err := decodeApp(body)
	if err != nil {
		f.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	a.Source, a.Locked, a.Problem = old.Source, old.Locked, ""
	errs := f.validate(a)
	oldJSON, newJSON := fieldsOf(old), fieldsOf(a)
	for _, k := range old.Locked {
		if string(oldJSON[k]) != string(newJSON[k]) {
			errs = append(errs, problemError{"/" + k, "is set in the Caddyfile"})
		}
	}
	if len(errs) > 0 {
		f.fail(w, http.StatusUnprocessableEntity, "the app is not valid", errs...)
		return
	}
	if dryRun {
		f.reply(w, http.StatusOK, map[string]any{"revision": f.revision, "dry_run": true, "app": a, "warnings": []string{}})
		return
	}
	before := *old
	*old = *a
	f.revision++
	f.record("replace", id, &before, old)
	f.reply(w, http.StatusOK, map[string]any{"revision": f.revision, "app": old, "warnings": []string{}})
}

// fieldsOf returns an app's JSON members.
func fieldsOf(a *fakeApp) map[string]json.RawMessage {
	b, _ := json.Marshal(a)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	return m
}

func (f *fakeAdmin) patch(w http.ResponseWriter, id string, body map[string]any) {
	a := f.find(id)
	if a == nil {
		f.fail(w, http.StatusNotFound, "no app "+id)
		return
	}
	before := map[string]any{}
	old := fieldsOf(a)
	for k := range body {
		before[k] = old[k]
	}
	b, _ := json.Marshal(body)
	if err := json.Unmarshal(b, a); err != nil {
		f.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	f.revision++
	f.record("patch", id, before, body)
	f.reply(w, http.StatusOK, map[string]any{"revision": f.revision, "app": a, "warnings": []string{}})
}

func (f *fakeAdmin) delete(w http.ResponseWriter, id string) {
	for i, o := range f.orphans {
		if o["id"] == id {
			f.orphans = slices.Delete(f.orphans, i, i+1)
			f.revision++
			f.record("delete", id, o["overrides"], nil)
			f.reply(w, http.StatusNoContent, nil)
			return
		}
	}
	a := f.find(id)
	switch {
	case a == nil:
		f.fail(w, http.StatusNotFound, "no app "+id)
	case a.Source == "caddyfile":
		f.fail(w, http.StatusConflict, "apps of the Caddyfile can't be deleted here")
	default:
		f.apps = slices.DeleteFunc(f.apps, func(x *fakeApp) bool { return x == a })
		f.revision++
		f.record("delete", id, a, nil)
		f.reply(w, http.StatusNoContent, nil)
	}
}

func (f *fakeAdmin) order(w http.ResponseWriter, placement string, body map[string]any) {
	raw, _ := body["ids"].([]any)
	var ids, want []string
	for _, v := range raw {
		s, _ := v.(string)
		ids = append(ids, s)
	}
	var before []string
	for _, a := range f.sorted() {
		if a.Placement == placement {
			want = append(want, a.ID)
			before = append(before, a.ID)
		}
	}
	slices.Sort(want)
	sortedIDs := slices.Clone(ids)
	slices.Sort(sortedIDs)
	if !slices.Equal(want, sortedIDs) {
		f.fail(w, http.StatusUnprocessableEntity, "ids must list every app of "+placement+" once", problemError{"/ids", "wrong set of ids"})
		return
	}
	for i, id := range ids {
		f.find(id).Order = i
	}
	f.revision++
	f.record("order", placement, map[string]any{"ids": before}, map[string]any{"ids": ids})
	f.reply(w, http.StatusOK, f.list())
}
