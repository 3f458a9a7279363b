//! Every migration's `down.sql` undoes its `up.sql`: up, down, and up again on both backends;
//! and data an earlier version wrote is carried forward.

use chrono::Duration;
use clinic_booking::db;
use diesel::prelude::*;

use crate::helpers::{postgres_available, Backend, TestDatabase};

crate::tests! {
    both_backends: [
        migrations_go_up_down_and_up_again,
        bookings_from_before_visit_types_keep_their_slot,
    ],
    once_if(postgres_available): [postgres_sessions_price_random_reads_for_memory],
}

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

/// The server's PostgreSQL sessions plan with a random page read priced for memory (1.1) while
/// the server keeps PostgreSQL's default (4), and keep a value the operator chose: at 4 the
/// one-provider list walked every provider's week (`db::plan_for_memory`, BENCHMARKS.md).
async fn postgres_sessions_price_random_reads_for_memory() {
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        random_page_cost: String,
    }
    fn session_setting(url: &str) -> String {
        let pool = db::build_pool(url, 1).expect("pool");
        let mut conn = pool.get().expect("connection");
        let setting: Setting =
            diesel::sql_query("SELECT current_setting('random_page_cost') AS random_page_cost")
                .get_result(&mut *conn)
                .expect("setting");
        setting.random_page_cost
    }
    let database = TestDatabase::create(Backend::Postgres);
    let url = database.url.clone();
    tokio::task::spawn_blocking(move || {
        assert_eq!(
            session_setting(&url),
            "1.1",
            "the server's default of 4 is replaced"
        );
        // A value of the operator's (here given with the connection's options, as it could be
        // in postgresql.conf, for the role or for the database) is left as it is. The test
        // database's URL carries options already (its schema).
        assert!(url.contains("options=-c"), "{url}");
        let chosen = url.replace("options=-c", "options=-crandom_page_cost%3D2%20-c");
        assert_eq!(session_setting(&chosen), "2", "the operator's value stays");
    })
    .await
    .expect("blocking task");
}
