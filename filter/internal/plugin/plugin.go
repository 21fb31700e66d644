// Package plugin is the authgate filter logic: it maps the proxy-wasm
// callbacks of one VM onto core/pipeline. It talks to the proxy only through
// proxywasm.Host, so it runs natively in tests against proxywasmtest.
//
// A Plugin is not safe for concurrent use; a proxy-wasm host calls one VM
// from one thread at a time (Envoy runs one VM per worker).
package plugin

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/filter/abi"
	"github.com/authgate/authgate/filter/internal/proxywasm"
)

// Details is the response-code detail of every local response the filter
// sends (Envoy's %RESPONSE_CODE_DETAILS%).
const Details = "authgate"

// grpcNone tells proxy_send_local_response the answer is plain HTTP.
const grpcNone int32 = -1

// Plugin is the state of the filter in one VM: its root contexts (one per
// configured plugin), its HTTP streams and its callouts in flight.
type Plugin struct {
	host     proxywasm.Host
	roots    map[uint32]*root
	streams  map[uint32]*stream
	callouts map[calloutRef]*callout
	inflight map[flightKey]calloutRef
	// orphans are callouts all of whose waiters went away; their late
	// answers are dropped quietly. Hosts answer every callout (with an
	// error on timeout or reset), so the set drains by itself.
	orphans map[calloutRef]struct{}
}

// root is a root context: one plugin configuration.
type root struct {
	id   uint32
	pipe *pipeline.Pipeline // nil until configured
}

// stream is an HTTP context.
type stream struct {
	id   uint32
	root *root // nil when created under an unknown root

	// While waiting for a callout: the pipeline that issued the Call (a
	// reconfiguration must not change how the answer is read), the Call
	// and the callout it waits on.
	pipe    *pipeline.Pipeline
	call    *pipeline.Call
	waiting bool
	wait    calloutRef
	done    bool

	// For log lines only.
	method, path, requestID string
}

// calloutRef names a callout. Envoy issues callouts on the root context
// (whatever context asked) and numbers them per root, so the root is part
// of the name.
type calloutRef struct{ root, token uint32 }

// flightKey identifies the authorizer question a callout answers: requests
// of one plugin configuration with the same cache key share one callout.
type flightKey struct {
	root uint32
	key  string
}

// callout is one authorizer request in flight and the streams waiting on it.
type callout struct {
	key     flightKey
	waiters []uint32
}

// New returns the filter for a VM whose host is h.
func New(h proxywasm.Host) *Plugin {
	return &Plugin{
		host:     h,
		roots:    map[uint32]*root{},
		streams:  map[uint32]*stream{},
		callouts: map[calloutRef]*callout{},
		inflight: map[flightKey]calloutRef{},
		orphans:  map[calloutRef]struct{}{},
	}
}

var _ proxywasm.Handler = (*Plugin)(nil)

// OnContextCreate records a root context (parent 0) or an HTTP stream.
func (p *Plugin) OnContextCreate(id, parent uint32) {
	defer p.recoverLog("proxy_on_context_create")
	if parent == 0 {
		if p.roots[id] == nil {
			p.roots[id] = &root{id: id}
		}
		return
	}
	p.streams[id] = &stream{id: id, root: p.roots[parent]}
}

// OnVMStart accepts any VM configuration: the filter reads only the plugin
// configuration.
func (p *Plugin) OnVMStart(root, vmConfigSize uint32) bool { return true }

// OnConfigure parses the plugin configuration into the root's pipeline. An
// empty or invalid configuration refuses the plugin (false), so the proxy
// never runs a filter that would pass traffic unchecked.
func (p *Plugin) OnConfigure(rootID, size uint32) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			p.logf(abi.LogError, "panic while configuring: %v", r)
			ok = false
		}
	}()
	r := p.roots[rootID]
	if r == nil {
		r = &root{id: rootID}
		p.roots[rootID] = r
	}
	if size == 0 {
		p.logf(abi.LogError, "plugin configuration is empty: set the filter's configuration to the authgate JSON")
		return false
	}
	b, st := p.host.GetBufferBytes(abi.BufferPluginConfiguration, 0, size)
	if st != abi.StatusOK {
		p.logf(abi.LogError, "reading the plugin configuration: %v", st)
		return false
	}
	plan, err := config.Parse(b)
	if err != nil {
		p.logf(abi.LogError, "invalid plugin configuration: %v", err)
		return false
	}
	r.pipe = pipeline.New(plan)
	p.logf(abi.LogInfo, "configured: %d routes, %d authorizers", len(plan.Routes), len(plan.Authorizers))
	return true
}

