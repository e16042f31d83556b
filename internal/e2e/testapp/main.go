// Command testapp is the tiny static program inside the images the end-to-end tests
// build. Its behaviour is baked into each image through MODE:
//
//	ok         listen on :8080; "testapp health" succeeds (the default)
//	exit       print an error and exit 3 at once (with restart: always it loops)
//	unhealthy  run, but never listen, so "testapp health" always fails
//
// It stops at once on SIGTERM, so compose restarts stay fast.
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "health" {
		c, err := net.DialTimeout("tcp", "127.0.0.1:8080", time.Second)
		if err != nil {
			fmt.Println("unhealthy:", err)
			os.Exit(1)
		}
		c.Close()
		return
	}
	mode := os.Getenv("MODE")
	fmt.Printf("testapp %s (%s) starting, args %v\n", os.Getenv("VERSION"), mode, os.Args[1:])
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	switch mode {
	case "exit":
		fmt.Println("fatal: this build is configured to fail at start")
		os.Exit(3)
	case "unhealthy":
		fmt.Println("running without listening: the healthcheck will fail")
	default:
		l, err := net.Listen("tcp", ":8080")
		if err != nil {
			fmt.Println("fatal:", err)
			os.Exit(1)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				fmt.Fprintf(c, "testapp %s\n", os.Getenv("VERSION"))
				c.Close()
			}
		}()
	}
	<-sig
	fmt.Println("stopping")
}
