#!/usr/bin/env bash
# The performance benchmark (issue 7), one command:  bench/run.sh
#
# Builds release; for SQLite (a temp file) and PostgreSQL (a fresh database on 127.0.0.1:5432,
# user postgres, dropped at the end) it migrates, bulk-loads 50 providers x 365 days x 16 slots
# (30% booked) with SQL, measures the database ceiling of a booking (benches/booking.rs), serves
# the release binary on loopback and drives it with wrk at 1 and 32 connections, races 500
# requests for one slot, loads 3 years of past bookings and measures availability again, and
# records the server's peak RSS and the query plans. Then it runs the mail drain bench and
# writes BENCHMARKS.md. Everything stays on 127.0.0.1.
#
# Settings (environment): BENCH_SECONDS (per wrk run, default 5), BENCH_BACKENDS
# ("sqlite postgres"), BENCH_PG (admin URL, default postgres://postgres@127.0.0.1:5432/postgres),
# BENCH_OUT (default BENCHMARKS.md), BENCH_SERVER_WORKERS (the server's HTTP workers, default 1:
# wrk's two threads share the machine's two cores with it; one run with the default of one
# worker per core is recorded too).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
BACKENDS=${BENCH_BACKENDS:-"sqlite postgres"}
PG_ADMIN=${BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
OUT=${BENCH_OUT:-BENCHMARKS.md}
BIN=$ROOT/target/release/clinic-booking
WORK=$(mktemp -d /tmp/clinic-bench.XXXXXX)
RESULTS=$WORK/results.tsv
: > "$RESULTS"
SERVER_PID=
PG_DB=
PG_DB_NOHIST=
PG_DB_NETWORK=
SERVER_WORKERS=${BENCH_SERVER_WORKERS:-1}

log() { printf '\n== %s\n' "$*" >&2; }
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  for db in $PG_DB $PG_DB_NOHIST $PG_DB_NETWORK; do
    psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "sqlite3 is needed: apt-get install -y sqlite3" >&2; exit 1; }

log "build (release)"
cargo build --release --bins
cargo bench --bench booking --no-run

# One result line: backend case connections rps p50_ms p99_ms max_ms note
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$RESULTS"; }

# wrk_run BACKEND CASE CONNECTIONS URL [lua script args...]
wrk_run() {
  local backend=$1 case=$2 conns=$3 url=$4; shift 4
  local threads=1; [ "$conns" -gt 1 ] && threads=2
  local script=$ROOT/bench/get.lua
  if [ $# -gt 0 ]; then script=$1; shift; fi
  local line
  line=$(wrk -t"$threads" -c"$conns" -d"${SECONDS_PER_RUN}s" --timeout 10s -s "$script" "$url" -- "$@" "$threads" | grep WRKRESULT)
  local requests duration_us p50_us p99_us max_us non2xx sockerr created= server_errors
  eval "$(echo "$line" | sed 's/WRKRESULT //' | tr ' ' '\n' | sed 's/^/local /')"
  local rps note
  rps=$(awk -v r="$requests" -v d="$duration_us" 'BEGIN{printf "%.0f", r/(d/1e6)}')
  note="non-2xx $non2xx, socket errors $sockerr"
  if [ -n "${created:-}" ]; then
    rps=$(awk -v r="$created" -v d="$duration_us" 'BEGIN{printf "%.0f", r/(d/1e6)}')
    note="$created created, non-2xx $non2xx, 5xx $server_errors"
  fi
  record "$backend" "$case" "$conns" "$rps" \
    "$(awk -v v="$p50_us" 'BEGIN{printf "%.2f", v/1000}')" \
    "$(awk -v v="$p99_us" 'BEGIN{printf "%.2f", v/1000}')" \
    "$(awk -v v="$max_us" 'BEGIN{printf "%.2f", v/1000}')" "$note"
  echo "$backend $case c=$conns: $rps req/s p50 ${p50_us}us p99 ${p99_us}us ($note)" >&2
}

sql() { # sql BACKEND URL FILE|-  (statements on stdin or in FILE)
  case $1 in
    sqlite) sqlite3 -bail -cmd '.timeout 30000' "${2#sqlite://}" < "${3:-/dev/stdin}" ;;
    postgres) psql -q -X -v ON_ERROR_STOP=1 "$2" -f "${3:--}" ;;
  esac
}

