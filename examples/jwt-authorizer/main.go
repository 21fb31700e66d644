// Command jwt-authorizer is the example authorizer for authgate: a Go Lambda
// authorizer that validates JWTs, served over HTTP, plus a token minter.
//
//	jwt-authorizer serve --listen 127.0.0.1:9001 --hs256-secret S
//	jwt-authorizer mint --sub alice --groups admins,dev --hs256-secret S
//
// See README.md next to this file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/authgate/authgate/examples/jwt-authorizer/jwtauth"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "jwt-authorizer:", err)
		os.Exit(2)
	}
}

const usage = `usage:
  jwt-authorizer serve --listen ADDR [--hs256-secret S | --rs256-public-key FILE]
                       [--issuer ISS] [--audience AUD]
                       [--region R --account A --api-id ID --stage S]
  jwt-authorizer mint --sub SUB [--groups g1,g2] [--ttl 1h]
                      [--hs256-secret S | --rs256-private-key FILE]
                      [--issuer ISS] [--audience AUD]

The HS256 secret may also come from the JWT_SECRET environment variable.`

// run executes one subcommand. ready, when not nil, receives the listening
// address once serve accepts connections (tests listen on port 0).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) error {
	if len(args) == 0 {
		return errors.New("missing subcommand\n" + usage)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr, ready)
	case "mint":
		return mint(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown subcommand %q\n%s", args[0], usage)
}

func serve(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9001", "address to listen on")
	secret := fs.String("hs256-secret", "", "HS256 secret (default $JWT_SECRET)")
	pubFile := fs.String("rs256-public-key", "", "PEM file with the RS256 public key")
	issuer := fs.String("issuer", "", "required iss claim")
	audience := fs.String("audience", "", "required aud claim")
	var api jwtauth.API
	fs.StringVar(&api.Region, "region", "us-east-1", "region of the method ARNs the ext_authz endpoint builds")
	fs.StringVar(&api.AccountID, "account", "123456789012", "account id for ext_authz method ARNs")
	fs.StringVar(&api.APIID, "api-id", "a1b2c3d4e5", "API id for ext_authz method ARNs")
	fs.StringVar(&api.Stage, "stage", "prod", "stage for ext_authz method ARNs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := jwtauth.Config{Issuer: *issuer, Audience: *audience, Logger: logger}
	switch {
	case *pubFile != "":
		if *secret != "" {
			return errors.New("serve: --hs256-secret and --rs256-public-key are exclusive")
		}
		pemBytes, err := os.ReadFile(*pubFile)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		if cfg.RS256PublicKey, err = jwtauth.ParseRS256PublicKey(pemBytes); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	default:
		s, err := hs256Secret(*secret)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		cfg.HS256Secret = s
	}
	auth, err := jwtauth.New(cfg)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	handler, err := auth.Handler(api)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	logger.Info("listening", "addr", ln.Addr().String(), "extAuthzPrefix", jwtauth.ExtAuthzPrefix)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	return nil
}

func mint(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sub := fs.String("sub", "", "subject (sub claim)")
	groups := fs.String("groups", "", "comma-separated groups")
	ttl := fs.Duration("ttl", time.Hour, "lifetime of the token")
	secret := fs.String("hs256-secret", "", "HS256 secret (default $JWT_SECRET)")
	privFile := fs.String("rs256-private-key", "", "PEM file with the RS256 private key")
	issuer := fs.String("issuer", "", "iss claim")
	audience := fs.String("audience", "", "aud claim")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("mint: unexpected argument %q", fs.Arg(0))
	}
	o := jwtauth.MintOptions{Subject: *sub, TTL: *ttl, Issuer: *issuer, Audience: *audience, Now: time.Now()}
	if *groups != "" {
		o.Groups = strings.Split(*groups, ",")
	}
	switch {
	case *privFile != "":
		if *secret != "" {
			return errors.New("mint: --hs256-secret and --rs256-private-key are exclusive")
		}
		pemBytes, err := os.ReadFile(*privFile)
		if err != nil {
			return fmt.Errorf("mint: %w", err)
		}
		if o.RS256PrivateKey, err = jwtauth.ParseRS256PrivateKey(pemBytes); err != nil {
			return fmt.Errorf("mint: %w", err)
		}
	default:
		s, err := hs256Secret(*secret)
		if err != nil {
			return fmt.Errorf("mint: %w", err)
		}
		o.HS256Secret = s
	}
	token, err := jwtauth.Mint(o)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, token)
	return err
}

// hs256Secret takes the flag, else JWT_SECRET: the environment keeps the
// secret out of process listings.
func hs256Secret(flagValue string) ([]byte, error) {
	if flagValue != "" {
		return []byte(flagValue), nil
	}
	if env := os.Getenv("JWT_SECRET"); env != "" {
		return []byte(env), nil
	}
	return nil, errors.New("no key: set --hs256-secret, JWT_SECRET or an RS256 key file")
}
