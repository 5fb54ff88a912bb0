// This file is the fake CLI itself; the package comment of the command in
// the parent folder says what it mimics and what it does not.

package fakesmol

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Version is the smolvm release the fake mimics.
const Version = "1.9.2"

// usageError exits 2 with a usage message; usage names the command.
type usageError struct {
	msg   string
	usage string
}

func (e usageError) Error() string { return e.msg }

// helpRequested prints usage on stdout and exits 0.
type helpRequested struct{ usage string }

func (helpRequested) Error() string { return "help" }

// Main runs the fake smolvm on os.Args and exits like smolvm does. The
// command in the parent folder is just this; testscript users can map
// "smolvm" to it directly.
func Main() {
	logArgv(os.Args[1:])
	err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	var ue usageError
	var hr helpRequested
	switch {
	case err == nil:
	case errors.As(err, &hr):
		fmt.Println(hr.usage)
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "error: %s\n\nUsage: %s\n\nFor more information, try '--help'.\n", ue.msg, ue.usage)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}

func logArgv(args []string) {
	p := os.Getenv("SMOLVM_FAKE_LOG")
	if p == "" {
		return
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fakesmolvm: argv log: %v\n", err)
		return
	}
	defer f.Close()
	syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
	if args == nil {
		args = []string{}
	}
	b, _ := json.Marshal(args)
	f.Write(append(b, '\n'))
}

const topUsage = "smolvm [OPTIONS] <COMMAND>"

var usages = map[string]string{
	"pack create":    "smolvm pack create --image <IMAGE> --output <OUTPUT> [--cpus <CPUS>] [--mem <MEM>] [--single-file] [--entrypoint <ENTRYPOINT>] [--oci-platform <OCI_PLATFORM>]",
	"machine create": "smolvm machine create --name <NAME> <--from <FROM>|--image <IMAGE>> [--net] [--cpus <CPUS>] [--mem <MEM>] [--label <LABEL>]...",
	"machine ls":     "smolvm machine ls [--json]",
	"machine delete": "smolvm machine delete --name <NAME> [-f|--force]",
	"machine start":  "smolvm machine start --name <NAME>",
	"machine stop":   "smolvm machine stop --name <NAME>",
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"'smolvm' requires a subcommand but one was not provided", topUsage}
	}
	switch args[0] {
	case "-h", "--help", "help":
		return helpRequested{topUsage + "\n\nCommands:\n  pack     Package an image into a .smolmachine\n  machine  Manage machines [aliases: vm]"}
	case "-V", "--version":
		fmt.Fprintf(stdout, "smolvm %s\n", Version)
		return nil
	}
	group := args[0]
	if group == "vm" {
		group = "machine"
	}
	if group != "pack" && group != "machine" {
		return usageError{fmt.Sprintf("unrecognized subcommand '%s'", args[0]), topUsage}
	}
	if len(args) < 2 {
		return usageError{fmt.Sprintf("'smolvm %s' requires a subcommand but one was not provided", group), "smolvm " + group + " <COMMAND>"}
	}
	sub := args[1]
	if sub == "-h" || sub == "--help" {
		var list []string
		for k, u := range usages {
			if strings.HasPrefix(k, group+" ") {
				list = append(list, u)
			}
		}
		sort.Strings(list)
		return helpRequested{strings.Join(list, "\n")}
	}
	cmd := group + " " + sub
	usage, ok := usages[cmd]
	if !ok {
		return usageError{fmt.Sprintf("unrecognized subcommand '%s'", sub), "smolvm " + group + " <COMMAND>"}
	}
	for _, f := range strings.Split(os.Getenv("SMOLVM_FAKE_FAIL"), ",") {
		f = strings.Join(strings.Fields(f), " ")
		if strings.HasPrefix(f, "vm ") {
			f = "machine " + strings.TrimPrefix(f, "vm ")
		}
		if f == cmd {
			return errors.New("forced failure")
		}
	}
	rest := args[2:]
	switch cmd {
	case "pack create":
		return packCreate(rest, usage, stdout, stderr)
	case "machine create":
		return machineCreate(rest, usage, stdout)
	case "machine ls":
		return machineLs(rest, usage, stdout)
	case "machine delete":
		return machineDelete(rest, usage, stdin, stdout, stderr)
	case "machine start":
		return machineStart(rest, usage, stdout)
	case "machine stop":
		return machineStop(rest, usage, stdout)
	}
	return usageError{fmt.Sprintf("unrecognized subcommand '%s'", sub), usage}
}

