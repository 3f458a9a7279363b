//! Mail helpers shared by the test files, and the harness's check that a test leaves no due
//! mail undelivered.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Utc};
use clinic_booking::db::{outbox, Pool};
use clinic_booking::settings::{MailTransportKind, Settings, SmtpTls};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamp};
use mail_parser::MessageParser;

use super::TestDatabase;

/// Settings that send mail over plain SMTP to `port` on loopback, retrying fast.
pub fn smtp_to(port: u16) -> impl FnOnce(&mut Settings) {
    move |settings| {
        settings.mail.transport = MailTransportKind::Smtp;
        settings.mail.smtp_host = "127.0.0.1".into();
        settings.mail.smtp_port = port;
        settings.mail.smtp_tls = SmtpTls::None;
        settings.mail.smtp_timeout_seconds = 5;
        settings.mail.retry_base_seconds = 0.1;
        settings.mail.retry_max_seconds = 0.5;
        settings.mail.max_attempts = 1000;
        settings.mail.reminder_hours_before = 1;
        settings.mail.lease_seconds = 2;
    }
}

/// How many confirmations each booking reference received.
pub fn confirmations_by_reference(messages: &[Vec<u8>]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for raw in messages {
        let message = MessageParser::default().parse(raw).expect("a MIME message");
        if !message
            .subject()
            .unwrap_or_default()
            .starts_with("Appointment confirmed")
        {
            continue;
        }
        let text = message.body_text(0).unwrap_or_default();
        if let Some(reference) = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .find(|word| word.starts_with("BK-"))
        {
            *counts.entry(reference.to_owned()).or_insert(0) += 1;
        }
    }
    counts
}

/// Waits (bounded) until no due job waits in the outbox of `pool`'s database.
pub async fn wait_until_due_mail_sent(pool: &Pool) {
    for _ in 0..1200 {
        let pool = pool.clone();
        let due = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().expect("connection");
            let now = clinic_booking::db::now();
            outbox::list(&mut conn, Some(outbox::JobStatus::Pending), 10_000, 0)
                .expect("outbox")
                .iter()
                .filter(|(j, _, _)| j.next_attempt_at <= now)
                .count()
        })
        .await
        .unwrap();
        if due == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("due mail was not sent");
}

/// How long the check after a test gives the apps' mail workers to deliver what is due.
const DELIVERY_WAIT: Duration = Duration::from_secs(10);

/// How close a job's time must be to count as due: the app writes a new job's time in whole
/// seconds, and a retry under the tests' mail settings comes at most half a second after the
/// failure, so a job retrying against a server that is down never looks "not yet due".
const DUE_SOON: chrono::Duration = chrono::Duration::seconds(1);

/// A due job left in the outbox: what it is and how far it got, nothing of the patient.
#[derive(QueryableByName)]
struct LeftJob {
    #[diesel(sql_type = Integer)]
    id: i32,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Text)]
    due_at: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// The columns read, as text whatever type the database gives status and kind.
const LEFT_JOBS: &str = "SELECT id, CAST(kind AS TEXT) AS kind, CAST(status AS TEXT) AS status, \
     attempts, CAST(next_attempt_at AS TEXT) AS due_at FROM outbox \
     WHERE status NOT IN ('sent', 'failed') AND next_attempt_at <= ";

/// A connection of the check's own to a test database, straight through diesel.
enum CheckConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl CheckConnection {
    /// `None` for a SQLite database whose file was never written (nothing to check).
    fn open(database: &TestDatabase) -> Option<Self> {
        match database.url.strip_prefix("sqlite://") {
            Some(path) => {
                if !std::path::Path::new(path).exists() {
                    return None;
                }
                let mut conn = SqliteConnection::establish(path)
                    .unwrap_or_else(|e| panic!("open {path} for the mail check: {e}"));
                conn.batch_execute("PRAGMA busy_timeout = 5000")
                    .expect("busy timeout");
                Some(Self::Sqlite(conn))
            }
            None => Some(Self::Postgres(
                PgConnection::establish(&database.url)
                    .unwrap_or_else(|e| panic!("connect for the mail check: {e}")),
            )),
        }
    }

    fn has_outbox(&mut self) -> bool {
        let count = match self {
            Self::Sqlite(conn) => diesel::sql_query(
                "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'outbox'",
            )
            .get_result::<Count>(conn),
            Self::Postgres(conn) => diesel::sql_query(
                "SELECT count(*) AS n FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = 'outbox'",
            )
            .get_result::<Count>(conn),
        };
        count.expect("look for the outbox table").n > 0
    }

    /// Jobs neither sent nor parked as failed whose time is `by` or earlier.
    fn due_jobs(&mut self, by: NaiveDateTime) -> Vec<LeftJob> {
        let jobs = match self {
            Self::Sqlite(conn) => diesel::sql_query(format!("{LEFT_JOBS}? ORDER BY id"))
                .bind::<Timestamp, _>(by)
                .load(conn),
            Self::Postgres(conn) => diesel::sql_query(format!("{LEFT_JOBS}$1 ORDER BY id"))
                .bind::<Timestamp, _>(by)
                .load(conn),
        };
        jobs.expect("read the outbox")
    }
}

/// After a test's body: every database it created whose test did not call
/// `expect_undelivered_mail` must have no due job left undelivered, once the mail workers still
/// running have had [`DELIVERY_WAIT`] to send it.
pub(super) async fn check_no_due_mail_left(databases: &[TestDatabase]) -> Result<(), String> {
    let mut problems = Vec::new();
    for (i, database) in databases.iter().enumerate() {
        if database.expects_undelivered_mail() {
            continue;
        }
        let checked = database.clone();
        let left = tokio::task::spawn_blocking(move || {
            let Some(mut conn) = CheckConnection::open(&checked) else {
                return Vec::new();
            };
            if !conn.has_outbox() {
                return Vec::new();
            }
            let started = Instant::now();
            loop {
                let left = conn.due_jobs(Utc::now().naive_utc() + DUE_SOON);
                if left.is_empty() || started.elapsed() >= DELIVERY_WAIT {
                    return left;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
        .await
        .map_err(|e| format!("the mail check failed: {e}"))?;
        if !left.is_empty() {
            let backend = if database.url.starts_with("sqlite://") {
                "SQLite"
            } else {
                "PostgreSQL"
            };
            let jobs: Vec<String> = left
                .iter()
                .map(|j| {
                    format!(
                        "job {}: {} {}, {} attempts, due {}",
                        j.id, j.kind, j.status, j.attempts, j.due_at
                    )
                })
                .collect();
            problems.push(format!(
                "database {} of the test ({backend}): {} due mail jobs still undelivered after \
                 {} s:\n  {}",
                i + 1,
                left.len(),
                DELIVERY_WAIT.as_secs(),
                jobs.join("\n  ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the test left due mail undelivered (a test that means to calls \
             `expect_undelivered_mail()` on its app or database):\n{}",
            problems.join("\n")
        ))
    }
}
