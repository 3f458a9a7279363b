//! Mail sent again after a crash is recognisably the same mail: the real binary is killed (-9)
//! while the SMTP server has accepted a message but not yet answered it, so the job was never
//! marked sent and goes out again from the next start; every copy of one job carries the same
//! `Message-ID`, and different jobs different ones.
//!
//! The kill lands in that window every time: the test's SMTP server records each message when
//! its final `.` arrives and then holds back the `250` until the test lets it go, which it does
//! only after the kill.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use mail_parser::MessageParser;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{patient, wait_until_due_mail_sent, Backend, ServerProcess, TestDatabase};
use crate::smtp::SmtpSink;

crate::both_backends!(a_mail_sent_again_after_a_kill_9_carries_the_same_message_id);

/// Bookings made; each one's confirmation is held by the server at a kill.
const BOOKINGS: usize = 3;

/// How long a held answer waits at most for the test to let it go.
const LONGEST_HOLD: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Holding {
    /// Whether answers to the final `.` are held back.
    on: bool,
    /// Bumped to let go of every answer held so far.
    generation: u64,
}

/// The answers' gate: shared by the server's threads and the test.
#[derive(Default)]
struct Gate {
    holding: Mutex<Holding>,
    released: Condvar,
}

impl Gate {
    /// Holds the caller while holding is on, until the test lets go of this generation.
    fn wait(&self) {
        let holding = self.holding.lock().expect("holding");
        let generation = holding.generation;
        // Bounded, so a test that fails never leaves a thread here for good.
        let _ = self
            .released
            .wait_timeout_while(holding, LONGEST_HOLD, |h| {
                h.on && h.generation == generation
            })
            .expect("holding");
    }
}

/// An SMTP server on loopback that accepts every message (records it once its final `.` has
/// arrived) and, while holding is on, answers that `.` only when the test lets go.
struct HoldingSmtp {
    sink: SmtpSink,
    gate: Arc<Gate>,
}

impl HoldingSmtp {
    /// Starts the server, holding answers. It runs until the test process ends.
    fn start() -> Self {
        let gate = Arc::new(Gate::default());
        gate.holding.lock().expect("holding").on = true;
        let waiting = gate.clone();
        let sink = SmtpSink::start_answering_after(move || waiting.wait());
        Self { sink, gate }
    }

    /// Lets go of the answers held so far; `keep_holding` decides for the messages to come.
    fn release(&self, keep_holding: bool) {
        let mut holding = self.gate.holding.lock().expect("holding");
        holding.generation += 1;
        holding.on = keep_holding;
        self.gate.released.notify_all();
    }

    fn messages(&self) -> Vec<Vec<u8>> {
        self.sink.messages()
    }

    /// Waits (bounded) until the confirmation of each of `references` has arrived at least
    /// `times` times.
    async fn wait_for_confirmations(&self, references: &[String], times: usize) {
        for _ in 0..1200 {
            let received = confirmations(&self.messages());
            if references
                .iter()
                .all(|r| received.get(r).is_some_and(|ids| ids.len() >= times))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the confirmations of {references:?} did not all arrive {times} times: {:?}",
            confirmations(&self.messages())
        );
    }
}

/// One received mail: which job it is by what it says (its subject, which names the kind and
/// the visit, and the booking's reference), and its `Message-ID`.
#[derive(Debug)]
struct Received {
    subject: String,
    reference: String,
    message_id: String,
}

fn parse(raw: &[u8]) -> Received {
    let message = MessageParser::default().parse(raw).expect("a MIME message");
    let text = message.body_text(0).unwrap_or_default();
    let reference = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|word| word.starts_with("BK-"))
        .expect("the mail names its booking")
        .to_owned();
    Received {
        subject: message.subject().unwrap_or_default().to_owned(),
        reference,
        message_id: message.message_id().expect("a Message-ID").to_owned(),
    }
}

/// The `Message-ID` of every confirmation received, by booking reference.
fn confirmations(messages: &[Vec<u8>]) -> HashMap<String, Vec<String>> {
    let mut by_reference: HashMap<String, Vec<String>> = HashMap::new();
    for mail in messages.iter().map(|raw| parse(raw)) {
        if mail.subject.starts_with("Appointment confirmed") {
            by_reference
                .entry(mail.reference)
                .or_default()
                .push(mail.message_id);
        }
    }
    by_reference
}

