//go:build wasip1

// Command guest is the host's test filter. Each request's x-test header
// picks what it does, so one binary exercises every host function; the
// plugin configuration "fail" makes proxy_on_configure refuse.
package main

import (
	"strconv"
	"strings"
	"unsafe"

	"github.com/authgate/authgate/filter/abi"
)

func main() {}

var (
	allocs [][]byte // keeps host-written buffers alive until the next callback
	rootID uint32
	queue  uint32
	modes  = map[uint32]string{}
	// calls maps a callout id to the stream that made it: the host answers
	// on the root context, as Envoy does, so the guest finds the stream.
	calls = map[uint32]uint32{}
	ticks int
)

// enter starts a callback: buffers from earlier callbacks are released.
func enter() { allocs = allocs[:0] }

//go:wasmexport proxy_abi_version_0_2_1
func abiVersion() {}

//go:wasmexport proxy_on_memory_allocate
func onAlloc(size uint32) uint32 {
	b := make([]byte, size+1)
	allocs = append(allocs, b)
	return uint32(uintptr(unsafe.Pointer(&b[0])))
}

//go:wasmexport proxy_on_context_create
func onContextCreate(id, parent uint32) {
	enter()
	if parent == 0 {
		rootID = id
	}
}

//go:wasmexport proxy_on_vm_start
func onVMStart(root, size uint32) uint32 {
	enter()
	cfg, _ := getBuffer(abi.BufferVMConfiguration, 0, size)
	if string(cfg) == "fail" {
		logf(abi.LogError, "vm start refused")
		return 0
	}
	return 1
}

//go:wasmexport proxy_on_configure
func onConfigure(root, size uint32) uint32 {
	enter()
	cfg, _ := getBuffer(abi.BufferPluginConfiguration, 0, size)
	switch string(cfg) {
	case "fail":
		logf(abi.LogInfo, "reading configuration")
		logf(abi.LogError, "bad config: fail")
		logf(abi.LogInfo, "giving up")
		return 0
	case "panic":
		panic("configure exploded")
	}
	name, n := sp("q")
	rawRegisterQueue(name, n, &queue)
	return 1
}

//go:wasmexport proxy_on_tick
func onTick(root uint32) {
	enter()
	if root != rootID {
		logf(abi.LogError, "tick on context "+strconv.Itoa(int(root)))
		return
	}
	ticks++
}

