// Package authorizer is the wire format between the gateway and an
// authorizer: the TOKEN and REQUEST events it sends and the responses it
// accepts, as API Gateway documents them for Lambda authorizers
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html,
// https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html).
//
// The Go types of github.com/aws/aws-lambda-go/events are the reference
// shapes: every event built here unmarshals into them field for field, and
// every response they marshal to is accepted.
package authorizer

import (
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/authgate/authgate/core/internal/jsondepth"
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

// ContextValue is one entry of the response's context map, rendered as text
// the way it reaches the upstream: strings as is, numbers as written in the
// JSON, booleans as "true"/"false". Raw keeps the JSON literal.
type ContextValue struct {
	Key, Value, Raw string
}

// AppendContextJSON appends ctx as one JSON object: each key as a JSON
// string, each value as the authorizer wrote it (Raw), in document order.
// Decoded, it is the authorizer's context object, whatever its keys and
// values hold.
func AppendContextJSON(b []byte, ctx []ContextValue) []byte {
	b = append(b, '{')
	for i, cv := range ctx {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, cv.Key)
		b = append(b, ':')
		b = append(b, cv.Raw...)
	}
	return append(b, '}')
}

// Result is a parsed, valid authorizer response. It is immutable once built.
type Result struct {
	PrincipalID        string
	Policy             *policy.Policy
	Context            []ContextValue // in document order
	UsageIdentifierKey string

	// Simple is set for a simple response (HTTP APIs with
	// enableSimpleResponses): Authorized then decides alone, and
	// PrincipalID and Policy are empty.
	Simple     bool
	Authorized bool
}

// Overheads used by Size: a rough count of the struct headers and slice
// slots behind a Result, so that many tiny results are not accounted as free.
const (
	resultOverhead  = 96
	contextOverhead = 48
)

// Size estimates the result's memory in bytes, for cache accounting: the
// strings it holds, a fixed overhead per struct and the policy's own
// estimate. It is an estimate for bounding the cache, not an exact count.
func (r *Result) Size() int {
	n := resultOverhead + len(r.PrincipalID) + len(r.UsageIdentifierKey)
	for i := range r.Context {
		cv := &r.Context[i]
		n += contextOverhead + len(cv.Key) + len(cv.Value)
		// Value and Raw share their bytes for numbers and booleans.
		if cv.Raw != cv.Value {
			n += len(cv.Raw)
		}
	}
	if r.Policy != nil {
		n += r.Policy.Size()
	}
	return n
}

// ErrUnauthorized is returned by ParseResponse when the authorizer denies the
// identity itself ("Unauthorized" answers and HTTP 401): the gateway answers 401.
var ErrUnauthorized = errors.New("authorizer: unauthorized")

// ErrUnreadable is matched (errors.Is) by the error for an answer whose
// text no parser may read: text that is not UTF-8 (JSON text is, RFC 8259
// section 8.1), or nesting deeper than jsondepth.Max levels, which in the
// filter would exhaust the wasm engine's stack in gjson's recursive
// validation.
var ErrUnreadable = errors.New("authorizer: unreadable answer")

// unreadable is an error that matches ErrUnreadable and reads as its text.
type unreadable string

func (e unreadable) Error() string { return string(e) }

func (unreadable) Is(target error) bool { return target == ErrUnreadable }

// checkText refuses text no recursive parser may see; prefix starts the
// error.
func checkText(prefix, s string) error {
	if !utf8.ValidString(s) {
		return unreadable(prefix + "not valid UTF-8")
	}
	// Before any recursive parser runs: in the filter, a few thousand
	// levels would exhaust the engine's stack and kill the VM.
	if jsondepth.Exceeds(s, jsondepth.Max) {
		return unreadable(prefix + "nested deeper than " + strconv.Itoa(jsondepth.Max) + " levels")
	}
	return nil
}
