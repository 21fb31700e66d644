package gate

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authgate/authgate/core/engine"
	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/filter/module/abi"
)

// Filter is authgate on one HTTP stream. Its hook methods run on the
// stream's worker thread; only Post and the engine's continuation (and
// what they guard) may be used from elsewhere.
type Filter struct {
	cfg *Config
	id  uint64 // for log lines only

	// phase is where the request stands; only the worker touches it, as
	// it does lead and wait.
	phase phase
	// lead is the authorizer call this stream performs for every request
	// of its cache key, from its callout until Finish or Abandon; callout
	// is Envoy's id of the callout and sent when it went out.
	lead    *engine.Lead
	callout uint64
	sent    time.Time
	// wait is this stream's wait for another stream's call, until its
	// continuation's result is applied or the stream goes away.
	wait *engine.Wait
	// wake is the engine's continuation for this stream, made once.
	wake func(pipeline.Result)
	// began is when the request was last evaluated.
	began time.Time
	// coalesced: the stream's result came from another stream's call.
	coalesced bool

	// For the decision record only; never the query string or the
	// identity (NewRecord drops the query).
	method, target, requestID string

	// mu guards what Post and wake share with other threads.
	mu     sync.Mutex
	sched  Scheduler // nil until the stream first pauses to wait
	closed bool      // the stream is destroyed: Post refuses
	next   uint64    // the last event id handed out
	events map[uint64]func(Stream)
	// early is a waiter's result that came before the stream had its
	// scheduler (the call finished on another worker while this stream's
	// request-headers hook was still running); the hook applies it.
	early    pipeline.Result
	hasEarly bool
}

// phase is the state of a stream's request.
type phase uint8

const (
	phaseNew      phase = iota // request headers not seen yet
	phasePending               // paused: leading a call, or waiting for another stream's
	phaseAllowed               // continued upstream
	phaseAnswered              // answered locally (401, 403, 500, ...)
	phaseGone                  // stream complete or destroyed
)

// testHookAwait, set by tests only, runs when a stream starts to wait,
// before it looks for an early result: where another worker's Finish may
// come in.
var testHookAwait func(*Filter)

// streamIDs numbers streams for log lines, across all workers.
var streamIDs atomic.Uint64

// NewFilter returns the filter of a new stream under configuration c.
func (c *Config) NewFilter() *Filter {
	f := &Filter{cfg: c, id: streamIDs.Add(1)}
	f.wake = f.woken
	return f
}

// OnRequestHeaders runs the request through the engine. An allow
// continues it, a rejection answers it; a request that needs the
// authorizer pauses, either leading the call (a callout from this stream)
// or waiting for the stream that leads it, possibly on another worker.
// Any failure, a panic included, answers 500: the filter fails closed.
func (f *Filter) OnRequestHeaders(s Stream, endOfStream bool) (st abi.HeadersStatus) {
	defer func() {
		if r := recover(); r != nil {
			f.logf(abi.LogError, "panic on request headers of stream %d: %v", f.id, r)
			f.giveUp()
			f.fail(s, "internal error")
			st = abi.HeadersStopIteration
		}
	}()
	if f.phase != phaseNew {
		// Envoy calls the hook once per stream; a second call would be a
		// request the engine never judged.
		f.fail(s, "request headers seen twice")
		return abi.HeadersStopIteration
	}
	req := f.readRequest(s)
	f.method, f.target, f.requestID = req.Method, req.Target, req.RequestID
	return f.evaluate(s, req, false)
}

// readRequest collects what the pipeline needs from the stream, which
// Envoy presents as header pairs (pipeline.NewRequest) and attributes.
func (f *Filter) readRequest(s Stream) *pipeline.Request {
	req := pipeline.NewRequest(s.RequestHeaders())
	if req.RequestID == "" {
		// Envoy's connection manager normally sets x-request-id before
		// any filter runs; the attribute covers configurations that do not.
		req.RequestID, _ = s.Attribute(abi.AttrRequestID)
	}
	// The protocol and the source address are asked for only when a
	// decision needs them (an HTTP API event, an IP condition), on this
	// worker, inside the hook that evaluates.
	req.ProtocolFunc = func() string {
		p, _ := s.Attribute(abi.AttrRequestProtocol)
		return p
	}
	req.SourceIPFunc = func() string {
		addr, _ := s.Attribute(abi.AttrSourceAddress)
		return pipeline.SourceAddress(addr)
	}
	return req
}

