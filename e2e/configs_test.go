package e2e

// The plugin configurations rows run against. Every host starts one
// gateway per configuration and protocol; every authorizer in them but
// the Lambda group's points at the one test authorizer (cluster
// "authorizer"), which answers by token and records each event.

// Names of the configurations, as rows refer to them.
const (
	cfgToken       = "token"
	cfgREST        = "rest"
	cfgHTTP        = "http"
	cfgHTTPDefault = "http-default"
	cfgSecurity    = "security"
	cfgLambda      = "lambda"
)

// configs maps each configuration name to its JSON, in start order.
var configs = []namedConfig{
	{cfgToken, tokenConfig},
	{cfgREST, restConfig},
	{cfgHTTP, httpConfig},
	{cfgHTTPDefault, httpDefaultConfig},
	{cfgSecurity, securityConfig},
	{cfgLambda, lambdaConfig},
}

// namedConfig is a plugin configuration and the name rows know it by.
type namedConfig struct{ name, json string }

// tokenConfig is the TOKEN authorizer configuration (cfgToken).
// Routes leave paths without a route (/, /nothing, POST /pets) on purpose.
// "jwt" caches for 300 s; "nocache" has TTL 0; "short" times out quickly for
// the slow authorizer; "dead" points at a port nobody listens on.
const tokenConfig = `{
  "region": "us-east-1",
  "accountId": "123456789012",
  "restApiId": "a1b2c3d4e5",
  "stage": "prod",
  "authorizers": {
    "jwt": {"type": "TOKEN", "cluster": "authorizer", "path": "/authorize", "authority": "authorizer.local",
      "timeoutMs": 5000, "identitySource": "method.request.header.Authorization",
      "identityValidationExpression": "^Bearer [-0-9a-zA-Z._]+$", "authorizerResultTtlInSeconds": 300},
    "nocache": {"type": "TOKEN", "cluster": "authorizer", "path": "/authorize", "timeoutMs": 5000,
      "identitySource": "method.request.header.Authorization", "authorizerResultTtlInSeconds": 0},
    "short": {"type": "TOKEN", "cluster": "authorizer", "path": "/authorize", "timeoutMs": 300,
      "identitySource": "method.request.header.Authorization", "authorizerResultTtlInSeconds": 300},
    "dead": {"type": "TOKEN", "cluster": "deadauthz", "timeoutMs": 2000,
      "identitySource": "method.request.header.Authorization", "authorizerResultTtlInSeconds": 300}
  },
  "routes": [
    {"method": "ANY", "path": "/health", "authorizer": "NONE"},
    {"method": "GET", "path": "/pets", "authorizer": "jwt"},
    {"method": "ANY", "path": "/pets/{id}", "authorizer": "jwt"},
    {"method": "ANY", "path": "/users/{id}", "authorizer": "jwt"},
    {"method": "ANY", "path": "/api/{proxy+}", "authorizer": "jwt"},
    {"method": "ANY", "path": "/nocache/{proxy+}", "authorizer": "nocache"},
    {"method": "ANY", "path": "/slow/{proxy+}", "authorizer": "short"},
    {"method": "ANY", "path": "/dead/{proxy+}", "authorizer": "dead"}
  ]
}`

