package gate

import "github.com/authgate/authgate/filter/module/abi"

// Prepare makes the stream's scheduler. It runs on the stream's worker
// thread, inside a hook, before the stream pauses for something another
// thread will deliver through Post: Envoy creates schedulers only there.
func (f *Filter) Prepare(s Stream) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prepareLocked(s)
}

// prepareLocked is Prepare with f.mu held.
func (f *Filter) prepareLocked(s Stream) {
	if f.sched == nil && !f.closed {
		f.sched = s.NewScheduler()
	}
}

// Post runs fn later on the stream's worker thread, with the stream: the
// way back to a paused stream from any other thread or goroutine. It
// reports false, and fn never runs, when the stream is destroyed or was
// never prepared. fn also does not run when Envoy destroys the stream
// before the event arrives.
func (f *Filter) Post(fn func(Stream)) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.postLocked(fn)
}

// postLocked is Post with f.mu held.
func (f *Filter) postLocked(fn func(Stream)) bool {
	if f.closed || f.sched == nil {
		return false
	}
	f.next++
	if f.events == nil {
		f.events = map[uint64]func(Stream){}
	}
	f.events[f.next] = fn
	// Commit only queues the event on the worker's dispatcher; it never
	// calls back into the module, so holding mu here cannot deadlock
	// with OnScheduled.
	f.sched.Commit(f.next)
	return true
}

// OnScheduled runs the function posted under id, on the stream's worker
// thread. A panic answers the stream 500.
func (f *Filter) OnScheduled(s Stream, id uint64) {
	defer f.recoverFail(s, "scheduled event")
	f.mu.Lock()
	fn := f.events[id]
	delete(f.events, id)
	f.mu.Unlock()
	if fn == nil || f.phase == phaseGone {
		return
	}
	f.logf(abi.LogDebug, "stream %d: event %d runs on its worker", f.id, id)
	fn(s)
}
