package native

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCoalescedLogLine: a request that waited for another request's
// authorizer call says cache=coalesced in its line, the one that made the
// call cache=miss.
func TestCoalescedLogLine(t *testing.T) {
	g := newGateway(t)
	g.fa.gate = make(chan struct{})
	var wg sync.WaitGroup
	for _, path := range []string{"/pets/1", "/pets/2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if w := g.do("GET", path, bearer("allow")); w.Code != 200 {
				t.Errorf("%s: %d", path, w.Code)
			}
		}()
	}
	// Both requests are in the engine, one calling and one waiting,
	// before the authorizer answers.
	for {
		if calls, waiting := g.mw.eng.InFlight(); calls == 1 && waiting == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(g.fa.gate)
	wg.Wait()
	logs := g.logs.String()
	if strings.Count(logs, " cache=miss decision=ALLOW") != 1 || strings.Count(logs, " cache=coalesced decision=ALLOW") != 1 {
		t.Errorf("want one miss and one coalesced line:\n%s", logs)
	}
	if n := g.fa.calls.Load(); n != 1 {
		t.Errorf("authorizer calls %d, want 1", n)
	}
}
