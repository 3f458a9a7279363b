"""The clinic network (issue 20), bulk-loaded into a freshly migrated PostgreSQL database with
COPY: 20 locations (the main one and 19 more, in five US time zones), 25 providers at each (500),
on weekdays 16 half-hour slots from 08:00 local time, a year ahead from tomorrow (30% booked)
and three years back to yesterday (80% booked: mostly completed, some no-shows, some cancelled,
whose time stayed free), 250,000 patients with their search words, every booking naming its
patient (no address holds more than 3 upcoming visits, the booking rules' default), and the
60-minute visit type every provider offers.

    python3 bench/network_postgres.py postgres://postgres@127.0.0.1:5432/DB

Python 3, standard library only; psql does the COPY (`COPY ... FROM STDIN`, its data in the
script psql reads). Ids are explicit, so a booking names its slot and patient without a lookup;
the sequences are set after. For speed, in one transaction: the tables are truncated (they must be
empty: a fresh database) so that COPY may FREEZE, foreign keys are not checked
(session_replication_role = replica; the data is made consistent), and the plain secondary
indexes are dropped and made again afterwards from their saved definitions (constraints and their
indexes stay), so the schema ends as the migrations made it. Then VACUUM ANALYZE.

Prints one line on stdout: `key=value` pairs (phase times in seconds, row counts).
"""
import datetime
import os
import subprocess
import sys
import tempfile
import threading
import time
import zoneinfo

URL = sys.argv[1]
LOCATIONS = 20
PROVIDERS_PER_LOCATION = 25
PROVIDERS = LOCATIONS * PROVIDERS_PER_LOCATION
PATIENTS = 250_000
FUTURE_DAYS = 365
PAST_DAYS = 3 * 365
SLOTS_A_DAY = 16
ZONES = ["America/Phoenix", "America/Denver", "America/Chicago", "America/New_York", "America/Los_Angeles"]
CITIES = ["Phoenix", "Denver", "Chicago", "New York", "Los Angeles", "Tucson", "Boulder", "Milwaukee",
          "Boston", "San Diego", "Mesa", "Colorado Springs", "St. Louis", "Philadelphia", "Sacramento",
          "Scottsdale", "Albuquerque", "Minneapolis", "Atlanta", "Portland"]
FIRST = ["Ana", "Maria", "Jose", "Luis", "Carmen", "Juan", "Rosa", "Carlos", "Elena", "Miguel", "Sofia",
         "David", "Laura", "Daniel", "Lucia", "Pedro", "Paula", "Jorge", "Sara", "Diego"]
LAST = ["Garcia", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Perez", "Sanchez", "Ramirez",
        "Torres", "Flores", "Rivera", "Gomez", "Diaz", "Reyes", "Morales", "Cruz", "Ortiz", "Gutierrez",
        "Chavez", "Ramos", "Ruiz", "Alvarez", "Mendoza", "Castillo", "Jimenez", "Moreno", "Romero", "Herrera",
        "Medina", "Aguilar", "Vargas", "Castro", "Guzman", "Fernandez", "Juarez", "Mendez", "Salazar", "Soto",
        "Delgado", "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
        "Taylor"]
SPECIALTIES = ["Pain Medicine", "Physical Therapy", "Orthopedics", "Neurology", "Chiropractic"]
# Tables COPY fills (truncated first, in the load's transaction, so COPY may FREEZE) and whose
# plain secondary indexes are dropped during the load.
TABLES = ["providers", "slots", "bookings", "booking_slots", "patients", "patient_search_terms",
          "visit_types", "visit_type_providers"]
# Crockford's base32, as booking references are written: ten characters after BK-.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PAIRS = [a + b for a in ALPHABET for b in ALPHABET]


def reference(n):
    return "BK-" + PAIRS[(n >> 40) & 1023] + PAIRS[(n >> 30) & 1023] + PAIRS[(n >> 20) & 1023] \
        + PAIRS[(n >> 10) & 1023] + PAIRS[n & 1023]


