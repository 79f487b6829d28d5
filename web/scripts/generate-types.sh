#!/usr/bin/env bash
# Regenerate web/src/api/schema.d.ts from the gateway's merged OpenAPI document, made offline
# by `python -m ops.openapi_document` (the same document GET /api/openapi.json serves).
# Usage: web/scripts/generate-types.sh [OUTPUT]  (default: web/src/api/schema.d.ts)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/web/src/api/schema.d.ts}"
spec="$(mktemp --suffix=.json)"
trap 'rm -f "$spec"' EXIT
(cd "$root" && .venv/bin/python -m ops.openapi_document "$spec")
"$root/node_modules/.bin/openapi-typescript" "$spec" -o "$out" --default-non-nullable false --silent