free_ids() { # free_ids BACKEND URL FIRST_PROVIDER LAST_PROVIDER
  # Slots the booking rules let a patient book (2 hours' notice, 90 days ahead), with margins.
  local earliest latest
  earliest=$(date -u -d '+3 hours' '+%F %T')
  latest=$(date -u -d '+89 days' '+%F %T')
  echo "SELECT id FROM slots WHERE status = 'free' AND provider_id BETWEEN $3 AND $4 AND starts_at > '$earliest' AND starts_at < '$latest' ORDER BY id;" \
    | case $1 in sqlite) sqlite3 "${2#sqlite://}" ;; postgres) psql -qtAX "$2" ;; esac
}

explain() { # explain BACKEND URL FROM TO
  local from=$3 to=$4 horizon
  horizon=$(date -u -d '+90 days' '+%F 00:00:00')
  case $1 in
    sqlite) sqlite3 "${2#sqlite://}" <<SQL
.parameter init
.parameter set ?1 "'free'"
.parameter set ?2 "'$from'"
.parameter set ?3 "'$to'"
.parameter set ?4 1
.parameter set ?5 1
.print -- one provider, 7 days:
EXPLAIN QUERY PLAN SELECT slots.*, providers.* FROM slots INNER JOIN providers ON providers.id = slots.provider_id WHERE slots.status = 'free' AND slots.starts_at >= ?2 AND slots.starts_at < ?3 AND providers.active = ?4 AND slots.provider_id = ?5 ORDER BY slots.starts_at ASC, slots.provider_id ASC LIMIT 501;
.print -- call to action, next 5 free slots:
EXPLAIN QUERY PLAN SELECT slots.*, providers.* FROM slots INNER JOIN providers ON providers.id = slots.provider_id WHERE slots.status = 'free' AND slots.starts_at >= ?2 AND slots.starts_at < ?3 AND providers.active = ?4 ORDER BY slots.starts_at ASC, slots.provider_id ASC LIMIT 5;
SQL
    ;;
    postgres) psql -qtAX "$2" <<SQL
PREPARE avail(text, timestamp, timestamp, boolean, integer, bigint) AS SELECT slots.*, providers.* FROM slots INNER JOIN providers ON providers.id = slots.provider_id WHERE slots.status = 'free' AND slots.starts_at >= \$2 AND slots.starts_at < \$3 AND providers.active = \$4 AND slots.provider_id = \$5 ORDER BY slots.starts_at ASC, slots.provider_id ASC LIMIT \$6;
PREPARE cta(text, timestamp, timestamp, boolean, bigint) AS SELECT slots.*, providers.* FROM slots INNER JOIN providers ON providers.id = slots.provider_id WHERE slots.status = 'free' AND slots.starts_at >= \$2 AND slots.starts_at < \$3 AND providers.active = \$4 ORDER BY slots.starts_at ASC, slots.provider_id ASC LIMIT \$5;
\\o /dev/null
$(for _ in 1 2 3 4 5 6; do echo "EXECUTE avail('free', '$from', '$to', true, 1, 501); EXECUTE cta('free', '$from', '$horizon', true, 5);"; done)
\\o
\\echo -- one provider, 7 days (7th execution, plan_cache_mode auto, as the app runs it):
EXPLAIN (ANALYZE, COSTS OFF, SUMMARY ON) EXECUTE avail('free', '$from', '$to', true, 1, 501);
\\echo -- call to action, next 5 free slots (7th execution, plan_cache_mode auto):
EXPLAIN (ANALYZE, COSTS OFF, SUMMARY ON) EXECUTE cta('free', '$from', '$horizon', true, 5);
SET plan_cache_mode = force_generic_plan;
\\echo -- call to action if PostgreSQL switched to the generic plan (forced here):
EXPLAIN (ANALYZE, COSTS OFF, SUMMARY ON) EXECUTE cta('free', '$from', '$horizon', true, 5);
SQL
    ;;
  esac
}

