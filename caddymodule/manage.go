package caddymodule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/headers"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/helpdeskapps/gateway/caddymodule/session"
	"github.com/helpdeskapps/gateway/caddymodule/upstreams"
)

// ManageConfig lets the Helpdesk's admins and owners manage apps at
// runtime, through the management API and the settings page: create apps
// that point at an allowed upstream, and change what ops let them change
// of the apps in the config. The changes are one revisioned document in
// Caddy's storage, shared by every instance that uses the same storage.
type ManageConfig struct {
	// Roles that may manage apps. Default: `admin`, `owner`.
	Roles []string `json:"roles,omitempty"`

	// Upstreams are where the apps admins create may point: host names
	// (`crm.internal`), every name under a domain
	// (`*.internal.example.com`), IP addresses and CIDR networks; a name
	// or an address may carry a port (`10.0.0.5:8080`). An app's upstream must
	// match when it is saved; each address the gateway dials for it is
	// checked again after name resolution, and a loopback, link-local
	// (cloud metadata) or unspecified address is refused unless an
	// address or network here covers it. Caddy's admin endpoint is
	// always refused. Empty: admins may create no app, only change the
	// overrides of the apps in the config.
	Upstreams []string `json:"upstreams,omitempty"`

	// Refuse lists more listener addresses, as `host:port` (`:port` for
	// every address), that runtime apps may never reach, whatever
	// Upstreams allows. Caddy's admin endpoint (`localhost:2019`, or
	// `CADDY_ADMIN`) is always refused; the Caddyfile adds the address of
	// the `admin` global option.
	Refuse []string `json:"refuse,omitempty"`

	// Overrides are the fields of the apps in the config that admins may
	// change, by their JSON names: any of `name`, `icon`, `placement`,
	// `mode`, `order`, `favorite`, `disabled`, `inject`, `auto_resize`,
	// `manual_ready`, `rewrite_links`, `isolate_cookies`. An app's id,
	// backend, access rules and origin are always the config's. Default:
	// `order`, `favorite`, `disabled`.
	Overrides []string `json:"overrides,omitempty"`

	// Poll is how often each instance reads the shared document, up to a
	// tenth sooner at random so that instances spread their reads. From
	// 1s. Default: `10s`.
	Poll caddy.Duration `json:"poll,omitempty"`

	// Host is the one host that serves the settings page and the
	// management API, and no app: an origin of their own, so that no app
	// page can call the API with the session cookie of an admin who opens
	// it (pages of one origin can script each other, whatever else they
	// check). Without it they are served on every host the site serves,
	// alongside the apps, which must then all be trusted.
	Host string `json:"host,omitempty"`

	// Site names this Helpdesk in storage keys, with the prefix. Two
	// Helpdesks sharing a storage and a prefix need different names.
	// Default: the session's issuer, or `default` without one.
	Site string `json:"site,omitempty"`
}

// overridable are the fields ops may let admins override.
var overridable = []string{"name", "icon", "placement", "mode", "order", "favorite", "disabled",
	"inject", "auto_resize", "manual_ready", "rewrite_links", "isolate_cookies"}

// runtimeFields are the fields an app created at runtime is made of.
var runtimeFields = append([]string{"id", "roles", "divisions", "upstream", "mount"}, overridable...)

// defaultPoll is the poll interval without one configured.
const defaultPoll = 10 * time.Second

// instanceExpiry is how long the record of an instance not heard from is
// kept.
const instanceExpiry = 24 * time.Hour

// auditLimit is how many entries the document keeps in its audit trail.
const auditLimit = 500

// document is what the storage holds for one Helpdesk: the apps admins
// created, their overrides of the config's apps, and the audit trail. Its
// revision counts the writes.
type document struct {
	Revision uint64 `json:"revision"`
	// Apps are the apps created at runtime, each with an upstream and no
	// backend.
	Apps []*AppConfig `json:"apps"`
	// Overrides holds, for apps of the config by id, the fields admins
	// changed and their values.
	Overrides map[string]map[string]json.RawMessage `json:"overrides"`
	Audit     []auditEntry                          `json:"audit"`
}

