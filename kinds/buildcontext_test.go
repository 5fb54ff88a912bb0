package kinds

import (
	"archive/tar"
	"io"
	"slices"
	"testing"

	"github.com/moby/go-archive"
	"github.com/moby/patternmatcher"

	"github.com/bottle-build/bottle/internal/testenv"
)

// dockerTar lists what docker build itself would send: moby's tar of the
// folder with the .dockerignore patterns (and the exceptions docker adds
// for .dockerignore and the Dockerfile) as exclusions.
func dockerTar(t *testing.T, dir string, patterns []string) []string {
	t.Helper()
	for _, keep := range []string{".dockerignore", "Dockerfile"} {
		if excluded, _ := patternmatcher.Matches(keep, patterns); excluded {
			patterns = append(patterns, "!"+keep)
		}
	}
	rc, err := archive.TarWithOptions(dir, &archive.TarOptions{ExcludePatterns: patterns})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	return tarFiles(t, rc)
}

// tarFiles lists the names in a tar that are not folders, sorted.
func tarFiles(t *testing.T, r io.Reader) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeDir {
			names = append(names, h.Name)
		}
	}
	slices.Sort(names)
	return names
}

// TestBuildContextMatchesDocker: the files bottle keys an image.build on
// are exactly those docker build sends, for patterns that re-include files
// under excluded folders (where a per-file match and docker's walk differ).
func TestBuildContextMatchesDocker(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		want     []string // files besides .dockerignore and Dockerfile; nil: only compare with docker
	}{
		{"none", nil, nil},
		{"folder", []string{"dir"}, []string{"a.go", "a.txt", "deep/er/est/f.go", "other/y.txt", "other/z.go"}},
		{"re-include a file under an excluded folder", []string{"dir", "!dir/keep.go"},
			[]string{"a.go", "a.txt", "deep/er/est/f.go", "dir/keep.go", "other/y.txt", "other/z.go"}},
		{"re-include deeper", []string{"dir", "!dir/sub/keep.go"},
			[]string{"a.go", "a.txt", "deep/er/est/f.go", "dir/sub/keep.go", "other/y.txt", "other/z.go"}},
		// docker does not enter dir: no exception starts inside it, so the
		// **/*.go exception never sees dir's files.
		{"exception that does not name the folder", []string{"dir", "!**/*.go"},
			[]string{"a.go", "a.txt", "deep/er/est/f.go", "other/y.txt", "other/z.go"}},
		{"children excluded, one folder back", []string{"dir/*", "!dir/sub"},
			[]string{"a.go", "a.txt", "deep/er/est/f.go", "dir/sub/keep.go", "dir/sub/x.txt", "other/y.txt", "other/z.go"}},
		{"everything but", []string{"**", "!Dockerfile", "!deep/er/**"}, []string{"deep/er/est/f.go"}},
		{"by extension", []string{"**/*.txt", "!other/*.txt"}, nil},
		{"the build files themselves", []string{"Dockerfile", ".dockerignore", "*.go"}, nil},
		{"star then exception", []string{"*", "!dir"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testenv.WriteContext(t, tt.patterns, testenv.ContextTree...)
			got, err := imageBuildKind{}.ImpliedInputs(dir, &ImageBuildSpec{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			docker := dockerTar(t, dir, tt.patterns)
			if !slices.Equal(got, docker) {
				t.Errorf("bottle keys on  %q\ndocker sends    %q", got, docker)
			}
			if tt.want != nil {
				want := append([]string{"Dockerfile"}, tt.want...)
				if tt.patterns != nil {
					want = append(want, ".dockerignore")
				}
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("got  %q\nwant %q", got, want)
				}
			}
			// The tar bottle sends holds the same files.
			bc, err := openBuildContext(dir, "Dockerfile", false)
			if err != nil {
				t.Fatal(err)
			}
			entries, err := bc.entries()
			if err != nil {
				t.Fatal(err)
			}
			pr, pw := io.Pipe()
			go func() { pw.CloseWithError(bc.writeTar(pw, entries)) }()
			if sent := tarFiles(t, pr); !slices.Equal(sent, got) {
				t.Errorf("tar holds %q, key has %q", sent, got)
			}
			// A file that does not exist yet is decided the same way.
			for _, f := range testenv.ContextTree {
				if want := slices.Contains(got, f); bc.keeps(f) != want {
					t.Errorf("keeps(%s) = %v, the walk says %v", f, !want, want)
				}
			}
		})
	}
}
