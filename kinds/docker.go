package kinds

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

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

// enginePlatform is the Docker engine's platform, asked once per Runtime.
type enginePlatform struct {
	once     sync.Once
	platform string
	err      error
}

// platformTimeout bounds the look-up planning makes: an engine that does not
// answer must not hold the plan.
const platformTimeout = 10 * time.Second

// EnginePlatform returns the OS and architecture of the Docker engine, as
// "linux/amd64" (what a build without --platform builds for), asking the
// engine once per Runtime (GET /info). It only reads.
func (rt *Runtime) EnginePlatform(ctx context.Context) (string, error) {
	rt.platform.once.Do(func() {
		ctx, cancel := context.WithTimeout(ctx, platformTimeout)
		defer cancel()
		cli, err := rt.Docker(ctx)
		if err != nil {
			rt.platform.err = err
			return
		}
		info, err := cli.Info(ctx)
		if err != nil {
			rt.platform.err = fmt.Errorf("asking the Docker engine at %s its platform: %w", dockerHost(), err)
			return
		}
		if info.OSType == "" || info.Architecture == "" {
			rt.platform.err = fmt.Errorf("the Docker engine at %s did not say its OS and architecture", dockerHost())
			return
		}
		rt.platform.platform = NormalizePlatform(info.OSType, info.Architecture)
	})
	return rt.platform.platform, rt.platform.err
}

// NormalizePlatform spells an engine's OS and architecture the way image
// platforms are spelled ("linux/amd64", "linux/arm64", "linux/arm/v7"):
// engines report the kernel's machine name (x86_64, aarch64), so one
// platform would otherwise have two spellings, and two keys.
func NormalizePlatform(osType, arch string) string {
	osType = strings.ToLower(strings.TrimSpace(osType))
	arch = strings.ToLower(strings.TrimSpace(arch))
	switch arch {
	case "x86_64", "x86-64", "x64", "amd64":
		arch = "amd64"
	case "aarch64", "arm64", "arm64/v8", "armv8", "armv8l":
		arch = "arm64"
	case "armv7l", "armv7", "armhf", "arm", "arm/v7":
		arch = "arm/v7"
	case "armv6l", "armv6", "armel", "arm/v6":
		arch = "arm/v6"
	case "i386", "i486", "i586", "i686", "x86", "386":
		arch = "386"
	case "ppc64el":
		arch = "ppc64le"
	}
	return osType + "/" + arch
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
