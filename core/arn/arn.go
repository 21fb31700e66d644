// Package arn parses and formats execute-api method ARNs and the Lambda
// function ARNs of authorizerUri (core/route matches paths against route
// templates).
//
// The ARN layout is documented at
// https://docs.aws.amazon.com/apigateway/latest/developerguide/arn-format-reference.html.
package arn

import (
	"errors"
	"fmt"
	"strings"

	"github.com/authgate/authgate/core/internal/ascii"
)

// MaxLength is the longest method ARN the gateway accepts; longer requests are
// answered 414 without calling an authorizer.
const MaxLength = 1600

// Service is the service part of every method ARN.
const Service = "execute-api"

// MethodARN is a parsed execute-api method ARN:
// arn:aws:execute-api:{Region}:{AccountID}:{APIID}/{Stage}/{Method}/{Resource}.
// Resource has no leading slash; the root resource is the empty string, which
// formats as a trailing slash (".../GET/").
type MethodARN struct {
	Partition string // "aws" unless parsed otherwise
	Region    string
	AccountID string
	APIID     string
	Stage     string
	Method    string
	Resource  string
}

// PartitionOf returns the AWS partition a region belongs to: "aws-cn" for
// the China regions, "aws-us-gov" for GovCloud and "aws" otherwise. Policies
// written for those regions name their own partition, so the method ARN must
// too.
func PartitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// Format builds the method ARN for a request: path is the decoded request
// path with its leading slash ("/" for the root resource).
//
// A trailing slash is dropped ("/pets/" formats as ".../GET/pets"), because
// the router matches "/pets/" to the "/pets" route: the policy must judge
// the resource the route names, or a Deny on "GET/pets" could be sidestepped
// by appending a slash while an Allow on "GET/pets/*" let it through.
func Format(region, accountID, apiID, stage, method, path string) string {
	resource := strings.TrimPrefix(path, "/")
	resource = strings.TrimSuffix(resource, "/")
	// One concatenation is one allocation; this runs on every request.
	return "arn:" + PartitionOf(region) + ":" + Service + ":" + region + ":" + accountID + ":" +
		apiID + "/" + stage + "/" + method + "/" + resource
}

// String formats the ARN. An empty Partition formats as "aws".
func (a MethodARN) String() string {
	p := a.Partition
	if p == "" {
		p = "aws"
	}
	return "arn:" + p + ":" + Service + ":" + a.Region + ":" + a.AccountID + ":" +
		a.APIID + "/" + a.Stage + "/" + a.Method + "/" + a.Resource
}

// Parse parses a method ARN. Its errors name the part that is wrong
// (`arn: account id: must be 12 digits, got "12"`). It accepts only concrete
// method ARNs as the gateway formats them: a stage name (or $default, the
// stage of HTTP APIs) without wildcards, no empty, "." or ".." resource
// segments and no trailing slash except for the root resource.
func Parse(s string) (MethodARN, error) {
	var a MethodARN
	if len(s) > MaxLength {
		return a, fmt.Errorf("arn: longer than %d bytes", MaxLength)
	}
	prefix, rest, ok := strings.Cut(s, ":")
	if !ok || prefix != "arn" {
		return a, fmt.Errorf("arn: must start with \"arn:\", got %s", ascii.QuoteShort(s))
	}
	// The resource part may itself contain colons, so only the first five
	// separate fields.
	var fields [4]string
	for i := range fields {
		var f string
		f, rest, ok = strings.Cut(rest, ":")
		if !ok {
			// What is missing is the field after the unterminated one.
			return a, fmt.Errorf("arn: %s: missing", [...]string{"service", "region", "account id", "api id"}[i])
		}
		fields[i] = f
	}
	a.Partition, a.Region, a.AccountID = fields[0], fields[2], fields[3]
	switch a.Partition {
	case "aws", "aws-cn", "aws-us-gov":
	default:
		return a, fmt.Errorf("arn: partition: must be aws, aws-cn or aws-us-gov, got %s", ascii.QuoteShort(a.Partition))
	}
	if fields[1] != Service {
		return a, fmt.Errorf("arn: service: must be %s, got %s", Service, ascii.QuoteShort(fields[1]))
	}
	if err := CheckRegion(a.Region); err != nil {
		return a, fmt.Errorf("arn: region: %w", err)
	}
	if err := CheckAccountID(a.AccountID); err != nil {
		return a, fmt.Errorf("arn: account id: %w", err)
	}
	// rest is {apiId}/{stage}/{verb}/{resource}.
	var parts [3]string
	for i := range parts {
		var p string
		p, rest, ok = strings.Cut(rest, "/")
		if !ok {
			// The verb is followed by a slash even for the root resource.
			return a, fmt.Errorf("arn: %s: missing", [...]string{"stage", "method", "resource"}[i])
		}
		parts[i] = p
	}
	a.APIID, a.Stage, a.Method, a.Resource = parts[0], parts[1], parts[2], rest
	if err := CheckAPIID(a.APIID); err != nil {
		return a, fmt.Errorf("arn: api id: %w", err)
	}
	if err := CheckStage(a.Stage); err != nil && a.Stage != DefaultStage {
		return a, fmt.Errorf("arn: stage: %w", err)
	}
	if err := CheckMethod(a.Method); err != nil {
		return a, fmt.Errorf("arn: method: %w", err)
	}
	if err := checkResource(a.Resource); err != nil {
		return a, fmt.Errorf("arn: resource: %w", err)
	}
	return a, nil
}

