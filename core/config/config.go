// Package config parses and validates the plugin configuration once into an
// immutable Plan. The same JSON configures the Envoy filter, the wasm host and
// the native middleware. Every error names the JSON path of the bad field
// ("authorizers.jwt.authorizerResultTtlInSeconds: must be 0..3600, got 7200").
package config

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/authgate/authgate/core/arn"
	"github.com/authgate/authgate/core/internal/jsondepth"
	"github.com/authgate/authgate/core/route"
)

// Limits and defaults.
const (
	DefaultTTLSeconds     = 300
	MaxTTLSeconds         = 3600
	DefaultTimeoutMs      = 1000
	MaxTimeoutMs          = 30000
	DefaultIdentitySource = "method.request.header.Authorization"
	DefaultCacheEntries   = 10000
	DefaultCacheBytes     = 16 << 20
	MaxCacheEntries       = 1_000_000
	MinCacheBytes         = 1 << 10
	MaxCacheBytes         = 1 << 30
	NoAuthorizer          = "NONE"

	// MaxUnauthorizedTTLSeconds bounds unauthorizedTtlInSeconds and
	// MaxStaleIfErrorSeconds staleIfErrorSeconds; both default to 0, off.
	MaxUnauthorizedTTLSeconds = 3600
	MaxStaleIfErrorSeconds    = 3600

	// Shared (cross-VM) cache bounds: the store holds at most SharedSlots
	// values of at most SharedMaxEntryBytes of authorizer answer each.
	DefaultSharedSlots         = 65536
	MaxSharedSlots             = 1 << 20
	DefaultSharedMaxEntryBytes = 16 << 10
	MinSharedMaxEntryBytes     = 1 << 10
	MaxSharedMaxEntryBytes     = 1 << 20

	// DefaultResponseBytes is an authorizer's maxResponseBytes when not
	// set: the largest answer body accepted. Every host refuses a larger
	// answer (500) before reading it whole. MinResponseBytes and
	// MaxResponseBytes bound the setting.
	DefaultResponseBytes = 1 << 20
	MinResponseBytes     = 1 << 10
	MaxResponseBytes     = 16 << 20

	// Bounds on the configuration's free-form text: every key and string
	// value is at most MaxStringBytes long, except a gateway response
	// template (MaxTemplateBytes) and an identityValidationExpression
	// (MaxExpressionBytes, since the expression runs on every request that
	// misses the cache).
	MaxStringBytes     = 4 << 10
	MaxTemplateBytes   = 64 << 10
	MaxExpressionBytes = 1 << 10
)

// Identity source prefixes, as API Gateway spells them.
const (
	PrefixHeader  = "method.request.header."
	PrefixQuery   = "method.request.querystring."
	PrefixStage   = "stageVariables."
	PrefixContext = "context."
)

// ContextVariables are the $context variables an identity source may name:
// the ones the gateway can supply for every request.
var ContextVariables = []string{
	"accountId", "apiId", "httpMethod", "identity.sourceIp", "path",
	"requestId", "resourcePath", "sourceIp", "stage",
}

// Authorizer types.
const (
	TypeToken   = "TOKEN"
	TypeRequest = "REQUEST"
)

// API types, as the top-level "apiType" names them. REST is the default.
const (
	APIRest = "REST"
	APIHTTP = "HTTP"
)

// Payload format versions of HTTP API Lambda authorizers
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html).
// REST API authorizers always use 1.0.
const (
	PayloadV1 = "1.0"
	PayloadV2 = "2.0"
)

// HTTP API identity source prefixes, as API Gateway spells them.
const (
	HTTPPrefixHeader  = "$request.header."
	HTTPPrefixQuery   = "$request.querystring."
	HTTPPrefixStage   = "$stageVariables."
	HTTPPrefixContext = "$context."
)

// HTTPContextVariables are the $context variables an HTTP API identity
// source may name: the ones the gateway can supply for every request.
var HTTPContextVariables = []string{
	"accountId", "apiId", "domainName", "domainPrefix", "httpMethod",
	"identity.sourceIp", "path", "protocol", "requestId", "routeKey", "stage",
}

// DefaultRouteKey is the path of an HTTP API's catch-all route, and the
// stage name HTTP APIs use when none is chosen.
const DefaultRouteKey = "$default"

// Implicit deny wordings for "implicitDenyMessage".
const (
	ImplicitDenyLegacy        = "legacy"
	ImplicitDenyIdentityBased = "identity-based-policy"
)

// SourceKind says where an identity value is read from.
type SourceKind uint8

// SourceKind values, after the identitySource prefixes API Gateway uses.
const (
	SourceHeader  SourceKind = iota // method.request.header.X
	SourceQuery                     // method.request.querystring.X
	SourceStage                     // stageVariables.X
	SourceContext                   // context.X
)

// IdentitySource is one parsed identitySource entry. For headers Name is
// lower case (header names are case-insensitive).
type IdentitySource struct {
	Kind SourceKind
	Name string
}

