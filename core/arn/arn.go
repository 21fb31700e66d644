// Package arn parses and formats execute-api method ARNs and matches request
// paths against API Gateway route templates.
//
// The ARN layout is documented at
// https://docs.aws.amazon.com/apigateway/latest/developerguide/arn-format-reference.html.
package arn

// MaxLength is the longest method ARN the gateway accepts; longer requests are
// answered 414 without calling an authorizer.
const MaxLength = 1600

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

// Format builds the method ARN for a request: path is the decoded request
// path with its leading slash ("/" for the root resource).
func Format(region, accountID, apiID, stage, method, path string) string {
	panic("TODO")
}

// String formats the ARN.
func (a MethodARN) String() string { panic("TODO") }

// Parse parses a method ARN. Its errors name the part that is wrong.
func Parse(s string) (MethodARN, error) { panic("TODO") }
