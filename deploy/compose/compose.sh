#!/usr/bin/env bash
# `docker compose` on deploy/compose.yaml, plus deploy/compose.local.yaml where
# deploy/compose/prepare.sh found that public images cannot be pulled, plus the files in
# COMPOSE_EXTRA_FILES (space-separated; make test-compose: its test override).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
files=(-f "$root/deploy/compose.yaml")
[ "$(cat "$root/var/compose/images" 2>/dev/null)" = local ] &&
  files+=(-f "$root/deploy/compose.local.yaml")
for extra in ${COMPOSE_EXTRA_FILES:-}; do files+=(-f "$extra"); done
exec docker compose "${files[@]}" "$@"