// evaluate runs req through the engine and carries out its step. resumed
// says whether the stream is already paused (a waiter evaluating again in
// a scheduled event); the returned status is the answer of a
// request-headers hook that is running.
func (f *Filter) evaluate(s Stream, req *pipeline.Request, resumed bool) abi.HeadersStatus {
	now := f.cfg.now()
	f.began = now
	step := f.cfg.eng.Evaluate(req, now, f.wake)
	switch {
	case step.Lead != nil:
		return f.start(s, &step, now, resumed)
	case step.Wait != nil:
		return f.await(s, &step, resumed)
	}
	return f.apply(s, step.Result, resumed)
}

// apply carries out a final result. resumed says whether the stream is
// paused in its request headers (and so must be continued explicitly).
func (f *Filter) apply(s Stream, res pipeline.Result, resumed bool) abi.HeadersStatus {
	switch res.Kind {
	case pipeline.KindAllow:
		if why := f.editHeaders(s, &res); why != "" {
			// A forged x-authorizer-* header might still be there: never
			// continue with it.
			f.logf(abi.LogError, "editing request headers of stream %d: %s", f.id, why)
			return f.apply(s, f.cfg.eng.Pipeline().Failure("header edit failed"), resumed)
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
	}
	f.logf(abi.LogError, "unexpected result %v on stream %d", res.Kind, f.id)
	return f.apply(s, f.cfg.eng.Pipeline().Failure("unexpected pipeline result"), resumed)
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
		out[i] = Header(h)
	}
	return out
}

// start performs the call this stream leads: it sends the authorizer
// request and pauses the stream until OnCalloutDone. A callout Envoy
// refuses (an unknown cluster, no healthy host) is a failed call, for
// this stream and every stream waiting for it.
func (f *Filter) start(s Stream, step *engine.Step, now time.Time, resumed bool) abi.HeadersStatus {
	// Held before anything can fail, so that a panic finishes the call
	// (giveUp) and no waiter is left behind.
	f.lead = step.Lead
	c := step.Lead.Call
	headers := []Header{
		{Name: ":method", Value: "POST"},
		{Name: ":path", Value: c.Path},
		{Name: ":authority", Value: c.Authority},
		{Name: "content-type", Value: "application/json"},
	}
	for _, h := range c.Headers {
		headers = append(headers, Header(h))
	}
	timeout := max(c.Timeout.Milliseconds(), 1)
	id, init := s.Callout(c.Cluster, headers, c.Event, uint64(timeout))
	if init != abi.CalloutInitSuccess {
		f.logf(abi.LogError, "authorizer[%s]: call to cluster %q failed: %v", c.Authorizer, c.Cluster, init)
		return f.apply(s, f.finish(engine.Answer{}, now), resumed)
	}
	f.callout, f.sent, f.phase = id, now, phasePending
	f.logDecision(&step.Result, "callout", strconv.FormatUint(id, 10))
	return abi.HeadersStopAllIterationAndWatermark
}

// CalloutBodyLimit is how much of callout id's answer body the module
// copies out of Envoy: the leading Call's MaxResponseBytes, or 0 for an
// answer nobody waits for. A longer body is passed by its size alone.
func (f *Filter) CalloutBodyLimit(id uint64) int {
	if f.phase != phasePending || f.lead == nil || id != f.callout {
		return 0
	}
	return f.lead.Call.MaxResponseBytes
}

// finish reports what became of the stream's call to the engine, which
// hands every waiting stream its own result, and returns this stream's.
func (f *Filter) finish(a engine.Answer, now time.Time) pipeline.Result {
	l := f.lead
	f.lead, f.callout = nil, 0
	return f.cfg.eng.Finish(l, a, now)
}

