//go:build wasip1

package proxywasm

import (
	"strings"
	"time"

	"github.com/authgate/authgate/filter/abi"
)

// The host functions, imported from abi.HostModule with the wasm types of
// abi.HostFunctions. A Go string parameter travels as (pointer, length);
// pointers to uint32/uint64 are the return slots the host writes.
//
// None of these is marked //go:noescape: several write through their pointer
// arguments, and keeping every argument escaping makes the compiler keep the
// pointed-to values alive and in place for the whole call.

//go:wasmimport env proxy_log
func proxyLog(level uint32, msg string) uint32

//go:wasmimport env proxy_get_log_level
func proxyGetLogLevel(ret *uint32) uint32

//go:wasmimport env proxy_get_current_time_nanoseconds
func proxyGetCurrentTimeNanoseconds(ret *uint64) uint32

//go:wasmimport env proxy_get_buffer_bytes
func proxyGetBufferBytes(typ, start, max uint32, retPtr, retLen *uint32) uint32

//go:wasmimport env proxy_get_header_map_pairs
func proxyGetHeaderMapPairs(typ uint32, retPtr, retLen *uint32) uint32

//go:wasmimport env proxy_replace_header_map_value
func proxyReplaceHeaderMapValue(typ uint32, name, value string) uint32

//go:wasmimport env proxy_remove_header_map_value
func proxyRemoveHeaderMapValue(typ uint32, name string) uint32

//go:wasmimport env proxy_get_property
func proxyGetProperty(path string, retPtr, retLen *uint32) uint32

//go:wasmimport env proxy_send_local_response
func proxySendLocalResponse(status uint32, details, body, headers string, grpcStatus int32) uint32

//go:wasmimport env proxy_http_call
func proxyHTTPCall(upstream, headers, body, trailers string, timeoutMs uint32, retID *uint32) uint32

//go:wasmimport env proxy_continue_stream
func proxyContinueStream(typ uint32) uint32

//go:wasmimport env proxy_set_effective_context
func proxySetEffectiveContext(id uint32) uint32

//go:wasmimport env proxy_set_tick_period_milliseconds
func proxySetTickPeriodMilliseconds(ms uint32) uint32

//go:wasmimport env proxy_get_shared_data
func proxyGetSharedData(key string, retPtr, retLen, retCas *uint32) uint32

//go:wasmimport env proxy_set_shared_data
func proxySetSharedData(key, value string, cas uint32) uint32

//go:wasmimport env proxy_register_shared_queue
func proxyRegisterSharedQueue(name string, retID *uint32) uint32

//go:wasmimport env proxy_resolve_shared_queue
func proxyResolveSharedQueue(vmID, name string, retID *uint32) uint32

//go:wasmimport env proxy_dequeue_shared_queue
func proxyDequeueSharedQueue(id uint32, retPtr, retLen *uint32) uint32

//go:wasmimport env proxy_enqueue_shared_queue
func proxyEnqueueSharedQueue(id uint32, data string) uint32

//go:wasmimport env proxy_define_metric
func proxyDefineMetric(typ uint32, name string, retID *uint32) uint32

//go:wasmimport env proxy_increment_metric
func proxyIncrementMetric(id uint32, delta int64) uint32

//go:wasmimport env proxy_record_metric
func proxyRecordMetric(id uint32, value uint64) uint32

func init() { Default = wasmHost{} }

// ret holds the return slots of the getters on the request path. A local
// whose address is passed to an import escapes, so each call would
// allocate its slots; these are static. Sharing them is safe because
// the host writes a getter's slots as its last step, and the only guest
// code it runs during a getter is proxy_on_memory_allocate, which makes
// no host call: the values are copied out right after the call returns,
// before any other import can write the slots.
var ret struct {
	ptr, size uint32
	ns        uint64
}

// wasmHost is the Host backed by the imported functions.
type wasmHost struct{}

func (wasmHost) Log(level abi.LogLevel, msg string) { proxyLog(uint32(level), msg) }

func (wasmHost) LogLevel() (abi.LogLevel, abi.Status) {
	var level uint32
	st := abi.Status(proxyGetLogLevel(&level))
	return abi.LogLevel(level), st
}

func (wasmHost) CurrentTime() (time.Time, abi.Status) {
	ret.ns = 0
	if st := abi.Status(proxyGetCurrentTimeNanoseconds(&ret.ns)); st != abi.StatusOK {
		return time.Time{}, st
	}
	return time.Unix(0, int64(ret.ns)), abi.StatusOK
}

func (wasmHost) GetBufferBytes(t abi.BufferType, start, max uint32) ([]byte, abi.Status) {
	ret.ptr, ret.size = 0, 0
	if st := abi.Status(proxyGetBufferBytes(uint32(t), start, max, &ret.ptr, &ret.size)); st != abi.StatusOK {
		return nil, st
	}
	return received(ret.ptr, ret.size)
}

