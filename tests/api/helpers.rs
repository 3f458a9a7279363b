//! Test helpers: a fresh database per test (a temp SQLite file, or a new schema in a PostgreSQL
//! database created once per test run), the app on port 0, and one helper per endpoint. The
//! harness that runs the tests is in `helpers/harness.rs`; mail helpers in `helpers/mail.rs`.

pub mod harness;
mod mail;

pub use mail::{confirmations_by_reference, smtp_to, wait_until_due_mail_sent};

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use actix_web::dev::ServerHandle;
use chrono::Duration;
use clinic_booking::db::{self, Pool};
use clinic_booking::settings::{MailTransportKind, Settings};
use clinic_booking::startup::Application;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use rand::Rng;
use reqwest::{Method, Response, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that lives as long as the test: a temp SQLite file, or a PostgreSQL schema.
/// Clones share it (several app copies on one database). Once the test's body returns, the
/// harness checks that it holds no due mail left undelivered.
#[derive(Clone)]
pub struct TestDatabase {
    pub url: String,
    _dir: Option<std::sync::Arc<tempfile::TempDir>>,
    undelivered_mail_expected: std::sync::Arc<AtomicBool>,
}

impl TestDatabase {
    /// A fresh database. A test on PostgreSQL is registered as one, so the harness has skipped it
    /// already when PostgreSQL cannot be reached.
    pub fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Self::watched(url, Some(dir))
            }
            Backend::Postgres => {
                let base = postgres_database().unwrap_or_else(|reason| {
                    panic!(
                        "{reason}: a test on PostgreSQL is registered as one (`both_backends`, \
                         `once_if(postgres_available)`) so that the harness skips it"
                    )
                });
                let schema = format!("t_{}", random_suffix());
                let mut conn = PgConnection::establish(base).expect("connect to the test database");
                conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create test schema");
                let separator = if base.contains('?') { '&' } else { '?' };
                Self::watched(
                    format!("{base}{separator}options=-csearch_path%3D{schema}"),
                    None,
                )
            }
        }
    }

    /// A database of the running test, which the harness checks for undelivered mail after it.
    fn watched(url: String, dir: Option<tempfile::TempDir>) -> Self {
        let database = Self {
            url,
            _dir: dir.map(std::sync::Arc::new),
            undelivered_mail_expected: Default::default(),
        };
        harness::TRIAL
            .try_with(|trial| {
                trial
                    .databases
                    .lock()
                    .expect("databases")
                    .push(database.clone())
            })
            .expect("a test database is created in the test's own task (not in a spawned one)");
        database
    }

    /// This test means to leave due mail unsent in this database (SMTP down, no mail worker,
    /// a killed server): the harness does not fail it for that.
    pub fn expect_undelivered_mail(&self) {
        self.undelivered_mail_expected.store(true, Ordering::SeqCst);
    }

    fn expects_undelivered_mail(&self) -> bool {
        self.undelivered_mail_expected.load(Ordering::SeqCst)
    }
}

impl TestDatabase {
    /// A SQLite database that does not exist yet, and its file path (a backup's target).
    pub fn sqlite_file_to_be() -> (Self, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("restored.db");
        let database = Self::watched(format!("sqlite://{}", path.display()), Some(dir));
        (database, path)
    }
}

