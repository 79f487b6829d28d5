#!/usr/bin/env bash
# What `make test-compose` needs before it builds (idempotent; seconds on a warm machine):
# a Docker engine (Debian's docker.io, dockerd started in the background if it is not
# running), the compose v2 plugin, and, where public images cannot be pulled, the base image
# local/debian:bookworm (debootstrap) and a wheelhouse of requirements.lock for the images'
# pip. Root only installs; otherwise it says what is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=var/compose
mkdir -p "$WORK" var/log

say() { echo "prepare: $*" >&2; }
need_root() { [ "$(id -u)" = 0 ] || { say "$1 is missing; as root this script installs it"; exit 1; }; }

# the first deb.debian.org-like mirror of this machine's own sources
mirror() {
  grep -hoE '^(URIs:|deb) *(\[[^]]*\] *)?https?://[^ ]+/debian/?( |$)' \
      /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
    | grep -oE 'https?://[^ ]+' | head -n1 || true
}
MIRROR=$(mirror); MIRROR=${MIRROR:-http://deb.debian.org/debian}

ensure_engine() {
  if ! command -v dockerd >/dev/null; then
    need_root "dockerd"
    say "installing docker.io"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends docker.io >/dev/null
  fi
  if ! docker info >/dev/null 2>&1; then
    need_root "a running dockerd"
    say "starting dockerd (log: var/log/dockerd.log)"
    setsid dockerd >var/log/dockerd.log 2>&1 < /dev/null &
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { tail -n 20 var/log/dockerd.log; exit 1; }
  fi
}

# compose v2 from Debian trixie's docker-compose package, unpacked as a CLI plugin; trixie is
# read through a temporary source list of its own, never added to this machine's sources
ensure_compose() {
  docker compose version >/dev/null 2>&1 && return
  say "fetching the compose v2 plugin (Debian trixie's docker-compose)"
  local apt="$PWD/$WORK/apt"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/deb"
  echo "deb $MIRROR trixie main" > "$apt/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/none"
              -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root -qq)
  apt-get "${opts[@]}" update
  (cd "$apt/deb" && rm -f docker-compose_*.deb && apt-get "${opts[@]}" download docker-compose)
  rm -rf "$apt/root" && dpkg -x "$apt"/deb/docker-compose_*.deb "$apt/root"
  mkdir -p ~/.docker/cli-plugins
  cp -L "$apt/root/usr/libexec/docker/cli-plugins/docker-compose" ~/.docker/cli-plugins/
  chmod +x ~/.docker/cli-plugins/docker-compose
  docker compose version
}

# can this engine pull the public images compose.yaml names?
can_pull() { timeout 60 docker pull -q "$1" >/dev/null 2>&1; }

ensure_base_image() {
  docker image inspect local/debian:bookworm >/dev/null 2>&1 && return
  command -v debootstrap >/dev/null || {
    need_root "debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends debootstrap >/dev/null; }
  say "building local/debian:bookworm with debootstrap from $MIRROR"
  local root="$WORK/rootfs"
  rm -rf "$root"
  debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -n 20 "$WORK/debootstrap.log"; exit 1; }
  echo "deb $MIRROR bookworm main" > "$root/etc/apt/sources.list"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" -c . | docker import - local/debian:bookworm >/dev/null
  rm -rf "$root"
}

# the images' pip reads this wheelhouse (build context: var/compose/wheels) when the
# containers cannot reach PyPI; it is remade only when requirements.lock changes
ensure_wheelhouse() {
  local wheels="$WORK/wheels" stamp
  stamp=$(sha256sum requirements.lock | cut -c1-16)
  [ -f "$wheels/.lock-$stamp" ] && return
  say "building the wheelhouse of requirements.lock"
  rm -rf "$wheels" && mkdir -p "$wheels"
  # this machine's Python is 3.11 like the images'; the pins whose marker leaves them out
  # here (Debian's 3.11.2 needs async-timeout) are fetched as well
  { .venv/bin/pip wheel -q --wheel-dir "$wheels" -r requirements.lock &&
    grep ';' requirements.lock | cut -d';' -f1 |
      .venv/bin/pip wheel -q --no-deps --wheel-dir "$wheels" -r /dev/stdin; } \
    2>"$WORK/wheels.log" || { grep -v '^WARNING' "$WORK/wheels.log" | tail -n 20; exit 1; }
  touch "$wheels/.lock-$stamp"
}

ensure_engine
ensure_compose
if can_pull python:3.11-slim; then
  echo public > "$WORK/images"
else
  ensure_base_image & base=$!  # debootstrap beside pip: both mostly wait on the network
  ensure_wheelhouse
  wait "$base"
  echo local > "$WORK/images"
fi
deploy/compose/env.sh
say "ready ($(cat "$WORK/images") base images)"
