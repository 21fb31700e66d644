//go:build cgo && authgate_hop

package main

import "github.com/authgate/authgate/filter/module/internal/gate"

// A library built with -tags authgate_hop resumes every stream from another
// goroutine through its worker's scheduler, so the end-to-end test runs
// that path in real Envoy. Release builds never carry this file.
func init() { gate.HopCalloutAnswers = true }
