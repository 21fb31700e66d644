// Package proxywasm is authgate's binding of the proxy-wasm ABI v0.2.1 for the
// upstream Go toolchain (GOOS=wasip1, -buildmode=c-shared): the callbacks the
// host calls are exported with //go:wasmexport and forwarded to a Handler, and
// the host functions the filter needs are imported with //go:wasmimport and
// offered as a Host.
//
// Host and Handler are small Go interfaces so that the filter logic compiles
// and is tested natively against the fake in proxywasmtest; only the files
// built for wasip1 touch wasm memory. The names, signatures and enums come
// from the contract package filter/abi; the specification is
// https://github.com/proxy-wasm/spec/tree/main/abi-versions/v0.2.1.
package proxywasm

import (
	"time"

	"github.com/authgate/authgate/filter/abi"
)

// Host is the part of the proxy-wasm host the filter uses. Every call acts on
// the host's current context: the one whose callback is running, or the one
// chosen with SetEffectiveContext.
type Host interface {
	// Log writes msg to the proxy's log at level.
	Log(level abi.LogLevel, msg string)
	// LogLevel reads the lowest level the proxy's log writes: a message
	// below it is discarded by the host, so the filter need not format it.
	LogLevel() (abi.LogLevel, abi.Status)
	// CurrentTime reads the host's wall clock.
	CurrentTime() (time.Time, abi.Status)
	// GetBufferBytes returns up to max bytes from start of a buffer.
	GetBufferBytes(t abi.BufferType, start, max uint32) ([]byte, abi.Status)
	// GetHeaderMapPairs returns every pair of a header map, in order.
	GetHeaderMapPairs(m abi.MapType) ([]abi.Header, abi.Status)
	// ReplaceHeaderMapValue sets a header, adding it when absent.
	ReplaceHeaderMapValue(m abi.MapType, name, value string) abi.Status
	// RemoveHeaderMapValue deletes every value of a header.
	RemoveHeaderMapValue(m abi.MapType, name string) abi.Status
	// GetProperty reads a property given by its path segments
	// ("source", "address").
	GetProperty(path ...string) ([]byte, abi.Status)
	// SendLocalResponse answers the current stream without the upstream.
	// grpcStatus -1 means "not a gRPC answer".
	SendLocalResponse(status uint32, details string, body []byte, headers []abi.Header, grpcStatus int32) abi.Status
	// HTTPCall sends a request to a cluster; the answer arrives later through
	// Handler.OnHTTPCallResponse with the returned callout id.
	HTTPCall(cluster string, headers []abi.Header, body []byte, trailers []abi.Header, timeoutMs uint32) (uint32, abi.Status)
	// ContinueStream resumes a paused stream.
	ContinueStream(s abi.StreamType) abi.Status
	// SetEffectiveContext makes later calls act on context id.
	SetEffectiveContext(id uint32) abi.Status

	// SetTickPeriod asks for Handler.OnTick on the current root context
	// about every ms milliseconds; 0 stops the ticks.
	SetTickPeriod(ms uint32) abi.Status
	// GetSharedData reads a key of the data all VMs of the vm_id share,
	// with the compare-and-swap number of its current value.
	GetSharedData(key string) (value []byte, cas uint32, st abi.Status)
	// SetSharedData writes a key. A cas other than 0 makes the write
	// conditional: it fails with abi.StatusCasMismatch when the key has
	// changed since the read that returned cas. A key that does not exist
	// is always written.
	SetSharedData(key string, value []byte, cas uint32) abi.Status
	// RegisterSharedQueue creates (or takes over) the named queue of this
	// vm_id; its messages are announced to the current root context
	// through Handler.OnQueueReady.
	RegisterSharedQueue(name string) (uint32, abi.Status)
	// ResolveSharedQueue finds a queue another VM registered; vmID ""
	// means this VM's own vm_id.
	ResolveSharedQueue(vmID, name string) (uint32, abi.Status)
	// DequeueSharedQueue takes the oldest message of a queue this VM
	// registered; abi.StatusEmpty when there is none.
	DequeueSharedQueue(id uint32) ([]byte, abi.Status)
	// EnqueueSharedQueue appends a message to a queue.
	EnqueueSharedQueue(id uint32, data []byte) abi.Status
	// DefineMetric creates (or finds) a metric by name.
	DefineMetric(t abi.MetricType, name string) (uint32, abi.Status)
	// IncrementMetric adds delta to a counter or gauge.
	IncrementMetric(id uint32, delta int64) abi.Status
	// RecordMetric records a histogram sample (or sets a counter or gauge).
	RecordMetric(id uint32, value uint64) abi.Status
}

// Handler receives the callbacks of abi.GuestFunctions (except the memory and
// version exports, which the binding answers itself). Implementations must not
// panic; the binding still recovers as a last resort and fails closed.
type Handler interface {
	OnContextCreate(id, parent uint32)
	OnVMStart(root, vmConfigSize uint32) bool
	OnConfigure(root, pluginConfigSize uint32) bool
	OnTick(root uint32)
	OnRequestHeaders(id, headers uint32, endOfStream bool) abi.Action
	OnResponseHeaders(id, headers uint32, endOfStream bool) abi.Action
	OnHTTPCallResponse(id, callout, headers, bodySize, trailers uint32)
	OnQueueReady(root, queue uint32)
	OnLog(id uint32)
	OnDone(id uint32) bool
	OnDelete(id uint32)
}

// Default is the host the module runs in: the imported proxy-wasm functions
// when built for wasip1, nil elsewhere (native builds use proxywasmtest).
var Default Host

var handler Handler

// SetHandler installs the filter. It is called from an init function, before
// the host calls any callback; it performs no host call.
func SetHandler(h Handler) { handler = h }
