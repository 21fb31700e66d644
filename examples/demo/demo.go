package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/authgate/authgate/examples/echo"
	"github.com/authgate/authgate/examples/envoy/envoyrun"
	"github.com/authgate/authgate/examples/jwt-authorizer/jwtauth"
)

// api is the execute-api stage of examples/envoy; the authorizer's ext_authz
// endpoint needs it, the Lambda-style endpoint takes it from the methodArn.
// envoyReadyTimeout bounds the wait for Envoy: V8 compiles the filter once
// per worker, which took several seconds on a loaded machine.
const envoyReadyTimeout = 60 * time.Second

// ports are the addresses the demo uses on 127.0.0.1.
type ports struct {
	listener, upstream, authorizer, admin int
}

var api = jwtauth.API{Region: "us-east-1", AccountID: "123456789012", APIID: "a1b2c3d4e5", Stage: "prod"}

// check is one request of the tour and what API Gateway would answer.
type check struct {
	title  string
	method string
	path   string
	// tokenVar names the shell variable holding the token ("" sends no
	// Authorization header); rawAuth, when set, is sent literally instead.
	tokenVar   string
	rawAuth    string
	wantStatus int
	// wantPrincipal, when set, must come back from the echo upstream as
	// the x-authorizer-principal-id header it received.
	wantPrincipal string
}

var checks = []check{
	{title: "admin may delete any user", method: "DELETE", path: "/users/bob", tokenVar: "ADMIN_TOKEN", wantStatus: 200, wantPrincipal: "admin"},
	{title: "user may GET anything; the upstream sees the principal", method: "GET", path: "/pets", tokenVar: "USER_TOKEN", wantStatus: 200, wantPrincipal: "alice"},
	{title: "user may POST to her own /users/{sub}", method: "POST", path: "/users/alice", tokenVar: "USER_TOKEN", wantStatus: 200, wantPrincipal: "alice"},
	{title: "user may not POST to another user: policy denies", method: "POST", path: "/users/bob", tokenVar: "USER_TOKEN", wantStatus: 403},
	{title: "no token: 401 without calling the authorizer", method: "GET", path: "/pets", wantStatus: 401},
	{title: "garbage token: the authorizer says Unauthorized", method: "GET", path: "/pets", rawAuth: "Bearer not-a-jwt", wantStatus: 401},
}