pub(crate) fn random_suffix() -> String {
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

pub(crate) const TEST_DATABASE_PREFIX: &str = "clinic_booking_test_";

/// The advisory lock a test run holds on its database from creating it to dropping it, on a
/// connection to that database: the run's claim on it, whatever machine or container the run is
/// on and whatever becomes of its pid. Advisory locks belong to the database they are taken in,
/// so one key serves every run.
const RUN_LOCK: i64 = 0x636c_696e_6963_0001;

/// What a run that holds `RUN_LOCK` writes on its database. One without it was made by a
/// checkout from before the lock, which holds none.
const RUN_DATABASE_COMMENT: &str = "clinic-booking test run; its run holds an advisory lock on it";

/// A test run's PostgreSQL database and the connection that holds its lock.
pub(crate) struct RunDatabase {
    pub(crate) name: String,
    _owner: PgConnection,
}

/// This run's database, dropped by [`drop_run_database`] when the run ends.
static RUN_DATABASE: std::sync::Mutex<Option<(RunDatabase, String)>> = std::sync::Mutex::new(None);

/// The server and database the PostgreSQL tests start from (`TEST_DATABASE_URL`).
pub(crate) fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// `admin_url` without its database: where the URL of another database on that server starts.
pub(crate) fn server_of(admin_url: &str) -> &str {
    admin_url
        .rsplit_once('/')
        .expect("TEST_DATABASE_URL names a database")
        .0
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    value: bool,
}

/// Connects to `name` and takes its run lock without waiting: `None` when another session holds
/// it, or the database cannot be reached (gone, or being dropped).
pub(crate) fn take_run_lock(server: &str, name: &str) -> Option<PgConnection> {
    let mut conn = PgConnection::establish(&format!("{server}/{name}")).ok()?;
    let taken = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS value")
        .bind::<diesel::sql_types::BigInt, _>(RUN_LOCK)
        .get_result::<Flag>(&mut conn)
        .ok()?;
    taken.value.then_some(conn)
}

/// Creates a database for a test run and takes its lock; its name carries `pid`, the run's
/// process id. If another run's cleanup got to the new database first (it took the lock, or
/// dropped it), another name is tried.
pub(crate) fn create_run_database(
    admin: &mut PgConnection,
    server: &str,
    pid: &str,
) -> RunDatabase {
    for _ in 0..5 {
        let name = format!("{TEST_DATABASE_PREFIX}{pid}_{}", random_suffix());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the test run's database");
        let Some(mut owner) = take_run_lock(server, &name) else {
            continue;
        };
        if owner
            .batch_execute(&format!(
                "COMMENT ON DATABASE {name} IS '{RUN_DATABASE_COMMENT}'"
            ))
            .is_ok()
        {
            return RunDatabase {
                name,
                _owner: owner,
            };
        }
    }
    panic!("could not create a test database that stayed this run's (cleanups of other runs?)");
}

/// Drops `name`, a test run's database, if its run has ended without dropping it (killed,
/// say), and answers whether it did. Never one a live run uses:
///
/// - a live run holds its database's lock (`RUN_LOCK`): a database whose lock can be taken has
///   no run left;
/// - a database from a checkout that predates the lock (no `RUN_DATABASE_COMMENT`) is kept, as
///   those checkouts kept it, while a process with the pid in its name lives here;
/// - the drop is a plain `DROP DATABASE`, which refuses while any session is connected.
pub(crate) fn drop_if_abandoned(admin: &mut PgConnection, server: &str, name: &str) -> bool {
    let Some(lock) = take_run_lock(server, name) else {
        return false;
    };
    #[derive(QueryableByName)]
    struct Comment {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        comment: Option<String>,
    }
    let comment = diesel::sql_query(
        "SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1",
    )
    .bind::<diesel::sql_types::Text, _>(name)
    .get_result::<Comment>(admin);
    let Ok(Comment { comment }) = comment else {
        return false;
    };
    if comment.as_deref() != Some(RUN_DATABASE_COMMENT) {
        let pid = name
            .trim_start_matches(TEST_DATABASE_PREFIX)
            .split('_')
            .next()
            .unwrap_or_default();
        if !pid.is_empty() && Path::new("/proc").join(pid).exists() {
            return false;
        }
    }
    // The drop waits (up to 5 s) for this session to end; a session anyone else has open makes
    // it fail.
    drop(lock);
    match admin.batch_execute(&format!(
        "DROP DATABASE IF EXISTS \"{}\"",
        name.replace('"', "\"\"")
    )) {
        Ok(()) => true,
        Err(e) => {
            if !e.to_string().contains("is being accessed by other users") {
                eprintln!("could not drop {name}: {e}");
            }
            false
        }
    }
}

/// Drops the databases of earlier test runs that ended without dropping their own (see
/// [`drop_if_abandoned`]).
fn drop_abandoned_databases(admin: &mut PgConnection, server: &str) {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let names: Vec<Name> = diesel::sql_query(
        "SELECT datname::text AS datname FROM pg_database WHERE starts_with(datname::text, $1)",
    )
    .bind::<diesel::sql_types::Text, _>(TEST_DATABASE_PREFIX)
    .load(admin)
    .unwrap_or_else(|e| panic!("list test databases: {e}"));
    for Name { datname } in names {
        drop_if_abandoned(admin, server, &datname);
    }
}

/// Drops this run's PostgreSQL database, if it made one: the harness calls it once every test
/// has finished. `FORCE` ends what a finished test may have left connected, and the lock's own
/// session.
pub fn drop_run_database() {
    let Some((run, admin_url)) = RUN_DATABASE.lock().expect("run database").take() else {
        return;
    };
    let dropped = PgConnection::establish(&admin_url)
        .map_err(|e| e.to_string())
        .and_then(|mut admin| {
            admin
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    run.name
                ))
                .map_err(|e| e.to_string())
        });
    if let Err(e) = dropped {
        eprintln!(
            "could not drop this run's database {} (the next run drops it): {e}",
            run.name
        );
    }
}

