//go:build !linux

package envoyrun

import "os/exec"

// dieWithParent does nothing where the kernel offers no parent-death
// signal; Stop still ends Envoy on every orderly exit.
func dieWithParent(*exec.Cmd) {}
