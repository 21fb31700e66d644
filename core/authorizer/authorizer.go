// Package authorizer is the wire format between the gateway and an
// authorizer: the TOKEN and REQUEST events it sends and the responses it
// accepts, as API Gateway documents them for Lambda authorizers
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html,
// https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html).
package authorizer

import (
	"errors"

	"github.com/authgate/authgate/core/policy"
)

// Header is one request header; names are as the proxy gives them
// (lower case in Envoy).
type Header struct {
	Name, Value string
}

// Param is one name/value pair (query parameter, path parameter).
type Param struct {
	Name, Value string
}

// TokenEvent builds {"type":"TOKEN","authorizationToken":...,"methodArn":...}.
func TokenEvent(token, methodARN string) []byte { panic("TODO") }

// RequestInput is what a REQUEST (payload 1.0) event is built from.
type RequestInput struct {
	MethodARN      string
	Resource       string // the matched route template, e.g. "/pets/{id}"
	Path           string // the decoded request path
	HTTPMethod     string
	Headers        []Header // repeated names become multiValueHeaders; the last value wins in headers
	Query          []Param  // likewise for query parameters
	PathParameters []Param
	StageVariables []Param
	AccountID      string
	APIID          string
	Stage          string
	RequestID      string
	SourceIP       string
	UserAgent      string
}

// RequestEvent builds the REQUEST event in the shape of aws-lambda-go's
// events.APIGatewayCustomAuthorizerRequestTypeRequest.
func RequestEvent(in *RequestInput) []byte { panic("TODO") }

// ContextValue is one entry of the response's context map, rendered as text
// the way it reaches the upstream: strings as is, numbers as written in the
// JSON, booleans as "true"/"false". Raw keeps the JSON literal.
type ContextValue struct {
	Key, Value, Raw string
}

// Result is a parsed, valid authorizer response. It is immutable once built.
type Result struct {
	PrincipalID        string
	Policy             *policy.Policy
	Context            []ContextValue // in document order
	UsageIdentifierKey string
}

// Size estimates the result's memory in bytes, for cache accounting.
func (r *Result) Size() int { panic("TODO") }

// ErrUnauthorized is returned by ParseResponse when the authorizer denies the
// identity itself ("Unauthorized" answers and HTTP 401): the gateway answers 401.
var ErrUnauthorized = errors.New("authorizer: unauthorized")

// ParseResponse reads an authorizer's HTTP answer. It returns ErrUnauthorized
// for the Unauthorized forms, a descriptive error for anything else that is
// not a valid response (the gateway answers 500), and the Result otherwise.
func ParseResponse(status int, body []byte) (*Result, error) { panic("TODO") }
