// Package gatetest is a fake of Envoy's side of the dynamic-module ABI for
// gate's tests: worker threads that run one hook at a time, streams with
// header maps and attributes, callouts the test answers, schedulers that
// post to a stream's worker, a log and stats.
//
// Like Envoy, the fake checks where it is called from: a Stream method
// called anywhere but on the stream's worker, during a hook, is recorded as
// a violation (Envoy would corrupt memory instead).
package gatetest

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"sync"

	"github.com/authgate/authgate/filter/module/abi"
	"github.com/authgate/authgate/filter/module/internal/gate"
)

// Envoy is the fake process: its log, its stats and its violations.
type Envoy struct {
	mu         sync.Mutex
	Level      abi.LogLevel // lowest level written; LogTrace by default
	lines      []string
	names      []string // metric names by id
	histogram  []bool
	values     []uint64
	frozen     bool
	violations []string
	scheduled  int        // scheduled events delivered to filters
	cond       *sync.Cond // signalled when scheduled grows
}

// New returns a fake Envoy that writes every log level.
func New() *Envoy {
	e := &Envoy{}
	e.cond = sync.NewCond(&e.mu)
	return e
}

// WaitScheduled blocks until n scheduled events in all have run: events
// are committed from goroutines the test does not see.
func (e *Envoy) WaitScheduled(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for e.scheduled < n {
		e.cond.Wait()
	}
}

// Host returns the process-wide callbacks.
func (e *Envoy) Host() gate.Host { return host{e} }

// Metrics returns the stats of a filter configuration. Definitions are
// refused (MetricsFrozen) after Freeze, as Envoy refuses them once the
// configuration exists.
func (e *Envoy) Metrics() gate.Metrics { return metrics{e} }

// Freeze ends metric definitions.
func (e *Envoy) Freeze() {
	e.mu.Lock()
	e.frozen = true
	e.mu.Unlock()
}

// Log returns every line written so far, as "level: text".
func (e *Envoy) Log() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.lines...)
}

// Stat returns a metric's value (a histogram's sample count) and whether
// it is defined.
func (e *Envoy) Stat(name string) (uint64, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, n := range e.names {
		if n == name {
			return e.values[i], true
		}
	}
	return 0, false
}

// Stats returns every defined metric name.
func (e *Envoy) Stats() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.names...)
}

// Violations lists the calls made from the wrong thread.
func (e *Envoy) Violations() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.violations...)
}

func (e *Envoy) violate(format string, args ...any) {
	e.mu.Lock()
	e.violations = append(e.violations, fmt.Sprintf(format, args...))
	e.mu.Unlock()
}

type host struct{ e *Envoy }

func (h host) Log(level abi.LogLevel, msg string) {
	h.e.mu.Lock()
	h.e.lines = append(h.e.lines, level.String()+": "+msg)
	h.e.mu.Unlock()
}

func (h host) LogEnabled(level abi.LogLevel) bool { return level >= h.e.Level }

type metrics struct{ e *Envoy }

func (m metrics) define(name string, hist bool) (uint64, abi.MetricsResult) {
	m.e.mu.Lock()
	defer m.e.mu.Unlock()
	if m.e.frozen {
		return 0, abi.MetricsFrozen
	}
	m.e.names = append(m.e.names, name)
	m.e.histogram = append(m.e.histogram, hist)
	m.e.values = append(m.e.values, 0)
	return uint64(len(m.e.names) - 1), abi.MetricsSuccess
}

func (m metrics) DefineCounter(name string) (uint64, abi.MetricsResult) { return m.define(name, false) }

func (m metrics) DefineHistogram(name string) (uint64, abi.MetricsResult) {
	return m.define(name, true)
}

func (m metrics) add(id, delta uint64, hist bool) abi.MetricsResult {
	m.e.mu.Lock()
	defer m.e.mu.Unlock()
	if id >= uint64(len(m.e.names)) || m.e.histogram[id] != hist {
		return abi.MetricsNotFound
	}
	m.e.values[id] += delta
	return abi.MetricsSuccess
}

