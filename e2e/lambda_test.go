package e2e

// The Lambda rows: each host invokes real Lambda functions (the example JWT
// authorizer's deployable bootstrap and lambdafn) under the AWS Lambda
// Runtime Interface Emulator, through lambdarun's endpoint, which refuses
// what is not SigV4-signed with the test's credentials. The file carries
// its own host list and runner so it stands apart from the scenario table.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.yaml.in/yaml/v3"

	"github.com/authgate/authgate/core/arn"
	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/e2e/internal/echo"
	"github.com/authgate/authgate/examples/envoy/envoyrun"
	"github.com/authgate/authgate/examples/jwt-authorizer/jwtauth"
	"github.com/authgate/authgate/examples/lambdarun"
	"github.com/authgate/authgate/host/awssign"
	"github.com/authgate/authgate/host/native"
	"github.com/authgate/authgate/host/wasm"
)

// lambdaCreds are the fake static credentials every signer gets from its
// environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and the endpoint
// accepts.
var lambdaCreds = aws.Credentials{AccessKeyID: "AKIDE2ELAMBDA", SecretAccessKey: "e2e-lambda-secret-key"}

const lambdaJWTSecret = "e2e-lambda-jwt-secret-0123456789abcdef"

// exampleEnvoyLambdaYAML is the Envoy configuration with the Lambda
// cluster and its signing filter, which the Envoy rows load.
const exampleEnvoyLambdaYAML = "../examples/envoy/envoy-lambda.yaml"

