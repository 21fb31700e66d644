package pipeline

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/authgate/authgate/core/authorizer"
	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/route"
)

// requestView is a request after routing, with what the identity sources and
// the REQUEST event read from it.
type requestView struct {
	r         *Request
	plan      *config.Plan
	path      string
	rawQuery  string
	match     route.Match
	methodARN string
	route     *config.Route
	query     []authorizer.Param
	queryErr  error
	parsed    bool
}

// identity reads every identity source of auth. All are required: the
// second result says which one is missing, in words that never repeat the
// identity. identityValidationExpression is checked by the caller, after
// the cache: only identities that passed it are ever cached.
func (v *requestView) identity(auth *config.Authorizer) ([]string, string) {
	out := make([]string, 0, len(auth.IdentitySources))
	for _, src := range auth.IdentitySources {
		val, n := v.source(src)
		if n > 1 && src.Kind == config.SourceHeader && auth.Type == config.TypeToken {
			// Two tokens are ambiguous: the authorizer would judge one and
			// the upstream might read the other.
			return nil, "identity header " + src.Name + " sent more than once"
		}
		if val == "" {
			return nil, "identity source " + sourceName(src, v.plan.IsHTTP()) + " missing or empty"
		}
		out = append(out, val)
	}
	return out, ""
}

// source returns the value of one identity source and how many values the
// request carries for it. Repeated headers and query parameters are joined
// with commas for REQUEST authorizers, as API Gateway does.
func (v *requestView) source(src config.IdentitySource) (string, int) {
	switch src.Kind {
	case config.SourceHeader:
		var vals []string
		for _, h := range v.r.Headers {
			if strings.EqualFold(h.Name, src.Name) {
				vals = append(vals, h.Value)
			}
		}
		return strings.Join(vals, ","), len(vals)
	case config.SourceQuery:
		q, err := v.queryParams()
		if err != nil {
			return "", 0
		}
		var vals []string
		for _, p := range q {
			if p.Name == src.Name {
				vals = append(vals, p.Value)
			}
		}
		return strings.Join(vals, ","), len(vals)
	case config.SourceStage:
		for _, sv := range v.plan.StageVariables {
			if sv.Name == src.Name {
				return sv.Value, 1
			}
		}
	case config.SourceContext:
		val := v.contextVariable(src.Name)
		if val != "" {
			return val, 1
		}
	}
	return "", 0
}

// contextVariable resolves the $context variables an identity source may name.
func (v *requestView) contextVariable(name string) string {
	switch name {
	case "requestId":
		return v.r.RequestID
	case "sourceIp", "identity.sourceIp":
		return v.r.sourceIP()
	case "stage":
		return v.plan.Stage
	case "apiId":
		return v.plan.RestAPIID
	case "accountId":
		return v.plan.AccountID
	case "httpMethod":
		return v.r.Method
	case "path":
		return v.path
	case "resourcePath":
		return v.match.Template
	case "routeKey":
		return v.route.RouteKey()
	case "domainName":
		return v.domainName()
	case "domainPrefix":
		return domainPrefix(v.domainName())
	case "protocol":
		return v.r.protocol()
	}
	return ""
}

