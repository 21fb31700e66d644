package decisionlog

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/authgate/authgate/core/pipeline"
)

func TestLog(t *testing.T) {
	tests := []struct {
		name string
		res  pipeline.Result
		want string
	}{
		{"allow at info", pipeline.Result{Kind: pipeline.KindAllow, Route: "/a", Authorizer: "jwt", CacheState: pipeline.CacheHit, Decision: pipeline.DecisionAllow},
			`level=INFO msg=request method=GET path=/a route=/a authorizer=jwt cache=hit decision=ALLOW status=200 request_id=r latency=1.5ms` + "\n"},
		{"failure at warn", pipeline.Result{Kind: pipeline.KindReject, Status: 500, Route: "/a", Authorizer: "jwt", CacheState: pipeline.CacheMiss,
			Decision: pipeline.DecisionError, Reason: "authorizer call refused: remote connection failure"},
			`level=WARN msg=request method=GET path=/a route=/a authorizer=jwt cache=miss decision=ERROR status=500 reason="authorizer call refused: remote connection failure" request_id=r latency=1.5ms` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}}))
			rec := pipeline.NewRecord("GET", "/a?q", "r", &tt.res)
			Log(context.Background(), logger, rec.Fields(nil), 1500*time.Microsecond)
			if b.String() != tt.want {
				t.Errorf("got  %s\nwant %s", b.String(), tt.want)
			}
		})
	}
}
