package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// The gateway's CPU time per request is the measure that holds up on a
// machine shared with other work: throughput falls when another process
// takes the cores, but the CPU the gateway itself spends on one request
// moves far less. It is read from /proc/<pid>/stat (utime + stime, which
// for a process sum all its threads, live and exited) around each
// measured run.

// procStatUtime and procStatStime are the 1-based positions of utime and stime in
// /proc/<pid>/stat (proc(5)).
const (
	procStatUtime = 14
	procStatStime = 15
)

// atClkTck is the auxiliary vector entry that carries the kernel's
// USER_HZ, the unit of /proc/<pid>/stat's times (getauxval(3),
// <linux/auxvec.h>); it is what sysconf(_SC_CLK_TCK) returns.
const atClkTck = 17

// defaultClockTicks is USER_HZ on every Linux architecture Envoy ships for,
// used when the auxiliary vector cannot be read.
const defaultClockTicks = 100

// parseProcStat returns the utime and stime fields, in clock ticks, of one
// /proc/<pid>/stat line. The second field is the command name in
// parentheses, which may itself hold spaces and parentheses, so the fields
// are counted from the last ')' on.
func parseProcStat(line string) (utime, stime uint64, err error) {
	end := strings.LastIndexByte(line, ')')
	if end < 0 || !strings.Contains(line[:end], "(") {
		return 0, 0, errors.New("procstat: no command name in parentheses")
	}
	// After the name come the fields from the third (state) on.
	rest := strings.Fields(line[end+1:])
	if len(rest) < procStatStime-2 {
		return 0, 0, fmt.Errorf("procstat: %d fields after the command name, want at least %d", len(rest), procStatStime-2)
	}
	if utime, err = strconv.ParseUint(rest[procStatUtime-3], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("procstat: utime: %w", err)
	}
	if stime, err = strconv.ParseUint(rest[procStatStime-3], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("procstat: stime: %w", err)
	}
	return utime, stime, nil
}

// processCPUTicks is the user plus system CPU time process pid has used,
// in clock ticks.
func processCPUTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("procstat[%d]: %w", pid, err)
	}
	u, s, err := parseProcStat(string(b))
	if err != nil {
		return 0, fmt.Errorf("procstat[%d]: %w", pid, err)
	}
	return u + s, nil
}

// auxvValue finds key in an auxiliary vector: pairs of native words, ended
// by a zero key.
func auxvValue(b []byte, key uint64, wordSize int, order binary.ByteOrder) (uint64, bool) {
	word := func(p []byte) uint64 {
		if wordSize == 4 {
			return uint64(order.Uint32(p))
		}
		return order.Uint64(p)
	}
	for len(b) >= 2*wordSize {
		k, v := word(b), word(b[wordSize:])
		if k == 0 {
			break
		}
		if k == key {
			return v, true
		}
		b = b[2*wordSize:]
	}
	return 0, false
}

// clockTicks returns the clock ticks per second of /proc/<pid>/stat and
// where the figure came from: AT_CLKTCK of this process's auxiliary
// vector (the value sysconf(_SC_CLK_TCK) reads, without cgo), else the
// usual 100.
func clockTicks() (int64, string) {
	if b, err := os.ReadFile("/proc/self/auxv"); err == nil {
		if v, ok := auxvValue(b, atClkTck, strconv.IntSize/8, binary.NativeEndian); ok && v > 0 && v <= 1_000_000 {
			return int64(v), "AT_CLKTCK from /proc/self/auxv"
		}
	}
	return defaultClockTicks, "assumed 100 Hz (/proc/self/auxv unreadable or without AT_CLKTCK)"
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
