package envoyrun

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill Envoy when the process that started
// it dies, so an Envoy never outlives a test binary killed by go test
// -timeout, or a demo or benchmark stopped with SIGKILL: Stop never runs
// then, and a stray Envoy would keep its ports and its CPU. (The signal
// follows the thread that forked, which the Go runtime keeps alive for
// the life of the process unless a goroutine locked to it exits.)
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
