package gate

import (
	"errors"
	"fmt"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/engine"
	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/filter/module/abi"
)

// FilterName is the filter_name the module serves: a configuration that
// names another filter of the library is refused.
const FilterName = "authgate"

// Details is the response-code detail of every local response (Envoy's
// %RESPONSE_CODE_DETAILS%), as the wasm filter sends it.
const Details = "authgate"

// Config is one filter configuration: the plugin configuration compiled
// into the engine every worker thread shares (one cache, one table of
// authorizer calls in flight, so a burst of first requests for one
// identity costs one call for the whole Envoy), and the ids of its Envoy
// metrics. It is immutable after NewConfig; the engine is safe for
// concurrent use.
type Config struct {
	host    Host
	metrics Metrics
	eng     *engine.Engine
	// counters and histograms hold the metric ids, defined up front:
	// Envoy refuses definitions once the configuration exists.
	counters   map[counterKey]uint64
	histograms map[string]uint64
	// now reads the clock; tests replace it.
	now func() time.Time
}

// counterKey names a counter by its parts, so that counting a request
// builds no metric name.
type counterKey struct{ authorizer, suffix string }

// NewConfig compiles a filter configuration: filter_name must be
// FilterName and raw the plugin configuration JSON (the same document the
// wasm filter takes). An invalid document is an error naming the JSON path
// of the bad field; it is also written to Envoy's log at error level, since
// Envoy itself only reports that the module refused the configuration.
func NewConfig(h Host, m Metrics, name string, raw []byte) (*Config, error) {
	c, err := newConfig(h, m, name, raw)
	if err != nil {
		logf(h, abi.LogError, "invalid plugin configuration: %v", err)
		return nil, err
	}
	plan := c.eng.Pipeline().Plan()
	logf(h, abi.LogInfo, "configured: %d routes, %d authorizers", len(plan.Routes), len(plan.Authorizers))
	for _, lc := range plan.LambdaClusters {
		// The module never signs: the cluster's aws_request_signing
		// upstream filter must, for this region and role.
		logf(h, abi.LogInfo, "%s", lc.SigningNote())
	}
	return c, nil
}

func newConfig(h Host, m Metrics, name string, raw []byte) (*Config, error) {
	if name != FilterName {
		return nil, fmt.Errorf("filter_name %q: this library serves only %q", name, FilterName)
	}
	if len(raw) == 0 {
		return nil, errors.New("filter_config is empty: set it to the authgate plugin configuration JSON")
	}
	plan, err := config.Parse(raw)
	if err != nil {
		return nil, err
	}
	c := &Config{
		host:       h,
		metrics:    m,
		counters:   map[counterKey]uint64{},
		histograms: map[string]uint64{},
		now:        time.Now,
	}
	c.defineMetrics(plan)
	// One engine serves every worker thread: there is no other cache to
	// share answers with. Its metrics reach Envoy's stats through the
	// recorder, on the Envoy thread that counts them.
	c.eng = engine.New(pipeline.New(plan, pipeline.WithoutSharing()), engine.WithRecorder(envoyStats{c}))
	for _, w := range plan.Warnings {
		logf(h, abi.LogWarn, "configuration: %s", w)
	}
	return c, nil
}

// Engine is the engine of the configuration, shared by every worker.
func (c *Config) Engine() *engine.Engine { return c.eng }

// defineMetrics defines every metric of pipeline.PlanMetrics in Envoy, so
// that /stats shows the wasm filter's series from the start, at zero.
func (c *Config) defineMetrics(plan *config.Plan) {
	for _, d := range pipeline.PlanMetrics(plan) {
		name := d.Name()
		if d.Histogram {
			if id, r := c.metrics.DefineHistogram(name); r == abi.MetricsSuccess {
				c.histograms[d.Authorizer] = id
			} else {
				logf(c.host, abi.LogWarn, "defining metric %s: %v", name, r)
			}
			continue
		}
		id, r := c.metrics.DefineCounter(name)
		if r != abi.MetricsSuccess {
			logf(c.host, abi.LogWarn, "defining metric %s: %v", name, r)
			continue
		}
		c.counters[counterKey{d.Authorizer, d.Suffix}] = id
	}
}

// envoyStats is the engine's Recorder: every metric the engine counts
// moves the Envoy stat of the same name. The engine calls it on the
// thread that counts, which in the module is always one of Envoy's (a
// hook, a callout answer, a scheduled event): Envoy's histograms may be
// recorded only there.
type envoyStats struct{ c *Config }

func (s envoyStats) Add(authorizer, suffix string) {
	if id, ok := s.c.counters[counterKey{authorizer, suffix}]; ok {
		s.c.metrics.IncrementCounter(id, 1)
	}
}

func (s envoyStats) Observe(authorizer string, ms uint64) {
	if id, ok := s.c.histograms[authorizer]; ok {
		s.c.metrics.RecordHistogram(id, ms)
	}
}

// logf formats and writes a log line when Envoy would print it.
func logf(h Host, level abi.LogLevel, format string, args ...any) {
	if h.LogEnabled(level) {
		h.Log(level, fmt.Sprintf(format, args...))
	}
}
