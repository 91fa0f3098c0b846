package caddymodule

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// adminApp is an app as the management API shows it: the JSON fields of
// its config with the defaults filled in, where it comes from, and what an
// admin may not change.
type adminApp struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Icon           string   `json:"icon"`
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
	// Mount is the app's own choice of mount, "" for the default.
	Mount string `json:"mount,omitempty"`
	// Host is the host the app is served on, "" under the prefix:
	// computed, never written.
	Host string `json:"host,omitempty"`
	// Source is `caddyfile` for an app of the config, `runtime` for one an
	// admin created.
	Source string `json:"source"`
	// Locked are the fields an admin may not change.
	Locked []string `json:"locked"`
	// Problem tells why the gateway does not serve the app as shown.
	Problem string `json:"problem,omitempty"`
}

// Sources of apps.
const (
	sourceCaddyfile = "caddyfile"
	sourceRuntime   = "runtime"
)

// readOnlyFields are fields of adminApp that writes may carry back and
// that are ignored.
var readOnlyFields = []string{"source", "locked", "problem", "host"}

// view returns cfg as the API shows it.
func view(cfg *AppConfig, source string, locked []string, problem string) adminApp {
	a := adminApp{
		ID: cfg.ID, Name: cmp.Or(cfg.Name, cfg.ID), Icon: cfg.Icon,
		Placement: cmp.Or(cfg.Placement, PlacementMainMenu), Mode: cmp.Or(cfg.Mode, ModeEmbed),
		Roles: make([]string, 0, len(cfg.Roles)), Divisions: append([]string{}, cfg.Divisions...),
		Order: cfg.Order, Favorite: cfg.Favorite, Disabled: cfg.Disabled,
		Inject: cfg.Inject == nil || *cfg.Inject, AutoResize: cfg.AutoResize, ManualReady: cfg.ManualReady,
		RewriteLinks: cfg.RewriteLinks, IsolateCookies: cfg.IsolateCookies, Upstream: cfg.Upstream,
		Mount: cfg.Mount, Source: source, Locked: locked, Problem: problem,
	}
	for _, role := range cfg.Roles {
		a.Roles = append(a.Roles, session.LowerRole(role))
	}
	return a
}

// listing is what the API knows of one revision of the document: the
// apps as it shows them, sorted as the Helpdesk lists them within each
// placement, and the overrides of apps the config no longer declares.
type listing struct {
	doc     *document
	apps    []adminApp
	orphans []orphan
}

// orphan is the stored overrides of an app the config no longer declares.
type orphan struct {
	ID        string                     `json:"id"`
	Overrides map[string]json.RawMessage `json:"overrides"`
}

// list returns the listing of doc.
func (h *Handler) list(doc *document) *listing {
	m := h.manager
	_, problems := h.merge(doc)
	l := &listing{doc: doc}
	locked := slices.DeleteFunc(slices.Clone(runtimeFields), func(f string) bool { return slices.Contains(m.overridable, f) })
	for _, c := range h.Apps {
		shown, _ := m.override(c, doc.Overrides[c.ID])
		l.apps = append(l.apps, view(shown, sourceCaddyfile, locked, problems[c.ID]))
		l.apps[len(l.apps)-1].Host, _ = h.appHost(shown)
	}
	for _, r := range doc.Apps {
		l.apps = append(l.apps, view(r, sourceRuntime, []string{"id"}, problems[r.ID]))
		l.apps[len(l.apps)-1].Host, _ = h.appHost(r)
	}
	slices.SortStableFunc(l.apps, func(x, y adminApp) int {
		if x.Placement != y.Placement {
			return strings.Compare(x.Placement, y.Placement)
		}
		if x.Favorite != y.Favorite {
			if x.Favorite {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(x.Order, y.Order), strings.Compare(x.Name, y.Name))
	})
	for id, ov := range doc.Overrides {
		if !slices.ContainsFunc(h.Apps, func(c *AppConfig) bool { return c.ID == id }) {
			l.orphans = append(l.orphans, orphan{id, ov})
		}
	}
	slices.SortFunc(l.orphans, func(a, b orphan) int { return strings.Compare(a.ID, b.ID) })
	if l.orphans == nil {
		l.orphans = []orphan{}
	}
	return l
}

// find returns the listed app id.
func (l *listing) find(id string) (adminApp, bool) {
	i := slices.IndexFunc(l.apps, func(a adminApp) bool { return a.ID == id })
	if i < 0 {
		return adminApp{}, false
	}
	return l.apps[i], true
}

// problem is an RFC 9457 problem details object.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Code names the problem for programs.
	Code string `json:"code,omitempty"`
	// Errors point at the invalid fields of the request's body.
	Errors []fieldProblem `json:"errors,omitempty"`
	// Revision is the current revision, on a 412.
	Revision *uint64 `json:"revision,omitempty"`
	// retryAfter, in seconds, is sent as Retry-After.
	retryAfter int
}

// fieldProblem is one invalid field: its JSON pointer into the request's
// body, and what is wrong with it.
type fieldProblem struct {
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

func (p *problem) Error() string { return p.Detail }

// newProblem returns a problem of status.
func newProblem(status int, code, format string, args ...any) *problem {
	return &problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Code: code, Detail: fmt.Sprintf(format, args...)}
}

// invalid returns a 422 problem for the fields in errs.
func invalid(errs []fieldProblem) *problem {
	p := newProblem(http.StatusUnprocessableEntity, "invalid", "%s", errs[0].Detail)
	if len(errs) > 1 {
		p.Detail = fmt.Sprintf("%d fields are invalid", len(errs))
	}
	p.Errors = errs
	return p
}

