//! The patient's booking flow: book, read, cancel; idempotent replay; token scoping.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{another_patient, assert_problem, patient, spawn_app, Backend};

crate::both_backends!(
    a_patient_books_reads_and_cancels,
    idempotency_key_replays_the_first_answer,
    a_manage_token_opens_only_its_own_booking,
    past_and_unknown_slots_cannot_be_booked,
    saved_idempotent_answers_are_forgotten_after_a_day,
    a_cancellation_may_come_with_a_body_or_none,
);

async fn a_patient_books_reads_and_cancels(backend: Backend) {
    let app = spawn_app(backend).await;
    // Days ahead: the patient may cancel online until 24 hours before the visit.
    let slot_id = app.free_slot_ids_from(2).await[0];

    let booking = app.book_ok(slot_id).await;
    let reference = booking["reference"].as_str().unwrap();
    let token = booking["manage_token"].as_str().unwrap();
    assert!(reference.starts_with("BK-") && reference.len() == 13);
    assert_eq!(booking["status"], "booked");
    assert_eq!(booking["slot"]["id"], slot_id);
    assert_eq!(booking["slot"]["status"], "busy");
    assert_eq!(booking["patient"]["email"], "ana.diaz@example.com");
    assert_eq!(booking["source"], "website");
    assert!(booking["provider"]["name"].is_string());
    assert!(
        !app.free_slot_ids_from(2).await.contains(&slot_id),
        "a booked slot is not offered"
    );

    let response = app.get_booking(reference, token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let read: Value = response.json().await.unwrap();
    assert_eq!(read["reference"], reference);
    assert!(
        read.get("manage_token").is_none(),
        "the token is only handed out once"
    );
    // References are typed case-insensitively over the phone.
    let response = app.get_booking(&reference.to_lowercase(), token).await;
    assert_eq!(response.status(), StatusCode::OK);

    // A second patient cannot take the slot.
    assert_problem(app.book(slot_id).await, StatusCode::CONFLICT).await;

    let response = app.cancel(reference, token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cancelled: Value = response.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert!(
        app.free_slot_ids_from(2).await.contains(&slot_id),
        "cancel frees the slot"
    );

    let again = assert_problem(app.cancel(reference, token).await, StatusCode::CONFLICT).await;
    assert_eq!(again["current_status"], "cancelled");
    assert_eq!(again["allowed_next_states"], json!([]));

    // The next patient gets the freed slot.
    app.book_ok(slot_id).await;
    assert_eq!(app.bookings_for_slot(slot_id).await, 2);
}

async fn idempotency_key_replays_the_first_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let slots = app.free_slot_ids().await;
    let body = json!({"slot_id": slots[0], "patient": patient()});
    let send = |body: Value, key: &'static str| {
        let request = app
            .client
            .post(app.url("/api/v1/bookings"))
            .header("Idempotency-Key", key)
            .json(&body);
        async move { request.send().await.unwrap() }
    };

    let first = send(body.clone(), "retry-me-1").await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let second = send(body.clone(), "retry-me-1").await;
    assert_eq!(second.status(), StatusCode::CREATED);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first, second, "same key, same body: the same response");
    assert_eq!(
        app.bookings_for_slot(slots[0]).await,
        1,
        "and no second booking"
    );

    let other = json!({"slot_id": slots[1], "patient": patient()});
    let mismatch = send(other.clone(), "retry-me-1").await;
    assert_problem(mismatch, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(app.bookings_for_slot(slots[1]).await, 0);

    // A failed attempt is not remembered: the key can be used once the request can succeed.
    let taken = json!({"slot_id": slots[0], "patient": patient(), "reason": "again"});
    assert_problem(send(taken, "retry-me-2").await, StatusCode::CONFLICT).await;
    assert_eq!(
        send(other, "retry-me-3").await.status(),
        StatusCode::CREATED
    );

    let bad_key = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("Idempotency-Key", "")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(bad_key, StatusCode::BAD_REQUEST).await;
}