/// The local PostgreSQL of a development machine, tried when `TEST_DATABASE_URL` is not set.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The PostgreSQL database of this test run, created on first use on the server of
/// `TEST_DATABASE_URL` (a URL whose database allows `CREATE DATABASE`; default
/// `postgres://postgres@127.0.0.1:5432/postgres`) and dropped when the run ends. If that server
/// cannot be reached the PostgreSQL variants are skipped (reported as ignored, with the reason),
/// unless `CLINIC_REQUIRE_POSTGRES=1`, which makes them fail: CI sets it, so CI cannot go green
/// without PostgreSQL. `Err` carries why they are skipped.
fn postgres_database() -> Result<&'static str, &'static str> {
    static DATABASE: OnceLock<Result<String, String>> = OnceLock::new();
    DATABASE
        .get_or_init(|| {
            let required = std::env::var("CLINIC_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
            let admin_url = admin_url();
            let mut admin = match PgConnection::establish(&admin_url) {
                Ok(conn) => conn,
                Err(e) if !required => {
                    let error = e.to_string();
                    return Err(format!(
                        "PostgreSQL not reachable: {}",
                        error.lines().next().unwrap_or_default().trim()
                    ));
                }
                Err(e) => panic!("CLINIC_REQUIRE_POSTGRES=1 but PostgreSQL is not reachable: {e}"),
            };
            let server = server_of(&admin_url).to_owned();
            drop_abandoned_databases(&mut admin, &server);
            let run = create_run_database(&mut admin, &server, &std::process::id().to_string());
            let url = format!("{server}/{}", run.name);
            *RUN_DATABASE.lock().expect("run database") = Some((run, admin_url));
            Ok(url)
        })
        .as_deref()
        .map_err(String::as_str)
}

/// The name of this run's PostgreSQL database, once a test has made it.
pub(crate) fn run_database_name() -> Option<String> {
    RUN_DATABASE
        .lock()
        .expect("run database")
        .as_ref()
        .map(|(run, _)| run.name.clone())
}

/// The harness's precondition of the PostgreSQL variants: `Err(reason)` skips them.
pub fn postgres_available() -> Result<(), String> {
    postgres_database().map(|_| ()).map_err(str::to_owned)
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub pool: Pool,
    handle: ServerHandle,
    /// The app's run: the server, then the mail worker's stop.
    running: tokio::task::JoinHandle<std::io::Result<()>>,
    pub database: TestDatabase,
    /// Where the app writes its mail as `.eml` files (unless a test points it at SMTP).
    mail_dir: tempfile::TempDir,
    /// The secret the app signs tokens with, for tests that forge tokens.
    pub jwt_secret: String,
}

/// Settings of a test app: its database, port 0, the demo clinic, and mail written as files
/// into `mail_dir` (tests of email point it at an SMTP server instead).
pub fn test_settings(database_url: &str, mail_dir: &Path) -> Settings {
    let config_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut settings = Settings::load_from(&config_dir, "default").expect("settings");
    settings.database.url = database_url.to_owned();
    settings.database.pool_size = 8;
    settings.server.port = 0;
    settings.server.workers = 2;
    settings.demo.seed = true;
    settings.mail.transport = MailTransportKind::File;
    settings.mail.file_dir = mail_dir.display().to_string();
    settings.mail.poll_interval_ms = 50;
    // Every test client shares 127.0.0.1: tests of the limit turn it on themselves.
    settings.http.rate_limit_per_minute = 0;
    settings
}

/// Starts the app on a fresh database with the demo clinic.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_on(TestDatabase::create(backend)).await
}

