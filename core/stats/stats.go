// Package stats keeps metrics the way Envoy keeps a filter's: histograms
// with Envoy's default bucket bounds, so that an in-process engine's
// /metrics, the wasm host's and Envoy's /stats/prometheus bucket the same
// samples alike. Envoy's defaults:
// https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/metrics/v3/stats.proto
package stats

import "slices"

// Bounds are the upper bounds of Envoy's default histogram buckets
// (envoy.config.metrics.v3.HistogramBucketSettings leaves them at these
// values), in the unit the samples are recorded in.
var Bounds = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

// Histogram counts samples. Buckets[i] counts the samples not above
// Bounds[i] and above every smaller bound (not cumulative); a sample above
// the last bound counts only in Count. The zero value is empty. It is not
// safe for concurrent use: its owner locks.
type Histogram struct {
	Count   uint64
	Sum     uint64
	Buckets []uint64
}

// Record adds one sample.
func (h *Histogram) Record(v uint64) {
	h.Count++
	h.Sum += v
	if h.Buckets == nil {
		h.Buckets = make([]uint64, len(Bounds))
	}
	if i, _ := slices.BinarySearch(Bounds, float64(v)); i < len(Bounds) {
		h.Buckets[i]++
	}
}

// Clone returns a copy that shares no memory with h.
func (h Histogram) Clone() Histogram {
	h.Buckets = slices.Clone(h.Buckets)
	return h
}

// Cumulative returns the bucket counts as Prometheus wants them: for each
// bound, the samples not above it.
func (h Histogram) Cumulative() []uint64 {
	out := make([]uint64, len(Bounds))
	var n uint64
	for i := range Bounds {
		if i < len(h.Buckets) {
			n += h.Buckets[i]
		}
		out[i] = n
	}
	return out
}
