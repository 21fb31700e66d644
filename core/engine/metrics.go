package engine

import (
	"sync"
	"sync/atomic"

	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/core/stats"
)

// Metrics is a snapshot of an engine's metrics by name
// (pipeline.MetricName): the counters of pipeline.Counters for every
// counted request, coalesced for every request that got another request's
// answer, timeout for every call that timed out, and each authorizer's
// histogram of call latencies in milliseconds.
type Metrics struct {
	Counters   map[string]uint64
	Histograms map[string]stats.Histogram
}

// Count counts the final result a request was answered with: call it once
// per request, with the result the embedding applied (which may be a
// failure of its own rather than the engine's result). Requests that
// waited for another's call are also counted as coalesced by Finish.
func (e *Engine) Count(res pipeline.Result) {
	for _, suffix := range pipeline.Counters(res) {
		e.meters.add(res.Authorizer, suffix)
	}
}

// Metrics returns a snapshot of the metrics. Those of pipeline.PlanMetrics
// are there from the start, at zero; any other appears once it counts.
func (e *Engine) Metrics() Metrics { return e.meters.snapshot() }

// counterKey names a counter by its parts, so that counting builds no name.
type counterKey struct{ authorizer, suffix string }

// meters holds the metrics. The counters defined up front are atomics in a
// map that is never written after newMeters, so counting a request takes
// no lock.
type meters struct {
	fixed map[counterKey]*atomic.Uint64
	rec   Recorder // nil unless WithRecorder

	mu     sync.Mutex
	others map[string]uint64           // counters not defined up front, by name; guarded by mu
	hists  map[string]*stats.Histogram // latency histograms by authorizer; guarded by mu
}

func newMeters(defined []pipeline.Metric) *meters {
	m := &meters{
		fixed:  make(map[counterKey]*atomic.Uint64, len(defined)),
		others: map[string]uint64{},
		hists:  map[string]*stats.Histogram{},
	}
	for _, d := range defined {
		if d.Histogram {
			m.hists[d.Authorizer] = &stats.Histogram{}
			continue
		}
		m.fixed[counterKey{d.Authorizer, d.Suffix}] = new(atomic.Uint64)
	}
	return m
}

func (m *meters) add(authorizer, suffix string) {
	if m.rec != nil {
		m.rec.Add(authorizer, suffix)
	}
	if c := m.fixed[counterKey{authorizer, suffix}]; c != nil {
		c.Add(1)
		return
	}
	m.mu.Lock()
	m.others[pipeline.MetricName(authorizer, suffix)]++
	m.mu.Unlock()
}

// observe records what became of one call of the authorizer.
func (m *meters) observe(authorizer string, a *Answer) {
	if a.TimedOut {
		m.add(authorizer, pipeline.MetricTimeout)
	}
	if !a.Sent {
		return
	}
	ms := a.Latency.Milliseconds()
	if ms < 0 {
		ms = 0
	}
	if m.rec != nil {
		m.rec.Observe(authorizer, uint64(ms))
	}
	m.mu.Lock()
	h := m.hists[authorizer]
	if h == nil {
		h = &stats.Histogram{}
		m.hists[authorizer] = h
	}
	h.Record(uint64(ms))
	m.mu.Unlock()
}

func (m *meters) snapshot() Metrics {
	out := Metrics{
		Counters:   make(map[string]uint64, len(m.fixed)+len(m.others)),
		Histograms: make(map[string]stats.Histogram, len(m.hists)),
	}
	for k, c := range m.fixed {
		out.Counters[pipeline.MetricName(k.authorizer, k.suffix)] = c.Load()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, v := range m.others {
		out.Counters[name] += v
	}
	for a, h := range m.hists {
		out.Histograms[pipeline.MetricName(a, pipeline.MetricAuthorizerLatency)] = h.Clone()
	}
	return out
}
