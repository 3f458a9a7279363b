//! Every migration's `down.sql` undoes its `up.sql`: up, down, and up again on both backends.

use clinic_booking::db;

use crate::helpers::{Backend, TestDatabase};

crate::both_backends!(migrations_go_up_down_and_up_again);

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
