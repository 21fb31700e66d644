package authorizer

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/tidwall/gjson"
)

// stdString is encoding/json's rendering of s with HTML escaping off, the
// behaviour appendString promises to match.
func stdString(t testing.TB, s string) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func TestAppendString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "plain", in: "Bearer abc.def", want: `"Bearer abc.def"`},
		{name: "empty", in: "", want: `""`},
		{name: "quote and backslash", in: `a"b\c`, want: `"a\"b\\c"`},
		{name: "short escapes", in: "\b\f\n\r\t", want: `"\b\f\n\r\t"`},
		{name: "other control bytes", in: "\x00\x01\x1f", want: `"\u0000\u0001\u001f"`},
		{name: "DEL stays", in: "\x7f", want: "\"\x7f\""},
		{name: "html stays", in: "<a href='x'>&amp;</a>", want: `"<a href='x'>&amp;</a>"`},
		{name: "slash stays", in: "a/b", want: `"a/b"`},
		{name: "valid multibyte", in: "héllo 世界 😀", want: `"héllo 世界 😀"`},
		{name: "line and paragraph separators", in: "a\u2028b\u2029c", want: `"a\u2028b\u2029c"`},
		{name: "invalid byte", in: "a\xffb", want: `"a\ufffdb"`},
		{name: "truncated sequence", in: "a\xe4\xb8", want: `"a\ufffd\ufffd"`},
		{name: "surrogate half encoded in UTF-8", in: "\xed\xa0\x80", want: `"\ufffd\ufffd\ufffd"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendString(nil, tt.in))
			if got != tt.want {
				t.Errorf("appendString(%q) = %s, want %s", tt.in, got, tt.want)
			}
			if std := stdString(t, tt.in); got != std {
				t.Errorf("appendString(%q) = %s, encoding/json gives %s", tt.in, got, std)
			}
		})
	}
}

// FuzzAppendString checks that every string becomes valid JSON, byte for
// byte what encoding/json writes with HTML escaping off.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "abc", "\x00\"\\", "\xff\xfe", "\u2028", "<>&", "😀\xf0\x9f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendString([]byte("x"), s)
		if got[0] != 'x' {
			t.Fatalf("prefix lost: %q", got)
		}
		got = got[1:]
		if !json.Valid(got) {
			t.Fatalf("appendString(%q) = %s: not valid JSON", s, got)
		}
		if std := stdString(t, s); string(got) != std {
			t.Fatalf("appendString(%q) = %s, encoding/json gives %s", s, got, std)
		}
	})
}

func TestTokenEvent(t *testing.T) {
	const arn = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/pets/1"
	tests := []struct {
		name, token, want string
	}{
		{
			name:  "bearer token kept whole",
			token: "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
			want:  `{"type":"TOKEN","authorizationToken":"Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig","methodArn":"` + arn + `"}`,
		},
		{
			name:  "escaped token",
			token: "a\"b\\c\n<&>",
			want:  `{"type":"TOKEN","authorizationToken":"a\"b\\c\n<&>","methodArn":"` + arn + `"}`,
		},
		{
			name:  "invalid UTF-8 replaced",
			token: "tok\xc3",
			want:  `{"type":"TOKEN","authorizationToken":"tok\ufffd","methodArn":"` + arn + `"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TokenEvent(tt.token, arn)
			if string(got) != tt.want {
				t.Errorf("TokenEvent = %s\nwant         %s", got, tt.want)
			}
			var ev events.APIGatewayCustomAuthorizerRequest
			if err := json.Unmarshal(got, &ev); err != nil {
				t.Fatalf("unmarshal into events.APIGatewayCustomAuthorizerRequest: %v", err)
			}
			want := events.APIGatewayCustomAuthorizerRequest{
				Type:               "TOKEN",
				AuthorizationToken: string([]rune(tt.token)), // invalid bytes read back as U+FFFD
				MethodArn:          arn,
			}
			if ev != want {
				t.Errorf("unmarshalled %+v, want %+v", ev, want)
			}
		})
	}
}

func fullInput() *RequestInput {
	return &RequestInput{
		MethodARN:  "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/pets/42",
		Resource:   "/pets/{id}",
		Path:       "/pets/42",
		HTTPMethod: "GET",
		Headers: []Header{
			{Name: "user-agent", Value: "curl/8.0"},
			{Name: "accept", Value: "*/*"},
			{Name: "x-multi", Value: "one"},
			{Name: "authorization", Value: "Bearer t"},
			{Name: "x-multi", Value: "two"},
		},
		Query: []Param{
			{Name: "q", Value: "a b"},
			{Name: "tag", Value: "x"},
			{Name: "tag", Value: "y"},
		},
		PathParameters: []Param{{Name: "id", Value: "42"}},
		StageVariables: []Param{{Name: "env", Value: "prod"}},
		AccountID:      "123456789012",
		ResourceID:     "05c7jb",
		APIID:          "abcdef123",
		Stage:          "test",
		RequestID:      "req-1",
		SourceIP:       "203.0.113.9",
		UserAgent:      "curl/8.0",
	}
}

