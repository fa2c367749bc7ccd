#!/usr/bin/env bash
# The fault-injection run (issue 6): for each seed, a job over 105 simulated
# hosts in 15 clusters through the private broker, a coordinator and two
# workers per role as processes, while a seeded schedule SIGKILLs and
# restarts workers and the coordinator, restarts the broker, and the
# simulated backends fail, time out and answer late. Each run ends with the
# faults injected, the hosts patched / held / failed / skipped with their
# reasons, and `violations=N`; this script exits non-zero if any run found a
# violation or did not finish.
#
#   CHAOS_SEEDS      seeds to run (default "1 2 3")
#   CHAOS_CLUSTERS   clusters (default 15)      CHAOS_HOSTS  hosts per cluster (default 7)
#   CHAOS_SCALE      simulated seconds per second (default 600)
#   CHAOS_BROKER_RESTARTS  broker restarts per run (default 1)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
seeds=${CHAOS_SEEDS:-1 2 3}

deploy/local/setup.sh
started_broker=0
if ! deploy/local/broker.sh status >/dev/null 2>&1; then
    deploy/local/broker.sh start
    started_broker=1
fi
cleanup() {
    if [ $started_broker -eq 1 ]; then deploy/local/broker.sh stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
export PATCHFLEET_AMQP_URL
PATCHFLEET_AMQP_URL=$(deploy/local/broker.sh url)

echo "chaos: building patchfleet (release)" >&2
swift build -c release --product patchfleet > /tmp/patchfleet-chaos-build.log 2>&1 || { tail -n 40 /tmp/patchfleet-chaos-build.log >&2; exit 1; }
bin=$(swift build -c release --show-bin-path)/patchfleet

failed=0
summary=()
for seed in $seeds; do
    echo; echo "=== seed $seed"
    status=0
    "$bin" chaos --seed "$seed" --clusters "${CHAOS_CLUSTERS:-15}" --hosts-per-cluster "${CHAOS_HOSTS:-7}" \
        --time-scale "${CHAOS_SCALE:-600}" --broker-restarts "${CHAOS_BROKER_RESTARTS:-1}" \
        --broker-script deploy/local/broker.sh | tee "/tmp/patchfleet-chaos-$seed.out" || status=$?
    summary+=("seed $seed: $(tail -n 1 "/tmp/patchfleet-chaos-$seed.out") (exit $status)")
    [ $status -eq 0 ] || failed=1
done
echo; printf '%s\n' "${summary[@]}"
exit $failed