start_server() { # start_server URL BACKEND [VAR=value ...]: extra settings override the defaults
  local port url=$1 backend=$2; shift 2
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$WORK/mail-$backend"
  env APP__DATABASE__URL="$url" APP__SERVER__HOST=127.0.0.1 APP__SERVER__PORT="$port" \
    APP__SERVER__WORKERS="$SERVER_WORKERS" \
    APP__HTTP__RATE_LIMIT_PER_MINUTE=0 APP__DEMO__SEED=false \
    APP__MAIL__TRANSPORT=file APP__MAIL__FILE_DIR="$WORK/mail-$backend" \
    RUST_LOG=warn "$@" "$BIN" serve > "$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  BASE=http://127.0.0.1:$port
  for _ in $(seq 1 100); do
    curl -fs "$BASE/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cat "$WORK/server.log" >&2
  echo "server did not start" >&2
  exit 1
}

HWMS=
stop_server() { # sets HWM to the server's peak RSS (VmHWM) in MiB, then stops it
  HWM=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$SERVER_PID/status")
  HWMS="$HWMS $HWM"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

wait_for_outbox() { # wait_for_outbox BACKEND URL: seconds until no mail is due
  local q="SELECT count(*) FROM outbox WHERE status = 'pending' AND next_attempt_at <= CURRENT_TIMESTAMP;"
  local t0 n
  t0=$(date +%s.%N)
  for _ in $(seq 1 240); do
    n=$(echo "$q" | case $1 in sqlite) sqlite3 -cmd '.timeout 10000' "${2#sqlite://}" ;; postgres) psql -qtAX "$2" ;; esac)
    [ "$n" = 0 ] && break
    sleep 0.5
  done
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'
}

OFFER_CASE="cancellation → waitlist offer mail written (file transport)"
today=$(date -u +%F)
from=$(date -u -d '+1 day' +%F)
to=$(date -u -d '+8 days' +%F)
# The day sheet rows' day (issue 20): a weekday past the 90 days the bookings, holds and ceilings
# below book from, so that it holds the data set's bookings only.
for k in 100 101 102; do sheet_date=$(date -u -d "+$k days" +%F); [ "$(date -u -d "$sheet_date" +%u)" -le 5 ] && break; done
SHEET_CASE="GET /api/v1/bookings?date=&location_id=, day sheet of one location"