// flagSpec describes one flag: its long name, an optional short name,
// whether it takes a value, and whether it may repeat.
type flagSpec struct {
	long, short string
	value       bool
	multi       bool
	metavar     string
}

type parsed map[string][]string

func (p parsed) get(k string) string {
	if v := p[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (p parsed) has(k string) bool { return len(p[k]) > 0 }

func (p parsed) int(k string, def int, usage string) (int, error) {
	if !p.has(k) {
		return def, nil
	}
	s := p.get(k)
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return 0, usageError{fmt.Sprintf("invalid value '%s' for '--%s <%s>': invalid digit found in string", s, k, strings.ToUpper(k)), usage}
	}
	return int(n), nil
}

// parseFlags parses args clap-style against specs.
func parseFlags(args []string, usage string, specs ...flagSpec) (parsed, error) {
	byLong := map[string]flagSpec{}
	byShort := map[string]flagSpec{}
	for _, s := range specs {
		byLong[s.long] = s
		if s.short != "" {
			byShort[s.short] = s
		}
	}
	out := parsed{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-h" || a == "--help" {
			return nil, helpRequested{usage}
		}
		var spec flagSpec
		var ok bool
		var val string
		hasVal := false
		switch {
		case strings.HasPrefix(a, "--") && len(a) > 2:
			k, v, eq := strings.Cut(a[2:], "=")
			spec, ok = byLong[k]
			val, hasVal = v, eq
		case strings.HasPrefix(a, "-") && len(a) == 2 && a != "--":
			spec, ok = byShort[a[1:]]
		default:
			return nil, usageError{fmt.Sprintf("unexpected argument '%s' found", a), usage}
		}
		if !ok {
			return nil, usageError{fmt.Sprintf("unexpected argument '%s' found", a), usage}
		}
		disp := "--" + spec.long
		if spec.value {
			disp += " <" + spec.metavar + ">"
		}
		if !spec.value {
			if hasVal {
				return nil, usageError{fmt.Sprintf("unexpected value '%s' for '--%s' found; no more were expected", val, spec.long), usage}
			}
			val = "true"
		} else if !hasVal {
			if i+1 >= len(args) || (strings.HasPrefix(args[i+1], "-") && len(args[i+1]) > 1) {
				return nil, usageError{fmt.Sprintf("a value is required for '%s' but none was supplied", disp), usage}
			}
			i++
			val = args[i]
		}
		if out.has(spec.long) && !spec.multi {
			return nil, usageError{fmt.Sprintf("the argument '%s' cannot be used multiple times", disp), usage}
		}
		out[spec.long] = append(out[spec.long], val)
	}
	return out, nil
}

func required(p parsed, usage string, names ...string) error {
	var missing []string
	for _, n := range names {
		if !p.has(n) {
			missing = append(missing, fmt.Sprintf("--%s <%s>", n, strings.ToUpper(n)))
		}
	}
	if len(missing) > 0 {
		return usageError{"the following required arguments were not provided:\n  " + strings.Join(missing, "\n  "), usage}
	}
	return nil
}

// localImage reports whether ref names a file rather than a registry image.
func localImage(ref string) bool {
	if _, err := os.Stat(ref); err == nil {
		return true
	}
	for _, p := range []string{"/", "./", "../", "~/"} {
		if strings.HasPrefix(ref, p) {
			return true
		}
	}
	for _, s := range []string{".tar", ".tar.gz", ".tgz"} {
		if strings.HasSuffix(ref, s) {
			return true
		}
	}
	return ref == "." || ref == ".."
}

const (
	defaultCpus = 1
	defaultMem  = 512
)

