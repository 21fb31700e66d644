package crossvm

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/core/pipeline"
)

// The explorer runs a scenario under every schedule of its VMs: at each
// point, any VM whose callback is running may make its next host call,
// and any event a proxy could deliver (a request, a callout's answer, a
// queue notification, a tick, the clock moving on, a stream going away)
// may happen to an idle VM. It enumerates the schedules depth first and
// checks every complete one. Two schedules that differ only in the order
// of independent transitions (host calls of different VMs on different
// keys, reads of one key, anything local to a VM) reach the same state,
// so only one of them is explored: the search keeps sleep sets
// (Godefroid's partial-order reduction), which is exact for the checks
// made at the end of a schedule.

// scenario is one protocol situation.
type scenario struct {
	name     string
	config   func(string) string // edits simConfig
	vms      int
	requests []simRequest
	answers  map[string][]answer // the authorizer's answers per token, in call order (default: allow)
	// dead is the VM whose callouts are never answered (-1: none): it
	// claimed and died, or lost its answer.
	dead int
	// advances move the clock on, in order, each once advanceWhen holds;
	// after the last one each live VM is ticked up to ticks times.
	advances    []time.Duration
	advanceWhen func(w *world) bool
	ticks       int
	prepare     func(w *world) // fills the store before the schedules
	// want lists the acceptable answers per token ("allow <principal>",
	// "401", "500"); calls the bounds on authorizer calls per token.
	want    map[string][]string
	calls   map[string][2]int
	noSlots bool // the store must hold no slot
	// heavy: tens of thousands of schedules, skipped under the race
	// detector, which a search in one goroutine gains nothing from.
	heavy bool

	keys, tokens map[string]string // cache keys by token and back
}

