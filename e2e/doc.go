// Package e2e runs one scenario table against every way authgate can be
// deployed: the native Go middleware (host/native), the compiled filter
// build/authgate.wasm in the wazero host (host/wasm), and the same .wasm in a
// real Envoy. The three must give the same status, body and headers for
// every scenario; the tests live in this package's _test files and its
// helpers (a test authorizer and an echo upstream) under internal/.
//
// The security rows (security_test.go) and the randomized differential
// test (differential_test.go) run in six hosts: those three, the dynamic
// module in Envoy and both engines of `authgate serve`, over HTTP/1.1 and
// HTTP/2 without TLS, with an upstream that reports how a CGI-style server
// and a servlet container read each request (readers_test.go).
// AUTHGATE_CLI points at a built authgate (without it the suite builds
// one); AUTHGATE_DIFF_CASES and AUTHGATE_DIFF_SEED size the differential
// test (`make differential` runs many cases).
//
// Run it with `make e2e`, or `go test ./e2e/...` with AUTHGATE_WASM pointing
// at a built filter (without it the suite builds one) and `envoy` on PATH
// (without it the Envoy host is skipped, except under CI=true, where that is
// a failure).
package e2e
