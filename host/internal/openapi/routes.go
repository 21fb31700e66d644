package openapi

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/route"
)

// anyMethodKey is API Gateway's operation for every method.
const anyMethodKey = "x-amazon-apigateway-any-method"

// routeOut is one carried route.
type routeOut struct {
	method, path, authorizer string
}

// operations maps a path item's operation keys to route methods. TRACE is
// absent: API Gateway has no such method.
var operations = map[string]string{
	"get": "GET", "put": "PUT", "post": "POST", "delete": "DELETE",
	"options": "OPTIONS", "head": "HEAD", "patch": "PATCH", anyMethodKey: route.AnyMethod,
}

// readPaths turns every path and operation into a route, in document order.
func (im *importer) readPaths(root obj) error {
	v, ok := root.get("paths")
	if !ok {
		return nil
	}
	paths, err := im.object(v)
	if err != nil {
		return err
	}
	global, hasGlobal := root.get("security")
	seen := make(map[string]string) // method and template shape -> JSON path of the first
	for _, p := range paths.keys {
		item, err := im.object(paths.vals[p])
		if err != nil {
			return err
		}
		if err := im.readPathItem(p, item, global, hasGlobal, seen); err != nil {
			return err
		}
	}
	return nil
}

func (im *importer) readPathItem(p string, item obj, global value, hasGlobal bool, seen map[string]string) error {
	isDefault := im.http && p == "/$default"
	template := p
	if !isDefault {
		if len(template) > 1 && strings.HasSuffix(template, "/") {
			template = strings.TrimRight(template, "/")
			if template == "" {
				template = "/"
			}
			im.warn(item.path, "read as %q: route templates have no trailing slash (the gateway ignores one in requests)", template)
		}
		if _, err := route.NewRouter([]route.Route{{Method: route.AnyMethod, Template: template}}); err != nil {
			_, msg, _ := strings.Cut(err.Error(), ": ")
			im.warn(item.path, "left out, so the gateway refuses requests to it: not a route template: %s", msg)
			return nil
		}
	}
	for _, k := range item.keys {
		v := item.vals[k]
		method, isOp := operations[k]
		switch {
		case isOp:
		case k == "trace":
			im.warn(v.path, "left out: API Gateway has no TRACE method")
			continue
		case k == "$ref":
			im.warn(v.path, "not followed: the operations of a path item given by $ref are left out")
			continue
		case k == "summary" || k == "description" || k == "servers" || k == "parameters":
			continue
		case strings.HasPrefix(k, "x-amazon-apigateway-"):
			im.warn(v.path, "ignored: no counterpart in the gateway configuration")
			continue
		case strings.HasPrefix(k, "x-"):
			continue
		default:
			im.warn(v.path, "ignored: not an operation (OpenAPI names methods in lower case)")
			continue
		}
		op, err := im.object(v)
		if err != nil {
			return err
		}
		if err := im.readOperation(method, template, op, isDefault, global, hasGlobal, seen); err != nil {
			return err
		}
	}
	return nil
}

func (im *importer) readOperation(method, template string, op obj, isDefaultPath bool, global value, hasGlobal bool, seen map[string]string) error {
	isDefault := isDefaultPath
	for _, k := range op.keys {
		v := op.vals[k]
		switch k {
		case "x-amazon-apigateway-integration":
			im.warn(v.path, "not carried over: the integration; Envoy routes the request upstream itself")
		case "x-amazon-apigateway-request-validator":
			im.warn(v.path, "not carried over: request validation; the upstream receives requests unvalidated")
		case "x-amazon-apigateway-auth":
			// Read with security below.
		case "isDefaultRoute":
			b, err := im.boolean(v)
			if err != nil {
				return err
			}
			switch {
			case !b:
			case !im.http:
				im.warn(v.path, "ignored: REST APIs have no $default route")
			case method != route.AnyMethod:
				im.warn(v.path, "ignored: only %s can be the $default route", anyMethodKey)
			default:
				isDefault = true
			}
		default:
			if strings.HasPrefix(k, "x-amazon-apigateway-") {
				im.warn(v.path, "ignored: no counterpart in the gateway configuration")
			}
		}
	}
	if isDefault && method != route.AnyMethod {
		im.warn(op.path, "left out: the $default route takes every method; write it as %s", anyMethodKey)
		return nil
	}
	key := method + " " + shape(template)
	if isDefault {
		key = config.DefaultRouteKey
	}
	if first, dup := seen[key]; dup {
		im.warn(op.path, "left out: the same route as %s", first)
		return nil
	}
	seen[key] = op.path
	name, ok, err := im.readSecurity(op, global, hasGlobal)
	if err != nil || !ok {
		return err
	}
	r := &routeOut{method: method, path: template, authorizer: name}
	if isDefault {
		im.defaultRoute = r
		return nil
	}
	im.routes = append(im.routes, r)
	return nil
}