// writeProblem writes p as application/problem+json.
func writeProblem(w http.ResponseWriter, p *problem) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/problem+json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if p.retryAfter > 0 {
		hdr.Set("Retry-After", strconv.Itoa(p.retryAfter))
	}
	body, _ := json.Marshal(p)
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}

// writeAdminJSON writes body with the revision as its ETag.
func writeAdminJSON(w http.ResponseWriter, status int, revision uint64, body any) error {
	out, err := json.Marshal(body)
	if err != nil {
		return err
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("ETag", etagOf(revision))
	w.WriteHeader(status)
	_, err = w.Write(out)
	return err
}

// etagOf is the ETag of a revision.
func etagOf(revision uint64) string { return `"` + strconv.FormatUint(revision, 10) + `"` }

// adminRequest is one request to the management API, authenticated.
type adminRequest struct {
	w      http.ResponseWriter
	r      *http.Request
	claims session.Claims
	dryRun bool
}

// revision is the revision to answer a write with: that of the listing
// written, or, on a dry run, the one it would have followed.
func (ar *adminRequest) revision(l *listing) uint64 {
	if ar.dryRun {
		return l.doc.Revision - 1
	}
	return l.doc.Revision
}

// maxRuntimeApps bounds the apps admins may create.
const maxRuntimeApps = 500

// maxAdminBody bounds the body of a write.
const maxAdminBody = 1 << 20

// lockTimeout is how long a write waits for the storage's lock.
const lockTimeout = 5 * time.Second

// serveAdmin serves the management API's endpoint: authenticated, to the
// manage roles only; a write sent with the session cookie must come from
// the gateway's own origin.
func (h *Handler) serveAdmin(w http.ResponseWriter, r *http.Request, endpoint string) error {
	claims, err := h.authenticate(w, r)
	if err != nil {
		status := authStatus(err)
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="helpdesk_apps"`)
		}
		writeProblem(w, newProblem(status, "unauthenticated", "%v", err))
		return nil
	}
	if !h.manager.mayManage(claims) {
		h.logger.Info("management refused", zap.String("user", claims.UserID), zap.String("role", claims.Role))
		writeProblem(w, newProblem(http.StatusForbidden, "forbidden", "role %q may not manage apps", claims.Role))
		return nil
	}
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	if write && h.cookieBound(r) {
		if err := h.crossOrigin.Check(r); err != nil {
			writeProblem(w, newProblem(http.StatusForbidden, "cross_origin", "cross-origin writes with the session cookie are refused"))
			return nil
		}
	}
	ar := &adminRequest{w: w, r: r, claims: claims, dryRun: r.URL.Query().Get("dry_run") == "true"}
	if p := h.routeAdmin(ar, endpoint); p != nil {
		if p.Status >= 500 {
			h.logger.Error("management API", zap.String("endpoint", endpoint), zap.String("error", p.Detail))
		}
		writeProblem(w, p)
	}
	return nil
}

// serveSettings serves the settings page, and its script and stylesheet,
// to the manage roles; rest is the path after `<prefix>/_admin`.
func (h *Handler) serveSettings(w http.ResponseWriter, r *http.Request, rest string) error {
	if h.manager == nil || !h.manager.managesHere(r) {
		return h.deny(w, r, http.StatusNotFound, nil, errors.New("apps are not managed at runtime on this host"))
	}
	return h.servePage(w, r, settingsPath, rest, h.manager.roles, func(name string) bool {
		return h.pages.Settings(w, r, name, h.helpdeskURL())
	})
}

// servePage serves one of the gateway's pages at `<prefix>/<path>/` to the
// users of roles: rest is what follows path, which serve is given without
// its slash ("" for the page itself), and reports whether it knew.
func (h *Handler) servePage(w http.ResponseWriter, r *http.Request, path, rest string, roles []string, serve func(name string) bool) error {
	if rest == "" {
		http.Redirect(w, r, h.Prefix+"/"+path+"/", http.StatusPermanentRedirect)
		return nil
	}
	claims, err := h.authenticate(w, r)
	if err != nil {
		return h.deny(w, r, authStatus(err), nil, err)
	}
	if !slices.Contains(roles, claims.Role) {
		return h.deny(w, r, http.StatusForbidden, nil, fmt.Errorf("role %q may not open %s", claims.Role, path))
	}
	if !serve(strings.TrimPrefix(rest, "/")) {
		return h.deny(w, r, http.StatusNotFound, nil, errors.New("no such file"))
	}
	return nil
}

// helpdeskURL is where the settings page links back to: the first origin
// that may frame the apps, or this origin's root.
func (h *Handler) helpdeskURL() string {
	if origins := h.site.exactAncestors(); len(origins) > 0 {
		return origins[0] + "/"
	}
	return "/"
}

// mayManage reports whether the user's role is a manage role.
func (m *manager) mayManage(c session.Claims) bool {
	return slices.Contains(m.roles, c.Role)
}

// cookieBound reports whether the request carries the session cookie, so
// that a browser may have sent it on another site's behalf.
func (h *Handler) cookieBound(r *http.Request) bool {
	if h.sessionCookie == "" {
		return false
	}
	_, err := r.Cookie(h.sessionCookie)
	return err == nil
}

// routeAdmin runs the endpoint; a problem is the answer when it fails.
func (h *Handler) routeAdmin(ar *adminRequest, endpoint string) *problem {
	method := ar.r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	name, arg, _ := strings.Cut(endpoint, "/")
	type route struct {
		methods string
		serve   func() *problem
	}
	var rt route
	switch {
	case name == "apps" && arg == "":
		rt = route{"GET, POST", func() *problem {
			if method == http.MethodPost {
				return h.createApp(ar)
			}
			return h.getApps(ar)
		}}
	case name == "apps" && !strings.Contains(arg, "/"):
		rt = route{"GET, PUT, PATCH, DELETE", func() *problem {
			switch method {
			case http.MethodPut, http.MethodPatch:
				return h.changeApp(ar, arg, method == http.MethodPatch)
			case http.MethodDelete:
				return h.deleteApp(ar, arg)
			}
			return h.getApp(ar, arg)
		}}
	case name == "order" && arg != "" && !strings.Contains(arg, "/"):
		rt = route{"PUT", func() *problem { return h.reorder(ar, arg) }}
	case endpoint == "import":
		rt = route{"POST", func() *problem { return h.importApps(ar) }}
	case endpoint == "audit":
		rt = route{"GET", func() *problem { return h.getAudit(ar) }}
	case endpoint == "export":
		rt = route{"GET", func() *problem { return h.export(ar) }}
	case endpoint == "instances":
		rt = route{"GET", func() *problem { return h.getInstances(ar) }}
	case endpoint == "access":
		rt = route{"GET", func() *problem { return h.access(ar) }}
	default:
		return newProblem(http.StatusNotFound, "not_found", "no such endpoint: %s", endpoint)
	}
	if !slices.Contains(strings.Split(rt.methods, ", "), method) {
		ar.w.Header().Set("Allow", rt.methods)
		return newProblem(http.StatusMethodNotAllowed, "method_not_allowed", "%s takes %s", endpoint, rt.methods)
	}
	return rt.serve()
}

// current reads the document as it is in storage now.
func (h *Handler) current(ctx context.Context) (*listing, *problem) {
	doc, err := h.manager.load(ctx)
	if err != nil {
		p := newProblem(http.StatusServiceUnavailable, "storage_unavailable", "%v", err)
		p.retryAfter = 5
		return nil, p
	}
	return h.list(doc), nil
}

func (h *Handler) getApps(ar *adminRequest) *problem {
	l, p := h.current(ar.r.Context())
	if p != nil {
		return p
	}
	return h.respond(ar, http.StatusOK, l.doc.Revision, h.appsBody(l))
}

// appsBody is the body of GET apps.
func (h *Handler) appsBody(l *listing) any {
	apps := l.apps
	if apps == nil {
		apps = []adminApp{}
	}
	return map[string]any{
		"revision":   l.doc.Revision,
		"placements": []string{PlacementMainMenu, PlacementTicketSidebar},
		"roles":      knownRoles,
		"upstreams":  h.manager.allow.Patterns(),
		"overrides":  h.manager.overridable,
		"apps":       apps,
		"orphans":    l.orphans,
	}
}

func (h *Handler) getApp(ar *adminRequest, id string) *problem {
	l, p := h.current(ar.r.Context())
	if p != nil {
		return p
	}
	app, ok := l.find(id)
	if !ok {
		return newProblem(http.StatusNotFound, "not_found", "no app %q", id)
	}
	return h.respond(ar, http.StatusOK, l.doc.Revision, map[string]any{"revision": l.doc.Revision, "app": app})
}

// respond writes a successful answer.
func (h *Handler) respond(ar *adminRequest, status int, revision uint64, body any) *problem {
	if err := writeAdminJSON(ar.w, status, revision, body); err != nil {
		h.logger.Debug("writing management API answer", zap.Error(err))
	}
	return nil
}

// change is what a write does to the document: it edits doc (a copy of
// the current one) and returns the audit entry's target, before and after,
// or a problem.
type change func(l *listing, doc *document) (target string, before, after any, p *problem)

// write runs a write: the If-Match precondition, then, under the storage's
// lock, load, compare revisions, change, compile, store and swap. A dry
// run stops before storing. It returns the listing written (or that would
// be).
func (h *Handler) write(ar *adminRequest, action string, edit change) (*listing, *problem) {
	m := h.manager
	match := ar.r.Header.Get("If-Match")
	if match == "" {
		return nil, newProblem(http.StatusPreconditionRequired, "if_match_required",
			"writes need If-Match with the ETag of the revision they change (GET apps gives it)")
	}
	ctx := ar.r.Context()
	lockCtx, cancel := context.WithTimeout(ctx, lockTimeout)
	defer cancel()
	if err := m.storage.Lock(lockCtx, m.lockName); err != nil {
		p := newProblem(http.StatusServiceUnavailable, "locked", "the shared registry is busy or unavailable: %v; try again", err)
		p.retryAfter = 1
		return nil, p
	}
	defer func() {
		if err := m.storage.Unlock(context.WithoutCancel(ctx), m.lockName); err != nil {
			m.logger.Error("unlocking the shared registry", zap.Error(err))
		}
	}()
	cur, p := h.current(ctx)
	if p != nil {
		return nil, p
	}
	if !etagMatches(match, cur.doc.Revision) {
		p := newProblem(http.StatusPreconditionFailed, "stale_revision",
			"the apps are at revision %d, not %s: reload them and apply your change again", cur.doc.Revision, strings.Trim(match, `"`))
		rev := cur.doc.Revision
		p.Revision = &rev
		ar.w.Header().Set("ETag", etagOf(rev))
		return nil, p
	}
	doc, err := cur.doc.clone()
	if err != nil {
		return nil, newProblem(http.StatusInternalServerError, "internal", "%v", err)
	}
	target, before, after, p := edit(cur, doc)
	if p != nil {
		return nil, p
	}
	doc.Revision++
	doc.Audit = append(doc.Audit, auditEntry{
		At:   time.Now().UTC().Truncate(time.Second),
		User: auditUser{ar.claims.UserID, ar.claims.Name, ar.claims.Role},
		From: clientIP(ar.r), Action: action, Target: target, Revision: doc.Revision,
		Before: marshalOrNull(before), After: marshalOrNull(after),
	})
	if n := len(doc.Audit) - auditLimit; n > 0 {
		doc.Audit = slices.Delete(doc.Audit, 0, n)
	}
	if p := fitDocument(doc); p != nil {
		return nil, p
	}
	err = h.update(func(prev *registry) (*registry, error) {
		next, err := h.compileDocument(doc, prev)
		if err != nil {
			return nil, invalid([]fieldProblem{{Pointer: "", Detail: err.Error()}})
		}
		if ar.dryRun {
			next.release(nil)
			return nil, nil
		}
		if err := m.store(ctx, doc); err != nil {
			next.release(nil)
			p := newProblem(http.StatusServiceUnavailable, "storage_unavailable", "%v", err)
			p.retryAfter = 5
			return nil, p
		}
		m.writes.Add(1)
		m.saw(doc.Revision)
		return next, nil
	})
	if err != nil {
		if p, ok := errors.AsType[*problem](err); ok {
			return nil, p
		}
		return nil, newProblem(http.StatusServiceUnavailable, "unavailable", "%v", err)
	}
	if !ar.dryRun {
		m.record(ctx, doc.Revision, nil)
		m.logger.Info("apps changed", zap.String("action", action), zap.String("target", target),
			zap.Uint64("revision", doc.Revision), zap.String("user", ar.claims.UserID))
	}
	return h.list(doc), nil
}

// maxDocument bounds the stored document: every instance reads it on
// every poll, and some storages bound their values (Consul: 512 KiB).
const maxDocument = 448 << 10

// fitDocument keeps doc within maxDocument, dropping its oldest audit
// entries if it must; a problem when the apps alone are too large.
func fitDocument(doc *document) *problem {
	for {
		raw, err := json.Marshal(doc)
		if err != nil {
			return newProblem(http.StatusInternalServerError, "internal", "%v", err)
		}
		if len(raw) <= maxDocument {
			return nil
		}
		if len(doc.Audit) <= 1 {
			return newProblem(http.StatusRequestEntityTooLarge, "too_large",
				"the apps would take %d bytes, over the %d the shared registry holds", len(raw), maxDocument)
		}
		doc.Audit = slices.Delete(doc.Audit, 0, max(1, len(doc.Audit)/10))
	}
}

// etagMatches reports whether an If-Match value names revision: `*`, or
// one of its entity tags, compared strongly (RFC 9110 §13.1.1: a weak tag
// never matches).
func etagMatches(header string, revision uint64) bool {
	want := etagOf(revision)
	for tag := range strings.SplitSeq(header, ",") {
		if tag = strings.TrimSpace(tag); tag == "*" || tag == want {
			return true
		}
	}
	return false
}

// clientIP is the client's address as Caddy determined it, trusted
// proxies considered.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	return r.RemoteAddr
}

