package wasm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/authgate/authgate/filter/abi"
	"github.com/authgate/authgate/host/internal/envoyheaders"
)

// LocalResponse is an answer the guest sent with proxy_send_local_response.
// Details is Envoy's response code details: logged, never sent.
type LocalResponse struct {
	Status  int
	Details string
	Body    []byte
	Headers []abi.Header
}

// stream is one request's HTTP context. Every field after v is guarded by
// v.mu.
type stream struct {
	id     uint32
	v      *vm
	source string
	proto  string          // request.protocol as Envoy names it
	ctx    context.Context // the request's, for Config.StreamLog
	wake   chan struct{}   // a callback changed the disposition; buffered 1

	req, resp           []abi.Header
	reqDirty, respDirty bool
	local               *LocalResponse
	continued, closed   bool
	failed              error
}

func (s *stream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *stream) header(name string) (string, bool) {
	for _, h := range s.req {
		if h.Name == name {
			return h.Value, true
		}
	}
	return "", false
}

// disposition is what the handler does with a request after a callback.
type disposition int

const (
	outWait disposition = iota
	outForward
	outLocal
	outFail
	outClose
)

// dispositionLocked decides with v.mu held. A failure beats a reset, a
// reset beats a local response, and a local response beats continuing.
func (s *stream) dispositionLocked(headersContinue bool) disposition {
	switch {
	case s.failed != nil:
		return outFail
	case s.closed:
		return outClose
	case s.local != nil:
		return outLocal
	case headersContinue || s.continued:
		return outForward
	default:
		return outWait
	}
}

// Handler puts the filter in front of next. For each request it creates an
// HTTP context and calls proxy_on_request_headers; then it serves the
// guest's local response, forwards the (possibly edited) request to next,
// or waits while the guest pauses until proxy_continue_stream or a local
// response arrives from a later callback. Finally it calls proxy_on_done,
// proxy_on_log and proxy_on_delete. A trap answers Config.FailureResponse
// (an empty 500 by default). Requests Envoy's codec refuses before any
// filter runs (HTTP/1.0, more than 100 header fields) get Envoy's answer
// without reaching the filter.
//
// A client that goes away while the stream is paused ends the stream: the
// host calls the three final callbacks at once. Its callouts go on, as in
// Envoy, where they belong to the root context: their answers may serve
// other streams waiting on the same authorizer call.
func (h *Host) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, next) })
}

