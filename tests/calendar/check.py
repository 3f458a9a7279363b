"""Reads a provider's calendar feed as a calendar app would, with the third-party `icalendar`
package (not the server's own code): parses FEED (a file holding the .ics answer) and prints,
as JSON on its last line, the calendar's name and refresh interval and each event's UID,
summary, start and end (UTC, ISO 8601), location, description and status.

Run by tests/api/calendar.rs; `pip install icalendar==7.3.2` (.ci/run does)."""

import json
import os
import sys

import icalendar


def main():
    with open(os.environ["FEED"], "rb") as feed:
        calendar = icalendar.Calendar.from_ical(feed.read())
    events = []
    for event in calendar.walk("VEVENT"):
        events.append(
            {
                "uid": str(event.get("UID")),
                "summary": str(event.get("SUMMARY")),
                "start": event.decoded("DTSTART").isoformat(),
                "end": event.decoded("DTEND").isoformat(),
                "location": str(event.get("LOCATION", "")),
                "description": str(event.get("DESCRIPTION", "")),
                "status": str(event.get("STATUS", "")),
            }
        )
    print(
        json.dumps(
            {
                "name": str(calendar.get("X-WR-CALNAME", "")),
                "refresh": str(calendar.get("REFRESH-INTERVAL").to_ical().decode())
                if calendar.get("REFRESH-INTERVAL")
                else None,
                "version": str(calendar.get("VERSION")),
                "events": events,
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
