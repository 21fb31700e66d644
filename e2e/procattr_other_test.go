//go:build !linux

package e2e

import "os/exec"

// dieWithParent is a no-op where the kernel offers no parent-death signal;
// t.Cleanup still stops Envoy on every normal exit.
func dieWithParent(*exec.Cmd) {}
