package main

import (
	"fmt"
	"time"

	"github.com/prometheus/procfs"
)

// The gateway's CPU time per request is the measure that holds up on a
// machine shared with other work: throughput falls when another process
// takes the cores, but the CPU the gateway itself spends on one request
// moves far less. It is read from /proc/<pid>/stat (utime + stime, which
// for a process sum all its threads, live and exited; procfs parses it)
// around each measured run.

// userHZ is the unit of /proc/<pid>/stat's CPU times: USER_HZ, which the
// kernel fixes at 100 on every architecture Go supports for Linux, and
// which procfs assumes too (ProcStat.CPUTime).
const userHZ = 100

// processCPUTicks is the user plus system CPU time process pid has used,
// in clock ticks.
func processCPUTicks(pid int) (uint64, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, fmt.Errorf("procstat[%d]: %w", pid, err)
	}
	st, err := p.Stat()
	if err != nil {
		return 0, fmt.Errorf("procstat[%d]: %w", pid, err)
	}
	return uint64(st.UTime) + uint64(st.STime), nil
}

// clockTicks returns the clock ticks per second of /proc/<pid>/stat and
// where the figure comes from.
func clockTicks() (int64, string) {
	return userHZ, "USER_HZ: 100 on every Linux architecture, as procfs assumes"
}

// cpuMeter reads a gateway's CPU time around measured runs.
type cpuMeter struct {
	pid int
	hz  int64
}

// sample is the gateway's CPU so far in ticks, or ok false when it could
// not be read (a missing reading leaves the run without a CPU figure; it
// does not break the run).
func (m cpuMeter) sample() (ticks uint64, ok bool) {
	if m.pid <= 0 || m.hz <= 0 {
		return 0, false
	}
	v, err := processCPUTicks(m.pid)
	return v, err == nil
}

// perRequest fills r's CPU fields from two samples and the requests
// answered in between.
func (m cpuMeter) perRequest(r *RunResult, before, after uint64, okBefore, okAfter bool, answered int) {
	if !okBefore || !okAfter || after < before || answered <= 0 {
		return
	}
	ticks := after - before
	cpu := time.Duration(ticks) * time.Second / time.Duration(m.hz)
	us := float64(cpu) / float64(time.Microsecond) / float64(answered)
	r.GatewayCPUTicks = int64(ticks)
	r.GatewayCPUMs = ms(cpu)
	r.GatewayCPUUsPerReq = &us
}
