package pipeline

import (
	"slices"

	"github.com/authgate/authgate/core/config"
)

// MetricPrefix starts every metric name, so that all embeddings (Envoy's
// proxy_define_metric, the native middleware's counters) name their
// metrics identically: MetricPrefix.<authorizer>.<suffix>.
const MetricPrefix = "authgate"

// Counter suffixes. Counters gives the ones a final Result increments;
// MetricTimeout and MetricCoalesced only the embedding can know (its call
// timed out; its request waited for another request's call, in this VM or
// another), so it increments them itself.
const (
	MetricAllow        = "allow"        // forwarded upstream
	MetricDeny         = "deny"         // 403: explicit or implicit deny, isAuthorized false
	MetricUnauthorized = "unauthorized" // 401: missing or refused identity, Unauthorized answer
	MetricError        = "error"        // 500: authorizer failure or invalid answer
	MetricNoRoute      = "no_route"     // no route matched (403 REST, 404 HTTP)
	MetricBadRequest   = "bad_request"  // authgate's own 400 and 414
	MetricTimeout      = "timeout"      // embedding: the authorizer call timed out
	MetricCacheHit     = "cache_hit"    // decided from this pipeline's cache
	MetricCacheMiss    = "cache_miss"   // the authorizer was called (or its call waited for)
	MetricSharedHit    = "shared_hit"   // decided from another VM's shared result
	MetricCoalesced    = "coalesced"    // embedding: waited for another request's call
	MetricStaleServed  = "stale_served" // the call failed and a stale result decided
)

// Counter suffixes of the causes of error (see Cause): a request counted
// as error is also counted under the cause of its authorizer's failure,
// when it had one (a request the embedding itself failed has none).
const (
	MetricErrorRefused   = "error_refused"   // no connection to the authorizer
	MetricErrorReset     = "error_reset"     // the connection broke before the answer
	MetricErrorTimeout   = "error_timeout"   // the call exceeded timeoutMs
	MetricErrorStatus    = "error_status"    // a status other than 2xx or 401, a Lambda error
	MetricErrorMalformed = "error_malformed" // a 2xx answer that is not a valid response
)

// causeCounters are the counters of the causes, by Cause.
var causeCounters = [numCauses]string{
	CauseRefused: MetricErrorRefused, CauseReset: MetricErrorReset, CauseTimeout: MetricErrorTimeout,
	CauseStatus: MetricErrorStatus, CauseMalformed: MetricErrorMalformed,
}

// MetricAuthorizerLatency names the histogram of authorizer call
// durations in milliseconds, observed by the embedding per call made.
const MetricAuthorizerLatency = "authorizer_latency_ms"

// MetricName is MetricPrefix.<authorizer>.<suffix>. Requests decided
// without an authorizer (NONE routes, no route, a bad request before
// routing) are counted under "NONE", the name configurations use for routes
// without an authorizer: config refuses it as an authorizer name, so it
// cannot mix with one.
func MetricName(authorizer, suffix string) string {
	if authorizer == "" {
		authorizer = config.NoAuthorizer
	}
	return MetricPrefix + "." + authorizer + "." + suffix
}

// counterSets holds every list Counters returns, so that counting a
// request allocates nothing. Index: decision, then cache state, then the
// cause of an error (CauseNone for every other decision).
var counterSets = func() (t [numDecisionCounters][numCacheStates][numCauses][]string) {
	cacheCounter := [numCacheStates]string{
		CacheHit: MetricCacheHit, CacheMiss: MetricCacheMiss,
		CacheShared: MetricSharedHit, CacheStale: MetricStaleServed,
	}
	for d := range numDecisionCounters {
		for cs := range numCacheStates {
			for c := range numCauses {
				set := []string{decisionCounters[d]}
				if decisionCounters[d] == MetricError && causeCounters[c] != "" {
					set = append(set, causeCounters[c])
				}
				if cacheCounter[cs] != "" {
					set = append(set, cacheCounter[cs])
				}
				t[d][cs][c] = set
			}
		}
	}
	return t
}()

const numCacheStates = int(CacheStale) + 1

// decisionCounters are the counters of a final decision, by index.
var decisionCounters = [...]string{MetricAllow, MetricDeny, MetricUnauthorized, MetricError, MetricNoRoute, MetricBadRequest}

const numDecisionCounters = len(decisionCounters)

// Counters lists the counter suffixes a final Result increments under
// MetricName(r.Authorizer, suffix): one for the decision (allow, deny,
// unauthorized, error, no_route, bad_request), for an error the cause of
// the authorizer's failure (error_refused, error_reset, error_timeout,
// error_status, error_malformed) when it had one, and, when the result
// went through the cache, one for how it was obtained (cache_hit,
// cache_miss, shared_hit, stale_served). A stale result counts
// stale_served and its decision, not error, so that the decision counters
// add up to the requests.
//
// A pending Call, and anything but a final Result, counts nothing (nil):
// only the Result of Evaluate, Resume or Adopt that answers the
// request is counted, once. The returned slice is shared: do not modify it.
func Counters(r Result) []string {
	if r.Kind != KindAllow && r.Kind != KindReject {
		return nil
	}
	d := -1
	switch r.Decision {
	case DecisionAllow, DecisionNone:
		d = 0
	case DecisionDeny, DecisionImplicitDeny:
		d = 1
	case DecisionUnauthorized:
		d = 2
	case DecisionError:
		d = 3
	case DecisionNoRoute:
		d = 4
	case DecisionBadRequest:
		d = 5
	}
	if d < 0 || int(r.CacheState) >= numCacheStates || int(r.Cause) >= numCauses {
		return nil
	}
	return counterSets[d][r.CacheState][r.Cause]
}

