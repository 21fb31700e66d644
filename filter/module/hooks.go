//go:build cgo

package main

/*
#include "envoy.h"
*/
import "C"

import (
	"fmt"
	"runtime/cgo"

	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/filter/module/abi"
	"github.com/authgate/authgate/filter/module/internal/gate"
)

// The hooks Envoy calls (abi.Hooks), with the signatures of Envoy 1.40's
// ABI: Envoy's handles arrive as uintptr_t, the module's handles are
// runtime/cgo handles returned as uintptr_t (never a Go pointer, which C
// may not keep), enums are uint32_t. Every hook that runs module code
// recovers: a panic must not unwind into Envoy.

// abiVersion is the C string on_program_init returns; it lives as long as
// the process, as Envoy may read it after the hook returns.
var abiVersion = C.CString(abi.Version)

//export envoy_dynamic_module_on_program_init
func envoy_dynamic_module_on_program_init() *C.char { return abiVersion }

//export envoy_dynamic_module_on_http_filter_config_new
func envoy_dynamic_module_on_http_filter_config_new(config C.uintptr_t, name, raw C.ag_buffer) (h C.uintptr_t) {
	defer func() {
		if r := recover(); r != nil {
			host{}.Log(abi.LogError, fmt.Sprintf("panic while configuring: %v", r))
			h = 0
		}
	}()
	cfg, err := gate.NewConfig(host{}, metrics{config}, goString(name.ptr, name.length),
		[]byte(goString(raw.ptr, raw.length)))
	if err != nil {
		// Envoy refuses the configuration; NewConfig logged why.
		return 0
	}
	return C.uintptr_t(cgo.NewHandle(cfg))
}

//export envoy_dynamic_module_on_http_filter_config_destroy
func envoy_dynamic_module_on_http_filter_config_destroy(h C.uintptr_t) {
	defer recoverLog("config_destroy")
	if h != 0 {
		cgo.Handle(h).Delete()
	}
}

//export envoy_dynamic_module_on_http_filter_new
func envoy_dynamic_module_on_http_filter_new(config C.uintptr_t, _ C.uintptr_t) (h C.uintptr_t) {
	defer func() {
		if r := recover(); r != nil {
			host{}.Log(abi.LogError, fmt.Sprintf("panic creating a stream: %v", r))
			h = 0 // Envoy closes the stream
		}
	}()
	cfg := cgo.Handle(config).Value().(*gate.Config)
	return C.uintptr_t(cgo.NewHandle(cfg.NewFilter()))
}

// filterOf finds the module's filter of a stream.
func filterOf(h C.uintptr_t) *gate.Filter { return cgo.Handle(h).Value().(*gate.Filter) }

//export envoy_dynamic_module_on_http_filter_request_headers
func envoy_dynamic_module_on_http_filter_request_headers(s, h C.uintptr_t, endOfStream C.bool) (st C.uint32_t) {
	defer func() {
		// The filter recovers itself; this is for a failure before it
		// runs: fail closed with a plain 500.
		if r := recover(); r != nil {
			host{}.Log(abi.LogError, fmt.Sprintf("panic on request headers: %v", r))
			res := pipeline.Failure("internal error")
			stream{s}.SendResponse(res.Status, nil, res.Body, gate.Details)
			st = C.uint32_t(abi.HeadersStopIteration)
		}
	}()
	return C.uint32_t(filterOf(h).OnRequestHeaders(stream{s}, bool(endOfStream)))
}

//export envoy_dynamic_module_on_http_filter_request_body
func envoy_dynamic_module_on_http_filter_request_body(s, h C.uintptr_t, endOfStream C.bool) (st C.uint32_t) {
	// A panic holds the body back: the request is never released unjudged.
	defer recoverStatus("request_body", &st, C.uint32_t(abi.BodyStopIterationAndWatermark))
	return C.uint32_t(filterOf(h).OnRequestBody())
}

//export envoy_dynamic_module_on_http_filter_request_trailers
func envoy_dynamic_module_on_http_filter_request_trailers(s, h C.uintptr_t) (st C.uint32_t) {
	defer recoverStatus("request_trailers", &st, C.uint32_t(abi.TrailersStopIteration))
	return C.uint32_t(filterOf(h).OnRequestTrailers())
}

