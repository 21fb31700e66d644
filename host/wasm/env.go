package wasm

import (
	"context"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/authgate/authgate/filter/abi"
)

// hostCall is the body of one proxy-wasm host function. It runs inside a
// guest call on v, so v.mu is held; stack holds the parameters.
type hostCall func(v *vm, mod api.Module, stack []uint64) abi.Status

func (h *Host) hostFunc(name string) api.GoModuleFunc {
	impl := h.hostCalls()[name]
	if impl == nil {
		impl = func(*vm, api.Module, []uint64) abi.Status { return h.unimplemented(name) }
	}
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		v, _ := ctx.Value(vmKey{}).(*vm)
		if v == nil { // only reachable if a guest export is called outside vm.call
			stack[0] = uint64(abi.StatusInternalFailure)
			return
		}
		stack[0] = uint64(impl(v, mod, stack))
	}
}

func (h *Host) hostCalls() map[string]hostCall {
	return map[string]hostCall{
		abi.FnLog:                   hostLog,
		abi.FnGetLogLevel:           hostGetLogLevel,
		abi.FnGetCurrentTimeNanos:   hostGetCurrentTime,
		abi.FnSetTickPeriod:         hostSetTickPeriod,
		abi.FnGetBufferBytes:        hostGetBufferBytes,
		abi.FnSetBufferBytes:        hostSetBufferBytes,
		abi.FnGetHeaderMapPairs:     hostGetHeaderMapPairs,
		abi.FnSetHeaderMapPairs:     hostSetHeaderMapPairs,
		abi.FnGetHeaderMapValue:     hostGetHeaderMapValue,
		abi.FnAddHeaderMapValue:     hostAddHeaderMapValue,
		abi.FnReplaceHeaderMapValue: hostReplaceHeaderMapValue,
		abi.FnRemoveHeaderMapValue:  hostRemoveHeaderMapValue,
		abi.FnGetProperty:           hostGetProperty,
		abi.FnSetProperty:           func(v *vm, _ api.Module, _ []uint64) abi.Status { return v.h.unimplemented(abi.FnSetProperty) },
		abi.FnSendLocalResponse:     hostSendLocalResponse,
		abi.FnHTTPCall:              hostHTTPCall,
		abi.FnContinueStream:        hostContinueStream,
		abi.FnCloseStream:           hostCloseStream,
		abi.FnGetSharedData:         hostGetSharedData,
		abi.FnSetSharedData:         hostSetSharedData,
		abi.FnRegisterSharedQueue:   hostRegisterSharedQueue,
		abi.FnResolveSharedQueue:    hostResolveSharedQueue,
		abi.FnDequeueSharedQueue:    hostDequeueSharedQueue,
		abi.FnEnqueueSharedQueue:    hostEnqueueSharedQueue,
		abi.FnDefineMetric:          hostDefineMetric,
		abi.FnIncrementMetric:       hostIncrementMetric,
		abi.FnRecordMetric:          hostRecordMetric,
		abi.FnGetMetric:             hostGetMetric,
		abi.FnSetEffectiveContext:   hostSetEffectiveContext,
		abi.FnDone:                  func(*vm, api.Module, []uint64) abi.Status { return abi.StatusOK },
	}
}

// read returns a view of guest memory; ok is false when the range is out of
// bounds. The view is valid until the guest runs again, so callers copy.
func read(mod api.Module, ptr, size uint64) ([]byte, bool) {
	return mod.Memory().Read(uint32(ptr), uint32(size))
}

func readString(mod api.Module, ptr, size uint64) (string, bool) {
	b, ok := read(mod, ptr, size)
	return string(b), ok
}

func hostLog(v *vm, mod api.Module, s []uint64) abi.Status {
	msg, ok := readString(mod, s[1], s[2])
	if !ok {
		return abi.StatusInvalidMemoryAccess
	}
	v.log(abi.LogLevel(s[0]), msg)
	return abi.StatusOK
}

func hostGetLogLevel(v *vm, mod api.Module, s []uint64) abi.Status {
	if !mod.Memory().WriteUint32Le(uint32(s[0]), uint32(v.h.logLevel())) {
		return abi.StatusInvalidMemoryAccess
	}
	return abi.StatusOK
}

func hostGetCurrentTime(v *vm, mod api.Module, s []uint64) abi.Status {
	if !mod.Memory().WriteUint64Le(uint32(s[0]), uint64(v.h.cfg.Clock().UnixNano())) {
		return abi.StatusInvalidMemoryAccess
	}
	return abi.StatusOK
}

