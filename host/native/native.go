// Package native runs the authgate pipeline directly in a Go program, as
// net/http middleware, performing authorizer calls with net/http. It gives
// the same answers as the filter in Envoy and in the wasm host.
package native

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/core/stats"
	"github.com/authgate/authgate/host/internal/envoyheaders"
)

// MaxAuthorizerBody is the largest authorizer response body accepted; a
// larger answer is a failed call (500), like a timeout.
const MaxAuthorizerBody = 1 << 20

// Options configure a Middleware. Clusters maps each authorizer's cluster
// name to the base URL its events are POSTed to (the authorizer's path is
// appended). Clock defaults to time.Now, Client to a client without
// redirects, Logger to slog.Default(). A plan with Lambda authorizers
// (authorizerUri) needs a Client that signs their clusters' requests:
// host/awssign's Transport.Client, as authgate serve uses.
type Options struct {
	Clusters map[string]string
	Client   *http.Client
	Logger   *slog.Logger
	Clock    func() time.Time

	// OnDecision, when set, sees the final result of every request (after
	// Resume for requests that needed the authorizer), before the request is
	// answered or forwarded. It must not modify the result.
	OnDecision func(pipeline.Result)
	// OnCall, when set, is called once per authorizer HTTP call actually
	// made (shared calls count once), with the authorizer's name.
	OnCall func(authorizer string)
}

// Middleware authorizes requests before they reach the next handler. It is
// safe for concurrent use; its cache and in-flight calls are shared by all
// handlers it returns.
type Middleware struct {
	pipe       *pipeline.Pipeline
	clusters   map[string]string // cluster name -> base URL without trailing slash
	client     *http.Client
	log        *slog.Logger
	now        func() time.Time
	onDecision func(pipeline.Result)
	onCall     func(string)

	mu      sync.Mutex
	flights map[string]*flight

	stats *meters
}

// meters are the middleware's metrics, named as the filter names them in
// Envoy (pipeline.MetricName).
type meters struct {
	mu       sync.Mutex
	counters map[string]uint64
	hists    map[string]*stats.Histogram
}

// authorizerCounters and noAuthorizerCounters are the counters the filter
// defines up front for each authorizer and for requests decided without
// one; the middleware shows the same ones at zero before the first request,
// so /metrics looks alike on both engines.
var (
	authorizerCounters = []string{
		pipeline.MetricAllow, pipeline.MetricDeny, pipeline.MetricUnauthorized, pipeline.MetricError,
		pipeline.MetricTimeout, pipeline.MetricCacheHit, pipeline.MetricCacheMiss, pipeline.MetricSharedHit,
		pipeline.MetricCoalesced, pipeline.MetricStaleServed,
	}
	noAuthorizerCounters = []string{
		pipeline.MetricAllow, pipeline.MetricError, pipeline.MetricNoRoute, pipeline.MetricBadRequest,
	}
)

func newStats(authorizers []string) *meters {
	s := &meters{counters: map[string]uint64{}, hists: map[string]*stats.Histogram{}}
	for _, a := range authorizers {
		for _, suffix := range authorizerCounters {
			s.counters[pipeline.MetricName(a, suffix)] = 0
		}
		s.hists[pipeline.MetricName(a, pipeline.MetricAuthorizerLatency)] = &stats.Histogram{}
	}
	for _, suffix := range noAuthorizerCounters {
		s.counters[pipeline.MetricName("", suffix)] = 0
	}
	return s
}

func (s *meters) add(name string) {
	s.mu.Lock()
	s.counters[name]++
	s.mu.Unlock()
}

func (s *meters) record(name string, v uint64) {
	s.mu.Lock()
	h := s.hists[name]
	if h == nil {
		h = &stats.Histogram{}
		s.hists[name] = h
	}
	h.Record(v)
	s.mu.Unlock()
}

// Metrics is a snapshot of the middleware's metrics by name
// (pipeline.MetricName): the counters of pipeline.Counters for every
// answered request, plus timeout and coalesced, and the histogram of
// authorizer call latencies in milliseconds.
type Metrics struct {
	Counters   map[string]uint64
	Histograms map[string]stats.Histogram
}

