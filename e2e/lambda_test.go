package e2e

// The Lambda group: rows whose authorizers are real Lambda functions (the
// example JWT authorizer's deployable bootstrap and lambdafn) under the AWS
// Lambda Runtime Interface Emulator, invoked through lambdarun's endpoint,
// which refuses what is not SigV4-signed with the suite's credentials.
// Every host signs as it would in production: the Go hosts and authgate
// serve through awssign with the SDK's default credential chain, Envoy
// through the signing filter of examples/envoy/envoy-lambda.yaml.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.yaml.in/yaml/v3"

	"github.com/authgate/authgate/core/arn"
	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/examples/envoy/envoyrun"
	"github.com/authgate/authgate/examples/jwt-authorizer/jwtauth"
	"github.com/authgate/authgate/examples/lambdarun"
	"github.com/authgate/authgate/host/native"
)

// lambdaCreds are the fake static credentials every signer gets from its
// environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and the endpoint
// accepts.
var lambdaCreds = aws.Credentials{AccessKeyID: "AKIDE2ELAMBDA", SecretAccessKey: "e2e-lambda-secret-key"}

const lambdaJWTSecret = "e2e-lambda-jwt-secret-0123456789abcdef"

// exampleEnvoyLambdaYAML is the Envoy configuration with the Lambda
// cluster and its signing filter, which the Envoy hosts of the group load.
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

// lambdaGroup runs in every host against a fresh endpoint per host and
// protocol, so the first invocation of each function is a cold start.
var lambdaGroup = group{
	name: "lambda", rows: lambdaRows, env: lambdaEnv, after: checkInvocations,
	unavailable: func() string {
		if _, err := lambdarun.RIEBinary(); err != nil {
			return err.Error()
		}
		return ""
	},
}

// The tokens the rows send: JWTs the example authorizer accepts, minted
// when the suite starts and valid for lambdaTokenTTL, one for an admin and
// one for a user in no group.
const lambdaTokenTTL = 2 * time.Hour

var (
	lambdaMinted   = time.Now().Truncate(time.Second)
	lambdaAdminJWT = mintLambdaJWT("admin", jwtauth.AdminGroup)
	lambdaAliceJWT = mintLambdaJWT("alice", "")
)

func mintLambdaJWT(subject, group string) string {
	var groups []string
	if group != "" {
		groups = []string{group}
	}
	tok, err := jwtauth.Mint(jwtauth.MintOptions{Subject: subject, Groups: groups, TTL: lambdaTokenTTL, Now: lambdaMinted,
		HS256Secret: []byte(lambdaJWTSecret)})
	if err != nil {
		panic(err) // fixed, valid options
	}
	return "Bearer " + tok
}

// lambdaContext is what the upstream receives from the example
// authorizer's context for a subject in group ("" for none, which has no
// header of its own: an empty value travels only encoded).
func lambdaContext(subject, group string) map[string]string {
	admin, expires := group == jwtauth.AdminGroup, lambdaMinted.Add(lambdaTokenTTL).Unix()
	// The example's context is a Go map, which encoding/json writes with
	// sorted keys.
	doc, err := json.Marshal(map[string]any{"sub": subject, "groups": group, "admin": admin, "tokenExpiresAt": expires})
	if err != nil {
		panic(err)
	}
	own := map[string]string{
		"x-authorizer-sub":            subject,
		"x-authorizer-admin":          strconv.FormatBool(admin),
		"x-authorizer-tokenexpiresat": strconv.FormatInt(expires, 10),
	}
	if group != "" {
		own["x-authorizer-groups"] = group
	}
	return contextHeaders(string(doc), own)
}

// lambdaRows run in order. The first invocation of jwt is a cold start,
// which must fit in its timeout.
var lambdaRows = []row{
	{name: "lambda_cold_start_inside_the_timeout_allow", config: cfgLambda,
		steps: one(req("DELETE", "/users/bob", auth(lambdaAdminJWT)), allowed("admin", lambdaContext("admin", jwtauth.AdminGroup)))},
	{name: "lambda_allow", config: cfgLambda,
		steps: one(get("/pets", auth(lambdaAliceJWT)), allowed("alice", lambdaContext("alice", "")))},
	{name: "lambda_deny_by_the_cached_policy", config: cfgLambda,
		steps: one(req("POST", "/users/bob", auth(lambdaAliceJWT)), rejected(implicitDeny))},
	{name: "lambda_unauthorized_thrown", config: cfgLambda,
		steps: one(get("/pets", auth("Bearer not-a-jwt")), rejected(unauthorized))},
	{name: "lambda_function_error_not_cached", config: cfgLambda,
		steps: []step{{req: get("/fn/a", auth("Bearer boom")), repeat: 2, want: rejected(authzFailure)}}},
	{name: "lambda_throttled", config: cfgLambda,
		steps: one(get("/busy", auth("Bearer x")), rejected(authzFailure))},
	{name: "lambda_function_sleeps_past_the_timeout", config: cfgLambda,
		steps: one(get("/fn/slow", auth("Bearer sleep")), rejected(authzFailure))},
}

// checkInvocations checks what reached the functions over the rows: every
// invocation signed, function errors never cached, one cold start.
func checkInvocations(t *testing.T, e *env) {
	want := map[string]int64{"jwt": 3, "fn": 3, "busy": 0}
	for fn, n := range want {
		if got := e.lambda.Invocations(fn); got != n {
			t.Errorf("function %s invoked %d times, want %d", fn, got, n)
		}
	}
	if c := e.lambda.ColdStarts("jwt"); c != 1 {
		t.Errorf("jwt: %d cold starts, want 1:\n%s", c, e.lambda.Output("jwt"))
	}
	if r := e.lambda.Verifier.Refused(); r != 0 {
		t.Errorf("the endpoint refused %d unsigned or badly signed invocations", r)
	}
}

