//! The demo clinic: three providers of a spine and pain clinic, the visit types they offer, and
//! two weeks of weekday slots, so a newcomer's first `serve` has something to book.

use chrono::{DateTime, Datelike, Duration, NaiveTime, SubsecRound, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use crate::db::providers::{self, NewProvider};
use crate::db::slots::{self, NewSlot};
use crate::db::visit_types::{self, NewVisitType};
use crate::db::{self, DbConnection};
use crate::domain::ids::ProviderId;
use crate::domain::slot::SlotStatus;

pub(crate) const DEMO_DAYS: i64 = 14;
/// The grain of the demo schedules: every visit type below lasts whole quarter hours, so each
/// holds a run of back-to-back slots with nothing left over.
const SLOT_MINUTES: i64 = 15;

struct DemoVisitType {
    name: &'static str,
    description: &'static str,
    duration_minutes: i32,
    buffer_minutes: i32,
    new_patients_online: bool,
    /// Indexes into `PROVIDERS`.
    providers: &'static [usize],
}

const VISIT_TYPES: [DemoVisitType; 4] = [
    DemoVisitType {
        name: "New-patient evaluation",
        description: "A first visit: your history, an examination and a plan for your pain.",
        duration_minutes: 60,
        buffer_minutes: 15,
        new_patients_online: true,
        providers: &[0],
    },
    DemoVisitType {
        name: "Follow-up visit",
        description: "For patients we have seen: how the plan is working, and what comes next.",
        duration_minutes: 30,
        buffer_minutes: 0,
        new_patients_online: false,
        providers: &[0, 1],
    },
    DemoVisitType {
        name: "Physical-therapy session",
        description: "Exercises and hands-on therapy; usually a course of weekly sessions.",
        duration_minutes: 45,
        buffer_minutes: 15,
        new_patients_online: false,
        providers: &[1],
    },
    DemoVisitType {
        name: "Therapeutic massage",
        description: "Eases tension in the back, shoulders and neck.",
        duration_minutes: 60,
        buffer_minutes: 15,
        new_patients_online: true,
        providers: &[2],
    },
];

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
    pub visit_types_created: usize,
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
            visit_types = report.visit_types_created,
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
    let mut provider_ids = Vec::with_capacity(PROVIDERS.len());
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
        provider_ids.push(provider.id);
        let new_slots = weekday_slots(provider.id, demo.hours, tz, now, stamp);
        report.slots_created += slots::insert_non_overlapping(conn, &new_slots)?;
    }
    for demo in &VISIT_TYPES {
        if visit_types::find_by_name(conn, demo.name)?.is_some() {
            continue;
        }
        report.visit_types_created += 1;
        let visit_type = NewVisitType {
            name: demo.name,
            description: demo.description,
            duration_minutes: demo.duration_minutes,
            buffer_minutes: demo.buffer_minutes,
            new_patients_online: demo.new_patients_online,
            series_online: false,
            active: true,
            created_at: stamp,
            updated_at: stamp,
        }
        .insert(conn)?;
        let offered_by: Vec<_> = demo.providers.iter().map(|&i| provider_ids[i]).collect();
        visit_types::set_providers(conn, visit_type.id, &offered_by)?;
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
