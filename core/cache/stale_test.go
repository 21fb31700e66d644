package cache

import (
	"slices"
	"testing"
	"time"
)

// staleOp is one step of a stale-window scenario: a PutStale, a Get or a
// GetStale.
type staleOp struct {
	kind       byte // 'p' PutStale, 'g' Get, 's' GetStale, 'd' Delete
	key        string
	val        int
	ttl, stale time.Duration
	at         time.Duration
	wantVal    int
	wantFresh  bool
	wantOK     bool
}

func TestCacheStale(t *testing.T) {
	ps := func(key string, val int, ttl, stale, at time.Duration) staleOp {
		return staleOp{kind: 'p', key: key, val: val, ttl: ttl, stale: stale, at: at}
	}
	g := func(key string, at time.Duration, ok bool, val int) staleOp {
		return staleOp{kind: 'g', key: key, at: at, wantOK: ok, wantVal: val}
	}
	s := func(key string, at time.Duration, ok, fresh bool, val int) staleOp {
		return staleOp{kind: 's', key: key, at: at, wantOK: ok, wantFresh: fresh, wantVal: val}
	}
	const m = time.Minute
	tests := []struct {
		name                 string
		maxEntries, maxBytes int
		ops                  []staleOp
		wantKeys             []string
	}{
		{
			name: "fresh for Get and GetStale before ttl", maxEntries: 4, maxBytes: 1000,
			ops:      []staleOp{ps("a", 1, m, m, 0), g("a", m-1, true, 1), s("a", m-1, true, true, 1)},
			wantKeys: []string{"a"},
		},
		{
			name: "at ttl Get misses and keeps the stale entry", maxEntries: 4, maxBytes: 1000,
			ops:      []staleOp{ps("a", 1, m, m, 0), g("a", m, false, 0), s("a", m, true, false, 1)},
			wantKeys: []string{"a"},
		},
		{
			name: "stale one nanosecond before the window ends", maxEntries: 4, maxBytes: 1000,
			ops:      []staleOp{ps("a", 1, m, m, 0), s("a", 2*m-1, true, false, 1)},
			wantKeys: []string{"a"},
		},
		{
			name: "gone for GetStale at the end of the window", maxEntries: 4, maxBytes: 1000,
			ops:      []staleOp{ps("a", 1, m, m, 0), s("a", 2*m, false, false, 0)},
			wantKeys: nil,
		},
		{
			name: "Get removes an entry past its window", maxEntries: 4, maxBytes: 1000,
			ops:      []staleOp{ps("a", 1, m, m, 0), g("a", 2*m, false, 0)},
			wantKeys: nil,
		},
		{
			name: "no window: stale lookups end at ttl", maxEntries: 4, maxBytes: 1000,
			ops:      []staleOp{ps("a", 1, m, 0, 0), s("a", m-1, true, true, 1), s("a", m, false, false, 0)},
			wantKeys: nil,
		},
		{
			name: "negative window is none", maxEntries: 4, maxBytes: 1000,
			ops:      []staleOp{ps("a", 1, m, -m, 0), s("a", m, false, false, 0)},
			wantKeys: nil,
		},
		{
			name: "zero ttl stores nothing even with a window", maxEntries: 4, maxBytes: 1000,
			ops:      []staleOp{ps("a", 1, 0, m, 0), s("a", 0, false, false, 0)},
			wantKeys: nil,
		},
		{
			name: "zero ttl removes an older stale entry", maxEntries: 4, maxBytes: 1000,
			ops:      []staleOp{ps("a", 1, m, m, 0), ps("a", 2, 0, m, m), s("a", m, false, false, 0)},
			wantKeys: nil,
		},
		{
			name: "Put replaces a stale entry and drops its window", maxEntries: 4, maxBytes: 1000,
			ops: []staleOp{
				ps("a", 1, m, time.Hour, 0),
				{kind: 'p', key: "a", val: 2, ttl: m, at: m},
				s("a", 2*m, false, false, 0),
			},
			wantKeys: nil,
		},
		{
			name: "Delete removes a stale entry", maxEntries: 4, maxBytes: 1000,
			ops:      []staleOp{ps("a", 1, m, m, 0), {kind: 'd', key: "a"}, s("a", m, false, false, 0)},
			wantKeys: nil,
		},
		{
			name: "stale GetStale refreshes recency", maxEntries: 2, maxBytes: 1000,
			ops: []staleOp{
				ps("a", 1, m, time.Hour, 0), ps("b", 2, time.Hour, 0, 0),
				s("a", 2*m, true, false, 1),
				ps("c", 3, time.Hour, 0, 2*m),
			},
			wantKeys: []string{"c", "a"},
		},
		{
			name: "stale Get does not refresh recency", maxEntries: 2, maxBytes: 1000,
			ops: []staleOp{
				ps("a", 1, m, time.Hour, 0), ps("b", 2, time.Hour, 0, 0),
				g("a", 2*m, false, 0),
				ps("c", 3, time.Hour, 0, 2*m),
			},
			wantKeys: []string{"c", "b"},
		},
		{
			name: "stale cold entry survives a put, dead one does not", maxEntries: 10, maxBytes: 1000,
			ops: []staleOp{
				ps("a", 1, m, m, 0), ps("b", 2, time.Hour, 0, 0),
				ps("c", 3, time.Hour, 0, m+1), // a is stale: kept
				ps("d", 4, time.Minute, 0, m+2),
				ps("e", 5, time.Hour, 0, 2*m), // a is dead at the cold end: dropped
			},
			wantKeys: []string{"e", "d", "c", "b"},
		},
		{
			name: "entry bound evicts stale entries like others", maxEntries: 1, maxBytes: 1000,
			ops:      []staleOp{ps("a", 1, m, time.Hour, 0), ps("b", 2, m, 0, 0), s("a", m, false, false, 0)},
			wantKeys: []string{"b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New[int](tt.maxEntries, tt.maxBytes)
			for i, o := range tt.ops {
				now := t0.Add(o.at)
				switch o.kind {
				case 'p':
					c.PutStale(o.key, o.val, 1, o.ttl, o.stale, now)
				case 'd':
					c.Delete(o.key)
				case 'g':
					v, ok := c.Get(o.key, now)
					if ok != o.wantOK || v != o.wantVal {
						t.Errorf("op %d: Get(%q) = %d, %v; want %d, %v", i, o.key, v, ok, o.wantVal, o.wantOK)
					}
				case 's':
					v, fresh, ok := c.GetStale(o.key, now)
					if ok != o.wantOK || fresh != o.wantFresh || v != o.wantVal {
						t.Errorf("op %d: GetStale(%q) = %d, %v, %v; want %d, %v, %v", i, o.key, v, fresh, ok, o.wantVal, o.wantFresh, o.wantOK)
					}
				}
			}
			if got := keys(t, c); !slices.Equal(got, tt.wantKeys) {
				t.Errorf("keys = %q, want %q", got, tt.wantKeys)
			}
		})
	}
}
