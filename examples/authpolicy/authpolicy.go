// Package authpolicy builds the response of an API Gateway Lambda authorizer:
// a principal, an IAM policy that allows or denies execute-api:Invoke on
// methods of the API, an optional context map and an optional usage
// identifier key.
//
// It mirrors the AuthPolicy class of AWS's Lambda authorizer blueprints
// (github.com/awslabs/aws-apigateway-lambda-authorizer-blueprints), so an
// authorizer ported from Node.js or Python keeps its shape:
//
//	p := authpolicy.New("user|a1b2c3d4", "123456789012", authpolicy.APIOptions{
//		RestAPIID: "abcdef1234", Region: "us-east-1", Stage: "prod",
//	})
//	p.AllowMethod(authpolicy.Get, "/pets/*")
//	p.DenyMethod(authpolicy.Post, "/pets")
//	resp, err := p.Build()
//
// The document it builds is the blueprint's: Version "2012-10-17"; the
// allowed methods without conditions share one Allow statement listing their
// resources, and every allowed method with conditions gets a statement of
// its own (those come first, in the order they were added); the same for
// Deny, after all Allow statements. A resource is
// arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{verb}/{path}, with
// the path's leading slash removed (the partition is aws-cn or aws-us-gov
// for those regions, as in the gateway's method ARNs). Verbs and paths are
// checked as the blueprint checks them, but a mistake is reported by Build
// instead of being thrown: the first one wins and later calls are still
// recorded.
//
// The output is accepted by authgate's own parser and evaluator
// (core/authorizer.ParseResponse and core/policy); the package's tests
// marshal every shape the builder produces, parse it with them and evaluate
// it against method ARNs, conditions included.
//
// [AuthPolicy.Build] returns the aws-lambda-go type that Go Lambda
// authorizers return. That type's statements have no Condition field
// (aws/aws-lambda-go#458), so a policy with conditions must be built with
// [AuthPolicy.BuildResponse], whose [Response] marshals to the same JSON
// plus the conditions; a Lambda handler may return it just as well.
//
// See https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html.
package authpolicy

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/authgate/authgate/core/arn"
	"github.com/authgate/authgate/core/policy"
)

// Version is the policy language version of every document built.
const Version = "2012-10-17"

// The verbs a method may name, as in the blueprint's HttpVerb. All is the
// wildcard; the string "ALL" is accepted for it as well.
const (
	Get     = "GET"
	Post    = "POST"
	Put     = "PUT"
	Patch   = "PATCH"
	Head    = "HEAD"
	Delete  = "DELETE"
	Options = "OPTIONS"
	All     = "*"
)

// PathPattern is the blueprint's rule for resource paths, which
// [AuthPolicy.AllowMethod] and the other methods enforce: one or more ASCII
// letters, digits, '/', '.', '-' and '*'. The leading slash is optional.
const PathPattern = `^[/.a-zA-Z0-9-\*]+$`

// ErrNoStatements is returned by Build when no method was allowed or denied;
// the blueprint refuses such a policy too.
var ErrNoStatements = errors.New("no statements defined for the policy")

// ErrConditions is returned by [AuthPolicy.Build] when a method has
// conditions, which events.IAMPolicyStatement cannot carry.
var ErrConditions = errors.New("events.IAMPolicyStatement has no Condition field: use BuildResponse for a policy with conditions")

// APIOptions scopes the methods of a policy to an API. An empty field means
// "*", any, as in the blueprint.
type APIOptions struct {
	RestAPIID string
	Region    string
	Stage     string
	// Partition is the ARN partition. Empty means the partition of Region
	// ("aws-cn" for cn-* regions, "aws-us-gov" for us-gov-*, else "aws"),
	// which is what the gateway puts in its method ARNs.
	Partition string
}

// Conditions is an IAM Condition element: operator ("IpAddress") to
// condition key ("aws:SourceIp") to a value or a list of values. See
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
// and the package documentation of core/policy for what authgate evaluates.
type Conditions map[string]map[string]any

