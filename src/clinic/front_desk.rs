//! The clinic's own changes to providers and slots: create and edit providers, build schedules,
//! add single slots, block and unblock them. Each is one write transaction that records its
//! audit entry alongside the change.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{json, Map, Value};

use super::audit::{self, Entity};
use super::offers::{self, Freed};
use super::rules::BookingPolicy;
use super::{locations, ClinicError};
use crate::db::audit::AuditAction;
use crate::db::providers::{self, NewProvider, Provider, ProviderChanges};
use crate::db::slots::{self, NewSlot, Slot};
use crate::db::{self, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::ids::{LocationId, ProviderId, SlotId};
use crate::domain::provider::ProviderFields;
use crate::domain::schedule::WeeklySchedule;
use crate::domain::slot::{SlotStatus, TimeWindow};

fn provider_state(p: &Provider) -> Value {
    json!({
        "name": p.name,
        "title": p.title,
        "specialty": p.specialty,
        "active": p.active,
    })
}

pub(crate) fn create_provider(
    conn: &mut DbConnection,
    fields: &ProviderFields,
    actor: &Actor,
) -> Result<Provider, ClinicError> {
    db::write_transaction(conn, |conn| {
        let now = db::now();
        let provider = NewProvider {
            name: fields.name.as_deref().unwrap_or_default(),
            title: fields.title.as_deref().unwrap_or_default(),
            specialty: fields.specialty.as_deref().unwrap_or_default(),
            bio: fields.bio.as_deref().unwrap_or_default(),
            active: fields.active.unwrap_or(true),
            created_at: now,
            updated_at: now,
        }
        .insert(conn)?;
        audit::record(
            conn,
            actor,
            AuditAction::ProviderCreate,
            Entity::Provider(provider.id),
            None,
            Some(provider_state(&provider)),
            now,
        )?;
        Ok(provider)
    })
}

/// Edits a provider (deactivating is `active: false`). The audit entry holds the fields that
/// changed, before and after; the bio is noted as changed without its text.
pub(crate) fn update_provider(
    conn: &mut DbConnection,
    id: ProviderId,
    fields: &ProviderFields,
    actor: &Actor,
) -> Result<Provider, ClinicError> {
    db::write_transaction(conn, |conn| {
        let before = providers::find(conn, id)?.ok_or_else(|| ClinicError::NotFound("provider"))?;
        let now = db::now();
        let after = providers::update(
            conn,
            id,
            &ProviderChanges {
                name: fields.name.clone(),
                title: fields.title.clone(),
                specialty: fields.specialty.clone(),
                bio: fields.bio.clone(),
                active: fields.active,
                updated_at: Some(now),
            },
        )?;
        let (old, new) = (provider_state(&before), provider_state(&after));
        let (mut from, mut to) = (Map::new(), Map::new());
        if let (Value::Object(old), Value::Object(new)) = (old, new) {
            for (key, value) in new {
                if old.get(&key) != Some(&value) {
                    from.insert(key.clone(), old.get(&key).cloned().unwrap_or(Value::Null));
                    to.insert(key, value);
                }
            }
        }
        if before.bio != after.bio {
            from.insert("bio".into(), json!("(previous text)"));
            to.insert("bio".into(), json!("(new text)"));
        }
        if !to.is_empty() {
            audit::record(
                conn,
                actor,
                AuditAction::ProviderUpdate,
                Entity::Provider(id),
                Some(Value::Object(from)),
                Some(Value::Object(to)),
                now,
            )?;
        }
        Ok(after)
    })
}

/// What building a schedule did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScheduleReport {
    pub created: usize,
    /// Slots of the pattern not created: they overlapped an existing slot (e.g. a re-run), or
    /// their local start does not exist that day (the spring-forward gap).
    pub skipped: usize,
    /// Where the slots are, in whose time zone the pattern was read.
    pub location: crate::db::locations::Location,
}

/// Turns a weekly pattern into the provider's slots at a location (default: the main one), in
/// that location's time zone. Re-running it creates nothing new: every planned slot then
/// overlaps the one made the first time. A provider is in one place at a time: a slot
/// overlapping one of theirs at any location is skipped.
pub(crate) fn apply_schedule(
    conn: &mut DbConnection,
    provider_id: ProviderId,
    location_id: Option<LocationId>,
    schedule: &WeeklySchedule,
    actor: &Actor,
    policy: &BookingPolicy,
) -> Result<ScheduleReport, ClinicError> {
    db::write_transaction(conn, |conn| {
        // Taken before the overlap checks, so concurrent runs for one provider take turns.
        if !providers::lock_for_schedule(conn, provider_id)? {
            return Err(ClinicError::NotFound("provider"));
        }
        let location = locations::for_new_slots(conn, location_id)?;
        let plan = schedule.plan(location.timezone.tz());
        let now = db::now();
        let new_slots: Vec<NewSlot> = plan
            .slots
            .iter()
            .map(|s| NewSlot {
                provider_id,
                starts_at: s.start.naive_utc(),
                ends_at: s.end.naive_utc(),
                status: SlotStatus::Free,
                visit_type: None,
                created_at: now,
                location_id: Some(location.id),
            })
            .collect();
        let created = slots::insert_non_overlapping(conn, &new_slots)?;
        // New time goes to the waitlist first.
        if let (Some(first), Some(last), true) = (new_slots.first(), new_slots.last(), created > 0)
        {
            let freed = Freed {
                provider_id,
                location_id: Some(location.id),
                from: first.starts_at,
                until: last.ends_at,
                freed_at: now,
            };
            offers::offer_freed(conn, &freed, actor, policy, now)?;
        }
        let report = ScheduleReport {
            created,
            skipped: new_slots.len() - created + plan.nonexistent,
            location,
        };
        audit::record(
            conn,
            actor,
            AuditAction::ScheduleApply,
            Entity::Provider(provider_id),
            None,
            Some(json!({
                "from_date": schedule.from_date().to_string(),
                "to_date": schedule.to_date().to_string(),
                "location_id": report.location.id,
                "created": report.created,
                "skipped": report.skipped,
            })),
            now,
        )?;
        Ok(report)
    })
}

