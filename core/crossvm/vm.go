package crossvm

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/authgate/authgate/core/pipeline"
)

// TickPeriod is how often a root context that shares answers is ticked:
// the ticks end the waits whose claimer died (see Tick), so a take-over
// comes at most this late after the claim's deadline.
const TickPeriod = 50 * time.Millisecond

const (
	// maxPeers bounds the registry. Names of VMs long gone (a reloaded
	// configuration's) fall off the front; a live VM re-adds itself
	// before every wait, so it never waits unregistered.
	maxPeers = 64
	// casAttempts bounds every compare-and-swap loop: the store is shared
	// with other threads, and a callback must never spin.
	casAttempts = 4
)

// VM is the protocol state of one wasm VM. It is not safe for concurrent
// use: a proxy-wasm host runs one VM on one thread at a time. Events may
// only be given while no step is outstanding (after Idle).
type VM struct {
	name string // this VM's queue name
	// queued: the queue is registered, on root context queueRoot.
	queued    bool
	queueRoot uint32

	roots    map[uint32]*pipeline.Pipeline // configured roots
	streams  map[uint32]*stream            // streams waiting for an answer
	flights  map[flightKey]*flight
	callouts map[Callout]*flight
	seq      uint64

	// agenda holds the tasks to run once the current one ends.
	agenda []*task
	// last is the latest time the VM knows, for a clock that fails.
	last time.Time
}

// stream is a request waiting for its answer.
type stream struct {
	id uint32
	// pipe and call are the pipeline that issued the Call and the Call:
	// a reconfiguration must not change how the answer is read.
	pipe      *pipeline.Pipeline
	call      *pipeline.Call
	flight    *flight
	coalesced bool
}

// flightKey identifies the question a flight answers: requests of one
// plugin configuration with the same cache key share one answer.
type flightKey struct {
	root uint32
	key  string
}

// phase is where a flight stands.
type phase uint8

const (
	acquiring phase = iota // looking at the shared store
	waiting                // for another VM's answer
	calling                // its callout is in flight
)

// flight is one authorizer question in flight and the streams waiting
// for its answer.
type flight struct {
	key  flightKey
	seq  uint64
	pipe *pipeline.Pipeline
	// call is the Call of the request that opened the flight: the claim,
	// the callout and the publication use it, also after that request
	// went away.
	call *pipeline.Call
	// id is nil when the question is not shared with other VMs.
	id *identity
	// slot is the candidate slot decided on last: the one claimed, or
	// waited on. "" when the answer is not shared.
	slot    string
	waiters []uint32
	phase   phase
	// queued: a recheck of the flight is on the agenda.
	queued bool
	ref    Callout
	sent   time.Time // when the callout was sent
	// since is when the VM last read the claim it waits for, by a clock
	// read after the slot: the claim's deadline is at most since +
	// waitBound.
	since time.Time
}

// waitBound is how long a flight waits for another VM before it reads
// the slot again: by then the claim it read has passed its own deadline,
// past which its claimer is taken to have died.
func (f *flight) waitBound() time.Duration { return f.call.Timeout + ClaimSlack }

// New returns the protocol state of a VM whose queue is called name.
// Names must differ between the VMs of a proxy; VMs cannot learn each
// other's ids, so the embedding draws it at random (QueuePrefix and a
// random suffix).
func New(name string) *VM {
	return &VM{name: name, roots: map[uint32]*pipeline.Pipeline{}, streams: map[uint32]*stream{},
		flights: map[flightKey]*flight{}, callouts: map[Callout]*flight{}}
}

// Name returns the VM's queue name.
func (vm *VM) Name() string { return vm.name }

// Idle reports whether the VM holds no per-request state: no stream
// waits, no flight and no callout is outstanding.
func (vm *VM) Idle() bool {
	return len(vm.streams)+len(vm.flights)+len(vm.callouts) == 0
}

// Stream tells how stream id waits for its answer; ok is false when it
// waits for none (it was answered, or never asked).
func (vm *VM) Stream(id uint32) (st StreamState, ok bool) {
	s := vm.streams[id]
	if s == nil || s.flight == nil {
		return StreamState{}, false
	}
	if s.flight.phase == calling {
		st.Callout = s.flight.ref.Token
	}
	st.Coalesced = s.coalesced
	return st, true
}