func (wasmHost) GetHeaderMapPairs(m abi.MapType) ([]abi.Header, abi.Status) {
	ret.ptr, ret.size = 0, 0
	if st := abi.Status(proxyGetHeaderMapPairs(uint32(m), &ret.ptr, &ret.size)); st != abi.StatusOK {
		return nil, st
	}
	b, st := received(ret.ptr, ret.size)
	if st != abi.StatusOK {
		return nil, st
	}
	// b is the guest's own from here on: the pairs may point into it.
	hs, err := decodeHeadersInPlace(b)
	if err != nil {
		return nil, abi.StatusSerializationFailure
	}
	return hs, abi.StatusOK
}

func (wasmHost) ReplaceHeaderMapValue(m abi.MapType, name, value string) abi.Status {
	return abi.Status(proxyReplaceHeaderMapValue(uint32(m), name, value))
}

func (wasmHost) RemoveHeaderMapValue(m abi.MapType, name string) abi.Status {
	return abi.Status(proxyRemoveHeaderMapValue(uint32(m), name))
}

func (wasmHost) GetProperty(path ...string) ([]byte, abi.Status) {
	ret.ptr, ret.size = 0, 0
	if st := abi.Status(proxyGetProperty(strings.Join(path, "\x00"), &ret.ptr, &ret.size)); st != abi.StatusOK {
		return nil, st
	}
	return received(ret.ptr, ret.size)
}

func (wasmHost) SendLocalResponse(status uint32, details string, body []byte, headers []abi.Header, grpcStatus int32) abi.Status {
	return abi.Status(proxySendLocalResponse(status, details, string(body), string(abi.EncodeHeaders(headers)), grpcStatus))
}

func (wasmHost) HTTPCall(cluster string, headers []abi.Header, body []byte, trailers []abi.Header, timeoutMs uint32) (uint32, abi.Status) {
	var id uint32
	tr := ""
	if len(trailers) > 0 {
		tr = string(abi.EncodeHeaders(trailers))
	}
	st := abi.Status(proxyHTTPCall(cluster, string(abi.EncodeHeaders(headers)), string(body), tr, timeoutMs, &id))
	return id, st
}

func (wasmHost) ContinueStream(s abi.StreamType) abi.Status {
	return abi.Status(proxyContinueStream(uint32(s)))
}

func (wasmHost) SetEffectiveContext(id uint32) abi.Status {
	return abi.Status(proxySetEffectiveContext(id))
}

// received takes over a buffer the host filled through
// proxy_on_memory_allocate.
func received(ptr, size uint32) ([]byte, abi.Status) {
	b, ok := mem.take(uintptr(ptr), size)
	if !ok {
		return nil, abi.StatusInvalidMemoryAccess
	}
	return b, abi.StatusOK
}

func (wasmHost) SetTickPeriod(ms uint32) abi.Status {
	return abi.Status(proxySetTickPeriodMilliseconds(ms))
}

func (wasmHost) GetSharedData(key string) ([]byte, uint32, abi.Status) {
	var ptr, size, cas uint32
	if st := abi.Status(proxyGetSharedData(key, &ptr, &size, &cas)); st != abi.StatusOK {
		return nil, 0, st
	}
	b, st := received(ptr, size)
	return b, cas, st
}

func (wasmHost) SetSharedData(key string, value []byte, cas uint32) abi.Status {
	return abi.Status(proxySetSharedData(key, string(value), cas))
}

func (wasmHost) RegisterSharedQueue(name string) (uint32, abi.Status) {
	var id uint32
	st := abi.Status(proxyRegisterSharedQueue(name, &id))
	return id, st
}

func (wasmHost) ResolveSharedQueue(vmID, name string) (uint32, abi.Status) {
	var id uint32
	st := abi.Status(proxyResolveSharedQueue(vmID, name, &id))
	return id, st
}

func (wasmHost) DequeueSharedQueue(id uint32) ([]byte, abi.Status) {
	var ptr, size uint32
	if st := abi.Status(proxyDequeueSharedQueue(id, &ptr, &size)); st != abi.StatusOK {
		return nil, st
	}
	return received(ptr, size)
}

func (wasmHost) EnqueueSharedQueue(id uint32, data []byte) abi.Status {
	return abi.Status(proxyEnqueueSharedQueue(id, string(data)))
}

func (wasmHost) DefineMetric(t abi.MetricType, name string) (uint32, abi.Status) {
	var id uint32
	st := abi.Status(proxyDefineMetric(uint32(t), name, &id))
	return id, st
}

func (wasmHost) IncrementMetric(id uint32, delta int64) abi.Status {
	return abi.Status(proxyIncrementMetric(id, delta))
}

func (wasmHost) RecordMetric(id uint32, value uint64) abi.Status {
	return abi.Status(proxyRecordMetric(id, value))
}
