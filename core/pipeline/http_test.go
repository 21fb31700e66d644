package pipeline

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/authgate/authgate/core/config"
)

const httpConfig = `{
  "apiType": "HTTP", "region": "us-east-1", "accountId": "123456789012", "apiId": "h1t2t3p4", "stage": "$default",
  "stageVariables": {"env": "prod"},
  "authorizers": {
    "v2": {"type": "REQUEST", "cluster": "authz", "authorizerPayloadFormatVersion": "2.0",
           "identitySource": "$request.header.Authorization, $context.routeKey"},
    "simple": {"type": "REQUEST", "cluster": "authz", "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": true,
               "identitySource": "$request.querystring.key"},
    "v1": {"type": "REQUEST", "cluster": "authz", "authorizerPayloadFormatVersion": "1.0",
           "identitySource": "$request.header.Authorization"}
  },
  "routes": [
    {"method": "GET", "path": "/pets/{id}", "authorizer": "v2"},
    {"method": "ANY", "path": "/simple", "authorizer": "simple"},
    {"method": "POST", "path": "/v1", "authorizer": "v1"},
    {"method": "ANY", "path": "$default", "authorizer": "v2"}
  ]
}`

const httpARN = "arn:aws:execute-api:us-east-1:123456789012:h1t2t3p4/$default/"

func newHTTPPipeline(t testing.TB, cfg string) *Pipeline {
	t.Helper()
	plan, err := config.Parse([]byte(cfg))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return New(plan)
}

func TestHTTPEventV2FromPipeline(t *testing.T) {
	p := newHTTPPipeline(t, httpConfig)
	r := p.Evaluate(&Request{
		Method: "GET", Target: "/pets/42?tag=x&tag=y", Scheme: "https", SourceIP: "203.0.113.9", RequestID: "req-1",
		Authority: "api.example.com:8443", Protocol: "HTTP/2",
		Headers: []Header{{Name: "authorization", Value: "Bearer t"}, {Name: "cookie", Value: "a=1; b=2"}, {Name: "user-agent", Value: "curl/8.0"}},
	}, t0)
	if r.Kind != KindCall || r.Route != "/pets/{id}" {
		t.Fatalf("kind = %v route %q (%s)", r.Kind, r.Route, r.Reason)
	}
	want := `{"version":"2.0","type":"REQUEST","routeArn":"` + httpARN + `GET/pets/42",` +
		`"identitySource":["Bearer t","GET /pets/{id}"],"routeKey":"GET /pets/{id}","rawPath":"/pets/42","rawQueryString":"tag=x&tag=y",` +
		`"cookies":["a=1","b=2"],"headers":{"authorization":"Bearer t","user-agent":"curl/8.0"},` +
		`"queryStringParameters":{"tag":"x,y"},` +
		`"requestContext":{"accountId":"123456789012","apiId":"h1t2t3p4","domainName":"api.example.com","domainPrefix":"api",` +
		`"http":{"method":"GET","path":"/pets/42","protocol":"HTTP/2.0","sourceIp":"203.0.113.9","userAgent":"curl/8.0"},` +
		`"requestId":"req-1","routeKey":"GET /pets/{id}","stage":"$default","time":"25/Nov/2026:12:00:00 +0000","timeEpoch":1795608000000},` +
		`"pathParameters":{"id":"42"},"stageVariables":{"env":"prod"}}`
	if got := string(r.Call.Event); got != want {
		t.Fatalf("event =\n%s\nwant\n%s", got, want)
	}
	var ev events.APIGatewayV2CustomAuthorizerV2Request
	if err := json.Unmarshal(r.Call.Event, &ev); err != nil {
		t.Fatal(err)
	}
	wantEv := events.APIGatewayV2CustomAuthorizerV2Request{
		Version: "2.0", Type: "REQUEST", RouteArn: httpARN + "GET/pets/42",
		IdentitySource: []string{"Bearer t", "GET /pets/{id}"}, RouteKey: "GET /pets/{id}",
		RawPath: "/pets/42", RawQueryString: "tag=x&tag=y", Cookies: []string{"a=1", "b=2"},
		Headers:               map[string]string{"authorization": "Bearer t", "user-agent": "curl/8.0"},
		QueryStringParameters: map[string]string{"tag": "x,y"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: "GET /pets/{id}", AccountID: "123456789012", Stage: "$default", RequestID: "req-1", APIID: "h1t2t3p4",
			DomainName: "api.example.com", DomainPrefix: "api", Time: "25/Nov/2026:12:00:00 +0000", TimeEpoch: 1795608000000,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/pets/42", Protocol: "HTTP/2.0", SourceIP: "203.0.113.9", UserAgent: "curl/8.0"},
		},
		PathParameters: map[string]string{"id": "42"},
		StageVariables: map[string]string{"env": "prod"},
	}
	if !reflect.DeepEqual(ev, wantEv) {
		t.Errorf("unmarshalled\n%+v\nwant\n%+v", ev, wantEv)
	}
}

