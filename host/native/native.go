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
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/engine"
	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/host/internal/decisionlog"
	"github.com/authgate/authgate/host/internal/envoyheaders"
)

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
	eng        *engine.Engine
	clusters   map[string]string // cluster name -> base URL without trailing slash
	client     *http.Client
	log        *slog.Logger
	now        func() time.Time
	onDecision func(pipeline.Result)
	onCall     func(string)
}

// Metrics is a snapshot of the middleware's metrics by name
// (pipeline.MetricName): the counters of pipeline.Counters for every
// answered request, plus timeout and coalesced, and the histogram of
// authorizer call latencies in milliseconds. They are the filter's
// metrics, under the filter's names.
type Metrics = engine.Metrics

// Metrics returns a snapshot of the metrics. The filter's counters and
// histograms are there from the start, at zero; others appear once they
// count something.
func (m *Middleware) Metrics() Metrics { return m.eng.Metrics() }

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
		// One engine serves every goroutine: there is no other cache to
		// share answers with.
		eng:        engine.New(pipeline.New(plan, pipeline.WithoutSharing())),
		clusters:   clusters,
		client:     opts.Client,
		log:        opts.Logger,
		now:        opts.Clock,
		onDecision: opts.OnDecision,
		onCall:     opts.OnCall,
	}
	if m.log != nil {
		for _, w := range plan.Warnings {
			m.log.Warn("configuration", "warning", w)
		}
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
func (m *Middleware) Pipeline() *pipeline.Pipeline { return m.eng.Pipeline() }

// Handler wraps next: allowed requests reach it with the authorizer headers
// set and client-sent x-authorizer-* headers removed; others are answered here.
// Requests Envoy's codec would refuse before its filters run (HTTP/1.0,
// more than 100 header fields) get Envoy's answer (envoyheaders.Refuse).
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if envoyheaders.Refuse(w, r) {
			return
		}
		start := time.Now()
		envoyheaders.OriginForm(r)
		envoyheaders.Prepare(r)
		req, res, coalesced := m.authorize(r)
		m.eng.Count(res)
		if m.onDecision != nil {
			m.onDecision(res)
		}
		m.logRequest(req, &res, coalesced, time.Since(start))
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

// authorize runs r through the engine and applies an Allow to r's headers.
// Any panic becomes the failure result, so a fault never reaches next. req
// is the pipeline's view of r, for the log line; coalesced says the result
// came from another request's authorizer call.
func (m *Middleware) authorize(r *http.Request) (req *pipeline.Request, res pipeline.Result, coalesced bool) {
	req = &pipeline.Request{Method: r.Method, Target: r.RequestURI}
	defer func() {
		if v := recover(); v != nil {
			res = m.eng.Pipeline().Failure(fmt.Sprintf("panic: %v", v))
		}
	}()
	req = NewRequest(r)
	now := m.now()
	w := waiterPool.Get().(*waiter)
	s := m.eng.Evaluate(req, now, w.wake)
	switch {
	case s.Lead != nil:
		res = m.lead(r.Context(), s.Lead, now)
	case s.Wait != nil:
		res, coalesced = <-w.done, true
	default:
		res = s.Result
	}
	// The continuation has run (it fed w.done) or was never kept.
	waiterPool.Put(w)
	if res.Kind == pipeline.KindAllow {
		applyAllow(r.Header, &res)
	}
	return req, res, coalesced
}

// waiter is how a request's goroutine waits for another request's call:
// the engine's continuation feeds done, from the leader's goroutine. A
// goroutine per request may block. Waiters are pooled, so that requests
// that do not wait (nearly all) allocate neither the channel nor the
// continuation.
type waiter struct {
	done chan pipeline.Result
	wake func(pipeline.Result)
}

var waiterPool = sync.Pool{New: func() any {
	w := &waiter{done: make(chan pipeline.Result, 1)}
	w.wake = func(res pipeline.Result) { w.done <- res }
	return w
}}

// lead performs the authorizer call of l for every request waiting on it,
// and finishes it on every path: should this goroutine panic, the waiters
// still get the answer (a failed call if there was none yet).
func (m *Middleware) lead(ctx context.Context, l *engine.Lead, began time.Time) pipeline.Result {
	var ans engine.Answer
	finished := false
	defer func() {
		if !finished {
			m.eng.Finish(l, ans, began)
		}
	}()
	ans = m.post(ctx, l.Call)
	res := m.eng.Finish(l, ans, m.now())
	finished = true
	return res
}

// post sends the event of c to its authorizer. Every failure to obtain a
// complete answer (transport error, timeout) is Status 0. A body longer
// than c.MaxResponseBytes is not read: by its content-length, or once that
// many bytes have come, the answer is reported by its size alone
// (Response.BodySize), which Resume refuses.
func (m *Middleware) post(parent context.Context, c *pipeline.Call) (ans engine.Answer) {
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
		ans.Response = pipeline.Response{Cause: pipeline.CauseRefused, Detail: err.Error()}
		return ans
	}
	if c.Authority != "" {
		req.Host = c.Authority
	}
	req.Header.Set("Content-Type", "application/json")
	// c.Headers ask for accept-encoding: identity; set explicitly, that
	// also stops net/http's transport from asking for gzip and decoding
	// it, which Envoy's client never does.
	for _, h := range c.Headers {
		req.Header.Set(h.Name, h.Value)
	}
	began := time.Now()
	defer func() {
		ans.Sent, ans.Latency = true, time.Since(began)
		ans.TimedOut = ans.Response.Status == 0 && errors.Is(ctx.Err(), context.DeadlineExceeded)
		if ans.TimedOut {
			// The reason says how long the call had; Go's error text
			// would add nothing.
			ans.Response.Cause, ans.Response.Detail = pipeline.CauseTimeout, ""
		}
	}()
	resp, err := m.client.Do(req)
	if err != nil {
		ans.Response = pipeline.Response{Cause: pipeline.CauseReset, Detail: redactURLError(err).Error()}
		if isDialError(err) {
			ans.Response.Cause = pipeline.CauseRefused
		}
		return ans
	}
	defer resp.Body.Close()
	res := pipeline.Response{Status: resp.StatusCode, Headers: responseHeaders(resp.Header)}
	if resp.ContentLength > int64(c.MaxResponseBytes) {
		res.BodySize = int(min(resp.ContentLength, int64(c.MaxResponseBytes)+1))
		ans.Response = res
		return ans
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.MaxResponseBytes)+1))
	if err != nil {
		ans.Response = pipeline.Response{Cause: pipeline.CauseReset, Detail: "reading the answer: " + err.Error()}
		return ans
	}
	if len(body) > c.MaxResponseBytes {
		res.BodySize = len(body)
	} else {
		res.Body = body
	}
	ans.Response = res
	return ans
}

