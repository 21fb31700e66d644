package abi

// ValueType is a wasm value type, encoded as in the binary format (and so as
// wazero's api.ValueType), which lets the host compare without conversion.
type ValueType = byte

// Wasm value types used by the ABI.
const (
	I32 ValueType = 0x7f
	I64 ValueType = 0x7e
)

// Signature is the wasm type of one function of the contract.
type Signature struct {
	Name    string
	Params  []ValueType
	Results []ValueType
}

func sig(name string, params []ValueType, results ...ValueType) Signature {
	return Signature{Name: name, Params: params, Results: results}
}

func i32s(n int) []ValueType {
	p := make([]ValueType, n)
	for i := range p {
		p[i] = I32
	}
	return p
}

// Host function names, imported by the guest from HostModule.
const (
	FnLog                   = "proxy_log"
	FnGetLogLevel           = "proxy_get_log_level"
	FnGetCurrentTimeNanos   = "proxy_get_current_time_nanoseconds"
	FnSetTickPeriod         = "proxy_set_tick_period_milliseconds"
	FnGetBufferBytes        = "proxy_get_buffer_bytes"
	FnSetBufferBytes        = "proxy_set_buffer_bytes"
	FnGetHeaderMapPairs     = "proxy_get_header_map_pairs"
	FnSetHeaderMapPairs     = "proxy_set_header_map_pairs"
	FnGetHeaderMapValue     = "proxy_get_header_map_value"
	FnAddHeaderMapValue     = "proxy_add_header_map_value"
	FnReplaceHeaderMapValue = "proxy_replace_header_map_value"
	FnRemoveHeaderMapValue  = "proxy_remove_header_map_value"
	FnGetProperty           = "proxy_get_property"
	FnSetProperty           = "proxy_set_property"
	FnSendLocalResponse     = "proxy_send_local_response"
	FnHTTPCall              = "proxy_http_call"
	FnContinueStream        = "proxy_continue_stream"
	FnCloseStream           = "proxy_close_stream"
	FnGetSharedData         = "proxy_get_shared_data"
	FnSetSharedData         = "proxy_set_shared_data"
	FnRegisterSharedQueue   = "proxy_register_shared_queue"
	FnResolveSharedQueue    = "proxy_resolve_shared_queue"
	FnDequeueSharedQueue    = "proxy_dequeue_shared_queue"
	FnEnqueueSharedQueue    = "proxy_enqueue_shared_queue"
	FnDefineMetric          = "proxy_define_metric"
	FnIncrementMetric       = "proxy_increment_metric"
	FnRecordMetric          = "proxy_record_metric"
	FnGetMetric             = "proxy_get_metric"
	FnSetEffectiveContext   = "proxy_set_effective_context"
	FnDone                  = "proxy_done"
)