func TestHTTPEventDefaultRouteAndV1(t *testing.T) {
	p := newHTTPPipeline(t, httpConfig)
	r := p.Evaluate(&Request{Method: "DELETE", Target: "/", RequestID: "r", Headers: []Header{{Name: "authorization", Value: "t"}, {Name: "host", Value: "h.example"}}}, t0)
	if r.Kind != KindCall || r.Route != "$default" {
		t.Fatalf("kind = %v route %q (%s)", r.Kind, r.Route, r.Reason)
	}
	want := `{"version":"2.0","type":"REQUEST","routeArn":"` + httpARN + `DELETE/",` +
		`"identitySource":["t","$default"],"routeKey":"$default","rawPath":"/","rawQueryString":"",` +
		`"headers":{"authorization":"t","host":"h.example"},` +
		`"requestContext":{"accountId":"123456789012","apiId":"h1t2t3p4","domainName":"h.example","domainPrefix":"h",` +
		`"http":{"method":"DELETE","path":"/","protocol":"","sourceIp":"","userAgent":""},` +
		`"requestId":"r","routeKey":"$default","stage":"$default","time":"25/Nov/2026:12:00:00 +0000","timeEpoch":1795608000000},` +
		`"stageVariables":{"env":"prod"}}`
	if got := string(r.Call.Event); got != want {
		t.Errorf("$default event =\n%s\nwant\n%s", got, want)
	}

	r = p.Evaluate(&Request{Method: "POST", Target: "/v1?a=1", RequestID: "r", Headers: []Header{{Name: "authorization", Value: "t"}}}, t0)
	if r.Kind != KindCall {
		t.Fatalf("v1: kind = %v (%s)", r.Kind, r.Reason)
	}
	want = `{"version":"1.0","type":"REQUEST","methodArn":"` + httpARN + `POST/v1","identitySource":"t","authorizationToken":"t",` +
		`"resource":"/v1","path":"/v1","httpMethod":"POST","headers":{"authorization":"t"},"queryStringParameters":{"a":"1"},` +
		`"pathParameters":{},"stageVariables":{"env":"prod"},"requestContext":{"path":"/v1","accountId":"123456789012","resourceId":"c6udkc","stage":"$default",` +
		`"requestId":"r","identity":{"sourceIp":"","userAgent":""},"resourcePath":"/v1","httpMethod":"POST","apiId":"h1t2t3p4"}}`
	if got := string(r.Call.Event); got != want {
		t.Errorf("v1 event =\n%s\nwant\n%s", got, want)
	}
}

func simpleResponse(ok bool, ctx map[string]any) Response {
	b, _ := json.Marshal(events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: ok, Context: ctx})
	return Response{Status: 200, Body: b}
}

