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
	Decision   string
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
)

// Fields appends the record's fields to dst in layout order: method, path,
// route, authorizer, cache, decision, then status (when not 0), reason and
// request_id (when not empty). An empty route or authorizer is "-", as an
// unknown cache state is. A host that logs through a structured logger
// writes these fields, in this order; hosts that measure the time a
// decision took add it after them as "latency".
func (rec *Record) Fields(dst []Field) []Field {
	dst = append(dst,
		Field{Key: RecordMethod, Text: rec.Method},
		Field{Key: RecordPath, Text: rec.Path},
		Field{Key: RecordRoute, Text: orDash(rec.Route)},
		Field{Key: RecordAuthorizer, Text: orDash(rec.Authorizer)},
		Field{Key: RecordCache, Text: rec.Cache.String()},
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
// proxy's log: key=id, the stream (or context) the proxy knows the request
// by, then the record's text layout, then extra key/value pairs, written
// as given (callers pass plain tokens: a callout id, "wait").
func (rec *Record) AppendLine(b []byte, key string, id uint64, extra ...string) []byte {
	b = append(b, key...)
	b = append(b, '=')
	b = strconv.AppendUint(b, id, 10)
	b = append(b, ' ')
	b = rec.AppendText(b)
	for i := 0; i+1 < len(extra); i += 2 {
		b = append(b, ' ')
		b = append(b, extra[i]...)
		b = append(b, '=')
		b = append(b, extra[i+1]...)
	}
	return b
}