// lambdaEnv is the group's environment: a fresh endpoint as the "lambda"
// cluster (the test authorizer stays, and must see no call), the signing
// Envoy example, and the AWS environment every signer reads: set in the
// process for the hosts in it, passed to the others.
func lambdaEnv(t *testing.T) *env {
	aws := awsEnviron(t)
	for _, kv := range aws {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	e := newEnv(t)
	e.lambda = startLambdaEndpoint(t)
	e.clusters = map[string]string{"lambda": e.lambda.URL}
	e.envoyExample = filepath.Base(exampleEnvoyLambdaYAML)
	e.procEnv = aws
	return e
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
// and lambdafn's.
func lambdaBootstraps() (map[string]string, error) {
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
	return bootstraps, bootstrapErr
}

// startLambdaEndpoint runs fresh emulators for jwt, fn and busy behind a
// signature-checking endpoint until t ends.
func startLambdaEndpoint(t *testing.T) *lambdarun.Endpoint {
	boots, err := lambdaBootstraps()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	e, err := lambdarun.Start(t.Context(), lambdarun.Options{
		Region: "us-east-1", Credentials: []aws.Credentials{lambdaCreds}, Log: logs,
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

// TestLambdaUnsignedIsRefused is the control of the Lambda group: a host
// whose client does not sign gets Lambda's 403 on every invocation and
// answers 500, so the rows pass only because every host signs.
func TestLambdaUnsignedIsRefused(t *testing.T) {
	if lambdaGroup.unavailable() != "" {
		skipGroup(t, lambdaGroup)
	}
	e := lambdaEnv(t)
	plan, err := config.Parse([]byte(lambdaConfig))
	if err != nil {
		t.Fatal(err)
	}
	logger, _ := testLogger(t, "native")
	// No Client: the middleware's own, which does not sign.
	mw, err := native.New(plan, native.Options{Clusters: e.clusters, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	base := serveGateway(t, mw.Handler, e)
	r, err := send(newClient(t, protocols[0], true), base, get("/pets", auth(lambdaAliceJWT)))
	if err != nil {
		t.Fatal(err)
	}
	if r.status != 500 || string(r.body) != `{"message":null}` {
		t.Errorf("unsigned host answered %d %s, want 500", r.status, r.body)
	}
	if e.lambda.Verifier.Refused() != 1 || e.lambda.Invocations("jwt") != 0 {
		t.Errorf("endpoint refused %d, function invoked %d times; want 1 and 0", e.lambda.Verifier.Refused(), e.lambda.Invocations("jwt"))
	}
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
	// Validating compiles the filter as a start does: the same bound.
	ctx, cancel := context.WithTimeout(t.Context(), envoyReadyTimeout)
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
	hosts := must(envoyrun.ListAt(docs["ServiceEntry"], "spec", "hosts"))
	host, _ := hosts[0].(string)
	region, ok := arn.EndpointRegion(host)
	if !ok {
		t.Fatalf("ServiceEntry host %q is not a Lambda endpoint", host)
	}
	pc := must(envoyrun.MapAt(docs["WasmPlugin"], "spec", "pluginConfig"))
	asJSON, _ := json.Marshal(pc)
	plan, err := config.Parse(asJSON)
	if err != nil {
		t.Fatalf("pluginConfig: %v", err)
	}
	if len(plan.LambdaClusters) != 1 || plan.LambdaClusters[0].Name != "outbound|443||"+host || plan.LambdaClusters[0].Region != region {
		t.Fatalf("Lambda clusters %+v, want outbound|443||%s in %s", plan.LambdaClusters, host, region)
	}
	patches := must(envoyrun.ListAt(docs["EnvoyFilter"], "spec", "configPatches"))
	patch, _ := patches[0].(map[string]any)
	if c := must(envoyrun.MapAt(patch, "match", "cluster")); c["service"] != host || c["portNumber"] != 443 {
		t.Errorf("EnvoyFilter matches %v, want %s:443", c, host)
	}
	value := must(envoyrun.MapAt(patch, "patch", "value"))
	opts := must(envoyrun.MapAt(value, "typed_extension_protocol_options", "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"))
	filters := must(envoyrun.ListAt(opts, "http_filters"))
	first, _ := filters[0].(map[string]any)
	last, _ := filters[len(filters)-1].(map[string]any)
	signing := must(envoyrun.MapAt(first, "typed_config"))
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
	cl := envoyrun.ByName(must(envoyrun.ListAt(doc, "static_resources", "clusters")), lc.Name)
	if cl == nil {
		t.Fatalf("no cluster %q", lc.Name)
	}
	filters := must(envoyrun.ListAt(cl, "typed_extension_protocol_options", "envoy.extensions.upstreams.http.v3.HttpProtocolOptions", "http_filters"))
	signing := must(envoyrun.MapAt(filters[0], "typed_config"))
	last, _ := filters[len(filters)-1].(map[string]any)
	if signing["service_name"] != "lambda" || signing["region"] != lc.Region || signing["use_unsigned_payload"] != false ||
		last["name"] != "envoy.filters.http.upstream_codec" {
		t.Errorf("cluster %s filters %v, want lambda signing for %s, codec last", lc.Name, filters, lc.Region)
	}
}
