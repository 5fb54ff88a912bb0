package kinds

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/bottle-build/bottle/config"
)

// pushWorkspace is a workspace holding one random image twice: as a
// docker-save tarball (image.tar) and as an OCI layout (layout/).
type pushWorkspace struct {
	dir string
	img v1.Image
}

func newPushWorkspace(t *testing.T) *pushWorkspace {
	t.Helper()
	// Keep the host's Docker credentials out of the tests.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	img, err := random.Image(1024, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tag, err := name.NewTag("example.com/random:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(filepath.Join(dir, "image.tar"), tag, img); err != nil {
		t.Fatal(err)
	}
	lp, err := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return &pushWorkspace{dir: dir, img: img}
}

// push runs the image.push runner and returns its outcome, its log and the
// bytes it reported uploading (-1 when it reported none).
func (w *pushWorkspace) push(t *testing.T, spec ImagePushSpec) (*Outcome, string, int64, error) {
	t.Helper()
	var buf bytes.Buffer
	r := Get("image.push")
	out, err := r.Run(context.Background(), &Job{
		Step:      "push",
		Workspace: w.dir,
		Spec:      &spec,
		Log:       &buf,
	})
	n := int64(-1)
	if m := regexp.MustCompile(`uploaded (\d+) bytes`).FindStringSubmatch(buf.String()); m != nil {
		n, _ = strconv.ParseInt(m[1], 10, 64)
	}
	return out, buf.String(), n, err
}

func newRegistry(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return srv, strings.TrimPrefix(srv.URL, "http://")
}

func TestImagePushRegistry(t *testing.T) {
	w := newPushWorkspace(t)
	_, host := newRegistry(t)
	for _, from := range []string{"image.tar", "layout"} {
		t.Run(from, func(t *testing.T) {
			to := host + "/bottle/" + strings.TrimSuffix(from, ".tar") + ":v1"
			ref, err := name.ParseReference(to)
			if err != nil {
				t.Fatal(err)
			}
			out, logText, n, err := w.push(t, ImagePushSpec{From: from, To: to})
			if err != nil {
				t.Fatalf("first push: %v\n%s", err, logText)
			}
			if n <= 0 {
				t.Errorf("first push uploaded %d bytes, want > 0\n%s", n, logText)
			}
			desc, err := remote.Head(ref)
			if err != nil {
				t.Fatalf("manifest not in the registry: %v", err)
			}
			if got := out.Values["digest"]; got != desc.Digest.String() {
				t.Errorf("digest = %s, registry has %s", got, desc.Digest)
			}
			if want := ref.Context().Name() + "@" + desc.Digest.String(); out.Values["ref"] != want {
				t.Errorf("ref = %s, want %s", out.Values["ref"], want)
			}
			if !strings.Contains(logText, desc.Digest.String()) {
				t.Errorf("log does not name the digest:\n%s", logText)
			}

			out2, logText, n, err := w.push(t, ImagePushSpec{From: from, To: to})
			if err != nil {
				t.Fatalf("second push: %v", err)
			}
			if n != 0 {
				t.Errorf("second push uploaded %d bytes, want 0\n%s", n, logText)
			}
			if !reflect.DeepEqual(out.Values, out2.Values) {
				t.Errorf("second push gave %v, first %v", out2.Values, out.Values)
			}
		})
	}
}

