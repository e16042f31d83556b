// Command pause is the sandbox ("pause") image of the kuberig test cluster: each pod's
// first container, which holds the pod's namespaces. It does nothing until SIGTERM or
// SIGINT and reaps the children it inherits (it may be a PID namespace's init).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sig {
		if s != syscall.SIGCHLD {
			return
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
