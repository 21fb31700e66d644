package plugin

import (
	"strconv"
	"strings"
	"time"

	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/filter/abi"
)

// flight is one authorizer question in flight and the streams waiting for
// its answer. Either this VM is calling the authorizer (calling), or another
// VM claimed the question's shared slot and this VM waits for it to publish
// the answer (since is when the wait began).
type flight struct {
	key  flightKey
	pipe *pipeline.Pipeline
	// call is the Call of the request that opened the flight: the claim,
	// the callout and the publication use it, also after that request
	// went away.
	call *pipeline.Call
	// slot is the shared store key of the candidate slot acquire chose
	// last: the one claimed, or waited on. "" when the answer is not
	// shared.
	slot    string
	waiters []uint32

	calling bool
	ref     calloutRef
	sent    time.Time // when the callout was sent, for the latency histogram

	// since is when this VM last read the claim it waits for, by a clock
	// read after the slot: the claim's deadline is at most since +
	// waitBound.
	since time.Time
}

// waitBound is how long a flight waits for another VM before it reads the
// slot again: by then the claim it read has passed its own deadline, past
// which its claimer is taken to have died.
func (f *flight) waitBound() time.Duration { return f.call.Timeout + pipeline.SharedClaimSlack }

// start finds the answer for a request whose pipeline result is a Call: it
// joins the flight already asking the same question in this VM, takes the
// answer another VM published, waits for another VM that is asking, or
// asks the authorizer.
func (p *Plugin) start(s *stream, res *pipeline.Result, now time.Time) abi.Action {
	c := res.Call
	fk := flightKey{root: s.root.id, key: c.Key}
	s.pipe, s.call = s.root.pipe, c
	if f := p.flights[fk]; f != nil {
		f.waiters = append(f.waiters, s.id)
		s.flight, s.coalesced = f, true
		if f.calling {
			p.logDecision(s, res, "callout", strconv.FormatUint(uint64(f.ref.token), 10), "shared", "true")
		} else {
			p.logDecision(s, res, "shared", "wait")
		}
		return abi.ActionPause
	}
	f := &flight{key: fk, pipe: s.root.pipe, call: c, slot: s.root.pipe.SharedKey(c), waiters: []uint32{s.id}}
	s.flight = f
	if f.slot == "" {
		return p.dispatch(f, res, now, s)
	}
	out, value, now := p.acquire(f, now)
	switch out {
	case served:
		s.flight, s.pipe, s.call = nil, nil, nil
		r, _ := f.pipe.FromShared(c, value, now)
		return p.apply(s, r, false, now)
	case wait:
		f.since = now
		p.flights[fk] = f
		p.logDecision(s, res, "shared", "wait")
		return abi.ActionPause
	}
	return p.dispatch(f, res, now, s)
}

// dispatch sends the authorizer request of flight f. current is the stream
// whose request-headers callback is running (its answer is the returned
// action), or nil when every waiter is paused.
func (p *Plugin) dispatch(f *flight, res *pipeline.Result, now time.Time, current *stream) abi.Action {
	c := f.call
	headers := []abi.Header{
		{Name: ":method", Value: "POST"},
		{Name: ":path", Value: c.Path},
		{Name: ":authority", Value: c.Authority},
		{Name: "content-type", Value: "application/json"},
	}
	for _, h := range c.Headers {
		headers = append(headers, abi.Header(h))
	}
	timeout := c.Timeout.Milliseconds()
	if timeout < 1 {
		timeout = 1
	}
	if current != nil {
		// The callout is made on the root context so that it outlives
		// the request that caused it: other requests, here and in other
		// VMs, wait for its answer, and a host that ties callouts to the
		// calling stream would cancel it with that stream.
		p.host.SetEffectiveContext(f.key.root)
	}
	token, st := p.host.HTTPCall(c.Cluster, headers, c.Event, nil, uint32(timeout))
	if current != nil {
		p.host.SetEffectiveContext(current.id)
	}
	if st != abi.StatusOK {
		// Typically an unknown cluster: the authorizer cannot be asked,
		// which is an authorizer failure for these requests.
		p.logf(abi.LogError, "authorizer[%s]: call to cluster %q failed: %v", c.Authorizer, c.Cluster, st)
		return p.finish(f, pipeline.Response{}, now, true, current)
	}
	f.calling, f.ref, f.sent = true, calloutRef{root: f.key.root, token: token}, now
	p.callouts[f.ref] = f
	p.flights[f.key] = f
	tok := strconv.FormatUint(uint64(token), 10)
	if current != nil {
		p.logDecision(current, res, "callout", tok)
	} else {
		p.logf(abi.LogDebug, "authorizer[%s]: callout %s for %d waiting requests", c.Authorizer, tok, len(f.waiters))
	}
	return abi.ActionPause
}

