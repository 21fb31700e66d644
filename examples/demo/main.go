// Command demo runs the whole authgate story on one machine: an echo
// upstream, the example JWT authorizer and a real Envoy running
// examples/envoy/envoy.yaml with the compiled filter, logging every
// decision. It mints an admin and a user token with a secret from
// --secret or $JWT_SECRET (random without either), prints the commands
// that mint more, sends real curl -i requests through Envoy, prints each
// command and its answer next to what API Gateway would answer, and then
// keeps everything running for you to try until Ctrl-C, which ends it
// with exit status 0.
//
//	make demo                            # builds build/authgate.wasm and this command, then runs it
//	make demo GATEWAY=module             # the dynamic module build/libauthgate.so in Envoy instead of the .wasm
//	JWT_SECRET=<32 bytes or more> make demo        # tokens that outlive one run
//	make demo AUTHORIZER=lambda          # the authorizer as a Lambda function under the runtime emulator
//	go run ./examples/demo --once        # the checks only; exit status 1 if one fails
//
// It builds nothing itself but the Lambda bootstrap: build/authgate.wasm
// (or, with --gateway module, build/libauthgate.so) must exist.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	var o options
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.BoolVar(&o.once, "once", false, "exit after the checks: status 0 if all passed, 1 otherwise")
	fs.StringVar(&o.wasm, "wasm", "", "the compiled filter (default $AUTHGATE_WASM, else build/authgate.wasm in the repository)")
	fs.StringVar(&o.example, "example", "", "the Envoy configuration to run (default examples/envoy/envoy.yaml in the repository)")
	fs.BoolVar(&o.freePorts, "free-ports", false, "let the kernel pick every port instead of trying 8080, 9000, 9001 and 9901 first")
	fs.IntVar(&o.concurrency, "concurrency", 2, "Envoy worker threads (--concurrency), each with its own wasm VM")
	fs.StringVar(&o.gateway, "gateway", gatewayWasm, "what runs authgate in Envoy: wasm (build/authgate.wasm, examples/envoy/envoy.yaml) or module (the dynamic module build/libauthgate.so or $AUTHGATE_MODULE, examples/envoy/envoy-module.yaml)")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", envoyReadyTimeout, "how long to wait for Envoy to start (V8 compiles the filter once per worker)")
	fs.StringVar(&o.secret, "secret", "", "HS256 `secret` signing the demo's tokens, at least 32 bytes (default $JWT_SECRET, else a random one)")
	fs.StringVar(&o.authorizer, "authorizer", "http", "how the JWT authorizer runs: http (served in process, examples/envoy/envoy.yaml) or lambda (its Lambda bootstrap under aws-lambda-rie, invoked through the Lambda Invoke API with SigV4, examples/envoy/envoy-lambda.yaml)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	passed, err := run(ctx, o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(2)
	}
	if !passed {
		os.Exit(1)
	}
}

// options are the demo's flags.
type options struct {
	once        bool
	wasm        string
	example     string
	freePorts   bool
	concurrency int
	authorizer  string // "http" (default) or "lambda"
	gateway     string // "wasm" (default) or "module"
	secret      string // --secret; "" for $JWT_SECRET or a random one
	// readyTimeout bounds the wait for Envoy; zero means envoyReadyTimeout.
	// The tests allow more: they share the machine with other packages.
	readyTimeout time.Duration
}
