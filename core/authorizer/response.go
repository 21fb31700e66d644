package authorizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/authgate/authgate/core/policy"
	"github.com/tidwall/gjson"
)

// unauthorized is the message with which an authorizer denies an identity,
// in any of the forms ParseResponse recognises.
const unauthorized = "Unauthorized"

// maxQuoted bounds how much of an authorizer's error message is repeated in
// an error, so a large body cannot flood the logs.
const maxQuoted = 128

// ParseResponse reads an authorizer's HTTP answer. It returns ErrUnauthorized
// for the Unauthorized forms, a descriptive error for anything else that is
// not a valid response (the gateway answers 500), and the Result otherwise.
//
// The rules:
//   - Status 401 is Unauthorized whatever the body; any other status outside
//     2xx is an error.
//   - A 2xx body, trimmed of JSON whitespace, that is the plain text
//     Unauthorized, the JSON string "Unauthorized", or an object whose
//     errorMessage is "Unauthorized" (the shape a Lambda function's failure
//     takes, errorType and other members allowed) is Unauthorized. An
//     object with any other errorMessage is an error.
//   - Otherwise the body must be a JSON object with no repeated member
//     names, in UTF-8 (RFC 8259), nested at most jsondepth.Max (32) levels
//     deep, ignored members included. principalId must be a non-empty string; policyDocument must be
//     an object and a valid policy; context, when present and not null, must
//     be an object without repeated keys whose values are strings, numbers or
//     booleans; usageIdentifierKey, when present and not null, must be a
//     string. Other members are ignored, since responses built by Lambda
//     tooling may carry extra fields that API Gateway also ignores.
//
// Members are checked in the order principalId, policyDocument (shape),
// context, usageIdentifierKey, and the policy document is parsed last, so
// the first problem reported does not depend on the policy parser.
func ParseResponse(status int, body []byte) (*Result, error) {
	return parsePolicyResponse(status, body, false)
}

// ParseHTTPResponse reads the policy answer of an HTTP API authorizer
// (payload 1.0, or 2.0 without simple responses). The rules are
// ParseResponse's, except that context values may also be arrays and
// objects, as HTTP APIs accept
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html);
// such a value's Value and Raw are its compact JSON text.
func ParseHTTPResponse(status int, body []byte) (*Result, error) {
	return parsePolicyResponse(status, body, true)
}

func parsePolicyResponse(status int, body []byte, nested bool) (*Result, error) {
	m, err := readMembers(status, body)
	if err != nil {
		return nil, err
	}
	principal, policyDoc, context, usage := m["principalId"], m["policyDocument"], m["context"], m["usageIdentifierKey"]

	r := &Result{}
	switch {
	case !principal.Exists():
		return nil, errors.New("principalId: missing")
	case principal.Type != gjson.String:
		return nil, errors.New("principalId: must be a string")
	case principal.Str == "":
		return nil, errors.New("principalId: must not be empty")
	}
	r.PrincipalID = strings.Clone(principal.Str)

	switch {
	case !policyDoc.Exists():
		return nil, errors.New("policyDocument: missing")
	case !policyDoc.IsObject():
		return nil, errors.New("policyDocument: must be an object")
	}

	if context.Exists() && context.Type != gjson.Null {
		cv, err := parseContext(context, nested)
		if err != nil {
			return nil, err
		}
		r.Context = cv
	}

	if usage.Exists() && usage.Type != gjson.Null {
		if usage.Type != gjson.String {
			return nil, errors.New("usageIdentifierKey: must be a string")
		}
		r.UsageIdentifierKey = strings.Clone(usage.Str)
	}

	p, err := policy.ParseResult(policyDoc)
	if err != nil {
		return nil, fmt.Errorf("policyDocument: %w", err)
	}
	r.Policy = p
	return r, nil
}

