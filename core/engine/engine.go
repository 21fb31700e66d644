// Package engine runs the pipeline for the embeddings that serve every
// thread from one Go runtime: the native net/http middleware and Envoy's
// dynamic module. An Engine holds one pipeline (so one cache), the
// authorizer calls in flight behind one lock, and the metrics of every
// request. The wasm filter, which has one runtime per Envoy worker, shares
// answers between its VMs through the proxy's shared store instead.
//
// # A request
//
// Evaluate runs a request through the pipeline and yields a Step, one of:
//
//   - a final result (Step.Lead and Step.Wait nil): answer with it;
//   - Lead: no call for the request's cache key is in flight, so this
//     request performs Lead.Call (however the embedding calls authorizers)
//     and reports what became of it with Finish, which returns this
//     request's result;
//   - Wait: another request leads a call for the same key; the wake
//     continuation given to Evaluate is called once, with this request's
//     own result, when that call finishes (or, should its leader give the
//     call up with Abandon, with this request's pending Call, to evaluate
//     again).
//
// The embedding then counts the result it answers with, once, with Count.
// A burst of first requests for one identity costs one authorizer call:
// the leader fills the cache before it retires its call, and a request
// that finds no call in flight looks in the cache again under the lock.
// Authorizers with a TTL of 0 cache nothing, but their concurrent requests
// still share one call.
//
// # Threading contract
//
// An Engine is safe for concurrent use from any number of threads, Go's or
// not (the dynamic module calls it from Envoy's worker threads):
//
//   - No method performs I/O, reads a clock, starts a goroutine or blocks
//     beyond a short critical section on the engine's lock. Time is passed
//     in.
//   - The engine calls the embedding in two ways only, never while it holds
//     its lock: Request.SourceIPFunc and ProtocolFunc, from Evaluate on the
//     caller's thread (as the pipeline does), and wake continuations, from
//     Finish on the thread that calls it, before Finish returns. A continuation may call
//     the engine; it should hand the result to its request's own thread
//     and return, for the leader's answer waits on it.
//   - A continuation runs at most once, and exactly once unless Cancel
//     took its request off the call first. Cancel says which: true, the
//     continuation will never run; false, it has run or is about to, and
//     the embedding must ignore a result for a request that is gone.
//   - Every Lead must be finished exactly once, on every path, panics
//     included: defer Finish, with a failed Answer (Status 0) when the call
//     never completed. Its waiters get their results only from Finish. A
//     leader whose call is cancelled with its request (Envoy cancels a
//     stream's callouts when it destroys the stream) finishes with Abandon
//     instead, which hands the call to its waiters rather than failing
//     them. As a safety net against a leader that is lost anyway, a
//     request for the same key arriving later than the call's timeout
//     plus LeadGrace after the call began takes the call over, with its
//     waiters; a late Finish of the lost Lead then decides only its own
//     request.
//   - A panic inside the pipeline becomes the failure result (500), never
//     an allow, and leaves no lock held and no call in flight. A panic in a
//     continuation does not keep the other waiters from their results:
//     Finish wakes them all, then panics with the first value.
package engine

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authgate/authgate/core/pipeline"
)

// LeadGrace is how long past its timeout a call may go unfinished before
// another request for the same key takes it over. Embeddings bound their
// calls by the timeout, so only a lost Lead is ever this late.
const LeadGrace = time.Second

// Engine evaluates requests against one pipeline for every thread of a
// process. See the package documentation for its threading contract.
type Engine struct {
	pipe *pipeline.Pipeline
	// evaluate and resume are the pipeline's steps; tests replace them to
	// make the pipeline fail where it cannot be made to fail otherwise.
	evaluate func(*pipeline.Request, time.Time) pipeline.Result
	resume   func(*pipeline.Call, pipeline.Response, time.Time) pipeline.Result

	mu      sync.Mutex
	flights map[string]*flight // the calls in flight, by cache key; guarded by mu

	meters *meters
}

// Option configures an Engine.
type Option func(*Engine)

// Recorder receives every metric the engine counts, as it counts it, for
// an embedding that keeps its metrics elsewhere too (the dynamic module's
// are Envoy's stats). It is called on the thread that counts, never under
// the engine's lock: from Count on the caller's thread, and from Finish on
// the finishing thread (timeout, latency, and coalesced for each waiter).
type Recorder interface {
	// Add counts one event of the counter MetricName(authorizer, suffix).
	Add(authorizer, suffix string)
	// Observe records the latency of one call of the authorizer, in
	// milliseconds.
	Observe(authorizer string, ms uint64)
}

// WithRecorder makes the engine report every metric it counts to r as
// well as to its own Metrics.
func WithRecorder(r Recorder) Option {
	return func(e *Engine) { e.meters.rec = r }
}