/// Starts the app on a fresh database with settings adjusted by `tweak` (e.g. another clinic
/// time zone).
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on_with(TestDatabase::create(backend), tweak).await
}

/// Starts the app on an existing database (as a restart would).
pub async fn spawn_app_on(database: TestDatabase) -> TestApp {
    spawn_app_on_with(database, |_| {}).await
}

pub async fn spawn_app_on_with(
    database: TestDatabase,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let mail_dir = tempfile::tempdir().expect("mail dir");
    let mut settings = test_settings(&database.url, mail_dir.path());
    tweak(&mut settings);
    let jwt_secret = settings.auth.jwt_secret.expose_secret().to_owned();
    let app = Application::build(settings).await.expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool();
    let handle = app.handle();
    let running = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        pool,
        handle,
        running,
        database,
        mail_dir,
        jwt_secret,
    }
}

/// The password every test account gets.
pub const STAFF_PASSWORD: &str = "correct-horse-battery-staple";

pub fn patient() -> Value {
    json!({
        "name": "Ana Díaz",
        "email": "ana.diaz@example.com",
        "phone": "+1 (602) 555-0134",
        "date_of_birth": "1984-03-09"
    })
}

/// Patient number `n`, someone other than Ana, with an address of their own. The booking rules
/// let one address hold only a few upcoming visits (3 by default): a test that books many slots
/// books them for different patients, as a clinic's slots are.
pub fn another_patient(n: usize) -> Value {
    json!({"name": format!("Patient {n}"), "email": format!("patient-{n}@example.com")})
}

/// A staff member's override of the booking rules, as a request body's `override` member.
pub fn staff_override(reason: &str) -> Value {
    json!({ "reason": reason })
}

impl TestApp {
    /// Stops the server gracefully and hands back its database.
    /// Stops the server gracefully, waits until its mail worker has stopped too (so nothing of
    /// this run touches the database afterwards), and hands back its database.
    pub async fn stop(self) -> TestDatabase {
        self.handle.stop(true).await;
        let _ = self.running.await;
        self.database
    }

    /// This test means to leave due mail unsent in the app's database (see
    /// [`TestDatabase::expect_undelivered_mail`]).
    pub fn expect_undelivered_mail(&self) {
        self.database.expect_undelivered_mail();
    }

    /// Where the app writes its mail (the file transport's directory).
    pub fn mail_dir(&self) -> &Path {
        self.mail_dir.path()
    }

    /// The mails the app has written so far (the file transport's `.eml` files), raw.
    pub fn written_mail(&self) -> Vec<Vec<u8>> {
        let Ok(entries) = std::fs::read_dir(self.mail_dir.path()) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .filter_map(|p| std::fs::read(p).ok())
            .collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.expect("json")
    }

    /// The free slots of the next two weeks, across providers (all of the demo clinic's: the
    /// default page of 500 would cut its quarter hours short).
    pub async fn free_slots(&self) -> Vec<Value> {
        let body = self.get_json("/api/v1/slots?limit=2000").await;
        body["items"].as_array().expect("items").clone()
    }

