package crossvm

import (
	"slices"
	"time"

	"github.com/authgate/authgate/core/pipeline"
)

// How the VMs of one proxy share authorizer answers.
//
// A VM that finds nothing usable in an identity's slot claims it with a
// compare-and-swap and calls the authorizer; a VM that finds a live claim
// waits. When the answer arrives the claimer publishes it in the slot and
// sends the slot key to the shared queue of every VM in the registry;
// the waiters then read the slot again. The proxy-wasm ABI has no
// blocking call and no per-request timer, so waiting is a paused stream
// plus a queue message; ticks bound the wait when the claimer dies and
// never publishes.

// cont is a continuation: what to do with the outcome of the step that
// carries it.
type cont func(vm *VM, t *task, o Outcome) Step

// task is one run of the protocol for one event or one flight, with what
// its continuations need to remember between steps.
type task struct {
	start   cont // how an agenda task begins
	f       *flight
	root    uint32
	now     time.Time
	recheck bool // the flight waited and reads its slot again

	// The registry: whether this VM can be woken, the cas read there
	// (see claimSlot) and where to go on.
	canWait  bool
	anchor   uint32
	regTries int
	regRet   cont

	// The slot lookup: both candidates as read, the chosen slot's cas and
	// status, this VM's claim, and the attempts made.
	va, vb         []byte
	casA, casB     uint32
	stA, stB       Status
	readB          bool
	cas            uint32
	st             Status
	claim          []byte
	attempt, inner int

	// Waking: the slot written and where to go on.
	wakeSlot string
	wakeRet  cont

	answers  []Answer
	callout  Callout   // the callout that answered, for Settle
	releases []*flight // DropRoot
}

// register makes sure this VM's queue name is in the registry, then goes
// on with ret. It runs before every read of a slot that may lead to a
// wait: a publisher reads the registry after writing the slot, so a VM
// that registered before reading a claim is always woken. t.canWait says
// whether it succeeded, and t.anchor is then a cas of the registry's.
func (vm *VM) register(t *task, ret cont) Step {
	t.regTries, t.canWait, t.anchor, t.regRet = 0, false, 0, ret
	return Step{Op: Read, Key: RegistryKey, t: t, then: (*VM).registryRead}
}

func (vm *VM) registryRead(t *task, o Outcome) Step {
	if o.Status != OK && o.Status != Missing {
		return t.regRet(vm, t, o)
	}
	names := lines(o.Value)
	if slices.Contains(names, vm.name) {
		t.canWait, t.anchor = true, o.Cas
		return t.regRet(vm, t, o)
	}
	if t.regTries == casAttempts {
		return t.regRet(vm, t, o)
	}
	t.regTries++
	names = append(names, vm.name)
	if len(names) > maxPeers {
		names = names[len(names)-maxPeers:]
	}
	t.anchor = o.Cas
	return Step{Op: Write, Key: RegistryKey, Value: joinNames(names), Cas: o.Cas, t: t, then: (*VM).registryWritten}
}

func (vm *VM) registryWritten(t *task, o Outcome) Step {
	switch {
	case o.Status == OK && t.anchor != 0:
		// The registry existed and nobody wrote it since the read.
		t.canWait = true
		return t.regRet(vm, t, o)
	case o.Status == OK, o.Status == Mismatch:
		// Another VM wrote it, or this VM created it: a VM that found
		// it missing too may have created it over this one, so read it
		// again.
		return Step{Op: Read, Key: RegistryKey, t: t, then: (*VM).registryRead}
	}
	t.anchor = 0
	return t.regRet(vm, t, o)
}

// acquire looks for f's answer in the shared store: it finds f's slot
// among the identity's two candidates (see lookup) and then serves the
// streams from it, waits, or claims it and calls. f.slot is left on the
// slot decided on, the one a claim's answer is published to and a wait
// is woken for.
func (vm *VM) acquire(t *task) Step {
	t.attempt = 0
	if vm.queued {
		return vm.register(t, (*VM).lookup)
	}
	t.canWait, t.anchor = false, 0
	return vm.lookup(t, Outcome{})
}

// lookup reads the slot of f's identity: the first candidate, and the
// second only when the first neither holds the identity nor is missing.
// The slot is the candidate holding the identity (any kind of value,
// first candidate first), else the one victim gives up. A missing first
// candidate is always the slot, so that the second is only ever claimed
// over an existing first one (see confirmFirst).
func (vm *VM) lookup(t *task, _ Outcome) Step {
	return Step{Op: Read, Key: t.f.id.a, t: t, then: (*VM).readFirst}
}

