package crossvm

import (
	"maps"
	"slices"
)

// clone copies the world, so that the explorer can take two transitions
// from one state without replaying the schedule that led there. The
// pipelines are shared: the protocol's use of them (Resume, Adopt) only
// writes their caches, which the simulation never reads back (requests
// are evaluated on a fresh pipeline, see apply).
func (w *world) clone() *world {
	c := *w
	c.store = &simStore{data: maps.Clone(w.store.data), next: w.store.next, queues: map[string][][]byte{}}
	for k, q := range w.store.queues {
		c.store.queues[k] = slices.Clone(q)
	}
	c.calls, c.fired, c.left = maps.Clone(w.calls), maps.Clone(w.fired), maps.Clone(w.left)
	c.answers = map[[2]uint32][]string{}
	for k, a := range w.answers {
		c.answers[k] = slices.Clone(a)
	}
	c.trace = slices.Clone(w.trace)
	c.vms = make([]*simVM, len(w.vms))
	for i, v := range w.vms {
		cv := *v
		cv.callouts = slices.Clone(v.callouts)
		var cp copier
		cv.vm = cp.vm(v.vm)
		cv.pending = v.pending
		cv.pending.t = cp.task(v.pending.t)
		c.vms[i] = &cv
	}
	return &c
}

// copier deep-copies one VM's state, each flight and task once.
type copier struct {
	flights map[*flight]*flight
	tasks   map[*task]*task
}

func (cp *copier) vm(vm *VM) *VM {
	c := *vm
	c.roots = maps.Clone(vm.roots)
	c.streams = map[uint32]*stream{}
	for id, s := range vm.streams {
		cs := *s
		cs.flight = cp.flight(s.flight)
		c.streams[id] = &cs
	}
	c.flights = map[flightKey]*flight{}
	for k, f := range vm.flights {
		c.flights[k] = cp.flight(f)
	}
	c.callouts = map[Callout]*flight{}
	for k, f := range vm.callouts {
		c.callouts[k] = cp.flight(f)
	}
	c.agenda = nil
	for _, t := range vm.agenda {
		c.agenda = append(c.agenda, cp.task(t))
	}
	return &c
}

func (cp *copier) flight(f *flight) *flight {
	if f == nil {
		return nil
	}
	if cp.flights == nil {
		cp.flights = map[*flight]*flight{}
	}
	if g, ok := cp.flights[f]; ok {
		return g
	}
	g := *f
	g.waiters = slices.Clone(f.waiters)
	cp.flights[f] = &g
	return &g
}

func (cp *copier) task(t *task) *task {
	if t == nil {
		return nil
	}
	if cp.tasks == nil {
		cp.tasks = map[*task]*task{}
	}
	if u, ok := cp.tasks[t]; ok {
		return u
	}
	u := *t
	u.f = cp.flight(t.f)
	u.answers = slices.Clone(t.answers)
	u.releases = nil
	for _, f := range t.releases {
		u.releases = append(u.releases, cp.flight(f))
	}
	cp.tasks[t] = &u
	return &u
}