// CheckRegion reports whether s looks like an AWS region name
// ("us-east-1", "us-gov-west-1", "cn-north-1").
func CheckRegion(s string) error {
	if !regionShape(s) {
		return fmt.Errorf("must look like us-east-1, got %s", ascii.QuoteShort(s))
	}
	return nil
}

// regionShape accepts two or more lower-case words joined by hyphens and
// ending in a one- or two-digit number.
func regionShape(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || len(s) > 32 {
		return false
	}
	for i, p := range parts {
		last := i == len(parts)-1
		if p == "" || (i == 0 && len(p) < 2) || (last && len(p) > 2) {
			return false
		}
		if last && !ascii.All(p, ascii.IsDigit) || !last && !ascii.All(p, ascii.IsLower) {
			return false
		}
	}
	return true
}

// CheckAccountID reports whether s is a 12-digit AWS account id.
func CheckAccountID(s string) error {
	if len(s) != 12 || !ascii.All(s, ascii.IsDigit) {
		return fmt.Errorf("must be 12 digits, got %s", ascii.QuoteShort(s))
	}
	return nil
}

// CheckAPIID reports whether s can be a REST API id: 1 to 64 ASCII letters
// and digits. API Gateway generates 10 lower-case ones; self-hosted
// deployments may pick their own, but nothing that could read as an ARN
// separator or wildcard.
func CheckAPIID(s string) error {
	if len(s) == 0 || len(s) > 64 || !ascii.All(s, ascii.IsAlnum) {
		return fmt.Errorf("must be 1 to 64 letters and digits, got %s", ascii.QuoteShort(s))
	}
	return nil
}

// DefaultStage is the stage HTTP APIs deploy to when none is named; every
// routeArn of such an API carries it.
const DefaultStage = "$default"

// CheckStage reports whether s is a valid stage name: 1 to 128 letters,
// digits, hyphens and underscores, as API Gateway allows.
func CheckStage(s string) error {
	if len(s) == 0 || len(s) > 128 || !ascii.All(s, func(c byte) bool { return ascii.IsAlnum(c) || c == '-' || c == '_' }) {
		return fmt.Errorf("must be 1 to 128 letters, digits, '-' and '_', got %s", ascii.QuoteShort(s))
	}
	return nil
}

// CheckMethod reports whether s is an HTTP method token (RFC 9110, section
// 9.1): the verb of a method ARN is the request's method as sent.
func CheckMethod(s string) error {
	if len(s) == 0 || len(s) > 32 || !ascii.All(s, isTokenChar) {
		return fmt.Errorf("must be an HTTP method token, got %s", ascii.QuoteShort(s))
	}
	return nil
}

var (
	errEmptySegment = errors.New("empty segment")
	errDotSegment   = errors.New("\".\" or \"..\" segment")
	errControl      = errors.New("control byte")
)

// checkResource validates the resource part: a clean decoded path without its
// leading slash, as Format writes it.
func checkResource(s string) error {
	if s == "" {
		return nil
	}
	for seg := range strings.SplitSeq(s, "/") {
		switch seg {
		case "":
			return errEmptySegment
		case ".", "..":
			return errDotSegment
		}
	}
	for i := 0; i < len(s); i++ {
		if ascii.IsControl(s[i]) {
			return errControl
		}
	}
	return nil
}

// isTokenChar reports whether c is a tchar of RFC 9110, section 5.6.2.
func isTokenChar(c byte) bool {
	if ascii.IsAlnum(c) {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
