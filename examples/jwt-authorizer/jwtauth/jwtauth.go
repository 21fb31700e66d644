// Package jwtauth is the logic of the example JWT authorizer: it validates a
// bearer JWT and answers with an API Gateway Lambda authorizer response whose
// policy depends on the token's groups.
//
// [Authorizer.Authorize] is an ordinary Go Lambda authorizer handler
// (events.APIGatewayCustomAuthorizerRequest in,
// events.APIGatewayCustomAuthorizerResponse out, errors.New("Unauthorized")
// for a bad token); the example serves it through host/lambdahttp, and it
// would run on AWS Lambda unchanged. [Authorizer.ExtAuthz] makes the same
// decision for Envoy's ext_authz HTTP filter, so the two can be compared.
// The policy is built with examples/authpolicy, the Go counterpart of the
// AuthPolicy class in AWS's authorizer blueprints, not written by hand.
//
// See https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html.
package jwtauth

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/core/arn"
	"github.com/authgate/authgate/examples/authpolicy"
)

// ErrUnauthorized is the error a Lambda authorizer returns to make API
// Gateway answer 401; its message must be exactly "Unauthorized".
var ErrUnauthorized = errors.New("Unauthorized")

// AdminGroup is the group whose members may invoke every method.
const AdminGroup = "admins"

// MinHS256SecretBytes is the shortest HS256 secret accepted: RFC 7518
// section 3.2 requires a key at least as long as the hash output.
const MinHS256SecretBytes = 32

// MinRSABits is the smallest RSA modulus accepted for RS256 (RFC 7518
// section 3.3 requires 2048 bits or more).
const MinRSABits = 2048

// Config configures an Authorizer. Exactly one of HS256Secret and
// RS256PublicKey must be set; only that algorithm is accepted, so a token
// cannot pick its own verification method.
type Config struct {
	HS256Secret    []byte
	RS256PublicKey *rsa.PublicKey
	// Issuer and Audience, when set, must match the token's iss and aud.
	Issuer   string
	Audience string
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
	// Logger receives one line per decision; nil discards them. Tokens are
	// never logged.
	Logger *slog.Logger
}

// Authorizer validates tokens and builds policies. It is immutable and safe
// for concurrent use.
type Authorizer struct {
	parser *jwt.Parser
	key    any
	alg    jwt.SigningMethod
	log    *slog.Logger
}

// New checks cfg and returns an Authorizer.
func New(cfg Config) (*Authorizer, error) {
	a := &Authorizer{log: cfg.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.HS256Secret != nil && cfg.RS256PublicKey != nil:
		return nil, errors.New("jwtauth: configure either an HS256 secret or an RS256 public key, not both")
	case cfg.HS256Secret != nil:
		if len(cfg.HS256Secret) < MinHS256SecretBytes {
			return nil, fmt.Errorf("jwtauth: HS256 secret must be at least %d bytes, got %d", MinHS256SecretBytes, len(cfg.HS256Secret))
		}
		a.key, a.alg = cfg.HS256Secret, jwt.SigningMethodHS256
	case cfg.RS256PublicKey != nil:
		if bits := cfg.RS256PublicKey.N.BitLen(); bits < MinRSABits {
			return nil, fmt.Errorf("jwtauth: RS256 key must have at least %d bits, got %d", MinRSABits, bits)
		}
		a.key, a.alg = cfg.RS256PublicKey, jwt.SigningMethodRS256
	default:
		return nil, errors.New("jwtauth: no key: configure an HS256 secret or an RS256 public key")
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{a.alg.Alg()}),
		jwt.WithExpirationRequired(),
		// Base64 with padding or stray bits is not a token our minter made.
		jwt.WithStrictDecoding(),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	if cfg.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(cfg.Now))
	}
	a.parser = jwt.NewParser(opts...)
	return a, nil
}

// Identity is what a valid token says about its bearer.
type Identity struct {
	Subject   string
	Groups    []string
	ExpiresAt time.Time
}

// Admin reports whether the bearer is in AdminGroup.
func (id Identity) Admin() bool {
	for _, g := range id.Groups {
		if g == AdminGroup {
			return true
		}
	}
	return false
}

// Authenticate validates an Authorization header value ("Bearer <jwt>", the
// scheme compared case-insensitively). Every failure wraps ErrUnauthorized.
func (a *Authorizer) Authenticate(authorization string) (Identity, error) {
	scheme, token, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return Identity{}, fmt.Errorf("%w: no bearer token", ErrUnauthorized)
	}
	claims := jwt.MapClaims{}
	_, err := a.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		// WithValidMethods already refuses other algorithms; checking the
		// type too keeps a key from ever meeting the wrong verifier.
		if t.Method != a.alg {
			return nil, fmt.Errorf("unexpected algorithm %q", t.Method.Alg())
		}
		return a.key, nil
	})
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	return identityOf(claims)
}

// identityOf reads the claims by their exact names; decoding into a struct
// would also accept "Sub" or "GROUPS".
func identityOf(claims jwt.MapClaims) (Identity, error) {
	var id Identity
	sub, ok := claims["sub"].(string)
	if !ok || sub == "" {
		return id, fmt.Errorf("%w: sub: missing or not a string", ErrUnauthorized)
	}
	if err := checkSubject(sub); err != nil {
		return id, fmt.Errorf("%w: sub: %w", ErrUnauthorized, err)
	}
	id.Subject = sub
	if raw, present := claims["groups"]; present {
		list, ok := raw.([]any)
		if !ok {
			return id, fmt.Errorf("%w: groups: not an array", ErrUnauthorized)
		}
		id.Groups = make([]string, 0, len(list))
		for i, g := range list {
			s, ok := g.(string)
			if !ok {
				return id, fmt.Errorf("%w: groups[%d]: not a string", ErrUnauthorized, i)
			}
			id.Groups = append(id.Groups, s)
		}
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		// The parser already requires exp; this only guards the type.
		return id, fmt.Errorf("%w: exp: missing or invalid", ErrUnauthorized)
	}
	id.ExpiresAt = exp.Time
	return id, nil
}

