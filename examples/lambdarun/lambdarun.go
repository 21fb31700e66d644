// Package lambdarun runs Lambda functions on this machine the way the demo
// and the e2e suite need them: each function's bootstrap under the AWS
// Lambda Runtime Interface Emulator (aws-lambda-rie), all of them behind
// one Endpoint that answers the Lambda Invoke API as Lambda does.
//
// The emulator alone is not Lambda: it serves one function at the fixed
// path /2015-03-31/functions/function/invocations, checks no signature,
// drops the X-Amz-Function-Error header of a function error, and refuses
// (400) an invocation while another runs. The Endpoint closes those gaps:
// it refuses requests that are not SigV4-signed for "lambda" with the
// credentials it accepts (403, as Lambda does), routes
// /2015-03-31/functions/{function ARN or name}/invocations to the function's
// emulator, queues a function's invocations (Lambda would run them side by
// side in more execution environments), and marks a function error with
// X-Amz-Function-Error: Unhandled.
package lambdarun

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/tidwall/gjson"

	"github.com/authgate/authgate/core/arn"
	"github.com/authgate/authgate/host/awssign/awssigntest"
)

// RIEVersion is the emulator version the Makefile installs (`make rie`).
const RIEVersion = "v0.0.0-20261030222936-bef5c4ba774d"

// RIEPackage is the emulator's command, for go install.
const RIEPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// rieInvokePath is the one path the emulator serves.
const rieInvokePath = "/2015-03-31/functions/function/invocations"

// readyTimeout bounds the wait for an emulator to accept connections.
const readyTimeout = 30 * time.Second

// RIEBinary finds aws-lambda-rie: on PATH, else where go install puts it
// ($GOBIN, else $GOPATH/bin, else ~/go/bin).
func RIEBinary() (string, error) {
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, nil
	}
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	if gopath := os.Getenv("GOPATH"); gopath != "" {
		dirs = append(dirs, filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "bin"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "aws-lambda-rie")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("aws-lambda-rie not found on PATH or in Go's bin directory: run `make rie` (go install %s@%s)", RIEPackage, RIEVersion)
}

// BuildBootstrap builds the Go package pkg (run from dir, a directory of
// this module) as a Lambda bootstrap for the provided.al2023 runtime:
// GOOS=linux, CGO_ENABLED=0, without the RPC entry point, named bootstrap
// in out. It returns the binary's path.
func BuildBootstrap(ctx context.Context, goCmd, dir, pkg, out string) (string, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(out, "bootstrap")
	cmd := exec.CommandContext(ctx, goCmd, "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("lambdarun: building %s: %w\n%s", pkg, err, b)
	}
	return bin, nil
}

// Function is one function to run.
type Function struct {
	// Name is the function's name: the Endpoint serves it under its ARN
	// (any region and account) and under the bare name.
	Name string
	// Bootstrap is the executable the emulator starts on the first
	// invocation (a cold start), as Lambda does.
	Bootstrap string
	// Env is the function's environment, NAME=value entries, besides PATH
	// and the emulator's own.
	Env []string
	// Throttled makes every invocation answer 429
	// TooManyRequestsException, as Lambda does when the function's
	// concurrency is exhausted; no emulator is started.
	Throttled bool
}

// Options describe an Endpoint.
type Options struct {
	// Region is the region requests must be signed for.
	Region string
	// Credentials are those a request may be signed with.
	Credentials []aws.Credentials
	Functions   []Function
	// RIE is the emulator binary; "" finds it with RIEBinary.
	RIE string
	// Log receives the emulators' and functions' output; nil drops it.
	Log io.Writer
	// Listen is the Endpoint's address; "" means 127.0.0.1:0.
	Listen string
}

// Endpoint is a local Lambda Invoke API. Close stops it and its emulators.
type Endpoint struct {
	// URL is the endpoint's base URL, http://127.0.0.1:port.
	URL string
	// Verifier checks the signatures; add credentials (an assumed role's)
	// with Verifier.Add.
	Verifier *awssigntest.Verifier

	region string
	funcs  map[string]*function
	srv    *http.Server
	ln     net.Listener
}

// function is one running function.
type function struct {
	Function
	base     string // the emulator's URL
	cmd      *exec.Cmd
	out      *syncBuffer
	mu       sync.Mutex // one invocation at a time, as the emulator requires
	invoked  atomic.Int64
	waitDone chan struct{}
}

// Start starts an emulator per function (each waits for its first
// invocation to start the bootstrap) and the Endpoint in front of them.
func Start(ctx context.Context, o Options) (*Endpoint, error) {
	if err := arn.CheckRegion(o.Region); err != nil {
		return nil, fmt.Errorf("lambdarun: region: %w", err)
	}
	rie := o.RIE
	if rie == "" {
		var err error
		if rie, err = RIEBinary(); err != nil {
			return nil, err
		}
	}
	e := &Endpoint{Verifier: awssigntest.NewVerifier("lambda", o.Region, o.Credentials...), region: o.Region, funcs: map[string]*function{}}
	for _, f := range o.Functions {
		fn := &function{Function: f, out: &syncBuffer{tee: o.Log}}
		e.funcs[f.Name] = fn
		if f.Throttled {
			continue
		}
		if err := fn.start(ctx, rie); err != nil {
			e.Close()
			return nil, err
		}
	}
	listen := o.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		e.Close()
		return nil, err
	}
	e.ln, e.URL = ln, "http://"+ln.Addr().String()
	e.srv = &http.Server{Handler: e.Verifier.Wrap(http.HandlerFunc(e.invoke)), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
	return e, nil
}

