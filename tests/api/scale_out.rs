//! Three copies of the real `serve` on one PostgreSQL database, one of them killed mid-run:
//! one winner per slot, idempotency keys that hold across copies, and every confirmation sent,
//! more than once only for mail the killed copy had in flight.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    another_patient, confirmations_by_reference, patient, postgres_available,
    wait_until_due_mail_sent, Backend, ServerProcess, TestDatabase,
};
use crate::smtp::SmtpSink;

/// Slots raced in turn; the third copy is killed during round `KILL_ROUND`.
const ROUNDS: usize = 12;
const KILL_ROUND: usize = 6;
/// Requests each live copy gets for each slot.
const PER_COPY: usize = 3;
/// Mail jobs one worker claims at a time: `worker_concurrency` × 4. A kill can leave at most
/// that many claimed jobs, sent perhaps and not yet marked, which another copy sends again.
const WORKER_CONCURRENCY: usize = 2;
const KILLED_BATCH: usize = WORKER_CONCURRENCY * 4;

crate::tests! {
    once_if(postgres_available): [three_copies_race_for_slots_and_one_dies],
}

async fn three_copies_race_for_slots_and_one_dies() {
    let database = TestDatabase::create(Backend::Postgres);
    let sink = SmtpSink::start();
    let concurrency = WORKER_CONCURRENCY.to_string();
    let environment = [("APP__MAIL__WORKER_CONCURRENCY", concurrency.as_str())];
    // The first copy seeds the demo clinic before it listens; the others find it there.
    let first = ServerProcess::start_with(&database, sink.port, &environment).await;
    let second = ServerProcess::start_with(&database, sink.port, &environment).await;
    let mut third = ServerProcess::start_with(&database, sink.port, &environment).await;
    let copies = [
        first.address.clone(),
        second.address.clone(),
        third.address.clone(),
    ];
    let client = reqwest::Client::new();
    let slots: Value = client
        .get(format!("{}/api/v1/slots", copies[0]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let slot_ids: Vec<i64> = slots["items"].as_array().unwrap()[..ROUNDS + 1]
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();

    // One Idempotency-Key sent through every copy at once: one booking, one answer.
    let body = json!({"slot_id": slot_ids[ROUNDS], "patient": patient()});
    let replays = join_all(copies.iter().cycle().take(3 * PER_COPY).map(|address| {
        client
            .post(format!("{address}/api/v1/bookings"))
            .header("Idempotency-Key", "scale-out-one-key")
            .json(&body)
            .send()
    }))
    .await;
    let mut replayed = Vec::new();
    for response in replays {
        let response = response.expect("an answer");
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        replayed.push(body["reference"].as_str().unwrap().to_owned());
    }
    replayed.dedup();
    assert_eq!(replayed.len(), 1, "one booking for one key: {replayed:?}");

    let mut answered_references = replayed.clone();
    for (round, slot_id) in slot_ids[..ROUNDS].iter().enumerate() {
        let live = if round > KILL_ROUND { 2 } else { 3 };
        // A patient of the round's own: one address may hold only a few upcoming visits.
        let body = json!({"slot_id": slot_id, "patient": another_patient(round)});
        let racers = join_all((0..live * PER_COPY).map(|i| {
            let copy = i % live;
            let request = client
                .post(format!("{}/api/v1/bookings", copies[copy]))
                .json(&body)
                .send();
            async move { (copy, request.await) }
        }));
        let results = if round == KILL_ROUND {
            let kill = async {
                tokio::task::yield_now().await;
                third.kill();
            };
            tokio::join!(racers, kill).0
        } else {
            racers.await
        };
        let mut created = 0;
        for (copy, result) in results {
            match result {
                Ok(response) if response.status() == StatusCode::CREATED => {
                    created += 1;
                    let body: Value = response.json().await.unwrap();
                    answered_references.push(body["reference"].as_str().unwrap().to_owned());
                }
                Ok(response) => assert_eq!(
                    response.status(),
                    StatusCode::CONFLICT,
                    "round {round}, copy {copy}"
                ),
                Err(e) => assert!(
                    round == KILL_ROUND && copy == 2,
                    "round {round}: copy {copy} failed: {e}"
                ),
            }
        }
        if round == KILL_ROUND {
            // The killed copy may have won and died before answering.
            assert!(created <= 1, "round {round}: {created} winners");
        } else {
            assert_eq!(created, 1, "round {round}: one winner");
        }
    }

    // The database agrees: one active booking per slot, and every answered booking is there.
    let pool = clinic_booking::db::build_pool(&database.url, 2).expect("pool");
    let raced = slot_ids.clone();
    let pool_for_query = pool.clone();
    let stored: Vec<(i32, String)> = tokio::task::spawn_blocking(move || {
        use clinic_booking::db::schema::bookings;
        use diesel::prelude::*;
        let mut conn = pool_for_query.get().expect("connection");
        bookings::table
            .filter(bookings::status.ne("cancelled"))
            .select((bookings::slot_id, bookings::reference))
            .load(&mut conn)
            .expect("bookings")
    })
    .await
    .unwrap();
    for slot_id in &raced {
        let active = stored
            .iter()
            .filter(|(s, _)| i64::from(*s) == *slot_id)
            .count();
        assert_eq!(active, 1, "slot {slot_id} has {active} active bookings");
    }
    for reference in &answered_references {
        assert!(stored.iter().any(|(_, r)| r == reference), "{reference}");
    }

    // Mail: the survivors send everything, including what the dead copy had claimed once its
    // lease runs out.
    wait_until_due_mail_sent(&pool).await;
    let confirmations = confirmations_by_reference(&sink.messages());
    let mut duplicates = 0;
    for (_, reference) in &stored {
        let received = confirmations.get(reference).copied().unwrap_or(0);
        assert!(received >= 1, "no confirmation for {reference}");
        duplicates += received - 1;
    }
    assert!(
        confirmations
            .keys()
            .all(|r| stored.iter().any(|(_, s)| s == r)),
        "a confirmation for a booking that does not exist: {confirmations:?}"
    );
    assert!(
        duplicates <= KILLED_BATCH,
        "{duplicates} confirmations sent twice; only the killed copy's {KILLED_BATCH} in flight may be"
    );
    drop((first, second));
}
