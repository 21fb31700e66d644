package calllog

import (
	"slices"
	"sync"
	"testing"
)

func TestLog(t *testing.T) {
	var l Log[int]
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				l.Add([]string{"a", "b"}[g%2], i)
			}
			l.AddUnattributed()
		}()
	}
	wg.Wait()
	if got := l.Calls("a"); got != 200 {
		t.Errorf("Calls(a) = %d, want 200", got)
	}
	if got := l.Calls("missing"); got != 0 {
		t.Errorf("Calls(missing) = %d, want 0", got)
	}
	if got := l.Total(); got != 408 {
		t.Errorf("Total() = %d, want 408 (400 calls and 8 unattributed)", got)
	}
	if got := l.Tokens(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Tokens() = %v", got)
	}
	if got := l.Counts(); got["a"] != 200 || got["b"] != 200 || len(got) != 2 {
		t.Errorf("Counts() = %v", got)
	}
	ev := l.Events("b")
	ev[0] = -1
	if l.Events("b")[0] == -1 {
		t.Error("Events returned the log's own slice")
	}
}
