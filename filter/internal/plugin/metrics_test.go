package plugin

import (
	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/pipeline"
)

// authorizerCounters and noAuthorizerCounters are the counter suffixes of
// every authorizer and of requests decided without one, as
// pipeline.PlanMetrics lists them.
var authorizerCounters, noAuthorizerCounters = func() (auth, none []string) {
	plan, err := config.Parse([]byte(`{"region":"us-east-1","accountId":"123456789012","restApiId":"a1b2c3d4e5","stage":"prod",
	 "authorizers":{"a":{"type":"TOKEN","cluster":"c"}},"routes":[{"method":"ANY","path":"/","authorizer":"a"}]}`))
	if err != nil {
		panic(err)
	}
	for _, m := range pipeline.PlanMetrics(plan) {
		switch {
		case m.Histogram:
		case m.Authorizer == "a":
			auth = append(auth, m.Suffix)
		default:
			none = append(none, m.Suffix)
		}
	}
	return auth, none
}()
