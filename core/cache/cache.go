// Package cache is the authorizer result cache: entries expire after a TTL,
// the cache is bounded by entry count and bytes, and the least recently used
// entry is evicted first. Time is passed in; the cache never reads a clock.
package cache

import "time"

// Cache maps keys to values of type V. It is safe for concurrent use.
type Cache[V any] struct {
	// TODO
}

// New returns a cache holding at most maxEntries entries and maxBytes bytes
// (as reported by the sizes given to Put).
func New[V any](maxEntries, maxBytes int) *Cache[V] { panic("TODO") }

// Get returns the value for key if present and not expired at now. A hit
// marks the entry most recently used; an expired entry is removed.
func (c *Cache[V]) Get(key string, now time.Time) (V, bool) { panic("TODO") }

// Put stores v under key until now+ttl, accounting size bytes (plus the key),
// and evicts least recently used entries until the bounds hold. A ttl <= 0 or
// an entry larger than the byte bound stores nothing.
func (c *Cache[V]) Put(key string, v V, size int, ttl time.Duration, now time.Time) {
	panic("TODO")
}

// Len is the number of entries, Bytes their accounted size.
func (c *Cache[V]) Len() int   { panic("TODO") }
func (c *Cache[V]) Bytes() int { panic("TODO") }

// Key builds a cache key from an authorizer name and its identity values so
// that different inputs can never produce the same key (each part is length
// prefixed).
func Key(authorizer string, identity ...string) string { panic("TODO") }
