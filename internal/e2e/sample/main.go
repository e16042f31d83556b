// Command sample writes the sample Encoo deployment that the demo runs:
//
//	go run ./internal/e2e/sample DIR PREFIX PROJECT [old]
//
// and, with "images PREFIX", lists the images it uses.
package main

import (
	"fmt"
	"os"

	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "images" {
		for _, i := range deploytest.Images(os.Args[2]) {
			fmt.Println(i)
		}
		return
	}
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: sample DIR PREFIX PROJECT [old] | sample images PREFIX")
		os.Exit(2)
	}
	o := deploytest.Options{Prefix: os.Args[2], Project: os.Args[3], Old: len(os.Args) > 4 && os.Args[4] == "old"}
	if err := deploytest.Write(os.Args[1], o); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
