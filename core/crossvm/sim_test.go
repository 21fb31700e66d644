package crossvm

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/pipeline"
)

// This file is a simulated proxy for the protocol: VMs, each a VM and a
// pipeline, over a store with Envoy's compare-and-swap rules, shared
// queues, a clock and an authorizer. It performs the steps as the filter
// does, but one host call at a time, so that a test chooses which VM's
// next host call comes next: every interleaving of the VMs' threads is a
// schedule of these transitions (see explore_test.go).

// answer is what the simulated authorizer says to one call.
type answer uint8

const (
	allow   answer = iota // 200 with a policy allowing everything; principal = the token
	deny401               // 401 Unauthorized
	fail                  // no answer (status 0)
)

// simRequest is one request of a scenario.
type simRequest struct {
	vm     int
	stream uint32
	token  string
	// after, when set, holds the request back until it is true.
	after func(w *world) bool
	// mayLeave: the stream may go away at any time after it began.
	mayLeave bool
}

// simVM is one VM of the simulated proxy.
type simVM struct {
	vm   *VM
	pipe *pipeline.Pipeline
	name string
	// pending is the host call the VM's running callback makes next;
	// Idle when no callback runs.
	pending  Step
	callouts []simCallout // sent, not answered
	ticks    int
}

type simCallout struct {
	token uint32
	key   string // the Call's cache key
	n     int    // how many calls for the key came before
}

// world is the whole simulated proxy at one point of a schedule.
type world struct {
	sc      *scenario
	plan    *config.Plan
	store   *simStore
	now     time.Time
	vms     []*simVM
	tokens  uint32
	calls   map[string]int // authorizer calls by cache key
	fired   map[int]bool   // requests begun
	left    map[int]bool   // requests whose stream went away
	advance int            // clock advances made
	answers map[[2]uint32][]string
	trace   []string
	failure string
}

func (w *world) failf(format string, args ...any) {
	if w.failure == "" {
		w.failure = fmt.Sprintf(format, args...)
	}
}

// key is the cache key of a token's identity.
func (w *world) key(token string) string {
	return w.sc.key(w.plan, token)
}

// key is the cache key of a token's identity, computed once.
func (sc *scenario) key(plan *config.Plan, token string) string {
	if k, ok := sc.keys[token]; ok {
		return k
	}
	r := pipeline.New(plan).Evaluate(simRequestFor(token), t0)
	if r.Kind != pipeline.KindCall {
		panic("token " + token + " does not call")
	}
	if sc.keys == nil {
		sc.keys, sc.tokens = map[string]string{}, map[string]string{}
	}
	sc.keys[token], sc.tokens[r.Call.Key] = r.Call.Key, token
	return r.Call.Key
}

// call evaluates a request for token on a fresh pipeline, to learn its
// Call without touching a VM's cache.
func (w *world) call(pipe *pipeline.Pipeline, token string) *pipeline.Call {
	r := pipeline.New(pipe.Plan()).Evaluate(w.httpRequest(token), w.now)
	if r.Kind != pipeline.KindCall {
		panic("token " + token + " does not call")
	}
	return r.Call
}

func (w *world) httpRequest(token string) *pipeline.Request { return simRequestFor(token) }

func simRequestFor(token string) *pipeline.Request {
	return &pipeline.Request{Method: "GET", Target: "/pets/1", SourceIP: "10.0.0.1",
		Headers: []pipeline.Header{{Name: "authorization", Value: "Bearer " + token}}}
}

// newWorld configures the scenario's VMs, one after the other.
func newWorld(sc *scenario, plan *config.Plan) *world {
	w := &world{sc: sc, plan: plan, store: newSimStore(), now: t0, calls: map[string]int{},
		fired: map[int]bool{}, left: map[int]bool{}, answers: map[[2]uint32][]string{}}
	for i := range sc.vms {
		name := QueuePrefix + "vm" + strconv.Itoa(i)
		v := &simVM{vm: New(name), pipe: pipeline.New(plan), name: name}
		w.vms = append(w.vms, v)
		w.begin(i, v.vm.Configure(rootID, v.pipe))
		for v.pending.Op != Idle {
			w.perform(i)
		}
	}
	if sc.prepare != nil {
		sc.prepare(w)
	}
	return w
}

