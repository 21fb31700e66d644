//go:build wasip1

// This file is the guest's raw proxy-wasm imports and small wrappers that
// take Go strings. Imports that write into guest memory are not noescape.
package main

import (
	"unsafe"

	"github.com/authgate/authgate/filter/abi"
)

//go:wasmimport env proxy_log
func rawLog(level uint32, p *byte, n uint32) uint32

//go:wasmimport env proxy_get_log_level
func rawGetLogLevel(ret *uint32) uint32

//go:wasmimport env proxy_get_current_time_nanoseconds
func rawGetTime(ret *uint64) uint32

//go:wasmimport env proxy_set_tick_period_milliseconds
func rawSetTick(ms uint32) uint32

//go:wasmimport env proxy_get_buffer_bytes
func rawGetBuffer(t, start, max uint32, retPtr, retLen *uint32) uint32

//go:wasmimport env proxy_get_header_map_pairs
func rawGetPairs(t uint32, retPtr, retLen *uint32) uint32

//go:wasmimport env proxy_set_header_map_pairs
func rawSetPairs(t uint32, p *byte, n uint32) uint32

//go:wasmimport env proxy_get_header_map_value
func rawGetHeader(t uint32, k *byte, kn uint32, retPtr, retLen *uint32) uint32

//go:wasmimport env proxy_add_header_map_value
func rawAddHeader(t uint32, k *byte, kn uint32, v *byte, vn uint32) uint32

//go:wasmimport env proxy_replace_header_map_value
func rawReplaceHeader(t uint32, k *byte, kn uint32, v *byte, vn uint32) uint32

//go:wasmimport env proxy_remove_header_map_value
func rawRemoveHeader(t uint32, k *byte, kn uint32) uint32

//go:wasmimport env proxy_get_property
func rawGetProperty(p *byte, n uint32, retPtr, retLen *uint32) uint32

//go:wasmimport env proxy_set_property
func rawSetProperty(p *byte, n uint32, v *byte, vn uint32) uint32

//go:wasmimport env proxy_send_local_response
func rawSendLocal(status uint32, d *byte, dn uint32, b *byte, bn uint32, h *byte, hn uint32, grpc int32) uint32

//go:wasmimport env proxy_http_call
func rawHTTPCall(u *byte, un uint32, h *byte, hn uint32, b *byte, bn uint32, t *byte, tn uint32, timeout uint32, ret *uint32) uint32

//go:wasmimport env proxy_continue_stream
func rawContinue(t uint32) uint32

//go:wasmimport env proxy_close_stream
func rawClose(t uint32) uint32

//go:wasmimport env proxy_get_shared_data
func rawGetShared(k *byte, kn uint32, retPtr, retLen, cas *uint32) uint32

//go:wasmimport env proxy_set_shared_data
func rawSetShared(k *byte, kn uint32, v *byte, vn uint32, cas uint32) uint32

//go:wasmimport env proxy_register_shared_queue
func rawRegisterQueue(n *byte, nn uint32, ret *uint32) uint32

//go:wasmimport env proxy_resolve_shared_queue
func rawResolveQueue(vm *byte, vmn uint32, n *byte, nn uint32, ret *uint32) uint32

//go:wasmimport env proxy_dequeue_shared_queue
func rawDequeue(id uint32, retPtr, retLen *uint32) uint32

//go:wasmimport env proxy_enqueue_shared_queue
func rawEnqueue(id uint32, p *byte, n uint32) uint32

//go:wasmimport env proxy_define_metric
func rawDefineMetric(t uint32, n *byte, nn uint32, ret *uint32) uint32

//go:wasmimport env proxy_increment_metric
func rawIncrementMetric(id uint32, delta int64) uint32

//go:wasmimport env proxy_record_metric
func rawRecordMetric(id uint32, v uint64) uint32

//go:wasmimport env proxy_get_metric
func rawGetMetric(id uint32, ret *uint64) uint32

//go:wasmimport env proxy_set_effective_context
func rawSetEffectiveContext(id uint32) uint32

func sp(s string) (*byte, uint32) { return unsafe.StringData(s), uint32(len(s)) }

func bp(b []byte) (*byte, uint32) {
	if len(b) == 0 {
		return nil, 0
	}
	return &b[0], uint32(len(b))
}

// at views host-written bytes, which live in memory from onAlloc.
func at(p, n uint32) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(p))), n)
}

func logf(level abi.LogLevel, msg string) {
	p, n := sp(msg)
	rawLog(uint32(level), p, n)
}

func getBuffer(t abi.BufferType, start, max uint32) ([]byte, abi.Status) {
	var p, n uint32
	st := abi.Status(rawGetBuffer(uint32(t), start, max, &p, &n))
	return at(p, n), st
}

func getHeader(t abi.MapType, k string) (string, abi.Status) {
	var p, n uint32
	kp, kn := sp(k)
	st := abi.Status(rawGetHeader(uint32(t), kp, kn, &p, &n))
	return string(at(p, n)), st
}

func getPairs(t abi.MapType) ([]byte, abi.Status) {
	var p, n uint32
	st := abi.Status(rawGetPairs(uint32(t), &p, &n))
	return at(p, n), st
}

func addHeader(t abi.MapType, k, v string) abi.Status {
	kp, kn := sp(k)
	vp, vn := sp(v)
	return abi.Status(rawAddHeader(uint32(t), kp, kn, vp, vn))
}

func replaceHeader(t abi.MapType, k, v string) abi.Status {
	kp, kn := sp(k)
	vp, vn := sp(v)
	return abi.Status(rawReplaceHeader(uint32(t), kp, kn, vp, vn))
}

func removeHeader(t abi.MapType, k string) abi.Status {
	kp, kn := sp(k)
	return abi.Status(rawRemoveHeader(uint32(t), kp, kn))
}

func getProperty(path string) (string, abi.Status) {
	var p, n uint32
	pp, pn := sp(path)
	st := abi.Status(rawGetProperty(pp, pn, &p, &n))
	return string(at(p, n)), st
}

func sendLocal(status uint32, details string, body string, hs []abi.Header) abi.Status {
	dp, dn := sp(details)
	b, bn := sp(body)
	h, hn := bp(abi.EncodeHeaders(hs))
	return abi.Status(rawSendLocal(status, dp, dn, b, bn, h, hn, -1))
}

func httpCall(cluster string, hs []abi.Header, body string, timeout uint32) (uint32, abi.Status) {
	up, un := sp(cluster)
	h, hn := bp(abi.EncodeHeaders(hs))
	b, bn := sp(body)
	var token uint32
	st := abi.Status(rawHTTPCall(up, un, h, hn, b, bn, nil, 0, timeout, &token))
	return token, st
}

func getShared(k string) (string, uint32, abi.Status) {
	var p, n, cas uint32
	kp, kn := sp(k)
	st := abi.Status(rawGetShared(kp, kn, &p, &n, &cas))
	return string(at(p, n)), cas, st
}

func setShared(k, v string, cas uint32) abi.Status {
	kp, kn := sp(k)
	vp, vn := sp(v)
	return abi.Status(rawSetShared(kp, kn, vp, vn, cas))
}

func defineMetric(t abi.MetricType, name string) (uint32, abi.Status) {
	var id uint32
	np, nn := sp(name)
	st := abi.Status(rawDefineMetric(uint32(t), np, nn, &id))
	return id, st
}
