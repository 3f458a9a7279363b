//! What operators rely on: the probes, the metrics and who may read them, and a SQLite backup
//! taken while serving that restores every booking.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    another_patient, assert_problem, spawn_app, spawn_app_on, spawn_app_with, Backend, TestDatabase,
};

crate::tests! {
    both_backends: [
        liveness_and_readiness_probes,
        metrics_count_requests_and_bookings,
        metrics_are_guarded_by_token_or_loopback,
    ],
    once: [
        a_backup_taken_while_serving_restores_every_booking,
        each_request_logs_one_line_with_route_status_latency_and_id,
    ],
}

async fn liveness_and_readiness_probes(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/health", "/health/live", "/health/ready"] {
        assert_eq!(app.get(path).await.status(), StatusCode::OK, "{path}");
    }

    // The schema falls behind this build (as when a new version starts before `migrate`).
    app.with_db(|conn| clinic_booking::db::revert_all_migrations(conn).expect("revert"))
        .await;
    let body = assert_problem(
        app.get("/health/ready").await,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert_eq!(body["status"], 503);
    assert_eq!(app.get("/health/live").await.status(), StatusCode::OK);
    // The contract's `/health` asks only whether the database answers.
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);

    app.with_db(|conn| clinic_booking::db::run_migrations(conn).expect("migrate"))
        .await;
    assert_eq!(app.get("/health/ready").await.status(), StatusCode::OK);
}

/// The value of one series in a Prometheus text exposition (0 when absent).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix(series)?;
            rest.starts_with(' ')
                .then(|| rest.trim().parse().expect("a number"))
        })
        .unwrap_or(0.0)
}

async fn scrape(app: &crate::helpers::TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.expect("text")
}

