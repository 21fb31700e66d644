// Package pipeline is the per-request state machine of the gateway, free of
// I/O: Evaluate turns a request into Allow, Reject or Call; the embedding
// performs a Call however it can (proxy_http_call in Envoy, net/http natively)
// and feeds the authorizer's answer to Resume, which yields Allow or Reject.
package pipeline

import (
	"time"

	"github.com/authgate/authgate/core/authorizer"
	"github.com/authgate/authgate/core/config"
)

// Header is one header name and value.
type Header = authorizer.Header

// Request is the plain data the pipeline needs from one HTTP request.
type Request struct {
	Method    string   // ":method"
	Target    string   // ":path": the raw path and query
	Headers   []Header // request headers (names as the proxy gives them)
	SourceIP  string   // downstream address, without port
	RequestID string   // x-request-id or the proxy's id; may be empty
}

// Kind is the kind of a Result.
type Kind uint8

// Kind values.
const (
	KindAllow Kind = iota + 1
	KindReject
	KindCall
)

// Cache says how the authorizer result was obtained, for logs and stats.
type Cache uint8

// Cache values.
const (
	CacheNone Cache = iota // no authorizer on the route, or no lookup made
	CacheHit
	CacheMiss
)

// Result is the pipeline's answer for one step of a request.
type Result struct {
	Kind Kind

	// Allow: headers to delete from the request (every client-sent
	// x-authorizer-* header, by the name the client used) and headers to set.
	Remove []string
	Set    []Header

	// Reject: the complete local response.
	Status  int
	Headers []Header
	Body    []byte

	// Call: the authorizer request to perform, then pass to Resume.
	Call *Call

	// For logs, stats and explain output.
	Route      string // matched route template, "" when none matched
	Authorizer string // authorizer name, "" for NONE
	CacheState Cache
	Decision   string // "ALLOW", "DENY", "IMPLICIT_DENY", "UNAUTHORIZED", "ERROR", "NONE"
	Reason     string // short, never contains the identity
}

// Call is an authorizer request to perform. Requests whose Calls have the
// same Key may share one HTTP call and pass its answer to Resume each.
type Call struct {
	Authorizer string
	Cluster    string
	Path       string
	Authority  string
	Timeout    time.Duration
	Key        string // cache key; never log it: it contains the identity
	Event      []byte // JSON body to POST

	state callState
}

// Response is the authorizer's HTTP answer. Status 0 means the call failed
// (could not be sent, timed out, reset).
type Response struct {
	Status  int
	Headers []Header
	Body    []byte
}

// Pipeline evaluates requests against one configuration. It is safe for
// concurrent use; its cache is shared by all callers.
type Pipeline struct {
	// TODO
}

// New builds a pipeline for a validated plan.
func New(plan *config.Plan) *Pipeline { panic("TODO") }

// Evaluate runs a request up to its decision or the authorizer call it needs.
func (p *Pipeline) Evaluate(r *Request, now time.Time) Result { panic("TODO") }

// Resume turns the authorizer's answer to c into the final Allow or Reject
// and caches a valid result.
func (p *Pipeline) Resume(c *Call, resp Response, now time.Time) Result { panic("TODO") }

type callState struct{}
