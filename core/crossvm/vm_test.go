package crossvm

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/core/pipeline"
)

// driver performs one VM's steps against a store, recording them.
type driver struct {
	vm       *VM
	store    *simStore
	now      time.Time
	ops      []string
	answers  []Answer
	callouts uint32
}

func newDriver(t *testing.T, store *simStore, name string) *driver {
	t.Helper()
	return &driver{vm: New(name), store: store, now: t0}
}

// run performs s and what follows, until Idle.
func (d *driver) run(s Step) {
	for s.Op != Idle {
		var o Outcome
		op := [...]string{"idle", "read", "write", "clock", "enqueue", "dispatch", "settle", "register", "ticks", "log"}[s.Op]
		switch s.Op {
		case Read:
			o.Value, o.Cas, o.Status = d.store.get(s.Key)
			op += " " + s.Key
		case Write:
			o.Status = d.store.set(s.Key, s.Value, s.Cas)
			op += " " + s.Key
		case Clock:
			o.Now = d.now
		case Enqueue:
			op += " " + strings.Join(s.Queues, ",")
		case Dispatch:
			d.callouts++
			o.Callout = d.callouts
		case Settle:
			d.answers = append(d.answers, s.Answers...)
		case RegisterQueue:
			op += " " + strconv.Itoa(int(s.Root))
			d.store.queues[s.Name] = nil
		case Ticks:
			op += " " + strconv.Itoa(int(s.Root)) + " " + s.Period.String()
		}
		d.ops = append(d.ops, op)
		s = d.vm.Next(s, o)
	}
}

func (d *driver) take() []string {
	ops := d.ops
	d.ops = nil
	return ops
}

func TestConfigure(t *testing.T) {
	store := newSimStore()
	d := newDriver(t, store, "q0")
	d.run(d.vm.Configure(1, modes(t, slotsEdit("0"))))
	if ops := d.take(); len(ops) != 0 {
		t.Errorf("a plan without sharing: %q, want nothing", ops)
	}
	d.run(d.vm.Configure(2, modes(t, nil)))
	want := []string{"ticks 2 50ms", "register 2", "read " + RegistryKey, "write " + RegistryKey, "read " + RegistryKey}
	if ops := d.take(); !slices.Equal(ops, want) {
		t.Errorf("first sharing root: %q, want %q", ops, want)
	}
	// A second root keeps the queue where it is and finds itself listed.
	d.run(d.vm.Configure(3, modes(t, nil)))
	want = []string{"ticks 3 50ms", "read " + RegistryKey}
	if ops := d.take(); !slices.Equal(ops, want) {
		t.Errorf("second sharing root: %q, want %q", ops, want)
	}
	// Deleting the queue's root moves the queue to the other.
	d.run(d.vm.DropRoot(2))
	want = []string{"register 3", "read " + RegistryKey}
	if ops := d.take(); !slices.Equal(ops, want) || d.vm.queueRoot != 3 {
		t.Errorf("queue's root deleted: %q, queue on %d; want %q on 3", ops, d.vm.queueRoot, want)
	}
}

func TestRegistryBound(t *testing.T) {
	store := newSimStore()
	var names []string
	for i := range maxPeers {
		names = append(names, "old"+strconv.Itoa(i))
	}
	store.set(RegistryKey, joinNames(names), 0)
	d := newDriver(t, store, "new")
	d.run(d.vm.Configure(1, modes(t, nil)))
	v, _, _ := store.get(RegistryKey)
	got := lines(v)
	if len(got) != maxPeers || got[0] != "old1" || got[maxPeers-1] != "new" {
		t.Errorf("registry %q: want the oldest name dropped and this VM's added", got)
	}
}

func TestRequestOfAnUnconfiguredRoot(t *testing.T) {
	d := newDriver(t, newSimStore(), "q")
	p := modes(t, nil)
	d.run(d.vm.Request(5, 9, callFor(t, p, "/pos", "x"), t0))
	if len(d.answers) != 1 || d.answers[0].Stream != 5 || d.answers[0].Result.Status != 500 || !d.vm.Idle() {
		t.Errorf("answers %+v, idle %v: want one 500", d.answers, d.vm.Idle())
	}
}