// marshalOrNull returns v's JSON; nil is null.
func marshalOrNull(v any) json.RawMessage {
	if v == nil {
		return json.RawMessage("null")
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return raw
}

// written answers a write of one app: the app as now listed (or as it
// would be, on a dry run), with the warnings of a probe of its upstream
// when probe is set (a runtime app created, or moved to another upstream).
func (h *Handler) written(ar *adminRequest, l *listing, id string, status int, probe bool) *problem {
	app, _ := l.find(id)
	warnings := []string{}
	if probe && app.Source == sourceRuntime {
		warnings = h.probe(ar.r.Context(), app)
	}
	rev := ar.revision(l)
	body := map[string]any{"revision": rev, "app": app, "warnings": warnings}
	if ar.dryRun {
		body["dry_run"] = true
		status = http.StatusOK
	} else if status == http.StatusCreated {
		ar.w.Header().Set("Location", h.Prefix+"/_api/admin/apps/"+id)
	}
	return h.respond(ar, status, rev, body)
}

// readBody reads the request's JSON object as its fields, without those
// only the API writes.
func readBody(ar *adminRequest) (map[string]json.RawMessage, *problem) {
	ct := ar.r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); ct != "" && !slices.Contains([]string{"application/json", "application/merge-patch+json"}, strings.TrimSpace(strings.ToLower(mt))) {
		return nil, newProblem(http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/json (or application/merge-patch+json to PATCH)")
	}
	dec := json.NewDecoder(http.MaxBytesReader(ar.w, ar.r.Body, maxAdminBody))
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil || fields == nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, newProblem(http.StatusRequestEntityTooLarge, "too_large", "the body must be at most %d bytes", maxAdminBody)
		}
		return nil, newProblem(http.StatusBadRequest, "bad_json", "the body must be one JSON object: %v", err)
	}
	if dec.More() {
		return nil, newProblem(http.StatusBadRequest, "bad_json", "the body must be one JSON object")
	}
	for _, f := range readOnlyFields {
		delete(fields, f)
	}
	return fields, nil
}

