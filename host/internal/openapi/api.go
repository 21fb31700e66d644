package openapi

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/authgate/authgate/core/arn"
	"github.com/authgate/authgate/core/config"
)

// signal is a feature only one API type has, where the definition has it.
type signal struct{ path, what string }

// readAPIType decides between a REST and an HTTP API. Swagger 2.0 is
// always REST (HTTP APIs import only OpenAPI 3.0). Otherwise features only
// one type has decide: authorizer types, identity source syntax and the
// $default route strongly; payload format versions and document-level
// extensions only when nothing strong is present. Strong features of both
// kinds are an error rather than a guess.
func (im *importer) readAPIType(root obj) error {
	switch im.opts.APIType {
	case config.APIHTTP:
		if im.swagger {
			return fmt.Errorf("swagger: HTTP APIs are defined in OpenAPI 3.0, not Swagger 2.0")
		}
		im.http = true
		return nil
	case config.APIRest:
		return nil
	case "":
	default:
		return fmt.Errorf("API type: must be REST or HTTP, got %q", im.opts.APIType)
	}
	if im.swagger {
		return nil
	}
	var rest, http, restWeak, httpWeak []signal
	for _, s := range im.schemeSignals(root) {
		switch s.what {
		case "a TOKEN authorizer", "a REST identity source":
			rest = append(rest, s)
		case "an authorizer payload format version":
			httpWeak = append(httpWeak, s)
		default:
			http = append(http, s)
		}
	}
	if ps, ok := im.optObject(root, "paths"); ok {
		for _, p := range ps.keys {
			item, ok := im.tryObject(ps.vals[p])
			if !ok {
				continue
			}
			if p == "/$default" {
				http = append(http, signal{item.path, "the $default route"})
			}
			for _, m := range item.keys {
				op, ok := im.tryObject(item.vals[m])
				if !ok {
					continue
				}
				if v, ok := op.get("isDefaultRoute"); ok && m == anyMethodKey {
					if b, err := im.boolean(v); err == nil && b {
						http = append(http, signal{v.path, "the $default route"})
					}
				}
				if in, ok := im.optObject(op, "x-amazon-apigateway-integration"); ok {
					if v, ok := in.get("payloadFormatVersion"); ok {
						httpWeak = append(httpWeak, signal{v.path, "an integration payload format"})
					}
				}
			}
		}
	}
	for _, k := range root.keys {
		switch k {
		case "x-amazon-apigateway-cors":
			httpWeak = append(httpWeak, signal{root.vals[k].path, "CORS configuration"})
		case "x-amazon-apigateway-gateway-responses", "x-amazon-apigateway-request-validators", "x-amazon-apigateway-api-key-source":
			restWeak = append(restWeak, signal{root.vals[k].path, k})
		}
	}
	switch {
	case len(rest) > 0 && len(http) > 0:
		return fmt.Errorf("the definition has both REST API features (%s at %s) and HTTP API features (%s at %s); choose with --api-type",
			rest[0].what, rest[0].path, http[0].what, http[0].path)
	case len(http) > 0:
		im.http = true
	case len(rest) == 0 && len(httpWeak) > 0 && len(restWeak) == 0:
		im.http = true
	}
	return nil
}

// schemeSignals reads the Lambda authorizers' API-type features: TOKEN and
// REST identity sources, or payload versions, HTTP identity sources and
// JWT authorizers.
func (im *importer) schemeSignals(root obj) []signal {
	var out []signal
	comps, ok := im.optObject(root, "components")
	if !ok {
		return nil
	}
	schemes, ok := im.optObject(comps, "securitySchemes")
	if !ok {
		return nil
	}
	for _, n := range schemes.keys {
		s, ok := im.tryObject(schemes.vals[n])
		if !ok {
			continue
		}
		a, ok := im.optObject(s, "x-amazon-apigateway-authorizer")
		if !ok {
			continue
		}
		if v, ok := a.get("type"); ok {
			t, _ := im.str(v)
			switch strings.ToLower(t) {
			case "token":
				out = append(out, signal{v.path, "a TOKEN authorizer"})
			case "jwt":
				out = append(out, signal{v.path, "a JWT authorizer"})
			}
		}
		if v, ok := a.get("authorizerPayloadFormatVersion"); ok {
			out = append(out, signal{v.path, "an authorizer payload format version"})
		}
		if v, ok := a.get("identitySource"); ok {
			for _, src := range im.sourceList(v) {
				switch {
				case strings.HasPrefix(src, "$"):
					out = append(out, signal{v.path, "an HTTP identity source"})
				case strings.HasPrefix(src, config.PrefixHeader), strings.HasPrefix(src, config.PrefixQuery),
					strings.HasPrefix(src, config.PrefixStage), strings.HasPrefix(src, config.PrefixContext):
					out = append(out, signal{v.path, "a REST identity source"})
				}
			}
		}
	}
	return out
}

