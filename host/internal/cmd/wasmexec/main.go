// Command wasmexec runs a Go test binary built for GOOS=wasip1 GOARCH=wasm
// under wazero, as `go test -exec`:
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "$PWD/build/wasmexec -cachedir $PWD/build/wazero-cache" ./core/...
//
// go test hands it the binary's path and then the test flags. It does what
// `wazero run -mount /:/ -env-inherit` does (Go's own wasip1 test runner):
// the whole file system is mounted at /, the environment is passed on
// (PWD included, which the Go runtime takes as its working directory, so
// testdata/ resolves as it does natively), and the test's exit code becomes
// this command's.
//
// What the wazero CLI cannot do is instantiate a binary that imports
// functions from a module other than WASI. The filter's packages import the
// proxy-wasm host functions (module "env"), and their tests run against the
// fake host in proxywasmtest, so those imports are never meant to be
// called: wasmexec satisfies every such import with a function that traps,
// naming the import, so a test that reaches the real binding fails loudly
// instead of failing to start.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the binary args name (after wasmexec's own flags) with the
// arguments that follow it, and returns its exit code; 1 when it could not
// be run at all.
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("wasmexec", flag.ContinueOnError)
	flags.SetOutput(stderr)
	cacheDir := flags.String("cachedir", "", "directory of wazero's compilation cache (none when empty)")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() < 1 {
		fmt.Fprintln(stderr, "usage: wasmexec [-cachedir dir] binary.wasm [args...]")
		return 2
	}
	if err := runBinary(context.Background(), *cacheDir, flags.Arg(0), flags.Args()[1:], stdout, stderr); err != nil {
		if exit, ok := errors.AsType[*sys.ExitError](err); ok {
			return int(exit.ExitCode())
		}
		fmt.Fprintf(stderr, "wasmexec: %v\n", err)
		return 1
	}
	return 0
}

// runBinary compiles and runs the binary at path; its exit arrives as a
// *sys.ExitError.
func runBinary(ctx context.Context, cacheDir, path string, args []string, stdout, stderr io.Writer) error {
	bin, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	rc := wazero.NewRuntimeConfig()
	if cacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
		if err != nil {
			return fmt.Errorf("compilation cache[%s]: %w", cacheDir, err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	defer rt.Close(ctx)

	mod, err := rt.CompileModule(ctx, bin)
	if err != nil {
		return fmt.Errorf("compiling %s: %w", path, err)
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return err
	}
	if err := instantiateTraps(ctx, rt, mod); err != nil {
		return err
	}

	config := wazero.NewModuleConfig().
		WithArgs(append([]string{filepath.Base(path)}, args...)...).
		WithStdin(os.Stdin).WithStdout(stdout).WithStderr(stderr).
		WithFSConfig(wazero.NewFSConfig().WithDirMount("/", "/")).
		WithRandSource(rand.Reader).
		WithSysWalltime().WithSysNanotime().WithSysNanosleep()
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			config = config.WithEnv(k, v)
		}
	}
	// Instantiating runs _start, that is the tests.
	_, err = rt.InstantiateModule(ctx, mod, config)
	return err
}

// instantiateTraps defines every function mod imports from a module other
// than WASI as a function that traps when called.
func instantiateTraps(ctx context.Context, rt wazero.Runtime, mod wazero.CompiledModule) error {
	builders := map[string]wazero.HostModuleBuilder{}
	var order []string
	for _, fn := range mod.ImportedFunctions() {
		module, name, _ := fn.Import()
		if module == wasi_snapshot_preview1.ModuleName {
			continue
		}
		b, ok := builders[module]
		if !ok {
			b = rt.NewHostModuleBuilder(module)
			builders[module] = b
			order = append(order, module)
		}
		msg := fmt.Sprintf("%s.%s called: a test binary has no such host (test the code against a fake)", module, name)
		b.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) { panic(msg) }),
				fn.ParamTypes(), fn.ResultTypes()).
			Export(name)
	}
	for _, module := range order {
		if _, err := builders[module].Instantiate(ctx); err != nil {
			return fmt.Errorf("host module[%s]: %w", module, err)
		}
	}
	return nil
}