// flight is one authorizer call in flight and the requests waiting for it.
type flight struct {
	key      string
	deadline time.Time // past it, the call is taken to be lost
	waiters  []*Wait   // guarded by Engine.mu
}

// Step is what Evaluate yields for a request: its final Result when Lead
// and Wait are nil; otherwise Result is the pending Call (KindCall, for
// logs) and exactly one of Lead and Wait is set.
type Step struct {
	Result pipeline.Result
	Lead   *Lead
	Wait   *Wait
}

// Lead is a call this request performs for every request of its cache
// key. The embedding performs Call, then calls Finish exactly once.
type Lead struct {
	Call     *pipeline.Call
	f        *flight
	finished atomic.Bool
}

// Wait is a request waiting for another request's call.
type Wait struct {
	call  *pipeline.Call
	wake  func(pipeline.Result)
	f     *flight   // guarded by Engine.mu: a takeover moves the waiter
	state waitState // guarded by Engine.mu
}

type waitState uint8

const (
	waiting   waitState = iota
	woken               // Finish took it: its continuation runs once
	cancelled           // Cancel took it: its continuation never runs
)

// Answer is what became of the call a Lead performed.
type Answer struct {
	// Response is the authorizer's answer; Status 0 when there is no
	// complete answer (not sent, timed out, reset, unreadable).
	Response pipeline.Response
	// Sent says the call went out; only then is Latency, the time from
	// sending it to the end of its answer, recorded in the authorizer's
	// latency histogram.
	Sent    bool
	Latency time.Duration
	// TimedOut counts the call under the authorizer's timeout counter.
	TimedOut bool
}

