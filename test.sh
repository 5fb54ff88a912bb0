#!/usr/bin/env bash
# The test command of the README: unit tests beside the code and the
# end-to-end CLI tests under tests/, with the race detector.
set -euo pipefail
cd "$(dirname "$0")"
# -timeout: the end-to-end package runs about 8 minutes under -race on 2
# cores, near go test's default of 10.
exec go test -race -count=1 -timeout 30m "$@" ./...