// decodeApp decodes fields into a runtime app's config and checks it: its
// fields, values and upstream; problems point into the body below at.
func (m *manager) decodeApp(fields map[string]json.RawMessage, at string) (*AppConfig, []fieldProblem) {
	var errs []fieldProblem
	for name := range fields {
		switch {
		case slices.Contains(runtimeFields, name):
		case name == "backend" || name == "origin":
			errs = append(errs, fieldProblem{at + "/" + pointerToken(name), "set by the gateway for apps created here; name an upstream"})

		default:
			errs = append(errs, fieldProblem{at + "/" + pointerToken(name), "unknown field"})
		}
	}
	if len(errs) > 0 {
		return nil, sortProblems(errs)
	}
	cfg := new(AppConfig)
	if err := remarshal(fields, cfg); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return nil, []fieldProblem{{at + "/" + strings.ReplaceAll(te.Field, ".", "/"), "must be " + jsonKind(te.Type)}}
		}
		return nil, []fieldProblem{{at, err.Error()}}
	}
	if err := cfg.validate(); err != nil {
		if fe, ok := errors.AsType[*fieldError](err); ok {
			errs = append(errs, fieldProblem{at + "/" + fe.pointer, fe.detail})
		} else {
			errs = append(errs, fieldProblem{at, err.Error()})
		}
	}
	if cfg.Upstream == "" {
		errs = append(errs, fieldProblem{at + "/upstream", "required: the URL of the tool, such as http://crm.internal:8080"})
	} else if scheme, dial, err := m.allow.Check(cfg.Upstream); err != nil {
		detail := err.Error()
		if len(m.allow.Patterns()) == 0 {
			detail = "no upstream is allowed: ops have listed none in manage.upstreams"
		}
		errs = append(errs, fieldProblem{at + "/upstream", detail})
	} else {
		cfg.Upstream = scheme + "://" + dial
	}
	return cfg, sortProblems(errs)
}

