package plugin

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/filter/abi"
)

// How the VMs of one proxy share authorizer answers.
//
// The pipeline chooses the two candidate shared store keys of an identity,
// which of them is its slot, and what the values mean; this file performs
// the store I/O and the waiting. A VM that finds nothing usable in the
// slot claims it with a compare-and-swap and calls the authorizer; a VM
// that finds a live claim waits. When the answer arrives the claimer publishes it in the slot and
// sends the slot key to the shared queue of every VM (proxy_on_queue_ready
// then wakes the waiters, which read the slot again). The proxy-wasm ABI
// has no blocking call and no per-request timer, so waiting is a paused
// stream plus a queue message; ticks bound the wait when the claimer dies
// and never publishes.

const (
	// registryKey holds the queue names of the VMs, one a line, so that
	// a publisher knows whom to wake.
	registryKey = pipeline.SharedKeyPrefix + "queues"
	// maxPeers bounds the registry. Names of VMs long gone (a reloaded
	// configuration's) fall off the front; a live VM re-adds itself
	// before every wait, so it never waits unregistered.
	maxPeers = 64
	// creatingKey holds the slots being created, one "deadline slot" a
	// line (see create).
	creatingKey = pipeline.SharedKeyPrefix + "creating"
	// createHold bounds how long a creation entry counts, should its VM
	// die between taking it and giving it back.
	createHold = time.Second
	// queuePrefix starts every VM's queue name.
	queuePrefix = "authgate.done."
	// tickPeriodMs is how often ticks check for waits past their bound
	// (and read the log level again).
	tickPeriodMs = 50
	// levelTickMs is the tick period of a plugin that shares nothing:
	// its ticks only read the log level again, so that a level changed
	// at run time (Envoy's /logging) takes effect.
	levelTickMs = 1000
	// casAttempts bounds every compare-and-swap loop: the store is shared
	// with other threads, and a callback must never spin.
	casAttempts = 4
	// maxDequeue bounds the messages one proxy_on_queue_ready takes.
	maxDequeue = 4096
)

// peers is this VM's part in waking the others.
type peers struct {
	name    string            // this VM's queue name, "" until registered
	queue   uint32            // its id
	root    uint32            // the root context it is registered on
	resolve map[string]uint32 // queue ids of other VMs, by name
}

// joinPeers registers this VM's queue on root (once per VM; a later root
// takes it over only when its root goes away), records it in the registry
// and asks for ticks. Failures are logged: the VM then calls the authorizer
// instead of waiting for another VM.
func (p *Plugin) joinPeers(rootID uint32) {
	if st := p.host.SetTickPeriod(tickPeriodMs); st != abi.StatusOK {
		p.logf(abi.LogWarn, "setting the tick period: %v", st)
	}
	if p.vm.name == "" {
		// A random name: VMs of one vm_id cannot learn each other's ids,
		// and the name only has to differ from theirs.
		p.vm.name = queuePrefix + strconv.FormatUint(rand.Uint64(), 36)
	}
	if p.vm.queue != 0 && p.roots[p.vm.root] != nil {
		p.ensureRegistered()
		return
	}
	p.registerQueue(rootID)
	if _, _, st := p.host.GetSharedData(creatingKey); st == abi.StatusNotFound {
		p.host.SetSharedData(creatingKey, nil, 0)
	}
}

// registerQueue registers this VM's queue on the current context, root rootID.
func (p *Plugin) registerQueue(rootID uint32) {
	id, st := p.host.RegisterSharedQueue(p.vm.name)
	if st != abi.StatusOK {
		p.logf(abi.LogWarn, "registering shared queue %s: %v", p.vm.name, st)
		p.vm.queue = 0
		return
	}
	p.vm.queue, p.vm.root = id, rootID
	if !p.ensureRegistered() {
		p.logf(abi.LogWarn, "recording shared queue %s in %s failed", p.vm.name, registryKey)
	}
}

