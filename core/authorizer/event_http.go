package authorizer

import (
	"slices"
	"strconv"
	"strings"
)

// HTTPInput is what an HTTP API authorizer event (payload 1.0 or 2.0) is
// built from.
type HTTPInput struct {
	RouteARN       string   // the execute-api ARN of the request
	RouteKey       string   // "GET /pets/{id}", "ANY /pets" or "$default"
	Resource       string   // the route template, "$default" for the catch-all route
	IdentitySource []string // the identity values, in identitySource order
	RawPath        string   // the path as the client sent it
	RawQuery       string   // the query as the client sent it, without "?"
	Path           string   // the decoded path
	HTTPMethod     string
	Headers        []Header // repeated names are joined with commas
	Query          []Param  // likewise
	PathParameters []Param
	StageVariables []Param
	AccountID      string
	ResourceID     string // payload 1.0 only: the route's resource id
	APIID          string
	Stage          string
	RequestID      string
	SourceIP       string
	UserAgent      string
	DomainName     string
	DomainPrefix   string
	Protocol       string // "HTTP/1.1", "HTTP/2"; empty when the proxy did not say
	Time           string // CLF time, "02/Jan/2006:15:04:05 +0000"
	TimeEpoch      int64  // milliseconds since the epoch
}

// HTTPEventV2 builds the payload 2.0 event of an HTTP API Lambda
// authorizer, in the shape of aws-lambda-go's
// events.APIGatewayV2CustomAuthorizerV2Request
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html).
//
// As API Gateway does for HTTP APIs: header names are lower case; repeated
// headers and query parameters are joined with commas; the cookie header is
// left out of headers and its cookies, split on ";", make up cookies. The
// members cookies, queryStringParameters, pathParameters and stageVariables
// are left out when they would be empty, as API Gateway leaves them out of
// HTTP API payloads. Map keys are sorted, so the output is deterministic.
func HTTPEventV2(in *HTTPInput) []byte {
	var cookies []string
	headers := make([]Param, 0, len(in.Headers))
	for _, h := range in.Headers {
		name := strings.ToLower(h.Name)
		if name == "cookie" {
			for c := range strings.SplitSeq(h.Value, ";") {
				if c = strings.Trim(c, " \t"); c != "" {
					cookies = append(cookies, c)
				}
			}
			continue
		}
		headers = append(headers, Param{Name: name, Value: h.Value})
	}
	b := make([]byte, 0, httpEventSize(in))
	b = append(b, `{"version":"2.0","type":"REQUEST","routeArn":`...)
	b = appendString(b, in.RouteARN)
	b = append(b, `,"identitySource":`...)
	b = appendStrings(b, in.IdentitySource)
	b = append(b, `,"routeKey":`...)
	b = appendString(b, in.RouteKey)
	b = append(b, `,"rawPath":`...)
	b = appendString(b, in.RawPath)
	b = append(b, `,"rawQueryString":`...)
	b = appendString(b, in.RawQuery)
	if len(cookies) > 0 {
		b = append(b, `,"cookies":`...)
		b = appendStrings(b, cookies)
	}
	b = append(b, `,"headers":`...)
	b = appendJoinedMap(b, cleanNames(headers))
	if len(in.Query) > 0 {
		b = append(b, `,"queryStringParameters":`...)
		b = appendJoinedMap(b, cleanNames(slices.Clone(in.Query)))
	}
	b = append(b, `,"requestContext":{"accountId":`...)
	b = appendString(b, in.AccountID)
	b = append(b, `,"apiId":`...)
	b = appendString(b, in.APIID)
	b = append(b, `,"domainName":`...)
	b = appendString(b, in.DomainName)
	b = append(b, `,"domainPrefix":`...)
	b = appendString(b, in.DomainPrefix)
	b = append(b, `,"http":{"method":`...)
	b = appendString(b, in.HTTPMethod)
	b = append(b, `,"path":`...)
	b = appendString(b, in.Path)
	b = append(b, `,"protocol":`...)
	b = appendString(b, in.Protocol)
	b = append(b, `,"sourceIp":`...)
	b = appendString(b, in.SourceIP)
	b = append(b, `,"userAgent":`...)
	b = appendString(b, in.UserAgent)
	b = append(b, `},"requestId":`...)
	b = appendString(b, in.RequestID)
	b = append(b, `,"routeKey":`...)
	b = appendString(b, in.RouteKey)
	b = append(b, `,"stage":`...)
	b = appendString(b, in.Stage)
	b = append(b, `,"time":`...)
	b = appendString(b, in.Time)
	b = append(b, `,"timeEpoch":`...)
	b = strconv.AppendInt(b, in.TimeEpoch, 10)
	b = append(b, '}')
	if len(in.PathParameters) > 0 {
		b = append(b, `,"pathParameters":`...)
		b = appendSingleMap(b, cleanNames(slices.Clone(in.PathParameters)))
	}
	if len(in.StageVariables) > 0 {
		b = append(b, `,"stageVariables":`...)
		b = appendSingleMap(b, cleanNames(slices.Clone(in.StageVariables)))
	}
	return append(b, '}')
}

