//go:build securityport

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/e2e/internal/calllog"
	"github.com/authgate/authgate/e2e/internal/echo"
	"github.com/authgate/authgate/examples/envoy/envoyrun"
	"github.com/authgate/authgate/host/native"
)

// The harness of the security rows and the differential test: upstreams
// that read a request the way real ones do, an authorizer whose answer per
// token the test chooses, every host that runs authgate (speaking HTTP/1.1
// and HTTP/2 without TLS), and clients that send a request target exactly
// as written.

// readerView is what the reading upstream reports: the request as it
// arrived, and as two kinds of real upstream read it.
type readerView struct {
	Method  string              `json:"method"`
	URI     string              `json:"uri"`
	Host    string              `json:"host"`
	Headers map[string][]string `json:"headers"`
	// CGI is the HTTP_* variables a CGI-style server (WSGI, PHP, Rack)
	// builds: the name upper-cased with "-" as "_"; names that fold into
	// one variable have their values joined with ",".
	CGI map[string]string `json:"cgi"`
	// ServletMethod and ServletPath are what a servlet container and the
	// frameworks that upper-case methods act on: the method upper-cased,
	// and the path with ";parameters" dropped from every segment, decoded
	// once and its dot segments resolved.
	ServletMethod string `json:"servletMethod"`
	ServletPath   string `json:"servletPath"`
}

// readerHandler answers every request with its readerView, marked as an
// upstream answer.
func readerHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := readerView{Method: r.Method, URI: r.RequestURI, Host: r.Host, Headers: map[string][]string{}, CGI: map[string]string{}}
		if v.URI == "" {
			v.URI = r.URL.RequestURI()
		}
		names := make([]string, 0, len(r.Header))
		for name := range r.Header {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			vals := r.Header[name]
			v.Headers[strings.ToLower(name)] = append(v.Headers[strings.ToLower(name)], vals...)
			cgi := "HTTP_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
			joined := strings.Join(vals, ",")
			if prev, ok := v.CGI[cgi]; ok {
				joined = prev + "," + joined
			}
			v.CGI[cgi] = joined
		}
		v.ServletMethod = strings.ToUpper(r.Method)
		path, _, _ := strings.Cut(v.URI, "?")
		segs := strings.Split(path, "/")
		for i, seg := range segs {
			segs[i], _, _ = strings.Cut(seg, ";")
		}
		v.ServletPath = resolveDots(percentDecode(strings.Join(segs, "/")))
		b, err := json.Marshal(&v)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("content-type", "application/json")
		w.Header().Set(echo.Marker, "1")
		_, _ = w.Write(b)
	})
}

