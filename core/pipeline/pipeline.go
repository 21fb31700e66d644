// Package pipeline is the per-request state machine of the gateway, free of
// I/O: Evaluate turns a request into Allow, Reject or Call; the embedding
// performs a Call however it can (proxy_http_call in Envoy, net/http natively)
// and feeds the authorizer's answer to Resume, which yields Allow or Reject.
//
// The responses follow API Gateway's documented behaviour for Lambda
// authorizers, byte for byte:
// https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html.
package pipeline

import (
	"encoding/base64"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authgate/authgate/core/arn"
	"github.com/authgate/authgate/core/authorizer"
	"github.com/authgate/authgate/core/cache"
	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/policy"
	"github.com/authgate/authgate/core/route"
)

// Header is one header name and value.
type Header = authorizer.Header

// Request is the plain data the pipeline needs from one HTTP request.
type Request struct {
	Method   string   // ":method"
	Target   string   // ":path": the raw path and query
	Scheme   string   // ":scheme"; "https" sets aws:SecureTransport
	Headers  []Header // request headers without pseudo headers
	SourceIP string   // downstream address, without port
	// SourceIPFunc, when set and SourceIP is empty, supplies the source
	// address on demand: the pipeline calls it at most once, and only when
	// it needs the address (an aws:SourceIp condition, an event, a
	// variable). An embedding for which asking costs something (a proxy
	// property) sets this instead of SourceIP.
	SourceIPFunc func() string
	RequestID    string // the proxy's request id; may be empty

	// Authority is ":authority" (the host header when empty): an HTTP API
	// event's requestContext.domainName. Protocol is the HTTP version the
	// request used, as the proxy names it ("HTTP/1.1", "HTTP/2" in Envoy,
	// "HTTP/2.0" in Go); the pipeline writes it as API Gateway does (see
	// ProtocolName). ProtocolFunc, when set and Protocol is empty, supplies
	// it on demand, at most once, like SourceIPFunc. Both are read for HTTP
	// APIs only: identity sources and events.
	Authority    string
	Protocol     string
	ProtocolFunc func() string
}

// Kind is the kind of a Result.
type Kind uint8

// Kind values.
const (
	KindAllow Kind = iota + 1
	KindReject
	KindCall
)

// String names the kind for logs.
func (k Kind) String() string {
	switch k {
	case KindAllow:
		return "allow"
	case KindReject:
		return "reject"
	case KindCall:
		return "call"
	}
	return "invalid"
}

// CacheState says how the authorizer result was obtained, for logs and stats.
type CacheState uint8

// CacheState values.
const (
	CacheNone CacheState = iota // no authorizer on the route, or no lookup made
	CacheHit                    // decided from this pipeline's cache
	CacheMiss                   // the authorizer was (or is to be) called
	// CacheShared: decided from an answer adopted from another cache
	// (Adopt, AdoptUnauthorized): the wasm filter's other VMs.
	CacheShared
	// CacheStale: the authorizer call failed and an expired result, still
	// within the authorizer's staleIfErrorSeconds, decided instead.
	CacheStale
)

// String names the cache state for logs.
func (c CacheState) String() string {
	switch c {
	case CacheHit:
		return "hit"
	case CacheMiss:
		return "miss"
	case CacheShared:
		return "shared"
	case CacheStale:
		return "stale"
	}
	return "-"
}

// Decision values reported in Result.Decision.
const (
	DecisionAllow        = "ALLOW"
	DecisionDeny         = "DENY"
	DecisionImplicitDeny = "IMPLICIT_DENY"
	DecisionUnauthorized = "UNAUTHORIZED"
	DecisionError        = "ERROR"
	DecisionNone         = "NONE"     // route without authorizer
	DecisionNoRoute      = "NO_ROUTE" // no route matched
	DecisionBadRequest   = "BAD_REQUEST"
	DecisionPending      = "PENDING" // a Call is outstanding
)

