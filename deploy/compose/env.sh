#!/usr/bin/env bash
# The secrets deploy/compose.yaml reads, written once with fresh values when missing (never
# committed: .gitignore), so the stack holds no published or placeholder secret:
#   deploy/compose.env  every app service: the database and broker URLs with their passwords,
#                       INTERNAL_SECRET, IDENTITY_PUBLIC_KEY, Google sign-in, the Gemini key
#   deploy/gateway.env  the gateway alone: IDENTITY_SIGNING_KEY (Ed25519)
#   deploy/infra.env    PostgreSQL's and RabbitMQ's own passwords
# OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and GEMINI_API_KEY are taken from the environment when
# set (production refuses to start auth_service without Google sign-in). Needs openssl.
# Usage: deploy/compose/env.sh [DIR]  (DIR: where to write them; deploy/ by default)
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

secret() { openssl rand -base64 48 | tr '+/' '-_' | tr -d '=\n' | cut -c1-"${1:-43}"; }
# base64url, no padding, of the last 32 bytes of a DER key (Ed25519's raw seed or point)
raw32() { tail -c 32 | base64 | tr '+/' '-_' | tr -d '=\n'; }

if [ -f compose.env ] && [ -f gateway.env ] && [ -f infra.env ]; then
  exit 0
fi
[ -f compose.env ] || [ -f gateway.env ] || [ -f infra.env ] && {
  echo "env.sh: some of compose.env, gateway.env, infra.env exist but not all; remove them" \
       "(and the stack's volumes: docker compose down -v) to start again" >&2; exit 1; }

umask 077
pem=$(openssl genpkey -algorithm ed25519)
signing=$(openssl pkey -outform DER <<<"$pem" | raw32)
public=$(openssl pkey -pubout -outform DER <<<"$pem" | raw32)
postgres_password=$(secret 32)
rabbitmq_password=$(secret 32)

cat > infra.env <<ENV
# written by deploy/compose/env.sh: PostgreSQL's and RabbitMQ's passwords
POSTGRES_PASSWORD=$postgres_password
RABBITMQ_DEFAULT_USER=resumebuilder
RABBITMQ_DEFAULT_PASS=$rabbitmq_password
ENV
cat > gateway.env <<ENV
# written by deploy/compose/env.sh: the key that signs the identity the gateway sends to
# services (the gateway's alone; its public half is IDENTITY_PUBLIC_KEY in compose.env)
IDENTITY_SIGNING_KEY=$signing
ENV
cat > compose.env <<ENV
# written by deploy/compose/env.sh: every app service's secrets (the other settings are in
# compose.yaml). Set Google sign-in and the Gemini key here for a real deployment.
DATABASE_URL=postgresql+asyncpg://postgres:$postgres_password@postgres:5432/resumebuilder
AMQP_URL=amqp://resumebuilder:$rabbitmq_password@rabbitmq:5672/
INTERNAL_SECRET=$(secret 43)
IDENTITY_PUBLIC_KEY=$public
OIDC_CLIENT_ID=${OIDC_CLIENT_ID:-}
OIDC_CLIENT_SECRET=${OIDC_CLIENT_SECRET:-}
GEMINI_API_KEY=${GEMINI_API_KEY:-}
ENV
chmod 644 compose.env gateway.env infra.env  # read by the compose client, not the containers
echo "env.sh: wrote compose.env, gateway.env and infra.env in $PWD with fresh secrets"
