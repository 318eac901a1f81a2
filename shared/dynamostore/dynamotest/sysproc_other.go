//go:build !linux

package dynamotest

import "syscall"

// sysProcAttr is the default elsewhere: Main stops the server.
func sysProcAttr() *syscall.SysProcAttr { return nil }
