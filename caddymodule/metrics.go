package caddymodule

import (
	"errors"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// metrics are the gateway's Prometheus metrics, in Caddy's registry. Every
// handler of a config shares them: a collector another handler registered
// first is used as it is. Labels are few and bounded: app ids from the
// registry (apps the registry does not hold are "_none"), outcomes,
// reasons and results from fixed lists; never users or paths.
type metrics struct {
	requests      *prometheus.CounterVec
	backend       *prometheus.HistogramVec
	bodies        *prometheus.CounterVec
	sessions      *prometheus.CounterVec
	assertions    *prometheus.CounterVec
	jwksKeys      *prometheus.GaugeVec
	jwksFetched   *prometheus.GaugeVec
	jwksFailures  *prometheus.CounterVec
	revision      *prometheus.GaugeVec
	applyFailures *prometheus.CounterVec
	signins       *prometheus.CounterVec

	// The series of the session checks and assertions of nearly every
	// request, resolved once: finding a labelled series hashes its
	// labels and takes a lock.
	sessionHit, sessionVerified      prometheus.Counter
	assertionCached, assertionSigned prometheus.Counter
}

// noApp is the app label of requests for no app of the registry.
const noApp = "_none"

// newMetrics registers the metrics in reg, or takes those already there.
func newMetrics(reg prometheus.Registerer) *metrics {
	const ns, sub = "caddy", "helpdesk_apps"
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: ns, Subsystem: sub, Name: name, Help: help}
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return register(reg, prometheus.NewCounterVec(prometheus.CounterOpts(opts(name, help)), labels))
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts(opts(name, help)), labels))
	}
	m := &metrics{
		requests: counter("requests_total",
			"Requests for apps, by app and outcome: allowed, unauthenticated, forbidden, not_found, cross_origin, unavailable, bad_request, backend_error (a 5xx of the backend, or none).",
			"app", "outcome"),
		backend: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "backend_response_seconds",
			Help:    "Time from handing a request to the app's backend to its response headers, by app.",
			Buckets: prometheus.DefBuckets,
		}, []string{"app"})),
		bodies: counter("bodies_total",
			"Response bodies of apps by what happened to them (injected, rewritten, injected_rewritten, passed) and why.",
			"app", "action", "reason"),
		sessions: counter("session_verifications_total",
			"Helpdesk session tokens checked: cache_hit, verified, or the reason of a failure.",
			"result"),
		assertions: counter("assertions_total",
			"X-Helpdesk-Assertion tokens given to backends: cached (reused) or signed.",
			"result"),
		jwksKeys: gauge("jwks_keys",
			"Usable keys of the session's key set, by its URL (without password or query).", "jwks"),
		jwksFetched: gauge("jwks_last_fetch_timestamp_seconds",
			"When the session's key set was last fetched, by its URL.", "jwks"),
		jwksFailures: counter("jwks_fetch_failures_total",
			"Failed fetches of the session's key set, by its URL: the last good one serves meanwhile.", "jwks"),
		revision: gauge("registry_revision",
			"The registry snapshot an instance serves (it counts snapshots from 1), by prefix.", "prefix"),
		applyFailures: counter("registry_apply_failures_total",
			"Shared registry revisions that could not be read or compiled, by prefix: the last good one serves meanwhile.", "prefix"),
		signins: counter("signins_total",
			"Steps of the gateway's own sign-in (OIDC): started, completed, failed, exchanged, exchange_refused, renewed, renew_failed, signed_out, mismatch.",
			"result"),
	}
	m.sessionHit, m.sessionVerified = m.sessions.WithLabelValues("cache_hit"), m.sessions.WithLabelValues("verified")
	m.assertionCached, m.assertionSigned = m.assertions.WithLabelValues("cached"), m.assertions.WithLabelValues("signed")
	return m
}

// track makes the series nearly every request of reg's apps counts in,
// at 0, before reg serves, so that their rates work from the first
// request. Requests still find them by their labels: the vectors are
// shared by every helpdesk_apps handler of the config, and a series one
// of them forgets, another may still count in.
func (m *metrics) track(reg *registry) {
	for id := range reg.byID {
		m.requests.WithLabelValues(id, "allowed")
		m.backend.WithLabelValues(id)
	}
}

// register registers c in reg, or returns the collector of the same
// description registered there before.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

// metricsOf returns the metrics of ctx's config: in Caddy's registry, or
// in one of their own when there is none.
func metricsOf(ctx caddy.Context) *metrics {
	if reg := ctx.GetMetricsRegistry(); reg != nil {
		return newMetrics(reg)
	}
	return newMetrics(prometheus.NewRegistry())
}

