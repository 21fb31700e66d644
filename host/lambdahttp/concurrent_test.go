package lambdahttp

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
)

type numbered struct{ N int }

type padded struct {
	N   int
	Pad string
}

// TestConcurrentAnswersAreTheirOwn sends many requests at once and checks
// that every answer is the one its own request produced: aws-lambda-go
// reuses a handler's output buffer, and sharing one handler across
// requests once handed callers each other's authorizer answers.
func TestConcurrentAnswersAreTheirOwn(t *testing.T) {
	fn := func(ctx context.Context, e numbered) (padded, error) {
		return padded{N: e.N, Pad: strings.Repeat("x", e.N%97)}, nil
	}
	tests := []struct {
		name    string
		handler any
	}{
		{"function", fn},
		{"lambda.Handler", lambda.NewHandler(fn)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Handler(tt.handler)
			workers, each := 16, 300
			if testing.Short() {
				each = 50
			}
			var wrong atomic.Int64
			var wg sync.WaitGroup
			for g := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						n := g*100000 + i
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(fmt.Sprintf(`{"N":%d}`, n))))
						want := fmt.Sprintf(`{"N":%d,"Pad":"%s"}`, n, strings.Repeat("x", n%97))
						if got, _ := io.ReadAll(rec.Body); string(got) != want {
							if wrong.Add(1) <= 3 {
								t.Errorf("answer %.60q, want %.60q", got, want)
							}
						}
					}
				}()
			}
			wg.Wait()
			if n := wrong.Load(); n > 0 {
				t.Errorf("%d of %d answers belonged to another request", n, workers*each)
			}
		})
	}
}
