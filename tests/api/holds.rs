//! Holds: a time a patient picked is kept for them while they fill in the form. Nobody else is
//! offered it or can book it; the hold's token books it; it ends by itself or when let go; and
//! holds racing for one time, whatever their visit types, never both win.

use chrono::{DateTime, Duration, FixedOffset};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{another_patient, assert_problem, patient, spawn_app, Backend, TestApp};

crate::both_backends!(
    a_hold_keeps_the_time_for_the_patient_who_took_it,
    a_hold_ends_by_itself_or_when_let_go,
    holds_of_any_length_racing_for_one_time_never_overlap,
    a_hold_sets_no_booking_rule_aside,
    a_client_keeps_a_few_times_and_replaces_its_own,
);

async fn take(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let response = app.post_json("/api/v1/holds", &body).await;
    let status = response.status();
    (status, response.json().await.expect("json"))
}

async fn take_ok(app: &TestApp, slot_id: i64) -> Value {
    let (status, hold) = take(app, json!({"slot_id": slot_id})).await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    hold
}

/// The hold `token` opens (`GET /api/v1/holds/current`).
async fn read_hold(app: &TestApp, token: &str) -> Value {
    app.send_ok(Method::GET, HOLD, token, None, StatusCode::OK)
        .await
}

async fn let_go(app: &TestApp, token: &str) -> reqwest::Response {
    app.send(Method::DELETE, HOLD, Some(token), None).await
}

const HOLD: &str = "/api/v1/holds/current";

async fn book_with(
    app: &TestApp,
    slot_id: i64,
    who: Value,
    hold: Option<&Value>,
) -> reqwest::Response {
    let mut body = json!({"slot_id": slot_id, "patient": who});
    if let Some(hold) = hold {
        body["hold_token"] = hold["token"].clone();
    }
    app.post_json("/api/v1/bookings", &body).await
}

/// Whether the slot is offered, read from the database (a list without `from` is never kept in
/// the availability cache, which a write behind the app's back would not clear).
async fn listed(app: &TestApp, slot_id: i64) -> bool {
    let to = (chrono::Utc::now() + Duration::days(3)).to_rfc3339();
    let list = app
        .get_json(&format!(
            "/api/v1/slots?limit=2000&to={}",
            crate::helpers::urlencode(&to)
        ))
        .await;
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .any(|s| s["id"] == slot_id)
}

/// Ends a hold as time would: its end moved into the past, behind the app's back.
async fn let_time_pass(app: &TestApp, hold: &Value) {
    let slot_id = hold["slot"]["id"].as_i64().expect("slot id") as i32;
    app.with_db(move |conn| {
        use clinic_booking::db::schema::{holds, slots};
        use diesel::prelude::*;
        let past = clinic_booking::db::now() - Duration::seconds(1);
        diesel::update(holds::table.filter(holds::slot_id.eq(slot_id)))
            .set(holds::expires_at.eq(past))
            .execute(conn)
            .expect("expire hold");
        diesel::update(slots::table.filter(slots::held_until.is_not_null()))
            .set(slots::held_until.eq(past))
            .execute(conn)
            .expect("expire held slots");
    })
    .await;
}

async fn a_hold_keeps_the_time_for_the_patient_who_took_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let slot_id = app.free_slot_ids_from(1).await[0];
    let hold = take_ok(&app, slot_id).await;
    let token = hold["token"].as_str().expect("token");
    assert!(token.starts_with("hold_") && token.len() == 37, "{hold}");
    assert_eq!(hold["status"], "active");
    assert_eq!(hold["slot"]["id"], slot_id);
    let left = hold["seconds_left"].as_i64().expect("seconds_left");
    assert!(
        (290..=300).contains(&left),
        "the default is 5 minutes: {left}"
    );
    let expires = DateTime::parse_from_rfc3339(hold["expires_at"].as_str().unwrap()).unwrap();
    assert!(expires > chrono::Utc::now() + Duration::minutes(4));

    // Nobody else is offered the time, can hold it, or can book it.
    assert!(!listed(&app, slot_id).await, "a held time is not offered");
    let (status, second) = take(&app, json!({"slot_id": slot_id})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{second}");
    let response = book_with(&app, slot_id, another_patient(1), None).await;
    let problem = assert_problem(response, StatusCode::CONFLICT).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("another patient is booking"),
        "{problem}"
    );

    // Its token books it, and only once.
    let response = book_with(&app, slot_id, patient(), Some(&hold)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let read = read_hold(&app, token).await;
    assert_eq!(read["status"], "booked");
    assert_eq!(read["seconds_left"], 0);
    assert!(
        read.get("token").is_none(),
        "the token is shown once: {read}"
    );
    let response = book_with(&app, slot_id, another_patient(2), Some(&hold)).await;
    assert_problem(response, StatusCode::CONFLICT).await;

    // A token for another time is refused; one that is not a token at all is a 422 too.
    let other = app.free_slot_ids_from(1).await[0];
    let elsewhere = take_ok(&app, other).await;
    let next = app.free_slot_ids_from(1).await[0];
    let response = book_with(&app, next, patient(), Some(&elsewhere)).await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(problem["errors"]["hold_token"].is_string(), "{problem}");
    let response = app
        .post_json(
            "/api/v1/bookings",
            &json!({"slot_id": next, "patient": patient(), "hold_token": "hold_x"}),
        )
        .await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
}

