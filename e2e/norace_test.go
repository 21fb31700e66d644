//go:build !race

package e2e

// raceEnabled is set when the suite runs with -race.
const raceEnabled = false
