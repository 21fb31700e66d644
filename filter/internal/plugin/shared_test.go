package plugin

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/core/crossvm"
	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/filter/abi"
	"github.com/authgate/authgate/filter/internal/proxywasm/proxywasmtest"
)

// vmEnv is one VM of a cluster: its fake host and its plugin.
type vmEnv struct {
	h *proxywasmtest.Host
	p *Plugin
}

// cluster is several VMs of one proxy sharing one store, as Envoy's
// workers do. Context ids are per VM, as in Envoy; each VM's root is rootID.
type cluster struct {
	t     *testing.T
	store *proxywasmtest.Store
	vms   []*vmEnv
	now   time.Time
	acts  map[[2]uint32]abi.Action // request-headers action by VM and stream
}

func newCluster(t *testing.T, n int, config string) *cluster {
	t.Helper()
	c := &cluster{t: t, store: proxywasmtest.NewStore(), now: t0, acts: map[[2]uint32]abi.Action{}}
	for range n {
		h := proxywasmtest.NewVM(t0, c.store)
		h.PluginConfig = []byte(config)
		h.AddRoot(rootID)
		h.Current = rootID
		p := New(h)
		p.OnContextCreate(rootID, 0)
		if !p.OnVMStart(rootID, 0) || !p.OnConfigure(rootID, uint32(len(config))) {
			t.Fatalf("configure failed: %v", h.Logs)
		}
		c.vms = append(c.vms, &vmEnv{h, p})
	}
	return c
}

// reconfigure replaces VM vm's plugin with a new one, configured after
// prepare changed its host.
func (c *cluster) reconfigure(vm int, prepare func(h *proxywasmtest.Host)) {
	c.t.Helper()
	h := c.vms[vm].h
	prepare(h)
	p := New(h)
	h.Current = rootID
	p.OnContextCreate(rootID, 0)
	if !p.OnConfigure(rootID, uint32(len(h.PluginConfig))) {
		c.t.Fatalf("configure failed: %v", h.Logs)
	}
	c.vms[vm].p = p
}

// withConfig returns testConfig with extra settings for authorizer tok
// and the top level.
func withConfig(tok, top string) string {
	s := testConfig
	if tok != "" {
		s = strings.Replace(s, `"timeoutMs": 500`, `"timeoutMs": 500, `+tok, 1)
	}
	if top != "" {
		s = strings.Replace(s, `"stage": "prod",`, `"stage": "prod", `+top+`,`, 1)
	}
	return s
}

// request starts stream id on VM vm for GET /pets/1 with token tok.
func (c *cluster) request(vm int, id uint32, tok string) abi.Action {
	v := c.vms[vm]
	hs := []abi.Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/pets/1"},
		{Name: ":authority", Value: "api.example.com"}, bearer(tok)}
	v.h.AddStream(id, rootID, "10.1.2.3:40000", hs...)
	v.h.Current = id
	v.p.OnContextCreate(id, rootID)
	act := v.p.OnRequestHeaders(id, uint32(len(hs)), true)
	c.acts[[2]uint32{uint32(vm), id}] = act
	return act
}

// answer delivers an authorizer answer to callout token of VM vm; status 0
// is a failed call.
func (c *cluster) answer(vm int, token uint32, status int, body string) {
	e := &env{c.t, c.vms[vm].h, c.vms[vm].p}
	e.answer(token, status, body)
}

// deliver runs every proxy_on_queue_ready the hosts owe, until none is left.
func (c *cluster) deliver() int {
	n := 0
	for {
		ready := c.store.TakeReady()
		if len(ready) == 0 {
			return n
		}
		for _, r := range ready {
			for _, v := range c.vms {
				if v.h == r.Host {
					v.h.Current = r.Root
					v.p.OnQueueReady(r.Root, r.Queue)
					n++
				}
			}
		}
	}
}

func (c *cluster) tick(vm int) {
	v := c.vms[vm]
	v.h.Current = rootID
	v.p.OnTick(rootID)
}

func (c *cluster) advance(d time.Duration) {
	c.now = c.now.Add(d)
	for _, v := range c.vms {
		v.h.Now = c.now
	}
}

// callouts returns the callouts made so far by each VM.
func (c *cluster) callouts() []int {
	out := make([]int, len(c.vms))
	for i, v := range c.vms {
		out[i] = len(v.h.Callouts)
	}
	return out
}