// simConfig has one TOKEN authorizer, tok, with a 500 ms timeout.
const simConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizers": {"tok": {"type": "TOKEN", "cluster": "authz", "timeoutMs": 500}},
  "routes": [{"method": "ANY", "path": "/pets/{id}", "authorizer": "tok"}]
}`

// tr is a transition: 's' VM a makes its next host call, 'r' request a
// begins, 'c' VM a gets the answer of its b-th callout still in flight
// (by position, not token, so that a transition means the same in two
// worlds the fingerprint equates), 'q' VM a takes its queue,
// 'a' the clock moves on, 't' VM a is ticked, 'l' request a's stream goes
// away.
type tr struct {
	kind byte
	a, b int
}

func (x tr) String() string {
	switch x.kind {
	case 's':
		return fmt.Sprintf("vm%d.step", x.a)
	case 'r':
		return fmt.Sprintf("request%d", x.a)
	case 'c':
		return fmt.Sprintf("vm%d.answer#%d", x.a, x.b)
	case 'q':
		return fmt.Sprintf("vm%d.queue", x.a)
	case 'a':
		return "advance"
	case 't':
		return fmt.Sprintf("vm%d.tick", x.a)
	case 'l':
		return fmt.Sprintf("leave%d", x.a)
	}
	return "?"
}

// enabled lists the transitions possible in w, in a fixed order.
func (w *world) enabled() []tr {
	var out []tr
	sc := w.sc
	for i, v := range w.vms {
		if v.pending.Op != Idle {
			out = append(out, tr{kind: 's', a: i})
		}
	}
	idle := func(i int) bool { return w.vms[i].pending.Op == Idle }
	for idx, r := range sc.requests {
		if !w.fired[idx] && idle(r.vm) && (r.after == nil || r.after(w)) {
			out = append(out, tr{kind: 'r', a: idx})
		}
	}
	for i, v := range w.vms {
		if !idle(i) {
			continue
		}
		if i != sc.dead {
			for j := range v.callouts {
				out = append(out, tr{kind: 'c', a: i, b: j})
			}
		}
		if len(w.store.queues[v.name]) > 0 {
			out = append(out, tr{kind: 'q', a: i})
		}
		if len(sc.advances) > 0 && w.advance == len(sc.advances) && i != sc.dead && v.ticks < sc.ticks {
			out = append(out, tr{kind: 't', a: i})
		}
	}
	if w.advance < len(sc.advances) && (sc.advanceWhen == nil || sc.advanceWhen(w)) {
		out = append(out, tr{kind: 'a'})
	}
	for idx, r := range sc.requests {
		if r.mayLeave && w.fired[idx] && !w.left[idx] && idle(r.vm) &&
			len(w.answers[[2]uint32{uint32(r.vm), r.stream}]) == 0 {
			out = append(out, tr{kind: 'l', a: idx})
		}
	}
	return out
}

// apply makes transition x happen.
func (w *world) apply(x tr) {
	w.trace = append(w.trace, x.String())
	sc := w.sc
	switch x.kind {
	case 's':
		w.perform(x.a)
	case 'r':
		w.fired[x.a] = true
		r := sc.requests[x.a]
		v := w.vms[r.vm]
		// A fresh pipeline: the VM's cache is left out of the
		// simulation (see clone), so a later request of a VM that
		// already has the answer goes to the protocol, which finds it in
		// the store.
		res := pipeline.New(w.plan).Evaluate(w.httpRequest(r.token), w.now)
		if res.Kind != pipeline.KindCall {
			k := [2]uint32{uint32(r.vm), r.stream}
			w.answers[k] = append(w.answers[k], summary(res))
			return
		}
		w.begin(r.vm, v.vm.Request(r.stream, rootID, res.Call, w.now))
	case 'c':
		v := w.vms[x.a]
		c := v.callouts[x.b]
		v.callouts = slices.Delete(v.callouts, x.b, x.b+1)
		resp := w.respond(w.tokenOf(c.key), c.n)
		w.begin(x.a, v.vm.Answered(Callout{Root: rootID, Token: c.token}, resp, w.now, true))
	case 'q':
		v := w.vms[x.a]
		msgs := w.store.queues[v.name]
		w.store.queues[v.name] = nil
		w.begin(x.a, v.vm.Woken(msgs))
	case 'a':
		w.now = w.now.Add(sc.advances[w.advance])
		w.advance++
	case 't':
		v := w.vms[x.a]
		v.ticks++
		w.begin(x.a, v.vm.Tick(rootID))
	case 'l':
		w.left[x.a] = true
		r := sc.requests[x.a]
		w.vms[r.vm].vm.Leave(r.stream)
	}
}

// footprint is what a transition touches, for telling independent ones.
type footprint struct {
	vm     int
	key    string // a shared data key read or written
	write  bool
	in     int   // the VM whose queue it takes, -1 for none
	out    []int // the VMs whose queues it appends to
	clock  bool  // it reads the clock
	moves  bool  // it moves the clock on
	global bool  // it orders with everything
}

func (w *world) footprint(x tr) footprint {
	switch x.kind {
	case 'a':
		return footprint{vm: -1, in: -1, moves: true}
	case 'r', 'c':
		// A request is evaluated, and an answer resumed, at the time
		// of their callback.
		vm := x.a
		if x.kind == 'r' {
			vm = w.sc.requests[x.a].vm
		}
		return footprint{vm: vm, in: -1, clock: true}
	case 'l':
		return footprint{vm: w.sc.requests[x.a].vm, in: -1}
	case 'q':
		return footprint{vm: x.a, in: x.a}
	case 's':
		s := w.vms[x.a].pending
		f := footprint{vm: x.a, in: -1}
		switch s.Op {
		case Read:
			f.key = s.Key
		case Write:
			f.key, f.write = s.Key, true
		case Enqueue:
			for j, v := range w.vms {
				if slices.Contains(s.Queues, v.name) {
					f.out = append(f.out, j)
				}
			}
		case Clock:
			f.clock = true
		default:
			f.global = true
		}
		return f
	}
	return footprint{vm: x.a, in: -1}
}

func dependent(x, y footprint) bool {
	return x.global || y.global || x.vm == y.vm || x.moves && (y.clock || y.moves) || y.moves && x.clock ||
		(x.key != "" && x.key == y.key && (x.write || y.write)) ||
		(x.in >= 0 && slices.Contains(y.out, x.in)) || (y.in >= 0 && slices.Contains(x.out, y.in))
}

// Bounds of one scenario's exploration: deeper schedules mean a VM that
// never stops, more schedules a scenario too large for a unit test.
const (
	maxDepth  = 120
	maxStates = 3000000
)

// explore runs sc under every schedule and returns how many states it
// went through and how many complete schedules it checked: one for each
// class of schedules equal up to the order of independent transitions.
func explore(t *testing.T, sc *scenario) (states, ends int) {
	t.Helper()
	cfg := simConfig
	if sc.config != nil {
		cfg = sc.config(cfg)
	}
	plan := newPlan(t, cfg)
	var dfs func(w *world, sleep []tr) bool
	dfs = func(w *world, sleep []tr) bool {
		if w.failure == "" && len(w.trace) > maxDepth {
			w.failf("no end after %d transitions", maxDepth)
		}
		en := w.enabled()
		if w.failure == "" && len(en) == 0 {
			w.check()
			ends++
		}
		if w.failure != "" {
			t.Errorf("%s\nschedule: %s\nstore:\n%s", w.failure, strings.Join(w.trace, " "), w.dump())
			return false
		}
		if states++; states > maxStates {
			t.Errorf("more than %d states", maxStates)
			return false
		}
		var todo []tr
		for _, x := range en {
			if !slices.Contains(sleep, x) {
				todo = append(todo, x)
			}
		}
		for _, u := range sleep {
			if !slices.Contains(en, u) {
				t.Fatalf("%v asleep but not enabled after %s", u, strings.Join(w.trace, " "))
			}
		}
		fps := map[tr]footprint{}
		for _, x := range en {
			fps[x] = w.footprint(x)
		}
		var done []tr
		for i, x := range todo {
			var next []tr
			for _, u := range append(slices.Clone(sleep), done...) {
				if !dependent(fps[u], fps[x]) {
					next = append(next, u)
				}
			}
			child := w
			if i < len(todo)-1 {
				child = w.clone()
			}
			child.apply(x)
			if !dfs(child, next) {
				return false
			}
			done = append(done, x)
		}
		return true
	}
	dfs(newWorld(sc, plan), nil)
	return states, ends
}

// check judges a complete schedule.
func (w *world) check() {
	sc := w.sc
	for idx, r := range sc.requests {
		if r.vm == sc.dead {
			continue
		}
		got := w.answers[[2]uint32{uint32(r.vm), r.stream}]
		switch {
		case w.left[idx] && len(got) == 0:
		case len(got) != 1:
			w.failf("request %d (vm %d stream %d, %s) answered %q", idx, r.vm, r.stream, r.token, got)
			return
		case !slices.Contains(sc.want[r.token], got[0]):
			w.failf("request %d (vm %d, %s) answered %q, want one of %q", idx, r.vm, r.token, got[0], sc.want[r.token])
			return
		}
	}
	for token, bounds := range sc.calls {
		if n := w.calls[w.key(token)]; n < bounds[0] || n > bounds[1] {
			w.failf("%d authorizer calls for %s, want %d to %d", n, token, bounds[0], bounds[1])
			return
		}
	}
	for i, v := range w.vms {
		if i != sc.dead && !v.vm.Idle() {
			w.failf("vm %d keeps state: %d streams, %d flights, %d callouts", i, len(v.vm.streams), len(v.vm.flights), len(v.vm.callouts))
			return
		}
	}
	if sc.noSlots {
		for k := range w.store.data {
			if k != RegistryKey {
				w.failf("store holds %s", k)
				return
			}
		}
	}
}
