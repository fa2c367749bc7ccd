#!/usr/bin/env bash
# Loads PatchFleet's broker definitions (vhost, users per role, permissions)
# into a RabbitMQ node and sets each user's password from a secret file.
#
#   deploy/rabbitmq/load-definitions.sh [-n NODE] DEFINITIONS SECRETS_DIR
#
#   DEFINITIONS  a RabbitMQ definitions file, e.g. deploy/rabbitmq/definitions.json.
#                It holds no passwords: its users come in unable to log in
#                (importing also clears the password of a user that exists).
#   SECRETS_DIR  one file per user, named after it (pf-coordinator, pf-worker,
#                pf-submitter, pf-observer), its password on the first line.
#                A user without a file is left unable to log in.
#   -n NODE      the node to load into (rabbitmqctl's -n); default: rabbitmqctl's own
#
#   RABBITMQCTL  the rabbitmqctl to run (default: rabbitmqctl on PATH)
#
# Passwords go to rabbitmqctl on its standard input, never on a command line
# (where ps would show them), and are never printed. Re-running is safe: the
# definitions are imported again and every password set again.
# deploy/local/broker.sh load-definitions runs this against the private broker.
set -euo pipefail

usage() { echo "usage: $0 [-n NODE] DEFINITIONS SECRETS_DIR" >&2; exit 2; }

ctl=("${RABBITMQCTL:-rabbitmqctl}")
if [ "${1:-}" = "-n" ]; then
    [ $# -ge 2 ] || usage
    ctl+=(-n "$2")
    shift 2
fi
[ $# -eq 2 ] || usage
definitions=$1
secrets=$2
[ -f "$definitions" ] || { echo "load-definitions: no definitions file '$definitions'" >&2; exit 2; }
[ -d "$secrets" ] || { echo "load-definitions: no secrets directory '$secrets'" >&2; exit 2; }

# Check every secret before changing anything on the broker.
users=()
for file in "$secrets"/*; do
    [ -f "$file" ] || continue
    user=$(basename "$file")
    if [ -z "$(head -n 1 "$file")" ]; then
        echo "load-definitions: the secret for $user ($file) is empty; an empty password would disable its login" >&2
        exit 1
    fi
    users+=("$user")
done
[ ${#users[@]} -gt 0 ] || { echo "load-definitions: no secret files in '$secrets'" >&2; exit 1; }

"${ctl[@]}" import_definitions "$definitions" >/dev/null
for user in "${users[@]}"; do
    if ! head -n 1 "$secrets/$user" | "${ctl[@]}" --quiet change_password "$user" >/dev/null; then
        echo "load-definitions: cannot set the password of '$user' (is it a user of $definitions?)" >&2
        exit 1
    fi
done
echo "loaded $definitions; passwords set for ${users[*]}"