func (h *Host) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if envoyheaders.Refuse(w, r) {
		return
	}
	ctx := r.Context()
	envoyheaders.OriginForm(r)
	envoyheaders.Prepare(r)
	st := &stream{
		ctx:    ctx,
		source: r.RemoteAddr,
		proto:  envoyProtocol(r.Proto),
		wake:   make(chan struct{}, 1),
		req:    envoyheaders.Pairs[abi.Header](r),
	}
	var v *vm
	for {
		var err error
		if v, err = h.pick(ctx); err != nil {
			if errors.Is(err, ErrClosed) {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		v.mu.Lock()
		if !v.broken {
			break
		}
		v.mu.Unlock()
	}
	st.v, st.id = v, h.ids.Add(1)
	v.streams[st.id] = st
	headersContinue := false
	if _, err := v.call(v.fnCreate, abi.ExportOnContextCreate, st.id, uint64(st.id), uint64(v.rootID)); err == nil {
		eos := uint64(0)
		if r.ContentLength == 0 {
			eos = 1
		}
		action, err := v.call(v.fnReqHeaders, abi.ExportOnRequestHeaders, st.id, uint64(st.id), uint64(len(st.req)), eos)
		headersContinue = err == nil && abi.Action(action) == abi.ActionContinue
	}
	out := st.dispositionLocked(headersContinue)
	v.mu.Unlock()

	for out == outWait {
		select {
		case <-st.wake:
		case <-ctx.Done():
			h.finish(st)
			return
		}
		v.mu.Lock()
		out = st.dispositionLocked(false)
		v.mu.Unlock()
	}

	defer h.finish(st)
	switch out {
	case outFail:
		h.log.Error("wasm filter failed the request", "path", r.URL.Path, "err", st.failed)
		h.writeFailure(w)
	case outClose:
		h.finish(st)
		panic(http.ErrAbortHandler)
	case outLocal:
		writeLocal(w, st.local)
	case outForward:
		v.mu.Lock()
		hs, dirty := st.req, st.reqDirty
		v.mu.Unlock()
		if dirty {
			var err error
			if r, err = applyRequest(r, hs); err != nil {
				h.log.Error("wasm filter set an invalid request", "err", err)
				h.writeFailure(w)
				return
			}
		}
		rw := &responseWriter{ResponseWriter: w, h: h, st: st}
		next.ServeHTTP(rw, r)
		if !rw.wroteHeader {
			rw.WriteHeader(http.StatusOK)
		}
	}
}

// finish ends the stream once: proxy_on_done, proxy_on_log and
// proxy_on_delete in that order (skipped on a broken VM).
func (h *Host) finish(st *stream) {
	v := st.v
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.streams[st.id] != st {
		return
	}
	if _, err := v.call(v.fnDone, abi.ExportOnDone, st.id, uint64(st.id)); err == nil {
		if _, err := v.call(v.fnLog, abi.ExportOnLog, st.id, uint64(st.id)); err == nil {
			_, _ = v.call(v.fnDelete, abi.ExportOnDelete, st.id, uint64(st.id))
		}
	}
	delete(v.streams, st.id)
}

// applyRequest returns a copy of r carrying the header map the guest left:
// real headers replace r's, :method, :path and :authority its method, URL
// and host.
func applyRequest(r *http.Request, hs []abi.Header) (*http.Request, error) {
	r2 := r.Clone(r.Context())
	r2.Header = make(http.Header, len(hs))
	for _, h := range hs {
		switch h.Name {
		case ":method":
			r2.Method = h.Value
		case ":authority":
			r2.Host = h.Value
		case ":path":
			u, err := url.ParseRequestURI(h.Value)
			if err != nil {
				return nil, fmt.Errorf("wasm: :path[%s]: %w", h.Value, err)
			}
			r2.URL.Path, r2.URL.RawPath, r2.URL.RawQuery = u.Path, u.RawPath, u.RawQuery
			r2.RequestURI = h.Value
		case ":scheme":
		default:
			r2.Header.Add(h.Name, h.Value)
		}
	}
	return r2, nil
}

// writeLocal serves a local response. Like Envoy's local replies, a body
// without a content-type is text/plain.
// writeFailure answers a request the filter failed: Config.FailureResponse,
// or an empty 500.
func (h *Host) writeFailure(w http.ResponseWriter) {
	if h.cfg.FailureResponse != nil {
		writeLocal(w, h.cfg.FailureResponse)
		return
	}
	clear(w.Header())
	w.WriteHeader(http.StatusInternalServerError)
}

func writeLocal(w http.ResponseWriter, lr *LocalResponse) {
	hdr := w.Header()
	clear(hdr)
	for _, h := range lr.Headers {
		hdr.Add(h.Name, h.Value)
	}
	if len(lr.Body) > 0 && hdr.Get("Content-Type") == "" {
		hdr.Set("Content-Type", "text/plain")
	}
	status := lr.Status
	if status < 200 || status > 599 {
		status = http.StatusInternalServerError
	}
	w.WriteHeader(status)
	_, _ = w.Write(lr.Body)
}

// responseWriter runs proxy_on_response_headers just before next's status
// line goes out, applies the guest's edits, and lets a local response (or
// a failure) replace next's answer. The guest cannot pause a response: a
// Pause is treated as Continue.
type responseWriter struct {
	http.ResponseWriter
	h           *Host
	st          *stream
	wroteHeader bool
	discard     bool
}

func (rw *responseWriter) WriteHeader(code int) {
	if rw.wroteHeader {
		return
	}
	if code >= 100 && code < 200 {
		rw.ResponseWriter.WriteHeader(code)
		return
	}
	rw.wroteHeader = true
	status, local, abort, err := rw.h.responseHeaders(rw.st, code, rw.Header())
	switch {
	case err != nil:
		rw.discard = true
		rw.h.log.Error("wasm filter failed the response", "err", err)
		rw.h.writeFailure(rw.ResponseWriter)
	case abort:
		rw.h.finish(rw.st)
		panic(http.ErrAbortHandler)
	case local != nil:
		rw.discard = true
		writeLocal(rw.ResponseWriter, local)
	default:
		rw.ResponseWriter.WriteHeader(status)
	}
}

func (rw *responseWriter) Write(b []byte) (int, error) {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.discard {
		return len(b), nil
	}
	return rw.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the filter.
func (rw *responseWriter) Flush() {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	if f, ok := rw.ResponseWriter.(http.Flusher); ok && !rw.discard {
		f.Flush()
	}
}

// Unwrap serves http.ResponseController.
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

func (h *Host) responseHeaders(st *stream, code int, hdr http.Header) (status int, local *LocalResponse, abort bool, err error) {
	v := st.v
	v.mu.Lock()
	defer v.mu.Unlock()
	if st.failed != nil {
		return 0, nil, false, st.failed
	}
	st.resp = appendHeaders([]abi.Header{{Name: ":status", Value: itoa(code)}}, hdr)
	st.respDirty = false
	if _, err := v.call(v.fnRespHeaders, abi.ExportOnResponseHeaders, st.id, uint64(st.id), uint64(len(st.resp)), 0); err != nil {
		return 0, nil, false, err
	}
	if st.closed {
		return 0, nil, true, nil
	}
	if st.local != nil {
		return 0, st.local, false, nil
	}
	status = code
	if st.respDirty {
		clear(hdr)
		for _, h := range st.resp {
			if h.Name == ":status" {
				if n, err := strconv.Atoi(h.Value); err == nil && n >= 200 && n <= 599 {
					status = n
				}
				continue
			}
			hdr.Add(h.Name, h.Value)
		}
	}
	return status, nil, false, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// envoyProtocol names a request's HTTP version as Envoy's request.protocol
// attribute does: "HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/3".
func envoyProtocol(proto string) string {
	switch proto {
	case "HTTP/2.0":
		return "HTTP/2"
	case "HTTP/3.0":
		return "HTTP/3"
	}
	return proto
}
