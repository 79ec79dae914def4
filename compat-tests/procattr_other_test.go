//go:build !linux

package compattests

import "os/exec"

// dieWithTests has no portable equivalent of Linux's parent-death signal;
// t.Cleanup still stops brokers on every normal exit.
func dieWithTests(cmd *exec.Cmd) {}
