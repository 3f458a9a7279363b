//! The demo clinic: three providers of a spine and pain clinic and two weeks of weekday slots,
//! so a newcomer's first `serve` has something to book.

use chrono::{DateTime, Datelike, Duration, NaiveTime, SubsecRound, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use crate::db::providers::{self, NewProvider};
use crate::db::slots::{self, NewSlot};
use crate::db::{self, DbConnection};
use crate::domain::ids::ProviderId;
use crate::domain::slot::SlotStatus;

pub(crate) const DEMO_DAYS: i64 = 14;
const SLOT_MINUTES: i64 = 30;

struct DemoProvider {
    name: &'static str,
    title: &'static str,
    specialty: &'static str,
    bio: &'static str,
    /// Local working hours, with a lunch break from 12:00 to 13:00.
    hours: (u32, u32),
}

const PROVIDERS: [DemoProvider; 3] = [
    DemoProvider {
        name: "Dr. Maya Chen",
        title: "MD, Pain Medicine",
        specialty: "pain_medicine",
        bio: "Board-certified in pain medicine; treats chronic back and neck pain, including pain made worse by stress.",
        hours: (8, 16),
    },
    DemoProvider {
        name: "Luis Romero",
        title: "DPT, Physical Therapy",
        specialty: "physical_therapy",
        bio: "Physical therapist focused on posture, core strength and recovery from lower-back injuries.",
        hours: (9, 17),
    },
    DemoProvider {
        name: "Grace Okafor",
        title: "LMT, Massage Therapy",
        specialty: "massage_therapy",
        bio: "Licensed massage therapist easing muscle tension in the upper back, shoulders and neck.",
        hours: (10, 18),
    },
];

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub providers_created: usize,
    pub slots_created: usize,
}

/// Seeds the demo clinic into an empty database; does nothing if any provider exists, so a
/// restart never seeds twice.
pub(crate) fn seed_if_empty(
    conn: &mut DbConnection,
    tz: Tz,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<SeedReport>> {
    db::write_transaction(conn, |conn| {
        if providers::count(conn)? > 0 {
            return Ok(None);
        }
        let report = add_missing(conn, tz, now)?;
        tracing::info!(
            providers = report.providers_created,
            slots = report.slots_created,
            "seeded the demo clinic"
        );
        Ok(Some(report))
    })
}

/// Adds whatever of the demo clinic is missing: its providers (by name) and their weekday slots
/// for the next two weeks. Safe to run again; it never creates overlapping slots.
pub fn seed(conn: &mut DbConnection, tz: Tz, now: DateTime<Utc>) -> anyhow::Result<SeedReport> {
    db::write_transaction(conn, |conn| add_missing(conn, tz, now))
}

fn add_missing(conn: &mut DbConnection, tz: Tz, now: DateTime<Utc>) -> anyhow::Result<SeedReport> {
    let mut report = SeedReport::default();
    let stamp = now.naive_utc().trunc_subsecs(0);
    for demo in &PROVIDERS {
        let provider = match providers::find_by_name(conn, demo.name)? {
            Some(p) => p,
            None => {
                report.providers_created += 1;
                NewProvider {
                    name: demo.name,
                    title: demo.title,
                    specialty: demo.specialty,
                    bio: demo.bio,
                    active: true,
                    created_at: stamp,
                    updated_at: stamp,
                }
                .insert(conn)?
            }
        };
        let new_slots = weekday_slots(provider.id, demo.hours, tz, now, stamp);
        report.slots_created += slots::insert_non_overlapping(conn, &new_slots)?;
    }
    Ok(report)
}

fn weekday_slots(
    provider_id: ProviderId,
    (open, close): (u32, u32),
    tz: Tz,
    now: DateTime<Utc>,
    stamp: chrono::NaiveDateTime,
) -> Vec<NewSlot> {
    let today = now.with_timezone(&tz).date_naive();
    let mut out = Vec::new();
    for day in (1..=DEMO_DAYS).map(|d| today + Duration::days(d)) {
        if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            continue;
        }
        let mut minute = i64::from(open) * 60;
        while minute + SLOT_MINUTES <= i64::from(close) * 60 {
            let lunch = (12 * 60..13 * 60).contains(&minute);
            let local = NaiveTime::from_hms_opt((minute / 60) as u32, (minute % 60) as u32, 0)
                .map(|t| day.and_time(t))
                .and_then(|t| tz.from_local_datetime(&t).earliest());
            if let (false, Some(start)) = (lunch, local) {
                let start = start.with_timezone(&Utc).naive_utc();
                out.push(NewSlot {
                    provider_id,
                    starts_at: start,
                    ends_at: start + Duration::minutes(SLOT_MINUTES),
                    status: SlotStatus::Free,
                    visit_type: None,
                    created_at: stamp,
                });
            }
            minute += SLOT_MINUTES;
        }
    }
    out
}