// outcome names the end of a request for an app by the status the gateway
// answered with, or the backend's status.
func outcome(status int, reason error, backend bool) string {
	switch {
	case backend && status >= 500:
		return "backend_error"
	case backend:
		return "allowed"
	case status == http.StatusUnauthorized:
		return "unauthenticated"
	case status == http.StatusForbidden && errors.Is(reason, errCrossOrigin):
		return "cross_origin"
	case status == http.StatusForbidden:
		return "forbidden"
	case status == http.StatusNotFound:
		return "not_found"
	case status == http.StatusServiceUnavailable:
		return "unavailable"
	case status >= 500:
		return "backend_error"
	}
	return "bad_request"
}

// request counts a request for app (nil: none of the registry).
func (m *metrics) request(app *App, status int, reason error, backend bool) {
	m.requests.WithLabelValues(appLabel(app), outcome(status, reason, backend)).Inc()
}

// appLabel is app's label value.
func appLabel(app *App) string {
	if app == nil {
		return noApp
	}
	return app.ID
}

// backendTime observes how long app's backend took to its headers.
func (m *metrics) backendTime(app *App, d time.Duration) {
	m.backend.WithLabelValues(app.ID).Observe(d.Seconds())
}

// bodyReasons are the metric's short names of the body plans' reasons.
var bodyReasons = map[string]string{
	reasonOff:        "off",
	reasonBodiless:   "bodiless",
	reasonKind:       "not_html_or_css",
	reasonCoding:     "content_coding",
	reasonNotDoc:     "not_document",
	reasonStatus:     "not_2xx",
	reasonNotHTML:    "not_html",
	reasonDownload:   "download",
	reasonInject:     "document",
	reasonRewrite:    "links",
	reasonInjectBoth: "document_links",
}

// body counts what happened to a body of app, by its plan.
func (m *metrics) body(app *App, p bodyPlan) {
	action := "passed"
	switch {
	case p.inject && p.rewrite:
		action = "injected_rewritten"
	case p.inject:
		action = "injected"
	case p.rewrite:
		action = "rewritten"
	}
	m.bodies.WithLabelValues(app.ID, action, bodyReasons[p.reason]).Inc()
}

// sessionResults name the failures of a session check, by their error.
var sessionResults = []struct {
	err  error
	name string
}{
	{session.ErrMalformed, "malformed"},
	{session.ErrTooLarge, "too_large"},
	{session.ErrAlgorithm, "algorithm"},
	{session.ErrUnknownKey, "unknown_key"},
	{session.ErrNoKeyID, "no_key_id"},
	{session.ErrKeysUnavailable, "keys_unavailable"},
	{session.ErrSignature, "signature"},
	{session.ErrExpired, "expired"},
	{session.ErrNoExpiry, "no_expiry"},
	{session.ErrNotYetValid, "not_yet_valid"},
	{session.ErrIssuer, "issuer"},
	{session.ErrAudience, "audience"},
	{session.ErrNoSubject, "no_subject"},
}

// verified counts a session check.
func (m *metrics) verified(cached bool, err error) {
	switch {
	case err == nil && cached:
		m.sessionHit.Inc()
	case err == nil:
		m.sessionVerified.Inc()
	default:
		result := "other"
		for _, r := range sessionResults {
			if errors.Is(err, r.err) {
				result = r.name
				break
			}
		}
		m.sessions.WithLabelValues(result).Inc()
	}
}

// assertion counts an assertion given to a backend.
func (m *metrics) assertion(cached bool) {
	if cached {
		m.assertionCached.Inc()
	} else {
		m.assertionSigned.Inc()
	}
}

// jwksFetch records a fetch of the key set at url.
func (m *metrics) jwksFetch(url string, keys int, err error) {
	if err != nil {
		m.jwksFailures.WithLabelValues(url).Inc()
		return
	}
	m.jwksKeys.WithLabelValues(url).Set(float64(keys))
	m.jwksFetched.WithLabelValues(url).SetToCurrentTime()
}

// signin counts a step of the gateway's own sign-in.
func (m *metrics) signin(event string) {
	m.signins.WithLabelValues(event).Inc()
}

// forget deletes the series of the apps prev holds and next does not.
func (m *metrics) forget(prev, next *registry) {
	for id := range prev.byID {
		if next.byID[id] == nil {
			labels := prometheus.Labels{"app": id}
			m.requests.DeletePartialMatch(labels)
			m.backend.DeletePartialMatch(labels)
			m.bodies.DeletePartialMatch(labels)
		}
	}
}
