// Package testauthz is an authorizer for the end-to-end suite: it serves
// API Gateway TOKEN events over HTTP and answers the way the token asks, so
// one gateway instance can run a whole scenario table without its cache
// mixing scenarios up.
//
// A token is "Bearer <behaviour>.<id>" (the "Bearer " prefix is optional).
// The behaviour picks the answer; the id only makes the token unique, and
// becomes the principal ("user-<id>"). Unknown behaviours answer Unauthorized.
// The answers follow the Lambda authorizer output format:
// https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html.
package testauthz

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/authgate/authgate/e2e/internal/calllog"
)

// Behaviours understood by the server, by token prefix.
const (
	Allow       = "allow"       // Allow on the whole stage
	Deny        = "deny"        // an explicit Deny (next to an Allow, which it beats)
	GetOnly     = "getonly"     // Allow for GET only: other verbs are denied implicitly
	Implicit    = "implicit"    // Allow on another stage only: implicit deny here
	Ctx         = "ctx"         // Allow with string, number and boolean context values
	Nested      = "nested"      // a context value that is an object: invalid
	CRLF        = "crlf"        // a context value with CR/LF: cannot be a header
	NoPrincipal = "noprincipal" // no principalId: invalid
	BadPolicy   = "badpolicy"   // a statement with an unknown Effect: invalid
	Unauth401   = "unauth401"   // HTTP 401
	UnauthJSON  = "unauthjson"  // 200 with the JSON string "Unauthorized"
	UnauthPlain = "unauthplain" // 200 with the plain text Unauthorized
	UnauthError = "unautherr"   // 200 with {"errorMessage":"Unauthorized"}
	Fail500     = "fail500"     // HTTP 500
	Fail403     = "fail403"     // HTTP 403 (a non-2xx that is not 401)
	Malformed   = "malformed"   // 200 with truncated JSON
	Slow        = "slow"        // waits SlowDelay (or until the caller gives up), then allows
	Delay       = "delay"       // waits ShortDelay, then allows: lets concurrent requests overlap
)

// Delays of the slow behaviours.
const (
	SlowDelay  = 3 * time.Second
	ShortDelay = 300 * time.Millisecond
)

// Event is the TOKEN event as the gateway sends it.
type Event struct {
	Type               string `json:"type"`
	AuthorizationToken string `json:"authorizationToken"`
	MethodArn          string `json:"methodArn"`
}

// Server is the test authorizer. It is safe for concurrent use; its call
// log (Calls, Events, Total, Tokens) is keyed by the whole token.
type Server struct {
	calllog.Log[Event] // by authorizationToken
}

// New returns a server with no calls recorded.
func New() *Server {
	return &Server{}
}

// ServeHTTP answers POSTed events; GET /calls returns the call counts by
// token as a JSON object, for runners outside this process.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/calls" {
		s.serveCalls(w)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST an authorizer event", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "reading event: "+err.Error(), http.StatusBadRequest)
		return
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.Type != "TOKEN" {
		// Counted nowhere: a gateway that sends this is broken, and the
		// scenario's call count (0 for this token) shows it.
		http.Error(w, "not a TOKEN event", http.StatusBadRequest)
		return
	}
	s.Add(ev.AuthorizationToken, ev)
	s.answer(w, r, &ev)
}

func (s *Server) serveCalls(w http.ResponseWriter) {
	w.Header().Set("content-type", "application/json")
	_ = json.NewEncoder(w).Encode(s.Counts())
}

// Parse splits a token into behaviour and id.
func Parse(token string) (behaviour, id string) {
	token = strings.TrimPrefix(token, "Bearer ")
	behaviour, id, _ = strings.Cut(token, ".")
	return behaviour, id
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, ev *Event) {
	behaviour, id := Parse(ev.AuthorizationToken)
	principal := "user-" + id
	stage := stageARN(ev.MethodArn)
	switch behaviour {
	case Allow:
		writeJSON(w, 200, response(principal, statement("Allow", stage+"/*"), nil))
	case Deny:
		writeJSON(w, 200, response(principal, []any{
			statement("Allow", "*")[0], statement("Deny", stage+"/*")[0]}, nil))
	case GetOnly:
		writeJSON(w, 200, response(principal, statement("Allow", stage+"/GET/*"), nil))
	case Implicit:
		writeJSON(w, 200, response(principal, statement("Allow", otherStage(stage)+"/*"), nil))
	case Ctx:
		// Raw JSON keeps the number literals exactly as written.
		writeRaw(w, 200, "application/json", `{"principalId":"`+principal+`","policyDocument":`+
			mustJSON(policy(statement("Allow", stage+"/*")))+
			`,"context":{"stringKey":"hello","numberKey":42,"floatKey":2.5,"booleanKey":true,"Mixed-Case":"MiXeD"}}`)
	case Nested:
		writeJSON(w, 200, response(principal, statement("Allow", stage+"/*"),
			map[string]any{"obj": map[string]any{"a": 1}}))
	case CRLF:
		writeJSON(w, 200, response(principal, statement("Allow", stage+"/*"),
			map[string]any{"bad": "a\r\nx-injected: yes"}))
	case NoPrincipal:
		writeJSON(w, 200, map[string]any{"policyDocument": policy(statement("Allow", stage+"/*"))})
	case BadPolicy:
		writeJSON(w, 200, response(principal, statement("Maybe", stage+"/*"), nil))
	case Unauth401:
		writeRaw(w, 401, "text/plain", "Unauthorized")
	case UnauthJSON:
		writeRaw(w, 200, "application/json", `"Unauthorized"`)
	case UnauthPlain:
		writeRaw(w, 200, "text/plain", "Unauthorized")
	case UnauthError:
		writeRaw(w, 200, "application/json", `{"errorMessage":"Unauthorized"}`)
	case Fail500:
		writeRaw(w, 500, "application/json", `{"errorMessage":"boom","errorType":"Error"}`)
	case Fail403:
		writeRaw(w, 403, "application/json", `{"message":"Forbidden"}`)
	case Malformed:
		writeRaw(w, 200, "application/json", `{"principalId":"`+principal+`","policyDocument":{"Version"`)
	case Slow, Delay:
		d := SlowDelay
		if behaviour == Delay {
			d = ShortDelay
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return // the gateway gave up: nobody reads the answer
		}
		writeJSON(w, 200, response(principal, statement("Allow", stage+"/*"), nil))
	default:
		writeRaw(w, 401, "text/plain", "Unauthorized")
	}
}

// stageARN cuts "arn:...:api/stage/VERB/path" to "arn:...:api/stage".
func stageARN(methodARN string) string {
	parts := strings.SplitN(methodARN, "/", 3)
	if len(parts) < 2 {
		return methodARN
	}
	return parts[0] + "/" + parts[1]
}

func otherStage(stage string) string {
	if i := strings.LastIndexByte(stage, '/'); i >= 0 {
		return stage[:i] + "/not-" + stage[i+1:]
	}
	return stage + "-other"
}

func statement(effect, resource string) []any {
	return []any{map[string]any{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}}
}

func policy(stmts []any) map[string]any {
	return map[string]any{"Version": "2012-10-17", "Statement": stmts}
}

func response(principal string, stmts []any, ctx map[string]any) map[string]any {
	out := map[string]any{"principalId": principal, "policyDocument": policy(stmts)}
	if ctx != nil {
		out["context"] = ctx
	}
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only literals built above reach here
	}
	return string(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeRaw(w, status, "application/json", mustJSON(v))
}

func writeRaw(w http.ResponseWriter, status int, contentType, body string) {
	w.Header().Set("content-type", contentType)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
