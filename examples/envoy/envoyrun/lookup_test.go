package envoyrun

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLookup checks the order Binary searches in: $ENVOY, PATH, then
// Python's scripts directories.
func TestLookup(t *testing.T) {
	dir := t.TempDir()
	exe := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fromEnv, onPath, inScripts := exe("env/envoy-custom"), exe("path/envoy"), exe("scripts/envoy")
	notExec := filepath.Join(dir, "plain/envoy")
	if err := os.MkdirAll(filepath.Dir(notExec), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notExec, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// path stands for PATH: the one directory exec.LookPath would search.
	lookPath := func(path string) func(string) (string, error) {
		return func(name string) (string, error) {
			if strings.Contains(name, "/") {
				return exec.LookPath(name)
			}
			if path == "" {
				return "", exec.ErrNotFound
			}
			return exec.LookPath(filepath.Join(path, name))
		}
	}
	scripts := func(dirs ...string) func() ([]string, error) {
		return func() ([]string, error) { return dirs, nil }
	}
	tests := []struct {
		name     string
		env      string
		path     string
		scripts  func() ([]string, error)
		want     string
		wantErr  string
		wantNone bool
	}{
		{name: "ENVOY first", env: fromEnv, path: filepath.Dir(onPath), scripts: scripts(filepath.Dir(inScripts)), want: fromEnv},
		{name: "ENVOY that is not there", env: filepath.Join(dir, "nope"), path: filepath.Dir(onPath), wantErr: "ENVOY=" + filepath.Join(dir, "nope")},
		{name: "PATH next", path: filepath.Dir(onPath), scripts: scripts(filepath.Dir(inScripts)), want: onPath},
		{name: "scripts directory last", scripts: scripts(filepath.Join(dir, "empty"), filepath.Dir(inScripts)), want: inScripts},
		{name: "not executable", scripts: scripts(filepath.Dir(notExec)), wantNone: true, wantErr: filepath.Dir(notExec)},
		{name: "nowhere", scripts: scripts(filepath.Join(dir, "empty")), wantNone: true, wantErr: "looked at $ENVOY, PATH, " + filepath.Join(dir, "empty")},
		{name: "no python", scripts: func() ([]string, error) { return nil, errors.New("python3: not found") }, wantNone: true,
			wantErr: "Python's scripts directories unknown: python3: not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.scripts == nil {
				tt.scripts = scripts()
			}
			got, err := lookup(tt.env, lookPath(tt.path), tt.scripts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("lookup = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				if tt.wantNone != errors.Is(err, ErrNoEnvoy) {
					t.Errorf("errors.Is(%v, ErrNoEnvoy) = %v, want %v", err, !tt.wantNone, tt.wantNone)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("lookup = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestRequired(t *testing.T) {
	tests := []struct {
		ci, require string
		want        bool
	}{
		{"", "", false},
		{"false", "", false},
		{"true", "", true},
		{"1", "", true},
		{"", "1", true},
		{"", "0", false},
		{"false", "1", true},
	}
	for _, tt := range tests {
		t.Run("CI="+tt.ci+",require="+tt.require, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			t.Setenv(RequireVar, tt.require)
			if got := Required(); got != tt.want {
				t.Errorf("Required() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFilterFile checks $AUTHGATE_WASM wins, a missing file is an error
// saying how to get one, and the repository's build output is the default.
func TestFilterFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f.wasm")
	if err := os.WriteFile(f, []byte("\x00asm"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(FilterVar, f)
	if got, err := FilterFile(); err != nil || got != f {
		t.Errorf("FilterFile() = %q, %v; want %q", got, err, f)
	}
	t.Setenv(FilterVar, f+".missing")
	if _, err := FilterFile(); err == nil || !strings.Contains(err.Error(), "run `make build`") {
		t.Errorf("FilterFile() of a missing file: %v", err)
	}
	t.Setenv(FilterVar, "")
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(root, "build", "authgate.wasm")
	got, err := FilterFile()
	if _, statErr := os.Stat(want); statErr == nil {
		if err != nil || got != want {
			t.Errorf("FilterFile() = %q, %v; want %q", got, err, want)
		}
	} else if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("FilterFile() without a build = %q, %v; want an error naming %s", got, err, want)
	}
}
