#!/bin/sh
# The image's HEALTHCHECK: asks the HTTP endpoint of this container's role.
#
#   patchfleet-healthcheck [healthz|readyz]     (default healthz)
#
# The role's address comes from the same environment variable patchfleet
# reads (PATCHFLEET_COORDINATOR_HTTP_ADDRESS, else
# PATCHFLEET_WORKER_HTTP_ADDRESS; HOST:PORT), so the check always asks the
# port the process was told to serve. A wildcard host (0.0.0.0, [::]) is
# asked on loopback. A container with neither variable serves no HTTP
# endpoint (the lab, a one-shot command): nothing to ask, so it is healthy
# as long as it runs, and says so.
set -eu
path=${1:-healthz}
address=${PATCHFLEET_COORDINATOR_HTTP_ADDRESS:-${PATCHFLEET_WORKER_HTTP_ADDRESS:-}}
if [ -z "$address" ]; then
    echo "no HTTP endpoint configured for this role: nothing to check"
    exit 0
fi
port=${address##*:}
host=${address%:*}
case "$host" in
    ""|0.0.0.0|"[::]"|"::") host=127.0.0.1 ;;
esac
exec curl --fail --silent --show-error --max-time 4 "http://$host:$port/$path"
