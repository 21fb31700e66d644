// Package calllog records the events a test authorizer receives, by token,
// so the e2e suite can assert on authorizer call counts and payloads.
package calllog

import (
	"sort"
	"sync"
)

// Log holds events of type E by token, in arrival order. It is safe for
// concurrent use; the zero value is ready.
type Log[E any] struct {
	mu     sync.Mutex
	events map[string][]E
	total  int
}

// Add records e as a call for token.
func (l *Log[E]) Add(token string, e E) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.events == nil {
		l.events = make(map[string][]E)
	}
	l.events[token] = append(l.events[token], e)
	l.total++
}

// AddUnattributed counts a call that carried no token: it shows in Total
// only.
func (l *Log[E]) AddUnattributed() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
}

// Calls reports how many events carried token.
func (l *Log[E]) Calls(token string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events[token])
}

// Events returns a copy of the events received for token, in arrival order.
func (l *Log[E]) Events(token string) []E {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]E(nil), l.events[token]...)
}

// Total reports how many calls were recorded, unattributed ones included.
func (l *Log[E]) Total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// Tokens returns the tokens seen, sorted, for failure messages.
func (l *Log[E]) Tokens() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.events))
	for k := range l.events {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Counts returns the number of calls per token.
func (l *Log[E]) Counts() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.events))
	for k, v := range l.events {
		out[k] = len(v)
	}
	return out
}