// Response is an authorizer response whose statements may carry conditions.
// Without conditions it marshals to the same JSON as the
// events.APIGatewayCustomAuthorizerResponse that Build returns.
type Response struct {
	PrincipalID        string         `json:"principalId"`
	PolicyDocument     PolicyDocument `json:"policyDocument"`
	Context            map[string]any `json:"context,omitempty"`
	UsageIdentifierKey string         `json:"usageIdentifierKey,omitempty"`
}

// PolicyDocument is the IAM policy of a Response.
type PolicyDocument struct {
	Version   string
	Statement []Statement
}

// Statement is one statement of a PolicyDocument.
type Statement struct {
	Action    []string
	Effect    string
	Resource  []string
	Condition Conditions `json:",omitempty"`
}

// method is one allowed or denied method: its resource ARN and its
// conditions, nil when it has none.
type method struct {
	resource   string
	conditions Conditions
}

// AuthPolicy collects allowed and denied methods and builds the authorizer
// response. The zero value is not usable; call New or FromMethodARN. An
// AuthPolicy is not safe for concurrent use.
type AuthPolicy struct {
	principalID string
	accountID   string
	opts        APIOptions
	allow       []method
	deny        []method
	context     map[string]any
	usageKey    string
	// err is the first mistake made while building; Build returns it.
	err error
}

// New returns an empty policy for principalID, for methods of the API that
// opts describes in account accountID. The account has no default: pass "*"
// to match any.
func New(principalID, accountID string, opts APIOptions) *AuthPolicy {
	if opts.RestAPIID == "" {
		opts.RestAPIID = "*"
	}
	if opts.Region == "" {
		opts.Region = "*"
	}
	if opts.Stage == "" {
		opts.Stage = "*"
	}
	if opts.Partition == "" {
		opts.Partition = arn.PartitionOf(opts.Region)
	}
	p := &AuthPolicy{principalID: principalID, accountID: accountID, opts: opts}
	// A ':' or '/' would shift the fields of every resource ARN, so that the
	// policy names other APIs or stages than the author meant.
	for _, f := range []struct{ name, v string }{
		{"partition", opts.Partition},
		{"account id", accountID},
		{"region", opts.Region},
		{"rest API id", opts.RestAPIID},
		{"stage", opts.Stage},
	} {
		switch {
		case f.v == "":
			p.fail(fmt.Errorf("authpolicy: %s: must not be empty (use \"*\" for any)", f.name))
		case strings.ContainsAny(f.v, ":/"):
			p.fail(fmt.Errorf("authpolicy: %s: must not contain ':' or '/', got %q", f.name, f.v))
		}
	}
	return p
}

// FromMethodARN returns an empty policy for principalID scoped to the API and
// stage of methodARN, the ARN of the request being authorized (the
// methodArn of the event). This is how the blueprint's handler fills in the
// options; the policy then covers the token's other requests to the same
// stage, which matters because the gateway caches it.
func FromMethodARN(principalID, methodARN string) (*AuthPolicy, error) {
	m, err := arn.Parse(methodARN)
	if err != nil {
		return nil, fmt.Errorf("authpolicy: method ARN: %w", err)
	}
	return New(principalID, m.AccountID, APIOptions{
		RestAPIID: m.APIID,
		Region:    m.Region,
		Stage:     m.Stage,
		Partition: m.Partition,
	}), nil
}

func (p *AuthPolicy) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// AllowAllMethods allows every verb on every resource of the API.
func (p *AuthPolicy) AllowAllMethods() *AuthPolicy {
	return p.add(true, All, "*", nil)
}

// DenyAllMethods denies every verb on every resource of the API.
func (p *AuthPolicy) DenyAllMethods() *AuthPolicy {
	return p.add(false, All, "*", nil)
}

// AllowMethod allows verb on resource. verb is an HTTP verb in upper case
// or "*" ("ALL" means "*"); resource is a path such as "/pets/*" matching
// [PathPattern]. In the policy '*' matches any run of characters, '/'
// included, so a path built from user data (a token's subject) must be
// checked for '*' first.
func (p *AuthPolicy) AllowMethod(verb, resource string) *AuthPolicy {
	return p.add(true, verb, resource, nil)
}