// overrideProblem points at an invalid override, name, below at.
func overrideProblem(at, name string, err error) fieldProblem {
	pointer := at + "/" + pointerToken(name)
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return fieldProblem{pointer, "must be " + jsonKind(te.Type)}
	}
	if fe, ok := errors.AsType[*fieldError](err); ok {
		return fieldProblem{at + "/" + fe.pointer, fe.detail}
	}
	return fieldProblem{pointer, err.Error()}
}

// pointerToken escapes a member name as a JSON pointer's reference token
// (RFC 6901): "~" as "~0", "/" as "~1".
func pointerToken(name string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(name)
}

// sortProblems sorts problems by pointer, for stable answers.
func sortProblems(errs []fieldProblem) []fieldProblem {
	slices.SortFunc(errs, func(a, b fieldProblem) int { return strings.Compare(a.Pointer, b.Pointer) })
	return errs
}

// jsonKind names the JSON type a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Uint64:
		return "a whole number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "an array of strings"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a " + t.String()
}

func (h *Handler) createApp(ar *adminRequest) *problem {
	fields, p := readBody(ar)
	if p != nil {
		return p
	}
	cfg, errs := h.manager.decodeApp(fields, "")
	if len(errs) > 0 {
		return invalid(errs)
	}
	l, p := h.write(ar, "create", func(l *listing, doc *document) (string, any, any, *problem) {
		if existing, ok := l.find(cfg.ID); ok {
			return "", nil, nil, newProblem(http.StatusConflict, "id_taken", "an app %q exists already (%s)", cfg.ID, existing.Source)
		}
		if _, ok := doc.Overrides[cfg.ID]; ok {
			return "", nil, nil, newProblem(http.StatusConflict, "id_taken",
				"%q has stored overrides of an app the config no longer declares; delete them first", cfg.ID)
		}
		if len(doc.Apps) >= maxRuntimeApps {
			return "", nil, nil, newProblem(http.StatusConflict, "too_many_apps", "at most %d apps can be created here; delete one first", maxRuntimeApps)
		}
		doc.Apps = append(doc.Apps, cfg)
		return cfg.ID, nil, view(cfg, sourceRuntime, []string{"id"}, ""), nil
	})
	if p != nil {
		return p
	}
	return h.written(ar, l, cfg.ID, http.StatusCreated, true)
}

