#!/usr/bin/env bash
# Installs what building and running PatchFleet needs on a Debian machine
# (librabbitmq for the AMQP transport, RabbitMQ for the private broker,
# amqp-tools and jq for the non-Swift client examples). Idempotent and quick when
# everything is there already.
set -euo pipefail
need=()
dpkg -s librabbitmq-dev >/dev/null 2>&1 || need+=(librabbitmq-dev)
dpkg -s pkg-config >/dev/null 2>&1 || need+=(pkg-config)
dpkg -s rabbitmq-server >/dev/null 2>&1 || need+=(rabbitmq-server)
dpkg -s amqp-tools >/dev/null 2>&1 || need+=(amqp-tools)
# docs/integrating.md's shell walkthrough (run by a test) reads events with jq.
command -v jq >/dev/null 2>&1 || need+=(jq)
dpkg -s libsqlite3-dev >/dev/null 2>&1 || need+=(libsqlite3-dev)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The dashboard's tests: curl reads the HTTP endpoints, Debian's chromium
# (headless) loads the page during a real run.
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# The backend tests' fake ssh is a Python script.
[ -x /usr/bin/python3 ] || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: no swift toolchain on PATH (expected Swift 6.x)" >&2; exit 1; }
