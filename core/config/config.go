// Package config parses and validates the plugin configuration once into an
// immutable Plan. The same JSON configures the Envoy filter, the wasm host and
// the native middleware. Every error names the JSON path of the bad field
// ("authorizers.jwt.authorizerResultTtlInSeconds: must be 0..3600, got 7200").
package config

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/authgate/authgate/core/arn"
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
}

// Route is one configured route; Authorizer is nil for "NONE".
type Route struct {
	Method     string
	Path       string
	Authorizer *Authorizer
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
	Router         *arn.Router
	CacheEntries   int
	CacheBytes     int
}

// StageVariable is one stageVariables entry.
type StageVariable struct {
	Name, Value string
}

// Parse validates the configuration JSON and compiles it into a Plan.
//
// It returns the first problem found; top-level members are checked in a
// fixed order (region, accountId, restApiId, stage, stageVariables,
// authorizerCache, authorizers, routes) after unknown and duplicate keys, so
// the same input always reports the same error. Every error starts with the
// JSON path of the bad field. Keys are case-sensitive, unknown keys and
// duplicate keys are errors anywhere, and JSON types are never coerced.
func Parse(b []byte) (*Plan, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("config: not valid UTF-8")
	}
	if !gjson.ValidBytes(b) {
		return nil, invalidJSON(b)
	}
	top, err := object(gjson.ParseBytes(b), "", []string{
		"region", "accountId", "restApiId", "stage", "stageVariables",
		"authorizerCache", "authorizers", "routes",
	})
	if err != nil {
		return nil, err
	}
	p := &Plan{}
	for _, f := range []struct {
		key   string
		dst   *string
		check func(string) error
	}{
		{"region", &p.Region, arn.CheckRegion},
		{"accountId", &p.AccountID, arn.CheckAccountID},
		{"restApiId", &p.RestAPIID, arn.CheckAPIID},
		{"stage", &p.Stage, arn.CheckStage},
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
	if p.CacheEntries, p.CacheBytes, err = parseCache(top); err != nil {
		return nil, err
	}
	if p.Authorizers, err = parseAuthorizers(top, p.StageVariables); err != nil {
		return nil, err
	}
	if p.Routes, p.Router, err = parseRoutes(top, p.Authorizers); err != nil {
		return nil, err
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

func parseCache(top obj) (entries, bytes int, err error) {
	v, ok := top.fields["authorizerCache"]
	if !ok {
		return DefaultCacheEntries, DefaultCacheBytes, nil
	}
	o, err := object(v, "authorizerCache", []string{"maxEntries", "maxBytes"})
	if err != nil {
		return 0, 0, err
	}
	n, err := o.integer("maxEntries", 1, MaxCacheEntries, DefaultCacheEntries)
	if err != nil {
		return 0, 0, err
	}
	sz, err := o.integer("maxBytes", MinCacheBytes, MaxCacheBytes, DefaultCacheBytes)
	if err != nil {
		return 0, 0, err
	}
	return int(n), int(sz), nil
}

func parseAuthorizers(top obj, stageVars []StageVariable) (map[string]*Authorizer, error) {
	v, ok := top.fields["authorizers"]
	if !ok {
		return nil, errors.New("authorizers: required")
	}
	if !v.IsObject() {
		return nil, fmt.Errorf("authorizers: must be an object, got %s", got(v))
	}
	out := make(map[string]*Authorizer)
	var err error
	// Walk in document order so the first bad authorizer is reported.
	v.ForEach(func(k, val gjson.Result) bool {
		n := k.String()
		path := join("authorizers", n)
		switch {
		case out[n] != nil:
			err = fmt.Errorf("%s: duplicate key", path)
		case n == "" || !allBytes(n, isNameChar):
			err = fmt.Errorf("%s: name must be letters, digits, '-' and '_'", path)
		case n == NoAuthorizer:
			err = fmt.Errorf("%s: name is reserved for routes without an authorizer", path)
		default:
			var a *Authorizer
			if a, err = parseAuthorizer(n, val, path, stageVars); err == nil {
				out[n] = a
			}
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func parseAuthorizer(name string, v gjson.Result, path string, stageVars []StageVariable) (*Authorizer, error) {
	o, err := object(v, path, []string{
		"type", "cluster", "path", "authority", "timeoutMs", "identitySource",
		"identityValidationExpression", "authorizerResultTtlInSeconds",
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
	if a.Cluster, err = o.str("cluster", true, ""); err != nil {
		return nil, err
	}
	if a.Cluster == "" || hasControlOrSpace(a.Cluster) {
		return nil, fmt.Errorf("%s.cluster: must be a non-empty name without spaces or control bytes, got %q", path, a.Cluster)
	}
	if a.Path, err = o.str("path", false, "/"); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(a.Path, "/") || hasControlOrSpace(a.Path) || strings.Contains(a.Path, "#") {
		return nil, fmt.Errorf("%s.path: must start with \"/\" and have no spaces, control bytes or \"#\", got %q", path, a.Path)
	}
	if a.Authority, err = o.str("authority", false, a.Cluster); err != nil {
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
		if a.IdentitySources, err = parseRequestSources(src, srcPath, stageVars); err != nil {
			return nil, err
		}
		if len(a.IdentitySources) == 0 {
			// Without identity sources every caller would share one cache
			// key, so one caller's policy would answer for everyone.
			if o.has("authorizerResultTtlInSeconds") && ttl > 0 {
				return nil, fmt.Errorf("%s.authorizerResultTtlInSeconds: caching needs an identitySource; set it or set 0", path)
			}
			a.TTL = 0
		}
	}
	if o.has("identityValidationExpression") {
		p := path + ".identityValidationExpression"
		if a.Type != TypeToken {
			return nil, fmt.Errorf("%s: only TOKEN authorizers take one", p)
		}
		expr, err := o.str("identityValidationExpression", true, "")
		if err != nil {
			return nil, err
		}
		if expr == "" {
			return nil, fmt.Errorf("%s: must not be empty; leave it out to accept any token", p)
		}
		if a.IdentityValidation, err = regexp.Compile(expr); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return a, nil
}

// parseTokenSource accepts exactly one header source.
func parseTokenSource(src, path string) ([]IdentitySource, error) {
	h, ok := strings.CutPrefix(src, PrefixHeader)
	if !ok || !isHeaderName(h) {
		return nil, fmt.Errorf("%s: a TOKEN authorizer takes exactly one %sX with X a header name, got %q", path, PrefixHeader, src)
	}
	return []IdentitySource{{Kind: SourceHeader, Name: strings.ToLower(h)}}, nil
}

// parseRequestSources parses a comma-separated list; an empty string is an
// empty list.
func parseRequestSources(src, path string, stageVars []StageVariable) ([]IdentitySource, error) {
	if strings.Trim(src, " ") == "" {
		return nil, nil
	}
	var out []IdentitySource
	for i, part := range strings.Split(src, ",") {
		e := strings.Trim(part, " ")
		var s IdentitySource
		var bad string
		switch {
		case e == "":
			return nil, fmt.Errorf("%s: entry %d is empty", path, i+1)
		case strings.HasPrefix(e, PrefixHeader):
			s = IdentitySource{Kind: SourceHeader, Name: strings.ToLower(e[len(PrefixHeader):])}
			if !isHeaderName(s.Name) {
				bad = "a header name"
			}
		case strings.HasPrefix(e, PrefixQuery):
			s = IdentitySource{Kind: SourceQuery, Name: e[len(PrefixQuery):]}
			if s.Name == "" || hasControlOrSpace(s.Name) {
				bad = "a query parameter name"
			}
		case strings.HasPrefix(e, PrefixStage):
			s = IdentitySource{Kind: SourceStage, Name: e[len(PrefixStage):]}
			if !slices.ContainsFunc(stageVars, func(v StageVariable) bool { return v.Name == s.Name }) {
				// An undefined stage variable would answer every request 401.
				return nil, fmt.Errorf("%s: %q names a stage variable that stageVariables does not define", path, e)
			}
		case strings.HasPrefix(e, PrefixContext):
			s = IdentitySource{Kind: SourceContext, Name: e[len(PrefixContext):]}
			if !contains(ContextVariables, s.Name) {
				return nil, fmt.Errorf("%s: %q is not a supported context variable (one of %s)", path, e, strings.Join(ContextVariables, ", "))
			}
		default:
			return nil, fmt.Errorf("%s: %q must start with %s, %s, %s or %s", path, e, PrefixHeader, PrefixQuery, PrefixStage, PrefixContext)
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

func parseRoutes(top obj, auths map[string]*Authorizer) ([]Route, *arn.Router, error) {
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
	templates := make([]arn.Route, len(items))
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
		templates[i] = arn.Route{Method: r.Method, Template: r.Path}
	}
	router, err := arn.NewRouter(templates)
	if err != nil {
		return nil, nil, err
	}
	return routes, router, nil
}
