package engine

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/authgate/authgate/core/pipeline"
)

// TestHammer runs many requests for a few identities from many goroutines,
// as Envoy's workers and net/http's goroutines do: leaders answer at
// random (a result naming their identity, a failure, Unauthorized), finish
// on their own goroutine or hand the answer to another, or go away and
// abandon their call (whose waiters then evaluate again), and waiters go
// away at random. Every continuation must run exactly once unless Cancel
// said it would not, every allowed request must carry its own identity's
// answer, and nothing may stay in flight. Run it with -race.
func TestHammer(t *testing.T) {
	const (
		workers  = 16
		requests = 300
		keys     = 24
	)
	e := newEngine(t)
	type waited struct {
		wakes     atomic.Int32
		cancelled bool // Cancel returned true
	}
	var (
		mu        sync.Mutex
		waits     []*waited
		delivered atomic.Int64
		again     atomic.Int64 // results that said "evaluate again"
		finishers sync.WaitGroup
	)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range requests {
				tok := "k" + strconv.Itoa(rng.IntN(keys))
				path := "/off"
				if rng.IntN(4) == 0 {
					path = "/pos"
				}
			retry:
				w := &waited{}
				done := make(chan pipeline.Result, 1)
				s := e.Evaluate(request("GET", path, tok), t0, func(r pipeline.Result) {
					if w.wakes.Add(1) == 1 {
						done <- r
					}
				})
				var res pipeline.Result
				switch {
				case s.Lead != nil && rng.IntN(10) == 0:
					// The leader's request goes away with its call.
					runtime.Gosched()
					e.Abandon(s.Lead)
					continue
				case s.Lead != nil:
					ans := Answer{Response: answerFor(tok), Sent: true}
					switch rng.IntN(8) {
					case 0:
						ans.Response = failed
					case 1:
						ans.Response = unauthorized
					}
					runtime.Gosched()
					if rng.IntN(2) == 0 {
						res = e.Finish(s.Lead, ans, t0)
						break
					}
					// Another thread reports the answer, as an Envoy
					// callout's completion may arrive elsewhere.
					out := make(chan pipeline.Result, 1)
					finishers.Go(func() { out <- e.Finish(s.Lead, ans, t0) })
					res = <-out
				case s.Wait != nil:
					mu.Lock()
					waits = append(waits, w)
					mu.Unlock()
					if rng.IntN(10) == 0 && e.Cancel(s.Wait) {
						w.cancelled = true
						continue
					}
					res = <-done
					delivered.Add(1)
					if res.Kind == pipeline.KindCall {
						again.Add(1)
						goto retry
					}
				default:
					res = s.Result
				}
				switch res.Kind {
				case pipeline.KindAllow:
					if got := principal(res); got != "p-"+tok {
						t.Errorf("request for %s allowed with principal %q", tok, got)
					}
				case pipeline.KindReject:
				default:
					t.Errorf("request for %s: %v result", tok, res.Kind)
				}
			}
		})
	}
	wg.Wait()
	finishers.Wait()
	woken := int64(0)
	for _, w := range waits {
		n := w.wakes.Load()
		switch {
		case w.cancelled && n != 0:
			t.Errorf("a cancelled waiter was woken %d times", n)
		case !w.cancelled && n != 1:
			t.Errorf("a waiter was woken %d times", n)
		}
		woken += int64(n)
	}
	if woken != delivered.Load() {
		t.Errorf("%d wakes, %d results received", woken, delivered.Load())
	}
	m := e.Metrics()
	if got := m.Counters["authgate.off.coalesced"] + m.Counters["authgate.pos.coalesced"]; int64(got) != woken-again.Load() {
		t.Errorf("coalesced = %d, want the %d wakes with a result", got, woken-again.Load())
	}
	if calls, waiting := e.InFlight(); calls+waiting != 0 {
		t.Errorf("left in flight: %d calls, %d waiting", calls, waiting)
	}
	if again.Load() == 0 {
		t.Errorf("no waiter of an abandoned call: the hammer did not reach Abandon's path")
	}
	t.Logf("%d waits, %d woken, %d to evaluate again", len(waits), woken, again.Load())
}

func principal(r pipeline.Result) string {
	for _, h := range r.Set {
		if h.Name == pipeline.PrincipalHeader {
			return h.Value
		}
	}
	return ""
}
