package launch

import "syscall"

// withParentDeathSignal has the kernel send SIGTERM to the child when the
// thread that started it ends, as it does when this program is killed.
func withParentDeathSignal(a *syscall.SysProcAttr) *syscall.SysProcAttr {
	if a == nil {
		a = &syscall.SysProcAttr{}
	}
	a.Pdeathsig = syscall.SIGTERM
	return a
}
