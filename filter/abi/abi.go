// Package abi is the proxy-wasm ABI v0.2.1 contract shared by the guest binding
// in filter/ and the wazero host in host/. It names every host function the
// guest may import, every callback the guest must export, their wasm
// signatures, the enums that cross the boundary and the header-map encoding.
//
// Nothing here performs a call; both sides build on these definitions so they
// cannot drift apart. The specification is
// https://github.com/proxy-wasm/spec/tree/main/abi-versions/v0.2.1.
package abi

// HostModule is the wasm import module that holds every proxy-wasm host function.
const HostModule = "env"

// Status is the result code every host function returns (WasmResult in Envoy).
type Status uint32

// Status values, numbered as in the specification.
const (
	StatusOK                   Status = 0
	StatusNotFound             Status = 1
	StatusBadArgument          Status = 2
	StatusSerializationFailure Status = 3
	StatusParseFailure         Status = 4
	StatusBadExpression        Status = 5
	StatusInvalidMemoryAccess  Status = 6
	StatusEmpty                Status = 7
	StatusCasMismatch          Status = 8
	StatusResultMismatch       Status = 9
	StatusInternalFailure      Status = 10
	StatusBrokenConnection     Status = 11
	StatusUnimplemented        Status = 12
)

var statusNames = [...]string{
	"ok", "not found", "bad argument", "serialization failure", "parse failure",
	"bad expression", "invalid memory access", "empty", "cas mismatch",
	"result mismatch", "internal failure", "broken connection", "unimplemented",
}

// String names the status for logs and errors.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown status"
}

// Error lets a non-OK status travel as an error.
func (s Status) Error() string { return "proxy-wasm: " + s.String() }

// MapType selects a header map.
type MapType uint32

// MapType values.
const (
	MapHTTPRequestHeaders         MapType = 0
	MapHTTPRequestTrailers        MapType = 1
	MapHTTPResponseHeaders        MapType = 2
	MapHTTPResponseTrailers       MapType = 3
	MapGRPCReceiveInitialMetadata MapType = 4
	MapGRPCReceiveTrailing        MapType = 5
	MapHTTPCallResponseHeaders    MapType = 6
	MapHTTPCallResponseTrailers   MapType = 7
)

// BufferType selects a byte buffer.
type BufferType uint32

// BufferType values. The body of an HTTP callout response is
// BufferHTTPCallResponseBody.
const (
	BufferHTTPRequestBody      BufferType = 0
	BufferHTTPResponseBody     BufferType = 1
	BufferDownstreamData       BufferType = 2
	BufferUpstreamData         BufferType = 3
	BufferHTTPCallResponseBody BufferType = 4
	BufferGRPCReceive          BufferType = 5
	BufferVMConfiguration      BufferType = 6
	BufferPluginConfiguration  BufferType = 7
	BufferCallData             BufferType = 8
)

// Action is what a stream callback tells the host to do next.
type Action uint32

// Action values.
const (
	ActionContinue Action = 0
	ActionPause    Action = 1
)

// LogLevel is the level of proxy_log and proxy_get_log_level.
type LogLevel uint32

// LogLevel values.
const (
	LogTrace    LogLevel = 0
	LogDebug    LogLevel = 1
	LogInfo     LogLevel = 2
	LogWarn     LogLevel = 3
	LogError    LogLevel = 4
	LogCritical LogLevel = 5
)

var levelNames = [...]string{"trace", "debug", "info", "warn", "error", "critical"}

// String names the level the way Envoy prints it.
func (l LogLevel) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return "unknown"
}

// MetricType is the kind of metric proxy_define_metric creates.
type MetricType uint32

// MetricType values.
const (
	MetricCounter   MetricType = 0
	MetricGauge     MetricType = 1
	MetricHistogram MetricType = 2
)

// StreamType selects the direction for proxy_continue_stream and proxy_close_stream.
type StreamType uint32

// StreamType values.
const (
	StreamRequest    StreamType = 0
	StreamResponse   StreamType = 1
	StreamDownstream StreamType = 2
	StreamUpstream   StreamType = 3
)