// DenyMethod denies verb on resource; see AllowMethod for the arguments.
func (p *AuthPolicy) DenyMethod(verb, resource string) *AuthPolicy {
	return p.add(false, verb, resource, nil)
}

// AllowMethodWithConditions allows verb on resource when conditions hold.
// The method gets a statement of its own; with no conditions it is the same
// as AllowMethod, as in the blueprint.
func (p *AuthPolicy) AllowMethodWithConditions(verb, resource string, conditions Conditions) *AuthPolicy {
	return p.add(true, verb, resource, conditions)
}

// DenyMethodWithConditions denies verb on resource when conditions hold;
// see AllowMethodWithConditions.
func (p *AuthPolicy) DenyMethodWithConditions(verb, resource string, conditions Conditions) *AuthPolicy {
	return p.add(false, verb, resource, conditions)
}

// WithContext sets a context entry, which the gateway passes to the upstream
// (in API Gateway, $context.authorizer.key). value must be a string, a bool
// or a Go number of a built-in type (not NaN or infinite): API Gateway
// rejects arrays and objects. Setting a key again replaces its value.
func (p *AuthPolicy) WithContext(key string, value any) *AuthPolicy {
	switch v := value.(type) {
	case string, bool,
		int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64, uintptr:
	case float32:
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			p.fail(fmt.Errorf("authpolicy: context[%q]: %v is not a JSON number", key, v))
			return p
		}
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			p.fail(fmt.Errorf("authpolicy: context[%q]: %v is not a JSON number", key, v))
			return p
		}
	default:
		p.fail(fmt.Errorf("authpolicy: context[%q]: must be a string, number or boolean, got %T", key, value))
		return p
	}
	if p.context == nil {
		p.context = make(map[string]any)
	}
	p.context[key] = value
	return p
}

// WithUsageIdentifierKey sets the usage identifier key, the API key that
// API Gateway's usage plans count the request against.
func (p *AuthPolicy) WithUsageIdentifierKey(key string) *AuthPolicy {
	p.usageKey = key
	return p
}

// add validates a method like the blueprint's addMethod and records it.
func (p *AuthPolicy) add(allow bool, verb, resource string, conditions Conditions) *AuthPolicy {
	name := "deny"
	if allow {
		name = "allow"
	}
	v, ok := checkVerb(verb)
	if !ok {
		p.fail(fmt.Errorf("authpolicy: %s[%q %q]: invalid HTTP verb: must be GET, POST, PUT, PATCH, HEAD, DELETE, OPTIONS or *", name, verb, resource))
		return p
	}
	if !validPath(resource) {
		p.fail(fmt.Errorf("authpolicy: %s[%q %q]: invalid resource path: must match %s", name, verb, resource, PathPattern))
		return p
	}
	for op, keys := range conditions {
		if op == "" || len(keys) == 0 {
			p.fail(fmt.Errorf("authpolicy: %s[%q %q]: condition operator %q: needs a name and at least one key", name, verb, resource, op))
			return p
		}
	}
	o := &p.opts
	m := method{
		resource: "arn:" + o.Partition + ":execute-api:" + o.Region + ":" + p.accountID + ":" +
			o.RestAPIID + "/" + o.Stage + "/" + v + "/" + strings.TrimPrefix(resource, "/"),
		conditions: copyConditions(conditions),
	}
	if allow {
		p.allow = append(p.allow, m)
	} else {
		p.deny = append(p.deny, m)
	}
	return p
}

// checkVerb returns the verb as it appears in a method ARN.
func checkVerb(verb string) (string, bool) {
	switch verb {
	case Get, Post, Put, Patch, Head, Delete, Options, All:
		return verb, true
	case "ALL":
		return All, true
	}
	return "", false
}

// validPath reports whether s matches PathPattern.
func validPath(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '/' || c == '.' || c == '-' || c == '*') {
			return false
		}
	}
	return true
}