/// The longest single slot: a working day.
const MAX_SINGLE_SLOT_HOURS: i64 = crate::domain::slot::LONGEST_SLOT_HOURS;

/// Adds one free slot at a location (default: the main one); 409 if it overlaps one the
/// provider has, at any location.
pub(crate) fn add_slot(
    conn: &mut DbConnection,
    provider_id: ProviderId,
    location_id: Option<LocationId>,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    actor: &Actor,
    policy: &BookingPolicy,
) -> Result<Slot, ClinicError> {
    use chrono::SubsecRound;
    let window = TimeWindow::new(start.trunc_subsecs(0), end.trunc_subsecs(0)).map_err(|m| {
        ClinicError::invalid("end", m.replace("`to`", "end").replace("`from`", "start"))
    })?;
    if window.end() - window.start() > chrono::Duration::hours(MAX_SINGLE_SLOT_HOURS) {
        return Err(ClinicError::invalid(
            "end",
            format!("a slot may last at most {MAX_SINGLE_SLOT_HOURS} hours"),
        ));
    }
    let (start, end) = (window.start().naive_utc(), window.end().naive_utc());
    db::write_transaction(conn, |conn| {
        // Taken before the overlap checks, so concurrent runs for one provider take turns.
        if !providers::lock_for_schedule(conn, provider_id)? {
            return Err(ClinicError::NotFound("provider"));
        }
        let location = locations::for_new_slots(conn, location_id)?;
        if slots::overlaps(conn, provider_id, start, end)? {
            return Err(ClinicError::Overlap { provider_id });
        }
        let now = db::now();
        let slot = NewSlot {
            provider_id,
            starts_at: start,
            ends_at: end,
            status: SlotStatus::Free,
            visit_type: None,
            created_at: now,
            location_id: Some(location.id),
        }
        .insert(conn)?;
        audit::record(
            conn,
            actor,
            AuditAction::SlotCreate,
            Entity::Slot(slot.id),
            None,
            Some(json!({
                "provider_id": provider_id,
                "location_id": location.id,
                "start": slot.starts_at.and_utc().to_rfc3339(),
                "end": slot.ends_at.and_utc().to_rfc3339(),
                "status": slot.status.as_str(),
            })),
            now,
        )?;
        offers::offer_freed(
            conn,
            &Freed::slot(&slot, slot.ends_at, now),
            actor,
            policy,
            now,
        )?;
        Ok(slot)
    })
}

/// Blocks a free slot or frees a blocked one. A booked (busy) slot is a 409: cancel or move its
/// booking first.
pub(crate) fn set_slot_status(
    conn: &mut DbConnection,
    slot_id: SlotId,
    target: SlotStatus,
    (actor, policy): (&Actor, &BookingPolicy),
    now: NaiveDateTime,
) -> Result<Slot, ClinicError> {
    if target == SlotStatus::Busy {
        return Err(ClinicError::invalid(
            "status",
            "status must be blocked or free; slots become busy by being booked",
        ));
    }
    db::write_transaction(conn, |conn| {
        let slot = slots::find(conn, slot_id)?.ok_or_else(|| ClinicError::NotFound("slot"))?;
        let current = slot.status;
        if current == SlotStatus::Busy {
            return Err(ClinicError::SlotBooked);
        }
        if current == target {
            return Ok(slot);
        }
        if !slots::set_status(conn, slot_id, current, target)? {
            return Err(ClinicError::ChangedMeanwhile("slot"));
        }
        audit::record(
            conn,
            actor,
            AuditAction::SlotStatus,
            Entity::Slot(slot_id),
            Some(json!({"status": current.as_str()})),
            Some(json!({"status": target.as_str()})),
            now,
        )?;
        if target == SlotStatus::Free {
            let freed = Freed::slot(&slot, slot.ends_at, now);
            offers::offer_freed(conn, &freed, actor, policy, now)?;
        }
        Ok(Slot {
            status: target,
            ..slot
        })
    })
}
