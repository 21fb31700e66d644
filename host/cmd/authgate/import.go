package main

import (
	"fmt"

	"github.com/authgate/authgate/host/internal/openapi"
)

// importDefinition converts an API Gateway definition into a gateway
// configuration on stdout; every warning goes to stderr.
func (c *cli) importDefinition(args []string) int {
	fs := c.flags("import", "--openapi FILE [--stage NAME] [--region R --account-id N --rest-api-id ID] [--cluster NAME] [--api-type REST|HTTP] [--http-authorizers]")
	file := fs.String("openapi", "", "API Gateway definition `FILE`: OpenAPI 3.0 or Swagger 2.0 with API Gateway's extensions, YAML or JSON (- for stdin)")
	var opts openapi.Options
	fs.StringVar(&opts.Stage, "stage", "", "stage `NAME` of the method ARN (default: the definition's base path; $default for HTTP APIs)")
	fs.StringVar(&opts.Region, "region", "", "AWS `REGION` of the method ARN (default: the definition's execute-api server)")
	fs.StringVar(&opts.AccountID, "account-id", "", "AWS account `ID` of the method ARN")
	fs.StringVar(&opts.APIID, "rest-api-id", "", "API `ID` of the method ARN (restApiId, or apiId for HTTP APIs; default: the definition's execute-api server)")
	fs.StringVar(&opts.APIID, "api-id", "", "the same as --rest-api-id")
	fs.StringVar(&opts.Cluster, "cluster", openapi.DefaultCluster, "cluster `NAME` every authorizer is called through, each at path /AUTHORIZER")
	fs.StringVar(&opts.APIType, "api-type", "", "REST or HTTP (default: detected from the definition)")
	fs.BoolVar(&opts.HTTPAuthorizers, "http-authorizers", false, "call every authorizer over HTTP, also where the configuration could invoke its Lambda function (authorizerUri)")
	if code, ok := c.parse(fs, args); !ok {
		return code
	}
	if *file == "" {
		c.usageError(fs, "--openapi is required")
		return exitUsage
	}
	src, err := c.readInput(*file)
	if err != nil {
		fmt.Fprintln(c.stderr, err)
		return exitUsage
	}
	out, warnings, err := openapi.Import(src, opts)
	for _, w := range warnings {
		fmt.Fprintf(c.stderr, "warning: %s\n", w)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", displayName(*file), err)
		return exitUsage
	}
	if _, err := c.stdout.Write(out); err != nil {
		fmt.Fprintln(c.stderr, err)
		return exitUsage
	}
	return exitOK
}