// hostSetTickPeriod sets how often the VM's root context gets
// proxy_on_tick; 0 stops the ticks. As in Envoy the period belongs to the
// root context whichever context sets it.
func hostSetTickPeriod(v *vm, _ api.Module, s []uint64) abi.Status {
	v.setTickPeriod(time.Duration(uint32(s[0])) * time.Millisecond)
	return abi.StatusOK
}

// setTickPeriod hands the period to the VM's ticker goroutine, starting it
// on the first call. The caller holds v.mu. Only the latest period counts,
// so a pending one is replaced rather than queued.
func (v *vm) setTickPeriod(d time.Duration) {
	v.tickPeriod = d
	if v.h.closed() {
		return
	}
	if !v.ticking {
		if d == 0 {
			return
		}
		v.ticking = true
		v.tickEvery = make(chan time.Duration, 1)
		v.h.wg.Add(1)
		go v.ticker()
	}
	select {
	case <-v.tickEvery:
	default:
	}
	v.tickEvery <- d
}

// ticker delivers proxy_on_tick to the root context every period, under
// the VM's lock like every guest call. A tick that finds the VM busy waits
// for it, and the next one is timed from when it ran, so ticks never pile
// up behind a slow callback. It ends when the host closes or the VM
// breaks; a replacement VM starts its own when its guest sets a period.
func (v *vm) ticker() {
	defer v.h.wg.Done()
	var period time.Duration
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-v.h.done:
			return
		case <-v.gone:
			return
		case period = <-v.tickEvery:
			timer.Stop()
			if period > 0 {
				timer.Reset(period)
			}
		case <-timer.C:
			v.mu.Lock()
			if v.broken {
				v.mu.Unlock()
				return
			}
			// A tick that waited for the lock while the guest stopped the
			// ticks is not delivered.
			if v.tickPeriod > 0 {
				_, _ = v.call(v.fnTick, abi.ExportOnTick, v.rootID, uint64(v.rootID))
			}
			v.mu.Unlock()
			if period > 0 {
				timer.Reset(period)
			}
		}
	}
}

// buffer returns the bytes behind a buffer type for the current context.
func (v *vm) buffer(t abi.BufferType) ([]byte, abi.Status) {
	switch t {
	case abi.BufferVMConfiguration:
		return v.h.cfg.VMConfig, abi.StatusOK
	case abi.BufferPluginConfiguration:
		return v.h.cfg.PluginConfig, abi.StatusOK
	case abi.BufferHTTPCallResponseBody:
		if v.callResp == nil {
			return nil, abi.StatusNotFound
		}
		return v.callResp.body, abi.StatusOK
	case abi.BufferHTTPRequestBody, abi.BufferHTTPResponseBody:
		// Bodies are streamed to the next handler, never buffered for the guest.
		return nil, abi.StatusNotFound
	case abi.BufferDownstreamData, abi.BufferUpstreamData, abi.BufferGRPCReceive, abi.BufferCallData:
		return nil, abi.StatusNotFound
	default:
		return nil, abi.StatusBadArgument
	}
}

// hostGetBufferBytes copies at most max bytes from start, as Envoy does: a
// read past the end is shortened, an empty read returns a null pointer.
func hostGetBufferBytes(v *vm, mod api.Module, s []uint64) abi.Status {
	b, st := v.buffer(abi.BufferType(s[0]))
	if st != abi.StatusOK {
		return st
	}
	start, size := s[1]&0xffffffff, s[2]&0xffffffff
	if start > uint64(len(b)) {
		return abi.StatusBadArgument
	}
	b = b[start:]
	if size < uint64(len(b)) {
		b = b[:size]
	}
	return v.copyOut(mod, b, uint32(s[3]), uint32(s[4]))
}

func hostSetBufferBytes(v *vm, _ api.Module, s []uint64) abi.Status {
	switch t := abi.BufferType(s[0]); t {
	case abi.BufferHTTPRequestBody, abi.BufferHTTPResponseBody:
		return v.h.unimplemented("proxy_set_buffer_bytes on a body")
	default:
		if _, st := v.buffer(t); st != abi.StatusOK {
			return st
		}
		return abi.StatusBadArgument // configuration and callout buffers are read-only
	}
}

