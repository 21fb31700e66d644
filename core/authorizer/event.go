package authorizer

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// TokenEvent builds {"type":"TOKEN","authorizationToken":...,"methodArn":...}.
// The token is the whole identity source value (for a bearer token that
// includes the "Bearer " prefix), exactly as API Gateway passes it. Strings
// are escaped as described for appendString, so the event is valid JSON for
// any input bytes.
func TokenEvent(token, methodARN string) []byte {
	b := make([]byte, 0, 64+len(token)+len(methodARN))
	b = append(b, `{"type":"TOKEN","authorizationToken":`...)
	b = appendString(b, token)
	b = append(b, `,"methodArn":`...)
	b = appendString(b, methodARN)
	return append(b, '}')
}

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
	ResourceID     string // the route's resource id (config.Route.ResourceID)
	APIID          string
	Stage          string
	RequestID      string
	SourceIP       string
	UserAgent      string
}

// RequestEvent builds the REQUEST event in the shape of aws-lambda-go's
// events.APIGatewayCustomAuthorizerRequestTypeRequest.
//
// The output is deterministic: members appear in the order of the AWS
// documentation's example, and the keys of every map are sorted bytewise
// (as encoding/json sorts map keys), so equal inputs give equal bytes
// whatever order the proxy listed the headers in. Names are compared
// exactly; the proxy is expected to have normalised header case.
//
// Maps with no entries are written as {} rather than null, as in the
// documentation's example ("pathParameters": {}); an authorizer can index
// them without a null check either way round.
//
// requestContext.path is the path the client sent. API Gateway reports the
// full URL path there, which carries the stage only on the execute-api
// domain; the gateway is addressed like a custom domain, without a stage
// segment, so the value equals the top-level path as in the documentation's
// example. requestContext.identity carries sourceIp and userAgent.
func RequestEvent(in *RequestInput) []byte {
	b := make([]byte, 0, requestEventSize(in))
	b = append(b, `{"type":"REQUEST","methodArn":`...)
	b = appendString(b, in.MethodARN)
	b = append(b, `,"resource":`...)
	b = appendString(b, in.Resource)
	b = append(b, `,"path":`...)
	b = appendString(b, in.Path)
	b = append(b, `,"httpMethod":`...)
	b = appendString(b, in.HTTPMethod)

	headers := make([]Param, len(in.Headers))
	for i, h := range in.Headers {
		headers[i] = Param(h)
	}
	b = appendMaps(b, `,"headers":`, `,"multiValueHeaders":`, cleanNames(headers))
	b = appendMaps(b, `,"queryStringParameters":`, `,"multiValueQueryStringParameters":`, cleanNames(slices.Clone(in.Query)))
	return appendV1Tail(b, in.PathParameters, in.StageVariables, v1Context{
		path: in.Path, accountID: in.AccountID, resourceID: in.ResourceID, stage: in.Stage, requestID: in.RequestID,
		sourceIP: in.SourceIP, userAgent: in.UserAgent, resource: in.Resource,
		httpMethod: in.HTTPMethod, apiID: in.APIID,
	})
}

// v1Context is what a payload 1.0 event's requestContext carries.
type v1Context struct {
	path, accountID, resourceID, stage, requestID, sourceIP, userAgent, resource, httpMethod, apiID string
}

// appendV1Tail ends a payload 1.0 REQUEST event, REST's or an HTTP API's:
// path parameters, stage variables and the request context, in the member
// order AWS's example shows.
func appendV1Tail(b []byte, pathParams, stageVars []Param, rc v1Context) []byte {
	b = append(b, `,"pathParameters":`...)
	b = appendSingleMap(b, cleanNames(slices.Clone(pathParams)))
	b = append(b, `,"stageVariables":`...)
	b = appendSingleMap(b, cleanNames(slices.Clone(stageVars)))
	b = append(b, `,"requestContext":{"path":`...)
	b = appendString(b, rc.path)
	b = append(b, `,"accountId":`...)
	b = appendString(b, rc.accountID)
	b = append(b, `,"resourceId":`...)
	b = appendString(b, rc.resourceID)
	b = append(b, `,"stage":`...)
	b = appendString(b, rc.stage)
	b = append(b, `,"requestId":`...)
	b = appendString(b, rc.requestID)
	b = append(b, `,"identity":{"sourceIp":`...)
	b = appendString(b, rc.sourceIP)
	b = append(b, `,"userAgent":`...)
	b = appendString(b, rc.userAgent)
	b = append(b, `},"resourcePath":`...)
	b = appendString(b, rc.resource)
	b = append(b, `,"httpMethod":`...)
	b = appendString(b, rc.httpMethod)
	b = append(b, `,"apiId":`...)
	b = appendString(b, rc.apiID)
	return append(b, "}}"...)
}