// OnTick does nothing: the filter sets no timer.
func (p *Plugin) OnTick(root uint32) {}

// OnQueueReady does nothing: the filter uses no queue.
func (p *Plugin) OnQueueReady(root, queue uint32) {}

// OnLog does nothing: decisions are logged when they are made.
func (p *Plugin) OnLog(id uint32) {}

// OnResponseHeaders lets every response through.
func (p *Plugin) OnResponseHeaders(id, headers uint32, endOfStream bool) abi.Action {
	return abi.ActionContinue
}

// OnRequestHeaders runs the pipeline on a request. Any failure, a panic
// included, answers 500: the filter fails closed.
func (p *Plugin) OnRequestHeaders(id, headers uint32, endOfStream bool) (act abi.Action) {
	defer func() {
		if r := recover(); r != nil {
			p.logf(abi.LogError, "panic on request headers of context %d: %v", id, r)
			p.sendFailure()
			act = abi.ActionPause
		}
	}()
	s := p.streams[id]
	if s == nil || s.root == nil || s.root.pipe == nil {
		// The host should never run a stream of a plugin it failed to
		// configure; if it does, nothing is known about the route.
		p.logf(abi.LogError, "request on context %d of an unconfigured plugin", id)
		p.sendFailure()
		return abi.ActionPause
	}
	now, st := p.host.CurrentTime()
	if st != abi.StatusOK {
		p.logf(abi.LogError, "reading the clock: %v", st)
		return p.apply(s, pipeline.Failure("clock unavailable"), false, now)
	}
	req, err := p.readRequest()
	if err != nil {
		p.logf(abi.LogError, "reading request headers: %v", err)
		return p.apply(s, pipeline.Failure("request headers unavailable"), false, now)
	}
	s.method, s.path, s.requestID = req.Method, req.Target, req.RequestID
	if i := strings.IndexByte(s.path, '?'); i >= 0 {
		// The query may carry identity (REQUEST authorizers); keep it out
		// of the logs.
		s.path = s.path[:i]
	}
	return p.apply(s, s.root.pipe.Evaluate(req, now), false, now)
}

// readRequest collects what the pipeline needs from the current stream.
func (p *Plugin) readRequest() (*pipeline.Request, error) {
	hs, st := p.host.GetHeaderMapPairs(abi.MapHTTPRequestHeaders)
	if st != abi.StatusOK {
		return nil, st
	}
	req := &pipeline.Request{Headers: make([]pipeline.Header, 0, len(hs)+1)}
	var authority string
	hasHost := false
	for _, h := range hs {
		if strings.HasPrefix(h.Name, ":") {
			switch h.Name {
			case ":method":
				req.Method = h.Value
			case ":path":
				req.Target = h.Value
			case ":scheme":
				req.Scheme = h.Value
			case ":authority":
				authority = h.Value
			}
			continue
		}
		if strings.EqualFold(h.Name, "host") {
			hasHost = true
		}
		req.Headers = append(req.Headers, pipeline.Header(h))
	}
	if authority != "" && !hasHost {
		// Envoy keeps HTTP/1 Host as :authority; the REQUEST event and
		// identity sources expect it as the Host header, as API Gateway
		// shows it.
		req.Headers = append(req.Headers, pipeline.Header{Name: "host", Value: authority})
	}
	if v, st := p.host.GetProperty("source", "address"); st == abi.StatusOK {
		req.SourceIP = hostOnly(string(v))
	}
	if v, st := p.host.GetProperty("request", "id"); st == abi.StatusOK && len(v) > 0 {
		req.RequestID = string(v)
	} else {
		for _, h := range hs {
			if strings.EqualFold(h.Name, "x-request-id") {
				req.RequestID = h.Value
				break
			}
		}
	}
	return req, nil
}

