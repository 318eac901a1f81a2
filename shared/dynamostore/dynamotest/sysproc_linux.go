package dynamotest

import "syscall"

// sysProcAttr has the kernel kill the server when the test process dies,
// even by a signal or a test timeout, when no cleanup code runs.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
