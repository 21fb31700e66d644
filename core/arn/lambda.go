package arn

import (
	"fmt"
	"strings"

	"github.com/authgate/authgate/core/internal/ascii"
)

// Function is a Lambda function ARN,
// arn:{Partition}:lambda:{Region}:{AccountID}:function:{Name}[:{Qualifier}],
// as API Gateway's authorizerUri names an authorizer's function
// (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
// Qualifier is a version ("$LATEST", "3") or an alias, empty for none.
type Function struct {
	Partition string
	Region    string
	AccountID string
	Name      string
	Qualifier string
}

// InvokeAPIVersion is the version segment of the Lambda Invoke API's path.
const InvokeAPIVersion = "2015-03-31"

// Limits of the parts of a function ARN, as Lambda's API states them.
const (
	maxFunctionName = 64
	maxQualifier    = 128
	maxRoleName     = 64
	maxRolePath     = 512
)

// String formats the function ARN.
func (f Function) String() string {
	s := "arn:" + f.Partition + ":lambda:" + f.Region + ":" + f.AccountID + ":function:" + f.Name
	if f.Qualifier != "" {
		s += ":" + f.Qualifier
	}
	return s
}

// InvokePath is the path of the Lambda Invoke API for f:
// /2015-03-31/functions/{FunctionName}/invocations with the ARN
// percent-encoded as one path segment, the way the AWS SDKs send it (":"
// becomes %3A, "$" %24).
func (f Function) InvokePath() string {
	return "/" + InvokeAPIVersion + "/functions/" + escapeSegment(f.String()) + "/invocations"
}

// Endpoint is the host name of the public Lambda endpoint of f's region:
// lambda.{region}.amazonaws.com (.com.cn in the China partition).
func (f Function) Endpoint() string { return LambdaEndpoint(f.Region) }

// LambdaEndpoint is the host name of Lambda's public endpoint in region.
func LambdaEndpoint(region string) string {
	return "lambda." + region + "." + dnsSuffix(PartitionOf(region))
}