// hostOnly strips the port from an "ip:port" or "[ipv6]:port" address.
func hostOnly(addr string) string {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.Addr().String()
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")); err == nil {
		return a.String()
	}
	return ""
}

// apply carries out a pipeline result on stream s, which must be the
// host's current context. resumed says whether the stream is paused waiting
// for a callout (and so must be continued explicitly).
func (p *Plugin) apply(s *stream, res pipeline.Result, resumed bool, now time.Time) abi.Action {
	switch res.Kind {
	case pipeline.KindAllow:
		if st := p.editHeaders(res); st != abi.StatusOK {
			// A forged x-authorizer-* header might still be there:
			// never continue with it.
			p.logf(abi.LogError, "editing request headers of context %d: %v", s.id, st)
			return p.apply(s, pipeline.Failure("header edit failed"), resumed, now)
		}
		p.logDecision(s, &res)
		if resumed {
			if st := p.host.ContinueStream(abi.StreamRequest); st != abi.StatusOK {
				p.logf(abi.LogError, "continuing context %d: %v", s.id, st)
			}
		}
		return abi.ActionContinue
	case pipeline.KindReject:
		p.logDecision(s, &res)
		p.sendLocal(&res)
		return abi.ActionPause
	case pipeline.KindCall:
		if !resumed && res.Call != nil {
			return p.dispatch(s, &res, now)
		}
	}
	p.logf(abi.LogError, "unexpected pipeline result %v on context %d", res.Kind, s.id)
	return p.apply(s, pipeline.Failure("unexpected pipeline result"), resumed, now)
}

func (p *Plugin) editHeaders(res pipeline.Result) abi.Status {
	for _, name := range res.Remove {
		if st := p.host.RemoveHeaderMapValue(abi.MapHTTPRequestHeaders, name); st != abi.StatusOK {
			return st
		}
	}
	for _, h := range res.Set {
		if st := p.host.ReplaceHeaderMapValue(abi.MapHTTPRequestHeaders, h.Name, h.Value); st != abi.StatusOK {
			return st
		}
	}
	return abi.StatusOK
}

func (p *Plugin) sendLocal(res *pipeline.Result) {
	hs := make([]abi.Header, len(res.Headers))
	for i, h := range res.Headers {
		hs[i] = abi.Header(h)
	}
	if st := p.host.SendLocalResponse(uint32(res.Status), Details, res.Body, hs, grpcNone); st != abi.StatusOK {
		p.logf(abi.LogError, "sending the %d answer: %v", res.Status, st)
	}
}

// sendFailure answers the current context 500, when nothing else can be done.
func (p *Plugin) sendFailure() {
	res := pipeline.Failure("internal error")
	p.sendLocal(&res)
}

// dispatch sends the authorizer request of a Call, or joins the callout
// already in flight for the same question.
func (p *Plugin) dispatch(s *stream, res *pipeline.Result, now time.Time) abi.Action {
	c := res.Call
	fk := flightKey{root: s.root.id, key: c.Key}
	if ref, ok := p.inflight[fk]; ok {
		co := p.callouts[ref]
		co.waiters = append(co.waiters, s.id)
		s.pipe, s.call, s.waiting, s.wait = s.root.pipe, c, true, ref
		p.logDecision(s, res, "callout", strconv.FormatUint(uint64(ref.token), 10), "shared", "true")
		return abi.ActionPause
	}
	headers := []abi.Header{
		{Name: ":method", Value: "POST"},
		{Name: ":path", Value: c.Path},
		{Name: ":authority", Value: c.Authority},
		{Name: "content-type", Value: "application/json"},
	}
	timeout := c.Timeout.Milliseconds()
	if timeout < 1 {
		timeout = 1
	}
	token, st := p.host.HTTPCall(c.Cluster, headers, c.Event, nil, uint32(timeout))
	if st != abi.StatusOK {
		// Typically an unknown cluster: the authorizer cannot be asked,
		// which is an authorizer failure for this request.
		p.logf(abi.LogError, "authorizer[%s]: call to cluster %q failed: %v", c.Authorizer, c.Cluster, st)
		return p.apply(s, s.root.pipe.Resume(c, pipeline.Response{}, now), false, now)
	}
	ref := calloutRef{root: s.root.id, token: token}
	delete(p.orphans, ref)
	p.callouts[ref] = &callout{key: fk, waiters: []uint32{s.id}}
	p.inflight[fk] = ref
	s.pipe, s.call, s.waiting, s.wait = s.root.pipe, c, true, ref
	p.logDecision(s, res, "callout", strconv.FormatUint(uint64(token), 10))
	return abi.ActionPause
}

