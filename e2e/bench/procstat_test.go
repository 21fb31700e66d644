package main

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	// The tail after the name is that of a real line; only utime (14)
	// and stime (15) differ between the cases.
	tail := func(utime, stime string) string {
		return " S 1 1 1 0 -1 4194560 2409 0 0 0 " + utime + " " + stime + " 0 0 20 0 9 0 610095 3133440 412 18446744073709551615 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	}
	tests := []struct {
		name         string
		line         string
		utime, stime uint64
		wantErr      string
	}{
		{name: "plain name", line: "4242 (envoy)" + tail("1234", "567"), utime: 1234, stime: 567},
		{name: "name with spaces and parentheses", line: "77 (my (odd) ) proc) 9)" + tail("31", "7"), utime: 31, stime: 7},
		{name: "name that looks like fields", line: "5 (x) R 1 2 3 4 5 6 7 8 9 10 11 12)" + tail("2", "3"), utime: 2, stime: 3},
		{name: "large counters", line: "1 (authgate)" + tail("18446744073709551615", "0"), utime: 18446744073709551615, stime: 0},
		{name: "no name", line: "1 envoy S 1", wantErr: "procstat: no command name in parentheses"},
		{name: "closing parenthesis only", line: "1 envoy) S 1", wantErr: "procstat: no command name in parentheses"},
		{name: "too few fields", line: "1 (envoy) S 1 1 1 0 -1 4194560 2409 0 0 0 12", wantErr: "procstat: 12 fields after the command name, want at least 13"},
		{name: "bad utime", line: "1 (envoy)" + tail("x", "1"), wantErr: `procstat: utime: strconv.ParseUint: parsing "x": invalid syntax`},
		{name: "negative stime", line: "1 (envoy)" + tail("1", "-1"), wantErr: `procstat: stime: strconv.ParseUint: parsing "-1": invalid syntax`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, s, err := parseProcStat(tt.line)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u != tt.utime || s != tt.stime {
				t.Errorf("utime, stime = %d, %d; want %d, %d", u, s, tt.utime, tt.stime)
			}
		})
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add("4242 (envoy) S 1 1 1 0 -1 4194560 2409 0 0 0 1234 567 0 0 20 0 9 0\n")
	f.Add("77 (my (odd) ) proc) 9) S 1 1 1 0 -1 0 0 0 0 0 31 7")
	f.Add("1 ()) R")
	f.Add("")
	f.Fuzz(func(t *testing.T, line string) {
		u, s, err := parseProcStat(line)
		if err != nil {
			return
		}
		// A line that parses has a name and at least 13 fields after it,
		// the 12th and 13th of which are the numbers returned.
		end := strings.LastIndexByte(line, ')')
		rest := strings.Fields(line[end+1:])
		if len(rest) < 13 {
			t.Fatalf("parsed %q with only %d fields after the name", line, len(rest))
		}
		if u == 0 && strings.TrimLeft(rest[11], "+0") != "" || s == 0 && strings.TrimLeft(rest[12], "+0") != "" {
			t.Fatalf("parsed %q as utime %d stime %d", line, u, s)
		}
	})
}

func TestAuxvValue(t *testing.T) {
	vec := func(wordSize int, order binary.AppendByteOrder, words ...uint64) []byte {
		var b []byte
		for _, w := range words {
			if wordSize == 4 {
				b = order.AppendUint32(b, uint32(w))
			} else {
				b = order.AppendUint64(b, w)
			}
		}
		return b
	}
	tests := []struct {
		name     string
		b        []byte
		wordSize int
		order    binary.ByteOrder
		want     uint64
		found    bool
	}{
		{name: "64-bit little endian", b: vec(8, binary.LittleEndian, 6, 4096, atClkTck, 100, 0, 0), wordSize: 8, order: binary.LittleEndian, want: 100, found: true},
		{name: "32-bit big endian", b: vec(4, binary.BigEndian, 3, 52, atClkTck, 250, 0, 0), wordSize: 4, order: binary.BigEndian, want: 250, found: true},
		{name: "after the end marker", b: vec(8, binary.LittleEndian, 6, 4096, 0, 0, atClkTck, 100), wordSize: 8, order: binary.LittleEndian},
		{name: "absent", b: vec(8, binary.LittleEndian, 6, 4096, 0, 0), wordSize: 8, order: binary.LittleEndian},
		{name: "truncated pair", b: vec(8, binary.LittleEndian, 6, 4096, atClkTck)[:20], wordSize: 8, order: binary.LittleEndian},
		{name: "empty", wordSize: 8, order: binary.LittleEndian},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := auxvValue(tt.b, atClkTck, tt.wordSize, tt.order)
			if v != tt.want || ok != tt.found {
				t.Errorf("auxvValue = %d, %v; want %d, %v", v, ok, tt.want, tt.found)
			}
		})
	}
}

