package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// Gateway response types authgate gives, as API Gateway names them
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
const (
	ResponseUnauthorized                 = "UNAUTHORIZED"
	ResponseAccessDenied                 = "ACCESS_DENIED"
	ResponseAuthorizerFailure            = "AUTHORIZER_FAILURE"
	ResponseAuthorizerConfigurationError = "AUTHORIZER_CONFIGURATION_ERROR"
	ResponseMissingAuthenticationToken   = "MISSING_AUTHENTICATION_TOKEN"
	ResponseBadRequestParameters         = "BAD_REQUEST_PARAMETERS"
	ResponseDefault4XX                   = "DEFAULT_4XX"
	ResponseDefault5XX                   = "DEFAULT_5XX"
)

// ResponseTypes lists the gateway response types "gatewayResponses" may
// customise: the ones authgate can give, and the two fallbacks.
var ResponseTypes = []string{
	ResponseAccessDenied, ResponseAuthorizerConfigurationError, ResponseAuthorizerFailure,
	ResponseBadRequestParameters, ResponseDefault4XX, ResponseDefault5XX,
	ResponseMissingAuthenticationToken, ResponseUnauthorized,
}

// otherResponseTypes are API Gateway's response types that authgate never
// gives; naming one is refused with a precise message rather than as a typo.
var otherResponseTypes = []string{
	"API_CONFIGURATION_ERROR", "BAD_REQUEST_BODY", "EXPIRED_TOKEN", "INTEGRATION_FAILURE",
	"INTEGRATION_TIMEOUT", "INVALID_API_KEY", "INVALID_SIGNATURE", "QUOTA_EXCEEDED",
	"REQUEST_TOO_LARGE", "RESOURCE_NOT_FOUND", "THROTTLED", "UNSUPPORTED_MEDIA_TYPE", "WAF_FILTERED",
}

// GatewayResponse is one customised gateway response, after the OpenAPI
// extension x-amazon-apigateway-gateway-responses.gatewayResponse.
type GatewayResponse struct {
	Type       string
	StatusCode int                // 0 keeps the status of the answer being customised
	Headers    []ResponseHeader   // sorted by lower-case name
	Templates  []ResponseTemplate // in document order; empty keeps the built-in body
}

// ResponseHeader is one gatewayresponse.header.NAME parameter. Name is
// lower case.
type ResponseHeader struct {
	Name  string
	Value Variable
}

// ResponseTemplate is one responseTemplates entry: the body for one media type.
type ResponseTemplate struct {
	ContentType string
	Body        Template
}

// Template is a gateway response body template, split into literal text and
// the variables substituted into it. API Gateway renders these templates
// without VTL: only plain variable substitution.
type Template struct {
	Parts []TemplatePart
}

// TemplatePart is literal text (Var.Kind == VarNone) or one variable.
// InString says whether the variable sits inside a JSON string literal of
// the template, which decides how its value is escaped.
type TemplatePart struct {
	Literal  string
	Var      Variable
	InString bool
}

// VarKind says what a Variable stands for.
type VarKind uint8

// VarKind values.
const (
	VarNone               VarKind = iota
	VarStatic                     // Name is the value itself (a literal or a stage variable)
	VarRequestID                  // $context.requestId
	VarErrorMessage               // $context.error.message
	VarErrorMessageString         // $context.error.messageString: the message as a JSON string, or null
	VarResponseType               // $context.error.responseType
	VarAuthorizer                 // $context.authorizer.Name; Name "principalId" is the principal
	VarHTTPMethod                 // $context.httpMethod
	VarPath                       // $context.path
	VarResourcePath               // $context.resourcePath
	VarSourceIP                   // $context.identity.sourceIp
	VarUserAgent                  // $context.identity.userAgent
	VarHeader                     // method.request.header.Name (header values only); Name is lower case
	VarQuery                      // method.request.querystring.Name (header values only)
	VarPathParam                  // method.request.path.Name (header values only)
)

// Variable is one substitution.
type Variable struct {
	Kind VarKind
	Name string
}

// TemplateContextVariables are the $context variables a gateway response
// may use besides authorizer.KEY.
var TemplateContextVariables = []string{
	"accountId", "apiId", "error.message", "error.messageString", "error.responseType",
	"httpMethod", "identity.sourceIp", "identity.userAgent", "path", "requestId",
	"resourcePath", "stage",
}

