package pipeline

import (
	"strings"

	"github.com/authgate/authgate/core/authorizer"
	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/route"
)

// gatewayResponse is one of the gateway's own answers.
type gatewayResponse struct {
	status    int
	errorType string // x-amzn-ErrorType; empty for HTTP APIs, which send none
	body      string
	decision  string
	// respType is API Gateway's gateway response type, which
	// gatewayResponses customises; empty when only DEFAULT_4XX/5XX apply.
	respType string
	// message is $context.error.message; nullMessage makes it null.
	message     string
	nullMessage bool
}

// Implicit deny wordings. API Gateway's newer wording names the policy
// kind; both keep the capital-M "Message" member of API Gateway's body.
const (
	implicitDenyLegacyText   = "User is not authorized to access this resource"
	implicitDenyIdentityText = "User is not authorized to access this resource because no identity-based policy allows the execute-api:Invoke action"
	explicitDenyText         = "User is not authorized to access this resource with an explicit deny"
)

// The gateway's answers, byte for byte as API Gateway gives them for REST
// APIs with Lambda authorizers. Bad request and URI too long are authgate's
// own (API Gateway's edge answers those before the API is reached).
var (
	missingToken = gatewayResponse{status: 403, errorType: "MissingAuthenticationTokenException", body: `{"message":"Missing Authentication Token"}`,
		decision: DecisionNoRoute, respType: config.ResponseMissingAuthenticationToken, message: "Missing Authentication Token"}
	unauthorized = gatewayResponse{status: 401, errorType: "UnauthorizedException", body: `{"message":"Unauthorized"}`,
		decision: DecisionUnauthorized, respType: config.ResponseUnauthorized, message: "Unauthorized"}
	explicitDeny = gatewayResponse{status: 403, errorType: "AccessDeniedException", body: `{"Message":"` + explicitDenyText + `"}`,
		decision: DecisionDeny, respType: config.ResponseAccessDenied, message: explicitDenyText}
	implicitDeny = gatewayResponse{status: 403, errorType: "AccessDeniedException", body: `{"Message":"` + implicitDenyLegacyText + `"}`,
		decision: DecisionImplicitDeny, respType: config.ResponseAccessDenied, message: implicitDenyLegacyText}
	implicitDenyIdentity = gatewayResponse{status: 403, errorType: "AccessDeniedException", body: `{"Message":"` + implicitDenyIdentityText + `"}`,
		decision: DecisionImplicitDeny, respType: config.ResponseAccessDenied, message: implicitDenyIdentityText}
	authorizerFailure = gatewayResponse{status: 500, errorType: "AuthorizerConfigurationException", body: `{"message":null}`,
		decision: DecisionError, respType: config.ResponseAuthorizerConfigurationError, nullMessage: true}
	// gatewayFault is the answer when the gateway itself fails to
	// authenticate the caller (Pipeline.Failure): the same bytes as an
	// authorizer failure, customised as AUTHORIZER_FAILURE.
	gatewayFault = gatewayResponse{status: 500, errorType: "AuthorizerConfigurationException", body: `{"message":null}`,
		decision: DecisionError, respType: config.ResponseAuthorizerFailure, nullMessage: true}
	badRequest = gatewayResponse{status: 400, errorType: "BadRequestException", body: `{"message":"Bad Request"}`,
		decision: DecisionBadRequest, respType: config.ResponseBadRequestParameters, message: "Bad Request"}
	uriTooLong = gatewayResponse{status: 414, errorType: "RequestURITooLongException", body: `{"message":"Request-URI Too Long"}`,
		decision: DecisionBadRequest, message: "Request-URI Too Long"}
)

// The gateway's answers for HTTP APIs. HTTP APIs send no x-amzn-ErrorType
// and answer every deny with Forbidden and every authorizer failure with
// Internal Server Error.
var (
	httpNotFound     = gatewayResponse{status: 404, body: `{"message":"Not Found"}`, decision: DecisionNoRoute, message: "Not Found"}
	httpUnauthorized = gatewayResponse{status: 401, body: `{"message":"Unauthorized"}`, decision: DecisionUnauthorized, message: "Unauthorized"}
	httpDeny         = gatewayResponse{status: 403, body: `{"message":"Forbidden"}`, decision: DecisionDeny, message: "Forbidden"}
	httpImplicitDeny = gatewayResponse{status: 403, body: `{"message":"Forbidden"}`, decision: DecisionImplicitDeny, message: "Forbidden"}
	httpError        = gatewayResponse{status: 500, body: `{"message":"Internal Server Error"}`, decision: DecisionError, message: "Internal Server Error"}
	httpBadRequest   = gatewayResponse{status: 400, body: `{"message":"Bad Request"}`, decision: DecisionBadRequest, message: "Bad Request"}
	httpURITooLong   = gatewayResponse{status: 414, body: `{"message":"Request-URI Too Long"}`, decision: DecisionBadRequest, message: "Request-URI Too Long"}
)

