//! The clinic's locations: the admin's upkeep of them, the main location the clinic's settings
//! describe, and which location (and so which time zone) a slot is at. Each change is one
//! write transaction with its audit entry.

use serde_json::{json, Map, Value};

use super::audit::{self, Entity};
use super::ClinicError;
use crate::db::audit::AuditAction;
use crate::db::locations::{self, Location, LocationChanges, NewLocation};
use crate::db::slots::AtLocation;
use crate::db::{self, is_unique_violation, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::ids::LocationId;
use crate::domain::location::{LocationFields, TimeZone};

fn state(l: &Location) -> Value {
    json!({
        "name": l.name,
        "address": l.address,
        "phone": l.phone,
        "timezone": l.timezone.as_str(),
        "active": l.active,
    })
}

fn duplicate_name(e: diesel::result::Error) -> ClinicError {
    if is_unique_violation(&e) {
        ClinicError::invalid("name", "a location with this name exists already")
    } else {
        e.into()
    }
}

fn no_main_location() -> ClinicError {
    ClinicError::Internal(anyhow::anyhow!(
        "there is no location; the app makes the main one from the clinic's settings on start"
    ))
}

/// Every location, to tell the place (and time zone) of many slots from one read.
#[derive(Debug, Clone)]
pub(crate) struct Directory {
    /// By id; the first is the main location. Never empty.
    all: Vec<Location>,
}

impl Directory {
    /// A directory of these locations (tests), the first being the main one.
    #[cfg(test)]
    pub(crate) fn of_locations(all: Vec<Location>) -> Self {
        Self { all }
    }

    pub(crate) fn load(conn: &mut DbConnection) -> Result<Self, ClinicError> {
        let all = locations::list(conn, false)?;
        if all.is_empty() {
            return Err(no_main_location());
        }
        Ok(Self { all })
    }

    /// Where a slot with this `location_id` is: none (a slot from before locations) is the main
    /// location.
    pub(crate) fn of(&self, id: Option<LocationId>) -> &Location {
        id.and_then(|id| self.all.iter().find(|l| l.id == id))
            .unwrap_or(&self.all[0])
    }

    /// The active locations as slot filters, the main one first.
    pub(crate) fn places(&self) -> Vec<AtLocation> {
        self.all
            .iter()
            .enumerate()
            .filter(|(_, l)| l.active)
            .map(|(i, l)| AtLocation {
                id: l.id,
                is_main: i == 0,
            })
            .collect()
    }
}

/// The location a slot with this `location_id` is at (none: the main location).
pub(crate) fn of_slot(
    conn: &mut DbConnection,
    id: Option<LocationId>,
) -> Result<Location, ClinicError> {
    if let Some(id) = id {
        if let Some(location) = locations::find(conn, id)? {
            return Ok(location);
        }
    }
    locations::main(conn)?.ok_or_else(no_main_location)
}

/// A filter to one location's slots, for `?location_id=`: any location that exists (an
/// inactive one may still have slots).
pub(crate) fn place(conn: &mut DbConnection, id: LocationId) -> Result<AtLocation, ClinicError> {
    let location = locations::find(conn, id)?.ok_or(ClinicError::NotFound("location"))?;
    let main = locations::main(conn)?.ok_or_else(no_main_location)?;
    Ok(AtLocation {
        id: location.id,
        is_main: location.id == main.id,
    })
}

/// Where new slots go: the location named, which must be active, or the main location.
pub(crate) fn for_new_slots(
    conn: &mut DbConnection,
    id: Option<LocationId>,
) -> Result<Location, ClinicError> {
    match id {
        None => locations::main(conn)?.ok_or_else(no_main_location),
        Some(id) => locations::find(conn, id)?
            .filter(|l| l.active)
            .ok_or_else(|| {
                ClinicError::invalid("location_id", format!("there is no active location {id}"))
            }),
    }
}

pub(crate) fn create(
    conn: &mut DbConnection,
    fields: &LocationFields,
    actor: &Actor,
) -> Result<Location, ClinicError> {
    let timezone = fields
        .timezone
        .ok_or_else(|| ClinicError::invalid("timezone", "timezone is required"))?;
    db::write_transaction(conn, |conn| {
        let now = db::now();
        let location = NewLocation {
            name: fields.name.as_deref().unwrap_or_default(),
            address: fields.address.as_deref().unwrap_or_default(),
            phone: fields.phone.as_deref().unwrap_or_default(),
            timezone,
            active: fields.active.unwrap_or(true),
            created_at: now,
            updated_at: now,
        }
        .insert(conn)
        .map_err(duplicate_name)?;
        audit::record(
            conn,
            actor,
            AuditAction::LocationCreate,
            Entity::Location(location.id),
            None,
            Some(state(&location)),
            now,
        )?;
        Ok(location)
    })
}

/// Edits a location. A new time zone applies to schedules built from then on: slots already
/// made keep their instants (09:00 in the old zone stays that instant).
pub(crate) fn update(
    conn: &mut DbConnection,
    id: LocationId,
    fields: &LocationFields,
    actor: &Actor,
) -> Result<Location, ClinicError> {
    db::write_transaction(conn, |conn| {
        let before = locations::find(conn, id)?.ok_or(ClinicError::NotFound("location"))?;
        let now = db::now();
        let after = locations::update(
            conn,
            id,
            &LocationChanges {
                name: fields.name.clone(),
                address: fields.address.clone(),
                phone: fields.phone.clone(),
                timezone: fields.timezone,
                active: fields.active,
                updated_at: Some(now),
            },
        )
        .map_err(duplicate_name)?;
        let (mut from, mut to) = (Map::new(), Map::new());
        if let (Value::Object(old), Value::Object(new)) = (state(&before), state(&after)) {
            for (key, value) in new {
                if old.get(&key) != Some(&value) {
                    from.insert(key.clone(), old.get(&key).cloned().unwrap_or(Value::Null));
                    to.insert(key, value);
                }
            }
        }
        if !to.is_empty() {
            audit::record(
                conn,
                actor,
                AuditAction::LocationUpdate,
                Entity::Location(id),
                Some(Value::Object(from)),
                Some(Value::Object(to)),
                now,
            )?;
        }
        Ok(after)
    })
}

/// The clinic as its settings describe it: name, address, phone and time zone.
#[derive(Debug, Clone)]
pub struct ClinicAddress<'a> {
    pub name: &'a str,
    pub address: &'a str,
    pub phone: &'a str,
    pub timezone: TimeZone,
}

/// Makes sure a main location exists (on an empty table, the clinic of the settings) and that
/// every slot has a location: slots made before locations, or by an older copy during a rolling
/// deploy, are the main location's. Run on start, after the migrations. Returns the main
/// location and how many slots it was given.
pub fn ensure_main(
    conn: &mut DbConnection,
    clinic: &ClinicAddress<'_>,
) -> Result<(Location, usize), ClinicError> {
    db::write_transaction(conn, |conn| {
        let main = match locations::main(conn)? {
            Some(main) => main,
            // Not audited, as the demo seed is not: it is the settings taking their place in
            // the database, not anyone's change.
            None => {
                let now = db::now();
                NewLocation {
                    name: clinic.name,
                    address: clinic.address,
                    phone: clinic.phone,
                    timezone: clinic.timezone,
                    active: true,
                    created_at: now,
                    updated_at: now,
                }
                .insert(conn)?
            }
        };
        let assigned = locations::assign_unplaced_slots(conn, main.id)?;
        Ok((main, assigned))
    })
}