// ensureRegistered makes sure this VM's queue name is in the registry. It
// runs before every read of a slot that may lead to a wait: a publisher
// reads the registry after writing the slot, so a VM that registered
// before reading a claim is always woken.
func (p *Plugin) ensureRegistered() bool {
	if p.vm.queue == 0 {
		return false
	}
	for range casAttempts {
		v, cas, st := p.host.GetSharedData(registryKey)
		if st != abi.StatusOK && st != abi.StatusNotFound {
			return false
		}
		names := lines(v)
		if slices.Contains(names, p.vm.name) {
			return true
		}
		names = append(names, p.vm.name)
		if len(names) > maxPeers {
			names = names[len(names)-maxPeers:]
		}
		switch p.host.SetSharedData(registryKey, []byte(strings.Join(names, "\n")), cas) {
		case abi.StatusOK:
			return true
		case abi.StatusCasMismatch:
			continue
		default:
			return false
		}
	}
	return false
}

func lines(v []byte) []string {
	if len(v) == 0 {
		return nil
	}
	return strings.Split(string(v), "\n")
}

// outcome is what acquire found for a flight.
type outcome uint8

const (
	call   outcome = iota // ask the authorizer (the slot is claimed, or cannot be)
	served                // the slot holds the answer
	wait                  // another VM is asking: wait for its publication
)

// acquire finds f's slot among the identity's two candidates (see lookup)
// and decides: served (the returned value answers), call (this VM claimed
// the slot, or sharing failed) or wait. f.slot is left on the slot decided
// on, the one a claim's answer is published to and a wait is woken for. It
// returns the time it judged the slot at, which the caller uses for
// whatever follows.
//
// The clock is read after the slot, never before: a claim's deadline is its
// claimer's clock, read before the claim was written, plus the call's bound
// (Claim), so a clock read after the claim was seen is no earlier and the
// claim is never further ahead than that bound. A time read earlier, at the
// start of the callback, can predate the claim by however long this thread
// was held up; FromShared takes such a claim for one of another
// configuration or a clock step, a miss, and this VM would claim over a live
// claim and call a second time.
func (p *Plugin) acquire(f *flight, now time.Time) (outcome, []byte, time.Time) {
	canWait := p.ensureRegistered()
	first, _ := f.pipe.SharedKeys(f.call)
	for range casAttempts {
		slot, v, cas, st, t := p.lookup(f, now)
		now, f.slot = t, slot
		if st != abi.StatusOK && st != abi.StatusNotFound {
			p.logf(abi.LogWarn, "reading shared slot: %v", st)
			return call, nil, now
		}
		_, state := f.pipe.FromShared(f.call, v, now)
		switch state {
		case pipeline.SharedHit, pipeline.SharedUnauthorized:
			return served, v, now
		case pipeline.SharedInFlight:
			if canWait {
				return wait, nil, now
			}
			p.debugSlot(f, "in flight elsewhere, but this VM cannot be woken: calling")
			return call, nil, now
		}
		claim := f.pipe.Claim(f.call, now)
		if st == abi.StatusNotFound {
			out, retry := p.create(f, claim, now, canWait)
			if retry {
				continue
			}
			if out == call && slot != first && p.outranked(f, first, claim, now) {
				continue
			}
			return out, nil, now
		}
		switch st := p.host.SetSharedData(slot, claim, cas); st {
		case abi.StatusOK:
			if slot != first && p.outranked(f, first, claim, now) {
				continue
			}
			return call, nil, now
		case abi.StatusCasMismatch:
			// Another VM wrote the slot since the read: look again.
			continue
		default:
			p.logf(abi.LogWarn, "claiming shared slot: %v", st)
			return call, nil, now
		}
	}
	// The slots kept changing: other VMs are writing them. Every write is
	// a claim (whose VM will publish) or a publication (whose VM wakes the
	// waiters), so waiting cannot miss the answer.
	if canWait {
		return wait, nil, now
	}
	p.debugSlot(f, "contended and this VM cannot be woken: calling")
	return call, nil, now
}