// answers is the set of gateway answers one pipeline gives.
type answers struct {
	missing, unauthorized, explicitDeny, implicitDeny *gatewayResponse
	failure, fault, badRequest, uriTooLong            *gatewayResponse
}

func answersFor(plan *config.Plan) answers {
	if plan.IsHTTP() {
		return answers{&httpNotFound, &httpUnauthorized, &httpDeny, &httpImplicitDeny,
			&httpError, &httpError, &httpBadRequest, &httpURITooLong}
	}
	a := answers{&missingToken, &unauthorized, &explicitDeny, &implicitDeny,
		&authorizerFailure, &gatewayFault, &badRequest, &uriTooLong}
	if plan.ImplicitDenyMessage == config.ImplicitDenyIdentityBased {
		a.implicitDeny = &implicitDenyIdentity
	}
	return a
}

// ErrorTypeHeader names the kind of gateway error, as API Gateway does.
const ErrorTypeHeader = "x-amzn-ErrorType"

func reject(g gatewayResponse, route, auth, reason string) Result {
	hs := []Header{{Name: "content-type", Value: "application/json"}}
	if g.errorType != "" {
		hs = append(hs, Header{Name: ErrorTypeHeader, Value: g.errorType})
	}
	return Result{
		Kind:       KindReject,
		Status:     g.status,
		Headers:    hs,
		Body:       []byte(g.body),
		Route:      route,
		Authorizer: auth,
		Decision:   g.decision,
		Statement:  -1,
		Reason:     reason,
	}
}

// Failure is the answer an embedding gives when it cannot run the pipeline at
// all (a recovered panic, a broken VM): the authorizer failure response, so a
// fault is never an allow. Pipeline.Failure gives the same answer in the
// pipeline's API type and with its gateway responses applied.
func Failure(reason string) Result {
	return reject(authorizerFailure, "", "", reason)
}

// Failure is the answer an embedding gives when it cannot finish a request
// (a recovered panic, a broken VM, a failed header edit): a REST API's
// authorizer failure response customised as AUTHORIZER_FAILURE, or an HTTP
// API's 500 Internal Server Error. A fault is never an allow.
func (p *Pipeline) Failure(reason string) Result {
	return p.reject(p.ans.fault, nil, "", "", reason)
}

// vars is what a customised gateway response may substitute: the request
// and, once known, the authorizer's result.
type vars struct {
	requestID, method, path, resource, sourceIP, userAgent string
	headers                                                []Header
	query                                                  []authorizer.Param
	params                                                 []route.Param
	result                                                 *authorizer.Result
}

// reject builds the answer g, customised by the plan's gateway responses.
// v may be nil when nothing about the request is known.
func (p *Pipeline) reject(g *gatewayResponse, v *vars, route, auth, reason string) Result {
	r := reject(*g, route, auth, reason)
	gr := p.customisation(g)
	if gr == nil {
		return r
	}
	if v == nil {
		v = &vars{}
	}
	if gr.StatusCode != 0 {
		r.Status = gr.StatusCode
	}
	contentType := "application/json"
	if t := pickTemplate(gr.Templates, v.headers); t != nil {
		contentType = t.ContentType
		r.Body = renderTemplate(nil, &t.Body, g, v)
	}
	hs := make([]Header, 0, 2+len(gr.Headers))
	hs = append(hs, Header{Name: "content-type", Value: contentType})
	if g.errorType != "" {
		hs = append(hs, Header{Name: ErrorTypeHeader, Value: g.errorType})
	}
	for _, h := range gr.Headers {
		val := headerValue(h.Value, g, v)
		switch {
		case val == "":
			// Nothing to say: API Gateway sends no header for an empty mapping.
		case !validHeaderValue(val):
			// The answer stays a rejection; only this header is dropped.
			r.Reason += "; gateway response header " + h.Name + " omitted: not a valid header value"
		default:
			hs = append(hs, Header{Name: h.Name, Value: val})
		}
	}
	r.Headers = hs
	return r
}

