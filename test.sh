#!/usr/bin/env bash
# The test command of the README: unit tests beside the code and the
# end-to-end CLI tests under tests/, with the race detector.
set -euo pipefail
cd "$(dirname "$0")"
exec go test -race -count=1 "$@" ./...
