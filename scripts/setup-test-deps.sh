#!/usr/bin/env bash
# Installs the Debian packages the tests drive for real (a Prometheus that scrapes the agent,
# an Alertmanager that receives its alerts, memcached, Chromium for the live page) and makes
# sure the loopback services the tests use (Redis, RabbitMQ, NATS JetStream) are up.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

pkgs=(prometheus prometheus-alertmanager memcached chromium openssl)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && exec 3>&-; }
wait_port() { for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 1; done; echo "port $1 did not open" >&2; return 1; }

if ! port_open 6379 && command -v redis-server >/dev/null; then
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /tmp >/dev/null
  wait_port 6379
fi
if ! port_open 5672 && command -v rabbitmq-server >/dev/null; then
  $SUDO rabbitmq-server -detached
  wait_port 5672
fi
if ! port_open 4222 && command -v nats-server >/dev/null; then
  $SUDO mkdir -p /var/lib/nats-server
  $SUDO start-stop-daemon --start --oknodo --background --exec "$(command -v nats-server)" -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server
  wait_port 4222
fi
echo "test dependencies ready"
