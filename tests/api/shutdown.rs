//! SIGTERM under load: the real binary stops accepting, answers every request it accepted,
//! finishes the mail in hand and exits 0; no booking goes unanswered and no mail is lost. With a
//! drain (`server.drain_seconds`) it first serves on while `/health/ready` answers 503, and
//! every request sent meanwhile is answered.
//!
//! Booking requests take milliseconds, so a signal rarely finds one in a handler by chance. The
//! test makes sure it does: it holds the database's write lock (SQLite) or a lock on `slots`
//! (PostgreSQL) across the signal, so the bookings in flight wait inside their handlers until
//! the server is already stopping.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clinic_booking::db::{outbox, DbConnection};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{
    another_patient, assert_problem, confirmations_by_reference, smtp_to, spawn_app_on_with,
    spawn_app_with, wait_until_due_mail_sent, Backend, ServerProcess, TestDatabase,
};
use crate::smtp::SmtpSink;

crate::both_backends!(
    sigterm_under_load_fails_no_request_and_loses_no_mail,
    jobs_a_stopping_worker_never_started_are_claimable_at_once,
    a_draining_copy_answers_every_request_sent_during_the_drain,
    a_second_signal_cuts_the_drain_short,
);

/// Concurrent patients booking during the shutdown.
const CLIENTS: usize = 8;

/// What one request ended as.
enum Outcome {
    Answered(StatusCode, Option<String>),
    /// No answer; `after_sigterm` tells whether the signal had been sent when it failed.
    Failed {
        after_sigterm: bool,
        error: String,
    },
}

