//go:build race

package crossvm

const raceEnabled = true
