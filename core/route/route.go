// Package route matches request paths against API Gateway route templates
// ({name}, {proxy+}, $default) as API Gateway does, and cleans and judges
// the path first (CleanPath): what reaches the router is the one reading
// of the path every upstream shares, or the request is refused.
package route

import (
	"fmt"
	"strings"

	"github.com/authgate/authgate/core/internal/ascii"
)

// Route is one configured route template, as API Gateway writes them:
// exact segments ("/pets"), one-segment parameters ("/pets/{id}") and a final
// greedy parameter ("/{proxy+}"); Method is an HTTP verb or "ANY".
type Route struct {
	Method   string
	Template string
}

// Param is one path parameter captured by a match.
type Param struct {
	Name, Value string
}

// Match is the result of a successful route lookup.
type Match struct {
	Index    int    // index of the route in the slice given to NewRouter
	Template string // the route's template, the REQUEST event's "resource"
	Params   []Param
}

// AnyMethod is the route method that matches every request method.
const AnyMethod = "ANY"

// Methods are the verbs a route may name besides AnyMethod: the ones API
// Gateway's PutMethod accepts.
var Methods = []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}

// KnownMethod reports whether m is one of Methods, in their exact case.
// HTTP methods are case-sensitive tokens: "delete" is not DELETE to the
// gateway's router and policy, yet some upstreams upper-case it, so a
// request with any other method is refused before routing, as API Gateway
// refuses an unsupported method.
func KnownMethod(m string) bool {
	for _, k := range Methods {
		if m == k {
			return true
		}
	}
	return false
}

// Router finds the most specific route for a method and decoded path,
// independent of configuration order: exact segments before parameters before
// greedy parameters, and an exact method before ANY. It is immutable and safe
// for concurrent use.
//
// Templates are compared segment by segment from the left, so for "/a/b"
// the route "/a/{x}" beats "/{x}/b". Only routes whose method matches the
// request take part: with "POST /pets/{id}" and "ANY /{proxy+}", a GET of
// "/pets/1" goes to the greedy route. A trailing slash is ignored for
// matching ("/pets/" matches "/pets"); Format drops it from the method ARN
// for the same reason.
type Router struct {
	root   node
	routes []compiled
}

// node is one position in the template trie. Every node at depth d consumes
// segment d of the path, so a lookup visits each node at most once.
type node struct {
	literal map[string]*node
	param   *node
	greedy  *leaf // routes whose greedy parameter starts at this depth
	end     leaf  // routes that end at this depth
}

// leaf holds the routes of one template shape, by method.
type leaf struct {
	exact []methodRoute
	any   int // route index of the ANY route, -1 when there is none
}

type methodRoute struct {
	method string
	index  int
}

// compiled is a route with what a match needs to capture its parameters.
type compiled struct {
	template string
	params   []paramSpec
}

type paramSpec struct {
	name    string
	segment int // index of the segment, 0 is the first after the root
	greedy  bool
}

// NewRouter compiles route templates. It rejects malformed templates, methods
// that are not HTTP verbs or ANY, and duplicate (method, template) pairs; the
// error names the route index ("routes[3].path: ...").
func NewRouter(routes []Route) (*Router, error) {
	r := &Router{root: newNode(), routes: make([]compiled, len(routes))}
	for i, rt := range routes {
		if err := CheckRouteMethod(rt.Method); err != nil {
			return nil, fmt.Errorf("routes[%d].method: %w", i, err)
		}
		params, err := parseTemplate(rt.Template)
		if err != nil {
			return nil, fmt.Errorf("routes[%d].path: %w", i, err)
		}
		r.routes[i] = compiled{template: rt.Template, params: params}
		lf := r.insert(rt.Template)
		if prev := lf.add(rt.Method, i); prev >= 0 {
			return nil, fmt.Errorf("routes[%d]: duplicate of routes[%d] (%s %s)", i, prev, routes[prev].Method, routes[prev].Template)
		}
	}
	return r, nil
}

// CheckRouteMethod reports whether s is a method a route may name: ANY or
// one of Methods, in upper case as API Gateway spells them.
func CheckRouteMethod(s string) error {
	if s == AnyMethod {
		return nil
	}
	for _, m := range Methods {
		if s == m {
			return nil
		}
	}
	return fmt.Errorf("must be ANY or one of %s, got %s", strings.Join(Methods, ", "), ascii.QuoteShort(s))
}

func newNode() node { return node{end: leaf{any: -1}} }

// insert walks (and grows) the trie along a validated template and returns
// the leaf its routes live in.
func (r *Router) insert(template string) *leaf {
	n := &r.root
	if template == "/" {
		return &n.end
	}
	for seg := range strings.SplitSeq(template[1:], "/") {
		switch {
		case strings.HasSuffix(seg, "+}"):
			if n.greedy == nil {
				n.greedy = &leaf{any: -1}
			}
			return n.greedy
		case seg[0] == '{':
			if n.param == nil {
				c := newNode()
				n.param = &c
			}
			n = n.param
		default:
			if n.literal == nil {
				n.literal = make(map[string]*node)
			}
			c := n.literal[seg]
			if c == nil {
				nn := newNode()
				c = &nn
				n.literal[seg] = c
			}
			n = c
		}
	}
	return &n.end
}

