package buildkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/bottle-build/bottle/kinds"
)

// Main is bottle-buildkit: it reads a kinds.BuildKitRequest from stdin,
// does what it asks (the op is also its one argument), writes the build's
// progress to stderr and a kinds.BuildKitResponse to stdout, and returns
// the exit status: 0 when the answer says what happened, failed build
// included; 2 for a request it cannot read. bottle stops it with SIGTERM
// (a step's command is stopped so), which stops the build.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(stderr, "usage: bottle-buildkit build|platform < request.json\n\n"+
			"bottle-buildkit is BuildKit's client for bottle's image.build steps; bottle runs it.\n")
		return 2
	}
	var req kinds.BuildKitRequest
	if err := json.NewDecoder(stdin).Decode(&req); err != nil {
		fmt.Fprintf(stderr, "bottle-buildkit: no %s request on standard input (%v): bottle runs this program\n", args[0], err)
		return 2
	}
	if req.Op != args[0] {
		fmt.Fprintf(stderr, "bottle-buildkit: the request on standard input is for %q, not %s: bottle runs this program\n", req.Op, args[0])
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	resp := serve(ctx, &req, stderr)
	if err := json.NewEncoder(stdout).Encode(resp); err != nil {
		fmt.Fprintf(stderr, "bottle-buildkit: %v\n", err)
		return 1
	}
	return 0
}

// serve does what req asks.
func serve(ctx context.Context, req *kinds.BuildKitRequest, log io.Writer) *kinds.BuildKitResponse {
	answer := func(err error) *kinds.BuildKitResponse {
		var be *kinds.BuildError
		if errors.As(err, &be) {
			return &kinds.BuildKitResponse{Build: be}
		}
		return &kinds.BuildKitResponse{Error: err.Error()}
	}
	switch req.Op {
	case "platform":
		p, err := platform(ctx, req.Buildkit)
		if err != nil {
			return answer(err)
		}
		return &kinds.BuildKitResponse{Platform: p}
	case "build":
		if req.Spec == nil {
			return answer(errors.New("a build request with no spec"))
		}
		in, err := newBuildInput(req.Context, req.Keep, req.Dockerfile)
		if err != nil {
			return answer(err)
		}
		atts, err := buildAttachables(req.Spec, req.Secrets)
		if err != nil {
			return answer(err)
		}
		var id string
		if req.Buildkit != "" {
			id, err = buildStandalone(ctx, req.Buildkit, log, req.Spec, in, atts, req.Archive)
		} else {
			var rt kinds.Runtime
			cli, derr := rt.Docker(ctx)
			if derr != nil {
				return answer(derr)
			}
			id, err = buildOnEngine(ctx, cli, log, req.Spec, in, atts)
		}
		if err != nil {
			return answer(err)
		}
		return &kinds.BuildKitResponse{ImageID: id}
	}
	return answer(fmt.Errorf("unknown request %q", req.Op))
}
