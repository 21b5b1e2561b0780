package pgcluster

import "syscall"

// setDeathSignal asks the kernel to send the child SIGINT (postgres: fast
// shutdown) when its parent thread dies, so a killed test binary or dev
// server never leaves an orphan server behind. See Cluster.launch for why
// the forking thread must outlive the child.
func setDeathSignal(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGINT
}
