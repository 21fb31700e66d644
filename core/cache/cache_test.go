package cache

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

// keys lists the cache's keys from most to least recently used, checking
// the list links and the accounting on the way.
func keys[V any](t *testing.T, c *Cache[V]) []string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	bytes := 0
	for e := c.root.next; e != &c.root; e = e.next {
		if e.next.prev != e {
			t.Fatalf("broken link after %q", e.key)
		}
		if c.items[e.key] != e {
			t.Fatalf("list entry %q is not the map's", e.key)
		}
		bytes += e.size
		out = append(out, e.key)
	}
	if len(out) != len(c.items) {
		t.Fatalf("list has %d entries, map %d", len(out), len(c.items))
	}
	if bytes != c.bytes {
		t.Fatalf("entries add up to %d bytes, cache says %d", bytes, c.bytes)
	}
	return out
}

// op is one step of a cache scenario.
type op struct {
	put     bool
	key     string
	val     int
	size    int
	ttl     time.Duration
	at      time.Duration // offset from t0
	wantVal int
	wantHit bool
}

func put(key string, val, size int, ttl, at time.Duration) op {
	return op{put: true, key: key, val: val, size: size, ttl: ttl, at: at}
}

func get(key string, at time.Duration, hit bool, val int) op {
	return op{key: key, at: at, wantHit: hit, wantVal: val}
}