// changeApp replaces (PUT) or merge-patches (PATCH, RFC 7396) an app. Of
// an app of the config, only the fields in manage.overrides may change.
func (h *Handler) changeApp(ar *adminRequest, id string, patch bool) *problem {
	m := h.manager
	body, p := readBody(ar)
	if p != nil {
		return p
	}
	// moved is set when a runtime app's upstream changes: the new one is
	// probed.
	moved := false
	l, p := h.write(ar, map[bool]string{false: "replace", true: "patch"}[patch], func(l *listing, doc *document) (string, any, any, *problem) {
		before, ok := l.find(id)
		if !ok {
			return "", nil, nil, newProblem(http.StatusNotFound, "not_found", "no app %q", id)
		}
		if r, i := doc.runtimeApp(id); r != nil && before.Source == sourceRuntime {
			fields := body
			if patch {
				var err error
				if fields, err = jsonFields(r); err != nil {
					return "", nil, nil, newProblem(http.StatusInternalServerError, "internal", "%v", err)
				}
				mergePatch(fields, body)
			}
			if raw, ok := fields["id"]; ok && string(raw) != strconv.Quote(id) {
				return "", nil, nil, invalid([]fieldProblem{{"/id", "an app's id cannot change; create another app"}})
			}
			fields["id"] = json.RawMessage(strconv.Quote(id))
			cfg, errs := m.decodeApp(fields, "")
			if len(errs) > 0 {
				return "", nil, nil, invalid(errs)
			}
			doc.Apps[i] = cfg
			moved = cfg.Upstream != r.Upstream
			return id, before, view(cfg, sourceRuntime, []string{"id"}, ""), nil
		}
		// An app of the config: the body may set the fields admins may
		// override; any other must keep its value.
		shown, err := jsonFields(before)
		if err != nil {
			return "", nil, nil, newProblem(http.StatusInternalServerError, "internal", "%v", err)
		}
		fields := body
		var errs []fieldProblem
		if patch {
			fields = maps.Clone(shown)
			mergePatch(fields, body)
			// null removes an override, back to the config's value; a
			// field of the config's own has no override to remove.
			for name, v := range body {
				if isNull(v) && !slices.Contains(m.overridable, name) {
					errs = append(errs, fieldProblem{"/" + pointerToken(name), "set in the Caddyfile; admins may change " + strings.Join(m.overridable, ", ")})
				}
			}
		}
		ov := make(map[string]json.RawMessage)
		for name, v := range fields {
			switch {
			case slices.Contains(m.overridable, name):
				ov[name] = v
			case shown[name] == nil:
				errs = append(errs, fieldProblem{"/" + pointerToken(name), "unknown field"})
			case !jsonEqual(shown[name], v):
				errs = append(errs, fieldProblem{"/" + pointerToken(name), "set in the Caddyfile; admins may change " + strings.Join(m.overridable, ", ")})
			}
		}
		if len(errs) > 0 {
			return "", nil, nil, invalid(sortProblems(errs))
		}
		for _, c := range h.Apps {
			if c.ID != id {
				continue
			}
			cfg := c
			for _, name := range slices.Sorted(maps.Keys(ov)) {
				next, err := applyOverride(cfg, name, ov[name])
				if err != nil {
					errs = append(errs, overrideProblem("", name, err))
					continue
				}
				cfg = next
			}
			if len(errs) > 0 {
				return "", nil, nil, invalid(errs)
			}
			// Overrides that equal the config's own values are not kept.
			own, _ := jsonFields(view(c, sourceCaddyfile, nil, ""))
			for name, v := range ov {
				if jsonEqual(own[name], v) {
					delete(ov, name)
				}
			}
			if len(ov) == 0 {
				delete(doc.Overrides, id)
			} else {
				doc.Overrides[id] = ov
			}
			return id, before, view(cfg, sourceCaddyfile, before.Locked, ""), nil
		}
		return "", nil, nil, newProblem(http.StatusNotFound, "not_found", "no app %q", id)
	})
	if p != nil {
		return p
	}
	return h.written(ar, l, id, http.StatusOK, moved)
}

// mergePatch applies an RFC 7396 merge patch to an object whose members
// are not objects: null removes a member, any other value replaces it.
func mergePatch(target, patch map[string]json.RawMessage) {
	for name, v := range patch {
		if isNull(v) {
			delete(target, name)
		} else {
			target[name] = v
		}
	}
}

