#!/usr/bin/env bash
# The README's test command: installs what is missing, starts the private
# broker, builds (failing on any compiler warning in our own code), runs the
# whole test suite against the real broker, and stops every broker it started,
# even when a step fails.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

deploy/local/setup.sh
trap 'deploy/local/broker.sh stop-all >/dev/null 2>&1 || true' EXIT
deploy/local/broker.sh start
export PATCHFLEET_AMQP_URL
PATCHFLEET_AMQP_URL=$(deploy/local/broker.sh url)

log=$(mktemp)
echo "test: building (debug, with tests)" >&2
if ! swift build --build-tests 2>&1 | tee "$log"; then
    echo "test: build failed" >&2
    exit 1
fi
# Strict concurrency is on; a warning in our own code is a defect.
if grep -E "^$repo/(Sources|Tests)/.*warning:" "$log"; then
    echo "test: the build has warnings in PatchFleet's own code (above)" >&2
    exit 1
fi
swift test --skip-build "$@"
