// Package native runs the authgate pipeline directly in a Go program, as
// net/http middleware, performing authorizer calls with net/http. It gives
// the same answers as the filter in Envoy and in the wasm host.
package native

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/authgate/authgate/core/config"
)

// Options configure a Middleware. Clusters maps each authorizer's cluster
// name to the base URL its events are POSTed to (the authorizer's path is
// appended). Clock defaults to time.Now, Client to a client without
// redirects, Logger to slog.Default().
type Options struct {
	Clusters map[string]string
	Client   *http.Client
	Logger   *slog.Logger
	Clock    func() time.Time
}

// Middleware authorizes requests before they reach the next handler.
type Middleware struct {
	// TODO
}

// New builds the middleware for a validated plan. It fails when an
// authorizer names a cluster missing from Options.Clusters.
func New(plan *config.Plan, opts Options) (*Middleware, error) { panic("TODO") }

// Handler wraps next: allowed requests reach it with the authorizer headers
// set and client-sent x-authorizer-* headers removed; others are answered here.
func (m *Middleware) Handler(next http.Handler) http.Handler { panic("TODO") }
