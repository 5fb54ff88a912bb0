#!/usr/bin/env bash
# remote_launch.sh: the launch pipeline on a fresh laptop after CI warmed
# the remote cache (issue 8). A CI-like workspace runs examples/launch cold
# with `bottle cache warm`; a laptop-like workspace at another path, with an
# empty local cache and the image gone from the engine, then applies with
# the remote cache: everything is restored but the push (which finds every
# blob present) and machine.create. Prints both times, step by step.
#
# Needs a Docker engine and a registry (REGISTRY, default 127.0.0.1:5000);
# .ci/run shows how to start both. Uses the fake smolvm of tests/.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
REGISTRY=${REGISTRY:-127.0.0.1:5000}
docker version >/dev/null 2>&1 || { echo "remote_launch.sh: no Docker engine answers (start dockerd)" >&2; exit 1; }
(exec 3<>"/dev/tcp/${REGISTRY%:*}/${REGISTRY#*:}") 2>/dev/null || { echo "remote_launch.sh: no registry at $REGISTRY" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
(cd "$ROOT" && go build -o "$work/bin/bottle" ./cmd/bottle && go build -o "$work/bin/bottle-buildkit" ./cmd/bottle-buildkit && go build -o "$work/bin/smolvm" ./tests/fakesmolvm)
export PATH="$work/bin:$PATH" SMOLVM_DATA_DIR="$work/smolvm"
id="b$(date +%s%N)"
export BOTTLE_REMOTE_CACHE="oci://$REGISTRY/bottle-bench/launch-$id"
ms() { echo $(( ($2 - $1) / 1000000 )); }
now() { date +%s%N; }

for ws in ci laptop; do
  cp -r "$ROOT/examples/launch" "$work/$ws"
  sed -i "s|^registry = .*|registry = \"$REGISTRY\"|; s|^name = .*|name = \"$id\"|" "$work/$ws/bottle.toml"
  echo "echo $id" >> "$work/$ws/context/agent.sh"   # a new image: no layer cache helps
done

echo "== CI: cold, bottle cache warm (uploads every result)"
cd "$work/ci"
t0=$(now)
BOTTLE_CACHE_DIR="$work/ci-cache" bottle cache warm --progress plain 2>"$work/ci.log" >"$work/ci.out"
t1=$(now)
grep -E '^\s+[✓↓]' "$work/ci.log" | sed 's/^/  /'
grep -E 'Apply complete' "$work/ci.log" | sed 's/^/  /'
echo "  total: $(ms "$t0" "$t1") ms"

echo "== laptop: another path, empty local cache, the image gone from the engine"
docker rmi -f "$id:dev" >/dev/null
cd "$work/laptop"
t0=$(now)
BOTTLE_CACHE_DIR="$work/laptop-cache" bottle apply --yes --progress plain 2>"$work/laptop.log" >/dev/null
t1=$(now)
grep -E '^\s+[✓↓]' "$work/laptop.log" | sed 's/^/  /'
grep -E 'Apply complete' "$work/laptop.log" | sed 's/^/  /'
echo "  total: $(ms "$t0" "$t1") ms"
smolvm machine delete --name "$id" -f >/dev/null 2>&1 || true
