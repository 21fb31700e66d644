package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/authgate/authgate/filter/abi"
)

// wasiModule is the only import module besides abi.HostModule: what the Go
// runtime itself needs.
const wasiModule = "wasi_snapshot_preview1"

// filterWasm returns the compiled filter: $AUTHGATE_WASM when set (the
// Makefile points it at build/authgate.wasm), else a fresh build.
func filterWasm(t *testing.T) []byte {
	t.Helper()
	path := os.Getenv("AUTHGATE_WASM")
	if path == "" {
		path = filepath.Join(t.TempDir(), "authgate.wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", path, ".")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building the filter: %v\n%s", err, out)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the filter: %v", err)
	}
	return b
}

// TestContract compares the compiled filter's imports and exports with the
// ABI contract in filter/abi, so a wrong name or signature fails here rather
// than as a link error or a trap inside the proxy.
func TestContract(t *testing.T) {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	mod, err := r.CompileModule(ctx, filterWasm(t))
	if err != nil {
		t.Fatalf("compiling the filter: %v", err)
	}

	var wasi []string
	for _, fn := range mod.ImportedFunctions() {
		module, name, _ := fn.Import()
		switch module {
		case abi.HostModule:
			want, ok := abi.HostFunction(name)
			if !ok {
				t.Errorf("import %s.%s is not a host function of the contract", module, name)
				continue
			}
			checkSignature(t, "import "+name, fn, want)
		case wasiModule:
			wasi = append(wasi, name)
		default:
			t.Errorf("import %s.%s: unexpected module", module, name)
		}
	}
	slices.Sort(wasi)
	wasi = slices.Compact(wasi)
	t.Logf("WASI imports (%d): %v", len(wasi), wasi)

	exports := mod.ExportedFunctions()
	for _, want := range abi.GuestFunctions {
		fn, ok := exports[want.Name]
		if !ok {
			t.Errorf("export %s missing", want.Name)
			continue
		}
		checkSignature(t, "export "+want.Name, fn, want)
	}
	for name := range exports {
		if _, ok := abi.GuestFunction(name); !ok {
			t.Errorf("export %s is not part of the contract", name)
		}
	}
	if _, ok := mod.ExportedMemories()[abi.ExportMemory]; !ok {
		t.Errorf("memory %q not exported", abi.ExportMemory)
	}
}

func checkSignature(t *testing.T, what string, fn api.FunctionDefinition, want abi.Signature) {
	t.Helper()
	if got := fn.ParamTypes(); !slices.Equal(got, want.Params) {
		t.Errorf("%s: params %v, want %v", what, got, want.Params)
	}
	if got := fn.ResultTypes(); !slices.Equal(got, want.Results) {
		t.Errorf("%s: results %v, want %v", what, got, want.Results)
	}
}
