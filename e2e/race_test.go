//go:build race

package e2e

// raceEnabled is set when the suite runs with -race, which slows the Go
// hosts enough that the biggest bursts are scaled down.
const raceEnabled = true