// OnHTTPCallResponse finishes the flight of a callout. The answer is read
// first, from the context the host delivers it on (the root), then
// published for the other VMs, then each live waiter is made the effective
// context and resumed.
func (p *Plugin) OnHTTPCallResponse(id, token, headers, bodySize, trailers uint32) {
	defer p.recoverLog("proxy_on_http_call_response")
	ref := calloutRef{root: id, token: token}
	f, ok := p.callouts[ref]
	if !ok {
		// A host that delivers the answer on the stream context instead
		// of its root still finds the callout.
		if s := p.streams[id]; s != nil && s.root != nil {
			alt := calloutRef{root: s.root.id, token: token}
			if f, ok = p.callouts[alt]; ok {
				ref = alt
			}
		}
	}
	if !ok {
		p.logf(abi.LogWarn, "answer for unknown callout %d on context %d ignored", token, id)
		return
	}
	delete(p.callouts, ref)
	now, st := p.host.CurrentTime()
	var resp pipeline.Response
	if st != abi.StatusOK {
		p.logf(abi.LogError, "reading the clock: %v", st)
	} else {
		resp = p.readCalloutResponse(headers, bodySize)
		p.observe(f.call.Authorizer, now.Sub(f.sent))
		if timedOut(headers, resp) {
			p.countSuffix(f.call.Authorizer, pipeline.MetricTimeout)
		}
	}
	p.finish(f, resp, now, st == abi.StatusOK, nil)
}

// calloutLogBytes bounds how much of an authorizer's answer the debug log
// shows: enough to tell JSON from an error page or a truncated body.
const calloutLogBytes = 48

// logCalloutAnswer writes the debug line of an answer that failed a
// request: its status, size and first bytes, which tell an authorizer's
// error page or a truncated body from a policy the pipeline refused. The
// identity travels only in the authorizer request, never in this line.
func (p *Plugin) logCalloutAnswer(f *flight, resp pipeline.Response) {
	head := resp.Body
	if len(head) > calloutLogBytes {
		head = head[:calloutLogBytes]
	}
	p.logf(abi.LogDebug, "authorizer[%s]: callout %d answered status=%d bytes=%d body=%q",
		f.call.Authorizer, f.ref.token, resp.Status, len(resp.Body), head)
}

// envoyTimeoutBody is the body of the 504 Envoy's router answers itself
// when a callout exceeds its timeout.
const envoyTimeoutBody = "upstream request timeout"