// lambdaConfig invokes three functions: jwt (the example authorizer, with
// room for a cold start), fn (lambdafn, whose "sleep" outlasts the 1s
// timeout) and busy (always throttled).
const lambdaConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizers": {
    "jwt": {"type": "TOKEN", "cluster": "lambda", "timeoutMs": 10000,
            "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:jwt/invocations"},
    "fn": {"type": "TOKEN", "cluster": "lambda", "timeoutMs": 1000,
           "authorizerUri": "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST"},
    "busy": {"type": "TOKEN", "cluster": "lambda", "authorizerUri": "arn:aws:lambda:us-east-1:123456789012:function:busy"}
  },
  "routes": [
    {"method": "ANY", "path": "/fn/{proxy+}", "authorizer": "fn"},
    {"method": "ANY", "path": "/busy", "authorizer": "busy"},
    {"method": "ANY", "path": "/{proxy+}", "authorizer": "jwt"}
  ]
}`

// lambdaHost is one way of running authgate against the Lambda endpoint.
type lambdaHost struct {
	name string
	// start runs the host with the plugin configuration cfg in front of
	// the upstream, its Lambda cluster pointed at lambdaURL, and returns
	// its base URL.
	start func(t *testing.T, cfg []byte, up *echo.Server, lambdaURL string) string
}

// lambdaHosts are the hosts with Lambda rows: every one signs.
func lambdaHosts() []lambdaHost {
	return []lambdaHost{
		{"native", startNativeLambda(true)},
		{"wasm", startWasmLambda},
		{"envoy", startEnvoyLambda(lambdaEnvoy(""))},
		{"envoy-module", startEnvoyLambda(lambdaEnvoy("authgate"))},
	}
}

// startNativeLambda runs host/native; signed says whether its client signs
// (through awssign with the default credential chain) or not at all.
func startNativeLambda(signed bool) func(*testing.T, []byte, *echo.Server, string) string {
	return func(t *testing.T, cfg []byte, up *echo.Server, lambdaURL string) string {
		plan, err := config.Parse(cfg)
		if err != nil {
			t.Fatal(err)
		}
		clusters := map[string]string{"lambda": lambdaURL}
		logger, _ := testLogger(t, "native")
		opts := native.Options{Clusters: clusters, Logger: logger}
		if signed {
			opts.Client = signingClient(t, plan, clusters)
		}
		mw, err := native.New(plan, opts)
		if err != nil {
			t.Fatal(err)
		}
		return serveGateway(t, mw.Handler, &env{up: up})
	}
}

// signingClient is what authgate serve builds: awssign over the SDK's
// default chain, here fed by the environment.
func signingClient(t *testing.T, plan *config.Plan, clusters map[string]string) *http.Client {
	tr, err := awssign.NewTransport(t.Context(), plan, clusters, awssign.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Client()
}

func startWasmLambda(t *testing.T, cfg []byte, up *echo.Server, lambdaURL string) string {
	plan, err := config.Parse(cfg)
	if err != nil {
		t.Fatal(err)
	}
	file, err := filterFile()
	if err != nil {
		t.Fatal(err)
	}
	code, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	clusters := map[string]string{"lambda": lambdaURL}
	logger, _ := testLogger(t, "wasm")
	h, err := newWasmHostWithClient(t, code, cfg, clusters, logger, signingClient(t, plan, clusters))
	if err != nil {
		t.Fatal(err)
	}
	return serveGateway(t, h.Handler, &env{up: up})
}

// lambdaEnvoy runs examples/envoy/envoy-lambda.yaml with the wasm filter,
// or with the dynamic module of that name in its place: the module's
// callouts go through the same signing cluster.
func lambdaEnvoy(module string) *envoyGateway {
	if module == "" {
		return &envoyGateway{host: "envoy", example: "envoy-lambda.yaml", code: filterFile, workers: envoyWorkers}
	}
	return &envoyGateway{host: "envoy-module", example: "envoy-lambda.yaml", module: module, workers: envoyWorkers,
		code: func() (string, error) { return moduleFile("") }}
}

// startEnvoyLambda runs gw with cfg as its plugin configuration and the
// clusters pointed at the echo upstream and the endpoint. Envoy's signing
// filter finds the credentials in its environment.
func startEnvoyLambda(gw *envoyGateway) func(*testing.T, []byte, *echo.Server, string) string {
	return func(t *testing.T, cfg []byte, up *echo.Server, lambdaURL string) string {
		needHost(t, gw)
		inst, err := gw.start(t, spec{cfgs: [][]byte{cfg}, env: &env{up: up, clusters: map[string]string{"lambda": lambdaURL}},
			envoyEnv: awsEnviron(t)})
		if err != nil {
			t.Fatalf("envoy did not become ready: %v", err)
		}
		return inst.bases[0]
	}
}

// awsEnviron is the environment every signer gets: the fake credentials,
// and no shared files or instance metadata to fall back on.
func awsEnviron(t *testing.T) []string {
	dir := t.TempDir()
	return []string{
		"AWS_ACCESS_KEY_ID=" + lambdaCreds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + lambdaCreds.SecretAccessKey,
		"AWS_SESSION_TOKEN=",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// The bootstraps are built once per test binary.
var (
	bootstrapOnce sync.Once
	bootstraps    map[string]string
	bootstrapErr  error
	bootstrapDir  string
)

// lambdaBootstraps builds the example authorizer's deployable bootstrap
// and lambdafn's, or skips t without an emulator (fails it under CI).
func lambdaBootstraps(t *testing.T) (rie string, boots map[string]string) {
	t.Helper()
	rie, err := lambdarun.RIEBinary()
	if err != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" {
			t.Fatalf("CI=%s: %v", ci, err)
		}
		t.Skipf("%v; skipping the Lambda rows", err)
	}
	bootstrapOnce.Do(func() {
		bootstrapDir, bootstrapErr = os.MkdirTemp("", "authgate-e2e-lambda-")
		if bootstrapErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		bootstraps = map[string]string{}
		for name, pkg := range map[string]string{"jwt": "./examples/jwt-authorizer/cmd/lambda", "fn": "./e2e/internal/lambdafn"} {
			if bootstraps[name], bootstrapErr = lambdarun.BuildBootstrap(ctx, goCommand(), "..", pkg, filepath.Join(bootstrapDir, name)); bootstrapErr != nil {
				return
			}
		}
	})
	if bootstrapErr != nil {
		t.Fatal(bootstrapErr)
	}
	return rie, bootstraps
}

// startLambdaEndpoint runs fresh emulators for jwt, fn and busy behind a
// signature-checking endpoint, so the host's first invocation of each
// function is a cold start.
func startLambdaEndpoint(t *testing.T) *lambdarun.Endpoint {
	rie, boots := lambdaBootstraps(t)
	logs := &syncBuffer{}
	e, err := lambdarun.Start(t.Context(), lambdarun.Options{
		Region: "us-east-1", Credentials: []aws.Credentials{lambdaCreds}, RIE: rie, Log: logs,
		Functions: []lambdarun.Function{
			{Name: "jwt", Bootstrap: boots["jwt"], Env: []string{"JWT_SECRET=" + lambdaJWTSecret}},
			{Name: "fn", Bootstrap: boots["fn"], Env: []string{"LAMBDAFN_SLEEP=3s"}},
			{Name: "busy", Throttled: true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("lambda functions' output:\n%s", logs.String())
		}
		e.Close()
	})
	return e
}

// lambdaRow is one request and the gateway's expected answer.
type lambdaRow struct {
	name      string
	method    string
	path      string
	token     string // the Authorization header; a name in tokens is replaced by its JWT
	status    int
	body      string // the gateway's body; for 200 the principal the upstream saw
	principal string
}

// lambdaRows run in order against one fresh endpoint per host. The first
// invocation of jwt is a cold start, which must fit in its timeout.
var lambdaRows = []lambdaRow{
	{name: "cold start inside the timeout, allow", method: "DELETE", path: "/users/bob", token: "admin", status: 200, principal: "admin"},
	{name: "allow", method: "GET", path: "/pets", token: "alice", status: 200, principal: "alice"},
	{name: "deny by the cached policy", method: "POST", path: "/users/bob", token: "alice", status: 403,
		body: `{"Message":"User is not authorized to access this resource"}`},
	{name: "Unauthorized thrown", method: "GET", path: "/pets", token: "Bearer not-a-jwt", status: 401, body: `{"message":"Unauthorized"}`},
	{name: "another function error", method: "GET", path: "/fn/a", token: "Bearer boom", status: 500, body: `{"message":null}`},
	{name: "function errors are not cached", method: "GET", path: "/fn/a", token: "Bearer boom", status: 500, body: `{"message":null}`},
	{name: "throttled", method: "GET", path: "/busy", token: "Bearer x", status: 500, body: `{"message":null}`},
	{name: "a function that sleeps past the timeout", method: "GET", path: "/fn/slow", token: "Bearer sleep", status: 500, body: `{"message":null}`},
}

// lambdaTokens mints the JWTs the rows name.
func lambdaTokens(t *testing.T) map[string]string {
	out := map[string]string{}
	for name, groups := range map[string][]string{"admin": {jwtauth.AdminGroup}, "alice": nil} {
		tok, err := jwtauth.Mint(jwtauth.MintOptions{Subject: name, Groups: groups, TTL: time.Hour, Now: time.Now(), HS256Secret: []byte(lambdaJWTSecret)})
		if err != nil {
			t.Fatal(err)
		}
		out[name] = "Bearer " + tok
	}
	return out
}

// TestLambda runs the rows against every host and checks what reached the
// functions: every invocation signed, the errors never cached, one cold
// start per function.
func TestLambda(t *testing.T) {
	for _, kv := range awsEnviron(t) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	tokens := lambdaTokens(t)
	for _, h := range lambdaHosts() {
		t.Run(h.name, func(t *testing.T) {
			e := startLambdaEndpoint(t)
			up := echo.NewServer()
			t.Cleanup(up.Close)
			base := h.start(t, []byte(lambdaConfig), up, e.URL)
			client := newClient(t, protocols[0], true)
			for _, row := range lambdaRows {
				token := row.token
				if tok, ok := tokens[token]; ok {
					token = tok
				}
				r, err := send(client, base, req(row.method, row.path, auth(token)))
				if err != nil {
					t.Fatalf("%s: %v", row.name, err)
				}
				checkLambdaRow(t, &row, r)
			}
			want := map[string]int64{"jwt": 3, "fn": 3, "busy": 0}
			for fn, n := range want {
				if got := e.Invocations(fn); got != n {
					t.Errorf("function %s invoked %d times, want %d", fn, got, n)
				}
			}
			if c := e.ColdStarts("jwt"); c != 1 {
				t.Errorf("jwt: %d cold starts, want 1:\n%s", c, e.Output("jwt"))
			}
			if r := e.Verifier.Refused(); r != 0 {
				t.Errorf("the endpoint refused %d unsigned or badly signed invocations", r)
			}
		})
	}
}

func checkLambdaRow(t *testing.T, row *lambdaRow, r *reply) {
	t.Helper()
	if r.status != row.status {
		t.Errorf("%s: status %d, want %d (body %s)", row.name, r.status, row.status, r.body)
		return
	}
	if row.status != 200 {
		if string(r.body) != row.body {
			t.Errorf("%s: body %s, want %s", row.name, r.body, row.body)
		}
		return
	}
	seen, err := echo.Decode(r.body)
	if err != nil {
		t.Errorf("%s: %v", row.name, err)
		return
	}
	if got, _ := seen.Plain().Get("x-authorizer-principal-id"); strings.Join(got, ",") != row.principal {
		t.Errorf("%s: the upstream saw principal %q, want %q", row.name, got, row.principal)
	}
}

// TestLambdaUnsignedIsRefused is the control: a host whose client does
// not sign gets Lambda's 403 on every invocation and answers 500, so the
// rows above pass only because every host signs.
func TestLambdaUnsignedIsRefused(t *testing.T) {
	for _, kv := range awsEnviron(t) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	e := startLambdaEndpoint(t)
	up := echo.NewServer()
	t.Cleanup(up.Close)
	base := startNativeLambda(false)(t, []byte(lambdaConfig), up, e.URL)
	r, err := send(newClient(t, protocols[0], true), base, get("/pets", auth(lambdaTokens(t)["alice"])))
	if err != nil {
		t.Fatal(err)
	}
	if r.status != 500 || string(r.body) != `{"message":null}` {
		t.Errorf("unsigned host answered %d %s, want 500", r.status, r.body)
	}
	if e.Verifier.Refused() != 1 || e.Invocations("jwt") != 0 {
		t.Errorf("endpoint refused %d, function invoked %d times; want 1 and 0", e.Verifier.Refused(), e.Invocations("jwt"))
	}
}

// newWasmHostWithClient loads the filter in the wasm host whose callouts go
// through client, as authgate serve --engine wasm sets it up.
func newWasmHostWithClient(t *testing.T, code, cfg []byte, clusters map[string]string, logger *slog.Logger, client *http.Client) (*wasm.Host, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := wasm.New(ctx, wasm.Config{Wasm: code, PluginConfig: cfg, VMID: "authgate", PluginName: "authgate", RootID: "authgate",
		PoolSize: wasmPool, Clusters: clusters, Logger: logger, HTTPClient: client, CacheDir: wasm.DefaultCacheDir()})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("wasm host Close: %v", err)
		}
	})
	return h, nil
}

// TestEnvoyLambdaAssumeRole checks that the Envoy this project runs accepts
// the example's commented assume-role block: with authorizerCredentials,
// the cluster's signing filter assumes the role (through STS, which this
// machine cannot reach, so the configuration is validated, not run).
func TestEnvoyLambdaAssumeRole(t *testing.T) {
	bin := envoyOrSkip(t)
	example, err := os.ReadFile(exampleEnvoyLambdaYAML)
	if err != nil {
		t.Fatal(err)
	}
	text := string(example)
	for _, line := range []string{
		"credential_provider:",
		"  assume_role_credential_provider:",
		"    role_arn: arn:aws:iam::123456789012:role/authorizer-invoker",
	} {
		if strings.Count(text, "# "+line+"\n") != 1 {
			t.Fatalf("the example's assume-role block moved: no single %q", "# "+line)
		}
		text = strings.Replace(text, "# "+line+"\n", line+"\n", 1)
	}
	b, err := envoyrun.ParseBootstrap([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	file, err := filterFile()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetCode(file); err != nil {
		t.Fatal(err)
	}
	yml, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "envoy.yaml")
	if err := os.WriteFile(f, yml, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--mode", "validate", "-c", f).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("envoy --mode validate: %v\n%s", err, out)
	}
	// The same check fails for a provider Envoy does not have, so the
	// validation above means something.
	bad := strings.Replace(string(yml), "assume_role_credential_provider", "no_such_provider", 1)
	if err := os.WriteFile(f, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, bin, "--mode", "validate", "-c", f).CombinedOutput(); err == nil {
		t.Fatalf("envoy accepted an unknown credential provider:\n%s", out)
	}
}

// envoyOrSkip returns the envoy executable, skipping t without one (or
// failing it where Envoy is required).
func envoyOrSkip(t *testing.T) string {
	t.Helper()
	needHost(t, wasmEnvoy(0))
	bin, err := envoyrun.Binary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// exampleIstioLambdaYAML is the Istio setup for a Lambda authorizer.
const exampleIstioLambdaYAML = "../examples/istio/lambda.yaml"

// TestIstioLambdaExample checks the Istio example for a Lambda authorizer
// as far as this machine can: its WasmPlugin configuration is valid and
// names the gateway's cluster of its ServiceEntry, the EnvoyFilter signs
// for the function's region and service lambda with the codec last, and
// the patch it merges into that cluster is accepted by Envoy 1.40.
func TestIstioLambdaExample(t *testing.T) {
	raw, err := os.ReadFile(exampleIstioLambdaYAML)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]map[string]any{}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			break
		}
		docs[fmt.Sprint(d["kind"])] = d
	}
	for _, kind := range []string{"ServiceEntry", "DestinationRule", "EnvoyFilter", "WasmPlugin"} {
		if docs[kind] == nil {
			t.Fatalf("%s: no %s", exampleIstioLambdaYAML, kind)
		}
	}
	hosts := must(list(docs["ServiceEntry"], "spec", "hosts"))
	host, _ := hosts[0].(string)
	region, ok := arn.EndpointRegion(host)
	if !ok {
		t.Fatalf("ServiceEntry host %q is not a Lambda endpoint", host)
	}
	pc := must(obj(docs["WasmPlugin"], "spec", "pluginConfig"))
	asJSON, _ := json.Marshal(pc)
	plan, err := config.Parse(asJSON)
	if err != nil {
		t.Fatalf("pluginConfig: %v", err)
	}
	if len(plan.LambdaClusters) != 1 || plan.LambdaClusters[0].Name != "outbound|443||"+host || plan.LambdaClusters[0].Region != region {
		t.Fatalf("Lambda clusters %+v, want outbound|443||%s in %s", plan.LambdaClusters, host, region)
	}
	patches := must(list(docs["EnvoyFilter"], "spec", "configPatches"))
	patch, _ := patches[0].(map[string]any)
	if c := must(obj(patch, "match", "cluster")); c["service"] != host || c["portNumber"] != 443 {
		t.Errorf("EnvoyFilter matches %v, want %s:443", c, host)
	}
	value := must(obj(patch, "patch", "value"))
	opts := must(obj(value, "typed_extension_protocol_options", "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"))
	filters := must(list(opts, "http_filters"))
	first, _ := filters[0].(map[string]any)
	last, _ := filters[len(filters)-1].(map[string]any)
	signing := must(obj(first, "typed_config"))
	if first["name"] != "envoy.filters.http.aws_request_signing" || signing["service_name"] != "lambda" || signing["region"] != region ||
		last["name"] != "envoy.filters.http.upstream_codec" {
		t.Errorf("upstream filters %v", filters)
	}
	// The patch on a cluster of the same name, as Envoy would load it.
	bootstrap := map[string]any{"static_resources": map[string]any{"clusters": []any{map[string]any{
		"name": "outbound|443||" + host, "type": "STATIC", "connect_timeout": "1s",
		"load_assignment": map[string]any{"cluster_name": "outbound|443||" + host, "endpoints": []any{map[string]any{"lb_endpoints": []any{
			map[string]any{"endpoint": map[string]any{"address": map[string]any{"socket_address": map[string]any{"address": "127.0.0.1", "port_value": 9002}}}}}}}},
		"typed_extension_protocol_options": value["typed_extension_protocol_options"],
	}}}}
	yml, err := yaml.Marshal(bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "envoy.yaml")
	if err := os.WriteFile(f, yml, 0o600); err != nil {
		t.Fatal(err)
	}
	bin := envoyOrSkip(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "--mode", "validate", "-c", f).CombinedOutput(); err != nil {
		t.Fatalf("envoy --mode validate: %v\n%s\n%s", err, yml, out)
	}
}

// TestEnvoyLambdaExample checks that envoy-lambda.yaml's own plugin
// configuration is valid and that its lambda cluster signs for the region
// of the function the configuration invokes (the rows run it with their
// own plugin configuration).
func TestEnvoyLambdaExample(t *testing.T) {
	b, err := envoyrun.ReadBootstrap(exampleEnvoyLambdaYAML)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := config.Parse(b.PluginConfig())
	if err != nil {
		t.Fatalf("plugin configuration: %v", err)
	}
	if len(plan.LambdaClusters) != 1 {
		t.Fatalf("Lambda clusters %+v, want one", plan.LambdaClusters)
	}
	lc := plan.LambdaClusters[0]
	doc := readYAML(t, exampleEnvoyLambdaYAML)
	cl := byName(must(list(doc, "static_resources", "clusters")), lc.Name)
	if cl == nil {
		t.Fatalf("no cluster %q", lc.Name)
	}
	filters := must(list(cl, "typed_extension_protocol_options", "envoy.extensions.upstreams.http.v3.HttpProtocolOptions", "http_filters"))
	signing := must(obj(filters[0], "typed_config"))
	last, _ := filters[len(filters)-1].(map[string]any)
	if signing["service_name"] != "lambda" || signing["region"] != lc.Region || signing["use_unsigned_payload"] != false ||
		last["name"] != "envoy.filters.http.upstream_codec" {
		t.Errorf("cluster %s filters %v, want lambda signing for %s, codec last", lc.Name, filters, lc.Region)
	}
}