// shape is a template with its parameter names erased: two templates of
// one shape are the same route ("/pets/{id}" and "/pets/{petId}").
func shape(t string) string {
	segs := strings.Split(t, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "{}"
			if strings.HasSuffix(s, "+}") {
				segs[i] = "{+}"
			}
		}
	}
	return strings.Join(segs, "/")
}

// alternative is one entry of a security requirement list: schemes that
// must all pass.
type alternative struct {
	label     string // its schemes, "a + b"
	lambdas   []*scheme
	apiKeys   []string
	blockers  []string // what authgate cannot enforce
	anonymous bool     // {}: no authorization
}

// readSecurity finds the authorizer of an operation: the first alternative
// of its security (or the document's) that is one Lambda authorizer, with
// API keys at most beside it. ok is false when the route is left out:
// when it needs only what authgate cannot enforce, it is refused rather
// than opened.
func (im *importer) readSecurity(op obj, global value, hasGlobal bool) (string, bool, error) {
	sv, has := op.get("security")
	where := ""
	if !has && hasGlobal {
		sv, has, where = global, true, " (the document's security)"
	}
	if av, ok := op.get("x-amazon-apigateway-auth"); ok {
		ao, err := im.object(av)
		if err != nil {
			return "", false, err
		}
		t := ""
		if tv, ok := ao.get("type"); ok {
			if t, err = im.str(tv); err != nil {
				return "", false, err
			}
		}
		switch strings.ToUpper(t) {
		case "AWS_IAM":
			im.warn(av.path, "left out, so the gateway refuses it: IAM (SigV4) authorization is not carried over")
			return "", false, nil
		case "NONE":
			if has {
				im.warn(av.path, "ignored: the security requirement decides")
			}
		default:
			im.warn(av.path, "left out, so the gateway refuses it: unknown authorization type %q", t)
			return "", false, nil
		}
	}
	if !has {
		im.warn(op.path, "no authorizer: the route is open (NONE), as it is in API Gateway")
		return config.NoAuthorizer, true, nil
	}
	items, err := im.list(sv)
	if err != nil {
		return "", false, err
	}
	if len(items) == 0 {
		im.warn(op.path, "no authorizer: security is empty%s, so the route is open (NONE), as it is in API Gateway", where)
		return config.NoAuthorizer, true, nil
	}
	alts := make([]alternative, len(items))
	for i, it := range items {
		req, err := im.object(it)
		if err != nil {
			return "", false, err
		}
		alt := alternative{label: strings.Join(req.keys, " + "), anonymous: len(req.keys) == 0}
		for _, n := range req.keys {
			s := im.schemes[n]
			switch {
			case s == nil:
				alt.blockers = append(alt.blockers, fmt.Sprintf("security scheme %q, which the definition does not define", n))
			case s.kind == kindLambda && s.auth != nil:
				alt.lambdas = append(alt.lambdas, s)
			case s.kind == kindAPIKey:
				alt.apiKeys = append(alt.apiKeys, n)
			default:
				alt.blockers = append(alt.blockers, s.what)
			}
		}
		if len(alt.lambdas) > 1 {
			alt.blockers = append(alt.blockers, "two Lambda authorizers at once")
		}
		alts[i] = alt
	}
	for i, alt := range alts {
		if len(alt.blockers) > 0 || len(alt.lambdas) != 1 {
			continue
		}
		a := alt.lambdas[0].auth
		if len(alt.apiKeys) > 0 {
			im.warn(op.path, "the API key (%s) is not enforced%s; authorizer %q still decides", strings.Join(alt.apiKeys, ", "), where, a.name)
		}
		var others []string
		for j, o := range alts {
			if j != i {
				others = append(others, cmp.Or(o.label, "{}"))
			}
		}
		if len(others) > 0 {
			im.warn(op.path, "only the security alternative %s is carried over%s: a route has one authorizer, so requests that meet only %s are refused",
				alt.label, where, strings.Join(others, " or "))
		}
		return a.name, true, nil
	}
	for _, alt := range alts {
		if alt.anonymous {
			im.warn(op.path, "no authorizer: security allows anonymous access%s, so the route is open (NONE)", where)
			return config.NoAuthorizer, true, nil
		}
	}
	why := "nothing but an API key, which is not enforced"
	if b := alts[0].blockers; len(b) > 0 {
		why = strings.Join(b, " and ")
	}
	im.warn(op.path, "left out, so the gateway refuses it: it requires %s%s", why, where)
	return "", false, nil
}