func TestCache(t *testing.T) {
	tests := []struct {
		name                 string
		maxEntries, maxBytes int
		ops                  []op
		wantKeys             []string // most recently used first
		wantBytes            int
	}{
		{
			name: "hit", maxEntries: 4, maxBytes: 1000,
			ops:      []op{put("a", 1, 10, time.Minute, 0), get("a", time.Second, true, 1)},
			wantKeys: []string{"a"}, wantBytes: 11,
		},
		{
			name: "miss", maxEntries: 4, maxBytes: 1000,
			ops:      []op{put("a", 1, 10, time.Minute, 0), get("b", 0, false, 0)},
			wantKeys: []string{"a"}, wantBytes: 11,
		},
		{
			name: "fresh one nanosecond before expiry", maxEntries: 4, maxBytes: 1000,
			ops:      []op{put("a", 1, 10, time.Minute, 0), get("a", time.Minute-1, true, 1)},
			wantKeys: []string{"a"}, wantBytes: 11,
		},
		{
			name: "expired exactly at expiry and removed", maxEntries: 4, maxBytes: 1000,
			ops:      []op{put("a", 1, 10, time.Minute, 0), get("a", time.Minute, false, 0)},
			wantKeys: nil, wantBytes: 0,
		},
		{
			name: "expired after expiry", maxEntries: 4, maxBytes: 1000,
			ops:      []op{put("a", 1, 10, time.Minute, 0), get("a", time.Hour, false, 0)},
			wantKeys: nil, wantBytes: 0,
		},
		{
			name: "zero ttl stores nothing", maxEntries: 4, maxBytes: 1000,
			ops:      []op{put("a", 1, 10, 0, 0), get("a", 0, false, 0)},
			wantKeys: nil, wantBytes: 0,
		},
		{
			name: "negative ttl removes the existing entry", maxEntries: 4, maxBytes: 1000,
			ops:      []op{put("a", 1, 10, time.Minute, 0), put("a", 2, 10, -time.Second, 0), get("a", 0, false, 0)},
			wantKeys: nil, wantBytes: 0,
		},
		{
			name: "replace updates value size and expiry", maxEntries: 4, maxBytes: 1000,
			ops: []op{
				put("a", 1, 10, time.Minute, 0), put("b", 2, 5, time.Hour, 0),
				put("a", 3, 20, 2*time.Minute, 30*time.Second),
				get("a", 2*time.Minute, true, 3),
			},
			wantKeys: []string{"a", "b"}, wantBytes: 21 + 6,
		},
		{
			name: "replace with a shorter ttl expires sooner", maxEntries: 4, maxBytes: 1000,
			ops: []op{
				put("a", 1, 10, time.Hour, 0), put("a", 2, 10, time.Second, 0),
				get("a", time.Second, false, 0),
			},
			wantKeys: nil, wantBytes: 0,
		},
		{
			name: "entry bound evicts least recently used", maxEntries: 2, maxBytes: 1000,
			ops: []op{
				put("a", 1, 1, time.Hour, 0), put("b", 2, 1, time.Hour, 0),
				put("c", 3, 1, time.Hour, 0),
				get("a", 0, false, 0), get("b", 0, true, 2), get("c", 0, true, 3),
			},
			wantKeys: []string{"c", "b"}, wantBytes: 4,
		},
		{
			name: "get refreshes recency", maxEntries: 2, maxBytes: 1000,
			ops: []op{
				put("a", 1, 1, time.Hour, 0), put("b", 2, 1, time.Hour, 0),
				get("a", 0, true, 1),
				put("c", 3, 1, time.Hour, 0),
				get("b", 0, false, 0),
			},
			wantKeys: []string{"c", "a"}, wantBytes: 4,
		},
		{
			name: "replace refreshes recency", maxEntries: 2, maxBytes: 1000,
			ops: []op{
				put("a", 1, 1, time.Hour, 0), put("b", 2, 1, time.Hour, 0),
				put("a", 4, 1, time.Hour, 0),
				put("c", 3, 1, time.Hour, 0),
			},
			wantKeys: []string{"c", "a"}, wantBytes: 4,
		},
		{
			name: "byte bound evicts until the new entry fits", maxEntries: 10, maxBytes: 100,
			ops: []op{
				put("a", 1, 39, time.Hour, 0), put("b", 2, 39, time.Hour, 0), // 40 + 40
				put("c", 3, 29, time.Hour, 0), // 30: 110 > 100, a goes
			},
			wantKeys: []string{"c", "b"}, wantBytes: 70,
		},
		{
			name: "byte bound evicts several", maxEntries: 10, maxBytes: 100,
			ops: []op{
				put("a", 1, 29, time.Hour, 0), put("b", 2, 29, time.Hour, 0), put("c", 3, 29, time.Hour, 0),
				put("d", 4, 69, time.Hour, 0),
			},
			wantKeys: []string{"d", "c"}, wantBytes: 100,
		},
		{
			name: "entry exactly at the byte bound is stored", maxEntries: 10, maxBytes: 100,
			ops:      []op{put("a", 1, 10, time.Hour, 0), put("b", 2, 99, time.Hour, 0)},
			wantKeys: []string{"b"}, wantBytes: 100,
		},
		{
			name: "entry larger than the byte bound is not stored", maxEntries: 10, maxBytes: 100,
			ops:      []op{put("a", 1, 10, time.Hour, 0), put("b", 2, 100, time.Hour, 0)},
			wantKeys: []string{"a"}, wantBytes: 11,
		},
		{
			name: "oversized replacement removes the old entry", maxEntries: 10, maxBytes: 100,
			ops:      []op{put("a", 1, 10, time.Hour, 0), put("a", 2, 100, time.Hour, 0)},
			wantKeys: nil, wantBytes: 0,
		},
		{
			name: "key length counts", maxEntries: 10, maxBytes: 10,
			ops:      []op{put("0123456789", 1, 1, time.Hour, 0)},
			wantKeys: nil, wantBytes: 0,
		},
		{
			name: "negative size counts as zero", maxEntries: 10, maxBytes: 10,
			ops:      []op{put("a", 1, -50, time.Hour, 0)},
			wantKeys: []string{"a"}, wantBytes: 1,
		},
		{
			name: "zero entry bound stores nothing", maxEntries: 0, maxBytes: 100,
			ops:      []op{put("a", 1, 1, time.Hour, 0)},
			wantKeys: nil, wantBytes: 0,
		},
		{
			name: "zero byte bound stores nothing", maxEntries: 10, maxBytes: 0,
			ops:      []op{put("a", 1, 1, time.Hour, 0)},
			wantKeys: nil, wantBytes: 0,
		},
		{
			name: "expired cold entry is dropped on put", maxEntries: 10, maxBytes: 100,
			ops: []op{
				put("a", 1, 1, time.Second, 0), put("b", 2, 1, time.Hour, 0),
				put("c", 3, 1, time.Hour, 2*time.Second),
			},
			wantKeys: []string{"c", "b"}, wantBytes: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New[int](tt.maxEntries, tt.maxBytes)
			for i, o := range tt.ops {
				now := t0.Add(o.at)
				if o.put {
					c.Put(o.key, o.val, o.size, o.ttl, now)
					continue
				}
				v, ok := c.Get(o.key, now)
				if ok != o.wantHit || v != o.wantVal {
					t.Errorf("op %d: Get(%q) = %d, %v; want %d, %v", i, o.key, v, ok, o.wantVal, o.wantHit)
				}
			}
			if got := keys(t, c); !slices.Equal(got, tt.wantKeys) {
				t.Errorf("keys = %q, want %q", got, tt.wantKeys)
			}
			if got := c.Bytes(); got != tt.wantBytes {
				t.Errorf("Bytes() = %d, want %d", got, tt.wantBytes)
			}
			if got := c.Len(); got != len(tt.wantKeys) {
				t.Errorf("Len() = %d, want %d", got, len(tt.wantKeys))
			}
		})
	}
}

