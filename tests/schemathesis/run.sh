#!/usr/bin/env bash
# Fuzzes the served API against its own OpenAPI document with schemathesis: once without a
# token and once with an admin's staff token, on the example-based and stateful phases. Fails on
# any 5xx, any response that breaks the documented schema, or a crash.
#
# Usage: tests/schemathesis/run.sh [path/to/clinic-booking]   (default: target/debug/clinic-booking)
# The server runs on a fresh SQLite file, or on SCHEMATHESIS_DATABASE_URL (an empty database).
# Needs: `pip install schemathesis` (CI pins the version).
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=${1:-target/debug/clinic-booking}
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

export APP__DATABASE__URL="${SCHEMATHESIS_DATABASE_URL:-sqlite://$work/fuzz.db}"
export APP__SERVER__PORT=0
export APP__MAIL__FILE_DIR="$work/mail"
export APP__HTTP__RATE_LIMIT_PER_MINUTE=0
export RUST_LOG=warn,clinic_booking=info

printf 'fuzzing-admin-password\n' | "$binary" create-user --email fuzz-admin@clinic.example --role admin >/dev/null
"$binary" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  base=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/server.log" | head -n1 || true)
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { cat "$work/server.log"; echo "server did not start"; exit 1; }

token=$(curl -fsS -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"fuzz-admin@clinic.example","password":"fuzzing-admin-password"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

checks=not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance,response_headers_conformance,unsupported_method
common=(--url "$base" --checks "$checks" --phases examples,stateful,fuzzing --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}"
  --workers 2 --request-timeout 10 --suppress-health-check all --seed 42)

echo "== schemathesis, no token"
st run "$base/openapi.json" "${common[@]}"
echo "== schemathesis, admin token"
st run "$base/openapi.json" "${common[@]}" -H "Authorization: Bearer $token"

if grep -q 'panicked' "$work/server.log"; then
  echo "the server panicked:"; grep -B2 -A5 panicked "$work/server.log"; exit 1
fi
kill -0 "$server" || { echo "the server died"; exit 1; }
echo "schemathesis: no failures"
