package plugin

import (
	"time"

	"github.com/authgate/authgate/core/crossvm"
	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/filter/abi"
)

// dispatch sends the authorizer request of a Dispatch step from its root
// context: the callout then belongs to the root and outlives the request
// that caused it.
func (p *Plugin) dispatch(s crossvm.Step) crossvm.Outcome {
	c := s.Call
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
	back := p.effective
	p.switchTo(s.Root)
	token, st := p.host.HTTPCall(c.Cluster, headers, c.Event, nil, uint32(timeout))
	p.switchTo(back)
	if st != abi.StatusOK {
		p.logf(abi.LogError, "authorizer[%s]: call to cluster %q failed: %v", c.Authorizer, c.Cluster, st)
		return crossvm.Outcome{Status: crossvm.Failed}
	}
	if p.current == 0 && p.logs(abi.LogDebug) {
		p.logf(abi.LogDebug, "authorizer[%s]: callout %d for waiting requests", c.Authorizer, token)
	}
	return crossvm.Outcome{Callout: token}
}

// calloutAnswer is a callout's answer while its streams are settled, for
// the debug line of an answer that failed them.
type calloutAnswer struct {
	ref        crossvm.Callout
	authorizer string
	resp       pipeline.Response
}

// OnHTTPCallResponse reads a callout's answer, from the context the host
// delivers it on (the root), and hands it to the protocol, which resumes
// the waiting streams and publishes it for the other VMs.
func (p *Plugin) OnHTTPCallResponse(id, token, headers, bodySize, trailers uint32) {
	defer p.recoverLog("proxy_on_http_call_response")
	ref := crossvm.Callout{Root: id, Token: token}
	call, sent, ok := p.vm.Pending(ref)
	if !ok {
		// A host that delivers the answer on the stream context instead
		// of its root still finds the callout.
		if s := p.streams[id]; s != nil && s.root != nil {
			alt := crossvm.Callout{Root: s.root.id, Token: token}
			if call, sent, ok = p.vm.Pending(alt); ok {
				ref = alt
			}
		}
	}
	if !ok {
		p.logf(abi.LogWarn, "answer for unknown callout %d on context %d ignored", token, id)
		return
	}
	now, st := p.host.CurrentTime()
	var resp pipeline.Response
	if st != abi.StatusOK {
		p.logf(abi.LogError, "reading the clock: %v", st)
	} else {
		resp = p.readCalloutResponse(headers, bodySize, call.MaxResponseBytes)
		p.observe(call.Authorizer, now.Sub(sent))
		if timedOut(resp) {
			p.countSuffix(call.Authorizer, pipeline.MetricTimeout)
		}
	}
	p.answering = &calloutAnswer{ref: ref, authorizer: call.Authorizer, resp: resp}
	defer func() { p.answering = nil }()
	p.run(id, p.vm.Answered(ref, resp, now, st == abi.StatusOK))
}

// calloutLogBytes bounds how much of an authorizer's answer the debug log
// shows: enough to tell JSON from an error page or a truncated body.
const calloutLogBytes = 48

// logCalloutAnswer writes the debug line of an answer that failed a
// request: its status, size and first bytes, which tell an authorizer's
// error page or a truncated body from a policy the pipeline refused. The
// identity travels only in the authorizer request, never in this line.
func (p *Plugin) logCalloutAnswer(a *calloutAnswer) {
	head := a.resp.Body
	if len(head) > calloutLogBytes {
		head = head[:calloutLogBytes]
	}
	p.logf(abi.LogDebug, "authorizer[%s]: callout %d answered status=%d bytes=%d body=%q",
		a.authorizer, a.ref.Token, a.resp.Status, max(len(a.resp.Body), a.resp.BodySize), head)
}

// timedOut tells whether a callout's answer is the host's report of a call
// that ran out of time (pipeline.Response.TimedOut): Envoy's own 504.
// No headers at all is how Envoy reports a reset; an authorizer's own 504
// with another body is its answer.
func timedOut(resp pipeline.Response) bool {
	return resp.TimedOut()
}

// readCalloutResponse reads a callout's answer. Status 0 (the call failed)
// when the host reports no headers (timeout, reset) or the answer cannot be
// read. A body longer than maxBody is left in the host: the answer carries
// its size only (Response.BodySize), which the pipeline refuses, so an
// authorizer cannot grow the VM's memory, which never shrinks.
func (p *Plugin) readCalloutResponse(headers, bodySize uint32, maxBody int) pipeline.Response {
	if headers == 0 {
		return pipeline.Response{}
	}
	hs, st := p.host.GetHeaderMapPairs(abi.MapHTTPCallResponseHeaders)
	if st != abi.StatusOK {
		p.logf(abi.LogError, "reading callout response headers: %v", st)
		return pipeline.Response{}
	}
	resp, err := pipeline.NewResponse(hs, nil)
	if err != nil {
		p.logf(abi.LogError, "%v", err)
		return pipeline.Response{}
	}
	if uint64(bodySize) > uint64(maxBody) {
		resp.BodySize = int(min(uint64(bodySize), uint64(maxBody)+1))
		return resp
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

// settleAll gives the streams of a Settle step their answers: first the
// stream whose request-headers callback runs, whose answer is that
// callback's action, then every paused one.
func (p *Plugin) settleAll(s *crossvm.Step) {
	if a := p.answering; a != nil && s.Callout == a.ref && len(s.Answers) > 0 &&
		s.Answers[0].Result.Decision == pipeline.DecisionError && p.logs(abi.LogDebug) {
		p.logCalloutAnswer(a)
	}
	for i := range s.Answers {
		a := &s.Answers[i]
		st := p.streams[a.Stream]
		if a.Stream != p.current || st == nil {
			continue
		}
		st.coalesced = a.Coalesced
		if p.switchTo(st.id) != abi.StatusOK {
			p.logf(abi.LogWarn, "context %d gone before its answer", st.id)
			continue
		}
		p.action = p.apply(st, a.Result, false, time.Time{})
	}
	for i := range s.Answers {
		a := &s.Answers[i]
		if st := p.streams[a.Stream]; st != nil && a.Stream != p.current {
			st.coalesced = a.Coalesced
			p.settle(st, a.Result)
		}
	}
}

// settle applies a final result to a paused stream: it is made the
// effective context first. A panic fails that stream alone.
func (p *Plugin) settle(s *stream, res pipeline.Result) {
	switched := false
	defer func() {
		if r := recover(); r != nil {
			p.logf(abi.LogError, "panic resuming context %d: %v", s.id, r)
			if switched {
				p.sendFailure()
			}
		}
	}()
	if st := p.switchTo(s.id); st != abi.StatusOK {
		p.logf(abi.LogWarn, "context %d gone before its authorizer answer: %v", s.id, st)
		return
	}
	switched = true
	p.apply(s, res, true, time.Time{})
}
