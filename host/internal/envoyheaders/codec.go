package envoyheaders

import (
	"net/http"
	"strconv"
	"strings"
)

// MaxHeaders is the most request header fields Envoy's HTTP connection
// manager accepts (max_headers_count, 100 by default, which the example
// envoy.yaml writes out). Envoy counts the entries of its header map: Host
// (:authority) included, a header it joins (see Joined) once however often
// it is repeated, and over HTTP/2 the pseudo headers :method, :scheme and
// :path too.
const MaxHeaders = 100

// Codec answers, byte for byte as Envoy 1.40's HTTP/1 codec gives them
// before any filter runs.
const (
	badRequest          = "Bad Request"
	upgradeRequired     = "Upgrade Required"
	headerFieldsTooLong = "Request Header Fields Too Large"
)

// codecMethods are the only methods Envoy's HTTP/1 codec (balsa, without
// allow_custom_methods) accepts, spelt exactly: http-parser's list, which
// has MSEARCH where the method is M-SEARCH. Over HTTP/2 any token passes.
var codecMethods = map[string]bool{
	"ACL": true, "BIND": true, "CHECKOUT": true, "CONNECT": true, "COPY": true, "DELETE": true, "GET": true,
	"HEAD": true, "LINK": true, "LOCK": true, "MERGE": true, "MKACTIVITY": true, "MKCALENDAR": true, "MKCOL": true,
	"MOVE": true, "MSEARCH": true, "NOTIFY": true, "OPTIONS": true, "PATCH": true, "POST": true, "PROPFIND": true,
	"PROPPATCH": true, "PURGE": true, "PUT": true, "REBIND": true, "REPORT": true, "SEARCH": true, "SOURCE": true,
	"SUBSCRIBE": true, "TRACE": true, "UNBIND": true, "UNLINK": true, "UNLOCK": true, "UNSUBSCRIBE": true,
}

// Refuse answers r as Envoy's connection manager answers a request it
// refuses before any filter runs, and reports whether it did. Over
// HTTP/1.x, in the order Envoy finds them:
//   - a method outside Envoy's codec's list (lower-case ones, M-SEARCH,
//     FOO), or CONNECT with a path: 400 "Bad Request"; QUERY gets a 400
//     without a body (measured on Envoy 1.40);
//   - a request target with a byte outside '!'..'~' (UTF-8 not
//     percent-encoded, DEL): 400 "Bad Request";
//   - more than MaxHeaders header fields: 431;
//   - HTTP/1.0: 426, since Envoy accepts it only with accept_http_10.
//
// Over HTTP/2 only the header count applies, and Envoy resets the stream
// instead of answering; so does Refuse, by panicking with
// http.ErrAbortHandler. The Go hosts call it first, so that a request
// never reaches the filter in one host and not in another. What net/http
// itself refuses before any handler runs (an invalid percent-escape in
// the path, a control character) it answers its own way.
func Refuse(w http.ResponseWriter, r *http.Request) bool {
	status, body := 0, ""
	h1 := r.ProtoMajor == 1
	switch {
	case h1 && r.Method == "QUERY":
		status = http.StatusBadRequest
	case h1 && (!codecMethods[r.Method] || r.Method == http.MethodConnect && strings.HasPrefix(r.RequestURI, "/")):
		status, body = http.StatusBadRequest, badRequest
	case h1 && !codecTarget(r.RequestURI):
		status, body = http.StatusBadRequest, badRequest
	case HeaderCount(r) > MaxHeaders:
		if r.ProtoMajor == 2 {
			panic(http.ErrAbortHandler)
		}
		status, body = http.StatusRequestHeaderFieldsTooLarge, headerFieldsTooLong
	case h1 && r.ProtoMinor == 0:
		status, body = http.StatusUpgradeRequired, upgradeRequired
	default:
		return false
	}
	h := w.Header()
	clear(h)
	if body != "" {
		h.Set("Content-Type", "text/plain")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if h1 {
		// Envoy closes the connection after a codec error.
		h.Set("Connection", "close")
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
	return true
}

// codecTarget reports whether Envoy's HTTP/1 codec accepts the bytes of a
// request target: '!' to '~', tab and form feed (which net/http refuses
// before Refuse runs).
func codecTarget(target string) bool {
	for i := 0; i < len(target); i++ {
		if c := target[i]; (c < '!' || c > '~') && c != '\t' && c != '\f' {
			return false
		}
	}
	return true
}

// HeaderCount is the number of entries Envoy's header map would hold for
// r's headers: one per value, except one per name Envoy joins, plus Host
// and Transfer-Encoding, which net/http keeps out of r.Header, and over
// HTTP/2 the three other pseudo headers. (Measured on Envoy 1.40: over
// HTTP/1.1, 99 fields and Host pass and a 101st entry gets 431; over h2c,
// 96 fields and the four pseudo headers pass and a 101st resets the
// stream.)
func HeaderCount(r *http.Request) int {
	n := 0
	for name, vals := range r.Header {
		if Joined(name) {
			n++
		} else {
			n += len(vals)
		}
	}
	if r.Host != "" && r.Header.Get("Host") == "" {
		n++
	}
	if len(r.TransferEncoding) > 0 && r.Header.Get("Transfer-Encoding") == "" {
		n++
	}
	if r.ProtoMajor == 2 {
		n += 3 // :method, :scheme, :path
	}
	return n
}