// HTTPEventV1 builds the payload 1.0 event of an HTTP API Lambda
// authorizer, in the shape of aws-lambda-go's
// events.APIGatewayV2CustomAuthorizerV1Request: the REST REQUEST event
// with "version":"1.0", and the identity values joined with commas in both
// identitySource and authorizationToken, as AWS's example shows. HTTP APIs
// send no multi-value maps; repeated headers and query parameters are
// joined with commas as in payload 2.0. Empty maps are written as {}.
func HTTPEventV1(in *HTTPInput) []byte {
	headers := make([]Param, len(in.Headers))
	for i, h := range in.Headers {
		headers[i] = Param(h)
	}
	identity := strings.Join(in.IdentitySource, ",")
	b := make([]byte, 0, httpEventSize(in))
	b = append(b, `{"version":"1.0","type":"REQUEST","methodArn":`...)
	b = appendString(b, in.RouteARN)
	b = append(b, `,"identitySource":`...)
	b = appendString(b, identity)
	b = append(b, `,"authorizationToken":`...)
	b = appendString(b, identity)
	b = append(b, `,"resource":`...)
	b = appendString(b, in.Resource)
	b = append(b, `,"path":`...)
	b = appendString(b, in.Path)
	b = append(b, `,"httpMethod":`...)
	b = appendString(b, in.HTTPMethod)
	b = append(b, `,"headers":`...)
	b = appendJoinedMap(b, cleanNames(headers))
	b = append(b, `,"queryStringParameters":`...)
	b = appendJoinedMap(b, cleanNames(slices.Clone(in.Query)))
	return appendV1Tail(b, in.PathParameters, in.StageVariables, v1Context{
		path: in.Path, accountID: in.AccountID, resourceID: in.ResourceID, stage: in.Stage, requestID: in.RequestID,
		sourceIP: in.SourceIP, userAgent: in.UserAgent, resource: in.Resource,
		httpMethod: in.HTTPMethod, apiID: in.APIID,
	})
}

// httpEventSize guesses an HTTP API event's length so that building it
// usually takes one allocation.
func httpEventSize(in *HTTPInput) int {
	n := 656 + 2*len(in.RouteARN) + 2*len(in.RouteKey) + len(in.Resource) + len(in.RawPath) + len(in.RawQuery) +
		2*len(in.Path) + len(in.AccountID) + len(in.APIID) + len(in.Stage) + len(in.RequestID) +
		len(in.SourceIP) + len(in.UserAgent) + len(in.DomainName) + len(in.DomainPrefix) + len(in.Time)
	for _, s := range in.IdentitySource {
		n += 2*len(s) + 4
	}
	for _, h := range in.Headers {
		n += len(h.Name) + len(h.Value) + 6
	}
	for _, p := range in.Query {
		n += len(p.Name) + len(p.Value) + 6
	}
	for _, p := range in.PathParameters {
		n += len(p.Name) + len(p.Value) + 6
	}
	for _, p := range in.StageVariables {
		n += len(p.Name) + len(p.Value) + 6
	}
	return n
}

// appendStrings writes a JSON array of strings; nil is written as [].
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendJoinedMap writes a string map in which the values of a repeated
// name are joined with commas, in request order. ps is sorted in place.
func appendJoinedMap(b []byte, ps []Param) []byte {
	sortParams(ps)
	return appendRuns(b, ps, func(b []byte, run []Param) []byte {
		if len(run) == 1 {
			return appendString(b, run[0].Value)
		}
		vals := make([]string, len(run))
		for k, p := range run {
			vals[k] = p.Value
		}
		return appendString(b, strings.Join(vals, ","))
	})
}
