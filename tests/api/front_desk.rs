//! The front desk's day: booking for patients, the day sheet, check-in and the other status
//! changes, and cancelling or moving any booking.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, patient, spawn_app, staff_override, Backend, TestApp};

crate::both_backends!(
    staff_book_for_patients_and_read_the_day_sheet,
    status_changes_follow_the_transitions_table,
    staff_cancel_and_reschedule_any_booking,
);

/// The day the day-sheet tests fill: two months ahead, so its slots are still bookable and the
/// demo clinic's slots (two weeks from today) are all earlier. Phoenix keeps -07:00 all year.
fn sheet_day() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive() + chrono::Duration::days(60)
}

/// A new provider with free slots at the given local (Phoenix) times on `sheet_day()`.
async fn provider_with_slots(app: &TestApp, admin: &str, times: &[&str]) -> (i64, Vec<i64>) {
    let provider = app
        .send_ok(
            Method::POST,
            "/api/v1/providers",
            admin,
            Some(&json!({"name": "Dr. Day Sheet", "specialty": "pain_medicine"})),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let mut slots = Vec::new();
    for time in times {
        let start = format!("{}T{time}:00-07:00", sheet_day());
        let end =
            chrono::DateTime::parse_from_rfc3339(&start).unwrap() + chrono::Duration::minutes(30);
        let slot = app
            .send_ok(
                Method::POST,
                &format!("/api/v1/providers/{provider}/slots"),
                admin,
                Some(&json!({"start": start, "end": end.to_rfc3339()})),
                StatusCode::CREATED,
            )
            .await;
        slots.push(slot["id"].as_i64().unwrap());
    }
    (provider, slots)
}

async fn staff_book_for_patients_and_read_the_day_sheet(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let desk = app.staff_token("front_desk").await;
    let provider_role = app.staff_token("provider").await;
    let (provider, slots) = provider_with_slots(&app, &admin, &["11:00", "09:00", "10:00"]).await;

    // A patient books 09:00 online; the desk books 10:00 and 11:00 for callers.
    let online = app.book_ok(slots[1]).await;
    assert_eq!(online["source"], "website");
    let ben = json!({"name": "Ben Ortiz", "email": "ben@example.com", "phone": "602 555 0199"});
    let by_desk = app
        .send_ok(
            Method::POST,
            "/api/v1/bookings",
            &desk,
            Some(&json!({"slot_id": slots[0], "patient": ben, "source": "stress-back-pain"})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(by_desk["source"], "front_desk", "staff bookings say so");
    assert!(
        by_desk["manage_token"].is_string(),
        "the patient still gets a manage token"
    );
    let named = app
        .send_ok(
            Method::POST,
            "/api/v1/bookings",
            &desk,
            Some(&json!({"slot_id": slots[2], "patient": patient(), "source": "front_desk"})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(named["source"], "front_desk");

    let day = sheet_day();
    let sheet = app
        .send_ok(
            Method::GET,
            &format!("/api/v1/bookings?date={day}&provider_id={provider}"),
            &provider_role,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(sheet["date"], day.to_string());
    assert_eq!(sheet["timezone"], "America/Phoenix");
    let items = sheet["items"].as_array().unwrap();
    let local: Vec<&str> = items
        .iter()
        .map(|b| b["slot"]["local_start"].as_str().unwrap())
        .collect();
    assert_eq!(
        local,
        [
            format!("{day}T09:00:00-07:00"),
            format!("{day}T10:00:00-07:00"),
            format!("{day}T11:00:00-07:00"),
        ],
        "ordered by start, in local time"
    );
    assert_eq!(items[0]["patient"]["email"], "ana.diaz@example.com");
    assert_eq!(items[2]["patient"]["name"], "Ben Ortiz");
    assert_eq!(items[2]["patient"]["phone"], "602 555 0199");
    assert_eq!(items[0]["source"], "website");
    assert!(items.iter().all(|b| b.get("manage_token").is_none()));

    // Without the provider filter the day holds the same three (the demo slots are earlier).
    let all = app
        .send_ok(
            Method::GET,
            &format!("/api/v1/bookings?date={day}"),
            &desk,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    let other_provider = app
        .send_ok(
            Method::GET,
            &format!("/api/v1/bookings?date={day}&provider_id=1"),
            &desk,
            None,
            StatusCode::OK,
        )
        .await;
    assert!(other_provider["items"].as_array().unwrap().is_empty());
    // Weeks ahead the patient cannot be checked in yet; the 409 says what can be done now.
    let online_ref = online["reference"].as_str().unwrap();
    let early = app
        .send(
            Method::PATCH,
            &format!("/api/v1/bookings/{online_ref}"),
            Some(&desk),
            Some(&json!({"status": "arrived"})),
        )
        .await;
    let early = assert_problem(early, StatusCode::CONFLICT).await;
    assert_eq!(early["allowed_next_states"], json!(["cancelled"]));
    assert_eq!(early["current_status"], "booked");
    // On the day, half an hour before the visit, the desk checks Ana in.
    app.move_visit(online_ref, 30).await;
    let checked_in = app
        .send_ok(
            Method::PATCH,
            &format!("/api/v1/bookings/{online_ref}"),
            &desk,
            Some(&json!({"status": "arrived"})),
            StatusCode::OK,
        )
        .await;
    let visit_day = &checked_in["slot"]["local_start"].as_str().unwrap()[..10];
    let arrived = app
        .send_ok(
            Method::GET,
            &format!("/api/v1/bookings?date={visit_day}&status=arrived"),
            &desk,
            None,
            StatusCode::OK,
        )
        .await;
    let arrived = arrived["items"].as_array().unwrap();
    assert_eq!(arrived.len(), 1);
    assert_eq!(arrived[0]["reference"], online["reference"]);
    // Today's sheet is the default.
    app.send_ok(Method::GET, "/api/v1/bookings", &desk, None, StatusCode::OK)
        .await;
    for bad in ["date=05/04/2027", "status=checked_in"] {
        let response = app
            .send(
                Method::GET,
                &format!("/api/v1/bookings?{bad}"),
                Some(&desk),
                None,
            )
            .await;
        assert_problem(response, StatusCode::BAD_REQUEST).await;
    }
}

const ALL: [&str; 5] = ["booked", "arrived", "completed", "cancelled", "no_show"];

/// The statuses each status may move to (the table).
fn allowed(from: &str) -> &'static [&'static str] {
    match from {
        "booked" => &["arrived", "cancelled", "no_show"],
        "arrived" => &["completed"],
        _ => &[],
    }
}

/// The desk's request to move a booking to `status`; a cancellation of a visit that has started
/// says why it sets the cut-off aside.
fn status_change(status: &str) -> Value {
    if status == "cancelled" {
        json!({"status": status, "override": staff_override("the patient phoned to cancel")})
    } else {
        json!({ "status": status })
    }
}

/// A new booking moved through `path` to reach a status; returns its reference and slot.
async fn booking_in(app: &TestApp, desk: &str, status: &str, n: i64) -> (String, i64) {
    let slot = app.insert_slot(60 * 24 * 20 + n * 45).await;
    let reference = app.book_ok(slot).await["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    // The visit has just started: the clock allows every step the life cycle does (the desk
    // cancels past the booking rules' cut-off with a reason).
    app.move_visit(&reference, -5).await;
    let path: &[&str] = match status {
        "booked" => &[],
        "arrived" => &["arrived"],
        "completed" => &["arrived", "completed"],
        other => &[if other == "cancelled" {
            "cancelled"
        } else {
            "no_show"
        }],
    };
    for step in path {
        app.send_ok(
            Method::PATCH,
            &format!("/api/v1/bookings/{reference}"),
            desk,
            Some(&status_change(step)),
            StatusCode::OK,
        )
        .await;
    }
    (reference, slot)
}

async fn status_changes_follow_the_transitions_table(backend: Backend) {
    let app = spawn_app(backend).await;
    let desk = app.staff_token("front_desk").await;
    let mut n = 0;
    for from in ALL {
        for to in ALL {
            n += 1;
            let (reference, slot) = booking_in(&app, &desk, from, n).await;
            let response = app
                .send(
                    Method::PATCH,
                    &format!("/api/v1/bookings/{reference}"),
                    Some(&desk),
                    Some(&status_change(to)),
                )
                .await;
            if allowed(from).contains(&to) {
                assert_eq!(response.status(), StatusCode::OK, "{from} → {to}");
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["status"], to);
                let expected_slot = if to == "cancelled" { "free" } else { "busy" };
                assert_eq!(app.slot_status(slot).await, expected_slot, "{from} → {to}");
            } else {
                let problem = assert_problem(response, StatusCode::CONFLICT).await;
                assert_eq!(problem["current_status"], from, "{from} → {to}");
                assert_eq!(
                    problem["allowed_next_states"],
                    json!(allowed(from)),
                    "{from} → {to}"
                );
            }
        }
    }
    let (reference, _) = booking_in(&app, &desk, "booked", 99).await;
    let response = app
        .send(
            Method::PATCH,
            &format!("/api/v1/bookings/{reference}"),
            Some(&desk),
            Some(&json!({"status": "checked_in"})),
        )
        .await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(problem["errors"]["status"].is_string());
    let response = app
        .send(
            Method::PATCH,
            "/api/v1/bookings/BK-0000000000",
            Some(&desk),
            Some(&json!({"status": "arrived"})),
        )
        .await;
    assert_problem(response, StatusCode::NOT_FOUND).await;
}

async fn staff_cancel_and_reschedule_any_booking(backend: Backend) {
    let app = spawn_app(backend).await;
    let desk = app.staff_token("front_desk").await;
    let admin = app.staff_token("admin").await;
    let provider_role = app.staff_token("provider").await;
    // Days ahead: cancelling and moving them is within the booking rules' cut-off.
    let slots = app.free_slot_ids_from(2).await;
    let first = app.book_ok(slots[0]).await;
    let second = app.book_ok(slots[1]).await;
    let (ref1, ref2) = (
        first["reference"].as_str().unwrap(),
        second["reference"].as_str().unwrap(),
    );

    // Any staff member reads any booking, with the patient's details.
    for token in [&desk, &admin, &provider_role] {
        let response = app.get_booking(ref1, token).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["patient"]["email"], "ana.diaz@example.com");
    }
    // Any staff member cancels and moves any booking, providers included
    // (docs/ARCHITECTURE.md).
    let response = app.cancel(ref1, &provider_role).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.slot_status(slots[0]).await, "free");
    let rebooked = app.book_ok(slots[0]).await;
    let ref1 = rebooked["reference"].as_str().unwrap();
    let response = app.reschedule(ref1, &provider_role, slots[4]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.slot_status(slots[0]).await, "free");
    assert_eq!(app.slot_status(slots[4]).await, "busy");

    let response = app.cancel(ref1, &desk).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.slot_status(slots[4]).await, "free");

    let response = app.reschedule(ref2, &admin, slots[2]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let moved: Value = response.json().await.unwrap();
    assert_eq!(moved["slot"]["id"], slots[2]);
    assert_eq!(app.slot_status(slots[1]).await, "free");

    // A visit that has started: the patient can no longer cancel online; the desk still can,
    // setting the cut-off aside with a reason.
    let started = app.book_ok(slots[3]).await;
    let (started_ref, started_token) = (
        started["reference"].as_str().unwrap(),
        started["manage_token"].as_str().unwrap(),
    );
    let slot_id = slots[3] as i32;
    app.with_db(move |conn| {
        use clinic_booking::db::schema::slots;
        use diesel::prelude::*;
        let start = clinic_booking::db::now() - chrono::Duration::minutes(5);
        diesel::update(slots::table.find(slot_id))
            .set((
                slots::starts_at.eq(start),
                slots::ends_at.eq(start + chrono::Duration::minutes(30)),
            ))
            .execute(conn)
            .unwrap();
    })
    .await;
    assert_problem(
        app.cancel(started_ref, started_token).await,
        StatusCode::CONFLICT,
    )
    .await;
    let refused = assert_problem(app.cancel(started_ref, &desk).await, StatusCode::CONFLICT).await;
    assert_eq!(refused["rule"], "cancel_cutoff");
    assert_eq!(
        app.cancel_overriding(started_ref, &desk, "cancelled at the desk")
            .await
            .status(),
        StatusCode::OK
    );

    // The patient's own manage token still works for their booking, and only theirs.
    let token2 = second["manage_token"].as_str().unwrap();
    assert_eq!(app.get_booking(ref2, token2).await.status(), StatusCode::OK);
    assert_problem(app.get_booking(ref1, token2).await, StatusCode::NOT_FOUND).await;
}
