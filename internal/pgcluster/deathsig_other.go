//go:build !linux

package pgcluster

import "syscall"

// setDeathSignal is a no-op where the kernel has no parent-death signal:
// there, Stop must be called (it is, on every normal exit path).
func setDeathSignal(*syscall.SysProcAttr) {}
