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
//
// Envoy also gets a process group of its own: a Ctrl-C at the terminal
// signals the foreground group, and Envoy must not quit on it before the
// program that started it (the demo) has noticed and stops it itself.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