// checkSubject refuses subjects that would change the meaning of the policy
// built from them. The subject becomes part of a Resource pattern
// (".../POST/users/{sub}"), where '*' and '?' are wildcards: a subject "*"
// would allow POST on every user. "${" starts a policy variable, which the
// gateway refuses to expand, and control bytes cannot travel in the
// principal header.
func checkSubject(sub string) error {
	if strings.ContainsAny(sub, "*?") {
		return errors.New("contains an IAM wildcard ('*' or '?')")
	}
	if strings.Contains(sub, "${") {
		return errors.New("contains a policy variable (\"${\")")
	}
	for i := 0; i < len(sub); i++ {
		if c := sub[i]; c < 0x20 || c == 0x7f {
			return errors.New("contains a control character")
		}
	}
	return nil
}

// Authorize is the Lambda authorizer handler for TOKEN events. A missing,
// invalid or expired token returns ErrUnauthorized; a methodArn that is not
// an execute-api method ARN is an error (the gateway answers 500), and so is
// a policy the builder refuses, which a token that passed Authenticate
// cannot cause.
func (a *Authorizer) Authorize(ctx context.Context, event events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	id, err := a.Authenticate(event.AuthorizationToken)
	if err != nil {
		a.log.InfoContext(ctx, "decision", "endpoint", "lambda", "decision", "unauthorized", "methodArn", event.MethodArn, "reason", err.Error())
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	}
	m, err := arn.Parse(event.MethodArn)
	if err != nil {
		a.log.InfoContext(ctx, "decision", "endpoint", "lambda", "decision", "error", "principalId", id.Subject, "reason", err.Error())
		return events.APIGatewayCustomAuthorizerResponse{}, fmt.Errorf("jwtauth: methodArn: %w", err)
	}
	resp, err := Response(id, m)
	if err != nil {
		// Fail closed: an error, never a partial policy.
		a.log.ErrorContext(ctx, "decision", "endpoint", "lambda", "decision", "error", "principalId", id.Subject, "methodArn", event.MethodArn, "reason", err.Error())
		return events.APIGatewayCustomAuthorizerResponse{}, err
	}
	a.log.InfoContext(ctx, "decision", "endpoint", "lambda", "decision", "policy", "principalId", id.Subject, "admin", id.Admin(), "ownUserPath", id.HasUserPath(), "methodArn", event.MethodArn)
	return resp, nil
}

// userPath is the builder's rule for resource paths; a subject that breaks
// it cannot be named in a policy the builder makes.
var userPath = regexp.MustCompile(authpolicy.PathPattern)

// HasUserPath reports whether the policy for id can name /users/{sub}: the
// subject must match [authpolicy.PathPattern] and hold no '*', which the
// pattern allows but which is a wildcard in the policy. Authenticate already
// refuses '*', so the second test matters only to callers that build an
// Identity themselves. Subjects with other characters ("user|123",
// "bob@example.com", "a_b") are valid tokens; their bearer is simply not
// granted POST on /users/{sub}, since a policy cannot name that path.
func (id Identity) HasUserPath() bool {
	return !strings.Contains(id.Subject, "*") && userPath.MatchString("/users/"+id.Subject)
}

// Response builds the authorizer response for id with [authpolicy]. The
// policy is scoped to the API and stage of m, the method ARN of the request
// being authorized, and not to m itself, so that the gateway can cache it
// for the token's other requests: members of AdminGroup may invoke every
// method; everyone else may GET anything and POST only to /users/{sub}, the
// latter only when [Identity.HasUserPath]. An error means no policy: the
// caller must deny.
func Response(id Identity, m arn.MethodARN) (events.APIGatewayCustomAuthorizerResponse, error) {
	p := authpolicy.New(id.Subject, m.AccountID, authpolicy.APIOptions{
		RestAPIID: m.APIID,
		Region:    m.Region,
		Stage:     m.Stage,
		Partition: m.Partition,
	})
	switch {
	case id.Admin():
		p.AllowAllMethods()
	default:
		p.AllowMethod(authpolicy.Get, "*")
		if id.HasUserPath() {
			p.AllowMethod(authpolicy.Post, "/users/"+id.Subject)
		}
	}
	p.WithContext("sub", id.Subject).
		WithContext("groups", strings.Join(id.Groups, ",")).
		WithContext("admin", id.Admin()).
		WithContext("tokenExpiresAt", id.ExpiresAt.Unix())
	resp, err := p.Build()
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, fmt.Errorf("jwtauth: policy[%s]: %w", id.Subject, err)
	}
	return resp, nil
}

// Allows is the decision the policy from Response makes for a request with
// this method and resource (the decoded path without its leading slash, as
// in a method ARN), written out in Go so the ext_authz endpoint need not
// evaluate a policy document. A test keeps the two in agreement.
func (id Identity) Allows(method, resource string) bool {
	switch {
	case id.Admin():
		return true
	case method == "GET":
		return true
	case method == "POST":
		return id.HasUserPath() && resource == "users/"+id.Subject
	}
	return false
}
