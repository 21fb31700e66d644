// Package plugin is the authgate filter logic: it maps the proxy-wasm
// callbacks of one VM onto core/pipeline, and onto core/crossvm, whose
// steps it performs. It decides nothing of the sharing between requests
// and VMs. It talks to the proxy only through proxywasm.Host, so it runs
// natively in tests against proxywasmtest.
//
// A Plugin is not safe for concurrent use; a proxy-wasm host calls one VM
// from one thread at a time (Envoy runs one VM per worker).
package plugin

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/crossvm"
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
// configured plugin), its HTTP streams and the cross-VM protocol's state.
type Plugin struct {
	host    proxywasm.Host
	roots   map[uint32]*root
	streams map[uint32]*stream
	// vm decides how requests and VMs share authorizer answers; the
	// plugin performs its steps (shared.go).
	vm *crossvm.VM
	// resolve caches the queue ids of other VMs, by name.
	resolve map[string]uint32
	// current is the stream whose request-headers callback runs (0 in
	// other callbacks) and action its answer, once a Settle step gave it.
	current uint32
	action  abi.Action
	// effective is the context host calls act on while steps run.
	effective uint32
	// ticked: the last Configure asked for ticks.
	ticked bool
	// answering is the callout whose answer the steps are settling.
	answering *calloutAnswer
	metrics   map[string]uint32 // metric ids by name
	// counters caches the ids of the counters by authorizer and suffix,
	// so that counting a request builds no metric name.
	counters map[counterKey]uint32
	// level is the proxy's log level, read at configuration and on every
	// tick: lines below it would be discarded by the proxy, so they are
	// not even formatted (formatting a decision line costs more than the
	// rest of a cache hit inside the wasm VM). Trace until read.
	level abi.LogLevel
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

	// coalesced: the stream's answer came from another request's
	// callout, in this VM or another, instead of one it caused.
	coalesced bool

	// For log lines only (pipeline.NewRecord).
	method, target, requestID string
}

// New returns the filter for a VM whose host is h. The VM's queue name
// is random: VMs of one vm_id cannot learn each other's ids, and the name
// only has to differ from theirs.
func New(h proxywasm.Host) *Plugin {
	return &Plugin{
		host:     h,
		roots:    map[uint32]*root{},
		streams:  map[uint32]*stream{},
		vm:       crossvm.New(crossvm.QueuePrefix + strconv.FormatUint(rand.Uint64(), 36)),
		resolve:  map[string]uint32{},
		metrics:  map[string]uint32{},
		counters: map[counterKey]uint32{},
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
	p.readLogLevel()
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
	p.defineMetrics(plan)
	p.ticked = false
	p.run(rootID, p.vm.Configure(rootID, r.pipe))
	if !p.ticked {
		// A plugin that shares nothing is ticked only to read the log
		// level again, so that a level changed at run time (Envoy's
		// /logging) takes effect; without ticks it is only read here.
		if st := p.host.SetTickPeriod(levelTickMs); st != abi.StatusOK {
			p.logf(abi.LogWarn, "setting the tick period: %v", st)
		}
	}
	p.logf(abi.LogInfo, "configured: %d routes, %d authorizers", len(plan.Routes), len(plan.Authorizers))
	for _, w := range plan.Warnings {
		p.logf(abi.LogWarn, "configuration: %s", w)
	}
	for _, c := range plan.LambdaClusters {
		// The filter never signs: the cluster must (Envoy's
		// aws_request_signing upstream filter), for this region and role.
		p.logf(abi.LogInfo, "%s", c.SigningNote())
	}
	return true
}

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
		return p.apply(s, p.failure(s, "clock unavailable"), false, now)
	}
	req, err := p.readRequest()
	if err != nil {
		p.logf(abi.LogError, "reading request headers: %v", err)
		return p.apply(s, p.failure(s, "request headers unavailable"), false, now)
	}
	s.method, s.target, s.requestID = req.Method, req.Target, req.RequestID
	return p.apply(s, s.root.pipe.Evaluate(req, now), false, now)
}

// readRequest collects what the pipeline needs from the current stream.
func (p *Plugin) readRequest() (*pipeline.Request, error) {
	hs, st := p.host.GetHeaderMapPairs(abi.MapHTTPRequestHeaders)
	if st != abi.StatusOK {
		return nil, st
	}
	req := pipeline.NewRequest(hs)
	// source.address costs a host call that re-enters the guest; the
	// pipeline asks for it only when a policy condition or an event needs
	// it, while this stream is still the current context.
	req.SourceIPFunc = p.sourceAddress
	// request.protocol likewise, read only for HTTP APIs' events and
	// $context.protocol identity sources.
	req.ProtocolFunc = p.requestProtocol
	// Envoy's request.id property is the x-request-id header (read by
	// NewRequest), which its connection manager sets before any filter
	// runs: reading the header saves a host call, and the allocation
	// callback it makes, per request. The property is asked for only
	// without it.
	if req.RequestID == "" {
		if v, st := p.host.GetProperty("request", "id"); st == abi.StatusOK {
			req.RequestID = string(v)
		}
	}
	return req, nil
}

