// Command pushtool pushes a docker-save tarball to a registry with the same
// go-containerregistry calls as crane push, for bench/launch.sh's by-hand
// chain: pushtool TARBALL REF.
package main

import (
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: pushtool TARBALL REF")
		os.Exit(2)
	}
	img, err := tarball.ImageFromPath(os.Args[1], nil)
	if err == nil {
		var ref name.Reference
		ref, err = name.ParseReference(os.Args[2])
		if err == nil {
			err = remote.Write(ref, img, remote.WithAuthFromKeychain(authn.DefaultKeychain))
		}
		if err == nil {
			d, _ := img.Digest()
			fmt.Println(ref.Context().Name() + "@" + d.String())
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pushtool:", err)
		os.Exit(1)
	}
}