// run starts the upstream, the authorizer and Envoy, runs the checks and,
// unless o.once, waits for ctx to end. It reports whether every check
// passed; an error means the demo could not run at all.
func run(ctx context.Context, o options, out io.Writer) (bool, error) {
	root, rootErr := envoyrun.RepoRoot()
	wasmFile, err := codeFile(o)
	if err != nil {
		return false, err
	}
	wasmFile, err = filepath.Abs(wasmFile)
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(wasmFile); err != nil {
		return false, fmt.Errorf("no compiled filter at %s: run `make demo` (it builds first) or `make build`", wasmFile)
	}
	lambdaMode := false
	switch o.authorizer {
	case "", "http":
	case "lambda":
		lambdaMode = true
	default:
		return false, fmt.Errorf("--authorizer: want http or lambda, got %q", o.authorizer)
	}
	examplePath := o.example
	name, useModule := exampleName(o.gateway, lambdaMode)
	if examplePath == "" {
		if rootErr != nil {
			return false, fmt.Errorf("%w (make demo), or pass --example", rootErr)
		}
		examplePath = filepath.Join(root, "examples", "envoy", name)
	}
	// The cluster the example's authorizer calls: the authorizer itself,
	// or the Lambda endpoint.
	authzCluster := "authorizer"
	if lambdaMode {
		authzCluster = "lambda"
	}
	boot, err := envoyrun.ReadBootstrap(examplePath)
	if err != nil {
		return false, err
	}
	if useModule {
		if err := boot.UseModule("authgate"); err != nil {
			return false, err
		}
	}
	envoyBin, err := envoyrun.Binary()
	if err != nil {
		return false, err
	}
	if o.concurrency <= 0 {
		o.concurrency = 2
	}
	if o.readyTimeout <= 0 {
		o.readyTimeout = envoyReadyTimeout
	}
	dir, err := os.MkdirTemp("", "authgate-demo-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)

	// The example's ports are tried first, so the commands it documents
	// work as written; the upstream and the authorizer listen before Envoy
	// starts, so Envoy never sees a refused connection.
	want, err := examplePorts(boot, authzCluster)
	if err != nil {
		return false, err
	}
	upLn, err := listen(want.upstream, o.freePorts)
	if err != nil {
		return false, err
	}
	defer upLn.Close()
	authzLn, err := listen(want.authorizer, o.freePorts)
	if err != nil {
		return false, err
	}
	defer authzLn.Close()
	p := ports{upstream: portOf(upLn), authorizer: portOf(authzLn)}
	if p.listener, err = pickPort(want.listener, o.freePorts); err != nil {
		return false, err
	}
	if p.admin, err = pickPort(want.admin, o.freePorts); err != nil {
		return false, err
	}

	secret, err := demoSecret(o.secret)
	if err != nil {
		return false, err
	}
	secretFrom := "random secret"
	switch {
	case o.secret != "":
		secretFrom = "secret from --secret"
	case os.Getenv(SecretVar) != "":
		secretFrom = "secret from $" + SecretVar
	}
	stopUp := envoyrun.Serve(upLn, echo.Handler())
	defer stopUp()
	var authzCalls func() int64
	var envoyEnv []string
	authzLine := fmt.Sprintf("http://127.0.0.1:%d (in process, HS256, %s)", p.authorizer, secretFrom)
	if lambdaMode {
		lam, err := startLambda(ctx, root, dir, authzLn, secret)
		if err != nil {
			return false, err
		}
		defer lam.endpoint.Close()
		authzCalls = func() int64 { return lam.endpoint.Invocations(lambdaFunction) }
		envoyEnv = lam.envoyEnv
		authzLine = fmt.Sprintf("Lambda function %s (its bootstrap under aws-lambda-rie), Invoke API at %s, SigV4 checked", lambdaFunction, lam.endpoint.URL)
	} else {
		auth, err := jwtauth.New(jwtauth.Config{HS256Secret: secret})
		if err != nil {
			return false, err
		}
		authzHandler, err := auth.Handler(api)
		if err != nil {
			return false, err
		}
		var calls atomic.Int64
		counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			authzHandler.ServeHTTP(w, r)
		})
		stopAuthz := envoyrun.Serve(authzLn, counted)
		defer stopAuthz()
		authzCalls = calls.Load
	}

	boot.SetListener("127.0.0.1", p.listener)
	boot.SetAdmin("127.0.0.1", p.admin)
	if err := boot.SetCluster("upstream", fmt.Sprintf("127.0.0.1:%d", p.upstream)); err != nil {
		return false, err
	}
	if err := boot.SetCluster(authzCluster, fmt.Sprintf("127.0.0.1:%d", p.authorizer)); err != nil {
		return false, err
	}
	if err := logDecisions(boot); err != nil {
		return false, err
	}
	codeEnv, err := boot.SetCode(wasmFile)
	if err != nil {
		return false, err
	}
	cfg, err := boot.Marshal()
	if err != nil {
		return false, err
	}
	fmt.Fprintf(out, "authgate demo\n  echo upstream    http://127.0.0.1:%d\n  JWT authorizer   %s\n", p.upstream, authzLine)
	fmt.Fprintf(out, "  Envoy            http://127.0.0.1:%d (admin http://127.0.0.1:%d, --concurrency %d)\n", p.listener, p.admin, o.concurrency)
	fmt.Fprintf(out, "  configuration    %s with the filter at %s\n", rel(root, examplePath), wasmFile)
	fmt.Fprintf(out, "  envoy            %s\n", envoyBin)
	fmt.Fprintf(out, "starting Envoy ...\n")
	began := time.Now()
	env, err := envoyrun.Start(ctx, envoyrun.Options{
		ConfigYAML: cfg, Binary: envoyBin, Env: append(envoyEnv, codeEnv...), Concurrency: o.concurrency, Dir: dir, ReadyTimeout: o.readyTimeout,
	})
	if err != nil {
		return false, fmt.Errorf("envoy: %w", err)
	}
	defer env.Stop()
	fmt.Fprintf(out, "Envoy ready after %v (log: %s)\n\n", time.Since(began).Round(time.Millisecond), env.LogPath())

	now := time.Now()
	tokens := map[string]string{}
	for name, m := range map[string]jwtauth.MintOptions{
		"ADMIN_TOKEN": {Subject: "admin", Groups: []string{jwtauth.AdminGroup}},
		"USER_TOKEN":  {Subject: "alice"},
	} {
		m.TTL, m.Now, m.HS256Secret = time.Hour, now, secret
		if tokens[name], err = jwtauth.Mint(m); err != nil {
			return false, err
		}
	}
	fmt.Fprintf(out, "Demo tokens (valid 1h; sub admin in group admins, and sub alice), and the secret that signs them:\n")
	fmt.Fprintf(out, "  export JWT_SECRET=%s\n", secret)
	fmt.Fprintf(out, "  export ADMIN_TOKEN=%s\n  export USER_TOKEN=%s\n  export GW=http://127.0.0.1:%d\n", tokens["ADMIN_TOKEN"], tokens["USER_TOKEN"], p.listener)
	fmt.Fprintf(out, "More tokens, with JWT_SECRET exported, from the repository's root (the authorizer takes any HS256 token it signs):\n")
	fmt.Fprintf(out, "  export BOB_TOKEN=$(go run ./examples/jwt-authorizer mint --sub bob --ttl 1h)\n")
	fmt.Fprintf(out, "  export ROOT_TOKEN=$(go run ./examples/jwt-authorizer mint --sub root --groups admins --ttl 1h)\n")
	fmt.Fprintf(out, "(Run the demo again with the same secret, JWT_SECRET=... make demo, and these tokens stay valid.)\n\n")

	curl, _ := exec.LookPath("curl")
	if curl == "" {
		fmt.Fprintf(out, "(curl is not installed: the requests below are sent with Go's net/http)\n\n")
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", p.listener)
	passed := 0
	for i, c := range checks {
		ok := runCheck(ctx, out, i+1, c, curl, base, tokens)
		if ok {
			passed++
		}
	}
	allPassed := passed == len(checks)
	mark := "PASS"
	if !allPassed {
		mark = "FAIL"
	}
	fmt.Fprintf(out, "%s: %d of %d checks passed; the authorizer was called %d times (the filter caches each token's policy for 300s and evaluates it per request)\n",
		mark, passed, len(checks), authzCalls())
	if !allPassed {
		fmt.Fprintf(out, "\n--- envoy log, last lines ---\n%s\n", env.LogTail(30))
	}
	if o.once {
		return allPassed, nil
	}
	fmt.Fprintf(out, "\nEverything keeps running: paste the export lines above into a shell and try e.g.\n")
	fmt.Fprintf(out, "  curl -i -H \"Authorization: Bearer $USER_TOKEN\" $GW/pets\n")
	fmt.Fprintf(out, "  curl -i -X DELETE -H \"Authorization: Bearer $USER_TOKEN\" $GW/users/bob\n")
	fmt.Fprintf(out, "  curl -i -X DELETE -H \"Authorization: Bearer $ROOT_TOKEN\" $GW/users/bob\n")
	fmt.Fprintf(out, "Envoy logs every decision line (logDecisions) to %s.\n", env.LogPath())
	fmt.Fprintf(out, "Press Ctrl-C to stop.\n")
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		if exited, err := env.Exited(); exited && ctx.Err() == nil {
			return allPassed, fmt.Errorf("envoy exited: %v\n%s", err, env.LogTail(30))
		}
	}
	fmt.Fprintf(out, "\nstopping Envoy, the authorizer and the upstream\n")
	return allPassed, nil
}

