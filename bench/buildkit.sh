#!/usr/bin/env bash
# buildkit.sh: image.build's figures (issue 11). For each example's
# Dockerfile, times bottle's image.build next to `docker build` with
# BuildKit on the same engine, for the same Dockerfile and context, in one
# run: a cold build (a line no earlier build has seen is appended to the
# context each time, so every RUN after it runs), then a warm one (nothing
# changed). With BUILDKIT_ADDR (a buildkitd), it also times bottle on that
# standalone builder next to buildctl there. Medians of RUNS.
#
# Needs a Docker engine and a docker client that builds with BuildKit
# (Engine 23 and later, or DOCKER_BUILDKIT=1 with a 20.10 client; DOCKER
# picks the binary). .ci/run shows how to start the engine and build a
# buildkitd (.ci/build-buildkitd).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
RUNS=${RUNS:-5}
docker version >/dev/null 2>&1 || { echo "buildkit.sh: no Docker engine answers (start dockerd)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
(cd "$ROOT" && go build -o "$work/bin/bottle" ./cmd/bottle && go build -o "$work/bin/bottle-buildkit" ./cmd/bottle-buildkit)
export PATH="$work/bin:$PATH" BOTTLE_CACHE_DIR="$work/cache"

# A docker client that builds with BuildKit: the first of DOCKER, docker and
# Debian's /usr/bin/docker that can.
probe=$(mktemp -d -p "$work")
printf 'FROM scratch\nLABEL bench=probe\n' >"$probe/Dockerfile"
cli=""
for c in ${DOCKER:-} docker /usr/bin/docker; do
  if command -v "$c" >/dev/null && DOCKER_BUILDKIT=1 "$c" build -q "$probe" >/dev/null 2>&1; then
    cli=$c
    break
  fi
done
[[ -n $cli ]] || { echo "buildkit.sh: no docker client here builds with BuildKit (set DOCKER)" >&2; exit 1; }
buildctl=""
if [[ -n ${BUILDKIT_ADDR:-} ]]; then
  buildctl=$(command -v buildctl || true)
fi

ms() { echo $(( ($2 - $1) / 1000000 )); }
now() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# bench NAME CONTEXT-SETUP BUMP: CONTEXT-SETUP fills the folder it is
# given; BUMP is a file of it that the Dockerfile copies early, changed
# before each cold build.
bench() {
  local name=$1 setup=$2 bump=$3
  local ws="$work/$name"
  mkdir -p "$ws/ctx"
  "$setup" "$ws/ctx"
  cat >"$ws/bottle.toml" <<TOML
[settings]
buildkit = "${BOTTLE_BENCH_BUILDKIT:-}"

[steps.img]
kind = "image.build"
context = "ctx"
tags = ["bottle-bench-$name:dev"]
TOML
  if [[ -z ${BOTTLE_BENCH_BUILDKIT:-} ]]; then sed -i '1,3d' "$ws/bottle.toml"; fi
  local cold_b=() cold_d=() warm_b=() warm_d=() t
  # BOTTLE_BENCH_NO_ENGINE: bottle sees no Docker engine, so it keeps the
  # archive and loads nothing (as buildctl's docker exporter does).
  local host=${DOCKER_HOST:-}
  [[ -n ${BOTTLE_BENCH_NO_ENGINE:-} ]] && host=unix://$work/no-engine.sock
  cd "$ws"
  for ((i = 0; i < RUNS; i++)); do
    echo "echo bench $name $(now) $RANDOM" >>"ctx/$bump"
    t=$(now); DOCKER_HOST=$host bottle apply --yes >/dev/null 2>"$work/apply.log" || { cat "$work/apply.log" >&2; exit 1; }; cold_b+=("$(ms "$t" "$(now)")")
    t=$(now); DOCKER_HOST=$host bottle apply --yes >/dev/null 2>&1; warm_b+=("$(ms "$t" "$(now)")")
    echo "echo peer $(now) $RANDOM" >>"ctx/$bump"
    if [[ -n ${BOTTLE_BENCH_BUILDKIT:-} ]]; then
      t=$(now); "$buildctl" --addr "$BUILDKIT_ADDR" build --frontend dockerfile.v0 --local context=ctx --local dockerfile=ctx \
        --output "type=docker,name=bottle-bench-$name-ctl:dev,dest=$work/ctl.tar" >/dev/null 2>"$work/ctl.log" || { cat "$work/ctl.log" >&2; exit 1; }; cold_d+=("$(ms "$t" "$(now)")")
      t=$(now); "$buildctl" --addr "$BUILDKIT_ADDR" build --frontend dockerfile.v0 --local context=ctx --local dockerfile=ctx \
        --output "type=docker,name=bottle-bench-$name-ctl:dev,dest=$work/ctl.tar" >/dev/null 2>"$work/ctl.log" || { cat "$work/ctl.log" >&2; exit 1; }; warm_d+=("$(ms "$t" "$(now)")")
    else
      t=$(now); DOCKER_BUILDKIT=1 "$cli" build -q -t "bottle-bench-$name-docker:dev" ctx >/dev/null; cold_d+=("$(ms "$t" "$(now)")")
      t=$(now); DOCKER_BUILDKIT=1 "$cli" build -q -t "bottle-bench-$name-docker:dev" ctx >/dev/null; warm_d+=("$(ms "$t" "$(now)")")
    fi
  done
  local peer="DOCKER_BUILDKIT=1 $cli build"
  [[ -n ${BOTTLE_BENCH_BUILDKIT:-} ]] && peer="buildctl build (docker exporter)"
  printf '  %-8s cold: bottle %5s ms, %s %5s ms | warm: bottle %5s ms, %s %5s ms\n' \
    "$name" "$(median "${cold_b[@]}")" "$peer" "$(median "${cold_d[@]}")" \
    "$(median "${warm_b[@]}")" "$peer" "$(median "${warm_d[@]}")"
  docker rmi -f "bottle-bench-$name:dev" "bottle-bench-$name-docker:dev" >/dev/null 2>&1 || true
  cd "$work"
}

launch_ctx() {
  cp -r "$ROOT/examples/launch/context/." "$1/"
  cp "$(command -v busybox)" "$1/busybox"
}
# examples/release's Dockerfile copies a cross-built binary: a stand-in of
# the same size class (busybox) takes its place.
release_ctx() {
  cp "$ROOT/examples/release/Dockerfile" "$1/"
  mkdir -p "$1/out/cross"
  cp "$(command -v busybox)" "$1/out/cross/fuzzy-linux_amd64"
}

echo "== through the engine ($(docker version --format '{{.Server.Version}}'), bottle vs DOCKER_BUILDKIT=1 $cli build; medians of $RUNS)"
bench launch launch_ctx agent.sh
bench release release_ctx out/cross/fuzzy-linux_amd64
if [[ -n $buildctl ]]; then
  echo "== on the standalone buildkitd at $BUILDKIT_ADDR (bottle vs buildctl; medians of $RUNS)"
  echo "   (bottle also loads each image into the local engine)"
  BOTTLE_BENCH_BUILDKIT=$BUILDKIT_ADDR bench launch-bkd launch_ctx agent.sh
  BOTTLE_BENCH_BUILDKIT=$BUILDKIT_ADDR bench release-bkd release_ctx out/cross/fuzzy-linux_amd64
  echo "   (no local engine: bottle keeps the archive only, as buildctl does)"
  BOTTLE_BENCH_BUILDKIT=$BUILDKIT_ADDR BOTTLE_BENCH_NO_ENGINE=1 bench launch-bkd launch_ctx agent.sh
  BOTTLE_BENCH_BUILDKIT=$BUILDKIT_ADDR BOTTLE_BENCH_NO_ENGINE=1 bench release-bkd release_ctx out/cross/fuzzy-linux_amd64
fi
