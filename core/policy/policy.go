// Package policy parses IAM policy documents returned by authorizers and
// evaluates them for execute-api:Invoke on a method ARN, following the IAM
// evaluation logic: an applicable explicit Deny wins, else an applicable
// Allow, else an implicit deny.
//
// See https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html.
//
// # Documents
//
// Parsing is strict and case-sensitive, like IAM: the document is an object
// with an optional Version ("2012-10-17" or "2008-10-17"), an optional Id and
// a Statement that is one object or a non-empty array of objects. A
// statement has an optional Sid, an Effect of exactly "Allow" or "Deny",
// exactly one of Action and NotAction, exactly one of Resource and
// NotResource (each a string or an array of strings; an empty array matches
// nothing) and an optional Condition. Unknown or duplicate keys and wrong
// types are errors that name the field, and an invalid document must never
// allow. The document must be UTF-8 (JSON text is, RFC 8259 section 8.1)
// and nest arrays and objects at most 32 levels deep.
//
// # Matching
//
// In Action and Resource, '*' matches any run of characters including '/'
// and '?' exactly one character (see [Match]). Resources are compared
// case-sensitively over the whole ARN; actions ASCII case-insensitively.
// Policy variables ("${...}") are not supported: in a "2012-10-17" document
// a pattern that contains one fails closed, matching nothing where that
// would widen an Allow and everything it could name where that would narrow
// a Deny. In "2008-10-17" documents "${" is literal text, as in IAM.
//
// # Conditions
//
// Supported condition keys (names are case-insensitive):
//
//   - aws:SourceIp: Request.SourceIP; IP operators only.
//   - aws:CurrentTime: Request.Now; Date operators.
//   - aws:EpochTime: Request.Now truncated to whole seconds; Date and
//     Numeric operators.
//   - aws:UserAgent, aws:Referer: the request headers; String operators.
//   - aws:SecureTransport: Request.Secure; Bool and String operators. It is
//     always present (false is "not secure", not "absent").
//
// Supported operators (names are case-sensitive), each also with the
// IfExists suffix except Null: StringEquals, StringNotEquals,
// StringEqualsIgnoreCase, StringNotEqualsIgnoreCase, StringLike,
// StringNotLike, IpAddress, NotIpAddress, DateEquals, DateNotEquals,
// DateLessThan, DateLessThanEquals, DateGreaterThan, DateGreaterThanEquals,
// NumericEquals, NumericNotEquals, NumericLessThan, NumericLessThanEquals,
// NumericGreaterThan, NumericGreaterThanEquals, Bool and Null.
//
// Values may be JSON strings, numbers or booleans, or arrays of them. The
// values of one key are ORed (for a negated operator the key must match none
// of them), keys and operators are ANDed. A key the request lacks makes a
// positive operator false and a negated one true, as documented for IAM;
// IfExists makes it true, and Null tests presence itself.
//
// IP values are CIDRs or single addresses, IPv4 or IPv6. The request address
// is unmapped first (::ffff:192.0.2.1 is 192.0.2.1), and IPv4-mapped
// networks of /96 or longer are read as the IPv4 network they map; apart from
// that an IPv4 address never matches an IPv6 network or the reverse. Date
// values are epoch seconds or ISO 8601 (RFC 3339, optionally without
// seconds, fraction or zone, read as UTC; a bare date is its midnight UTC).
// Numeric values are decimal numbers.
//
// Unsupported operators (ForAnyValue:, ArnLike, BinaryEquals, ...), keys and
// operator/key pairs, values that do not parse for their operator and empty
// value lists keep the document valid but fail closed: an Allow statement
// carrying one never applies, and in a Deny statement that condition counts
// as true.
package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/authgate/authgate/core/internal/jsondepth"
)

// Action is the action every request is evaluated for.
const Action = "execute-api:Invoke"

// Decision is the outcome of an evaluation.
type Decision uint8

// Decision values.
const (
	ImplicitDeny Decision = iota
	Allow
	ExplicitDeny
)

// String returns "ALLOW", "DENY" or "IMPLICIT_DENY".
func (d Decision) String() string {
	switch d {
	case ImplicitDeny:
		return "IMPLICIT_DENY"
	case Allow:
		return "ALLOW"
	case ExplicitDeny:
		return "DENY"
	}
	return "Decision(" + strconv.Itoa(int(d)) + ")"
}

// Request is what a statement is matched against. Resource is the method
// ARN. Action defaults to Action when empty. The remaining fields feed
// condition keys; zero values mean "key absent".
type Request struct {
	Action    string
	Resource  string
	SourceIP  netip.Addr // aws:SourceIp
	Now       time.Time  // aws:CurrentTime, aws:EpochTime
	UserAgent string     // aws:UserAgent
	Referer   string     // aws:Referer
	Secure    bool       // aws:SecureTransport
}

