// Package e2e runs one scenario table against every way authgate can be
// deployed: the native Go middleware (host/native), the compiled filter
// build/authgate.wasm in the wazero host (host/wasm), and the same .wasm in a
// real Envoy. The three must give the same status, body and headers for
// every scenario; the tests live in this package's _test files and its
// helpers (a test authorizer and an echo upstream) under internal/.
//
// Run it with `make e2e`, or `go test ./e2e/...` with AUTHGATE_WASM pointing
// at a built filter (without it the suite builds one) and `envoy` on PATH
// (without it the Envoy host is skipped, except under CI=true, where that is
// a failure).
package e2e
