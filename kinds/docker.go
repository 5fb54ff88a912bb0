package kinds

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/docker/docker/client"
)

// dockerConn is the one Docker client of a run, made on first use so that a
// run without Docker steps never needs an engine.
type dockerConn struct {
	once sync.Once
	cli  *client.Client
	err  error
}

// dockerHost names the engine for messages.
func dockerHost() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return client.DefaultDockerHost
}

// Docker returns the run's Docker client, checking that the engine answers.
func (rt *Runtime) Docker(ctx context.Context) (*client.Client, error) {
	rt.docker.once.Do(func() {
		cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			rt.docker.err = fmt.Errorf("connecting to the Docker engine at %s: %w (set DOCKER_HOST to point at it)", dockerHost(), err)
			return
		}
		if _, err := cli.Ping(ctx); err != nil {
			cli.Close()
			rt.docker.err = fmt.Errorf("cannot reach the Docker engine at %s: is it running? (set DOCKER_HOST to point at another one): %v", dockerHost(), err)
			return
		}
		cli.NegotiateAPIVersion(ctx)
		rt.docker.cli = cli
	})
	return rt.docker.cli, rt.docker.err
}

// saveImage writes the images named (IDs or tags) as one docker-save
// archive at dst, and returns its size. It is the one docker save of
// bottle: image.save's tarball and image.build's kept archive.
func saveImage(ctx context.Context, cli *client.Client, names []string, dst string) (int64, error) {
	rc, err := cli.ImageSave(ctx, names)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, err
	}
	f, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}