// OnHTTPCallResponse finishes every stream waiting on a callout. The answer
// is read first, from the context the host delivers it on (the root), then
// each live waiter is made the effective context and resumed.
func (p *Plugin) OnHTTPCallResponse(id, token, headers, bodySize, trailers uint32) {
	defer p.recoverLog("proxy_on_http_call_response")
	ref := calloutRef{root: id, token: token}
	co, ok := p.callouts[ref]
	if !ok {
		// A host that delivers the answer on the stream context instead
		// of its root still finds the callout.
		if s := p.streams[id]; s != nil && s.root != nil {
			alt := calloutRef{root: s.root.id, token: token}
			if co, ok = p.callouts[alt]; ok {
				ref = alt
			}
		}
	}
	if !ok {
		if _, orphan := p.orphans[ref]; orphan {
			delete(p.orphans, ref)
			p.logf(abi.LogDebug, "callout %d answered after its requests ended; ignored", token)
			return
		}
		p.logf(abi.LogWarn, "answer for unknown callout %d on context %d ignored", token, id)
		return
	}
	delete(p.callouts, ref)
	if p.inflight[co.key] == ref {
		delete(p.inflight, co.key)
	}
	now, st := p.host.CurrentTime()
	var resp pipeline.Response
	if st != abi.StatusOK {
		p.logf(abi.LogError, "reading the clock: %v", st)
	} else {
		resp = p.readCalloutResponse(headers, bodySize)
	}
	for _, w := range co.waiters {
		p.resume(w, ref, resp, now, st == abi.StatusOK)
	}
}

// readCalloutResponse reads a callout's answer. Status 0 (the call failed)
// when the host reports no headers (timeout, reset) or the answer cannot be
// read.
func (p *Plugin) readCalloutResponse(headers, bodySize uint32) pipeline.Response {
	if headers == 0 {
		return pipeline.Response{}
	}
	hs, st := p.host.GetHeaderMapPairs(abi.MapHTTPCallResponseHeaders)
	if st != abi.StatusOK {
		p.logf(abi.LogError, "reading callout response headers: %v", st)
		return pipeline.Response{}
	}
	var resp pipeline.Response
	for _, h := range hs {
		if h.Name == ":status" {
			n, err := strconv.Atoi(h.Value)
			if err != nil || n < 100 || n > 999 {
				p.logf(abi.LogError, "callout response with bad :status %q", h.Value)
				return pipeline.Response{}
			}
			resp.Status = n
			continue
		}
		if !strings.HasPrefix(h.Name, ":") {
			resp.Headers = append(resp.Headers, pipeline.Header(h))
		}
	}
	if resp.Status == 0 {
		p.logf(abi.LogError, "callout response without :status")
		return pipeline.Response{}
	}
	if bodySize > 0 {
		b, st := p.host.GetBufferBytes(abi.BufferHTTPCallResponseBody, 0, bodySize)
		if st != abi.StatusOK {
			p.logf(abi.LogError, "reading callout response body: %v", st)
			return pipeline.Response{}
		}
		resp.Body = b
	}
	return resp
}

