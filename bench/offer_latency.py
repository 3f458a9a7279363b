"""Cancellation to waitlist offer mail (issue 16), against a running server.

Usage: offer_latency.py BASE ADMIN_TOKEN MAIL_DIR COUNT

Sets up a provider of its own with COUNT half-hour slots a week ahead, books each for a patient,
and puts COUNT patients on the waitlist for that provider (staff entries: they count at once).
Once the outbox is quiet, it cancels the bookings one at a time and measures, for each, the time
from sending the cancellation to the offer mail's file appearing in MAIL_DIR (the file
transport): the offer is written in the cancellation's transaction, and the mail worker, woken
by the request, renders and writes it. Prints one line: `n=… p50_ms=… p99_ms=… max_ms=…`.
"""

import datetime
import json
import os
import statistics
import sys
import time
import urllib.request


def call(base, method, path, token=None, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Accept", "application/json")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
        return json.loads(text) if text else None


def mails_to(mail_dir, address, seen):
    """Names of .eml files not in `seen` whose To: header is `address`."""
    found = []
    for name in os.listdir(mail_dir):
        if name in seen or not name.endswith(".eml"):
            continue
        path = os.path.join(mail_dir, name)
        try:
            with open(path, "rb") as handle:
                head = handle.read(4096).decode("utf-8", "replace")
        except OSError:
            continue
        if "\nTo: " + address in head or "\nTo: <" + address + ">" in head or address + ">" in head:
            found.append(name)
    return found


def main():
    base, admin, mail_dir, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    provider = call(base, "POST", "/api/v1/providers", admin,
                    {"name": "Dr. Bench Waitlist", "specialty": "pain_medicine"})["id"]
    visit_type = call(base, "POST", "/api/v1/visit-types", admin,
                      {"name": "Bench waitlist visit", "duration_minutes": 30,
                       "buffer_minutes": 0, "provider_ids": [provider]})["id"]
    start = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=7)).replace(
        minute=0, second=0, microsecond=0)
    bookings = []
    for n in range(count):
        at = start + datetime.timedelta(minutes=30 * n)
        slot = call(base, "POST", f"/api/v1/providers/{provider}/slots", admin,
                    {"start": at.isoformat(), "end": (at + datetime.timedelta(minutes=30)).isoformat()})
        booked = call(base, "POST", "/api/v1/bookings", None,
                      {"slot_id": slot["id"], "visit_type_id": visit_type,
                       "patient": {"name": f"Bench Booked {n}", "email": f"bench-booked-{n}@example.com"}})
        bookings.append((booked["reference"], booked["manage_token"]))
    today = datetime.date.today()
    for n in range(count):
        call(base, "POST", "/api/v1/admin/waitlist", admin,
             {"visit_type_id": visit_type, "provider_id": provider,
              "earliest_date": str(today), "latest_date": str(today + datetime.timedelta(days=30)),
              "patient": {"name": f"Bench Waiting {n}", "email": f"bench-waiting-{n}@example.com"}})
    # Let the confirmations and "on the list" mails go out first.
    time.sleep(3)
    seen = set(os.listdir(mail_dir))
    latencies = []
    for n, (reference, token) in enumerate(bookings):
        address = f"bench-waiting-{n}@example.com"
        t0 = time.perf_counter()
        call(base, "POST", f"/api/v1/bookings/{reference}/cancel", token)
        deadline = t0 + 30
        while True:
            found = mails_to(mail_dir, address, seen)
            if found:
                latencies.append((time.perf_counter() - t0) * 1000)
                seen.update(found)
                break
            if time.perf_counter() > deadline:
                print(f"no offer mail to {address} within 30 s", file=sys.stderr)
                sys.exit(1)
            time.sleep(0.002)
        seen.update(os.listdir(mail_dir))
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(round(0.99 * len(latencies))) - 1)]
    print(f"n={len(latencies)} p50_ms={statistics.median(latencies):.1f} "
          f"p99_ms={p99:.1f} max_ms={latencies[-1]:.1f}")


if __name__ == "__main__":
    main()
