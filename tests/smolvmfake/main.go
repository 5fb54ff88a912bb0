// Command smolvmfake is a fake of the smolvm CLI (v1.9.2) for bottle's
// end-to-end tests; they install it on PATH as "smolvm". It mimics, from
// ../../shared/INTERFACES.md:
//
//   - the flag surface (--flag v and --flag=v; usage errors exit 2, runtime
//     errors print "Error: <message>" and exit 1; "vm" is an alias of
//     "machine");
//   - pack create: refuses a local image, pulls the image manifest from the
//     registry (so a test proves the push happened), writes the stub (0755)
//     and the OUTPUT.smolmachine sidecar ending in a 64-byte SMOLPACK footer
//     that points at a JSON manifest, deterministically;
//   - machine create / ls --json / delete / start, with state in a file
//     under $SMOLVM_DATA_DIR (name rules, duplicate refusal, labels, and
//     delete's question: without -f an empty answer prints Cancelled and
//     deletes nothing).
//
// For tests: every invocation appends its argv as a JSON line to
// $SMOLVM_FAKE_LOG, and SMOLVM_FAKE_FAIL="pack create" (or "machine
// create", ...) makes that subcommand fail. It runs no VM.
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	if p := os.Getenv("SMOLVM_FAKE_LOG"); p != "" {
		if f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			b, _ := json.Marshal(os.Args[1:])
			f.Write(append(b, '\n'))
			f.Close()
		}
	}
	err := run(os.Args[1:])
	var ue usageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "error: %s\n\nUsage: smolvm <pack|machine> <command> [OPTIONS]\n", ue.msg)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}

// flags parses --name value, --name=value and boolean flags.
func flags(args []string, valued, boolean []string) (map[string][]string, error) {
	out := map[string][]string{}
	isV := map[string]bool{}
	for _, v := range valued {
		isV[v] = true
	}
	isB := map[string]bool{}
	for _, b := range boolean {
		isB[b] = true
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return nil, usageError{fmt.Sprintf("unexpected argument '%s' found", a)}
		}
		k, v, hasV := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case isB[k]:
			out[k] = append(out[k], "true")
		case isV[k] && hasV:
			out[k] = append(out[k], v)
		case isV[k] && i+1 < len(args):
			i++
			out[k] = append(out[k], args[i])
		case isV[k]:
			return nil, usageError{fmt.Sprintf("a value is required for '--%s <%s>' but none was supplied", k, strings.ToUpper(k))}
		default:
			return nil, usageError{fmt.Sprintf("unexpected argument '%s' found", a)}
		}
	}
	return out, nil
}