//export envoy_dynamic_module_on_http_filter_response_headers
func envoy_dynamic_module_on_http_filter_response_headers(s, h C.uintptr_t, endOfStream C.bool) C.uint32_t {
	return C.uint32_t(abi.HeadersContinue)
}

//export envoy_dynamic_module_on_http_filter_response_body
func envoy_dynamic_module_on_http_filter_response_body(s, h C.uintptr_t, endOfStream C.bool) C.uint32_t {
	return C.uint32_t(abi.BodyContinue)
}

//export envoy_dynamic_module_on_http_filter_response_trailers
func envoy_dynamic_module_on_http_filter_response_trailers(s, h C.uintptr_t) C.uint32_t {
	return C.uint32_t(abi.TrailersContinue)
}

//export envoy_dynamic_module_on_http_filter_stream_complete
func envoy_dynamic_module_on_http_filter_stream_complete(s, h C.uintptr_t) {
	defer recoverLog("stream_complete")
	filterOf(h).OnStreamComplete()
}

//export envoy_dynamic_module_on_http_filter_destroy
func envoy_dynamic_module_on_http_filter_destroy(h C.uintptr_t) {
	defer recoverLog("filter_destroy")
	filterOf(h).OnDestroy()
	cgo.Handle(h).Delete()
}

//export envoy_dynamic_module_on_http_filter_http_callout_done
func envoy_dynamic_module_on_http_filter_http_callout_done(s, h C.uintptr_t, id C.uint64_t, result C.uint32_t,
	headers *C.ag_header, headersSize C.size_t, chunks *C.ag_buffer, chunksSize C.size_t) {
	defer recoverLog("http_callout_done")
	f := filterOf(h)
	body, size := goBody(chunks, chunksSize, f.CalloutBodyLimit(uint64(id)))
	f.OnCalloutDone(stream{s}, uint64(id), abi.CalloutResult(result), goHeaders(headers, headersSize), body, size)
}

//export envoy_dynamic_module_on_http_filter_scheduled
func envoy_dynamic_module_on_http_filter_scheduled(s, h C.uintptr_t, event C.uint64_t) {
	defer recoverLog("scheduled")
	filterOf(h).OnScheduled(stream{s}, uint64(event))
}

// authgate starts no streaming callouts and has no use for write-buffer
// watermarks; Envoy 1.40 still requires these hooks to load the filter.

//export envoy_dynamic_module_on_http_filter_http_stream_headers
func envoy_dynamic_module_on_http_filter_http_stream_headers(s, h C.uintptr_t, id C.uint64_t,
	headers *C.ag_header, size C.size_t, endStream C.bool) {
}

//export envoy_dynamic_module_on_http_filter_http_stream_data
func envoy_dynamic_module_on_http_filter_http_stream_data(s, h C.uintptr_t, id C.uint64_t,
	data *C.ag_buffer, count C.size_t, endStream C.bool) {
}

//export envoy_dynamic_module_on_http_filter_http_stream_trailers
func envoy_dynamic_module_on_http_filter_http_stream_trailers(s, h C.uintptr_t, id C.uint64_t,
	trailers *C.ag_header, size C.size_t) {
}

//export envoy_dynamic_module_on_http_filter_http_stream_complete
func envoy_dynamic_module_on_http_filter_http_stream_complete(s, h C.uintptr_t, id C.uint64_t) {}

//export envoy_dynamic_module_on_http_filter_http_stream_reset
func envoy_dynamic_module_on_http_filter_http_stream_reset(s, h C.uintptr_t, id C.uint64_t, reason C.uint32_t) {
}

//export envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark
func envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(s, h C.uintptr_t) {
}

//export envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark
func envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(s, h C.uintptr_t) {
}

// recoverStatus is deferred by hooks that answer a status: a panic is
// logged and the hook answers stop.
func recoverStatus(where string, st *C.uint32_t, stop C.uint32_t) {
	if r := recover(); r != nil {
		host{}.Log(abi.LogError, fmt.Sprintf("panic in %s: %v", where, r))
		*st = stop
	}
}

// recoverLog is deferred by hooks that have no answer to give.
func recoverLog(where string) {
	if r := recover(); r != nil {
		host{}.Log(abi.LogError, fmt.Sprintf("panic in %s: %v", where, r))
	}
}
