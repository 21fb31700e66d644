package wasm

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/authgate/authgate/filter/abi"
)

// calloutResult is what proxy_on_http_call_response may read. A failed call
// has no headers, body or trailers.
type calloutResult struct {
	headers, trailers []abi.Header
	body              []byte
}

// hostHTTPCall starts an HTTP callout on behalf of the effective context.
// As in Envoy an unknown upstream is BadArgument, and so is a header map
// without :method, :path or :authority. Trailers are accepted and dropped:
// the host's client speaks HTTP/1.1 to clusters. A timeout of 0 means none.
func hostHTTPCall(v *vm, mod api.Module, s []uint64) abi.Status {
	upstream, ok1 := readString(mod, s[0], s[1])
	rawHeaders, ok2 := read(mod, s[2], s[3])
	body, ok3 := read(mod, s[4], s[5])
	if _, ok4 := read(mod, s[6], s[7]); !ok1 || !ok2 || !ok3 || !ok4 {
		return abi.StatusInvalidMemoryAccess
	}
	if v.h.closed() {
		return abi.StatusInternalFailure
	}
	base, ok := v.h.cfg.Clusters[upstream]
	if !ok {
		return abi.StatusBadArgument
	}
	hs, err := abi.DecodeHeaders(rawHeaders)
	if err != nil {
		return abi.StatusBadArgument
	}
	var method, path, authority string
	header := http.Header{}
	for _, h := range hs {
		switch strings.ToLower(h.Name) {
		case ":method":
			method = h.Value
		case ":path":
			path = h.Value
		case ":authority":
			authority = h.Value
		case ":scheme", "host":
		default:
			if !strings.HasPrefix(h.Name, ":") {
				header.Add(h.Name, h.Value)
			}
		}
	}
	if method == "" || path == "" || authority == "" {
		return abi.StatusBadArgument
	}
	var ctx context.Context
	var cancel context.CancelFunc
	if ms := uint32(s[8]); ms > 0 {
		ctx, cancel = context.WithTimeout(v.h.baseCtx, time.Duration(ms)*time.Millisecond)
	} else {
		ctx, cancel = context.WithCancel(v.h.baseCtx)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(base, "/")+path, bytes.NewReader(bytes.Clone(body)))
	if err != nil {
		cancel()
		return abi.StatusBadArgument
	}
	req.Header, req.Host = header, authority
	token := v.h.calls.Add(1)
	if !mod.Memory().WriteUint32Le(uint32(s[9]), token) {
		cancel()
		return abi.StatusInvalidMemoryAccess
	}
	owner := v.cur
	if st := v.streams[owner]; st != nil {
		st.callouts[token] = cancel
	}
	v.h.wg.Add(1)
	go v.h.runCallout(v, owner, token, req, cancel)
	return abi.StatusOK
}

// runCallout performs the request and delivers the outcome to the owning
// context on its VM. A deleted stream's callout was cancelled and its
// result is dropped without calling the guest, as Envoy cancels the
// callouts of a destroyed stream.
func (h *Host) runCallout(v *vm, owner, token uint32, req *http.Request, cancel context.CancelFunc) {
	defer h.wg.Done()
	res := h.doCallout(req)
	cancel()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.broken || h.closed() {
		return
	}
	var st *stream
	if owner != v.rootID {
		if st = v.streams[owner]; st == nil {
			return
		}
		delete(st.callouts, token)
	}
	v.callResp = res
	_, _ = v.call(v.fnCallResp, abi.ExportOnHTTPCallResponse, owner,
		uint64(owner), uint64(token), uint64(len(res.headers)), uint64(len(res.body)), uint64(len(res.trailers)))
	v.callResp = nil
	if st != nil {
		st.signal()
	}
}

func (h *Host) doCallout(req *http.Request) *calloutResult {
	resp, err := h.client.Do(req)
	if err != nil {
		h.log.Debug("wasm callout failed", "url", req.URL.String(), "err", err)
		return &calloutResult{}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxCalloutBody+1))
	if err != nil || len(body) > MaxCalloutBody {
		h.log.Debug("wasm callout body failed", "url", req.URL.String(), "err", err)
		return &calloutResult{}
	}
	res := &calloutResult{body: body}
	res.headers = append(res.headers, abi.Header{Name: ":status", Value: itoa(resp.StatusCode)})
	res.headers = appendHeaders(res.headers, resp.Header)
	res.trailers = appendHeaders(nil, resp.Trailer)
	return res
}

// appendHeaders adds h lower-cased and sorted by name, so the guest sees a
// stable order; repeated values stay in order as repeated pairs.
func appendHeaders(dst []abi.Header, h http.Header) []abi.Header {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		lk := strings.ToLower(k)
		for _, val := range h[k] {
			dst = append(dst, abi.Header{Name: lk, Value: val})
		}
	}
	return dst
}