// await pauses a stream that waits for another stream's call. Its
// scheduler is made here, on its worker, before it pauses: the call may
// finish on another worker at any moment, and its continuation (woken)
// posts the result back through the scheduler. A result that came before
// the scheduler existed is applied at once.
func (f *Filter) await(s Stream, step *engine.Step, resumed bool) abi.HeadersStatus {
	if testHookAwait != nil {
		testHookAwait(f)
	}
	f.mu.Lock()
	if f.hasEarly {
		res := f.early
		f.early, f.hasEarly = pipeline.Result{}, false
		f.mu.Unlock()
		return f.resume(s, res, resumed)
	}
	f.prepareLocked(s)
	f.mu.Unlock()
	f.wait, f.phase = step.Wait, phasePending
	f.logDecision(&step.Result, "coalesced", "wait")
	return abi.HeadersStopAllIterationAndWatermark
}

// woken is the engine's continuation of a waiting stream. It runs on the
// thread that finished the call (any worker), so it touches nothing of the
// stream: it posts the result to the stream's own worker.
func (f *Filter) woken(res pipeline.Result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	if f.sched == nil {
		// The stream's request-headers hook is still between the engine
		// and await, which takes the result under mu.
		f.early, f.hasEarly = res, true
		return
	}
	f.postLocked(func(s Stream) {
		if f.wait == nil || f.phase != phasePending {
			return
		}
		f.wait = nil
		f.resume(s, res, true)
	})
}

// resume carries out a waiter's result: final, or a request to evaluate
// again because the stream that led the call went away (engine.Abandon).
func (f *Filter) resume(s Stream, res pipeline.Result, resumed bool) abi.HeadersStatus {
	if res.Kind == pipeline.KindCall {
		f.logf(abi.LogDebug, "stream %d: the call it waited for was abandoned; evaluating again", f.id)
		return f.evaluate(s, f.readRequest(s), resumed)
	}
	f.coalesced = true
	return f.apply(s, res, resumed)
}

// OnCalloutDone finishes the stream's call with the authorizer's answer:
// the engine resumes this stream and hands every waiting stream its own
// result. Envoy cancels a stream's callouts when the stream is destroyed,
// so an answer finds its stream; one that does not (or a stray id) is
// ignored. bodySize is the answer body's size, more than len(body) when
// the body was left in Envoy for being longer than CalloutBodyLimit.
func (f *Filter) OnCalloutDone(s Stream, id uint64, result abi.CalloutResult, headers []Header, body []byte, bodySize int) {
	defer f.recoverFail(s, "callout answer")
	if f.phase != phasePending || f.lead == nil || id != f.callout {
		f.logf(abi.LogDebug, "answer for callout %d on stream %d ignored", id, f.id)
		return
	}
	now := f.cfg.now()
	resp := readResponse(result, headers, body)
	if bodySize > len(resp.Body) && resp.Status != 0 {
		resp.BodySize = bodySize
	}
	a := engine.Answer{Response: resp, Sent: true, Latency: now.Sub(f.sent), TimedOut: resp.TimedOut()}
	authorizer := f.lead.Call.Authorizer
	res := f.finish(a, now)
	if res.Decision == pipeline.DecisionError {
		f.logf(abi.LogDebug, "authorizer[%s]: callout %d answered result=%v status=%d bytes=%d",
			authorizer, id, result, resp.Status, max(len(resp.Body), resp.BodySize))
	}
	f.apply(s, res, true)
}