// start runs the emulator for f and waits until it accepts connections.
func (f *function) start(ctx context.Context, rie string) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	f.base = "http://" + addr
	f.cmd = exec.Command(rie, "--runtime-interface-emulator-address", addr,
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", ports[1]), f.Bootstrap)
	f.cmd.Dir = filepath.Dir(f.Bootstrap)
	f.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "AWS_LAMBDA_FUNCTION_NAME=" + f.Name}, f.Env...)
	f.cmd.Stdout, f.cmd.Stderr = f.out, f.out
	ownGroup(f.cmd)
	if err := f.cmd.Start(); err != nil {
		return fmt.Errorf("lambdarun: function %s: starting the emulator: %w", f.Name, err)
	}
	f.waitDone = make(chan struct{})
	go func() { _ = f.cmd.Wait(); close(f.waitDone) }()
	deadline := time.Now().Add(readyTimeout)
	for {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-f.waitDone:
			return fmt.Errorf("lambdarun: function %s: the emulator exited:\n%s", f.Name, f.out.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lambdarun: function %s: the emulator did not listen on %s within %v", f.Name, addr, readyTimeout)
		}
	}
}

// Close stops the Endpoint and every emulator with its function.
func (e *Endpoint) Close() {
	if e.srv != nil {
		_ = e.srv.Close()
	}
	for _, f := range e.funcs {
		if f.cmd != nil && f.cmd.Process != nil {
			killGroup(f.cmd)
			<-f.waitDone
		}
	}
}

// Invocations counts the invocations that reached the named function.
func (e *Endpoint) Invocations(name string) int64 {
	if f := e.funcs[name]; f != nil {
		return f.invoked.Load()
	}
	return 0
}

// ColdStarts counts the named function's cold starts: the invocations
// whose report carries an init duration, as the emulator (and Lambda)
// print it for the invocation that started the runtime.
func (e *Endpoint) ColdStarts(name string) int {
	if f := e.funcs[name]; f != nil {
		return strings.Count(f.out.String(), "Init Duration:")
	}
	return 0
}

// Output is what the named function's emulator and runtime printed.
func (e *Endpoint) Output(name string) string {
	if f := e.funcs[name]; f != nil {
		return f.out.String()
	}
	return ""
}

// invoke serves POST /2015-03-31/functions/{FunctionName}/invocations for
// a request whose signature was checked.
func (e *Endpoint) invoke(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/"+arn.InvokeAPIVersion+"/functions/")
	if ok {
		name, ok = strings.CutSuffix(name, "/invocations")
	}
	if !ok || r.Method != http.MethodPost {
		lambdaError(w, http.StatusNotFound, "UnknownOperationException", "Unknown operation "+r.Method+" "+r.URL.EscapedPath())
		return
	}
	f := e.lookup(name)
	if f == nil {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+name)
		return
	}
	if t := r.Header.Get("X-Amz-Invocation-Type"); t != "" && t != "RequestResponse" {
		lambdaError(w, http.StatusBadRequest, "InvalidParameterValueException", "only RequestResponse invocations are served here, got "+t)
		return
	}
	if f.Throttled {
		lambdaError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded.")
		return
	}
	body, _ := io.ReadAll(r.Body)
	status, out, err := f.call(body)
	if err != nil {
		lambdaError(w, http.StatusBadGateway, "ServiceException", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	if status == http.StatusOK && isFunctionError(out) {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// lookup finds a function by the FunctionName of the path: a function ARN
// of the Endpoint's region (with or without qualifier) or a bare name.
func (e *Endpoint) lookup(name string) *function {
	if f, err := arn.ParseFunction(name); err == nil {
		if f.Region != e.region {
			return nil
		}
		name = f.Name
	}
	return e.funcs[name]
}

// call performs one invocation on the emulator. The invocation runs to its
// end even when the caller has gone (a gateway that timed out), and the
// next one waits for it: the emulator serves one at a time.
func (f *function) call(body []byte) (int, []byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invoked.Add(1)
	resp, err := http.Post(f.base+rieInvokePath, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("function %s: %w", f.Name, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// isFunctionError reports whether an emulator answer is a function's
// error: a JSON object with string errorMessage and errorType, the body
// the runtime posts to /runtime/invocation/{id}/error.
func isFunctionError(body []byte) bool {
	if !gjson.ValidBytes(body) {
		return false
	}
	doc := gjson.ParseBytes(body)
	return doc.IsObject() && doc.Get("errorMessage").Type == gjson.String && doc.Get("errorType").Type == gjson.String
}

// lambdaError answers as the Lambda service does for its own errors.
func lambdaError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(status)
	kind := "User"
	if status >= 500 {
		kind = "Service"
	}
	fmt.Fprintf(w, `{"Type":%q,"message":%q}`, kind, msg)
}

// freePorts returns n distinct ports the kernel just handed out on
// 127.0.0.1; the emulator binds them a moment later.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// syncBuffer collects a process's output, safe for concurrent writes, and
// copies it to tee when set.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	tee io.Writer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tee != nil {
		_, _ = b.tee.Write(p)
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// InvokeURL is the Invoke API URL of a function ARN on base.
func InvokeURL(base string, f arn.Function) string {
	return strings.TrimSuffix(base, "/") + f.InvokePath()
}