// TestRequestEventGolden pins the exact bytes: member order, sorted map
// keys, last-value-wins and the requestContext layout.
func TestRequestEventGolden(t *testing.T) {
	want := `{"type":"REQUEST",` +
		`"methodArn":"arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/pets/42",` +
		`"resource":"/pets/{id}","path":"/pets/42","httpMethod":"GET",` +
		`"headers":{"accept":"*/*","authorization":"Bearer t","user-agent":"curl/8.0","x-multi":"two"},` +
		`"multiValueHeaders":{"accept":["*/*"],"authorization":["Bearer t"],"user-agent":["curl/8.0"],"x-multi":["one","two"]},` +
		`"queryStringParameters":{"q":"a b","tag":"y"},` +
		`"multiValueQueryStringParameters":{"q":["a b"],"tag":["x","y"]},` +
		`"pathParameters":{"id":"42"},"stageVariables":{"env":"prod"},` +
		`"requestContext":{"path":"/pets/42","accountId":"123456789012","resourceId":"05c7jb","stage":"test","requestId":"req-1",` +
		`"identity":{"sourceIp":"203.0.113.9","userAgent":"curl/8.0"},` +
		`"resourcePath":"/pets/{id}","httpMethod":"GET","apiId":"abcdef123"}}`
	if got := string(RequestEvent(fullInput())); got != want {
		t.Errorf("RequestEvent =\n%s\nwant\n%s", got, want)
	}
}

// expectedEvent builds, independently of RequestEvent, the aws-lambda-go
// value a REQUEST event for in must unmarshal into.
func expectedEvent(in *RequestInput) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	single := func(ps []Param) map[string]string {
		m := map[string]string{}
		for _, p := range ps {
			m[p.Name] = p.Value
		}
		return m
	}
	multi := func(ps []Param) map[string][]string {
		m := map[string][]string{}
		for _, p := range ps {
			m[p.Name] = append(m[p.Name], p.Value)
		}
		return m
	}
	var hs []Param
	for _, h := range in.Headers {
		hs = append(hs, Param(h))
	}
	return events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type:                            "REQUEST",
		MethodArn:                       in.MethodARN,
		Resource:                        in.Resource,
		Path:                            in.Path,
		HTTPMethod:                      in.HTTPMethod,
		Headers:                         single(hs),
		MultiValueHeaders:               multi(hs),
		QueryStringParameters:           single(in.Query),
		MultiValueQueryStringParameters: multi(in.Query),
		PathParameters:                  single(in.PathParameters),
		StageVariables:                  single(in.StageVariables),
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			Path:         in.Path,
			AccountID:    in.AccountID,
			ResourceID:   in.ResourceID,
			Stage:        in.Stage,
			RequestID:    in.RequestID,
			Identity:     events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: in.SourceIP},
			ResourcePath: in.Resource,
			HTTPMethod:   in.HTTPMethod,
			APIID:        in.APIID,
		},
	}
}

func TestRequestEventUnmarshals(t *testing.T) {
	tests := []struct {
		name string
		in   *RequestInput
	}{
		{name: "full", in: fullInput()},
		{name: "empty", in: &RequestInput{}},
		{
			name: "escapes everywhere",
			in: &RequestInput{
				MethodARN: "arn:\"x\"", Resource: "/{proxy+}", Path: "/a b/<c>", HTTPMethod: "POST",
				Headers:        []Header{{Name: "x-\"q\"", Value: "v\n"}, {Name: "x-\"q\"", Value: "\u2028"}},
				Query:          []Param{{Name: "&", Value: "\\"}, {Name: "", Value: ""}},
				PathParameters: []Param{{Name: "proxy", Value: "a/b"}},
				StageVariables: []Param{{Name: "k", Value: "1"}, {Name: "k", Value: "2"}},
				AccountID:      "1", APIID: "a", Stage: "s", RequestID: "r", SourceIP: "::1", UserAgent: "ua\t",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := RequestEvent(tt.in)
			var got events.APIGatewayCustomAuthorizerRequestTypeRequest
			if err := json.Unmarshal(ev, &got); err != nil {
				t.Fatalf("unmarshal into events.APIGatewayCustomAuthorizerRequestTypeRequest: %v\n%s", err, ev)
			}
			if want := expectedEvent(tt.in); !reflect.DeepEqual(got, want) {
				t.Errorf("unmarshalled\n%+v\nwant\n%+v", got, want)
			}

			// What the aws-lambda-go type does not carry, and the shape of
			// empty maps: read the event generically.
			var raw map[string]any
			if err := json.Unmarshal(ev, &raw); err != nil {
				t.Fatal(err)
			}
			wantTop := []string{"headers", "httpMethod", "methodArn", "multiValueHeaders",
				"multiValueQueryStringParameters", "path", "pathParameters", "queryStringParameters",
				"requestContext", "resource", "stageVariables", "type"}
			if got := slices.Sorted(maps.Keys(raw)); !slices.Equal(got, wantTop) {
				t.Errorf("top-level keys = %q, want %q", got, wantTop)
			}
			for _, k := range []string{"headers", "multiValueHeaders", "queryStringParameters",
				"multiValueQueryStringParameters", "pathParameters", "stageVariables"} {
				if _, ok := raw[k].(map[string]any); !ok {
					t.Errorf("%s = %#v, want an object", k, raw[k])
				}
			}
			id := raw["requestContext"].(map[string]any)["identity"].(map[string]any)
			if id["userAgent"] != tt.in.UserAgent || id["sourceIp"] != tt.in.SourceIP {
				t.Errorf("identity = %v, want sourceIp %q userAgent %q", id, tt.in.SourceIP, tt.in.UserAgent)
			}
		})
	}
}

