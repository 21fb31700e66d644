// Command filter is authgate's proxy-wasm filter. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o build/authgate.wasm ./filter
//
// and load it in Envoy's envoy.filters.http.wasm (V8 runtime) or in
// `authgate serve`. The logic lives in internal/plugin; the ABI binding in
// internal/proxywasm.
package main

import (
	"github.com/authgate/authgate/filter/internal/plugin"
	"github.com/authgate/authgate/filter/internal/proxywasm"
)

func init() { proxywasm.SetHandler(plugin.New(proxywasm.Default)) }

// main is never called: a c-shared module is initialized by _initialize and
// then driven through its exports.
func main() {}