// consts gives the static $context values a Plan knows before any request.
type consts struct {
	stageVars               []StageVariable
	accountID, apiID, stage string
}

func parseGatewayResponses(top obj, stageVars []StageVariable) (map[string]*GatewayResponse, error) {
	v, ok := top.fields["gatewayResponses"]
	if !ok {
		return nil, nil
	}
	o, err := object(v, "gatewayResponses", nil)
	if err != nil {
		return nil, err
	}
	c := consts{stageVars: stageVars}
	c.accountID, _ = top.str("accountId", false, "")
	c.apiID, _ = top.str("restApiId", false, "")
	c.stage, _ = top.str("stage", false, "")
	out := make(map[string]*GatewayResponse, len(o.fields))
	v.ForEach(func(k, val gjson.Result) bool {
		t := k.String()
		path := join("gatewayResponses", t)
		switch {
		case contains(otherResponseTypes, t):
			err = fmt.Errorf("%s: authgate never gives a %s response", path, t)
		case !contains(ResponseTypes, t):
			err = fmt.Errorf("%s: unknown response type (one of %s)", path, strings.Join(ResponseTypes, ", "))
		default:
			var g *GatewayResponse
			if g, err = parseGatewayResponse(t, val, path, &c); err == nil {
				out[t] = g
			}
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func parseGatewayResponse(t string, v gjson.Result, path string, c *consts) (*GatewayResponse, error) {
	o, err := object(v, path, []string{"statusCode", "responseParameters", "responseTemplates"})
	if err != nil {
		return nil, err
	}
	g := &GatewayResponse{Type: t}
	if sv, ok := o.fields["statusCode"]; ok {
		// A string, as in API Gateway's API, or a number, as AWS's own
		// OpenAPI example writes it; both mean the same code.
		s := sv.Raw
		if sv.Type == gjson.String {
			s = sv.Str
		} else if sv.Type != gjson.Number {
			s = ""
		}
		n, err := strconv.Atoi(s)
		// Never 1xx or 2xx: the gateway's answer must not look like success.
		// 3xx stays possible for a redirect to a sign-in page.
		if err != nil || len(s) != 3 || n < 300 || n > 599 {
			return nil, fmt.Errorf("%s.statusCode: must be a status code \"300\" to \"599\" (a string or a number), got %s", path, got(sv))
		}
		g.StatusCode = n
	}
	if pv, ok := o.fields["responseParameters"]; ok {
		if g.Headers, err = parseResponseParameters(pv, path+".responseParameters", c); err != nil {
			return nil, err
		}
	}
	if tv, ok := o.fields["responseTemplates"]; ok {
		if g.Templates, err = parseResponseTemplates(tv, path+".responseTemplates", c); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// HeaderParamPrefix starts every responseParameters key.
const HeaderParamPrefix = "gatewayresponse.header."

// reservedResponseHeaders may not be set by a gateway response: the gateway
// writes them itself (content-type follows the template's media type) or
// they belong to the connection, not the response.
var reservedResponseHeaders = []string{
	"connection", "content-length", "content-type", "keep-alive", "proxy-connection",
	"te", "trailer", "transfer-encoding", "upgrade", "x-amzn-errortype",
}

func parseResponseParameters(v gjson.Result, path string, c *consts) ([]ResponseHeader, error) {
	if _, err := object(v, path, nil); err != nil {
		return nil, err
	}
	var out []ResponseHeader
	var err error
	v.ForEach(func(k, val gjson.Result) bool {
		key := k.String()
		p := join(path, key)
		name, ok := strings.CutPrefix(key, HeaderParamPrefix)
		lower := strings.ToLower(name)
		switch {
		case !ok || !isHeaderName(name):
			err = fmt.Errorf("%s: must be %sNAME with NAME a header name", p, HeaderParamPrefix)
		case contains(reservedResponseHeaders, lower):
			err = fmt.Errorf("%s: the gateway sets %s itself", p, name)
		case slices.ContainsFunc(out, func(h ResponseHeader) bool { return h.Name == lower }):
			err = fmt.Errorf("%s: header %s is set twice", p, name)
		case val.Type != gjson.String:
			err = fmt.Errorf("%s: must be a string, got %s", p, got(val))
		case len(val.Str) > MaxStringBytes:
			err = checkLen(val, p, MaxStringBytes)
		default:
			var vr Variable
			if vr, err = parseParamValue(val.String(), p, c); err == nil {
				out = append(out, ResponseHeader{Name: lower, Value: vr})
			}
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b ResponseHeader) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// parseParamValue reads a response parameter's value: a 'quoted literal',
// method.request.{header,querystring,path}.NAME, stageVariables.NAME or
// context.NAME, as API Gateway's parameter mapping writes them.
func parseParamValue(s, path string, c *consts) (Variable, error) {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		lit := s[1 : len(s)-1]
		if !validHeaderValue(lit) {
			return Variable{}, fmt.Errorf("%s: %q is not a valid header value", path, lit)
		}
		return Variable{Kind: VarStatic, Name: lit}, nil
	}
	for _, m := range []struct {
		prefix string
		kind   VarKind
	}{
		{"method.request.header.", VarHeader},
		{"method.request.querystring.", VarQuery},
		{"method.request.path.", VarPathParam},
	} {
		if n, ok := strings.CutPrefix(s, m.prefix); ok {
			if n == "" || hasControlOrSpace(n) || m.kind == VarHeader && !isHeaderName(n) {
				return Variable{}, fmt.Errorf("%s: %q does not end in a parameter name", path, s)
			}
			if m.kind == VarHeader {
				n = strings.ToLower(n)
			}
			return Variable{Kind: m.kind, Name: n}, nil
		}
	}
	if n, ok := strings.CutPrefix(s, "stageVariables."); ok {
		v, err := c.stageVariable(n, s)
		if err != nil {
			return v, fmt.Errorf("%s: %w", path, err)
		}
		if !validHeaderValue(v.Name) {
			return v, fmt.Errorf("%s: stage variable %s is not a valid header value", path, n)
		}
		return v, nil
	}
	if n, ok := strings.CutPrefix(s, "context."); ok {
		v, err := c.contextVariable(n, s)
		if err != nil {
			return v, fmt.Errorf("%s: %w", path, err)
		}
		return v, nil
	}
	return Variable{}, fmt.Errorf("%s: %q must be a 'quoted literal', method.request.header.NAME, method.request.querystring.NAME, method.request.path.NAME, stageVariables.NAME or context.NAME", path, s)
}

func (c *consts) stageVariable(name, written string) (Variable, error) {
	for _, sv := range c.stageVars {
		if sv.Name == name {
			return Variable{Kind: VarStatic, Name: sv.Value}, nil
		}
	}
	return Variable{}, fmt.Errorf("%s names a stage variable that stageVariables does not define", quoteVar(written))
}

// contextVariable resolves a $context name (without the "context." part).
func (c *consts) contextVariable(name, written string) (Variable, error) {
	if key, ok := strings.CutPrefix(name, "authorizer."); ok && key != "" {
		return Variable{Kind: VarAuthorizer, Name: key}, nil
	}
	switch name {
	case "accountId":
		return Variable{Kind: VarStatic, Name: c.accountID}, nil
	case "apiId":
		return Variable{Kind: VarStatic, Name: c.apiID}, nil
	case "stage":
		return Variable{Kind: VarStatic, Name: c.stage}, nil
	case "requestId":
		return Variable{Kind: VarRequestID}, nil
	case "error.message":
		return Variable{Kind: VarErrorMessage}, nil
	case "error.messageString":
		return Variable{Kind: VarErrorMessageString}, nil
	case "error.responseType":
		return Variable{Kind: VarResponseType}, nil
	case "httpMethod":
		return Variable{Kind: VarHTTPMethod}, nil
	case "path":
		return Variable{Kind: VarPath}, nil
	case "resourcePath":
		return Variable{Kind: VarResourcePath}, nil
	case "identity.sourceIp":
		return Variable{Kind: VarSourceIP}, nil
	case "identity.userAgent":
		return Variable{Kind: VarUserAgent}, nil
	}
	return Variable{}, fmt.Errorf("%s is not a supported context variable (authorizer.KEY or one of %s)",
		quoteVar(written), strings.Join(TemplateContextVariables, ", "))
}

// quoteVar renders a variable name from a template for an error message.
func quoteVar(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}

func parseResponseTemplates(v gjson.Result, path string, c *consts) ([]ResponseTemplate, error) {
	if _, err := object(v, path, nil); err != nil {
		return nil, err
	}
	var out []ResponseTemplate
	var err error
	v.ForEach(func(k, val gjson.Result) bool {
		ct := k.String()
		p := join(path, ct)
		if !isMediaType(ct) {
			err = fmt.Errorf("%s: %q is not a media type (type/subtype)", p, ct)
			return false
		}
		if val.Type != gjson.String {
			err = fmt.Errorf("%s: must be a string, got %s", p, got(val))
			return false
		}
		if err = checkLen(val, p, MaxTemplateBytes); err != nil {
			return false
		}
		var t Template
		if t, err = CompileTemplate(val.String(), c.stageVars, c.accountID, c.apiID, c.stage); err != nil {
			err = fmt.Errorf("%s: %w", p, err)
			return false
		}
		out = append(out, ResponseTemplate{ContentType: strings.ToLower(ct), Body: t})
		return true
	})
	return out, err
}

// isMediaType accepts type/subtype made of header-name characters, without
// parameters.
func isMediaType(s string) bool {
	t, sub, ok := strings.Cut(s, "/")
	return ok && isHeaderName(t) && isHeaderName(sub)
}

// CompileTemplate splits a gateway response template into literal text and
// variables: $context.NAME (see TemplateContextVariables),
// $context.authorizer.KEY and $stageVariables.NAME. A name is dot-separated
// words of letters, digits and '_', so "$context.requestId." ends before the
// final dot. Any other '$' is literal text. An unknown $context or
// $stageVariables name is an error, so a typo fails at start-up rather than
// showing in every answer. Stage variables and the static context values
// (accountId, apiId, stage) are resolved here.
func CompileTemplate(src string, stageVars []StageVariable, accountID, apiID, stage string) (Template, error) {
	c := consts{stageVars: stageVars, accountID: accountID, apiID: apiID, stage: stage}
	var t Template
	var lit strings.Builder
	inString, escaped := false, false
	for i := 0; i < len(src); {
		ch := src[i]
		if ch == '$' {
			if kind, name, n := scanVariable(src[i:]); n > 0 {
				var v Variable
				var err error
				if kind == "stageVariables" {
					v, err = c.stageVariable(name, "$stageVariables."+name)
				} else {
					v, err = c.contextVariable(name, "$context."+name)
				}
				if err != nil {
					return Template{}, err
				}
				if lit.Len() > 0 {
					t.Parts = append(t.Parts, TemplatePart{Literal: lit.String()})
					lit.Reset()
				}
				t.Parts = append(t.Parts, TemplatePart{Var: v, InString: inString})
				i += n
				escaped = false
				continue
			}
		}
		// Track JSON string literals so a variable knows whether it is
		// substituted inside quotes.
		switch {
		case escaped:
			escaped = false
		case inString && ch == '\\':
			escaped = true
		case ch == '"':
			inString = !inString
		}
		lit.WriteByte(ch)
		i++
	}
	if lit.Len() > 0 {
		t.Parts = append(t.Parts, TemplatePart{Literal: lit.String()})
	}
	return t, nil
}

// scanVariable reads "$context.NAME" or "$stageVariables.NAME" at the start
// of s and returns which, the NAME and the length consumed; n is 0 when s
// does not start with either.
func scanVariable(s string) (kind, name string, n int) {
	for _, k := range []string{"context", "stageVariables"} {
		rest, ok := strings.CutPrefix(s, "$"+k+".")
		if !ok {
			continue
		}
		end := 0
		for end < len(rest) {
			w := end
			for w < len(rest) && isWordChar(rest[w]) {
				w++
			}
			if w == end {
				break
			}
			end = w
			if end+1 < len(rest) && rest[end] == '.' && isWordChar(rest[end+1]) {
				end++
				continue
			}
			break
		}
		if end == 0 {
			return "", "", 0
		}
		return k, rest[:end], len(k) + 2 + end
	}
	return "", "", 0
}

func isWordChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

// validHeaderValue accepts visible ASCII, space, tab and bytes >= 0x80,
// without leading or trailing white space.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return len(s) == 0 || (s[0] != ' ' && s[0] != '\t' && s[len(s)-1] != ' ' && s[len(s)-1] != '\t')
}