func (c *cluster) stream(vm int, id uint32) *proxywasmtest.Stream { return c.vms[vm].h.Streams[id] }

// allowed checks that stream id of vm went upstream with principal user-1.
func (c *cluster) allowed(vm int, id uint32) {
	c.t.Helper()
	s := c.stream(vm, id)
	p, _ := header(s.Headers, "x-authorizer-principal-id")
	// Paused streams are continued once; others went on at once.
	want := 1
	if c.acts[[2]uint32{uint32(vm), id}] == abi.ActionContinue {
		want = 0
	}
	if s.Continued != want || len(s.Local) != 0 || p != "user-1" {
		c.t.Errorf("vm %d stream %d: continued %d local %+v principal %q, want allowed", vm, id, s.Continued, s.Local, p)
	}
}

// rejected checks that stream id of vm got one local answer with status.
func (c *cluster) rejected(vm int, id uint32, status uint32) {
	c.t.Helper()
	s := c.stream(vm, id)
	if s.Continued != 0 || len(s.Local) != 1 || s.Local[0].Status != status {
		c.t.Errorf("vm %d stream %d: continued %d local %+v, want %d", vm, id, s.Continued, s.Local, status)
	}
}

// pending checks that stream id of vm has no answer yet.
func (c *cluster) pending(vm int, id uint32) {
	c.t.Helper()
	if s := c.stream(vm, id); s.Continued != 0 || len(s.Local) != 0 {
		c.t.Errorf("vm %d stream %d answered early: continued %d local %+v", vm, id, s.Continued, s.Local)
	}
}

// end finishes a stream on its VM.
func (c *cluster) end(vm int, id uint32) {
	e := &env{c.t, c.vms[vm].h, c.vms[vm].p}
	e.end(id)
}

// empty checks that no VM keeps per-request state.
func (c *cluster) empty() {
	c.t.Helper()
	for i, v := range c.vms {
		if len(v.p.streams) != 0 || !v.p.vm.Idle() {
			c.t.Errorf("vm %d: state left: streams=%d, protocol idle %v", i, len(v.p.streams), v.p.vm.Idle())
		}
	}
}

// counter reads a metric of authorizer tok.
func (c *cluster) counter(suffix string) int64 {
	m, ok := c.store.Metric(pipeline.MetricName("tok", suffix))
	if !ok {
		c.t.Fatalf("metric %s not defined", suffix)
	}
	return m.Value
}

func (c *cluster) counters(want map[string]int64) {
	c.t.Helper()
	for _, suffix := range authorizerCounters {
		if got := c.counter(suffix); got != want[suffix] {
			c.t.Errorf("counter %s = %d, want %d", suffix, got, want[suffix])
		}
	}
}

// slotKeys returns the slot keys the store holds.
func (c *cluster) slotKeys() []string {
	var out []string
	for _, k := range c.store.Keys() {
		if k != crossvm.RegistryKey {
			out = append(out, k)
		}
	}
	return out
}

