//! How fast the outbox worker drains queued mail to a local SMTP server, against a ceiling
//! measured in the same run: the same number of messages sent straight through lettre with the
//! same concurrency (no database, no rendering). Prints mails/s and the ratio.
//!
//! Run: `cargo bench --bench mail_drain` (optionally `-- COUNT CONCURRENCY`).

#[allow(dead_code)]
#[path = "../tests/api/smtp.rs"]
mod smtp;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use clinic_booking::clinic::appointments::{self, Intake};
use clinic_booking::db;
use clinic_booking::domain::actor::Actor;
use clinic_booking::domain::booking::BookingSource;
use clinic_booking::domain::ids::SlotId;
use clinic_booking::mail::render::MailRenderer;
use clinic_booking::mail::worker::MailWorker;
use clinic_booking::mail::Mailer;
use clinic_booking::settings::{MailTransportKind, Settings, SmtpTls};
use futures::StreamExt;
use lettre::AsyncTransport;

mod common;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let count = args.first().copied().unwrap_or(400);
    let concurrency = args.get(1).copied().unwrap_or(4);

    let sink = smtp::SmtpSink::start();
    let dir = tempfile::tempdir()?;
    let mut settings = Settings::load_from(Path::new("config"), "default")?;
    settings.database.url = format!("sqlite://{}", dir.path().join("bench.db").display());
    settings.mail.transport = MailTransportKind::Smtp;
    settings.mail.smtp_host = "127.0.0.1".into();
    settings.mail.smtp_port = sink.port;
    settings.mail.smtp_tls = SmtpTls::None;
    settings.mail.worker_concurrency = concurrency;
    settings.mail.reminder_hours_before = 0;

    // Queue `count` confirmations (bookings of the demo clinic's slots, topped up as needed).
    // Any demo slot will do, however soon or far: this measures the mail, not the rules.
    let mut policy = common::booking_policy(&settings);
    policy.rules.min_notice = chrono::Duration::zero();
    policy.rules.horizon = chrono::Duration::days(3650);
    policy.reminder_lead = chrono::Duration::zero();
    let pool = clinic_booking::startup::prepare_database(&settings).await?;
    let queued = tokio::task::spawn_blocking({
        let pool = pool.clone();
        move || -> anyhow::Result<usize> {
            let mut conn = pool.get()?;
            use clinic_booking::db::schema::slots;
            use diesel::prelude::*;
            let ids: Vec<SlotId> = slots::table
                .select(slots::id)
                .order(slots::id)
                .load(&mut conn)?;
            let mut queued = 0;
            for (n, id) in ids.into_iter().take(count).enumerate() {
                let request = Intake {
                    patient: common::bench_patient(n)?,
                    reason: None,
                    source: BookingSource::named(BookingSource::WEBSITE),
                    concern: None,
                    visit_type_id: None,
                    series_id: None,
                    hold: None,
                };
                db::write_transaction(&mut conn, |conn| {
                    appointments::book(conn, id, &request, &Actor::Public, &policy, None, db::now())
                })
                .map_err(|e| anyhow::anyhow!("{e}"))?;
                queued += 1;
            }
            Ok(queued)
        }
    })
    .await??;
    // Confirmations only: reminders of visits days away are not due.
    println!("queued {queued} confirmations; worker concurrency {concurrency}");

    let tokens = clinic_booking::auth::jwt::TokenKeys::new(&settings.auth.jwt_secret, 30);
    let renderer = Arc::new(MailRenderer::new(&settings, tokens)?);
    let mailer = Mailer::from_settings(&settings.mail)?;

    // Ceiling: lettre alone, the same messages' count, same concurrency.
    let messages: Vec<lettre::Message> = (0..queued)
        .map(|i| {
            lettre::Message::builder()
                .from(settings.mail.from.parse().expect("from"))
                .to("bench@example.com".parse().expect("to"))
                .subject(format!("ceiling {i}"))
                .body(String::from("x").repeat(2000))
                .expect("message")
        })
        .collect();
    let transport = match &mailer {
        Mailer::Smtp(t) => t.clone(),
        Mailer::File(_) => anyhow::bail!("SMTP expected"),
    };
    let started = Instant::now();
    futures::stream::iter(messages)
        .for_each_concurrent(concurrency, |m| {
            let t = transport.clone();
            async move {
                t.send(m).await.expect("ceiling send");
            }
        })
        .await;
    let ceiling = queued as f64 / started.elapsed().as_secs_f64();
    sink.wait_for(queued).await;

    let worker = MailWorker::new(
        pool,
        mailer,
        renderer,
        settings.mail.clone(),
        Arc::new(tokio::sync::Notify::new()),
    );
    let started = Instant::now();
    let mut drained = 0;
    while drained < queued {
        drained += worker.send_due_batch().await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    sink.wait_for(2 * queued).await;
    let rate = queued as f64 / elapsed;
    println!("| measurement | mails/s |");
    println!("| --- | --- |");
    println!("| lettre straight to SMTP (ceiling) | {ceiling:.0} |");
    println!("| outbox worker: claim, render, send, mark sent | {rate:.0} |");
    println!("| ratio worker / ceiling | {:.2} |", rate / ceiling);
    Ok(())
}
