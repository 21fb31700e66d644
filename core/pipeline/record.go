package pipeline

import (
	"strconv"
	"strings"

	"github.com/authgate/authgate/core/authorizer"
)

// Record is the decision log record of one request: the one line every
// embedding writes per request, with the same fields. It never holds the
// identity, the cache key, the principal, context values or the query
// string (which may carry an identity source).
type Record struct {
	Method     string
	Path       string // the request target without its query
	Route      string // the matched route template; "" when none matched
	Authorizer string // "" when the route has none
	Cache      CacheState
	// Coalesced: the request waited for another request's authorizer
	// call (in this process, or another VM's) and was decided by its
	// answer; the cache field then says "coalesced". Only the embedding
	// knows it.
	Coalesced bool
	Decision  string
	// Status is the gateway's answer: the status of a rejection, 200 for a
	// request forwarded upstream (whose own status is the upstream's), 0
	// while an authorizer call is pending.
	Status    int
	Reason    string
	RequestID string
}

// NewRecord returns the record of the request with method, target (":path")
// and request id that res decided (or left pending on a Call).
func NewRecord(method, target, requestID string, res *Result) Record {
	if i := strings.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	rec := Record{
		Method: method, Path: target, RequestID: requestID,
		Route: res.Route, Authorizer: res.Authorizer, Cache: res.CacheState,
		Decision: res.Decision, Reason: res.Reason,
	}
	switch res.Kind {
	case KindAllow:
		rec.Status = 200
	case KindReject:
		rec.Status = res.Status
	}
	return rec
}

// Field is one key and value of a Record. Status is the one number: its
// Number is set and Text is empty.
type Field struct {
	Key      string
	Text     string
	Number   int
	IsNumber bool
}

// Record keys, in layout order.
const (
	RecordMethod     = "method"
	RecordPath       = "path"
	RecordRoute      = "route"
	RecordAuthorizer = "authorizer"
	RecordCache      = "cache"
	RecordDecision   = "decision"
	RecordStatus     = "status"
	RecordReason     = "reason"
	RecordRequestID  = "request_id"
	// RecordLatency is the key hosts that time decisions log after the
	// record's fields.
	RecordLatency = "latency"
)

// CacheCoalesced is the cache field of a coalesced request.
const CacheCoalesced = "coalesced"

// Fields appends the record's fields to dst in layout order: method, path,
// route, authorizer, cache, decision, then status (when not 0), reason and
// request_id (when not empty). An empty route or authorizer is "-", as an
// unknown cache state is; cache is CacheCoalesced for a coalesced request. A host that logs through a structured logger
// writes these fields, in this order; hosts that measure the time a
// decision took add it after them as "latency".
func (rec *Record) Fields(dst []Field) []Field {
	dst = append(dst,
		Field{Key: RecordMethod, Text: rec.Method},
		Field{Key: RecordPath, Text: rec.Path},
		Field{Key: RecordRoute, Text: orDash(rec.Route)},
		Field{Key: RecordAuthorizer, Text: orDash(rec.Authorizer)},
		Field{Key: RecordCache, Text: rec.cache()},
		Field{Key: RecordDecision, Text: rec.Decision},
	)
	if rec.Status != 0 {
		dst = append(dst, Field{Key: RecordStatus, Number: rec.Status, IsNumber: true})
	}
	if rec.Reason != "" {
		dst = append(dst, Field{Key: RecordReason, Text: rec.Reason})
	}
	if rec.RequestID != "" {
		dst = append(dst, Field{Key: RecordRequestID, Text: rec.RequestID})
	}
	return dst
}

func (rec *Record) cache() string {
	if rec.Coalesced {
		return CacheCoalesced
	}
	return rec.Cache.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// AppendText appends the record's text layout to b: its Fields as
// key=value separated by single spaces (logfmt). A value is quoted, with
// Go's escapes, when it is empty or holds a space, '=', '"', a control
// byte or a byte outside ASCII; slog's text handler quotes the same ASCII
// values, so a host logging Fields through it writes the same pairs. It
// is built by hand: inside the wasm filter fmt would cost more than the
// rest of a cache hit.
func (rec *Record) AppendText(b []byte) []byte {
	var buf [9]Field
	for i, f := range rec.Fields(buf[:0]) {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, f.Key...)
		b = append(b, '=')
		switch {
		case f.IsNumber:
			b = strconv.AppendInt(b, int64(f.Number), 10)
		case needsQuote(f.Text):
			b = strconv.AppendQuote(b, f.Text)
		default:
			b = append(b, f.Text...)
		}
	}
	return b
}