    pub async fn free_slot_ids(&self) -> Vec<i64> {
        self.free_slots()
            .await
            .iter()
            .map(|s| s["id"].as_i64().expect("id"))
            .collect()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn book(&self, slot_id: i64) -> Response {
        self.post_json(
            "/api/v1/bookings",
            &json!({"slot_id": slot_id, "patient": patient(), "reason": "Lower-back pain"}),
        )
        .await
    }

    /// Books a slot and returns the 201 body (with its manage token).
    pub async fn book_ok(&self, slot_id: i64) -> Value {
        let response = self.book(slot_id).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("json")
    }

    /// Books a slot for `patient` (e.g. `another_patient(n)`) and returns the 201 body.
    pub async fn book_for(&self, slot_id: i64, patient: &Value) -> Value {
        let response = self
            .post_json(
                "/api/v1/bookings",
                &json!({"slot_id": slot_id, "patient": patient}),
            )
            .await;
        let status = response.status();
        let body: Value = response.json().await.expect("json");
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Free slots starting `days` days from now or later, across providers: visits that can
    /// still be cancelled or moved online (the cut-off is 24 hours by default).
    pub async fn free_slots_from(&self, days: i64) -> Vec<Value> {
        let from = (chrono::Utc::now() + Duration::days(days))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let body = self
            .get_json(&format!("/api/v1/slots?from={}", urlencode(&from)))
            .await;
        body["items"].as_array().expect("items").clone()
    }

    /// The ids of `free_slots_from(days)`.
    pub async fn free_slot_ids_from(&self, days: i64) -> Vec<i64> {
        self.free_slots_from(days)
            .await
            .iter()
            .map(|s| s["id"].as_i64().expect("id"))
            .collect()
    }

    pub async fn get_booking(&self, reference: &str, token: &str) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/bookings/{reference}")))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// Reads a booking back with its own manage token, as the patient would (must be 200).
    pub async fn read_booking(&self, booking: &Value) -> Value {
        let response = self
            .get_booking(
                booking["reference"].as_str().expect("reference"),
                booking["manage_token"].as_str().expect("manage token"),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("json")
    }

    /// A booking as staff read it with `staff_token` (must be 200).
    pub async fn booking_as_staff(&self, staff_token: &str, reference: &str) -> Value {
        self.send_ok(
            Method::GET,
            &format!("/api/v1/bookings/{reference}"),
            staff_token,
            None,
            StatusCode::OK,
        )
        .await
    }

    pub async fn cancel(&self, reference: &str, token: &str) -> Response {
        self.client
            .post(self.url(&format!("/api/v1/bookings/{reference}/cancel")))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// Cancels as staff, setting the booking rules' cut-off aside for `reason`.
    pub async fn cancel_overriding(&self, reference: &str, token: &str, reason: &str) -> Response {
        self.client
            .post(self.url(&format!("/api/v1/bookings/{reference}/cancel")))
            .bearer_auth(token)
            .json(&json!({ "override": staff_override(reason) }))
            .send()
            .await
            .expect("request")
    }

    pub async fn reschedule(&self, reference: &str, token: &str, slot_id: i64) -> Response {
        self.client
            .post(self.url(&format!("/api/v1/bookings/{reference}/reschedule")))
            .bearer_auth(token)
            .json(&json!({ "slot_id": slot_id }))
            .send()
            .await
            .expect("request")
    }

    /// Runs blocking database work against the app's database.
    pub async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut db::DbConnection) -> T + Send + 'static,
    ) -> T {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || f(&mut pool.get().expect("connection")))
            .await
            .expect("blocking task")
    }

    /// Blocks a slot with a write straight to the database, as another copy of the server would:
    /// this process is not told.
    pub async fn block_slot_behind_its_back(&self, slot_id: i64) {
        self.with_db(move |conn| {
            use clinic_booking::db::schema::slots;
            use diesel::prelude::*;
            diesel::update(slots::table.find(slot_id as i32))
                .set(slots::status.eq("blocked"))
                .execute(conn)
                .expect("block")
        })
        .await;
    }

    /// Moves a booking's visit (its slot, kept as long) to start `minutes_from_now` (negative:
    /// it has started), as if its day had come: the desk checks patients in from 12 hours before
    /// a visit and marks no-shows once it has started. A write behind the app's back.
    pub async fn move_visit(&self, reference: &str, minutes_from_now: i64) {
        let reference = reference.to_owned();
        self.with_db(move |conn| {
            use clinic_booking::db::schema::{bookings, slots};
            use diesel::prelude::*;
            let (slot_id, starts_at, ends_at): (i32, chrono::NaiveDateTime, chrono::NaiveDateTime) =
                bookings::table
                    .inner_join(slots::table)
                    .filter(bookings::reference.eq(&reference))
                    .select((slots::id, slots::starts_at, slots::ends_at))
                    .first(conn)
                    .expect("the booking's slot");
            // A provider's slots start at distinct instants: step back a second past another's.
            for earlier in 0..600 {
                let start =
                    db::now() + Duration::minutes(minutes_from_now) - Duration::seconds(earlier);
                let moved = diesel::update(slots::table.find(slot_id))
                    .set((
                        slots::starts_at.eq(start),
                        slots::ends_at.eq(start + (ends_at - starts_at)),
                    ))
                    .execute(conn);
                match moved {
                    Ok(_) => return,
                    Err(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    )) => continue,
                    Err(e) => panic!("move the visit: {e}"),
                }
            }
            panic!("no free second to move the visit to");
        })
        .await;
    }

