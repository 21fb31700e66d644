package gate

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/filter/module/abi"
)

// FilterName is the filter_name the module serves: a configuration that
// names another filter of the library is refused.
const FilterName = "authgate"

// Details is the response-code detail of every local response (Envoy's
// %RESPONSE_CODE_DETAILS%), as the wasm filter sends it.
const Details = "authgate"

// HopCalloutAnswers, when set, hands every authorizer answer to its stream
// through Post from another goroutine instead of resuming the stream inside
// the callout hook: the path by which requests that waited for another
// worker's call are resumed. Only a test build of the library sets it
// (build tag authgate_hop), so that real Envoy runs that path; it is read,
// never written, once Envoy calls the module.
var HopCalloutAnswers bool

// Config is one filter configuration: the plugin configuration compiled
// into a pipeline, and the ids of its metrics. It is shared by every
// worker thread and immutable after NewConfig, except for the pipeline's
// own cache, which is safe for concurrent use.
type Config struct {
	host    Host
	metrics Metrics
	pipe    *pipeline.Pipeline
	// counters and histograms hold the metric ids by name, defined up
	// front: Envoy refuses definitions once the configuration exists.
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
	logf(h, abi.LogInfo, "configured: %d routes, %d authorizers", len(c.pipe.Plan().Routes), len(c.pipe.Plan().Authorizers))
	for _, lc := range c.pipe.Plan().LambdaClusters {
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
	// One pipeline serves every worker thread: there is no other cache
	// to share answers with.
	c := &Config{
		host:       h,
		metrics:    m,
		pipe:       pipeline.New(plan, pipeline.WithoutSharing()),
		counters:   map[counterKey]uint64{},
		histograms: map[string]uint64{},
		now:        time.Now,
	}
	c.defineMetrics(plan)
	return c, nil
}

// Pipeline is the request pipeline of the configuration.
func (c *Config) Pipeline() *pipeline.Pipeline { return c.pipe }

// authorizerCounters are the counters of every authorizer, as the wasm
// filter defines them, so that both show the same stats.
var authorizerCounters = []string{
	pipeline.MetricAllow, pipeline.MetricDeny, pipeline.MetricUnauthorized, pipeline.MetricError,
	pipeline.MetricTimeout, pipeline.MetricCacheHit, pipeline.MetricCacheMiss, pipeline.MetricSharedHit,
	pipeline.MetricCoalesced, pipeline.MetricStaleServed,
}

// noAuthorizerCounters are the counters of requests decided without an
// authorizer.
var noAuthorizerCounters = []string{
	pipeline.MetricAllow, pipeline.MetricError, pipeline.MetricNoRoute, pipeline.MetricBadRequest,
}

// defineMetrics defines every metric of a configuration, named
// pipeline.MetricName(authorizer, suffix) like the wasm filter's.
func (c *Config) defineMetrics(plan *config.Plan) {
	names := make([]string, 0, len(plan.Authorizers))
	for name := range plan.Authorizers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, suffix := range authorizerCounters {
			c.defineCounter(name, suffix)
		}
		hist := pipeline.MetricName(name, pipeline.MetricAuthorizerLatency)
		if id, r := c.metrics.DefineHistogram(hist); r == abi.MetricsSuccess {
			c.histograms[name] = id
		} else {
			logf(c.host, abi.LogWarn, "defining metric %s: %v", hist, r)
		}
	}
	for _, suffix := range noAuthorizerCounters {
		c.defineCounter("", suffix)
	}
}

func (c *Config) defineCounter(authorizer, suffix string) {
	name := pipeline.MetricName(authorizer, suffix)
	id, r := c.metrics.DefineCounter(name)
	if r != abi.MetricsSuccess {
		logf(c.host, abi.LogWarn, "defining metric %s: %v", name, r)
		return
	}
	c.counters[counterKey{authorizer, suffix}] = id
}

// count increments the counters of a final result.
func (c *Config) count(res *pipeline.Result) {
	for _, suffix := range pipeline.Counters(*res) {
		c.countSuffix(res.Authorizer, suffix)
	}
}

func (c *Config) countSuffix(authorizer, suffix string) {
	if id, ok := c.counters[counterKey{authorizer, suffix}]; ok {
		c.metrics.IncrementCounter(id, 1)
	}
}

// observe records one authorizer call's duration in milliseconds.
func (c *Config) observe(authorizer string, d time.Duration) {
	if id, ok := c.histograms[authorizer]; ok {
		c.metrics.RecordHistogram(id, uint64(max(d, 0).Milliseconds()))
	}
}

// logf formats and writes a log line when Envoy would print it.
func logf(h Host, level abi.LogLevel, format string, args ...any) {
	if h.LogEnabled(level) {
		h.Log(level, fmt.Sprintf(format, args...))
	}
}