async fn a_hold_ends_by_itself_or_when_let_go(backend: Backend) {
    let app = spawn_app(backend).await;
    let slots = app.free_slot_ids_from(1).await;
    let (first, second) = (slots[0], slots[1]);

    // Expiry needs no worker: once its time has passed, the slot is open again.
    let hold = take_ok(&app, first).await;
    assert!(!listed(&app, first).await);
    let_time_pass(&app, &hold).await;
    assert!(listed(&app, first).await, "an expired hold keeps nothing");
    let token = hold["token"].as_str().unwrap();
    let read = read_hold(&app, token).await;
    assert_eq!(read["status"], "expired");
    // The expired hold's patient may still book the time while it is free: the booking goes
    // on without the hold.
    let response = book_with(&app, first, patient(), Some(&hold)).await;
    assert_eq!(response.status(), StatusCode::CREATED);

    // Let go: open again at once, and a second hold may take it.
    let hold = take_ok(&app, second).await;
    let token = hold["token"].as_str().unwrap().to_owned();
    let response = let_go(&app, &token).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(listed(&app, second).await);
    assert_eq!(read_hold(&app, &token).await["status"], "released");
    let again = take_ok(&app, second).await;
    // Letting go the first hold again changes nothing: the second keeps the time.
    let response = let_go(&app, &token).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(!listed(&app, second).await);
    let response = book_with(&app, second, another_patient(1), None).await;
    assert_problem(response, StatusCode::CONFLICT).await;
    let response = book_with(&app, second, another_patient(1), Some(&again)).await;
    assert_eq!(response.status(), StatusCode::CREATED);

    // An unknown token names no hold; no token, or something else, is a 401. The token never
    // goes in the URL.
    let unknown = format!("hold_{}", "0".repeat(32));
    let response = app.send(Method::GET, HOLD, Some(&unknown), None).await;
    assert_problem(response, StatusCode::NOT_FOUND).await;
    assert_problem(let_go(&app, &unknown).await, StatusCode::NOT_FOUND).await;
    assert_problem(app.get(HOLD).await, StatusCode::UNAUTHORIZED).await;
    let response = app.send(Method::DELETE, HOLD, Some("nope"), None).await;
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
    let path = format!("/api/v1/holds/{token}");
    assert_problem(app.get(&path).await, StatusCode::NOT_FOUND).await;
}

