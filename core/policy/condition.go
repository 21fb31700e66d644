package policy

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// condKey is a supported condition key.
type condKey uint8

const (
	keySourceIP condKey = iota + 1
	keyCurrentTime
	keyEpochTime
	keyUserAgent
	keyReferer
	keySecureTransport
)

// condKeys maps the lower-cased key name: IAM key names are case-insensitive.
var condKeys = map[string]condKey{
	"aws:sourceip":        keySourceIP,
	"aws:currenttime":     keyCurrentTime,
	"aws:epochtime":       keyEpochTime,
	"aws:useragent":       keyUserAgent,
	"aws:referer":         keyReferer,
	"aws:securetransport": keySecureTransport,
}

// family is the value type an operator compares.
type family uint8

const (
	famString family = iota + 1
	famIP
	famDate
	famNumeric
	famBool
	famNull
)

// comparison is what one value test does; negation is kept apart because
// negated operators invert the OR over all values (IAM's NOR).
type comparison uint8

const (
	cmpEq comparison = iota
	cmpEqFold
	cmpLike
	cmpIn
	cmpLT
	cmpLE
	cmpGT
	cmpGE
)

type operator struct {
	fam     family
	cmp     comparison
	negated bool
}

// operators lists the supported operators without the IfExists suffix.
// Operator names are case-sensitive, as in IAM.
var operators = map[string]operator{
	"StringEquals":              {famString, cmpEq, false},
	"StringNotEquals":           {famString, cmpEq, true},
	"StringEqualsIgnoreCase":    {famString, cmpEqFold, false},
	"StringNotEqualsIgnoreCase": {famString, cmpEqFold, true},
	"StringLike":                {famString, cmpLike, false},
	"StringNotLike":             {famString, cmpLike, true},
	"IpAddress":                 {famIP, cmpIn, false},
	"NotIpAddress":              {famIP, cmpIn, true},
	"DateEquals":                {famDate, cmpEq, false},
	"DateNotEquals":             {famDate, cmpEq, true},
	"DateLessThan":              {famDate, cmpLT, false},
	"DateLessThanEquals":        {famDate, cmpLE, false},
	"DateGreaterThan":           {famDate, cmpGT, false},
	"DateGreaterThanEquals":     {famDate, cmpGE, false},
	"NumericEquals":             {famNumeric, cmpEq, false},
	"NumericNotEquals":          {famNumeric, cmpEq, true},
	"NumericLessThan":           {famNumeric, cmpLT, false},
	"NumericLessThanEquals":     {famNumeric, cmpLE, false},
	"NumericGreaterThan":        {famNumeric, cmpGT, false},
	"NumericGreaterThanEquals":  {famNumeric, cmpGE, false},
	"Bool":                      {famBool, cmpEq, false},
	"Null":                      {famNull, cmpEq, false},
}

// keyAccepts says which operator families a key can be compared with. Other
// pairs (for example IpAddress on aws:UserAgent) are unsupported and fail
// closed rather than guessing a conversion.
func keyAccepts(k condKey, f family) bool {
	if f == famNull {
		return true
	}
	switch k {
	case keySourceIP:
		return f == famIP
	case keyCurrentTime:
		return f == famDate
	case keyEpochTime:
		return f == famDate || f == famNumeric
	case keyUserAgent, keyReferer:
		return f == famString
	case keySecureTransport:
		return f == famBool || f == famString
	}
	return false
}

// condition is one precompiled (operator, key, values) triple.
type condition struct {
	key      condKey
	op       operator
	ifExists bool
	strs     []string // famString
	prefixes []netip.Prefix
	times    []time.Time
	nums     []float64
	bools    []bool // famBool, famNull
}

// holds evaluates the condition following IAM: a key missing from the
// request makes a positive operator false and a negated one true, IfExists
// makes it true, and Null tests presence itself.
func (c *condition) holds(r *Request) bool {
	present := c.key.present(r)
	if c.op.fam == famNull {
		for _, absent := range c.bools {
			if absent != present {
				return true
			}
		}
		return false
	}
	if !present {
		return c.ifExists || c.op.negated
	}
	return c.matchAny(r) != c.op.negated
}

func (k condKey) present(r *Request) bool {
	switch k {
	case keySourceIP:
		return r.SourceIP.IsValid()
	case keyCurrentTime, keyEpochTime:
		return !r.Now.IsZero()
	case keyUserAgent:
		return r.UserAgent != ""
	case keyReferer:
		return r.Referer != ""
	case keySecureTransport:
		// Always known: treating false as absent would make the common
		// "Deny unless aws:SecureTransport" statement never apply.
		return true
	}
	return false
}