async fn a_mail_sent_again_after_a_kill_9_carries_the_same_message_id(backend: Backend) {
    let database = TestDatabase::create(backend);
    let smtp = HoldingSmtp::start();
    // The app must wait for the held answer rather than give up on it first.
    let patient_smtp = [("APP__MAIL__SMTP_TIMEOUT_SECONDS", "300")];

    // First run: the first confirmation (perhaps more) is accepted and its answer held; the
    // worker is still waiting for it when the process is killed.
    let mut server = ServerProcess::start_with(&database, smtp.sink.port, &patient_smtp).await;
    let references = book(&server.address, BOOKINGS).await;
    smtp.wait_for_confirmations(&references[..1], 1).await;
    server.kill();
    smtp.release(true);

    // Second run, still held: the confirmations still queued are accepted and held in turn,
    // and the process is killed again. Every confirmation has now been accepted at least once
    // and never marked sent.
    let mut server = ServerProcess::start_with(&database, smtp.sink.port, &patient_smtp).await;
    smtp.wait_for_confirmations(&references, 1).await;
    server.kill();
    smtp.release(false);

    // Third run, answered at once: everything is sent again and marked sent.
    let server = ServerProcess::start_with(&database, smtp.sink.port, &patient_smtp).await;
    let pool = clinic_booking::db::build_pool(&database.url, 1).expect("pool");
    wait_until_due_mail_sent(&pool).await;
    let log = server.log();
    drop(server);

    let received: Vec<Received> = smtp.messages().iter().map(|raw| parse(raw)).collect();
    let mut ids_by_mail: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
    let mut copies: HashMap<(String, String), usize> = HashMap::new();
    for mail in &received {
        let key = (mail.subject.clone(), mail.reference.clone());
        ids_by_mail
            .entry(key.clone())
            .or_default()
            .insert(mail.message_id.clone());
        *copies.entry(key).or_default() += 1;
    }
    // Each mail repeated after a kill carries one Message-ID over all its copies.
    for (mail, ids) in &ids_by_mail {
        assert_eq!(
            ids.len(),
            1,
            "{mail:?} arrived {} times with different Message-IDs: {ids:?}\n{log}",
            copies[mail]
        );
    }
    // Different mails carry different ones.
    let distinct: HashSet<&String> = ids_by_mail.values().flatten().collect();
    assert_eq!(distinct.len(), ids_by_mail.len(), "{ids_by_mail:?}");
    // Every booking's confirmation was delivered, and delivered again after the kill that
    // found it accepted but not yet marked sent: the window was hit, every time.
    let confirmed = confirmations(&smtp.messages());
    for reference in &references {
        let ids = confirmed.get(reference).map_or(0, Vec::len);
        assert!(
            ids >= 2,
            "the confirmation of {reference} arrived {ids} times"
        );
    }
    // And the Message-ID names nothing of the patient.
    let patient = patient();
    for id in &distinct {
        for private in [&patient["email"], &patient["name"]] {
            let private = private.as_str().expect("a string");
            assert!(!id.contains(private), "{id} names {private}");
        }
        for reference in &references {
            assert!(!id.contains(reference.as_str()), "{id} names {reference}");
        }
    }
}

/// Books `count` free slots through the API; their references.
async fn book(address: &str, count: usize) -> Vec<String> {
    let client = reqwest::Client::new();
    let slots: Value = client
        .get(format!("{address}/api/v1/slots"))
        .send()
        .await
        .expect("slots")
        .json()
        .await
        .expect("slots as JSON");
    let mut references = Vec::new();
    for slot in &slots["items"].as_array().expect("slots")[..count] {
        let response = client
            .post(format!("{address}/api/v1/bookings"))
            .json(&serde_json::json!({"slot_id": slot["id"], "patient": patient()}))
            .send()
            .await
            .expect("booking");
        assert_eq!(response.status(), StatusCode::CREATED);
        let booking: Value = response.json().await.expect("booking as JSON");
        references.push(
            booking["reference"]
                .as_str()
                .expect("a reference")
                .to_owned(),
        );
    }
    references
}
