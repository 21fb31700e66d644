package crossvm

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// one is a request for token on each of the first n VMs, stream 10.
func one(n int, token string) []simRequest {
	var out []simRequest
	for i := range n {
		out = append(out, simRequest{vm: i, stream: 10, token: token})
	}
	return out
}

// dispatched holds once VM vm has called the authorizer.
func dispatched(vm int) func(*world) bool {
	return func(w *world) bool { return len(w.vms[vm].callouts) > 0 || w.calls[w.key(w.sc.requests[0].token)] > 0 }
}

// withAuth adds settings to authorizer tok.
func withAuth(extra string) func(string) string {
	return func(s string) string {
		return strings.Replace(s, `"timeoutMs": 500`, `"timeoutMs": 500, `+extra, 1)
	}
}

// withSlots sets sharedSlots.
func withSlots(n int) func(string) string {
	return func(s string) string {
		return strings.Replace(s, `"stage": "prod",`, `"stage": "prod", "authorizerCache": {"sharedSlots": `+strconv.Itoa(n)+`},`, 1)
	}
}

// put writes the value of kind for owner's identity into the first
// candidate slot of slotOf's identity, expiring at t0 + expiry, as another
// VM did earlier.
func put(owner, slotOf string, kind byte, expiry time.Duration) func(*world) {
	return func(w *world) {
		v := w.vms[0]
		id := identify(v.pipe, w.call(v.pipe, owner))
		slot := identify(v.pipe, w.call(v.pipe, slotOf)).a
		val := value{kind: kind, digest: id.digest, expiry: t0.Add(expiry).UnixNano()}
		if kind == kindResult {
			val.payload = allowBody(owner)
		}
		w.store.set(slot, encode(val), 0)
	}
}

// tokensWith finds tokens whose candidate slots, among slots, are the
// given pairs.
func tokensWith(t *testing.T, slots int, pairs ...[2]uint64) []string {
	t.Helper()
	plan := newPlan(t, withSlots(slots)(simConfig))
	w := &world{plan: plan, now: t0}
	out := make([]string, len(pairs))
	for i, want := range pairs {
		for n := 0; out[i] == ""; n++ {
			if n > 10000 {
				t.Fatalf("no token with candidates %v", want)
			}
			tok := "t" + strconv.Itoa(n)
			id := identify(pipelineFor(plan), w.call(pipelineFor(plan), tok))
			a, b := slotNumbers(id.digest, slots)
			if a == want[0] && b == want[1] {
				out[i] = tok
			}
		}
	}
	return out
}

