package lambdarun

import (
	"os/exec"
	"syscall"
)

// ownGroup puts the emulator in a process group of its own, so Close ends
// it together with the bootstrap it started, and has the kernel kill it
// when the process that started it dies (a test binary killed by go test
// -timeout never runs Close).
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup ends the emulator and every process of its group.
func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