for backend in $BACKENDS; do
  case $backend in
    sqlite) URL=sqlite://$WORK/bench.db ;;
    postgres)
      PG_DB=clinic_bench_$$
      psql -q "$PG_ADMIN" -c "CREATE DATABASE $PG_DB" >/dev/null
      URL=${PG_ADMIN%/*}/$PG_DB ;;
  esac
  log "$backend: migrate and load the data set"
  APP__DATABASE__URL=$URL RUST_LOG=warn "$BIN" migrate
  t0=$(date +%s.%N)
  sql "$backend" "$URL" "bench/load_$backend.sql" >/dev/null
  load_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
  counts=$(echo "SELECT (SELECT count(*) FROM slots) || ' slots, ' || (SELECT count(*) FROM bookings) || ' bookings';" | case $backend in sqlite) sqlite3 "$WORK/bench.db" ;; postgres) psql -qtAX "$URL" ;; esac)
  record "$backend" "bulk load (s)" - "$load_s" - - - "$counts"
  # Provider 1 is never booked here: its 7-day availability stays the same size all run.
  free_ids "$backend" "$URL" 2 12 > "$WORK/http1.ids"
  free_ids "$backend" "$URL" 13 25 > "$WORK/http32.ids"
  free_ids "$backend" "$URL" 26 37 > "$WORK/ceil1.ids"
  free_ids "$backend" "$URL" 38 50 > "$WORK/ceil32.ids"
  # The races' slots are set aside first: the ceiling books its list from the top, and on SQLite
  # it books it all.
  race_slots=$(tail -n 3 "$WORK/ceil32.ids")
  head -n -3 "$WORK/ceil32.ids" > "$WORK/ceil32.rest" && mv "$WORK/ceil32.rest" "$WORK/ceil32.ids"
  explain "$backend" "$URL" "$from 00:00:00" "$to 00:00:00" > "$WORK/plan-$backend-none.txt"

  log "$backend: the database's ceiling (booking transaction through diesel)"
  for c in 1 32; do
    line=$(cargo bench -q --bench booking -- ceiling "$URL" "$c" "$SECONDS_PER_RUN" "$WORK/ceil$c.ids" | tail -n 1)
    eval "$(echo "$line" | tr ' ' '\n' | sed 's/^/ceil_/')"
    record "$backend" "ceiling: book() in write_transaction, direct diesel" "$c" "$ceil_rps" "$ceil_p50_ms" "$ceil_p99_ms" "$ceil_max_ms" "$ceil_ok booked, $ceil_failed failed"
    echo "$backend ceiling c=$c: $line" >&2
  done

  # The ceiling's bookings queued mail; mark it sent, or the server's mail worker would spend
  # the HTTP measurements writing it out.
  echo "UPDATE outbox SET status = 'sent', sent_at = CURRENT_TIMESTAMP WHERE status = 'pending';" | sql "$backend" "$URL" >/dev/null

  log "$backend: HTTP"
  HWMS=
  start_server "$URL" "$backend"
  # With `from`, a list is answered from memory between changes (the availability cache);
  # without it the window starts now, and each request reads the database.
  avail="$BASE/api/v1/slots?provider_id=1&from=$from&to=$to"
  avail_db="$BASE/api/v1/slots?provider_id=1&to=$to"
  for c in 1 32; do
    wrk_run "$backend" "GET /health (HTTP ceiling)" "$c" "$BASE/health"
    wrk_run "$backend" "GET /api/v1/slots, one provider, 7 days" "$c" "$avail"
    wrk_run "$backend" "GET /api/v1/slots, one provider, 7 days, no from: database every time" "$c" "$avail_db"
    wrk_run "$backend" "GET /api/v1/schedule-appointment" "$c" "$BASE/api/v1/schedule-appointment"
    # Issue 17: the same week of one provider's free time as a FHIR Slot search (a Bundle).
    wrk_run "$backend" "GET /fhir/Slot, one provider, 7 days" "$c" "$BASE/fhir/Slot?schedule.actor=Practitioner/1&start=ge$from&start=lt$to&_count=500"
    # Issue 15: the same lists for a 60-minute visit type (two back-to-back free half hours).
    wrk_run "$backend" "GET /api/v1/slots, one provider, 7 days, 60-minute visit type, database every time" "$c" "$avail_db&visit_type_id=1"
    wrk_run "$backend" "GET /api/v1/schedule-appointment, 60-minute visit type" "$c" "$BASE/api/v1/schedule-appointment?visit_type_id=1"
  done
  # Issue 18: provider 2's calendar feed (a year of their booked visits, an iCalendar file), as a
  # calendar app polls it; its token is set here, as POST /api/v1/providers/2/calendar-feed would.
  feed_token=benchFeedToken-0123456789abcdefghijklmnopqr
  echo "DELETE FROM calendar_feeds WHERE provider_id = 2; INSERT INTO calendar_feeds (provider_id, token_sha256, created_at) VALUES (2, '$(printf %s "$feed_token" | sha256sum | cut -d' ' -f1)', CURRENT_TIMESTAMP);" | sql "$backend" "$URL" >/dev/null
  feed_events=$(curl -fsS "$BASE/calendar/$feed_token.ics" | grep -c '^BEGIN:VEVENT' || true)
  for c in 1 32; do
    wrk_run "$backend" "GET /calendar/{token}.ics, provider 2 ($feed_events visits)" "$c" "$BASE/calendar/$feed_token.ics"
  done
  for c in 1 32; do
    wrk_run "$backend" "POST /api/v1/bookings, distinct free slots" "$c" "$BASE" "$ROOT/bench/book.lua" "$WORK/http$c.ids"
  done
  # Three races, each for another slot: at 500 connections on two cores one run's p99 moves
  # by a factor of two with the machine; the verdict takes the median.
  for race_slot in $race_slots; do
    line=$(cargo bench -q --bench booking -- race "$BASE" "$race_slot" 500 | tail -n 1)
    eval "$(echo "$line" | tr ' ' '\n' | sed 's/^/race_/')"
    record "$backend" "500 simultaneous POSTs for one slot" 500 - "$race_p50_ms" "$race_p99_ms" "$race_max_ms" \
      "$race_created created, $race_conflicts conflicts, $race_server_errors 5xx, $race_other other"
    echo "$backend race: $line" >&2
  done
  # The bookings queued mail; let the worker write it out before anything else is measured.
  drained=$(wait_for_outbox "$backend" "$URL")
  record "$backend" "outbox drained after the bookings (s, file transport)" - "$drained" - - - "$(find "$WORK/mail-$backend" -name '*.eml' | wc -l) mails written"
  stop_server

  # The same bookings on a copy that leaves its mail to another (APP__MAIL__WORKER_ENABLED=false):
  # the HTTP path's own cost, without writing out a confirmation for each booking beside it.
  # Their mail is then marked sent, like the ceiling's. The bookings above are taken back first,
  # so that these book the same slots (a fast run would otherwise run out of free ones and
  # measure 409s).
  sql "$backend" "$URL" bench/unbook.sql >/dev/null
  free_ids "$backend" "$URL" 2 12 > "$WORK/http1.ids"
  free_ids "$backend" "$URL" 13 25 > "$WORK/http32.ids"
  start_server "$URL" "$backend" APP__MAIL__WORKER_ENABLED=false
  for c in 1 32; do
    wrk_run "$backend" "POST /api/v1/bookings, distinct free slots, mail worker off" "$c" "$BASE" "$ROOT/bench/book.lua" "$WORK/http$c.ids"
  done
  stop_server
  # The same bookings through FHIR (issue 17: POST /fhir/Appointment, the patient contained),
  # on the same slots taken back again.
  sql "$backend" "$URL" bench/unbook.sql >/dev/null
  start_server "$URL" "$backend" APP__MAIL__WORKER_ENABLED=false
  for c in 1 32; do
    wrk_run "$backend" "POST /fhir/Appointment, distinct free slots, mail worker off" "$c" "$BASE/fhir/Appointment" "$ROOT/bench/book.lua" "$WORK/http$c.ids"
  done
  stop_server
  # Holds (issue 16) on the same slots, taken back again: each keeps its time for 5 minutes,
  # through the same conditional write a booking's claim is. Each comes from its own address
  # (X-Forwarded-For, the server trusting loopback as its proxy): one address keeps 4 at most.
  sql "$backend" "$URL" bench/unbook.sql >/dev/null
  start_server "$URL" "$backend" APP__MAIL__WORKER_ENABLED=false APP__HTTP__TRUSTED_PROXIES=127.0.0.1
  for c in 1 32; do
    wrk_run "$backend" "POST /api/v1/holds, distinct free slots" "$c" "$BASE/api/v1/holds" "$ROOT/bench/book.lua" "$WORK/http$c.ids"
  done
  stop_server
  echo "UPDATE outbox SET status = 'sent', sent_at = CURRENT_TIMESTAMP WHERE status = 'pending';" | sql "$backend" "$URL" >/dev/null

  # The same reads on a server with one HTTP worker per core (the default), sharing the cores
  # with wrk's two threads.
  start_server "$URL" "$backend" APP__SERVER__WORKERS=0
  avail="$BASE/api/v1/slots?provider_id=1&from=$from&to=$to"
  wrk_run "$backend" "GET /health (HTTP ceiling), default workers (one per core)" 32 "$BASE/health"
  wrk_run "$backend" "GET /api/v1/slots, one provider, 7 days, default workers (one per core)" 32 "$avail"
  stop_server

  # Request logging at info: a line per request (to a file, through the log writer's thread),
  # against the same list logging at warn, servers taking turns for two rounds (the rows above
  # were measured minutes earlier: a shared machine drifts more than the cost looked for).
  for _ in 1 2; do
    for level in warn info; do
      start_server "$URL" "$backend" RUST_LOG=$level
      avail="$BASE/api/v1/slots?provider_id=1&from=$from&to=$to"
      wrk_run "$backend" "GET /api/v1/slots, one provider, 7 days, RUST_LOG=$level" 32 "$avail"
      stop_server
    done
  done

  # History versus none: a copy of the database is kept before the history is loaded, and
  # servers on the two take turns for three rounds, so that drift of a shared machine does not
  # pass for an effect of history. Reads without `from`: the database's cost, not the cache's.
  log "$backend: 3 years of past bookings"
  case $backend in
    sqlite)
      sqlite3 "$WORK/bench.db" ".backup '$WORK/nohist.db'"
      URL_NOHIST=sqlite://$WORK/nohist.db ;;
    postgres)
      PG_DB_NOHIST=${PG_DB}_nohist
      psql -q "$PG_ADMIN" -c "CREATE DATABASE $PG_DB_NOHIST TEMPLATE $PG_DB" >/dev/null
      URL_NOHIST=${PG_ADMIN%/*}/$PG_DB_NOHIST ;;
  esac
  # A staff account on the copy, for the day sheet (issue 20) in the last round.
  printf 'bench-sheet-password\n' | APP__DATABASE__URL=$URL_NOHIST RUST_LOG=warn "$BIN" create-user \
    --email bench-sheet@clinic.example --role front_desk >/dev/null
  t0=$(date +%s.%N)
  sql "$backend" "$URL" "bench/history_$backend.sql" >/dev/null
  hist_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
  counts=$(echo "SELECT (SELECT count(*) FROM slots) || ' slots, ' || (SELECT count(*) FROM bookings) || ' bookings';" | case $backend in sqlite) sqlite3 "$WORK/bench.db" ;; postgres) psql -qtAX "$URL" ;; esac)
  record "$backend" "history load (s)" - "$hist_s" - - - "$counts"
  explain "$backend" "$URL" "$from 00:00:00" "$to 00:00:00" > "$WORK/plan-$backend-history.txt"
  for round in 1 2 3; do
    for which in none history; do
      # No availability cache: these servers measure the database (the call to action's offer
      # is cached like the lists, and its window starts now).
      if [ "$which" = none ]; then
        start_server "$URL_NOHIST" "$backend" APP__HTTP__AVAILABILITY_CACHE_MS=0
        suffix="no history"
      else
        start_server "$URL" "$backend" APP__HTTP__AVAILABILITY_CACHE_MS=0
        suffix="with 3 years of history"
      fi
      for c in 1 32; do
        wrk_run "$backend" "GET /api/v1/slots, 7 days, database every time, $suffix" "$c" "$BASE/api/v1/slots?provider_id=1&to=$to"
      done
      if [ "$round" = 3 ]; then
        for c in 1 32; do
          wrk_run "$backend" "GET /api/v1/schedule-appointment, database every time, $suffix" "$c" "$BASE/api/v1/schedule-appointment"
          # Issue 20: every provider's next 7 days (a page of 500), the other read across all.
          wrk_run "$backend" "GET /api/v1/slots, all providers, 7 days, database every time, $suffix" "$c" "$BASE/api/v1/slots?to=$to"
          wrk_run "$backend" "GET /api/v1/schedule-appointment, 60-minute visit type, database every time, $suffix" "$c" "$BASE/api/v1/schedule-appointment?visit_type_id=1"
        done
      fi
      if [ "$round" = 3 ] && [ "$which" = none ]; then
        # Issue 20: the day sheet of the main location on a weekday (with a front desk login),
        # the figure the clinic network's is compared with (after this loop).
        sheet_token=$(curl -fsS -X POST "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
          -d '{"email":"bench-sheet@clinic.example","password":"bench-sheet-password"}' |
          python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
        sheet_items=$(curl -fsS -H "Authorization: Bearer $sheet_token" "$BASE/api/v1/bookings?date=$sheet_date&location_id=1" |
          python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
        for c in 1 32; do
          wrk_run "$backend" "$SHEET_CASE, $suffix" "$c" "$BASE/api/v1/bookings?date=$sheet_date&location_id=1" "$ROOT/bench/search.lua" "$sheet_token"
          sed -i "\$ s/\$/, $sheet_items bookings on the sheet/" "$RESULTS"
        done
      fi
      stop_server
    done
  done
  # Schedule generation: 17,220 five-minute slots (60 days of 00:00-23:55) for a provider with no
  # slots, then the same pattern for provider 1, who holds a year of slots and three years of
  # history, in a range after all of them. The two should take the same time.
  log "$backend: schedule generation with and without existing slots"
  printf 'bench-admin-password\n' | APP__DATABASE__URL=$URL RUST_LOG=warn "$BIN" create-user \
    --email bench-admin@clinic.example --role admin >/dev/null
  start_server "$URL" "$backend"
  admin=$(curl -fsS -X POST "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"email":"bench-admin@clinic.example","password":"bench-admin-password"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  empty=$(curl -fsS -X POST "$BASE/api/v1/providers" -H "Authorization: Bearer $admin" \
    -H 'Content-Type: application/json' -d '{"name": "Dr. New", "specialty": "Physical therapy"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  sched_from=$(date -u -d '+400 days' +%F)
  sched_to=$(date -u -d '+459 days' +%F)
  pattern="{\"from_date\": \"$sched_from\", \"to_date\": \"$sched_to\", \"weekdays\": [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"], \"start_time\": \"00:00\", \"end_time\": \"23:55\", \"slot_minutes\": 5}"
  for who in "$empty:no existing slots" "1:a year of slots and 3 years of history"; do
    provider=${who%%:*}
    existing=$(echo "SELECT count(*) FROM slots WHERE provider_id = $provider;" | case $backend in sqlite) sqlite3 "${URL#sqlite://}" ;; postgres) psql -qtAX "$URL" ;; esac)
    answer=$(curl -sS -o "$WORK/schedule.json" -w '%{http_code} %{time_total}' -X POST "$BASE/api/v1/providers/$provider/schedule" \
      -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' -d "$pattern")
    record "$backend" "POST /providers/{id}/schedule, 17,220 slots, ${who#*:} (s)" - "${answer#* }" - - - \
      "HTTP ${answer%% *}, $existing slots before: $(cat "$WORK/schedule.json")"
    echo "$backend schedule (${who#*:}): $answer $(cat "$WORK/schedule.json")" >&2
  done
  # Issue 19: finding a patient among 100,000 (bulk-loaded with their search words) as the
  # front desk types: a common family name (2,000 patients carry it), a first and a family name,
  # the start of an address, the start of a phone number. Compare with the availability rows
  # above ("database every time"): a search should answer sooner.
  t0=$(date +%s.%N)
  sql "$backend" "$URL" "bench/patients_$backend.sql" >/dev/null
  patients_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
  record "$backend" "patients load, 100,000 with search words (s)" - "$patients_s" - - - \
    "$(echo "SELECT count(*) || ' patients, ' || (SELECT count(*) FROM patient_search_terms) || ' words' FROM patients;" | case $backend in sqlite) sqlite3 "${URL#sqlite://}" ;; postgres) psql -qtAX "$URL" ;; esac)"
  for q in garcia "maria%20garcia" "maria.garcia4" "602000"; do
    for c in 1 32; do
      wrk_run "$backend" "GET /api/v1/patients?q=$q (100,000 patients)" "$c" "$BASE/api/v1/patients?q=$q" "$ROOT/bench/search.lua" "$admin"
    done
  done
  # Issue 17: the whole published Slot file (SMART Scheduling Links) of the data set, streamed;
  # the server's peak RSS of this run is among the figures below.
  t0=$(date +%s.%N)
  bytes=$(curl -fsS "$BASE/fhir/\$bulk-publish/slots.ndjson" | wc -c)
  lines=$(curl -fsS "$BASE/fhir/\$bulk-publish/slots.ndjson" | wc -l)
  publish_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", (b-a)/2}')
  record "$backend" "GET /fhir/\$bulk-publish/slots.ndjson, whole data set (s)" - "$publish_s" - - - \
    "$lines Slot lines, $bytes bytes, streamed (mean of two downloads)"
  echo "$backend bulk publish: $publish_s s, $lines lines, $bytes bytes" >&2
  # Issue 16: a cancellation offered to the waitlist, from the cancel request to the offer mail
  # written by the file transport, one cancellation at a time (bench/offer_latency.py). The
  # target: under the mail worker's poll interval plus a second.
  line=$(python3 bench/offer_latency.py "$BASE" "$admin" "$WORK/mail-$backend" 50)
  eval "$(echo "$line" | tr ' ' '\n' | sed 's/^/offer_/')"
  record "$backend" "$OFFER_CASE" 1 - "$offer_p50_ms" "$offer_p99_ms" "$offer_max_ms" \
    "$offer_n cancellations one at a time, each offered to the next waiting patient; mail poll interval 1000 ms"
  echo "$backend offer: $line" >&2
  stop_server
  record "$backend" "server peak RSS (VmHWM, MiB)" - "$(printf '%s\n' $HWMS | sort -n | tail -n 1)" - - - \
    "largest of the $(printf '%s\n' $HWMS | wc -l) server runs (loads, bookings, race first):$HWMS"
  if [ "$backend" = postgres ]; then
    psql -q "$PG_ADMIN" -c "DROP DATABASE $PG_DB WITH (FORCE)" -c "DROP DATABASE $PG_DB_NOHIST WITH (FORCE)" >/dev/null
    PG_DB=
    PG_DB_NOHIST=
  fi
done

# Issue 20: a clinic network (bench/network_postgres.py: 20 locations, 500 providers, a year of
# slots ahead and three years of history, 250,000 patients), bulk-loaded with COPY into a database
# of its own; then on a server without the availability cache, the reads the base data set's rows
# measure "database every time" (one provider's 7 days, the call to action, the day sheet of one
# location, on the same day as the base row's) and bookings of distinct free slots (mail worker on,
# as the base row). The target: each within 2x of its base row. BENCH_NETWORK=0 skips it.
if [[ " $BACKENDS " == *" postgres "* ]] && [ "${BENCH_NETWORK:-1}" != 0 ]; then
  log "postgres: the clinic network (500 providers at 20 locations), bulk-loaded with COPY"
  PG_DB_NETWORK=clinic_bench_network_$$
  psql -q "$PG_ADMIN" -c "CREATE DATABASE $PG_DB_NETWORK" >/dev/null
  NET_URL=${PG_ADMIN%/*}/$PG_DB_NETWORK
  APP__DATABASE__URL=$NET_URL RUST_LOG=warn "$BIN" migrate
  t0=$(date +%s.%N)
  line=$(python3 bench/network_postgres.py "$NET_URL")
  load_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
  eval "$(echo "$line" | tr ' ' '\n' | sed 's/^/net_/')"
  # shellcheck disable=SC2154 # the net_ variables come from the eval above
  record postgres "clinic network load (s)" - "$load_s" - - - \
    "COPY $net_copy_s s, indexes $net_index_s s, VACUUM ANALYZE $net_vacuum_s s: $net_locations locations, $net_providers providers, $net_slots slots, $net_bookings bookings ($net_future_bookings upcoming), $net_patients patients"
  echo "postgres clinic network load: $load_s s ($line)" >&2
  # Bookings: providers 2-250 at 1 connection, 251-500 at 32 (provider 1's week is read above).
  free_ids postgres "$NET_URL" 2 250 > "$WORK/net1.ids"
  free_ids postgres "$NET_URL" 251 500 > "$WORK/net32.ids"
  printf 'bench-sheet-password\n' | APP__DATABASE__URL=$NET_URL RUST_LOG=warn "$BIN" create-user \
    --email bench-sheet@clinic.example --role front_desk >/dev/null
  HWMS=
  start_server "$NET_URL" network APP__HTTP__AVAILABILITY_CACHE_MS=0
  sheet_token=$(curl -fsS -X POST "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"email":"bench-sheet@clinic.example","password":"bench-sheet-password"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  # Location 7 (America/Denver): 25 providers, as every location but the main one.
  sheet_url="$BASE/api/v1/bookings?date=$sheet_date&location_id=7"
  sheet_items=$(curl -fsS -H "Authorization: Bearer $sheet_token" "$sheet_url" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
  for c in 1 32; do
    wrk_run postgres "clinic network: GET /api/v1/slots, one provider, 7 days, database every time" "$c" "$BASE/api/v1/slots?provider_id=1&to=$to"
    wrk_run postgres "clinic network: GET /api/v1/schedule-appointment, database every time" "$c" "$BASE/api/v1/schedule-appointment"
    wrk_run postgres "clinic network: $SHEET_CASE" "$c" "$sheet_url" "$ROOT/bench/search.lua" "$sheet_token"
    sed -i "\$ s/\$/, $sheet_items bookings on the sheet/" "$RESULTS"
  done
  for c in 1 32; do
    wrk_run postgres "clinic network: POST /api/v1/bookings, distinct free slots" "$c" "$BASE" "$ROOT/bench/book.lua" "$WORK/net$c.ids"
  done
  stop_server
  record postgres "clinic network: server peak RSS (VmHWM, MiB)" - "$HWM" - - - "the server of the rows above"
  psql -q "$PG_ADMIN" -c "DROP DATABASE $PG_DB_NETWORK WITH (FORCE)" >/dev/null
  PG_DB_NETWORK=
fi

log "outbox drain to a local SMTP server (cargo bench --bench mail_drain)"
cargo bench -q --bench mail_drain 2>/dev/null | grep '^|' > "$WORK/mail.md" || echo "mail_drain bench failed" > "$WORK/mail.md"

log "write $OUT"
mkdir -p target/bench-results
cp "$RESULTS" "$WORK"/plan-*.txt "$WORK/mail.md" target/bench-results/
python3 bench/report.py "$RESULTS" "$WORK" "$OUT" "bench/run.sh${BENCH_SECONDS:+ (BENCH_SECONDS=$BENCH_SECONDS)}"
echo "wrote $OUT" >&2
