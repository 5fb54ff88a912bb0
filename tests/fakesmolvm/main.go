// Command fakesmolvm is a fake of the smolvm CLI, v1.9.2, for bottle's
// tests. The real smolvm boots micro-VMs and cannot run here; tests build
// this program as "smolvm" onto PATH (see fakesmol.Build), or map
// "smolvm" to fakesmol.Main in testscript.Main.
//
// What it mimics, from the smolvm section of the shared INTERFACES.md:
//
//   - The flag surface: "--flag v" and "--flag=v"; unknown flags, missing
//     values or required flags, stray arguments and repeated single flags
//     print a clap-style usage message on stderr and exit 2. Runtime errors
//     print "Error: <message>" on stderr and exit 1. "vm" is an alias of
//     "machine". --help prints usage on stdout and exits 0; --version prints
//     "smolvm 1.9.2".
//   - pack create --image REF --output PATH [--cpus N] [--mem MiB]
//     [--single-file] [--entrypoint CMD] [--oci-platform OS/ARCH]: refuses
//     local images (a path that exists, ends in .tar, or starts with / ./
//     ../); refuses an --output ending in .smolmachine or whose folder is
//     missing; pulls the image manifest from the registry with
//     go-containerregistry (credentials from the Docker config, plain HTTP
//     for loopback and private hosts as ggcr decides, or for every host
//     with SMOLVM_FAKE_INSECURE=1), so a missing image fails; writes PATH
//     (a 0755 stub naming the digest) and PATH.smolmachine (payload, JSON
//     manifest, 64-byte SMOLPACK footer; see package fakesmol), overwriting
//     silently. The bytes depend only on the digest and the flags. Pull
//     progress goes to stderr; stdout ends with "Packed: PATH" and
//     "Assets: PATH.smolmachine (N bytes)".
//   - machine create --name N (--from FILE | --image REF) [--net] [--cpus N]
//     [--mem MiB] [--label K=V]...; name rules; duplicate refusal with
//     smolvm's message; the image read from the sidecar's footer.
//   - machine ls [--json], delete --name N [-f|--force] (without -f it asks
//     on stdin; anything but y/yes, including EOF, prints "Cancelled" and
//     exits 0), start --name N ("Machine 'N' running (PID: P)", idempotent),
//     stop --name N.
//   - State in $SMOLVM_DATA_DIR/machines.json (default
//     ~/.local/share/smolvm), read-modify-written under flock.
//
// What it does not do: boot anything, pull layers (only the manifest, and
// the config for an index's chosen platform), honour --entrypoint beyond
// recording it, implement machine exec/ssh/images/other subcommands, or
// reproduce smolvm's exact help text and wording of errors not quoted in
// INTERFACES.md (e.g. a bad machine name is an "Error:", exit 1).
//
// For tests: every invocation appends its arguments (os.Args[1:]) as one
// JSON array line to $SMOLVM_FAKE_LOG; SMOLVM_FAKE_FAIL="pack create" (a
// comma-separated list; "vm" normalised to "machine") makes those
// subcommands print "Error: forced failure" and exit 1 before doing
// anything.
package main

import "github.com/bottle-build/bottle/tests/fakesmolvm/fakesmol"

func main() { fakesmol.Main() }
