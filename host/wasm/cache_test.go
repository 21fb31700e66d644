package wasm

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cacheFiles lists the entries wazero wrote under dir.
func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// forgetDiskCaches makes the next Host open its cache directory afresh, as
// a new process would.
func forgetDiskCaches(t *testing.T) {
	t.Helper()
	diskCaches.Lock()
	defer diskCaches.Unlock()
	for _, c := range diskCaches.byDir {
		_ = c.Close(context.Background())
	}
	diskCaches.byDir = nil
}

func TestCacheDir(t *testing.T) {
	const warning = "wasm: compilation cache unusable, compiled without it"
	tests := []struct {
		name string
		// damage prepares the cache directory (after a first Host filled
		// it) and returns the CacheDir to use.
		damage  func(t *testing.T, dir string) string
		wasm    []byte
		wantErr string
		warns   bool
	}{
		{name: "entry reused", damage: func(t *testing.T, dir string) string { return dir }},
		{
			// wazero itself recompiles over an entry of another version;
			// a truncated one is an error it reports.
			name: "truncated entry",
			damage: func(t *testing.T, dir string) string {
				for _, f := range cacheFiles(t, dir) {
					b, err := os.ReadFile(f)
					if err == nil {
						err = os.WriteFile(f, b[:len(b)/2], 0o600)
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				return dir
			},
			warns: true,
		},
		{
			name: "directory is a file",
			damage: func(t *testing.T, dir string) string {
				f := filepath.Join(dir, "file")
				if err := os.WriteFile(f, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				return f
			},
			warns: true,
		},
		{
			name:    "invalid filter",
			damage:  func(t *testing.T, dir string) string { return dir },
			wasm:    []byte("nope"),
			wantErr: "wasm: compile: invalid magic number",
		},
	}
	// One compilation fills a directory; each case starts from a copy.
	filled := t.TempDir()
	first, _ := newHost(t, Config{CacheDir: filled})
	first.Close(context.Background())
	forgetDiskCaches(t)
	files := cacheFiles(t, filled)
	if len(files) != 1 {
		t.Fatalf("cache directory holds %q, want one compiled module", files)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(filled)); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { forgetDiskCaches(t) })
			files := cacheFiles(t, dir)

			lg := &logs{level: slog.LevelDebug}
			cfg := Config{CacheDir: tt.damage(t, dir), Wasm: tt.wasm, Logger: slog.New(lg)}
			if cfg.Wasm == nil {
				cfg.Wasm = guests["guest"]
			}
			cfg.PoolSize = 1
			h, err := New(context.Background(), cfg)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				defer h.Close(context.Background())
				if r := do(h, "GET", "/ok", nil); r.status != 200 {
					t.Errorf("status %d through a host compiled with the cache, want 200", r.status)
				}
			}
			if got := lg.has(warning); got != tt.warns {
				t.Errorf("logged %q: %v, want %v (log: %q)", warning, got, tt.warns, lg.messages())
			}
			if got := cacheFiles(t, dir); tt.name == "entry reused" && strings.Join(got, ",") != strings.Join(files, ",") {
				t.Errorf("cache directory holds %q after the second start, want %q", got, files)
			}
		})
	}
}