func TestLeave(t *testing.T) {
	store := newSimStore()
	p := modes(t, nil)
	// Another VM's live claim makes this one wait.
	id := identify(p, callFor(t, p, "/pos", "x"))
	store.set(id.a, id.claim(t0), 0)
	d := newDriver(t, store, "q")
	d.run(d.vm.Configure(1, p))
	d.run(d.vm.Request(5, 1, callFor(t, p, "/pos", "x"), t0))
	d.run(d.vm.Request(6, 1, callFor(t, p, "/pos", "x"), t0))
	if st, ok := d.vm.Stream(6); !ok || st.Callout != 0 || !st.Coalesced {
		t.Errorf("stream 6: %+v, %v; want waiting for another VM, coalesced", st, ok)
	}
	d.vm.Leave(5)
	if d.vm.Idle() {
		t.Fatal("a wait with one stream left ended")
	}
	d.vm.Leave(6)
	if !d.vm.Idle() {
		t.Error("a wait without streams stays")
	}
	// A callout stays when its streams leave: its answer is published.
	d.run(d.vm.Request(7, 1, callFor(t, p, "/pos", "y"), t0))
	d.vm.Leave(7)
	if _, _, ok := d.vm.Pending(Callout{Root: 1, Token: 1}); !ok {
		t.Fatal("callout forgotten when its stream left")
	}
	d.take()
	d.run(d.vm.Answered(Callout{Root: 1, Token: 1}, pipeline.Response{Status: 200, Body: allowAll}, t0, true))
	fresh := pipeline.New(p.Plan())
	yid := identify(fresh, callFor(t, fresh, "/pos", "y"))
	v, _, _ := store.get(yid.a)
	if verdict, _, _ := yid.judge(v, t0); verdict != answered || len(d.answers) != 0 || !d.vm.Idle() {
		t.Errorf("after the answer: slot verdict %d, answers %+v, idle %v", verdict, d.answers, d.vm.Idle())
	}
}

func TestTick(t *testing.T) {
	store := newSimStore()
	p := modes(t, nil)
	d := newDriver(t, store, "q")
	d.run(d.vm.Configure(1, p))
	d.take()
	d.run(d.vm.Tick(1))
	if ops := d.take(); len(ops) != 0 {
		t.Errorf("tick without waits: %q, want nothing (not even the clock)", ops)
	}
	id := identify(p, callFor(t, p, "/pos", "x"))
	store.set(id.a, id.claim(t0), 0)
	d.run(d.vm.Request(5, 1, callFor(t, p, "/pos", "x"), t0))
	bound := id.timeout + ClaimSlack
	d.now = t0.Add(bound - 1)
	d.take()
	d.run(d.vm.Tick(1))
	if ops := d.take(); !slices.Equal(ops, []string{"clock"}) {
		t.Errorf("tick before the bound: %q, want a clock read only", ops)
	}
	d.now = t0.Add(bound)
	d.run(d.vm.Tick(1))
	if d.callouts != 1 {
		t.Errorf("tick at the bound: %q, want a take-over call", d.take())
	}
}

// TestDropRootReleases: a root deleted with its callout in flight
// releases its claim, so that other VMs stop waiting for it.
func TestDropRootReleases(t *testing.T) {
	store := newSimStore()
	p := modes(t, nil)
	d := newDriver(t, store, "q")
	d.run(d.vm.Configure(1, p))
	d.run(d.vm.Request(5, 1, callFor(t, p, "/pos", "x"), t0))
	id := identify(p, callFor(t, p, "/pos", "x"))
	if v, _, _ := store.get(id.a); !id.holds(v) {
		t.Fatal("no claim")
	}
	d.run(d.vm.DropRoot(1))
	v, _, _ := store.get(id.a)
	if dv, ok := decode(v); !ok || dv.kind != kindReleased {
		t.Errorf("slot after the root went: %x, want a release", v)
	}
	d.vm.Leave(5)
	if !d.vm.Idle() {
		t.Error("state left after the root and its stream went")
	}
}

// TestInterruptedChain: an embedding whose callback fails between two
// steps leaves its flight half looked up; the next tick past the bound
// takes it up again, and the request is answered.
func TestInterruptedChain(t *testing.T) {
	store := newSimStore()
	p := modes(t, nil)
	d := newDriver(t, store, "q")
	d.run(d.vm.Configure(1, p))
	s := d.vm.Request(5, 1, callFor(t, p, "/pos", "x"), t0)
	if s.Op != Read {
		t.Fatalf("first step %v", s.Op)
	}
	// The callback panics here: the step is never performed.
	id := identify(p, callFor(t, pipeline.New(p.Plan()), "/pos", "x"))
	d.now = t0.Add(id.timeout + ClaimSlack)
	d.run(d.vm.Tick(1))
	if d.callouts != 1 {
		t.Fatalf("no call after the tick: %q", d.take())
	}
	d.run(d.vm.Answered(Callout{Root: 1, Token: 1}, pipeline.Response{Status: 200, Body: allowAll}, d.now, true))
	if len(d.answers) != 1 || d.answers[0].Stream != 5 || !d.vm.Idle() {
		t.Errorf("answers %+v, idle %v", d.answers, d.vm.Idle())
	}
}