async fn sigterm_under_load_fails_no_request_and_loses_no_mail(backend: Backend) {
    let database = TestDatabase::create(backend);
    let sink = SmtpSink::start();
    let mut server = ServerProcess::start_with(
        &database,
        sink.port,
        &[("APP__SERVER__SHUTDOWN_TIMEOUT_SECONDS", "30")],
    )
    .await;
    let address = server.address.clone();
    let slots: Value = reqwest::get(format!("{address}/api/v1/slots"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let slot_ids: Vec<i64> = slots["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert!(slot_ids.len() >= 60, "enough free slots to keep booking");

    // A new connection per request: a reused keep-alive connection that the stopping server
    // closes would fail a request the server never saw, which proves nothing either way.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let sigterm_sent = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let answered_after_sigterm = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let next_slot = Arc::new(AtomicUsize::new(0));
    let slot_ids = Arc::new(slot_ids);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, address) = (client.clone(), address.clone());
            let (sigterm_sent, answered) = (sigterm_sent.clone(), answered.clone());
            let (answered_after_sigterm, in_flight) =
                (answered_after_sigterm.clone(), in_flight.clone());
            let (next_slot, slot_ids) = (next_slot.clone(), slot_ids.clone());
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                loop {
                    let i = next_slot.fetch_add(1, Ordering::SeqCst);
                    let Some(slot_id) = slot_ids.get(i) else {
                        break;
                    };
                    in_flight.fetch_add(1, Ordering::SeqCst);
                    let sent = client
                        .post(format!("{address}/api/v1/bookings"))
                        .json(
                            &serde_json::json!({"slot_id": slot_id, "patient": another_patient(i)}),
                        )
                        .send()
                        .await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    let outcome = match sent {
                        Ok(response) => {
                            let status = response.status();
                            let body: Option<Value> = response.json().await.ok();
                            let reference = body
                                .as_ref()
                                .and_then(|b| b["reference"].as_str())
                                .map(str::to_owned);
                            answered.fetch_add(1, Ordering::SeqCst);
                            if sigterm_sent.load(Ordering::SeqCst) {
                                answered_after_sigterm.fetch_add(1, Ordering::SeqCst);
                            }
                            Outcome::Answered(status, reference)
                        }
                        Err(e) => Outcome::Failed {
                            after_sigterm: sigterm_sent.load(Ordering::SeqCst),
                            error: e.to_string(),
                        },
                    };
                    let stop = matches!(outcome, Outcome::Failed { .. });
                    outcomes.push(outcome);
                    if stop {
                        break;
                    }
                }
                outcomes
            })
        })
        .collect();

    // Signal once the load is well under way.
    for _ in 0..1200 {
        if answered.load(Ordering::SeqCst) >= 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(answered.load(Ordering::SeqCst) >= 20, "the load started");

    let lock = DatabaseLock::take(&database.url).await;
    // Bookings pile up behind the lock: on PostgreSQL we can see them wait.
    for _ in 0..1200 {
        let waiting = match backend {
            Backend::Postgres => lock.waiters_on_slots(&database.url).await > 0,
            Backend::Sqlite => in_flight.load(Ordering::SeqCst) == CLIENTS,
        };
        if waiting {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    sigterm_sent.store(true, Ordering::SeqCst);
    server.terminate();
    for _ in 0..1200 {
        if server.log().contains("shutting down gracefully") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Longer than actix's shutdown check interval (1 s), so a server that did not wait for
    // requests in flight would have dropped them by now; far shorter than the 30 s allowed.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    lock.release().await;
    let status = server.wait_for_exit().await;
    assert!(status.success(), "exit status {status:?}\n{}", server.log());

    let mut answered_references = HashSet::new();
    for outcomes in futures::future::join_all(clients).await {
        for outcome in outcomes.unwrap() {
            match outcome {
                Outcome::Answered(status, reference) => {
                    assert_eq!(status, StatusCode::CREATED, "an accepted request failed");
                    answered_references.insert(reference.expect("a reference"));
                }
                Outcome::Failed {
                    after_sigterm,
                    error,
                } => assert!(
                    after_sigterm,
                    "a request failed before the shutdown: {error}"
                ),
            }
        }
    }
    let log = server.log();
    assert!(log.contains("shutting down gracefully"), "{log}");
    assert!(!log.contains(DRAIN_LOGGED), "no drain by default: {log}");
    if backend == Backend::Postgres {
        // A booking was seen waiting in its handler when the signal came; it was answered.
        assert!(
            answered_after_sigterm.load(Ordering::SeqCst) >= 1,
            "no request in flight was answered after SIGTERM"
        );
    }

    // Every booking the database holds was answered: none was made and then dropped unanswered.
    let sink_port = sink.port;
    let app = spawn_app_on_with(database, move |s| smtp_to(sink_port)(s)).await;
    let stored: HashSet<String> = app
        .with_db(|conn| {
            use clinic_booking::db::schema::bookings;
            use diesel::prelude::*;
            bookings::table
                .select(bookings::reference)
                .load::<String>(conn)
                .expect("bookings")
        })
        .await
        .into_iter()
        .collect();
    assert_eq!(stored, answered_references);

    // And each of them gets its confirmation exactly once: the stopping server finished the
    // mail in hand, and what it had not claimed goes out from the next start.
    wait_until_due_mail_sent(&app.pool).await;
    let confirmations = confirmations_by_reference(&sink.messages());
    for reference in &stored {
        assert_eq!(
            confirmations.get(reference),
            Some(&1),
            "confirmations of {reference}"
        );
    }
}

/// A lock held on another connection that makes bookings wait: SQLite's write lock, or an
/// EXCLUSIVE lock on PostgreSQL's `slots` (reads go on, the claiming UPDATE waits).
struct DatabaseLock {
    release: std::sync::mpsc::Sender<()>,
    holder: std::thread::JoinHandle<()>,
}

impl DatabaseLock {
    async fn take(url: &str) -> Self {
        let url = url.to_owned();
        let (locked_tx, locked_rx) = tokio::sync::oneshot::channel();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            use diesel::connection::SimpleConnection;
            let pool = clinic_booking::db::build_pool(&url, 1).expect("pool");
            let mut conn = pool.get().expect("connection");
            let take = match &*conn {
                DbConnection::Sqlite(_) => "BEGIN IMMEDIATE",
                DbConnection::Postgres(_) => "BEGIN; LOCK TABLE slots IN EXCLUSIVE MODE",
            };
            conn.batch_execute(take).expect("take the lock");
            let _ = locked_tx.send(());
            let _ = release_rx.recv();
            conn.batch_execute("COMMIT").expect("release the lock");
        });
        locked_rx.await.expect("the lock was taken");
        Self { release, holder }
    }

    /// PostgreSQL: how many sessions wait for a lock on this schema's `slots`.
    async fn waiters_on_slots(&self, url: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let url = url.to_owned();
        tokio::task::spawn_blocking(move || {
            use diesel::prelude::*;
            let pool = clinic_booking::db::build_pool(&url, 1).expect("pool");
            let mut conn = pool.get().expect("connection");
            diesel::sql_query(
                "SELECT count(*)::bigint AS n FROM pg_locks \
                 WHERE relation = 'slots'::regclass AND NOT granted",
            )
            .get_result::<Count>(&mut *conn)
            .expect("pg_locks")
            .n
        })
        .await
        .unwrap()
    }

    async fn release(self) {
        let _ = self.release.send(());
        tokio::task::spawn_blocking(move || self.holder.join().expect("lock holder"))
            .await
            .unwrap();
    }
}

/// What a worker stopping mid-batch does with the jobs it claimed but had not started: they go
/// back to the queue as they were, instead of waiting out their lease.
async fn jobs_a_stopping_worker_never_started_are_claimable_at_once(backend: Backend) {
    let app = spawn_app_with(backend, smtp_to(crate::smtp::unused_port())).await;
    // SMTP is down and the app stops: the confirmations stay in the outbox.
    app.expect_undelivered_mail();
    for id in &app.free_slot_ids().await[..3] {
        app.book_ok(*id).await;
    }
    let pool = app.pool.clone();
    app.stop().await;
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("connection");
        // Past the retry backoff of the failed attempts (reminders of visits within the hour
        // may be due too).
        let later = clinic_booking::db::now() + chrono::Duration::seconds(5);
        let lease = chrono::Duration::hours(1);
        let claimed = outbox::claim_due(&mut conn, later, lease, 10, "stopping").expect("claim");
        assert!(claimed.len() >= 3, "the confirmations are claimed");
        let ids: Vec<_> = claimed.iter().map(|j| j.id).collect();
        // Another claimer's token releases nothing.
        assert_eq!(outbox::release(&mut conn, &ids, "someone-else").unwrap(), 0);
        assert_eq!(
            outbox::release(&mut conn, &ids, "stopping").unwrap(),
            ids.len()
        );
        let again = outbox::claim_due(&mut conn, later, lease, 10, "next").expect("claim");
        assert_eq!(
            again.len(),
            ids.len(),
            "claimable again before the lease ran out"
        );
        for (before, after) in claimed.iter().zip(&again) {
            assert_eq!(after.id, before.id);
            assert_eq!(
                after.attempts, before.attempts,
                "the handed-back claim is not an attempt"
            );
        }
    })
    .await
    .unwrap();
}

