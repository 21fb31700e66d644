package gate

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/filter/module/abi"
)

// Filter is authgate on one HTTP stream. Its hook methods run on the
// stream's worker thread; only Post (and what it guards) may be used from
// elsewhere.
type Filter struct {
	cfg *Config
	id  uint64 // for log lines only

	// phase is where the request stands; only the worker touches it.
	phase phase
	// While an authorizer call is outstanding: its Call, the callout id
	// and when it was sent.
	call    *pipeline.Call
	callout uint64
	sent    time.Time

	// For log lines only; never the query string or the identity.
	method, path, requestID string

	// mu guards what Post shares with other threads.
	mu     sync.Mutex
	sched  Scheduler // nil until the stream first pauses
	closed bool      // the stream is destroyed: Post refuses
	next   uint64    // the last event id handed out
	events map[uint64]func(Stream)
}

// phase is the state of a stream's request.
type phase uint8

const (
	phaseNew      phase = iota // request headers not seen yet
	phasePending               // paused: waiting for an authorizer answer or a posted event
	phaseAllowed               // continued upstream
	phaseAnswered              // answered locally (401, 403, 500, ...)
	phaseGone                  // stream complete or destroyed
)

// streamIDs numbers streams for log lines, across all workers.
var streamIDs atomic.Uint64

// NewFilter returns the filter of a new stream under configuration c.
func (c *Config) NewFilter() *Filter {
	return &Filter{cfg: c, id: streamIDs.Add(1)}
}

// OnRequestHeaders runs the pipeline on a request. Allow continues it,
// Reject answers it, Call pauses it until the authorizer answers. Any
// failure, a panic included, answers 500: the filter fails closed.
func (f *Filter) OnRequestHeaders(s Stream, endOfStream bool) (st abi.HeadersStatus) {
	defer func() {
		if r := recover(); r != nil {
			f.logf(abi.LogError, "panic on request headers of stream %d: %v", f.id, r)
			f.fail(s, "internal error")
			st = abi.HeadersStopIteration
		}
	}()
	if f.phase != phaseNew {
		// Envoy calls the hook once per stream; a second call would be a
		// request the pipeline never judged.
		f.fail(s, "request headers seen twice")
		return abi.HeadersStopIteration
	}
	now := f.cfg.now()
	req := f.readRequest(s)
	f.method, f.path, f.requestID = req.Method, req.Target, req.RequestID
	if i := strings.IndexByte(f.path, '?'); i >= 0 {
		// The query may carry identity (REQUEST authorizers); keep it out
		// of the logs.
		f.path = f.path[:i]
	}
	return f.apply(s, f.cfg.pipe.Evaluate(req, now), false, now)
}

// readRequest collects what the pipeline needs from the stream.
func (f *Filter) readRequest(s Stream) *pipeline.Request {
	hs := s.RequestHeaders()
	req := &pipeline.Request{Headers: make([]pipeline.Header, 0, len(hs)+1)}
	hasHost := false
	for _, h := range hs {
		if strings.HasPrefix(h.Name, ":") {
			switch h.Name {
			case ":method":
				req.Method = h.Value
			case ":path":
				req.Target = h.Value
			case ":scheme":
				req.Scheme = h.Value
			case ":authority":
				req.Authority = h.Value
			}
			continue
		}
		switch {
		case strings.EqualFold(h.Name, "host"):
			hasHost = true
		case strings.EqualFold(h.Name, "x-request-id"):
			if req.RequestID == "" {
				req.RequestID = h.Value
			}
		}
		req.Headers = append(req.Headers, pipeline.Header{Name: h.Name, Value: h.Value})
	}
	if req.Authority != "" && !hasHost {
		// Envoy keeps HTTP/1 Host as :authority; identity sources and
		// events expect it as the Host header, as API Gateway shows it.
		req.Headers = append(req.Headers, pipeline.Header{Name: "host", Value: req.Authority})
	}
	if req.RequestID == "" {
		// Envoy's connection manager normally sets x-request-id before
		// any filter runs; the attribute covers configurations that do not.
		req.RequestID, _ = s.Attribute(abi.AttrRequestID)
	}
	req.Protocol, _ = s.Attribute(abi.AttrRequestProtocol)
	// The source address is asked for only when a decision needs it.
	req.SourceIPFunc = func() string {
		addr, _ := s.Attribute(abi.AttrSourceAddress)
		return pipeline.SourceAddress(addr)
	}
	return req
}