async fn metrics_count_requests_and_bookings(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = scrape(&app).await;
    // Days ahead, so that the first can be cancelled online.
    let slot_ids = app.free_slot_ids_from(2).await;
    let mut bookings = Vec::new();
    for id in &slot_ids[..3] {
        bookings.push(app.book_ok(*id).await);
    }
    assert_eq!(app.book(slot_ids[0]).await.status(), StatusCode::CONFLICT);
    let first = &bookings[0];
    let cancelled = app
        .cancel(
            first["reference"].as_str().unwrap(),
            first["manage_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let after = scrape(&app).await;

    let moved = |series: &str| sample(&after, series) - sample(&before, series);
    assert_eq!(moved("clinic_bookings_created_total"), 3.0, "{after}");
    assert_eq!(moved("clinic_booking_conflicts_total"), 1.0);
    assert_eq!(moved("clinic_bookings_cancelled_total"), 1.0);
    let created = r#"{method="POST",route="/api/v1/bookings",status="201"}"#;
    assert_eq!(moved(&format!("clinic_http_requests_total{created}")), 3.0);
    assert_eq!(
        moved(&format!(
            "clinic_http_request_duration_seconds_count{created}"
        )),
        3.0
    );
    let cancel = r#"{method="POST",route="/api/v1/bookings/{reference}/cancel",status="200"}"#;
    assert_eq!(moved(&format!("clinic_http_requests_total{cancel}")), 1.0);
    for gauge in [
        "clinic_outbox_pending_jobs",
        "clinic_outbox_oldest_pending_age_seconds",
        "clinic_outbox_failed_jobs",
        "clinic_db_pool_connections_in_use",
        "clinic_mail_sent_total",
        "clinic_mail_attempts_failed_total",
    ] {
        assert!(
            after.contains(&format!("\n{gauge} ")),
            "{gauge} missing:\n{after}"
        );
    }
    assert!(sample(&after, "clinic_db_pool_max_connections") >= 1.0);
    // Route patterns, never what a client put in the path.
    for booking in &bookings {
        let reference = booking["reference"].as_str().unwrap();
        assert!(!after.contains(reference), "{reference} in the metrics");
    }
    assert!(!after.contains("ana.diaz"));
}

async fn metrics_are_guarded_by_token_or_loopback(backend: Backend) {
    // No token: loopback peers only, and not through a proxy.
    let app = spawn_app(backend).await;
    let forwarded = app
        .client
        .get(app.url("/metrics"))
        .header("X-Forwarded-For", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_problem(forwarded, StatusCode::FORBIDDEN).await;
    let database = app.stop().await;

    // A token: only a scraper that presents it.
    let app = spawn_app_on_token(database.clone(), "scrape-me-0123456789").await;
    assert_problem(app.get("/metrics").await, StatusCode::UNAUTHORIZED).await;
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me-wrong")
        .send()
        .await
        .unwrap();
    assert_problem(wrong, StatusCode::UNAUTHORIZED).await;
    let right = app
        .client
        .get(app.url("/metrics"))
        .header("X-Forwarded-For", "203.0.113.7")
        .bearer_auth("scrape-me-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    let database = app.stop().await;

    // Off.
    let app = crate::helpers::spawn_app_on_with(database, |s| s.metrics.enabled = false).await;
    assert_problem(app.get("/metrics").await, StatusCode::NOT_FOUND).await;
}

async fn spawn_app_on_token(database: TestDatabase, token: &str) -> crate::helpers::TestApp {
    let token = token.to_owned();
    crate::helpers::spawn_app_on_with(database, move |s| {
        s.metrics.token = secrecy::SecretString::from(token)
    })
    .await
}

/// SQLite only: PostgreSQL is backed up with pg_dump (see the README).
async fn a_backup_taken_while_serving_restores_every_booking() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let slot_ids = app.free_slot_ids().await;
    let mut references = Vec::new();
    for (n, id) in slot_ids[..5].iter().enumerate() {
        let booking = app.book_for(*id, &another_patient(n)).await;
        references.push(booking["reference"].as_str().unwrap().to_owned());
    }

    // The backup runs while more patients book.
    let (restored, path) = TestDatabase::sqlite_file_to_be();
    let url = app.database.url.clone();
    let backup_path = path.clone();
    let backup = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_clinic-booking"))
            .args(["backup", "--to"])
            .arg(&backup_path)
            .env_remove("APP_ENV")
            .env("APP__DATABASE__URL", url)
            .output()
            .expect("run clinic-booking backup")
    });
    let bodies: Vec<Value> = slot_ids[5..15]
        .iter()
        .enumerate()
        .map(|(n, id)| json!({"slot_id": id, "patient": another_patient(5 + n)}))
        .collect();
    let during = join_all(
        bodies
            .iter()
            .map(|body| app.post_json("/api/v1/bookings", body)),
    )
    .await;
    let output = backup.await.unwrap();
    assert!(
        output.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut booked_during = Vec::new();
    for response in during {
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        booked_during.push(body["reference"].as_str().unwrap().to_owned());
    }

    // A second backup to the same file is refused rather than overwriting it.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_clinic-booking"))
        .args(["backup", "--to"])
        .arg(&path)
        .env_remove("APP_ENV")
        .env("APP__DATABASE__URL", &app.database.url)
        .output()
        .expect("run clinic-booking backup");
    assert!(!again.status.success());

    // The copy opens as the database of a new app, and holds every booking made before the
    // backup, each with its slot taken: a consistent snapshot.
    let restored = spawn_app_on(restored).await;
    // A job the serving app had claimed when the backup was taken is claimed in the copy too:
    // the copy sends it only once that lease (a minute) has run out.
    restored.expect_undelivered_mail();
    assert_eq!(restored.get("/health/ready").await.status(), StatusCode::OK);
    let in_copy = restored
        .with_db(|conn| {
            use clinic_booking::db::schema::{bookings, slots};
            use diesel::prelude::*;
            bookings::table
                .inner_join(slots::table)
                .select((bookings::reference, slots::status))
                .load::<(String, String)>(conn)
                .expect("bookings")
        })
        .await;
    for reference in &references {
        assert!(
            in_copy.iter().any(|(r, _)| r == reference),
            "{reference} missing from the backup"
        );
    }
    for (reference, slot_status) in &in_copy {
        assert!(
            references.contains(reference) || booked_during.contains(reference),
            "{reference} was never booked"
        );
        assert_eq!(slot_status, "busy", "{reference}'s slot");
    }
}

/// One line per request with its id, route pattern, status and latency; never the raw path or
/// query (a manage link's query carries a token).
async fn each_request_logs_one_line_with_route_status_latency_and_id() {
    let database = TestDatabase::create(Backend::Sqlite);
    let server = crate::helpers::ServerProcess::start(&database, crate::smtp::unused_port()).await;
    let response = reqwest::get(format!(
        "{}/api/v1/bookings/BK-ZZZZZZZZZZ?token=a-secret-in-a-query",
        server.address
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let line = wait_for_log_line(&server, "/api/v1/bookings/{reference}").await;
    for expected in [
        "request_id=",
        "status=401",
        "latency_ms=",
        "http.method=GET",
    ] {
        assert!(line.contains(expected), "{expected} missing from {line}");
    }
    let log = server.log();
    for secret in ["BK-ZZZZZZZZZZ", "a-secret-in-a-query"] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

/// The (colour-stripped) `request finished` line of `route`, waiting (bounded) for it.
async fn wait_for_log_line(server: &crate::helpers::ServerProcess, route: &str) -> String {
    for _ in 0..600 {
        let log = server.log();
        let plain: String = strip_ansi(&log);
        if let Some(line) = plain
            .lines()
            .find(|l| l.contains("request finished") && l.contains(route))
        {
            return line.to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no request line for {route}:\n{}", server.log());
}

fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip to the end of the escape sequence (a letter).
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}
