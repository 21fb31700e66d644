package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// probe is testdata/probe built for wasip1, once by TestMain; cache is
// the compilation cache the tests share, so that the probe is compiled to
// machine code once (seconds, many more under -race).
var probe, cache string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wasmexec")
	if err != nil {
		panic(err)
	}
	probe, cache = filepath.Join(dir, "probe.wasm"), filepath.Join(dir, "cache")
	cmd := exec.Command("go", "build", "-o", probe, "./testdata/probe")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic("building the probe: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		args     []string // after the binary
		chdir    string
		code     int
		stdout   string
		stderr   string
		noBinary bool
	}{
		{name: "exit code is the test's", args: []string{"exit", "7"}, code: 7},
		{name: "environment passed on", args: []string{"env", "WASMEXEC_PROBE"}, stdout: "env WASMEXEC_PROBE=seen\n"},
		{name: "working directory followed", args: []string{"read", "probe.txt"}, chdir: "testdata",
			stdout: "read a file the probe reads\n"},
		{name: "flags after the binary are its own", args: []string{"env", "-cachedir"}, stdout: "env -cachedir=\n"},
		{name: "a non-WASI import traps when called", args: []string{"env", "WASMEXEC_PROBE", "host"}, code: 1,
			stdout: "env WASMEXEC_PROBE=seen\n", stderr: "env.probe_host_call called"},
		{name: "missing binary", noBinary: true, code: 1, stderr: "wasmexec: open "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("WASMEXEC_PROBE", "seen")
			if tt.chdir != "" {
				t.Chdir(tt.chdir)
			}
			args := []string{"-cachedir", cache}
			bin := probe
			if tt.noBinary {
				bin = filepath.Join(t.TempDir(), "absent.wasm")
			}
			args = append(append(args, bin), tt.args...)
			var stdout, stderr bytes.Buffer
			if code := run(args, &stdout, &stderr); code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if got := stdout.String(); got != tt.stdout {
				t.Errorf("stdout %q, want %q", got, tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderr) || (tt.stderr == "" && stderr.Len() > 0) {
				t.Errorf("stderr %q, want it to hold %q", stderr.String(), tt.stderr)
			}
		})
	}
	if entries, _ := os.ReadDir(cache); len(entries) == 0 {
		t.Error("nothing was written to the compilation cache")
	}
}

func TestUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(nil, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "usage: wasmexec") {
		t.Errorf("no arguments: exit code %d, stderr %q; want 2 and the usage", code, stderr.String())
	}
}
