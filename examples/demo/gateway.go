package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/authgate/authgate/examples/envoy/envoyrun"
)

// Gateways the demo runs in Envoy (--gateway).
const (
	gatewayWasm   = "wasm"   // build/authgate.wasm in Envoy's V8
	gatewayModule = "module" // build/libauthgate.so, Envoy's dynamic module
)

// moduleVar names the dynamic module, ahead of the repository's build
// output; the Makefile points it at build/libauthgate.so.
const moduleVar = "AUTHGATE_MODULE"

// codeFile finds what Envoy loads for gateway: the compiled filter (o.wasm,
// else envoyrun.FilterFile) or the dynamic module ($AUTHGATE_MODULE, else
// build/libauthgate.so in the repository).
func codeFile(o options) (string, error) {
	switch o.gateway {
	case "", gatewayWasm:
		if o.wasm != "" {
			return o.wasm, nil
		}
		f, err := envoyrun.FilterFile()
		if err != nil {
			return "", fmt.Errorf("%w (`make demo` builds it first)", err)
		}
		return f, nil
	case gatewayModule:
		f := os.Getenv(moduleVar)
		if f == "" {
			root, err := envoyrun.RepoRoot()
			if err != nil {
				return "", fmt.Errorf("%w, or set %s", err, moduleVar)
			}
			f = filepath.Join(root, "build", "libauthgate.so")
		}
		if _, err := os.Stat(f); err != nil {
			return "", fmt.Errorf("no dynamic module at %s: run `make demo GATEWAY=module` (it builds first) or `make build`", f)
		}
		return f, nil
	}
	return "", fmt.Errorf("--gateway: want %s or %s, got %q", gatewayWasm, gatewayModule, o.gateway)
}

// exampleName is the example bootstrap the demo runs: the Lambda one for a
// Lambda authorizer (with the module put in the wasm filter's place,
// useModule), else the gateway's own.
func exampleName(gateway string, lambda bool) (name string, useModule bool) {
	switch {
	case lambda:
		return "envoy-lambda.yaml", gateway == gatewayModule
	case gateway == gatewayModule:
		return "envoy-module.yaml", false
	}
	return "envoy.yaml", false
}
