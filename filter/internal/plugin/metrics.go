package plugin

import (
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/filter/abi"
)

// Metrics. Every name is pipeline.MetricName(authorizer, suffix), so the
// filter and the native middleware report the same names; Envoy shows
// them in its admin /stats as wasmcustom.<name> (Prometheus: the name
// with dots as underscores, no prefix).

// defineMetrics defines the metrics of a configuration up front, so that
// they show (at zero) before the first request.
func (p *Plugin) defineMetrics(plan *config.Plan) {
	for _, m := range pipeline.PlanMetrics(plan) {
		t := abi.MetricCounter
		if m.Histogram {
			t = abi.MetricHistogram
		}
		p.metric(t, m.Name())
	}
}

// metric returns the id of a metric, defining it the first time.
func (p *Plugin) metric(t abi.MetricType, name string) (uint32, bool) {
	if id, ok := p.metrics[name]; ok {
		return id, true
	}
	id, st := p.host.DefineMetric(t, name)
	if st != abi.StatusOK {
		p.logf(abi.LogWarn, "defining metric %s: %v", name, st)
		return 0, false
	}
	p.metrics[name] = id
	return id, true
}

// count increments the counters of a final result.
func (p *Plugin) count(res *pipeline.Result) {
	for _, suffix := range pipeline.Counters(*res) {
		p.countSuffix(res.Authorizer, suffix)
	}
}

// counterKey names a counter by its parts, so that finding its id needs
// no string concatenation.
type counterKey struct{ authorizer, suffix string }

func (p *Plugin) countSuffix(authorizer, suffix string) {
	k := counterKey{authorizer, suffix}
	id, ok := p.counters[k]
	if !ok {
		if id, ok = p.metric(abi.MetricCounter, pipeline.MetricName(authorizer, suffix)); !ok {
			return
		}
		p.counters[k] = id
	}
	p.host.IncrementMetric(id, 1)
}

// observe records one authorizer call's duration in milliseconds.
func (p *Plugin) observe(authorizer string, d time.Duration) {
	if d < 0 {
		d = 0
	}
	if id, ok := p.metric(abi.MetricHistogram, pipeline.MetricName(authorizer, pipeline.MetricAuthorizerLatency)); ok {
		p.host.RecordMetric(id, uint64(d.Milliseconds()))
	}
}