// sourceAddress reads the current stream's downstream address without its
// port; "" when the proxy does not say. Envoy's source.address is the
// downstream remote address its connection manager settled on: the peer
// of the connection when use_remote_address is set (the example
// configurations set it), else the last X-Forwarded-For entry. No
// attribute tells the two apart, so the connection manager's settings
// decide what aws:SourceIp means (see RATIONALE.md, "Why trust Envoy's
// source address, and who makes it right?").
func (p *Plugin) sourceAddress() string {
	v, st := p.host.GetProperty("source", "address")
	if st != abi.StatusOK {
		return ""
	}
	return pipeline.SourceAddress(string(v))
}

// requestProtocol reads the current stream's HTTP version as Envoy names
// it ("HTTP/1.1", "HTTP/2"); "" when the proxy does not say.
func (p *Plugin) requestProtocol() string {
	v, st := p.host.GetProperty("request", "protocol")
	if st != abi.StatusOK {
		return ""
	}
	return string(v)
}

// apply carries out a pipeline result on stream s, which must be the
// host's current context. resumed says whether the stream is paused waiting
// for an authorizer answer (and so must be continued explicitly).
func (p *Plugin) apply(s *stream, res pipeline.Result, resumed bool, now time.Time) abi.Action {
	switch res.Kind {
	case pipeline.KindAllow:
		if st := p.editHeaders(res); st != abi.StatusOK {
			// A forged x-authorizer-* header might still be there:
			// never continue with it.
			p.logf(abi.LogError, "editing request headers of context %d: %v", s.id, st)
			return p.apply(s, p.failure(s, "header edit failed"), resumed, now)
		}
		p.decided(s, &res)
		if resumed {
			if st := p.host.ContinueStream(abi.StreamRequest); st != abi.StatusOK {
				p.logf(abi.LogError, "continuing context %d: %v", s.id, st)
			}
		}
		return abi.ActionContinue
	case pipeline.KindReject:
		p.decided(s, &res)
		p.sendLocal(&res)
		return abi.ActionPause
	case pipeline.KindCall:
		if !resumed && res.Call != nil {
			return p.start(s, &res, now)
		}
	}
	p.logf(abi.LogError, "unexpected pipeline result %v on context %d", res.Kind, s.id)
	return p.apply(s, p.failure(s, "unexpected pipeline result"), resumed, now)
}

// decided logs and counts the final result of stream s.
func (p *Plugin) decided(s *stream, res *pipeline.Result) {
	p.logDecision(s, res)
	p.count(res)
	if s.coalesced {
		p.countSuffix(res.Authorizer, pipeline.MetricCoalesced)
	}
}

// failure is the answer for a request the filter cannot finish, in the
// stream's API type when its pipeline is known.
func (p *Plugin) failure(s *stream, reason string) pipeline.Result {
	if s != nil && s.root != nil && s.root.pipe != nil {
		return s.root.pipe.Failure(reason)
	}
	return pipeline.Failure(reason)
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
	p.count(&res)
	p.sendLocal(&res)
}

// OnDone marks a stream finished: an authorizer answer no longer touches it.
func (p *Plugin) OnDone(id uint32) bool {
	defer p.recoverLog("proxy_on_done")
	p.vm.Leave(id)
	return true
}

// OnDelete forgets a context. A stream leaves the question it waited
// for; a root takes its questions with it.
func (p *Plugin) OnDelete(id uint32) {
	defer p.recoverLog("proxy_on_delete")
	if s := p.streams[id]; s != nil {
		delete(p.streams, id)
		p.vm.Leave(id)
		return
	}
	if _, ok := p.roots[id]; ok {
		delete(p.roots, id)
		p.run(id, p.vm.DropRoot(id))
	}
}

// logDecision writes the decision line of a request: the decision record
// (pipeline.Record's text layout, which hosts read back with
// pipeline.ParseText), then the stream's context id and extra key/value
// pairs. A final decision is logged at debug level, or at info when the
// plan sets logDecisions, and an authorizer failure at warning level; a
// pending one (extra pairs say which callout it waits for) always at
// debug. It is formatted only when the proxy writes the line.
func (p *Plugin) logDecision(s *stream, res *pipeline.Result, extra ...string) {
	level := abi.LogDebug
	switch {
	case res.Decision == pipeline.DecisionError:
		// An authorizer failure is an operator's problem, not a client's.
		level = abi.LogWarn
	case res.Kind == pipeline.KindCall:
	case s.root != nil && s.root.pipe != nil && s.root.pipe.Plan().LogDecisions:
		level = abi.LogInfo
	}
	if !p.logs(level) {
		return
	}
	rec := pipeline.NewRecord(s.method, s.target, s.requestID, res)
	rec.Coalesced = s.coalesced
	p.host.Log(level, string(rec.AppendLine(make([]byte, 0, 256), "ctx", uint64(s.id), extra...)))
}

// logs reports whether the proxy writes lines at level.
func (p *Plugin) logs(level abi.LogLevel) bool { return level >= p.level }

// readLogLevel reads the proxy's log level. Should the host not tell,
// everything is logged, as before the level was known.
func (p *Plugin) readLogLevel() {
	level, st := p.host.LogLevel()
	if st != abi.StatusOK {
		level = abi.LogTrace
	}
	p.level = level
}

func (p *Plugin) logf(level abi.LogLevel, format string, args ...any) {
	if !p.logs(level) {
		return
	}
	p.host.Log(level, fmt.Sprintf(format, args...))
}

// recoverLog is deferred by callbacks that have no answer to give: a panic is
// logged and the callback returns normally.
func (p *Plugin) recoverLog(where string) {
	if r := recover(); r != nil {
		p.logf(abi.LogError, "panic in %s: %v", where, r)
	}
}
