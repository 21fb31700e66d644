// Package gate is authgate's logic inside Envoy's dynamic-module HTTP
// filter: it turns the hooks Envoy calls on each stream into core/pipeline
// steps and carries out their results. It talks to Envoy only through the
// small interfaces in this file, so it builds without cgo and its tests run
// natively against the fake in gatetest; the cgo binding in filter/module
// implements them over Envoy's C callbacks.
//
// Threading. Envoy calls a stream's hooks on the worker thread that owns the
// stream, one at a time, and a Stream may be used only there, inside a hook
// of that stream. A Config is shared by every worker (one Go runtime, one
// pipeline and cache). To act on a paused stream from elsewhere (another
// worker's callout, a goroutine), Filter.Post hands a continuation to the
// stream's Scheduler, whose Commit is safe from any thread: Envoy then calls
// the scheduled hook on the stream's own worker, where the continuation
// runs with the Stream. Nothing in this package blocks a worker.
package gate

import "github.com/authgate/authgate/filter/module/abi"

// Header is one header name and value.
type Header struct {
	Name, Value string
}

// Stream is Envoy's side of one HTTP stream. Its methods must be called on
// the stream's worker thread, inside one of the stream's hooks.
type Stream interface {
	// RequestHeaders returns every request header, pseudo headers
	// included, in Envoy's order, copied out of Envoy's memory.
	RequestHeaders() []Header
	// Attribute reads one of Envoy's request attributes as a string.
	Attribute(id abi.AttributeID) (string, bool)
	// SetRequestHeader replaces every value of a request header with one.
	SetRequestHeader(name, value string) bool
	// RemoveRequestHeader deletes every value of a request header.
	RemoveRequestHeader(name string) bool
	// SendResponse answers the stream locally; Envoy's upstream never sees
	// the request. details is Envoy's %RESPONSE_CODE_DETAILS%.
	SendResponse(status int, headers []Header, body []byte, details string)
	// Callout sends an HTTP request to a cluster. On CalloutInitSuccess
	// the answer arrives later, on this worker, through the filter's
	// OnCalloutDone with the returned id, unless the stream is destroyed
	// first (Envoy then cancels the callout).
	Callout(cluster string, headers []Header, body []byte, timeoutMs uint64) (uint64, abi.CalloutInit)
	// ContinueDecoding resumes a stream paused in its request headers.
	ContinueDecoding()
	// NewScheduler makes the scheduler that hops back onto this stream's
	// worker thread.
	NewScheduler() Scheduler
}

// Scheduler posts events to one stream's worker thread.
type Scheduler interface {
	// Commit asks Envoy to call the stream's scheduled hook with eventID
	// on the stream's worker thread; safe from any thread. Envoy drops the
	// event when the stream is gone by then.
	Commit(eventID uint64)
	// Close releases the scheduler; Commit may not be called after it.
	Close()
}

// Host is Envoy's process-wide side: its log. Safe from any thread.
type Host interface {
	// Log writes msg to Envoy's log under the dynamic_modules component.
	Log(level abi.LogLevel, msg string)
	// LogEnabled reports whether Envoy writes lines at level, so that a
	// line nobody reads is never formatted.
	LogEnabled(level abi.LogLevel) bool
}

// Metrics are the stats of one filter configuration. Define may be called
// only while the configuration is created (Envoy freezes definitions
// after); Increment and Record only on Envoy's threads.
type Metrics interface {
	DefineCounter(name string) (uint64, abi.MetricsResult)
	DefineHistogram(name string) (uint64, abi.MetricsResult)
	IncrementCounter(id, delta uint64) abi.MetricsResult
	RecordHistogram(id, value uint64) abi.MetricsResult
}
