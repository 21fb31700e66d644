// Package openapi turns an API Gateway definition into an authgate plugin
// configuration. The definition is an OpenAPI 3.0 or Swagger 2.0 document
// with API Gateway's extensions (x-amazon-apigateway-*), in YAML or JSON,
// as `aws apigateway get-export --parameters extensions=apigateway`,
// `aws apigatewayv2 export-api` or a deployment template has it
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions.html).
//
// Lambda authorizers, routes with the authorizer each one names, and
// gateway responses are carried over; whatever is not comes back as a
// Warning naming its JSON path in the definition. A route whose
// authorization cannot be carried over (Cognito, IAM, JWT, API keys alone)
// is left out, so the gateway refuses it rather than opening it.
// docs/import.md describes every mapping.
package openapi

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/authgate/authgate/core/config"
)

// DefaultCluster is the cluster authorizers are called through when
// Options.Cluster is empty.
const DefaultCluster = "authorizer"

// Options complete what a definition does not say.
type Options struct {
	// Region, AccountID, APIID and Stage form the execute-api method ARN
	// (APIID is the restApiId of a REST API, the apiId of an HTTP API).
	// When empty they are taken from the definition where it names them:
	// region and API id from an execute-api server URL or host, the stage
	// from a one-segment base path. Nothing names the account.
	Region, AccountID, APIID, Stage string
	// Cluster is the cluster every authorizer is called through
	// (DefaultCluster when empty): the Lambda endpoint when authorizer
	// URIs are kept, else an HTTP service that answers each authorizer at
	// the path /NAME.
	Cluster string
	// APIType is config.APIRest or config.APIHTTP; empty detects it.
	APIType string
	// HTTPAuthorizers calls every authorizer over HTTP at Cluster, path
	// /NAME, even where the configuration could invoke the Lambda function
	// its authorizerUri names.
	HTTPAuthorizers bool

	// validate checks a configuration; nil means config.Parse. Tests set
	// it to see what the importer does with a configuration format that
	// accepts more.
	validate func([]byte) error
}

// Warning is something of the definition that the configuration does not
// carry, or carries differently.
type Warning struct {
	Path    string // JSON path in the definition, "" for the whole of it
	Message string
}

// String renders the warning as "path: message".
func (w Warning) String() string { return name(w.Path) + ": " + w.Message }

// errInvalidOutput marks a configuration the importer produced that
// config.Parse refuses: a bug of the importer, never of the definition.
var errInvalidOutput = errors.New("the generated configuration is invalid (a bug in the importer)")

// Import converts the definition src. It returns the configuration JSON
// (validated with config.Parse) and the warnings; on error the warnings
// found so far come back too.
func Import(src []byte, opts Options) ([]byte, []Warning, error) {
	im := &importer{opts: opts, validate: opts.validate}
	if im.validate == nil {
		im.validate = func(b []byte) error {
			_, err := config.Parse(b)
			return err
		}
	}
	if im.opts.Cluster == "" {
		im.opts.Cluster = DefaultCluster
	}
	if strings.ContainsFunc(im.opts.Cluster, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, nil, fmt.Errorf("cluster %q: must be a name without spaces or control bytes", im.opts.Cluster)
	}
	out, err := im.run(src)
	if err != nil {
		return nil, im.warns, err
	}
	return out, im.warns, nil
}

// importer holds one conversion.
type importer struct {
	reader
	opts     Options
	validate func([]byte) error
	warns    []Warning

	swagger bool // Swagger 2.0; otherwise OpenAPI 3
	http    bool // an HTTP API; otherwise REST

	region, accountID, apiID, stage string
	missing                         []string // identity fields nothing gave

	stageVars    []string           // stage variables the definition uses
	schemes      map[string]*scheme // by security scheme name
	auths        []*authorizer      // carried authorizers, by config name
	routes       []*routeOut        // in document order
	defaultRoute *routeOut          // an HTTP API's $default route
	responses    []*response        // by response type
}