func reply(status uint32, body string) uint32 {
	sendLocal(status, "test", body, nil)
	return uint32(abi.ActionPause)
}

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(id, n, eos uint32) uint32 {
	enter()
	mode, _ := getHeader(abi.MapHTTPRequestHeaders, "X-Test")
	modes[id] = mode
	switch mode {
	case "edit":
		addHeader(abi.MapHTTPRequestHeaders, "X-Added", "yes")
		replaceHeader(abi.MapHTTPRequestHeaders, "x-replace", "replaced")
		removeHeader(abi.MapHTTPRequestHeaders, "x-remove")
		if p, st := getHeader(abi.MapHTTPRequestHeaders, "x-new-path"); st == abi.StatusOK {
			replaceHeader(abi.MapHTTPRequestHeaders, ":path", p)
		}
		if m, st := getHeader(abi.MapHTTPRequestHeaders, "x-new-method"); st == abi.StatusOK {
			replaceHeader(abi.MapHTTPRequestHeaders, ":method", m)
		}
		return uint32(abi.ActionContinue)
	case "pairs":
		b, st := getPairs(abi.MapHTTPRequestHeaders)
		return reply(200, "n="+strconv.Itoa(int(n))+" eos="+strconv.Itoa(int(eos))+" st="+st.String()+"\n"+string(b))
	case "setpairs":
		hs := []abi.Header{{Name: ":authority", Value: "set.example"}, {Name: ":path", Value: "/set?x=1"},
			{Name: ":method", Value: "PUT"}, {Name: ":scheme", Value: "http"}, {Name: "X-Only", Value: "1"}}
		p, pn := bp(abi.EncodeHeaders(hs))
		rawSetPairs(uint32(abi.MapHTTPRequestHeaders), p, pn)
		return uint32(abi.ActionContinue)
	case "value":
		k, _ := getHeader(abi.MapHTTPRequestHeaders, "x-key")
		v, st := getHeader(abi.MapHTTPRequestHeaders, k)
		return reply(200, st.String()+":"+v)
	case "local":
		sendLocal(403, "denied", "nope", []abi.Header{{Name: "X-Why", Value: "test"}, {Name: "content-type", Value: "application/json"}})
		return uint32(abi.ActionPause)
	case "props":
		var out strings.Builder
		for _, p := range []string{"source\x00address", "request\x00id", "plugin_name", "plugin_root_id",
			"plugin_vm_id", "request.path", "request\x00method", "request\x00protocol", "no\x00such"} {
			v, st := getProperty(p)
			out.WriteString(strings.ReplaceAll(p, "\x00", ".") + "=" + st.String() + ":" + v + "\n")
		}
		return reply(200, out.String())
	case "buffers":
		var out strings.Builder
		for _, c := range []struct {
			t          abi.BufferType
			start, max uint32
		}{{abi.BufferPluginConfiguration, 0, 1000}, {abi.BufferVMConfiguration, 0, 1000},
			{abi.BufferPluginConfiguration, 1, 3}, {abi.BufferPluginConfiguration, 1000, 1},
			{abi.BufferHTTPRequestBody, 0, 10}, {abi.BufferHTTPCallResponseBody, 0, 10}} {
			b, st := getBuffer(c.t, c.start, c.max)
			out.WriteString(st.String() + ":" + string(b) + "\n")
		}
		return reply(200, out.String())
	case "call", "call-continue", "call-headers", "call-size":
		cluster, _ := getHeader(abi.MapHTTPRequestHeaders, "x-cluster")
		path, _ := getHeader(abi.MapHTTPRequestHeaders, "x-call-path")
		t, _ := getHeader(abi.MapHTTPRequestHeaders, "x-timeout")
		timeout, _ := strconv.Atoi(t)
		token, st := httpCall(cluster, []abi.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: path},
			{Name: ":authority", Value: "auth.local"}, {Name: "x-token", Value: "abc"}}, "ping", uint32(timeout))
		if st != abi.StatusOK {
			return reply(500, "call "+st.String())
		}
		calls[token] = id
		return uint32(abi.ActionPause)
	case "tick":
		// x-period sets the tick period; the answer is the ticks seen so far.
		if p, st := getHeader(abi.MapHTTPRequestHeaders, "x-period"); st == abi.StatusOK {
			ms, _ := strconv.Atoi(p)
			return reply(200, abi.Status(rawSetTick(uint32(ms))).String())
		}
		return reply(200, strconv.Itoa(ticks))
	case "pause":
		return uint32(abi.ActionPause)
	case "shared":
		var out strings.Builder
		put := func(s string) { out.WriteString(s + "\n") }
		key, _ := getHeader(abi.MapHTTPRequestHeaders, "x-key")
		put(setShared(key, "v1", 0).String())
		v, cas1, st := getShared(key)
		put(st.String() + ":" + v)
		put(setShared(key, "stale", cas1+1).String())
		put(setShared(key, "v2", cas1).String())
		v, cas2, st := getShared(key)
		put(st.String() + ":" + v + " newer=" + strconv.FormatBool(cas2 != cas1 && cas2 != 0))
		put(setShared(key, "stale", cas1).String())
		_, _, st = getShared(key + "-missing")
		put(st.String())
		put(setShared(key+"-new", "x", 12345).String())
		return reply(200, out.String())
	case "queue":
		vmID, _ := getHeader(abi.MapHTTPRequestHeaders, "x-vm-id")
		data, _ := getHeader(abi.MapHTTPRequestHeaders, "x-data")
		vp, vn := sp(vmID)
		np, nn := sp("q")
		var q uint32
		st1 := abi.Status(rawResolveQueue(vp, vn, np, nn, &q))
		dp, dn := sp(data)
		st2 := abi.Status(rawEnqueue(q, dp, dn))
		st3 := abi.Status(rawEnqueue(9999, dp, dn))
		return reply(200, st1.String()+" "+st2.String()+" "+st3.String())
	case "metrics":
		var out strings.Builder
		put := func(s string) { out.WriteString(s + "\n") }
		c, _ := defineMetric(abi.MetricCounter, "requests")
		g, _ := defineMetric(abi.MetricGauge, "inflight")
		h, _ := defineMetric(abi.MetricHistogram, "latency")
		c2, _ := defineMetric(abi.MetricCounter, "requests")
		_, st := defineMetric(abi.MetricGauge, "requests")
		put("same=" + strconv.FormatBool(c == c2) + " retype=" + st.String())
		put(abi.Status(rawIncrementMetric(c, 1)).String())
		put(abi.Status(rawIncrementMetric(c, -1)).String())
		put(abi.Status(rawIncrementMetric(g, -2)).String())
		put(abi.Status(rawRecordMetric(h, 7)).String())
		put(abi.Status(rawIncrementMetric(h, 1)).String())
		var val uint64
		put(abi.Status(rawGetMetric(g, &val)).String() + ":" + strconv.FormatInt(int64(val), 10))
		put(abi.Status(rawGetMetric(h, &val)).String())
		put(abi.Status(rawGetMetric(9999, &val)).String())
		return reply(200, out.String())
	case "log":
		for l := abi.LogTrace; l <= abi.LogCritical; l++ {
			logf(l, "level "+l.String())
		}
		var lvl uint32
		rawGetLogLevel(&lvl)
		return reply(200, "level="+strconv.Itoa(int(lvl)))
	case "time":
		var ns uint64
		rawGetTime(&ns)
		return reply(200, strconv.FormatUint(ns, 10))
	case "panic":
		panic("boom")
	case "close":
		rawClose(uint32(abi.StreamRequest))
		return uint32(abi.ActionPause)
	case "misc":
		var out strings.Builder
		put := func(s string) { out.WriteString(s + "\n") }
		put(abi.Status(rawSetTick(100)).String())
		kp, kn := sp("a")
		put(abi.Status(rawSetProperty(kp, kn, kp, kn)).String())
		put(abi.Status(rawSetEffectiveContext(999999)).String())
		put(abi.Status(rawLog(2, (*byte)(unsafe.Pointer(uintptr(0xfffffff0))), 64)).String())
		_, st := getPairs(99)
		put(st.String())
		_, st = getPairs(abi.MapHTTPRequestTrailers)
		put(st.String())
		_, st = getPairs(abi.MapHTTPCallResponseHeaders)
		put(st.String())
		put(abi.Status(rawContinue(7)).String())
		return reply(200, out.String())
	}
	return uint32(abi.ActionContinue)
}