func TestImagePushOCILayoutTarget(t *testing.T) {
	w := newPushWorkspace(t)
	want, err := tarball.ImageFromPath(filepath.Join(w.dir, "image.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantDigest, err := want.Digest()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		out, logText, _, err := w.push(t, ImagePushSpec{From: "image.tar", To: "oci:out/layout"})
		if err != nil {
			t.Fatalf("push %d: %v\n%s", i, err, logText)
		}
		if got := out.Values["digest"]; got != wantDigest.String() {
			t.Errorf("push %d: digest = %s, want %s", i, got, wantDigest)
		}
		if got, want := out.Values["ref"], "oci:out/layout@"+wantDigest.String(); got != want {
			t.Errorf("push %d: ref = %s, want %s", i, got, want)
		}
	}
	lp, err := layout.FromPath(filepath.Join(w.dir, "out", "layout"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("layout holds %d manifests after two pushes, want 1", len(im.Manifests))
	}
	if im.Manifests[0].Digest != wantDigest {
		t.Errorf("layout holds %s, want %s", im.Manifests[0].Digest, wantDigest)
	}
	img, err := idx.Image(wantDigest)
	if err != nil {
		t.Fatal(err)
	}
	if ls, err := img.Layers(); err != nil || len(ls) != 3 {
		t.Errorf("layout image has %d layers (%v), want 3", len(ls), err)
	}
	// The layout is itself a valid source.
	if _, _, _, err := w.push(t, ImagePushSpec{From: "out/layout", To: "oci:out/again"}); err != nil {
		t.Errorf("pushing from the written layout: %v", err)
	}
}

func TestImagePushErrors(t *testing.T) {
	w := newPushWorkspace(t)
	srv, host := newRegistry(t)
	srv.Close()

	// A layout with two images is ambiguous.
	other, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(w.dir, "two"), 0o755); err != nil {
		t.Fatal(err)
	}
	two, err := layout.Write(filepath.Join(w.dir, "two"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range []v1.Image{w.img, other} {
		if err := two.AppendImage(im); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name string
		spec ImagePushSpec
		want []string
		is   error
	}{
		{"registry down", ImagePushSpec{From: "image.tar", To: host + "/bottle/x:v1"},
			[]string{"pushing to " + host + "/bottle/x:v1", "cannot reach registry " + host + ": connection refused"},
			syscall.ECONNREFUSED},
		{"missing source", ImagePushSpec{From: "nope.tar", To: "oci:out"},
			[]string{"reading image", "nope.tar"}, os.ErrNotExist},
		{"two images", ImagePushSpec{From: "two", To: "oci:out"},
			[]string{"holds 2 manifests"}, nil},
		{"bad ref after expansion", ImagePushSpec{From: "image.tar", To: "Bad Ref!"},
			[]string{"to:"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, logText, _, err := w.push(t, tt.spec)
			if err == nil {
				t.Fatalf("no error\n%s", logText)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
		})
	}
}

func TestImagePushCheck(t *testing.T) {
	tests := []struct {
		name   string
		spec   ImagePushSpec
		fields []string // fields with an error, in order
	}{
		{"registry", ImagePushSpec{From: "img.tar", To: "localhost:5000/app:v1"}, nil},
		{"insecure", ImagePushSpec{From: "img.tar", To: "reg.lan/app:v1", Insecure: true}, nil},
		{"oci", ImagePushSpec{From: "layout", To: "oci:out/layout"}, nil},
		{"references", ImagePushSpec{From: "${step.save.output}", To: "${var.registry}/app:v1"}, nil},
		{"missing both", ImagePushSpec{}, []string{"from", "to"}},
		{"missing from", ImagePushSpec{To: "localhost:5000/app:v1"}, []string{"from"}},
		{"missing to", ImagePushSpec{From: "img.tar"}, []string{"to"}},
		{"bad ref", ImagePushSpec{From: "img.tar", To: "localhost:5000/App:v1"}, []string{"to"}},
		{"bad tag", ImagePushSpec{From: "img.tar", To: "localhost:5000/app:bad tag"}, []string{"to"}},
		{"oci absolute", ImagePushSpec{From: "img.tar", To: "oci:/tmp/x"}, []string{"to"}},
		{"oci leaves", ImagePushSpec{From: "img.tar", To: "oci:../x"}, []string{"to"}},
		{"oci empty", ImagePushSpec{From: "img.tar", To: "oci:"}, []string{"to"}},
		{"from absolute", ImagePushSpec{From: "/img.tar", To: "oci:x"}, []string{"from"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Check()
			var got []string
			if err != nil {
				errs := []error{err}
				if j, ok := err.(interface{ Unwrap() []error }); ok {
					errs = j.Unwrap()
				}
				for _, e := range errs {
					var fe *config.FieldError
					if !errors.As(e, &fe) {
						t.Fatalf("%v is not a *config.FieldError", e)
					}
					got = append(got, fe.Field)
				}
			}
			if !reflect.DeepEqual(got, tt.fields) {
				t.Errorf("fields with errors = %v, want %v (%v)", got, tt.fields, err)
			}
		})
	}
}

func TestImagePushKind(t *testing.T) {
	k, ok := Descriptions()["image.push"]
	if !ok {
		t.Fatal("image.push is not registered")
	}
	if _, ok := Get("image.push").(Prober); !ok {
		t.Error("image.push has no probe")
	}
	if k.Version() != 1 {
		t.Errorf("Version = %d", k.Version())
	}
	if got := k.Results(); !reflect.DeepEqual(got, []string{"digest", "ref"}) {
		t.Errorf("Results = %v", got)
	}
	if got := k.Effect(); got != "registry manifest" {
		t.Errorf("Effect = %q", got)
	}
	if _, ok := k.NewSpec().(*ImagePushSpec); !ok {
		t.Errorf("NewSpec = %T", k.NewSpec())
	}
	tests := []struct {
		to   string
		want []string
	}{
		{"localhost:5000/app:v1", nil},
		{"oci:out/layout", []string{"out/layout"}},
		{"oci:./out//layout/", []string{"out/layout"}},
	}
	for _, tt := range tests {
		if got := k.Outputs("push", &ImagePushSpec{From: "img.tar", To: tt.to}); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Outputs(to=%q) = %v, want %v", tt.to, got, tt.want)
		}
	}
}

// TestPushProbe: --refresh finds a manifest deleted from the registry.
func TestPushProbe(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host + "/probe/app:v1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	pinned := host + "/probe/app@" + d.String()
	p := Get("image.push").(Prober)
	tests := []struct {
		name   string
		values map[string]string
		want   bool
	}{
		{"present", map[string]string{"ref": pinned}, true},
		{"never pushed", map[string]string{"ref": host + "/probe/other@" + d.String()}, false},
		{"oci layout", map[string]string{"ref": "oci:out/layout@" + d.String()}, true},
	}
	for _, tt := range tests {
		got, err := p.Exists(context.Background(), &Runtime{}, "key", tt.values)
		if err != nil || got != tt.want {
			t.Errorf("%s: Exists = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	// Deleted behind bottle's back.
	pr, _ := name.ParseReference(pinned)
	if err := remote.Delete(pr); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Exists(context.Background(), &Runtime{}, "key", map[string]string{"ref": pinned}); err != nil || got {
		t.Errorf("after delete: Exists = %v, %v; want false", got, err)
	}
}

// TestImagePushCredentials: a registry that wants a login refuses the push
// without credentials, and takes it with the ones in the Docker config
// ($DOCKER_CONFIG/config.json), as docker login writes them.
func TestImagePushCredentials(t *testing.T) {
	w := newPushWorkspace(t)
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "bottle" || p != "s3cret" {
			rw.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(rw, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(rw, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	to := host + "/private/app:v1"

	if _, _, _, err := w.push(t, ImagePushSpec{From: "image.tar", To: to}); err == nil || !strings.Contains(err.Error(), "401") && !strings.Contains(strings.ToLower(err.Error()), "unauthorized") {
		t.Fatalf("push without credentials: err = %v, want an authorization failure", err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("bottle:s3cret"))
	cfg := `{"auths": {"` + host + `": {"auth": "` + auth + `"}}}`
	if err := os.WriteFile(filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, n, err := w.push(t, ImagePushSpec{From: "image.tar", To: to})
	if err != nil {
		t.Fatalf("push with credentials: %v", err)
	}
	if n <= 0 || !strings.HasPrefix(out.Values["digest"], "sha256:") {
		t.Errorf("uploaded %d bytes, digest %q", n, out.Values["digest"])
	}
}
