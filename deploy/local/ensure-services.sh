#!/usr/bin/env bash
# Make sure PostgreSQL, Redis and RabbitMQ answer on 127.0.0.1. Starts whichever is installed
# but stopped; installs a missing one from Debian's packages when run as root; otherwise says
# exactly what is missing and how to get it, and fails.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {  # name port seconds
  local deadline=$((SECONDS + $3))
  until port_open "$2"; do
    if ((SECONDS >= deadline)); then echo "!! $1 did not open port $2 within $3 s" >&2; return 1; fi
    sleep 0.5
  done
  echo "ok $1 on 127.0.0.1:$2"
}

apt_install() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "!! $1 is not installed. Install it (Debian: sudo apt-get install $*)," >&2
    echo "   or run the dependencies with: docker compose -f deploy/compose.yaml up -d postgres redis rabbitmq" >&2
    exit 1
  fi
  echo "-- installing $* from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_postgres() {
  port_open 5432 && { echo "ok postgresql on 127.0.0.1:5432"; return; }
  command -v pg_ctlcluster >/dev/null || { apt_install postgresql; trust_local_postgres; }
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_port postgresql 5432 60
}

trust_local_postgres() {
  # A fresh Debian cluster asks for passwords on TCP; the local dev stack uses trust on loopback.
  local hba
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n 1)
  sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/; s/^(host\s+all\s+all\s+::1\/128\s+)\S+/\1trust/' "$hba"
}

ensure_redis() {
  port_open 6379 && { echo "ok redis on 127.0.0.1:6379"; return; }
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port redis 6379 30
}

ensure_rabbitmq() {
  port_open 5672 && { echo "ok rabbitmq on 127.0.0.1:5672"; return; }
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  rabbitmq-server -detached || true
  wait_port rabbitmq 5672 90  # it takes 7-10 s to accept connections
}

ensure_postgres
ensure_redis
ensure_rabbitmq
