// Package config parses and validates the plugin configuration once into an
// immutable Plan. The same JSON configures the Envoy filter, the wasm host and
// the native middleware. Every error names the JSON path of the bad field
// ("authorizers.jwt.authorizerResultTtlInSeconds: must be 0..3600, got 7200").
package config

import (
	"regexp"
	"time"

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
	NoAuthorizer          = "NONE"
)

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
func Parse(b []byte) (*Plan, error) { panic("TODO") }
