package openapi

import (
	"regexp"
	"slices"
	"strings"
)

// response is one carried gateway response. Parameters are sorted by
// key; templates keep document order, because the first one answers a
// client that accepts none of their media types.
type response struct {
	typ        string
	statusCode string
	params     []pair
	templates  []pair
}

type pair struct{ key, val string }

func (r *response) object() *object {
	o := &object{}
	if r.statusCode != "" {
		o.set("statusCode", r.statusCode)
	}
	if len(r.params) > 0 {
		ps := slices.Clone(r.params)
		slices.SortFunc(ps, func(a, b pair) int { return strings.Compare(a.key, b.key) })
		po := &object{}
		for _, p := range ps {
			po.set(p.key, p.val)
		}
		o.set("responseParameters", po)
	}
	if len(r.templates) > 0 {
		to := &object{}
		for _, t := range r.templates {
			to.set(t.key, t.val)
		}
		o.set("responseTemplates", to)
	}
	return o
}

// templateStageVar finds $stageVariables.NAME in a template.
var templateStageVar = regexp.MustCompile(`\$stageVariables\.([A-Za-z0-9_]+)`)

// readResponses carries over x-amazon-apigateway-gateway-responses. Each
// response type, status code, header and template is checked on its own
// with config.Parse, so one the gateway cannot give drops alone.
func (im *importer) readResponses(root obj) error {
	v, ok := root.get("x-amazon-apigateway-gateway-responses")
	if !ok {
		return nil
	}
	if im.http {
		im.warn(v.path, "not carried over: HTTP APIs have no gateway responses")
		return nil
	}
	all, err := im.object(v)
	if err != nil {
		return err
	}
	for _, t := range all.keys {
		ro, err := im.object(all.vals[t])
		if err != nil {
			return err
		}
		prefix := join("gatewayResponses", t)
		if err := im.checkResponse(&response{typ: t}, prefix); err != nil {
			im.warn(ro.path, "not carried over: %v", err)
			continue
		}
		r := &response{typ: t}
		for _, k := range ro.keys {
			kv := ro.vals[k]
			switch k {
			case "statusCode":
				s, tag, err := im.scalar(kv)
				if err != nil {
					return err
				}
				if tag != "!!int" && tag != "!!str" {
					im.warn(kv.path, "not carried over: not a status code")
					continue
				}
				try := &response{typ: t, statusCode: s}
				if err := im.checkResponse(try, prefix); err != nil {
					im.warn(kv.path, "not carried over: %v", err)
					continue
				}
				r.statusCode = s
			case "responseParameters", "responseTemplates":
				if err := im.readResponseMap(r, k, kv, prefix); err != nil {
					return err
				}
			default:
				im.warn(kv.path, "ignored: not a property of gateway responses")
			}
		}
		if r.statusCode != "" || len(r.params) > 0 || len(r.templates) > 0 {
			im.responses = append(im.responses, r)
		}
	}
	slices.SortFunc(im.responses, func(a, b *response) int { return strings.Compare(a.typ, b.typ) })
	return nil
}

// readResponseMap reads responseParameters or responseTemplates into r,
// each entry checked alone.
func (im *importer) readResponseMap(r *response, k string, v value, prefix string) error {
	m, err := im.object(v)
	if err != nil {
		return err
	}
	params := k == "responseParameters"
	for _, key := range m.keys {
		ev := m.vals[key]
		s, err := im.str(ev)
		if err != nil {
			im.warn(ev.path, "not carried over: not a string")
			continue
		}
		dup := r.templates
		if params {
			dup = r.params
		}
		if slices.ContainsFunc(dup, func(p pair) bool { return strings.EqualFold(p.key, key) }) {
			im.warn(ev.path, "left out: %s is set twice (names are case-insensitive)", key)
			continue
		}
		if params {
			if n, ok := strings.CutPrefix(s, "stageVariables."); ok {
				im.useStageVar(n, ev.path)
			}
		} else {
			for _, m := range templateStageVar.FindAllStringSubmatch(s, -1) {
				im.useStageVar(m[1], ev.path)
			}
		}
		try := &response{typ: r.typ}
		if params {
			try.params = []pair{{key, s}}
		} else {
			try.templates = []pair{{key, s}}
		}
		if err := im.checkResponse(try, join(join(prefix, k), key)); err != nil {
			im.warn(ev.path, "not carried over: %v", err)
			continue
		}
		if params {
			r.params = append(r.params, pair{key, s})
		} else {
			r.templates = append(r.templates, pair{key, s})
		}
	}
	return nil
}

// checkResponse validates one gateway response alone.
func (im *importer) checkResponse(r *response, prefix string) error {
	rs := &object{}
	rs.set(r.typ, r.object())
	return im.check(prefix, nil, rs, nil)
}