async fn a_manage_token_opens_only_its_own_booking(backend: Backend) {
    let app = spawn_app(backend).await;
    let slots = app.free_slot_ids().await;
    let a = app.book_ok(slots[0]).await;
    let b = app.book_ok(slots[1]).await;
    let (ref_a, token_a) = (
        a["reference"].as_str().unwrap(),
        a["manage_token"].as_str().unwrap(),
    );
    let ref_b = b["reference"].as_str().unwrap();

    assert_problem(app.get_booking(ref_b, token_a).await, StatusCode::NOT_FOUND).await;
    assert_problem(app.cancel(ref_b, token_a).await, StatusCode::NOT_FOUND).await;
    assert_problem(
        app.reschedule(ref_b, token_a, slots[2]).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let b_now: Value = app
        .get_booking(ref_b, b["manage_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(b_now["status"], "booked");
    assert_eq!(b_now["slot"]["id"], slots[1]);

    // No token, a malformed one, or one with a flipped signature: 401.
    let no_token = app
        .client
        .get(app.url(&format!("/api/v1/bookings/{ref_a}")))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(no_token, StatusCode::UNAUTHORIZED).await;
    assert!(problem["detail"].as_str().unwrap().contains("Bearer"));
    assert_problem(
        app.get_booking(ref_a, "not-a-jwt").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let mut forged = token_a.to_owned();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_problem(
        app.get_booking(ref_a, &forged).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

async fn past_and_unknown_slots_cannot_be_booked(backend: Backend) {
    let app = spawn_app(backend).await;
    let past = app.insert_slot(-60).await;
    let problem = assert_problem(app.book(past).await, StatusCode::CONFLICT).await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("already started"));
    assert_eq!(app.slot_status(past).await, "free");
    assert_problem(app.book(987_654).await, StatusCode::NOT_FOUND).await;
    assert_problem(app.book(i64::MAX).await, StatusCode::NOT_FOUND).await;
    let unknown = app.get_booking("BK-0000000000", "x").await;
    assert_problem(unknown, StatusCode::UNAUTHORIZED).await;
}

async fn saved_idempotent_answers_are_forgotten_after_a_day(backend: Backend) {
    use clinic_booking::db;
    let app = spawn_app(backend).await;
    let slot = app.free_slot_ids().await[0];
    let response = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("Idempotency-Key", "kept-for-a-day")
        .json(&json!({"slot_id": slot, "patient": patient()}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    // Backdate the saved answer by two days; the app purges at start and hourly.
    app.with_db(|conn| {
        use clinic_booking::db::schema::idempotency_keys;
        use diesel::prelude::*;
        diesel::update(idempotency_keys::table)
            .set(idempotency_keys::created_at.eq(db::now() - chrono::Duration::days(2)))
            .execute(conn)
            .expect("backdate")
    })
    .await;
    let database = app.stop().await;
    let app = crate::helpers::spawn_app_on(database).await;
    for _ in 0..200 {
        if app
            .with_db(|conn| {
                use clinic_booking::db::schema::idempotency_keys;
                use diesel::prelude::*;
                idempotency_keys::table
                    .count()
                    .get_result::<i64>(conn)
                    .expect("count")
            })
            .await
            == 0
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the two-day-old idempotent answer was not forgotten");
}

/// A cancellation's body is optional (only staff have something to say in it, an `override`):
/// none, `null` and `{}` all cancel; a malformed one is a 400, not quietly none.
async fn a_cancellation_may_come_with_a_body_or_none(backend: Backend) {
    let app = spawn_app(backend).await;
    let slots = app.free_slot_ids_from(2).await;
    for (n, body) in [
        None,
        Some("null"),
        Some("{}"),
        Some(r#"{"override": null}"#),
    ]
    .into_iter()
    .enumerate()
    {
        let booking = app.book_for(slots[n], &another_patient(n)).await;
        let reference = booking["reference"].as_str().unwrap();
        let mut request = app
            .client
            .post(app.url(&format!("/api/v1/bookings/{reference}/cancel")))
            .bearer_auth(booking["manage_token"].as_str().unwrap());
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{body:?}");
    }
    let booking = app.book_for(slots[4], &another_patient(4)).await;
    let reference = booking["reference"].as_str().unwrap();
    let response = app
        .client
        .post(app.url(&format!("/api/v1/bookings/{reference}/cancel")))
        .bearer_auth(booking["manage_token"].as_str().unwrap())
        .header("content-type", "application/json")
        .body(r#"{"override": "#)
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(app.read_booking(&booking).await["status"], "booked");
}
