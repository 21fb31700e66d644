//go:build cgo

// Command module is authgate as an Envoy dynamic module: the same core as
// the wasm filter, running natively in Envoy's process with one Go runtime
// and one cache for all workers. Build it with
//
//	CGO_ENABLED=1 go build -buildmode=c-shared -o build/libauthgate.so ./filter/module
//
// and load it through envoy.filters.http.dynamic_modules (Envoy 1.40):
// dynamic_module_config {name: authgate, do_not_close: true}, filter_name
// "authgate", filter_config the plugin configuration JSON. Envoy finds
// libauthgate.so in $ENVOY_DYNAMIC_MODULES_SEARCH_PATH.
//
// This package is only the binding: the hooks Envoy calls (hooks.go) and
// thin wrappers over Envoy's callbacks (envoy.go), declared in envoy.h. The
// logic lives in internal/gate, the ABI contract in abi.
package main

// main is never called: Envoy loads the library with dlopen and drives it
// through its exported hooks.
func main() {}