// runCheck sends one request, prints the curl -i command that sends it
// (tokens and the gateway as the shell variables the demo exported), the
// answer as curl -i shows it and a PASS/FAIL mark, and reports whether
// the answer was the expected one.
func runCheck(ctx context.Context, out io.Writer, n int, c check, curl, base string, tokens map[string]string) bool {
	url := base + c.path
	// shown is the command as a user pastes it; args is what runs.
	shown := []string{"curl", "-i"}
	args := []string{"-s", "-i"}
	if c.method != "GET" {
		shown = append(shown, "-X", c.method)
		args = append(args, "-X", c.method)
	}
	auth := ""
	switch {
	case c.rawAuth != "":
		auth = c.rawAuth
		shown = append(shown, "-H", "'Authorization: "+c.rawAuth+"'")
	case c.tokenVar != "":
		auth = "Bearer " + tokens[c.tokenVar]
		shown = append(shown, "-H", "\"Authorization: Bearer $"+c.tokenVar+"\"")
	}
	if auth != "" {
		args = append(args, "-H", "Authorization: "+auth)
	}
	shown = append(shown, "$GW"+c.path)
	args = append(args, url)
	fmt.Fprintf(out, "%d. %s\n   $ %s\n", n, c.title, strings.Join(shown, " "))

	var a answer
	var err error
	if curl != "" {
		a, err = viaCurl(ctx, curl, args)
	} else {
		a, err = viaGo(ctx, c.method, url, auth)
	}
	if err != nil {
		fmt.Fprintf(out, "   FAIL  request failed: %v\n\n", err)
		return false
	}
	for _, l := range a.head {
		fmt.Fprintf(out, "   %s\n", l)
	}
	fmt.Fprintf(out, "\n   %s\n", oneLine(a.body))
	problem := ""
	if a.status != c.wantStatus {
		problem = fmt.Sprintf("want status %d", c.wantStatus)
	} else if c.wantPrincipal != "" {
		got := echo.Principal(a.body)
		if got != c.wantPrincipal {
			problem = fmt.Sprintf("the upstream saw x-authorizer-principal-id %q, want %q", got, c.wantPrincipal)
		}
	}
	if problem != "" {
		fmt.Fprintf(out, "   FAIL  %s\n\n", problem)
		return false
	}
	detail := fmt.Sprintf("%d as expected", c.wantStatus)
	if c.wantPrincipal != "" {
		detail += ", principal " + c.wantPrincipal + " reached the upstream"
	}
	fmt.Fprintf(out, "   PASS  %s\n\n", detail)
	return true
}

