//go:build cgo

package main

/*
// Envoy's callbacks stay unresolved in the library until Envoy loads it
// (Envoy exports them from its own binary); the flag also lets a test
// binary of this package link without Envoy.
#cgo LDFLAGS: -Wl,--unresolved-symbols=ignore-all
#include "envoy.h"
*/
import "C"

import (
	"runtime"
	"unsafe"

	"github.com/authgate/authgate/filter/module/abi"
	"github.com/authgate/authgate/filter/module/internal/gate"
)

// emptyString is a non-null empty C string: set_header reads a null value
// as "remove the header", so an empty value must not travel as null.
var emptyString = C.CString("")

// pinned returns a C view of s whose bytes stay put until p is unpinned:
// cgo forbids handing C memory that holds unpinned Go pointers.
func pinned(p *runtime.Pinner, s string) C.ag_buffer {
	if s == "" {
		return C.ag_buffer{ptr: emptyString}
	}
	d := unsafe.StringData(s)
	p.Pin(d)
	return C.ag_buffer{ptr: (*C.char)(unsafe.Pointer(d)), length: C.size_t(len(s))}
}

func pinnedBytes(p *runtime.Pinner, b []byte) C.ag_buffer {
	if len(b) == 0 {
		return C.ag_buffer{ptr: emptyString}
	}
	d := unsafe.SliceData(b)
	p.Pin(d)
	return C.ag_buffer{ptr: (*C.char)(unsafe.Pointer(d)), length: C.size_t(len(b))}
}

// cHeaders lays headers out as the ABI's header array, pinning every name
// and value; nil for no headers.
func cHeaders(p *runtime.Pinner, hs []gate.Header) []C.ag_header {
	if len(hs) == 0 {
		return nil
	}
	out := make([]C.ag_header, len(hs))
	for i, h := range hs {
		k, v := pinned(p, h.Name), pinned(p, h.Value)
		out[i] = C.ag_header{key: k.ptr, key_length: k.length, value: v.ptr, value_length: v.length}
	}
	return out
}

// goString copies bytes Envoy owns into Go memory.
func goString(ptr *C.char, n C.size_t) string {
	if ptr == nil || n == 0 {
		return ""
	}
	return C.GoStringN(ptr, C.int(n))
}

// goHeaders copies an array of headers Envoy owns.
func goHeaders(hs *C.ag_header, n C.size_t) []gate.Header {
	if hs == nil || n == 0 {
		return nil
	}
	out := make([]gate.Header, n)
	for i, h := range unsafe.Slice(hs, n) {
		out[i] = gate.Header{Name: goString(h.key, h.key_length), Value: goString(h.value, h.value_length)}
	}
	return out
}

// goBody joins the chunks of a body Envoy owns into one Go slice, and
// returns its size. A body longer than limit is not copied: only its size
// is returned.
func goBody(chunks *C.ag_buffer, n C.size_t, limit int) ([]byte, int) {
	if chunks == nil || n == 0 {
		return nil, 0
	}
	cs := unsafe.Slice(chunks, n)
	size := 0
	for _, c := range cs {
		size += int(c.length)
	}
	if size > limit {
		return nil, size
	}
	out := make([]byte, 0, size)
	for _, c := range cs {
		if c.ptr != nil && c.length > 0 {
			out = append(out, unsafe.Slice((*byte)(unsafe.Pointer(c.ptr)), c.length)...)
		}
	}
	return out, size
}

// host is Envoy's log.
type host struct{}

func (host) Log(level abi.LogLevel, msg string) {
	var p runtime.Pinner
	defer p.Unpin()
	C.envoy_dynamic_module_callback_log(C.uint32_t(level), pinned(&p, msg))
}

func (host) LogEnabled(level abi.LogLevel) bool {
	return bool(C.envoy_dynamic_module_callback_log_enabled(C.uint32_t(level)))
}

// metrics are the stats of one filter configuration (Envoy's
// DynamicModuleHttpFilterConfig). The configuration-level increment and
// record work outside any stream, which a request resumed after its
// stream's hook needs.
type metrics struct{ config C.uintptr_t }

func (m metrics) define(name string, histogram bool) (uint64, abi.MetricsResult) {
	var p runtime.Pinner
	defer p.Unpin()
	var id C.size_t
	var r C.uint32_t
	if histogram {
		r = C.envoy_dynamic_module_callback_http_filter_config_define_histogram(m.config, pinned(&p, name), nil, 0, &id)
	} else {
		r = C.envoy_dynamic_module_callback_http_filter_config_define_counter(m.config, pinned(&p, name), nil, 0, &id)
	}
	return uint64(id), abi.MetricsResult(r)
}

