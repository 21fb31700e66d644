// Package e2e runs one table of requests against every way authgate can be
// deployed: the native Go middleware (host/native), the compiled filter
// build/authgate.wasm in the wazero host (host/wasm), the same .wasm in a
// real Envoy, and the Envoy dynamic module build/libauthgate.so, each over
// HTTP/1.1 and HTTP/2 (h2c). Every host must give
// the same status, body and headers, send the upstream the same request and
// the authorizer the same calls and events for every row. The tests live in
// this package's _test files (table_test.go says how to add a row,
// hosts_test.go a host, client_test.go a protocol); its helpers, one test
// authorizer and an echo upstream that reports the request as it arrived on
// the wire, are under internal/.
//
// The security rows and the randomized differential test (security_test.go,
// differential_test.go) also run both engines of `authgate serve`, with an
// upstream that reports how a CGI-style server and a servlet container read
// each request. AUTHGATE_CLI points at a built authgate (without it the
// suite builds one); AUTHGATE_DIFF_CASES and AUTHGATE_DIFF_SEED size the
// differential test (`make differential` runs many cases).
//
// Run it with `make e2e`, or `go test ./e2e/...` with AUTHGATE_WASM and
// AUTHGATE_MODULE pointing at a built filter and module (without them the
// suite builds its own). Envoy is found the
// way `make envoy` finds it ($ENVOY, PATH, Python's scripts directory);
// without one the Envoy host is skipped and the run ends with a summary
// saying so, except with CI=true or AUTHGATE_REQUIRE_ENVOY=1 (`make test`,
// `make e2e`), where that is a failure.
package e2e