// isNull reports whether a JSON value is null.
func isNull(v json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// jsonEqual reports whether two JSON values are equal as values.
func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func (h *Handler) deleteApp(ar *adminRequest, id string) *problem {
	l, p := h.write(ar, "delete", func(l *listing, doc *document) (string, any, any, *problem) {
		if r, i := doc.runtimeApp(id); r != nil {
			before, _ := l.find(id)
			doc.Apps = slices.Delete(doc.Apps, i, i+1)
			return id, before, nil, nil
		}
		if slices.ContainsFunc(h.Apps, func(c *AppConfig) bool { return c.ID == id }) {
			return "", nil, nil, newProblem(http.StatusConflict, "declared_in_config",
				"%q is declared in the Caddyfile: deactivate it here, or remove it from the Caddyfile", id)
		}
		if ov, ok := doc.Overrides[id]; ok {
			delete(doc.Overrides, id)
			return id, orphan{id, ov}, nil, nil
		}
		return "", nil, nil, newProblem(http.StatusNotFound, "not_found", "no app %q", id)
	})
	if p != nil {
		return p
	}
	if ar.dryRun {
		return h.respond(ar, http.StatusOK, ar.revision(l), map[string]any{"revision": ar.revision(l), "dry_run": true})
	}
	ar.w.Header().Set("ETag", etagOf(l.doc.Revision))
	ar.w.WriteHeader(http.StatusNoContent)
	return nil
}

// reorder sets the order of every app of a placement, from the full list
// of their ids in the new order.
func (h *Handler) reorder(ar *adminRequest, placement string) *problem {
	if placement != PlacementMainMenu && placement != PlacementTicketSidebar {
		return newProblem(http.StatusNotFound, "not_found", "no placement %q (want %s or %s)", placement, PlacementMainMenu, PlacementTicketSidebar)
	}
	fields, p := readBody(ar)
	if p != nil {
		return p
	}
	var ids []string
	if err := json.Unmarshal(fields["ids"], &ids); err != nil || len(fields) != 1 {
		return invalid([]fieldProblem{{"/ids", "required, and alone: the ids of every app of the placement, in their new order"}})
	}
	l, p := h.write(ar, "order", func(l *listing, doc *document) (string, any, any, *problem) {
		var before []string
		for _, a := range l.apps {
			if a.Placement == placement {
				before = append(before, a.ID)
			}
		}
		var errs []fieldProblem
		for i, id := range ids {
			if !slices.Contains(before, id) || slices.Index(ids, id) != i {
				errs = append(errs, fieldProblem{fmt.Sprintf("/ids/%d", i), fmt.Sprintf("%q is not an app of %s, or is listed twice", id, placement)})
			}
		}
		if len(errs) == 0 && len(ids) != len(before) {
			errs = append(errs, fieldProblem{"/ids", fmt.Sprintf("must list all %d apps of %s", len(before), placement)})
		}
		for i, id := range ids {
			if len(errs) > 0 {
				break
			}
			app, _ := l.find(id)
			order := i + 1
			if r, _ := doc.runtimeApp(id); r != nil && app.Source == sourceRuntime {
				r.Order = order
				continue
			}
			if app.Order == order {
				continue
			}
			if !slices.Contains(h.manager.overridable, "order") {
				errs = append(errs, fieldProblem{fmt.Sprintf("/ids/%d", i), fmt.Sprintf("the order of %q is set in the Caddyfile", id)})
				continue
			}
			if doc.Overrides[id] == nil {
				doc.Overrides[id] = make(map[string]json.RawMessage)
			}
			doc.Overrides[id]["order"] = json.RawMessage(strconv.Itoa(order))
		}
		if len(errs) > 0 {
			return "", nil, nil, invalid(errs)
		}
		return placement, before, ids, nil
	})
	if p != nil {
		return p
	}
	return h.respond(ar, http.StatusOK, ar.revision(l), h.appsBody(l))
}

// exported is the body of export and import: the apps created at runtime
// and the overrides of the config's apps.
type exported struct {
	Revision  uint64                                `json:"revision"`
	Apps      []*AppConfig                          `json:"apps"`
	Overrides map[string]map[string]json.RawMessage `json:"overrides"`
	Caddyfile string                                `json:"caddyfile"`
}

func (h *Handler) export(ar *adminRequest) *problem {
	l, p := h.current(ar.r.Context())
	if p != nil {
		return p
	}
	snippet := caddyfileSnippet(l.doc.Apps)
	if ar.r.URL.Query().Get("format") == "caddyfile" {
		hdr := ar.w.Header()
		hdr.Set("Content-Type", "text/plain; charset=utf-8")
		hdr.Set("Cache-Control", "no-store")
		hdr.Set("ETag", etagOf(l.doc.Revision))
		_, _ = ar.w.Write([]byte(snippet))
		return nil
	}
	apps := l.doc.Apps
	if apps == nil {
		apps = []*AppConfig{}
	}
	return h.respond(ar, http.StatusOK, l.doc.Revision, exported{l.doc.Revision, apps, l.doc.Overrides, snippet})
}

// caddyfileSnippet writes apps as `app` blocks of the helpdesk_apps
// directive, for ops to move them into the Caddyfile. A value the
// Caddyfile cannot carry as it is (one holding `{$`, which the Caddyfile
// replaces with an environment variable before anything else, or ending
// in a backslash) is left out, with a comment that says so.
func caddyfileSnippet(apps []*AppConfig) string {
	var b strings.Builder
	line := func(field string, values ...string) {
		quoted := make([]string, len(values))
		for i, v := range values {
			if strings.Contains(v, "{$") || strings.HasSuffix(v, `\`) {
				fmt.Fprintf(&b, "\t# %s: left out, as the Caddyfile would not read it as it is; set it by hand\n", field)
				return
			}
			quoted[i] = `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
		}
		fmt.Fprintf(&b, "\t%s %s\n", field, strings.Join(quoted, " "))
	}
	for _, a := range apps {
		fmt.Fprintf(&b, "app %s {\n", a.ID)
		for _, kv := range [][2]string{{"name", a.Name}, {"icon", a.Icon}, {"placement", a.Placement}, {"mode", a.Mode}, {"mount", a.Mount}} {
			if kv[1] != "" {
				line(kv[0], kv[1])
			}
		}
		if len(a.Roles) > 0 {
			line("roles", a.Roles...)
		}
		if len(a.Divisions) > 0 {
			line("divisions", a.Divisions...)
		}
		if a.Order != 0 {
			fmt.Fprintf(&b, "\torder %d\n", a.Order)
		}
		for _, kv := range []struct {
			name string
			on   bool
		}{{"favorite", a.Favorite}, {"disabled", a.Disabled}, {"auto_resize", a.AutoResize},
			{"manual_ready", a.ManualReady}, {"isolate_cookies", a.IsolateCookies}} {
			if kv.on {
				fmt.Fprintf(&b, "\t%s\n", kv.name)
			}
		}
		if a.RewriteLinks {
			b.WriteString("\trewrite_links on\n")
		}
		if a.Inject != nil && !*a.Inject {
			b.WriteString("\tinject off\n")
		}
		fmt.Fprintf(&b, "\tto %s\n}\n", a.Upstream)
	}
	return b.String()
}

// importApps replaces the apps created at runtime and the overrides with
// those of an export.
func (h *Handler) importApps(ar *adminRequest) *problem {
	m := h.manager
	fields, p := readBody(ar)
	if p != nil {
		return p
	}
	var errs []fieldProblem
	for name := range fields {
		if name != "apps" && name != "overrides" && name != "revision" && name != "caddyfile" {
			errs = append(errs, fieldProblem{"/" + pointerToken(name), "unknown field"})
		}
	}
	var rawApps []map[string]json.RawMessage
	if raw, ok := fields["apps"]; ok && json.Unmarshal(raw, &rawApps) != nil {
		errs = append(errs, fieldProblem{"/apps", "must be an array of apps"})
	}
	overrides := map[string]map[string]json.RawMessage{}
	if raw, ok := fields["overrides"]; ok && json.Unmarshal(raw, &overrides) != nil {
		errs = append(errs, fieldProblem{"/overrides", "must map app ids to the fields overridden"})
	}
	if len(rawApps) > maxRuntimeApps {
		errs = append(errs, fieldProblem{"/apps", fmt.Sprintf("at most %d apps", maxRuntimeApps)})
		rawApps = nil
	}
	var apps []*AppConfig
	for i, raw := range rawApps {
		at := "/apps/" + strconv.Itoa(i)
		cfg, aerrs := m.decodeApp(raw, at)
		errs = append(errs, aerrs...)
		if cfg == nil || len(aerrs) > 0 {
			continue
		}
		if slices.ContainsFunc(h.Apps, func(c *AppConfig) bool { return c.ID == cfg.ID }) ||
			slices.ContainsFunc(apps, func(a *AppConfig) bool { return a.ID == cfg.ID }) {
			errs = append(errs, fieldProblem{at + "/id", fmt.Sprintf("%q is taken", cfg.ID)})
		}
		apps = append(apps, cfg)
	}
	for _, member := range []string{"apps", "overrides"} {
		if _, ok := fields[member]; !ok {
			errs = append(errs, fieldProblem{"/" + member, "required: an import replaces the apps created here and the overrides, so it names both (empty to remove them all)"})
		}
	}
	for id, ov := range overrides {
		app := &AppConfig{ID: id}
		if i := slices.IndexFunc(h.Apps, func(c *AppConfig) bool { return c.ID == id }); i >= 0 {
			app = h.Apps[i]
		}
		at := "/overrides/" + pointerToken(id)
		for _, name := range slices.Sorted(maps.Keys(ov)) {
			if !slices.Contains(m.overridable, name) {
				errs = append(errs, fieldProblem{at + "/" + pointerToken(name), "not among manage.overrides"})
			} else if _, err := applyOverride(app, name, ov[name]); err != nil {
				errs = append(errs, overrideProblem(at, name, err))
			}
		}
	}
	if len(errs) > 0 {
		return invalid(sortProblems(errs))
	}
	l, p := h.write(ar, "import", func(l *listing, doc *document) (string, any, any, *problem) {
		before := importSummary(doc.Apps, doc.Overrides)
		doc.Apps = apps
		doc.Overrides = overrides
		return "", before, importSummary(apps, overrides), nil
	})
	if p != nil {
		return p
	}
	return h.respond(ar, http.StatusOK, ar.revision(l), h.appsBody(l))
}

// importSummary is what the audit trail keeps of the apps and overrides
// an import replaced or set: their ids.
func importSummary(apps []*AppConfig, overrides map[string]map[string]json.RawMessage) any {
	ids := make([]string, len(apps))
	for i, a := range apps {
		ids[i] = a.ID
	}
	return map[string][]string{"apps": ids, "overrides": slices.Sorted(maps.Keys(overrides))}
}

func (h *Handler) getAudit(ar *adminRequest) *problem {
	l, p := h.current(ar.r.Context())
	if p != nil {
		return p
	}
	limit := 50
	if v := ar.r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return newProblem(http.StatusBadRequest, "bad_limit", "limit: must be a positive whole number")
		}
		limit = min(n, auditLimit)
	}
	entries := slices.Clone(l.doc.Audit)
	slices.Reverse(entries)
	entries = entries[:min(limit, len(entries))]
	if entries == nil {
		entries = []auditEntry{}
	}
	return h.respond(ar, http.StatusOK, l.doc.Revision, map[string]any{"revision": l.doc.Revision, "entries": entries})
}

