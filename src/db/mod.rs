//! The database: one connection type over SQLite and PostgreSQL, its pool, migrations, and the
//! write-transaction rule both backends follow.
//!
//! Error policy: functions in `db::*` return `QueryResult`; handlers turn those into
//! `ApiError` (see `crate::error`).
//!
//! Lookups of one row by a unique key use `get_result`, not `first`: `first` adds `LIMIT ?`,
//! and SQLite (3.50) plans a bound LIMIT as a constant and marks the statement stale whenever
//! that parameter is bound again, so diesel's cached statement was compiled anew on every
//! execution (a tenth of the server's CPU in the booking path, measured with perf).

pub mod audit;
pub mod bookings;
pub mod calendar_feeds;
pub mod erasure;
pub mod holds;
pub mod idempotency_keys;
pub mod locations;
pub mod login_throttle;
pub mod notes;
pub mod outbox;
pub mod patients;
pub mod providers;
pub mod publish;
pub mod reports;
pub mod schema;
pub mod series;
pub mod slots;
pub mod texts;
pub mod time_off;
pub(crate) mod types;
pub mod users;
pub mod visit_types;
pub mod waitlist;
pub mod webhooks;

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a SQLite connection waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

/// The queue of this process's SQLite write transactions (see `write_transaction`).
static SQLITE_WRITERS: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

pub type Pool = r2d2::Pool<ConnectionManager>;

/// Which backend a database URL selects. `MultiConnection::establish` tries every variant in turn
/// and hides the real error, so the scheme is read here instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    /// A file path, or `:memory:`.
    Sqlite(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            Ok(Self::Sqlite(path.to_owned()))
        } else if let Some(path) = url.strip_prefix("sqlite:") {
            Ok(Self::Sqlite(path.to_owned()))
        } else {
            Err(format!(
                "unsupported database URL scheme (expected sqlite://PATH or postgres://...): {}",
                url.split(':').next().unwrap_or_default()
            ))
        }
    }
}

/// Opens connections of the backend the URL names, and prepares each SQLite connection.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => {
                let mut conn =
                    PgConnection::establish(url).map_err(r2d2::Error::ConnectionError)?;
                plan_for_memory(&mut conn).map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Postgres(conn))
            }
            DatabaseUrl::Sqlite(path) => {
                let mut conn =
                    SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the one writer; the busy timeout makes a second
                // writer wait instead of failing; NORMAL sync is durable in WAL mode up to the
                // last checkpointed commit on power loss, and fully durable against process kills.
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL;
                     PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;"
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

/// The planner's price of a random page read for this app's PostgreSQL sessions, where the server
/// still has PostgreSQL's default (4, made for spinning disks).
const RANDOM_PAGE_COST: &str = "1.1";

/// Lets a PostgreSQL session plan for data that sits in memory or on SSD, unless the server's
/// operator has chosen a `random_page_cost` of their own.
///
/// At the default of 4 the planner prices a random heap read at four sequential ones. For one
/// provider's free week it then preferred walking every provider's slots in the week by
/// `slots_by_start`, whose entries follow the table's order, over the 78 entries of
/// `slots_free_by_provider`, which are scattered: 0.65–0.9 ms a list against 0.09 ms (plans in
/// BENCHMARKS.md; the list from the database fell to a third). A clinic's database is small and
/// read from memory; 1.1 is what PostgreSQL's documentation suggests for such storage.
fn plan_for_memory(conn: &mut PgConnection) -> QueryResult<()> {
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        random_page_cost: String,
    }
    let current: Setting =
        diesel::sql_query("SELECT current_setting('random_page_cost') AS random_page_cost")
            .get_result(conn)?;
    if current.random_page_cost == "4" {
        conn.batch_execute(&format!("SET random_page_cost = {RANDOM_PAGE_COST}"))?;
    }
    Ok(())
}

/// A fixed status name written into the statement's SQL (`'free'`), not bound as a parameter.
///
/// The partial indexes on a status (`slots_free_by_start WHERE status = 'free'`, the outbox's
/// and the waitlist offers') make SQLite's planner look at a bound status to decide whether the
/// index applies, and SQLite then recompiles the statement whenever that parameter is bound
/// again: every execution (perf: `sqlite3Reprepare` in a sixth of the free-slot lists' time).
/// PostgreSQL's generic plans, likewise, cannot use a partial index for a bound status. Written
/// out, the statement stays compiled (cached by its SQL text) and both planners see the index.
/// For the `as_str` of a status enum only: the names are fixed lower-case words.
pub(crate) fn fixed(name: &'static str) -> Fixed {
    debug_assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    Fixed(name)
}

/// See `fixed`. Unlike `diesel::dsl::sql`, which may hold any SQL and so is never cached, its
/// statement is kept in the connection's statement cache under its SQL text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fixed(&'static str);