// New returns an engine running p. Its metrics start with every metric of
// pipeline.PlanMetrics at zero.
func New(p *pipeline.Pipeline, opts ...Option) *Engine {
	e := &Engine{
		pipe:     p,
		evaluate: p.Evaluate,
		resume:   p.Resume,
		flights:  make(map[string]*flight),
		meters:   newMeters(pipeline.PlanMetrics(p.Plan())),
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Pipeline returns the pipeline the engine runs.
func (e *Engine) Pipeline() *pipeline.Pipeline { return e.pipe }

// Evaluate runs request r, which arrived at now, up to its result, the
// call it leads or its wait for another request's call. wake, which must
// not be nil, is kept only when the Step is a Wait; see the package
// documentation for when and where it runs.
func (e *Engine) Evaluate(r *pipeline.Request, now time.Time, wake func(pipeline.Result)) (s Step) {
	defer func() {
		if v := recover(); v != nil {
			s = Step{Result: e.pipe.Failure(fmt.Sprintf("panic: %v", v))}
		}
	}()
	res := e.evaluate(r, now)
	switch {
	case res.Kind == pipeline.KindAllow || res.Kind == pipeline.KindReject:
		return Step{Result: res}
	case res.Kind == pipeline.KindCall && res.Call != nil:
		return e.join(r, res, now, wake)
	}
	return Step{Result: e.pipe.Failure("pipeline returned " + res.Kind.String())}
}

// join makes a request that needs res.Call wait for the call in flight for
// its key, or lead a new one. The lock is released by defer, so that a
// panic in the pipeline cannot leave it held; the flight is registered
// last, so that a panic cannot leave a call without a leader.
func (e *Engine) join(r *pipeline.Request, res pipeline.Result, now time.Time, wake func(pipeline.Result)) Step {
	c := res.Call
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.flights[c.Key]
	if old != nil && !now.After(old.deadline) {
		w := &Wait{call: c, wake: wake, f: old}
		old.waiters = append(old.waiters, w)
		return Step{Result: res, Wait: w}
	}
	if old == nil && e.caches(c.Authorizer) {
		// Between the miss and the lock, a call for this key may have
		// finished and filled the cache: look again, so that a burst of
		// first requests costs one call. A leader resumes (and so
		// caches) before it retires its call, which makes this look
		// sufficient. The request's own source address and protocol
		// functions are not called under the lock: the first evaluation
		// settled whatever the call needs.
		again := *r
		again.SourceIPFunc, again.ProtocolFunc = nil, nil
		res = e.evaluate(&again, now)
		if res.Kind != pipeline.KindCall || res.Call == nil {
			return Step{Result: res}
		}
		c = res.Call
	}
	f := &flight{key: c.Key, deadline: now.Add(c.Timeout + LeadGrace)}
	if old != nil {
		// The call in flight is past its deadline: its leader is lost.
		// This request calls instead, for the waiters too.
		f.waiters, old.waiters = old.waiters, nil
		for _, w := range f.waiters {
			w.f = f
		}
	}
	e.flights[c.Key] = f
	return Step{Result: res, Lead: &Lead{Call: c, f: f}}
}

// caches reports whether the authorizer may have cached an answer: the
// pipeline caches results when TTL > 0 and Unauthorized answers when
// UnauthorizedTTL > 0.
func (e *Engine) caches(authorizer string) bool {
	a := e.pipe.Plan().Authorizers[authorizer]
	return a != nil && (a.TTL > 0 || a.UnauthorizedTTL > 0)
}

// Finish reports what became of the call l performed, at now, and returns
// the leader's result. Every request waiting for the call gets its own
// result (from its own Call) through its continuation, on this thread,
// before Finish returns. A second Finish of one Lead changes nothing and
// returns the failure result.
func (e *Engine) Finish(l *Lead, a Answer, now time.Time) pipeline.Result {
	if !l.finished.CompareAndSwap(false, true) {
		return e.pipe.Failure("authorizer call finished twice")
	}
	e.meters.observe(l.Call.Authorizer, &a)
	if a.Response.Status == 0 && a.Response.Cause == pipeline.CauseNone {
		// What the embedding said of the call is its cause when it gave
		// none: a call never sent was refused, one that ran out of time
		// timed out.
		switch {
		case a.TimedOut:
			a.Response.Cause = pipeline.CauseTimeout
		case !a.Sent:
			a.Response.Cause = pipeline.CauseRefused
		}
	}
	// The leader resumes first, so that its answer is cached before the
	// call retires (see join).
	res := e.resumeSafe(l.Call, a.Response, now)
	ws := e.retire(l.f)

	var first any
	panicked := false
	for _, w := range ws {
		wr := e.resumeSafe(w.call, a.Response, now)
		e.meters.add(w.call.Authorizer, pipeline.MetricCoalesced)
		if v, ok := wakeSafe(w, wr); ok && !panicked {
			first, panicked = v, true
		}
	}
	if panicked {
		panic(first)
	}
	return res
}

// Abandon is the other way to finish a Lead: its call was given up before
// it completed, for a reason that concerns only the leader's own request
// (Envoy cancels a stream's callouts when the stream goes away). Nothing is
// resumed, cached or counted. The waiters are not failed: each
// continuation gets a Result of KindCall carrying its own pending Call,
// which means "no answer came: evaluate this request again". The first of
// them to do so leads a new call, the others wait for it, so a client
// that hangs up costs the others one more call, never an error. An
// embedding that calls Abandon must handle that result in its
// continuations; one that never does never sees it. Abandon after Finish
// (or a second Abandon) changes nothing.
func (e *Engine) Abandon(l *Lead) {
	if !l.finished.CompareAndSwap(false, true) {
		return
	}
	ws := e.retire(l.f)
	var first any
	panicked := false
	for _, w := range ws {
		again := pipeline.Result{Kind: pipeline.KindCall, Call: w.call, Authorizer: w.call.Authorizer}
		if v, ok := wakeSafe(w, again); ok && !panicked {
			first, panicked = v, true
		}
	}
	if panicked {
		panic(first)
	}
}

// retire takes f out of the calls in flight, unless a takeover replaced
// it, and returns its waiters, each now taken (woken).
func (e *Engine) retire(f *flight) []*Wait {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.flights[f.key] == f {
		delete(e.flights, f.key)
	}
	ws := f.waiters
	f.waiters = nil
	for _, w := range ws {
		w.state = woken
	}
	return ws
}

// resumeSafe resumes c; a panic, or anything but a final result, is the
// failure result.
func (e *Engine) resumeSafe(c *pipeline.Call, resp pipeline.Response, now time.Time) (res pipeline.Result) {
	defer func() {
		if v := recover(); v != nil {
			res = e.pipe.Failure(fmt.Sprintf("panic: %v", v))
		}
	}()
	res = e.resume(c, resp, now)
	if res.Kind != pipeline.KindAllow && res.Kind != pipeline.KindReject {
		res = e.pipe.Failure("pipeline returned " + res.Kind.String())
	}
	return res
}

// wakeSafe runs w's continuation, reporting a panic instead of raising it.
func wakeSafe(w *Wait, res pipeline.Result) (v any, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			v, panicked = r, true
		}
	}()
	w.wake(res)
	return nil, false
}

// Cancel takes a waiting request off its call, for a request that went
// away. It reports whether it did: true, the continuation will never run;
// false, the continuation has run or is running (or Cancel was called
// before).
func (e *Engine) Cancel(w *Wait) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if w.state != waiting {
		return false
	}
	w.state = cancelled
	f := w.f
	if i := slices.Index(f.waiters, w); i >= 0 {
		f.waiters = slices.Delete(f.waiters, i, i+1)
	}
	return true
}

// InFlight reports the calls in flight and the requests waiting for them.
func (e *Engine) InFlight() (calls, waiting int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, f := range e.flights {
		waiting += len(f.waiters)
	}
	return len(e.flights), waiting
}
