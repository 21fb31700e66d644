// Package proxywasmtest is a native fake of the proxy-wasm host for tests of
// the filter logic. It models what Envoy does where the tests depend on it:
// calls act on the current context (the one whose callback runs, or the one
// set with SetEffectiveContext), HTTP callouts belong to the root context and
// their answers are read from that context, and calls on a context that is
// gone fail with abi.StatusBadArgument.
package proxywasmtest

import (
	"fmt"
	"strings"
	"time"

	"github.com/authgate/authgate/filter/abi"
)

// LogLine is one proxy_log call.
type LogLine struct {
	Level abi.LogLevel
	Msg   string
}

// LocalResponse is one proxy_send_local_response call.
type LocalResponse struct {
	Status  uint32
	Details string
	Body    string
	Headers []abi.Header
	GRPC    int32
}

// Callout is one proxy_http_call.
type Callout struct {
	ID        uint32
	Context   uint32 // the root context that owns it
	Cluster   string
	Headers   []abi.Header
	Body      string
	Trailers  []abi.Header
	TimeoutMs uint32
}

// Stream is the host side of one HTTP context.
type Stream struct {
	ID         uint32
	Root       uint32
	Headers    []abi.Header // request headers, edited in place
	Properties map[string]string
	Local      []LocalResponse
	Continued  int
	Deleted    bool
}

// Call is one host call, recorded with the context it acted on.
type Call struct {
	Context uint32
	Name    string
}

// Host is the fake. The zero value is not ready: use New.
type Host struct {
	Now           time.Time
	PluginConfig  []byte
	Logs          []LogLine
	Calls         []Call
	Callouts      []Callout
	Streams       map[uint32]*Stream
	Current       uint32     // the context whose callback runs
	HTTPCallError abi.Status // when set, proxy_http_call fails with it
	// RegisterQueueError, when set, makes proxy_register_shared_queue
	// fail with it.
	RegisterQueueError abi.Status
	PanicOn            string // when set, the named host call panics
	// Level is what proxy_get_log_level reports; the zero value, trace,
	// has the filter log everything.
	Level abi.LogLevel

	// Store holds the shared data, queues and metrics: the state all VMs
	// of one vm_id share. Hosts made with NewVM share one Store.
	Store *Store
	// TickPeriods is the last tick period each root context asked for.
	TickPeriods map[uint32]uint32
	// BeforeSharedRead, when set, runs before every proxy_get_shared_data
	// with the key about to be read. A test of several VMs runs another
	// VM's callbacks there, as another worker thread of a proxy can run
	// between two host calls of this VM.
	BeforeSharedRead func(key string)
	// BeforeSharedWrite, when set, runs before every
	// proxy_set_shared_data with the key about to be written, for the
	// same purpose.
	BeforeSharedWrite func(key string)

	// The callout answer being delivered, readable from its root context.
	respHeaders []abi.Header
	respBody    []byte
	respContext uint32
	nextCallout uint32
	roots       map[uint32]bool
}

// New returns a fake host whose clock reads now.
func New(now time.Time) *Host {
	return NewVM(now, NewStore())
}

// NewVM returns a fake host for one more VM whose shared data, queues and
// metrics are store's, as Envoy's workers share them.
func NewVM(now time.Time, store *Store) *Host {
	return &Host{Now: now, Streams: map[uint32]*Stream{}, roots: map[uint32]bool{}, nextCallout: 1,
		Store: store, TickPeriods: map[uint32]uint32{}}
}

// AddRoot registers a root context.
func (h *Host) AddRoot(id uint32) { h.roots[id] = true }

// AddStream registers an HTTP context with its request headers and the
// source.address property.
func (h *Host) AddStream(id, root uint32, sourceAddress string, headers ...abi.Header) *Stream {
	s := &Stream{ID: id, Root: root, Headers: headers, Properties: map[string]string{}}
	if sourceAddress != "" {
		s.Properties["source\x00address"] = sourceAddress
	}
	h.Streams[id] = s
	return s
}

// SetCalloutResponse makes headers and body readable as the answer of a
// callout owned by root, as during proxy_on_http_call_response.
func (h *Host) SetCalloutResponse(root uint32, headers []abi.Header, body []byte) {
	h.respContext, h.respHeaders, h.respBody = root, headers, body
}

// CallsOn returns the names of the host calls that acted on context id.
func (h *Host) CallsOn(id uint32) []string {
	var out []string
	for _, c := range h.Calls {
		if c.Context == id {
			out = append(out, c.Name)
		}
	}
	return out
}

// LogsAt returns the messages logged at level.
func (h *Host) LogsAt(level abi.LogLevel) []string {
	var out []string
	for _, l := range h.Logs {
		if l.Level == level {
			out = append(out, l.Msg)
		}
	}
	return out
}

func (h *Host) record(name string) {
	h.Calls = append(h.Calls, Call{Context: h.Current, Name: name})
	if h.PanicOn == name {
		panic("fake host: " + name)
	}
}

func (h *Host) stream() (*Stream, abi.Status) {
	s, ok := h.Streams[h.Current]
	if !ok || s.Deleted {
		return nil, abi.StatusBadArgument
	}
	return s, abi.StatusOK
}

// Log implements proxywasm.Host.
func (h *Host) Log(level abi.LogLevel, msg string) {
	h.Logs = append(h.Logs, LogLine{level, msg})
}

// LogLevel implements proxywasm.Host.
func (h *Host) LogLevel() (abi.LogLevel, abi.Status) {
	h.record(abi.FnGetLogLevel)
	return h.Level, abi.StatusOK
}

