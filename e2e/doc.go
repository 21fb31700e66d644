// Package e2e runs one table of requests against every way authgate can be
// deployed: the native Go middleware (host/native), the compiled filter
// build/authgate.wasm in the wazero host (host/wasm), the same .wasm in a
// real Envoy, the Envoy dynamic module build/libauthgate.so, and both
// engines of `authgate serve`, each over HTTP/1.1 and HTTP/2 (h2c). Every
// host must give the same status, body and headers, send the upstream the
// same request and the authorizer the same calls and events for every
// row. The rows come in groups (table_test.go says how to add a row or a
// group, hosts_test.go a host, client_test.go a protocol or a request the
// Go client cannot send); a group may bring its own environment, as the
// Lambda rows bring Lambda functions under the runtime emulator. The
// helpers, one test authorizer and an echo upstream that reports the
// request as it arrived on the wire and as a CGI-style server and a
// servlet container read it, are under internal/.
//
// TestDifferential sends random requests with random policies to every
// host and compares what each answered and forwarded; AUTHGATE_DIFF_CASES
// and AUTHGATE_DIFF_SEED size it (`make differential` runs many cases).
// AUTHGATE_CLI points at a built authgate (without it the suite builds
// one).
//
// Run it with `make e2e`, or `go test ./e2e/...` with AUTHGATE_WASM and
// AUTHGATE_MODULE pointing at a built filter and module (without them the
// suite builds its own). Envoy is found the
// way `make envoy` finds it ($ENVOY, PATH, Python's scripts directory);
// without one the Envoy host is skipped and the run ends with a summary
// saying so, except with CI=true or AUTHGATE_REQUIRE_ENVOY=1 (`make test`,
// `make e2e`), where that is a failure.
package e2e
