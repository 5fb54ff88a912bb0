#!/usr/bin/env bash
# launch.sh: the launch pipeline's figures (issue 3). Times a cold run of
# examples/launch with bottle, step by step, next to the same chain done by
# hand (docker build, docker save, a go-containerregistry push, the fake
# smolvm's pack and create); then a warm no-op apply, and a cache hit on an
# engine that lacks the image (a load) against the build.
#
# Needs a Docker engine and a registry (REGISTRY, default 127.0.0.1:5000);
# .ci/run shows how to start both. Uses the fake smolvm of tests/.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
REGISTRY=${REGISTRY:-127.0.0.1:5000}
RUNS=${RUNS:-5}
docker version >/dev/null 2>&1 || { echo "launch.sh: no Docker engine answers (start dockerd)" >&2; exit 1; }
(exec 3<>"/dev/tcp/${REGISTRY%:*}/${REGISTRY#*:}") 2>/dev/null || { echo "launch.sh: no registry at $REGISTRY" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
(cd "$ROOT" && go build -o "$work/bin/bottle" ./cmd/bottle && go build -o "$work/bin/bottle-buildkit" ./cmd/bottle-buildkit && go build -o "$work/bin/smolvm" ./tests/fakesmolvm && go build -o "$work/bin/pushtool" ./bench/pushtool)
export PATH="$work/bin:$PATH" SMOLVM_DATA_DIR="$work/smolvm" BOTTLE_CACHE_DIR="$work/cache"
id="b$(date +%s%N)"
cp -r "$ROOT/examples/launch" "$work/launch"
cd "$work/launch"
sed -i "s|^registry = .*|registry = \"$REGISTRY\"|; s|^name = .*|name = \"$id\"|" bottle.toml
echo "echo $id" >> context/agent.sh   # a new image: no layer cache helps either side

ms() { echo $(( ($2 - $1) / 1000000 )); }
now() { date +%s%N; }

echo "== cold run, bottle (per-step times from its progress lines)"
t0=$(now)
bottle apply --yes --progress plain 2>"$work/apply.log" >/dev/null
t1=$(now)
grep -E '^\s+✓' "$work/apply.log" | sed 's/^/  /'
echo "  total: $(ms "$t0" "$t1") ms"

echo "== the same chain by hand"
cp -r "$work/launch/context" "$work/byhand"
cd "$work/byhand"
echo "echo byhand $id" >> agent.sh
t=$(now); DOCKER_BUILDKIT=0 docker build -q -t "$id-hand:dev" . >/dev/null 2>&1; echo "  docker build   $(ms "$t" "$(now)") ms"
t=$(now); docker save -o image.tar "$id-hand:dev"; echo "  docker save    $(ms "$t" "$(now)") ms"
t=$(now); ref=$(pushtool image.tar "$REGISTRY/$id-hand:dev"); echo "  push           $(ms "$t" "$(now)") ms"
mkdir -p build
t=$(now); smolvm pack create --image "$ref" --output build/agent >/dev/null 2>&1; echo "  smolvm pack    $(ms "$t" "$(now)") ms"
t=$(now); smolvm machine create --name "$id-hand" --from build/agent.smolmachine >/dev/null; echo "  smolvm create  $(ms "$t" "$(now)") ms"

echo "== warm no-op apply (median of $RUNS; it makes no Docker call: see tests/contacts_test.go)"
cd "$work/launch"
walls=()
for ((i = 0; i < RUNS; i++)); do
  t=$(now); bottle apply --yes >/dev/null 2>&1; walls+=("$(ms "$t" "$(now)")")
done
printf '  %s ms\n' "$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"

echo "== a cache hit on an engine that lacks the image: load against build"
build_ms=$(grep -E '✓ build ' "$work/apply.log" | grep -oE '[0-9.]+(ms|s)$' || true)
docker rmi -f "$id:dev" >/dev/null
rm -rf .bottle
bottle apply --yes --progress plain build 2>"$work/restore.log" >/dev/null
echo "  build (cold run): $build_ms"
echo "  restore by load:  $(grep -E '↓ build ' "$work/restore.log" | grep -oE '[0-9.]+(ms|s)$' || echo '?')"
smolvm machine delete --name "$id" -f >/dev/null 2>&1 || true
smolvm machine delete --name "$id-hand" -f >/dev/null 2>&1 || true