// resume finishes one waiter of callout ref, if it is still alive and still
// waiting on it. A panic fails that waiter alone.
func (p *Plugin) resume(id uint32, ref calloutRef, resp pipeline.Response, now time.Time, clockOK bool) {
	s := p.streams[id]
	if s == nil || s.done || !s.waiting || s.wait != ref {
		return
	}
	c, pipe := s.call, s.pipe
	s.waiting, s.call, s.pipe = false, nil, nil
	switched := false
	defer func() {
		if r := recover(); r != nil {
			p.logf(abi.LogError, "panic resuming context %d: %v", id, r)
			if switched {
				p.sendFailure()
			}
		}
	}()
	if st := p.host.SetEffectiveContext(id); st != abi.StatusOK {
		p.logf(abi.LogWarn, "context %d gone before its authorizer answered: %v", id, st)
		return
	}
	switched = true
	res := pipeline.Failure("clock unavailable")
	if clockOK {
		res = pipe.Resume(c, resp, now)
	}
	p.apply(s, res, true, now)
}

// OnDone marks a stream finished: a callout answer no longer touches it.
func (p *Plugin) OnDone(id uint32) bool {
	defer p.recoverLog("proxy_on_done")
	if s := p.streams[id]; s != nil {
		s.done = true
	}
	return true
}

// OnDelete forgets a context. A stream leaves its callout's waiters; a
// callout left without waiters is dropped (its late answer is ignored). A
// root takes its callouts with it.
func (p *Plugin) OnDelete(id uint32) {
	defer p.recoverLog("proxy_on_delete")
	if s := p.streams[id]; s != nil {
		delete(p.streams, id)
		if s.waiting {
			p.leave(s)
		}
		return
	}
	if _, ok := p.roots[id]; ok {
		delete(p.roots, id)
		for ref, co := range p.callouts {
			if ref.root == id {
				delete(p.callouts, ref)
				delete(p.inflight, co.key)
			}
		}
		for ref := range p.orphans {
			if ref.root == id {
				delete(p.orphans, ref)
			}
		}
	}
}

// leave takes a stream off its callout's waiter list.
func (p *Plugin) leave(s *stream) {
	ref := s.wait
	s.waiting, s.call, s.pipe = false, nil, nil
	co := p.callouts[ref]
	if co == nil {
		return
	}
	kept := co.waiters[:0]
	for _, w := range co.waiters {
		if w != s.id {
			kept = append(kept, w)
		}
	}
	co.waiters = kept
	if len(kept) == 0 {
		delete(p.callouts, ref)
		if p.inflight[co.key] == ref {
			delete(p.inflight, co.key)
		}
		p.orphans[ref] = struct{}{}
	}
}

// logDecision writes the debug line of a decision. It never includes the
// identity, the cache key or the query string.
func (p *Plugin) logDecision(s *stream, res *pipeline.Result, extra ...string) {
	var b strings.Builder
	fmt.Fprintf(&b, "ctx=%d method=%s path=%q route=%q authorizer=%q cache=%s decision=%s",
		s.id, s.method, s.path, res.Route, res.Authorizer, res.CacheState, res.Decision)
	if res.Kind == pipeline.KindReject {
		fmt.Fprintf(&b, " status=%d", res.Status)
	}
	if res.Reason != "" {
		fmt.Fprintf(&b, " reason=%q", res.Reason)
	}
	if s.requestID != "" {
		fmt.Fprintf(&b, " request_id=%q", s.requestID)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		fmt.Fprintf(&b, " %s=%s", extra[i], extra[i+1])
	}
	level := abi.LogDebug
	if res.Decision == pipeline.DecisionError {
		// An authorizer failure is an operator's problem, not a client's.
		level = abi.LogWarn
	}
	p.host.Log(level, b.String())
}

func (p *Plugin) logf(level abi.LogLevel, format string, args ...any) {
	p.host.Log(level, fmt.Sprintf(format, args...))
}

// recoverLog is deferred by callbacks that have no answer to give: a panic is
// logged and the callback returns normally.
func (p *Plugin) recoverLog(where string) {
	if r := recover(); r != nil {
		p.logf(abi.LogError, "panic in %s: %v", where, r)
	}
}
