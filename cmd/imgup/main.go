// Command imgup updates the service images of an offline docker-compose deployment
// from image archives: the vendor runbook's five steps in one command.
package main

import (
	"os"

	"github.com/encoo-tools/imgup/internal/cli"
)

func main() { os.Exit(cli.Main()) }