// headerMap returns the header map of a type for the current context;
// mutable is false for maps the guest may only read.
func (v *vm) headerMap(t abi.MapType) (m *[]abi.Header, dirty *bool, st abi.Status) {
	switch t {
	case abi.MapHTTPCallResponseHeaders, abi.MapHTTPCallResponseTrailers:
		if v.callResp == nil {
			return nil, nil, abi.StatusNotFound
		}
		if t == abi.MapHTTPCallResponseHeaders {
			return &v.callResp.headers, nil, abi.StatusOK
		}
		return &v.callResp.trailers, nil, abi.StatusOK
	case abi.MapHTTPRequestHeaders, abi.MapHTTPResponseHeaders:
		s := v.streams[v.cur]
		if s == nil {
			return nil, nil, abi.StatusNotFound
		}
		if t == abi.MapHTTPRequestHeaders {
			return &s.req, &s.reqDirty, abi.StatusOK
		}
		return &s.resp, &s.respDirty, abi.StatusOK
	case abi.MapHTTPRequestTrailers, abi.MapHTTPResponseTrailers, abi.MapGRPCReceiveInitialMetadata, abi.MapGRPCReceiveTrailing:
		return nil, nil, abi.StatusNotFound
	default:
		return nil, nil, abi.StatusBadArgument
	}
}

func hostGetHeaderMapPairs(v *vm, mod api.Module, s []uint64) abi.Status {
	m, _, st := v.headerMap(abi.MapType(s[0]))
	if st != abi.StatusOK {
		return st
	}
	var b []byte
	if len(*m) > 0 {
		b = abi.EncodeHeaders(*m)
	}
	return v.copyOut(mod, b, uint32(s[1]), uint32(s[2]))
}

func hostSetHeaderMapPairs(v *vm, mod api.Module, s []uint64) abi.Status {
	m, dirty, st := v.headerMap(abi.MapType(s[0]))
	if st != abi.StatusOK {
		return st
	}
	if dirty == nil {
		return abi.StatusBadArgument
	}
	b, ok := read(mod, s[1], s[2])
	if !ok {
		return abi.StatusInvalidMemoryAccess
	}
	hs, err := abi.DecodeHeaders(b)
	if err != nil {
		return abi.StatusBadArgument
	}
	for i := range hs {
		hs[i].Name = strings.ToLower(hs[i].Name)
	}
	*m, *dirty = hs, true
	return abi.StatusOK
}

// headerKey reads a header name and lower-cases it: Envoy keeps names
// lower-case, so lookups by any case find the header.
func headerKey(mod api.Module, ptr, size uint64) (string, bool) {
	k, ok := readString(mod, ptr, size)
	return strings.ToLower(k), ok
}

// hostGetHeaderMapValue returns the first value of a repeated header, as
// Envoy does.
func hostGetHeaderMapValue(v *vm, mod api.Module, s []uint64) abi.Status {
	m, _, st := v.headerMap(abi.MapType(s[0]))
	if st != abi.StatusOK {
		return st
	}
	k, ok := headerKey(mod, s[1], s[2])
	if !ok {
		return abi.StatusInvalidMemoryAccess
	}
	for _, h := range *m {
		if h.Name == k {
			return v.copyOut(mod, []byte(h.Value), uint32(s[3]), uint32(s[4]))
		}
	}
	return abi.StatusNotFound
}

func hostAddHeaderMapValue(v *vm, mod api.Module, s []uint64) abi.Status {
	return editHeader(v, mod, s, func(m []abi.Header, k, val string) []abi.Header {
		return append(m, abi.Header{Name: k, Value: val})
	})
}

// hostReplaceHeaderMapValue leaves exactly one header of the name, as
// Envoy's setCopy does; it adds the header when absent.
func hostReplaceHeaderMapValue(v *vm, mod api.Module, s []uint64) abi.Status {
	return editHeader(v, mod, s, func(m []abi.Header, k, val string) []abi.Header {
		out, found := m[:0], false
		for _, h := range m {
			if h.Name == k {
				if found {
					continue
				}
				h.Value, found = val, true
			}
			out = append(out, h)
		}
		if !found {
			out = append(out, abi.Header{Name: k, Value: val})
		}
		return out
	})
}

func hostRemoveHeaderMapValue(v *vm, mod api.Module, s []uint64) abi.Status {
	return editHeader(v, mod, s, func(m []abi.Header, k, _ string) []abi.Header {
		out := m[:0]
		for _, h := range m {
			if h.Name != k {
				out = append(out, h)
			}
		}
		return out
	})
}