// dnsSuffix is the domain of a partition's service endpoints.
func dnsSuffix(partition string) string {
	if partition == "aws-cn" {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

// EndpointRegion returns the region of a Lambda endpoint host name
// (lambda.{region}.amazonaws.com, lambda-fips.{region}.amazonaws.com, the
// .com.cn form, or the dual-stack lambda.{region}.api.aws), and false for
// any other host: a local emulator, a proxy, a private name.
func EndpointRegion(host string) (string, bool) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	var rest string
	var ok bool
	for _, p := range []string{"lambda.", "lambda-fips."} {
		if rest, ok = strings.CutPrefix(host, p); ok {
			break
		}
	}
	if !ok {
		return "", false
	}
	for _, suffix := range []string{".amazonaws.com", ".amazonaws.com.cn", ".api.aws"} {
		if region, ok := strings.CutSuffix(rest, suffix); ok && regionShape(region) {
			return region, true
		}
	}
	return "", false
}

// authorizerURIPrefix and authorizerURISuffix frame the function ARN in API
// Gateway's authorizerUri form,
// arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations.
const (
	authorizerURIPath   = "lambda:path/" + InvokeAPIVersion + "/functions/"
	authorizerURISuffix = "/invocations"
)

// ParseAuthorizerURI reads an authorizer's authorizerUri: API Gateway's
// form, arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations,
// as OpenAPI and CloudFormation templates write it, or a bare function ARN.
// In the API Gateway form the function must be in the URI's partition and
// region: that region's Lambda endpoint is the one called, and it serves
// only its own region's functions.
func ParseAuthorizerURI(s string) (Function, error) {
	if !strings.HasPrefix(s, "arn:") {
		return Function{}, fmt.Errorf("must be arn:aws:apigateway:{region}:lambda:path/%s/functions/{function arn}/invocations or a function ARN, got %s", InvokeAPIVersion, ascii.QuoteShort(s))
	}
	fields := strings.SplitN(s, ":", 5)
	if len(fields) < 5 || fields[2] != "apigateway" {
		return ParseFunction(s)
	}
	partition, region, rest := fields[1], fields[3], fields[4]
	if err := checkPartition(partition, region); err != nil {
		return Function{}, err
	}
	inner, ok := strings.CutPrefix(rest, authorizerURIPath)
	if ok {
		inner, ok = strings.CutSuffix(inner, authorizerURISuffix)
	}
	if !ok {
		return Function{}, fmt.Errorf("must continue after the region with %s{function arn}%s, got %s", authorizerURIPath, authorizerURISuffix, ascii.QuoteShort(rest))
	}
	f, err := ParseFunction(inner)
	if err != nil {
		return Function{}, fmt.Errorf("function: %w", err)
	}
	if f.Partition != partition || f.Region != region {
		return Function{}, fmt.Errorf("function %s is in %s, but the URI calls Lambda in %s", ascii.QuoteShort(f.String()), f.Region, region)
	}
	return f, nil
}

// ParseFunction reads a function ARN with an optional qualifier. Function
// names are 1 to 64 letters, digits, '-' and '_'; a qualifier is $LATEST,
// a version number or an alias of up to 128 of the same characters.
func ParseFunction(s string) (Function, error) {
	fields := strings.Split(s, ":")
	if len(fields) < 7 || len(fields) > 8 || fields[0] != "arn" || fields[2] != "lambda" || fields[5] != "function" {
		return Function{}, fmt.Errorf("must be arn:{partition}:lambda:{region}:{account}:function:{name}[:{qualifier}], got %s", ascii.QuoteShort(s))
	}
	f := Function{Partition: fields[1], Region: fields[3], AccountID: fields[4], Name: fields[6]}
	if len(fields) == 8 {
		f.Qualifier = fields[7]
	}
	if err := checkPartition(f.Partition, f.Region); err != nil {
		return Function{}, err
	}
	if err := CheckAccountID(f.AccountID); err != nil {
		return Function{}, fmt.Errorf("account id: %w", err)
	}
	if f.Name == "" || len(f.Name) > maxFunctionName || !ascii.All(f.Name, isNameByte) {
		return Function{}, fmt.Errorf("function name: must be 1 to %d letters, digits, '-' and '_', got %s", maxFunctionName, ascii.QuoteShort(f.Name))
	}
	if len(fields) == 8 && f.Qualifier != "$LATEST" &&
		(f.Qualifier == "" || len(f.Qualifier) > maxQualifier || !ascii.All(f.Qualifier, isNameByte)) {
		return Function{}, fmt.Errorf("qualifier: must be $LATEST, a version or an alias of 1 to %d letters, digits, '-' and '_', got %s", maxQualifier, ascii.QuoteShort(f.Qualifier))
	}
	return f, nil
}

// checkPartition checks a region and that partition is the one it belongs to.
func checkPartition(partition, region string) error {
	if err := CheckRegion(region); err != nil {
		return fmt.Errorf("region: %w", err)
	}
	if want := PartitionOf(region); partition != want {
		return fmt.Errorf("partition: region %s is in partition %s, got %s", region, want, ascii.QuoteShort(partition))
	}
	return nil
}

// Role is an IAM role ARN, arn:{Partition}:iam::{AccountID}:role/{Path}{Name},
// as API Gateway's authorizerCredentials names the role it assumes to invoke
// the function. Path is "/" or "/a/b/".
type Role struct {
	Partition string
	AccountID string
	Path      string
	Name      string
}

// String formats the role ARN.
func (r Role) String() string {
	return "arn:" + r.Partition + ":iam::" + r.AccountID + ":role" + r.Path + r.Name
}

// ParseRole reads an IAM role ARN. Role names are 1 to 64 of letters,
// digits and +=,.@_-, path segments the same (IAM's rules).
func ParseRole(s string) (Role, error) {
	fields := strings.SplitN(s, ":", 6)
	if len(fields) != 6 || fields[0] != "arn" || fields[2] != "iam" || fields[3] != "" {
		return Role{}, fmt.Errorf("must be an IAM role ARN, arn:{partition}:iam::{account}:role/{name}, got %s", ascii.QuoteShort(s))
	}
	r := Role{Partition: fields[1], AccountID: fields[4]}
	switch r.Partition {
	case "aws", "aws-cn", "aws-us-gov":
	default:
		return Role{}, fmt.Errorf("partition: must be aws, aws-cn or aws-us-gov, got %s", ascii.QuoteShort(r.Partition))
	}
	if err := CheckAccountID(r.AccountID); err != nil {
		return Role{}, fmt.Errorf("account id: %w", err)
	}
	resource, ok := strings.CutPrefix(fields[5], "role/")
	if !ok {
		return Role{}, fmt.Errorf("must name a role (…:role/{name}), got %s", ascii.QuoteShort(fields[5]))
	}
	i := strings.LastIndexByte(resource, '/')
	r.Path, r.Name = "/"+resource[:i+1], resource[i+1:]
	if i < 0 {
		r.Path = "/"
	}
	if r.Name == "" || len(r.Name) > maxRoleName || !ascii.All(r.Name, isRoleByte) {
		return Role{}, fmt.Errorf("role name: must be 1 to %d letters, digits and +=,.@_-, got %s", maxRoleName, ascii.QuoteShort(r.Name))
	}
	if len(r.Path) > maxRolePath || strings.Contains(r.Path, "//") || !ascii.All(r.Path, func(c byte) bool { return c == '/' || isRoleByte(c) }) {
		return Role{}, fmt.Errorf("role path: must be /{segment}/ of letters, digits and +=,.@_-, got %s", ascii.QuoteShort(r.Path))
	}
	return r, nil
}

func isNameByte(c byte) bool { return ascii.IsAlnum(c) || c == '-' || c == '_' }

func isRoleByte(c byte) bool { return ascii.IsAlnum(c) || strings.IndexByte("+=,.@_-", c) >= 0 }

// escapeSegment percent-encodes every byte of s but the unreserved ones of
// RFC 3986, so s travels as one path segment.
func escapeSegment(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ascii.IsAlnum(c) || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
