package authorizer

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func httpInput() *HTTPInput {
	return &HTTPInput{
		RouteARN:       "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/pets/42",
		RouteKey:       "GET /pets/{id}",
		Resource:       "/pets/{id}",
		IdentitySource: []string{"k1", "acme"},
		RawPath:        "/pets/42",
		RawQuery:       "tag=x&tag=y&q=a%20b",
		Path:           "/pets/42",
		HTTPMethod:     "GET",
		Headers: []Header{
			{Name: "user-agent", Value: "curl/8.0"},
			{Name: "X-Multi", Value: "one"},
			{Name: "cookie", Value: "a=1; b=2"},
			{Name: "x-multi", Value: "two"},
			{Name: "cookie", Value: "c=3"},
		},
		Query:          []Param{{Name: "tag", Value: "x"}, {Name: "tag", Value: "y"}, {Name: "q", Value: "a b"}},
		PathParameters: []Param{{Name: "id", Value: "42"}},
		StageVariables: []Param{{Name: "env", Value: "prod"}},
		AccountID:      "123456789012",
		ResourceID:     "05c7jb",
		APIID:          "abcdef123",
		Stage:          "$default",
		RequestID:      "req-1",
		SourceIP:       "203.0.113.9",
		UserAgent:      "curl/8.0",
		DomainName:     "api.example.com",
		DomainPrefix:   "api",
		Protocol:       "HTTP/1.1",
		Time:           "25/Nov/2026:12:00:00 +0000",
		TimeEpoch:      1795608000000,
	}
}

func TestHTTPEventV2Golden(t *testing.T) {
	want := `{"version":"2.0","type":"REQUEST",` +
		`"routeArn":"arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/pets/42",` +
		`"identitySource":["k1","acme"],"routeKey":"GET /pets/{id}","rawPath":"/pets/42","rawQueryString":"tag=x&tag=y&q=a%20b",` +
		`"cookies":["a=1","b=2","c=3"],` +
		`"headers":{"user-agent":"curl/8.0","x-multi":"one,two"},` +
		`"queryStringParameters":{"q":"a b","tag":"x,y"},` +
		`"requestContext":{"accountId":"123456789012","apiId":"abcdef123","domainName":"api.example.com","domainPrefix":"api",` +
		`"http":{"method":"GET","path":"/pets/42","protocol":"HTTP/1.1","sourceIp":"203.0.113.9","userAgent":"curl/8.0"},` +
		`"requestId":"req-1","routeKey":"GET /pets/{id}","stage":"$default","time":"25/Nov/2026:12:00:00 +0000","timeEpoch":1795608000000},` +
		`"pathParameters":{"id":"42"},"stageVariables":{"env":"prod"}}`
	if got := string(HTTPEventV2(httpInput())); got != want {
		t.Errorf("HTTPEventV2 =\n%s\nwant\n%s", got, want)
	}
}

func TestHTTPEventV1Golden(t *testing.T) {
	want := `{"version":"1.0","type":"REQUEST",` +
		`"methodArn":"arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/pets/42",` +
		`"identitySource":"k1,acme","authorizationToken":"k1,acme",` +
		`"resource":"/pets/{id}","path":"/pets/42","httpMethod":"GET",` +
		`"headers":{"X-Multi":"one","cookie":"a=1; b=2,c=3","user-agent":"curl/8.0","x-multi":"two"},` +
		`"queryStringParameters":{"q":"a b","tag":"x,y"},` +
		`"pathParameters":{"id":"42"},"stageVariables":{"env":"prod"},` +
		`"requestContext":{"path":"/pets/42","accountId":"123456789012","resourceId":"05c7jb","stage":"$default","requestId":"req-1",` +
		`"identity":{"sourceIp":"203.0.113.9","userAgent":"curl/8.0"},"resourcePath":"/pets/{id}","httpMethod":"GET","apiId":"abcdef123"}}`
	if got := string(HTTPEventV1(httpInput())); got != want {
		t.Errorf("HTTPEventV1 =\n%s\nwant\n%s", got, want)
	}
}

