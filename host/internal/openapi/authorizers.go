package openapi

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/authgate/authgate/core/config"
)

// kindOf is what a security scheme means to API Gateway.
type kindOf uint8

const (
	kindLambda  kindOf = iota // x-amazon-apigateway-authorizer of type token or request
	kindCognito               // type cognito_user_pools
	kindIAM                   // x-amazon-apigateway-authtype awsSigv4
	kindJWT                   // type jwt (HTTP APIs)
	kindAPIKey                // a plain apiKey scheme: API Gateway's API key
	kindOther                 // anything API Gateway would not enforce as such
)

// scheme is one security scheme of the definition.
type scheme struct {
	name string
	kind kindOf
	auth *authorizer // the carried Lambda authorizer; nil when not carried
	what string      // how a route that needs it names it when left out
}

// authorizer is one carried Lambda authorizer.
type authorizer struct {
	name           string // in the configuration
	typ            string // config.TypeToken or config.TypeRequest
	identitySource string // comma-separated, "" for none
	validation     string // identityValidationExpression, "" for none
	ttl            int
	payload        string // HTTP APIs: "1.0" or "2.0"
	simple         bool
	partial        bool   // an identity source was left out
	uri, uriPath   string // authorizerUri, when a string
	creds          string // authorizerCredentials, when a string
	credsPath      string
}

// httpPath is the path the authorizer is called at over HTTP: one cluster
// serves every authorizer, each at its own path.
func (a *authorizer) httpPath() string { return "/" + a.name }

// authorizerObjects renders the carried authorizers sorted by name, with
// their authorizerUri when lambda is set.
func (im *importer) authorizerObjects(lambda bool) *object {
	out := &object{}
	auths := slices.Clone(im.auths)
	slices.SortFunc(auths, func(a, b *authorizer) int { return strings.Compare(a.name, b.name) })
	for _, a := range auths {
		out.set(a.name, im.authorizerObject(a, lambda && a.uri != ""))
	}
	return out
}

func (im *importer) authorizerObject(a *authorizer, lambda bool) *object {
	o := &object{}
	o.set("type", a.typ)
	o.set("cluster", im.opts.Cluster)
	if lambda {
		o.set("authorizerUri", a.uri)
		if a.creds != "" {
			o.set("authorizerCredentials", a.creds)
		}
	} else {
		o.set("path", a.httpPath())
	}
	if a.identitySource != "" {
		o.set("identitySource", a.identitySource)
	}
	if a.validation != "" {
		o.set("identityValidationExpression", a.validation)
	}
	o.set("authorizerResultTtlInSeconds", a.ttl)
	if im.http {
		o.set("authorizerPayloadFormatVersion", a.payload)
		if a.simple {
			o.set("enableSimpleResponses", true)
		}
	}
	return o
}

// readSchemes reads securitySchemes (OpenAPI 3) or securityDefinitions
// (Swagger 2.0) and carries over the Lambda authorizers among them.
func (im *importer) readSchemes(root obj) error {
	im.schemes = make(map[string]*scheme)
	var v value
	var ok bool
	if im.swagger {
		v, ok = root.get("securityDefinitions")
	} else if cv, has := root.get("components"); has {
		comps, err := im.object(cv)
		if err != nil {
			return err
		}
		v, ok = comps.get("securitySchemes")
	}
	if !ok {
		return nil
	}
	o, err := im.object(v)
	if err != nil {
		return err
	}
	taken := make(map[string]bool)
	for _, n := range o.keys {
		s, err := im.readScheme(n, o.vals[n], taken)
		if err != nil {
			return err
		}
		im.schemes[n] = s
	}
	return nil
}

func (im *importer) readScheme(n string, v value, taken map[string]bool) (*scheme, error) {
	o, err := im.object(v)
	if err != nil {
		return nil, err
	}
	s := &scheme{name: n, kind: kindOther}
	refuse := func(what string) (*scheme, error) {
		s.what = what
		im.warn(o.path, "not carried over: %s; routes that require it are left out, so the gateway refuses them", what)
		return s, nil
	}
	if _, ok := o.get("$ref"); ok {
		return refuse("a security scheme given by $ref, which is not followed")
	}
	authtype := ""
	if v, ok := o.get("x-amazon-apigateway-authtype"); ok {
		if authtype, err = im.str(v); err != nil {
			return nil, err
		}
	}
	typ := ""
	if v, ok := o.get("type"); ok {
		if typ, err = im.str(v); err != nil {
			return nil, err
		}
	}
	if av, ok := o.get("x-amazon-apigateway-authorizer"); ok {
		a, err := im.object(av)
		if err != nil {
			return nil, err
		}
		tv, ok := a.get("type")
		if !ok {
			return nil, fmt.Errorf("%s: required", join(a.path, "type"))
		}
		t, err := im.str(tv)
		if err != nil {
			return nil, err
		}
		switch strings.ToLower(t) {
		case "token", "request":
			s.kind = kindLambda
			return im.readLambda(s, o, a, strings.ToUpper(t), taken)
		case "cognito_user_pools":
			s.kind = kindCognito
			return refuse("Amazon Cognito user pool authorization")
		case "jwt":
			s.kind = kindJWT
			return refuse("a JWT authorizer")
		}
		return refuse(fmt.Sprintf("an authorizer of type %q", t))
	}
	switch {
	case strings.EqualFold(authtype, "awsSigv4"):
		s.kind = kindIAM
		return refuse("IAM (SigV4) authorization")
	case typ == "apiKey" && authtype == "":
		s.kind = kindAPIKey
		s.what = "an API key"
		im.warn(o.path, "not carried over: API keys (and the usage plans behind them) are not enforced; a route that requires nothing but an API key is left out")
		return s, nil
	}
	return refuse(fmt.Sprintf("scheme type %q, which API Gateway does not enforce as an authorizer", typ))
}

