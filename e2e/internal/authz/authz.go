// Package authz is the authorizer of the end-to-end suite. It accepts every
// event the gateway sends (TOKEN, REQUEST, HTTP API payloads 1.0 and 2.0),
// keeps each one exactly as received, counts calls per token, and answers
// the way the token asks, so one gateway can run a whole table without its
// cache mixing rows up.
//
// A token is "<behaviour>.<id>", optionally after "Bearer ". It is read
// from a TOKEN event's authorizationToken, or from a REQUEST event's
// X-Token header (any case), else its Authorization header. The behaviour
// picks the answer; the id only makes the token unique and becomes the
// principal, "user-<id>" (or "b-user-<id>" for events POSTed under /b/, a
// second authorizer whose answers must not be served for the first).
// Unknown behaviours answer Unauthorized. A test may also script the
// answer for one token (the Scripted behaviour, see Script), where the
// policy itself is what varies. Answers follow the Lambda
// authorizer output formats:
// https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html
// and, for events POSTed to SimplePath, the HTTP API simple response:
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html.
package authz

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Behaviours, by token prefix.
const (
	Allow       = "allow"       // Allow on the whole stage (simple: isAuthorized true)
	Deny        = "deny"        // an explicit Deny next to an Allow, which it beats (simple: false)
	GetOnly     = "getonly"     // Allow for GET only: other verbs are denied implicitly
	Implicit    = "implicit"    // Allow on another stage only: implicit deny here
	Ctx         = "ctx"         // Allow with CtxContext
	Tier        = "tier"        // Allow with TierContext
	EmptyValue  = "emptyval"    // Allow with EmptyContext
	Nested      = "nested"      // a context value that is an object: invalid
	CRLF        = "crlf"        // Allow with CRLFContext: a value with CR/LF, which only the encoded context carries
	Awkward     = "awkward"     // Allow with AwkwardContext: keys and values that cannot all be headers
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
	Hangup      = "hangup"      // closes the connection without an answer

	// Policies the security rows judge requests against, all on the
	// event's stage.
	AdminDeny     = "admindeny"     // Allow, with explicit Denies on GET /rt/admin, every DELETE and */admin
	PetsOnly      = "petsonly"      // Allow for GET /pets and GET /pets/* only
	IP10          = "ip10"          // Allow only where aws:SourceIp is in 10.0.0.0/8
	IPLoop        = "iploop"        // Allow only where aws:SourceIp is in 127.0.0.0/8
	DenyOutside10 = "denyoutside10" // Allow, and an explicit Deny where aws:SourceIp is not in 10.0.0.0/8

	// Hostile answers: each allows on the whole stage, but is refused
	// for how it is written (the gateway must answer 500 and go on
	// serving), except the two context keys, which must not reach the
	// upstream as a second principal.
	Deep           = "deep"           // a member nested DeepLevels deep
	Big            = "big"            // BigBytes long, sent chunked (no content-length)
	BigLength      = "biglength"      // BigBytes long, with its content-length
	Padded         = "padded"         // PaddedBytes long: within the default maxResponseBytes, past a small one
	Gzip           = "gzip"           // gzip-compressed, with content-encoding: gzip
	NotUTF8        = "notutf8"        // a member that is not UTF-8
	FoldUnderscore = "foldunderscore" // context key principal_id: x-authorizer-principal_id
	FoldCase       = "foldcase"       // context key Principal-Id: x-authorizer-principal-id

	// Scripted answers what Script set for the token's id, or
	// Unauthorized (a 200 with the JSON string) when nothing was set.
	Scripted = "script"
)

// Sizes of the hostile answers.
const (
	DeepLevels  = 20000   // 40 KB of brackets, far past the gateway's 32 levels
	BigBytes    = 2 << 20 // past the default maxResponseBytes (1 MiB)
	PaddedBytes = 4 << 10 // past a maxResponseBytes of 2048
)

// Delays of the slow behaviours.
const (
	SlowDelay  = 3 * time.Second
	ShortDelay = 300 * time.Millisecond
)