// lookup reads the slot of f's identity: the first candidate, and the
// second only when the first neither holds the identity nor is missing.
// The slot is the candidate holding the identity (any kind of value,
// first candidate first), else the one pipeline.SharedVictim gives up. A
// missing first candidate is always the slot, so that the second is only
// ever claimed over an existing first one (see outranked). The returned
// time is read after both slots.
func (p *Plugin) lookup(f *flight, now time.Time) (slot string, v []byte, cas uint32, st abi.Status, t time.Time) {
	a, b := f.pipe.SharedKeys(f.call)
	va, casA, stA := p.host.GetSharedData(a)
	if b == "" || stA != abi.StatusOK || f.pipe.SharedHolds(f.call, va) {
		return a, va, casA, stA, p.clock(now)
	}
	vb, casB, stB := p.host.GetSharedData(b)
	now = p.clock(now)
	if stB != abi.StatusOK && stB != abi.StatusNotFound {
		return b, nil, 0, stB, now
	}
	if f.pipe.SharedHolds(f.call, vb) || pipeline.SharedVictim(va, vb, now) == 1 {
		return b, vb, casB, stB, now
	}
	return a, va, casA, stA, now
}

// outranked runs after this VM claimed the second candidate of f's
// identity: it makes sure no VM claimed the first candidate for the same
// identity meanwhile, and gives the second up (true: look again) if one
// did. The first candidate is read again; if it does not hold the
// identity, its value is written back unchanged with a compare-and-swap,
// which changes its cas. A VM that judged the first candidate free before
// that write then fails its own compare-and-swap there and reads again,
// and any later read of the first candidate is followed by a read of the
// second, which finds this claim. So two VMs never both win claims for
// one identity, one in each candidate. (A VM that saw the first candidate
// free claims it without this step: one that claims the second either
// finds that claim here or makes its compare-and-swap fail.)
func (p *Plugin) outranked(f *flight, first string, claim []byte, now time.Time) bool {
	for range casAttempts {
		v, cas, st := p.host.GetSharedData(first)
		if st != abi.StatusOK {
			// The first candidate existed when this VM chose the second,
			// and the store never removes a key.
			p.debugSlot(f, "first candidate unreadable after claiming the second: calling")
			return false
		}
		if f.pipe.SharedHolds(f.call, v) {
			p.debugSlot(f, "first candidate taken for this identity meanwhile: giving this slot up")
			p.giveUp(f, claim, now)
			return true
		}
		switch p.host.SetSharedData(first, v, cas) {
		case abi.StatusOK:
			return false
		case abi.StatusCasMismatch:
			continue
		default:
			return false
		}
	}
	p.debugSlot(f, "first candidate contended after claiming the second: calling")
	return false
}

// giveUp replaces this VM's claim in f.slot with a release, if the slot
// still holds it, and wakes the VMs that may wait on it: they look again
// and find the identity's other slot.
func (p *Plugin) giveUp(f *flight, claim []byte, now time.Time) {
	v, cas, st := p.host.GetSharedData(f.slot)
	if st != abi.StatusOK || !slices.Equal(v, claim) {
		return
	}
	if p.host.SetSharedData(f.slot, f.pipe.Release(f.call, now), cas) == abi.StatusOK {
		p.wake(f.slot, now, f)
	}
}

// clock reads the proxy's clock, keeping fallback should that fail.
func (p *Plugin) clock(fallback time.Time) time.Time {
	if now, st := p.host.CurrentTime(); st == abi.StatusOK {
		return now
	}
	return fallback
}

// debugSlot logs how a flight's slot was decided, by slot key (never the
// identity or its cache key), so that a call the protocol should have
// spared shows which path made it.
func (p *Plugin) debugSlot(f *flight, what string) {
	if p.logs(abi.LogDebug) {
		p.host.Log(abi.LogDebug, "authorizer["+f.call.Authorizer+"]: shared slot "+f.slot+": "+what)
	}
}