// Result is the pipeline's answer for one step of a request.
type Result struct {
	Kind Kind

	// Allow: headers to delete from the request, by the name the client
	// used (every header in the authorizer's namespace, and the method and
	// URL override headers unless the plan keeps them; see
	// removedHeaders), and headers to set. Remove always comes before Set.
	Remove []string
	Set    []Header

	// Reject: the complete local response.
	Status  int
	Headers []Header
	Body    []byte

	// Call: the authorizer request to perform, then pass to Resume.
	Call *Call

	// For logs, stats and explain output. None of them carries the identity.
	Route      string // matched route template, "" when none matched
	Authorizer string // authorizer name, "" when the route has none
	CacheState CacheState
	Decision   string
	Statement  int    // deciding policy statement, -1 when none
	Reason     string // why a request was rejected
	// Cause says why the authorizer call failed, for a Result with
	// Decision ERROR that Resume gave for an answer it could not use;
	// CauseNone for every other Result (a stale result served for a
	// failed call included: its Reason says why).
	Cause Cause
	// TTL, set by Resume, is how long it cached the answer that decided
	// this Result: the authorizer's TTL for a result, its
	// UnauthorizedTTL for an Unauthorized answer (Decision says which),
	// and 0 when it cached nothing (a failure, a setting of 0, a result
	// that cannot be cached). An embedding that shares answers between
	// caches (core/crossvm) shares exactly what was cached, for as long.
	TTL time.Duration
}

// Call is an authorizer request to perform. Requests whose Calls have the
// same Key may share one HTTP call and pass its answer to Resume each.
//
// Every host POSTs Event with "content-type: application/json" and
// Headers, which ask for "accept-encoding: identity" (AcceptEncoding):
// Resume refuses an answer in any other encoding, so no host decodes one
// another host would refuse.
// A host that learns an answer's body is longer than MaxResponseBytes (from
// its content-length, or while reading) stops there and passes the size in
// Response.BodySize instead of the body.
type Call struct {
	Authorizer string
	Cluster    string
	Path       string
	Authority  string
	Timeout    time.Duration
	Key        string // cache key; never log it: it contains the identity
	Event      []byte // JSON body to POST
	// Headers are request headers the call carries besides content-type:
	// accept-encoding: identity (AcceptEncoding), and for a Lambda
	// authorizer x-amz-invocation-type: RequestResponse. The slice is
	// shared; never modify it.
	Headers []Header
	// MaxResponseBytes is the largest answer body Resume accepts (the
	// authorizer's maxResponseBytes).
	MaxResponseBytes int

	state callState
}

// callState is what Resume needs to finish the request that made the Call.
type callState struct {
	auth   *config.Authorizer
	route  string
	remove []string
	eval   policy.Request
	// vars is a copy of what customised gateway responses may substitute;
	// nil when the plan customises none.
	vars *vars
}

// Response is the authorizer's HTTP answer. Status 0 means the call failed
// (could not be sent, timed out, reset): Cause then says why, when the
// embedding knows (else it is taken for a reset), and Detail gives the
// host's words for it (an error's text, never the identity), for the log
// line's reason. Envoy's own answers for calls it could not complete are
// recognised as failures too (see Response.Failed). BodySize, when above
// the Call's MaxResponseBytes, is the size (or a lower bound of it) of a
// body the host did not read; Body is then empty.
type Response struct {
	Status   int
	Headers  []Header
	Body     []byte
	BodySize int
	Cause    Cause
	Detail   string
}

// AcceptEncoding is the accept-encoding header value of every authorizer
// request: the answer must not be compressed, which every host (Envoy's
// async client included) can then read alike.
const AcceptEncoding = "identity"