func TestHTTPEventV2Unmarshals(t *testing.T) {
	tests := []struct {
		name string
		in   *HTTPInput
		want events.APIGatewayV2CustomAuthorizerV2Request
	}{
		{
			name: "full",
			in:   httpInput(),
			want: events.APIGatewayV2CustomAuthorizerV2Request{
				Version: "2.0", Type: "REQUEST",
				RouteArn:       "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/pets/42",
				IdentitySource: []string{"k1", "acme"}, RouteKey: "GET /pets/{id}",
				RawPath: "/pets/42", RawQueryString: "tag=x&tag=y&q=a%20b",
				Cookies:               []string{"a=1", "b=2", "c=3"},
				Headers:               map[string]string{"user-agent": "curl/8.0", "x-multi": "one,two"},
				QueryStringParameters: map[string]string{"q": "a b", "tag": "x,y"},
				RequestContext: events.APIGatewayV2HTTPRequestContext{
					RouteKey: "GET /pets/{id}", AccountID: "123456789012", Stage: "$default", RequestID: "req-1",
					APIID: "abcdef123", DomainName: "api.example.com", DomainPrefix: "api",
					Time: "25/Nov/2026:12:00:00 +0000", TimeEpoch: 1795608000000,
					HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
						Method: "GET", Path: "/pets/42", Protocol: "HTTP/1.1", SourceIP: "203.0.113.9", UserAgent: "curl/8.0",
					},
				},
				PathParameters: map[string]string{"id": "42"},
				StageVariables: map[string]string{"env": "prod"},
			},
		},
		{
			name: "empty members left out",
			in: &HTTPInput{RouteARN: "arn", RouteKey: "$default", RawPath: "/", Path: "/", HTTPMethod: "POST",
				Headers: []Header{{Name: "a", Value: "\"q\"\n"}}, Time: "t", TimeEpoch: 1},
			want: events.APIGatewayV2CustomAuthorizerV2Request{
				Version: "2.0", Type: "REQUEST", RouteArn: "arn", IdentitySource: []string{}, RouteKey: "$default",
				RawPath: "/", Headers: map[string]string{"a": "\"q\"\n"},
				RequestContext: events.APIGatewayV2HTTPRequestContext{
					RouteKey: "$default", Time: "t", TimeEpoch: 1,
					HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/"},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := HTTPEventV2(tt.in)
			var got events.APIGatewayV2CustomAuthorizerV2Request
			if err := json.Unmarshal(ev, &got); err != nil {
				t.Fatalf("unmarshal: %v\n%s", err, ev)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("unmarshalled\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestHTTPEventV1Unmarshals(t *testing.T) {
	ev := HTTPEventV1(httpInput())
	var got events.APIGatewayV2CustomAuthorizerV1Request
	if err := json.Unmarshal(ev, &got); err != nil {
		t.Fatalf("unmarshal: %v\n%s", err, ev)
	}
	want := events.APIGatewayV2CustomAuthorizerV1Request{
		Version: "1.0", Type: "REQUEST",
		MethodArn:          "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/pets/42",
		IdentitySource:     "k1,acme",
		AuthorizationToken: "k1,acme",
		Resource:           "/pets/{id}", Path: "/pets/42", HTTPMethod: "GET",
		Headers:               map[string]string{"X-Multi": "one", "cookie": "a=1; b=2,c=3", "user-agent": "curl/8.0", "x-multi": "two"},
		QueryStringParameters: map[string]string{"q": "a b", "tag": "x,y"},
		PathParameters:        map[string]string{"id": "42"},
		StageVariables:        map[string]string{"env": "prod"},
		RequestContext: events.APIGatewayV2CustomAuthorizerV1RequestTypeRequestContext{
			Path: "/pets/42", AccountID: "123456789012", ResourceID: "05c7jb", Stage: "$default", RequestID: "req-1",
			Identity:     events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: "203.0.113.9"},
			ResourcePath: "/pets/{id}", HTTPMethod: "GET", APIID: "abcdef123",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unmarshalled\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseSimpleResponse(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		want       *Result
		wantErr    string
		wantUnauth bool
	}{
		{name: "authorized with context", status: 200, body: `{"isAuthorized":true,"context":{"user":"alice","n":1,"ok":false}}`,
			want: &Result{Simple: true, Authorized: true, Context: []ContextValue{
				{Key: "user", Value: "alice", Raw: `"alice"`}, {Key: "n", Value: "1", Raw: "1"}, {Key: "ok", Value: "false", Raw: "false"}}}},
		{name: "not authorized", status: 200, body: `{"isAuthorized":false}`, want: &Result{Simple: true}},
		{name: "null context", status: 200, body: `{"isAuthorized":true,"context":null}`, want: &Result{Simple: true, Authorized: true}},
		{name: "extra members ignored", status: 200, body: `{"isAuthorized":true,"principalId":"x"}`, want: &Result{Simple: true, Authorized: true}},
		{name: "missing", status: 200, body: `{"context":{}}`, wantErr: "isAuthorized: missing"},
		{name: "string", status: 200, body: `{"isAuthorized":"true"}`, wantErr: "isAuthorized: must be a boolean"},
		{name: "policy instead", status: 200, body: `{"principalId":"p","policyDocument":{}}`, wantErr: "isAuthorized: missing"},
		{name: "nested context as compact JSON", status: 200, body: `{"isAuthorized":true,"context":{"a":[1, "x"],"m":{ "k" : "v" }}}`,
			want: &Result{Simple: true, Authorized: true, Context: []ContextValue{{Key: "a", Value: `[1,"x"]`, Raw: `[1,"x"]`}, {Key: "m", Value: `{"k":"v"}`, Raw: `{"k":"v"}`}}}},
		{name: "null context value", status: 200, body: `{"isAuthorized":true,"context":{"a":null}}`, wantErr: "context.a: must be a string, number or boolean"},
		{name: "duplicate", status: 200, body: `{"isAuthorized":false,"isAuthorized":true}`, wantErr: `response: duplicate key "isAuthorized"`},
		{name: "status 401", status: 401, body: `{"isAuthorized":true}`, wantUnauth: true},
		{name: "unauthorized error", status: 200, body: `{"errorMessage":"Unauthorized"}`, wantUnauth: true},
		{name: "other error", status: 200, body: `{"errorMessage":"boom"}`, wantErr: `authorizer failed: errorMessage "boom"`},
		{name: "status 500", status: 500, body: `{"isAuthorized":true}`, wantErr: "unexpected status 500"},
		{name: "not an object", status: 200, body: `true`, wantErr: "response: must be a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSimpleResponse(tt.status, []byte(tt.body))
			switch {
			case tt.wantUnauth:
				if err != ErrUnauthorized {
					t.Fatalf("err = %v, want ErrUnauthorized", err)
				}
			case tt.wantErr != "":
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
			}
		})
	}
}

// FuzzParseSimpleResponse checks that any answer either fails with no
// result or gives a simple result whose context survives as it was sent.
func FuzzParseSimpleResponse(f *testing.F) {
	for _, s := range []string{
		`{"isAuthorized":true,"context":{"a":"b","n":1.5,"t":false}}`, `{"isAuthorized":false}`, `{"isAuthorized":1}`,
		`"Unauthorized"`, `{"errorMessage":"x"}`, `{"isAuthorized":true,"isAuthorized":false}`, "{\"isAuthorized\":true,\"context\":{\"\xff\":\"\\ud800\"}}",
	} {
		f.Add(200, []byte(s))
	}
	f.Add(401, []byte(`{}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		r, err := ParseSimpleResponse(status, body)
		if err != nil {
			if r != nil {
				t.Fatal("result returned with an error")
			}
			return
		}
		if !r.Simple || r.Policy != nil || r.PrincipalID != "" || status < 200 || status > 299 {
			t.Fatalf("result = %+v for status %d", r, status)
		}
		// Keys are matched exactly, so read the body as a map.
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err == nil && doc["isAuthorized"] != r.Authorized {
			t.Fatalf("Authorized = %v, body says %v", r.Authorized, doc["isAuthorized"])
		}
	})
}

// FuzzHTTPEvents checks that the HTTP API events are valid JSON for any
// input and read back through the aws-lambda-go types.
func FuzzHTTPEvents(f *testing.F) {
	f.Add("Bearer t", "a=1; b=2", "x", "tag", "/pets/42")
	f.Add("\xff\"", "\x00;;", "\u2028", "", "")
	f.Fuzz(func(t *testing.T, id, cookie, hv, qn, path string) {
		in := httpInput()
		in.IdentitySource = []string{id}
		in.Headers = append(in.Headers, Header{Name: "cookie", Value: cookie}, Header{Name: hv, Value: hv})
		in.Query = append(in.Query, Param{Name: qn, Value: hv})
		in.RawPath, in.Path = path, path
		for _, ev := range [][]byte{HTTPEventV2(in), HTTPEventV1(in)} {
			if !json.Valid(ev) {
				t.Fatalf("invalid JSON: %s", ev)
			}
		}
		var v2 events.APIGatewayV2CustomAuthorizerV2Request
		if err := json.Unmarshal(HTTPEventV2(in), &v2); err != nil {
			t.Fatal(err)
		}
		var v1 events.APIGatewayV2CustomAuthorizerV1Request
		if err := json.Unmarshal(HTTPEventV1(in), &v1); err != nil {
			t.Fatal(err)
		}
		if v2.Version != "2.0" || v1.Version != "1.0" || v2.RawPath != string([]rune(path)) {
			t.Fatalf("read back %q %q %q", v2.Version, v1.Version, v2.RawPath)
		}
	})
}

func TestParseHTTPResponseNestedContext(t *testing.T) {
	body := `{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]},` +
		`"context":{"arrayKey":["value1", "value2"],"mapKey":{"value1": "value2"},"s":"x"}}`
	r, err := ParseHTTPResponse(200, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []ContextValue{
		{Key: "arrayKey", Value: `["value1","value2"]`, Raw: `["value1","value2"]`},
		{Key: "mapKey", Value: `{"value1":"value2"}`, Raw: `{"value1":"value2"}`},
		{Key: "s", Value: "x", Raw: `"x"`},
	}
	if !reflect.DeepEqual(r.Context, want) || r.PrincipalID != "p" || r.Simple {
		t.Errorf("result = %+v", r)
	}
	// The REST parser keeps refusing them.
	if _, err := ParseResponse(200, []byte(body)); err == nil || err.Error() != "context.arrayKey: must be a string, number or boolean" {
		t.Errorf("ParseResponse error = %v", err)
	}
}