// HostFunctions lists every host function of the contract with its wasm type.
// The guest may import any subset; the host provides all of them.
var HostFunctions = []Signature{
	sig(FnLog, i32s(3), I32),                   // level, msg ptr, msg len
	sig(FnGetLogLevel, i32s(1), I32),           // return level ptr
	sig(FnGetCurrentTimeNanos, i32s(1), I32),   // return u64 ptr
	sig(FnSetTickPeriod, i32s(1), I32),         // period ms
	sig(FnGetBufferBytes, i32s(5), I32),        // type, start, max, return ptr, return len
	sig(FnSetBufferBytes, i32s(5), I32),        // type, start, size, data ptr, data len
	sig(FnGetHeaderMapPairs, i32s(3), I32),     // map, return ptr, return len
	sig(FnSetHeaderMapPairs, i32s(3), I32),     // map, data ptr, data len
	sig(FnGetHeaderMapValue, i32s(5), I32),     // map, key ptr, key len, return ptr, return len
	sig(FnAddHeaderMapValue, i32s(5), I32),     // map, key ptr, key len, value ptr, value len
	sig(FnReplaceHeaderMapValue, i32s(5), I32), // map, key ptr, key len, value ptr, value len
	sig(FnRemoveHeaderMapValue, i32s(3), I32),  // map, key ptr, key len
	sig(FnGetProperty, i32s(4), I32),           // path ptr, path len, return ptr, return len
	sig(FnSetProperty, i32s(4), I32),           // path ptr, path len, value ptr, value len
	sig(FnSendLocalResponse, i32s(8), I32),     // status, details ptr/len, body ptr/len, headers ptr/len, grpc status
	sig(FnHTTPCall, i32s(10), I32),             // upstream, headers, body, trailers (ptr/len each), timeout ms, return id ptr
	sig(FnContinueStream, i32s(1), I32),        // stream type
	sig(FnCloseStream, i32s(1), I32),           // stream type
	sig(FnGetSharedData, i32s(5), I32),         // key ptr/len, return value ptr/len, return cas ptr
	sig(FnSetSharedData, i32s(5), I32),         // key ptr/len, value ptr/len, cas
	sig(FnRegisterSharedQueue, i32s(3), I32),   // name ptr/len, return id ptr
	sig(FnResolveSharedQueue, i32s(5), I32),    // vm id ptr/len, name ptr/len, return id ptr
	sig(FnDequeueSharedQueue, i32s(3), I32),    // id, return ptr, return len
	sig(FnEnqueueSharedQueue, i32s(3), I32),    // id, data ptr/len
	sig(FnDefineMetric, i32s(4), I32),          // type, name ptr/len, return id ptr
	sig(FnIncrementMetric, []ValueType{I32, I64}, I32),
	sig(FnRecordMetric, []ValueType{I32, I64}, I32),
	sig(FnGetMetric, i32s(2), I32),           // id, return u64 ptr
	sig(FnSetEffectiveContext, i32s(1), I32), // context id
	sig(FnDone, nil, I32),
}

// Guest export names, called by the host.
const (
	ExportInitialize         = "_initialize"
	ExportABIVersion         = "proxy_abi_version_0_2_1"
	ExportMemory             = "memory"
	ExportOnMemoryAllocate   = "proxy_on_memory_allocate"
	ExportOnContextCreate    = "proxy_on_context_create"
	ExportOnVMStart          = "proxy_on_vm_start"
	ExportOnConfigure        = "proxy_on_configure"
	ExportOnTick             = "proxy_on_tick"
	ExportOnRequestHeaders   = "proxy_on_request_headers"
	ExportOnResponseHeaders  = "proxy_on_response_headers"
	ExportOnHTTPCallResponse = "proxy_on_http_call_response"
	ExportOnQueueReady       = "proxy_on_queue_ready"
	ExportOnLog              = "proxy_on_log"
	ExportOnDone             = "proxy_on_done"
	ExportOnDelete           = "proxy_on_delete"
)

// GuestFunctions lists the callbacks an authgate guest must export, with their
// wasm types. Callbacks the specification makes optional (bodies, trailers,
// network filters) are not part of the contract: Envoy skips missing ones.
var GuestFunctions = []Signature{
	sig(ExportInitialize, nil),
	sig(ExportABIVersion, nil),
	sig(ExportOnMemoryAllocate, i32s(1), I32),  // size -> ptr
	sig(ExportOnContextCreate, i32s(2)),        // context id, parent id
	sig(ExportOnVMStart, i32s(2), I32),         // root id, vm config size -> bool
	sig(ExportOnConfigure, i32s(2), I32),       // root id, plugin config size -> bool
	sig(ExportOnTick, i32s(1)),                 // root id
	sig(ExportOnRequestHeaders, i32s(3), I32),  // id, headers, end of stream -> Action
	sig(ExportOnResponseHeaders, i32s(3), I32), // id, headers, end of stream -> Action
	sig(ExportOnHTTPCallResponse, i32s(5)),     // id, callout id, headers, body size, trailers
	sig(ExportOnQueueReady, i32s(2)),           // root id, queue id
	sig(ExportOnLog, i32s(1)),                  // id
	sig(ExportOnDone, i32s(1), I32),            // id -> bool
	sig(ExportOnDelete, i32s(1)),               // id
}

// HostFunction returns the contract's signature for a host function name.
func HostFunction(name string) (Signature, bool) { return find(HostFunctions, name) }

// GuestFunction returns the contract's signature for a guest export name.
func GuestFunction(name string) (Signature, bool) { return find(GuestFunctions, name) }

func find(list []Signature, name string) (Signature, bool) {
	for _, s := range list {
		if s.Name == name {
			return s, true
		}
	}
	return Signature{}, false
}