// add records route index i for method and returns the index of an earlier
// route with the same method in this leaf, or -1.
func (l *leaf) add(method string, i int) int {
	if method == AnyMethod {
		if l.any >= 0 {
			return l.any
		}
		l.any = i
		return -1
	}
	for _, m := range l.exact {
		if m.method == method {
			return m.index
		}
	}
	l.exact = append(l.exact, methodRoute{method: method, index: i})
	return -1
}

// pick returns the route for method: the exact method before ANY.
func (l *leaf) pick(method string) int {
	for _, m := range l.exact {
		if m.method == method {
			return m.index
		}
	}
	return l.any
}

// parseTemplate validates a template and returns its parameters.
func parseTemplate(t string) ([]paramSpec, error) {
	if t == "" || t[0] != '/' {
		return nil, fmt.Errorf("must start with \"/\", got %s", ascii.QuoteShort(t))
	}
	if t == "/" {
		return nil, nil
	}
	if t[len(t)-1] == '/' {
		return nil, fmt.Errorf("must not end with \"/\", got %s", ascii.QuoteShort(t))
	}
	var params []paramSpec
	segs := strings.Split(t[1:], "/")
	for i, seg := range segs {
		switch {
		case seg == "":
			return nil, fmt.Errorf("empty segment in %s", ascii.QuoteShort(t))
		case seg == "." || seg == "..":
			return nil, fmt.Errorf("%q segment in %s", seg, ascii.QuoteShort(t))
		case seg[0] == '{' && seg[len(seg)-1] == '}':
			name := seg[1 : len(seg)-1]
			greedy := strings.HasSuffix(name, "+")
			if greedy {
				name = name[:len(name)-1]
				if i != len(segs)-1 {
					return nil, fmt.Errorf("greedy parameter %s must be the last segment", seg)
				}
			}
			if name == "" || !ascii.All(name, isParamChar) {
				return nil, fmt.Errorf("parameter %s: name must be letters, digits, '.', '-' and '_'", ascii.QuoteShort(seg))
			}
			for _, p := range params {
				if p.name == name {
					return nil, fmt.Errorf("parameter %q appears twice", name)
				}
			}
			params = append(params, paramSpec{name: name, segment: i, greedy: greedy})
		case strings.ContainsAny(seg, "{}"):
			return nil, fmt.Errorf("segment %s: a parameter must be a whole segment", ascii.QuoteShort(seg))
		default:
			for j := 0; j < len(seg); j++ {
				if !isLiteralChar(seg[j]) {
					return nil, fmt.Errorf("segment %s: character %q not allowed", ascii.QuoteShort(seg), seg[j])
				}
			}
		}
	}
	return params, nil
}

func isParamChar(c byte) bool { return ascii.IsAlnum(c) || c == '.' || c == '-' || c == '_' }

// isLiteralChar accepts the RFC 3986 pchar set without percent escapes:
// templates are compared with decoded paths, so an escape in a template
// would be ambiguous.
func isLiteralChar(c byte) bool {
	return ascii.IsAlnum(c) || strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0
}

// Match returns the route for method and the decoded path (from CleanPath).
// It allocates only the Params slice, and only when the route has
// parameters. A path CleanPath would reject never matches.
func (r *Router) Match(method, path string) (Match, bool) {
	if !matchable(path) {
		return Match{}, false
	}
	rest := path[1:]
	rest = strings.TrimSuffix(rest, "/")
	i := r.root.find(method, rest)
	if i < 0 {
		return Match{}, false
	}
	c := &r.routes[i]
	m := Match{Index: i, Template: c.template}
	if len(c.params) > 0 {
		m.Params = make([]Param, len(c.params))
		capture(c.params, rest, m.Params)
	}
	return m, true
}

// find returns the most specific route for rest (the path after this node's
// depth, without a leading slash; "" when the path ends here), or -1.
// Trying literal, then parameter, then greedy children and taking the first
// hit is what makes the leftmost difference decide.
func (n *node) find(method, rest string) int {
	if rest == "" {
		return n.end.pick(method)
	}
	seg, tail, _ := strings.Cut(rest, "/")
	if c := n.literal[seg]; c != nil {
		if i := c.find(method, tail); i >= 0 {
			return i
		}
	}
	if n.param != nil {
		if i := n.param.find(method, tail); i >= 0 {
			return i
		}
	}
	if n.greedy != nil {
		return n.greedy.pick(method)
	}
	return -1
}

// capture fills out with the parameter values of a matched path.
func capture(params []paramSpec, rest string, out []Param) {
	seg, p := 0, 0
	for start := 0; p < len(params); seg++ {
		end := strings.IndexByte(rest[start:], '/')
		if end < 0 {
			end = len(rest)
		} else {
			end += start
		}
		if params[p].segment == seg {
			v := rest[start:end]
			if params[p].greedy {
				v = rest[start:]
			}
			out[p] = Param{Name: params[p].name, Value: v}
			p++
		}
		start = end + 1
	}
}
