package authorizer

import (
	"errors"
	"strings"
	"testing"
)

func TestReadInvokeResponse(t *testing.T) {
	fe := []Header{{Name: "X-Amz-Function-Error", Value: "Unhandled"}}
	tests := []struct {
		name    string
		status  int
		headers []Header
		body    string
		want    string // "" = nil, "unauthorized" = ErrUnauthorized, else part of the error
	}{
		{"return value", 200, nil, `{"principalId":"a","policyDocument":{}}`, ""},
		{"return value with unrelated headers", 200, []Header{{Name: "x-amz-executed-version", Value: "$LATEST"}}, `{}`, ""},
		{"unauthorized thrown", 200, fe, `{"errorMessage":"Unauthorized","errorType":"errorString"}`, "unauthorized"},
		{"unauthorized thrown, lower-case header", 200, []Header{{Name: "x-amz-function-error", Value: "Handled"}}, ` {"errorType":"Error","errorMessage":"Unauthorized"} `, "unauthorized"},
		{"unauthorized with a trace", 200, fe, `{"errorMessage":"Unauthorized","errorType":"errorString","stackTrace":[]}`, "unauthorized"},
		{"other message", 200, fe, `{"errorMessage":"boom","errorType":"errorString"}`, `errorType "errorString", errorMessage "boom"`},
		{"message differs in case", 200, fe, `{"errorMessage":"unauthorized","errorType":"errorString"}`, `errorMessage "unauthorized"`},
		{"message with space", 200, fe, `{"errorMessage":"Unauthorized ","errorType":"errorString"}`, `errorMessage "Unauthorized "`},
		{"timeout", 200, fe, `{"errorMessage":"2026-01-01T00:00:00Z abc Task timed out after 3.00 seconds"}`, "Task timed out"},
		{"error body not json", 200, fe, `Unauthorized`, "body not JSON"},
		{"error without message", 200, fe, `{"errorType":"x"}`, "without an errorMessage"},
		{"error message not a string", 200, fe, `{"errorMessage":1}`, "without an errorMessage"},
		{"throttled", 429, []Header{{Name: "x-amzn-ErrorType", Value: "TooManyRequestsException"}}, `{"Type":"User","message":"Rate Exceeded."}`, `status 429, "TooManyRequestsException"`},
		{"signature refused", 403, []Header{{Name: "x-amzn-errortype", Value: "InvalidSignatureException"}}, `{"message":"The request signature we calculated does not match"}`, "status 403"},
		{"service error", 502, nil, ``, "status 502"},
		{"unauthorized body with 401 status", 401, nil, `{"errorMessage":"Unauthorized"}`, "status 401"},
		{"202 is not a synchronous answer", 202, nil, ``, "status 202"},
		{"error nested too deep", 200, fe, `{"errorMessage":"Unauthorized","x":` + nested(10000) + `}`, "unreadable: body nested deeper than 32 levels"},
		{"error not UTF-8", 200, fe, "{\"errorMessage\":\"Unauthorized\",\"x\":\"\xff\"}", "unreadable: body not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ReadInvokeResponse(tt.status, tt.headers, []byte(tt.body))
			switch tt.want {
			case "":
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
			case "unauthorized":
				if !errors.Is(err, ErrUnauthorized) {
					t.Fatalf("err = %v, want ErrUnauthorized", err)
				}
			default:
				// "unreadable: " asks for an error that matches ErrUnreadable.
				want, unread := strings.CutPrefix(tt.want, "unreadable: ")
				if err == nil || errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), want) || errors.Is(err, ErrUnreadable) != unread {
					t.Fatalf("err = %v, want an error containing %q (unreadable %v)", err, want, unread)
				}
			}
		})
	}
}

func FuzzReadInvokeResponse(f *testing.F) {
	f.Add(200, "Unhandled", []byte(`{"errorMessage":"Unauthorized","errorType":"errorString"}`))
	f.Add(200, "", []byte(`{"principalId":"a"}`))
	f.Add(429, "", []byte(`{"Type":"User"}`))
	f.Add(200, "Handled", []byte(`"x"`))
	f.Fuzz(func(t *testing.T, status int, functionError string, body []byte) {
		var hs []Header
		if functionError != "" {
			hs = []Header{{Name: FunctionErrorHeader, Value: functionError}}
		}
		err := ReadInvokeResponse(status, hs, body)
		switch {
		case err == nil && (status != 200 || functionError != ""):
			t.Fatalf("status %d, function error %q accepted as a return value", status, functionError)
		case errors.Is(err, ErrUnauthorized) && (status != 200 || functionError == ""):
			t.Fatalf("status %d, function error %q read as Unauthorized", status, functionError)
		case err != nil && len(err.Error()) > 1024:
			t.Fatalf("error of %d bytes: messages must be cut short", len(err.Error()))
		}
	})
}
