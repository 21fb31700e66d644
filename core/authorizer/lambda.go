package authorizer

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

// Headers of the Lambda Invoke API
// (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html), lower
// case as proxies present them.
const (
	// InvocationTypeHeader asks for a synchronous invocation
	// (InvocationTypeRequestResponse): the answer carries the function's
	// return value.
	InvocationTypeHeader          = "x-amz-invocation-type"
	InvocationTypeRequestResponse = "RequestResponse"
	// FunctionErrorHeader marks an answer whose body is the function's
	// error, {"errorMessage":…,"errorType":…}, instead of its return value.
	FunctionErrorHeader = "x-amz-function-error"
	// ServiceErrorHeader names the error of an answer from the Lambda
	// service itself (TooManyRequestsException, AccessDeniedException, …).
	ServiceErrorHeader = "x-amzn-errortype"
)

// ReadInvokeResponse judges the Lambda Invoke API's answer to an
// authorizer's event, as API Gateway does when it invokes a Lambda
// authorizer. It returns nil when the body is the function's return value,
// to be read as the authorizer's response (ParseResponse and its kin);
// ErrUnauthorized when the function failed with the error message exactly
// "Unauthorized" (the documented way for a Lambda authorizer to answer
// 401); and an error for anything else: any other function error, and
// every status but 200 (throttling's 429, Lambda's own 4xx and 5xx, a
// refused signature's 403), after which the gateway answers 500.
//
// A function error's body that no parser may read (see ErrUnreadable) is an
// error matching ErrUnreadable, before gjson sees it.
//
// Header names are matched case-insensitively. The error names the Lambda
// error type and quotes the function's message cut short, so a log line
// tells what went wrong.
func ReadInvokeResponse(status int, headers []Header, body []byte) error {
	if status != 200 {
		if t := header(headers, ServiceErrorHeader); t != "" {
			return fmt.Errorf("lambda invoke: status %d, %s", status, quote(t))
		}
		return fmt.Errorf("lambda invoke: status %d", status)
	}
	fe := header(headers, FunctionErrorHeader)
	if fe == "" {
		return nil
	}
	s := strings.TrimSpace(string(body))
	if err := checkText("lambda invoke: function error "+quote(fe)+", body ", s); err != nil {
		return err
	}
	if !gjson.Valid(s) {
		return fmt.Errorf("lambda invoke: function error %s, body not JSON", quote(fe))
	}
	doc := gjson.Parse(s)
	msg, typ := doc.Get("errorMessage"), doc.Get("errorType")
	if !doc.IsObject() || msg.Type != gjson.String {
		return fmt.Errorf("lambda invoke: function error %s without an errorMessage", quote(fe))
	}
	if msg.Str == unauthorized {
		return ErrUnauthorized
	}
	return fmt.Errorf("lambda invoke: function error %s: errorType %s, errorMessage %s", quote(fe), quote(typ.String()), quote(msg.Str))
}

// header returns the first value of the named header.
func header(hs []Header, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}
