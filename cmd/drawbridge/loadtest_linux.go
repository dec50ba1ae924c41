package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the load test's child processes end when the
// orchestrating process does, however it ends (a test's timeout kills it).
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