// isDialError reports whether err happened while connecting (the
// connection refused, the host unreachable or unknown): the authorizer
// was never reached, which the log and the counters call refused.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
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
// request to the filter (see pipeline.NewRequest): header names lower
// case, sorted so the REQUEST event does not depend on map order, one
// entry per value except for Envoy's inline headers (Authorization among
// them), whose repeated values Envoy joins into one with commas (see
// host/internal/envoyheaders), and Host as :authority.
func NewRequest(r *http.Request) *pipeline.Request {
	req := pipeline.NewRequest(envoyheaders.Pairs[pipeline.Header](r))
	req.SourceIP = pipeline.SourceAddress(r.RemoteAddr)
	req.Protocol = r.Proto
	return req
}

// responseHeaders flattens an authorizer's response headers into lower-case
// name/value pairs sorted by name, keeping the order of values within a
// name.
func responseHeaders(h http.Header) []pipeline.Header {
	out := make([]pipeline.Header, 0, len(h))
	for k, vs := range h {
		name := strings.ToLower(k)
		for _, v := range vs {
			out = append(out, pipeline.Header{Name: name, Value: v})
		}
	}
	slices.SortStableFunc(out, func(a, b pipeline.Header) int { return strings.Compare(a.Name, b.Name) })
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

// logRequest writes the one line per request (host/internal/decisionlog):
// the decision record (pipeline.Record), then the latency. It never logs
// the identity, the cache key, the principal or context values, nor the
// query string (which may carry an identity source).
func (m *Middleware) logRequest(req *pipeline.Request, res *pipeline.Result, coalesced bool, latency time.Duration) {
	ctx := context.Background()
	if !decisionlog.Enabled(ctx, m.log, res.Decision) {
		return
	}
	rec := pipeline.NewRecord(req.Method, req.Target, req.RequestID, res)
	rec.Coalesced = coalesced
	var buf [9]pipeline.Field
	decisionlog.Log(ctx, m.log, rec.Fields(buf[:0]), latency)
}