// customisation finds the gateway response that applies to g: its own
// type's, else DEFAULT_4XX or DEFAULT_5XX by g's status; nil for none.
func (p *Pipeline) customisation(g *gatewayResponse) *config.GatewayResponse {
	grs := p.plan.GatewayResponses
	if grs == nil {
		return nil
	}
	if gr := grs[g.respType]; gr != nil && g.respType != "" {
		return gr
	}
	if g.status >= 500 {
		return grs[config.ResponseDefault5XX]
	}
	return grs[config.ResponseDefault4XX]
}

// responseType is $context.error.responseType for g.
func responseType(g *gatewayResponse) string {
	switch {
	case g.respType != "":
		return g.respType
	case g.status >= 500:
		return config.ResponseDefault5XX
	}
	return config.ResponseDefault4XX
}

// pickTemplate chooses the body template: the first media type of the
// request's Accept header that has a template, else application/json, else
// the first template configured. nil when there are none.
func pickTemplate(ts []config.ResponseTemplate, headers []Header) *config.ResponseTemplate {
	if len(ts) == 0 {
		return nil
	}
	for _, h := range headers {
		if !strings.EqualFold(h.Name, "accept") {
			continue
		}
		for part := range strings.SplitSeq(h.Value, ",") {
			mt, _, _ := strings.Cut(part, ";")
			mt = strings.ToLower(strings.Trim(mt, " \t"))
			for i := range ts {
				if ts[i].ContentType == mt {
					return &ts[i]
				}
			}
		}
	}
	for i := range ts {
		if ts[i].ContentType == "application/json" {
			return &ts[i]
		}
	}
	return &ts[0]
}

// renderTemplate substitutes t's variables and appends the result to b.
// Every value is JSON-escaped, so a value can never end a JSON string or
// add members: inside a string of the template the escaped text is
// inserted as is, and $context.error.messageString, which is a JSON
// string (or null) itself, is inserted quoted outside a string and
// escaped once more inside one. A template that is valid JSON therefore
// renders to valid JSON whatever the values.
func renderTemplate(b []byte, t *config.Template, g *gatewayResponse, v *vars) []byte {
	for _, part := range t.Parts {
		if part.Var.Kind == config.VarNone {
			b = append(b, part.Literal...)
			continue
		}
		if part.Var.Kind == config.VarErrorMessageString {
			s := messageString(g)
			if part.InString {
				b = appendEscaped(b, s)
			} else {
				b = append(b, s...)
			}
			continue
		}
		b = appendEscaped(b, value(part.Var, g, v))
	}
	return b
}

// messageString is $context.error.messageString: the message as a JSON
// string, or null.
func messageString(g *gatewayResponse) string {
	if g.nullMessage {
		return "null"
	}
	return string(authorizer.AppendString(nil, g.message))
}

// appendEscaped appends s JSON-escaped, without the surrounding quotes.
func appendEscaped(b []byte, s string) []byte {
	n := len(b)
	b = authorizer.AppendString(b, s)
	// Drop the quotes AppendString wrote around the escaped text.
	copy(b[n:], b[n+1:len(b)-1])
	return b[:len(b)-2]
}

// headerValue resolves a responseParameters value.
func headerValue(vr config.Variable, g *gatewayResponse, v *vars) string {
	if vr.Kind == config.VarErrorMessageString {
		return messageString(g)
	}
	return value(vr, g, v)
}

// value resolves one variable as plain text. Missing values are empty.
func value(vr config.Variable, g *gatewayResponse, v *vars) string {
	switch vr.Kind {
	case config.VarStatic:
		return vr.Name
	case config.VarRequestID:
		return v.requestID
	case config.VarErrorMessage:
		return g.message
	case config.VarResponseType:
		return responseType(g)
	case config.VarHTTPMethod:
		return v.method
	case config.VarPath:
		return v.path
	case config.VarResourcePath:
		return v.resource
	case config.VarSourceIP:
		return v.sourceIP
	case config.VarUserAgent:
		return v.userAgent
	case config.VarAuthorizer:
		if v.result == nil {
			return ""
		}
		if vr.Name == "principalId" {
			return v.result.PrincipalID
		}
		for _, cv := range v.result.Context {
			if cv.Key == vr.Name {
				return cv.Value
			}
		}
	case config.VarHeader:
		var vals []string
		for _, h := range v.headers {
			if strings.EqualFold(h.Name, vr.Name) {
				vals = append(vals, h.Value)
			}
		}
		return strings.Join(vals, ",")
	case config.VarQuery:
		var vals []string
		for _, q := range v.query {
			if q.Name == vr.Name {
				vals = append(vals, q.Value)
			}
		}
		return strings.Join(vals, ",")
	case config.VarPathParam:
		for _, p := range v.params {
			if p.Name == vr.Name {
				return p.Value
			}
		}
	}
	return ""
}
