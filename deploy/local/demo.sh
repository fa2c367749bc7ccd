#!/usr/bin/env bash
# The README's first command. On a fresh machine it installs what is missing,
# starts the private broker, builds PatchFleet, and runs the fleet as separate
# processes — the lab (the simulated datacenter from docs/examples), a
# coordinator and three workers (drain, deploy, rebalance) — then submits the
# example job and follows it live. It ends with the per-host outcome and the
# VM moves, which show each rule at work, and stops everything it started.
#
#   PATCHFLEET_DEMO_TIME_SCALE   simulated seconds per second (default 600: an hour in 6 s)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
scale=${PATCHFLEET_DEMO_TIME_SCALE:-600}
run=$(mktemp -d /tmp/patchfleet-demo.XXXXXX)

deploy/local/setup.sh
started_broker=0
if ! deploy/local/broker.sh status >/dev/null 2>&1; then
    deploy/local/broker.sh start
    started_broker=1
fi
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ $started_broker -eq 1 ]; then deploy/local/broker.sh stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
export PATCHFLEET_AMQP_URL
PATCHFLEET_AMQP_URL=$(deploy/local/broker.sh url)

echo "demo: building patchfleet (release; the first build takes a few minutes)" >&2
if ! swift build -c release --product patchfleet > "$run/build.log" 2>&1; then
    tail -n 40 "$run/build.log" >&2
    echo "demo: build failed" >&2
    exit 1
fi
bin=$(swift build -c release --show-bin-path)/patchfleet

echo; "$bin" selfcheck --messages 20; echo

# Waits until a process's log says it is serving (or it died).
await_ready() {
    local pid=$1 log=$2 text=$3
    for _ in $(seq 1 100); do
        grep -q "$text" "$log" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || { echo "demo: $log:" >&2; cat "$log" >&2; return 1; }
        sleep 0.1
    done
    echo "demo: timed out waiting for '$text' in $log" >&2
    return 1
}

"$bin" lab --inventory docs/examples/inventory.yaml --time-scale "$scale" --snapshot "$run/lab.json" > "$run/lab.log" 2>&1 &
lab_pid=$!; pids+=("$lab_pid")
await_ready "$lab_pid" "$run/lab.log" "lab serving"
"$bin" coordinator --store "$run/coordinator.sqlite" --catalog docs/examples/inventory.yaml --time-scale "$scale" \
    > "$run/coordinator.log" 2>&1 &
pids+=("$!"); await_ready "$!" "$run/coordinator.log" "coordinator running"
for role in drain deploy rebalance; do
    "$bin" worker --roles "$role" --concurrency 4 --time-scale "$scale" > "$run/worker-$role.log" 2>&1 &
    pids+=("$!"); await_ready "$!" "$run/worker-$role.log" "worker serving"
done
echo "fleet up: lab, coordinator and 3 workers as separate processes (time scale ${scale}x); logs in $run"
echo

status=0
"$bin" submit docs/examples/job.yaml --timeout 300 || status=$?

# Stop the lab first: on SIGTERM it writes its history, which the report reads.
kill -TERM "$lab_pid"; wait "$lab_pid" 2>/dev/null || true
echo
"$bin" lab-report --snapshot "$run/lab.json"
echo
case $status in
    0) echo "demo: the job succeeded" ;;
    1) echo "demo: the job ended with hosts held for a person (TYO-H2's install fails on purpose in the example lab)" ;;
    *) echo "demo: submit exited with $status" ; exit "$status" ;;
esac
