package main

import (
	"slices"
	"testing"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/filter/abi"
)

// TestWasmEngineLimits checks what serve's wasm engine gives the host: it
// reads callout answers up to the largest maxResponseBytes of the
// configuration (the filter refuses past each authorizer's own), and a
// trap answers the filter's own failure answer, customised or not, never
// an empty 500.
func TestWasmEngineLimits(t *testing.T) {
	const head = `{"region":"us-east-1","accountId":"123456789012","restApiId":"a1b2c3d4e5","stage":"prod",
 "authorizers":{"a":{"type":"TOKEN","cluster":"c"},"b":{"type":"TOKEN","cluster":"c","maxResponseBytes":4000000}},
 "routes":[{"method":"ANY","path":"/{proxy+}","authorizer":"a"}]`
	tests := []struct {
		name    string
		config  string
		status  int
		body    string
		headers []abi.Header
	}{
		{name: "default failure", config: head + `}`, status: 500, body: `{"message":null}`,
			headers: []abi.Header{{Name: "content-type", Value: "application/json"}, {Name: "x-amzn-ErrorType", Value: "AuthorizerConfigurationException"}}},
		{name: "customised failure", config: head + `,"gatewayResponses":{"AUTHORIZER_FAILURE":{"statusCode":"503",
 "responseTemplates":{"application/json":"{\"error\":\"down\"}"}}}}`, status: 503, body: `{"error":"down"}`,
			headers: []abi.Header{{Name: "content-type", Value: "application/json"}, {Name: "x-amzn-ErrorType", Value: "AuthorizerConfigurationException"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := config.Parse([]byte(tt.config))
			if err != nil {
				t.Fatal(err)
			}
			if n := maxResponseBytes(plan); n != 4000000 {
				t.Errorf("maxResponseBytes = %d, want the largest, 4000000", n)
			}
			lr := failureResponse(plan)
			if lr.Status != tt.status || string(lr.Body) != tt.body || !slices.Equal(lr.Headers, tt.headers) {
				t.Errorf("failure response %d %q %v, want %d %q %v", lr.Status, lr.Body, lr.Headers, tt.status, tt.body, tt.headers)
			}
		})
	}
}
