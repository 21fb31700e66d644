package main

import (
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/core/stats"
	"github.com/authgate/authgate/host/wasm"
)

// snapshot is an engine's metrics by their Envoy-style names
// (authgate.<authorizer>.<suffix>, pipeline.MetricName).
type snapshot struct {
	counters map[string]float64
	gauges   map[string]float64
	hists    map[string]stats.Histogram
}

// metricsSource is what an engine offers /metrics.
type metricsSource interface {
	snapshot() snapshot
}

func (e *wasmEngine) snapshot() snapshot {
	s := snapshot{counters: map[string]float64{}, gauges: map[string]float64{}, hists: map[string]stats.Histogram{}}
	for name, m := range e.host.Metrics() {
		switch m.Kind {
		case wasm.Counter:
			s.counters[name] = float64(m.Value)
		case wasm.Gauge:
			s.gauges[name] = float64(m.Value)
		case wasm.Histogram:
			s.hists[name] = stats.Histogram{Count: m.Count, Sum: m.Sum, Buckets: m.Buckets}
		}
	}
	return s
}

func (e nativeEngine) snapshot() snapshot {
	m := e.Middleware.Metrics()
	s := snapshot{counters: make(map[string]float64, len(m.Counters)), hists: m.Histograms}
	for name, v := range m.Counters {
		s.counters[name] = float64(v)
	}
	return s
}

// promName turns an Envoy-style metric name into a Prometheus family and
// the authorizer label. authgate.<authorizer>.<suffix> becomes
// authgate_<suffix> with authorizer="<authorizer>": one family per kind of
// event, however many authorizers a configuration has, so a query can sum
// or compare authorizers. (Envoy itself shows them as
// wasmcustom.authgate.<authorizer>.<suffix> in /stats.) Any other name a
// guest defines keeps its own words, with characters Prometheus refuses
// replaced by "_", and no label.
func promName(name string) (family, authorizer string) {
	rest, ok := strings.CutPrefix(name, pipeline.MetricPrefix+".")
	if i := strings.LastIndexByte(rest, '.'); ok && i > 0 {
		return sanitize(pipeline.MetricPrefix + "_" + rest[i+1:]), rest[:i]
	}
	return sanitize(name), ""
}

// sanitize maps a name onto [a-zA-Z0-9_], starting with a letter or "_".
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && i > 0) {
			b[i] = '_'
		}
	}
	return string(b)
}

// collector exports an engine's snapshot on every scrape: counters as
// counters (with Prometheus's _total suffix), gauges as gauges, and
// histograms as histograms with Envoy's default buckets (in the unit the
// guest records, milliseconds for authorizer_latency_ms), so /metrics
// buckets samples as Envoy's /stats/prometheus does.
type collector struct{ src metricsSource }

// Describe sends nothing: the metrics are the guest's, known only once it
// defines them, so the collector is unchecked.
func (collector) Describe(chan<- *prometheus.Desc) {}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.snapshot()
	emit := func(names map[string]float64, suffix string, vt prometheus.ValueType) {
		for _, name := range sortedNames(names) {
			family, authz := promName(name)
			d, labels := desc(family, suffix, authz)
			ch <- prometheus.MustNewConstMetric(d, vt, names[name], labels...)
		}
	}
	emit(s.counters, "_total", prometheus.CounterValue)
	emit(s.gauges, "", prometheus.GaugeValue)
	for _, name := range sortedNames(s.hists) {
		h := s.hists[name]
		family, authz := promName(name)
		d, labels := desc(family, "", authz)
		buckets := make(map[float64]uint64, len(stats.Bounds))
		for i, n := range h.Cumulative() {
			buckets[stats.Bounds[i]] = n
		}
		ch <- prometheus.MustNewConstHistogram(d, h.Count, float64(h.Sum), buckets, labels...)
	}
}

// desc describes the family with Prometheus's suffix appended (_total
// for counters): its HELP is what the metric counts (pipeline.MetricHelp)
// for the families every embedding defines, and names the guest's own
// metric otherwise.
func desc(family, suffix, authorizer string) (*prometheus.Desc, []string) {
	help := "Metric " + family + " the filter defined."
	if s, ok := strings.CutPrefix(family, pipeline.MetricPrefix+"_"); ok && pipeline.MetricHelp(s) != "" {
		help = pipeline.MetricHelp(s)
	}
	if authorizer == "" {
		return prometheus.NewDesc(family+suffix, help, nil, nil), nil
	}
	return prometheus.NewDesc(family+suffix, help+" Per authorizer (NONE: requests decided without one).", []string{"authorizer"}, nil), []string{authorizer}
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// adminHandler serves /metrics (Prometheus text format) and /ready (200
// "LIVE" while serving, 503 "DRAINING" once shutdown began, as Envoy's
// admin /ready answers).
func adminHandler(src metricsSource, ready *atomic.Bool) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{src})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("DRAINING\n"))
			return
		}
		_, _ = w.Write([]byte("LIVE\n"))
	})
	return mux
}