// readMembers applies the rules every response format shares: the status,
// the Unauthorized forms, a JSON object without repeated member names, and
// errorMessage. It returns the object's members by name.
func readMembers(status int, body []byte) (map[string]gjson.Result, error) {
	if status == 401 {
		return nil, ErrUnauthorized
	}
	if status < 200 || status > 299 {
		return nil, fmt.Errorf("unexpected status %d", status)
	}
	s := strings.Trim(string(body), " \t\r\n")
	if s == unauthorized {
		return nil, ErrUnauthorized
	}
	if s == "" {
		return nil, errors.New("response: empty body")
	}
	if err := checkText("response: ", s); err != nil {
		return nil, err
	}
	if !gjson.Valid(s) {
		return nil, errors.New("response: invalid JSON")
	}
	doc := gjson.Parse(s)
	if doc.Type == gjson.String && doc.Str == unauthorized {
		return nil, ErrUnauthorized
	}
	if !doc.IsObject() {
		return nil, errors.New("response: must be a JSON object")
	}
	var dupErr error
	m := make(map[string]gjson.Result, 8)
	doc.ForEach(func(k, v gjson.Result) bool {
		if _, dup := m[k.Str]; dup {
			dupErr = fmt.Errorf("response: duplicate key %s", quote(k.Str))
			return false
		}
		m[k.Str] = v
		return true
	})
	if dupErr != nil {
		return nil, dupErr
	}
	if errMsg, ok := m["errorMessage"]; ok {
		if errMsg.Type == gjson.String && errMsg.Str == unauthorized {
			return nil, ErrUnauthorized
		}
		msg := errMsg.Raw
		if errMsg.Type == gjson.String {
			msg = errMsg.Str
		}
		return nil, fmt.Errorf("authorizer failed: errorMessage %s", quote(msg))
	}
	return m, nil
}

// ParseSimpleResponse reads the answer of an HTTP API authorizer with simple
// responses enabled: {"isAuthorized": true|false, "context": {...}}
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html).
// Status, the Unauthorized forms, repeated member names, errorMessage and
// context follow ParseHTTPResponse's rules; isAuthorized must be a boolean.
// The Result has Simple set, Authorized from isAuthorized, no principal
// and no policy.
func ParseSimpleResponse(status int, body []byte) (*Result, error) {
	m, err := readMembers(status, body)
	if err != nil {
		return nil, err
	}
	ok, present := m["isAuthorized"]
	switch {
	case !present:
		return nil, errors.New("isAuthorized: missing")
	case ok.Type != gjson.True && ok.Type != gjson.False:
		return nil, errors.New("isAuthorized: must be a boolean")
	}
	r := &Result{Simple: true, Authorized: ok.Type == gjson.True}
	if c, present := m["context"]; present && c.Type != gjson.Null {
		if r.Context, err = parseContext(c, true); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// parseContext reads the context object. Values keep document order; the
// strings are copied so that a cached result does not pin the whole body.
// With nested set, arrays and objects are accepted as their compact JSON.
func parseContext(obj gjson.Result, nested bool) ([]ContextValue, error) {
	if !obj.IsObject() {
		return nil, errors.New("context: must be an object")
	}
	var out []ContextValue
	var err error
	seen := make(map[string]struct{})
	obj.ForEach(func(k, v gjson.Result) bool {
		if _, dup := seen[k.Str]; dup {
			err = fmt.Errorf("context: duplicate key %s", quote(k.Str))
			return false
		}
		seen[k.Str] = struct{}{}
		cv := ContextValue{Key: strings.Clone(k.Str)}
		switch v.Type {
		case gjson.String:
			cv.Raw = strings.Clone(v.Raw)
			if v.Str == v.Raw[1:len(v.Raw)-1] {
				cv.Value = cv.Raw[1 : len(cv.Raw)-1]
			} else {
				cv.Value = strings.Clone(v.Str)
			}
		case gjson.Number, gjson.True, gjson.False:
			cv.Raw = strings.Clone(v.Raw)
			cv.Value = cv.Raw
		case gjson.JSON:
			if !nested {
				err = errors.New(contextPath(k.Str) + ": must be a string, number or boolean")
				return false
			}
			var buf bytes.Buffer
			if cerr := json.Compact(&buf, []byte(v.Raw)); cerr != nil {
				err = errors.New(contextPath(k.Str) + ": invalid JSON")
				return false
			}
			cv.Raw = buf.String()
			cv.Value = cv.Raw
		default:
			err = errors.New(contextPath(k.Str) + ": must be a string, number or boolean")
			return false
		}
		out = append(out, cv)
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// contextPath names a context entry in an error: context.user for plain
// keys, context["odd key"] for any other.
func contextPath(key string) string {
	if key != "" && plainKey(key) {
		return "context." + key
	}
	return "context[" + quote(key) + "]"
}

// plainKey reports whether key is made only of ASCII letters, digits, '_'
// and '-', so it can be printed without quoting.
func plainKey(key string) bool {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// quote renders untrusted text for an error message: Go-quoted, and cut
// after maxQuoted bytes.
func quote(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "..."
	}
	return strconv.Quote(s)
}