// Context maps the Ctx and Tier behaviours return, as written on the wire
// (number, float and boolean literals and key case kept).
const (
	CtxContext  = `{"stringKey":"hello","numberKey":42,"floatKey":2.5,"booleanKey":true,"Mixed-Case":"MiXeD"}`
	TierContext = `{"tier":"gold","quota":7,"beta":true}`
	// EmptyContext has a value that is the empty string.
	EmptyContext = `{"empty":"","set":"yes"}`
	// CRLFContext has a value that would inject a header.
	CRLFContext = `{"bad":"a\r\nx-injected: yes"}`
	// AwkwardContext holds what API Gateway accepts but a header cannot
	// carry as is: a key with a space, keys equal but for case or for '_'
	// and '-', the principal header's name, blanks around a value, a line
	// break, an empty value, non-ASCII; only "plain" is safe on its own.
	AwkwardContext = `{"user id":"u1","Role":"admin","role":"user","team_id":"t1","team-id":"t2","principal_id":"root",` +
		`"pad":" x ","line":"a\nb","empty":"","name":"Jos\u00e9","plain":"ok"}`
)

// Where events are POSTed, by what the answer must be.
const (
	// SimplePath gets simple responses ({"isAuthorized": ..., "context":
	// ...}); every other path gets policies.
	SimplePath = "/simple"
	// SecondPrefix is the second authorizer: principals "b-user-<id>".
	SecondPrefix = "/b/"
)

// TokenHeader is the request header a REQUEST event carries the token in.
const TokenHeader = "x-token"

// Event is one event as received.
type Event struct {
	Path string          // where the gateway POSTed it
	Type string          // TOKEN or REQUEST
	ARN  string          // methodArn, or routeArn for payload 2.0
	JSON json.RawMessage // the body, unchanged
}

// Server is the authorizer; use New. It is safe for concurrent use.
type Server struct {
	mu      sync.Mutex
	events  map[string][]Event // by token
	total   int                // every POST, with or without a token
	bad     []string           // bodies no token was found in
	scripts map[string]string  // Scripted answers, by id
}

// New returns a server with nothing recorded.
func New() *Server {
	return &Server{events: make(map[string][]Event), scripts: make(map[string]string)}
}

// Script makes body (JSON, sent with status 200) the answer for the
// Scripted token with this id, whichever identity source carries it
// ("Bearer script.<id>", "script.<id>").
func (s *Server) Script(id, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[id] = body
}

// ScriptedToken is the token whose answer Script(id, ...) sets.
func ScriptedToken(id string) string { return Scripted + "." + id }

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
	ev := Event{Path: r.URL.Path, JSON: body}
	token := read(&ev)
	s.mu.Lock()
	s.total++
	if token == "" {
		// Counted in Total only: a row's "no other calls" check shows it,
		// and Unreadable says what came.
		s.bad = append(s.bad, string(body))
		s.mu.Unlock()
		http.Error(w, "no token in the event", http.StatusBadRequest)
		return
	}
	s.events[token] = append(s.events[token], ev)
	s.mu.Unlock()
	s.answer(w, r, &ev, token)
}

// read fills ev's type and ARN from its JSON and returns its token.
func read(ev *Event) string {
	var e struct {
		Type               string            `json:"type"`
		AuthorizationToken string            `json:"authorizationToken"`
		MethodArn          string            `json:"methodArn"`
		RouteArn           string            `json:"routeArn"`
		Headers            map[string]string `json:"headers"`
	}
	if json.Unmarshal(ev.JSON, &e) != nil {
		return ""
	}
	ev.Type, ev.ARN = e.Type, e.MethodArn
	if ev.ARN == "" {
		ev.ARN = e.RouteArn
	}
	if e.Type == "TOKEN" {
		return e.AuthorizationToken
	}
	var auth string
	for k, v := range e.Headers {
		switch {
		case strings.EqualFold(k, TokenHeader):
			return v
		case strings.EqualFold(k, "authorization"):
			auth = v
		}
	}
	return auth
}

// Parse splits a token into behaviour and id.
func Parse(token string) (behaviour, id string) {
	token = strings.TrimPrefix(token, "Bearer ")
	behaviour, id, _ = strings.Cut(token, ".")
	return behaviour, id
}

