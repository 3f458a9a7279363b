//! Every migration's `down.sql` undoes its `up.sql`: up, down, and up again on both backends;
//! and data an earlier version wrote is carried forward.

use chrono::Duration;
use clinic_booking::db;
use diesel::prelude::*;

use crate::helpers::{Backend, TestDatabase};

crate::both_backends!(
    migrations_go_up_down_and_up_again,
    bookings_from_before_visit_types_keep_their_slot
);

async fn migrations_go_up_down_and_up_again(backend: Backend) {
    let database = TestDatabase::create(backend);
    let pool = db::build_pool(&database.url, 1).expect("pool");
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("connection");
        let applied = db::run_migrations(&mut conn).expect("up");
        assert!(applied >= 2, "core and staff migrations");
        assert_eq!(db::revert_all_migrations(&mut conn).expect("down"), applied);
        assert!(!db::migrations_current(&mut conn).expect("pending"));
        assert_eq!(db::run_migrations(&mut conn).expect("up again"), applied);
        assert!(db::migrations_current(&mut conn).expect("current"));
    })
    .await
    .expect("blocking task");
}

/// A booking made before visit types (one slot, no end of its own) holds its slot in
/// `booking_slots` and ends where its slot does once the visit-types migration has run; a
/// cancelled one holds nothing.
async fn bookings_from_before_visit_types_keep_their_slot(backend: Backend) {
    use clinic_booking::db::schema::{booking_slots, bookings, providers, slots};
    let database = TestDatabase::create(backend);
    let pool = db::build_pool(&database.url, 1).expect("pool");
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("connection");
        db::run_migrations(&mut conn).expect("up");
        db::revert_to_before(&mut conn, "2026-12-01-000006").expect("back to before visit types");
        let now = db::now();
        diesel::insert_into(providers::table)
            .values((
                providers::id.eq(1),
                providers::name.eq("Dr. Rivera"),
                providers::title.eq(""),
                providers::specialty.eq("pain_medicine"),
                providers::created_at.eq(now),
                providers::updated_at.eq(now),
            ))
            .execute(&mut conn)
            .expect("provider");
        for (id, hour) in [(1, 1), (2, 2)] {
            diesel::insert_into(slots::table)
                .values((
                    slots::id.eq(id),
                    slots::provider_id.eq(1),
                    slots::starts_at.eq(now + Duration::hours(hour)),
                    slots::ends_at.eq(now + Duration::hours(hour) + Duration::minutes(30)),
                    slots::status.eq(if id == 1 { "busy" } else { "free" }),
                    slots::created_at.eq(now),
                ))
                .execute(&mut conn)
                .expect("slot");
        }
        for (id, slot, status) in [(1, 1, "booked"), (2, 2, "cancelled")] {
            diesel::insert_into(bookings::table)
                .values((
                    bookings::id.eq(id),
                    bookings::reference.eq(format!("BK-OLD{id}")),
                    bookings::slot_id.eq(slot),
                    bookings::patient_name.eq("Ana Díaz"),
                    bookings::patient_email.eq("ana@example.com"),
                    bookings::source.eq("website"),
                    bookings::status.eq(status),
                    bookings::created_at.eq(now),
                    bookings::updated_at.eq(now),
                ))
                .execute(&mut conn)
                .expect("booking");
        }
        assert!(db::run_migrations(&mut conn).expect("visit types and what follows") >= 1);
        let held: Vec<(i32, i32)> = booking_slots::table
            .select((booking_slots::slot_id, booking_slots::booking_id))
            .load(&mut conn)
            .expect("held");
        assert_eq!(
            held,
            [(1, 1)],
            "the active booking holds its slot, the cancelled none"
        );
        let ends: Vec<Option<chrono::NaiveDateTime>> = bookings::table
            .order(bookings::id)
            .select(bookings::ends_at)
            .load(&mut conn)
            .expect("ends");
        let slot_end = |hour| Some(now + Duration::hours(hour) + Duration::minutes(30));
        assert_eq!(ends, [slot_end(1), slot_end(2)]);
    })
    .await
    .expect("blocking task");
}