func (m metrics) IncrementCounter(id, delta uint64) abi.MetricsResult { return m.add(id, delta, false) }

func (m metrics) RecordHistogram(id, _ uint64) abi.MetricsResult { return m.add(id, 1, true) }

// Worker is a fake worker thread: a goroutine that runs tasks one at a
// time, in the order they were queued.
type Worker struct {
	e     *Envoy
	mu    sync.Mutex
	cond  *sync.Cond
	queue []func()
	stop  bool
	gid   uint64
	ready chan struct{}
	done  chan struct{}
	// busy is set while a task runs: Envoy calls into a stream only
	// inside one of its hooks.
	busy bool
}

// NewWorker starts a worker; Stop ends it.
func (e *Envoy) NewWorker() *Worker {
	w := &Worker{e: e, ready: make(chan struct{}), done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go w.run()
	<-w.ready
	return w
}

func (w *Worker) run() {
	defer close(w.done)
	w.gid = goid()
	close(w.ready)
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && !w.stop {
			w.cond.Wait()
		}
		if len(w.queue) == 0 {
			w.mu.Unlock()
			return
		}
		task := w.queue[0]
		w.queue = w.queue[1:]
		w.busy = true
		w.mu.Unlock()
		task()
		w.mu.Lock()
		w.busy = false
		w.mu.Unlock()
	}
}

// Post queues a task, like Envoy's dispatcher post: safe from anywhere,
// it never runs the task in the caller.
func (w *Worker) Post(task func()) {
	w.mu.Lock()
	w.queue = append(w.queue, task)
	w.cond.Signal()
	w.mu.Unlock()
}

// Do runs task on the worker and waits for it.
func (w *Worker) Do(task func()) {
	done := make(chan struct{})
	w.Post(func() {
		defer close(done)
		task()
	})
	<-done
}

// Drain waits until every task queued so far, and every task they queue,
// has run.
func (w *Worker) Drain() {
	for {
		w.Do(func() {})
		w.mu.Lock()
		empty := len(w.queue) == 0
		w.mu.Unlock()
		if empty {
			return
		}
	}
}

// Stop ends the worker after the tasks queued so far.
func (w *Worker) Stop() {
	w.mu.Lock()
	w.stop = true
	w.cond.Signal()
	w.mu.Unlock()
	<-w.done
}

// on reports whether the caller is this worker running a task.
func (w *Worker) on() bool {
	w.mu.Lock()
	busy := w.busy
	w.mu.Unlock()
	return busy && goid() == w.gid
}

// goid is the calling goroutine's id, read from its stack header: the fake
// needs to know whether it runs on a worker, as Envoy's threads do.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	n, _ := strconv.ParseUint(string(b), 10, 64)
	return n
}

// Response is a local reply a stream sent.
type Response struct {
	Status  int
	Headers []gate.Header
	Body    string
	Details string
}

// Callout is an HTTP request a stream sent to a cluster.
type Callout struct {
	ID        uint64
	Cluster   string
	Headers   []gate.Header
	Body      string
	TimeoutMs uint64
}

// Stream is a fake HTTP stream owned by a worker. Set Headers, Attributes
// and CalloutInit before its first hook; read the rest after.
type Stream struct {
	W          *Worker
	Headers    []gate.Header
	Attributes map[abi.AttributeID]string
	// CalloutInit is Envoy's answer to the next callout (success when zero).
	CalloutInit abi.CalloutInit
	// Filter receives the scheduled events of the stream.
	Filter *gate.Filter

	mu         sync.Mutex
	responses  []Response
	continued  int
	callouts   []Callout
	nextID     uint64
	schedulers int
	live       int // schedulers not yet closed
	destroyed  bool
	ran        []uint64 // scheduled event ids delivered, in order
}

func (s *Stream) check(what string) {
	if !s.W.on() {
		s.W.e.violate("%s called outside the stream's worker", what)
	}
}