// auditEntry records one write: who, when, from where, and what.
type auditEntry struct {
	At       time.Time       `json:"at"`
	User     auditUser       `json:"user"`
	From     string          `json:"from"`
	Action   string          `json:"action"`
	Target   string          `json:"target"`
	Revision uint64          `json:"revision"`
	Before   json.RawMessage `json:"before"`
	After    json.RawMessage `json:"after"`
}

// auditUser is the user an audit entry names.
type auditUser struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// clone returns a deep copy of doc.
func (doc *document) clone() (*document, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	out := new(document)
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, err
	}
	if out.Overrides == nil {
		out.Overrides = make(map[string]map[string]json.RawMessage)
	}
	return out, nil
}

// runtimeApp returns the app created at runtime with id, and its index.
func (doc *document) runtimeApp(id string) (*AppConfig, int) {
	i := slices.IndexFunc(doc.Apps, func(a *AppConfig) bool { return a.ID == id })
	if i < 0 {
		return nil, -1
	}
	return doc.Apps[i], i
}

// instanceRecord is what an instance tells the others of itself, in
// storage: the revision it serves, and the last error it met.
type instanceRecord struct {
	ID        string    `json:"id"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Revision  uint64    `json:"revision"`
	AppliedAt time.Time `json:"applied_at"`
	// SeenAt is when it last read the document.
	SeenAt time.Time `json:"seen_at"`
	Error  string    `json:"error,omitempty"`
	// Self and Stale are set as the API lists instances: the instance
	// answering, and one not heard of for three polls.
	Self  bool `json:"self,omitempty"`
	Stale bool `json:"stale,omitempty"`
}

// manager is the runtime management of one Handler.
type manager struct {
	roles       []string
	allow       *upstreams.Allowlist
	overridable []string
	poll        time.Duration
	storage     certmagic.Storage
	// host is the management's own host, lower-case; empty: every host.
	host string
	// key is the document's storage key, lockName its lock's name,
	// instances the folder of the instances' records.
	key, lockName, instances string
	logger                   *zap.Logger

	// highest is the highest revision read; writes counts the writes
	// this instance made, so that a poll that read the document before
	// one does not install what it read after it.
	highest, writes atomic.Uint64

	mu   sync.Mutex
	self instanceRecord
}

// provision checks the config and prepares the manager; it reads
// nothing yet.
func (c *ManageConfig) provision(ctx caddy.Context, prefix, issuer string, logger *zap.Logger) (*manager, error) {
	m := &manager{storage: ctx.Storage(), logger: logger, poll: time.Duration(c.Poll)}
	var err error
	if m.poll == 0 {
		m.poll = defaultPoll
	}
	if m.poll < time.Second {
		return nil, fmt.Errorf("poll %s: must be at least 1s", m.poll)
	}
	if m.roles, err = staffRoles(c.Roles); err != nil {
		return nil, err
	}
	if m.host, err = validManageHost(c.Host); err != nil {
		return nil, err
	}
	m.overridable = c.Overrides
	if len(m.overridable) == 0 {
		m.overridable = []string{"order", "favorite", "disabled"}
	}
	for _, f := range m.overridable {
		if !slices.Contains(overridable, f) {
			return nil, fmt.Errorf("overrides: %q cannot be overridden (want any of %s)", f, strings.Join(overridable, ", "))
		}
	}
	var refused []string
	for _, addr := range append([]string{caddy.DefaultAdminListen}, c.Refuse...) {
		na, err := caddy.ParseNetworkAddress(addr)
		if err != nil {
			return nil, fmt.Errorf("refuse %q: %w", addr, err)
		}
		if na.IsUnixNetwork() || na.IsFdNetwork() {
			continue // not reachable by a dial to host:port
		}
		if na.PortRangeSize() > 1024 {
			return nil, fmt.Errorf("refuse %q: at most 1024 ports", addr)
		}
		for port := na.StartPort; port <= na.EndPort; port++ {
			refused = append(refused, net.JoinHostPort(na.Host, strconv.FormatUint(uint64(port), 10)))
		}
	}
	if m.allow, err = upstreams.Parse(c.Upstreams, refused); err != nil {
		return nil, fmt.Errorf("upstreams: %w", err)
	}
	site := c.Site
	if site == "" {
		site = issuer
	}
	if site == "" {
		site = "default"
	}
	base := "helpdesk_apps/" + storageName(site, prefix)
	m.key, m.lockName, m.instances = base+"/registry.json", base+"/registry", base+"/instances"

	// Caddy's instance id is kept in its data folder, which processes on
	// one machine may share: the process id tells them apart.
	id, err := caddy.InstanceID()
	m.self.PID = os.Getpid()
	m.self.ID = fmt.Sprintf("%s-%d", id, m.self.PID)
	if err != nil {
		m.self.ID = fmt.Sprintf("%x-%d", rand.Uint64(), m.self.PID)
	}
	m.self.Host, _ = os.Hostname()
	return m, nil
}

// staffRoles checks the roles given to manage apps or use the console,
// and returns them in lower case; none given are admins and owners.
func staffRoles(roles []string) ([]string, error) {
	if len(roles) == 0 {
		return []string{"admin", "owner"}, nil
	}
	out := make([]string, 0, len(roles))
	for _, role := range roles {
		lower := session.LowerRole(role)
		if !slices.Contains(knownRoles, lower) {
			return nil, fmt.Errorf("roles: unknown role %q (want one of %s)", role, strings.Join(knownRoles, ", "))
		}
		out = append(out, lower)
	}
	return out, nil
}

// validManageHost checks manage.host: a host name or address, without a
// scheme, port or path; it returns it in lower case.
func validManageHost(host string) (string, error) {
	if host == "" {
		return "", nil
	}
	lower := strings.ToLower(host)
	if strings.ContainsAny(lower, ":/@?#*{} ") || !strings.ContainsFunc(lower, func(r rune) bool { return r != '.' }) {
		return "", fmt.Errorf("host %q: must be a host name, such as apps-admin.example.com, with no scheme, port or path", host)
	}
	return lower, nil
}

// requestHost is the host a request was sent to, lower-case, without its
// port.
func requestHost(r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// managesHere reports whether the request's host serves the management.
func (m *manager) managesHere(r *http.Request) bool {
	return m.host == "" || requestHost(r) == m.host
}

// hostsNoApps reports whether the request's host is the management's own,
// where no app is served.
func (m *manager) hostsNoApps(r *http.Request) bool {
	return m != nil && m.host != "" && requestHost(r) == m.host
}

// storageName is a storage key segment for a site and prefix: readable,
// and unique by its hash.
func storageName(site, prefix string) string {
	sum := sha256.Sum256([]byte(site + "\x00" + prefix))
	var slug strings.Builder
	for _, c := range strings.ToLower(site + prefix) {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			slug.WriteRune(c)
		case slug.Len() > 0 && !strings.HasSuffix(slug.String(), "-"):
			slug.WriteByte('-')
		}
		if slug.Len() >= 40 {
			break
		}
	}
	return strings.Trim(slug.String(), "-") + "-" + hex.EncodeToString(sum[:4])
}

// load reads the document. A document never written is empty, at
// revision 0; but once a revision above 0 was read, a missing document is
// an error, not an empty registry: storage that lost it (a failover to an
// empty replica, a wrong bucket) must not bring back the apps admins
// deactivated and drop the ones they created.
func (m *manager) load(ctx context.Context) (*document, error) {
	raw, err := m.storage.Load(ctx, m.key)
	if errors.Is(err, fs.ErrNotExist) {
		if seen := m.highest.Load(); seen > 0 {
			return nil, fmt.Errorf("the shared registry %s is missing, though revision %d was read before", m.key, seen)
		}
		return &document{Overrides: map[string]map[string]json.RawMessage{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the shared registry %s: %w", m.key, err)
	}
	doc := new(document)
	if err := json.Unmarshal(raw, doc); err != nil {
		return nil, fmt.Errorf("reading the shared registry %s: %w", m.key, err)
	}
	if slices.Contains(doc.Apps, nil) {
		return nil, fmt.Errorf("reading the shared registry %s: an app is null", m.key)
	}
	if doc.Overrides == nil {
		doc.Overrides = map[string]map[string]json.RawMessage{}
	}
	m.saw(doc.Revision)
	return doc, nil
}

// saw notes that revision was read or written.
func (m *manager) saw(revision uint64) {
	for {
		seen := m.highest.Load()
		if revision <= seen || m.highest.CompareAndSwap(seen, revision) {
			return
		}
	}
}

// store writes the document; the caller holds the lock.
func (m *manager) store(ctx context.Context, doc *document) error {
	raw, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	if err := m.storage.Store(ctx, m.key, raw); err != nil {
		return fmt.Errorf("writing the shared registry %s: %w", m.key, err)
	}
	return nil
}

// merge makes the apps to compile of the config's apps and the document:
// the config's, with the overrides admins may make, and the runtime apps,
// each given a reverse_proxy to its upstream. A runtime app that is not
// valid any more (its id now the config's, its upstream no longer
// allowed, its host a config app's) is left out, and so is an override
// ops no longer allow or whose value is invalid; each is reported in
// problems, by app id.
func (h *Handler) merge(doc *document) (configs []*AppConfig, problems map[string]string) {
	m := h.manager
	problems = make(map[string]string)
	taken := make(map[string]string)
	for _, c := range h.Apps {
		cfg, notes := m.override(c, doc.Overrides[c.ID])
		if len(notes) > 0 {
			problems[c.ID] = strings.Join(notes, "; ")
		}
		if host, err := h.appHost(cfg); err == nil && host != "" {
			taken[host] = cfg.ID
		}
		configs = append(configs, cfg)
	}
	for _, r := range doc.Apps {
		if slices.ContainsFunc(h.Apps, func(c *AppConfig) bool { return c.ID == r.ID }) {
			problems[r.ID] = "not served: the config declares an app with this id"
			continue
		}
		host, err := h.appHost(r)
		if err == nil && taken[host] != "" {
			err = fmt.Errorf("host %q: the config's app %q is mounted there", host, taken[host])
		}
		var cfg *AppConfig
		if err == nil {
			cfg, err = m.runtimeConfig(r, host != "")
		}
		if err != nil {
			problems[r.ID] = "not served: " + err.Error()
			continue
		}
		configs = append(configs, cfg)
	}
	return configs, problems
}

// override returns c with the overrides of ov applied one by one: a field
// ops no longer let admins override keeps the config's value, and so does
// one whose value is invalid, each noted. An override to deactivate the
// app that cannot be read deactivates it all the same: what an admin
// hid stays hidden.
func (m *manager) override(c *AppConfig, ov map[string]json.RawMessage) (*AppConfig, []string) {
	var notes []string
	for _, name := range slices.Sorted(maps.Keys(ov)) {
		if !slices.Contains(m.overridable, name) {
			notes = append(notes, fmt.Sprintf("override of %s not applied: not among manage.overrides", name))
			continue
		}
		next, err := applyOverride(c, name, ov[name])
		if err != nil {
			notes = append(notes, fmt.Sprintf("override of %s not applied: %v", name, err))
			if name == "disabled" && !c.Disabled {
				hidden := *c
				hidden.Disabled = true
				next = &hidden
			} else {
				continue
			}
		}
		c = next
	}
	return c, notes
}

// applyOverride returns a copy of c with the field name set to v, checked;
// an error is a *json.UnmarshalTypeError or a *fieldError.
func applyOverride(c *AppConfig, name string, v json.RawMessage) (*AppConfig, error) {
	fields, err := jsonFields(c)
	if err != nil {
		return nil, err
	}
	fields[name] = v
	out := new(AppConfig)
	if err := remarshal(fields, out); err != nil {
		return nil, err
	}
	if err := out.validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// runtimeConfig checks an app created at runtime and returns a copy of it
// with its backend: a reverse_proxy to its upstream that, as `to` does,
// sends it its own Host, or, for an app on a host of its own, that host.
func (m *manager) runtimeConfig(r *AppConfig, onHost bool) (*AppConfig, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	scheme, dial, err := m.allow.Check(r.Upstream)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	ht := new(reverseproxy.HTTPTransport)
	if scheme == "https" {
		ht.TLS = new(reverseproxy.TLSConfig)
	}
	rp := &reverseproxy.Handler{
		Upstreams:    reverseproxy.UpstreamPool{{Dial: dial}},
		TransportRaw: caddyconfig.JSONModuleObject(ht, "protocol", "http", nil),
	}
	if !onHost {
		rp.Headers = &headers.Handler{Request: &headers.HeaderOps{
			Set: http.Header{"Host": []string{upstreamHostPlaceholder}},
		}}
	}
	cfg := *r
	cfg.BackendRaw = caddyconfig.JSONModuleObject(rp, "handler", "reverse_proxy", nil)
	return &cfg, nil
}

// guardDial makes the transport of a runtime app's reverse_proxy dial only
// the addresses the allowlist allows, checked after name resolution, and
// never through a proxy from the environment, which would resolve names
// itself.
func guardDial(ht *reverseproxy.HTTPTransport, allow *upstreams.Allowlist) {
	d := &net.Dialer{Timeout: time.Duration(ht.DialTimeout), Control: allow.Control}
	t := ht.Transport
	t.Proxy = nil
	t.DialContext = func(ctx context.Context, network, address string) (net.Conn, error) {
		if info, ok := reverseproxy.GetDialInfo(ctx); ok {
			network, address = info.Network, info.Address
		}
		conn, err := d.DialContext(ctx, network, address)
		if err != nil {
			return nil, reverseproxy.NewDialError(err)
		}
		return conn, nil
	}
}

// jsonFields returns v's JSON object as its fields.
func jsonFields(v any) (map[string]json.RawMessage, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	return fields, json.Unmarshal(raw, &fields)
}

// remarshal decodes fields into v.
func remarshal(fields map[string]json.RawMessage, v any) error {
	raw, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// install compiles the document with the config's apps and swaps the
// result in; a failed compile keeps the current registry. writes is the
// manager's count of writes when the document was read: if this instance
// wrote since, what was read is older than what it serves, and is not
// installed.
func (h *Handler) install(doc *document, writes uint64) error {
	return h.update(func(prev *registry) (*registry, error) {
		if h.manager.writes.Load() != writes {
			return nil, nil
		}
		return h.compileDocument(doc, prev)
	})
}

// compileDocument compiles the document with the config's apps into the
// registry that follows prev.
func (h *Handler) compileDocument(doc *document, prev *registry) (*registry, error) {
	configs, problems := h.merge(doc)
	var revision uint64 = 1
	if prev != nil {
		revision = prev.revision + 1
	}
	reg, err := h.compileRegistry(configs, prev, revision)
	if err != nil {
		return nil, err
	}
	reg.doc, reg.problems = doc, problems
	return reg, nil
}

// loadInitial reads the document as the Handler is provisioned, trying a
// few times: a Handler that cannot read it does not start, for it would
// serve the config's apps without the changes admins made, deactivated
// apps among them. Caddy keeps its running config.
func (m *manager) loadInitial(ctx context.Context) (*document, error) {
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		var doc *document
		if doc, err = m.load(ctx); err == nil {
			return doc, nil
		}
	}
	return nil, err
}

// run records the instance's state, then polls the document until ctx is
// done: each poll that finds a newer revision compiles and swaps it in,
// and every poll records the instance's state for the others to see.
func (h *Handler) run(ctx context.Context) {
	m := h.manager
	if ctx.Err() != nil {
		return // provisioned only to be validated
	}
	m.record(ctx, h.reg.Load().doc.Revision, nil)
	for {
		jitter := time.Duration(rand.Int64N(int64(m.poll)/10 + 1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(m.poll - jitter):
		}
		h.refresh(ctx)
	}
}

// refresh reads the document and installs it if it is newer than the
// registry's; a failure keeps the registry, and is logged once until it
// changes or ends.
func (h *Handler) refresh(ctx context.Context) {
	m := h.manager
	writes := m.writes.Load()
	doc, err := m.load(ctx)
	if err == nil && doc.Revision != h.reg.Load().doc.Revision {
		if err = h.install(doc, writes); err != nil {
			err = fmt.Errorf("compiling revision %d: %w", doc.Revision, err)
		}
	}
	if err != nil {
		h.metrics.applyFailures.WithLabelValues(h.Prefix).Inc()
	}
	m.record(ctx, h.reg.Load().doc.Revision, err)
}

// lastError is the error of the last read of the document, "" when it
// succeeded.
func (m *manager) lastError() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.self.Error
}

// record notes the revision the instance serves and the error it met, if
// any, and writes its record to storage for the others to list.
func (m *manager) record(ctx context.Context, revision uint64, failure error) {
	m.mu.Lock()
	now := time.Now().UTC()
	prevErr := m.self.Error
	if revision != m.self.Revision || m.self.AppliedAt.IsZero() {
		m.self.Revision, m.self.AppliedAt = revision, now
	}
	m.self.Error = ""
	if failure != nil {
		m.self.Error = failure.Error()
	} else {
		m.self.SeenAt = now
	}
	rec := m.self
	m.mu.Unlock()

	switch {
	case failure != nil && rec.Error != prevErr:
		m.logger.Error("shared registry unavailable; serving the last one read",
			zap.Uint64("revision", revision), zap.Error(failure))
	case failure == nil && prevErr != "":
		m.logger.Info("shared registry read again", zap.Uint64("revision", revision))
	}
	raw, err := json.Marshal(rec)
	if err == nil {
		err = m.storage.Store(ctx, m.instances+"/"+rec.ID+".json", raw)
	}
	if err != nil && failure == nil {
		m.logger.Warn("recording this instance's state", zap.Error(err))
	}
}

// selfRecord returns the instance's own record.
func (m *manager) selfRecord() instanceRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec := m.self
	rec.Self = true
	return rec
}

// listInstances returns the records of every instance that shares the
// storage, this one's from memory, and deletes those not heard from for
// instanceExpiry; err tells why the others could not be read.
func (m *manager) listInstances(ctx context.Context) ([]instanceRecord, error) {
	self := m.selfRecord()
	out := []instanceRecord{self}
	keys, err := m.storage.List(ctx, m.instances, false)
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	stale := time.Now().Add(-3*m.poll - 5*time.Second)
	for _, key := range keys {
		raw, lerr := m.storage.Load(ctx, key)
		if lerr != nil {
			continue
		}
		var rec instanceRecord
		if json.Unmarshal(raw, &rec) != nil || rec.ID == self.ID {
			continue
		}
		if time.Since(rec.SeenAt) > instanceExpiry {
			// An instance gone for good (a container's data folder,
			// and with it its id, lasts as long as the container).
			_ = m.storage.Delete(ctx, key)
			continue
		}
		rec.Self = false
		rec.Stale = rec.SeenAt.Before(stale)
		out = append(out, rec)
	}
	slices.SortStableFunc(out[1:], func(a, b instanceRecord) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}