func (vm *VM) readFirst(t *task, o Outcome) Step {
	t.va, t.casA, t.stA, t.readB = o.Value, o.Cas, o.Status, false
	if t.f.id.b == "" || o.Status != OK || t.f.id.holds(o.Value) {
		return Step{Op: Clock, t: t, then: (*VM).judgeSlot}
	}
	return Step{Op: Read, Key: t.f.id.b, t: t, then: (*VM).readSecond}
}

func (vm *VM) readSecond(t *task, o Outcome) Step {
	t.vb, t.casB, t.stB, t.readB = o.Value, o.Cas, o.Status, true
	return Step{Op: Clock, t: t, then: (*VM).judgeSlot}
}

// judgeSlot decides with the clock read after the slot, never before: a
// claim's deadline is its claimer's clock, read before the claim was
// written, plus the call's bound (claim), so a clock read after the claim
// was seen is no earlier and the claim is never further ahead than that
// bound. A time read earlier, when the callback began, can predate the
// claim by however long this thread was held up; judge would take such a
// claim for one of another configuration or a clock step, a miss, and
// this VM would claim over a live claim and call a second time.
func (vm *VM) judgeSlot(t *task, o Outcome) Step {
	t.now = vm.clock(o)
	f, id := t.f, t.f.id
	var v []byte
	f.slot, v, t.cas, t.st = id.a, t.va, t.casA, t.stA
	if t.readB {
		switch {
		case t.stB != OK && t.stB != Missing:
			f.slot, v, t.cas, t.st = id.b, nil, 0, t.stB
		case id.holds(t.vb) || victim(t.va, t.vb, t.now) == 1:
			f.slot, v, t.cas, t.st = id.b, t.vb, t.casB, t.stB
		}
	}
	if t.st != OK && t.st != Missing {
		return vm.log(t, Warn, "authorizer["+f.call.Authorizer+"]: reading shared slot "+f.slot+": failed", (*VM).dispatchStep)
	}
	verdict, val, remaining := id.judge(v, t.now)
	switch verdict {
	case answered:
		if s, ok := vm.serve(t, val, remaining); ok {
			return s
		}
	case inFlight:
		if t.canWait {
			return vm.wait(t)
		}
		return vm.debugSlot(t, "in flight elsewhere, but this VM cannot be woken: calling", (*VM).dispatchStep)
	}
	return vm.claimSlot(t)
}

// clock is the time an outcome of Clock gives, or the latest time the VM
// knows when the clock could not be read.
func (vm *VM) clock(o Outcome) time.Time {
	if o.Status == OK {
		vm.last = o.Now
	}
	return vm.last
}

// claimSlot compare-and-swaps a claim into the slot. A slot that does not
// exist yet is written whatever cas is given, so two VMs that both found
// it missing would both win a claim made with cas 0 or any cas they read.
// The claim is therefore made with a cas no value of the slot can have,
// which makes the write a creation that fails once another VM created the
// slot: the cas of another key's value, since the store numbers all
// writes with one counter. The second candidate is read only when the
// first exists, so it borrows the first's cas; the first borrows the
// registry's (see RATIONALE.md, "Why no creating key?", and docs/design.md,
// "One identity, one call").
func (vm *VM) claimSlot(t *task) Step {
	f := t.f
	t.claim = f.id.claim(t.now)
	cas := t.cas
	if t.st == Missing {
		cas = t.anchor
		if f.slot == f.id.b {
			cas = t.casA
		}
	}
	return Step{Op: Write, Key: f.slot, Value: t.claim, Cas: cas, t: t, then: (*VM).claimed}
}

func (vm *VM) claimed(t *task, o Outcome) Step {
	switch o.Status {
	case OK:
		if t.f.slot != t.f.id.a {
			t.inner = 0
			return Step{Op: Read, Key: t.f.id.a, t: t, then: (*VM).confirmFirst}
		}
		return vm.dispatch(t)
	case Mismatch:
		// Another VM wrote the slot since the read: look again.
		return vm.retry(t, o)
	}
	return vm.log(t, Warn, "authorizer["+t.f.call.Authorizer+"]: claiming shared slot "+t.f.slot+": failed", (*VM).dispatchStep)
}

