//! Many patients, one slot: exactly one wins, the rest get a clean 409, nobody gets a 500.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{another_patient, patient, spawn_app, Backend};

const RACERS: usize = 60;

crate::both_backends!(
    concurrent_requests_for_one_slot_have_one_winner,
    concurrent_bookings_of_different_slots_all_succeed
);

async fn concurrent_requests_for_one_slot_have_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let slot_id = app.free_slot_ids().await[0];
    let body = json!({"slot_id": slot_id, "patient": patient()});
    let requests = (0..RACERS).map(|_| {
        let request = app.client.post(app.url("/api/v1/bookings")).json(&body);
        async move { request.send().await.expect("response").status() }
    });
    let statuses = join_all(requests).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!(created, 1, "exactly one winner: {statuses:?}");
    assert_eq!(
        conflicts,
        RACERS - 1,
        "everyone else gets 409: {statuses:?}"
    );
    assert_eq!(app.bookings_for_slot(slot_id).await, 1);
    assert_eq!(app.slot_status(slot_id).await, "busy");
}

async fn concurrent_bookings_of_different_slots_all_succeed(backend: Backend) {
    let app = spawn_app(backend).await;
    let slot_ids: Vec<i64> = app.free_slot_ids().await.into_iter().take(30).collect();
    let requests = slot_ids.iter().enumerate().map(|(n, id)| {
        let request = app
            .client
            .post(app.url("/api/v1/bookings"))
            .json(&json!({"slot_id": id, "patient": another_patient(n)}));
        async move { request.send().await.expect("response").status() }
    });
    let statuses = join_all(requests).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::CREATED),
        "no writer fails with 'database is locked': {statuses:?}"
    );
}
