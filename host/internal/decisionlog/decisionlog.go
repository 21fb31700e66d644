// Package decisionlog writes the line the Go hosts log per request: the
// decision record's fields (pipeline.Record), in their order, then the
// time the decision took. The native middleware logs the record it
// builds; authgate serve's wasm engine logs the fields it reads back from
// the filter's decision line (pipeline.ParseText). Both go through Log,
// so the two engines write the same line, in text or JSON alike.
package decisionlog

import (
	"context"
	"log/slog"
	"time"

	"github.com/authgate/authgate/core/pipeline"
)

// Message is the message of every decision line.
const Message = "request"

// Level is the level of a decision line: a warning for an authorizer
// failure (an operator's problem, as the filter logs it in Envoy), info
// for any other decision.
func Level(decision string) slog.Level {
	if decision == pipeline.DecisionError {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// Enabled reports whether logger writes the decision lines of decision.
// Hosts ask first, so that a logger that drops them costs no record.
func Enabled(ctx context.Context, logger *slog.Logger, decision string) bool {
	return logger.Enabled(ctx, Level(decision))
}

// Log writes the decision line of fields (a record's Fields, or what
// pipeline.ParseText read) with latency after them, under
// pipeline.RecordLatency.
func Log(ctx context.Context, logger *slog.Logger, fields []pipeline.Field, latency time.Duration) {
	decision := ""
	attrs := make([]slog.Attr, 0, len(fields)+1)
	for _, f := range fields {
		if f.IsNumber {
			attrs = append(attrs, slog.Int(f.Key, f.Number))
			continue
		}
		if f.Key == pipeline.RecordDecision {
			decision = f.Text
		}
		attrs = append(attrs, slog.String(f.Key, f.Text))
	}
	attrs = append(attrs, slog.Duration(pipeline.RecordLatency, latency))
	logger.LogAttrs(ctx, Level(decision), Message, attrs...)
}