func TestSharedOneCallPerTTL(t *testing.T) {
	const n = 5
	c := newCluster(t, 2, withConfig(`"authorizerResultTtlInSeconds": 60`, ""))
	// 2×n concurrent first requests with one token, interleaved.
	for i := range n {
		for vm := range 2 {
			if act := c.request(vm, uint32(10+i), "abc"); act != abi.ActionPause {
				t.Fatalf("vm %d request %d: action %d, want pause", vm, i, act)
			}
		}
	}
	if got := c.callouts(); !slices.Equal(got, []int{1, 0}) {
		t.Fatalf("callouts per VM %v, want [1 0]", got)
	}
	if c.deliver() != 0 {
		t.Errorf("queue messages before any answer")
	}
	c.answer(0, c.vms[0].h.Callouts[0].ID, 200, policy("Allow", nil))
	for i := range n {
		c.allowed(0, uint32(10+i))
		c.pending(1, uint32(10+i))
	}
	if got := c.deliver(); got != 1 {
		t.Errorf("queue deliveries %d, want 1", got)
	}
	for i := range n {
		c.allowed(1, uint32(10+i))
	}
	c.counters(map[string]int64{"allow": 2 * n, "cache_miss": n, "shared_hit": n, "coalesced": 2*n - 1})
	if m, _ := c.store.Metric(pipeline.MetricName("tok", pipeline.MetricAuthorizerLatency)); len(m.Samples) != 1 {
		t.Errorf("latency samples %v, want one", m.Samples)
	}
	for i := range n {
		for vm := range 2 {
			c.end(vm, uint32(10+i))
		}
	}
	// Both VMs now answer from their own cache.
	c.request(0, 30, "abc")
	c.request(1, 30, "abc")
	c.allowed(0, 30)
	c.allowed(1, 30)
	if got := c.callouts(); !slices.Equal(got, []int{1, 0}) {
		t.Errorf("callouts per VM %v after hits, want [1 0]", got)
	}
	c.end(0, 30)
	c.end(1, 30)

	// After the TTL: exactly one more call, this time from VM 1.
	c.advance(61 * time.Second)
	c.request(1, 40, "abc")
	c.request(0, 40, "abc")
	c.request(1, 41, "abc")
	if got := c.callouts(); !slices.Equal(got, []int{1, 1}) {
		t.Fatalf("callouts per VM %v after the TTL, want [1 1]", got)
	}
	c.answer(1, c.vms[1].h.Callouts[0].ID, 200, policy("Allow", nil))
	c.deliver()
	c.allowed(1, 40)
	c.allowed(1, 41)
	c.allowed(0, 40)
	for _, id := range []uint32{40, 41} {
		c.end(1, id)
	}
	c.end(0, 40)
	c.empty()
	if keys := c.slotKeys(); len(keys) != 1 || !strings.HasPrefix(keys[0], crossvm.KeyPrefix) {
		t.Errorf("slot keys %q, want one", keys)
	}
}