// Pending returns the Call of a callout in flight and when it was sent;
// ok is false for a callout the VM does not know (answered, or its root
// deleted).
func (vm *VM) Pending(c Callout) (call *pipeline.Call, sent time.Time, ok bool) {
	f := vm.callouts[c]
	if f == nil {
		return nil, time.Time{}, false
	}
	return f.call, f.sent, true
}

// Configure records root's pipeline (a new one after a reconfiguration).
// For a plan that shares (sharedSlots > 0) the root is ticked, and the
// VM's queue is registered (on this root, unless it is registered on
// another live one) and recorded in the registry. A root without sharing
// gets no Ticks step.
func (vm *VM) Configure(root uint32, pipe *pipeline.Pipeline) Step {
	vm.roots[root] = pipe
	if pipe.Plan().SharedSlots <= 0 {
		return vm.idle()
	}
	t := &task{root: root}
	return Step{Op: Ticks, Root: root, Period: TickPeriod, t: t, then: (*VM).join}
}

// join registers the queue of a VM whose first sharing root is t.root.
func (vm *VM) join(t *task, _ Outcome) Step {
	if vm.queued && vm.roots[vm.queueRoot] != nil {
		return vm.register(t, (*VM).end)
	}
	return Step{Op: RegisterQueue, Root: t.root, Name: vm.name, t: t, then: (*VM).queueRegistered}
}

// queueRegistered records the queue in the registry.
func (vm *VM) queueRegistered(t *task, o Outcome) Step {
	if o.Status != OK {
		vm.queued = false
		return vm.log(t, Warn, "registering shared queue "+vm.name+": failed", (*VM).end)
	}
	vm.queued, vm.queueRoot = true, t.root
	return vm.register(t, (*VM).registeredAfterJoin)
}

func (vm *VM) registeredAfterJoin(t *task, _ Outcome) Step {
	if !t.canWait {
		return vm.log(t, Warn, "recording shared queue "+vm.name+" in "+RegistryKey+" failed", (*VM).end)
	}
	return vm.end(t, Outcome{})
}

// Request starts the search for the answer of a request whose pipeline
// result is a Call: stream joins the flight already asking the same
// question in this VM, takes the answer another VM published, waits for
// another VM that is asking, or has the authorizer asked. now is the time
// the request was evaluated at. The stream's answer comes in a Settle
// step, now or after a later event; until then the stream is paused.
func (vm *VM) Request(id, root uint32, c *pipeline.Call, now time.Time) Step {
	vm.last = now
	pipe := vm.roots[root]
	if pipe == nil {
		// The embedding evaluated with a pipeline the VM was never
		// given: nothing is known about sharing it.
		res := pipeline.Failure("request of an unconfigured root")
		return Step{Op: Settle, Answers: []Answer{{Stream: id, Result: res}}, t: &task{}, then: (*VM).end}
	}
	s := &stream{id: id, pipe: pipe, call: c}
	vm.streams[id] = s
	fk := flightKey{root: root, key: c.Key}
	if f := vm.flights[fk]; f != nil {
		f.waiters = append(f.waiters, id)
		s.flight, s.coalesced = f, true
		return vm.idle()
	}
	vm.seq++
	f := &flight{key: fk, seq: vm.seq, pipe: pipe, call: c, id: identify(pipe, c), waiters: []uint32{id}, since: now}
	s.flight = f
	vm.flights[fk] = f
	t := &task{f: f, now: now}
	if f.id == nil {
		return vm.dispatch(t)
	}
	return vm.acquire(t)
}

// Leave takes a stream off its flight: it is done (answered by the proxy,
// reset, deleted) and gets no answer. A wait for another VM left without
// streams ends; a callout stays until it is answered, so that its answer
// is still published.
func (vm *VM) Leave(id uint32) {
	s := vm.streams[id]
	if s == nil {
		return
	}
	delete(vm.streams, id)
	f := s.flight
	if f == nil {
		return
	}
	f.waiters = slices.DeleteFunc(f.waiters, func(w uint32) bool { return w == id })
	if len(f.waiters) == 0 && f.phase != calling && vm.flights[f.key] == f {
		delete(vm.flights, f.key)
	}
}