// Authorizer is one configured authorizer.
type Authorizer struct {
	Name               string
	Type               string // TypeToken or TypeRequest
	Cluster            string
	Path               string // default "/"
	Authority          string // default: Cluster
	Timeout            time.Duration
	IdentitySources    []IdentitySource // TOKEN: exactly one header
	IdentityValidation *regexp.Regexp   // TOKEN only; nil when not configured
	TTL                time.Duration    // 0 disables caching

	// UnauthorizedTTL is how long an Unauthorized answer is cached for the
	// identity (unauthorizedTtlInSeconds); 0, the default, caches none.
	UnauthorizedTTL time.Duration
	// StaleIfError is how long after its TTL a valid result may still
	// decide when the authorizer fails (staleIfErrorSeconds); 0, the
	// default, never serves an expired result.
	StaleIfError time.Duration

	// PayloadFormatVersion is PayloadV1 or PayloadV2 for HTTP APIs and
	// empty for REST APIs, whose authorizers always use payload 1.0 (the
	// zero value keeps a REST Plan what it was before HTTP APIs existed).
	PayloadFormatVersion string
	// EnableSimpleResponses makes the authorizer answer
	// {"isAuthorized": bool, "context": {...}} instead of a policy
	// (HTTP APIs, payload 2.0 only).
	EnableSimpleResponses bool

	// Function is the Lambda function the authorizer invokes
	// (authorizerUri), nil for an authorizer served over plain HTTP. Its
	// events go to the Lambda Invoke API on Cluster: Path is
	// Function.InvokePath() and Authority defaults to the region's Lambda
	// endpoint. Whatever sends the request signs it (SigV4); the
	// configuration never holds credentials.
	Function *arn.Function
	// Credentials is the IAM role ARN assumed to invoke Function
	// (authorizerCredentials); "" signs with the host's own credentials.
	Credentials string

	// MaxResponseBytes is the largest answer body accepted
	// (maxResponseBytes); a larger one is a failed call.
	MaxResponseBytes int
}

// IsLambda reports whether the authorizer invokes a Lambda function.
func (a *Authorizer) IsLambda() bool { return a.Function != nil }

// LambdaCluster is a cluster that carries Lambda Invoke requests: what the
// host that sends them needs to sign them. All authorizers of one cluster
// call functions of one region with one set of credentials.
type LambdaCluster struct {
	Name string
	// Region is the region of the cluster's functions, the one its
	// requests are signed for.
	Region string
	// Role is the authorizers' authorizerCredentials: the IAM role to
	// assume before signing, "" for the host's own credentials.
	Role string
	// Authorizers are the authorizers that use the cluster, in document
	// order.
	Authorizers []string
}

// SigningNote says what must sign the cluster's requests: the line the
// Envoy embeddings log at start, since they cannot see the cluster's
// aws_request_signing filter to check it.
func (c LambdaCluster) SigningNote() string {
	role := ""
	if c.Role != "" {
		role = ", assuming role " + c.Role
	}
	return fmt.Sprintf("cluster %q invokes Lambda functions in %s for %s; its requests must be signed (SigV4, service lambda, region %s%s)",
		c.Name, c.Region, strings.Join(c.Authorizers, ", "), c.Region, role)
}

// Route is one configured route; Authorizer is nil for "NONE". An HTTP
// API's catch-all route has Path DefaultRouteKey and Method "ANY"; it is
// not in the Router (see Plan.DefaultRoute).
type Route struct {
	Method     string
	Path       string
	Authorizer *Authorizer
	// ResourceID names the route's path as API Gateway names a resource:
	// six characters of [0-9a-z], equal for every method of one path and
	// stable across restarts (see ResourceID). Payload 1.0 events carry
	// it as requestContext.resourceId.
	ResourceID string
}

// RouteKey is the route's key as HTTP APIs write it: "GET /pets/{id}",
// "ANY /pets", or "$default" for the catch-all route.
func (r *Route) RouteKey() string {
	if r.Path == DefaultRouteKey {
		return DefaultRouteKey
	}
	return r.Method + " " + r.Path
}