// CurrentTime implements proxywasm.Host.
func (h *Host) CurrentTime() (time.Time, abi.Status) {
	h.record(abi.FnGetCurrentTimeNanos)
	return h.Now, abi.StatusOK
}

// GetBufferBytes implements proxywasm.Host.
func (h *Host) GetBufferBytes(t abi.BufferType, start, max uint32) ([]byte, abi.Status) {
	h.record(abi.FnGetBufferBytes)
	var b []byte
	switch {
	case t == abi.BufferPluginConfiguration && h.roots[h.Current]:
		b = h.PluginConfig
	case t == abi.BufferHTTPCallResponseBody && h.Current == h.respContext:
		b = h.respBody
	default:
		return nil, abi.StatusNotFound
	}
	if int(start) > len(b) {
		return nil, abi.StatusBadArgument
	}
	b = b[start:]
	if int(max) < len(b) {
		b = b[:max]
	}
	return append([]byte(nil), b...), abi.StatusOK
}

// GetHeaderMapPairs implements proxywasm.Host.
func (h *Host) GetHeaderMapPairs(m abi.MapType) ([]abi.Header, abi.Status) {
	h.record(abi.FnGetHeaderMapPairs)
	switch m {
	case abi.MapHTTPRequestHeaders:
		s, st := h.stream()
		if st != abi.StatusOK {
			return nil, st
		}
		return append([]abi.Header(nil), s.Headers...), abi.StatusOK
	case abi.MapHTTPCallResponseHeaders:
		if h.Current != h.respContext {
			return nil, abi.StatusNotFound
		}
		return append([]abi.Header(nil), h.respHeaders...), abi.StatusOK
	}
	return nil, abi.StatusNotFound
}

// ReplaceHeaderMapValue implements proxywasm.Host.
func (h *Host) ReplaceHeaderMapValue(m abi.MapType, name, value string) abi.Status {
	h.record(abi.FnReplaceHeaderMapValue)
	s, st := h.stream()
	if st != abi.StatusOK || m != abi.MapHTTPRequestHeaders {
		return abi.StatusBadArgument
	}
	h.removeHeader(s, name)
	s.Headers = append(s.Headers, abi.Header{Name: name, Value: value})
	return abi.StatusOK
}

// RemoveHeaderMapValue implements proxywasm.Host.
func (h *Host) RemoveHeaderMapValue(m abi.MapType, name string) abi.Status {
	h.record(abi.FnRemoveHeaderMapValue)
	s, st := h.stream()
	if st != abi.StatusOK || m != abi.MapHTTPRequestHeaders {
		return abi.StatusBadArgument
	}
	h.removeHeader(s, name)
	return abi.StatusOK
}

func (h *Host) removeHeader(s *Stream, name string) {
	kept := s.Headers[:0]
	for _, hd := range s.Headers {
		if !strings.EqualFold(hd.Name, name) {
			kept = append(kept, hd)
		}
	}
	s.Headers = kept
}

// GetProperty implements proxywasm.Host.
func (h *Host) GetProperty(path ...string) ([]byte, abi.Status) {
	h.record(abi.FnGetProperty)
	s, st := h.stream()
	if st != abi.StatusOK {
		return nil, abi.StatusNotFound
	}
	v, ok := s.Properties[strings.Join(path, "\x00")]
	if !ok {
		return nil, abi.StatusNotFound
	}
	return []byte(v), abi.StatusOK
}

// SendLocalResponse implements proxywasm.Host.
func (h *Host) SendLocalResponse(status uint32, details string, body []byte, headers []abi.Header, grpcStatus int32) abi.Status {
	h.record(abi.FnSendLocalResponse)
	s, st := h.stream()
	if st != abi.StatusOK {
		return st
	}
	s.Local = append(s.Local, LocalResponse{status, details, string(body), headers, grpcStatus})
	return abi.StatusOK
}

// HTTPCall implements proxywasm.Host. The callout belongs to the root of the
// current context, as in Envoy.
func (h *Host) HTTPCall(cluster string, headers []abi.Header, body []byte, trailers []abi.Header, timeoutMs uint32) (uint32, abi.Status) {
	h.record(abi.FnHTTPCall)
	if h.HTTPCallError != abi.StatusOK {
		return 0, h.HTTPCallError
	}
	root := h.Current
	if s, ok := h.Streams[h.Current]; ok {
		root = s.Root
	}
	id := h.nextCallout
	h.nextCallout++
	h.Callouts = append(h.Callouts, Callout{id, root, cluster, headers, string(body), trailers, timeoutMs})
	return id, abi.StatusOK
}

// ContinueStream implements proxywasm.Host.
func (h *Host) ContinueStream(t abi.StreamType) abi.Status {
	h.record(abi.FnContinueStream)
	s, st := h.stream()
	if st != abi.StatusOK {
		return st
	}
	if t != abi.StreamRequest {
		return abi.StatusBadArgument
	}
	s.Continued++
	return abi.StatusOK
}

// SetEffectiveContext implements proxywasm.Host.
// It is recorded against the context it selects.
func (h *Host) SetEffectiveContext(id uint32) abi.Status {
	cur := h.Current
	h.Current = id
	h.record(abi.FnSetEffectiveContext)
	h.Current = cur
	if s, ok := h.Streams[id]; (ok && !s.Deleted) || h.roots[id] {
		h.Current = id
		return abi.StatusOK
	}
	return abi.StatusBadArgument
}

// String summarises the fake for failure messages.
func (h *Host) String() string {
	return fmt.Sprintf("calls=%v callouts=%d logs=%v", h.Calls, len(h.Callouts), h.Logs)
}
