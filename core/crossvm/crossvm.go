// Package crossvm is the protocol by which the wasm filter shares
// authorizer answers: between the requests of one VM (one call per
// identity in flight) and between the VMs of one proxy (one call per
// identity per TTL), through the proxy-wasm shared data store, shared
// queues and ticks. It decides everything (keys, values, claims, waits,
// take-overs, whom to wake) and performs nothing: it is a sans-I/O step
// machine, one VM per wasm VM.
//
// The embedding feeds the VM events (a request missed its pipeline's
// cache, a callout answered, a queue message, a tick, a stream or a root
// gone) and gets back a Step: read a key, compare-and-swap a key, read the
// clock, enqueue a message, call the authorizer, answer streams. It
// performs the step and hands the Outcome to Next, which gives the next
// step, until Idle. Each step carries its own continuation, so the
// machine needs no goroutine, no clock and no callback into the host:
//
//	for s := vm.Request(stream, root, call, now); s.Op != crossvm.Idle; {
//		var o crossvm.Outcome
//		switch s.Op {
//		case crossvm.Read:
//			o.Value, o.Cas, o.Status = get(s.Key)
//		case crossvm.Write:
//			o.Status = set(s.Key, s.Value, s.Cas)
//		...
//		}
//		s = vm.Next(s, o)
//	}
//
// The shared store is the one of proxy-wasm (Envoy's, whose rules the
// wazero host and the tests' stores copy): every write gets the next
// value of one counter as its cas, for all keys alike; a write with cas 0
// is unconditional, a write with another cas fails unless it names the
// key's current cas, and a key that does not exist is written whatever
// cas is given. The store never removes a key.
package crossvm

import (
	"time"

	"github.com/authgate/authgate/core/pipeline"
)

// Op is what a Step asks the embedding to do.
type Op uint8

// Op values. The outcome each one reports to Next is given in brackets.
const (
	// Idle: nothing left to do until the next event.
	Idle Op = iota
	// Read the shared data Key [Status OK or Missing, Value and Cas;
	// Failed for any other error].
	Read
	// Write Value to the shared data Key with Cas [Status OK, Mismatch or
	// Failed].
	Write
	// Clock: read the proxy's clock [Now; Status Failed when unreadable].
	Clock
	// Enqueue Message to each queue named in Queues; a queue that cannot
	// be found or written to is skipped [nothing].
	Enqueue
	// Dispatch: send Call to the authorizer, from root context Root so
	// that the callout outlives the request that caused it [Callout, the
	// host's token, or Status Failed].
	Dispatch
	// Settle: give each stream of Answers its final Result [nothing].
	Settle
	// RegisterQueue: register this VM's queue, Name, on root context
	// Root, whose OnQueueReady then delivers its messages to Woken
	// [Status OK or Failed].
	RegisterQueue
	// Ticks: have root context Root ticked every Period [nothing].
	Ticks
	// Log Text at Level [nothing].
	Log
)

// Status is the result of a step against the host.
type Status uint8

// Status values.
const (
	OK       Status = iota
	Missing         // Read: no such key
	Mismatch        // Write: the key's cas is not the one given
	Failed          // anything else
)

// Level is the level of a Log step.
type Level uint8

// Level values.
const (
	Debug Level = iota
	Warn
	Error
)

// Step is one thing for the embedding to do, with the continuation that
// takes its outcome: hand both to VM.Next.
type Step struct {
	Op Op

	Key   string // Read, Write
	Value []byte // Write
	Cas   uint32 // Write

	Queues  []string // Enqueue
	Message []byte   // Enqueue

	Root   uint32         // Dispatch, RegisterQueue, Ticks
	Call   *pipeline.Call // Dispatch
	Name   string         // RegisterQueue
	Period time.Duration  // Ticks

	Answers []Answer // Settle
	// Callout, for a Settle step, is the callout whose answer it gives
	// (zero when the answers did not come from a callout of this VM).
	Callout Callout

	Level Level  // Log
	Text  string // Log

	t    *task
	then cont
}

// Outcome is what performing a Step gave; Next reads the fields its Op
// reports.
type Outcome struct {
	Status  Status
	Value   []byte
	Cas     uint32
	Now     time.Time
	Callout uint32
}

// Answer is the final result for one stream, given by a Settle step.
type Answer struct {
	Stream uint32
	Result pipeline.Result
	// Coalesced: the stream's answer came from another request's call,
	// in this VM or another, not from a call it caused.
	Coalesced bool
}

// Callout names a callout: its root context and the host's token.
// Envoy issues callouts on the root context and numbers them per root.
type Callout struct{ Root, Token uint32 }

// StreamState is how a stream waits for its answer, for its log line.
type StreamState struct {
	// Callout is the token of the callout it waits for; 0 when it waits
	// for another VM's.
	Callout uint32
	// Coalesced: it joined a question another request of this VM asked.
	Coalesced bool
}