// TestCacheHammer runs Get and Put from many goroutines over a small key
// space (run with -race) and then checks that the bounds and links held.
func TestCacheHammer(t *testing.T) {
	const (
		workers    = 8
		iterations = 5000
		maxEntries = 50
		maxBytes   = 2000
	)
	c := New[*int](maxEntries, maxBytes)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range iterations {
				key := "k" + strconv.Itoa((i*7+w*13)%120)
				now := t0.Add(time.Duration(i) * time.Millisecond)
				switch i % 5 {
				case 0, 1:
					v := i
					c.Put(key, &v, (i%60)+1, time.Duration(i%300)*time.Millisecond, now)
				default:
					if v, ok := c.Get(key, now); ok && v == nil {
						t.Error("hit returned a nil value")
					}
				}
				if i%500 == 0 {
					_, _ = c.Len(), c.Bytes()
				}
			}
		}()
	}
	wg.Wait()
	got := keys(t, c)
	if len(got) > maxEntries {
		t.Errorf("%d entries, bound %d", len(got), maxEntries)
	}
	if b := c.Bytes(); b > maxBytes || b < 0 {
		t.Errorf("%d bytes, bound %d", b, maxBytes)
	}
}

func TestKeyDistinct(t *testing.T) {
	tests := []struct {
		name string
		a, b []string // authorizer first, then identity
	}{
		{name: "separator moved between authorizer and identity", a: []string{"x", "a|b"}, b: []string{"x|a", "b"}},
		{name: "byte moved between parts", a: []string{"ab", "c"}, b: []string{"a", "bc"}},
		{name: "two parts against one with NUL", a: []string{"a", "b", "c"}, b: []string{"a", "b\x00c"}},
		{name: "empty trailing part", a: []string{"a"}, b: []string{"a", ""}},
		{name: "two empty parts against one", a: []string{"a", "", ""}, b: []string{"a", ""}},
		{name: "length prefix lookalike", a: []string{"a", "1:b"}, b: []string{"a", "", "b"}},
		{name: "colon in authorizer", a: []string{"1:a"}, b: []string{"", "a"}},
		{name: "digits in part", a: []string{"a", "12", "3"}, b: []string{"a", "1", "23"}},
		{name: "order of identity", a: []string{"a", "x", "y"}, b: []string{"a", "y", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka, kb := Key(tt.a[0], tt.a[1:]...), Key(tt.b[0], tt.b[1:]...)
			if ka == kb {
				t.Errorf("Key(%q) == Key(%q) == %q", tt.a, tt.b, ka)
			}
		})
	}
}