/// The drain the drain tests ask for.
const DRAIN_SECONDS: u64 = 6;

/// What the server logs when a drain begins.
const DRAIN_LOGGED: &str = "draining: /health/ready answers 503";

/// How far before the drain's end a request counts as sent during the drain. A request sent in
/// the drain's last moments may meet the listener closing (that is what the drain makes rare:
/// by then the load balancer sends nothing); the test asserts nothing about those.
const DRAIN_END_MARGIN: Duration = Duration::from_secs(1);

/// Clients keeping steady load on the copy: even ones keep their connections open (as a proxy
/// does), odd ones open a connection per request.
const LOAD_CLIENTS: usize = 4;

/// One request of the load: when it was sent, and its status or why it got none.
struct Sent {
    at: Instant,
    outcome: Result<StatusCode, String>,
}

fn http_client(keep_alive: bool) -> reqwest::Client {
    let builder = reqwest::Client::builder().timeout(Duration::from_secs(30));
    let builder = if keep_alive {
        builder
    } else {
        builder.pool_max_idle_per_host(0)
    };
    builder.build().expect("client")
}

/// Polls `/health/ready` (bounded) until it answers 503, checking that it is a problem document
/// with the headers every answer carries; panics if it has not by `deadline`.
async fn wait_until_not_ready(probe: &reqwest::Client, address: &str, deadline: Instant) {
    loop {
        let response = probe
            .get(format!("{address}/health/ready"))
            .send()
            .await
            .expect("the draining copy answers /health/ready");
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            for header in [
                "x-request-id",
                "x-content-type-options",
                "referrer-policy",
                "retry-after",
            ] {
                assert!(response.headers().contains_key(header), "{header} missing");
            }
            assert_problem(response, StatusCode::SERVICE_UNAVAILABLE).await;
            return;
        }
        assert_eq!(response.status(), StatusCode::OK, "ready until the signal");
        assert!(
            Instant::now() < deadline,
            "/health/ready still answers 200 after the signal"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Steady load through SIGTERM with a drain: `/health/ready` turns 503 at once, every other
/// request goes on being answered for the drain, and only then does the copy stop accepting,
/// finish what it holds and exit 0.
async fn a_draining_copy_answers_every_request_sent_during_the_drain(backend: Backend) {
    let database = TestDatabase::create(backend);
    let drain = DRAIN_SECONDS.to_string();
    let mut server = ServerProcess::start_with(
        &database,
        crate::smtp::unused_port(),
        &[("APP__SERVER__DRAIN_SECONDS", drain.as_str())],
    )
    .await;
    let address = server.address.clone();
    let probe = http_client(false);
    let ready = probe
        .get(format!("{address}/health/ready"))
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status(), StatusCode::OK);

    let stop_load = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..LOAD_CLIENTS)
        .map(|i| {
            let client = http_client(i % 2 == 0);
            let address = address.clone();
            let (stop_load, answered) = (stop_load.clone(), answered.clone());
            tokio::spawn(async move {
                let mut sent = Vec::new();
                while !stop_load.load(Ordering::SeqCst) {
                    let at = Instant::now();
                    let outcome = match client
                        .get(format!("{address}/api/v1/providers"))
                        .send()
                        .await
                    {
                        Ok(response) => {
                            let status = response.status();
                            response
                                .bytes()
                                .await
                                .map(|_| status)
                                .map_err(|e| format!("reading the body: {e}"))
                        }
                        Err(e) => Err(format!("{e:?}")),
                    };
                    if outcome.is_ok() {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                    // Once the copy is gone every request fails at once: stop at the first.
                    let failed = outcome.is_err();
                    sent.push(Sent { at, outcome });
                    if failed {
                        break;
                    }
                }
                sent
            })
        })
        .collect();
    for _ in 0..1200 {
        if answered.load(Ordering::SeqCst) >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(answered.load(Ordering::SeqCst) >= 20, "the load started");

    let signalled = Instant::now();
    server.terminate();
    let drain_end = signalled + Duration::from_secs(DRAIN_SECONDS);
    let counted_until = drain_end - DRAIN_END_MARGIN;
    wait_until_not_ready(&probe, &address, counted_until).await;
    let not_ready_since = Instant::now();
    // While it drains, answers close their connection, so keep-alive clients reconnect.
    let during = http_client(true)
        .get(format!("{address}/health"))
        .send()
        .await
        .expect("the draining copy answers /health");
    assert_eq!(during.status(), StatusCode::OK, "/health is not readiness");
    assert_eq!(
        during.headers().get("connection").map(|v| v.as_bytes()),
        Some(&b"close"[..])
    );

    let status = server.wait_for_exit().await;
    assert!(status.success(), "exit status {status:?}\n{}", server.log());
    stop_load.store(true, Ordering::SeqCst);
    let mut sent = Vec::new();
    for client in clients {
        sent.extend(
            tokio::time::timeout(Duration::from_secs(60), client)
                .await
                .expect("the load ends once the copy is gone")
                .expect("a load client"),
        );
    }

    let mut sent_during_drain = 0;
    let mut answered_during_drain = 0;
    let mut answered_while_not_ready = 0;
    for request in &sent {
        let during_drain = (signalled..counted_until).contains(&request.at);
        sent_during_drain += usize::from(during_drain);
        match &request.outcome {
            Ok(status) => {
                assert_eq!(*status, StatusCode::OK, "an answered request failed");
                answered_during_drain += usize::from(during_drain);
                answered_while_not_ready +=
                    usize::from((not_ready_since..counted_until).contains(&request.at));
            }
            Err(error) => assert!(
                request.at >= counted_until,
                "a request sent {:?} after SIGTERM, during the drain, got no answer: {error}",
                request.at.saturating_duration_since(signalled)
            ),
        }
    }
    eprintln!(
        "{} requests in all; {sent_during_drain} sent during the drain, \
         {answered_during_drain} of them answered ({answered_while_not_ready} once \
         /health/ready answered 503)",
        sent.len()
    );
    assert!(sent_during_drain > 0, "load during the drain");
    assert_eq!(answered_during_drain, sent_during_drain);
    assert!(
        answered_while_not_ready > 0,
        "the copy served on once /health/ready answered 503"
    );
    let log = server.log();
    let draining = log.find(DRAIN_LOGGED).expect("the drain is logged");
    let stopping = log
        .find("shutting down gracefully")
        .expect("the stop is logged");
    assert!(draining < stopping, "{log}");
}

/// A second SIGTERM (or SIGINT) during a long drain stops the copy without waiting it out. The
/// first comes as soon as the address is announced: a signal that early is graceful too.
async fn a_second_signal_cuts_the_drain_short(backend: Backend) {
    let database = TestDatabase::create(backend);
    let mut server = ServerProcess::start_with(
        &database,
        crate::smtp::unused_port(),
        // Longer than `wait_for_exit` waits.
        &[("APP__SERVER__DRAIN_SECONDS", "300")],
    )
    .await;
    let address = server.address.clone();
    let probe = http_client(false);
    server.terminate();
    wait_until_not_ready(&probe, &address, Instant::now() + Duration::from_secs(60)).await;
    let providers = probe
        .get(format!("{address}/api/v1/providers"))
        .send()
        .await
        .expect("the draining copy serves");
    assert_eq!(providers.status(), StatusCode::OK);
    server.terminate();
    let status = server.wait_for_exit().await;
    assert!(status.success(), "exit status {status:?}\n{}", server.log());
    let log = server.log();
    assert!(log.contains("the drain is cut short"), "{log}");
}
