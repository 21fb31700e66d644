package pipeline

import (
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/core/config"
)

// requestConfig has a REQUEST authorizer reading every kind of identity
// source, one without sources, and the REST defaults otherwise.
const requestConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "stageVariables": {"tenant": "acme", "zone": "b"},
  "authorizers": {
    "all": {"type": "REQUEST", "cluster": "authz",
            "identitySource": "method.request.header.X-Api-Key, method.request.querystring.org, stageVariables.tenant, context.sourceIp"},
    "open": {"type": "REQUEST", "cluster": "authz"}
  },
  "routes": [
    {"method": "GET", "path": "/orgs/{org}/items/{item+}", "authorizer": "all"},
    {"method": "POST", "path": "/open", "authorizer": "open"}
  ]
}`

func newRequestPipeline(t testing.TB) *Pipeline {
	t.Helper()
	plan, err := config.Parse([]byte(requestConfig))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return New(plan)
}

func TestRequestEventGolden(t *testing.T) {
	p := newRequestPipeline(t)
	r := p.Evaluate(&Request{
		Method: "GET", Target: "/orgs/o1/items/a/b?org=o1&tag=x&tag=y", Scheme: "https", SourceIP: "203.0.113.9", RequestID: "req-1",
		Headers: []Header{{Name: "x-api-key", Value: "k1"}, {Name: "user-agent", Value: "curl/8.0"}, {Name: "x-multi", Value: "1"}, {Name: "x-multi", Value: "2"}},
	}, t0)
	if r.Kind != KindCall {
		t.Fatalf("kind = %v (%s)", r.Kind, r.Reason)
	}
	want := `{"type":"REQUEST","methodArn":"` + arnPrefix + `GET/orgs/o1/items/a/b",` +
		`"resource":"/orgs/{org}/items/{item+}","path":"/orgs/o1/items/a/b","httpMethod":"GET",` +
		`"headers":{"user-agent":"curl/8.0","x-api-key":"k1","x-multi":"2"},` +
		`"multiValueHeaders":{"user-agent":["curl/8.0"],"x-api-key":["k1"],"x-multi":["1","2"]},` +
		`"queryStringParameters":{"org":"o1","tag":"y"},"multiValueQueryStringParameters":{"org":["o1"],"tag":["x","y"]},` +
		`"pathParameters":{"item":"a/b","org":"o1"},"stageVariables":{"tenant":"acme","zone":"b"},` +
		`"requestContext":{"path":"/orgs/o1/items/a/b","accountId":"123456789012","resourceId":"9ei8js","stage":"prod","requestId":"req-1",` +
		`"identity":{"sourceIp":"203.0.113.9","userAgent":"curl/8.0"},"resourcePath":"/orgs/{org}/items/{item+}","httpMethod":"GET","apiId":"a1b2c3d4e5"}}`
	if got := string(r.Call.Event); got != want {
		t.Errorf("event =\n%s\nwant\n%s", got, want)
	}
}

func TestRequestMissingSources(t *testing.T) {
	full := Request{Method: "GET", Target: "/orgs/o1/items/a?org=o1", SourceIP: "10.0.0.1", Headers: []Header{{Name: "x-api-key", Value: "k"}}}
	tests := []struct {
		name   string
		edit   func(r *Request)
		reason string
	}{
		{"header missing", func(r *Request) { r.Headers = nil }, "identity source method.request.header.x-api-key missing or empty"},
		{"header empty", func(r *Request) { r.Headers = []Header{{Name: "X-API-KEY", Value: ""}} }, "identity source method.request.header.x-api-key missing or empty"},
		{"query missing", func(r *Request) { r.Target = "/orgs/o1/items/a?other=1" }, "identity source method.request.querystring.org missing or empty"},
		{"query empty", func(r *Request) { r.Target = "/orgs/o1/items/a?org=" }, "identity source method.request.querystring.org missing or empty"},
		{"context missing", func(r *Request) { r.SourceIP = "" }, "identity source context.sourceIp missing or empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newRequestPipeline(t)
			r := full
			tt.edit(&r)
			got := p.Evaluate(&r, t0)
			if got.Kind != KindReject || got.Status != 401 || string(got.Body) != `{"message":"Unauthorized"}` || got.Reason != tt.reason {
				t.Errorf("got %v %d %s %q, want 401 Unauthorized %q", got.Kind, got.Status, got.Body, got.Reason, tt.reason)
			}
		})
	}
	// The full request calls.
	if got := newRequestPipeline(t).Evaluate(&full, t0); got.Kind != KindCall {
		t.Errorf("full request: kind = %v (%s)", got.Kind, got.Reason)
	}
}

func TestRequestCacheKeyPerSourceValue(t *testing.T) {
	p := newRequestPipeline(t)
	allow := policyResponse("svc", "Allow", []string{"*"}, nil)
	base := Request{Method: "GET", Target: "/orgs/o1/items/a?org=o1", SourceIP: "10.0.0.1", Headers: []Header{{Name: "x-api-key", Value: "k"}}}
	first := p.Evaluate(&base, t0)
	if first.Kind != KindCall {
		t.Fatalf("kind = %v", first.Kind)
	}
	p.Resume(first.Call, allow, t0)
	tests := []struct {
		name string
		edit func(r *Request)
		want CacheState
	}{
		{"same values hit", func(r *Request) {}, CacheHit},
		{"same values, other path hit", func(r *Request) { r.Target = "/orgs/o2/items/b?org=o1" }, CacheHit},
		{"other header misses", func(r *Request) { r.Headers = []Header{{Name: "x-api-key", Value: "k2"}} }, CacheMiss},
		{"other query misses", func(r *Request) { r.Target = "/orgs/o1/items/a?org=o2" }, CacheMiss},
		{"other source ip misses", func(r *Request) { r.SourceIP = "10.0.0.2" }, CacheMiss},
		{"header repeated misses", func(r *Request) { r.Headers = append(r.Headers, Header{Name: "x-api-key", Value: "k"}) }, CacheMiss},
	}
	keys := map[string]string{first.Call.Key: "first"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			r.Headers = append([]Header(nil), base.Headers...)
			tt.edit(&r)
			got := p.Evaluate(&r, t0)
			if got.CacheState != tt.want {
				t.Fatalf("cache = %v (kind %v, %s), want %v", got.CacheState, got.Kind, got.Reason, tt.want)
			}
			if got.Kind == KindCall {
				if prev, dup := keys[got.Call.Key]; dup {
					t.Errorf("cache key equals the one of %q", prev)
				}
				keys[got.Call.Key] = tt.name
			}
		})
	}
}

func TestRequestWithoutSourcesNeverCaches(t *testing.T) {
	p := newRequestPipeline(t)
	allow := policyResponse("svc", "Allow", []string{"*"}, nil)
	for i := 0; i < 3; i++ {
		r := p.Evaluate(&Request{Method: "POST", Target: "/open"}, t0.Add(time.Duration(i)*time.Second))
		if r.Kind != KindCall || r.CacheState != CacheMiss {
			t.Fatalf("request %d: kind %v cache %v, want a call", i, r.Kind, r.CacheState)
		}
		if got := p.Resume(r.Call, allow, t0); got.Kind != KindAllow {
			t.Fatalf("request %d: resume kind %v", i, got.Kind)
		}
	}
	if n := p.CacheLen(); n != 0 {
		t.Errorf("cache holds %d entries", n)
	}
	if !strings.Contains(string(p.Evaluate(&Request{Method: "POST", Target: "/open"}, t0).Call.Event), `"stageVariables":{"tenant":"acme","zone":"b"}`) {
		t.Error("event lacks the stage variables")
	}
}
