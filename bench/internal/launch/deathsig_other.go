//go:build !linux

package launch

import "syscall"

// withParentDeathSignal leaves a unchanged: only Linux has the signal.
func withParentDeathSignal(a *syscall.SysProcAttr) *syscall.SysProcAttr { return a }
