package pipeline

import (
	"strings"
)

// Cause says why an authorizer call gave no answer the gateway could
// use. Every failure answers 500 (or serves a stale result, see
// CacheStale); the cause is for the operator: it names the log line's
// reason and an error_<cause> counter.
type Cause uint8

// Cause values.
const (
	CauseNone Cause = iota
	// CauseRefused: no connection to the authorizer could be made (the
	// connection was refused, the host unreachable, the cluster had no
	// healthy host), or the proxy would not send the call at all.
	CauseRefused
	// CauseReset: the connection broke before a complete answer came.
	CauseReset
	// CauseTimeout: the call exceeded the authorizer's timeoutMs.
	CauseTimeout
	// CauseStatus: the authorizer answered with a status other than 2xx
	// or 401, or (Lambda) the Invoke API reported an error.
	CauseStatus
	// CauseMalformed: a 2xx answer that is not a valid authorizer
	// response (not JSON, no policy, a context value that cannot be a
	// header, too large).
	CauseMalformed
)

// String is the cause's name in counters (MetricError + "_" + name) and
// logs; "" for CauseNone.
func (f Cause) String() string {
	switch f {
	case CauseRefused:
		return "refused"
	case CauseReset:
		return "reset"
	case CauseTimeout:
		return "timeout"
	case CauseStatus:
		return "status"
	case CauseMalformed:
		return "malformed"
	}
	return ""
}

// numCauses counts the Cause values, CauseNone included.
const numCauses = int(CauseMalformed) + 1

// Envoy answers a callout it could not complete with a response of its
// own rather than a failure (a proxy-wasm filter and a dynamic module get
// it as an ordinary answer): a timeout is a 504 with this body, a
// connection that failed or broke before the response headers is a 503
// whose body is ResetBodyPrefix and the reset reason, and a cluster
// without a healthy host is a 503 with NoHealthyUpstreamBody. Envoy 1.40
// answers a refused connection with the reset reason "remote connection
// failure" and a connection closed before the answer with "connection
// termination". The wazero host answers with the same bodies.
const (
	TimeoutBody           = "upstream request timeout"
	ResetBodyPrefix       = "upstream connect error or disconnect/reset before headers. reset reason: "
	NoHealthyUpstreamBody = "no healthy upstream"
)

// Failed tells a response that reports a call without an answer from one
// that carries the authorizer's answer (CauseNone, whatever its status),
// and returns the host's words for the failure. Status 0 is the
// embedding's report: its Cause when set, else a reset (Envoy reports a
// callout that broke off after its headers as a failure without
// headers). Envoy's own 503 and 504 answers (see TimeoutBody) are
// recognised by status and body; an authorizer's own 503 or 504 with
// another body is its answer.
func (r *Response) Failed() (Cause, string) {
	switch r.Status {
	case 0:
		if r.Cause == CauseNone {
			return CauseReset, r.Detail
		}
		return r.Cause, r.Detail
	case 503:
		body := strings.TrimSpace(string(r.Body))
		if body == NoHealthyUpstreamBody {
			return CauseRefused, body
		}
		if reason, ok := strings.CutPrefix(body, ResetBodyPrefix); ok {
			return resetCause(reason), reason
		}
	case 504:
		if strings.TrimSpace(string(r.Body)) == TimeoutBody {
			return CauseTimeout, ""
		}
	}
	return CauseNone, ""
}

// TimedOut reports whether r reports a call that ran out of time
// (CauseTimeout): the embedding's report, or Envoy's own 504. An
// authorizer's own 504 with another body is its answer.
func (r *Response) TimedOut() bool {
	c, _ := r.Failed()
	return c == CauseTimeout
}

// resetCause reads Envoy's reset reason (the text after ResetBodyPrefix,
// possibly followed by ", transport failure reason: ..."): a connection
// that could not be made ("remote connection failure", "local connection
// failure", "connection failure", "connection timeout") is a refusal;
// anything else ("connection termination", "remote reset", "overflow",
// "protocol error") broke an existing connection.
func resetCause(reason string) Cause {
	head, _, _ := strings.Cut(reason, ",")
	if strings.HasSuffix(head, "connection failure") || head == "connection timeout" {
		return CauseRefused
	}
	return CauseReset
}

// failureReason is the log reason of a call that got no answer.
func failureReason(f Cause, detail string, c *Call) string {
	var s string
	switch f {
	case CauseRefused:
		s = "authorizer call refused"
	case CauseTimeout:
		s = "authorizer call timed out"
		if c.Timeout > 0 {
			s += " after " + c.Timeout.String()
		}
	default:
		s = "authorizer call reset"
	}
	if detail != "" {
		s += ": " + detail
	}
	return s
}
