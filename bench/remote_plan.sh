#!/usr/bin/env bash
# remote_plan.sh: plan a 1,000-step graph whose results are all in a remote
# cache (a registry on loopback), from an empty local cache. Goal (issue 8):
# under 2 s. Also times a warm CI rerun (goal: zero blob uploads).
#
# Usage: bench/remote_plan.sh   (needs a registry: REGISTRY=127.0.0.1:5000)
# Env:   WORK (default /tmp/remoteplan), RUNS (default 5), STEPS (1000),
#        LAYERS (10).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
WORK=${WORK:-/tmp/remoteplan}
RUNS=${RUNS:-5}
STEPS=${STEPS:-1000}
LAYERS=${LAYERS:-10}
REGISTRY=${REGISTRY:-127.0.0.1:5000}
(exec 3<>/dev/tcp/${REGISTRY%:*}/${REGISTRY#*:}) 2>/dev/null || {
  echo "remote_plan.sh: no registry answers at $REGISTRY (start docker-registry, or set REGISTRY)" >&2; exit 1; }

rm -rf "$WORK"; mkdir -p "$WORK/ci" "$WORK/bin"
(cd "$ROOT" && go build -o "$WORK/bin/bottle" ./cmd/bottle)
BOTTLE=$WORK/bin/bottle
export BOTTLE_REMOTE_CACHE=oci://$REGISTRY/bottle-bench/plan-$$-$(date +%s)

# STEPS steps in LAYERS layers; each reads its own input and needs two
# steps of the layer before.
per=$((STEPS / LAYERS))
{
  for ((l = 0; l < LAYERS; l++)); do
    for ((i = 0; i < per; i++)); do
      echo "[steps.s${l}_${i}]"
      echo 'kind = "exec"'
      echo "inputs = [\"in/${l}_${i}.txt\"]"
      if ((l > 0)); then
        echo "needs = [\"s$((l - 1))_${i}\", \"s$((l - 1))_$(((i + 1) % per))\"]"
      fi
      echo "run = \"cp in/${l}_${i}.txt out/${l}_${i}.txt\""
      echo "outputs = [\"out/${l}_${i}.txt\"]"
      echo
    done
  done
} >"$WORK/ci/bottle.toml"
mkdir -p "$WORK/ci/in" "$WORK/ci/out"
for ((l = 0; l < LAYERS; l++)); do for ((i = 0; i < per; i++)); do echo "$l $i" >"$WORK/ci/in/${l}_${i}.txt"; done; done
touch "$WORK/ci/out/.keep"

echo "warming the remote cache with $STEPS steps (CI)..."
(cd "$WORK/ci" && BOTTLE_CACHE_DIR=$WORK/ci-cache "$BOTTLE" cache warm -j 4 >"$WORK/warm1.log" 2>&1)
tail -2 "$WORK/warm1.log"
echo "a warm rerun (goal: no upload):"
(cd "$WORK/ci" && BOTTLE_CACHE_DIR=$WORK/ci-cache "$BOTTLE" cache warm 2>&1 | tail -1)

median() { sort -n | awk '{a[NR]=$1} END {m=int((NR+1)/2); print a[m]}'; }
times=()
for ((r = 0; r < RUNS; r++)); do
  rm -rf "$WORK/laptop" "$WORK/laptop-cache"
  mkdir -p "$WORK/laptop"
  cp -r "$WORK/ci/bottle.toml" "$WORK/ci/in" "$WORK/laptop/"
  mkdir -p "$WORK/laptop/out"; touch "$WORK/laptop/out/.keep"
  s=$(date +%s.%N)
  (cd "$WORK/laptop" && BOTTLE_CACHE_DIR=$WORK/laptop-cache "$BOTTLE" plan >"$WORK/plan.log")
  e=$(date +%s.%N)
  times+=("$(echo "$e - $s" | bc)")
done
tail -1 "$WORK/plan.log"
m=$(printf '%s\n' "${times[@]}" | median)
printf 'plan of %d steps, all in the remote, empty local cache: median %.3f s over %d runs (goal < 2 s)\n' "$STEPS" "$m" "$RUNS"
