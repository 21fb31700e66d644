//go:build wasip1

package proxywasm

import (
	"fmt"

	"github.com/authgate/authgate/filter/abi"
)

// mem pins the buffers the host allocates; see arena.
var mem arena

// depth counts the callbacks running: the host may call back into the guest
// while a host call is in progress, and pinned buffers must survive until the
// outermost callback returns.
var depth int

func enter() { depth++ }

// leave ends a callback. It is deferred by every callback, recovers a panic
// the handler let through (the handler recovers its own; this is the last
// resort) and logs it. The callback's preset result then stands, and that
// result is always the fail-closed one.
func leave(name string) {
	if r := recover(); r != nil {
		proxyLog(uint32(abi.LogError), fmt.Sprintf("authgate: panic in %s: %v", name, r))
	}
	depth--
	if depth == 0 {
		mem.release()
	}
}

//go:wasmexport proxy_abi_version_0_2_1
func abiVersion() {}

// onMemoryAllocate hands the host a Go buffer; mem keeps it reachable until
// the guest takes it over or the outermost callback returns.
//
//go:wasmexport proxy_on_memory_allocate
func onMemoryAllocate(size uint32) uint32 {
	return uint32(mem.alloc(size))
}

//go:wasmexport proxy_on_context_create
func onContextCreate(id, parent uint32) {
	enter()
	defer leave("proxy_on_context_create")
	handler.OnContextCreate(id, parent)
}

//go:wasmexport proxy_on_vm_start
func onVMStart(root, size uint32) (ok bool) {
	enter()
	defer leave("proxy_on_vm_start")
	return handler.OnVMStart(root, size)
}

//go:wasmexport proxy_on_configure
func onConfigure(root, size uint32) (ok bool) {
	enter()
	defer leave("proxy_on_configure")
	return handler.OnConfigure(root, size)
}

//go:wasmexport proxy_on_tick
func onTick(root uint32) {
	enter()
	defer leave("proxy_on_tick")
	handler.OnTick(root)
}

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(id, headers, endOfStream uint32) (action uint32) {
	enter()
	defer leave("proxy_on_request_headers")
	// Should the handler fail beyond its own recovery, the stream stays
	// paused and gets a bare 500: never passed through unchecked.
	action = uint32(abi.ActionPause)
	defer func() {
		if r := recover(); r != nil {
			proxyLog(uint32(abi.LogError), fmt.Sprintf("authgate: panic in proxy_on_request_headers: %v", r))
			proxySendLocalResponse(500, "authgate", "", "", -1)
		}
	}()
	return uint32(handler.OnRequestHeaders(id, headers, endOfStream != 0))
}

//go:wasmexport proxy_on_response_headers
func onResponseHeaders(id, headers, endOfStream uint32) (action uint32) {
	enter()
	defer leave("proxy_on_response_headers")
	return uint32(handler.OnResponseHeaders(id, headers, endOfStream != 0))
}

//go:wasmexport proxy_on_http_call_response
func onHTTPCallResponse(id, callout, headers, bodySize, trailers uint32) {
	enter()
	defer leave("proxy_on_http_call_response")
	handler.OnHTTPCallResponse(id, callout, headers, bodySize, trailers)
}

//go:wasmexport proxy_on_queue_ready
func onQueueReady(root, queue uint32) {
	enter()
	defer leave("proxy_on_queue_ready")
	handler.OnQueueReady(root, queue)
}

//go:wasmexport proxy_on_log
func onLog(id uint32) {
	enter()
	defer leave("proxy_on_log")
	handler.OnLog(id)
}

//go:wasmexport proxy_on_done
func onDone(id uint32) (done bool) {
	enter()
	defer leave("proxy_on_done")
	done = true
	return handler.OnDone(id)
}

//go:wasmexport proxy_on_delete
func onDelete(id uint32) {
	enter()
	defer leave("proxy_on_delete")
	handler.OnDelete(id)
}