// editHeader reads the key (and the value for five-parameter calls) and
// applies edit to a mutable map.
func editHeader(v *vm, mod api.Module, s []uint64, edit func([]abi.Header, string, string) []abi.Header) abi.Status {
	m, dirty, st := v.headerMap(abi.MapType(s[0]))
	if st != abi.StatusOK {
		return st
	}
	if dirty == nil {
		return abi.StatusBadArgument
	}
	k, ok := headerKey(mod, s[1], s[2])
	if !ok {
		return abi.StatusInvalidMemoryAccess
	}
	var val string
	if len(s) >= 5 {
		if val, ok = readString(mod, s[3], s[4]); !ok {
			return abi.StatusInvalidMemoryAccess
		}
	}
	*m, *dirty = edit(*m, k, val), true
	return abi.StatusOK
}

// hostGetProperty serves the attributes an authorizer needs. A path's
// segments arrive NUL-separated ("source\x00address"); dotted paths are
// accepted too.
func hostGetProperty(v *vm, mod api.Module, s []uint64) abi.Status {
	raw, ok := readString(mod, s[0], s[1])
	if !ok {
		return abi.StatusInvalidMemoryAccess
	}
	path := strings.ReplaceAll(strings.TrimRight(raw, "\x00"), "\x00", ".")
	val, found := v.property(path)
	if !found {
		return abi.StatusNotFound
	}
	return v.copyOut(mod, []byte(val), uint32(s[2]), uint32(s[3]))
}

func (v *vm) property(path string) (string, bool) {
	cfg := &v.h.cfg
	switch path {
	case "plugin_name":
		return cfg.PluginName, true
	case "plugin_root_id":
		return cfg.RootID, true
	case "plugin_vm_id":
		return cfg.VMID, true
	}
	st := v.streams[v.cur]
	if st == nil {
		return "", false
	}
	switch path {
	case "source.address":
		return st.source, st.source != ""
	case "request.id":
		return st.header("x-request-id")
	case "request.path":
		return st.header(":path")
	case "request.url_path":
		p, ok := st.header(":path")
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		return p, ok
	case "request.method":
		return st.header(":method")
	case "request.host":
		return st.header(":authority")
	case "request.scheme":
		return st.header(":scheme")
	case "request.protocol":
		return st.proto, st.proto != ""
	}
	return "", false
}

// hostSendLocalResponse records the answer the host serves instead of
// forwarding the request. Only the first one of a stream counts, as Envoy
// can send one local reply per stream.
func hostSendLocalResponse(v *vm, mod api.Module, s []uint64) abi.Status {
	st := v.streams[v.cur]
	if st == nil {
		return abi.StatusNotFound
	}
	details, ok1 := readString(mod, s[1], s[2])
	body, ok2 := read(mod, s[3], s[4])
	rawHeaders, ok3 := read(mod, s[5], s[6])
	if !ok1 || !ok2 || !ok3 {
		return abi.StatusInvalidMemoryAccess
	}
	hs, err := abi.DecodeHeaders(rawHeaders)
	if err != nil {
		return abi.StatusBadArgument
	}
	if st.local != nil {
		return abi.StatusBadArgument
	}
	for i := range hs {
		hs[i].Name = strings.ToLower(hs[i].Name)
	}
	st.local = &LocalResponse{Status: int(uint32(s[0])), Details: details, Body: append([]byte(nil), body...), Headers: hs}
	st.signal()
	return abi.StatusOK
}

func hostContinueStream(v *vm, _ api.Module, s []uint64) abi.Status {
	st := v.streams[v.cur]
	if st == nil {
		return abi.StatusNotFound
	}
	switch abi.StreamType(s[0]) {
	case abi.StreamRequest:
		st.continued = true
		st.signal()
		return abi.StatusOK
	case abi.StreamResponse:
		return abi.StatusOK // response callbacks never pause here
	default:
		return abi.StatusBadArgument
	}
}

// hostCloseStream resets the stream: the client connection is aborted
// without an answer, as an Envoy stream reset does.
func hostCloseStream(v *vm, _ api.Module, s []uint64) abi.Status {
	st := v.streams[v.cur]
	if st == nil {
		return abi.StatusNotFound
	}
	switch abi.StreamType(s[0]) {
	case abi.StreamRequest, abi.StreamResponse:
		st.closed = true
		st.signal()
		return abi.StatusOK
	default:
		return abi.StatusBadArgument
	}
}

func hostSetEffectiveContext(v *vm, _ api.Module, s []uint64) abi.Status {
	id := uint32(s[0])
	if id != v.rootID && v.streams[id] == nil {
		return abi.StatusBadArgument
	}
	v.cur = id
	return abi.StatusOK
}
