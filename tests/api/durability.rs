//! A booking survives a restart of the server; a restart neither re-seeds nor loses slots.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_on, Backend};

crate::both_backends!(bookings_survive_a_restart);

async fn bookings_survive_a_restart(backend: Backend) {
    let app = spawn_app(backend).await;
    let providers_before = app.get_json("/api/v1/providers").await;
    let slot_id = app.free_slot_ids().await[0];
    let slot_count = app.free_slots().await.len();
    let booking = app.book_ok(slot_id).await;
    let database = app.stop().await;

    let app = spawn_app_on(database).await;
    let (reference, token) = (
        booking["reference"].as_str().unwrap(),
        booking["manage_token"].as_str().unwrap(),
    );
    let response = app.get_booking(reference, token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let read: Value = response.json().await.unwrap();
    assert_eq!(read["status"], "booked");
    assert_eq!(read["slot"]["id"], slot_id);
    assert_eq!(
        app.get_json("/api/v1/providers").await,
        providers_before,
        "not seeded twice"
    );
    assert_eq!(app.free_slots().await.len(), slot_count - 1);
    assert_eq!(app.book(slot_id).await.status(), StatusCode::CONFLICT);
}