def ts(dt):
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def psql_at(sql):
    return subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", URL, "-c", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def main():
    t_start = time.monotonic()
    main_locations = psql_at("SELECT id || ' ' || timezone FROM locations ORDER BY id").splitlines()
    if len(main_locations) != 1 or not main_locations[0].startswith("1 "):
        sys.exit(f"expected a freshly migrated database with the main location (id 1) only: {main_locations}")
    zones = [main_locations[0].split(" ", 1)[1]] + [ZONES[i % len(ZONES)] for i in range(1, LOCATIONS)]
    utc = datetime.timezone.utc
    now = datetime.datetime.now(utc).replace(microsecond=0, tzinfo=None)
    now_s = ts(now)
    today = now.date()
    # Future: tomorrow to a year ahead; past: three years back to yesterday (as the base data set
    # and its history, bench/load_postgres.sql and bench/history_postgres.sql). Weekdays only.
    days = [(today - datetime.timedelta(days=n), -n) for n in range(PAST_DAYS, 0, -1)]
    days += [(today + datetime.timedelta(days=n), n) for n in range(1, FUTURE_DAYS + 1)]
    days = [(d, n) for d, n in days if d.weekday() < 5]

    # Each (zone, day): the 16 slots' start and end in UTC, the day's history timestamps.
    times = {}
    for zone in set(zones):
        tz = zoneinfo.ZoneInfo(zone)
        for d, _ in days:
            first = datetime.datetime(d.year, d.month, d.day, 8, 0, tzinfo=tz)
            row = []
            for j in range(SLOTS_A_DAY):
                start = (first + datetime.timedelta(minutes=30 * j)).astimezone(utc).replace(tzinfo=None)
                row.append((ts(start), ts(start + datetime.timedelta(minutes=30))))
            times[zone, d] = row
    booked_before = {d: [f"{d - datetime.timedelta(days=k + 1)} 17:00:00" for k in range(30)] for d, _ in days}
    made_recently = [ts(now - datetime.timedelta(days=k, hours=1)) for k in range(60)]

    patients = []
    for n in range(1, PATIENTS + 1):
        first, last = FIRST[n % 20], LAST[(n // 20) % 50]
        patients.append((f"{first} {last}", f"{first.lower()}.{last.lower()}{n}@example.com",
                         f"+1602{n:07d}", first.lower(), last.lower()))

    psql = subprocess.Popen(["psql", "-qX", "-v", "ON_ERROR_STOP=1", URL, "-f", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=1 << 20)
    phases = {}

    def read_phases():
        for line in psql.stdout:
            line = line.decode().strip()
            if line.startswith("PHASE "):
                phases[line.split()[1]] = time.monotonic()
            elif line:
                print(line, file=sys.stderr)

    reader = threading.Thread(target=read_phases)
    reader.start()
    out = psql.stdin

    def send(text):
        out.write(text.encode())

    def copy(table, columns, lines, freeze=True):
        send(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv{', FREEZE' if freeze else ''});\n")
        for chunk in lines:
            send(chunk)
        send("\\.\n")

    send(f"""
SET client_min_messages = warning;
SET maintenance_work_mem = '512MB';
SET session_replication_role = replica;
BEGIN;
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM providers) OR EXISTS (SELECT 1 FROM slots) OR EXISTS (SELECT 1 FROM bookings)
     OR EXISTS (SELECT 1 FROM patients) OR EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM visit_types)
     OR (SELECT count(*) FROM locations) <> 1 THEN
    RAISE EXCEPTION 'the clinic network loads into a freshly migrated database only';
  END IF;
END $$;
CREATE TEMP TABLE network_indexes ON COMMIT DROP AS
SELECT i.indexname, i.indexdef FROM pg_indexes i
JOIN pg_class c ON c.relname = i.indexname AND c.relnamespace = 'public'::regnamespace
WHERE i.schemaname = 'public' AND i.tablename IN ({", ".join(f"'{t}'" for t in TABLES)})
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid);
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT indexname FROM network_indexes LOOP EXECUTE format('DROP INDEX %I', r.indexname); END LOOP;
END $$;
-- Empty already; truncated in this transaction so that COPY may write the rows frozen.
TRUNCATE {", ".join(TABLES)} CASCADE;
""")
    copy("locations", "id, name, address, phone, timezone, active, created_at, updated_at",
         [f"{i},{CITIES[i - 1]} clinic,{100 + i} Main St,+1 (602) 555-{i:04d},{zones[i - 1]},t,{now_s},{now_s}\n"
          for i in range(2, LOCATIONS + 1)], freeze=False)
    copy("providers", "id, name, title, specialty, bio, active, created_at, updated_at",
         [f'{p},Provider {p},MD,{SPECIALTIES[p % len(SPECIALTIES)]},"",t,{now_s},{now_s}\n'
          for p in range(1, PROVIDERS + 1)])
    copy("visit_types", "id, name, description, duration_minutes, buffer_minutes, new_patients_online, active, created_at, updated_at",
         [f'1,New-patient evaluation,"",60,0,t,t,{now_s},{now_s}\n'])
    copy("visit_type_providers", "visit_type_id, provider_id", [f"1,{p}\n" for p in range(1, PROVIDERS + 1)])
    registered = ts(now - datetime.timedelta(days=PAST_DAYS + 30))
    copy("patients", "id, name, email, email_key, phone, created_at, updated_at",
         ["".join(f"{n},{name},{email},{email},{phone},{registered},{now_s}\n"
                  for n, (name, email, phone, _, _) in enumerate(patients[k:k + 10000], start=k + 1))
          for k in range(0, PATIENTS, 10000)])
    # The search words, as the server writes them (src/domain/search.rs: each word of the name,
    # the email, the phone's digits and their last ten and seven), in index order.
    terms = []
    for n, (_, email, phone, first, last) in enumerate(patients, start=1):
        digits = phone[1:]
        terms += [(first, n), (last, n), (email, n), (digits, n), (digits[-10:], n), (digits[-7:], n)]
    terms.sort()
    copy("patient_search_terms", "term, patient_id",
         ["".join(f"{t},{n}\n" for t, n in terms[k:k + 50000]) for k in range(0, len(terms), 50000)])
    del terms

    # Slots stream to psql; their bookings and booking_slots go to temporary files meanwhile,
    # sent after.
    tmp = tempfile.mkdtemp(prefix="clinic-network.")
    bookings_path, held_path = os.path.join(tmp, "bookings.csv"), os.path.join(tmp, "booking_slots.csv")
    counts = {"slots": 0, "bookings": 0, "future_bookings": 0, "booking_slots": 0}

    def slot_chunks():
        sid = bid = future = 0
        with open(bookings_path, "w") as bookings, open(held_path, "w") as held:
            for d, n in days:
                chunk, bchunk, hchunk = [], [], []
                for loc in range(1, LOCATIONS + 1):
                    day = times[zones[loc - 1], d]
                    before = booked_before[d]
                    for p in range((loc - 1) * PROVIDERS_PER_LOCATION + 1, loc * PROVIDERS_PER_LOCATION + 1):
                        for j in range(SLOTS_A_DAY):
                            sid += 1
                            start, end = day[j]
                            if n > 0:
                                # The base data set's pattern: 30% booked.
                                if (p * 7 + n * 3 + j) % 10 < 3:
                                    bid += 1
                                    # Round robin: no patient holds more than 3 upcoming visits.
                                    pat = future % PATIENTS + 1
                                    future += 1
                                    name, email, phone, _, _ = patients[pat - 1]
                                    made = made_recently[bid % 60]
                                    source = "website" if bid % 10 < 6 else "front_desk" if bid % 10 < 9 else "schedule_cta"
                                    lang = "es" if bid % 7 == 0 else "en"
                                    bchunk.append(f"{bid},{reference(bid)},{sid},{name},{email},{phone},{source},booked,"
                                                  f"{made},{made},f,{end},{pat},,{lang}\n")
                                    hchunk.append(f"{sid},{bid}\n")
                                    chunk.append(f"{sid},{p},{start},{end},busy,{now_s},{loc}\n")
                                else:
                                    chunk.append(f"{sid},{p},{start},{end},free,{now_s},{loc}\n")
                                continue
                            made = before[29]
                            if (p + n + j) % 5 == 0:
                                # As bench/history_postgres.sql: a fifth of the past time unbooked.
                                chunk.append(f"{sid},{p},{start},{end},free,{made},{loc}\n")
                                continue
                            bid += 1
                            pat = (bid * 7919) % PATIENTS + 1
                            name, email, phone, _, _ = patients[pat - 1]
                            booked = before[bid % 30]
                            source = "website" if bid % 10 < 6 else "front_desk" if bid % 10 < 9 else "schedule_cta"
                            lang = "es" if bid % 7 == 0 else "en"
                            outcome = (bid * 2654435761) % 100
                            if outcome < 6:
                                # Cancelled the day before: the time stayed free, nothing holds it.
                                bchunk.append(f"{bid},{reference(bid)},{sid},{name},{email},{phone},{source},cancelled,"
                                              f"{booked},{before[0]},f,{end},{pat},{before[0]},{lang}\n")
                                chunk.append(f"{sid},{p},{start},{end},free,{made},{loc}\n")
                                continue
                            status = "no_show" if outcome < 10 else "completed"
                            bchunk.append(f"{bid},{reference(bid)},{sid},{name},{email},{phone},{source},{status},"
                                          f"{booked},{end},f,{end},{pat},,{lang}\n")
                            hchunk.append(f"{sid},{bid}\n")
                            chunk.append(f"{sid},{p},{start},{end},busy,{made},{loc}\n")
                counts["slots"] += len(chunk)
                counts["booking_slots"] += len(hchunk)
                bookings.write("".join(bchunk))
                held.write("".join(hchunk))
                yield "".join(chunk)
        counts["bookings"], counts["future_bookings"] = bid, future

    def file_chunks(path):
        with open(path) as f:
            while True:
                block = f.read(1 << 22)
                if not block:
                    break
                yield block
        os.remove(path)

    copy("slots", "id, provider_id, starts_at, ends_at, status, created_at, location_id", slot_chunks())
    assert counts["future_bookings"] <= 3 * PATIENTS
    copy("bookings", "id, reference, slot_id, patient_name, patient_email, patient_phone, source, status, "
         "created_at, updated_at, needs_review, ends_at, patient_id, cancelled_at, language",
         file_chunks(bookings_path))
    copy("booking_slots", "slot_id, booking_id", file_chunks(held_path))
    os.rmdir(tmp)
    send("\\echo PHASE copied\n")
    send("""
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT indexdef FROM network_indexes ORDER BY indexname LOOP EXECUTE r.indexdef; END LOOP;
END $$;
""")
    send("DO $$ BEGIN\n" + "".join(
        f"  PERFORM setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}));\n"
        for t in ["locations", "providers", "visit_types", "patients", "slots", "bookings"]) + "END $$;\n")
    send("COMMIT;\nSET session_replication_role = origin;\n\\echo PHASE indexed\n")
    send("VACUUM ANALYZE;\n\\echo PHASE vacuumed\n")
    out.close()
    rc = psql.wait()
    reader.join()
    if rc != 0:
        sys.exit(f"psql failed ({rc})")
    t_end = time.monotonic()
    copied, indexed = phases["copied"], phases["indexed"]
    print(f"total_s={t_end - t_start:.1f} copy_s={copied - t_start:.1f} index_s={indexed - copied:.1f} "
          f"vacuum_s={t_end - indexed:.1f} locations={LOCATIONS} providers={PROVIDERS} patients={PATIENTS} "
          f"slots={counts['slots']} bookings={counts['bookings']} future_bookings={counts['future_bookings']} "
          f"booking_slots={counts['booking_slots']}")


try:
    main()
except BrokenPipeError:
    # psql stopped on an error (printed above).
    sys.exit("psql stopped before the load was complete")