// requestEventSize guesses the event's length so that building it usually
// takes one allocation.
func requestEventSize(in *RequestInput) int {
	n := 528 + len(in.MethodARN) + 2*(len(in.Resource)+len(in.Path)+len(in.HTTPMethod)) +
		len(in.AccountID) + len(in.APIID) + len(in.Stage) + len(in.RequestID) + len(in.SourceIP) + len(in.UserAgent)
	for _, h := range in.Headers {
		n += 2*(len(h.Name)+len(h.Value)) + 12
	}
	for _, p := range in.Query {
		n += 2*(len(p.Name)+len(p.Value)) + 12
	}
	for _, p := range in.PathParameters {
		n += len(p.Name) + len(p.Value) + 6
	}
	for _, p := range in.StageVariables {
		n += len(p.Name) + len(p.Value) + 6
	}
	return n
}

// cleanNames replaces each byte of a name that is not valid UTF-8 with
// U+FFFD before the names are grouped. The JSON escaping does the same
// replacement, so without this two names differing only in invalid bytes
// (a percent-decoded query name can be anything) would be written as one
// key twice.
func cleanNames(ps []Param) []Param {
	for i := range ps {
		if !utf8.ValidString(ps[i].Name) {
			ps[i].Name = string([]rune(ps[i].Name))
		}
	}
	return ps
}

// sortParams orders ps by name, keeping the original order of equal names
// so that "last value wins" and the multi-value order survive the sort.
func sortParams(ps []Param) {
	slices.SortStableFunc(ps, func(a, b Param) int { return strings.Compare(a.Name, b.Name) })
}

// appendMaps writes the single-value map (last value wins) and the
// multi-value map (every value in order) that API Gateway derives from one
// list of pairs. ps is sorted in place.
func appendMaps(b []byte, single, multi string, ps []Param) []byte {
	sortParams(ps)
	b = append(b, single...)
	b = appendRuns(b, ps, lastValue)
	b = append(b, multi...)
	return appendRuns(b, ps, func(b []byte, run []Param) []byte {
		b = append(b, '[')
		for k, p := range run {
			if k > 0 {
				b = append(b, ',')
			}
			b = appendString(b, p.Value)
		}
		return append(b, ']')
	})
}

// appendSingleMap writes a plain string map; a repeated name keeps its last
// value. ps is sorted in place.
func appendSingleMap(b []byte, ps []Param) []byte {
	sortParams(ps)
	return appendRuns(b, ps, lastValue)
}

// appendRuns writes sorted pairs as a JSON object with one member per name,
// whose value value renders from the run of pairs sharing that name.
func appendRuns(b []byte, ps []Param, value func(b []byte, run []Param) []byte) []byte {
	b = append(b, '{')
	for i := 0; i < len(ps); {
		j := runEnd(ps, i)
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, ps[i].Name)
		b = append(b, ':')
		b = value(b, ps[i:j])
		i = j
	}
	return append(b, '}')
}

func lastValue(b []byte, run []Param) []byte { return appendString(b, run[len(run)-1].Value) }

// runEnd returns the end of the run of entries sharing ps[i]'s name.
func runEnd(ps []Param, i int) int {
	j := i + 1
	for j < len(ps) && ps[j].Name == ps[i].Name {
		j++
	}
	return j
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. The escaping is the one
// encoding/json applies with HTML escaping turned off: '"' and '\\' are
// backslash escaped, \b \f \n \r \t use their short forms, other control
// bytes become \u00XX, U+2028 and U+2029 are escaped (so the text is also
// valid JavaScript), and each byte that is not part of valid UTF-8 becomes
// \ufffd. '<', '>' and '&' stay as they are. The result is valid JSON for
// any input.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendString appends s to b as a JSON string, escaped as for the events
// (see appendString), so that the gateway's own JSON answers escape text
// the same way.
func AppendString(b []byte, s string) []byte { return appendString(b, s) }