func packCreate(args []string, usage string, stdout, stderr io.Writer) error {
	p, err := parseFlags(args, usage,
		flagSpec{long: "image", value: true, metavar: "IMAGE"},
		flagSpec{long: "output", value: true, metavar: "OUTPUT"},
		flagSpec{long: "cpus", value: true, metavar: "CPUS"},
		flagSpec{long: "mem", value: true, metavar: "MEM"},
		flagSpec{long: "single-file"},
		flagSpec{long: "entrypoint", value: true, metavar: "ENTRYPOINT"},
		flagSpec{long: "oci-platform", value: true, metavar: "OCI_PLATFORM"},
	)
	if err != nil {
		return err
	}
	if err := required(p, usage, "image", "output"); err != nil {
		return err
	}
	cpus, err := p.int("cpus", defaultCpus, usage)
	if err != nil {
		return err
	}
	mem, err := p.int("mem", defaultMem, usage)
	if err != nil {
		return err
	}
	image, output := p.get("image"), p.get("output")
	if strings.HasSuffix(output, ".smolmachine") {
		return fmt.Errorf("--output must be the stub path, not end in .smolmachine (the sidecar is written as %s.smolmachine)", strings.TrimSuffix(output, ".smolmachine"))
	}
	if localImage(image) {
		return fmt.Errorf("image '%s' looks like a local file; pack create needs a registry reference (host[:port]/repo:tag or repo@sha256:...): push the image first", image)
	}
	dir := filepath.Dir(output)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("output directory does not exist: %s", dir)
	}
	var platform *v1.Platform
	if p.has("oci-platform") {
		platform, err = v1.ParsePlatform(p.get("oci-platform"))
		if err != nil || platform.OS == "" || platform.Architecture == "" {
			return fmt.Errorf("invalid --oci-platform '%s': want OS/ARCH", p.get("oci-platform"))
		}
	}
	var opts []name.Option
	if os.Getenv("SMOLVM_FAKE_INSECURE") == "1" {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(image, opts...)
	if err != nil {
		return fmt.Errorf("invalid image reference '%s': %v", image, err)
	}
	fmt.Fprintf(stderr, "Pulling %s...\n", ref.Name())
	ropts := []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	if platform != nil {
		ropts = append(ropts, remote.WithPlatform(*platform))
	}
	desc, err := remote.Get(ref, ropts...)
	if err != nil {
		return fmt.Errorf("failed to pull image '%s': %v", image, err)
	}
	manifest := desc.Manifest
	if desc.MediaType.IsIndex() {
		img, err := desc.Image() // resolves the platform (linux/amd64 unless --oci-platform)
		if err != nil {
			return fmt.Errorf("failed to pull image '%s': %v", image, err)
		}
		if manifest, err = img.RawManifest(); err != nil {
			return fmt.Errorf("failed to pull image '%s': %v", image, err)
		}
	}
	fmt.Fprintf(stderr, "Pulled %s (digest %s)\n", ref.Name(), desc.Digest)

	m := Manifest{
		Image:      image,
		Digest:     desc.Digest.String(),
		Cpus:       cpus,
		Mem:        mem,
		Entrypoint: p.get("entrypoint"),
		Platform:   p.get("oci-platform"),
	}
	payload := append([]byte("fake smolmachine rootfs for "+m.Digest+"\n"), manifest...)
	stub := []byte("#!/bin/sh\n# smolvm stub (fake) for " + image + " " + m.Digest + "\necho 'this is a fake smolvm stub' >&2\nexit 1\n")
	fmt.Fprintf(stdout, "Packing %s...\n", image)
	if p.has("single-file") {
		single, err := Encode(stub, payload, m)
		if err != nil {
			return err
		}
		if err := writeAtomic(output, single, 0o755); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Packed: %s\n", output)
		return nil
	}
	side, err := Encode(nil, payload, m)
	if err != nil {
		return err
	}
	if err := writeAtomic(output, stub, 0o755); err != nil {
		return err
	}
	if err := writeAtomic(output+".smolmachine", side, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Packed: %s\nAssets: %s.smolmachine (%d bytes)\n", output, output, len(side))
	return nil
}

// writeAtomic replaces path with data through a temporary file beside it.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".smolvm-*")
	if err != nil {
		return fmt.Errorf("failed to write %s: %v", path, err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr, os.Chmod(f.Name(), mode)); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("failed to write %s: %v", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("failed to write %s: %v", path, err)
	}
	return nil
}

// machine is one entry of the state file and of ls --json.
type machine struct {
	Name      string            `json:"name"`
	State     string            `json:"state"`
	Cpus      int               `json:"cpus"`
	MemoryMiB int               `json:"memory_mib"`
	Image     string            `json:"image"`
	Labels    map[string]string `json:"labels"`
	Network   bool              `json:"network"`
	CreatedAt string            `json:"created_at"`
	PID       int               `json:"pid,omitempty"`
	Source    string            `json:"-"`
}

func dataDir() (string, error) {
	if d := os.Getenv("SMOLVM_DATA_DIR"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the data directory: %v", err)
	}
	return filepath.Join(home, ".local", "share", "smolvm"), nil
}

// withState runs f on the machines under an exclusive flock and saves them
// when f returns true. With mustExist an absent data directory stays absent:
// f sees no machines and nothing is saved.
func withState(mustExist bool, f func(ms map[string]*machine) (bool, error)) error {
	dir, err := dataDir()
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) && mustExist {
		_, err := f(map[string]*machine{})
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("config operation failed: %v", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "machines.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("config operation failed: %v", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("config operation failed: %v", err)
	}
	path := filepath.Join(dir, "machines.json")
	ms := map[string]*machine{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &ms); err != nil {
			return fmt.Errorf("config operation failed: corrupt state %s: %v", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("config operation failed: %v", err)
	}
	save, err := f(ms)
	if err != nil || !save {
		return err
	}
	b, _ := json.MarshalIndent(ms, "", "  ")
	return writeAtomic(path, append(b, '\n'), 0o644)
}

var nameChars = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

func checkName(n string) error {
	switch {
	case n == "" || len(n) > 128:
		return fmt.Errorf("invalid machine name '%s': must be 1-128 characters", n)
	case !nameChars.MatchString(n):
		return fmt.Errorf("invalid machine name '%s': use letters, digits, '_' and '-', starting with a letter or digit", n)
	case strings.HasSuffix(n, "-"):
		return fmt.Errorf("invalid machine name '%s': must not end with '-'", n)
	case strings.Contains(n, "--"):
		return fmt.Errorf("invalid machine name '%s': must not contain '--'", n)
	}
	return nil
}

func machineCreate(args []string, usage string, stdout io.Writer) error {
	p, err := parseFlags(args, usage,
		flagSpec{long: "name", value: true, metavar: "NAME"},
		flagSpec{long: "from", value: true, metavar: "FROM"},
		flagSpec{long: "image", value: true, metavar: "IMAGE"},
		flagSpec{long: "net"},
		flagSpec{long: "cpus", value: true, metavar: "CPUS"},
		flagSpec{long: "mem", value: true, metavar: "MEM"},
		flagSpec{long: "label", value: true, multi: true, metavar: "LABEL"},
	)
	if err != nil {
		return err
	}
	if p.has("from") && p.has("image") {
		return usageError{"the argument '--from <FROM>' cannot be used with '--image <IMAGE>'", usage}
	}
	if err := required(p, usage, "name"); err != nil {
		return err
	}
	if !p.has("from") && !p.has("image") {
		return usageError{"the following required arguments were not provided:\n  <--from <FROM>|--image <IMAGE>>", usage}
	}
	labels := map[string]string{}
	for _, l := range p["label"] {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return usageError{fmt.Sprintf("invalid value '%s' for '--label <LABEL>': expected KEY=VALUE", l), usage}
		}
		labels[k] = v
	}
	n := p.get("name")
	if err := checkName(n); err != nil {
		return err
	}
	mc := &machine{Name: n, State: "created", Cpus: defaultCpus, MemoryMiB: defaultMem, Labels: labels,
		Network: p.has("net"), CreatedAt: time.Now().UTC().Format(time.RFC3339)}
	if p.has("from") {
		from := p.get("from")
		m, err := ReadSidecar(from)
		if err != nil {
			return fmt.Errorf("failed to load '%s': %v", from, err)
		}
		mc.Image, mc.Cpus, mc.MemoryMiB, mc.Source = m.Image, m.Cpus, m.Mem, from
		mc.Network = mc.Network || m.Network
	} else {
		mc.Image = p.get("image")
	}
	if mc.Cpus, err = p.int("cpus", mc.Cpus, usage); err != nil {
		return err
	}
	if mc.MemoryMiB, err = p.int("mem", mc.MemoryMiB, usage); err != nil {
		return err
	}
	err = withState(false, func(ms map[string]*machine) (bool, error) {
		if _, ok := ms[n]; ok {
			return false, fmt.Errorf("config operation failed: create machine: machine '%s' already exists or is being created", n)
		}
		ms[n] = mc
		return true, nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Created machine: %s\n", n)
	return nil
}

func machineLs(args []string, usage string, stdout io.Writer) error {
	p, err := parseFlags(args, usage, flagSpec{long: "json"})
	if err != nil {
		return err
	}
	var list []*machine
	err = withState(true, func(ms map[string]*machine) (bool, error) {
		for _, m := range ms {
			if m.Labels == nil {
				m.Labels = map[string]string{}
			}
			list = append(list, m)
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	if p.has("json") {
		if list == nil {
			list = []*machine{}
		}
		b, _ := json.MarshalIndent(list, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
		return nil
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "No machines found.")
		return nil
	}
	fmt.Fprintf(stdout, "%-24s %-10s %s\n", "NAME", "STATE", "IMAGE")
	for _, m := range list {
		fmt.Fprintf(stdout, "%-24s %-10s %s\n", m.Name, m.State, m.Image)
	}
	return nil
}

func nameOnly(args []string, usage string, extra ...flagSpec) (parsed, string, error) {
	p, err := parseFlags(args, usage, append([]flagSpec{{long: "name", value: true, metavar: "NAME"}}, extra...)...)
	if err != nil {
		return nil, "", err
	}
	if err := required(p, usage, "name"); err != nil {
		return nil, "", err
	}
	return p, p.get("name"), nil
}

func machineDelete(args []string, usage string, stdin io.Reader, stdout, stderr io.Writer) error {
	p, n, err := nameOnly(args, usage, flagSpec{long: "force", short: "f"})
	if err != nil {
		return err
	}
	return withState(true, func(ms map[string]*machine) (bool, error) {
		if _, ok := ms[n]; !ok {
			return false, fmt.Errorf("vm not found: %s", n)
		}
		if !p.has("force") {
			fmt.Fprintf(stderr, "Delete machine '%s'? [y/N]: ", n)
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil {
				fmt.Fprintln(stderr) // EOF: end the prompt's line
			}
			if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
				fmt.Fprintln(stdout, "Cancelled")
				return false, nil
			}
		}
		delete(ms, n)
		fmt.Fprintf(stdout, "Deleted machine: %s\n", n)
		return true, nil
	})
}

func machineStart(args []string, usage string, stdout io.Writer) error {
	_, n, err := nameOnly(args, usage)
	if err != nil {
		return err
	}
	return withState(true, func(ms map[string]*machine) (bool, error) {
		m, ok := ms[n]
		if !ok {
			return false, fmt.Errorf("vm not found: %s", n)
		}
		changed := false
		if m.State != "running" {
			m.State, m.PID, changed = "running", os.Getpid(), true
		}
		fmt.Fprintf(stdout, "Machine '%s' running (PID: %d)\n", n, m.PID)
		return changed, nil
	})
}

func machineStop(args []string, usage string, stdout io.Writer) error {
	_, n, err := nameOnly(args, usage)
	if err != nil {
		return err
	}
	return withState(true, func(ms map[string]*machine) (bool, error) {
		m, ok := ms[n]
		if !ok {
			return false, fmt.Errorf("vm not found: %s", n)
		}
		m.State, m.PID = "stopped", 0
		fmt.Fprintf(stdout, "Stopped machine: %s\n", n)
		return true, nil
	})
}
