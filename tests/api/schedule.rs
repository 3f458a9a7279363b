//! Building providers' schedules: local times across New York's DST changes, idempotent re-runs,
//! single slots, blocking, and deactivated providers.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, Backend, TestApp};

crate::both_backends!(
    schedules_keep_local_times_across_new_york_dst,
    rerunning_a_schedule_creates_nothing_new,
    concurrent_schedules_for_one_provider_never_overlap,
    concurrent_single_slots_for_one_provider_never_overlap,
    schedule_requests_are_validated,
    single_slots_never_overlap,
    free_slots_can_be_blocked_and_unblocked,
    deactivated_providers_are_not_offered,
);

async fn new_provider(app: &TestApp, admin: &str, name: &str) -> i64 {
    let body = app
        .send_ok(
            Method::POST,
            "/api/v1/providers",
            admin,
            Some(&json!({"name": name, "title": "DPT", "specialty": "physical_therapy"})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(body["active"], true);
    body["id"].as_i64().unwrap()
}

async fn schedule(app: &TestApp, token: &str, provider: i64, body: Value) -> (i64, i64) {
    let result = app
        .send_ok(
            Method::POST,
            &format!("/api/v1/providers/{provider}/schedule"),
            token,
            Some(&body),
            StatusCode::OK,
        )
        .await;
    (
        result["created"].as_i64().unwrap(),
        result["skipped"].as_i64().unwrap(),
    )
}

/// `(start in UTC, local start)` of a provider's free slots in `[from, to)`.
/// A provider's free slots in `[from, to)` as staff list them: every one, however far ahead (the
/// clock changes tested may lie beyond the booking horizon that limits what patients see).
async fn slots_of(
    app: &TestApp,
    staff_token: &str,
    provider: i64,
    from: &str,
    to: &str,
) -> Vec<(String, String)> {
    let body = app
        .send_ok(
            reqwest::Method::GET,
            &format!("/api/v1/slots?provider_id={provider}&from={from}&to={to}"),
            staff_token,
            None,
            reqwest::StatusCode::OK,
        )
        .await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["start"].as_str().unwrap().to_owned(),
                s["local_start"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pattern(from: &str, to: &str, start: &str, end: &str, minutes: i64) -> Value {
    json!({
        "from_date": from, "to_date": to,
        "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start_time": start, "end_time": end, "slot_minutes": minutes,
    })
}

/// The next `n`th Sunday of `month` (New York's DST rule: spring forward on the second Sunday of
/// March, fall back on the first Sunday of November) late enough that the day before it is still
/// ahead, so every slot the test makes around it is in the future and listed as free.
fn next_transition(month: u32, n: u8) -> chrono::NaiveDate {
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    (today.year()..)
        .filter_map(|year| {
            chrono::NaiveDate::from_weekday_of_month_opt(year, month, chrono::Weekday::Sun, n)
        })
        .find(|day| *day - chrono::Duration::days(1) > today)
        .expect("a future transition")
}

/// New York's UTC offset at noon of `day`, as `-05:00` or `-04:00`.
fn new_york_offset(day: chrono::NaiveDate) -> String {
    use chrono::TimeZone;
    chrono_tz::America::New_York
        .from_local_datetime(&day.and_hms_opt(12, 0, 0).unwrap())
        .unwrap()
        .format("%:z")
        .to_string()
}

async fn schedules_keep_local_times_across_new_york_dst(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.clinic.timezone = chrono_tz::America::New_York;
    })
    .await;
    let admin = app.staff_token("admin").await;
    let desk = app.staff_token("front_desk").await;
    let provider = new_provider(&app, &admin, "Dr. Eastern").await;
    let day = chrono::Duration::days(1);

    // Spring forward (second Sunday of March): 09:00 stays 09:00, the offset changes.
    let spring = next_transition(3, 2);
    assert_eq!(
        (new_york_offset(spring - day), new_york_offset(spring)),
        ("-05:00".to_owned(), "-04:00".to_owned()),
        "New York springs forward on {spring}"
    );
    let (before, after) = (spring - day, spring + day);
    let made = schedule(
        &app,
        &desk,
        provider,
        pattern(
            &before.to_string(),
            &after.to_string(),
            "09:00",
            "09:30",
            30,
        ),
    )
    .await;
    assert_eq!(made, (3, 0));
    assert_eq!(
        slots_of(
            &app,
            &desk,
            provider,
            &before.to_string(),
            &(after + day).to_string()
        )
        .await,
        [
            (
                format!("{before}T14:00:00Z"),
                format!("{before}T09:00:00-05:00")
            ),
            (
                format!("{spring}T13:00:00Z"),
                format!("{spring}T09:00:00-04:00")
            ),
            (
                format!("{after}T13:00:00Z"),
                format!("{after}T09:00:00-04:00")
            ),
        ]
    );
    // 02:00 does not exist that night: skipped, the rest kept.
    let provider_b = new_provider(&app, &admin, "Dr. Night").await;
    let made = schedule(
        &app,
        &desk,
        provider_b,
        pattern(
            &spring.to_string(),
            &spring.to_string(),
            "01:00",
            "04:00",
            60,
        ),
    )
    .await;
    assert_eq!(made, (2, 1));
    assert_eq!(
        slots_of(
            &app,
            &desk,
            provider_b,
            &spring.to_string(),
            &after.to_string()
        )
        .await,
        [
            (
                format!("{spring}T06:00:00Z"),
                format!("{spring}T01:00:00-05:00")
            ),
            (
                format!("{spring}T07:00:00Z"),
                format!("{spring}T03:00:00-04:00")
            ),
        ]
    );

    // Fall back (first Sunday of November): 01:00 happens twice and is taken once, the earlier.
    let fall = next_transition(11, 1);
    assert_eq!(
        (new_york_offset(fall - day), new_york_offset(fall)),
        ("-04:00".to_owned(), "-05:00".to_owned()),
        "New York falls back on {fall}"
    );
    let (before, after) = (fall - day, fall + day);
    let made = schedule(
        &app,
        &desk,
        provider_b,
        pattern(&fall.to_string(), &fall.to_string(), "00:00", "03:00", 60),
    )
    .await;
    assert_eq!(made, (3, 0));
    assert_eq!(
        slots_of(
            &app,
            &desk,
            provider_b,
            &fall.to_string(),
            &after.to_string()
        )
        .await,
        [
            (
                format!("{fall}T04:00:00Z"),
                format!("{fall}T00:00:00-04:00")
            ),
            (
                format!("{fall}T05:00:00Z"),
                format!("{fall}T01:00:00-04:00")
            ),
            (
                format!("{fall}T07:00:00Z"),
                format!("{fall}T02:00:00-05:00")
            ),
        ]
    );
    let made = schedule(
        &app,
        &desk,
        provider,
        pattern(
            &before.to_string(),
            &after.to_string(),
            "09:00",
            "09:30",
            30,
        ),
    )
    .await;
    assert_eq!(made, (3, 0));
    assert_eq!(
        slots_of(
            &app,
            &desk,
            provider,
            &before.to_string(),
            &(after + day).to_string()
        )
        .await,
        [
            (
                format!("{before}T13:00:00Z"),
                format!("{before}T09:00:00-04:00")
            ),
            (
                format!("{fall}T14:00:00Z"),
                format!("{fall}T09:00:00-05:00")
            ),
            (
                format!("{after}T14:00:00Z"),
                format!("{after}T09:00:00-05:00")
            ),
        ]
    );
}

/// `[start, end)` of every slot of a provider, straight from the database.
async fn all_slots(
    app: &TestApp,
    provider: i64,
) -> Vec<(chrono::NaiveDateTime, chrono::NaiveDateTime)> {
    use clinic_booking::db::schema::slots;
    use diesel::prelude::*;
    app.with_db(move |conn| {
        slots::table
            .filter(slots::provider_id.eq(provider as i32))
            .order(slots::starts_at.asc())
            .select((slots::starts_at, slots::ends_at))
            .load(conn)
            .unwrap()
    })
    .await
}

async fn rerunning_a_schedule_creates_nothing_new(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let provider = new_provider(&app, &admin, "Dr. Repeat").await;
    let body = json!({
        "from_date": "2027-02-01", "to_date": "2027-02-28",
        "weekdays": ["mon", "wed", "fri"],
        "start_time": "08:00", "end_time": "16:00", "slot_minutes": 30,
        "breaks": [{"start": "12:00", "end": "13:00"}],
    });
    let (created, skipped) = schedule(&app, &admin, provider, body.clone()).await;
    // 12 working days × 14 half-hours (16 minus the lunch hour).
    assert_eq!((created, skipped), (12 * 14, 0));
    let first = all_slots(&app, provider).await;
    assert_eq!(schedule(&app, &admin, provider, body).await, (0, 12 * 14));
    assert_eq!(all_slots(&app, provider).await, first, "nothing changed");

    // A different pattern over the same days fills only the gaps it does not overlap.
    let (created, skipped) = schedule(
        &app,
        &admin,
        provider,
        json!({
            "from_date": "2027-02-01", "to_date": "2027-02-01", "weekdays": ["mon"],
            "start_time": "07:15", "end_time": "13:15", "slot_minutes": 45,
        }),
    )
    .await;
    // 07:15 ends as 08:00 begins; every later start overlaps a slot made the first time.
    assert_eq!((created, skipped), (1, 7));
    assert_no_overlap(&all_slots(&app, provider).await);
}

fn assert_no_overlap(slots: &[(chrono::NaiveDateTime, chrono::NaiveDateTime)]) {
    for pair in slots.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "overlap: {pair:?}");
    }
}