// create claims a slot that does not exist yet. The store writes a missing
// key whatever cas is given, so two VMs that both found the slot missing
// would both win a plain claim. Creation is therefore serialised per slot
// through creatingKey, which exists from configuration on and so always
// takes a real compare-and-swap: the VM that lists the slot there creates
// it with its claim; another VM that finds the slot listed, and still
// missing afterwards, waits for that claim's publication. retry asks the
// caller to read the slot again.
func (p *Plugin) create(f *flight, claim []byte, now time.Time, canWait bool) (out outcome, retry bool) {
	for range casAttempts {
		v, cas, st := p.host.GetSharedData(creatingKey)
		if st != abi.StatusOK && st != abi.StatusNotFound {
			return call, false
		}
		entries := liveEntries(v, now)
		if slices.ContainsFunc(entries, func(e string) bool { return entrySlot(e) == f.slot }) {
			// Another VM is creating the slot. If it is still missing
			// now, that VM finds it missing too and claims it.
			if _, _, st := p.host.GetSharedData(f.slot); st == abi.StatusNotFound {
				if canWait {
					return wait, false
				}
				p.debugSlot(f, "being created elsewhere, but this VM cannot be woken: calling")
				return call, false
			}
			return call, true
		}
		mine := strconv.FormatInt(now.Add(createHold).UnixNano(), 10) + " " + f.slot
		switch p.host.SetSharedData(creatingKey, []byte(strings.Join(append(entries, mine), "\n")), cas) {
		case abi.StatusOK:
		case abi.StatusCasMismatch:
			continue
		default:
			return call, false
		}
		_, _, st = p.host.GetSharedData(f.slot)
		created := false
		if st == abi.StatusNotFound {
			created = p.host.SetSharedData(f.slot, claim, 0) == abi.StatusOK
		}
		p.doneCreating(mine)
		if created {
			return call, false
		}
		// Another VM created it in the meantime: read it.
		return call, true
	}
	p.debugSlot(f, "creation contended: calling")
	return call, false
}

// doneCreating removes this VM's entry from creatingKey. Failing that, the
// entry lapses after createHold.
func (p *Plugin) doneCreating(mine string) {
	for range casAttempts {
		v, cas, st := p.host.GetSharedData(creatingKey)
		if st != abi.StatusOK {
			return
		}
		entries := lines(v)
		kept := slices.DeleteFunc(slices.Clone(entries), func(e string) bool { return e == mine })
		if len(kept) == len(entries) {
			return
		}
		if p.host.SetSharedData(creatingKey, []byte(strings.Join(kept, "\n")), cas) != abi.StatusCasMismatch {
			return
		}
	}
}

// liveEntries returns the creation entries whose hold has not lapsed.
func liveEntries(v []byte, now time.Time) []string {
	var out []string
	for _, e := range lines(v) {
		sp := strings.IndexByte(e, ' ')
		if sp < 0 {
			continue
		}
		deadline, err := strconv.ParseInt(e[:sp], 10, 64)
		if err != nil || deadline <= now.UnixNano() {
			continue
		}
		out = append(out, e)
	}
	return out
}

func entrySlot(e string) string {
	if sp := strings.IndexByte(e, ' '); sp >= 0 {
		return e[sp+1:]
	}
	return ""
}

// publish stores a flight's outcome in its slot and wakes every VM that
// may wait for it. The write is unconditional: whatever the slot holds
// now (this VM's claim, or a later claim of a VM that gave up waiting) an
// answer is at least as good.
func (p *Plugin) publish(slot string, share []byte, now time.Time) {
	if st := p.host.SetSharedData(slot, share, 0); st != abi.StatusOK {
		p.logf(abi.LogWarn, "publishing to shared slot: %v", st)
		return
	}
	p.wake(slot, now, nil)
}

// wake tells every VM that may wait on slot to read it again: the other
// VMs through their queues, and this VM's waiting flights other than
// except (other plugin configurations of this VM may wait on it too).
func (p *Plugin) wake(slot string, now time.Time, except *flight) {
	v, _, st := p.host.GetSharedData(registryKey)
	if st == abi.StatusOK {
		msg := []byte(slot)
		for _, name := range lines(v) {
			if name == p.vm.name || name == "" {
				continue
			}
			p.enqueue(name, msg)
		}
	}
	for _, f := range p.waiting(func(f *flight) bool { return f.slot == slot && f != except }) {
		p.recheck(f, now)
	}
}