// retry looks again, a bounded number of times. Slots that keep changing
// are written by other VMs; every write is a claim (whose VM will
// publish) or a publication (whose VM wakes the waiters), so waiting
// cannot miss the answer.
func (vm *VM) retry(t *task, _ Outcome) Step {
	if t.attempt++; t.attempt < casAttempts {
		return vm.lookup(t, Outcome{})
	}
	if t.canWait {
		return vm.wait(t)
	}
	return vm.debugSlot(t, "contended and this VM cannot be woken: calling", (*VM).dispatchStep)
}

// confirmFirst runs after this VM claimed the second candidate of the
// identity: it makes sure no VM claimed the first candidate for the same
// identity meanwhile, and gives the second up (look again) if one did.
// The first candidate is read again; if it does not hold the identity,
// its value is written back unchanged with a compare-and-swap, which
// changes its cas. A VM that judged the first candidate free before that
// write then fails its own compare-and-swap there and reads again, and any
// later read of the first candidate is followed by a read of the second,
// which finds this claim. So two VMs never both win claims for one
// identity, one in each candidate. (A VM that saw the first candidate
// free claims it without this step: one that claims the second either
// finds that claim here or makes its compare-and-swap fail.)
func (vm *VM) confirmFirst(t *task, o Outcome) Step {
	switch {
	case o.Status != OK:
		// The first candidate existed when this VM chose the second,
		// and the store never removes a key.
		return vm.debugSlot(t, "first candidate unreadable after claiming the second: calling", (*VM).dispatchStep)
	case t.f.id.holds(o.Value):
		return vm.debugSlot(t, "first candidate taken for this identity meanwhile: giving this slot up", (*VM).giveUp)
	}
	return Step{Op: Write, Key: t.f.id.a, Value: o.Value, Cas: o.Cas, t: t, then: (*VM).firstRewritten}
}

func (vm *VM) firstRewritten(t *task, o Outcome) Step {
	if o.Status == Mismatch {
		if t.inner++; t.inner < casAttempts {
			return Step{Op: Read, Key: t.f.id.a, t: t, then: (*VM).confirmFirst}
		}
		return vm.debugSlot(t, "first candidate contended after claiming the second: calling", (*VM).dispatchStep)
	}
	return vm.dispatch(t)
}

// giveUp replaces this VM's claim in the slot with a release, if the slot
// still holds it, and wakes the VMs that may wait on it: they look again
// and find the identity's other slot.
func (vm *VM) giveUp(t *task, _ Outcome) Step {
	return Step{Op: Read, Key: t.f.slot, t: t, then: (*VM).giveUpRead}
}

func (vm *VM) giveUpRead(t *task, o Outcome) Step {
	if o.Status != OK || !equal(o.Value, t.claim) {
		return vm.retry(t, o)
	}
	return Step{Op: Write, Key: t.f.slot, Value: t.f.id.release(t.now), Cas: o.Cas, t: t, then: (*VM).gaveUp}
}

func (vm *VM) gaveUp(t *task, o Outcome) Step {
	if o.Status != OK {
		return vm.retry(t, o)
	}
	return vm.wake(t, t.f.slot, (*VM).retry)
}

// wait leaves the flight waiting for another VM's publication, its bound
// counted from the clock read after the slot.
func (vm *VM) wait(t *task) Step {
	t.f.phase, t.f.since = waiting, t.now
	return vm.end(t, Outcome{})
}

// serve answers every stream of the flight from an answer another VM
// published. The answer is first adopted for the flight's own Call: if
// the pipeline will not adopt it (it does not parse, could not allow, or
// this configuration does not cache it), it is a miss and ok is false.
func (vm *VM) serve(t *task, val value, remaining time.Duration) (Step, bool) {
	f := t.f
	first, ok := adopt(f.pipe, f.call, val, remaining, t.now)
	if !ok {
		return Step{}, false
	}
	if vm.flights[f.key] == f {
		delete(vm.flights, f.key)
	}
	for _, w := range f.waiters {
		s := vm.streams[w]
		if s == nil || s.flight != f {
			continue
		}
		delete(vm.streams, w)
		res := first
		if s.call != f.call || s.pipe != f.pipe {
			if res, ok = adopt(s.pipe, s.call, val, remaining, t.now); !ok {
				res = s.pipe.Failure("shared answer unreadable")
			}
		}
		t.answers = append(t.answers, Answer{Stream: w, Result: res, Coalesced: t.recheck || s.coalesced})
	}
	return vm.answer(t, Outcome{}), true
}

// dispatchStep is dispatch as a continuation.
func (vm *VM) dispatchStep(t *task, _ Outcome) Step { return vm.dispatch(t) }

