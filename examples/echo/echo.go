// Package echo is the upstream of the examples and the demo: it answers
// every request with what reached it past the gateway, so you can see what
// authgate forwards. Run it with
//
//	go run ./examples/echo/cmd/echo --listen 127.0.0.1:9000
package echo

import (
	"encoding/json"
	"net/http"
	"strings"
)

// HeaderPrefix starts the response headers in which the upstream returns
// the x-authorizer-* headers it received, so that curl -i shows them.
const HeaderPrefix = "echo-"

// Echoed is the body of every answer: the method and path the upstream
// received and its x-authorizer-* headers (names lower case).
type Echoed struct {
	Method            string            `json:"method"`
	Path              string            `json:"path"`
	AuthorizerHeaders map[string]string `json:"authorizerHeaders"`
}

// Handler answers 200 with an Echoed body (JSON), and each x-authorizer-*
// header it received again as a response header named HeaderPrefix + its
// name: what the gateway told the upstream.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := Echoed{Method: r.Method, Path: r.URL.EscapedPath(), AuthorizerHeaders: map[string]string{}}
		for name, vals := range r.Header {
			if lower := strings.ToLower(name); strings.HasPrefix(lower, "x-authorizer-") {
				e.AuthorizerHeaders[lower] = strings.Join(vals, ",")
				w.Header().Set(HeaderPrefix+lower, e.AuthorizerHeaders[lower])
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(e)
	})
}

// Principal is the x-authorizer-principal-id an answer's body says the
// upstream received; "" when none or not an Echoed body.
func Principal(body []byte) string {
	var e Echoed
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.AuthorizerHeaders["x-authorizer-principal-id"]
}
