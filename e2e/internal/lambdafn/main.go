// Command lambdafn is a Lambda authorizer for the e2e suite's rows that the
// JWT authorizer cannot play: it answers by token. "Bearer allow" is
// allowed everything as principal fn-user, "Bearer boom" fails with a
// function error other than Unauthorized, "Bearer sleep" answers only
// after LAMBDAFN_SLEEP (default 5s, longer than the suite's authorizer
// timeout), anything else is Unauthorized. It is built as a bootstrap and
// run under the Lambda runtime emulator, like the example authorizer.
package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	sleep := 5 * time.Second
	if d, err := time.ParseDuration(os.Getenv("LAMBDAFN_SLEEP")); err == nil {
		sleep = d
	}
	lambda.Start(func(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		switch ev.AuthorizationToken {
		case "Bearer sleep":
			time.Sleep(sleep)
			return allow(), nil
		case "Bearer allow":
			return allow(), nil
		case "Bearer boom":
			return events.APIGatewayCustomAuthorizerResponse{}, errors.New("token store unreachable")
		}
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
	})
}

func allow() events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: "fn-user",
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version:   "2012-10-17",
			Statement: []events.IAMPolicyStatement{{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{"*"}}},
		},
		Context: map[string]any{"source": "lambdafn"},
	}
}