// authorizerCounters are the counters every authorizer has. bad_request
// is among them: a request refused on an authorized route (a method ARN
// past 1600 bytes, a query that cannot be read) counts under its
// authorizer, and Envoy's dynamic modules cannot define a metric later.
var authorizerCounters = [...]string{
	MetricAllow, MetricDeny, MetricUnauthorized, MetricError, MetricBadRequest,
	MetricErrorRefused, MetricErrorReset, MetricErrorTimeout, MetricErrorStatus, MetricErrorMalformed,
	MetricTimeout, MetricCacheHit, MetricCacheMiss, MetricSharedHit,
	MetricCoalesced, MetricStaleServed,
}

// noAuthorizerCounters are the counters of requests decided without an
// authorizer (counted under config.NoAuthorizer).
var noAuthorizerCounters = [...]string{MetricAllow, MetricError, MetricNoRoute, MetricBadRequest}

// Metric is one metric an embedding defines for a plan before the first
// request, so that it shows at zero until it counts something.
type Metric struct {
	Authorizer string // "" for requests decided without an authorizer
	Suffix     string
	// Histogram marks the authorizer latency histogram (in milliseconds);
	// every other metric is a counter.
	Histogram bool
}

// Name is the metric's name, MetricName(Authorizer, Suffix).
func (m Metric) Name() string { return MetricName(m.Authorizer, m.Suffix) }

// PlanMetrics lists the metrics every embedding defines for plan, in the
// order they are defined: for each authorizer in name order its counters
// and then its latency histogram, then the counters of requests decided
// without an authorizer. Every embedding defines the same list, so the
// filter's /stats and a Go host's /metrics show the same series.
func PlanMetrics(plan *config.Plan) []Metric {
	names := make([]string, 0, len(plan.Authorizers))
	for name := range plan.Authorizers {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make([]Metric, 0, len(names)*(len(authorizerCounters)+1)+len(noAuthorizerCounters))
	for _, name := range names {
		for _, suffix := range authorizerCounters {
			out = append(out, Metric{Authorizer: name, Suffix: suffix})
		}
		out = append(out, Metric{Authorizer: name, Suffix: MetricAuthorizerLatency, Histogram: true})
	}
	for _, suffix := range noAuthorizerCounters {
		out = append(out, Metric{Suffix: suffix})
	}
	return out
}

// metricHelp describes each metric, by suffix.
var metricHelp = map[string]string{
	MetricAllow:             "Requests forwarded upstream (allowed by the authorizer's policy, or on a route without authorizer).",
	MetricDeny:              "Requests answered 403 because the policy denied them, explicitly or implicitly (or isAuthorized was false).",
	MetricUnauthorized:      "Requests answered 401: identity missing or refused by identityValidationExpression, or the authorizer answered Unauthorized.",
	MetricError:             "Requests answered 500 because the authorizer failed or the gateway could not finish them.",
	MetricErrorRefused:      "Requests answered 500 because no connection to the authorizer could be made.",
	MetricErrorReset:        "Requests answered 500 because the connection to the authorizer broke before a complete answer.",
	MetricErrorTimeout:      "Requests answered 500 because the authorizer call exceeded timeoutMs.",
	MetricErrorStatus:       "Requests answered 500 because the authorizer answered a status other than 2xx or 401 (or Lambda reported an error).",
	MetricErrorMalformed:    "Requests answered 500 because the authorizer's 2xx answer was not a valid authorizer response.",
	MetricNoRoute:           "Requests no configured route matched (403 for REST APIs, 404 for HTTP APIs).",
	MetricBadRequest:        "Requests the gateway refused itself as ambiguous or too long (400, 414).",
	MetricTimeout:           "Authorizer calls that exceeded timeoutMs (counted per call, also when a stale result was served).",
	MetricCacheHit:          "Requests decided from this cache's stored authorizer result.",
	MetricCacheMiss:         "Requests for which the authorizer was called, or whose call they waited for.",
	MetricSharedHit:         "Requests decided from an authorizer result another VM obtained (the wasm filter's shared cache).",
	MetricCoalesced:         "Requests that waited for another request's authorizer call instead of making their own.",
	MetricStaleServed:       "Requests decided from an expired result because the authorizer failed (staleIfErrorSeconds).",
	MetricAuthorizerLatency: "Duration of authorizer calls in milliseconds, from sending the event to the end of the answer.",
}

// MetricHelp describes the metric with the given suffix in one sentence,
// for exporters that carry a description (Prometheus's HELP); "" for a
// suffix no embedding defines.
func MetricHelp(suffix string) string { return metricHelp[suffix] }
