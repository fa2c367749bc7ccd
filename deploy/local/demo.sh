#!/usr/bin/env bash
# The README's first command: sets up what is missing, starts the private
# broker, builds PatchFleet, checks the AMQP transport with a confirmed round
# trip, and runs the demo patch job on the simulated datacenter from
# docs/examples with live progress. Stops the broker it started on exit.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

deploy/local/setup.sh
started_broker=0
if ! deploy/local/broker.sh status >/dev/null 2>&1; then
    deploy/local/broker.sh start
    started_broker=1
fi
trap '[ $started_broker -eq 1 ] && deploy/local/broker.sh stop >/dev/null 2>&1 || true' EXIT
export PATCHFLEET_AMQP_URL
PATCHFLEET_AMQP_URL=$(deploy/local/broker.sh url)

echo "demo: building patchfleet (release)" >&2
swift build -c release --product patchfleet 2>&1 | grep -E "error|warning: " >&2 || true
bin=$(swift build -c release --show-bin-path)/patchfleet
[ -x "$bin" ] || { echo "demo: build failed" >&2; exit 1; }

echo
"$bin" selfcheck
if "$bin" --help | grep -q "simulate"; then
    echo
    "$bin" simulate --inventory docs/examples/inventory.yaml --job docs/examples/job.yaml
fi