// The REQUEST authorizer and HTTP API configurations.
const (
	// restConfig is a REST API with a REQUEST authorizer whose identity
	// sources are of all four kinds, customised gateway responses and
	// API Gateway's newer implicit-deny wording.
	restConfig = `{
  "region": "us-east-1",
  "accountId": "123456789012",
  "restApiId": "a1b2c3d4e5",
  "stage": "prod",
  "stageVariables": {"env": "blue", "zone": "z1"},
  "implicitDenyMessage": "identity-based-policy",
  "gatewayResponses": {
    "UNAUTHORIZED": {
      "statusCode": "401",
      "responseParameters": {"gatewayresponse.header.WWW-Authenticate": "'Bearer realm=\"pets\"'"},
      "responseTemplates": {"application/json": "{\"error\":$context.error.messageString,\"requestId\":\"$context.requestId\"}"}
    },
    "ACCESS_DENIED": {
      "responseParameters": {"gatewayresponse.header.X-Denied-Principal": "context.authorizer.principalId"}
    },
    "DEFAULT_5XX": {
      "statusCode": "503",
      "responseParameters": {"gatewayresponse.header.Retry-After": "'5'"},
      "responseTemplates": {"application/json": "{\"message\":$context.error.messageString,\"type\":\"$context.error.responseType\",\"resource\":\"$context.resourcePath\"}"}
    }
  },
  "authorizers": {
    "req": {"type": "REQUEST", "cluster": "authorizer", "path": "/request", "timeoutMs": 5000,
      "identitySource": "method.request.header.X-Token, method.request.querystring.tenant, stageVariables.env, context.httpMethod",
      "authorizerResultTtlInSeconds": 300}
  },
  "routes": [
    {"method": "ANY", "path": "/pets/{id}", "authorizer": "req"}
  ]
}`

	// httpConfig is an HTTP API with a payload 2.0 policy authorizer, a
	// payload 2.0 simple-response authorizer and a payload 1.0 one.
	httpConfig = `{
  "apiType": "HTTP",
  "region": "us-east-1",
  "accountId": "123456789012",
  "apiId": "h1t2p3a4i5",
  "stage": "$default",
  "authorizers": {
    "iam": {"type": "REQUEST", "cluster": "authorizer", "path": "/v2", "timeoutMs": 5000,
      "authorizerPayloadFormatVersion": "2.0",
      "identitySource": "$request.header.X-Token, $request.querystring.tenant", "authorizerResultTtlInSeconds": 300},
    "simple": {"type": "REQUEST", "cluster": "authorizer", "path": "/simple", "timeoutMs": 5000,
      "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": true,
      "identitySource": "$request.header.X-Token", "authorizerResultTtlInSeconds": 300},
    "v1": {"type": "REQUEST", "cluster": "authorizer", "path": "/v1", "timeoutMs": 5000,
      "authorizerPayloadFormatVersion": "1.0",
      "identitySource": "$request.header.X-Token", "authorizerResultTtlInSeconds": 300}
  },
  "routes": [
    {"method": "GET", "path": "/open", "authorizer": "NONE"},
    {"method": "GET", "path": "/pets/{id}", "authorizer": "iam"},
    {"method": "ANY", "path": "/simple/{proxy+}", "authorizer": "simple"},
    {"method": "ANY", "path": "/v1/{id}", "authorizer": "v1"}
  ]
}`

	// httpDefaultConfig is an HTTP API whose $default route catches what
	// no other route matches.
	httpDefaultConfig = `{
  "apiType": "HTTP",
  "region": "us-east-1",
  "accountId": "123456789012",
  "apiId": "d1e2f3a4b5",
  "stage": "prod",
  "authorizers": {
    "iam": {"type": "REQUEST", "cluster": "authorizer", "path": "/v2", "timeoutMs": 5000,
      "authorizerPayloadFormatVersion": "2.0",
      "identitySource": "$request.header.X-Token, $context.routeKey", "authorizerResultTtlInSeconds": 300}
  },
  "routes": [
    {"method": "GET", "path": "/pets/{id}", "authorizer": "iam"},
    {"method": "ANY", "path": "$default", "authorizer": "iam"}
  ]
}`
)

// securityConfig puts authorized routes next to a catch-all NONE route, so
// a request that escapes a route's match lands on a route without an
// authorizer; its jwt authorizer reads Authorization and validates nothing,
// so any token reaches it. The limits rows use it too: its "small"
// authorizer accepts answers of 2048 bytes at most.
const securityConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizers": {
    "jwt": {"type": "TOKEN", "cluster": "authorizer", "path": "/authorize", "timeoutMs": 5000, "authorizerResultTtlInSeconds": 300},
    "small": {"type": "TOKEN", "cluster": "authorizer", "path": "/authorize", "timeoutMs": 5000, "maxResponseBytes": 2048}
  },
  "routes": [
    {"method": "ANY", "path": "/small/{proxy+}", "authorizer": "small"},
    {"method": "GET", "path": "/rt/admin", "authorizer": "jwt"},
    {"method": "ANY", "path": "/admin", "authorizer": "jwt"},
    {"method": "ANY", "path": "/pets", "authorizer": "jwt"},
    {"method": "ANY", "path": "/pets/{proxy+}", "authorizer": "jwt"},
    {"method": "ANY", "path": "/{proxy+}", "authorizer": "NONE"}
  ]
}`
