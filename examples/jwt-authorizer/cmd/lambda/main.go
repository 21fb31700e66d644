// Command lambda is the example JWT authorizer as the artefact a user
// deploys to AWS Lambda: jwtauth.Authorizer.Authorize, unchanged, under
// lambda.Start. Build it for the provided.al2023 runtime as
//
//	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap ./examples/jwt-authorizer/cmd/lambda
//
// and zip bootstrap. Configuration comes from the function's environment:
// JWT_SECRET (HS256, at least 32 bytes) or JWT_RS256_PUBLIC_KEY (a PEM
// public key), and optionally JWT_ISSUER and JWT_AUDIENCE. authgate
// invokes it through the Lambda Invoke API (authorizerUri), as API
// Gateway does.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/authgate/authgate/examples/jwt-authorizer/jwtauth"
)

func main() {
	cfg, err := configFromEnv(os.Getenv)
	if err != nil {
		// An init error: Lambda reports it and answers the invocation
		// with a function error, which the gateway turns into a 500.
		fmt.Fprintln(os.Stderr, "jwt-authorizer:", err)
		os.Exit(1)
	}
	auth, err := jwtauth.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "jwt-authorizer:", err)
		os.Exit(1)
	}
	lambda.Start(auth.Authorize)
}

// configFromEnv reads the authorizer's settings from the function's
// environment variables. Decisions are logged to standard error, which
// Lambda sends to CloudWatch; tokens never are.
func configFromEnv(getenv func(string) string) (jwtauth.Config, error) {
	cfg := jwtauth.Config{
		Issuer:   getenv("JWT_ISSUER"),
		Audience: getenv("JWT_AUDIENCE"),
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	secret, pub := getenv("JWT_SECRET"), getenv("JWT_RS256_PUBLIC_KEY")
	switch {
	case secret != "" && pub != "":
		return cfg, errors.New("JWT_SECRET and JWT_RS256_PUBLIC_KEY are exclusive")
	case pub != "":
		key, err := jwtauth.ParseRS256PublicKey([]byte(pub))
		if err != nil {
			return cfg, fmt.Errorf("JWT_RS256_PUBLIC_KEY: %w", err)
		}
		cfg.RS256PublicKey = key
	case secret != "":
		cfg.HS256Secret = []byte(secret)
	default:
		return cfg, errors.New("no key: set JWT_SECRET or JWT_RS256_PUBLIC_KEY")
	}
	return cfg, nil
}