func one(f map[string][]string, k string) string {
	if v := f[k]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

func run(args []string) error {
	if len(args) < 2 {
		return usageError{"a subcommand is required"}
	}
	cmd := args[0] + " " + args[1]
	if args[0] == "vm" {
		cmd = "machine " + args[1]
	}
	if os.Getenv("SMOLVM_FAKE_FAIL") == cmd {
		return errors.New("forced failure")
	}
	rest := args[2:]
	switch cmd {
	case "pack create":
		return packCreate(rest)
	case "machine create":
		return machineCreate(rest)
	case "machine ls", "machine list":
		return machineLs(rest)
	case "machine delete":
		return machineDelete(rest)
	case "machine start":
		return machineStart(rest)
	}
	return usageError{fmt.Sprintf("unrecognized subcommand '%s'", cmd)}
}

var footerMagic = []byte("SMOLPACK")

type packManifest struct {
	Image   string `json:"image"`
	Digest  string `json:"digest"`
	Cpus    int    `json:"cpus"`
	Mem     int    `json:"mem"`
	Network bool   `json:"network"`
}

func packCreate(args []string) error {
	f, err := flags(args, []string{"image", "output", "cpus", "mem", "entrypoint", "oci-platform"}, []string{"single-file"})
	if err != nil {
		return err
	}
	image, output := one(f, "image"), one(f, "output")
	if image == "" || output == "" {
		return usageError{"the following required arguments were not provided: --image <IMAGE> --output <OUTPUT>"}
	}
	if strings.HasSuffix(output, ".smolmachine") {
		return fmt.Errorf("--output must not end in .smolmachine: the sidecar is written next to it")
	}
	if _, err := os.Stat(image); err == nil || strings.HasPrefix(image, "/") || strings.HasPrefix(image, "./") || strings.HasSuffix(image, ".tar") {
		return fmt.Errorf("image %q is a local path: pack pulls images from a registry inside its helper VM", image)
	}
	if fi, err := os.Stat(filepath.Dir(output)); err != nil || !fi.IsDir() {
		return fmt.Errorf("output folder %s does not exist", filepath.Dir(output))
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		return fmt.Errorf("invalid image reference %q: %v", image, err)
	}
	fmt.Fprintf(os.Stderr, "Pulling %s...\n", image)
	desc, err := remote.Get(ref, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return fmt.Errorf("pull failed: %v", err)
	}
	fmt.Fprintf(os.Stderr, "Pulled %s (%s)\n", image, desc.Digest)
	cpus, _ := strconv.Atoi(one(f, "cpus"))
	mem, _ := strconv.Atoi(one(f, "mem"))
	m, _ := json.Marshal(packManifest{Image: image, Digest: desc.Digest.String(), Cpus: cpus, Mem: mem})
	payload := append([]byte("fake smolmachine rootfs of "+desc.Digest.String()+"\n"), desc.Manifest...)
	var side bytes.Buffer
	side.Write(payload)
	side.Write(m)
	footer := make([]byte, 64)
	copy(footer, footerMagic)
	binary.LittleEndian.PutUint64(footer[8:], uint64(len(payload)))
	binary.LittleEndian.PutUint64(footer[16:], uint64(len(m)))
	side.Write(footer)
	stub := []byte("#!/bin/sh\n# smolvm machine stub for " + image + " (" + desc.Digest.String() + ")\n")
	if one(f, "single-file") != "" {
		stub = append(stub, side.Bytes()...)
		if err := os.WriteFile(output, stub, 0o755); err != nil {
			return err
		}
		fmt.Printf("Packed: %s\n", output)
		return nil
	}
	if err := os.WriteFile(output, stub, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(output+".smolmachine", side.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("Packed: %s\nAssets: %s.smolmachine (%d bytes)\n", output, output, side.Len())
	return nil
}

// readSidecar returns the manifest a sidecar's footer points at.
func readSidecar(path string) (*packManifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", path, err)
	}
	if len(b) < 64 || !bytes.HasPrefix(b[len(b)-64:], footerMagic) {
		return nil, fmt.Errorf("%s is not a .smolmachine file (no SMOLPACK footer)", path)
	}
	footer := b[len(b)-64:]
	off, n := binary.LittleEndian.Uint64(footer[8:]), binary.LittleEndian.Uint64(footer[16:])
	if off+n > uint64(len(b)-64) {
		return nil, fmt.Errorf("%s has a damaged footer", path)
	}
	var m packManifest
	if err := json.Unmarshal(b[off:off+n], &m); err != nil {
		return nil, fmt.Errorf("%s has a damaged manifest", path)
	}
	return &m, nil
}

type vm struct {
	Name      string            `json:"name"`
	State     string            `json:"state"`
	Cpus      int               `json:"cpus"`
	MemoryMiB int               `json:"memory_mib"`
	Image     string            `json:"image"`
	Labels    map[string]string `json:"labels"`
	Network   bool              `json:"network"`
	CreatedAt string            `json:"created_at"`
	Pid       int               `json:"-"`
}

// withState runs f on the machine list under an exclusive lock, saving it
// if f says so.
func withState(f func(vms map[string]*vm) (bool, error)) error {
	dir := os.Getenv("SMOLVM_DATA_DIR")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".local", "share", "smolvm")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	p := filepath.Join(dir, "machines.json")
	vms := map[string]*vm{}
	if b, err := os.ReadFile(p); err == nil {
		json.Unmarshal(b, &vms)
	}
	save, err := f(vms)
	if err != nil || !save {
		return err
	}
	b, _ := json.MarshalIndent(vms, "", "  ")
	return os.WriteFile(p, b, 0o644)
}

var machineName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

func machineCreate(args []string) error {
	f, err := flags(args, []string{"name", "from", "image", "cpus", "mem", "label"}, []string{"net"})
	if err != nil {
		return err
	}
	nm, from := one(f, "name"), one(f, "from")
	if from != "" && one(f, "image") != "" {
		return usageError{"the argument '--from <FROM>' cannot be used with '--image <IMAGE>'"}
	}
	if nm == "" || from == "" {
		return usageError{"the following required arguments were not provided: --name <NAME> --from <FROM>"}
	}
	if !machineName.MatchString(nm) || strings.HasSuffix(nm, "-") || strings.Contains(nm, "--") {
		return fmt.Errorf("invalid machine name %q", nm)
	}
	m, err := readSidecar(from)
	if err != nil {
		return err
	}
	labels := map[string]string{}
	for _, l := range f["label"] {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return usageError{fmt.Sprintf("invalid label %q: want KEY=VALUE", l)}
		}
		labels[k] = v
	}
	cpus, _ := strconv.Atoi(one(f, "cpus"))
	mem, _ := strconv.Atoi(one(f, "mem"))
	err = withState(func(vms map[string]*vm) (bool, error) {
		if _, ok := vms[nm]; ok {
			return false, fmt.Errorf("config operation failed: create machine: machine '%s' already exists or is being created", nm)
		}
		vms[nm] = &vm{Name: nm, State: "created", Cpus: cpus, MemoryMiB: mem, Image: m.Image, Labels: labels,
			Network: one(f, "net") != "", CreatedAt: time.Now().UTC().Format(time.RFC3339)}
		return true, nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("Created machine: %s\n", nm)
	return nil
}

func machineLs(args []string) error {
	f, err := flags(args, nil, []string{"json"})
	if err != nil {
		return err
	}
	return withState(func(vms map[string]*vm) (bool, error) {
		list := make([]*vm, 0, len(vms))
		for _, v := range vms {
			list = append(list, v)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		if one(f, "json") != "" {
			b, _ := json.Marshal(list)
			fmt.Println(string(b))
			return false, nil
		}
		for _, v := range list {
			fmt.Printf("%s\t%s\t%s\n", v.Name, v.State, v.Image)
		}
		return false, nil
	})
}

func machineDelete(args []string) error {
	f, err := flags(args, []string{"name"}, []string{"f", "force"})
	if err != nil {
		return err
	}
	nm := one(f, "name")
	if nm == "" {
		return usageError{"the following required arguments were not provided: --name <NAME>"}
	}
	force := one(f, "f") != "" || one(f, "force") != ""
	return withState(func(vms map[string]*vm) (bool, error) {
		if _, ok := vms[nm]; !ok {
			return false, fmt.Errorf("vm not found: %s", nm)
		}
		if !force {
			fmt.Printf("Delete machine '%s'? [y/N] ", nm)
			line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
			if a := strings.TrimSpace(strings.ToLower(line)); a != "y" && a != "yes" {
				fmt.Println("Cancelled")
				return false, nil
			}
		}
		delete(vms, nm)
		fmt.Printf("Deleted machine: %s\n", nm)
		return true, nil
	})
}

func machineStart(args []string) error {
	f, err := flags(args, []string{"name"}, nil)
	if err != nil {
		return err
	}
	nm := one(f, "name")
	return withState(func(vms map[string]*vm) (bool, error) {
		v, ok := vms[nm]
		if !ok {
			return false, fmt.Errorf("vm not found: %s", nm)
		}
		v.State = "running"
		fmt.Printf("Machine '%s' running (PID: %d)\n", nm, 4242)
		return true, nil
	})
}