// begin starts a callback of VM i with its first step: the steps that
// touch nothing shared run at once, up to the first host call another VM
// could see or change (the clock included: it moves on between two host
// calls).
func (w *world) begin(i int, s Step) {
	v := w.vms[i]
	for {
		switch s.Op {
		case Idle, Read, Write, Enqueue, RegisterQueue, Clock:
			v.pending = s
			return
		}
		s = v.vm.Next(s, w.local(i, s))
	}
}

// local performs a step of VM i that touches nothing shared.
func (w *world) local(i int, s Step) Outcome {
	v := w.vms[i]
	switch s.Op {
	case Dispatch:
		w.tokens++
		v.callouts = append(v.callouts, simCallout{token: w.tokens, key: s.Call.Key, n: w.calls[s.Call.Key]})
		w.calls[s.Call.Key]++
		return Outcome{Callout: w.tokens}
	case Settle:
		for _, a := range s.Answers {
			k := [2]uint32{uint32(i), a.Stream}
			w.answers[k] = append(w.answers[k], summary(a.Result))
			if len(w.answers[k]) > 1 {
				w.failf("vm %d stream %d answered twice: %q", i, a.Stream, w.answers[k])
			}
		}
	}
	return Outcome{}
}

// perform makes VM i's pending host call, then runs on to the next one.
func (w *world) perform(i int) {
	v := w.vms[i]
	s := v.pending
	var o Outcome
	switch s.Op {
	case Read:
		o.Value, o.Cas, o.Status = w.store.get(s.Key)
	case Write:
		o.Status = w.store.set(s.Key, s.Value, s.Cas)
	case Enqueue:
		for _, q := range s.Queues {
			if _, ok := w.store.queues[q]; ok {
				w.store.queues[q] = append(w.store.queues[q], slices.Clone(s.Message))
			}
		}
	case RegisterQueue:
		if _, ok := w.store.queues[s.Name]; !ok {
			w.store.queues[s.Name] = nil
		}
	case Clock:
		o.Now = w.now
	}
	w.begin(i, v.vm.Next(s, o))
}

// summary renders a final result as the checks compare it.
func summary(r pipeline.Result) string {
	switch r.Kind {
	case pipeline.KindAllow:
		for _, h := range r.Set {
			if h.Name == pipeline.PrincipalHeader {
				return "allow " + h.Value
			}
		}
		return "allow"
	case pipeline.KindReject:
		return strconv.Itoa(r.Status)
	}
	return r.Kind.String()
}

// respond is the authorizer's n-th answer (from 0) for a token.
func (w *world) respond(token string, n int) pipeline.Response {
	a := allow
	if seq := w.sc.answers[token]; len(seq) > 0 {
		a = seq[min(n, len(seq)-1)]
	}
	switch a {
	case deny401:
		return pipeline.Response{Status: 401, Body: []byte(`{"message":"Unauthorized"}`)}
	case fail:
		return pipeline.Response{}
	}
	return pipeline.Response{Status: 200, Body: allowBody(token)}
}

func (w *world) tokenOf(key string) string {
	for _, r := range w.sc.requests {
		w.key(r.token)
	}
	return w.sc.tokens[key]
}

// dump renders the store for failure messages.
func (w *world) dump() string {
	var b strings.Builder
	keys := make([]string, 0, len(w.store.data))
	for k := range w.store.data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		e := w.store.data[k]
		if v, ok := decode(e.v); ok {
			fmt.Fprintf(&b, "  %s cas=%d kind=%d digest=%x expiry=%v\n", k, e.cas, v.kind, v.digest[:4], time.Unix(0, v.expiry).Sub(t0))
		} else {
			fmt.Fprintf(&b, "  %s cas=%d %q\n", k, e.cas, e.v)
		}
	}
	return b.String()
}

func pipelineFor(plan *config.Plan) *pipeline.Pipeline { return pipeline.New(plan) }
