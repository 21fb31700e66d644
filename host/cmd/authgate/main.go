// Command authgate evaluates authorizer policies, validates gateway
// configurations and serves a local authorizing reverse proxy, with the
// same core as the Envoy filter.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

// version is set at link time (-ldflags "-X main.version=v1.2.3").
var version = "dev"

const usage = `authgate: API Gateway-style custom authorizers for Envoy and Go

usage:
  authgate eval (--policy FILE | --response FILE) --arn METHOD_ARN [--api-type REST|HTTP]
                [--source-ip IP] [--time RFC3339] [--json]
      evaluate a policy document (or a whole authorizer response, showing the
      headers it would send upstream) for execute-api:Invoke on a method ARN
      (exit 0 allow; 1 deny, implicit deny, 401 or 500; 2 invalid input)
  authgate test-authorizer --config FILE --authorizer NAME --cluster NAME=URL
                (--token T | --header K=V --query K=V ...) [--stage-var K=V]
                [--method M] [--path P] [--source-ip IP] [--json]
      call an authorizer as the gateway would for one request and show the
      event, the answer, the decision and what the upstream would receive
      (exit codes as eval's)
  authgate validate --config FILE
      check a gateway configuration and summarise it
  authgate serve --config FILE --listen ADDR --upstream URL --cluster NAME=URL [--cluster ...]
                 [--engine wasm|native] [--filter FILE.wasm] [--pool N] [--admin ADDR]
                 [--idle-timeout 60s] [--request-headers-timeout 10s] [--request-timeout 60s]
      run a local authorizing reverse proxy in front of URL (--admin serves
      /metrics and /ready)
  authgate import --openapi FILE [--stage NAME] [--region R --account-id N --rest-api-id ID]
                  [--cluster NAME] [--api-type REST|HTTP] [--http-authorizers]
      convert an API Gateway definition (OpenAPI 3.0 or Swagger 2.0 with API
      Gateway's extensions) into a gateway configuration on stdout; what it
      cannot carry over is listed on stderr
  authgate version
      print the version
  authgate help
      print this text
`

// Exit codes. Deny and failure share 1, as eval's "not allowed" and
// serve's "could not run" never meet in one command.
const (
	exitOK      = 0
	exitDeny    = 1 // eval: deny or implicit deny
	exitFailure = 1 // serve: could not listen, or stopped serving
	exitUsage   = 2 // usage errors and invalid input
)

// cli carries the process's streams, so tests run subcommands in-process.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// ready, when set, learns serve's listening address.
	ready func(net.Addr)
	// adminReady, when set, learns serve's admin address (--admin).
	adminReady func(net.Addr)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit code; serve stops when
// ctx is done.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	return c.run(ctx, args)
}

func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stdout, usage)
		return exitOK
	}
	switch args[0] {
	case "eval":
		return c.eval(args[1:])
	case "validate":
		return c.validate(args[1:])
	case "serve":
		return c.serve(ctx, args[1:])
	case "test-authorizer":
		return c.testAuthorizer(ctx, args[1:])
	case "import":
		return c.importDefinition(args[1:])
	case "version", "--version", "-version":
		fmt.Fprintf(c.stdout, "authgate %s (%s)\n", version, runtime.Version())
		return exitOK
	case "help", "--help", "-help", "-h":
		fmt.Fprint(c.stdout, usage)
		return exitOK
	}
	fmt.Fprintf(c.stderr, "authgate: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// flags returns a flag set for a subcommand whose errors and -h go to stderr
// with the subcommand's usage line.
func (c *cli) flags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("authgate "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "usage: authgate %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, turning -h into exit 0 and any other flag error, or
// stray positional arguments, into exit 2. ok is false when the caller
// must return code.
func (c *cli) parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		c.usageError(fs, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
		return exitUsage, false
	}
	return 0, true
}

// usageError reports a bad command line: one line naming the problem, then
// the subcommand's usage.
func (c *cli) usageError(fs *flag.FlagSet, msg string) {
	fmt.Fprintf(c.stderr, "%s: %s\n", fs.Name(), msg)
	fs.Usage()
}

// readInput reads a file, or stdin for "-".
func (c *cli) readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(c.stdin)
	}
	return os.ReadFile(name)
}