// TestInterleavings runs each situation of the protocol under every
// schedule of two and three VMs and checks, at the end of each, every
// request's answer, the authorizer calls made and that no VM keeps state.
func TestInterleavings(t *testing.T) {
	bound := 500*time.Millisecond + ClaimSlack
	allowX := map[string][]string{"x": {"allow x"}}
	pair := tokensWith(t, 2, [2]uint64{0, 1}, [2]uint64{1, 0})
	px, py := pair[0], pair[1]
	var scs []*scenario
	for _, n := range []int{2, 3} {
		vms := fmt.Sprintf(", %d VMs", n)
		scs = append(scs,
			&scenario{name: "claim: first requests, the slot created" + vms, vms: n, dead: -1,
				requests: one(n, "x"), want: allowX, calls: map[string][2]int{"x": {1, 1}}},
			&scenario{name: "claim over an expired answer" + vms, vms: n, dead: -1,
				requests: one(n, "x"), prepare: put("x", "x", kindResult, -1),
				want: allowX, calls: map[string][2]int{"x": {1, 1}}},
			&scenario{name: "claim over a released slot" + vms, vms: n, dead: -1,
				requests: one(n, "x"), prepare: put("x", "x", kindReleased, 0),
				want: allowX, calls: map[string][2]int{"x": {1, 1}}},
			&scenario{name: "expiry while the VMs read" + vms, vms: n, dead: -1,
				requests: one(n, "x"), prepare: put("x", "x", kindResult, 100*time.Millisecond),
				advances: []time.Duration{100 * time.Millisecond},
				want:     allowX, calls: map[string][2]int{"x": {0, 1}}},
			&scenario{name: "claimer dies: one waiter takes over" + vms, vms: n, dead: 0,
				requests: append(one(1, "x"), afterFirst(one(n, "x")[1:])...),
				advances: []time.Duration{bound}, advanceWhen: dispatched(0), ticks: 1,
				want: allowX, calls: map[string][2]int{"x": {2, 2}}},
			&scenario{name: "release after a failure" + vms, vms: n, dead: -1,
				requests: one(n, "x"), answers: map[string][]answer{"x": {fail, allow}},
				want: map[string][]string{"x": {"500", "allow x"}}, calls: map[string][2]int{"x": {2, 2}}},
			&scenario{name: "unauthorized, cached" + vms, vms: n, dead: -1,
				config:   withAuth(`"unauthorizedTtlInSeconds": 60`),
				requests: one(n, "x"), answers: map[string][]answer{"x": {deny401}},
				want: map[string][]string{"x": {"401"}}, calls: map[string][2]int{"x": {1, 1}}},
			&scenario{name: "unauthorized, not cached: released" + vms, vms: n, dead: -1, heavy: n == 3,
				requests: one(n, "x"), answers: map[string][]answer{"x": {deny401}},
				want: map[string][]string{"x": {"401"}}, calls: map[string][2]int{"x": {1, n}}},
			&scenario{name: "ttl 0: nothing shared" + vms, vms: n, dead: -1,
				config:   withAuth(`"authorizerResultTtlInSeconds": 0`),
				requests: one(n, "x"), want: allowX, calls: map[string][2]int{"x": {n, n}}, noSlots: true},
			&scenario{name: "two choices: the first candidate's answer expires" + vms, vms: n, dead: -1, heavy: n == 3,
				config: withSlots(2), requests: one(n, px), prepare: put(py, px, kindResult, 100*time.Millisecond),
				advances: []time.Duration{100 * time.Millisecond},
				want:     map[string][]string{px: {"allow " + px}}, calls: map[string][2]int{px: {1, 1}}},
		)
	}
	scs = append(scs,
		&scenario{name: "wait: waiters in one VM, streams leaving", vms: 2, dead: -1,
			requests: []simRequest{{vm: 0, stream: 10, token: "x"}, {vm: 0, stream: 11, token: "x", mayLeave: true},
				{vm: 1, stream: 10, token: "x", mayLeave: true}},
			want: allowX, calls: map[string][2]int{"x": {1, 1}}},
		&scenario{name: "eviction: two identities, two slots, 3 VMs", vms: 3, dead: -1, config: withSlots(2),
			requests: []simRequest{{vm: 0, stream: 10, token: px}, {vm: 1, stream: 10, token: py}, {vm: 2, stream: 10, token: px}},
			want:     map[string][]string{px: {"allow " + px}, py: {"allow " + py}},
			calls:    map[string][2]int{px: {1, 1}, py: {1, 1}}},
		&scenario{name: "eviction: two identities, one slot, 2 VMs", vms: 2, dead: -1, config: withSlots(1),
			requests: []simRequest{{vm: 0, stream: 10, token: "x"}, {vm: 1, stream: 10, token: "y"}, {vm: 1, stream: 11, token: "x"}},
			want:     map[string][]string{"x": {"allow x"}, "y": {"allow y"}},
			calls:    map[string][2]int{"x": {1, 2}, "y": {1, 1}}},
		&scenario{name: "eviction: two identities, one slot, 3 VMs", vms: 3, dead: -1, config: withSlots(1), heavy: true,
			requests: []simRequest{{vm: 0, stream: 10, token: "x"}, {vm: 1, stream: 10, token: "y"}, {vm: 2, stream: 10, token: "x"}},
			want:     map[string][]string{"x": {"allow x"}, "y": {"allow y"}},
			calls:    map[string][2]int{"x": {1, 2}, "y": {1, 1}}},
	)
	states, ends := 0, 0
	for _, sc := range scs {
		t.Run(sc.name, func(t *testing.T) {
			if sc.heavy && raceEnabled {
				t.Skip("tens of thousands of schedules; run without -race (make check)")
			}
			if sc.heavy && runtime.GOOS == "wasip1" {
				// The explorer's outcome does not depend on the platform; the
				// lighter scenarios already run the protocol's code as wasm.
				t.Skip("tens of thousands of schedules, minutes as wasm; run natively (make check)")
			}
			s, e := explore(t, sc)
			states, ends = states+s, ends+e
			t.Logf("%d states, %d ends checked", s, e)
		})
	}
	t.Logf("%d scenarios: %d states, %d ends checked", len(scs), states, ends)
}

// afterFirst holds requests back until VM 0 has claimed and called.
func afterFirst(rs []simRequest) []simRequest {
	for i := range rs {
		rs[i].after = dispatched(0)
	}
	return rs
}
