package plugin

import (
	"testing"

	"github.com/authgate/authgate/filter/abi"
	"github.com/authgate/authgate/filter/internal/proxywasm/proxywasmtest"
)

// benchConfig is the example gateway's shape: one TOKEN authorizer with a
// validation expression in front of every path.
const benchConfig = `{"region":"us-east-1","accountId":"123456789012","restApiId":"a1b2c3d4e5","stage":"prod",
 "authorizers":{"jwt":{"type":"TOKEN","cluster":"authorizer","identityValidationExpression":"^Bearer [-0-9a-zA-Z._]+$"}},
 "routes":[{"method":"ANY","path":"/{proxy+}","authorizer":"jwt"}]}`

const benchAnswer = `{"principalId":"alice","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/*","arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/POST/users/alice"]}]},"context":{"sub":"alice","groups":"","admin":false,"tokenExpiresAt":1795597395}}`

const benchToken = "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3OTU1OTczOTUsImlhdCI6MTc5NTU5Mzc5NSwic3ViIjoiYWxpY2UifQ.J0evAuA_gFcA34KIpQrIrthtubVcDo3ZTQgEGVJ0drU"

// benchHeaders are what Envoy hands the filter for a typical request.
var benchHeaders = []abi.Header{
	{Name: ":authority", Value: "api.example.com"}, {Name: ":path", Value: "/pets"},
	{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
	{Name: "user-agent", Value: "curl/8"}, {Name: "accept", Value: "*/*"},
	{Name: "authorization", Value: benchToken},
	{Name: "x-forwarded-proto", Value: "http"},
	{Name: "x-request-id", Value: "0f3e1a2b-1111-2222-3333-444455556666"},
}

// BenchmarkHit runs the callbacks of one cache-hit request natively
// against the fake host: the filter's own allocations and work on the hit
// path, without the wasm runtime (which multiplies both). The debug log is
// off, as in a production proxy.
func BenchmarkHit(b *testing.B) {
	h := proxywasmtest.New(t0)
	h.PluginConfig = []byte(benchConfig)
	h.Level = abi.LogInfo
	h.AddRoot(rootID)
	p := New(h)
	h.Current = rootID
	p.OnContextCreate(rootID, 0)
	if !p.OnVMStart(rootID, 0) || !p.OnConfigure(rootID, uint32(len(benchConfig))) {
		b.Fatalf("configure failed: %v", h.Logs)
	}
	// The first request fills the cache.
	const first = 2
	h.AddStream(first, rootID, "10.1.2.3:40000", benchHeaders...)
	h.Current = first
	p.OnContextCreate(first, rootID)
	if act := p.OnRequestHeaders(first, uint32(len(benchHeaders)), true); act != abi.ActionPause {
		b.Fatalf("first request: %v, want a pause for the callout", act)
	}
	hs := []abi.Header{{Name: ":status", Value: "200"}}
	h.Current = rootID
	h.SetCalloutResponse(rootID, hs, []byte(benchAnswer))
	p.OnHTTPCallResponse(rootID, h.Callouts[0].ID, 1, uint32(len(benchAnswer)), 0)
	if got := h.Streams[first].Continued; got != 1 {
		b.Fatalf("first request continued %d times: %v", got, h.Logs)
	}
	p.OnDone(first)
	p.OnDelete(first)

	s := h.AddStream(3, rootID, "10.1.2.3:40000")
	headers := make([]abi.Header, 0, 16)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := uint32(3 + i)
		s.ID, s.Deleted, s.Headers = id, false, append(headers[:0], benchHeaders...)
		h.Streams[id] = s
		h.Calls, h.Logs = h.Calls[:0], h.Logs[:0]
		h.Current = id
		p.OnContextCreate(id, rootID)
		if act := p.OnRequestHeaders(id, uint32(len(benchHeaders)), true); act != abi.ActionContinue {
			b.Fatalf("request %d: %v: %v", i, act, h.Logs)
		}
		p.OnResponseHeaders(id, 0, false)
		p.OnLog(id)
		p.OnDone(id)
		p.OnDelete(id)
		delete(h.Streams, id)
	}
}
