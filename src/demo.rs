//! The demo clinic: three providers of a spine and pain clinic, the visit types they offer, its
//! two locations, and two weeks of weekday slots, so a newcomer's first `serve` has something to
//! book.
//!
//! The main location is the clinic of the settings (Phoenix). The satellite is in Window Rock,
//! on the Navajo Nation in north-eastern Arizona, which unlike the rest of Arizona keeps
//! daylight saving time (the IANA zone `America/Denver`): a real Arizona clinic group can span
//! two zones that agree in winter and are an hour apart in summer, which is what locations with
//! their own time zones are for. The physical therapist spends Fridays there.

use chrono::{DateTime, Datelike, Duration, NaiveTime, SubsecRound, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use crate::db::locations::{self, NewLocation};
use crate::db::providers::{self, NewProvider};
use crate::db::slots::{self, NewSlot};
use crate::db::visit_types::{self, NewVisitType};
use crate::db::{self, DbConnection};
use crate::domain::ids::{LocationId, ProviderId};
use crate::domain::location::TimeZone as Zone;
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
    /// The weekday spent at the satellite, in its time zone and with the same hours.
    satellite_day: Option<Weekday>,
}

/// The demo's second location (the first is the clinic of the settings).
const SATELLITE_NAME: &str = "Desert Spine & Pain — Window Rock";
const SATELLITE_ADDRESS: &str = "8 Route 264, Window Rock, AZ 86515";
const SATELLITE_PHONE: &str = "+1 (928) 555-0172";
const SATELLITE_ZONE: Tz = chrono_tz::America::Denver;

const PROVIDERS: [DemoProvider; 3] = [
    DemoProvider {
        name: "Dr. Maya Chen",
        title: "MD, Pain Medicine",
        specialty: "pain_medicine",
        bio: "Board-certified in pain medicine; treats chronic back and neck pain, including pain made worse by stress.",
        hours: (8, 16),
        satellite_day: None,
    },
    DemoProvider {
        name: "Luis Romero",
        title: "DPT, Physical Therapy",
        specialty: "physical_therapy",
        bio: "Physical therapist focused on posture, core strength and recovery from lower-back injuries.",
        hours: (9, 17),
        satellite_day: Some(Weekday::Fri),
    },
    DemoProvider {
        name: "Grace Okafor",
        title: "LMT, Massage Therapy",
        specialty: "massage_therapy",
        bio: "Licensed massage therapist easing muscle tension in the upper back, shoulders and neck.",
        hours: (10, 18),
        satellite_day: None,
    },
];

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub locations_created: usize,
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
            locations = report.locations_created,
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
    // The main location comes from the settings on start (`startup`); without one (a database
    // prepared some other way) the slots are left to be placed there when it is made.
    let main = locations::main(conn)?.map(|l| l.id);
    let satellite = match locations::find_by_name(conn, SATELLITE_NAME)? {
        Some(l) => l,
        None => {
            report.locations_created += 1;
            NewLocation {
                name: SATELLITE_NAME,
                address: SATELLITE_ADDRESS,
                phone: SATELLITE_PHONE,
                timezone: Zone::new(SATELLITE_ZONE),
                active: true,
                created_at: stamp,
                updated_at: stamp,
            }
            .insert(conn)?
        }
    };
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
        let mut new_slots = Vec::new();
        let weekdays = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ];
        for day in weekdays {
            let (place, zone) = match demo.satellite_day {
                Some(d) if d == day => (Some(satellite.id), SATELLITE_ZONE),
                _ => (main, tz),
            };
            let days = Workdays {
                weekday: day,
                location_id: place,
                tz: zone,
            };
            new_slots.extend(weekday_slots(provider.id, demo.hours, days, now, stamp));
        }
        new_slots.sort_by_key(|s| s.starts_at);
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
            min_notice_minutes: None,
            horizon_days: None,
            cancel_cutoff_hours: None,
            created_at: stamp,
            updated_at: stamp,
        }
        .insert(conn)?;
        let offered_by: Vec<_> = demo.providers.iter().map(|&i| provider_ids[i]).collect();
        visit_types::set_providers(conn, visit_type.id, &offered_by)?;
    }
    Ok(report)
}

/// One weekday of the demo's schedules: where it is spent, in that place's zone.
struct Workdays {
    weekday: Weekday,
    location_id: Option<LocationId>,
    tz: Tz,
}

fn weekday_slots(
    provider_id: ProviderId,
    (open, close): (u32, u32),
    days: Workdays,
    now: DateTime<Utc>,
    stamp: chrono::NaiveDateTime,
) -> Vec<NewSlot> {
    let tz = days.tz;
    let today = now.with_timezone(&tz).date_naive();
    let mut out = Vec::new();
    for day in (1..=DEMO_DAYS).map(|d| today + Duration::days(d)) {
        if day.weekday() != days.weekday {
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
                    location_id: days.location_id,
                });
            }
            minute += SLOT_MINUTES;
        }
    }
    out
}