// Answered finishes the flight of callout c with the authorizer's answer
// (Status 0: the call failed): every stream waiting for it gets the
// Result of its own Call, and the answer is published for the other VMs.
// clockOK false means the clock could not be read: the streams fail and
// nothing is published. Unknown callouts are ignored.
func (vm *VM) Answered(c Callout, resp pipeline.Response, now time.Time, clockOK bool) Step {
	f := vm.callouts[c]
	if f == nil {
		return vm.idle()
	}
	delete(vm.callouts, c)
	if clockOK {
		vm.last = now
	}
	return vm.finish(&task{f: f, now: now}, resp, clockOK)
}

// Woken takes the messages of this VM's queue: each is the key of a slot
// another VM just wrote. The flights waiting on those slots read them
// again, in the order they began to wait, whatever the messages' order.
func (vm *VM) Woken(msgs [][]byte) Step {
	vm.schedule(vm.waiting(func(f *flight) bool {
		return slices.ContainsFunc(msgs, func(m []byte) bool { return string(m) == f.slot })
	}))
	return vm.idle()
}

// Tick makes the waits of root that have passed their bound read their
// slot again. By then the claim they read has passed its deadline (the
// bound counts from a clock read after the claim was seen), so unless its
// VM published meanwhile, the slot reads as a miss and the flight claims it
// with a compare-and-swap: of several VMs waiting on a dead claimer exactly
// one takes over and calls, and the others wait for it. A wait is never
// ended by force, which would call while a live claim stands. The clock
// is read only when root has waits.
func (vm *VM) Tick(root uint32) Step {
	if len(vm.waiting(func(f *flight) bool { return f.key.root == root })) == 0 {
		return vm.idle()
	}
	return Step{Op: Clock, t: &task{root: root}, then: (*VM).ticked}
}

func (vm *VM) ticked(t *task, o Outcome) Step {
	if o.Status != OK {
		return vm.log(t, Error, "reading the clock: failed", (*VM).end)
	}
	vm.last = o.Now
	var due []*flight
	for _, f := range vm.waiting(func(f *flight) bool { return f.key.root == t.root }) {
		if o.Now.Sub(f.since) >= f.waitBound() {
			due = append(due, f)
		}
	}
	vm.schedule(due)
	if len(due) == 0 {
		return vm.end(t, o)
	}
	return vm.log(t, Warn, "authorizer["+due[0].call.Authorizer+"]: no answer from another VM within "+
		due[0].waitBound().String()+"; reading its shared slot again", (*VM).end)
}

// DropRoot forgets a deleted root context. Its callouts will not be
// answered to it, so a slot it claimed is released now: other VMs' waiters
// then ask the authorizer themselves instead of waiting for the claim's
// deadline. A queue registered on it moves to another root of this VM
// that shares.
func (vm *VM) DropRoot(root uint32) Step {
	delete(vm.roots, root)
	t := &task{root: root}
	if vm.queued && vm.queueRoot == root {
		vm.queued = false
		for _, r := range sortedKeys(vm.roots) {
			if vm.roots[r].Plan().SharedSlots > 0 {
				vm.agenda = append(vm.agenda, &task{root: r, start: (*VM).rejoin})
				break
			}
		}
	}
	for fk := range vm.flights {
		if fk.root == root {
			delete(vm.flights, fk)
		}
	}
	for _, ref := range sortedCallouts(vm.callouts) {
		if ref.Root != root {
			continue
		}
		f := vm.callouts[ref]
		delete(vm.callouts, ref)
		if f.id != nil {
			t.releases = append(t.releases, f)
		}
	}
	if len(t.releases) == 0 {
		return vm.idle()
	}
	return Step{Op: Clock, t: t, then: (*VM).releasing}
}

// releasing reads the time the releases are stamped with.
func (vm *VM) releasing(t *task, o Outcome) Step {
	if o.Status != OK {
		return vm.log(t, Error, "reading the clock: failed", (*VM).end)
	}
	t.now, vm.last = o.Now, o.Now
	return vm.releaseNext(t, o)
}

