#!/usr/bin/env bash
# Writes the secrets docker-compose.yml reads into ./secrets/ (beside this
# script): a password per broker user, each process's broker URL, a signing
# keyring with one key, and the dashboard token. Existing files are kept, so
# running it again changes nothing; delete a file to renew that secret
# (then run broker-init again: docker compose up broker-init).
#
# The directory is 0700; the files are 0644 because Docker Compose (without
# Swarm) bind-mounts a secret file as it is, and the fleet runs as uid
# 10001, not as you. Keep the directory where only you can reach it.
#
#   PATCHFLEET_BROKER_HOST  the broker's host:port as the fleet sees it (default rabbitmq:5672)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$here/secrets
broker=${PATCHFLEET_BROKER_HOST:-rabbitmq:5672}
install -d -m 0700 "$dir"

# write NAME COMMAND...: NAME from COMMAND's output, unless it exists.
write() {
    local name=$1
    shift
    [ -s "$dir/$name" ] && return 0
    "$@" > "$dir/$name.tmp"
    chmod 0644 "$dir/$name.tmp"
    mv "$dir/$name.tmp" "$dir/$name"
    echo "wrote secrets/$name"
}
random() { openssl rand -hex 24; }

for user in pf-coordinator pf-worker pf-submitter pf-observer pf-admin; do
    write "$user-password" random
done
# A URL per process, each with its own user (docs/security.md); vhost patchfleet.
url() { printf 'amqp://%s:%s@%s/patchfleet\n' "$1" "$(head -n 1 "$dir/$1-password")" "$broker"; }
write coordinator-amqp-url url pf-coordinator
write worker-amqp-url url pf-worker
write submitter-amqp-url url pf-submitter
write admin-amqp-url url pf-admin

# The signing keyring (docs/operations.md): the coordinator and every worker
# get both files, at /run/secrets/keyring/ (secretFile is relative to it).
keygen() { openssl rand -base64 32; }
write compose-1 keygen
keyring() { printf 'signing: compose-1\nkeys:\n  - id: compose-1\n    secretFile: compose-1\n'; }
write keyring.yaml keyring

# The dashboard's bearer token (the coordinator listens beyond loopback).
write dashboard-token random