    /// Adds a slot for provider 1 starting `minutes_from_now` (negative: in the past).
    pub async fn insert_slot(&self, minutes_from_now: i64) -> i64 {
        use clinic_booking::db::schema::slots;
        self.with_db(move |conn| {
            let start = db::now() + Duration::minutes(minutes_from_now);
            diesel::insert_into(slots::table)
                .values((
                    slots::provider_id.eq(1),
                    slots::starts_at.eq(start),
                    slots::ends_at.eq(start + Duration::minutes(30)),
                    slots::status.eq("free"),
                    slots::created_at.eq(db::now()),
                ))
                .execute(conn)
                .expect("insert slot");
            slots::table
                .filter(slots::starts_at.eq(start))
                .filter(slots::provider_id.eq(1))
                .select(slots::id)
                .first::<i32>(conn)
                .map(i64::from)
                .expect("slot id")
        })
        .await
    }

    /// How many bookings, of any status, a slot has.
    pub async fn bookings_for_slot(&self, slot_id: i64) -> i64 {
        use clinic_booking::db::schema::bookings;
        self.with_db(move |conn| {
            bookings::table
                .filter(bookings::slot_id.eq(slot_id as i32))
                .count()
                .get_result(conn)
                .expect("count")
        })
        .await
    }

    /// Creates a staff account with the library function `clinic-booking create-user` uses;
    /// returns its id.
    pub async fn create_user(&self, email: &str, role: &str, password: &str) -> i64 {
        use clinic_booking::domain::actor::Actor;
        use clinic_booking::domain::staff::{NewPassword, Role, StaffEmail};
        let (email, role, password) = (
            StaffEmail::parse(email).expect("valid email"),
            Role::parse(role).expect("valid role"),
            NewPassword::parse(password).expect("valid password"),
        );
        self.with_db(move |conn| {
            clinic_booking::clinic::accounts::create_user(
                conn,
                &email,
                role,
                &password,
                &Actor::CommandLine,
            )
            .map(|u| i64::from(u.id.get()))
            .expect("create user")
        })
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/v1/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// A new account of `role` and a token for it: `(user id, access token)`.
    pub async fn staff(&self, role: &str) -> (i64, String) {
        let email = format!("{role}-{}@clinic.example", random_suffix());
        let id = self.create_user(&email, role, STAFF_PASSWORD).await;
        let response = self.login(&email, STAFF_PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK, "login as {role}");
        let body: Value = response.json().await.expect("json");
        (id, body["access_token"].as_str().expect("token").to_owned())
    }

    /// A token for a new account of `role` under `email` (for a test that reads its mail).
    pub async fn token_of(&self, email: &str, role: &str) -> String {
        self.create_user(email, role, STAFF_PASSWORD).await;
        let response = self.login(email, STAFF_PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK, "login as {email}");
        let body: Value = response.json().await.expect("json");
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// A token for a new account of `role`.
    pub async fn staff_token(&self, role: &str) -> String {
        self.staff(role).await.1
    }

    /// Any request, with an optional bearer token and JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request")
    }

    /// Sends a request that must answer `expected`, and returns its JSON body.
    pub async fn send_ok(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
        expected: StatusCode,
    ) -> Value {
        let response = self.send(method.clone(), path, Some(token), body).await;
        let status = response.status();
        let text = response.text().await.expect("body");
        assert_eq!(status, expected, "{method} {path}: {text}");
        serde_json::from_str(&text).expect("json")
    }

    /// The audit log as an admin sees it, for `query` (e.g. `reference=BK-…`).
    pub async fn audit(&self, admin_token: &str, query: &str) -> Vec<Value> {
        let body = self
            .send_ok(
                Method::GET,
                &format!("/api/v1/audit?{query}"),
                admin_token,
                None,
                StatusCode::OK,
            )
            .await;
        body["items"].as_array().expect("items").clone()
    }

    pub async fn slot_status(&self, slot_id: i64) -> String {
        use clinic_booking::db::schema::slots;
        self.with_db(move |conn| {
            slots::table
                .find(slot_id as i32)
                .select(slots::status)
                .first(conn)
                .expect("slot")
        })
        .await
    }
}

/// Percent-encodes a query value (an instant's `+` and `:`).
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Asserts a problem+json response with `status`, returning its body.
pub async fn assert_problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.expect("problem json");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string());
    body
}