/// Two different patterns for one provider at the same moment: each request checks for overlaps
/// and inserts, so without serializing them per provider both could see no overlap and insert
/// (PostgreSQL under READ COMMITTED). Both must succeed, and the slots must still never overlap.
async fn concurrent_schedules_for_one_provider_never_overlap(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let desk = app.staff_token("front_desk").await;
    let provider = new_provider(&app, &admin, "Dr. Busy").await;
    let first = chrono::Utc::now().date_naive() + chrono::Duration::days(100);
    let last = first + chrono::Duration::days(20);
    let (from, to) = (first.to_string(), last.to_string());
    let run = |token: &str, minutes: i64| {
        let body = pattern(&from, &to, "08:00", "18:00", minutes);
        let (app, token) = (&app, token.to_owned());
        async move {
            app.send(
                Method::POST,
                &format!("/api/v1/providers/{provider}/schedule"),
                Some(&token),
                Some(&body),
            )
            .await
        }
    };
    let (half_hours, three_quarters) = tokio::join!(run(&desk, 30), run(&admin, 45));
    let mut created = 0;
    for response in [half_hours, three_quarters] {
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        created += body["created"].as_i64().unwrap();
    }
    let slots = all_slots(&app, provider).await;
    assert_eq!(slots.len() as i64, created);
    assert_no_overlap(&slots);
}