func (c *condition) matchAny(r *Request) bool {
	switch c.op.fam {
	case famString:
		var s string
		switch c.key {
		case keyUserAgent:
			s = r.UserAgent
		case keyReferer:
			s = r.Referer
		case keySecureTransport:
			s = strconv.FormatBool(r.Secure)
		}
		for _, v := range c.strs {
			var ok bool
			switch c.op.cmp {
			case cmpEq:
				ok = s == v
			case cmpEqFold:
				ok = strings.EqualFold(s, v)
			case cmpLike:
				ok = Match(v, s)
			}
			if ok {
				return true
			}
		}
	case famIP:
		a := r.SourceIP.Unmap().WithZone("")
		for _, p := range c.prefixes {
			if p.Contains(a) {
				return true
			}
		}
	case famDate:
		t := r.Now
		if c.key == keyEpochTime {
			t = time.Unix(t.Unix(), 0)
		}
		for _, v := range c.times {
			if compared(t.Compare(v), c.op.cmp) {
				return true
			}
		}
	case famNumeric:
		x := float64(r.Now.Unix())
		for _, v := range c.nums {
			d := 0
			if x < v {
				d = -1
			} else if x > v {
				d = 1
			}
			if compared(d, c.op.cmp) {
				return true
			}
		}
	case famBool:
		for _, v := range c.bools {
			if v == r.Secure {
				return true
			}
		}
	}
	return false
}

// compared applies cmp to the sign of request-value minus policy-value.
func compared(d int, cmp comparison) bool {
	switch cmp {
	case cmpEq:
		return d == 0
	case cmpLT:
		return d < 0
	case cmpLE:
		return d <= 0
	case cmpGT:
		return d > 0
	case cmpGE:
		return d >= 0
	}
	return false
}

// compileCondition builds the condition for one operator and key. Its values
// have been type-checked already. ok is false when the operator, key or a
// value is not supported; the caller then fails closed.
func compileCondition(opName, keyName string, values []gjson.Result, variables bool) (c condition, ok bool) {
	ifExists := false
	if base, cut := strings.CutSuffix(opName, "IfExists"); cut {
		opName, ifExists = base, true
	}
	op, known := operators[opName]
	if !known || (ifExists && op.fam == famNull) {
		return c, false
	}
	key, known := condKeys[toLowerASCII(keyName)]
	if !known || !keyAccepts(key, op.fam) || len(values) == 0 {
		return c, false
	}
	c = condition{key: key, op: op, ifExists: ifExists}
	for _, v := range values {
		text := v.Raw // numbers keep their literal; true and false are their own text
		if v.Type == gjson.String {
			text = v.Str
		}
		if !c.addValue(text, v.Type, variables) {
			return c, false
		}
	}
	return c, true
}

func (c *condition) addValue(text string, typ gjson.Type, variables bool) bool {
	switch c.op.fam {
	case famString:
		if variables && strings.Contains(text, "${") {
			return false // policy variables are not supported
		}
		c.strs = append(c.strs, text)
	case famIP:
		p, ok := parsePrefix(text)
		if !ok || typ != gjson.String {
			return false
		}
		c.prefixes = append(c.prefixes, p)
	case famDate:
		t, ok := parseDate(text)
		if !ok {
			return false
		}
		c.times = append(c.times, t)
	case famNumeric:
		if !isDecimal(text) {
			return false
		}
		x, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return false
		}
		c.nums = append(c.nums, x)
	case famBool, famNull:
		switch {
		case strings.EqualFold(text, "true"):
			c.bools = append(c.bools, true)
		case strings.EqualFold(text, "false"):
			c.bools = append(c.bools, false)
		default:
			return false
		}
	}
	return true
}

// parsePrefix accepts a CIDR or a single address. IPv4-mapped IPv6 networks
// of /96 or longer become the IPv4 network they map, because request
// addresses are unmapped before matching; otherwise IPv4 and IPv6 never
// match each other.
func parsePrefix(s string) (netip.Prefix, bool) {
	var p netip.Prefix
	if strings.IndexByte(s, '/') >= 0 {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, false
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return p, false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return p.Masked(), true
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}

// dateLayouts are the ISO 8601 forms accepted besides epoch seconds. Forms
// without a zone are read as UTC.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02",
	"20060102T150405Z07:00",
	"20060102T150405Z",
	"20060102",
}

func parseDate(s string) (time.Time, bool) {
	if isInteger(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(n, 0).UTC(), true
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func isInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isDecimal accepts [-]digits[.digits], keeping ParseFloat's extras (Inf,
// NaN, hex, exponents) out of policies.
func isDecimal(s string) bool {
	i, f, dot := strings.Cut(s, ".")
	if !isInteger(i) {
		return false
	}
	return !dot || (f != "" && f[0] != '-' && isInteger(f))
}

// size estimates the condition's memory.
func (c *condition) size() int {
	n := 120 + 16*len(c.strs) + 32*len(c.prefixes) + 24*len(c.times) + 8*len(c.nums) + len(c.bools)
	for _, s := range c.strs {
		n += len(s)
	}
	return n
}