func TestKeyFormat(t *testing.T) {
	tests := []struct {
		name  string
		parts []string
		want  string
	}{
		{name: "authorizer only", parts: []string{"jwt"}, want: "3:jwt"},
		{name: "token", parts: []string{"jwt", "Bearer abc"}, want: "3:jwt10:Bearer abc"},
		{name: "empty parts", parts: []string{"", ""}, want: "0:0:"},
		{name: "several", parts: []string{"r", "a", "bc", ""}, want: "1:r1:a2:bc0:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Key(tt.parts[0], tt.parts[1:]...); got != tt.want {
				t.Errorf("Key(%q) = %q, want %q", tt.parts, got, tt.want)
			}
		})
	}
}

// FuzzKey checks that Key is injective: two lists of parts give the same
// key exactly when they are the same list.
func FuzzKey(f *testing.F) {
	f.Add("x", "a|b", "", uint8(1), "x|a", "b", "", uint8(1))
	f.Add("ab", "c", "", uint8(1), "a", "bc", "", uint8(1))
	f.Add("a", "b", "c", uint8(2), "a", "b\x00c", "", uint8(1))
	f.Add("a", "", "", uint8(0), "a", "", "", uint8(1))
	f.Add("a", "1:b", "", uint8(1), "a", "", "b", uint8(2))
	f.Add("same", "x", "y", uint8(2), "same", "x", "y", uint8(2))
	f.Fuzz(func(t *testing.T, a0, a1, a2 string, an uint8, b0, b1, b2 string, bn uint8) {
		pa := []string{a1, a2}[:an%3]
		pb := []string{b1, b2}[:bn%3]
		ka, kb := Key(a0, pa...), Key(b0, pb...)
		same := a0 == b0 && slices.Equal(pa, pb)
		if (ka == kb) != same {
			t.Fatalf("Key(%q, %q) = %q, Key(%q, %q) = %q", a0, pa, ka, b0, pb, kb)
		}
	})
}

func BenchmarkGetHit(b *testing.B) {
	c := New[*int](1000, 1<<20)
	v := 1
	ks := make([]string, 100)
	for i := range ks {
		ks[i] = Key("jwt", fmt.Sprintf("Bearer token-%d", i))
		c.Put(ks[i], &v, 100, time.Hour, t0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := c.Get(ks[i%len(ks)], t0); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkGetMiss(b *testing.B) {
	c := New[*int](1000, 1<<20)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, ok := c.Get("absent", t0); ok {
			b.Fatal("hit")
		}
	}
}

func BenchmarkPutEvict(b *testing.B) {
	c := New[*int](100, 1<<20)
	v := 1
	ks := make([]string, 1000)
	for i := range ks {
		ks[i] = Key("jwt", fmt.Sprintf("Bearer token-%d", i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Put(ks[i%len(ks)], &v, 100, time.Hour, t0)
	}
}

func BenchmarkKey(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = Key("jwt", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc", "tenant-1")
	}
}

// TestGetHitDoesNotAllocate pins the 0-allocation hit path outside the
// benchmarks, so a regression fails the ordinary test run.
func TestGetHitDoesNotAllocate(t *testing.T) {
	c := New[*int](10, 1000)
	v := 1
	c.Put("k", &v, 1, time.Hour, t0)
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := c.Get("k", t0); !ok {
			t.Fatal("miss")
		}
	})
	if allocs != 0 {
		t.Errorf("Get hit allocates %v times, want 0", allocs)
	}
}

func TestKeyExactCapacity(t *testing.T) {
	tests := []struct {
		name  string
		parts []string
	}{
		{name: "short", parts: []string{"jwt", "abc"}},
		{name: "ten bytes", parts: []string{"jwt", "0123456789"}},
		{name: "long", parts: []string{"jwt", string(make([]byte, 12345))}},
		{name: "empty", parts: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			for _, p := range tt.parts {
				n += partLen(p)
			}
			if got := len(Key(tt.parts[0], tt.parts[1:]...)); got != n {
				t.Errorf("len(Key) = %d, partLen sum = %d", got, n)
			}
		})
	}
}
