package arn

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

// Router finds the most specific route for a method and decoded path,
// independent of configuration order: exact segments before parameters before
// greedy parameters, and an exact method before ANY. It is immutable and safe
// for concurrent use.
type Router struct {
	// TODO
}

// NewRouter compiles route templates. It rejects malformed templates, methods
// that are not HTTP verbs or ANY, and duplicate (method, template) pairs; the
// error names the route index ("routes[3].path: ...").
func NewRouter(routes []Route) (*Router, error) { panic("TODO") }

// Match returns the route for method and the decoded path (from CleanPath).
func (r *Router) Match(method, path string) (Match, bool) { panic("TODO") }

// CleanPath takes the raw request target (":path", may carry a query) and
// returns the percent-decoded path and the raw query (without "?"). It
// rejects (error) paths that do not start with "/", contain "." or ".."
// segments, an encoded slash ("%2F"), NUL, or invalid percent escapes: the
// gateway answers those 400 rather than guess which route was meant.
func CleanPath(target string) (path, rawQuery string, err error) { panic("TODO") }