// readResponse turns a callout's answer into the pipeline's Response;
// status 0 (a failed call) for a reset, an oversized answer or a missing or
// malformed :status.
func readResponse(result abi.CalloutResult, headers []Header, body []byte) pipeline.Response {
	if result != abi.CalloutSuccess {
		return pipeline.Response{}
	}
	resp, err := pipeline.NewResponse(headers, body)
	if err != nil {
		return pipeline.Response{}
	}
	return resp
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
func (f *Filter) OnStreamComplete() {
	f.phase = phaseGone
	f.leave()
}

// OnDestroy leaves the engine, releases the stream's scheduler and drops
// posted events: Post refuses from now on.
func (f *Filter) OnDestroy() {
	f.phase = phaseGone
	f.leave()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	f.events = nil
	if f.sched != nil {
		f.sched.Close()
		f.sched = nil
	}
}

// leave takes a stream that goes away out of the engine. A leader's
// callout dies with its stream (Envoy cancels it), so the call is
// abandoned: the streams waiting for it evaluate again and one of them
// calls instead, rather than failing because another client hung up. A
// waiter is taken off its call; should its result already be on the way,
// the event is dropped with the stream.
func (f *Filter) leave() {
	if l := f.lead; l != nil {
		f.lead, f.callout = nil, 0
		f.logf(abi.LogDebug, "stream %d gone before its authorizer answer: its waiters call again", f.id)
		f.cfg.eng.Abandon(l)
	}
	if w := f.wait; w != nil {
		f.wait = nil
		f.cfg.eng.Cancel(w)
	}
}

// giveUp takes a stream that failed out of the engine: a call it leads is
// finished as a failed call, so its waiters fail closed with it rather
// than wait; a wait is cancelled. It is called while recovering from a
// panic, so it recovers too: the waiters' continuations run inside Finish,
// and one more panic there must not keep this stream from its 500.
func (f *Filter) giveUp() {
	defer func() {
		if r := recover(); r != nil {
			f.logf(abi.LogError, "panic leaving the engine on stream %d: %v", f.id, r)
		}
	}()
	if f.lead != nil {
		// The clock is not read: it may be what panicked. The call is
		// judged as failing when it began, which is as late as anything
		// about it is known.
		f.finish(engine.Answer{}, f.began)
	}
	if w := f.wait; w != nil {
		f.wait = nil
		f.cfg.eng.Cancel(w)
	}
}

// decided logs and counts the final result of the stream.
func (f *Filter) decided(res *pipeline.Result) {
	f.logDecision(res)
	f.cfg.eng.Count(*res)
}

// fail answers the stream 500 when nothing else can be done, unless it was
// already answered or continued.
func (f *Filter) fail(s Stream, reason string) {
	if f.phase == phaseAllowed || f.phase == phaseAnswered || f.phase == phaseGone {
		return
	}
	res := f.cfg.eng.Pipeline().Failure(reason)
	f.cfg.eng.Count(res)
	f.phase = phaseAnswered
	s.SendResponse(res.Status, toHeaders(res.Headers), res.Body, Details)
}

// recoverFail is deferred by hooks that resume a paused stream: a panic is
// logged, the stream leaves the engine (failing a call it leads) and is
// answered 500.
func (f *Filter) recoverFail(s Stream, where string) {
	if r := recover(); r != nil {
		f.logf(abi.LogError, "panic in %s of stream %d: %v", where, f.id, r)
		f.giveUp()
		f.fail(s, "internal error")
	}
}

// logDecision writes the line of a decision: the decision record
// (pipeline.Record's text layout), then the stream's id and extra
// key/value pairs. Debug level, info with the plan's logDecisions for a
// final decision, and warn for an authorizer failure, as the wasm filter
// logs. It is formatted only when Envoy
// writes the line.
func (f *Filter) logDecision(res *pipeline.Result, extra ...string) {
	level := abi.LogDebug
	switch {
	case res.Decision == pipeline.DecisionError:
		// An authorizer failure is an operator's problem, not a client's.
		level = abi.LogWarn
	case res.Kind == pipeline.KindCall:
	case f.cfg.eng.Pipeline().Plan().LogDecisions:
		level = abi.LogInfo
	}
	if !f.cfg.host.LogEnabled(level) {
		return
	}
	rec := pipeline.NewRecord(f.method, f.target, f.requestID, res)
	rec.Coalesced = f.coalesced
	f.cfg.host.Log(level, string(rec.AppendLine(make([]byte, 0, 256), "stream", f.id, extra...)))
}

func (f *Filter) logf(level abi.LogLevel, format string, args ...any) {
	logf(f.cfg.host, level, format, args...)
}
