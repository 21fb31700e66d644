//go:build !linux

package lambdarun

import "os/exec"

// ownGroup does nothing where process groups are not set up this way.
func ownGroup(*exec.Cmd) {}

// killGroup ends the emulator; its bootstrap exits when the emulator's
// runtime API goes away.
func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