func TestHTTPAnswers(t *testing.T) {
	json := []Header{{Name: "content-type", Value: "application/json"}}
	tests := []struct {
		name       string
		req        Request
		resp       *Response
		wantKind   Kind
		wantStatus int
		wantBody   string
		wantSet    []Header
		decision   string
	}{
		{name: "bad path", req: Request{Method: "GET", Target: "/a/../b"},
			wantKind: KindReject, wantStatus: 400, wantBody: `{"message":"Bad Request"}`, decision: DecisionBadRequest},
		{name: "missing identity", req: Request{Method: "GET", Target: "/pets/1"},
			wantKind: KindReject, wantStatus: 401, wantBody: `{"message":"Unauthorized"}`, decision: DecisionUnauthorized},
		{name: "policy allow", req: Request{Method: "GET", Target: "/pets/1", Headers: []Header{{Name: "authorization", Value: "a1"}}},
			resp:     ptr(policyResponse("alice", "Allow", []string{httpARN + "GET/pets/*"}, map[string]any{"tier": "gold"})),
			wantKind: KindAllow, wantSet: []Header{{Name: "x-authorizer-principal-id", Value: "alice"}, {Name: "x-authorizer-tier", Value: "gold"}, contextHeader(`{"tier":"gold"}`)}, decision: DecisionAllow},
		{name: "policy allow with array and map context", req: Request{Method: "GET", Target: "/pets/1", Headers: []Header{{Name: "authorization", Value: "a8"}}},
			resp:     ptr(policyResponse("alice", "Allow", []string{"*"}, map[string]any{"arr": []any{"v1", 2}, "map": map[string]any{"k": "v"}})),
			wantKind: KindAllow, wantSet: []Header{{Name: "x-authorizer-principal-id", Value: "alice"}, {Name: "x-authorizer-arr", Value: `["v1",2]`}, {Name: "x-authorizer-map", Value: `{"k":"v"}`}, contextHeader(`{"arr":["v1",2],"map":{"k":"v"}}`)}, decision: DecisionAllow},
		{name: "policy implicit deny", req: Request{Method: "GET", Target: "/pets/1", Headers: []Header{{Name: "authorization", Value: "a2"}}},
			resp:     ptr(policyResponse("alice", "Allow", []string{httpARN + "POST/*"}, nil)),
			wantKind: KindReject, wantStatus: 403, wantBody: `{"message":"Forbidden"}`, decision: DecisionImplicitDeny},
		{name: "policy explicit deny", req: Request{Method: "GET", Target: "/pets/1", Headers: []Header{{Name: "authorization", Value: "a3"}}},
			resp:     ptr(policyResponse("alice", "Deny", []string{"*"}, nil)),
			wantKind: KindReject, wantStatus: 403, wantBody: `{"message":"Forbidden"}`, decision: DecisionDeny},
		{name: "authorizer unauthorized", req: Request{Method: "GET", Target: "/pets/1", Headers: []Header{{Name: "authorization", Value: "a4"}}},
			resp:     &Response{Status: 401},
			wantKind: KindReject, wantStatus: 401, wantBody: `{"message":"Unauthorized"}`, decision: DecisionUnauthorized},
		{name: "authorizer error", req: Request{Method: "GET", Target: "/pets/1", Headers: []Header{{Name: "authorization", Value: "a5"}}},
			resp:     &Response{Status: 502},
			wantKind: KindReject, wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, decision: DecisionError},
		{name: "authorizer unreachable", req: Request{Method: "GET", Target: "/pets/1", Headers: []Header{{Name: "authorization", Value: "a6"}}},
			resp:     &Response{},
			wantKind: KindReject, wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, decision: DecisionError},
		{name: "simple response on a policy authorizer is invalid", req: Request{Method: "GET", Target: "/pets/1", Headers: []Header{{Name: "authorization", Value: "a7"}}},
			resp:     ptr(simpleResponse(true, nil)),
			wantKind: KindReject, wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, decision: DecisionError},
		{name: "simple allow", req: Request{Method: "PUT", Target: "/simple?key=k1"},
			resp:     ptr(simpleResponse(true, map[string]any{"user": "bob", "n": 2})),
			wantKind: KindAllow, wantSet: []Header{{Name: "x-authorizer-n", Value: "2"}, {Name: "x-authorizer-user", Value: "bob"}, contextHeader(`{"n":2,"user":"bob"}`)}, decision: DecisionAllow},
		{name: "simple deny", req: Request{Method: "PUT", Target: "/simple?key=k2"},
			resp:     ptr(simpleResponse(false, nil)),
			wantKind: KindReject, wantStatus: 403, wantBody: `{"message":"Forbidden"}`, decision: DecisionDeny},
		{name: "simple response context cannot claim the principal header", req: Request{Method: "PUT", Target: "/simple?key=k3"},
			resp:     ptr(simpleResponse(true, map[string]any{"principal-id": "root"})),
			wantKind: KindAllow, wantSet: []Header{contextHeader(`{"principal-id":"root"}`)}, decision: DecisionAllow},
		{name: "policy on a simple authorizer is invalid", req: Request{Method: "PUT", Target: "/simple?key=k4"},
			resp:     ptr(policyResponse("alice", "Allow", []string{"*"}, nil)),
			wantKind: KindReject, wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, decision: DecisionError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newHTTPPipeline(t, httpConfig)
			got := p.Evaluate(&tt.req, t0)
			if tt.resp != nil {
				if got.Kind != KindCall {
					t.Fatalf("Evaluate kind = %v (%d %s), want call", got.Kind, got.Status, got.Reason)
				}
				got = p.Resume(got.Call, *tt.resp, t0)
			}
			if got.Kind != tt.wantKind || got.Decision != tt.decision {
				t.Fatalf("kind, decision = %v, %s (%d, %q), want %v, %s", got.Kind, got.Decision, got.Status, got.Reason, tt.wantKind, tt.decision)
			}
			if tt.wantKind == KindReject {
				if got.Status != tt.wantStatus || string(got.Body) != tt.wantBody || !equalHeaders(got.Headers, json) {
					t.Errorf("reject = %d %v %s, want %d %v %s", got.Status, got.Headers, got.Body, tt.wantStatus, json, tt.wantBody)
				}
			} else if !equalHeaders(got.Set, tt.wantSet) {
				t.Errorf("set = %v, want %v", got.Set, tt.wantSet)
			}
		})
	}
}

