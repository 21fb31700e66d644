// Package cache is the authorizer result cache: entries expire after a TTL,
// the cache is bounded by entry count and bytes, and the least recently used
// entry is evicted first. Time is passed in; the cache never reads a clock.
package cache

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// entry is one cached value, linked into the recency list. The links live
// in the entry itself so that a hit moves pointers and allocates nothing.
type entry[V any] struct {
	key     string
	value   V
	size    int // accounted bytes: the caller's size plus len(key)
	expires time.Time
	// keep is when the entry is dropped: expires plus the stale window
	// given to PutStale. Between expires and keep only GetStale sees it.
	keep       time.Time
	prev, next *entry[V]
}

// Cache maps keys to values of type V. It is safe for concurrent use.
//
// An entry is fresh while now is before its expiry (now < put time + ttl);
// at the expiry instant it is already gone for Get. An entry stored with a
// stale window (PutStale) stays stale, visible to GetStale only, until
// expiry + window. Entries past that point are removed when a lookup finds
// them, and otherwise age out through LRU eviction.
type Cache[V any] struct {
	mu         sync.Mutex
	items      map[string]*entry[V]
	root       entry[V] // sentinel: root.next is the most recently used entry, root.prev the least
	maxEntries int
	maxBytes   int
	bytes      int
}

// New returns a cache holding at most maxEntries entries and maxBytes bytes
// (as reported by the sizes given to Put). A bound of zero or less makes a
// cache that stores nothing, so a misconfigured bound cannot turn into an
// unbounded cache.
func New[V any](maxEntries, maxBytes int) *Cache[V] {
	c := &Cache[V]{
		items:      make(map[string]*entry[V]),
		maxEntries: maxEntries,
		maxBytes:   maxBytes,
	}
	c.root.next = &c.root
	c.root.prev = &c.root
	return c
}

// Get returns the value for key if present and not expired at now. A hit
// marks the entry most recently used; an expired entry is removed.
func (c *Cache[V]) Get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	if !now.Before(e.expires) {
		// A stale entry stays for GetStale; only a dead one is dropped.
		// Neither counts as a use, so neither moves in the recency list.
		if !now.Before(e.keep) {
			c.remove(e)
		}
		var zero V
		return zero, false
	}
	c.unlink(e)
	c.pushFront(e)
	return e.value, true
}

// GetStale returns the value for key if it is fresh or stale at now; fresh
// says which. It serves an answer when a newer one cannot be had (the
// authorizer failed), so a stale hit is a use and marks the entry most
// recently used like a fresh one. An entry past its stale window is removed.
func (c *Cache[V]) GetStale(key string, now time.Time) (v V, fresh bool, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found := c.items[key]
	if !found {
		return v, false, false
	}
	if !now.Before(e.keep) {
		c.remove(e)
		return v, false, false
	}
	c.unlink(e)
	c.pushFront(e)
	return e.value, now.Before(e.expires), true
}

// Delete removes the entry under key, fresh or stale, if there is one.
func (c *Cache[V]) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.remove(e)
	}
}

// Put stores v under key until now+ttl, accounting size bytes (plus the key),
// and evicts least recently used entries until the bounds hold. A ttl <= 0 or
// an entry larger than the byte bound stores nothing.
//
// Put replaces any entry already under key, taking its new size and expiry.
// When it stores nothing it still removes the old entry: the caller has a
// newer answer for the key, and the old one must not be served in its place.
// A negative size counts as zero.
func (c *Cache[V]) Put(key string, v V, size int, ttl time.Duration, now time.Time) {
	c.PutStale(key, v, size, ttl, 0, now)
}

// PutStale is Put with a stale window: the entry is fresh until now+ttl, as
// with Put, and then stale until now+ttl+stale, when only GetStale returns
// it. A stale window <= 0 is none. Bounds and eviction are Put's: a stale
// entry takes its place in the recency list and its bytes like any other.
func (c *Cache[V]) PutStale(key string, v V, size int, ttl, stale time.Duration, now time.Time) {
	size = max(size, 0) + len(key)
	stale = max(stale, 0)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.items[key]; ok {
		c.remove(old)
	}
	if ttl <= 0 || c.maxEntries <= 0 || size > c.maxBytes {
		return
	}
	// A dead entry (past expiry and stale window) at the cold end is
	// dropped first, so such entries do not linger until the bounds force them out.
	if last := c.root.prev; last != &c.root && !now.Before(last.keep) {
		c.remove(last)
	}
	for len(c.items) >= c.maxEntries || c.bytes+size > c.maxBytes {
		c.remove(c.root.prev)
	}
	expires := now.Add(ttl)
	e := &entry[V]{key: key, value: v, size: size, expires: expires, keep: expires.Add(stale)}
	c.items[key] = e
	c.bytes += size
	c.pushFront(e)
}

// Len is the number of entries, Bytes their accounted size.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// Bytes is the accounted size of the entries: the sizes given to Put plus
// the lengths of their keys.
func (c *Cache[V]) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// remove drops e from the map, the list and the byte count.
func (c *Cache[V]) remove(e *entry[V]) {
	c.unlink(e)
	delete(c.items, e.key)
	c.bytes -= e.size
}

func (c *Cache[V]) unlink(e *entry[V]) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

func (c *Cache[V]) pushFront(e *entry[V]) {
	e.prev = &c.root
	e.next = c.root.next
	c.root.next.prev = e
	c.root.next = e
}

// Key builds a cache key from an authorizer name and its identity values so
// that different inputs can never produce the same key (each part is length
// prefixed).
//
// Each part is written as its length in decimal, a ':' and the part's bytes
// ("3:jwt6:Bearer..."). Reading a key back from the start is unambiguous,
// so two different lists of parts always give two different keys, whatever
// bytes the parts contain.
func Key(authorizer string, identity ...string) string {
	n := partLen(authorizer)
	for _, s := range identity {
		n += partLen(s)
	}
	// A Builder hands its buffer over as the string: one allocation.
	var b strings.Builder
	b.Grow(n)
	writePart(&b, authorizer)
	for _, s := range identity {
		writePart(&b, s)
	}
	return b.String()
}

// partLen is the encoded length of one part, so that the key is built in a
// buffer of exactly its size (keys stay in memory as long as their entry).
func partLen(s string) int {
	n := len(s) + 2
	for l := len(s); l >= 10; l /= 10 {
		n++
	}
	return n
}

func writePart(b *strings.Builder, s string) {
	var num [20]byte
	b.Write(strconv.AppendInt(num[:0], int64(len(s)), 10))
	b.WriteByte(':')
	b.WriteString(s)
}