/// The real `clinic-booking serve` binary, running on a test database, its log captured.
pub struct ServerProcess {
    child: std::process::Child,
    pub address: String,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl ServerProcess {
    /// Starts `serve` on `database`, mail going to SMTP on `smtp_port`, and waits for the
    /// address it logs.
    pub async fn start(database: &TestDatabase, smtp_port: u16) -> Self {
        Self::start_with(database, smtp_port, &[]).await
    }

    /// As `start`, with more `(variable, value)` settings in its environment.
    pub async fn start_with(
        database: &TestDatabase,
        smtp_port: u16,
        environment: &[(&str, &str)],
    ) -> Self {
        use std::io::{BufRead, BufReader};
        let workdir = tempfile::tempdir().expect("workdir");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_clinic-booking"));
        command
            .arg("serve")
            .current_dir(workdir.path())
            .env_remove("APP_ENV")
            .env("APP__DATABASE__URL", &database.url)
            .env("APP__SERVER__PORT", "0")
            .env("APP__MAIL__TRANSPORT", "smtp")
            .env("APP__MAIL__SMTP_HOST", "127.0.0.1")
            .env("APP__MAIL__SMTP_PORT", smtp_port.to_string())
            .env("APP__MAIL__RETRY_BASE_SECONDS", "0.1")
            .env("APP__MAIL__RETRY_MAX_SECONDS", "0.5")
            .env("APP__MAIL__MAX_ATTEMPTS", "1000")
            .env("APP__MAIL__REMINDER_HOURS_BEFORE", "1")
            // A job in flight at a kill is claimed again once this lease runs out.
            .env("APP__MAIL__LEASE_SECONDS", "2")
            .env("APP__HTTP__RATE_LIMIT_PER_MINUTE", "0")
            .env("APP__HTTP__RATE_LIMIT_PER_MINUTE", "0")
            .env("RUST_LOG", "debug")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .envs(environment.iter().copied());
        let mut child = command.spawn().expect("start clinic-booking serve");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let stderr_log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = stderr_log.lock().expect("log");
                log.push_str(&line);
                log.push('\n');
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let stdout_log = log.clone();
        let (found, address) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(start) = line.find("http://127.0.0.1:") {
                    let rest = &line[start..];
                    let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
                    if let Some(found) = found.take() {
                        let _ = found.send(rest[..end].to_owned());
                    }
                }
                let mut log = stdout_log.lock().expect("log");
                log.push_str(&line);
                log.push('\n');
            }
        });
        let address = tokio::time::timeout(std::time::Duration::from_secs(60), address)
            .await
            .expect("the server logs the address it bound in time")
            .expect("the server logs the address it bound");
        drop(workdir);
        Self {
            child,
            address,
            log,
        }
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    /// SIGKILL: no shutdown, no cleanup.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Sends SIGTERM, as a service manager stopping the app does; `wait_for_exit` tells how it
    /// ended.
    pub fn terminate(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill(2) with a valid signal number touches no memory of ours; the child is
        // not reaped before `wait_for_exit`, so the pid still names it.
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(sent, 0, "SIGTERM: {}", std::io::Error::last_os_error());
    }

    /// Waits (bounded) for the process to exit and returns its status.
    pub async fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        for _ in 0..1200 {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the server did not exit within a minute");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `node script` from the crate's `dir` with `env`, as a node-based test's check does, and
/// answers what it printed as JSON on its last line; panics with its output if it failed.
pub async fn node_result(dir: &str, script: &str, env: &[(&str, &str)]) -> Value {
    script_result("node", dir, script, env).await
}

/// As `node_result`, for a Python script (run by `python3`).
pub async fn python_result(dir: &str, script: &str, env: &[(&str, &str)]) -> Value {
    script_result("python3", dir, script, env).await
}

/// Runs `program` on `dir/script` in `dir` with `env`; its last line of output, as JSON.
async fn script_result(program: &str, dir: &str, script: &str, env: &[(&str, &str)]) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let output = tokio::process::Command::new(program)
        .arg(dir.join(script))
        .current_dir(&dir)
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("no result line from {script} ({e}):\n{stdout}"))
}

