// Command bottle-buildkit is BuildKit's client for bottle's image.build
// steps: bottle runs it, beside bottle or on PATH, for each BuildKit build
// (see kinds/buildkit.go). It is a program of its own so that bottle need
// not link BuildKit, gRPC and their protobuf types, whose start-up work
// every bottle command paid.
package main

import (
	"os"

	"github.com/bottle-build/bottle/kinds/buildkit"
)

func main() {
	os.Exit(buildkit.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
