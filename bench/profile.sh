#!/usr/bin/env bash
# profile.sh: where a no-op plan's time goes (issue 12). Profiles RUNS
# no-op plans of each shared workload with BOTTLE_CPUPROFILE, merges them,
# and prints the wall time and peak RSS of each run, then pprof's top
# functions by cumulative time (bottle's own, and the runtime's allocation
# and GC, which show what allocations cost). The profiles stay in
# $WORK/profiles for `go tool pprof`.
#
# Usage: bench/profile.sh [w1] [w2]   (default both; run compare.sh once
# first: it generates the workloads and applies them)
# Env:   WORK (default /tmp/benchwork), RUNS (default 5).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
WORK=${WORK:-/tmp/benchwork}
RUNS=${RUNS:-5}
sections=("$@")
[[ ${#sections[@]} -gt 0 ]] || sections=(w1 w2)
[[ -x /usr/bin/time ]] || { echo "profile.sh: /usr/bin/time is missing: apt-get install time" >&2; exit 1; }

mkdir -p "$WORK/bin" "$WORK/profiles"
(cd "$ROOT" && go build -o "$WORK/bin/bottle" ./cmd/bottle)
BOTTLE=$WORK/bin/bottle
export BOTTLE_CACHE_DIR=$WORK/bottle-cache

for w in "${sections[@]}"; do
  dir=$WORK/$w
  [[ -f $dir/bottle.toml && -d $dir/.bottle ]] || { echo "profile.sh: $dir is not an applied workload: run bench/compare.sh $w first" >&2; exit 1; }
  echo "== $w no-op plan"
  (cd "$dir" && "$BOTTLE" plan >/dev/null 2>&1 || true) # warm the page cache and the index
  profs=()
  for ((i = 1; i <= RUNS; i++)); do
    p=$WORK/profiles/$w-noop-$i.prof
    (cd "$dir" && BOTTLE_CPUPROFILE=$p /usr/bin/time -f "  run $i: %e s wall, %U s user, %S s sys, %M KiB peak" "$BOTTLE" plan 2>&1 >/dev/null | tail -1)
    profs+=("$p")
  done
  go tool pprof -proto "${profs[@]}" >"$WORK/profiles/$w-noop.prof" 2>/dev/null
  echo "  cumulative, per run (÷$RUNS), bottle's functions and the allocator:"
  go tool pprof -top -cum -nodecount=400 "$BOTTLE" "$WORK/profiles/$w-noop.prof" 2>/dev/null |
    awk -v n="$RUNS" '
      /^ *flat/ { next }
      $6 ~ /bottle-build\/bottle|^main\.|runtime\.mallocgc$|runtime\.gcBgMarkWorker$|syscall\.Syscall6$|encoding\/gob\.\(\*Decoder\)\.Decode$/ {
        c = $4; sub(/s$/, "", c); if ($4 ~ /ms$/) { c = $4; sub(/ms$/, "", c); c = c / 1000 }
        printf "  %7.1f ms  %s\n", c * 1000 / n, $6
      }' | head -30
done