// timedOut tells whether a callout's answer is the host's report of a call
// that got no answer: no headers at all (a timeout or reset reported as a
// failure, as the wazero host and Envoy's async client failures do), or
// Envoy's own 504 for an exceeded timeout. An authorizer's own 504 with
// another body is an error, not a timeout.
func timedOut(headers uint32, resp pipeline.Response) bool {
	return headers == 0 || resp.Status == 0 ||
		(resp.Status == 504 && strings.TrimSpace(string(resp.Body)) == envoyTimeoutBody)
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

// finish ends flight f with the authorizer's answer resp (status 0 for a
// failed call): every live waiter gets the result of its own Call, and the
// answer is published for the other VMs. current is the stream whose
// request-headers callback is running, if any; its answer is the returned
// action.
func (p *Plugin) finish(f *flight, resp pipeline.Response, now time.Time, clockOK bool, current *stream) abi.Action {
	if p.flights[f.key] == f {
		delete(p.flights, f.key)
	}
	type outcome struct {
		s   *stream
		res pipeline.Result
	}
	var outs []outcome
	var share []byte
	for _, w := range f.waiters {
		s := p.streams[w]
		if s == nil || s.done || s.flight != f {
			continue
		}
		res := p.failure(s, "clock unavailable")
		if clockOK {
			res = s.pipe.Resume(s.call, resp, now)
			if share == nil {
				share = res.Share
			}
		}
		outs = append(outs, outcome{s, res})
		if res.Decision == pipeline.DecisionError && len(outs) == 1 && p.logs(abi.LogDebug) {
			p.logCalloutAnswer(f, resp)
		}
	}
	if share == nil && clockOK && f.slot != "" {
		// Nobody here waits any more; other VMs may.
		share = f.pipe.Resume(f.call, resp, now).Share
	}
	act := abi.ActionPause
	for _, o := range outs {
		if o.s == current {
			o.s.flight, o.s.call, o.s.pipe = nil, nil, nil
			act = p.apply(o.s, o.res, false, now)
		}
	}
	if f.slot != "" && share != nil {
		p.publish(f.slot, share, now)
	}
	for _, o := range outs {
		if o.s != current {
			p.settle(o.s, o.res, now)
		}
	}
	return act
}

// settle applies a final result to a paused stream: it is made the
// effective context first. A panic fails that stream alone.
func (p *Plugin) settle(s *stream, res pipeline.Result, now time.Time) {
	s.flight, s.call, s.pipe = nil, nil, nil
	if s.done || p.streams[s.id] != s {
		return
	}
	switched := false
	defer func() {
		if r := recover(); r != nil {
			p.logf(abi.LogError, "panic resuming context %d: %v", s.id, r)
			if switched {
				p.sendFailure()
			}
		}
	}()
	if st := p.host.SetEffectiveContext(s.id); st != abi.StatusOK {
		p.logf(abi.LogWarn, "context %d gone before its authorizer answer: %v", s.id, st)
		return
	}
	switched = true
	p.apply(s, res, true, now)
}

// leave takes a stream off its flight's waiters. A wait for another VM
// left without waiters ends; a callout stays until it is answered, so that
// its answer is still published.
func (p *Plugin) leave(s *stream) {
	f := s.flight
	s.flight, s.call, s.pipe = nil, nil, nil
	if f == nil {
		return
	}
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if w != s.id {
			kept = append(kept, w)
		}
	}
	f.waiters = kept
	if len(kept) == 0 && !f.calling && p.flights[f.key] == f {
		delete(p.flights, f.key)
	}
}

// dropRoot forgets the flights of a deleted root context. Its callouts will
// not be answered to it, so a claimed slot is released now: other VMs'
// waiters then ask the authorizer themselves instead of waiting for the
// claim's deadline.
func (p *Plugin) dropRoot(id uint32) {
	if p.vm.queue != 0 && p.vm.root == id {
		// The queue's notifications would go to a context that is gone:
		// hand the queue to another root of this VM.
		p.vm.queue = 0
		for rid, r := range p.roots {
			if r.pipe != nil && r.pipe.Plan().SharedSlots > 0 && p.host.SetEffectiveContext(rid) == abi.StatusOK {
				p.registerQueue(rid)
				p.host.SetEffectiveContext(id)
				break
			}
		}
	}
	now, clockOK := p.host.CurrentTime()
	for fk := range p.flights {
		if fk.root == id {
			delete(p.flights, fk)
		}
	}
	for ref, f := range p.callouts {
		if ref.root != id {
			continue
		}
		delete(p.callouts, ref)
		if f.slot != "" && clockOK == abi.StatusOK {
			if share := f.pipe.Resume(f.call, pipeline.Response{}, now).Share; share != nil {
				p.publish(f.slot, share, now)
			}
		}
	}
}
