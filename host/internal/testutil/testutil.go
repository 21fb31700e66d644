// Package testutil holds what the hosts' tests share: a buffer that
// concurrent loggers may write to, and the lookup of the compiled filter.
// The filter's tests, the examples and the e2e suite each have their own
// (the dependency rules keep those apart from the hosts).
package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// SyncBuffer is a bytes.Buffer safe for concurrent use, for the logs of
// servers under test.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FilterFile returns the compiled filter: $AUTHGATE_WASM when set (the
// Makefile points it at the build it just made), else build/authgate.wasm
// in the repository. The error says how to get one; callers skip or fail.
func FilterFile() (string, error) {
	p := os.Getenv("AUTHGATE_WASM")
	if p == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		p = filepath.Join(root, "build", "authgate.wasm")
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no compiled filter (make build, or set AUTHGATE_WASM): %w", err)
	}
	return p, nil
}

// repoRoot is the directory of go.mod above the working directory, which
// go test sets to the package's.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testutil: no go.mod above the working directory")
		}
		dir = parent
	}
}