// Metrics returns a snapshot of the metrics. The filter's counters and
// histograms are there from the start, at zero; others appear once they
// count something.
func (m *Middleware) Metrics() Metrics {
	s := m.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Metrics{Counters: make(map[string]uint64, len(s.counters)), Histograms: make(map[string]stats.Histogram, len(s.hists))}
	for k, v := range s.counters {
		out.Counters[k] = v
	}
	for k, h := range s.hists {
		out.Histograms[k] = h.Clone()
	}
	return out
}

// flight is one authorizer call shared by every request that missed the
// cache for the same key while it was under way.
type flight struct {
	done    chan struct{}
	resp    pipeline.Response // written before done is closed
	waiters int               // requests sharing the call; guarded by Middleware.mu
}

// New builds the middleware for a validated plan. It fails when an
// authorizer names a cluster missing from Options.Clusters.
func New(plan *config.Plan, opts Options) (*Middleware, error) {
	if plan == nil {
		return nil, errors.New("native: nil plan")
	}
	clusters := make(map[string]string, len(opts.Clusters))
	for name, raw := range opts.Clusters {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("native: cluster[%s]: %w", name, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("native: cluster[%s]: want an http or https URL with a host, got %q", name, raw)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("native: cluster[%s]: URL must not carry a query or fragment", name)
		}
		clusters[name] = strings.TrimRight(raw, "/")
	}
	names := make([]string, 0, len(plan.Authorizers))
	for name := range plan.Authorizers {
		names = append(names, name)
	}
	slices.Sort(names) // a stable error when several clusters are missing
	for _, name := range names {
		if c := plan.Authorizers[name].Cluster; clusters[c] == "" {
			return nil, fmt.Errorf("native: authorizer[%s]: cluster %q has no URL", name, c)
		}
	}
	m := &Middleware{
		pipe:       pipeline.New(plan),
		clusters:   clusters,
		client:     opts.Client,
		log:        opts.Logger,
		now:        opts.Clock,
		onDecision: opts.OnDecision,
		onCall:     opts.OnCall,
		flights:    make(map[string]*flight),
		stats:      newStats(names),
	}
	if m.client == nil {
		m.client = &http.Client{
			// A redirect from an authorizer is an answer (non-2xx, so a
			// failure), not somewhere to send the identity next.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m, nil
}

// Pipeline returns the pipeline the middleware runs, for stats such as
// CacheLen.
func (m *Middleware) Pipeline() *pipeline.Pipeline { return m.pipe }

// Handler wraps next: allowed requests reach it with the authorizer headers
// set and client-sent x-authorizer-* headers removed; others are answered here.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		envoyheaders.OriginForm(r)
		envoyheaders.Prepare(r.Header)
		res := m.authorize(r)
		for _, suffix := range pipeline.Counters(res) {
			m.stats.add(pipeline.MetricName(res.Authorizer, suffix))
		}
		if m.onDecision != nil {
			m.onDecision(res)
		}
		status := res.Status
		if res.Kind == pipeline.KindAllow {
			status = http.StatusOK // logged as "forwarded"; the upstream's status is its own
		}
		m.logRequest(r, &res, status, time.Since(start))
		if res.Kind != pipeline.KindAllow {
			writeReject(w, &res)
			return
		}
		// Panics in next are not ours to turn into a 500: the response may be
		// half written, and net/http (and ReverseProxy's ErrAbortHandler)
		// already handle them.
		next.ServeHTTP(w, r)
	})
}

// authorize runs the pipeline for r and applies an Allow to r's headers. Any
// panic becomes the failure result, so a fault never reaches next.
func (m *Middleware) authorize(r *http.Request) (res pipeline.Result) {
	defer func() {
		if v := recover(); v != nil {
			res = m.pipe.Failure(fmt.Sprintf("panic: %v", v))
		}
	}()
	req := NewRequest(r)
	res = m.pipe.Evaluate(req, m.now())
	if res.Kind == pipeline.KindCall {
		res = m.call(r.Context(), req, res.Call)
		if res.CacheState == pipeline.CacheNone {
			// Resume's rejections (401, 500) do not say how the result
			// was obtained; the log should still show the miss.
			res.CacheState = pipeline.CacheMiss
		}
	}
	switch res.Kind {
	case pipeline.KindAllow:
		applyAllow(r.Header, &res)
	case pipeline.KindReject:
	default:
		res = m.pipe.Failure("pipeline returned " + res.Kind.String())
	}
	return res
}

