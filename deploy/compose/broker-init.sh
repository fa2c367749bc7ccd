#!/usr/bin/env bash
# docker-compose.yml's broker-init service: loads the fleet's broker
# definitions into the node $RABBITMQ_NODE with the passwords from the
# compose secrets, adds the administrator (pf-admin: the simulated lab,
# dead-letter inspection, the management UI) and removes guest.
# Runs in the rabbitmq image as the rabbitmq user, with the broker's data
# volume mounted (the Erlang cookie). Safe to run again.
set -euo pipefail
node=${RABBITMQ_NODE:?the broker node, e.g. rabbit@rabbitmq}
load=/patchfleet/rabbitmq/load-definitions.sh
bash "$load" -n "$node" /patchfleet/rabbitmq/definitions.json /run/secrets/broker-users
bash "$load" -n "$node" /patchfleet/compose/admin-definitions.json /run/secrets/broker-admin
if rabbitmqctl -n "$node" --quiet list_users | grep -q '^guest[[:space:]]'; then
    rabbitmqctl -n "$node" --quiet delete_user guest
    echo "removed the guest user"
fi