func (m metrics) DefineCounter(name string) (uint64, abi.MetricsResult) { return m.define(name, false) }

func (m metrics) DefineHistogram(name string) (uint64, abi.MetricsResult) {
	return m.define(name, true)
}

func (m metrics) IncrementCounter(id, delta uint64) abi.MetricsResult {
	return abi.MetricsResult(C.envoy_dynamic_module_callback_http_filter_config_increment_counter(
		m.config, C.size_t(id), nil, 0, C.uint64_t(delta)))
}

func (m metrics) RecordHistogram(id, value uint64) abi.MetricsResult {
	return abi.MetricsResult(C.envoy_dynamic_module_callback_http_filter_config_record_histogram_value(
		m.config, C.size_t(id), nil, 0, C.uint64_t(value)))
}

// stream is Envoy's DynamicModuleHttpFilter of the hook that is running.
type stream struct{ ptr C.uintptr_t }

var _ gate.Stream = stream{}

func (s stream) RequestHeaders() []gate.Header {
	n := C.envoy_dynamic_module_callback_http_get_headers_size(s.ptr, C.uint32_t(abi.RequestHeader))
	if n == 0 {
		return nil
	}
	buf := make([]C.ag_header, n)
	if !C.envoy_dynamic_module_callback_http_get_headers(s.ptr, C.uint32_t(abi.RequestHeader), unsafe.SliceData(buf)) {
		return nil
	}
	return goHeaders(unsafe.SliceData(buf), n)
}

func (s stream) Attribute(id abi.AttributeID) (string, bool) {
	var out C.ag_buffer
	if !C.envoy_dynamic_module_callback_http_filter_get_attribute_string(s.ptr, C.uint32_t(id), &out) {
		return "", false
	}
	return goString(out.ptr, out.length), true
}

func (s stream) SetRequestHeader(name, value string) bool {
	var p runtime.Pinner
	defer p.Unpin()
	return bool(C.envoy_dynamic_module_callback_http_set_header(s.ptr, C.uint32_t(abi.RequestHeader),
		pinned(&p, name), pinned(&p, value)))
}

func (s stream) RemoveRequestHeader(name string) bool {
	var p runtime.Pinner
	defer p.Unpin()
	return bool(C.envoy_dynamic_module_callback_http_set_header(s.ptr, C.uint32_t(abi.RequestHeader),
		pinned(&p, name), C.ag_buffer{}))
}

func (s stream) SendResponse(status int, headers []gate.Header, body []byte, details string) {
	var p runtime.Pinner
	defer p.Unpin()
	hs := cHeaders(&p, headers)
	C.envoy_dynamic_module_callback_http_send_response(s.ptr, C.uint32_t(status),
		unsafe.SliceData(hs), C.size_t(len(hs)), pinnedBytes(&p, body), pinned(&p, details))
}

func (s stream) Callout(cluster string, headers []gate.Header, body []byte, timeoutMs uint64) (uint64, abi.CalloutInit) {
	var p runtime.Pinner
	defer p.Unpin()
	hs := cHeaders(&p, headers)
	var id C.uint64_t
	r := C.envoy_dynamic_module_callback_http_filter_http_callout(s.ptr, &id, pinned(&p, cluster),
		unsafe.SliceData(hs), C.size_t(len(hs)), pinnedBytes(&p, body), C.uint64_t(timeoutMs))
	return uint64(id), abi.CalloutInit(r)
}

func (s stream) ContinueDecoding() {
	C.envoy_dynamic_module_callback_http_filter_continue_decoding(s.ptr)
}

func (s stream) NewScheduler() gate.Scheduler {
	return scheduler{C.envoy_dynamic_module_callback_http_filter_scheduler_new(s.ptr)}
}

// scheduler is Envoy's DynamicModuleHttpFilterScheduler: it holds a weak
// reference to the stream and its worker's dispatcher, so Commit is safe
// from any thread and an event for a stream that is gone is dropped.
type scheduler struct{ ptr C.uintptr_t }

func (s scheduler) Commit(eventID uint64) {
	C.envoy_dynamic_module_callback_http_filter_scheduler_commit(s.ptr, C.uint64_t(eventID))
}

func (s scheduler) Close() { C.envoy_dynamic_module_callback_http_filter_scheduler_delete(s.ptr) }
