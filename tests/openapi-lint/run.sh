#!/usr/bin/env bash
# Lints the served OpenAPI document as an API reviewer would, with third-party tools pinned in
# tests/openapi-lint/package.json: Redocly CLI's recommended ruleset (redocly.yaml) and Spectral's
# `oas` ruleset plus the OWASP API security ruleset (.spectral.yaml). Fails on any error of
# Redocly or of spectral:oas, and on any OWASP finding (of any severity) that .spectral.yaml does
# not turn off with a one-line justification: each is fixed in the document or justified there.
# Other warnings are printed only.
#
# Usage: tests/openapi-lint/run.sh [path/to/clinic-booking]   (default: target/debug/clinic-booking)
# The server runs on a fresh SQLite file, with the public base URL of a deployment
# (OPENAPI_LINT_PUBLIC_BASE_URL, default https://clinic.example), so `servers` is linted as served.
# Needs: node 20.19+ and `npm ci --prefix tests/openapi-lint`.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=${1:-target/debug/clinic-booking}
tools=tests/openapi-lint
modules=$tools/node_modules
[ -f "$modules/@redocly/cli/bin/cli.js" ] && [ -f "$modules/@stoplight/spectral-cli/dist/index.js" ] ||
  { echo "linters missing: npm ci --prefix $tools" >&2; exit 1; }
node -e 'const [major, minor] = process.versions.node.split(".").map(Number);
process.exit(major > 20 || (major === 20 && minor >= 19) ? 0 : 1)' ||
  { echo "Redocly CLI needs node 20.19 or later; this is node $(node --version)" >&2; exit 1; }

work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

export APP__DATABASE__URL="sqlite://$work/lint.db"
export APP__SERVER__PORT=0
export APP__MAIL__FILE_DIR="$work/mail"
export APP__CLINIC__PUBLIC_BASE_URL="${OPENAPI_LINT_PUBLIC_BASE_URL:-https://clinic.example}"
export RUST_LOG=warn,clinic_booking=info
"$binary" serve >"$work/server.log" 2>&1 &
server=$!
base=
for _ in $(seq 1 100); do
  base=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/server.log" | head -n1 || true)
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { cat "$work/server.log"; echo "server did not start" >&2; exit 1; }

# Indented, so that the linters' line numbers point somewhere readable. The file is named
# openapi.json: .spectral.yaml's exceptions are addressed to it.
curl -fsS "$base/openapi.json" >"$work/served.json"
kill "$server"
server=
node -e 'const fs = require("fs");
fs.writeFileSync(process.argv[2], JSON.stringify(JSON.parse(fs.readFileSync(process.argv[1], "utf8")), null, 2) + "\n");' \
  "$work/served.json" "$work/openapi.json"

failed=()

echo "== Redocly CLI $(node -p "require('./$modules/@redocly/cli/package.json').version"), recommended ruleset"
# No telemetry, no update check (and no network).
if ! REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_NOTIFICATIONS=true \
  node "$modules/@redocly/cli/bin/cli.js" lint --config "$tools/redocly.yaml" \
  --format stylish --max-problems 1000 "$work/openapi.json"; then
  failed+=("Redocly: errors")
fi

echo
echo "== Spectral $(node -p "require('./$modules/@stoplight/spectral-cli/package.json').version"), spectral:oas and OWASP ($tools/.spectral.yaml)"
status=0
node "$modules/@stoplight/spectral-cli/dist/index.js" lint --quiet --ruleset "$tools/.spectral.yaml" \
  --format stylish --format json --output.json "$work/spectral.json" "$work/openapi.json" || status=$?
# 1 is "errors found"; anything else is Spectral failing to run.
[ "$status" -le 1 ] && [ -f "$work/spectral.json" ] || { echo "spectral did not run ($status)" >&2; exit 1; }
verdict=$(node -e 'const results = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const owasp = results.filter((r) => r.code.startsWith("owasp:"));
const oasErrors = results.filter((r) => r.severity === 0 && !r.code.startsWith("owasp:")).length;
console.log(`${oasErrors} ${owasp.length}`);' "$work/spectral.json")
read -r errors owasp <<<"$verdict"
[ "$errors" -eq 0 ] || failed+=("Spectral: $errors errors from spectral:oas")
# A warning of the OWASP ruleset fails the run as its errors do: a new finding is fixed in the
# document or justified in $tools/.spectral.yaml, never left for later.
[ "$owasp" -eq 0 ] || failed+=("Spectral: $owasp OWASP findings neither fixed nor justified in $tools/.spectral.yaml")

echo
if [ ${#failed[@]} -gt 0 ]; then
  printf 'openapi-lint failed:\n' >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "openapi-lint: Redocly recommended and spectral:oas pass with 0 errors, OWASP with 0 findings"