// checkAnswer refuses an answer no host may read: one larger than the
// authorizer's maxResponseBytes, or one with a content-encoding other than
// identity (Envoy would hand the filter the compressed bytes while a Go
// client may decompress them, so the hosts would disagree). Both hold
// for every answer a status does not decide alone (2xx, 401, a Lambda
// 200): the answer is judged before anything reads it, and a refusal is
// CauseMalformed.
func checkAnswer(c *Call, resp *Response) string {
	if max(len(resp.Body), resp.BodySize) > c.MaxResponseBytes {
		return "authorizer answer larger than maxResponseBytes (" + strconv.Itoa(c.MaxResponseBytes) + ")"
	}
	for _, h := range resp.Headers {
		if !strings.EqualFold(h.Name, "content-encoding") {
			continue
		}
		for _, enc := range strings.Split(h.Value, ",") {
			if enc = strings.TrimSpace(enc); enc != "" && !strings.EqualFold(enc, AcceptEncoding) {
				return "authorizer answer has content-encoding " + strconv.Quote(truncate(enc, 32)) + "; only identity is read"
			}
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// entry is what the cache keeps per identity: the parsed result and the
// upstream headers derived from it, computed once.
type entry struct {
	result *authorizer.Result
	set    []Header
	// badHeader is set when the principal or a context value cannot travel
	// as a header; such a result still denies by policy, never allows, and
	// is not cached (it is an authorizer error).
	badHeader string
	// unauthorized marks a cached Unauthorized answer (negative caching);
	// result is nil then.
	unauthorized bool
}

// unauthorizedEntry is the one cached Unauthorized answer every identity
// shares: it carries nothing about the identity.
var unauthorizedEntry = &entry{unauthorized: true}

// unauthorizedSize is the accounted size of a cached Unauthorized answer
// (besides its key): a rough count of the map and list slots it takes.
const unauthorizedSize = 64

// size is the entry's accounted size in the cache.
func (e *entry) size() int {
	if e.unauthorized {
		return unauthorizedSize
	}
	return e.result.Size() + 64*len(e.set)
}

// Pipeline evaluates requests against one configuration. It is safe for
// concurrent use; its cache is shared by all callers.
type Pipeline struct {
	plan  *config.Plan
	cache *cache.Cache[*entry]
	ans   answers
	// unshared: built WithoutSharing, the pipeline adopts no answer.
	unshared bool
}

// Option configures a Pipeline.
type Option func(*Pipeline)

// WithoutSharing builds a pipeline whose cache only its own calls fill:
// Adopt and AdoptUnauthorized refuse every answer. An embedding whose
// threads share one pipeline (the native middleware, the Envoy dynamic
// module) has no other cache to take answers from and passes it. The
// default adopts: the one embedding with several caches, the wasm filter
// (one per VM, see core/crossvm), must not lose its sharing to a
// forgotten option. Neither choice costs a request anything, as the
// sharing's digests and values are computed by core/crossvm, for the
// filter only.
func WithoutSharing() Option { return func(p *Pipeline) { p.unshared = true } }

// New builds a pipeline for a validated plan.
func New(plan *config.Plan, opts ...Option) *Pipeline {
	p := &Pipeline{
		plan:  plan,
		cache: cache.New[*entry](plan.CacheEntries, plan.CacheBytes),
		ans:   answersFor(plan),
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Plan returns the configuration the pipeline runs.
func (p *Pipeline) Plan() *config.Plan { return p.plan }

// CacheLen reports the number of cached authorizer results.
func (p *Pipeline) CacheLen() int { return p.cache.Len() }

// Evaluate runs a request up to its decision or the authorizer call it needs.
func (p *Pipeline) Evaluate(r *Request, now time.Time) Result {
	if !route.KnownMethod(r.Method) {
		// API Gateway answers an unsupported method as it answers a
		// missing route. The router and the method ARN are
		// case-sensitive, while some upstreams upper-case the method:
		// "delete" must not escape a rule written for DELETE.
		return p.reject(p.ans.missing, p.early(r, "", "", nil), "", "", "method not supported")
	}
	path, rawQuery, err := p.plan.PathRules.Clean(r.Target)
	if err != nil {
		return p.reject(p.ans.badRequest, p.early(r, "", "", nil), "", "", "path: "+err.Error())
	}
	var rt *config.Route
	m, ok := p.plan.Router.Match(r.Method, path)
	switch {
	case ok:
		rt = &p.plan.Routes[m.Index]
	case p.plan.DefaultRoute != nil:
		rt = p.plan.DefaultRoute
		m = route.Match{Index: len(p.plan.Routes) - 1, Template: config.DefaultRouteKey}
	default:
		return p.reject(p.ans.missing, p.early(r, path, "", nil), "", "", "no route")
	}
	remove := removedHeaders(r.Headers, p.plan.KeepOverrideHeaders)
	if rt.Authorizer == nil {
		return Result{Kind: KindAllow, Remove: remove, Route: m.Template,
			Decision: DecisionNone, Statement: -1}
	}
	auth := rt.Authorizer
	methodARN := arn.Format(p.plan.Region, p.plan.AccountID, p.plan.RestAPIID, p.plan.Stage, r.Method, path)
	if len(methodARN) > arn.MaxLength {
		return p.reject(p.ans.uriTooLong, p.early(r, path, m.Template, m.Params), m.Template, auth.Name, "method arn longer than 1600 bytes")
	}
	if !utf8.ValidString(methodARN) {
		// The policy matchers find characters by decoding UTF-8; on other
		// bytes they could disagree on where a character starts.
		return p.reject(p.ans.badRequest, p.early(r, path, m.Template, m.Params), m.Template, auth.Name, "method arn not valid UTF-8")
	}
	req := &requestView{r: r, plan: p.plan, path: path, rawQuery: rawQuery, match: m, methodARN: methodARN, route: rt}
	if auth.Type == config.TypeRequest {
		if _, err := req.queryParams(); err != nil {
			return p.reject(p.ans.badRequest, p.early(r, path, m.Template, m.Params), m.Template, auth.Name, "query: "+err.Error())
		}
	}
	var vs *vars
	if p.plan.GatewayResponses != nil {
		vs = req.vars()
	}
	identity, why := req.identity(auth)
	if why != "" {
		return p.reject(p.ans.unauthorized, vs, m.Template, auth.Name, why)
	}
	state := callState{
		auth:   auth,
		route:  m.Template,
		remove: remove,
		eval: policy.Request{
			Resource:  methodARN,
			Now:       now,
			UserAgent: lookup(r.Headers, "user-agent"),
			Referer:   lookup(r.Headers, "referer"),
			Secure:    r.Scheme == "https",
		},
		vars: vs,
	}
	key := cache.Key(auth.Name, identity...)
	// Positive results are cached only when TTL > 0 and Unauthorized
	// answers only when UnauthorizedTTL > 0, so whatever Get finds is
	// allowed by the authorizer's settings.
	if auth.TTL > 0 || auth.UnauthorizedTTL > 0 {
		if e, ok := p.cache.Get(key, now); ok {
			if e.unauthorized {
				r := p.reject(p.ans.unauthorized, vs, m.Template, auth.Name, "authorizer answered unauthorized (cached)")
				r.CacheState = CacheHit
				return r
			}
			if !e.result.Simple && e.result.Policy.UsesSourceIP() {
				state.eval.SourceIP = parseIP(r.sourceIP())
			}
			return p.decide(e, &state, CacheHit)
		}
	}
	// The validation expression runs after the cache: an entry exists only
	// for an identity that passed it, and on a hit the regular expression
	// would be most of the request's cost inside the wasm filter.
	if auth.IdentityValidation != nil && !auth.IdentityValidation.MatchString(identity[0]) {
		return p.reject(p.ans.unauthorized, vs, m.Template, auth.Name, "token does not match identityValidationExpression")
	}
	// A call's answer is judged later, when the request is no longer at
	// hand, so its source address is settled now.
	state.eval.SourceIP = parseIP(r.sourceIP())
	var event []byte
	switch {
	case p.plan.IsHTTP():
		in, err := req.httpInput(identity, now)
		if err != nil {
			return p.reject(p.ans.badRequest, vs, m.Template, auth.Name, "query: "+err.Error())
		}
		if auth.PayloadV2() {
			event = authorizer.HTTPEventV2(in)
		} else {
			event = authorizer.HTTPEventV1(in)
		}
	case auth.Type == config.TypeToken:
		event = authorizer.TokenEvent(identity[0], methodARN)
	default:
		in, err := req.requestInput()
		if err != nil {
			return p.reject(p.ans.badRequest, vs, m.Template, auth.Name, "query: "+err.Error())
		}
		event = authorizer.RequestEvent(in)
	}
	headers := callHeaders
	if auth.IsLambda() {
		headers = lambdaHeaders
	}
	return Result{
		Kind: KindCall,
		Call: &Call{
			Headers:    headers,
			Authorizer: auth.Name,
			Cluster:    auth.Cluster,
			Path:       auth.Path,
			Authority:  auth.Authority,
			Timeout:    auth.Timeout,
			Key:        key,
			Event:      event,
			state:      state,

			MaxResponseBytes: auth.MaxResponseBytes,
		},
		Route:      m.Template,
		Authorizer: auth.Name,
		CacheState: CacheMiss,
		Decision:   DecisionPending,
		Statement:  -1,
	}
}

// early gathers the gateway response variables for an answer given before
// the request is fully read; nil when the plan customises no response.
//
// The query is decoded here too, so that a mapping from
// method.request.querystring.X works on these answers as on every other
// (AWS's own example maps one on MISSING_AUTHENTICATION_TOKEN); a query
// that does not decode maps nothing.
func (p *Pipeline) early(r *Request, path, resource string, params []route.Param) *vars {
	if p.plan.GatewayResponses == nil {
		return nil
	}
	_, rawQuery, _ := strings.Cut(r.Target, "?")
	query, _ := parseQuery(rawQuery)
	return &vars{requestID: r.RequestID, method: r.Method, path: path, resource: resource,
		sourceIP: r.sourceIP(), userAgent: lookup(r.Headers, "user-agent"), headers: r.Headers,
		query: query, params: params}
}

// Resume turns the authorizer's answer to c into the final Allow or Reject
// and caches a valid result (when TTL > 0) and an Unauthorized answer (when
// UnauthorizedTTL > 0). Errors are never cached. Every result of Resume has
// CacheState CacheMiss, except a stale result served for a failed call
// (CacheStale, see staleIfErrorSeconds); Result.TTL says what was cached.
//
// An answer, unlike an error, replaces whatever the cache held for the
// identity: after an Unauthorized answer that is not cached, or a result
// that cannot be cached, an older result is dropped so that a later failure
// can never serve it stale against the authorizer's newer word.
func (p *Pipeline) Resume(c *Call, resp Response, now time.Time) Result {
	st := &c.state
	st.eval.Now = now
	if f, detail := resp.Failed(); f != CauseNone {
		return p.failed(c, f, failureReason(f, detail, c), now)
	}
	res, f, reason, err := p.read(c, resp)
	switch {
	case errors.Is(err, authorizer.ErrUnauthorized):
		if st.auth.UnauthorizedTTL > 0 {
			p.cache.Put(c.Key, unauthorizedEntry, unauthorizedSize, st.auth.UnauthorizedTTL, now)
		} else {
			p.cache.Delete(c.Key)
		}
		r := p.reject(p.ans.unauthorized, st.vars, st.route, st.auth.Name, "authorizer answered unauthorized")
		r.CacheState, r.TTL = CacheMiss, st.auth.UnauthorizedTTL
		return r
	case err != nil:
		return p.failed(c, f, reason+err.Error(), now)
	}
	e := newEntry(res)
	var ttl time.Duration
	switch {
	case st.auth.TTL > 0 && e.badHeader == "":
		p.cache.PutStale(c.Key, e, e.size(), st.auth.TTL, st.auth.StaleIfError, now)
		ttl = st.auth.TTL
	case st.auth.TTL > 0 || st.auth.UnauthorizedTTL > 0:
		p.cache.Delete(c.Key)
	}
	r := p.decide(e, st, CacheMiss)
	r.TTL = ttl
	return r
}

// failed answers a failed authorizer call: with the identity's cached
// result when the authorizer has a staleIfErrorSeconds window and a valid
// result is still within it, else with the failure answer. A cached
// Unauthorized answer is never served for a failure, and nothing that was
// not cached before can turn a failure into an allow.
func (p *Pipeline) failed(c *Call, f Cause, reason string, now time.Time) Result {
	st := &c.state
	if st.auth.StaleIfError > 0 {
		// A fresh entry means another request of this pipeline got an
		// answer meanwhile: it decides as a hit.
		if e, fresh, ok := p.cache.GetStale(c.Key, now); ok && !e.unauthorized && e.badHeader == "" {
			cs := CacheStale
			if fresh {
				cs = CacheHit
			}
			r := p.decide(e, st, cs)
			r.Reason = joinReason(r.Reason, "authorizer failed, cached result served: "+reason)
			return r
		}
	}
	r := p.reject(p.ans.failure, st.vars, st.route, st.auth.Name, reason)
	r.CacheState, r.Cause = CacheMiss, f
	return r
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// read parses the authorizer's answer to c, after checkAnswer's size and
// encoding rules, which hold for every authorizer. A Lambda authorizer's answer is the
// Invoke API's first: a function error, a throttle or a Lambda error is a
// failure (or Unauthorized), never a response to parse; the body of a
// successful invocation is the function's return value, read as any
// authorizer's response. reason prefixes err in the failure's Reason, and
// f is the failure's cause: CauseStatus for an error the Invoke API
// reported or a status other than 2xx and 401 (Unauthorized), else
// CauseMalformed. The status is judged first, since it decides without
// the body; then checkAnswer's size and encoding rules, before anything
// reads the body: an answer refused by them is malformed.
func (p *Pipeline) read(c *Call, resp Response) (res *authorizer.Result, f Cause, reason string, err error) {
	auth := c.state.auth
	if auth.IsLambda() && resp.Status != 200 {
		// The Invoke API's own errors, judged by status and headers.
		return nil, CauseStatus, "authorizer failed: ", authorizer.ReadInvokeResponse(resp.Status, resp.Headers, nil)
	}
	if s := resp.Status; s != 401 && (s < 200 || s > 299) {
		// Every response format refuses these statuses before reading a
		// byte of the body.
		return nil, CauseStatus, "authorizer answered ", errors.New("status " + strconv.Itoa(s))
	}
	if why := checkAnswer(c, &resp); why != "" {
		return nil, CauseMalformed, "", errors.New(why)
	}
	if auth.IsLambda() {
		if err := authorizer.ReadInvokeResponse(resp.Status, resp.Headers, resp.Body); err != nil {
			// A function error is the Invoke API's report, unless its
			// body could not be read at all.
			f = CauseStatus
			if errors.Is(err, authorizer.ErrUnreadable) {
				f = CauseMalformed
			}
			return nil, f, "authorizer failed: ", err
		}
	}
	res, err = p.parser(auth)(resp.Status, resp.Body)
	return res, CauseMalformed, "invalid authorizer response: ", err
}

// callHeaders are the request headers of every authorizer call besides
// content-type, and lambdaHeaders those of every Lambda Invoke call.
var (
	callHeaders   = []Header{{Name: "accept-encoding", Value: AcceptEncoding}}
	lambdaHeaders = []Header{callHeaders[0], {Name: authorizer.InvocationTypeHeader, Value: authorizer.InvocationTypeRequestResponse}}
)

// ParseAnswer reads the authorizer's answer to c exactly as Resume does,
// without deciding or caching anything: for tools that show what an
// authorizer said (authgate test-authorizer).
func (p *Pipeline) ParseAnswer(c *Call, resp Response) (*authorizer.Result, error) {
	res, _, _, err := p.read(c, resp)
	return res, err
}

// parser is the response parser for auth's answers: Resume and Adopt must
// read an answer the same way.
func (p *Pipeline) parser(auth *config.Authorizer) func(int, []byte) (*authorizer.Result, error) {
	switch {
	case auth.EnableSimpleResponses:
		return authorizer.ParseSimpleResponse
	case p.plan.IsHTTP():
		return authorizer.ParseHTTPResponse
	}
	return authorizer.ParseResponse
}

// decide evaluates a (possibly cached) authorizer result for this request.
// A simple response decides alone; a policy is evaluated against the
// request's ARN.
func (p *Pipeline) decide(e *entry, st *callState, cs CacheState) Result {
	d, stmt := policy.ImplicitDeny, -1
	switch {
	case e.result.Simple && e.result.Authorized:
		d = policy.Allow
	case e.result.Simple:
		d = policy.ExplicitDeny
	default:
		d, stmt = e.result.Policy.Evaluate(&st.eval)
	}
	v := st.vars
	if v != nil {
		withResult := *v
		withResult.result = e.result
		v = &withResult
	}
	var r Result
	switch d {
	case policy.Allow:
		if e.badHeader != "" {
			r = p.reject(p.ans.failure, v, st.route, st.auth.Name, e.badHeader)
			r.Cause = CauseMalformed
		} else {
			r = Result{Kind: KindAllow, Remove: st.remove, Set: e.set, Decision: DecisionAllow}
		}
	case policy.ExplicitDeny:
		reason := "explicit deny"
		if e.result.Simple {
			reason = "authorizer answered isAuthorized false"
		}
		r = p.reject(p.ans.explicitDeny, v, st.route, st.auth.Name, reason)
	default:
		r = p.reject(p.ans.implicitDeny, v, st.route, st.auth.Name, "no statement allows")
	}
	r.Route, r.Authorizer, r.CacheState, r.Statement = st.route, st.auth.Name, cs, stmt
	return r
}

// PrincipalHeader carries the authorizer's principalId to the upstream.
// ContextHeader carries the authorizer's whole context: the standard
// base64 (RFC 4648 section 4, padded) of a JSON object holding every key
// and value as the authorizer sent them, in document order. Besides it,
// each context entry whose key and value are safe as a header (see
// ownHeader) travels as HeaderPrefix + the lower-cased key.
const (
	HeaderPrefix    = "x-authorizer-"
	PrincipalHeader = HeaderPrefix + "principal-id"
	ContextHeader   = HeaderPrefix + "context"
)

// newEntry renders the upstream headers of a result once. A principal
// that cannot be a header makes the entry unable to allow.
func newEntry(res *authorizer.Result) *entry {
	e := &entry{result: res}
	set, err := UpstreamHeaders(res)
	if err != nil {
		e.badHeader = err.Error()
		return e
	}
	e.set = set
	return e
}

// UpstreamHeaders returns the headers an allowed request carries upstream
// for an authorizer result: the principal (none for simple responses),
// then, in document order, each context entry that may have a header of
// its own (ownHeader), then ContextHeader with the whole context when it
// has any entry. No context value is lost or refused: one that cannot be
// a header of its own reaches the upstream only inside ContextHeader. A
// principal that cannot be a header value is an error: the gateway then
// answers 500 rather than allow.
func UpstreamHeaders(res *authorizer.Result) ([]Header, error) {
	if !validHeaderValue(res.PrincipalID) {
		return nil, errors.New("principalId: not a valid header value")
	}
	set := make([]Header, 0, 2+len(res.Context))
	// A simple response has no principal, so it sends no principal header.
	if !res.Simple {
		set = append(set, Header{Name: PrincipalHeader, Value: res.PrincipalID})
	}
	if len(res.Context) == 0 {
		return set, nil
	}
	for i := range res.Context {
		if cv := &res.Context[i]; ownHeader(res.Context, i) {
			set = append(set, Header{Name: HeaderPrefix + strings.ToLower(cv.Key), Value: cv.Value})
		}
	}
	doc := authorizer.AppendContextJSON(make([]byte, 0, 64), res.Context)
	set = append(set, Header{Name: ContextHeader, Value: base64.StdEncoding.EncodeToString(doc)})
	return set, nil
}

// ownHeader reports whether the context entry ctx[i] travels as a header
// of its own as well as inside ContextHeader. Its key must be a header
// name (an RFC 9110 token) that no other key of the context, nor the
// principal or context header, shares once read as CGI-style upstreams
// read names (case folded, '_' as '-'): Role and role, or user_id and
// user-id, would otherwise reach such an upstream as one variable with two
// values, and principal_id as a second principal. Its value must be
// non-empty printable ASCII without leading or trailing blanks, which
// every proxy and upstream passes on unchanged (Envoy's dynamic-module ABI
// removes an empty header; blanks are trimmed; other bytes are read as
// Latin-1 by some frameworks).
func ownHeader(ctx []authorizer.ContextValue, i int) bool {
	key, val := ctx[i].Key, ctx[i].Value
	if !validHeaderName(key) || !safeHeaderValue(val) {
		return false
	}
	folded := foldName(HeaderPrefix + key)
	if folded == PrincipalHeader || folded == ContextHeader {
		return false
	}
	for j := range ctx {
		if j != i && foldName(HeaderPrefix+ctx[j].Key) == folded {
			return false
		}
	}
	return true
}

// foldName reads a header name as CGI-style upstreams do: lower case, with
// '-' for '_'.
func foldName(name string) string {
	b := []byte(name)
	for i, c := range b {
		switch {
		case c == '_':
			b[i] = '-'
		case 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// safeHeaderValue reports whether s is non-empty printable ASCII with no
// leading or trailing space.
func safeHeaderValue(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue accepts visible ASCII, space, tab and bytes >= 0x80, and
// no leading or trailing white space (which proxies would strip, changing
// the value the authorizer meant).
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return len(s) == 0 || (s[0] != ' ' && s[0] != '\t' && s[len(s)-1] != ' ' && s[len(s)-1] != '\t')
}

// removedHeaders lists the client's headers that must not reach the
// upstream: every header in the authorizer namespace, so a client cannot
// forge one, and unless keepOverrides the method and URL override headers
// (config.OverrideHeaders), which would make the upstream act on another
// method or URL than the one judged. Names are compared as CGI-style
// upstreams read them: case-insensitively and with "_" as "-", since WSGI,
// PHP, Rack and CGI fold both into one variable (X_Authorizer_Principal_Id
// becomes HTTP_X_AUTHORIZER_PRINCIPAL_ID, which the upstream reads as the
// principal).
func removedHeaders(hs []Header, keepOverrides bool) []string {
	var out []string
	for _, h := range hs {
		if hasFoldedPrefix(h.Name, HeaderPrefix) || !keepOverrides && isOverrideHeader(h.Name) {
			out = append(out, h.Name)
		}
	}
	return out
}

// isOverrideHeader reports whether name is one of config.OverrideHeaders,
// read as CGI-style upstreams read it.
func isOverrideHeader(name string) bool {
	for _, o := range config.OverrideHeaders {
		if len(name) == len(o) && hasFoldedPrefix(name, o) {
			return true
		}
	}
	return false
}

// hasFoldedPrefix reports whether name starts with prefix (lower case, with
// "-" for "_") when name is lower-cased and its "_" read as "-".
func hasFoldedPrefix(name, prefix string) bool {
	if len(name) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := name[i]
		switch {
		case c == '_':
			c = '-'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// lookup returns the first value of a header, matching names case-insensitively.
func lookup(hs []Header, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// protocol returns the request's protocol as API Gateway names it,
// asking ProtocolFunc at most once.
func (r *Request) protocol() string {
	if r.Protocol == "" && r.ProtocolFunc != nil {
		r.Protocol, r.ProtocolFunc = r.ProtocolFunc(), nil
	}
	return ProtocolName(r.Protocol)
}

// ProtocolName writes an HTTP version as API Gateway writes
// $context.protocol and requestContext.http.protocol: "HTTP/1.0",
// "HTTP/1.1", "HTTP/2.0", "HTTP/3.0". Envoy's request.protocol says
// "HTTP/2" and "HTTP/3"; Go's Request.Proto says "HTTP/2.0". Anything
// else is kept as given ("" when the proxy did not say).
func ProtocolName(p string) string {
	switch p {
	case "HTTP/2", "HTTP/2.0":
		return "HTTP/2.0"
	case "HTTP/3", "HTTP/3.0":
		return "HTTP/3.0"
	}
	return p
}

// sourceIP returns the request's source address, asking SourceIPFunc at
// most once.
func (r *Request) sourceIP() string {
	if r.SourceIP == "" && r.SourceIPFunc != nil {
		r.SourceIP, r.SourceIPFunc = r.SourceIPFunc(), nil
	}
	return r.SourceIP
}

// SourceAddress turns a peer address ("ip:port", "[ipv6]:port" or a bare
// address) into a Request's SourceIP: without the port, an IPv4-mapped
// IPv6 address written as IPv4, "" when it is not an IP address. Every
// embedding derives SourceIP with it, so that one connection has one
// source address (aws:SourceIp, requestContext.identity.sourceIp) in
// every host.
func SourceAddress(addr string) string {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		if ap.Addr().Is4() {
			// A parsed IPv4 address is already in canonical form (no
			// leading zeros are accepted): the text before the port
			// is it, and slicing saves an allocation.
			return addr[:strings.LastIndexByte(addr, ':')]
		}
		return ap.Addr().Unmap().String()
	}
	s := addr
	if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' {
		// Brackets only as a pair: "[::1" is not an address.
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return ""
	case a.Is4() && len(s) == len(addr):
		return addr // canonical, as above
	}
	return a.Unmap().String()
}

func parseIP(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}