// apply carries out a pipeline result. resumed says whether the stream is
// paused in its request headers (and so must be continued explicitly); the
// returned status is the answer of a request-headers hook that is running.
func (f *Filter) apply(s Stream, res pipeline.Result, resumed bool, now time.Time) abi.HeadersStatus {
	switch res.Kind {
	case pipeline.KindAllow:
		if why := f.editHeaders(s, &res); why != "" {
			// A forged x-authorizer-* header might still be there: never
			// continue with it.
			f.logf(abi.LogError, "editing request headers of stream %d: %s", f.id, why)
			return f.apply(s, f.cfg.pipe.Failure("header edit failed"), resumed, now)
		}
		f.decided(&res)
		f.phase = phaseAllowed
		if resumed {
			s.ContinueDecoding()
		}
		return abi.HeadersContinue
	case pipeline.KindReject:
		f.decided(&res)
		f.phase = phaseAnswered
		s.SendResponse(res.Status, toHeaders(res.Headers), res.Body, Details)
		return abi.HeadersStopIteration
	case pipeline.KindCall:
		if !resumed && res.Call != nil {
			return f.start(s, &res, now)
		}
	}
	f.logf(abi.LogError, "unexpected pipeline result %v on stream %d", res.Kind, f.id)
	return f.apply(s, f.cfg.pipe.Failure("unexpected pipeline result"), resumed, now)
}

// editHeaders removes every client-sent authorizer header and sets the
// authorizer's; it says what failed, "" when nothing did.
func (f *Filter) editHeaders(s Stream, res *pipeline.Result) string {
	for _, name := range res.Remove {
		if !s.RemoveRequestHeader(name) {
			return "removing " + name
		}
	}
	for _, h := range res.Set {
		if !s.SetRequestHeader(h.Name, h.Value) {
			return "setting " + h.Name
		}
	}
	return ""
}

func toHeaders(hs []pipeline.Header) []Header {
	out := make([]Header, len(hs))
	for i, h := range hs {
		out[i] = Header{Name: h.Name, Value: h.Value}
	}
	return out
}

// start sends the authorizer request of a Call and pauses the stream until
// OnCalloutDone. A callout Envoy refuses (an unknown cluster, no healthy
// host) is a failed authorizer call.
func (f *Filter) start(s Stream, res *pipeline.Result, now time.Time) abi.HeadersStatus {
	c := res.Call
	headers := []Header{
		{Name: ":method", Value: "POST"},
		{Name: ":path", Value: c.Path},
		{Name: ":authority", Value: c.Authority},
		{Name: "content-type", Value: "application/json"},
	}
	for _, h := range c.Headers {
		headers = append(headers, Header{Name: h.Name, Value: h.Value})
	}
	timeout := max(c.Timeout.Milliseconds(), 1)
	id, init := s.Callout(c.Cluster, headers, c.Event, uint64(timeout))
	if init != abi.CalloutInitSuccess {
		f.logf(abi.LogError, "authorizer[%s]: call to cluster %q failed: %v", c.Authorizer, c.Cluster, init)
		return f.apply(s, f.cfg.pipe.Resume(c, pipeline.Response{}, now), false, now)
	}
	f.call, f.callout, f.sent, f.phase = c, id, now, phasePending
	if HopCalloutAnswers {
		f.Prepare(s)
	}
	f.logDecision(res, "callout", strconv.FormatUint(id, 10))
	return abi.HeadersStopAllIterationAndWatermark
}

// CalloutBodyLimit is how much of callout id's answer body the module
// copies out of Envoy: the waiting Call's MaxResponseBytes, or 0 for an
// answer nobody waits for. A longer body is passed by its size alone.
func (f *Filter) CalloutBodyLimit(id uint64) int {
	if f.phase != phasePending || f.call == nil || id != f.callout {
		return 0
	}
	return f.call.MaxResponseBytes
}

// OnCalloutDone resumes the stream with the authorizer's answer. Envoy
// cancels a stream's callouts when the stream is destroyed, so an answer
// finds its stream; one that does not (or a stray id) is ignored. bodySize
// is the answer body's size, more than len(body) when the body was left in
// Envoy for being longer than CalloutBodyLimit.
func (f *Filter) OnCalloutDone(s Stream, id uint64, result abi.CalloutResult, headers []Header, body []byte, bodySize int) {
	defer f.recoverFail(s, "callout answer")
	if f.phase != phasePending || f.call == nil || id != f.callout {
		f.logf(abi.LogDebug, "answer for callout %d on stream %d ignored", id, f.id)
		return
	}
	now := f.cfg.now()
	c := f.call
	f.callout = 0
	resp := readResponse(result, headers, body)
	if bodySize > len(resp.Body) && resp.Status != 0 {
		resp.BodySize = bodySize
	}
	f.cfg.observe(c.Authorizer, now.Sub(f.sent))
	if timedOut(result, resp) {
		f.cfg.countSuffix(c.Authorizer, pipeline.MetricTimeout)
	}
	finish := func(s Stream) {
		if f.call != c {
			return
		}
		f.call = nil
		now := f.cfg.now()
		res := f.cfg.pipe.Resume(c, resp, now)
		if res.Decision == pipeline.DecisionError {
			f.logf(abi.LogDebug, "authorizer[%s]: callout %d answered result=%v status=%d bytes=%d",
				c.Authorizer, id, result, resp.Status, len(resp.Body))
		}
		f.apply(s, res, true, now)
	}
	if HopCalloutAnswers {
		// The way a shared engine will resume a request that waited for
		// another worker's call: from another thread, through Post.
		go func() {
			if !f.Post(finish) {
				f.logf(abi.LogDebug, "stream %d gone before its authorizer answer", f.id)
			}
		}()
		return
	}
	finish(s)
}