func (h *Handler) getInstances(ar *adminRequest) *problem {
	ctx := ar.r.Context()
	instances, err := h.manager.listInstances(ctx)
	body := map[string]any{"instances": instances}
	var revision uint64
	if doc, lerr := h.manager.load(ctx); lerr == nil {
		revision = doc.Revision
	} else {
		err = cmp.Or(err, lerr)
		revision = h.reg.Load().doc.Revision
	}
	body["revision"] = revision
	if err != nil {
		body["storage_error"] = err.Error()
	}
	return h.respond(ar, http.StatusOK, revision, body)
}

// access answers "who can see this": which apps a user of a role and a
// division gets, as this instance enforces it now, and why not.
func (h *Handler) access(ar *adminRequest) *problem {
	q := ar.r.URL.Query()
	role := session.LowerRole(q.Get("role"))
	if !slices.Contains(knownRoles, role) {
		return newProblem(http.StatusBadRequest, "bad_role", "role: must be one of %s", strings.Join(knownRoles, ", "))
	}
	claims := session.Claims{Role: role, Division: q.Get("division")}
	reg := h.reg.Load()
	l := h.list(reg.doc)
	type entry struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		Placement string `json:"placement"`
		Visible   bool   `json:"visible"`
		Reason    string `json:"reason"`
	}
	entries := []entry{}
	for _, a := range l.apps {
		e := entry{ID: a.ID, Name: a.Name, Placement: a.Placement}
		app := reg.byID[a.ID]
		switch {
		case app == nil:
			e.Reason = cmp.Or(a.Problem, "not served")
		case app.Disabled:
			e.Reason = "deactivated"
		default:
			if err := app.allows(claims); err != nil {
				e.Reason = err.Error()
			} else {
				e.Visible = true
			}
		}
		entries = append(entries, e)
	}
	return h.respond(ar, http.StatusOK, reg.doc.Revision, map[string]any{
		"revision": reg.doc.Revision, "role": role, "division": claims.Division, "apps": entries,
	})
}
