package wasm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/authgate/authgate/filter/abi"
)

// wasiModule is the import module of the WASI preview 1 functions the Go
// runtime needs; the host provides them itself (see wasi.go).
const wasiModule = "wasi_snapshot_preview1"

// Import is one function a module imports: its module and wasm type.
type Import struct {
	Module string
	abi.Signature
}

// Inspect compiles wasm without running it and lists the functions it
// imports and exports with their wasm types, exports sorted by name. It lets
// a test compare a compiled filter with the contract in filter/abi.
func Inspect(wasm []byte) (imports []Import, exports []abi.Signature, err error) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, nil, fmt.Errorf("wasm: compile: %w", err)
	}
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		imports = append(imports, Import{Module: mod, Signature: signatureOf(name, f)})
	}
	for name, f := range cm.ExportedFunctions() {
		exports = append(exports, signatureOf(name, f))
	}
	slices.SortFunc(exports, func(a, b abi.Signature) int { return strings.Compare(a.Name, b.Name) })
	return imports, exports, nil
}

// Check compiles wasm and reports every way it departs from the contract:
// a missing or mistyped guest export, an env import the contract does not
// name or types differently, or an import from an unknown module.
func Check(wasm []byte) error {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return fmt.Errorf("wasm: compile: %w", err)
	}
	return check(cm)
}

func check(cm wazero.CompiledModule) error {
	var errs []error
	exported := cm.ExportedFunctions()
	for _, want := range abi.GuestFunctions {
		f, ok := exported[want.Name]
		if !ok {
			errs = append(errs, fmt.Errorf("guest export[%s]: missing, want %s", want.Name, formatSig(want)))
			continue
		}
		if got := signatureOf(want.Name, f); !sameType(got, want) {
			errs = append(errs, fmt.Errorf("guest export[%s]: has type %s, want %s", want.Name, formatSig(got), formatSig(want)))
		}
	}
	if _, ok := cm.ExportedMemories()[abi.ExportMemory]; !ok {
		errs = append(errs, fmt.Errorf("guest export[%s]: missing memory", abi.ExportMemory))
	}
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		got := signatureOf(name, f)
		switch mod {
		case abi.HostModule:
			want, ok := abi.HostFunction(name)
			if !ok {
				errs = append(errs, fmt.Errorf("guest import[%s.%s]: not a proxy-wasm host function", mod, name))
			} else if !sameType(got, want) {
				errs = append(errs, fmt.Errorf("guest import[%s.%s]: has type %s, want %s", mod, name, formatSig(got), formatSig(want)))
			}
		case wasiModule:
			if want, ok := wasiSignatures[name]; ok && !sameType(got, want) {
				errs = append(errs, fmt.Errorf("guest import[%s.%s]: has type %s, want %s", mod, name, formatSig(got), formatSig(want)))
			}
		default:
			errs = append(errs, fmt.Errorf("guest import[%s.%s]: unknown module", mod, name))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("wasm: guest does not match the proxy-wasm contract: %w", errors.Join(errs...))
	}
	return nil
}

func signatureOf(name string, f api.FunctionDefinition) abi.Signature {
	return abi.Signature{Name: name, Params: f.ParamTypes(), Results: f.ResultTypes()}
}

func sameType(a, b abi.Signature) bool {
	return slices.Equal(a.Params, b.Params) && slices.Equal(a.Results, b.Results)
}

// formatSig renders a wasm type as "(i32, i64) -> (i32)".
func formatSig(s abi.Signature) string {
	return "(" + typeList(s.Params) + ") -> (" + typeList(s.Results) + ")"
}

func typeList(ts []abi.ValueType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = api.ValueTypeName(t)
	}
	return strings.Join(names, ", ")
}
