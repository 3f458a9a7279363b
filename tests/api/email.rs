//! Email through the outbox to a real SMTP server on loopback: every kind of mail with its
//! parts and invitation, delivery after an outage, nothing lost across a restart or a dead
//! worker, and never one job sent twice by two workers.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use clinic_booking::db::outbox;
use clinic_booking::settings::{Settings, SmtpTls};
use icalendar::{CalendarDateTime, Component, DatePerhapsTime};
use mail_parser::{MessageParser, MimeHeaders};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{
    another_patient, smtp_to, spawn_app_on_with, spawn_app_with, Backend, ServerProcess, TestApp,
    TestDatabase,
};
use crate::smtp::{unused_port, SmtpSink};

crate::both_backends!(
    every_kind_of_mail_arrives_with_its_parts,
    a_booking_inside_the_reminder_window_gets_one_reminder_at_once,
    bookings_made_while_smtp_is_down_are_delivered_when_it_returns,
    a_restart_or_a_dead_worker_loses_no_mail,
    two_workers_on_one_database_never_send_a_job_twice,
    a_kill_9_of_the_server_loses_no_mail,
    mail_that_keeps_failing_is_parked_with_its_error,
    a_copy_without_a_mail_worker_leaves_its_mail_to_another,
    starttls_checks_the_relays_certificate_against_the_configured_authority,
);

/// A received mail, parsed into what the tests look at.
#[derive(Debug)]
pub(crate) struct Mail {
    pub(crate) to: String,
    pub(crate) subject: String,
    pub(crate) text: String,
    pub(crate) html: String,
    /// The `method` of the calendar attachment's content type, and the attachment itself.
    pub(crate) invitation: Option<(String, String)>,
}

pub(crate) fn parse(raw: &[u8]) -> Mail {
    let message = MessageParser::default().parse(raw).expect("a MIME message");
    let invitation = message.attachments().find_map(|part| {
        let content_type = part.content_type()?;
        (content_type.ctype() == "text" && content_type.subtype() == Some("calendar")).then(|| {
            (
                content_type
                    .attribute("method")
                    .unwrap_or_default()
                    .to_owned(),
                String::from_utf8_lossy(part.contents()).into_owned(),
            )
        })
    });
    Mail {
        to: message
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned(),
        subject: message.subject().unwrap_or_default().to_owned(),
        text: message.body_text(0).unwrap_or_default().into_owned(),
        html: message.body_html(0).unwrap_or_default().into_owned(),
        invitation,
    }
}

/// The single event of an invitation: (UID, SEQUENCE, DTSTART in UTC, STATUS line present).
fn event_of(ics: &str) -> (String, u32, DateTime<Utc>, icalendar::Calendar) {
    let calendar: icalendar::Calendar = ics.parse().expect("the invitation parses as iCalendar");
    let event = calendar.events().next().expect("one event").clone();
    let start = match event.get_start() {
        Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(start))) => start,
        other => panic!("DTSTART should be UTC, got {other:?}"),
    };
    (
        event.get_uid().expect("UID").to_owned(),
        event.get_sequence().unwrap_or(0),
        start,
        calendar,
    )
}

fn utc(value: &Value) -> DateTime<Utc> {
    value.as_str().expect("instant").parse().expect("RFC 3339")
}

async fn outbox_statuses(app: &TestApp) -> HashMap<String, usize> {
    let jobs = app.with_db(|conn| jobs(conn, None)).await;
    let mut counts = HashMap::new();
    for job in jobs {
        *counts.entry(job.status.as_str().to_owned()).or_insert(0) += 1;
    }
    counts
}

/// The outbox's jobs (of one status, or all), newest first.
fn jobs(
    conn: &mut clinic_booking::db::DbConnection,
    status: Option<outbox::JobStatus>,
) -> Vec<outbox::OutboxJob> {
    outbox::list(conn, status, 1000, 0)
        .expect("outbox")
        .into_iter()
        .map(|(job, _, _)| job)
        .collect()
}

/// Every reference appears in exactly one of the mails' texts: delivered, and only once.
fn assert_one_mail_each(texts: &[String], references: &[String]) {
    for reference in references {
        let count = texts
            .iter()
            .filter(|t| t.contains(reference.as_str()))
            .count();
        assert_eq!(count, 1, "{reference}: {count} mails");
    }
}

/// Pending jobs that are already due (reminders for later visits are not).
async fn due_jobs(app: &TestApp) -> usize {
    app.with_db(|conn| {
        let now = clinic_booking::db::now();
        jobs(conn, Some(outbox::JobStatus::Pending))
            .iter()
            .filter(|j| j.next_attempt_at <= now)
            .count()
    })
    .await
}