func TestSharedDistinctTokens(t *testing.T) {
	tests := []struct {
		name  string
		slots string
	}{
		{name: "default slots"},
		{name: "one slot for every identity", slots: `"authorizerCache": {"sharedSlots": 1}`},
		{name: "sharing off", slots: `"authorizerCache": {"sharedSlots": 0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, 2, withConfig("", tt.slots))
			c.request(0, 10, "alice")
			c.request(1, 10, "bob")
			if got := c.callouts(); !slices.Equal(got, []int{1, 1}) {
				t.Fatalf("callouts per VM %v, want [1 1]", got)
			}
			alice := strings.Replace(policy("Allow", nil), "user-1", "alice", 1)
			bob := strings.Replace(policy("Allow", nil), "user-1", "bob", 1)
			c.answer(0, c.vms[0].h.Callouts[0].ID, 200, alice)
			c.answer(1, c.vms[1].h.Callouts[0].ID, 200, bob)
			c.deliver()
			for vm, want := range []string{"alice", "bob"} {
				if p, _ := header(c.stream(vm, 10).Headers, "x-authorizer-principal-id"); p != want {
					t.Errorf("vm %d principal %q, want %q", vm, p, want)
				}
			}
			// Each VM's second identity: never another's answer.
			c.request(0, 11, "bob")
			c.request(1, 11, "alice")
			calls := c.callouts()
			for vm := range 2 {
				if s := c.stream(vm, 11); s.Continued == 1 {
					got, _ := header(s.Headers, "x-authorizer-principal-id")
					tok := []string{"bob", "alice"}[vm]
					if got != tok {
						t.Errorf("vm %d second identity got principal %q, want %q", vm, got, tok)
					}
				}
			}
			if calls[0]+calls[1] < 2 {
				t.Errorf("callouts %v", calls)
			}
		})
	}
}

func TestSharedFailureReleasesWaiters(t *testing.T) {
	c := newCluster(t, 2, testConfig)
	c.request(0, 10, "abc")
	c.request(1, 10, "abc")
	c.request(1, 11, "abc")
	c.answer(0, c.vms[0].h.Callouts[0].ID, 0, "")
	c.rejected(0, 10, 500)
	c.pending(1, 10)
	c.deliver()
	// Released: VM 1 asks once for both its requests.
	if got := c.callouts(); !slices.Equal(got, []int{1, 1}) {
		t.Fatalf("callouts per VM %v, want [1 1]", got)
	}
	c.pending(1, 10)
	c.answer(1, c.vms[1].h.Callouts[0].ID, 200, policy("Allow", nil))
	c.allowed(1, 10)
	c.allowed(1, 11)
	c.deliver()
	c.counters(map[string]int64{"allow": 2, "error": 1, "error_reset": 1, "cache_miss": 3, "coalesced": 1})
	c.end(0, 10)
	c.end(1, 10)
	c.end(1, 11)
	c.empty()
}

func TestSharedUnauthorized(t *testing.T) {
	c := newCluster(t, 2, withConfig(`"unauthorizedTtlInSeconds": 30`, ""))
	c.request(0, 10, "abc")
	c.request(1, 10, "abc")
	c.answer(0, c.vms[0].h.Callouts[0].ID, 401, `{"message":"Unauthorized"}`)
	c.deliver()
	c.rejected(0, 10, 401)
	c.rejected(1, 10, 401)
	// A later request on VM 1 is answered from its cache.
	c.request(1, 11, "abc")
	c.rejected(1, 11, 401)
	if got := c.callouts(); !slices.Equal(got, []int{1, 0}) {
		t.Errorf("callouts per VM %v, want [1 0]", got)
	}
	c.counters(map[string]int64{"unauthorized": 3, "cache_miss": 1, "shared_hit": 1, "cache_hit": 1, "coalesced": 1})
}

func TestSharedClaimerNeverAnswers(t *testing.T) {
	c := newCluster(t, 2, testConfig)
	if p := c.vms[1].h.TickPeriods[rootID]; p != uint32(crossvm.TickPeriod.Milliseconds()) {
		t.Errorf("tick period %d, want %v", p, crossvm.TickPeriod)
	}
	c.request(0, 10, "abc")
	c.request(1, 10, "abc")
	c.request(1, 11, "abc")
	bound := 500*time.Millisecond + crossvm.ClaimSlack
	c.advance(bound - 50*time.Millisecond)
	c.tick(1)
	if got := c.callouts(); !slices.Equal(got, []int{1, 0}) {
		t.Fatalf("callouts per VM %v before the bound, want [1 0]", got)
	}
	c.advance(50 * time.Millisecond)
	c.tick(1)
	if got := c.callouts(); !slices.Equal(got, []int{1, 1}) {
		t.Fatalf("callouts per VM %v after the bound, want [1 1]", got)
	}
	c.tick(1) // no second call
	if got := c.callouts(); !slices.Equal(got, []int{1, 1}) {
		t.Fatalf("callouts per VM %v after another tick, want [1 1]", got)
	}
	c.answer(1, c.vms[1].h.Callouts[0].ID, 200, policy("Allow", nil))
	c.allowed(1, 10)
	c.allowed(1, 11)
	c.deliver()
	// VM 0's requests still wait for their own callout; its late answer
	// still ends them.
	c.pending(0, 10)
	c.answer(0, c.vms[0].h.Callouts[0].ID, 200, policy("Allow", nil))
	c.allowed(0, 10)
	c.end(0, 10)
	c.end(1, 10)
	c.end(1, 11)
	c.deliver()
	c.empty()
}

func TestSharedWaiterGoesAway(t *testing.T) {
	c := newCluster(t, 2, testConfig)
	c.request(0, 10, "abc")
	c.request(1, 10, "abc")
	// Both the claimer's and the waiter's requests end first.
	c.end(0, 10)
	c.end(1, 10)
	before := len(c.vms[1].h.Calls)
	c.answer(0, c.vms[0].h.Callouts[0].ID, 200, policy("Allow", nil))
	c.deliver()
	for _, call := range c.vms[1].h.Calls[before:] {
		if call.Context == 10 {
			t.Errorf("host call %s on the ended stream", call.Name)
		}
	}
	// The answer was still published: VM 1 needs no call.
	c.request(1, 11, "abc")
	c.allowed(1, 11)
	if got := c.callouts(); !slices.Equal(got, []int{1, 0}) {
		t.Errorf("callouts per VM %v, want [1 0]", got)
	}
	c.end(1, 11)
	c.empty()
}

// TestSharedCreation: two VMs find an identity's slot missing, and the
// second writes its claim after the first created the slot. The store
// writes a missing key whatever cas is given, so the claim is made with
// the registry's cas, which no slot value can have: the second write
// fails, the VM reads the first's claim and waits. One call, and the
// protocol keeps no key besides the slots and the registry.
func TestSharedCreation(t *testing.T) {
	tests := []struct {
		name       string
		registered bool // VM 1 is in the registry, so it can wait
		want       []int
	}{
		{name: "the second claim fails and waits", registered: true, want: []int{1, 0}},
		// A VM that cannot be woken never waits: it calls, as it does
		// on any live claim.
		{name: "a VM that cannot be woken calls", want: []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, 2, testConfig)
			if !tt.registered {
				c.reconfigure(1, func(h *proxywasmtest.Host) { h.RegisterQueueError = abi.StatusInternalFailure })
			}
			h := c.vms[1].h
			h.BeforeSharedWrite = func(key string) {
				if !isSlot(key) {
					return
				}
				h.BeforeSharedWrite = nil
				if _, ok := c.store.Get(key); ok {
					t.Errorf("slot %s exists before VM 1 claims it", key)
				}
				c.request(0, 10, "abc")
			}
			c.request(1, 10, "abc")
			if got := c.callouts(); !slices.Equal(got, tt.want) {
				t.Fatalf("callouts per VM %v, want %v", got, tt.want)
			}
			c.answer(0, c.vms[0].h.Callouts[0].ID, 200, policy("Allow", nil))
			if tt.want[1] == 1 {
				c.answer(1, c.vms[1].h.Callouts[0].ID, 200, policy("Allow", nil))
			}
			c.deliver()
			c.allowed(0, 10)
			c.allowed(1, 10)
			if keys := c.store.Keys(); len(keys) != 2 {
				t.Errorf("store keys %q, want one slot and the registry", keys)
			}
			c.end(0, 10)
			c.end(1, 10)
			c.empty()
		})
	}
}

func TestSharedRegistry(t *testing.T) {
	c := newCluster(t, 3, testConfig)
	v, ok := c.store.Get(crossvm.RegistryKey)
	if !ok {
		t.Fatal("no registry")
	}
	names := strings.Split(string(v.Value), "\n")
	if len(names) != 3 {
		t.Fatalf("registry %q, want 3 names", names)
	}
	for i, vm := range c.vms {
		q, ok := c.store.QueueByName(vm.p.vm.Name())
		if !ok || q.Owner != vm.h || q.Root != rootID || names[i] != vm.p.vm.Name() {
			t.Errorf("vm %d: queue %+v registry %q", i, q, names)
		}
	}
	// A VM dropped from the registry re-adds itself before it waits.
	c.store.Put(crossvm.RegistryKey, []byte(names[0]))
	c.request(0, 10, "abc")
	c.request(1, 10, "abc")
	v, _ = c.store.Get(crossvm.RegistryKey)
	if got := strings.Split(string(v.Value), "\n"); !slices.Equal(got, names[:2]) {
		t.Errorf("registry %q, want %q", got, names[:2])
	}
	c.answer(0, c.vms[0].h.Callouts[0].ID, 200, policy("Allow", nil))
	c.deliver()
	c.allowed(1, 10)
}

func TestMetricsDefined(t *testing.T) {
	c := newCluster(t, 2, testConfig)
	var names []string
	for _, m := range c.store.Metrics() {
		names = append(names, m.Name)
		if (m.Type == abi.MetricHistogram) != strings.HasSuffix(m.Name, pipeline.MetricAuthorizerLatency) {
			t.Errorf("metric %s has type %d", m.Name, m.Type)
		}
	}
	for _, want := range []string{"authgate.tok.allow", "authgate.tok.timeout", "authgate.tok.coalesced",
		"authgate.req.shared_hit", "authgate.tok.authorizer_latency_ms", "authgate.NONE.no_route"} {
		if !slices.Contains(names, want) {
			t.Errorf("metric %s not defined; have %q", want, names)
		}
	}
	if len(names) != 2*(len(authorizerCounters)+1)+len(noAuthorizerCounters) {
		t.Errorf("%d metrics: %q", len(names), names)
	}
	// Requests without an authorizer count under NONE.
	c.vms[0].h.AddStream(5, rootID, "", abi.Header{Name: ":method", Value: "GET"}, abi.Header{Name: ":path", Value: "/nope"})
	c.vms[0].h.Current = 5
	c.vms[0].p.OnContextCreate(5, rootID)
	c.vms[0].p.OnRequestHeaders(5, 2, true)
	if m, _ := c.store.Metric("authgate.NONE.no_route"); m.Value != 1 {
		t.Errorf("no_route %d, want 1", m.Value)
	}
}

func TestTimedOut(t *testing.T) {
	tests := []struct {
		name string
		resp pipeline.Response
		want bool
	}{
		{name: "no answer is a reset", resp: pipeline.Response{}},
		{name: "envoy's timeout", resp: pipeline.Response{Status: 504, Body: []byte("upstream request timeout")}, want: true},
		{name: "authorizer's own 504", resp: pipeline.Response{Status: 504, Body: []byte(`{"message":"slow"}`)}},
		{name: "envoy's connect failure", resp: pipeline.Response{Status: 503, Body: []byte(pipeline.ResetBodyPrefix + "remote connection failure")}},
		{name: "ok", resp: pipeline.Response{Status: 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := timedOut(tt.resp); got != tt.want {
				t.Errorf("timedOut = %v, want %v", got, tt.want)
			}
		})
	}
}

// isSlot tells a slot key from the filter's other shared keys.
func isSlot(key string) bool {
	return strings.HasPrefix(key, crossvm.KeyPrefix) && key != crossvm.RegistryKey
}

// interleave makes the next slot read of VM vm happen after run: the
// clock moves on by 1 ms and run (typically another VM's request) goes
// first, as another worker thread does when it runs between this VM's
// reading of the clock and its reading of the slot.
func (c *cluster) interleave(vm int, run func()) {
	h := c.vms[vm].h
	h.BeforeSharedRead = func(key string) {
		if !isSlot(key) {
			return
		}
		h.BeforeSharedRead = nil
		c.advance(time.Millisecond)
		run()
	}
}

// TestSharedClaimReadLate covers claims a VM reads after the callback it
// reads them in began: the claimer read its clock later than the reader
// did. Such a claim is live, not one further ahead than the call's bound:
// the reader waits, and exactly one VM calls.
func TestSharedClaimReadLate(t *testing.T) {
	bound := 500*time.Millisecond + crossvm.ClaimSlack
	tests := []struct {
		name string
		vms  int
		// warm: VM 0 first caches a result, which then expires.
		warm bool
		// chain[i]'s request runs inside chain[i-1]'s first slot read;
		// the last one claims the slot.
		chain []int
		want  []int // callouts per VM
	}{
		{name: "two VMs, a slot being created", vms: 2, chain: []int{1, 0}, want: []int{1, 0}},
		{name: "four VMs, a slot being created", vms: 4, chain: []int{1, 2, 3, 0}, want: []int{1, 0, 0, 0}},
		{name: "four VMs, an expired result", vms: 4, warm: true, chain: []int{1, 2, 3}, want: []int{1, 0, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, tt.vms, testConfig)
			if tt.warm {
				c.request(0, 5, "abc")
				c.answer(0, c.vms[0].h.Callouts[0].ID, 200, policy("Allow", nil))
				c.end(0, 5)
				c.advance(301 * time.Second) // past the 300 s TTL everywhere
			}
			for i := len(tt.chain) - 1; i > 0; i-- {
				vm, next := tt.chain[i-1], tt.chain[i]
				c.interleave(vm, func() { c.request(next, 10, "abc") })
			}
			c.request(tt.chain[0], 10, "abc")
			if got := c.callouts(); !slices.Equal(got, tt.want) {
				t.Fatalf("callouts per VM %v, want %v", got, tt.want)
			}
			claimer := tt.chain[len(tt.chain)-1]
			calls := c.vms[claimer].h.Callouts
			c.answer(claimer, calls[len(calls)-1].ID, 200, policy("Allow", nil))
			c.deliver()
			for _, vm := range tt.chain {
				c.allowed(vm, 10)
				c.end(vm, 10)
			}
			c.empty()
		})
	}

	t.Run("a waiter's bound starts when it read the claim", func(t *testing.T) {
		c := newCluster(t, 2, testConfig)
		c.interleave(1, func() { c.request(0, 10, "abc") })
		start := c.now
		c.request(1, 10, "abc")
		// VM 1's callback began 1 ms before VM 0's claim: its bound
		// counted from then would end before the claim's deadline.
		c.advance(start.Add(bound).Sub(c.now))
		c.tick(1)
		if got := c.callouts(); !slices.Equal(got, []int{1, 0}) {
			t.Fatalf("callouts per VM %v at the waiter's first read + bound, want [1 0]", got)
		}
		c.advance(time.Millisecond) // the claim's deadline: VM 0 is taken as dead
		c.tick(1)
		if got := c.callouts(); !slices.Equal(got, []int{1, 1}) {
			t.Fatalf("callouts per VM %v at the claim's deadline, want [1 1]", got)
		}
	})

	t.Run("one VM takes over a dead claim", func(t *testing.T) {
		c := newCluster(t, 4, testConfig)
		for vm := range 4 {
			c.request(vm, 10, "abc")
		}
		c.advance(bound)
		for vm := 1; vm < 4; vm++ {
			c.tick(vm)
		}
		if got := c.callouts(); !slices.Equal(got, []int{1, 1, 0, 0}) {
			t.Fatalf("callouts per VM %v after the claim's deadline, want [1 1 0 0]", got)
		}
		c.answer(1, c.vms[1].h.Callouts[0].ID, 200, policy("Allow", nil))
		c.deliver()
		for vm := 1; vm < 4; vm++ {
			c.allowed(vm, 10)
		}
		c.pending(0, 10)
	})
}

// candidates returns the two candidate slot keys of token tok for the
// authorizer tok of cluster c (second "" when they coincide).
func (c *cluster) candidates(tok string) (a, b string) {
	c.t.Helper()
	p := pipeline.New(c.vms[0].p.roots[rootID].pipe.Plan())
	r := p.Evaluate(&pipeline.Request{Method: "GET", Target: "/pets/1", Authority: "api.example.com",
		Headers: []pipeline.Header{{Name: "authorization", Value: "Bearer " + tok}}}, c.now)
	if r.Kind != pipeline.KindCall {
		c.t.Fatalf("token %q does not call", tok)
	}
	return crossvm.Slots(p, r.Call)
}

// collidingTokens finds a token whose first candidate is first's, and
// whose second candidate differs from both of first's.
func (c *cluster) collidingTokens(first string) string {
	c.t.Helper()
	fa, fb := c.candidates(first)
	for i := range 10000 {
		tok := "t" + itoa(i)
		a, b := c.candidates(tok)
		if tok != first && a == fa && b != "" && b != fb {
			return tok
		}
	}
	c.t.Fatalf("no token shares %q's first candidate", first)
	return ""
}

// TestSharedTwoChoices: two identities whose first candidate slots
// coincide each keep their answer, the second in its second candidate, so
// a third VM gets both without calling.
func TestSharedTwoChoices(t *testing.T) {
	c := newCluster(t, 3, withConfig("", `"authorizerCache": {"sharedSlots": 16}`))
	bob := c.collidingTokens("alice")
	aliceA, _ := c.candidates("alice")
	_, bobB := c.candidates(bob)
	c.request(0, 10, "alice")
	c.answer(0, c.vms[0].h.Callouts[0].ID, 200, policy("Allow", nil))
	c.request(1, 10, bob)
	c.answer(1, c.vms[1].h.Callouts[0].ID, 200, policy("Allow", nil))
	c.deliver()
	if got, want := c.slotKeys(), []string{aliceA, bobB}; !slices.Equal(got, want) && !slices.Equal(got, []string{bobB, aliceA}) {
		t.Errorf("slot keys %q, want %q", got, want)
	}
	c.request(2, 10, "alice")
	c.request(2, 11, bob)
	if got := c.callouts(); !slices.Equal(got, []int{1, 1, 0}) {
		t.Fatalf("callouts per VM %v, want [1 1 0]", got)
	}
	c.allowed(2, 10)
	c.allowed(2, 11)
	c.counters(map[string]int64{"allow": 4, "cache_miss": 2, "shared_hit": 2})
	for vm := range 3 {
		c.end(vm, 10)
	}
	c.end(2, 11)
	c.empty()
}

// TestSharedTwoChoicesRace: an identity's first candidate holds another
// identity's result that expires between two VMs' reads, so one VM claims
// the second candidate while the other claims the first. The claimer of
// the second candidate finds the other claim when it confirms the first
// candidate, gives its slot up and waits: one call.
func TestSharedTwoChoicesRace(t *testing.T) {
	c := newCluster(t, 3, withConfig("", `"authorizerCache": {"sharedSlots": 16}`))
	bob := c.collidingTokens("alice")
	_, bobB := c.candidates(bob)
	c.request(0, 10, "alice")
	c.answer(0, c.vms[0].h.Callouts[0].ID, 200, policy("Allow", nil))
	c.end(0, 10)
	// VM 1 reads alice's result with 0.5 ms left; VM 2 runs 1 ms later.
	c.advance(300*time.Second - time.Millisecond/2)
	h := c.vms[1].h
	h.BeforeSharedWrite = func(key string) {
		if !isSlot(key) {
			return
		}
		// VM 1's first slot write is its claim of bob's second
		// candidate, after it chose that slot.
		h.BeforeSharedWrite = nil
		if key != bobB {
			t.Errorf("first slot write %q, want %q", key, bobB)
		}
		c.advance(time.Millisecond)
		c.request(2, 10, bob)
	}
	c.request(1, 10, bob)
	if got := c.callouts(); !slices.Equal(got, []int{1, 0, 1}) {
		t.Fatalf("callouts per VM %v, want [1 0 1]", got)
	}
	if v, _ := c.store.Get(bobB); len(v.Value) < 2 || v.Value[1] != 4 {
		t.Errorf("second candidate %q, want a release", v.Value)
	}
	c.answer(2, c.vms[2].h.Callouts[0].ID, 200, policy("Allow", nil))
	c.deliver()
	c.allowed(1, 10)
	c.allowed(2, 10)
	c.end(1, 10)
	c.end(2, 10)
	c.empty()
}

// TestSharedHostCalls pins the host calls of the cross-VM paths: inside
// the wasm VM each one crosses the runtime boundary (and those returning
// data call back into the guest to allocate), so a change to the protocol
// must not add any. The figures are per callback, for the VM named.
func TestSharedHostCalls(t *testing.T) {
	type count struct{ total, gets, sets int }
	measure := func(c *cluster, vm int, f func()) count {
		h := c.vms[vm].h
		before := len(h.Calls)
		f()
		var n count
		for _, call := range h.Calls[before:] {
			n.total++
			switch call.Name {
			case abi.FnGetSharedData:
				n.gets++
			case abi.FnSetSharedData:
				n.sets++
			}
		}
		return n
	}
	c := newCluster(t, 2, testConfig)
	c2 := newCluster(t, 3, withConfig("", `"authorizerCache": {"sharedSlots": 16}`))
	bob := c2.collidingTokens("alice")
	steps := []struct {
		name string
		c    *cluster
		vm   int
		do   func()
		want count
	}{
		// registry, slot (missing), claim: the registry's cas makes the
		// claim a creation.
		{"miss, slot created", c, 0, func() { c.request(0, 10, "abc") }, count{11, 2, 1}},
		{"wait for another VM's claim", c, 1, func() { c.request(1, 10, "abc") }, count{7, 2, 0}},
		{"join a wait in this VM", c, 1, func() { c.request(1, 11, "abc") }, count{4, 0, 0}},
		// publish, registry, resolve + enqueue.
		{"answer and publish", c, 0, func() { c.answer(0, c.vms[0].h.Callouts[0].ID, 200, policy("Allow", nil)) }, count{13, 1, 1}},
		{"woken: two streams served", c, 1, func() { c.deliver() }, count{17, 2, 0}},
		{"miss, expired answer replaced", c, 1, func() {
			for vm, id := range map[int][]uint32{0: {10}, 1: {10, 11}} {
				for _, s := range id {
					c.end(vm, s)
				}
			}
			c.advance(301 * time.Second)
			c.request(1, 20, "abc")
		}, count{11, 2, 1}},
		{"tick: no waits", c, 0, func() { c.tick(0) }, count{1, 0, 0}},
		{"fill alice's slot", c2, 0, func() {
			c2.request(0, 10, "alice")
			c2.answer(0, c2.vms[0].h.Callouts[0].ID, 200, policy("Allow", nil))
		}, count{26, 3, 2}},
		// registry, first (alice's), second (missing), claim, first
		// again, first written back.
		{"miss, second candidate claimed", c2, 1, func() { c2.request(1, 10, bob) }, count{14, 4, 2}},
		{"served from the second candidate", c2, 2, func() {
			c2.answer(1, c2.vms[1].h.Callouts[0].ID, 200, policy("Allow", nil))
			c2.request(2, 10, bob)
		}, count{11, 3, 0}},
	}
	for _, s := range steps {
		if got := measure(s.c, s.vm, s.do); got != s.want {
			t.Errorf("%s: %d host calls (%d shared reads, %d writes), want %d (%d, %d)",
				s.name, got.total, got.gets, got.sets, s.want.total, s.want.gets, s.want.sets)
		}
	}
}