/// The same for single slots: of several overlapping slots asked for at once, exactly one is
/// created and the others are 409.
async fn concurrent_single_slots_for_one_provider_never_overlap(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let desk = app.staff_token("front_desk").await;
    let provider = new_provider(&app, &admin, "Dr. Single").await;
    let day = chrono::Utc::now() + chrono::Duration::days(90);
    let requests = (0..6).map(|i| {
        let start = day + chrono::Duration::minutes(10 * i);
        let end = start + chrono::Duration::minutes(60);
        let (app, desk) = (&app, &desk);
        async move {
            app.send(
                Method::POST,
                &format!("/api/v1/providers/{provider}/slots"),
                Some(desk),
                Some(&json!({"start": start.to_rfc3339(), "end": end.to_rfc3339()})),
            )
            .await
            .status()
        }
    });
    let mut statuses = futures::future::join_all(requests).await;
    statuses.sort();
    assert_eq!(
        statuses,
        [
            StatusCode::CREATED,
            StatusCode::CONFLICT,
            StatusCode::CONFLICT,
            StatusCode::CONFLICT,
            StatusCode::CONFLICT,
            StatusCode::CONFLICT,
        ]
    );
    let slots = all_slots(&app, provider).await;
    assert_eq!(slots.len(), 1);
}

async fn schedule_requests_are_validated(backend: Backend) {
    let app = spawn_app(backend).await;
    let desk = app.staff_token("front_desk").await;
    let response = app
        .send(
            Method::POST,
            "/api/v1/providers/1/schedule",
            Some(&desk),
            Some(&json!({
                "from_date": "2027-01-01", "to_date": "2028-06-01", "weekdays": ["mon", "caturday"],
                "start_time": "9am", "end_time": "17:00", "slot_minutes": 0,
            })),
        )
        .await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    for field in ["to_date", "weekdays", "start_time", "slot_minutes"] {
        assert!(problem["errors"][field].is_string(), "{field}: {problem}");
    }
    let response = app
        .send(
            Method::POST,
            "/api/v1/providers/1/schedule",
            Some(&desk),
            Some(&json!({})),
        )
        .await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["errors"].as_object().unwrap().len(), 6);
    let response = app
        .send(
            Method::POST,
            "/api/v1/providers/9999/schedule",
            Some(&desk),
            Some(&pattern("2027-01-04", "2027-01-04", "09:00", "10:00", 30)),
        )
        .await;
    assert_problem(response, StatusCode::NOT_FOUND).await;
}