// Plan is the validated configuration. It is immutable.
type Plan struct {
	Region         string
	AccountID      string
	RestAPIID      string
	Stage          string
	StageVariables []StageVariable // sorted by name
	Authorizers    map[string]*Authorizer
	Routes         []Route // in configuration order; Router indexes into it
	Router         *route.Router
	CacheEntries   int
	CacheBytes     int
	// SharedSlots is the number of slots of the cache shared by all VMs
	// (authorizerCache.sharedSlots); 0 disables it. SharedMaxEntryBytes
	// is the largest authorizer answer it holds
	// (authorizerCache.sharedMaxEntryBytes).
	SharedSlots         int
	SharedMaxEntryBytes int

	// APIType is APIHTTP for HTTP APIs and empty for REST APIs, the
	// default (see IsHTTP). For HTTP APIs RestAPIID holds "apiId".
	APIType string
	// DefaultRoute is the HTTP API's $default route, the last of Routes, or
	// nil. The Router holds every other route, at the same indices.
	DefaultRoute *Route
	// GatewayResponses customises the gateway's own answers by response
	// type (REST APIs only); nil when none are configured.
	GatewayResponses map[string]*GatewayResponse
	// ImplicitDenyMessage is ImplicitDenyIdentityBased, or empty for the
	// default wording (ImplicitDenyLegacy).
	ImplicitDenyMessage string
	// LambdaClusters lists, sorted by name, the clusters that carry Lambda
	// Invoke requests (authorizers with an authorizerUri).
	LambdaClusters []LambdaCluster
	// Warnings name what the configuration says that the gateway accepts
	// but ignores or that will refuse requests, each starting with the
	// JSON path of the field: what API Gateway itself accepts loads, and
	// the operator still learns what it means here.
	Warnings []string

	// PathRules is how request paths are judged: the zero value refuses
	// ";" path parameters; allowPathParameters lets them through.
	PathRules route.PathRules
	// KeepOverrideHeaders (keepOverrideHeaders) forwards the method and
	// URL override headers (OverrideHeaders) instead of removing them.
	KeepOverrideHeaders bool
	// LogDecisions (logDecisions) has the filters in Envoy (the wasm
	// filter and the dynamic module) log every request's decision line at
	// info level instead of debug, so that it shows without raising
	// Envoy's log level. An authorizer failure is logged at warning level
	// either way; authgate serve logs every decision whatever it says.
	LogDecisions bool
}

// The warnings a plan carries for the settings that accept a risk.
const (
	WarnAllowPathParameters = "allowPathParameters: true: the policy judges \"/admin;x=1\" as written, while servlet containers (Tomcat, Jetty, Spring) drop the parameters and serve \"/admin\""
	WarnKeepOverrideHeaders = "keepOverrideHeaders: true: an upstream that honours X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override, X-Original-URL or X-Rewrite-URL acts on a method or URL no policy judged"
)

// OverrideHeaders are the request headers with which common frameworks let
// a client replace the method or the URL the upstream acts on, lower case.
// The gateway judges the request line, so by default it removes them
// (their CGI spellings with "_" included) before the request goes upstream.
var OverrideHeaders = []string{
	"x-http-method-override", "x-http-method", "x-method-override",
	"x-original-url", "x-rewrite-url",
}

// IsHTTP reports whether the plan is for an HTTP API.
func (p *Plan) IsHTTP() bool { return p.APIType == APIHTTP }

// PayloadV2 reports whether the authorizer takes payload format 2.0.
func (a *Authorizer) PayloadV2() bool { return a.PayloadFormatVersion == PayloadV2 }

// StageVariable is one stageVariables entry.
type StageVariable struct {
	Name, Value string
}

// Parse validates the configuration JSON and compiles it into a Plan.
//
// It returns the first problem found; top-level members are checked in a
// fixed order (apiType, region, accountId, restApiId or apiId, stage,
// stageVariables, implicitDenyMessage, allowPathParameters,
// keepOverrideHeaders, logDecisions, gatewayResponses, authorizerCache,
// authorizers, routes) after unknown and duplicate keys, so the same input
// always reports the same error. Every error starts with the JSON path of
// the bad field. Keys are case-sensitive, unknown keys and duplicate keys
// are errors anywhere, and JSON types are never coerced. The document
// nests at most 32 levels, and its keys and strings are bounded (see
// MaxStringBytes).
func Parse(b []byte) (*Plan, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("config: not valid UTF-8")
	}
	if jsondepth.Exceeds(b, jsondepth.Max) {
		return nil, fmt.Errorf("config: nested deeper than %d levels", jsondepth.Max)
	}
	if !gjson.ValidBytes(b) {
		return nil, invalidJSON(b)
	}
	top, err := object(gjson.ParseBytes(b), "", []string{
		"apiType", "region", "accountId", "restApiId", "apiId", "stage", "stageVariables",
		"implicitDenyMessage", "allowPathParameters", "keepOverrideHeaders", "logDecisions",
		"gatewayResponses", "authorizerCache", "authorizers", "routes",
	})
	if err != nil {
		return nil, err
	}
	p := &Plan{}
	apiType, err := top.str("apiType", false, APIRest)
	if err != nil {
		return nil, err
	}
	if apiType != APIRest && apiType != APIHTTP {
		return nil, fmt.Errorf("apiType: must be REST or HTTP, got %q", apiType)
	}
	http := apiType == APIHTTP
	if http {
		p.APIType = APIHTTP
	}
	idKey, otherID := "restApiId", "apiId"
	if http {
		idKey, otherID = otherID, idKey
	}
	if top.has(otherID) {
		return nil, fmt.Errorf("%s: %s APIs take %s", otherID, apiType, idKey)
	}
	checkStage := arn.CheckStage
	if http {
		checkStage = func(s string) error {
			if s == DefaultRouteKey {
				return nil
			}
			if err := arn.CheckStage(s); err != nil {
				return fmt.Errorf("%w, or $default", err)
			}
			return nil
		}
	}
	for _, f := range []struct {
		key   string
		dst   *string
		check func(string) error
	}{
		{"region", &p.Region, arn.CheckRegion},
		{"accountId", &p.AccountID, arn.CheckAccountID},
		{idKey, &p.RestAPIID, arn.CheckAPIID},
		{"stage", &p.Stage, checkStage},
	} {
		s, err := top.str(f.key, true, "")
		if err != nil {
			return nil, err
		}
		if err := f.check(s); err != nil {
			return nil, fmt.Errorf("%s: %w", f.key, err)
		}
		*f.dst = s
	}
	if p.StageVariables, err = parseStageVariables(top); err != nil {
		return nil, err
	}
	deny, err := top.str("implicitDenyMessage", false, ImplicitDenyLegacy)
	if err != nil {
		return nil, err
	}
	switch {
	case http && top.has("implicitDenyMessage"):
		return nil, errors.New("implicitDenyMessage: HTTP APIs answer every deny with Forbidden; leave it out")
	case deny == ImplicitDenyIdentityBased:
		p.ImplicitDenyMessage = deny
	case deny != ImplicitDenyLegacy:
		return nil, fmt.Errorf("implicitDenyMessage: must be %q or %q, got %q", ImplicitDenyLegacy, ImplicitDenyIdentityBased, deny)
	}
	if p.PathRules.AllowParameters, err = top.boolean("allowPathParameters"); err != nil {
		return nil, err
	}
	if p.KeepOverrideHeaders, err = top.boolean("keepOverrideHeaders"); err != nil {
		return nil, err
	}
	if p.LogDecisions, err = top.boolean("logDecisions"); err != nil {
		return nil, err
	}
	// Both settings are accepted risks; saying so at every load keeps the
	// risk in front of whoever runs the configuration.
	if p.PathRules.AllowParameters {
		p.Warnings = append(p.Warnings, WarnAllowPathParameters)
	}
	if p.KeepOverrideHeaders {
		p.Warnings = append(p.Warnings, WarnKeepOverrideHeaders)
	}
	if http && top.has("gatewayResponses") {
		return nil, errors.New("gatewayResponses: HTTP APIs do not support gateway responses")
	}
	if p.GatewayResponses, err = parseGatewayResponses(top, p.StageVariables); err != nil {
		return nil, err
	}
	if err = parseCache(top, p); err != nil {
		return nil, err
	}
	if p.Authorizers, p.LambdaClusters, err = parseAuthorizers(top, p.StageVariables, apiType, &p.Warnings); err != nil {
		return nil, err
	}
	if p.Routes, p.Router, err = parseRoutes(top, p.Authorizers, http, p.RestAPIID, p.PathRules); err != nil {
		return nil, err
	}
	if n := len(p.Routes); n > 0 && p.Routes[n-1].Path == DefaultRouteKey {
		p.DefaultRoute = &p.Routes[n-1]
	}
	return p, nil
}

