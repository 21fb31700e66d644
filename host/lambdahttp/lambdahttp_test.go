package lambdahttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/authgate/authgate/host/lambdahttp"
)

const tokenEvent = `{"type":"TOKEN","authorizationToken":"Bearer good","methodArn":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets"}`

// tokenHandler is an authorizer as it would be written for Lambda.
func tokenHandler(ctx context.Context, e events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	if e.AuthorizationToken != "Bearer good" {
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
	}
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok || len(lc.AwsRequestID) != 36 {
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("no lambda context")
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: "alice",
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action:   []string{"execute-api:Invoke"},
				Effect:   "Allow",
				Resource: []string{e.MethodArn},
			}},
		},
		Context: map[string]any{"n": 1},
	}, nil
}

type customError struct{ msg string }

func (e *customError) Error() string { return e.msg }

func TestHandler(t *testing.T) {
	tests := []struct {
		name       string
		handler    any
		method     string
		body       string
		wantStatus int
		wantBody   string
	}{
		{
			name:       "token allow",
			handler:    tokenHandler,
			method:     http.MethodPost,
			body:       tokenEvent,
			wantStatus: 200,
			wantBody:   `{"principalId":"alice","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets"]}]},"context":{"n":1}}`,
		},
		{
			name:       "token unauthorized",
			handler:    tokenHandler,
			method:     http.MethodPost,
			body:       `{"type":"TOKEN","authorizationToken":"Bearer bad","methodArn":"x"}`,
			wantStatus: 401,
			wantBody:   `{"errorMessage":"Unauthorized"}`,
		},
		{
			name: "other error",
			handler: func(context.Context, events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
				return events.APIGatewayCustomAuthorizerResponse{}, &customError{"database down"}
			},
			method:     http.MethodPost,
			body:       tokenEvent,
			wantStatus: 500,
			wantBody:   `{"errorMessage":"database down","errorType":"customError"}`,
		},
		{
			name: "wrapped unauthorized is not unauthorized",
			handler: func(events.APIGatewayCustomAuthorizerRequest) error {
				return errors.New("check: Unauthorized")
			},
			method:     http.MethodPost,
			body:       tokenEvent,
			wantStatus: 500,
			wantBody:   `{"errorMessage":"check: Unauthorized","errorType":"errorString"}`,
		},
		{
			name: "lambda error payload",
			handler: func(events.APIGatewayCustomAuthorizerRequest) error {
				return messages.InvokeResponse_Error{Message: "Unauthorized", Type: "Custom"}
			},
			method:     http.MethodPost,
			body:       tokenEvent,
			wantStatus: 401,
			wantBody:   `{"errorMessage":"Unauthorized"}`,
		},
		{
			name: "panic",
			handler: func(context.Context, events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
				panic("boom")
			},
			method:     http.MethodPost,
			body:       tokenEvent,
			wantStatus: 500,
			wantBody:   `{"errorMessage":"boom","errorType":"string"}`,
		},
		{
			name: "ctx-less signature",
			handler: func(e events.APIGatewayCustomAuthorizerRequestTypeRequest) (map[string]string, error) {
				return map[string]string{"path": e.Path, "h": e.Headers["x-a"]}, nil
			},
			method:     http.MethodPost,
			body:       `{"type":"REQUEST","path":"/pets","headers":{"x-a":"1"}}`,
			wantStatus: 200,
			wantBody:   `{"h":"1","path":"/pets"}`,
		},
		{
			name:       "no arguments no results",
			handler:    func() {},
			method:     http.MethodPost,
			body:       `{}`,
			wantStatus: 200,
			wantBody:   `null`,
		},
		{
			name:       "event that does not fit the type",
			handler:    tokenHandler,
			method:     http.MethodPost,
			body:       `{"type":7}`,
			wantStatus: 500,
			wantBody:   `{"errorMessage":"json: cannot unmarshal number into Go struct field APIGatewayCustomAuthorizerRequest.type of type string","errorType":"UnmarshalTypeError"}`,
		},
		{
			name:       "not JSON",
			handler:    tokenHandler,
			method:     http.MethodPost,
			body:       `{"type":`,
			wantStatus: 400,
			wantBody:   `{"errorMessage":"request body is not JSON","errorType":"InvalidRequestContentException"}`,
		},
		{
			name:       "empty body",
			handler:    tokenHandler,
			method:     http.MethodPost,
			body:       ``,
			wantStatus: 400,
			wantBody:   `{"errorMessage":"request body is not JSON","errorType":"InvalidRequestContentException"}`,
		},
		{
			name:       "wrong method",
			handler:    tokenHandler,
			method:     http.MethodGet,
			wantStatus: 405,
			wantBody:   `{"errorMessage":"method not allowed","errorType":"MethodNotAllowed"}`,
		},
		{
			name:       "too large",
			handler:    tokenHandler,
			method:     http.MethodPost,
			body:       `"` + strings.Repeat("a", lambdahttp.MaxBodyBytes) + `"`,
			wantStatus: 413,
			wantBody:   `{"errorMessage":"request body too large","errorType":"RequestTooLargeException"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(lambdahttp.Handler(tt.handler))
			defer srv.Close()
			req, err := http.NewRequest(tt.method, srv.URL, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, tt.wantStatus, body)
			}
			if string(body) != tt.wantBody {
				t.Errorf("body = %s\nwant   %s", body, tt.wantBody)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
		})
	}
}

// TestPanicKeepsServing checks that a panic in one invocation leaves the
// server answering the next one.
func TestPanicKeepsServing(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(lambdahttp.Handler(func(ctx context.Context, in string) (string, error) {
		calls++
		if in == "panic" {
			panic(errors.New("bad"))
		}
		return "ok:" + in, nil
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"panics", `"panic"`, 500},
		{"still serves", `"x"`, 200},
	} {
		resp, err := srv.Client().Post(srv.URL, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status = %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	if calls != 2 {
		t.Errorf("calls = %d, want 2", calls)
	}
}

func TestHandlerRejectsInvalidSignatures(t *testing.T) {
	tests := []struct {
		name    string
		handler any
		want    string
	}{
		{"nil", nil, "lambdahttp: invalid handler: handler is nil"},
		{"not a function", 42, "lambdahttp: invalid handler: handler is a int, not a function"},
		{"nil function", (func())(nil), "lambdahttp: invalid handler: handler is a nil function"},
		{"three arguments", func(context.Context, string, string) {}, "lambdahttp: invalid handler: handler takes 3 arguments, at most 2 allowed"},
		{"first not context", func(string, string) {}, "lambdahttp: invalid handler: handler takes two arguments but the first is string, not context.Context"},
		{"interface not context", func(io.Reader) {}, "lambdahttp: invalid handler: handler takes an interface that is not context.Context: io.Reader"},
		{"result not error", func() string { return "" }, "lambdahttp: invalid handler: handler's last result is string, which does not implement error"},
		{"three results", func() (int, int, error) { return 0, 0, nil }, "lambdahttp: invalid handler: handler returns 3 values, at most 2 allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				got := recover()
				if got != tt.want {
					t.Errorf("panic = %v, want %q", got, tt.want)
				}
			}()
			lambdahttp.Handler(tt.handler)
		})
	}
}

func TestHandlerAcceptsValidSignatures(t *testing.T) {
	tests := []struct {
		name    string
		handler any
	}{
		{"empty", func() {}},
		{"any event", func(any) {}},
		{"context only", func(context.Context) error { return nil }},
		{"context and event", func(context.Context, string) (string, error) { return "", nil }},
		{"event and error", func(string) error { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if lambdahttp.Handler(tt.handler) == nil {
				t.Fatal("Handler returned nil")
			}
		})
	}
}

// FuzzHandler sends arbitrary bodies to a typed authorizer handler: the
// server must answer every one with a known status and a JSON body.
func FuzzHandler(f *testing.F) {
	for _, s := range []string{tokenEvent, `{}`, `null`, `[]`, `{"type":7}`, `"x"`, ``, `{"a":`} {
		f.Add(s)
	}
	h := lambdahttp.Handler(tokenHandler)
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
		switch rec.Code {
		case 200, 400, 401, 500:
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("body %q is not JSON", rec.Body.String())
		}
	})
}