// answer is a response as curl -i shows it: the status line and the
// headers (without date, which changes every second), then the body.
type answer struct {
	status int
	head   []string
	body   []byte
}

func viaCurl(ctx context.Context, curl string, args []string) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, curl, args...)
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		return answer{}, fmt.Errorf("curl: %w %s", err, strings.TrimSpace(stderr.String()))
	}
	return parseCurl(stdout)
}

// parseCurl reads curl -i's output: a status line, header lines, an empty
// line and the body.
func parseCurl(b []byte) (answer, error) {
	head, body, ok := bytes.Cut(b, []byte("\r\n\r\n"))
	if !ok {
		return answer{}, fmt.Errorf("curl printed %q, want a response", b)
	}
	lines := strings.Split(string(head), "\r\n")
	f := strings.Fields(lines[0])
	if len(f) < 2 {
		return answer{}, fmt.Errorf("curl printed the status line %q", lines[0])
	}
	status, err := strconv.Atoi(f[1])
	if err != nil {
		return answer{}, fmt.Errorf("curl printed the status line %q", lines[0])
	}
	a := answer{status: status, head: lines[:1], body: body}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(strings.ToLower(l), "date:") {
			a.head = append(a.head, l)
		}
	}
	return a, nil
}

func viaGo(ctx context.Context, method, url, auth string) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return answer{}, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	a := answer{status: resp.StatusCode, head: []string{resp.Proto + " " + resp.Status}, body: body}
	names := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		if k != "Date" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range resp.Header[k] {
			a.head = append(a.head, strings.ToLower(k)+": "+v)
		}
	}
	return a, err
}

