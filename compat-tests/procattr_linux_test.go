package compattests

import (
	"os/exec"
	"syscall"
)

// dieWithTests makes the kernel kill the broker if the test binary dies
// first (a -timeout panic skips t.Cleanup), so no broker outlives a run.
func dieWithTests(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