// sourceList reads an identitySource: a comma-separated string, or a list
// of strings as HTTP API exports may write it; nil when it is neither.
func (im *importer) sourceList(v value) []string {
	var parts []string
	if s, err := im.str(v); err == nil {
		parts = strings.Split(s, ",")
	} else if items, err := im.list(v); err == nil {
		for _, it := range items {
			s, err := im.str(it)
			if err != nil {
				return nil
			}
			parts = append(parts, strings.Split(s, ",")...)
		}
	}
	var out []string
	for _, p := range parts {
		if p = strings.Trim(p, " \t"); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// tryObject reads a mapping, or reports false (the main pass reports why).
func (im *importer) tryObject(v value) (obj, bool) {
	o, err := im.object(v)
	return o, err == nil
}

// optObject reads the mapping at key, false when absent or not a mapping.
func (im *importer) optObject(o obj, key string) (obj, bool) {
	v, ok := o.get(key)
	if !ok {
		return obj{}, false
	}
	return im.tryObject(v)
}

// executeAPIHost matches the default endpoint of an API:
// {api-id}.execute-api.{region}.amazonaws.com (.com.cn in China).
var executeAPIHost = regexp.MustCompile(`^([0-9a-z]+)\.execute-api\.([0-9a-z-]+)\.amazonaws\.com(\.cn)?$`)

// readIdentity settles region, account, API id and stage: the options
// first, then what the definition's server says about itself. What stays
// unknown is reported at the end (after every warning) and a valid
// stand-in keeps the other checks going.
func (im *importer) readIdentity(root obj) error {
	host, hostPath, base, basePath := im.server(root)
	var fromHost []string
	if m := executeAPIHost.FindStringSubmatch(host); m != nil {
		fromHost = m[1:3]
	}
	fields := []struct {
		label, opt string
		dst        *string
		derived    string
		from       string
		check      func(string) error
		standIn    string
	}{
		{"region", im.opts.Region, &im.region, at(fromHost, 1), hostPath, arn.CheckRegion, "us-east-1"},
		{"account", im.opts.AccountID, &im.accountID, "", "", arn.CheckAccountID, "123456789012"},
		{"API id", im.opts.APIID, &im.apiID, at(fromHost, 0), hostPath, arn.CheckAPIID, "a1b2c3d4e5"},
		{"stage", im.opts.Stage, &im.stage, stageOf(base), basePath, im.checkStage, "prod"},
	}
	for _, f := range fields {
		switch {
		case f.opt != "":
			if err := f.check(f.opt); err != nil {
				return fmt.Errorf("%s (%s): %w", f.label, flagsOf([]string{f.label})[0], err)
			}
			*f.dst = f.opt
		case f.derived != "" && f.check(f.derived) == nil:
			*f.dst = f.derived
			im.warn(f.from, "%s %q taken from here; pass %s to choose another", f.label, f.derived, flagsOf([]string{f.label})[0])
		case f.label == "stage" && im.http:
			// HTTP APIs serve their $default stage at the root.
			*f.dst = config.DefaultRouteKey
		default:
			im.missing = append(im.missing, f.label)
			*f.dst = f.standIn
		}
	}
	return nil
}

func (im *importer) checkStage(s string) error {
	if im.http && s == config.DefaultRouteKey {
		return nil
	}
	return arn.CheckStage(s)
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

// stageOf returns the stage a base path names: its one segment.
func stageOf(base string) string {
	s := strings.Trim(base, "/")
	if s == "" || strings.Contains(s, "/") {
		return ""
	}
	return s
}

// server returns the host and base path the definition gives for the API,
// with their JSON paths: Swagger's host and basePath, or the first OpenAPI
// server URL with its variables' defaults substituted.
func (im *importer) server(root obj) (host, hostPath, base, basePath string) {
	if im.swagger {
		if v, ok := root.get("host"); ok {
			host, _ = im.str(v)
			hostPath = v.path
		}
		if v, ok := root.get("basePath"); ok {
			base, _ = im.str(v)
			basePath = v.path
		}
		return host, hostPath, base, basePath
	}
	sv, ok := root.get("servers")
	if !ok {
		return "", "", "", ""
	}
	servers, err := im.list(sv)
	if err != nil || len(servers) == 0 {
		return "", "", "", ""
	}
	s, ok := im.tryObject(servers[0])
	if !ok {
		return "", "", "", ""
	}
	uv, ok := s.get("url")
	if !ok {
		return "", "", "", ""
	}
	raw, err := im.str(uv)
	if err != nil {
		return "", "", "", ""
	}
	if vars, ok := im.optObject(s, "variables"); ok {
		for _, k := range vars.keys {
			vo, ok := im.tryObject(vars.vals[k])
			if !ok {
				continue
			}
			if dv, ok := vo.get("default"); ok {
				if d, err := im.str(dv); err == nil {
					raw = strings.ReplaceAll(raw, "{"+k+"}", d)
				}
			}
		}
	}
	if strings.Contains(raw, "{") {
		return "", "", "", ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", "", ""
	}
	return u.Hostname(), uv.path, u.Path, uv.path
}
