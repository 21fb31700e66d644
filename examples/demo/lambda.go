package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/authgate/authgate/examples/lambdarun"
)

// lambdaFunction is the function examples/envoy/envoy-lambda.yaml invokes.
const lambdaFunction = "jwt-authorizer"

// lambdaRig is the authorizer run as a Lambda function: its endpoint, and
// the environment that gives Envoy the credentials the endpoint accepts.
type lambdaRig struct {
	endpoint *lambdarun.Endpoint
	envoyEnv []string
}

// startLambda builds the example authorizer's Lambda bootstrap, runs it
// under the runtime emulator and serves the Invoke API on ln's address.
// Envoy signs with throwaway credentials made up here: the endpoint checks
// signatures as Lambda does, so the demo shows the signing working.
func startLambda(ctx context.Context, root, dir string, ln net.Listener, secret []byte) (*lambdaRig, error) {
	rie, err := lambdarun.RIEBinary()
	if err != nil {
		return nil, err
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	boot, err := lambdarun.BuildBootstrap(ctx, goCmd, root, "./examples/jwt-authorizer/cmd/lambda", filepath.Join(dir, "lambda"))
	if err != nil {
		return nil, err
	}
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	creds := aws.Credentials{AccessKeyID: "AKIDDEMO" + hex.EncodeToString(key[:6]), SecretAccessKey: hex.EncodeToString(key)}
	addr := ln.Addr().String()
	// The endpoint binds the address the demo reserved for it.
	ln.Close()
	e, err := lambdarun.Start(ctx, lambdarun.Options{
		Region: "us-east-1", Credentials: []aws.Credentials{creds}, RIE: rie, Listen: addr,
		Functions: []lambdarun.Function{{Name: lambdaFunction, Bootstrap: boot, Env: []string{"JWT_SECRET=" + string(secret)}}},
	})
	if err != nil {
		return nil, fmt.Errorf("lambda: %w", err)
	}
	return &lambdaRig{endpoint: e, envoyEnv: []string{
		"AWS_ACCESS_KEY_ID=" + creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + creds.SecretAccessKey, "AWS_SESSION_TOKEN=",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "aws-config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	}}, nil
}