// domainName is the host the client addressed, without a port.
func (v *requestView) domainName() string {
	host := v.r.Authority
	if host == "" {
		host = lookup(v.r.Headers, "host")
	}
	if strings.HasPrefix(host, "[") {
		if end := strings.IndexByte(host, ']'); end > 0 {
			return host[:end+1]
		}
		return host
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.IndexByte(host[:i], ':') < 0 {
		return host[:i]
	}
	return host
}

// domainPrefix is the first label of a domain name, as API Gateway's
// $context.domainPrefix.
func domainPrefix(domain string) string {
	if i := strings.IndexByte(domain, '.'); i >= 0 {
		return domain[:i]
	}
	return domain
}

func sourceName(src config.IdentitySource, http bool) string {
	if http {
		switch src.Kind {
		case config.SourceHeader:
			return config.HTTPPrefixHeader + src.Name
		case config.SourceQuery:
			return config.HTTPPrefixQuery + src.Name
		case config.SourceStage:
			return config.HTTPPrefixStage + src.Name
		}
		return config.HTTPPrefixContext + src.Name
	}
	switch src.Kind {
	case config.SourceHeader:
		return "method.request.header." + src.Name
	case config.SourceQuery:
		return "method.request.querystring." + src.Name
	case config.SourceStage:
		return "stageVariables." + src.Name
	}
	return "context." + src.Name
}

var errQuery = errors.New("malformed query string")

// queryParams decodes the query once per request (see parseQuery).
func (v *requestView) queryParams() ([]authorizer.Param, error) {
	if v.parsed {
		return v.query, v.queryErr
	}
	v.parsed = true
	v.query, v.queryErr = parseQuery(v.rawQuery)
	return v.query, v.queryErr
}

// parseQuery decodes a raw query in order, keeping repeated names, the way
// API Gateway fills an event's query maps: "&" and ";" both separate
// parameters (API Gateway documents that a ";" splits the data), "+" is a
// space, and an invalid percent escape makes the query malformed, which
// API Gateway answers 400. The upstream still gets the query as sent.
func parseQuery(raw string) ([]authorizer.Param, error) {
	var out []authorizer.Param
	for part := range strings.FieldsFuncSeq(raw, isQuerySeparator) {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		n, err1 := url.QueryUnescape(name)
		val, err2 := url.QueryUnescape(value)
		if err1 != nil || err2 != nil {
			return nil, errQuery
		}
		out = append(out, authorizer.Param{Name: n, Value: val})
	}
	return out, nil
}

func isQuerySeparator(r rune) bool { return r == '&' || r == ';' }

// requestInput gathers what a REQUEST event carries.
func (v *requestView) requestInput() (*authorizer.RequestInput, error) {
	q, err := v.queryParams()
	if err != nil {
		return nil, err
	}
	params, stage := v.eventParams()
	return &authorizer.RequestInput{
		MethodARN:      v.methodARN,
		Resource:       v.match.Template,
		Path:           v.path,
		HTTPMethod:     v.r.Method,
		Headers:        v.r.Headers,
		Query:          q,
		PathParameters: params,
		StageVariables: stage,
		AccountID:      v.plan.AccountID,
		ResourceID:     v.route.ResourceID,
		APIID:          v.plan.RestAPIID,
		Stage:          v.plan.Stage,
		RequestID:      v.r.RequestID,
		SourceIP:       v.r.sourceIP(),
		UserAgent:      lookup(v.r.Headers, "user-agent"),
	}, nil
}

// vars copies what customised gateway responses may substitute, so that a
// Call does not keep the caller's header slice alive or see it reused.
func (v *requestView) vars() *vars {
	q, _ := v.queryParams()
	return &vars{
		requestID: v.r.RequestID,
		method:    v.r.Method,
		path:      v.path,
		resource:  v.match.Template,
		sourceIP:  v.r.sourceIP(),
		userAgent: lookup(v.r.Headers, "user-agent"),
		headers:   slices.Clone(v.r.Headers),
		query:     q,
		params:    v.match.Params,
	}
}

// eventParams converts the matched path parameters and the stage
// variables into the events' parameter lists.
func (v *requestView) eventParams() (params, stage []authorizer.Param) {
	params = make([]authorizer.Param, len(v.match.Params))
	for i, p := range v.match.Params {
		params[i] = authorizer.Param{Name: p.Name, Value: p.Value}
	}
	stage = make([]authorizer.Param, len(v.plan.StageVariables))
	for i, sv := range v.plan.StageVariables {
		stage[i] = authorizer.Param{Name: sv.Name, Value: sv.Value}
	}
	return params, stage
}

// clfTime is the layout of requestContext.time in HTTP API events.
const clfTime = "02/Jan/2006:15:04:05 -0700"

// httpInput gathers what an HTTP API event carries.
func (v *requestView) httpInput(identity []string, now time.Time) (*authorizer.HTTPInput, error) {
	q, err := v.queryParams()
	if err != nil {
		return nil, err
	}
	params, stage := v.eventParams()
	rawPath, _, _ := strings.Cut(v.r.Target, "?")
	domain := v.domainName()
	return &authorizer.HTTPInput{
		RouteARN:       v.methodARN,
		RouteKey:       v.route.RouteKey(),
		Resource:       v.match.Template,
		IdentitySource: identity,
		RawPath:        rawPath,
		RawQuery:       v.rawQuery,
		Path:           v.path,
		HTTPMethod:     v.r.Method,
		Headers:        v.r.Headers,
		Query:          q,
		PathParameters: params,
		StageVariables: stage,
		AccountID:      v.plan.AccountID,
		ResourceID:     v.route.ResourceID,
		APIID:          v.plan.RestAPIID,
		Stage:          v.plan.Stage,
		RequestID:      v.r.RequestID,
		SourceIP:       v.r.sourceIP(),
		UserAgent:      lookup(v.r.Headers, "user-agent"),
		DomainName:     domain,
		DomainPrefix:   domainPrefix(domain),
		Protocol:       v.r.protocol(),
		Time:           now.UTC().Format(clfTime),
		TimeEpoch:      now.UnixMilli(),
	}, nil
}
