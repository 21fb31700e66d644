package wasm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/authgate/authgate/filter/abi"
)

// calloutResult is what proxy_on_http_call_response may read. A call that
// got no answer at all (the host is closing, the answer body could not be
// read) has no headers, body or trailers. bodySize is the body_size the
// guest is told: len(body), or more for a body left unread (see
// Config.MaxCalloutBody).
type calloutResult struct {
	headers, trailers []abi.Header
	body              []byte
	bodySize          int
}

// Envoy answers a callout it could not complete with a response of its own
// rather than a failure, and the host copies those answers byte for byte:
// a timeout is a 504, and a connection that failed or was reset before the
// response headers is a 503 naming the reset reason.
const (
	// TimeoutBody is the body of the 504 a timed-out callout gets.
	TimeoutBody = "upstream request timeout"
	// ResetBodyPrefix starts the body of the 503 a failed connection gets;
	// the reset reason follows: "remote connection failure" when the
	// connection could not be made, "connection termination" when it broke
	// before the response headers.
	ResetBodyPrefix = "upstream connect error or disconnect/reset before headers. reset reason: "
)

// calloutStride is how far apart consecutive callout ids of a VM are.
// Envoy's ids grow by more than one (4, 8, 12 were observed), so a guest
// must treat them as opaque; a stride other than one makes a guest that
// assumes 1, 2, 3 fail here rather than in Envoy.
const calloutStride = 4

// hostHTTPCall starts an HTTP callout. As in Envoy the callout belongs to
// the root context whatever context makes it: its answer is delivered to
// the root, and a stream that ends does not cancel it. An unknown upstream
// is BadArgument, and so is a header map without :method, :path or
// :authority. Trailers are accepted and dropped: the host's client speaks
// HTTP/1.1 to clusters. A timeout of 0 means none.
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
	v.nextCall += calloutStride
	if v.nextCall == 0 { // wrapped: 0 is never an id
		v.nextCall = calloutStride
	}
	token := v.nextCall
	if !mod.Memory().WriteUint32Le(uint32(s[9]), token) {
		cancel()
		return abi.StatusInvalidMemoryAccess
	}
	v.h.wg.Add(1)
	go v.h.runCallout(v, token, req, cancel)
	return abi.StatusOK
}

// runCallout performs the request and delivers the outcome to the root
// context of its VM, as Envoy delivers it to the context that owns the
// callout. The guest finds the stream that waits (proxy_set_effective_context)
// itself; a stream that ended meanwhile is the guest's to notice.
func (h *Host) runCallout(v *vm, token uint32, req *http.Request, cancel context.CancelFunc) {
	defer h.wg.Done()
	res := h.doCallout(req)
	cancel()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.broken || h.closed() {
		return
	}
	v.callResp = res
	_, _ = v.call(v.fnCallResp, abi.ExportOnHTTPCallResponse, v.rootID,
		uint64(v.rootID), uint64(token), uint64(len(res.headers)), uint64(max(res.bodySize, len(res.body))), uint64(len(res.trailers)))
	v.callResp = nil
}

func (h *Host) doCallout(req *http.Request) *calloutResult {
	resp, err := h.client.Do(req)
	if err != nil {
		h.log.Debug("wasm callout failed", "url", req.URL.String(), "err", err)
		switch {
		case errors.Is(req.Context().Err(), context.DeadlineExceeded):
			return localAnswer(http.StatusGatewayTimeout, TimeoutBody)
		case h.closed():
			return &calloutResult{}
		case isDialError(err):
			return localAnswer(http.StatusServiceUnavailable, ResetBodyPrefix+"remote connection failure")
		default:
			return localAnswer(http.StatusServiceUnavailable, ResetBodyPrefix+"connection termination")
		}
	}
	defer resp.Body.Close()
	res := &calloutResult{}
	res.headers = append(res.headers, abi.Header{Name: ":status", Value: itoa(resp.StatusCode)})
	res.headers = appendHeaders(res.headers, resp.Header)
	limit := h.cfg.MaxCalloutBody
	if resp.ContentLength > int64(limit) {
		// Not read at all: the guest learns the size, not the bytes.
		res.bodySize = limit + 1
		return res
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		// Envoy resets a callout whose answer breaks off after its headers
		// and reports a failure without headers; so does the host.
		h.log.Debug("wasm callout body failed", "url", req.URL.String(), "err", err)
		return &calloutResult{}
	}
	if len(body) > limit {
		res.bodySize = len(body)
		return res
	}
	res.body = body
	res.trailers = appendHeaders(nil, resp.Trailer)
	return res
}

// localAnswer is an answer Envoy makes up for a callout: the status, a
// plain-text body and its length.
func localAnswer(status int, body string) *calloutResult {
	return &calloutResult{
		headers: []abi.Header{
			{Name: ":status", Value: itoa(status)},
			{Name: "content-length", Value: itoa(len(body))},
			{Name: "content-type", Value: "text/plain"},
		},
		body: []byte(body),
	}
}

// isDialError reports whether err happened while connecting.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
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
