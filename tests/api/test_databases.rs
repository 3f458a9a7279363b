//! The PostgreSQL databases of test runs: a run drops its own when it ends, and the cleanup of
//! those a run could not drop (it was killed) never drops one a live run is using, wherever that
//! run is and whatever its pid now names.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::helpers::{
    admin_url, create_run_database, drop_if_abandoned, postgres_available, random_suffix,
    run_database_name, server_of, take_run_lock, TEST_DATABASE_PREFIX,
};

crate::tests! {
    once_if(postgres_available): [
        a_database_whose_run_holds_its_lock_is_never_dropped,
        a_database_from_before_the_lock_is_dropped_only_when_nobody_uses_it,
        a_run_drops_its_database_when_it_ends,
    ],
}

fn admin() -> PgConnection {
    PgConnection::establish(&admin_url()).expect("connect to TEST_DATABASE_URL")
}

fn databases_starting_with(admin: &mut PgConnection, prefix: &str) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    diesel::sql_query(
        "SELECT datname::text AS datname FROM pg_database WHERE starts_with(datname::text, $1)",
    )
    .bind::<diesel::sql_types::Text, _>(prefix)
    .load::<Name>(admin)
    .expect("list databases")
    .into_iter()
    .map(|n| n.datname)
    .collect()
}

fn exists(admin: &mut PgConnection, name: &str) -> bool {
    databases_starting_with(admin, name)
        .iter()
        .any(|n| n == name)
}

/// Cleans up `name` as a run's start does, until it is gone (another run's cleanup may be at it
/// too, holding its lock a moment, or dropping it first): whether it went within a few tries.
fn cleaned_up(admin: &mut PgConnection, server: &str, name: &str) -> bool {
    for _ in 0..20 {
        drop_if_abandoned(admin, server, name);
        if !exists(admin, name) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    false
}

/// The database calls block; they run off the test's runtime.
async fn blocking(f: fn()) {
    tokio::task::spawn_blocking(f).await.expect("the test body");
}

/// A database whose name holds no pid stands for a run on another machine or container, whose
/// pid means nothing here. (Cleanups of checkouts from before the lock keep such a name: they
/// look for a process with an empty pid, `/proc/`, and find one.)
const NO_PID_HERE: &str = "";

async fn a_database_whose_run_holds_its_lock_is_never_dropped() {
    blocking(|| {
        let url = admin_url();
        let server = server_of(&url);
        let mut admin = admin();

        // A live run elsewhere: its lock keeps it.
        let elsewhere = create_run_database(&mut admin, server, NO_PID_HERE);
        assert!(
            take_run_lock(server, &elsewhere.name).is_none(),
            "a live run's lock could be taken"
        );
        assert!(!drop_if_abandoned(&mut admin, server, &elsewhere.name));
        assert!(
            exists(&mut admin, &elsewhere.name),
            "a live run's database was dropped"
        );
        // Killed: its session, and the lock with it, ends. Now it goes.
        let name = elsewhere.name.clone();
        drop(elsewhere);
        assert!(cleaned_up(&mut admin, server, &name));

        // A killed run whose pid now belongs to another process (this one): dropped all the same.
        let reused = create_run_database(&mut admin, server, &std::process::id().to_string());
        let name = reused.name.clone();
        drop(reused);
        assert!(cleaned_up(&mut admin, server, &name));
    })
    .await;
}

async fn a_database_from_before_the_lock_is_dropped_only_when_nobody_uses_it() {
    blocking(|| {
        let url = admin_url();
        let server = server_of(&url);
        let mut admin = admin();

        // Made by an older checkout (no lock, no comment) whose process lives here: kept, as the
        // older checkouts themselves keep it.
        let alive = format!(
            "{TEST_DATABASE_PREFIX}{}_{}",
            std::process::id(),
            random_suffix()
        );
        admin
            .batch_execute(&format!("CREATE DATABASE {alive}"))
            .expect("create");
        assert!(!drop_if_abandoned(&mut admin, server, &alive));
        assert!(exists(&mut admin, &alive));
        admin
            .batch_execute(&format!("DROP DATABASE {alive} WITH (FORCE)"))
            .expect("drop");

        // Made by an older checkout elsewhere, still running a test: no pid to go by, but a
        // session is connected, and the plain DROP refuses.
        let elsewhere = format!("{TEST_DATABASE_PREFIX}{NO_PID_HERE}_{}", random_suffix());
        admin
            .batch_execute(&format!("CREATE DATABASE {elsewhere}"))
            .expect("create");
        let session =
            PgConnection::establish(&format!("{server}/{elsewhere}")).expect("connect to it");
        assert!(!drop_if_abandoned(&mut admin, server, &elsewhere));
        assert!(
            exists(&mut admin, &elsewhere),
            "a database in use was dropped"
        );
        drop(session);
        assert!(cleaned_up(&mut admin, server, &elsewhere));
    })
    .await;
}

/// Runs one PostgreSQL test in a run of its own (this binary again), and looks for its database
/// once it has ended.
async fn a_run_drops_its_database_when_it_ends() {
    blocking(|| {
        let ours = run_database_name().expect("this run's database (the precondition made it)");
        let child = std::process::Command::new(std::env::current_exe().expect("this binary"))
            .args(["browse::postgres::health_is_ok", "--exact"])
            .env("CLINIC_REQUIRE_POSTGRES", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start a second test run");
        let pid = child.id();
        let output = child.wait_with_output().expect("the second run");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "the second run:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut admin = admin();
        let left = databases_starting_with(&mut admin, &format!("{TEST_DATABASE_PREFIX}{pid}_"));
        assert!(
            left.is_empty(),
            "the run left its database behind: {left:?}"
        );
        // Its cleanup, at its start, left this live run's database alone.
        assert!(
            exists(&mut admin, &ours),
            "another run dropped this run's database"
        );
    })
    .await;
}
