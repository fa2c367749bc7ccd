#!/usr/bin/env bash
# A private RabbitMQ node on loopback for tests and the demo.
#
#   deploy/local/broker.sh start|stop|restart|status|url|pause|resume
#   deploy/local/broker.sh ctl ARGS...                      rabbitmqctl against this node
#   deploy/local/broker.sh load-definitions FILE SECRETS_DIR  vhost, users, permissions
#                          (deploy/rabbitmq/load-definitions.sh against this node)
#
# It never touches another broker on the machine: its own node name, ports,
# data and log directories, config and plugin files. Several can run side by
# side (tests start a second one to kill and restart it):
#
#   PATCHFLEET_BROKER_NAME   instance name            (default: patchfleet)
#   PATCHFLEET_BROKER_PORT   AMQP port on 127.0.0.1   (default: 5682)
#   PATCHFLEET_BROKER_HOME   where instances live     (default: <repo>/.broker)
#   PATCHFLEET_BROKER_TLS_PORT  also listen with TLS on this port, using
#   PATCHFLEET_BROKER_TLS_DIR   ca.pem, server.pem and server.key from this directory
#
# The Erlang distribution port is the AMQP port + 20000. Runs as root (the
# Debian package's wrapper would switch users and miss the Erlang cookie).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
name=${PATCHFLEET_BROKER_NAME:-patchfleet}
port=${PATCHFLEET_BROKER_PORT:-5682}
home=${PATCHFLEET_BROKER_HOME:-$repo/.broker}
dir=$home/$name
node="$name@localhost"
sbin=/usr/lib/rabbitmq/bin

export RABBITMQ_NODENAME=$node
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$port
export RABBITMQ_DIST_PORT=$((port + 20000))
export RABBITMQ_MNESIA_BASE=$dir/mnesia
export RABBITMQ_LOG_BASE=$dir/log
export RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf
export RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
export RABBITMQ_PID_FILE=$dir/rabbit.pid
export RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config
export ERL_EPMD_ADDRESS=127.0.0.1
export HOME=${HOME:-/root}

ctl() { "$sbin/rabbitmqctl" -n "$node" "$@"; }

install_if_missing() {
    [ -x "$sbin/rabbitmq-server" ] && return 0
    echo "broker: installing rabbitmq-server from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # policy-rc.d keeps the package from starting the system-wide service.
    apt-get install -y -qq rabbitmq-server >/dev/null
}

is_running() {
    [ -f "$RABBITMQ_PID_FILE" ] && kill -0 "$(cat "$RABBITMQ_PID_FILE")" 2>/dev/null
}

accepts_connections() {
    # An AMQP listener answers a protocol header with its own; bash's /dev/tcp suffices.
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

start() {
    install_if_missing
    if is_running && accepts_connections; then
        echo "broker $name already running on 127.0.0.1:$port"
        return 0
    fi
    mkdir -p "$dir/mnesia" "$dir/log"
    cat > "$RABBITMQ_CONFIG_FILE" <<CONF
listeners.tcp.1 = 127.0.0.1:$port
loopback_users.guest = true
heartbeat = 30
vm_memory_high_watermark.relative = 0.2
disk_free_limit.absolute = 50MB
log.file.level = warning
log.console = false
CONF
    if [ -n "${PATCHFLEET_BROKER_TLS_PORT:-}" ]; then
        local tls=${PATCHFLEET_BROKER_TLS_DIR:?PATCHFLEET_BROKER_TLS_DIR must name a directory with ca.pem, server.pem, server.key}
        cat >> "$RABBITMQ_CONFIG_FILE" <<CONF
listeners.ssl.1 = 127.0.0.1:$PATCHFLEET_BROKER_TLS_PORT
ssl_options.cacertfile = $tls/ca.pem
ssl_options.certfile = $tls/server.pem
ssl_options.keyfile = $tls/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
CONF
    fi
    [ -f "$RABBITMQ_ENABLED_PLUGINS_FILE" ] || echo "[]." > "$RABBITMQ_ENABLED_PLUGINS_FILE"
    [ -f "$RABBITMQ_ADVANCED_CONFIG_FILE" ] || echo "[]." > "$RABBITMQ_ADVANCED_CONFIG_FILE"
    # -detached loses the pid; run in the background ourselves and record it.
    setsid "$sbin/rabbitmq-server" >"$dir/log/stdout.log" 2>&1 < /dev/null &
    local pid=$!
    echo "$pid" > "$dir/launcher.pid"
    local waited=0
    until accepts_connections && ctl await_startup --timeout 5 >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "broker $name failed to start; last log lines:" >&2
            tail -n 30 "$dir/log/stdout.log" >&2 || true
            return 1
        fi
        sleep 0.5
        waited=$((waited + 1))
        if [ $waited -gt 120 ]; then echo "broker $name did not start within 60 s" >&2; return 1; fi
    done
    echo "broker $name running on 127.0.0.1:$port"
}

stop() {
    if ctl stop >/dev/null 2>&1; then :; fi
    if [ -f "$dir/launcher.pid" ]; then
        local pid; pid=$(cat "$dir/launcher.pid")
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -9 -- "-$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
        rm -f "$dir/launcher.pid"
    fi
    echo "broker $name stopped"
}

# Freeze/thaw the node without closing its sockets: to clients it looks like
# a dead peer (no heartbeats), which is what heartbeat tests need.
signal_node() {
    local pid; pid=$(cat "$RABBITMQ_PID_FILE")
    kill "-$1" "$pid"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    restart) stop; start ;;
    status) if is_running && accepts_connections; then echo "running on 127.0.0.1:$port"; else echo "stopped"; exit 1; fi ;;
    url) echo "amqp://guest:guest@127.0.0.1:$port/%2f" ;;
    pause) signal_node STOP ;;
    resume) signal_node CONT ;;
    ctl) shift; ctl "$@" ;;
    load-definitions)
        shift
        RABBITMQCTL=$sbin/rabbitmqctl "$repo/deploy/rabbitmq/load-definitions.sh" -n "$node" "$@" ;;
    stop-all)
        # Every instance under $home (tests start extra ones).
        for d in "$home"/*/; do
            [ -f "$d/rabbitmq.conf" ] || continue
            n=$(basename "$d"); p=$(sed -n 's/^listeners.tcp.1 = 127.0.0.1:\([0-9]*\)$/\1/p' "$d/rabbitmq.conf")
            PATCHFLEET_BROKER_NAME=$n PATCHFLEET_BROKER_PORT=$p "$0" stop
        done ;;
    *) echo "usage: $0 start|stop|stop-all|restart|status|url|pause|resume|ctl ARGS|load-definitions FILE SECRETS_DIR" >&2; exit 2 ;;
esac