// percentDecode decodes valid escapes and leaves any other "%" alone.
func percentDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhexByte(s[i+1])<<4 | unhexByte(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhexByte(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// resolveDots removes "." and ".." segments (RFC 3986, 5.2.4).
func resolveDots(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		switch seg {
		case ".", "..":
			if seg == ".." && len(out) > 0 {
				out = out[:len(out)-1]
			}
			if i == len(segs)-1 {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	return "/" + strings.Join(out, "/")
}

// scriptAuthz is an authorizer whose answer for each token the test sets:
// a token without an answer is Unauthorized. It records the events it
// receives by token.
type scriptAuthz struct {
	mu      sync.Mutex
	answers map[string]string
	calllog.Log[string]
}

func newScriptAuthz() *scriptAuthz { return &scriptAuthz{answers: map[string]string{}} }

// set makes body the answer for token.
func (a *scriptAuthz) set(token, body string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answers[token] = body
}

func (a *scriptAuthz) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev struct {
		AuthorizationToken string            `json:"authorizationToken"`
		MethodArn          string            `json:"methodArn"`
		Headers            map[string]string `json:"headers"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&ev); err != nil {
		a.AddUnattributed()
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	token := ev.AuthorizationToken
	if token == "" {
		// A REQUEST event: the key header is the token.
		token = ev.Headers["x-api-key"]
	}
	a.Add(token, ev.MethodArn)
	a.mu.Lock()
	body, ok := a.answers[token]
	a.mu.Unlock()
	if !ok {
		_, _ = io.WriteString(w, `"Unauthorized"`)
		return
	}
	w.Header().Set("content-type", "application/json")
	_, _ = io.WriteString(w, body)
}

// secHost is one way of running authgate for the security rows and the
// differential test. start runs it with cfg (whose authorizers use the
// cluster "authorizer") in front of the upstream and returns the address
// (host:port) it listens on, for HTTP/1.1 and HTTP/2 without TLS. viaEnvoy
// says the request first passes Envoy's codec and connection manager.
type secHost struct {
	name     string
	viaEnvoy bool
	start    func(t *testing.T, cfg []byte, up *readerUpstream, authz string) string
}

// readerUpstream is the reading upstream, in process (for the in-process
// hosts) and listening (for the others).
type readerUpstream struct {
	handler http.Handler
	url     string
}

func newReaderUpstream(t *testing.T) *readerUpstream {
	up := &readerUpstream{handler: readerHandler()}
	up.url = serve(t, up.handler)
	return up
}

// secHosts lists every host: the two Go hosts in process, the two engines
// of authgate serve, the wasm filter in Envoy and the dynamic module in
// Envoy.
func secHosts() []secHost {
	return []secHost{
		{name: "native", start: startNativeH2C},
		{name: "wasm", start: startWasmH2C},
		{name: "serve-native", start: func(t *testing.T, cfg []byte, up *readerUpstream, authz string) string {
			return startServeCLI(t, cfg, up, authz, "native")
		}},
		{name: "serve-wasm", start: func(t *testing.T, cfg []byte, up *readerUpstream, authz string) string {
			return startServeCLI(t, cfg, up, authz, "wasm")
		}},
		{name: "envoy", viaEnvoy: true, start: startEnvoyWasm},
		{name: "envoy-module", viaEnvoy: true, start: startEnvoyModule},
	}
}

// serveH2C runs h on 127.0.0.1 for HTTP/1.1 and HTTP/2 with prior
// knowledge, as Envoy's listener accepts both, until t ends.
func serveH2C(t *testing.T, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, Protocols: new(http.Protocols)}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return ln.Addr().String()
}

func startNativeH2C(t *testing.T, cfg []byte, up *readerUpstream, authz string) string {
	t.Helper()
	plan, err := config.Parse(cfg)
	if err != nil {
		t.Fatalf("config.Parse: %v", err)
	}
	logger, _ := testLogger(t, "native")
	mw, err := native.New(plan, native.Options{Clusters: map[string]string{"authorizer": authz}, Logger: logger})
	if err != nil {
		t.Fatalf("native.New: %v", err)
	}
	return serveH2C(t, mw.Handler(up.handler))
}

func startWasmH2C(t *testing.T, cfg []byte, up *readerUpstream, authz string) string {
	t.Helper()
	h, _, err := newWasmHostPool(t, cfg, map[string]string{"authorizer": authz}, wasmPool)
	if err != nil {
		t.Fatalf("wasm.New: %v", err)
	}
	return serveH2C(t, h.Handler(up.handler))
}

func startEnvoyWasm(t *testing.T, cfg []byte, up *readerUpstream, authz string) string {
	t.Helper()
	g := &envoyGateway{}
	base := g.start(t, cfg, &upstream{url: up.url, clusters: map[string]string{"authorizer": authz}})
	return hostPort(base)
}

// startEnvoyModule runs examples/envoy/envoy-module.yaml with cfg as its
// plugin configuration.
func startEnvoyModule(t *testing.T, cfg []byte, up *readerUpstream, authz string) string {
	t.Helper()
	bin := envoyBinary(t)
	dir := moduleDir(t, "")
	example, err := os.ReadFile(exampleModuleYAML)
	if err != nil {
		t.Fatal(err)
	}
	port := func(u string) int {
		_, p, err := net.SplitHostPort(hostPort(u))
		if err != nil {
			t.Fatal(err)
		}
		var n int
		fmt.Sscan(p, &n)
		return n
	}
	yml, err := envoyrun.RewriteExample(string(example), envoyrun.ExampleOptions{
		ListenerPort: envoyrun.AnyPort, AdminPort: envoyrun.AnyPort,
		UpstreamPort: port(up.url), AuthorizerPort: port(authz), PluginConfig: string(cfg),
	})
	if err != nil {
		t.Fatalf("rewriting %s: %v", exampleModuleYAML, err)
	}
	work := t.TempDir()
	logPath := filepath.Join(work, "envoy.log")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("envoy (module) log:\n%s", readEnvoyLog(logPath))
		}
	})
	t.Setenv("ENVOY_DYNAMIC_MODULES_SEARCH_PATH", dir)
	e, base, err := startEnvoy(t, envoyrun.Options{ConfigYAML: []byte(yml), Binary: bin, Dir: work, LogPath: logPath,
		Concurrency: envoyWorkers, ReadyTimeout: envoyReadyTimeout, StopTimeout: envoyStopTimeout})
	if err != nil {
		t.Fatalf("envoy (module) did not become ready: %v", err)
	}
	_ = e
	return hostPort(base)
}

// The CLI is built at most once per test binary when AUTHGATE_CLI is not
// set.
var (
	cliOnce sync.Once
	cliFile string
	cliErr  error
)

// cliPath returns the authgate binary: $AUTHGATE_CLI, or a fresh build of
// ./host/cmd/authgate (without an embedded filter; the wasm engine gets
// the suite's filter with --filter).
func cliPath(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		if p := os.Getenv("AUTHGATE_CLI"); p != "" {
			cliFile, cliErr = filepath.Abs(p)
			return
		}
		dir, err := os.MkdirTemp("", "authgate-e2e-cli-")
		if err != nil {
			cliErr = err
			return
		}
		cliFile = filepath.Join(dir, "authgate")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, goCommand(), "build", "-o", cliFile, "./host/cmd/authgate")
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			cliErr = fmt.Errorf("building ./host/cmd/authgate: %w\n%s", err, b)
		}
	})
	if cliErr != nil {
		t.Fatalf("the authgate CLI (set AUTHGATE_CLI or fix the build): %v", cliErr)
	}
	return cliFile
}

// startServeCLI runs `authgate serve` with engine in front of the
// upstream, stopped with SIGTERM when t ends.
func startServeCLI(t *testing.T, cfg []byte, up *readerUpstream, authz, engine string) string {
	t.Helper()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"serve", "--config", cfgFile, "--listen", "127.0.0.1:0", "--upstream", up.url,
		"--cluster", "authorizer=" + authz, "--engine", engine}
	if engine == "wasm" {
		args = append(args, "--filter", wasmPath(t), "--pool", fmt.Sprint(wasmPool))
	}
	cmd := exec.Command(cliPath(t), args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logs, line)
			if _, rest, ok := strings.Cut(line, "listening on http://"); ok && !sent {
				a, _, _ := strings.Cut(rest, ",")
				addr <- a
				sent = true
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("authgate serve --engine %s log:\n%s", engine, logs.String())
		}
	})
	select {
	case a := <-addr:
		return a
	case <-time.After(3 * time.Minute):
		t.Fatalf("authgate serve --engine %s did not start:\n%s", engine, logs.String())
	}
	return ""
}

// wireRequest is a request as written on the wire: the method and target
// exactly as given, headers in order (repeats allowed).
type wireRequest struct {
	method  string
	target  string
	headers [][2]string
}

// wireReply is an answer as the client saw it.
type wireReply struct {
	status int
	header http.Header
	body   []byte
	view   *readerView // the upstream's report, when the upstream answered
}

// sendH1 writes r over a new HTTP/1.1 connection to addr.
func sendH1(addr string, r wireRequest) (*wireReply, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: gw.example\r\nConnection: close\r\n", r.method, r.target)
	for _, h := range r.headers {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return nil, err
	}
	// The method tells the reader whether a body follows (none for HEAD).
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: r.method})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return readReply(resp)
}

// h2cClient sends HTTP/2 with prior knowledge.
func h2cClient(t *testing.T) *http.Client {
	tr := &http.Transport{Protocols: new(http.Protocols), DisableCompression: true}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// sendH2 sends r over HTTP/2 to addr, with :path exactly r.target.
func sendH2(client *http.Client, addr string, r wireRequest) (*wireReply, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return nil, err
	}
	req.Method = r.method
	req.URL.Opaque = r.target
	req.Host = "gw.example"
	for _, h := range r.headers {
		req.Header[h[0]] = append(req.Header[h[0]], h[1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return readReply(resp)
}

func readReply(resp *http.Response) (*wireReply, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	rep := &wireReply{status: resp.StatusCode, header: resp.Header, body: body}
	if resp.Header.Get(echo.Marker) != "" && len(body) == 0 {
		// An answer to HEAD: the upstream's report has no body.
		rep.view = &readerView{}
	} else if resp.Header.Get(echo.Marker) != "" {
		var v readerView
		if err := json.Unmarshal(body, &v); err != nil {
			return nil, fmt.Errorf("upstream answer %.200q: %w", body, err)
		}
		rep.view = &v
	}
	return rep, nil
}

// authorizerVars returns the CGI variables of the authorizer's namespace a
// reading upstream saw, as "NAME=value" lines in order: what an upstream
// would take for the principal and the context.
func (v *readerView) authorizerVars() []string {
	var out []string
	for k, val := range v.CGI {
		if strings.HasPrefix(k, "HTTP_X_AUTHORIZER_") {
			out = append(out, k+"="+val)
		}
	}
	sort.Strings(out)
	return out
}

// knownMethod reports whether m is one of API Gateway's seven methods in
// their exact case.
func knownMethod(m string) bool {
	switch m {
	case "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT":
		return true
	}
	return false
}

// isCodecRefusal reports whether rep is Envoy's HTTP/1 codec refusing a
// request line before any filter runs (a method it does not know): a
// plain 400 "Bad Request", never the gateway's JSON answer.
func isCodecRefusal(rep *wireReply) bool {
	return rep.status == http.StatusBadRequest && string(rep.body) == "Bad Request" && rep.view == nil
}