func (s *Stream) RequestHeaders() []gate.Header {
	s.check("RequestHeaders")
	return append([]gate.Header(nil), s.Headers...)
}

func (s *Stream) Attribute(id abi.AttributeID) (string, bool) {
	s.check("Attribute")
	v, ok := s.Attributes[id]
	return v, ok
}

func (s *Stream) SetRequestHeader(name, value string) bool {
	s.check("SetRequestHeader")
	s.RemoveRequestHeader(name)
	s.Headers = append(s.Headers, gate.Header{Name: name, Value: value})
	return true
}

func (s *Stream) RemoveRequestHeader(name string) bool {
	s.check("RemoveRequestHeader")
	kept := s.Headers[:0]
	for _, h := range s.Headers {
		if !equalFold(h.Name, name) {
			kept = append(kept, h)
		}
	}
	s.Headers = kept
	return true
}

func equalFold(a, b string) bool {
	return len(a) == len(b) && bytes.EqualFold([]byte(a), []byte(b))
}

func (s *Stream) SendResponse(status int, headers []gate.Header, body []byte, details string) {
	s.check("SendResponse")
	s.mu.Lock()
	s.responses = append(s.responses, Response{status, headers, string(body), details})
	s.mu.Unlock()
}

func (s *Stream) Callout(cluster string, headers []gate.Header, body []byte, timeoutMs uint64) (uint64, abi.CalloutInit) {
	s.check("Callout")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.CalloutInit != abi.CalloutInitSuccess {
		return 0, s.CalloutInit
	}
	s.nextID++
	s.callouts = append(s.callouts, Callout{s.nextID, cluster, headers, string(body), timeoutMs})
	return s.nextID, abi.CalloutInitSuccess
}

func (s *Stream) ContinueDecoding() {
	s.check("ContinueDecoding")
	s.mu.Lock()
	s.continued++
	s.mu.Unlock()
}

func (s *Stream) NewScheduler() gate.Scheduler {
	s.check("NewScheduler")
	s.mu.Lock()
	s.schedulers++
	s.live++
	s.mu.Unlock()
	return &scheduler{s: s}
}

// Destroy marks the stream destroyed, as Envoy does before its destroy
// hook: scheduled events still queued are dropped.
func (s *Stream) Destroy() {
	s.mu.Lock()
	s.destroyed = true
	s.mu.Unlock()
}

// Responses returns the local replies sent.
func (s *Stream) Responses() []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Response(nil), s.responses...)
}

// Continued counts ContinueDecoding calls.
func (s *Stream) Continued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.continued
}

// Callouts returns the callouts sent.
func (s *Stream) Callouts() []Callout {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Callout(nil), s.callouts...)
}

// Schedulers returns how many schedulers the stream made and how many are
// still open.
func (s *Stream) Schedulers() (made, open int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.schedulers, s.live
}

// Delivered returns the scheduled event ids delivered to the filter.
func (s *Stream) Delivered() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uint64(nil), s.ran...)
}

type scheduler struct {
	s      *Stream
	closed bool
	mu     sync.Mutex
}

// Commit posts the event to the stream's worker, where the stream's filter
// gets it unless the stream is destroyed by then; like Envoy's, it may be
// called from any goroutine.
func (c *scheduler) Commit(id uint64) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		c.s.W.e.violate("Commit(%d) after Close", id)
		return
	}
	s := c.s
	s.W.Post(func() {
		s.mu.Lock()
		gone := s.destroyed
		if !gone {
			s.ran = append(s.ran, id)
		}
		s.mu.Unlock()
		if !gone && s.Filter != nil {
			s.Filter.OnScheduled(s, id)
		}
		e := s.W.e
		e.mu.Lock()
		e.scheduled++
		e.cond.Broadcast()
		e.mu.Unlock()
	})
}

func (c *scheduler) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		c.s.W.e.violate("scheduler closed twice")
		return
	}
	c.closed = true
	c.s.mu.Lock()
	c.s.live--
	c.s.mu.Unlock()
}