/// Waits (bounded) until no job is due.
async fn wait_until_outbox_drained(app: &TestApp) {
    for _ in 0..600 {
        if due_jobs(app).await == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "outbox still has due jobs: {:?}",
        outbox_statuses(app).await
    );
}

async fn every_kind_of_mail_arrives_with_its_parts(backend: Backend) {
    let sink = SmtpSink::start();
    let app = spawn_app_with(backend, smtp_to(sink.port)).await;
    // Days ahead: the patient moves and cancels it online, before the booking rules' cut-off.
    let slots = app.free_slots_from(2).await;
    let booking = app.book_ok(slots[0]["id"].as_i64().unwrap()).await;
    let reference = booking["reference"].as_str().unwrap();
    let token = booking["manage_token"].as_str().unwrap();

    // Confirmation.
    let mail = parse(&sink.wait_for(1).await[0]);
    assert_eq!(mail.to, "ana.diaz@example.com");
    assert!(
        mail.subject.starts_with("Appointment confirmed"),
        "{}",
        mail.subject
    );
    for part in [&mail.text, &mail.html] {
        for expected in [
            "Desert Spine &",
            "4410 N 7th St",
            "+1 (602) 555-0134",
            booking["provider"]["name"].as_str().unwrap(),
            "Phoenix",
            reference,
        ] {
            assert!(
                part.contains(expected),
                "{expected:?} missing from:\n{part}"
            );
        }
    }
    let local_start: DateTime<chrono::FixedOffset> = booking["slot"]["local_start"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(mail
        .text
        .contains(&local_start.format("%-I:%M %p").to_string()));
    assert!(
        mail.html.contains("<a href="),
        "the HTML part links to the booking"
    );
    // The manage link carries the reference and a token that opens the booking.
    let link_token = mail
        .text
        .split("token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("manage link with token");
    assert_eq!(
        app.get_booking(reference, link_token).await.status(),
        StatusCode::OK
    );
    assert!(mail
        .text
        .contains(&format!("/book?reference={reference}&token=")));
    let _ = token;

    let (method, ics) = mail.invitation.expect("confirmation carries an invitation");
    assert_eq!(method, "REQUEST");
    let (uid, sequence, start, calendar) = event_of(&ics);
    assert!(uid.contains(reference));
    assert_eq!(sequence, 0);
    assert_eq!(start, utc(&booking["slot"]["start"]));
    assert_eq!(calendar.property_value("METHOD"), Some("REQUEST"));

    // Change: same UID, higher SEQUENCE, the new start.
    let moved: Value = app
        .reschedule(reference, token, slots[1]["id"].as_i64().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let mail = parse(&sink.wait_for(2).await[1]);
    assert!(
        mail.subject.starts_with("Appointment moved"),
        "{}",
        mail.subject
    );
    let (method, ics) = mail.invitation.expect("change carries an invitation");
    assert_eq!(method, "REQUEST");
    let (change_uid, change_sequence, change_start, _) = event_of(&ics);
    assert_eq!(change_uid, uid, "a stable UID per booking");
    assert_eq!(change_sequence, 1);
    assert_eq!(change_start, utc(&moved["slot"]["start"]));

    // Cancellation: METHOD:CANCEL, higher SEQUENCE still.
    app.cancel(reference, token).await;
    let mail = parse(&sink.wait_for(3).await[2]);
    assert!(
        mail.subject.starts_with("Appointment cancelled"),
        "{}",
        mail.subject
    );
    assert!(mail.text.contains("/book"), "how to book again");
    let (method, ics) = mail.invitation.expect("cancellation carries an invitation");
    assert_eq!(method, "CANCEL");
    let (cancel_uid, cancel_sequence, _, calendar) = event_of(&ics);
    assert_eq!(cancel_uid, uid);
    assert_eq!(cancel_sequence, 2);
    assert_eq!(calendar.property_value("METHOD"), Some("CANCEL"));

    wait_until_outbox_drained(&app).await;
    assert_eq!(
        sink.messages().len(),
        3,
        "no reminder for a visit more than an hour away"
    );
    assert_eq!(outbox_statuses(&app).await.get("sent"), Some(&3));
}

async fn a_booking_inside_the_reminder_window_gets_one_reminder_at_once(backend: Backend) {
    let sink = SmtpSink::start();
    // Reminders four hours ahead, and a visit in three (the booking rules want two hours'
    // notice): it is booked inside the reminder's window.
    let app = spawn_app_with(backend, |settings| {
        smtp_to(sink.port)(settings);
        settings.mail.reminder_hours_before = 4;
    })
    .await;
    let soon = app.insert_slot(180).await;
    app.book_ok(soon).await;
    let received = sink.wait_for(2).await;
    // Let the worker poll many more times: the reminder must not come again.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    wait_until_outbox_drained(&app).await;
    let subjects: Vec<String> = sink.messages().iter().map(|m| parse(m).subject).collect();
    assert_eq!(received.len(), 2);
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.starts_with("Reminder"))
            .count(),
        1,
        "{subjects:?}"
    );
    let reminder = sink
        .messages()
        .iter()
        .map(|m| parse(m))
        .find(|m| m.subject.starts_with("Reminder"))
        .unwrap();
    assert!(reminder.invitation.is_none());
    assert!(reminder.text.contains("Manage your booking"));
}

async fn bookings_made_while_smtp_is_down_are_delivered_when_it_returns(backend: Backend) {
    let port = unused_port();
    let app = spawn_app_with(backend, smtp_to(port)).await;
    let slot_ids = app.free_slot_ids().await;
    let mut references = Vec::new();
    for (n, id) in slot_ids[..5].iter().enumerate() {
        let booking = app.book_for(*id, &another_patient(n)).await;
        references.push(booking["reference"].as_str().unwrap().to_owned());
    }
    // The worker has tried and failed; the jobs wait with their error.
    for _ in 0..600 {
        if failed_and_kept(&app).await == 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        failed_and_kept(&app).await,
        5,
        "every job was tried and kept"
    );

    let sink = SmtpSink::start_on(port);
    let received = sink.wait_for(5).await;
    wait_until_outbox_drained(&app).await;
    let texts: Vec<String> = received.iter().map(|m| parse(m).text).collect();
    assert_one_mail_each(&texts, &references);
    assert_eq!(sink.messages().len(), 5);
}

/// Jobs that failed at least once and still wait for another attempt.
async fn failed_and_kept(app: &TestApp) -> usize {
    app.with_db(|conn| {
        jobs(conn, None)
            .iter()
            .filter(|j| j.attempts >= 1 && j.last_error.is_some() && j.status.as_str() == "pending")
            .count()
    })
    .await
}

async fn a_restart_or_a_dead_worker_loses_no_mail(backend: Backend) {
    let database = TestDatabase::create(backend);
    // First run: SMTP down, five bookings queue their confirmations.
    let app = spawn_app_on_with(database.clone(), smtp_to(unused_port())).await;
    for (n, id) in app.free_slot_ids().await[..5].iter().enumerate() {
        app.book_for(*id, &another_patient(n)).await;
    }
    let pool = app.pool.clone();
    app.stop().await;

    // A worker claims two jobs and dies before finishing them (as if killed mid-send).
    let claimed = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("connection");
        outbox::claim_due(
            &mut conn,
            clinic_booking::db::now() + chrono::Duration::seconds(5),
            chrono::Duration::seconds(1),
            2,
            "a-worker-that-died",
        )
        .expect("claim")
        .len()
    })
    .await
    .unwrap();
    assert_eq!(claimed, 2);

    // Second run, SMTP up: every confirmation goes out, including the two abandoned ones.
    let sink = SmtpSink::start();
    let app = spawn_app_on_with(database, smtp_to(sink.port)).await;
    let received = sink.wait_for(5).await;
    wait_until_outbox_drained(&app).await;
    assert_eq!(received.len(), 5);
    assert_eq!(sink.messages().len(), 5);
    assert_eq!(outbox_statuses(&app).await.get("sent"), Some(&5));
}