// copyConditions copies the two map levels, so that the caller changing its
// map later does not change a policy already described; nil for none.
func copyConditions(c Conditions) Conditions {
	if len(c) == 0 {
		return nil
	}
	out := make(Conditions, len(c))
	for op, keys := range c {
		k := make(map[string]any, len(keys))
		for key, v := range keys {
			k[key] = v
		}
		out[op] = k
	}
	return out
}

// statements groups methods as the blueprint does: each conditioned method
// its own statement, in order, then one statement for all the others.
func statements(effect string, methods []method) []Statement {
	var out []Statement
	var plain []string
	for _, m := range methods {
		if m.conditions == nil {
			plain = append(plain, m.resource)
			continue
		}
		out = append(out, Statement{
			Action:    []string{policy.Action},
			Effect:    effect,
			Resource:  []string{m.resource},
			Condition: m.conditions,
		})
	}
	if len(plain) > 0 {
		out = append(out, Statement{Action: []string{policy.Action}, Effect: effect, Resource: plain})
	}
	return out
}

// BuildResponse builds the response, conditions included. It returns the
// first mistake made while describing the policy, ErrNoStatements when no
// method was allowed or denied, and an error when the document would not
// be accepted by authgate's policy parser. The AuthPolicy can be built
// again and changed afterwards; the Response shares nothing with it.
func (p *AuthPolicy) BuildResponse() (Response, error) {
	if p.err != nil {
		return Response{}, p.err
	}
	if p.principalID == "" {
		// The gateway refuses a response without a principal (a 500), so
		// the author should hear about it here.
		return Response{}, errors.New("authpolicy: principal id: must not be empty")
	}
	if len(p.allow) == 0 && len(p.deny) == 0 {
		return Response{}, fmt.Errorf("authpolicy: %w", ErrNoStatements)
	}
	r := Response{
		PrincipalID: p.principalID,
		PolicyDocument: PolicyDocument{
			Version:   Version,
			Statement: append(statements("Allow", p.allow), statements("Deny", p.deny)...),
		},
		UsageIdentifierKey: p.usageKey,
	}
	for i := range r.PolicyDocument.Statement {
		// Conditions are shared with the AuthPolicy up to here.
		r.PolicyDocument.Statement[i].Condition = copyConditions(r.PolicyDocument.Statement[i].Condition)
	}
	if len(p.context) > 0 {
		r.Context = make(map[string]any, len(p.context))
		for k, v := range p.context {
			r.Context[k] = v
		}
	}
	// Condition values are arbitrary Go values: check that the document
	// marshals and that the gateway would take it, so that a bad condition
	// is the author's error and not a 500 at request time.
	doc, err := json.Marshal(r.PolicyDocument)
	if err != nil {
		return Response{}, fmt.Errorf("authpolicy: policy document: %w", err)
	}
	if _, err := policy.Parse(doc); err != nil {
		return Response{}, fmt.Errorf("authpolicy: policy document: %w", err)
	}
	return r, nil
}

// Build builds the response as the events type a Go Lambda authorizer
// returns. It fails with ErrConditions when a method has conditions, since
// dropping them would change what the policy allows; use BuildResponse for
// those. Otherwise it returns what BuildResponse does.
func (p *AuthPolicy) Build() (events.APIGatewayCustomAuthorizerResponse, error) {
	r, err := p.BuildResponse()
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, err
	}
	out := events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: r.PrincipalID,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version:   r.PolicyDocument.Version,
			Statement: make([]events.IAMPolicyStatement, len(r.PolicyDocument.Statement)),
		},
		Context:            r.Context,
		UsageIdentifierKey: r.UsageIdentifierKey,
	}
	for i, s := range r.PolicyDocument.Statement {
		if s.Condition != nil {
			return events.APIGatewayCustomAuthorizerResponse{}, fmt.Errorf("authpolicy: statement %d: %w", i, ErrConditions)
		}
		out.PolicyDocument.Statement[i] = events.IAMPolicyStatement{Action: s.Action, Effect: s.Effect, Resource: s.Resource}
	}
	return out, nil
}