func TestHTTPNoRouteAndFailure(t *testing.T) {
	cfg := `{"apiType": "HTTP", "region": "us-east-1", "accountId": "123456789012", "apiId": "h1", "stage": "live",
	  "authorizers": {}, "routes": [{"method": "GET", "path": "/a", "authorizer": "NONE"}]}`
	p := newHTTPPipeline(t, cfg)
	json := []Header{{Name: "content-type", Value: "application/json"}}
	got := p.Evaluate(&Request{Method: "POST", Target: "/a"}, t0)
	if got.Kind != KindReject || got.Status != 404 || string(got.Body) != `{"message":"Not Found"}` || !equalHeaders(got.Headers, json) || got.Decision != DecisionNoRoute {
		t.Errorf("no route = %v %d %v %s %s", got.Kind, got.Status, got.Headers, got.Body, got.Decision)
	}
	got = p.Failure("boom")
	if got.Kind != KindReject || got.Status != 500 || string(got.Body) != `{"message":"Internal Server Error"}` || !equalHeaders(got.Headers, json) || got.Reason != "boom" {
		t.Errorf("failure = %v %d %v %s %q", got.Kind, got.Status, got.Headers, got.Body, got.Reason)
	}
}

func TestHTTPSimpleResponseCached(t *testing.T) {
	p := newHTTPPipeline(t, httpConfig)
	steps := []struct {
		name   string
		target string
		resp   *Response
		kind   Kind
		cache  CacheState
	}{
		{"first allow calls", "/simple?key=a", ptr(simpleResponse(true, map[string]any{"u": "x"})), KindAllow, CacheMiss},
		{"same key hits", "/simple?key=a", nil, KindAllow, CacheHit},
		{"first deny calls", "/simple?key=b", ptr(simpleResponse(false, nil)), KindReject, CacheMiss},
		{"deny cached", "/simple?key=b", nil, KindReject, CacheHit},
	}
	for _, s := range steps {
		r := p.Evaluate(&Request{Method: "GET", Target: s.target}, t0)
		if s.resp != nil {
			if r.Kind != KindCall {
				t.Fatalf("%s: kind %v, want call", s.name, r.Kind)
			}
			r = p.Resume(r.Call, *s.resp, t0)
		}
		if r.Kind != s.kind || r.CacheState != s.cache {
			t.Errorf("%s: kind %v cache %v, want %v %v", s.name, r.Kind, r.CacheState, s.kind, s.cache)
		}
		if s.kind == KindAllow && !equalHeaders(r.Set, []Header{{Name: "x-authorizer-u", Value: "x"}, contextHeader(`{"u":"x"}`)}) {
			t.Errorf("%s: set = %v", s.name, r.Set)
		}
	}
}