// call performs c, or waits for the identical call another request already
// has under way, and resumes the pipeline with the authorizer's answer.
func (m *Middleware) call(ctx context.Context, req *pipeline.Request, c *pipeline.Call) pipeline.Result {
	f, lead, early := m.join(req, c)
	switch {
	case early != nil:
		return *early
	case lead == nil:
		m.stats.add(pipeline.MetricName(c.Authorizer, pipeline.MetricCoalesced))
		<-f.done
		return m.pipe.Resume(c, f.resp, m.now())
	}
	defer func() {
		// Followers must never wait forever, even if this goroutine panics:
		// they then see the zero Response, a failed call.
		m.mu.Lock()
		delete(m.flights, lead.Key)
		m.mu.Unlock()
		close(f.done)
	}()
	f.resp = m.post(ctx, lead)
	return m.pipe.Resume(lead, f.resp, m.now())
}

// join finds the flight under way for c.Key, or starts one led by this
// request and returns the call to perform as lead. early is set instead when
// the request no longer needs a call. The lock is released by defer so that
// a panic in Evaluate cannot leave it held.
func (m *Middleware) join(req *pipeline.Request, c *pipeline.Call) (f *flight, lead *pipeline.Call, early *pipeline.Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f, ok := m.flights[c.Key]; ok {
		f.waiters++
		return f, nil, nil
	}
	// Between our cache miss and taking the lock, a flight for this key may
	// have completed and cached its result: look again before calling, so
	// a burst of first requests costs exactly one call. A leader resumes
	// (and so caches) before it retires its flight, which makes this check
	// sufficient. With TTL 0 nothing is cached and the check is skipped.
	if a := m.pipe.Plan().Authorizers[c.Authorizer]; a != nil && a.TTL > 0 {
		again := m.pipe.Evaluate(req, m.now())
		if again.Kind != pipeline.KindCall {
			return nil, nil, &again
		}
		c = again.Call
	}
	f = &flight{done: make(chan struct{})}
	m.flights[c.Key] = f
	return f, c, nil
}

// post sends the event of c to its authorizer. Every failure to obtain a
// complete answer (transport error, timeout, oversized body) is Status 0.
func (m *Middleware) post(parent context.Context, c *pipeline.Call) (res pipeline.Response) {
	if m.onCall != nil {
		m.onCall(c.Authorizer)
	}
	// The call serves every request waiting on it, so the first client
	// hanging up must not cancel it; the timeout still bounds it.
	ctx := context.WithoutCancel(parent)
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.clusters[c.Cluster]+c.Path, bytes.NewReader(c.Event))
	if err != nil {
		m.log.Warn("authorizer call failed", "authorizer", c.Authorizer, "error", err)
		return pipeline.Response{}
	}
	if c.Authority != "" {
		req.Host = c.Authority
	}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range c.Headers {
		req.Header.Set(h.Name, h.Value)
	}
	began := time.Now()
	defer func() {
		m.stats.record(pipeline.MetricName(c.Authorizer, pipeline.MetricAuthorizerLatency), uint64(time.Since(began).Milliseconds()))
		if res.Status == 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			m.stats.add(pipeline.MetricName(c.Authorizer, pipeline.MetricTimeout))
		}
	}()
	resp, err := m.client.Do(req)
	if err != nil {
		m.log.Warn("authorizer call failed", "authorizer", c.Authorizer, "error", redactURLError(err))
		return pipeline.Response{}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxAuthorizerBody+1))
	if err != nil {
		m.log.Warn("authorizer call failed", "authorizer", c.Authorizer, "error", fmt.Errorf("read body: %w", err))
		return pipeline.Response{}
	}
	if len(body) > MaxAuthorizerBody {
		m.log.Warn("authorizer call failed", "authorizer", c.Authorizer, "error", "response body larger than 1 MiB")
		return pipeline.Response{}
	}
	return pipeline.Response{Status: resp.StatusCode, Headers: lowerHeaders(resp.Header), Body: body}
}