// readResponse turns a callout's answer into the pipeline's Response;
// status 0 (a failed call) for a reset, an oversized answer or a missing or
// malformed :status.
func readResponse(result abi.CalloutResult, headers []Header, body []byte) pipeline.Response {
	if result != abi.CalloutSuccess {
		return pipeline.Response{}
	}
	var resp pipeline.Response
	for _, h := range headers {
		if h.Name == ":status" {
			n, err := strconv.Atoi(h.Value)
			if err != nil || n < 100 || n > 999 {
				return pipeline.Response{}
			}
			resp.Status = n
			continue
		}
		if !strings.HasPrefix(h.Name, ":") {
			resp.Headers = append(resp.Headers, pipeline.Header{Name: h.Name, Value: h.Value})
		}
	}
	if resp.Status == 0 {
		return pipeline.Response{}
	}
	resp.Body = body
	return resp
}

// envoyTimeoutBody is the body of the 504 Envoy's async client answers
// itself when a callout exceeds its timeout.
const envoyTimeoutBody = "upstream request timeout"

// timedOut tells Envoy's own report of an unanswered callout (a reset, or
// its 504 for an exceeded timeout) from an authorizer's answer; an
// authorizer's own 504 with another body is an error, not a timeout.
func timedOut(result abi.CalloutResult, resp pipeline.Response) bool {
	return result != abi.CalloutSuccess || resp.Status == 0 ||
		(resp.Status == 504 && strings.TrimSpace(string(resp.Body)) == envoyTimeoutBody)
}

// OnRequestBody holds the body back while the request is undecided. With
// the headers stopped by StopAllIterationAndWatermark Envoy does not call
// it then; the answer is a second guard that never lets data overtake the
// decision.
func (f *Filter) OnRequestBody() abi.BodyStatus {
	if f.phase == phaseNew || f.phase == phasePending {
		return abi.BodyStopIterationAndWatermark
	}
	return abi.BodyContinue
}

// OnRequestTrailers holds trailers back while the request is undecided.
func (f *Filter) OnRequestTrailers() abi.TrailersStatus {
	if f.phase == phaseNew || f.phase == phasePending {
		return abi.TrailersStopIteration
	}
	return abi.TrailersContinue
}

// OnStreamComplete marks the stream finished: nothing touches it any more.
func (f *Filter) OnStreamComplete() { f.phase = phaseGone }

// OnDestroy releases the stream's scheduler and drops posted events: Post
// refuses from now on.
func (f *Filter) OnDestroy() {
	f.phase = phaseGone
	f.call = nil
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	f.events = nil
	if f.sched != nil {
		f.sched.Close()
		f.sched = nil
	}
}

// decided logs and counts the final result of the stream.
func (f *Filter) decided(res *pipeline.Result) {
	f.logDecision(res)
	f.cfg.count(res)
}

// fail answers the stream 500 when nothing else can be done, unless it was
// already answered or continued.
func (f *Filter) fail(s Stream, reason string) {
	if f.phase == phaseAllowed || f.phase == phaseAnswered || f.phase == phaseGone {
		return
	}
	res := f.cfg.pipe.Failure(reason)
	f.cfg.count(&res)
	f.phase = phaseAnswered
	s.SendResponse(res.Status, toHeaders(res.Headers), res.Body, Details)
}

// recoverFail is deferred by hooks that resume a paused stream: a panic is
// logged and the stream answered 500.
func (f *Filter) recoverFail(s Stream, where string) {
	if r := recover(); r != nil {
		f.logf(abi.LogError, "panic in %s of stream %d: %v", where, f.id, r)
		f.fail(s, "internal error")
	}
}

// logDecision writes the debug line of a decision (a warning for an
// authorizer failure, an operator's problem). It never includes the
// identity, the cache key or the query string.
func (f *Filter) logDecision(res *pipeline.Result, extra ...string) {
	level := abi.LogDebug
	if res.Decision == pipeline.DecisionError {
		level = abi.LogWarn
	}
	if !f.cfg.host.LogEnabled(level) {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "stream=%d method=%s path=%q route=%q authorizer=%q cache=%s decision=%s",
		f.id, f.method, f.path, res.Route, res.Authorizer, res.CacheState, res.Decision)
	if res.Kind == pipeline.KindReject {
		fmt.Fprintf(&b, " status=%d", res.Status)
	}
	if res.Reason != "" {
		fmt.Fprintf(&b, " reason=%q", res.Reason)
	}
	if f.requestID != "" {
		fmt.Fprintf(&b, " request_id=%q", f.requestID)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		fmt.Fprintf(&b, " %s=%s", extra[i], extra[i+1])
	}
	f.cfg.host.Log(level, b.String())
}

func (f *Filter) logf(level abi.LogLevel, format string, args ...any) {
	logf(f.cfg.host, level, format, args...)
}
