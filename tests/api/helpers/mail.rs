//! Mail helpers shared by the test files.

use std::collections::HashMap;

use clinic_booking::db::{outbox, Pool};
use clinic_booking::settings::{MailTransportKind, Settings, SmtpTls};
use mail_parser::MessageParser;

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
                .filter(|(j, _)| j.next_attempt_at <= now)
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