// AppendJSON appends the record as one JSON object with the keys and
// values of its Fields, status as a number.
func (rec *Record) AppendJSON(b []byte) []byte {
	var buf [9]Field
	b = append(b, '{')
	for i, f := range rec.Fields(buf[:0]) {
		if i > 0 {
			b = append(b, ',')
		}
		b = authorizer.AppendString(b, f.Key)
		b = append(b, ':')
		if f.IsNumber {
			b = strconv.AppendInt(b, int64(f.Number), 10)
		} else {
			b = authorizer.AppendString(b, f.Text)
		}
	}
	return append(b, '}')
}

// needsQuote reports whether a text value must be quoted to stay one
// unambiguous logfmt value.
func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '=' || c == '"' || c >= 0x7f {
			return true
		}
	}
	return false
}

// AppendLine appends the decision line a proxy filter writes to the
// proxy's log: the record's text layout, then key=id, the stream (or
// context) the proxy knows the request by, then extra key/value pairs,
// written as given (callers pass plain tokens: a callout id, "wait").
// ParseText reads such a line back.
func (rec *Record) AppendLine(b []byte, key string, id uint64, extra ...string) []byte {
	b = rec.AppendText(b)
	b = append(b, ' ')
	b = append(b, key...)
	b = append(b, '=')
	b = strconv.AppendUint(b, id, 10)
	for i := 0; i+1 < len(extra); i += 2 {
		b = append(b, ' ')
		b = append(b, extra[i]...)
		b = append(b, '=')
		b = append(b, extra[i+1]...)
	}
	return b
}

// ParseText reads a line that starts with a record's text layout
// (AppendText), as a host reads the decision lines the wasm filter logs,
// and returns the record's fields, in layout order, as Fields gave them:
// method, path, route, authorizer, cache and decision, then status,
// reason and request_id when present. Pairs after the record with other
// keys (the filter's ctx=, callout=) are read and left out. ok is false
// for any line that is not exactly such pairs: another key where a
// record key belongs, a record key twice, a status that is not a number,
// a value quoted wrongly.
func ParseText(line string) (fields []Field, ok bool) {
	required := [...]string{RecordMethod, RecordPath, RecordRoute, RecordAuthorizer, RecordCache, RecordDecision}
	optional := [...]string{RecordStatus, RecordReason, RecordRequestID}
	fields = make([]Field, 0, len(required)+len(optional))
	next := 0 // index into optional of the first key still allowed
	for i := 0; line != ""; i++ {
		if i > 0 {
			if line[0] != ' ' {
				return nil, false
			}
			line = line[1:]
		}
		key, val, rest, ok := cutPair(line)
		if !ok {
			return nil, false
		}
		line = rest
		switch {
		case i < len(required):
			if key != required[i] {
				return nil, false
			}
			fields = append(fields, Field{Key: key, Text: val})
		case isRecordKey(key):
			j := next
			for j < len(optional) && optional[j] != key {
				j++
			}
			if j == len(optional) {
				return nil, false
			}
			next = j + 1
			f := Field{Key: key, Text: val}
			if key == RecordStatus {
				n, err := strconv.Atoi(val)
				if err != nil || n == 0 || strconv.Itoa(n) != val {
					return nil, false
				}
				f = Field{Key: key, Number: n, IsNumber: true}
			}
			fields = append(fields, f)
		default:
			// An embedding's own pair: the record has ended.
			next = len(optional)
		}
	}
	if len(fields) < len(required) {
		return nil, false
	}
	return fields, true
}

func isRecordKey(k string) bool {
	switch k {
	case RecordMethod, RecordPath, RecordRoute, RecordAuthorizer, RecordCache, RecordDecision,
		RecordStatus, RecordReason, RecordRequestID:
		return true
	}
	return false
}

// cutPair reads one key=value pair from the start of s: a key of
// letters, digits and '_', then a value quoted as AppendText quotes it or
// bare up to the next space.
func cutPair(s string) (key, val, rest string, ok bool) {
	eq := strings.IndexByte(s, '=')
	if eq <= 0 {
		return "", "", "", false
	}
	key = s[:eq]
	for i := 0; i < len(key); i++ {
		if c := key[i]; !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return "", "", "", false
		}
	}
	s = s[eq+1:]
	if strings.HasPrefix(s, `"`) {
		q, err := strconv.QuotedPrefix(s)
		if err != nil {
			return "", "", "", false
		}
		if val, err = strconv.Unquote(q); err != nil {
			return "", "", "", false
		}
		return key, val, s[len(q):], true
	}
	end := strings.IndexByte(s, ' ')
	if end < 0 {
		end = len(s)
	}
	val = s[:end]
	if needsQuote(val) {
		// AppendText would have quoted it (an empty value included).
		return "", "", "", false
	}
	return key, val, s[end:], true
}