// Calls reports how many events carried token.
func (s *Server) Calls(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events[token])
}

// Events returns the events received for token, in arrival order.
func (s *Server) Events(token string) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events[token])
}

// Total reports how many events were POSTed, unreadable ones included.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Tokens returns the tokens seen, sorted, for failure messages.
func (s *Server) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.events))
	for k := range s.events {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Unreadable returns the bodies in which no token was found.
func (s *Server) Unreadable() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bad)
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, ev *Event, token string) {
	behaviour, id := Parse(token)
	principal := "user-" + id
	if strings.HasPrefix(ev.Path, SecondPrefix) {
		principal = "b-" + principal
	}
	stage := stageARN(ev.ARN)
	if behaviour == Scripted {
		s.mu.Lock()
		body, ok := s.scripts[id]
		s.mu.Unlock()
		if !ok {
			body = `"Unauthorized"`
		}
		writeRaw(w, 200, "application/json", body)
		return
	}
	if ev.Path == SimplePath {
		switch behaviour {
		case Allow:
			writeRaw(w, 200, "application/json", `{"isAuthorized":true}`)
			return
		case Ctx:
			writeRaw(w, 200, "application/json", `{"isAuthorized":true,"context":`+CtxContext+`}`)
			return
		case Tier:
			writeRaw(w, 200, "application/json", `{"isAuthorized":true,"context":`+TierContext+`}`)
			return
		case Deny, Implicit, GetOnly:
			writeRaw(w, 200, "application/json", `{"isAuthorized":false}`)
			return
		}
	}
	switch behaviour {
	case Allow:
		writePolicy(w, principal, []statement{{effect: "Allow", resource: stage + "/*"}}, "")
	case Deny:
		writePolicy(w, principal, []statement{{effect: "Allow", resource: "*"}, {effect: "Deny", resource: stage + "/*"}}, "")
	case GetOnly:
		writePolicy(w, principal, []statement{{effect: "Allow", resource: stage + "/GET/*"}}, "")
	case Implicit:
		writePolicy(w, principal, []statement{{effect: "Allow", resource: otherStage(stage) + "/*"}}, "")
	case Ctx:
		writePolicy(w, principal, []statement{{effect: "Allow", resource: stage + "/*"}}, CtxContext)
	case Tier:
		writePolicy(w, principal, []statement{{effect: "Allow", resource: stage + "/*"}}, TierContext)
	case EmptyValue:
		writePolicy(w, principal, []statement{{effect: "Allow", resource: stage + "/*"}}, EmptyContext)
	case AdminDeny:
		writePolicy(w, principal, []statement{{effect: "Allow", resource: stage + "/*"},
			{effect: "Deny", resource: stage + "/GET/rt/admin"}, {effect: "Deny", resource: stage + "/DELETE/*"}, {effect: "Deny", resource: stage + "/*/admin"}}, "")
	case PetsOnly:
		writePolicy(w, principal, []statement{{effect: "Allow", resource: stage + "/GET/pets"}, {effect: "Allow", resource: stage + "/GET/pets/*"}}, "")
	case IP10, IPLoop:
		cidr := "10.0.0.0/8"
		if behaviour == IPLoop {
			cidr = "127.0.0.0/8"
		}
		writePolicy(w, principal, []statement{{effect: "Allow", resource: stage + "/*",
			condition: `{"IpAddress":{"aws:SourceIp":"` + cidr + `"}}`}}, "")
	case DenyOutside10:
		writePolicy(w, principal, []statement{{effect: "Allow", resource: stage + "/*"},
			{effect: "Deny", resource: stage + "/*", condition: `{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`}}, "")
	case Nested:
		writePolicy(w, principal, []statement{{effect: "Allow", resource: stage + "/*"}}, `{"obj":{"a":1}}`)
	case CRLF:
		writePolicy(w, principal, []statement{{effect: "Allow", resource: stage + "/*"}}, CRLFContext)
	case Awkward:
		writePolicy(w, principal, []statement{{effect: "Allow", resource: stage + "/*"}}, AwkwardContext)
	case NoPrincipal:
		writeRaw(w, 200, "application/json", `{"policyDocument":`+policy([]statement{{effect: "Allow", resource: stage + "/*"}})+`}`)
	case BadPolicy:
		writePolicy(w, principal, []statement{{effect: "Maybe", resource: stage + "/*"}}, "")
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
	case Deep, Big, BigLength, Padded, Gzip, NotUTF8:
		writeHostile(w, behaviour, principal, policy([]statement{{effect: "Allow", resource: stage + "/*"}}))
	case FoldUnderscore:
		writePolicy(w, principal, []statement{{effect: "Allow", resource: stage + "/*"}}, `{"principal_id":"root"}`)
	case FoldCase:
		writePolicy(w, principal, []statement{{effect: "Allow", resource: stage + "/*"}}, `{"Principal-Id":"root"}`)
	case Hangup:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
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
		writePolicy(w, principal, []statement{{effect: "Allow", resource: stage + "/*"}}, "")
	default:
		writeRaw(w, 401, "text/plain", "Unauthorized")
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

// otherStage names a stage of the same API that is not this one.
func otherStage(stage string) string {
	if i := strings.LastIndexByte(stage, '/'); i >= 0 {
		return stage[:i] + "/not-" + stage[i+1:]
	}
	return stage + "-other"
}

// statement is one policy statement; condition, when set, is its
// Condition block as JSON.
type statement struct{ effect, resource, condition string }

// policy writes an IAM policy document; its JSON is built by hand so that
// the context literals next to it keep their spelling.
func policy(stmts []statement) string {
	var b strings.Builder
	b.WriteString(`{"Version":"2012-10-17","Statement":[`)
	for i, s := range stmts {
		if i > 0 {
			b.WriteByte(',')
		}
		r, _ := json.Marshal(s.resource) // a string always marshals
		b.WriteString(`{"Action":"execute-api:Invoke","Effect":"` + s.effect + `","Resource":` + string(r))
		if s.condition != "" {
			b.WriteString(`,"Condition":` + s.condition)
		}
		b.WriteByte('}')
	}
	b.WriteString(`]}`)
	return b.String()
}

func writePolicy(w http.ResponseWriter, principal string, stmts []statement, context string) {
	p, _ := json.Marshal(principal) // a string always marshals
	body := `{"principalId":` + string(p) + `,"policyDocument":` + policy(stmts)
	if context != "" {
		body += `,"context":` + context
	}
	writeRaw(w, 200, "application/json", body+`}`)
}

// writeHostile writes an answer that allows with policy, written the
// hostile way behaviour names.
func writeHostile(w http.ResponseWriter, behaviour, principal, policy string) {
	p, _ := json.Marshal(principal) // a string always marshals
	head := `{"principalId":` + string(p) + `,"policyDocument":` + policy
	pad := func(n int) string {
		// The padding is an ignored member, so the answer stays valid.
		const member = `,"pad":""}`
		return head + `,"pad":"` + strings.Repeat("x", max(n-len(head)-len(member), 0)) + `"}`
	}
	switch behaviour {
	case Deep:
		writeRaw(w, 200, "application/json", head+`,"x":`+strings.Repeat("[", DeepLevels)+"1"+strings.Repeat("]", DeepLevels)+`}`)
	case Big:
		w.Header().Set("content-type", "application/json")
		// Flushed before it is whole, so net/http sends it chunked.
		body := pad(BigBytes)
		_, _ = io.WriteString(w, body[:1024])
		http.NewResponseController(w).Flush()
		_, _ = io.WriteString(w, body[1024:])
	case BigLength:
		body := pad(BigBytes)
		w.Header().Set("content-length", strconv.Itoa(len(body)))
		writeRaw(w, 200, "application/json", body)
	case Padded:
		writeRaw(w, 200, "application/json", pad(PaddedBytes))
	case Gzip:
		w.Header().Set("content-type", "application/json")
		w.Header().Set("content-encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = io.WriteString(zw, head+`}`)
		_ = zw.Close()
	case NotUTF8:
		writeRaw(w, 200, "application/json", head+`,"note":"caf`+"\xe9"+`"}`)
	}
}

func writeRaw(w http.ResponseWriter, status int, contentType, body string) {
	w.Header().Set("content-type", contentType)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