/// Whether `python3` can import `module` (a test's third-party checker).
pub fn python_module(module: &str) -> Result<(), String> {
    let output = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "python3 cannot import {module} (pip install it; .ci/run does)"
        ))
    }
}

/// A node-based test's tools: `node` on the path and each of `packages` installed under
/// `dir/node_modules` (by `npm ci --prefix dir`); `Err` names what is missing.
pub fn node_packages(dir: &str, packages: &[&str]) -> Result<(), String> {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(dir)
        .join("node_modules");
    if let Some(missing) = packages.iter().find(|p| !modules.join(p).exists()) {
        return Err(format!(
            "{dir}/node_modules/{missing} missing (npm ci --prefix {dir})"
        ));
    }
    std::process::Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| format!("node: {e}"))?;
    Ok(())
}

/// The harness's precondition for a test that needs an optional tool: `Err(what is missing)`
/// skips it (reported as ignored), unless `variable=1`, which makes a missing tool a failure.
pub fn unless_required(variable: &str, available: Result<(), String>) -> Result<(), String> {
    if let Err(missing) = &available {
        let required = std::env::var(variable).is_ok_and(|v| v == "1");
        assert!(!required, "{variable}=1 but {missing}");
    }
    available
}

/// A token for a new admin of the server at `address` on `database` (a `ServerProcess`): the
/// account made as `create-user` makes it, then a login.
pub async fn admin_token_on(database: &TestDatabase, address: &str) -> String {
    let url = database.url.clone();
    let email = format!("admin-{}@clinic.example", random_suffix());
    let account = email.clone();
    tokio::task::spawn_blocking(move || {
        use clinic_booking::domain::actor::Actor;
        use clinic_booking::domain::staff::{NewPassword, Role, StaffEmail};
        let pool = clinic_booking::db::build_pool(&url, 1).expect("pool");
        clinic_booking::clinic::accounts::create_user(
            &mut pool.get().expect("connection"),
            &StaffEmail::parse(&account).expect("email"),
            Role::Admin,
            &NewPassword::parse(STAFF_PASSWORD).expect("password"),
            &Actor::CommandLine,
        )
        .expect("admin");
    })
    .await
    .expect("create the admin");
    let login: Value = reqwest::Client::new()
        .post(format!("{address}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": STAFF_PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login json");
    login["access_token"].as_str().expect("token").to_owned()
}
