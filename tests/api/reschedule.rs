//! Rescheduling moves a booking in one transaction, or changes nothing.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app, Backend};

crate::both_backends!(
    reschedule_moves_the_booking_and_frees_the_old_slot,
    reschedule_onto_a_taken_slot_changes_nothing
);

async fn reschedule_moves_the_booking_and_frees_the_old_slot(backend: Backend) {
    let app = spawn_app(backend).await;
    // Days ahead: a patient may move or cancel a visit online until 24 hours before it.
    let slots = app.free_slot_ids_from(2).await;
    let booking = app.book_ok(slots[0]).await;
    let (reference, token) = (
        booking["reference"].as_str().unwrap(),
        booking["manage_token"].as_str().unwrap(),
    );
    let response = app.reschedule(reference, token, slots[1]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let moved: Value = response.json().await.unwrap();
    assert_eq!(moved["slot"]["id"], slots[1]);
    assert_eq!(moved["reference"], reference, "the reference stays");
    assert_eq!(app.slot_status(slots[0]).await, "free");
    assert_eq!(app.slot_status(slots[1]).await, "busy");
    // The old slot is bookable again.
    app.book_ok(slots[0]).await;

    // A cancelled booking cannot be moved.
    app.cancel(reference, token).await;
    let problem = assert_problem(
        app.reschedule(reference, token, slots[2]).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem["current_status"], "cancelled");
    assert_eq!(app.slot_status(slots[2]).await, "free");
}

async fn reschedule_onto_a_taken_slot_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let slots = app.free_slot_ids_from(2).await;
    let mine = app.book_ok(slots[0]).await;
    let theirs = app.book_ok(slots[1]).await;
    let (reference, token) = (
        mine["reference"].as_str().unwrap(),
        mine["manage_token"].as_str().unwrap(),
    );

    assert_problem(
        app.reschedule(reference, token, slots[1]).await,
        StatusCode::CONFLICT,
    )
    .await;
    let after: Value = app
        .get_booking(reference, token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["slot"]["id"], slots[0], "my booking did not move");
    assert_eq!(after["status"], "booked");
    assert_eq!(
        app.slot_status(slots[0]).await,
        "busy",
        "my slot is still mine"
    );
    assert_eq!(app.slot_status(slots[1]).await, "busy");
    let theirs_after: Value = app.read_booking(&theirs).await;
    assert_eq!(
        theirs_after["slot"]["id"], slots[1],
        "their booking is untouched"
    );

    assert_problem(
        app.reschedule(reference, token, 999_999).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let past = app.insert_slot(-120).await;
    assert_problem(
        app.reschedule(reference, token, past).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(app.slot_status(slots[0]).await, "busy");
}