func (im *importer) warn(path, format string, args ...any) {
	im.warns = append(im.warns, Warning{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (im *importer) run(src []byte) ([]byte, error) {
	root, err := im.parse(src)
	if err != nil {
		return nil, err
	}
	for _, step := range []func(obj) error{
		im.readVersion, im.readAPIType, im.readIdentity, im.readSchemes,
		im.readPaths, im.readResponses, im.readExtensions,
	} {
		if err := step(root); err != nil {
			return nil, err
		}
	}
	if len(im.missing) > 0 {
		return nil, fmt.Errorf("the definition does not name the %s: pass %s",
			strings.Join(im.missing, ", "), strings.Join(flagsOf(im.missing), " "))
	}
	if len(im.routes) == 0 && im.defaultRoute == nil {
		return nil, errors.New("no route could be carried over (see the warnings), and a configuration needs at least one")
	}
	return im.assemble()
}

// flagsOf names the command-line flags of missing identity fields.
func flagsOf(missing []string) []string {
	flags := map[string]string{"region": "--region", "account": "--account-id", "API id": "--rest-api-id", "stage": "--stage"}
	out := make([]string, len(missing))
	for i, m := range missing {
		out[i] = flags[m]
	}
	return out
}

// readVersion accepts OpenAPI 3.x and Swagger 2.0, the two API Gateway
// imports.
func (im *importer) readVersion(root obj) error {
	ov, isOAS := root.get("openapi")
	sv, isSwagger := root.get("swagger")
	switch {
	case isOAS && isSwagger:
		return errors.New(`(root): both "openapi" and "swagger" are set; a definition is one or the other`)
	case isOAS:
		s, _, err := im.scalar(ov)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(s, "3.") {
			return fmt.Errorf("openapi: API Gateway reads OpenAPI 3.0 and Swagger 2.0, got %q", s)
		}
	case isSwagger:
		s, _, err := im.scalar(sv)
		if err != nil {
			return err
		}
		if s != "2.0" {
			return fmt.Errorf("swagger: must be \"2.0\", got %q", s)
		}
		im.swagger = true
	default:
		return errors.New(`(root): neither "openapi" nor "swagger" names a version: not an OpenAPI definition`)
	}
	return nil
}

// readExtensions reports the document-level extensions that have no
// counterpart in the configuration.
func (im *importer) readExtensions(root obj) error {
	for _, k := range root.keys {
		p := root.vals[k].path
		switch k {
		case "x-amazon-apigateway-gateway-responses", "x-amazon-apigateway-importexport-version":
			// Carried over, or a format marker.
		case "x-amazon-apigateway-request-validators", "x-amazon-apigateway-request-validator":
			im.warn(p, "not carried over: request validation; the upstream receives requests unvalidated")
		case "x-amazon-apigateway-api-key-source":
			im.warn(p, "not carried over: API keys and usage plans are not enforced")
		case "x-amazon-apigateway-policy":
			im.warn(p, "not carried over: the resource policy; restrict who may call the API in Envoy (RBAC, network policy)")
		case "x-amazon-apigateway-cors":
			im.warn(p, "not carried over: CORS; answer preflight requests with Envoy's CORS filter or an OPTIONS route with authorizer NONE")
		default:
			if strings.HasPrefix(k, "x-amazon-apigateway-") {
				im.warn(p, "ignored: no counterpart in the gateway configuration")
			}
		}
	}
	return nil
}

// check validates a configuration made of the definition's identity and
// stage variables plus the given parts (nil: none; routes nil: one open
// route), and returns config.Parse's error with the config path prefix
// removed, or nil.
func (im *importer) check(prefix string, authorizers, responses *object, routes []any) error {
	if authorizers == nil {
		authorizers = &object{}
	}
	if routes == nil {
		routes = []any{routeObject(config.NoAuthorizer, "ANY", "/")}
	}
	err := im.validate(encode(im.top(authorizers, responses, routes)))
	if err == nil {
		return nil
	}
	s := err.Error()
	if rest, ok := strings.CutPrefix(s, prefix); ok && prefix != "" {
		if i := strings.Index(rest, ": "); i >= 0 {
			s = rest[i+2:]
		}
	}
	return errors.New(s)
}

// top is the configuration document with the given parts.
func (im *importer) top(authorizers, responses *object, routes []any) *object {
	o := &object{}
	if im.http {
		o.set("apiType", config.APIHTTP)
	}
	o.set("region", im.region)
	o.set("accountId", im.accountID)
	if im.http {
		o.set("apiId", im.apiID)
	} else {
		o.set("restApiId", im.apiID)
	}
	o.set("stage", im.stage)
	if len(im.stageVars) > 0 {
		sv := &object{}
		names := slices.Clone(im.stageVars)
		slices.Sort(names)
		for _, n := range names {
			sv.set(n, "")
		}
		o.set("stageVariables", sv)
	}
	if responses != nil && len(responses.members) > 0 {
		o.set("gatewayResponses", responses)
	}
	o.set("authorizers", authorizers)
	o.set("routes", routes)
	return o
}

// useStageVar records a stage variable the definition uses. Stage
// variables belong to a stage, not to the definition, so each is declared
// empty and the warning asks for its value.
func (im *importer) useStageVar(n, path string) {
	if n == "" || slices.Contains(im.stageVars, n) || !plainStageVar(n) {
		return
	}
	im.stageVars = append(im.stageVars, n)
	im.warn(path, "uses stage variable %q, which a definition does not carry: it is declared empty in stageVariables; set its value", n)
}

// plainStageVar is API Gateway's rule for stage variable names.
func plainStageVar(n string) bool {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return n != ""
}

// assemble writes the configuration: with authorizerUri kept where the
// configuration format accepts it, else calling every authorizer over HTTP.
func (im *importer) assemble() ([]byte, error) {
	routes := make([]any, 0, len(im.routes)+1)
	for _, r := range im.routes {
		routes = append(routes, routeObject(r.authorizer, r.method, r.path))
	}
	if r := im.defaultRoute; r != nil {
		routes = append(routes, routeObject(r.authorizer, "ANY", config.DefaultRouteKey))
	}
	responses := &object{}
	for _, r := range im.responses {
		responses.set(r.typ, r.object())
	}

	lambda := im.lambdaAccepted(responses, routes)
	for _, a := range im.auths {
		if a.credsPath != "" && (!lambda || a.uri == "") {
			im.warn(a.credsPath, "not carried over: the role API Gateway assumes to invoke the function; authorizer %q is called over HTTP", a.name)
		}
	}
	out := encode(im.top(im.authorizerObjects(lambda), responses, routes))
	if err := im.validate(out); err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidOutput, err)
	}
	return out, nil
}

// lambdaAccepted reports whether every authorizer with an authorizerUri
// can invoke its function: each alone first, so a refusal names its own
// reason, then all together (one cluster cannot serve Lambda and HTTP
// authorizers, nor Lambda in two regions). Otherwise it explains, on every
// authorizerUri, why it is kept nowhere.
func (im *importer) lambdaAccepted(responses *object, routes []any) bool {
	var withURI []*authorizer
	for _, a := range im.auths {
		if a.uri != "" {
			withURI = append(withURI, a)
		}
	}
	if len(withURI) == 0 {
		return false
	}
	reasons := make(map[*authorizer]string)
	switch {
	case im.opts.HTTPAuthorizers:
		for _, a := range withURI {
			reasons[a] = "HTTP authorizers were asked for (--http-authorizers)"
		}
	default:
		for _, a := range withURI {
			auths := &object{}
			auths.set(a.name, im.authorizerObject(a, true))
			if err := im.check(join("authorizers", a.name), auths, nil, nil); err != nil {
				reasons[a] = err.Error()
			}
		}
		if len(reasons) > 0 {
			break
		}
		err := im.validate(encode(im.top(im.authorizerObjects(true), responses, routes)))
		if err == nil {
			return true
		}
		for _, a := range withURI {
			reasons[a] = err.Error()
		}
	}
	for _, a := range withURI {
		reason, ok := reasons[a]
		if !ok {
			reason = "another authorizer's function cannot be invoked, and one cluster serves either Lambda or HTTP authorizers"
		}
		im.warn(a.uriPath, "kept nowhere: %s; authorizer %q is called over HTTP at cluster %q, path %q",
			reason, a.name, im.opts.Cluster, a.httpPath())
	}
	return false
}

func routeObject(authorizer, method, path string) *object {
	o := &object{inline: true}
	o.set("method", method)
	o.set("path", path)
	o.set("authorizer", authorizer)
	return o
}