// oneLine shortens a body for printing; JSON is re-encoded (maps come out
// with sorted keys) so the output is stable and on one line.
func oneLine(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) == nil {
		if c, err := json.Marshal(v); err == nil {
			b = c
		}
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	if s == "" {
		s = "(empty body)"
	}
	return s
}

// logDecisions turns on the plugin configuration's logDecisions, so that
// Envoy's log shows every decision at its default level.
func logDecisions(boot *envoyrun.Bootstrap) error {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(boot.PluginConfig(), &doc); err != nil {
		return fmt.Errorf("the example's plugin configuration: %w", err)
	}
	doc["logDecisions"] = json.RawMessage("true")
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return boot.SetPluginConfig(b)
}

// SecretVar is the environment variable the demo takes its HS256 secret
// from when --secret is not given, as the example authorizer does.
const SecretVar = "JWT_SECRET"

// demoSecret is the secret that signs the demo's tokens: the flag's, else
// $JWT_SECRET, else a random one. A secret given must be long enough for
// HS256; a random one is hex, so it travels in a Lambda function's
// environment and a shell's export line as it is.
func demoSecret(flagValue string) ([]byte, error) {
	s := flagValue
	if s == "" {
		s = os.Getenv(SecretVar)
	}
	if s == "" {
		raw := make([]byte, jwtauth.MinHS256SecretBytes)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		return []byte(hex.EncodeToString(raw)), nil
	}
	if len(s) < jwtauth.MinHS256SecretBytes {
		return nil, fmt.Errorf("--secret (or $%s): %d bytes, want at least %d for HS256", SecretVar, len(s), jwtauth.MinHS256SecretBytes)
	}
	return []byte(s), nil
}

// listen binds the preferred port on 127.0.0.1, or any free port when it is
// taken or free is set.
func listen(preferred int, free bool) (net.Listener, error) {
	if !free {
		if ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(preferred))); err == nil {
			return ln, nil
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// pickPort returns the preferred port if it can be bound now, else a free
// one. Envoy binds it a moment later; another process could take it in
// between, and then Envoy fails to start with a clear log line.
func pickPort(preferred int, free bool) (int, error) {
	ln, err := listen(preferred, free)
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return portOf(ln), nil
}

func portOf(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

// examplePorts reads the ports the example bootstrap is written with; the
// authorizer's is that of cluster authzCluster.
func examplePorts(b *envoyrun.Bootstrap, authzCluster string) (ports, error) {
	var p ports
	up, err := b.Cluster("upstream")
	if err != nil {
		return p, err
	}
	authz, err := b.Cluster(authzCluster)
	if err != nil {
		return p, err
	}
	for _, f := range []struct {
		hostport string
		port     *int
	}{{b.Listener(), &p.listener}, {b.Admin(), &p.admin}, {up, &p.upstream}, {authz, &p.authorizer}} {
		_, port, err := net.SplitHostPort(f.hostport)
		if err == nil {
			*f.port, err = strconv.Atoi(port)
		}
		if err != nil {
			return p, fmt.Errorf("example address %q: %w", f.hostport, err)
		}
	}
	return p, nil
}

// rel shows p relative to root when it lies inside it.
func rel(root, p string) string {
	if root == "" {
		return p
	}
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
