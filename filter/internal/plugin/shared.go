package plugin

import (
	"strconv"
	"time"

	"github.com/authgate/authgate/core/crossvm"
	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/filter/abi"
)

// How requests and VMs share authorizer answers is core/crossvm's to
// decide; this file performs its steps against the proxy: shared data,
// queues, ticks, callouts, the effective context and the streams' answers.

const (
	// levelTickMs is the tick period of a plugin that shares nothing.
	levelTickMs = 1000
	// maxDequeue bounds the messages one proxy_on_queue_ready takes.
	maxDequeue = 4096
)

// run performs the steps of the protocol, starting with s, until it has
// nothing left to do. ctx is the context of the running callback: the
// one host calls act on until a step makes another one effective.
func (p *Plugin) run(ctx uint32, s crossvm.Step) {
	p.effective = ctx
	for s.Op != crossvm.Idle {
		var o crossvm.Outcome
		switch s.Op {
		case crossvm.Read:
			var st abi.Status
			o.Value, o.Cas, st = p.host.GetSharedData(s.Key)
			o.Status = storeStatus(st)
		case crossvm.Write:
			o.Status = storeStatus(p.host.SetSharedData(s.Key, s.Value, s.Cas))
		case crossvm.Clock:
			var st abi.Status
			if o.Now, st = p.host.CurrentTime(); st != abi.StatusOK {
				p.logf(abi.LogError, "reading the clock: %v", st)
				o.Status = crossvm.Failed
			}
		case crossvm.Enqueue:
			for _, name := range s.Queues {
				p.enqueue(name, s.Message)
			}
		case crossvm.Dispatch:
			o = p.dispatch(s)
		case crossvm.Settle:
			p.settleAll(&s)
		case crossvm.RegisterQueue:
			o.Status = p.registerQueue(s.Root, s.Name)
		case crossvm.Ticks:
			p.ticked = true
			if st := p.host.SetTickPeriod(uint32(s.Period.Milliseconds())); st != abi.StatusOK {
				p.logf(abi.LogWarn, "setting the tick period: %v", st)
			}
		case crossvm.Log:
			p.logStep(s.Level, s.Text)
		}
		s = p.vm.Next(s, o)
	}
}

// storeStatus maps a shared data call's status onto the protocol's.
func storeStatus(st abi.Status) crossvm.Status {
	switch st {
	case abi.StatusOK:
		return crossvm.OK
	case abi.StatusNotFound:
		return crossvm.Missing
	case abi.StatusCasMismatch:
		return crossvm.Mismatch
	}
	return crossvm.Failed
}

// logStep writes a line the protocol asks for.
func (p *Plugin) logStep(level crossvm.Level, text string) {
	l := abi.LogDebug
	switch level {
	case crossvm.Warn:
		l = abi.LogWarn
	case crossvm.Error:
		l = abi.LogError
	}
	if p.logs(l) {
		p.host.Log(l, text)
	}
}

// switchTo makes ctx the effective context, if it is not already.
func (p *Plugin) switchTo(ctx uint32) abi.Status {
	if p.effective == ctx {
		return abi.StatusOK
	}
	st := p.host.SetEffectiveContext(ctx)
	if st == abi.StatusOK {
		p.effective = ctx
	}
	return st
}

// registerQueue registers this VM's queue on root. Its notifications go
// to root's OnQueueReady.
func (p *Plugin) registerQueue(root uint32, name string) crossvm.Status {
	back := p.effective
	p.switchTo(root)
	_, st := p.host.RegisterSharedQueue(name)
	p.switchTo(back)
	if st != abi.StatusOK {
		p.logf(abi.LogWarn, "registering shared queue %s: %v", name, st)
		return crossvm.Failed
	}
	return crossvm.OK
}

// enqueue sends msg to the named queue, resolving its id once.
func (p *Plugin) enqueue(name string, msg []byte) {
	id, ok := p.resolve[name]
	if !ok {
		var st abi.Status
		if id, st = p.host.ResolveSharedQueue("", name); st != abi.StatusOK {
			return
		}
		p.resolve[name] = id
	}
	if st := p.host.EnqueueSharedQueue(id, msg); st != abi.StatusOK {
		// The queue went away with its VM.
		delete(p.resolve, name)
	}
}

// OnQueueReady takes every message of this VM's queue and hands them to
// the protocol: each names a slot another VM just wrote.
func (p *Plugin) OnQueueReady(rootID, queue uint32) {
	defer p.recoverLog("proxy_on_queue_ready")
	var msgs [][]byte
	for range maxDequeue {
		b, st := p.host.DequeueSharedQueue(queue)
		if st != abi.StatusOK {
			break
		}
		msgs = append(msgs, b)
	}
	if len(msgs) > 0 {
		p.run(rootID, p.vm.Woken(msgs))
	}
}

// OnTick reads the log level again and lets the protocol end the waits
// of root that have passed their bound.
func (p *Plugin) OnTick(rootID uint32) {
	defer p.recoverLog("proxy_on_tick")
	p.readLogLevel()
	p.run(rootID, p.vm.Tick(rootID))
}

// start hands a request whose pipeline result is a Call to the protocol.
// The stream is paused unless the protocol answered it at once (from
// another VM's published answer, or with a failure).
func (p *Plugin) start(s *stream, res *pipeline.Result, now time.Time) abi.Action {
	p.current, p.action = s.id, abi.ActionPause
	defer func() { p.current = 0 }()
	p.run(s.id, p.vm.Request(s.id, s.root.id, res.Call, now))
	act := p.action
	if st, ok := p.vm.Stream(s.id); ok && p.logs(abi.LogDebug) {
		switch {
		case st.Callout != 0 && st.Coalesced:
			p.logDecision(s, res, "callout", strconv.FormatUint(uint64(st.Callout), 10), "shared", "true")
		case st.Callout != 0:
			p.logDecision(s, res, "callout", strconv.FormatUint(uint64(st.Callout), 10))
		default:
			p.logDecision(s, res, "shared", "wait")
		}
	}
	return act
}