//go:wasmexport proxy_on_response_headers
func onResponseHeaders(id, n, eos uint32) uint32 {
	enter()
	switch modes[id] {
	case "resp":
		s, _ := getHeader(abi.MapHTTPResponseHeaders, ":status")
		addHeader(abi.MapHTTPResponseHeaders, "x-saw-status", s)
		removeHeader(abi.MapHTTPResponseHeaders, "x-secret")
		replaceHeader(abi.MapHTTPResponseHeaders, ":status", "201")
	case "resp-local":
		sendLocal(418, "teapot", "short and stout", nil)
	}
	return uint32(abi.ActionContinue)
}

//go:wasmexport proxy_on_http_call_response
func onHTTPCallResponse(id, token, nh, bodySize, nt uint32) {
	enter()
	stream, ok := calls[token]
	delete(calls, token)
	logf(abi.LogInfo, "callout response ctx="+strconv.Itoa(int(id))+" root="+strconv.FormatBool(id == rootID)+
		" stream="+strconv.Itoa(int(stream))+" token="+strconv.Itoa(int(token)))
	if !ok {
		return
	}
	if st := abi.Status(rawSetEffectiveContext(stream)); st != abi.StatusOK {
		logf(abi.LogInfo, "stream gone: "+st.String())
		return
	}
	id = stream
	if nh == 0 {
		sendLocal(502, "callout failed", "callout failed", nil)
		return
	}
	status, _ := getHeader(abi.MapHTTPCallResponseHeaders, ":status")
	if modes[id] == "call-headers" {
		b, _ := getPairs(abi.MapHTTPCallResponseHeaders)
		body, _ := getBuffer(abi.BufferHTTPCallResponseBody, 0, bodySize)
		hs, _ := abi.DecodeHeaders(b)
		var out strings.Builder
		for _, h := range hs {
			if h.Name != "date" {
				out.WriteString(h.Name + ": " + h.Value + "\n")
			}
		}
		sendLocal(200, "ok", out.String()+"body="+string(body), nil)
		return
	}
	if modes[id] == "call-size" {
		body, _ := getBuffer(abi.BufferHTTPCallResponseBody, 0, bodySize)
		sendLocal(200, "ok", "status="+status+" size="+strconv.Itoa(int(bodySize))+" read="+strconv.Itoa(len(body)), nil)
		return
	}
	if modes[id] == "call-continue" {
		addHeader(abi.MapHTTPRequestHeaders, "x-call-status", status)
		rawContinue(uint32(abi.StreamRequest))
		return
	}
	body, _ := getBuffer(abi.BufferHTTPCallResponseBody, 0, bodySize)
	echo, _ := getHeader(abi.MapHTTPCallResponseHeaders, "x-echo")
	sendLocal(200, "ok", "status="+status+" body="+string(body)+" echo="+echo+" trailers="+strconv.Itoa(int(nt)), nil)
}

//go:wasmexport proxy_on_queue_ready
func onQueueReady(root, id uint32) {
	enter()
	logf(abi.LogInfo, "queue ready root="+strconv.Itoa(int(root))+" own="+strconv.FormatBool(root == rootID && id == queue))
	for {
		var p, n uint32
		st := abi.Status(rawDequeue(id, &p, &n))
		if st != abi.StatusOK {
			logf(abi.LogInfo, "dequeue "+st.String())
			return
		}
		logf(abi.LogInfo, "dequeued "+string(at(p, n)))
	}
}

//go:wasmexport proxy_on_log
func onLog(id uint32) {
	enter()
	logf(abi.LogDebug, "on_log ctx="+strconv.Itoa(int(id)))
}

//go:wasmexport proxy_on_done
func onDone(id uint32) uint32 {
	enter()
	logf(abi.LogDebug, "on_done ctx="+strconv.Itoa(int(id)))
	return 1
}

//go:wasmexport proxy_on_delete
func onDelete(id uint32) {
	enter()
	logf(abi.LogDebug, "on_delete ctx="+strconv.Itoa(int(id)))
	delete(modes, id)
}
