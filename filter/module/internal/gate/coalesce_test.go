package gate_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/filter/module/abi"
	"github.com/authgate/authgate/filter/module/internal/gate"
	"github.com/authgate/authgate/filter/module/internal/gate/gatetest"
)

// getOnly is an authorizer answer allowing GET only: a DELETE sharing its
// call must still be denied, by its own evaluation.
func getOnly(principal string) string {
	b, _ := json.Marshal(map[string]any{
		"principalId": principal,
		"policyDocument": map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Action": "execute-api:Invoke", "Effect": "Allow",
				"Resource": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/*",
			}},
		},
	})
	return string(b)
}

// workers returns the env's worker and n-1 more, stopped when t ends.
func (v *env) workers(n int) []*gatetest.Worker {
	ws := []*gatetest.Worker{v.w}
	for range n - 1 {
		w := v.e.NewWorker()
		v.t.Cleanup(w.Stop)
		ws = append(ws, w)
	}
	return ws
}

// drain runs every worker until nothing is queued: events posted from one
// worker to another are queued before the poster's task returns.
func drain(ws []*gatetest.Worker) {
	for range 2 {
		for _, w := range ws {
			w.Drain()
		}
	}
}

// burst runs the request-headers hook of every stream at once, each on
// its own worker, and returns the one stream that made a callout.
func (v *env) burst(streams []*gatetest.Stream) *gatetest.Stream {
	v.t.Helper()
	statuses := make([]abi.HeadersStatus, len(streams))
	var wg sync.WaitGroup
	for i, s := range streams {
		wg.Go(func() { statuses[i] = v.headers(s) })
	}
	wg.Wait()
	var leader *gatetest.Stream
	for i, s := range streams {
		if statuses[i] != abi.HeadersStopAllIterationAndWatermark {
			v.t.Fatalf("stream %d: status %v, want paused", i, statuses[i])
		}
		if n := len(s.Callouts()); n > 0 {
			if leader != nil || n > 1 {
				v.t.Fatalf("more than one callout for one identity")
			}
			leader = s
		}
	}
	if leader == nil {
		v.t.Fatal("no stream made the callout")
	}
	return leader
}

// checkEngineStats compares Envoy's stats with the engine's own metrics:
// the engine reports every count to Envoy, so they must agree.
func (v *env) checkEngineStats() {
	v.t.Helper()
	m := v.cfg.Engine().Metrics()
	for name, want := range m.Counters {
		if got := v.stat(name); got != want {
			v.t.Errorf("Envoy stat %s = %d, engine %d", name, got, want)
		}
	}
	for name, h := range m.Histograms {
		if got := v.stat(name); got != h.Count {
			v.t.Errorf("Envoy histogram %s has %d samples, engine %d", name, got, h.Count)
		}
	}
	if calls, waiting := v.cfg.Engine().InFlight(); calls+waiting != 0 {
		v.t.Errorf("left in the engine: %d calls, %d waiting", calls, waiting)
	}
}

// TestCoalescingAcrossWorkers sends a burst of first requests for one
// token on three workers: one stream calls the authorizer, every other
// one waits and is resumed on its own worker (the fake records any stream
// call made elsewhere) with its own result: GETs are allowed, DELETEs
// denied by the same policy.
func TestCoalescingAcrossWorkers(t *testing.T) {
	v := newEnv(t, tokenConfig)
	ws := v.workers(3)
	const n = 30
	streams := make([]*gatetest.Stream, n)
	for i := range n {
		method := "GET"
		if i%5 == 4 {
			method = "DELETE"
		}
		streams[i] = v.stream(ws[i%len(ws)], method, fmt.Sprintf("/pets/%d", i), "authorization", "Bearer burst")
	}
	leader := v.burst(streams)
	v.answer(leader, leader.Callouts()[0].ID, abi.CalloutSuccess, 200, getOnly("carol"))
	drain(ws)

	for i, s := range streams {
		made, open := s.Schedulers()
		switch {
		case s == leader && (made != 0 || len(s.Delivered()) != 0):
			t.Errorf("stream %d (leader): %d schedulers, %d events; want none", i, made, len(s.Delivered()))
		case s != leader && (made != 1 || open != 1 || len(s.Delivered()) != 1):
			t.Errorf("stream %d: %d schedulers (%d open), %d events; want its result through one", i, made, open, len(s.Delivered()))
		}
		if i%5 == 4 {
			if r := s.Responses(); len(r) != 1 || r[0].Status != 403 || s.Continued() != 0 {
				t.Errorf("stream %d (DELETE): responses %+v, continued %d; want one 403", i, r, s.Continued())
			}
			continue
		}
		if len(s.Responses()) != 0 || s.Continued() != 1 || !slices.Equal(header(s.Headers, "x-authorizer-principal-id"), []string{"carol"}) {
			t.Errorf("stream %d (GET): responses %+v, continued %d, principal %q", i, s.Responses(), s.Continued(), header(s.Headers, "x-authorizer-principal-id"))
		}
	}
	for name, want := range map[string]uint64{
		"authgate.jwt.coalesced": n - 1, "authgate.jwt.cache_miss": n, "authgate.jwt.allow": 24,
		"authgate.jwt.deny": 6, "authgate.jwt.authorizer_latency_ms": 1, "authgate.jwt.cache_hit": 0,
	} {
		if got := v.stat(name); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	v.checkEngineStats()

	// The answer is cached for the whole Envoy: another worker hits it.
	hit := v.stream(ws[2], "GET", "/pets/x", "authorization", "Bearer burst")
	if st := v.headers(hit); st != abi.HeadersContinue || len(hit.Callouts()) != 0 {
		t.Errorf("after the burst: status %v, %d callouts; want a cache hit", st, len(hit.Callouts()))
	}
}

// TestWaiterGoesAway destroys one waiter before the answer and another
// after its result was posted but before the event ran: neither is
// touched, and the remaining waiter gets its result.
func TestWaiterGoesAway(t *testing.T) {
	v := newEnv(t, tokenConfig)
	ws := v.workers(3)
	var streams []*gatetest.Stream
	for i := range 4 {
		streams = append(streams, v.stream(ws[i%3], "GET", fmt.Sprintf("/pets/%d", i), "authorization", "Bearer w1"))
	}
	leader := v.burst(streams)
	// Which stream leads is up to the burst; late must be on another
	// worker than the leader, whose worker answers while late's is held.
	var late *gatetest.Stream
	var others []*gatetest.Stream
	for _, s := range streams {
		switch {
		case s == leader:
		case late == nil && s.W != leader.W:
			late = s
		default:
			others = append(others, s)
		}
	}
	early, kept := others[0], others[1]
	early.W.Do(func() { early.Filter.OnStreamComplete(); early.Destroy(); early.Filter.OnDestroy() })

	// Hold late's worker, so that its result is queued behind the hold,
	// and destroy late before the event runs, as Envoy may.
	hold := make(chan struct{})
	late.W.Post(func() { <-hold })
	leader.W.Do(func() {
		body := policy("dave", "Allow")
		leader.Filter.OnCalloutDone(leader, leader.Callouts()[0].ID, abi.CalloutSuccess,
			[]gate.Header{{Name: ":status", Value: "200"}}, []byte(body), len(body))
	})
	late.Destroy()
	late.W.Post(func() { late.Filter.OnStreamComplete(); late.Filter.OnDestroy() })
	close(hold)
	drain(ws)

	for name, s := range map[string]*gatetest.Stream{"destroyed before the answer": early, "destroyed before its event": late} {
		if len(s.Responses()) != 0 || s.Continued() != 0 || len(s.Delivered()) != 0 {
			t.Errorf("%s: responses %+v, continued %d, events %v; want untouched", name, s.Responses(), s.Continued(), s.Delivered())
		}
		if _, open := s.Schedulers(); open != 0 {
			t.Errorf("%s: %d schedulers left open", name, open)
		}
	}
	for name, s := range map[string]*gatetest.Stream{"leader": leader, "waiter": kept} {
		if s.Continued() != 1 || !slices.Equal(header(s.Headers, "x-authorizer-principal-id"), []string{"dave"}) {
			t.Errorf("%s: continued %d, principal %q", name, s.Continued(), header(s.Headers, "x-authorizer-principal-id"))
		}
	}
	// The engine woke kept and late (late's stream went away after), not
	// the waiter it had already let go.
	if got := v.stat("authgate.jwt.coalesced"); got != 2 {
		t.Errorf("coalesced = %d, want 2", got)
	}
	if got := v.stat("authgate.jwt.allow"); got != 2 {
		t.Errorf("allow = %d, want 2 (the requests answered)", got)
	}
	v.checkEngineStats()
}

// TestLeaderGoesAway destroys the stream that leads a call before the
// answer (Envoy cancels its callout): the streams waiting for it are not
// failed; they evaluate again on their own workers, one of them calls,
// and all get the answer.
func TestLeaderGoesAway(t *testing.T) {
	v := newEnv(t, tokenConfig)
	ws := v.workers(3)
	var streams []*gatetest.Stream
	for i := range 5 {
		streams = append(streams, v.stream(ws[i%3], "GET", fmt.Sprintf("/pets/%d", i), "authorization", "Bearer l1"))
	}
	gone := v.burst(streams)
	gone.W.Do(func() { gone.Destroy(); gone.Filter.OnStreamComplete(); gone.Filter.OnDestroy() })
	drain(ws)

	var rest []*gatetest.Stream
	for _, s := range streams {
		if s != gone {
			rest = append(rest, s)
		}
	}
	var next *gatetest.Stream
	for _, s := range rest {
		if len(s.Callouts()) > 0 {
			if next != nil {
				t.Fatal("two waiters called after the leader went away")
			}
			next = s
		}
	}
	if next == nil {
		t.Fatal("no waiter called after the leader went away")
	}
	if !slices.ContainsFunc(v.e.Log(), func(l string) bool { return strings.Contains(l, "evaluating again") }) {
		t.Errorf("no log line for waiters evaluating again")
	}
	v.answer(next, next.Callouts()[0].ID, abi.CalloutSuccess, 200, policy("erin", "Allow"))
	drain(ws)

	if len(gone.Responses()) != 0 || gone.Continued() != 0 {
		t.Errorf("the destroyed leader was answered %+v or continued %d times", gone.Responses(), gone.Continued())
	}
	for i, s := range rest {
		if len(s.Responses()) != 0 || s.Continued() != 1 || !slices.Equal(header(s.Headers, "x-authorizer-principal-id"), []string{"erin"}) {
			t.Errorf("stream %d: responses %+v, continued %d, principal %q", i, s.Responses(), s.Continued(), header(s.Headers, "x-authorizer-principal-id"))
		}
		if made, _ := s.Schedulers(); made != 1 {
			t.Errorf("stream %d: %d schedulers, want 1 for both of its waits", i, made)
		}
	}
	for name, want := range map[string]uint64{
		"authgate.jwt.cache_miss": 4, "authgate.jwt.allow": 4, "authgate.jwt.coalesced": 3,
		"authgate.jwt.error": 0, "authgate.jwt.authorizer_latency_ms": 1,
	} {
		if got := v.stat(name); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	v.checkEngineStats()

	// A leader that goes away without waiters frees the identity at once:
	// the next request calls instead of waiting out the lost call.
	alone := v.stream(ws[0], "GET", "/pets/1", "authorization", "Bearer l2")
	v.headers(alone)
	alone.W.Do(func() { alone.Destroy(); alone.Filter.OnDestroy() })
	after := v.stream(ws[1], "GET", "/pets/1", "authorization", "Bearer l2")
	if st := v.headers(after); st != abi.HeadersStopAllIterationAndWatermark || len(after.Callouts()) != 1 {
		t.Errorf("after a lone leader went away: status %v, %d callouts; want a new call", st, len(after.Callouts()))
	}
}

// TestFailedCallFailsItsWaiters: an authorizer call that fails (Envoy
// resets it) fails closed for every stream sharing it, on every worker,
// counts one timeout, and is not cached.
func TestFailedCallFailsItsWaiters(t *testing.T) {
	v := newEnv(t, tokenConfig)
	ws := v.workers(2)
	var streams []*gatetest.Stream
	for i := range 6 {
		streams = append(streams, v.stream(ws[i%2], "GET", "/pets/1", "authorization", "Bearer f1"))
	}
	leader := v.burst(streams)
	v.answer(leader, leader.Callouts()[0].ID, abi.CalloutReset, 0, "")
	drain(ws)
	for i, s := range streams {
		if r := s.Responses(); len(r) != 1 || r[0].Status != 500 || r[0].Body != `{"message":null}` || s.Continued() != 0 {
			t.Errorf("stream %d: responses %+v, continued %d; want one 500", i, r, s.Continued())
		}
	}
	for name, want := range map[string]uint64{"authgate.jwt.error": 6, "authgate.jwt.error_reset": 6, "authgate.jwt.timeout": 0, "authgate.jwt.coalesced": 5} {
		if got := v.stat(name); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	v.checkEngineStats()
	again := v.stream(ws[1], "GET", "/pets/1", "authorization", "Bearer f1")
	if v.headers(again); len(again.Callouts()) != 1 {
		t.Errorf("after a failed call: %d callouts, want a new call", len(again.Callouts()))
	}
}

// TestPanicFinishesTheCall makes the leader's callout hook panic before it
// reports the answer: the leader and every waiter are answered 500, the
// call is finished (nothing left in the engine), and the next request
// calls again.
func TestPanicFinishesTheCall(t *testing.T) {
	v := newEnv(t, tokenConfig)
	ws := v.workers(2)
	var broken sync.Mutex // held while the clock panics
	var panicking bool
	v.cfg.SetClock(func() time.Time {
		broken.Lock()
		defer broken.Unlock()
		if panicking {
			panic("clock broke")
		}
		return time.Now()
	})
	var streams []*gatetest.Stream
	for i := range 4 {
		streams = append(streams, v.stream(ws[i%2], "GET", "/pets/1", "authorization", "Bearer p1"))
	}
	leader := v.burst(streams)
	broken.Lock()
	panicking = true
	broken.Unlock()
	v.answer(leader, leader.Callouts()[0].ID, abi.CalloutSuccess, 200, policy("frank", "Allow"))
	drain(ws)
	broken.Lock()
	panicking = false
	broken.Unlock()
	for i, s := range streams {
		if r := s.Responses(); len(r) != 1 || r[0].Status != 500 || s.Continued() != 0 {
			t.Errorf("stream %d: responses %+v, continued %d; want one 500", i, r, s.Continued())
		}
	}
	if !slices.ContainsFunc(v.e.Log(), func(l string) bool { return strings.HasPrefix(l, "error: panic in callout answer") }) {
		t.Errorf("no error line for the panic: %q", v.e.Log())
	}
	v.checkEngineStats()
	again := v.stream(ws[0], "GET", "/pets/1", "authorization", "Bearer p1")
	if v.headers(again); len(again.Callouts()) != 1 {
		t.Errorf("after the panic: %d callouts, want a new call", len(again.Callouts()))
	}
}

// TestResultBeforeTheWaiterPauses finishes the call on another worker
// while the waiter's request-headers hook is between the engine and its
// pause: the waiter applies the result in that hook, without a scheduler.
// When the call was abandoned instead, the waiter evaluates again there
// and leads the next call.
func TestResultBeforeTheWaiterPauses(t *testing.T) {
	tests := []struct {
		name    string
		abandon bool
		want    abi.HeadersStatus
	}{
		{name: "answer", want: abi.HeadersContinue},
		{name: "abandoned", abandon: true, want: abi.HeadersStopAllIterationAndWatermark},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t, tokenConfig)
			ws := v.workers(2)
			token := fmt.Sprintf("Bearer e%d", i)
			leader := v.stream(ws[0], "GET", "/pets/1", "authorization", token)
			v.headers(leader)
			waiter := v.stream(ws[1], "GET", "/pets/2", "authorization", token)
			gate.SetAwaitHook(t, func(f *gate.Filter) {
				if f != waiter.Filter {
					return
				}
				leader.W.Do(func() {
					if tt.abandon {
						leader.Destroy()
						leader.Filter.OnDestroy()
						return
					}
					body := policy("gina", "Allow")
					leader.Filter.OnCalloutDone(leader, leader.Callouts()[0].ID, abi.CalloutSuccess,
						[]gate.Header{{Name: ":status", Value: "200"}}, []byte(body), len(body))
				})
			})
			if st := v.headers(waiter); st != tt.want {
				t.Fatalf("waiter's status %v, want %v", st, tt.want)
			}
			drain(ws)
			if made, _ := waiter.Schedulers(); made != 0 || len(waiter.Delivered()) != 0 {
				t.Errorf("waiter made %d schedulers, got %d events; want its result in its hook", made, len(waiter.Delivered()))
			}
			if tt.abandon {
				if len(waiter.Callouts()) != 1 {
					t.Fatalf("waiter made %d callouts, want to lead the next call", len(waiter.Callouts()))
				}
				v.answer(waiter, waiter.Callouts()[0].ID, abi.CalloutSuccess, 200, policy("gina", "Allow"))
				if waiter.Continued() != 1 {
					t.Errorf("waiter continued %d times, want 1", waiter.Continued())
				}
			} else if waiter.Continued() != 0 {
				t.Errorf("waiter continued %d times; an inline allow returns Continue instead", waiter.Continued())
			}
			if got := header(waiter.Headers, "x-authorizer-principal-id"); !slices.Equal(got, []string{"gina"}) {
				t.Errorf("waiter's principal %q", got)
			}
			v.checkEngineStats()
		})
	}
}

// TestHammer sends bursts of requests for a few tokens over three
// workers, then answers calls (allow, deny, reset) and destroys leaders
// and waiters in a random order until nothing is pending. Every stream
// still there must end answered or continued exactly once, allowed ones
// with their own token's principal; no stream may be left waiting with no
// call made for it; nothing may stay in the engine.
func TestHammer(t *testing.T) {
	v := newEnv(t, tokenConfig)
	ws := v.workers(3)
	rng := rand.New(rand.NewPCG(1, 2))
	type tracked struct {
		s         *gatetest.Stream
		token     string
		destroyed bool
		answered  int // callouts answered
	}
	var all []*tracked
	for round := range 20 {
		var burst []*gatetest.Stream
		for i := range 12 {
			tok := fmt.Sprintf("h%d-%d", round, rng.IntN(3))
			s := v.stream(ws[rng.IntN(len(ws))], "GET", fmt.Sprintf("/pets/%d", i), "authorization", "Bearer "+tok)
			all = append(all, &tracked{s: s, token: tok})
			burst = append(burst, s)
		}
		var wg sync.WaitGroup
		for _, s := range burst {
			wg.Go(func() { v.headers(s) })
		}
		wg.Wait()
		for {
			var calling, pending []*tracked
			for _, tr := range all {
				if tr.destroyed || len(tr.s.Responses())+tr.s.Continued() > 0 {
					continue
				}
				pending = append(pending, tr)
				if len(tr.s.Callouts()) > tr.answered {
					calling = append(calling, tr)
				}
			}
			if len(pending) == 0 {
				break
			}
			if len(calling) == 0 {
				t.Fatalf("round %d: %d streams pending, none calling: a waiter was left behind", round, len(pending))
			}
			switch tr := calling[rng.IntN(len(calling))]; rng.IntN(5) {
			case 0:
				// A leader or, as likely, a waiter goes away.
				tr = pending[rng.IntN(len(pending))]
				tr.destroyed = true
				tr.s.W.Do(func() { tr.s.Destroy(); tr.s.Filter.OnStreamComplete(); tr.s.Filter.OnDestroy() })
			case 1:
				tr.answered++
				v.answer(tr.s, tr.s.Callouts()[tr.answered-1].ID, abi.CalloutReset, 0, "")
			case 2:
				tr.answered++
				v.answer(tr.s, tr.s.Callouts()[tr.answered-1].ID, abi.CalloutSuccess, 200, policy("p-"+tr.token, "Deny"))
			default:
				tr.answered++
				v.answer(tr.s, tr.s.Callouts()[tr.answered-1].ID, abi.CalloutSuccess, 200, policy("p-"+tr.token, "Allow"))
			}
			drain(ws)
		}
	}
	outcomes := map[string]int{}
	for i, tr := range all {
		n := len(tr.s.Responses()) + tr.s.Continued()
		switch {
		case tr.destroyed && n > 1, !tr.destroyed && n != 1:
			t.Errorf("stream %d: %d outcomes (destroyed %v)", i, n, tr.destroyed)
		case tr.s.Continued() == 1:
			outcomes["allow"]++
			if got := header(tr.s.Headers, "x-authorizer-principal-id"); !slices.Equal(got, []string{"p-" + tr.token}) {
				t.Errorf("stream %d for %s allowed as %q", i, tr.token, got)
			}
		case n == 1:
			outcomes[fmt.Sprint(tr.s.Responses()[0].Status)]++
		default:
			outcomes["gone"]++
		}
	}
	v.checkEngineStats()
	t.Logf("outcomes %v, coalesced %d", outcomes, v.stat("authgate.jwt.coalesced"))
}