// TestRequestEventDeterministic checks that header and query order does
// not change the bytes (beyond the order of repeated values) and that the
// input slices are left as they were.
func TestRequestEventDeterministic(t *testing.T) {
	tests := []struct {
		name    string
		reorder func(in *RequestInput)
	}{
		{name: "headers reversed keeping repeated order", reorder: func(in *RequestInput) {
			in.Headers = []Header{
				{Name: "x-multi", Value: "one"}, {Name: "x-multi", Value: "two"},
				{Name: "authorization", Value: "Bearer t"}, {Name: "accept", Value: "*/*"},
				{Name: "user-agent", Value: "curl/8.0"},
			}
		}},
		{name: "query rotated", reorder: func(in *RequestInput) {
			in.Query = []Param{{Name: "tag", Value: "x"}, {Name: "tag", Value: "y"}, {Name: "q", Value: "a b"}}
		}},
	}
	base := RequestEvent(fullInput())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := fullInput()
			tt.reorder(in)
			before := *in
			hs, qs := slices.Clone(in.Headers), slices.Clone(in.Query)
			if got := RequestEvent(in); !bytes.Equal(got, base) {
				t.Errorf("RequestEvent =\n%s\nwant\n%s", got, base)
			}
			if !slices.Equal(in.Headers, hs) || !slices.Equal(in.Query, qs) || !reflect.DeepEqual(*in, before) {
				t.Error("RequestEvent modified its input")
			}
		})
	}
}

// FuzzRequestEvent checks that any input gives valid JSON that reads back
// into the aws-lambda-go type with the same values (after the U+FFFD
// replacement of invalid UTF-8).
func FuzzRequestEvent(f *testing.F) {
	f.Add("/pets/1", "authorization", "Bearer x", "authorization", "y", "q", "1", "ua")
	f.Add("/\xff", "\x00", "\"", "", "", "<", ">", "\u2028")
	f.Fuzz(func(t *testing.T, path, h1, v1, h2, v2, qn, qv, ua string) {
		clean := func(s string) string { return string([]rune(s)) }
		in := &RequestInput{
			MethodARN: "arn", Resource: "/{proxy+}", Path: path, HTTPMethod: "GET",
			Headers:   []Header{{Name: h1, Value: v1}, {Name: h2, Value: v2}},
			Query:     []Param{{Name: qn, Value: qv}},
			UserAgent: ua,
		}
		ev := RequestEvent(in)
		if !json.Valid(ev) {
			t.Fatalf("not valid JSON: %s", ev)
		}
		// The event must read as if the input had been valid UTF-8 with
		// every bad byte replaced by U+FFFD.
		in = &RequestInput{
			MethodARN: "arn", Resource: "/{proxy+}", Path: clean(path), HTTPMethod: "GET",
			Headers:   []Header{{Name: clean(h1), Value: clean(v1)}, {Name: clean(h2), Value: clean(v2)}},
			Query:     []Param{{Name: clean(qn), Value: clean(qv)}},
			UserAgent: clean(ua),
		}
		var evAny, againAny map[string]any
		again := RequestEvent(in)
		if json.Unmarshal(ev, &evAny) != nil || json.Unmarshal(again, &againAny) != nil || !reflect.DeepEqual(evAny, againAny) {
			t.Fatalf("invalid UTF-8 not read as U+FFFD:\n%s\n%s", ev, again)
		}
		// No key may be written twice (encoding/json would keep the last
		// silently).
		for _, k := range []string{"headers", "multiValueHeaders", "queryStringParameters", "multiValueQueryStringParameters"} {
			n := 0
			gjson.GetBytes(ev, k).ForEach(func(_, _ gjson.Result) bool { n++; return true })
			if m := len(evAny[k].(map[string]any)); n != m {
				t.Fatalf("%s has %d members but %d distinct keys: %s", k, n, m, ev)
			}
		}
		var got events.APIGatewayCustomAuthorizerRequestTypeRequest
		if err := json.Unmarshal(ev, &got); err != nil {
			t.Fatal(err)
		}
		if want := expectedEvent(in); !reflect.DeepEqual(got, want) {
			t.Fatalf("unmarshalled\n%+v\nwant\n%+v", got, want)
		}
	})
}

func BenchmarkRequestEvent(b *testing.B) {
	in := fullInput()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = RequestEvent(in)
	}
}

func BenchmarkTokenEvent(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = TokenEvent("Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "arn:aws:execute-api:us-east-1:1:a/s/GET/x")
	}
}