impl diesel::Expression for Fixed {
    type SqlType = diesel::sql_types::Text;
}

impl<DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB> for Fixed {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        out.push_sql("'");
        out.push_sql(self.0);
        out.push_sql("'");
        Ok(())
    }
}

impl diesel::query_builder::QueryId for Fixed {
    type QueryId = ();
    // The text differs between values of one type: statements are cached by their SQL.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<QS> diesel::AppearsOnTable<QS> for Fixed {}
impl<QS> diesel::SelectableExpression<QS> for Fixed {}
impl<GB> diesel::expression::ValidGrouping<GB> for Fixed {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

/// Sets SQLite's process-wide options for the server, before it opens its first connection:
///
/// - multi-thread mode: the library's default (serialized) locks a mutex of its own around every
///   call on a connection, but the pool already gives each connection to one thread at a time
///   (diesel's connection is `Send`, not `Sync`), so those locks guard nothing;
/// - no memory statistics: with them every allocation inside SQLite takes one mutex for the
///   whole process, which the threads reading free-slot lists met on each row (perf, issue 20).
///
/// Once SQLite has started it refuses both and keeps its defaults, which are correct, only
/// slower.
///
/// # Safety
///
/// No other thread may be using SQLite while this runs (`sqlite3_config` is not thread-safe):
/// call it at the start of `main`, before any thread is spawned.
pub unsafe fn tune_sqlite_library() {
    use libsqlite3_sys::{sqlite3_config, SQLITE_CONFIG_MEMSTATUS, SQLITE_CONFIG_MULTITHREAD};
    // SAFETY: the caller guarantees no other thread is in SQLite; both options take the
    // arguments SQLite documents (none, and an int).
    unsafe {
        sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0 as std::os::raw::c_int);
    }
}

/// How long a request waits for a connection before it is answered 503.
pub(crate) const POOL_WAIT: Duration = Duration::from_secs(5);

/// Builds the pool. Connections are opened lazily except the first, so a bad URL fails here.
pub fn build_pool(url: &str, max_size: u32) -> anyhow::Result<Pool> {
    let url =
        DatabaseUrl::parse(url).map_err(|e| anyhow::anyhow!("{e}; set APP__DATABASE__URL"))?;
    if let DatabaseUrl::Sqlite(path) = &url {
        prepare_sqlite_directory(path)?;
    }
    // A pooled PostgreSQL connection may have died with its server or the network: check it
    // before handing it out. A SQLite connection is a file handle in this process and cannot;
    // the check would only cost each request a query.
    let check_on_checkout = matches!(url, DatabaseUrl::Postgres(_));
    let pool = r2d2::Pool::builder()
        .max_size(max_size)
        .test_on_check_out(check_on_checkout)
        .min_idle(Some(1))
        .connection_timeout(POOL_WAIT)
        .build(ConnectionManager::new(url))?;
    Ok(pool)
}

/// The directory, relative to the working directory, that holds the default profile's SQLite
/// database (`sqlite://data/clinic-booking.db`) and mail: created when missing, so `serve` on a
/// fresh clone needs no setup.
const DEFAULT_SQLITE_DIRECTORY: &str = "data";

/// A SQLite database is a file in a directory that must exist: a path with a typo would
/// otherwise become a new, empty database in a new directory, and the data seem gone. Only the
/// default `./data` is created.
fn prepare_sqlite_directory(path: &str) -> anyhow::Result<()> {
    use std::path::{Component, Path};
    // `:memory:` and `file:` URIs name no directory of their own.
    if path.starts_with(':') || path.starts_with("file:") {
        return Ok(());
    }
    let Some(directory) = Path::new(path).parent() else {
        return Ok(());
    };
    if directory.as_os_str().is_empty() || directory.exists() {
        return Ok(());
    }
    let is_default = directory
        .components()
        .filter(|c| *c != Component::CurDir)
        .eq([Component::Normal(DEFAULT_SQLITE_DIRECTORY.as_ref())]);
    if is_default {
        std::fs::create_dir_all(directory).map_err(|e| {
            anyhow::anyhow!(
                "cannot create {} for the SQLite database ({e}); set APP__DATABASE__URL",
                directory.display()
            )
        })?;
        return Ok(());
    }
    anyhow::bail!(
        "the SQLite database's directory {} does not exist: create it, or set \
         APP__DATABASE__URL to a file in a directory that exists (only ./{DEFAULT_SQLITE_DIRECTORY} \
         is created when missing)",
        directory.display()
    )
}

/// Applies pending migrations of the connection's backend; returns how many ran.
pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<usize> {
    let applied = match conn {
        DbConnection::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    Ok(applied.len())
}

/// Reverts every applied migration of the connection's backend (newest first); returns how many.
/// For tests that check each migration's `down.sql` really undoes its `up.sql`.
pub fn revert_all_migrations(conn: &mut DbConnection) -> anyhow::Result<usize> {
    let reverted = match conn {
        DbConnection::Postgres(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS),
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| anyhow::anyhow!("migration revert failed: {e}"))?;
    Ok(reverted.len())
}

/// Reverts applied migrations, newest first, until none from `version` on is left (`version` as
/// its folder names it, e.g. `2026-12-01-000006`). For tests that put data in the shape an
/// earlier version wrote and check the migrations carry it forward.
pub fn revert_to_before(conn: &mut DbConnection, version: &str) -> anyhow::Result<()> {
    let digits = |v: &str| v.chars().filter(char::is_ascii_digit).collect::<String>();
    let target = digits(version);
    loop {
        let applied = match conn {
            DbConnection::Postgres(c) => c.applied_migrations(),
            DbConnection::Sqlite(c) => c.applied_migrations(),
        }
        .map_err(|e| anyhow::anyhow!("cannot read migrations: {e}"))?;
        let newest = applied.iter().map(|v| digits(&v.to_string())).max();
        if newest.is_none_or(|newest| newest < target) {
            return Ok(());
        }
        match conn {
            DbConnection::Postgres(c) => c.revert_last_migration(POSTGRES_MIGRATIONS),
            DbConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
        }
        .map_err(|e| anyhow::anyhow!("migration revert failed: {e}"))?;
    }
}

/// True when every embedded migration has been applied.
pub fn migrations_current(conn: &mut DbConnection) -> anyhow::Result<bool> {
    let pending = match conn {
        DbConnection::Postgres(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
        DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
    }
    .map_err(|e| anyhow::anyhow!("cannot read migrations: {e}"))?;
    Ok(!pending)
}

/// Writes a consistent copy of the SQLite database to `target` while the app keeps serving:
/// `VACUUM INTO` reads one snapshot (a read transaction, which in WAL mode blocks no writer)
/// and writes it compacted. PostgreSQL has its own tools (`pg_dump`), so it is refused here.
pub fn backup_sqlite(conn: &mut DbConnection, target: &std::path::Path) -> anyhow::Result<()> {
    let DbConnection::Sqlite(sqlite) = conn else {
        anyhow::bail!(
            "`backup` copies SQLite databases; back up PostgreSQL with pg_dump (see the README)"
        );
    };
    if target.exists() {
        anyhow::bail!(
            "{} already exists; a backup never overwrites",
            target.display()
        );
    }
    let path = target
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("the backup path must be valid UTF-8"))?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<diesel::sql_types::Text, _>(path)
        .execute(sqlite)
        .map_err(|e| anyhow::anyhow!("backup to {} failed: {e}", target.display()))?;
    Ok(())
}

/// Runs `f` in a write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, taking the write
/// lock up front: a deferred transaction that reads and then writes can fail with "database is
/// locked" when another writer got there first, while an immediate one waits its turn (the busy
/// timeout). On PostgreSQL it is an ordinary transaction; its row locks and conditional updates
/// do the rest.
///
/// SQLite writers of this process also queue on one mutex before `BEGIN IMMEDIATE`: SQLite's
/// busy handler makes a waiting writer sleep and retry with growing pauses, so under a crowd of
/// bookings some waited a second or more while others went first; the mutex hands the lock on in
/// arrival order as soon as it is free. A process serves one SQLite database (tests run several,
/// which then take turns). Writers that do not come through here, or other processes, still meet
/// the busy timeout, and a writer that waits for the mutex that long goes on to it too.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Postgres(_) => conn.transaction(f),
        DbConnection::Sqlite(inner) => {
            let _turn =
                SQLITE_WRITERS.try_lock_for(Duration::from_millis(SQLITE_BUSY_TIMEOUT_MS.into()));
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            match f(conn) {
                Ok(value) => {
                    if let Err(commit_error) =
                        <DbConnection as Connection>::TransactionManager::commit_transaction(conn)
                    {
                        // The commit itself failed (e.g. busy): leave the connection clean.
                        let _ =
                            <DbConnection as Connection>::TransactionManager::rollback_transaction(
                                conn,
                            );
                        return Err(commit_error.into());
                    }
                    Ok(value)
                }
                Err(e) => {
                    <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)?;
                    Err(e)
                }
            }
        }
    }
}

/// Whether a diesel error is a unique-constraint violation (the database refusing a second
/// active booking for a slot, a duplicate idempotency key, ...).
pub(crate) fn is_unique_violation(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// The current instant as stored: UTC, whole seconds (so stored text sorts correctly on SQLite).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Utc};
    Utc::now().naive_utc().trunc_subsecs(0)
}