// redactURLError keeps the cause of a failed call and drops the URL, which
// is configuration the log reader already has.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// NewRequest gives the pipeline's view of r, the way Envoy presents a
// request to the filter: header names lower case, names sorted so the
// REQUEST event does not depend on map order, one entry per value except
// for Envoy's inline headers (Authorization among them), whose repeated
// values Envoy joins into one with commas (see host/internal/envoyheaders).
func NewRequest(r *http.Request) *pipeline.Request {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	target := r.RequestURI
	if target == "" {
		// A request built by hand (not served by net/http) has no RequestURI.
		target = r.URL.RequestURI()
	}
	headers := lowerHeaders(r.Header)
	if r.Host != "" && r.Header.Get("Host") == "" {
		// net/http keeps Host out of r.Header; Envoy shows it to the filter
		// (as :authority, which the filter passes on as host).
		headers = append(headers, pipeline.Header{Name: "host", Value: r.Host})
		slices.SortStableFunc(headers, func(a, b pipeline.Header) int { return strings.Compare(a.Name, b.Name) })
	}
	headers = joinInline(headers)
	return &pipeline.Request{
		Method:    r.Method,
		Target:    target,
		Scheme:    scheme,
		Authority: r.Host,
		Headers:   headers,
		SourceIP:  pipeline.SourceAddress(r.RemoteAddr),
		RequestID: r.Header.Get("X-Request-Id"),
	}
}

// lowerHeaders flattens h into lower-case name/value pairs sorted by name,
// keeping the order of values within a name.
func lowerHeaders(h http.Header) []pipeline.Header {
	type kv struct {
		name string
		vals []string
	}
	names := make([]kv, 0, len(h))
	n := 0
	for k, vs := range h {
		names = append(names, kv{strings.ToLower(k), vs})
		n += len(vs)
	}
	slices.SortStableFunc(names, func(a, b kv) int { return strings.Compare(a.name, b.name) })
	out := make([]pipeline.Header, 0, n)
	for _, e := range names {
		for _, v := range e.vals {
			out = append(out, pipeline.Header{Name: e.name, Value: v})
		}
	}
	return out
}

// joinInline folds runs of one name in sorted pairs the way Envoy's
// header map does; it reuses hs.
func joinInline(hs []pipeline.Header) []pipeline.Header {
	out := hs[:0]
	for i := 0; i < len(hs); {
		j := i + 1
		for j < len(hs) && hs[j].Name == hs[i].Name {
			j++
		}
		name := hs[i].Name
		if j-i < 2 || !envoyheaders.Joined(name) {
			out = append(out, hs[i:j]...)
		} else {
			vals := make([]string, 0, j-i)
			for _, h := range hs[i:j] {
				vals = append(vals, h.Value)
			}
			out = append(out, pipeline.Header{Name: name, Value: envoyheaders.Values(name, vals)[0]})
		}
		i = j
	}
	return out
}

// applyAllow removes the client's authorizer headers, matching names
// case-insensitively (a map key need not be canonical), then sets ours.
func applyAllow(h http.Header, res *pipeline.Result) {
	for _, name := range res.Remove {
		for k := range h {
			if strings.EqualFold(k, name) {
				delete(h, k)
			}
		}
	}
	for _, s := range res.Set {
		h.Set(s.Name, s.Value)
	}
}

// writeReject answers with the pipeline's local response. Header names are
// canonicalised (HTTP names are case-insensitive) so net/http recognises
// content-type instead of sniffing a second one.
func writeReject(w http.ResponseWriter, res *pipeline.Result) {
	h := w.Header()
	for _, hd := range res.Headers {
		h.Add(hd.Name, hd.Value)
	}
	w.WriteHeader(res.Status)
	_, _ = w.Write(res.Body)
}

// logRequest writes the one line per request. It never logs the identity,
// the cache key, the principal or context values, nor the query string
// (which may carry an identity source).
func (m *Middleware) logRequest(r *http.Request, res *pipeline.Result, status int, latency time.Duration) {
	path := r.RequestURI
	if path == "" {
		path = r.URL.EscapedPath()
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", path),
		slog.String("route", orDash(res.Route)),
		slog.String("authorizer", orDash(res.Authorizer)),
		slog.String("cache", res.CacheState.String()),
		slog.String("decision", res.Decision),
		slog.Int("status", status),
		slog.Duration("latency", latency),
	}
	if res.Reason != "" {
		attrs = append(attrs, slog.String("reason", res.Reason))
	}
	m.log.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