// readLambda carries over one Lambda authorizer; s.auth stays nil when it
// cannot be.
func (im *importer) readLambda(s *scheme, so, a obj, typ string, taken map[string]bool) (*scheme, error) {
	s.what = fmt.Sprintf("Lambda authorizer %q", s.name)
	if im.http && typ == config.TypeToken {
		im.warn(a.path, "not carried over: HTTP API Lambda authorizers are REQUEST authorizers; routes that require it are left out, so the gateway refuses them")
		return s, nil
	}
	for _, k := range a.keys {
		switch k {
		case "type", "authorizerUri", "authorizerCredentials", "identitySource", "identityValidationExpression",
			"authorizerResultTtlInSeconds", "authorizerPayloadFormatVersion", "enableSimpleResponses":
		default:
			im.warn(a.vals[k].path, "ignored: not a property of Lambda authorizers")
		}
	}
	au := &authorizer{name: im.configName(s.name, so.path, taken), typ: typ, ttl: config.DefaultTTLSeconds}
	if ok, err := im.readSources(au, so, a); err != nil || !ok {
		return s, err
	}
	if err := im.readCaching(au, a); err != nil {
		return s, err
	}
	if err := im.readPayload(au, a); err != nil {
		return s, err
	}
	if err := im.readValidation(au, a); err != nil {
		return s, err
	}
	for _, f := range []struct {
		key       string
		dst, path *string
	}{{"authorizerUri", &au.uri, &au.uriPath}, {"authorizerCredentials", &au.creds, &au.credsPath}} {
		v, ok := a.get(f.key)
		if !ok {
			continue
		}
		if s, err := im.str(v); err == nil && s != "" {
			*f.dst, *f.path = s, v.path
			continue
		}
		im.warn(v.path, "kept nowhere: not a plain string (a template expression is resolved only at deployment)")
	}
	s.auth = au
	im.auths = append(im.auths, au)
	return s, nil
}

// configName turns a scheme name into an authorizer name the configuration
// accepts, unique among the authorizers.
func (im *importer) configName(n, path string, taken map[string]bool) string {
	b := []byte(n)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	out := string(b)
	if out == "" || out == config.NoAuthorizer {
		out += "_authorizer"
	}
	for i := 2; taken[out]; i++ {
		out = string(b) + "_" + strconv.Itoa(i)
	}
	taken[out] = true
	if out != n {
		im.warn(path, "named %q in the configuration: authorizer names are unique, not NONE, and made of letters, digits, '-' and '_'", out)
	}
	return out
}