async fn two_workers_on_one_database_never_send_a_job_twice(backend: Backend) {
    let database = TestDatabase::create(backend);
    let port = unused_port();
    let first = spawn_app_on_with(database.clone(), smtp_to(port)).await;
    let second = spawn_app_on_with(database, smtp_to(port)).await;
    // Queue while SMTP is down, so both workers find the whole backlog at once.
    let slot_ids = first.free_slot_ids().await;
    let mut references = Vec::new();
    for (i, id) in slot_ids[..20].iter().enumerate() {
        let app = if i % 2 == 0 { &first } else { &second };
        let booking = app.book_for(*id, &another_patient(i)).await;
        references.push(booking["reference"].as_str().unwrap().to_owned());
    }
    let sink = SmtpSink::start_on(port);
    sink.wait_for(20).await;
    wait_until_outbox_drained(&first).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let texts: Vec<String> = sink.messages().iter().map(|m| parse(m).text).collect();
    assert_eq!(
        texts.len(),
        20,
        "one confirmation per booking, no duplicates"
    );
    assert_one_mail_each(&texts, &references);
}

async fn a_kill_9_of_the_server_loses_no_mail(backend: Backend) {
    let database = TestDatabase::create(backend);
    let mut server = ServerProcess::start(&database, unused_port()).await;
    let address = server.address.clone();
    let client = reqwest::Client::new();
    let slots: Value = client
        .get(format!("{address}/api/v1/slots"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut references = Vec::new();
    for (n, slot) in slots["items"].as_array().unwrap()[..5].iter().enumerate() {
        let response = client
            .post(format!("{address}/api/v1/bookings"))
            .json(&serde_json::json!({"slot_id": slot["id"], "patient": another_patient(n)}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let booking: Value = response.json().await.unwrap();
        references.push(booking["reference"].as_str().unwrap().to_owned());
    }
    server.kill();

    let sink = SmtpSink::start();
    let app = spawn_app_on_with(database, smtp_to(sink.port)).await;
    sink.wait_for(5).await;
    wait_until_outbox_drained(&app).await;
    let texts: Vec<String> = sink.messages().iter().map(|m| parse(m).text).collect();
    assert_eq!(texts.len(), 5);
    assert_one_mail_each(&texts, &references);
}

async fn mail_that_keeps_failing_is_parked_with_its_error(backend: Backend) {
    let port = unused_port();
    let app = spawn_app_with(backend, |settings| {
        smtp_to(port)(settings);
        settings.mail.max_attempts = 2;
    })
    .await;
    app.book_ok(app.free_slot_ids().await[0]).await;
    let failed = || app.with_db(|conn| jobs(conn, Some(outbox::JobStatus::Failed)));
    for _ in 0..600 {
        if !failed().await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let jobs = failed().await;
    assert_eq!(jobs.len(), 1, "the confirmation is parked as failed");
    assert_eq!(jobs[0].kind.as_str(), "confirmation");
    assert_eq!(jobs[0].attempts, 2);
    assert!(jobs[0]
        .last_error
        .as_deref()
        .unwrap_or_default()
        .contains("send"));
}

async fn a_copy_without_a_mail_worker_leaves_its_mail_to_another(backend: Backend) {
    let database = TestDatabase::create(backend);
    let sink = SmtpSink::start();
    let web_only = spawn_app_on_with(database.clone(), |settings| {
        smtp_to(sink.port)(settings);
        settings.mail.worker_enabled = false;
    })
    .await;
    let mut references = Vec::new();
    for id in &web_only.free_slot_ids().await[..3] {
        let booking = web_only.book_ok(*id).await;
        references.push(booking["reference"].as_str().unwrap().to_owned());
    }
    // Ten of its poll intervals: a worker of this copy would have sent them by now.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(sink.messages().is_empty(), "the copy sent mail itself");
    assert_eq!(due_jobs(&web_only).await, 3);

    let sender = spawn_app_on_with(database, smtp_to(sink.port)).await;
    let received = sink.wait_for(3).await;
    wait_until_outbox_drained(&sender).await;
    let texts: Vec<String> = received.iter().map(|m| parse(m).text).collect();
    assert_one_mail_each(&texts, &references);
}

async fn starttls_checks_the_relays_certificate_against_the_configured_authority(backend: Backend) {
    let database = TestDatabase::create(backend);
    // A relay whose certificate no public authority signed, as an organization's own relay.
    let dir = tempfile::tempdir().expect("temp dir");
    let relay = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let (certificate, key) = (dir.path().join("relay.pem"), dir.path().join("relay.key"));
    std::fs::write(&certificate, relay.cert.pem()).expect("write cert");
    std::fs::write(&key, relay.signing_key.serialize_pem()).expect("write key");
    let sink = SmtpSink::start_tls(&certificate, &key);
    let over_starttls = |ca_file: Option<std::path::PathBuf>| {
        let port = sink.port;
        move |settings: &mut Settings| {
            smtp_to(port)(settings);
            settings.mail.smtp_host = "localhost".into();
            settings.mail.smtp_tls = SmtpTls::Starttls;
            settings.mail.smtp_ca_file =
                ca_file.map(|p| p.display().to_string()).unwrap_or_default();
        }
    };

    // Without its authority the certificate is refused: nothing is sent, the job waits.
    let app = spawn_app_on_with(database.clone(), over_starttls(None)).await;
    app.book_ok(app.free_slot_ids().await[0]).await;
    for _ in 0..600 {
        if failed_and_kept(&app).await > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let errors: Vec<String> = app
        .with_db(|conn| jobs(conn, None))
        .await
        .into_iter()
        .filter_map(|job| job.last_error)
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("certificate")),
        "{errors:?}"
    );
    assert!(sink.messages().is_empty());
    app.stop().await;

    // With it, the waiting confirmation goes out over the encrypted connection.
    let app = spawn_app_on_with(database, over_starttls(Some(certificate))).await;
    let received = sink.wait_for(1).await;
    wait_until_outbox_drained(&app).await;
    assert_eq!(received.len(), 1);
    assert!(parse(&received[0])
        .subject
        .starts_with("Appointment confirmed"));
}
