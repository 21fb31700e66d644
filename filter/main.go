// Command filter is authgate's proxy-wasm filter. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o build/authgate.wasm ./filter
//
// and load it in Envoy's envoy.filters.http.wasm (V8 runtime) or in
// `authgate serve`. The logic lives in internal/plugin; the ABI binding in
// internal/proxywasm.
package main

import (
	"os"
	"runtime/debug"

	"github.com/authgate/authgate/filter/internal/plugin"
	"github.com/authgate/authgate/filter/internal/proxywasm"
)

// gcPercent is the guest's GOGC unless the VM's environment sets one
// (Envoy: vm_config.environment_variables). Memory a wasm VM has touched
// is never given back, so the heap's high-water mark is what every VM
// costs for good; the filter keeps little alive between requests, so
// collecting at 25% growth instead of 100% lowers that mark at no
// measurable CPU cost (RATIONALE.md, "Why GOGC=25 in the guest?").
const gcPercent = 25

func init() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	proxywasm.SetHandler(plugin.New(proxywasm.Default))
}

// main is never called: a c-shared module is initialized by _initialize and
// then driven through its exports.
func main() {}
