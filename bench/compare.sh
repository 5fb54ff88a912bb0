#!/usr/bin/env bash
# compare.sh: time bottle next to git status, ninja and walk on the shared
# workloads, in the same run, interleaved (A B A B ...), and print medians,
# ratios of medians and peak RSS, every case in one table. Speed goals
# (issue 12):
#
#   w1       W1 no-op plan               <= 1.1 x git status
#            W1 first plan (cold)        <= 1.3 x walk -mode sha256 -j 2 (read-and-hash floor)
#   w1watch  W1 no-op plan, watchman     <= 0.3 x git status
#   w2       W2 no-op plan               <= 1.2 x ninja -n
#            W2 after leaf0 change       <= 2 x ninja -n after the same change
#   w2cold   W2 cold apply -j 2          <= 1.25 x ninja -j2 (nothing built, empty cache),
#            running the same commands as build.ninja (bottle makes output
#            folders, as ninja does: bottle.toml's mkdir -p dropped)
#   w20k     W2 shape at 20,000 steps: first plan <= 1.3 x the floor of its
#            inputs, second plan <= 1.2 x ninja -n, peak RSS < 100 MB
#
# Usage: bench/compare.sh [w1] [w1watch] [w2] [w2cold] [w20k]
#        (default w1 w2 w1watch w20k; w2cold takes about 15 minutes)
# Env:   WORK (default /tmp/benchwork), RUNS (default 7), RUNS_SLOW (for
#        w2cold and w20k, default 3), SHARED (../shared).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$(cd "$ROOT/../shared" 2>/dev/null && pwd || true)}
WORK=${WORK:-/tmp/benchwork}
RUNS=${RUNS:-7}
RUNS_SLOW=${RUNS_SLOW:-3}
sections=("$@")
[[ ${#sections[@]} -gt 0 ]] || sections=(w1 w2 w1watch w20k)
has() { [[ " ${sections[*]} " == *" $1 "* ]]; }

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
report() { # report LABEL A B GOAL [RSS_GOAL_MB]: a row of the table
  local label=$1 a=$2 b=$3 goal=$4 rssgoal=${5:-}
  local am bm ar br ratio ok
  am=$(cut -d' ' -f1 "$WORK/m/$a" | median); bm=$(cut -d' ' -f1 "$WORK/m/$b" | median)
  ar=$(cut -d' ' -f2 "$WORK/m/$a" | sort -n | tail -n1); br=$(cut -d' ' -f2 "$WORK/m/$b" | median)
  ratio=$(bc -l <<<"$am/$bm")
  ok=met goaltext="<= $goal"
  [[ $goal == - ]] || (($(bc -l <<<"$ratio <= $goal"))) || ok=MISSED
  [[ $goal != - ]] || ok=- goaltext="(no goal)" # a row for reading beside another
  # The goal is in MB (10^6 bytes); time's %M is in KiB.
  [[ -z $rssgoal ]] || ((ar * 1024 < rssgoal * 1000000)) || ok="$ok, RSS MISSED"
  printf '| %s | %.3f s, %d MiB | %s %.3f s | %.2f | %s%s | %s |\n' \
    "$label" "$(bc -l <<<"$am/1000000")" $((ar / 1024)) "$b" "$(bc -l <<<"$bm/1000000")" \
    "$ratio" "$goaltext" "${rssgoal:+, < $rssgoal MB}" "$ok" | tee -a "$WORK/compare-results.txt"
}
paired() { # paired A_NAME "A CMD" B_NAME "B CMD" [N]: warm-up, then N (RUNS) interleaved pairs
  local an=$1 ac=$2 bn=$3 bc=$4 n=${5:-$RUNS}
  rm -f "$WORK/m/$an" "$WORK/m/$bn"
  # Also for the few pairs of w20k: after w2cold, its first pair found
  # the page cache emptied (7.9 s next to 1.5-2.7 s).
  sh -c "$ac" >/dev/null 2>&1 || true
  sh -c "$bc" >/dev/null 2>&1 || true
  for ((i = 0; i < n; i++)); do
    measure "$an" sh -c "$ac"
    measure "$bn" sh -c "$bc"
  done
}
mkdir -p "$WORK/m"
{
  echo "compare.sh on $(date -u +%F), $(nproc) cores, RUNS=$RUNS, RUNS_SLOW=$RUNS_SLOW: medians; bottle's RSS is the peak of its runs"
  echo
  echo "| case | bottle | peer | ratio | goal | |"
  echo "| --- | ---: | ---: | ---: | ---: | --- |"
} >"$WORK/compare-results.txt"

if has w1 || has w1watch; then
  W1=$WORK/w1
  [[ -f $W1/bottle.toml ]] || (cd "$SHARED/bench" && go run ./gen -out "$WORK" -only w1)
  cd "$W1"
  if [[ ! -d .git ]]; then
    echo "w1: git init and commit (about 30 s, once)..."
    git init -q && git add -A && git -c user.email=b@b -c user.name=b commit -qm w1
  fi
  ninja >/dev/null
  "$BOTTLE" apply --yes >/dev/null 2>&1
  "$BOTTLE" watch stop >/dev/null 2>&1 || true
fi
if has w1; then
  echo "w1: no-op"
  paired bottle-plan-w1-noop "$BOTTLE plan" git-status-w1 "git status"
  report "W1 no-op plan" bottle-plan-w1-noop git-status-w1 1.1
  echo "w1: first plan, no .bottle/ (every file hashed)"
  paired bottle-plan-w1-cold "rm -rf .bottle && $BOTTLE plan" walk-sha256-j2 "$WORK/bin/walk -mode sha256 -j 2 src"
  report "W1 first plan (no .bottle/)" bottle-plan-w1-cold walk-sha256-j2 1.3
  "$BOTTLE" apply --yes >/dev/null 2>&1 || true
fi
if has w1watch; then
  need watchman "apt-get install watchman (or brew install watchman)"
  echo "w1: no-op plan in a watched workspace (watchman)"
  "$BOTTLE" watch start >/dev/null
  BOTTLE_FSMONITOR=watchman "$BOTTLE" plan >/dev/null # stores watchman's clock
  paired bottle-plan-w1-watched "BOTTLE_FSMONITOR=watchman $BOTTLE plan" git-status-w1w "git status"
  report "W1 no-op plan, watched" bottle-plan-w1-watched git-status-w1w 0.3
  "$BOTTLE" watch stop >/dev/null
fi

if has w2; then
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
  report "W2 no-op plan" bottle-plan-w2-noop ninja-n-w2-noop 1.2
  echo "w2: after one layer-0 input changes"
  paired bottle-plan-w2-leaf0 "date +%s%N >> $LEAF0; exec $BOTTLE plan" ninja-n-w2-leaf0 "date +%s%N >> $LEAF0; exec ninja -n"
  report "W2 plan after a layer-0 change" bottle-plan-w2-leaf0 ninja-n-w2-leaf0 2
  echo "w2: what the plan says after the change: $("$BOTTLE" plan | tail -n 1)"
  cp "$WORK/leaf0.pristine" "$LEAF0"
fi

if has w2cold; then
  # A copy of W2 that is built from nothing each time: no outputs, no
  # .bottle/, an empty cache (bottle) or no .ninja_log (ninja).
  C=$WORK/w2cold
  [[ -f $C/bottle.toml ]] || (cd "$SHARED/bench" && go run ./gen -out "$WORK/w2cold.gen" -only w2 && mv "$WORK/w2cold.gen/w2" "$C" && rm -rf "$WORK/w2cold.gen")
  cd "$C"
  # The generated steps differ: bottle's run "mkdir -p out/lNN && cat IN... |
  # sha256sum > OUT", ninja's "cat $in | sha256sum > $out" (ninja makes
  # output folders itself), one process more a step for bottle. bottle makes
  # output folders too now, so bottle-nomkdir.toml drops the mkdir: the same
  # commands as build.ninja, like for like. bottlecmds.ninja is build.ninja
  # with the generated bottle.toml's command lines: ninja on it is the floor
  # of that workload, and its row what bottle itself adds to it.
  awk 'BEGIN { print "rule b\n  command = $cmd\n" }
    /^inputs = / { i = $0; sub(/^inputs = \[/, "", i); sub(/\]$/, "", i); gsub(/[",]/, "", i) }
    /^run = / { r = $0; sub(/^run = "/, "", r); sub(/"$/, "", r); gsub(/\$/, "$$", r) }
    /^outputs = / { o = $0; sub(/^outputs = \["/, "", o); sub(/"\]$/, "", o); printf "build %s: b %s\n  cmd = %s\n", o, i, r }' \
    bottle.toml >bottlecmds.ninja
  sed 's|^run = "mkdir -p out/l[0-9]* \&\& |run = "|' bottle.toml >bottle-nomkdir.toml
  grep -q 'mkdir -p' bottle-nomkdir.toml && { echo "compare.sh: bottle-nomkdir.toml still runs mkdir -p: the generator changed" >&2; exit 1; }
  echo "w2cold: $RUNS_SLOW cold builds each of 5,000 steps, -j 2, by bottle (as generated, and without mkdir -p), ninja, and ninja on the generated command lines (a few minutes each)"
  rm -f "$WORK/m/bottle-apply-w2-cold" "$WORK/m/bottle-nomkdir-w2-cold" "$WORK/m/ninja-w2-cold" "$WORK/m/ninja-b-w2-cold"
  for ((i = 0; i < RUNS_SLOW; i++)); do
    measure bottle-nomkdir-w2-cold sh -c "rm -rf .bottle out $WORK/w2cold-cache && BOTTLE_CACHE_DIR=$WORK/w2cold-cache $BOTTLE -f bottle-nomkdir.toml apply --yes -j 2"
    measure ninja-w2-cold sh -c "rm -rf out .ninja_log .ninja_deps && ninja -j2"
    measure bottle-apply-w2-cold sh -c "rm -rf .bottle out $WORK/w2cold-cache && BOTTLE_CACHE_DIR=$WORK/w2cold-cache $BOTTLE apply --yes -j 2"
    measure ninja-b-w2-cold sh -c "rm -rf out .ninja_log .ninja_deps && ninja -f bottlecmds.ninja -j2"
  done
  report "W2 cold apply, -j 2, the same commands as ninja (no mkdir -p)" bottle-nomkdir-w2-cold ninja-w2-cold 1.25
  report "W2 cold apply, -j 2, bottle.toml as generated (mkdir -p a step)" bottle-apply-w2-cold ninja-w2-cold -
  report "W2 cold apply, -j 2, as generated, vs ninja on its command lines" bottle-apply-w2-cold ninja-b-w2-cold -
fi

if has w20k; then
  # W2's shape, 50 layers of 400 steps: how cost grows with the graph.
  K=$WORK/w20k/w2
  [[ -f $K/bottle.toml ]] || (cd "$SHARED/bench" && go run ./gen -out "$WORK/w20k" -only w2 -w2-layers 50 -w2-width 400)
  cd "$K"
  echo "w20k: 20,000 steps, nothing applied"
  paired bottle-plan-20k-first "rm -rf .bottle && $BOTTLE plan" walk-sha256-20k "$WORK/bin/walk -mode sha256 -j 2 src" "$RUNS_SLOW"
  report "20,000 steps, first plan (no .bottle/)" bottle-plan-20k-first walk-sha256-20k 1.3 100
  paired bottle-plan-20k-second "$BOTTLE plan" ninja-n-20k "ninja -n" "$RUNS_SLOW"
  report "20,000 steps, second plan" bottle-plan-20k-second ninja-n-20k 1.2 100
fi
echo
echo "results (also in $WORK/compare-results.txt):"
cat "$WORK/compare-results.txt"