// Policy is a parsed, validated policy document. It is immutable and safe for
// concurrent use.
type Policy struct {
	stmts []statement
	size  int
	// usesSourceIP is set when a condition reads aws:SourceIp, so callers
	// can skip finding out the client's address when no statement asks.
	usesSourceIP bool
}

// UsesSourceIP reports whether any condition of the policy reads
// aws:SourceIp; when it does not, Request.SourceIP never matters.
func (p *Policy) UsesSourceIP() bool { return p.usesSourceIP }

// statement is one compiled Statement entry.
type statement struct {
	sid  string
	deny bool
	// never is set on an Allow that carries something unsupported.
	never       bool
	notAction   bool
	notResource bool
	// invokes caches whether the action part applies to Action, the only
	// action the gateway asks about.
	invokes   bool
	actions   []pattern
	resources []pattern
	conds     []condition
}

// ErrInvalid is wrapped by every error Parse and ParseResult return.
var ErrInvalid = errors.New("invalid policy document")

// Error is an invalid policy document: Path names the bad field in the
// document's own spelling ("Statement[1].Effect"), empty for the document
// itself.
type Error struct {
	Path string
	Msg  string
}

// Error returns "path: message".
func (e *Error) Error() string {
	if e.Path == "" {
		return "policy document: " + e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

func errorf(path, format string, args ...any) error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses a policy document strictly; see ParseResult.
func Parse(doc []byte) (*Policy, error) {
	if err := checkText(string(doc)); err != nil {
		return nil, err
	}
	if !gjson.ValidBytes(doc) {
		return nil, errorf("", "not valid JSON")
	}
	return ParseResult(gjson.ParseBytes(doc))
}

// ParseResult parses a policy document already located by gjson (for
// example the "policyDocument" member of an authorizer response). Key names
// are case-sensitive; errors name the bad field ("Statement[1].Effect: ...").
// The document must be UTF-8 and nest at most jsondepth.Max levels.
func ParseResult(doc gjson.Result) (*Policy, error) {
	if !doc.Exists() {
		return nil, errorf("", "missing")
	}
	if !doc.IsObject() {
		return nil, errorf("", "must be an object, got %s", typeName(doc))
	}
	if err := checkText(doc.Raw); err != nil {
		return nil, err
	}
	if !gjson.Valid(doc.Raw) {
		return nil, errorf("", "not valid JSON")
	}
	var (
		version    string
		stmtResult gjson.Result
	)
	err := members(doc, "", func(key string, v gjson.Result) error {
		switch key {
		case "Version":
			if v.Type != gjson.String || (v.Str != "2012-10-17" && v.Str != "2008-10-17") {
				return errorf("Version", `must be "2012-10-17" or "2008-10-17", got %s`, shown(v))
			}
			version = v.Str
		case "Id":
			if v.Type != gjson.String {
				return errorf("Id", "must be a string, got %s", typeName(v))
			}
		case "Statement":
			stmtResult = v
		default:
			return errorf("", "unknown key %q", key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	variables := version == "2012-10-17"
	p := &Policy{}
	switch {
	case !stmtResult.Exists():
		return nil, errorf("Statement", "missing")
	case stmtResult.IsObject():
		s, err := parseStatement(stmtResult, "Statement", variables)
		if err != nil {
			return nil, err
		}
		p.stmts = []statement{s}
	case stmtResult.IsArray():
		arr := stmtResult.Array()
		if len(arr) == 0 {
			return nil, errorf("Statement", "must not be empty")
		}
		p.stmts = make([]statement, 0, len(arr))
		for i, v := range arr {
			path := "Statement[" + strconv.Itoa(i) + "]"
			if !v.IsObject() {
				return nil, errorf(path, "must be an object, got %s", typeName(v))
			}
			s, err := parseStatement(v, path, variables)
			if err != nil {
				return nil, err
			}
			p.stmts = append(p.stmts, s)
		}
	default:
		return nil, errorf("Statement", "must be an object or an array of objects, got %s", typeName(stmtResult))
	}
	p.size = 48
	for i := range p.stmts {
		p.size += p.stmts[i].sizeOf()
		for _, c := range p.stmts[i].conds {
			if c.key == keySourceIP {
				p.usesSourceIP = true
			}
		}
	}
	return p, nil
}

// checkText refuses what must not reach the parser or the matchers: text
// that is not UTF-8, in which a pattern's literal could match the middle of
// a character (and the matchers would disagree on where characters start),
// and nesting deep enough to exhaust a wasm engine's stack in the
// recursive validation.
func checkText(raw string) error {
	if !utf8.ValidString(raw) {
		return errorf("", "not valid UTF-8")
	}
	if jsondepth.Exceeds(raw, jsondepth.Max) {
		return errorf("", "nested deeper than %d levels", jsondepth.Max)
	}
	return nil
}

func parseStatement(v gjson.Result, path string, variables bool) (statement, error) {
	var (
		s                         statement
		effect, cond              gjson.Result
		action, notAction         gjson.Result
		resource, notResource     gjson.Result
		actionName, resourceName  string
		actionValue, resourceList gjson.Result
	)
	err := members(v, path, func(key string, m gjson.Result) error {
		switch key {
		case "Sid":
			if m.Type != gjson.String {
				return errorf(path+".Sid", "must be a string, got %s", typeName(m))
			}
			s.sid = m.Str
		case "Effect":
			effect = m
		case "Action":
			action = m
		case "NotAction":
			notAction = m
		case "Resource":
			resource = m
		case "NotResource":
			notResource = m
		case "Condition":
			cond = m
		default:
			return errorf(path, "unknown key %q", key)
		}
		return nil
	})
	if err != nil {
		return s, err
	}

	switch {
	case !effect.Exists():
		return s, errorf(path+".Effect", "missing")
	case effect.Type != gjson.String:
		return s, errorf(path+".Effect", `must be "Allow" or "Deny", got %s`, typeName(effect))
	case effect.Str == "Allow":
	case effect.Str == "Deny":
		s.deny = true
	default:
		return s, errorf(path+".Effect", `must be "Allow" or "Deny", got %q`, effect.Str)
	}

	switch {
	case action.Exists() && notAction.Exists():
		return s, errorf(path, "has both Action and NotAction")
	case action.Exists():
		actionName, actionValue = "Action", action
	case notAction.Exists():
		actionName, actionValue, s.notAction = "NotAction", notAction, true
	default:
		return s, errorf(path, "needs Action or NotAction")
	}
	switch {
	case resource.Exists() && notResource.Exists():
		return s, errorf(path, "has both Resource and NotResource")
	case resource.Exists():
		resourceName, resourceList = "Resource", resource
	case notResource.Exists():
		resourceName, resourceList, s.notResource = "NotResource", notResource, true
	default:
		return s, errorf(path, "needs Resource or NotResource")
	}

	// A pattern with a policy variable must fail closed: it may only make
	// an Allow apply less and a Deny apply more. For Action/Resource that
	// means "match nothing"; for NotAction/NotResource, "match everything".
	widen := s.deny != s.notAction
	if s.actions, err = patterns(actionValue, path+"."+actionName, true, variables, widen); err != nil {
		return s, err
	}
	widen = s.deny != s.notResource
	if s.resources, err = patterns(resourceList, path+"."+resourceName, false, variables, widen); err != nil {
		return s, err
	}
	s.invokes = matchAny(s.actions, Action) != s.notAction

	if cond.Exists() {
		if err := s.parseConditions(cond, path+".Condition", variables); err != nil {
			return s, err
		}
	}
	return s, nil
}

// patterns compiles a string or an array of strings.
func patterns(v gjson.Result, path string, fold, variables, widen bool) ([]pattern, error) {
	var list []gjson.Result
	switch {
	case v.Type == gjson.String:
		list = []gjson.Result{v}
	case v.IsArray():
		list = v.Array()
	default:
		return nil, errorf(path, "must be a string or an array of strings, got %s", typeName(v))
	}
	ps := make([]pattern, 0, len(list))
	for i, e := range list {
		if e.Type != gjson.String {
			return nil, errorf(path+"["+strconv.Itoa(i)+"]", "must be a string, got %s", typeName(e))
		}
		s := e.Str
		if variables && strings.Contains(s, "${") {
			if !widen {
				ps = append(ps, pattern{kind: kindNever})
				continue
			}
			s = replaceVariables(s)
		}
		ps = append(ps, compilePattern(s, fold))
	}
	return ps, nil
}

// replaceVariables turns every "${...}" (or an unterminated "${" and the
// rest) into '*', which matches whatever the variable could have been.
func replaceVariables(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteByte('*')
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return b.String()
		}
		s = s[i+j+1:]
	}
}

func (s *statement) parseConditions(v gjson.Result, path string, variables bool) error {
	if !v.IsObject() {
		return errorf(path, "must be an object, got %s", typeName(v))
	}
	return members(v, path, func(opName string, block gjson.Result) error {
		opPath := path + "." + opName
		if !block.IsObject() {
			return errorf(opPath, "must be an object, got %s", typeName(block))
		}
		empty := true
		err := members(block, opPath, func(keyName string, vals gjson.Result) error {
			empty = false
			keyPath := opPath + "." + keyName
			var values []gjson.Result
			if vals.IsArray() {
				values = vals.Array()
				for i, e := range values {
					if !scalar(e) {
						return errorf(keyPath+"["+strconv.Itoa(i)+"]", "must be a string, number or boolean, got %s", typeName(e))
					}
				}
			} else if scalar(vals) {
				values = []gjson.Result{vals}
			} else {
				return errorf(keyPath, "must be a string, number, boolean or an array of them, got %s", typeName(vals))
			}
			c, ok := compileCondition(opName, keyName, values, variables)
			s.addCondition(c, ok)
			return nil
		})
		if err == nil && empty {
			// An operator without keys tests nothing; rather than let it
			// pass vacuously, treat it as unsupported.
			s.addCondition(condition{}, false)
		}
		return err
	})
}

// addCondition keeps a supported condition. An unsupported one fails
// closed: it stops an Allow from ever applying and is true in a Deny.
func (s *statement) addCondition(c condition, ok bool) {
	switch {
	case ok:
		s.conds = append(s.conds, c)
	case !s.deny:
		s.never = true
	}
}

func scalar(v gjson.Result) bool {
	switch v.Type {
	case gjson.String, gjson.Number, gjson.True, gjson.False:
		return true
	}
	return false
}

// members calls fn for each member of obj in document order and rejects
// duplicate keys, which IAM also refuses and which JSON decoders resolve
// differently.
func members(obj gjson.Result, path string, fn func(key string, v gjson.Result) error) error {
	seen := make(map[string]struct{})
	var err error
	obj.ForEach(func(k, v gjson.Result) bool {
		key := k.String()
		if _, dup := seen[key]; dup {
			err = errorf(path, "duplicate key %q", key)
			return false
		}
		seen[key] = struct{}{}
		err = fn(key, v)
		return err == nil
	})
	return err
}

// shown renders a value for an error on one line: a scalar as written
// (cut after 64 bytes), an array or object by its kind, whose raw text
// could span lines or be large.
func shown(v gjson.Result) string {
	if !scalar(v) && v.Type != gjson.Null {
		return typeName(v)
	}
	if len(v.Raw) > 64 {
		return v.Raw[:64] + "..."
	}
	return v.Raw
}

func typeName(v gjson.Result) string {
	switch {
	case v.IsObject():
		return "an object"
	case v.IsArray():
		return "an array"
	}
	switch v.Type {
	case gjson.String:
		return "a string"
	case gjson.Number:
		return "a number"
	case gjson.True, gjson.False:
		return "a boolean"
	case gjson.Null:
		return "null"
	}
	return "nothing"
}

// Evaluate decides r and returns the index of the deciding statement, or -1
// for an implicit deny. It does not allocate.
func (p *Policy) Evaluate(r *Request) (Decision, int) {
	allow := -1
	invoke := r.Action == "" || r.Action == Action
	for i := range p.stmts {
		s := &p.stmts[i]
		if !s.deny && allow >= 0 {
			continue // only a Deny can still change the answer
		}
		if s.applies(r, invoke) {
			if s.deny {
				return ExplicitDeny, i
			}
			allow = i
		}
	}
	if allow >= 0 {
		return Allow, allow
	}
	return ImplicitDeny, -1
}

// applies reports whether the statement covers r; invoke says r asks for
// Action, whose answer was computed at parse time.
func (s *statement) applies(r *Request, invoke bool) bool {
	if s.never {
		return false
	}
	if invoke {
		if !s.invokes {
			return false
		}
	} else if matchAny(s.actions, r.Action) == s.notAction {
		return false
	}
	if matchAny(s.resources, r.Resource) == s.notResource {
		return false
	}
	for i := range s.conds {
		if !s.conds[i].holds(r) {
			return false
		}
	}
	return true
}

// Size estimates the policy's memory in bytes, for cache accounting.
func (p *Policy) Size() int { return p.size }

// Len is the number of statements.
func (p *Policy) Len() int { return len(p.stmts) }

// Sid returns the Sid of statement i, or "" when it has none or i is out of
// range; it is meant for logging the deciding statement.
func (p *Policy) Sid(i int) string {
	if i < 0 || i >= len(p.stmts) {
		return ""
	}
	return p.stmts[i].sid
}

func (s *statement) sizeOf() int {
	n := 112 + len(s.sid)
	for _, ps := range [][]pattern{s.actions, s.resources} {
		for i := range ps {
			n += 32 + len(ps[i].s)
		}
	}
	for i := range s.conds {
		n += s.conds[i].size()
	}
	return n
}
