// lab-pause is the lab's pod sandbox ("pause") program and its smallest test image: a static binary that
// waits for SIGINT or SIGTERM, reaping children meanwhile (it is PID 1 of its pod). With the argument `addrs`
// it first prints the addresses of the network interfaces it sees, one per line, so a test can tell which
// node's network a hostNetwork pod runs in.
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "addrs" {
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			fmt.Fprintln(os.Stderr, "lab-pause:", err)
			os.Exit(1)
		}
		for _, addr := range addrs {
			fmt.Println(addr.String())
		}
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	children := make(chan os.Signal, 1)
	signal.Notify(children, syscall.SIGCHLD)
	for {
		select {
		case <-stop:
			return
		case <-children:
			for {
				pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}
}