async fn single_slots_never_overlap(backend: Backend) {
    let app = spawn_app(backend).await;
    let desk = app.staff_token("front_desk").await;
    let add = |start: &'static str, end: &'static str| {
        let app = &app;
        let desk = &desk;
        async move {
            app.send(
                Method::POST,
                "/api/v1/providers/2/slots",
                Some(desk),
                Some(&json!({"start": start, "end": end})),
            )
            .await
        }
    };
    let response = add("2027-04-05T09:00:00-07:00", "2027-04-05T09:30:00-07:00").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let slot: Value = response.json().await.unwrap();
    assert_eq!(slot["status"], "free");
    assert_eq!(slot["start"], "2027-04-05T16:00:00Z");
    assert_eq!(slot["local_start"], "2027-04-05T09:00:00-07:00");
    for (start, end) in [
        ("2027-04-05T09:00:00-07:00", "2027-04-05T09:30:00-07:00"),
        ("2027-04-05T09:15:00-07:00", "2027-04-05T09:45:00-07:00"),
        ("2027-04-05T08:45:00-07:00", "2027-04-05T09:15:00-07:00"),
        ("2027-04-05T08:00:00-07:00", "2027-04-05T10:00:00-07:00"),
    ] {
        assert_problem(add(start, end).await, StatusCode::CONFLICT).await;
    }
    // Back to back is fine.
    assert_eq!(
        add("2027-04-05T09:30:00-07:00", "2027-04-05T10:00:00-07:00")
            .await
            .status(),
        StatusCode::CREATED
    );
    let problem = assert_problem(
        add("2027-04-05T11:00:00-07:00", "2027-04-05T10:00:00-07:00").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(problem["errors"]["end"].is_string());
    let problem = assert_problem(
        add("tomorrow", "later").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(problem["errors"]["start"].is_string() && problem["errors"]["end"].is_string());
}

async fn free_slots_can_be_blocked_and_unblocked(backend: Backend) {
    let app = spawn_app(backend).await;
    let desk = app.staff_token("front_desk").await;
    let slots = app.free_slot_ids().await;
    let (free, booked) = (slots[0], slots[1]);
    let set = |slot: i64, status: &'static str| {
        let (app, desk) = (&app, &desk);
        async move {
            app.send(
                Method::PATCH,
                &format!("/api/v1/slots/{slot}"),
                Some(desk),
                Some(&json!({ "status": status })),
            )
            .await
        }
    };
    let response = set(free, "blocked").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.slot_status(free).await, "blocked");
    assert!(
        !app.free_slot_ids().await.contains(&free),
        "blocked slots are not offered"
    );
    assert_problem(app.book(free).await, StatusCode::CONFLICT).await;
    assert_eq!(set(free, "free").await.status(), StatusCode::OK);
    assert!(app.free_slot_ids().await.contains(&free));

    app.book_ok(booked).await;
    let problem = assert_problem(set(booked, "blocked").await, StatusCode::CONFLICT).await;
    assert_eq!(problem["current_status"], "busy");
    assert_problem(set(booked, "free").await, StatusCode::CONFLICT).await;
    assert_eq!(app.slot_status(booked).await, "busy");
    assert_problem(set(free, "busy").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_problem(set(999_999, "blocked").await, StatusCode::NOT_FOUND).await;
}

async fn deactivated_providers_are_not_offered(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let slot_of_provider_1 = app
        .free_slots()
        .await
        .iter()
        .find(|s| s["provider"]["id"] == 1)
        .map(|s| s["id"].as_i64().unwrap())
        .unwrap();
    let body = app
        .send_ok(
            Method::PATCH,
            "/api/v1/providers/1",
            &admin,
            Some(&json!({"active": false, "title": "MD"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (body["active"].clone(), body["title"].clone()),
        (json!(false), json!("MD"))
    );
    let listed = app.get_json("/api/v1/providers").await;
    assert!(listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["id"] != 1));
    assert_problem(app.get("/api/v1/providers/1").await, StatusCode::NOT_FOUND).await;
    assert!(app
        .free_slots()
        .await
        .iter()
        .all(|s| s["provider"]["id"] != 1));
    assert_problem(
        app.get("/api/v1/slots?provider_id=1").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_problem(app.book(slot_of_provider_1).await, StatusCode::CONFLICT).await;

    app.send_ok(
        Method::PATCH,
        "/api/v1/providers/1",
        &admin,
        Some(&json!({"active": true})),
        StatusCode::OK,
    )
    .await;
    assert!(app.free_slot_ids().await.contains(&slot_of_provider_1));
    let response = app
        .send(
            Method::PATCH,
            "/api/v1/providers/1",
            Some(&admin),
            Some(&json!({"name": ""})),
        )
        .await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(problem["errors"]["name"].is_string());
    let response = app
        .send(
            Method::PATCH,
            "/api/v1/providers/999",
            Some(&admin),
            Some(&json!({"active": false})),
        )
        .await;
    assert_problem(response, StatusCode::NOT_FOUND).await;
}
