//! The admin's visit types: create, edit (deactivating is `active: false`), and the list
//! patients choose from. Each change is one write transaction with its audit entry.

use serde_json::{json, Value};

use super::audit::{self, Entity};
use super::ClinicError;
use crate::db::audit::AuditAction;
use crate::db::visit_types::{self, NewVisitType, VisitType, VisitTypeChanges};
use crate::db::{self, is_unique_violation, providers, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::ids::{ProviderId, VisitTypeId};
use crate::domain::visit_type::VisitTypeFields;

/// A visit type with the providers who offer it.
#[derive(Debug, Clone)]
pub(crate) struct OfferedVisitType {
    pub visit_type: VisitType,
    pub provider_ids: Vec<ProviderId>,
}

fn state(v: &OfferedVisitType) -> Value {
    let t = &v.visit_type;
    json!({
        "name": t.name,
        "duration_minutes": t.duration_minutes,
        "buffer_minutes": t.buffer_minutes,
        "new_patients_online": t.new_patients_online,
        "series_online": t.series_online,
        "min_notice_minutes": t.min_notice_minutes,
        "horizon_days": t.horizon_days,
        "cancel_cutoff_hours": t.cancel_cutoff_hours,
        "active": t.active,
        "provider_ids": v.provider_ids,
    })
}

fn duplicate_name(e: diesel::result::Error) -> ClinicError {
    if is_unique_violation(&e) {
        ClinicError::invalid("name", "a visit type with this name exists already")
    } else {
        e.into()
    }
}

/// Every provider named must exist (inactive ones may offer a type for when they return).
fn check_providers(conn: &mut DbConnection, ids: &[ProviderId]) -> Result<(), ClinicError> {
    for &id in ids {
        if providers::find(conn, id)?.is_none() {
            return Err(ClinicError::invalid(
                "provider_ids",
                format!("there is no provider {id}"),
            ));
        }
    }
    Ok(())
}

/// The visit types (all, or the active ones) with who offers each, by name.
pub(crate) fn list(
    conn: &mut DbConnection,
    active_only: bool,
) -> Result<Vec<OfferedVisitType>, ClinicError> {
    let offers = visit_types::offers(conn)?;
    Ok(visit_types::list(conn, active_only)?
        .into_iter()
        .map(|visit_type| OfferedVisitType {
            provider_ids: offers
                .iter()
                .filter(|(type_id, _)| *type_id == visit_type.id)
                .map(|(_, provider)| *provider)
                .collect(),
            visit_type,
        })
        .collect())
}

pub(crate) fn find(
    conn: &mut DbConnection,
    id: VisitTypeId,
) -> Result<OfferedVisitType, ClinicError> {
    let visit_type = visit_types::find(conn, id)?.ok_or(ClinicError::NotFound("visit type"))?;
    Ok(OfferedVisitType {
        provider_ids: visit_types::providers_of(conn, id)?,
        visit_type,
    })
}

pub(crate) fn create(
    conn: &mut DbConnection,
    fields: &VisitTypeFields,
    actor: &Actor,
) -> Result<OfferedVisitType, ClinicError> {
    db::write_transaction(conn, |conn| {
        let now = db::now();
        let provider_ids = fields.provider_ids.clone().unwrap_or_default();
        check_providers(conn, &provider_ids)?;
        let visit_type = NewVisitType {
            name: fields.name.as_deref().unwrap_or_default(),
            description: fields.description.as_deref().unwrap_or_default(),
            duration_minutes: fields.duration_minutes.unwrap_or_default(),
            buffer_minutes: fields.buffer_minutes.unwrap_or_default(),
            new_patients_online: fields.new_patients_online.unwrap_or(true),
            series_online: fields.series_online.unwrap_or(false),
            active: fields.active.unwrap_or(true),
            min_notice_minutes: fields.min_notice_minutes.flatten(),
            horizon_days: fields.horizon_days.flatten(),
            cancel_cutoff_hours: fields.cancel_cutoff_hours.flatten(),
            created_at: now,
            updated_at: now,
        }
        .insert(conn)
        .map_err(duplicate_name)?;
        visit_types::set_providers(conn, visit_type.id, &provider_ids)?;
        let created = OfferedVisitType {
            visit_type,
            provider_ids,
        };
        audit::record(
            conn,
            actor,
            AuditAction::VisitTypeCreate,
            Entity::VisitType(created.visit_type.id),
            None,
            Some(state(&created)),
            now,
        )?;
        Ok(created)
    })
}

/// Edits a visit type. Visits already booked keep the length they were booked with.
pub(crate) fn update(
    conn: &mut DbConnection,
    id: VisitTypeId,
    fields: &VisitTypeFields,
    actor: &Actor,
) -> Result<OfferedVisitType, ClinicError> {
    db::write_transaction(conn, |conn| {
        let before = find(conn, id)?;
        let now = db::now();
        if let Some(provider_ids) = &fields.provider_ids {
            check_providers(conn, provider_ids)?;
            visit_types::set_providers(conn, id, provider_ids)?;
        }
        let visit_type = visit_types::update(
            conn,
            id,
            &VisitTypeChanges {
                name: fields.name.clone(),
                description: fields.description.clone(),
                duration_minutes: fields.duration_minutes,
                buffer_minutes: fields.buffer_minutes,
                new_patients_online: fields.new_patients_online,
                series_online: fields.series_online,
                active: fields.active,
                min_notice_minutes: fields.min_notice_minutes,
                horizon_days: fields.horizon_days,
                cancel_cutoff_hours: fields.cancel_cutoff_hours,
                updated_at: Some(now),
            },
        )
        .map_err(duplicate_name)?;
        let after = OfferedVisitType {
            visit_type,
            provider_ids: fields
                .provider_ids
                .clone()
                .unwrap_or(before.provider_ids.clone()),
        };
        audit::record(
            conn,
            actor,
            AuditAction::VisitTypeUpdate,
            Entity::VisitType(id),
            Some(state(&before)),
            Some(state(&after)),
            now,
        )?;
        Ok(after)
    })
}
