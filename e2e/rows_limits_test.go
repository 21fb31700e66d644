package e2e

import (
	"fmt"

	"github.com/authgate/authgate/e2e/internal/authz"
)

// The limits rows: what a hostile authorizer or client sends to exhaust
// or confuse a host. Each hostile answer must be the authorizer failure
// answer (500) at once, and the row after it sends ordinary requests on
// the same connection, which in Envoy is the same worker and so the VM
// that read the answer. A context key that would read as the principal
// header must not reach the upstream as one. The codec rows send what Envoy's connection
// manager refuses before any filter runs, which every Go host must
// refuse alike. They run against cfgSecurity, whose "small" authorizer
// has a maxResponseBytes of 2048.

// groupLimits names the limits rows, which the serve hosts run too.
const groupLimits = "limits"

// hostileRows are a hostile answer's row and the row after it.
func hostileRows(behaviour, id string) []row {
	tok, next := bearer(behaviour, id), bearer(authz.Allow, id+"n")
	return []row{
		{name: "answer_" + behaviour, config: cfgSecurity, steps: one(get("/pets/1", auth(tok)), rejected(authzFailure)),
			token: tok, calls: 1},
		{name: "after_" + behaviour, config: cfgSecurity, steps: []step{
			{req: get("/health"), want: allowed("", nil)},
			{req: get("/pets/2", auth(next)), want: allowed("user-"+id+"n", nil)},
		}, token: next, calls: 1},
	}
}

// fieldsOf is n distinct header fields.
func fieldsOf(n int) [][2]string {
	out := make([][2]string, n)
	for i := range out {
		out[i] = [2]string{fmt.Sprintf("X-H%d", i), "v"}
	}
	return out
}

// limitsRows run against cfgSecurity.
var limitsRows = func() []row {
	var rows []row
	// Refused before a recursive parser sees them: nesting, size (sent
	// chunked, and announced by content-length), encoding, text.
	for i, b := range []string{authz.Deep, authz.Big, authz.BigLength, authz.Gzip, authz.NotUTF8} {
		rows = append(rows, hostileRows(b, fmt.Sprintf("l%d", i))...)
	}
	// A context key an upstream folding '_' into '-' (or ignoring case)
	// would read as the principal header gets no header of its own: the
	// upstream, read either way, sees one principal, and the key only
	// inside x-authorizer-context.
	for _, f := range []struct{ behaviour, id, key string }{
		{authz.FoldUnderscore, "l5", "principal_id"}, {authz.FoldCase, "l6", "Principal-Id"},
	} {
		tok := bearer(f.behaviour, f.id)
		rows = append(rows, row{name: "context_key_" + f.behaviour, config: cfgSecurity,
			steps: one(get("/pets/1", auth(tok)), allowed("user-"+f.id, contextHeaders(`{"`+f.key+`":"root"}`, nil),
				"x-authorizer-principal_id")),
			token: tok, calls: 1})
	}

	// maxResponseBytes is the authorizer's own: the same 4 KiB answer is
	// within jwt's default limit and past small's 2048.
	rows = append(rows,
		row{name: "answer_within_default_limit", config: cfgSecurity,
			steps: one(get("/pets/1", auth(bearer(authz.Padded, "l7"))), allowed("user-l7", nil)),
			token: bearer(authz.Padded, "l7"), calls: 1},
		row{name: "answer_past_authorizer_limit", config: cfgSecurity,
			steps: one(get("/small/1", auth(bearer(authz.Padded, "l8"))), rejected(authzFailure)),
			token: bearer(authz.Padded, "l8"), calls: 1},
	)

	// What Envoy's connection manager refuses before any filter runs. A
	// raw HTTP/1 request carries Host, User-Agent and Connection besides
	// the fields listed; over HTTP/2 the four pseudo headers and
	// User-Agent count.
	h1 := func(name string, r request, w want) row {
		return row{name: name, config: cfgSecurity, only: "h1", steps: one(r, w)}
	}
	http10 := rawReq("GET", "/health")
	http10.version = "HTTP/1.0"
	rows = append(rows,
		h1("http_1_0", http10, rejected(codecAnswer(426, "Upgrade Required"))),
		h1("header_fields_100", rawReq("GET", "/health", fieldsOf(97)...), allowed("", nil)),
		h1("header_fields_101", rawReq("GET", "/health", fieldsOf(98)...),
			rejected(codecAnswer(431, "Request Header Fields Too Large"))),
		// Envoy joins repeated Authorization fields into one entry: 102
		// lines, 100 entries.
		h1("header_fields_joined_count_once", rawReq("GET", "/health",
			append(fieldsOf(96), auth("a"), auth("b"), auth("c"))...), allowed("", nil)),
		row{name: "header_fields_100_h2", config: cfgSecurity, only: "h2",
			steps: one(rawReq("GET", "/health", fieldsOf(95)...), allowed("", nil))},
		row{name: "header_fields_101_h2", config: cfgSecurity, only: "h2",
			steps: one(rawReq("GET", "/health", fieldsOf(96)...), want{reset: true})},

		// Methods: the codec knows a list, spelt exactly.
		row{name: "method_unknown_to_the_codec", config: cfgSecurity,
			steps: one(rawReq("M-SEARCH", "/health"), want{reject: noRoute, codecRefuses: true})},
		h1("method_query", rawReq("QUERY", "/health"), rejected(&answer{status: 400, headers: map[string]string{}})),
		h1("method_connect_with_a_path", rawReq("CONNECT", "/health"), rejected(codecBadRequest)),

		// The target's bytes: UTF-8 must be percent-encoded over HTTP/1;
		// HTTP/2 passes it to the filter.
		h1("target_raw_utf8", rawReq("GET", "/pets/\xc3\xa9"), rejected(codecBadRequest)),
		h1("target_raw_utf8_query", rawReq("GET", "/health?a=\xc3\xa9"), rejected(codecBadRequest)),
		row{name: "target_raw_utf8_h2", config: cfgSecurity, only: "h2",
			steps: one(rawReq("GET", "/pets/\xc3\xa9"), rejected(unauthorized))},

		// Bad percent-escapes in the path: the gateway's 400. net/http
		// refuses the request line first in the Go hosts (over HTTP/2 it
		// resets the stream, and Go's client retries that until it gives
		// up, so these rows run over HTTP/1 only).
		h1("path_invalid_escape", rawReq("GET", "/pets/%ZZ", auth(bearer(authz.Allow, "l9"))),
			want{reject: badRequest, netHTTPRefuses: true}),
		h1("path_truncated_escape", rawReq("GET", "/pets/%4"), want{reject: badRequest, netHTTPRefuses: true}),
		h1("path_invalid_escape_none_route", rawReq("GET", "/health/%ZZ"), want{reject: badRequest, netHTTPRefuses: true}),
		h1("path_escape_not_utf8", rawReq("GET", "/pets/%ff"), rejected(badRequest)),
	)
	return rows
}()
