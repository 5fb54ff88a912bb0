#!/usr/bin/env bash
# compare.sh: time bottle next to git status, ninja -n and make -q on the
# shared workloads, in the same run, interleaved (A B A B ...), and print
# medians, ratios of medians and peak RSS. Speed goals (issue 2):
#
#   W1 no-op plan          <= 1.5 x git status
#   W1 first plan (cold)   <= 1.3 x walk -mode sha256 -j 2 (read-and-hash floor)
#   W2 no-op plan          <= 2 x ninja -n
#   W2 after leaf0 change  <= 2 x ninja -n after the same change
#   peak RSS of each       < 150 MB
#
# Usage: bench/compare.sh [w1] [w2]   (default both)
# Env:   WORK (default /tmp/benchwork), RUNS (default 7), SHARED (../shared).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$(cd "$ROOT/../shared" 2>/dev/null && pwd || true)}
WORK=${WORK:-/tmp/benchwork}
RUNS=${RUNS:-7}
sections=("$@")
[[ ${#sections[@]} -gt 0 ]] || sections=(w1 w2)

need() { command -v "$1" >/dev/null || { echo "compare.sh: $1 is missing: $2" >&2; exit 1; }; }
need go "install Go 1.26"
need git "apt-get install git"
need make "apt-get install make"
need ninja "apt-get install ninja-build"
[[ -x /usr/bin/time ]] || { echo "compare.sh: /usr/bin/time is missing: apt-get install time" >&2; exit 1; }
[[ -n $SHARED && -d $SHARED/bench/gen ]] || { echo "compare.sh: no workload generator: set SHARED to the folder holding bench/gen" >&2; exit 1; }

mkdir -p "$WORK/bin"
echo "building bottle and walk..."
(cd "$ROOT" && go build -o "$WORK/bin/bottle" ./cmd/bottle)
(cd "$SHARED/bench" && go build -o "$WORK/bin/walk" ./walk)
BOTTLE=$WORK/bin/bottle
export BOTTLE_CACHE_DIR=$WORK/bottle-cache

# measure NAME CMD...: one timed run; appends "seconds rss_kib" to $WORK/m/NAME.
measure() {
  local name=$1; shift
  local t0 t1 tmp
  tmp=$(mktemp)
  t0=$(date +%s%N)
  /usr/bin/time -f '%M' -o "$tmp" "$@" >/dev/null 2>&1 || true
  t1=$(date +%s%N)
  echo "$(( (t1 - t0) / 1000 )) $(tail -n1 "$tmp")" >>"$WORK/m/$name"
  rm -f "$tmp"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
report() { # report LABEL A B GOAL
  local label=$1 a=$2 b=$3 goal=$4
  local am bm ar br
  am=$(cut -d' ' -f1 "$WORK/m/$a" | median); bm=$(cut -d' ' -f1 "$WORK/m/$b" | median)
  ar=$(cut -d' ' -f2 "$WORK/m/$a" | median); br=$(cut -d' ' -f2 "$WORK/m/$b" | median)
  printf '%-34s %-22s %8.3f s %6d MiB | %-24s %8.3f s %6d MiB | ratio %5.2f (goal <= %s)\n' \
    "$label" "$a" "$(bc -l <<<"$am/1000000")" $((ar / 1024)) "$b" "$(bc -l <<<"$bm/1000000")" $((br / 1024)) \
    "$(bc -l <<<"$am/$bm")" "$goal" | tee -a "$WORK/compare-results.txt"
}
paired() { # paired A_NAME "A CMD" B_NAME "B CMD": warm-up, then RUNS interleaved pairs
  local an=$1 ac=$2 bn=$3 bc=$4
  rm -f "$WORK/m/$an" "$WORK/m/$bn"
  sh -c "$ac" >/dev/null 2>&1 || true
  sh -c "$bc" >/dev/null 2>&1 || true
  for ((i = 0; i < RUNS; i++)); do
    measure "$an" sh -c "$ac"
    measure "$bn" sh -c "$bc"
  done
}
mkdir -p "$WORK/m"
: >"$WORK/compare-results.txt"

if [[ " ${sections[*]} " == *" w1 "* ]]; then
  W1=$WORK/w1
  [[ -f $W1/bottle.toml ]] || (cd "$SHARED/bench" && go run ./gen -out "$WORK" -only w1)
  cd "$W1"
  if [[ ! -d .git ]]; then
    echo "w1: git init and commit (about 30 s, once)..."
    git init -q && git add -A && git -c user.email=b@b -c user.name=b commit -qm w1
  fi
  ninja >/dev/null
  "$BOTTLE" apply --yes >/dev/null 2>&1
  echo "w1: no-op"
  paired bottle-plan-w1-noop "$BOTTLE plan" git-status-w1 "git status"
  report "W1 no-op plan vs git status" bottle-plan-w1-noop git-status-w1 1.5
  paired ninja-n-w1-noop "ninja -n" make-q-w1-noop "make -q"
  report "(peers) ninja -n vs make -q" ninja-n-w1-noop make-q-w1-noop "-"
  echo "w1: first plan, no .bottle/ (every file hashed)"
  paired bottle-plan-w1-cold "rm -rf .bottle && $BOTTLE plan" walk-sha256-j2 "$WORK/bin/walk -mode sha256 -j 2 src"
  report "W1 cold plan vs read+hash floor" bottle-plan-w1-cold walk-sha256-j2 1.3
  "$BOTTLE" apply --yes >/dev/null 2>&1 || true
fi

if [[ " ${sections[*]} " == *" w2 "* ]]; then
  W2=$WORK/w2
  [[ -f $W2/bottle.toml ]] || (cd "$SHARED/bench" && go run ./gen -out "$WORK" -only w2)
  cd "$W2"
  LEAF0=src/l00/s000/i0.txt
  [[ -f $WORK/leaf0.pristine ]] || cp "$LEAF0" "$WORK/leaf0.pristine"
  cp "$WORK/leaf0.pristine" "$LEAF0"
  ninja >/dev/null
  if ! "$BOTTLE" plan --detailed-exitcode >/dev/null 2>&1; then
    echo "w2: first bottle apply (5,000 steps, a few minutes on 2 cores)..."
    "$BOTTLE" apply --yes >/dev/null 2>&1
  fi
  echo "w2: no-op"
  paired bottle-plan-w2-noop "$BOTTLE plan" ninja-n-w2-noop "ninja -n"
  report "W2 no-op plan vs ninja -n" bottle-plan-w2-noop ninja-n-w2-noop 2
  echo "w2: after one layer-0 input changes"
  paired bottle-plan-w2-leaf0 "date +%s%N >> $LEAF0; exec $BOTTLE plan" ninja-n-w2-leaf0 "date +%s%N >> $LEAF0; exec ninja -n"
  report "W2 leaf0 plan vs ninja -n" bottle-plan-w2-leaf0 ninja-n-w2-leaf0 2
  echo "w2: what the plan says after the change:"
  "$BOTTLE" plan | tail -n 1 | tee -a "$WORK/compare-results.txt"
  cp "$WORK/leaf0.pristine" "$LEAF0"
fi
echo
echo "results (also in $WORK/compare-results.txt):"
cat "$WORK/compare-results.txt"