// readSources reads identitySource. A TOKEN authorizer without one reads
// the header its scheme names (name, in: header), as API Gateway does; a
// REQUEST source the gateway cannot read is left out and turns caching
// off, so that no two callers share a cache entry they would not share in
// API Gateway. ok is false when the authorizer cannot be carried.
func (im *importer) readSources(au *authorizer, so, a obj) (ok bool, err error) {
	v, has := a.get("identitySource")
	var srcs []string
	if has {
		srcs = im.sourceList(v)
		if srcs == nil && !im.isEmptySource(v) {
			return false, fmt.Errorf("%s: must be a string or a list of strings", v.path)
		}
	} else if au.typ == config.TypeToken {
		header := "Authorization"
		if in, ok := so.get("in"); ok {
			if s, _ := im.str(in); s == "header" {
				if nv, ok := so.get("name"); ok {
					if n, err := im.str(nv); err == nil && n != "" {
						header = n
					}
				}
			}
		}
		srcs = []string{config.PrefixHeader + header}
	}
	path := a.path
	if has {
		path = v.path
	}
	if au.typ == config.TypeToken {
		src := strings.Join(srcs, ", ")
		one := &authorizer{name: "a", typ: au.typ, identitySource: src}
		if err := im.checkAuthorizer(one); err != nil {
			im.warn(path, "not carried over: %v; routes that require this authorizer are left out, so the gateway refuses them", err)
			return false, nil
		}
		au.identitySource = src
		return true, nil
	}
	var kept []string
	seen := make(map[string]bool)
	for _, src := range srcs {
		key := src
		if strings.HasPrefix(src, config.PrefixHeader) || strings.HasPrefix(src, config.HTTPPrefixHeader) {
			key = strings.ToLower(src)
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		n, ok := strings.CutPrefix(src, config.PrefixStage)
		if im.http {
			n, ok = strings.CutPrefix(src, config.HTTPPrefixStage)
		}
		if ok && !plainStageVar(n) {
			// No stage can define it, so the source could never be
			// satisfied: every request would be answered 401.
			im.warn(path, "identity source %q left out: %q is not a stage variable name (letters, digits and _); the authorizer still receives the whole request", src, n)
			au.partial = true // caching goes off in readCaching
			continue
		}
		if ok {
			im.useStageVar(n, path)
		}
		one := &authorizer{name: "a", typ: au.typ, identitySource: src, payload: config.PayloadV2}
		if err := im.checkAuthorizer(one); err != nil {
			im.warn(path, "identity source %q left out: %v; the authorizer still receives the whole request", src, err)
			au.partial = true // caching goes off in readCaching
			continue
		}
		kept = append(kept, src)
	}
	au.identitySource = strings.Join(kept, ", ")
	return true, nil
}

// isEmptySource reports an identitySource of "" or [].
func (im *importer) isEmptySource(v value) bool {
	if s, err := im.str(v); err == nil {
		return strings.Trim(s, " ,\t") == ""
	}
	items, err := im.list(v)
	return err == nil && len(items) == 0
}

// checkAuthorizer validates one authorizer alone, with the error's path
// removed.
func (im *importer) checkAuthorizer(a *authorizer) error {
	auths := &object{}
	auths.set(a.name, im.authorizerObject(a, false))
	return im.check(join("authorizers", a.name), auths, nil, nil)
}

// readCaching reads authorizerResultTtlInSeconds (default 300, as API
// Gateway's) and turns caching off where a REQUEST authorizer has no
// complete cache key.
func (im *importer) readCaching(au *authorizer, a obj) error {
	path := a.path
	if v, ok := a.get("authorizerResultTtlInSeconds"); ok {
		n, err := im.integer(v)
		if err != nil {
			return err
		}
		if n > config.MaxTTLSeconds {
			return fmt.Errorf("%s: must be 0..%d, API Gateway's limit, got %d", v.path, config.MaxTTLSeconds, n)
		}
		au.ttl, path = n, v.path
	}
	if au.typ != config.TypeRequest || au.ttl == 0 {
		return nil
	}
	switch {
	case au.identitySource == "":
		im.warn(path, "caching turned off (0): without identity sources the authorizer's results have no cache key")
		au.ttl = 0
	case au.partial:
		im.warn(path, "caching turned off (0): an identity source was left out, and the cache key would miss it")
		au.ttl = 0
	}
	return nil
}

// readPayload reads authorizerPayloadFormatVersion and
// enableSimpleResponses, which only HTTP APIs use.
func (im *importer) readPayload(au *authorizer, a obj) error {
	v, has := a.get("authorizerPayloadFormatVersion")
	ver := ""
	if has {
		s, _, err := im.scalar(v)
		if err != nil {
			return err
		}
		ver = s
	}
	switch {
	case !im.http && has && ver != config.PayloadV1:
		im.warn(v.path, "ignored: REST API authorizers receive payload format 1.0")
	case im.http && !has:
		im.warn(a.path, "authorizerPayloadFormatVersion is not given: using %q (API Gateway's API requires it; its console defaults to the latest)", config.PayloadV2)
		ver = config.PayloadV2
	case im.http && ver != config.PayloadV1 && ver != config.PayloadV2:
		return fmt.Errorf("%s: must be \"1.0\" or \"2.0\", got %q", v.path, ver)
	}
	au.payload = ver
	sv, ok := a.get("enableSimpleResponses")
	if !ok {
		return nil
	}
	simple, err := im.boolean(sv)
	if err != nil {
		return err
	}
	switch {
	case !simple:
	case !im.http:
		im.warn(sv.path, "ignored: REST API authorizers answer with a policy")
	case ver != config.PayloadV2:
		return fmt.Errorf("%s: simple responses need authorizerPayloadFormatVersion \"2.0\"", sv.path)
	default:
		au.simple = true
	}
	return nil
}

// readValidation reads identityValidationExpression, which API Gateway
// applies to TOKEN authorizers of REST APIs only.
func (im *importer) readValidation(au *authorizer, a obj) error {
	v, ok := a.get("identityValidationExpression")
	if !ok {
		return nil
	}
	expr, err := im.str(v)
	if err != nil {
		return err
	}
	switch {
	case expr == "":
		// API Gateway reads an empty expression as none.
	case im.http:
		im.warn(v.path, "ignored: HTTP API Lambda authorizers do not validate the identity")
	case au.typ != config.TypeToken:
		im.warn(v.path, "ignored: API Gateway validates only TOKEN authorizers' tokens")
	default:
		one := &authorizer{name: "a", typ: au.typ, identitySource: au.identitySource, validation: expr}
		if err := im.checkAuthorizer(one); err != nil {
			im.warn(v.path, "not carried over: %v; every token reaches the authorizer, which still decides", err)
			return nil
		}
		au.validation = expr
	}
	return nil
}