func TestProcessCPUTicks(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	hz, source := clockTicks()
	if hz <= 0 || source == "" {
		t.Fatalf("clockTicks = %d, %q", hz, source)
	}
	if _, err := processCPUTicks(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	// A pid above the kernel's limit (2^22) never exists.
	if _, err := processCPUTicks(1 << 23); err == nil {
		t.Error("read the CPU of a process that cannot exist")
	}
}

func TestPerRequest(t *testing.T) {
	tests := []struct {
		name          string
		hz            int64
		before, after uint64
		ok0, ok1      bool
		answered      int
		wantUs        *float64
		wantTicks     int64
		wantMs        float64
	}{
		// 150 ticks at 100 Hz = 1.5s over 20000 requests = 75µs each.
		{name: "100 Hz", hz: 100, before: 1000, after: 1150, ok0: true, ok1: true, answered: 20000, wantUs: ptr(75.0), wantTicks: 150, wantMs: 1500},
		{name: "250 Hz", hz: 250, before: 0, after: 500, ok0: true, ok1: true, answered: 4000, wantUs: ptr(500.0), wantTicks: 500, wantMs: 2000},
		{name: "no CPU used", hz: 100, before: 7, after: 7, ok0: true, ok1: true, answered: 10, wantUs: ptr(0.0)},
		{name: "first reading failed", hz: 100, after: 10, ok1: true, answered: 10},
		{name: "second reading failed", hz: 100, before: 10, ok0: true, answered: 10},
		{name: "counter went back (another process)", hz: 100, before: 10, after: 5, ok0: true, ok1: true, answered: 10},
		{name: "nothing answered", hz: 100, before: 1, after: 5, ok0: true, ok1: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r RunResult
			cpuMeter{pid: 1, hz: tt.hz}.perRequest(&r, tt.before, tt.after, tt.ok0, tt.ok1, tt.answered)
			if !sameFloat(r.GatewayCPUUsPerReq, tt.wantUs) || r.GatewayCPUTicks != tt.wantTicks || r.GatewayCPUMs != tt.wantMs {
				t.Errorf("µs/req %v, ticks %d, ms %v; want %v, %d, %v", deref(r.GatewayCPUUsPerReq), r.GatewayCPUTicks, r.GatewayCPUMs,
					deref(tt.wantUs), tt.wantTicks, tt.wantMs)
			}
		})
	}
}

func TestCPURatiosAndGoal(t *testing.T) {
	withCPU := func(id string, us ...float64) *ScenarioResult {
		s := &ScenarioResult{ID: id}
		for _, v := range us {
			s.Runs = append(s.Runs, RunResult{Sent: 10, OK: 10, RPS: 100, GatewayCPUUsPerReq: ptr(v)})
		}
		return s
	}
	tests := []struct {
		name      string
		scenarios []*ScenarioResult
		// Medians and ratios by scenario id: {median, ×bare, ×Go proxy}.
		want     map[string][3]*float64
		measured *float64
		met      *bool
		note     string
	}{
		{
			name: "met",
			scenarios: []*ScenarioResult{withCPU("envoy-bare", 50, 40, 60), withCPU("envoy-filter-hit", 54, 55, 70),
				withCPU("envoy-ext-authz", 100), withCPU("serve-wasm", 90), withCPU("go-proxy", 60)},
			want: map[string][3]*float64{
				"envoy-bare":       {ptr(50.0), ptr(1.0), nil},
				"envoy-filter-hit": {ptr(55.0), ptr(1.1), nil},
				"envoy-ext-authz":  {ptr(100.0), ptr(2.0), nil},
				"serve-wasm":       {ptr(90.0), nil, ptr(1.5)},
				"go-proxy":         {ptr(60.0), nil, ptr(1.0)},
			},
			measured: ptr(1.1), met: ptrB(true),
		},
		{
			name:      "missed",
			scenarios: []*ScenarioResult{withCPU("envoy-bare", 50), withCPU("envoy-filter-hit", 56)},
			want:      map[string][3]*float64{"envoy-filter-hit": {ptr(56.0), ptr(1.12), nil}},
			measured:  ptr(1.12), met: ptrB(false),
		},
		{
			name:      "no reading",
			scenarios: []*ScenarioResult{{ID: "envoy-bare", Runs: []RunResult{{Sent: 10, OK: 10, RPS: 100}}}, withCPU("envoy-filter-hit", 56)},
			want:      map[string][3]*float64{"envoy-filter-hit": {ptr(56.0), nil, nil}},
			note:      "not measured (no CPU reading from /proc)",
		},
		{
			name:      "bare broken",
			scenarios: []*ScenarioResult{{ID: "envoy-bare", Problem: "did not start"}, withCPU("envoy-filter-hit", 56)},
			want:      map[string][3]*float64{"envoy-filter-hit": {ptr(56.0), nil, nil}},
			note:      "not measured (a run was broken)",
		},
		{
			name:      "not run",
			scenarios: []*ScenarioResult{withCPU("envoy-filter-hit", 56)},
			note:      "not measured (scenario not run)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{Scenarios: tt.scenarios}
			r.finish()
			for id, w := range tt.want {
				s := r.byID(id)
				if !sameFloat(s.MedianGatewayCPUUsPerReq, w[0]) || !sameFloat(s.CPUVsBareEnvoy, w[1]) || !sameFloat(s.CPUVsGoProxy, w[2]) {
					t.Errorf("%s: median %v, ×bare %v, ×Go proxy %v; want %v, %v, %v", id,
						deref(s.MedianGatewayCPUUsPerReq), deref(s.CPUVsBareEnvoy), deref(s.CPUVsGoProxy), deref(w[0]), deref(w[1]), deref(w[2]))
				}
			}
			// The CPU goal sits right after the throughput goal it restates.
			g := r.Goals[1]
			if g.Text != "Envoy + authgate (hit) gateway CPU <= 1.11 x bare Envoy's" {
				t.Fatalf("goal 1 is %q", g.Text)
			}
			if !sameFloat(g.Measured, tt.measured) || !sameBool(g.Met, tt.met) || g.Note != tt.note {
				t.Errorf("measured %v met %v note %q; want %v %v %q", deref(g.Measured), derefB(g.Met), g.Note, deref(tt.measured), derefB(tt.met), tt.note)
			}
		})
	}
}

func ptr(v float64) *float64 { return &v }

func ptrB(v bool) *bool { return &v }
