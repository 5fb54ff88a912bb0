#!/usr/bin/env bash
# remote.sh: restoring a 1 GiB result from the remote cache (issue 8).
# Times remotebench fetch (cache/remote's Fetch of the result into an empty
# local cache: every blob verified while it streams, each stored and synced)
# next to `crane pull --format=oci` of an image made of exactly the same
# blobs into an empty folder, interleaved (A B A B ...), and prints medians
# and the ratio (goal <= 1.3). Also times fetch plus restoring the files into
# a workspace folder, for the full restore's figure.
#
# Needs a registry (REGISTRY, default 127.0.0.1:5000; .ci/run shows how to
# start one) and about 4 GiB free in WORK. Installs crane v0.22.1 with
# `go install` if it is not on PATH.
# Usage: bench/remote.sh    Env: REGISTRY, RUNS (default 5), SIZE (MiB, 1024),
#        SMALL (4 KiB files besides, 2000), WORK (default a temporary folder).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
REGISTRY=${REGISTRY:-127.0.0.1:5000}
RUNS=${RUNS:-5}
SIZE=${SIZE:-1024}
SMALL=${SMALL:-2000}
(exec 3<>"/dev/tcp/${REGISTRY%:*}/${REGISTRY#*:}") 2>/dev/null || { echo "remote.sh: no registry at $REGISTRY" >&2; exit 1; }
command -v bc >/dev/null || { echo "remote.sh: bc is missing: apt-get install bc" >&2; exit 1; }

own_work=
if [[ -z ${WORK:-} ]]; then WORK=$(mktemp -d); own_work=1; fi
trap '[[ -n $own_work ]] && rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin" "$WORK/m"
(cd "$ROOT" && go build -o "$WORK/bin/remotebench" ./bench/remotebench)
CRANE=$(command -v crane || true)
if [[ -z $CRANE ]]; then
  echo "installing crane v0.22.1..."
  GOBIN="$WORK/bin" go install github.com/google/go-containerregistry/cmd/crane@v0.22.1
  CRANE=$WORK/bin/crane
fi

echo "preparing a ${SIZE} MiB result (+${SMALL} small files) and the same blobs as an image in $REGISTRY..."
rm -rf "$WORK/src"
read -r URL KEY REF < <("$WORK/bin/remotebench" prepare -registry "$REGISTRY" -dir "$WORK/src" -size "$SIZE" -small "$SMALL")
rm -rf "$WORK/src"
[[ -n ${REF:-} ]] || { echo "remote.sh: prepare failed" >&2; exit 1; }
echo "result $URL:$KEY, image $REF"

now() { date +%s%N; }
run() { # run NAME CMD...: one timed run into fresh folders, each on a quiet disk
  local name=$1 t0 t1; shift
  rm -rf "$WORK/out"
  sync   # the last run's writeback must not slow this one
  t0=$(now)
  "$@" >/dev/null 2>"$WORK/last.err" || { cat "$WORK/last.err" >&2; exit 1; }
  t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >>"$WORK/m/$name"
  rm -rf "$WORK/out"
}
fetch() { run fetch "$WORK/bin/remotebench" fetch -url "$URL" -key "$KEY" -dir "$WORK/out/cache"; }
restore() { run restore "$WORK/bin/remotebench" fetch -url "$URL" -key "$KEY" -dir "$WORK/out/cache" -restore "$WORK/out/ws"; }
pull() { run crane "$CRANE" pull --format=oci "$REF" "$WORK/out/layout"; }

rm -f "$WORK/m/"*
fetch; pull; rm -f "$WORK/m/"*   # warm-up
for ((i = 0; i < RUNS; i++)); do
  fetch; pull
done
for ((i = 0; i < RUNS; i++)); do
  restore
done
median() { sort -n "$WORK/m/$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
f=$(median fetch); c=$(median crane); r=$(median restore)
echo
printf 'runs: %d; result: %d MiB in 256 MiB files + %d files of 4 KiB\n' "$RUNS" "$SIZE" "$SMALL"
printf 'fetch into an empty local cache   %6d ms  (all: %s)\n' "$f" "$(tr '\n' ' ' <"$WORK/m/fetch")"
printf 'crane pull --format=oci           %6d ms  (all: %s)\n' "$c" "$(tr '\n' ' ' <"$WORK/m/crane")"
printf 'fetch + restore into a workspace  %6d ms  (all: %s)\n' "$r" "$(tr '\n' ' ' <"$WORK/m/restore")"
printf 'ratio fetch / crane pull: %.2f (goal <= 1.3)\n' "$(bc -l <<<"$f/$c")"
printf 'ratio fetch+restore / crane pull: %.2f\n' "$(bc -l <<<"$r/$c")"