// rejoin registers the queue on another root after its root went away.
func (vm *VM) rejoin(t *task, _ Outcome) Step {
	return Step{Op: RegisterQueue, Root: t.root, Name: vm.name, t: t, then: (*VM).queueRegistered}
}

// releaseNext publishes a release for each claim of a dropped root.
func (vm *VM) releaseNext(t *task, o Outcome) Step {
	if len(t.releases) == 0 {
		return vm.end(t, o)
	}
	f := t.releases[0]
	t.releases = t.releases[1:]
	return vm.publish(t, f.slot, f.id.release(t.now), (*VM).releaseNext)
}

// waiting lists the flights that wait for another VM and match keep, in
// the order they began to wait. A flight still acquiring between two
// events was cut short (its embedding's callback failed between two
// steps): it is listed too, so that a tick or a wake takes it up again
// instead of leaving its streams waiting for ever.
func (vm *VM) waiting(keep func(*flight) bool) []*flight {
	var out []*flight
	for _, f := range vm.flights {
		if f.phase != calling && keep(f) {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b *flight) int {
		if c := a.since.Compare(b.since); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	return out
}

// schedule puts a recheck of each flight on the agenda, once.
func (vm *VM) schedule(fs []*flight) {
	for _, f := range fs {
		if !f.queued {
			f.queued = true
			vm.agenda = append(vm.agenda, &task{f: f, start: (*VM).recheck})
		}
	}
}

// recheck decides a waiting flight again from its slot: the answer serves
// every waiter; a miss (a released or abandoned claim) makes this VM claim
// the slot and ask the authorizer once for all of them; a claim keeps them
// waiting, with the bound counted afresh from this read.
func (vm *VM) recheck(t *task, _ Outcome) Step {
	f := t.f
	f.queued = false
	if vm.flights[f.key] != f || f.phase == calling {
		return vm.end(t, Outcome{})
	}
	f.phase = acquiring
	t.recheck = true
	return vm.acquire(t)
}

// Next takes the outcome of step s and returns the next step.
func (vm *VM) Next(s Step, o Outcome) Step {
	if s.then == nil {
		return vm.idle()
	}
	return s.then(vm, s.t, o)
}

// idle runs the next task of the agenda, or says there is nothing to do.
func (vm *VM) idle() Step {
	for len(vm.agenda) > 0 {
		t := vm.agenda[0]
		vm.agenda = vm.agenda[1:]
		return t.start(vm, t, Outcome{})
	}
	return Step{Op: Idle}
}

// end finishes a task.
func (vm *VM) end(*task, Outcome) Step { return vm.idle() }

// log is a Log step followed by then.
func (vm *VM) log(t *task, level Level, text string, then cont) Step {
	return Step{Op: Log, Level: level, Text: text, t: t, then: then}
}

// debugSlot logs how a flight's slot was decided, by slot key (never the
// identity or its cache key), so that a call the protocol should have
// spared shows which path made it.
func (vm *VM) debugSlot(t *task, what string, then cont) Step {
	return vm.log(t, Debug, "authorizer["+t.f.call.Authorizer+"]: shared slot "+t.f.slot+": "+what, then)
}

func sortedKeys[V any](m map[uint32]V) []uint32 {
	out := make([]uint32, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sortedCallouts(m map[Callout]*flight) []Callout {
	out := make([]Callout, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b Callout) int {
		if c := cmp.Compare(a.Root, b.Root); c != 0 {
			return c
		}
		return cmp.Compare(a.Token, b.Token)
	})
	return out
}

// joinNames renders a registry value.
func joinNames(names []string) []byte { return []byte(strings.Join(names, "\n")) }

// equal compares two shared values.
func equal(a, b []byte) bool { return bytes.Equal(a, b) }

// Slots returns the keys of the candidate slots of c's identity, for a VM
// whose root runs pipe: b is "" when the identity has one slot, and both
// are "" when c's answer is not shared (sharing off, or a TTL of 0).
func Slots(pipe *pipeline.Pipeline, c *pipeline.Call) (a, b string) {
	id := identify(pipe, c)
	if id == nil {
		return "", ""
	}
	return id.a, id.b
}
