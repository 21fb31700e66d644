package gate

import "time"

// SetClock replaces the clock of c, for tests that move time or make it
// fail.
func (c *Config) SetClock(now func() time.Time) { c.now = now }

// SetAwaitHook makes fn run whenever a stream starts to wait, until the
// test ends.
func SetAwaitHook(t interface{ Cleanup(func()) }, fn func(*Filter)) {
	testHookAwait = fn
	t.Cleanup(func() { testHookAwait = nil })
}