// dispatch has the authorizer asked for the flight. The callout is made
// on the root context so that it outlives the request that caused it:
// other requests, here and in other VMs, wait for its answer, and a host
// that ties callouts to the calling stream would cancel it with that
// stream.
func (vm *VM) dispatch(t *task) Step {
	return Step{Op: Dispatch, Root: t.f.key.root, Call: t.f.call, t: t, then: (*VM).dispatched}
}

func (vm *VM) dispatched(t *task, o Outcome) Step {
	f := t.f
	if o.Status != OK {
		// Typically an unknown cluster: the authorizer cannot be asked,
		// which is an authorizer failure for these requests.
		if vm.flights[f.key] == f {
			delete(vm.flights, f.key)
		}
		return vm.finish(t, pipeline.Response{Cause: pipeline.CauseRefused, Detail: "the proxy did not send the call"}, true)
	}
	f.phase, f.ref, f.sent = calling, Callout{Root: f.key.root, Token: o.Callout}, t.now
	vm.callouts[f.ref] = f
	return vm.end(t, o)
}

// finish ends the flight with the authorizer's answer: every live stream
// gets the Result of its own Call, and what the pipeline cached is
// published for the other VMs (a release for anything it did not cache),
// also when no stream is left here.
func (vm *VM) finish(t *task, resp pipeline.Response, clockOK bool) Step {
	f := t.f
	t.callout = f.ref
	if vm.flights[f.key] == f {
		delete(vm.flights, f.key)
	}
	var pub []byte
	for _, w := range f.waiters {
		s := vm.streams[w]
		if s == nil || s.flight != f {
			continue
		}
		delete(vm.streams, w)
		res := s.pipe.Failure("clock unavailable")
		if clockOK {
			res = s.pipe.Resume(s.call, resp, t.now)
			if pub == nil && f.id != nil {
				pub = f.id.publication(&res, resp.Body, t.now)
			}
		}
		t.answers = append(t.answers, Answer{Stream: w, Result: res, Coalesced: s.coalesced})
	}
	if clockOK && pub == nil && f.id != nil {
		// Nobody here waits any more; other VMs may.
		res := f.pipe.Resume(f.call, resp, t.now)
		pub = f.id.publication(&res, resp.Body, t.now)
	}
	if pub != nil {
		return vm.publish(t, f.slot, pub, (*VM).answer)
	}
	return vm.answer(t, Outcome{})
}

// answer gives the task's streams their answers.
func (vm *VM) answer(t *task, _ Outcome) Step {
	if len(t.answers) == 0 {
		return vm.end(t, Outcome{})
	}
	return Step{Op: Settle, Answers: t.answers, Callout: t.callout, t: t, then: (*VM).end}
}

// publish stores a value in a slot and wakes every VM that may wait for
// it, then goes on with ret. The write is unconditional: whatever the
// slot holds now (this VM's claim, or a later claim of a VM that gave up
// waiting) an answer is at least as good.
func (vm *VM) publish(t *task, slot string, v []byte, ret cont) Step {
	t.wakeSlot, t.wakeRet = slot, ret
	return Step{Op: Write, Key: slot, Value: v, t: t, then: (*VM).published}
}

func (vm *VM) published(t *task, o Outcome) Step {
	if o.Status != OK {
		return vm.log(t, Warn, "publishing to shared slot "+t.wakeSlot+": failed", t.wakeRet)
	}
	return vm.wake(t, t.wakeSlot, t.wakeRet)
}

// wake tells every VM that may wait on slot to read it again: the other
// VMs through their queues, and this VM's waiting flights (other plugin
// configurations of this VM may wait on it too) by a recheck on the
// agenda. Then it goes on with ret.
func (vm *VM) wake(t *task, slot string, ret cont) Step {
	t.wakeSlot, t.wakeRet = slot, ret
	return Step{Op: Read, Key: RegistryKey, t: t, then: (*VM).wakeRead}
}

func (vm *VM) wakeRead(t *task, o Outcome) Step {
	var names []string
	if o.Status == OK {
		for _, n := range lines(o.Value) {
			if n != vm.name && n != "" {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return vm.woke(t, o)
	}
	return Step{Op: Enqueue, Queues: names, Message: []byte(t.wakeSlot), t: t, then: (*VM).woke}
}

func (vm *VM) woke(t *task, o Outcome) Step {
	slot := t.wakeSlot
	vm.schedule(vm.waiting(func(f *flight) bool { return f.slot == slot }))
	return t.wakeRet(vm, t, o)
}
