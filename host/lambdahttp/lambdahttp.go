// Package lambdahttp serves a Go Lambda handler over HTTP, so that an API
// Gateway Lambda authorizer written with github.com/aws/aws-lambda-go can
// answer authgate's authorizer calls without being changed.
//
// authgate POSTs the authorizer event (the TOKEN or REQUEST event API Gateway
// sends to a Lambda authorizer) as the request body and reads the function's
// result from the response body. A user's existing authorizer is dropped in
// as is: where its main calls lambda.Start(handler), an HTTP server calls
// lambdahttp.Handler(handler) instead, with the same handler function:
//
//	func handle(ctx context.Context, e events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) { ... }
//
//	http.ListenAndServe("127.0.0.1:9001", lambdahttp.Handler(handle))
//
// Every signature lambda.Start accepts works, because the JSON decoding,
// reflection and encoding are aws-lambda-go's own ([lambda.NewHandler]).
// The function's results map onto HTTP like this:
//
//   - a result: 200, application/json, the encoded result;
//   - an error whose message is exactly "Unauthorized" (what API Gateway
//     recognises as "deny with 401"): 401 {"errorMessage":"Unauthorized"};
//   - any other error, or a panic: 500 with a Lambda error payload
//     {"errorMessage":"...","errorType":"..."}, which the gateway answers
//     with 500;
//   - a body that is not JSON: 400, as Lambda refuses such an invocation;
//   - a method other than POST: 405; a body over [MaxBodyBytes]: 413.
//
// See https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html.
package lambdahttp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sync"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// MaxBodyBytes is the largest event accepted. Authorizer events are a few
// kilobytes; REQUEST events carry the request's headers and query, which
// proxies already bound well below this.
const MaxBodyBytes = 1 << 20

// Unauthorized is the error message that API Gateway, and authgate, read as
// "the token is not valid": the gateway answers 401 instead of 500.
const Unauthorized = "Unauthorized"

// Handler returns an http.Handler that invokes h, a function with any
// signature lambda.Start accepts (func(context.Context, TIn) (TOut, error),
// func(TIn) (TOut, error), func(context.Context, TIn) error, ...), or a
// lambda.Handler. The request's context is passed to h, carrying a
// lambdacontext.LambdaContext with a fresh AwsRequestID so handlers that log
// it keep working.
//
// Handler panics if h is not a valid handler, so that a wrong signature
// fails at program start rather than answering 500 to every request.
func Handler(h any) http.Handler {
	if err := validate(h); err != nil {
		panic(fmt.Sprintf("lambdahttp: invalid handler: %v", err))
	}
	if lh, ok := h.(lambda.Handler); ok {
		return &server{shared: lh}
	}
	return &server{handlers: &sync.Pool{New: func() any { return lambda.NewHandler(h) }}}
}

// server invokes the handler once per request. aws-lambda-go's handlers
// are written for Lambda, which never invokes one instance concurrently:
// the bytes Invoke returns sit in a buffer the handler reuses on its next
// invocation. So each request borrows a handler of its own from a pool and
// copies the answer before giving it back; a lambda.Handler supplied by the
// caller is a single instance and is invoked one request at a time, as
// Lambda would.
type server struct {
	handlers *sync.Pool // of lambda.Handler built from the function
	shared   lambda.Handler
	mu       sync.Mutex // serialises invocations of shared
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "method not allowed", "MethodNotAllowed")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body too large", "RequestTooLargeException")
			return
		}
		writeError(w, http.StatusBadRequest, "reading request body failed", "InvalidRequestContentException")
		return
	}
	// Lambda refuses an invocation whose payload is not JSON before the
	// function runs; doing the same keeps a malformed call from reaching a
	// handler that might treat a decode error as something else.
	if !json.Valid(body) {
		writeError(w, http.StatusBadRequest, "request body is not JSON", "InvalidRequestContentException")
		return
	}
	out, invokeErr := s.invoke(r.Context(), body)
	if invokeErr != nil {
		if invokeErr.Message == Unauthorized {
			writeJSON(w, http.StatusUnauthorized, []byte(`{"errorMessage":"Unauthorized"}`))
			return
		}
		writeError(w, http.StatusInternalServerError, invokeErr.Message, invokeErr.Type)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// invoke calls the handler and turns an error or a panic into the payload
// Lambda would report for it. A panic must not take the server down: one bad
// event would otherwise deny every caller.
func (s *server) invoke(ctx context.Context, payload []byte) (out []byte, invokeErr *messages.InvokeResponse_Error) {
	defer func() {
		if v := recover(); v != nil {
			out = nil
			invokeErr = &messages.InvokeResponse_Error{Message: fmt.Sprint(v), Type: typeName(v)}
		}
	}()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: requestID()})
	out, err := s.call(ctx, payload)
	if err != nil {
		return nil, errorPayload(err)
	}
	return out, nil
}