func parseStageVariables(top obj) ([]StageVariable, error) {
	v, ok := top.fields["stageVariables"]
	if !ok {
		return nil, nil
	}
	o, err := object(v, "stageVariables", nil)
	if err != nil {
		return nil, err
	}
	out := make([]StageVariable, 0, len(o.fields))
	// Document order, so that the first bad entry is the one reported.
	v.ForEach(func(k, _ gjson.Result) bool {
		n := k.String()
		// API Gateway's rule for stage variable names.
		if !allBytes(n, func(c byte) bool { return isNameChar(c) && c != '-' }) || n == "" {
			err = fmt.Errorf("%s: name must be letters, digits and '_'", join(o.path, n))
			return false
		}
		var val string
		if val, err = o.str(n, true, ""); err != nil {
			return false
		}
		if hasControl(val) {
			err = fmt.Errorf("%s: must not contain control bytes", join(o.path, n))
			return false
		}
		out = append(out, StageVariable{Name: n, Value: val})
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b StageVariable) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// parseCache reads authorizerCache into p: the pipeline's own cache bounds
// and the shared cache's.
func parseCache(top obj, p *Plan) error {
	p.CacheEntries, p.CacheBytes = DefaultCacheEntries, DefaultCacheBytes
	p.SharedSlots, p.SharedMaxEntryBytes = DefaultSharedSlots, DefaultSharedMaxEntryBytes
	v, ok := top.fields["authorizerCache"]
	if !ok {
		return nil
	}
	o, err := object(v, "authorizerCache", []string{"maxEntries", "maxBytes", "sharedSlots", "sharedMaxEntryBytes"})
	if err != nil {
		return err
	}
	for _, f := range []struct {
		key           string
		dst           *int
		min, max, def int64
	}{
		{"maxEntries", &p.CacheEntries, 1, MaxCacheEntries, DefaultCacheEntries},
		{"maxBytes", &p.CacheBytes, MinCacheBytes, MaxCacheBytes, DefaultCacheBytes},
		{"sharedSlots", &p.SharedSlots, 0, MaxSharedSlots, DefaultSharedSlots},
		{"sharedMaxEntryBytes", &p.SharedMaxEntryBytes, MinSharedMaxEntryBytes, MaxSharedMaxEntryBytes, DefaultSharedMaxEntryBytes},
	} {
		n, err := o.integer(f.key, f.min, f.max, f.def)
		if err != nil {
			return err
		}
		*f.dst = int(n)
	}
	return nil
}

func parseAuthorizers(top obj, stageVars []StageVariable, apiType string, warn *[]string) (map[string]*Authorizer, []LambdaCluster, error) {
	v, ok := top.fields["authorizers"]
	if !ok {
		return nil, nil, errors.New("authorizers: required")
	}
	if !v.IsObject() {
		return nil, nil, fmt.Errorf("authorizers: must be an object, got %s", got(v))
	}
	out := make(map[string]*Authorizer)
	clusters := clusterUse{}
	var err error
	// Walk in document order so the first bad authorizer is reported.
	v.ForEach(func(k, val gjson.Result) bool {
		n := k.String()
		path := join("authorizers", n)
		switch {
		case out[n] != nil:
			err = fmt.Errorf("%s: duplicate key", path)
		case len(n) > MaxStringBytes:
			err = fmt.Errorf("authorizers: a name is longer than %d bytes", MaxStringBytes)
		case n == "" || !allBytes(n, isNameChar):
			err = fmt.Errorf("%s: name must be letters, digits, '-' and '_'", path)
		case n == NoAuthorizer:
			err = fmt.Errorf("%s: name is reserved for routes without an authorizer", path)
		default:
			var a *Authorizer
			if a, err = parseAuthorizer(n, val, path, stageVars, apiType, warn); err == nil {
				if err = clusters.add(a, path); err == nil {
					out[n] = a
				}
			}
		}
		return err == nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, clusters.lambda(), nil
}

// clusterUse records which authorizers use each cluster, to keep Lambda
// and plain HTTP authorizers apart: a Lambda cluster signs every request it
// carries for one region with one set of credentials (in Envoy through the
// cluster's aws_request_signing filter), so an HTTP authorizer on it would
// receive signed requests and a second region or role could not be served.
type clusterUse map[string]*LambdaCluster

// add checks a against the authorizers already seen on its cluster. The
// entry of a cluster used by HTTP authorizers has an empty Region.
func (u clusterUse) add(a *Authorizer, path string) error {
	c, seen := u[a.Cluster]
	switch {
	case !seen:
		c = &LambdaCluster{Name: a.Cluster}
		if a.IsLambda() {
			c.Region, c.Role = a.Function.Region, a.Credentials
		}
		u[a.Cluster] = c
	case a.IsLambda() && c.Region == "":
		return fmt.Errorf("%s.authorizerUri: cluster %q serves the HTTP authorizer %q; a Lambda authorizer needs a cluster of its own", path, a.Cluster, c.Authorizers[0])
	case !a.IsLambda() && c.Region != "":
		return fmt.Errorf("%s.cluster: cluster %q carries the Lambda Invoke requests of authorizer %q; an HTTP authorizer needs a cluster of its own", path, a.Cluster, c.Authorizers[0])
	case a.IsLambda() && a.Function.Region != c.Region:
		return fmt.Errorf("%s.authorizerUri: the function is in %s, but cluster %q calls Lambda in %s for authorizer %q; use a cluster per region", path, a.Function.Region, a.Cluster, c.Region, c.Authorizers[0])
	case a.IsLambda() && a.Credentials != c.Role:
		return fmt.Errorf("%s.authorizerCredentials: cluster %q signs with %s for authorizer %q; authorizers of one cluster share its credentials", path, a.Cluster, orHostCredentials(c.Role), c.Authorizers[0])
	}
	c.Authorizers = append(c.Authorizers, a.Name)
	return nil
}

func orHostCredentials(role string) string {
	if role == "" {
		return "the host's own credentials"
	}
	return "role " + role
}

// lambda returns the Lambda clusters sorted by name.
func (u clusterUse) lambda() []LambdaCluster {
	var out []LambdaCluster
	for _, c := range u {
		if c.Region != "" {
			out = append(out, *c)
		}
	}
	slices.SortFunc(out, func(a, b LambdaCluster) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func parseAuthorizer(name string, v gjson.Result, path string, stageVars []StageVariable, apiType string, warn *[]string) (*Authorizer, error) {
	o, err := object(v, path, []string{
		"type", "cluster", "path", "authority", "timeoutMs", "identitySource",
		"identityValidationExpression", "authorizerResultTtlInSeconds",
		"authorizerPayloadFormatVersion", "enableSimpleResponses",
		"unauthorizedTtlInSeconds", "staleIfErrorSeconds", "authorizerUri", "authorizerCredentials",
		"maxResponseBytes",
	})
	if err != nil {
		return nil, err
	}
	a := &Authorizer{Name: name}
	if a.Type, err = o.str("type", true, ""); err != nil {
		return nil, err
	}
	if a.Type != TypeToken && a.Type != TypeRequest {
		return nil, fmt.Errorf("%s.type: must be TOKEN or REQUEST, got %q", path, a.Type)
	}
	if apiType == APIHTTP && a.Type != TypeRequest {
		return nil, fmt.Errorf("%s.type: HTTP API Lambda authorizers are REQUEST authorizers, got %q", path, a.Type)
	}
	if err := parsePayloadFormat(a, o, path, apiType); err != nil {
		return nil, err
	}
	if a.Cluster, err = o.str("cluster", true, ""); err != nil {
		return nil, err
	}
	if a.Cluster == "" || hasControlOrSpace(a.Cluster) {
		return nil, fmt.Errorf("%s.cluster: must be a non-empty name without spaces or control bytes, got %q", path, a.Cluster)
	}
	if err := parseFunction(a, o, path); err != nil {
		return nil, err
	}
	defaultAuthority := a.Cluster
	if a.IsLambda() {
		a.Path, defaultAuthority = a.Function.InvokePath(), a.Function.Endpoint()
	} else {
		if a.Path, err = o.str("path", false, "/"); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(a.Path, "/") || hasControlOrSpace(a.Path) || strings.Contains(a.Path, "#") {
			return nil, fmt.Errorf("%s.path: must start with \"/\" and have no spaces, control bytes or \"#\", got %q", path, a.Path)
		}
	}
	if a.Authority, err = o.str("authority", false, defaultAuthority); err != nil {
		return nil, err
	}
	if a.Authority == "" || hasControlOrSpace(a.Authority) || strings.ContainsAny(a.Authority, "/?#@") {
		return nil, fmt.Errorf("%s.authority: must be a host[:port] without spaces or control bytes, got %q", path, a.Authority)
	}
	ms, err := o.integer("timeoutMs", 1, MaxTimeoutMs, DefaultTimeoutMs)
	if err != nil {
		return nil, err
	}
	a.Timeout = time.Duration(ms) * time.Millisecond
	ttl, err := o.integer("authorizerResultTtlInSeconds", 0, MaxTTLSeconds, DefaultTTLSeconds)
	if err != nil {
		return nil, err
	}
	a.TTL = time.Duration(ttl) * time.Second
	uttl, err := o.integer("unauthorizedTtlInSeconds", 0, MaxUnauthorizedTTLSeconds, 0)
	if err != nil {
		return nil, err
	}
	a.UnauthorizedTTL = time.Duration(uttl) * time.Second
	stale, err := o.integer("staleIfErrorSeconds", 0, MaxStaleIfErrorSeconds, 0)
	if err != nil {
		return nil, err
	}
	a.StaleIfError = time.Duration(stale) * time.Second
	maxBody, err := o.integer("maxResponseBytes", MinResponseBytes, MaxResponseBytes, DefaultResponseBytes)
	if err != nil {
		return nil, err
	}
	a.MaxResponseBytes = int(maxBody)
	src, err := o.str("identitySource", false, "")
	if err != nil {
		return nil, err
	}
	srcPath := path + ".identitySource"
	if a.Type == TypeToken {
		if !o.has("identitySource") {
			src = DefaultIdentitySource
		}
		if a.IdentitySources, err = parseTokenSource(src, srcPath); err != nil {
			return nil, err
		}
	} else {
		if a.IdentitySources, err = parseRequestSources(src, srcPath, stageVars, apiType, warn); err != nil {
			return nil, err
		}
		if len(a.IdentitySources) == 0 {
			// Without identity sources every caller would share one cache
			// key, so one caller's policy would answer for everyone.
			if o.has("authorizerResultTtlInSeconds") && ttl > 0 {
				return nil, fmt.Errorf("%s.authorizerResultTtlInSeconds: caching needs an identitySource; set it or set 0", path)
			}
			if uttl > 0 {
				return nil, fmt.Errorf("%s.unauthorizedTtlInSeconds: caching needs an identitySource; set it or set 0", path)
			}
			a.TTL = 0
		}
	}
	if stale > 0 && a.TTL == 0 {
		// Only cached results can be served stale; a window without a
		// cache would silently do nothing.
		return nil, fmt.Errorf("%s.staleIfErrorSeconds: serving stale results needs authorizerResultTtlInSeconds above 0; set it or set 0", path)
	}
	if o.has("identityValidationExpression") {
		p := path + ".identityValidationExpression"
		expr, err := o.str("identityValidationExpression", true, "")
		if err != nil {
			return nil, err
		}
		if a.Type != TypeToken {
			// API Gateway keeps the field on REQUEST authorizers and
			// never applies it; a definition copied from there loads.
			*warn = append(*warn, p+": ignored: only TOKEN authorizers validate the identity; a REQUEST authorizer is called for every identity")
			return a, nil
		}
		if expr == "" {
			return nil, fmt.Errorf("%s: must not be empty; leave it out to accept any token", p)
		}
		if len(expr) > MaxExpressionBytes {
			return nil, fmt.Errorf("%s: longer than %d bytes", p, MaxExpressionBytes)
		}
		if a.IdentityValidation, err = regexp.Compile(expr); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return a, nil
}

// parseFunction reads authorizerUri and authorizerCredentials. A Lambda
// authorizer's path is the Invoke API's, so "path" is refused beside
// authorizerUri rather than silently replaced.
func parseFunction(a *Authorizer, o obj, path string) error {
	if o.has("authorizerCredentials") && !o.has("authorizerUri") {
		return fmt.Errorf("%s.authorizerCredentials: only Lambda authorizers (authorizerUri) take credentials", path)
	}
	if !o.has("authorizerUri") {
		return nil
	}
	upath := path + ".authorizerUri"
	uri, err := o.str("authorizerUri", true, "")
	if err != nil {
		return err
	}
	f, err := arn.ParseAuthorizerURI(uri)
	if err != nil {
		return fmt.Errorf("%s: %w", upath, err)
	}
	if o.has("path") {
		return fmt.Errorf("%s.path: a Lambda authorizer is called on the Invoke API path %s; leave path out", path, f.InvokePath())
	}
	a.Function = &f
	if !o.has("authorizerCredentials") {
		return nil
	}
	role, err := o.str("authorizerCredentials", true, "")
	if err != nil {
		return err
	}
	r, err := arn.ParseRole(role)
	if err != nil {
		return fmt.Errorf("%s.authorizerCredentials: %w", path, err)
	}
	a.Credentials = r.String()
	return nil
}

// parseTokenSource accepts exactly one header source.
func parseTokenSource(src, path string) ([]IdentitySource, error) {
	h, ok := strings.CutPrefix(src, PrefixHeader)
	if !ok || !isHeaderName(h) {
		return nil, fmt.Errorf("%s: a TOKEN authorizer takes exactly one %sX with X a header name, got %q", path, PrefixHeader, src)
	}
	return []IdentitySource{{Kind: SourceHeader, Name: strings.ToLower(h)}}, nil
}

// parsePayloadFormat reads authorizerPayloadFormatVersion and
// enableSimpleResponses. HTTP APIs must name the version, as API Gateway's
// own API requires; REST APIs may only name 1.0.
func parsePayloadFormat(a *Authorizer, o obj, path, apiType string) error {
	vpath := path + ".authorizerPayloadFormatVersion"
	v, err := o.str("authorizerPayloadFormatVersion", apiType == APIHTTP, PayloadV1)
	if err != nil {
		return err
	}
	switch {
	case apiType == APIRest && v != PayloadV1:
		return fmt.Errorf("%s: REST API authorizers use payload format 1.0, got %q", vpath, v)
	case v != PayloadV1 && v != PayloadV2:
		return fmt.Errorf("%s: must be \"1.0\" or \"2.0\", got %q", vpath, v)
	}
	if apiType == APIHTTP {
		a.PayloadFormatVersion = v
	}
	sv, ok := o.fields["enableSimpleResponses"]
	if !ok {
		return nil
	}
	spath := path + ".enableSimpleResponses"
	if sv.Type != gjson.True && sv.Type != gjson.False {
		return fmt.Errorf("%s: must be a boolean, got %s", spath, got(sv))
	}
	if sv.Type == gjson.True && v != PayloadV2 {
		return fmt.Errorf("%s: simple responses need authorizerPayloadFormatVersion \"2.0\" on an HTTP API", spath)
	}
	a.EnableSimpleResponses = sv.Type == gjson.True
	return nil
}

// sourceSyntax is the spelling of identity sources for one API type.
type sourceSyntax struct {
	header, query, stage, context string
	contextVars                   []string
}

var (
	restSources = sourceSyntax{PrefixHeader, PrefixQuery, PrefixStage, PrefixContext, ContextVariables}
	httpSources = sourceSyntax{HTTPPrefixHeader, HTTPPrefixQuery, HTTPPrefixStage, HTTPPrefixContext, HTTPContextVariables}
)

// parseRequestSources parses a comma-separated list; an empty string is an
// empty list. REST APIs spell sources method.request.header.X, HTTP APIs
// $request.header.X.
func parseRequestSources(src, path string, stageVars []StageVariable, apiType string, warn *[]string) ([]IdentitySource, error) {
	if strings.Trim(src, " ") == "" {
		return nil, nil
	}
	syn := restSources
	if apiType == APIHTTP {
		syn = httpSources
	}
	var out []IdentitySource
	for i, part := range strings.Split(src, ",") {
		e := strings.Trim(part, " ")
		var s IdentitySource
		var bad string
		switch {
		case e == "":
			return nil, fmt.Errorf("%s: entry %d is empty", path, i+1)
		case strings.HasPrefix(e, syn.header):
			s = IdentitySource{Kind: SourceHeader, Name: strings.ToLower(e[len(syn.header):])}
			if !isHeaderName(s.Name) {
				bad = "a header name"
			}
		case strings.HasPrefix(e, syn.query):
			s = IdentitySource{Kind: SourceQuery, Name: e[len(syn.query):]}
			if s.Name == "" || hasControlOrSpace(s.Name) {
				bad = "a query parameter name"
			}
		case strings.HasPrefix(e, syn.stage):
			s = IdentitySource{Kind: SourceStage, Name: e[len(syn.stage):]}
			if s.Name == "" || hasControlOrSpace(s.Name) {
				bad = "a stage variable name"
			} else if !slices.ContainsFunc(stageVars, func(v StageVariable) bool { return v.Name == s.Name }) {
				// API Gateway deploys such an authorizer and answers
				// every request on its routes 401; so does the gateway.
				*warn = append(*warn, fmt.Sprintf("%s: %q names a stage variable that stageVariables does not define: every request on this authorizer's routes is answered 401", path, e))
			}
		case strings.HasPrefix(e, syn.context):
			s = IdentitySource{Kind: SourceContext, Name: e[len(syn.context):]}
			if !contains(syn.contextVars, s.Name) {
				return nil, fmt.Errorf("%s: %q is not a supported context variable (one of %s)", path, e, strings.Join(syn.contextVars, ", "))
			}
		default:
			return nil, fmt.Errorf("%s: %q must start with %s, %s, %s or %s", path, e, syn.header, syn.query, syn.stage, syn.context)
		}
		if bad != "" {
			return nil, fmt.Errorf("%s: %q does not end in %s", path, e, bad)
		}
		if slices.Contains(out, s) {
			return nil, fmt.Errorf("%s: %q is listed twice", path, e)
		}
		out = append(out, s)
	}
	return out, nil
}

// isHeaderName reports whether s is a header field name (an RFC 9110 token).
func isHeaderName(s string) bool {
	return s != "" && allBytes(s, func(c byte) bool {
		return isNameChar(c) || strings.IndexByte("!#$%&'*+.^`|~", c) >= 0
	})
}

func parseRoutes(top obj, auths map[string]*Authorizer, http bool, apiID string, rules route.PathRules) ([]Route, *route.Router, error) {
	v, ok := top.fields["routes"]
	if !ok {
		return nil, nil, errors.New("routes: required")
	}
	if !v.IsArray() {
		return nil, nil, fmt.Errorf("routes: must be an array, got %s", got(v))
	}
	items := v.Array()
	if len(items) == 0 {
		return nil, nil, errors.New("routes: must not be empty")
	}
	routes := make([]Route, len(items))
	templates := make([]route.Route, len(items))
	for i, item := range items {
		o, err := object(item, index("routes", i), []string{"method", "path", "authorizer"})
		if err != nil {
			return nil, nil, err
		}
		r := &routes[i]
		if r.Method, err = o.str("method", true, ""); err != nil {
			return nil, nil, err
		}
		if r.Path, err = o.str("path", true, ""); err != nil {
			return nil, nil, err
		}
		// Required rather than defaulting to NONE: leaving it out must not
		// turn authorization off.
		name, err := o.str("authorizer", true, "")
		if err != nil {
			return nil, nil, err
		}
		if name != NoAuthorizer {
			if r.Authorizer = auths[name]; r.Authorizer == nil {
				return nil, nil, fmt.Errorf("%s.authorizer: undefined authorizer %q", o.path, name)
			}
		}
		if http && r.Path == DefaultRouteKey {
			// Last, so that the Router's indices stay those of Routes.
			switch {
			case r.Method != route.AnyMethod:
				return nil, nil, fmt.Errorf("%s.method: the $default route takes ANY, got %q", o.path, r.Method)
			case i != len(items)-1:
				return nil, nil, fmt.Errorf("%s: the $default route must be the last route", o.path)
			}
			templates = templates[:i]
			continue
		}
		if strings.IndexByte(r.Path, ';') >= 0 && !rules.AllowParameters {
			// Such a request is refused before routing: the route
			// could never match.
			return nil, nil, fmt.Errorf("%s.path: a \";\" can only match with allowPathParameters set to true, got %q", o.path, r.Path)
		}
		templates[i] = route.Route{Method: r.Method, Template: r.Path}
	}
	router, err := route.NewRouter(templates)
	if err != nil {
		return nil, nil, err
	}
	assignResourceIDs(routes, func(path string, salt int) string { return ResourceID(apiID, path, salt) })
	return routes, router, nil
}

// ResourceID derives the id of a resource (a route path) of the API apiID:
// the first six base-36 digits of a SHA-256 over both, with salt mixed in
// when two paths of one API would otherwise share an id. API Gateway draws
// its resource ids at random when a resource is created; a derived id
// keeps the same value across restarts, hosts and VMs, which an
// authorizer that keys anything on resourceId needs.
func ResourceID(apiID, path string, salt int) string {
	h := sha256.New()
	h.Write([]byte("authgate resource id\x00"))
	h.Write([]byte(apiID))
	h.Write([]byte{0})
	h.Write([]byte(path))
	if salt > 0 {
		h.Write([]byte{0})
		h.Write([]byte(strconv.Itoa(salt)))
	}
	var sum [sha256.Size]byte
	n := binary.BigEndian.Uint64(h.Sum(sum[:0])[:8])
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	var id [6]byte
	for i := range id {
		id[i] = digits[n%36]
		n /= 36
	}
	return string(id[:])
}

// assignResourceIDs gives every route the id of its path. Paths are
// numbered in the order they first appear, so a collision between two
// paths (odds about one in four billion per pair) is resolved the same way
// on every start.
func assignResourceIDs(routes []Route, id func(path string, salt int) string) {
	byPath := make(map[string]string, len(routes))
	used := make(map[string]bool, len(routes))
	for i := range routes {
		path := routes[i].Path
		rid, ok := byPath[path]
		for salt := 0; !ok; salt++ {
			rid = id(path, salt)
			ok = !used[rid]
		}
		byPath[path], used[rid] = rid, true
		routes[i].ResourceID = rid
	}
}
