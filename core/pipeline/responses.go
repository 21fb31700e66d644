package pipeline

// gatewayResponse is one of the gateway's own answers.
type gatewayResponse struct {
	status    int
	errorType string
	body      string
	decision  string
}

// The gateway's answers, byte for byte as API Gateway gives them for REST
// APIs with Lambda authorizers. Bad request and URI too long are authgate's
// own (API Gateway's edge answers those before the API is reached).
var (
	missingToken      = gatewayResponse{403, "MissingAuthenticationTokenException", `{"message":"Missing Authentication Token"}`, DecisionNoRoute}
	unauthorized      = gatewayResponse{401, "UnauthorizedException", `{"message":"Unauthorized"}`, DecisionUnauthorized}
	explicitDeny      = gatewayResponse{403, "AccessDeniedException", `{"Message":"User is not authorized to access this resource with an explicit deny"}`, DecisionDeny}
	implicitDeny      = gatewayResponse{403, "AccessDeniedException", `{"Message":"User is not authorized to access this resource"}`, DecisionImplicitDeny}
	authorizerFailure = gatewayResponse{500, "AuthorizerConfigurationException", `{"message":null}`, DecisionError}
	badRequest        = gatewayResponse{400, "BadRequestException", `{"message":"Bad Request"}`, DecisionBadRequest}
	uriTooLong        = gatewayResponse{414, "RequestURITooLongException", `{"message":"Request-URI Too Long"}`, DecisionBadRequest}
)

// ErrorTypeHeader names the kind of gateway error, as API Gateway does.
const ErrorTypeHeader = "x-amzn-ErrorType"

func reject(g gatewayResponse, route, auth, reason string) Result {
	return Result{
		Kind:   KindReject,
		Status: g.status,
		Headers: []Header{
			{Name: "content-type", Value: "application/json"},
			{Name: ErrorTypeHeader, Value: g.errorType},
		},
		Body:       []byte(g.body),
		Route:      route,
		Authorizer: auth,
		Decision:   g.decision,
		Statement:  -1,
		Reason:     reason,
	}
}

// Failure is the answer an embedding gives when it cannot run the pipeline at
// all (a recovered panic, a broken VM): the authorizer failure response, so a
// fault is never an allow.
func Failure(reason string) Result {
	return reject(authorizerFailure, "", "", reason)
}