/// The demo's first provider offers the 60-minute evaluation (which holds 75 minutes with its
/// buffer) and the 30-minute follow-up. Holds for both, at starts a quarter hour apart over one
/// morning, race: the times the winners keep never overlap, and each winner books its time.
async fn holds_of_any_length_racing_for_one_time_never_overlap(backend: Backend) {
    let app = spawn_app(backend).await;
    let (evaluation, follow_up) = (1, 2);
    let from = (chrono::Utc::now() + Duration::days(2)).to_rfc3339();
    let fits = app
        .get_json(&format!(
            "/api/v1/slots?provider_id=1&visit_type_id={evaluation}&limit=1&from={}",
            crate::helpers::urlencode(&from)
        ))
        .await;
    let start = DateTime::parse_from_rfc3339(fits["items"][0]["start"].as_str().unwrap()).unwrap();
    // The provider's slots from there on, a quarter hour each.
    let morning = app
        .get_json(&format!(
            "/api/v1/slots?provider_id=1&from={}&limit=8",
            crate::helpers::urlencode(&start.to_rfc3339())
        ))
        .await;
    let ids: Vec<(DateTime<FixedOffset>, i64)> = morning["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                DateTime::parse_from_rfc3339(s["start"].as_str().unwrap()).unwrap(),
                s["id"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut requests = Vec::new();
    for round in 0..8 {
        for (i, &(_, slot_id)) in ids.iter().take(4).enumerate() {
            let visit_type = if (round + i) % 2 == 0 {
                evaluation
            } else {
                follow_up
            };
            requests.push(json!({"slot_id": slot_id, "visit_type_id": visit_type}));
        }
    }
    let answers = join_all(requests.into_iter().map(|body| take(&app, body))).await;
    let mut kept: Vec<(DateTime<FixedOffset>, DateTime<FixedOffset>, Value)> = Vec::new();
    for (status, body) in answers {
        match status {
            StatusCode::CREATED => {
                let start =
                    DateTime::parse_from_rfc3339(body["slot"]["start"].as_str().unwrap()).unwrap();
                let held = match body["visit_type"]["id"].as_i64() {
                    Some(1) => Duration::minutes(75),
                    _ => Duration::minutes(30),
                };
                kept.push((start, start + held, body));
            }
            StatusCode::CONFLICT => {}
            other => panic!("a hold answered {other}: {body}"),
        }
    }
    assert!(!kept.is_empty(), "someone wins");
    for (i, a) in kept.iter().enumerate() {
        for b in &kept[i + 1..] {
            assert!(
                a.1 <= b.0 || b.1 <= a.0,
                "overlapping holds: {} and {}",
                a.2,
                b.2
            );
        }
    }
    for (n, (_, _, hold)) in kept.iter().enumerate() {
        let body = json!({
            "slot_id": hold["slot"]["id"],
            "visit_type_id": hold["visit_type"]["id"],
            "patient": another_patient(n),
            "hold_token": hold["token"],
        });
        if hold["visit_type"]["id"].as_i64() == Some(follow_up) {
            // Follow-ups are for returning patients: the front desk books them.
            let staff = app.staff_token("front_desk").await;
            app.send_ok(
                Method::POST,
                "/api/v1/bookings",
                &staff,
                Some(&body),
                StatusCode::CREATED,
            )
            .await;
        } else {
            let response = app.post_json("/api/v1/bookings", &body).await;
            assert_eq!(response.status(), StatusCode::CREATED);
        }
    }
}

/// A hold keeps only what a patient could book: inside the minimum notice it is refused as a
/// booking would be; and the booking it leads to still meets every rule.
async fn a_hold_sets_no_booking_rule_aside(backend: Backend) {
    let app = spawn_app(backend).await;
    let soon = app.insert_slot(30).await;
    let (status, problem) = take(&app, json!({"slot_id": soon})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["rule"], "min_notice", "{problem}");
    assert!(!app.free_slot_ids_from(0).await.is_empty());

    // Ana may hold as many upcoming visits as the rules allow (3), and no more.
    let slots = app.free_slot_ids_from(2).await;
    for &slot_id in &slots[..3] {
        app.book_ok(slot_id).await;
    }
    let hold = take_ok(&app, slots[3]).await;
    let response = book_with(&app, slots[3], patient(), Some(&hold)).await;
    let problem = assert_problem(response, StatusCode::CONFLICT).await;
    assert_eq!(problem["rule"], "max_active", "{problem}");
    // The hold still keeps the time for her (she may cancel another visit and come back).
    let response = book_with(&app, slots[3], another_patient(1), None).await;
    assert_problem(response, StatusCode::CONFLICT).await;

    // A time named by its provider and start is the same hold.
    let slot = &app.free_slots_from(2).await[0];
    let (status, by_start) = take(
        &app,
        json!({"provider_id": slot["provider_id"], "start": slot["start"], "location_id": slot["location_id"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{by_start}");
    assert_eq!(by_start["slot"]["id"], slot["id"]);
    let (status, problem) =
        take(&app, json!({"slot_id": slot["id"], "start": slot["start"]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
}

/// A patient who picks another time replaces their hold in one step (the new time may overlap
/// the old); one client keeps at most four times at once, so a few addresses cannot keep the
/// clinic's times out of sight.
async fn a_client_keeps_a_few_times_and_replaces_its_own(backend: Backend) {
    let app = spawn_app(backend).await;
    let evaluation = 1;
    let from = (chrono::Utc::now() + Duration::days(2)).to_rfc3339();
    let fits = app
        .get_json(&format!(
            "/api/v1/slots?provider_id=1&visit_type_id={evaluation}&limit=2&from={}",
            crate::helpers::urlencode(&from)
        ))
        .await;
    let (first, second) = (
        fits["items"][0]["id"].clone(),
        fits["items"][1]["id"].clone(),
    );
    let (status, old) = take(&app, json!({"slot_id": first, "visit_type_id": evaluation})).await;
    assert_eq!(status, StatusCode::CREATED, "{old}");
    // The next start a quarter hour later overlaps the held run: only a replacement gets it.
    let (status, _) = take(
        &app,
        json!({"slot_id": second, "visit_type_id": evaluation}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, new) = take(
        &app,
        json!({"slot_id": second, "visit_type_id": evaluation, "replaces": old["token"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{new}");
    let old_token = old["token"].as_str().unwrap();
    assert_eq!(read_hold(&app, old_token).await["status"], "released");
    // A replacement that is refused (its time is booked) lets nothing go: one transaction.
    let booked = app.free_slot_ids_from(4).await[0];
    app.book_ok(booked).await;
    let (status, _) = take(&app, json!({"slot_id": booked, "replaces": new["token"]})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let new_token = new["token"].as_str().unwrap();
    assert_eq!(read_hold(&app, new_token).await["status"], "active");

    // Four live holds per client: the fifth is refused until one is let go.
    let slots = app.free_slot_ids_from(5).await;
    for &slot_id in &slots[..3] {
        take_ok(&app, slot_id).await;
    }
    let (status, problem) = take(&app, json!({"slot_id": slots[3]})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("holding 4 times"),
        "{problem}"
    );
    let response = let_go(&app, new_token).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    take_ok(&app, slots[3]).await;
}
