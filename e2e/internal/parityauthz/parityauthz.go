// Package parityauthz is the authorizer of the end-to-end parity suite. It
// accepts every event kind the gateway sends (TOKEN, REQUEST, HTTP API
// payloads 1.0 and 2.0), keeps each event's JSON exactly as received so
// that tests can compare the events the hosts built, and answers the way
// the request's token asks.
//
// The token is the request's X-Token header as the event carries it
// ("<behaviour>.<id>"): every parity authorizer lists that header as an
// identity source, so one event field names the answer whatever the
// payload format. The id makes the token unique and becomes the principal
// ("user-<id>"). Answers follow the Lambda authorizer output formats:
// https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html
// and, for simple responses (events POSTed to SimplePath),
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html.
package parityauthz

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/authgate/authgate/e2e/internal/calllog"
)

// Behaviours, by token prefix.
const (
	Allow    = "allow"    // Allow on the whole stage (simple: isAuthorized true)
	Deny     = "deny"     // an explicit Deny next to an Allow (simple: isAuthorized false)
	Implicit = "implicit" // Allow on another stage only: implicit deny
	Ctx      = "ctx"      // Allow with context values (simple: true with context)
	Unauth   = "unauth"   // HTTP 401
	Fail     = "fail"     // HTTP 500
)

// SimplePath is the path whose events get simple responses
// ({"isAuthorized": ..., "context": ...}); every other path gets policies.
const SimplePath = "/simple"

// TokenHeader is the request header that carries the token.
const TokenHeader = "x-token"

// Context is what the Ctx behaviour returns as the context map, as written
// on the wire (number and boolean literals kept).
const Context = `{"tier":"gold","quota":7,"beta":true}`

// Event is one event as received.
type Event struct {
	Path string          // the path the gateway POSTed to
	JSON json.RawMessage // the body, unchanged
}

// Server is the parity authorizer; use New.
type Server struct {
	calllog.Log[Event] // by token

	mu  sync.Mutex
	bad []string // bodies it could not find a token in
}

// New returns a server with nothing recorded.
func New() *Server {
	return &Server{}
}

// Unreadable returns the bodies in which no token was found.
func (s *Server) Unreadable() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bad...)
}

// ServeHTTP records a POSTed event and answers it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST an authorizer event", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "reading event: "+err.Error(), http.StatusBadRequest)
		return
	}
	token, arn := Token(body)
	if token == "" {
		// Counted in Total only: a scenario's "no other calls" check
		// shows it, and Unreadable says what came.
		s.AddUnattributed()
		s.mu.Lock()
		s.bad = append(s.bad, string(body))
		s.mu.Unlock()
		http.Error(w, "no x-token header in the event", http.StatusBadRequest)
		return
	}
	s.Add(token, Event{Path: r.URL.Path, JSON: body})
	answer(w, r.URL.Path == SimplePath, token, arn)
}

// Token finds the token and the ARN to build a policy for in an event of
// any kind: the X-Token header of headers (any case), or a TOKEN event's
// authorizationToken; methodArn, or routeArn for payload 2.0.
func Token(body []byte) (token, arn string) {
	var ev struct {
		AuthorizationToken string            `json:"authorizationToken"`
		Type               string            `json:"type"`
		MethodArn          string            `json:"methodArn"`
		RouteArn           string            `json:"routeArn"`
		Headers            map[string]string `json:"headers"`
	}
	if json.Unmarshal(body, &ev) != nil {
		return "", ""
	}
	arn = ev.MethodArn
	if arn == "" {
		arn = ev.RouteArn
	}
	if ev.Type == "TOKEN" {
		return ev.AuthorizationToken, arn
	}
	for k, v := range ev.Headers {
		if strings.EqualFold(k, TokenHeader) {
			return v, arn
		}
	}
	return "", arn
}

func answer(w http.ResponseWriter, simple bool, token, arn string) {
	behaviour, id, _ := strings.Cut(token, ".")
	principal := `"user-` + id + `"`
	stage := stageARN(arn)
	switch {
	case behaviour == Unauth:
		write(w, 401, "text/plain", "Unauthorized")
	case behaviour == Fail:
		write(w, 500, "application/json", `{"errorMessage":"boom","errorType":"Error"}`)
	case simple && (behaviour == Allow || behaviour == Ctx):
		ctx := ""
		if behaviour == Ctx {
			ctx = `,"context":` + Context
		}
		write(w, 200, "application/json", `{"isAuthorized":true`+ctx+`}`)
	case simple:
		write(w, 200, "application/json", `{"isAuthorized":false}`)
	case behaviour == Allow:
		write(w, 200, "application/json", `{"principalId":`+principal+`,"policyDocument":`+policy(allow(stage+"/*"))+`}`)
	case behaviour == Ctx:
		write(w, 200, "application/json", `{"principalId":`+principal+`,"policyDocument":`+policy(allow(stage+"/*"))+`,"context":`+Context+`}`)
	case behaviour == Deny:
		write(w, 200, "application/json", `{"principalId":`+principal+`,"policyDocument":`+
			policy(allow("*")+","+statement("Deny", stage+"/*"))+`}`)
	case behaviour == Implicit:
		write(w, 200, "application/json", `{"principalId":`+principal+`,"policyDocument":`+policy(allow(stage+"-other/*"))+`}`)
	default:
		write(w, 401, "text/plain", "Unauthorized")
	}
}

// stageARN cuts "arn:...:api/stage/VERB/path" to "arn:...:api/stage".
func stageARN(arn string) string {
	parts := strings.SplitN(arn, "/", 3)
	if len(parts) < 2 {
		return arn
	}
	return parts[0] + "/" + parts[1]
}

func allow(resource string) string { return statement("Allow", resource) }

func statement(effect, resource string) string {
	r, _ := json.Marshal(resource) // a string always marshals
	return `{"Effect":"` + effect + `","Action":"execute-api:Invoke","Resource":` + string(r) + `}`
}

func policy(statements string) string {
	return `{"Version":"2012-10-17","Statement":[` + statements + `]}`
}

func write(w http.ResponseWriter, status int, contentType, body string) {
	w.Header().Set("content-type", contentType)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