// call invokes a handler no other request is using and returns a copy of
// its answer, taken before the handler can be invoked again.
func (s *server) call(ctx context.Context, payload []byte) ([]byte, error) {
	h := s.shared
	if h == nil {
		h = s.handlers.Get().(lambda.Handler)
		defer s.handlers.Put(h)
	} else {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	out, err := h.Invoke(ctx, payload)
	return bytes.Clone(out), err
}

// errorPayload mirrors how the Lambda runtime reports a function error: the
// message of the error and the name of its type ("errorString" for
// errors.New), or the payload itself when the function returned one.
func errorPayload(err error) *messages.InvokeResponse_Error {
	var ive messages.InvokeResponse_Error
	if errors.As(err, &ive) {
		return &messages.InvokeResponse_Error{Message: ive.Message, Type: ive.Type}
	}
	return &messages.InvokeResponse_Error{Message: err.Error(), Type: typeName(err)}
}

func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return ""
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func writeError(w http.ResponseWriter, status int, message, errorType string) {
	b, err := json.Marshal(messages.InvokeResponse_Error{Message: message, Type: errorType})
	if err != nil {
		// Marshalling two strings cannot fail; keep the status regardless.
		b = []byte(`{"errorMessage":"internal error"}`)
	}
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// requestID returns a random identifier in the UUID layout Lambda uses.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// validate applies the rules documented for lambda.Start. aws-lambda-go
// checks them too, but only reports a violation when the handler is
// invoked.
func validate(h any) error {
	if h == nil {
		return errors.New("handler is nil")
	}
	if _, ok := h.(lambda.Handler); ok {
		return nil
	}
	t := reflect.TypeOf(h)
	if t.Kind() != reflect.Func {
		return fmt.Errorf("handler is a %s, not a function", t.Kind())
	}
	if v := reflect.ValueOf(h); v.IsNil() {
		return errors.New("handler is a nil function")
	}
	ctxType := reflect.TypeFor[context.Context]()
	isContext := func(a reflect.Type) bool {
		return a.Kind() == reflect.Interface && ctxType.Implements(a) && a.Implements(ctxType)
	}
	switch t.NumIn() {
	case 0:
	case 1:
		// A single interface argument is the context unless it is an empty
		// interface (func(event any)).
		if a := t.In(0); a.Kind() == reflect.Interface && a.NumMethod() > 0 && !isContext(a) {
			return fmt.Errorf("handler takes an interface that is not context.Context: %s", a)
		}
	case 2:
		if !isContext(t.In(0)) {
			return fmt.Errorf("handler takes two arguments but the first is %s, not context.Context", t.In(0))
		}
	default:
		return fmt.Errorf("handler takes %d arguments, at most 2 allowed", t.NumIn())
	}
	errType := reflect.TypeFor[error]()
	switch n := t.NumOut(); {
	case n > 2:
		return fmt.Errorf("handler returns %d values, at most 2 allowed", n)
	case n > 0 && !t.Out(n-1).Implements(errType):
		return fmt.Errorf("handler's last result is %s, which does not implement error", t.Out(n-1))
	}
	return nil
}