// enqueue sends msg to the named queue, resolving its id once.
func (p *Plugin) enqueue(name string, msg []byte) {
	if p.vm.resolve == nil {
		p.vm.resolve = map[string]uint32{}
	}
	id, ok := p.vm.resolve[name]
	if !ok {
		var st abi.Status
		if id, st = p.host.ResolveSharedQueue("", name); st != abi.StatusOK {
			return
		}
		p.vm.resolve[name] = id
	}
	if st := p.host.EnqueueSharedQueue(id, msg); st != abi.StatusOK {
		// The queue went away with its VM.
		delete(p.vm.resolve, name)
	}
}

// OnQueueReady takes every message of this VM's queue: each is the key of
// a slot another VM just published. The flights waiting on those slots
// read them again.
func (p *Plugin) OnQueueReady(rootID, queue uint32) {
	defer p.recoverLog("proxy_on_queue_ready")
	var slots []string
	for range maxDequeue {
		b, st := p.host.DequeueSharedQueue(queue)
		if st != abi.StatusOK {
			break
		}
		if s := string(b); !slices.Contains(slots, s) {
			slots = append(slots, s)
		}
	}
	if len(slots) == 0 {
		return
	}
	now, st := p.host.CurrentTime()
	if st != abi.StatusOK {
		p.logf(abi.LogError, "reading the clock: %v", st)
		return
	}
	for _, slot := range slots {
		p.slotReady(slot, now)
	}
}

// slotReady reads a published slot again for every flight waiting on it.
func (p *Plugin) slotReady(slot string, now time.Time) {
	for _, f := range p.waiting(func(f *flight) bool { return f.slot == slot }) {
		p.recheck(f, now)
	}
}

// OnTick makes the waits of root that have passed their bound read their
// slot again. By then the claim they read has passed its deadline (the
// bound counts from a clock read after the claim was seen), so unless its
// VM published meanwhile, the slot reads as a miss and the flight claims it
// with a compare-and-swap: of several VMs waiting on a dead claimer exactly
// one takes over and calls, and the others wait for it. A wait is never
// ended by force, which would call while a live claim stands.
func (p *Plugin) OnTick(rootID uint32) {
	defer p.recoverLog("proxy_on_tick")
	p.readLogLevel()
	var now time.Time
	for _, f := range p.waiting(func(f *flight) bool { return f.key.root == rootID }) {
		if now.IsZero() {
			var st abi.Status
			if now, st = p.host.CurrentTime(); st != abi.StatusOK {
				p.logf(abi.LogError, "reading the clock: %v", st)
				return
			}
		}
		if now.Sub(f.since) >= f.waitBound() {
			p.logf(abi.LogWarn, "authorizer[%s]: no answer from another VM within %v; reading its shared slot again", f.call.Authorizer, f.waitBound())
			p.recheck(f, now)
		}
	}
}

// waiting lists the flights that wait for another VM and match keep, in a
// stable order.
func (p *Plugin) waiting(keep func(*flight) bool) []*flight {
	var out []*flight
	for _, f := range p.flights {
		if !f.calling && keep(f) {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b *flight) int { return a.since.Compare(b.since) })
	return out
}

// recheck decides a waiting flight again from its slot: the answer serves
// every waiter; a miss (a released or abandoned claim) makes this VM claim
// the slot and ask the authorizer once for all of them; a claim keeps them
// waiting, with the bound counted afresh from this read.
func (p *Plugin) recheck(f *flight, now time.Time) {
	if p.flights[f.key] != f || f.calling {
		return
	}
	out, value, now := p.acquire(f, now)
	switch out {
	case wait:
		f.since = now
		return
	case served:
		delete(p.flights, f.key)
		for _, w := range slices.Clone(f.waiters) {
			s := p.streams[w]
			if s == nil || s.done || s.flight != f {
				continue
			}
			res, st := s.pipe.FromShared(s.call, value, now)
			if st != pipeline.SharedHit && st != pipeline.SharedUnauthorized {
				res = p.failure(s, "shared answer unreadable")
			}
			s.coalesced = true
			p.settle(s, res, now)
		}
		return
	}
	p.dispatch(f, nil, now, nil)
}
