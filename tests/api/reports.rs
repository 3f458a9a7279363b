//! The admins' report per provider and period (`GET /api/v1/admin/reports`): a small clinic day
//! whose every figure is worked out by hand below, as JSON and as CSV, and who may ask for it.
//!
//! The fixture is made over HTTP (providers, a visit type, slots, bookings, cancellations). What
//! the API cannot do a month ahead is then written straight to the bookings, as the day itself
//! and the desk would have left them: when each booking was made (its lead time), when each
//! cancellation came (late or not), and the visits completed, missed or checked in.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{another_patient, assert_problem, spawn_app, Backend, TestApp};

crate::both_backends!(
    the_report_matches_a_hand_computed_day,
    the_report_is_for_admins_and_refuses_bad_periods,
);

/// The fixture's day: a Wednesday a month ahead, after the demo clinic's two weeks of slots, so
/// that only this test's providers have time on it. Phoenix keeps -07:00 all year.
fn day() -> NaiveDate {
    let mut day = chrono::Utc::now().date_naive() + Duration::days(30);
    while chrono::Datelike::weekday(&day) != chrono::Weekday::Wed {
        day += Duration::days(1);
    }
    day
}

/// `time` (HH:MM) on `date` in Phoenix.
fn local(date: NaiveDate, time: &str) -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(&format!("{date}T{time}:00-07:00")).expect("a time")
}

/// The same instant as the database keeps it (UTC, without zone).
fn stored(date: NaiveDate, time: &str) -> NaiveDateTime {
    local(date, time).naive_utc()
}

async fn provider(app: &TestApp, admin: &str, name: &str) -> i64 {
    app.send_ok(
        Method::POST,
        "/api/v1/providers",
        admin,
        Some(&json!({"name": name, "specialty": "pain_medicine"})),
        StatusCode::CREATED,
    )
    .await["id"]
        .as_i64()
        .expect("provider id")
}

/// A half-hour slot of `provider` from `time` on `date`, blocked at once if `blocked`.
async fn slot(
    app: &TestApp,
    desk: &str,
    provider: i64,
    (date, time): (NaiveDate, &str),
    blocked: bool,
) -> i64 {
    let start = local(date, time);
    let body =
        json!({"start": start.to_rfc3339(), "end": (start + Duration::minutes(30)).to_rfc3339()});
    let id = app
        .send_ok(
            Method::POST,
            &format!("/api/v1/providers/{provider}/slots"),
            desk,
            Some(&body),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_i64()
        .expect("slot id");
    if blocked {
        app.send_ok(
            Method::PATCH,
            &format!("/api/v1/slots/{id}"),
            desk,
            Some(&json!({"status": "blocked"})),
            StatusCode::OK,
        )
        .await;
    }
    id
}

/// Books `slot` for patient `n`: online (with `source`, default `website`), or by the desk when
/// `desk` is given (source `front_desk`). Returns the reference.
async fn book(
    app: &TestApp,
    desk: Option<&str>,
    (slot, visit_type): (i64, Option<i64>),
    (n, source): (usize, Option<&str>),
) -> String {
    let mut body = json!({"slot_id": slot, "patient": another_patient(n)});
    if let Some(visit_type) = visit_type {
        body["visit_type_id"] = json!(visit_type);
    }
    if let Some(source) = source {
        body["source"] = json!(source);
    }
    let response = app
        .send(Method::POST, "/api/v1/bookings", desk, Some(&body))
        .await;
    let status = response.status();
    let booking: Value = response.json().await.expect("json");
    assert_eq!(status, StatusCode::CREATED, "{booking}");
    booking["reference"].as_str().expect("reference").to_owned()
}

async fn cancel(app: &TestApp, desk: &str, reference: &str) {
    let response = app.cancel(reference, desk).await;
    assert_eq!(response.status(), StatusCode::OK, "cancel {reference}");
}

/// What the day and the desk left on a booking: its status, when it was made and when it was
/// cancelled. A write behind the app's back.
async fn rewrite(
    app: &TestApp,
    reference: &str,
    status: &str,
    created_at: NaiveDateTime,
    cancelled_at: Option<NaiveDateTime>,
) {
    use clinic_booking::db::schema::bookings;
    use diesel::prelude::*;
    let (reference, status) = (reference.to_owned(), status.to_owned());
    let updated = app
        .with_db(move |conn| {
            diesel::update(bookings::table.filter(bookings::reference.eq(&reference)))
                .set((
                    bookings::status.eq(&status),
                    bookings::created_at.eq(created_at),
                    bookings::cancelled_at.eq(cancelled_at),
                ))
                .execute(conn)
                .expect("rewrite the booking")
        })
        .await;
    assert_eq!(updated, 1);
}

/// The fixture's providers and visit type.
struct Day {
    ada: i64,
    bo: i64,
    cy: i64,
    dee: i64,
    evaluation: i64,
}

/// The clinic day every figure below is computed from. All times are Phoenix times on `day()`.
///
/// Dr. Report Ada has half-hour slots from 09:00 to 13:30; the one at 13:00 is blocked. Her
/// visit type "Report evaluation" lasts 60 minutes and has its own cut-off of 48 hours (the
/// clinic's is 24). Her bookings:
///
/// | | slot | visit | source | ends as | made before the start | cancelled before the start |
/// | --- | --- | --- | --- | --- | --- | --- |
/// | B1 | 09:00 | none, 30 min | website | completed | 3 days (4320 min) | |
/// | B2 | 09:30 | evaluation, 60 min | back-pain-guide | no_show | 1 day (1440 min) | |
/// | B3 | 10:30 | none, 30 min | front_desk | booked | 7 days (10080 min) | |
/// | B4 | 11:00 | none, 30 min | front_desk | arrived | 2 h 30 s (120.5 min → 120) | |
/// | B5 | 11:30 | none | website | cancelled | 10 days | 2 hours: late (24 h) |
/// | B6 | 12:00 | evaluation | website | cancelled | 10 days | 30 hours: late (48 h) |
/// | B7 | 12:00 | none | front_desk | cancelled | 10 days | 30 hours: in time (24 h) |
/// | B8 | 12:00 | none | website | cancelled | 10 days | never recorded: not late |
/// | B9 | 12:30 | none | front_desk | cancelled | 10 days | exactly 24 hours: in time |
///
/// Dr. Report Bo, DPT has a free slot at 14:00 (booked online two days ahead, completed) and a
/// blocked one at 14:30, and slots just outside the day: the day before at 23:30 (it ends at the
/// day's midnight) and the day after at 00:00. Dr. Report Cy has one blocked slot at 09:00.
/// Dr. Report Dee has no time at all.
async fn clinic_day(app: &TestApp, admin: &str, desk: &str) -> Day {
    let (today, before, after) = (day(), day() - Duration::days(1), day() + Duration::days(1));
    let ada = provider(app, admin, "Dr. Report Ada").await;
    let bo = provider(app, admin, "Dr. Report Bo, DPT").await;
    let cy = provider(app, admin, "Dr. Report Cy").await;
    let dee = provider(app, admin, "Dr. Report Dee").await;
    let evaluation = app
        .send_ok(
            Method::POST,
            "/api/v1/visit-types",
            admin,
            Some(&json!({
                "name": "Report evaluation",
                "duration_minutes": 60,
                "provider_ids": [ada],
                "cancel_cutoff_hours": 48,
            })),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_i64()
        .expect("visit type id");

    let mut s = Vec::new();
    for time in [
        "09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30", "13:00",
    ] {
        s.push(slot(app, desk, ada, (today, time), time == "13:00").await);
    }
    let bo_slot = slot(app, desk, bo, (today, "14:00"), false).await;
    slot(app, desk, bo, (today, "14:30"), true).await;
    slot(app, desk, bo, (before, "23:30"), false).await;
    slot(app, desk, bo, (after, "00:00"), false).await;
    slot(app, desk, cy, (today, "09:00"), true).await;

    let b1 = book(app, None, (s[0], None), (1, None)).await;
    let b2 = book(
        app,
        None,
        (s[1], Some(evaluation)),
        (2, Some("back-pain-guide")),
    )
    .await;
    let b3 = book(app, Some(desk), (s[3], None), (3, None)).await;
    let b4 = book(app, Some(desk), (s[4], None), (4, None)).await;
    let b5 = book(app, None, (s[5], None), (5, None)).await;
    cancel(app, desk, &b5).await;
    let b6 = book(app, None, (s[6], Some(evaluation)), (6, None)).await;
    cancel(app, desk, &b6).await;
    let b7 = book(app, Some(desk), (s[6], None), (7, None)).await;
    cancel(app, desk, &b7).await;
    let b8 = book(app, None, (s[6], None), (8, None)).await;
    cancel(app, desk, &b8).await;
    let b9 = book(app, Some(desk), (s[7], None), (9, None)).await;
    cancel(app, desk, &b9).await;
    let bo_visit = book(app, None, (bo_slot, None), (10, None)).await;

    let at = |time: &str| stored(today, time);
    let (days, hours) = (Duration::days, Duration::hours);
    for (reference, status, start, made, cancelled) in [
        (&b1, "completed", at("09:00"), days(3), None),
        (&b2, "no_show", at("09:30"), days(1), None),
        (&b3, "booked", at("10:30"), days(7), None),
        (
            &b4,
            "arrived",
            at("11:00"),
            hours(2) + Duration::seconds(30),
            None,
        ),
        (&b5, "cancelled", at("11:30"), days(10), Some(hours(2))),
        (&b6, "cancelled", at("12:00"), days(10), Some(hours(30))),
        (&b7, "cancelled", at("12:00"), days(10), Some(hours(30))),
        (&b8, "cancelled", at("12:00"), days(10), None),
        (&b9, "cancelled", at("12:30"), days(10), Some(hours(24))),
        (&bo_visit, "completed", at("14:00"), days(2), None),
    ] {
        rewrite(
            app,
            reference,
            status,
            start - made,
            cancelled.map(|c| start - c),
        )
        .await;
    }
    Day {
        ada,
        bo,
        cy,
        dee,
        evaluation,
    }
}

async fn report(app: &TestApp, admin: &str, query: &str) -> Value {
    app.send_ok(
        Method::GET,
        &format!("/api/v1/admin/reports?{query}"),
        admin,
        None,
        StatusCode::OK,
    )
    .await
}

async fn the_report_matches_a_hand_computed_day(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let desk = app.staff_token("front_desk").await;
    let fixture = clinic_day(&app, &admin, &desk).await;
    let today = day();

    // Dr. Report Ada:
    // - available: the eight slots from 09:00 to 12:30, free or busy, 8 × 30 = 240 minutes (13:00
    //   is blocked);
    // - booked: B1 30 + B2 60 (its visit type's length) + B3 30 + B4 30 = 150 minutes (the
    //   cancelled ones hold no time; a no-show did); utilization 150 / 240 = 0.625;
    // - bookings B1 to B9: 9; completed 1 (B1), no-shows 1 (B2): no-show rate 1 / 2 = 0.5;
    // - cancellations B5 to B9: 5, late B5 (2 h < 24 h) and B6 (30 h < its type's 48 h): 2;
    //   late-cancellation rate 2 / 9 = 0.2222;
    // - lead times of the bookings not cancelled: 120, 1440, 4320, 10080 minutes; the lower
    //   middle one is 1440 (with the cancelled B5 to B9 it would be 10080, the mean of the
    //   middle two 2880);
    // - sources: website B1 B5 B6 B8 = 4, front_desk B3 B4 B7 B9 = 4, back-pain-guide B2 = 1;
    // - visit types: Report evaluation B2 B6 = 2, none 7.
    let ada = json!({
        "provider_id": fixture.ada,
        "provider": "Dr. Report Ada",
        "available_minutes": 240,
        "booked_minutes": 150,
        "utilization": 0.625,
        "bookings": 9,
        "completed": 1,
        "no_shows": 1,
        "no_show_rate": 0.5,
        "cancellations": 5,
        "late_cancellations": 2,
        "late_cancellation_rate": 0.2222,
        "median_lead_time_minutes": 1440,
        "by_source": {"back-pain-guide": 1, "front_desk": 4, "website": 4},
        "by_visit_type": [
            {"visit_type_id": fixture.evaluation, "name": "Report evaluation", "count": 2},
            {"visit_type_id": null, "name": "No visit type", "count": 7},
        ],
    });
    // Dr. Report Bo: the 14:00 slot (30 minutes; 14:30 is blocked, and the slots starting the
    // evening before and at the next midnight are outside the day), all of it booked: 1.0; one
    // booking, completed, made 2 days (2880 minutes) ahead: no-show rate 0 / 1, no cancellation.
    let bo = json!({
        "provider_id": fixture.bo,
        "provider": "Dr. Report Bo, DPT",
        "available_minutes": 30,
        "booked_minutes": 30,
        "utilization": 1.0,
        "bookings": 1,
        "completed": 1,
        "no_shows": 0,
        "no_show_rate": 0.0,
        "cancellations": 0,
        "late_cancellations": 0,
        "late_cancellation_rate": 0.0,
        "median_lead_time_minutes": 2880,
        "by_source": {"website": 1},
        "by_visit_type": [{"visit_type_id": null, "name": "No visit type", "count": 1}],
    });
    // Dr. Report Cy: a blocked slot only, so listed, with nothing to divide by.
    let cy = json!({
        "provider_id": fixture.cy,
        "provider": "Dr. Report Cy",
        "available_minutes": 0,
        "booked_minutes": 0,
        "utilization": null,
        "bookings": 0,
        "completed": 0,
        "no_shows": 0,
        "no_show_rate": null,
        "cancellations": 0,
        "late_cancellations": 0,
        "late_cancellation_rate": null,
        "median_lead_time_minutes": null,
        "by_source": {},
        "by_visit_type": [],
    });

    let whole = report(&app, &admin, &format!("from={today}&to={today}")).await;
    assert_eq!(
        whole,
        json!({
            "from": today.to_string(),
            "to": today.to_string(),
            "timezone": "America/Phoenix",
            "start": format!("{today}T07:00:00Z"),
            "end": format!("{}T07:00:00Z", today + Duration::days(1)),
            "items": [ada, bo, cy],
        })
    );

    // One provider: theirs alone; one with no time at all is all zeros.
    let only = report(
        &app,
        &admin,
        &format!("from={today}&to={today}&provider_id={}", fixture.ada),
    )
    .await;
    assert_eq!(only["items"], json!([ada]));
    let idle = report(
        &app,
        &admin,
        &format!("from={today}&to={today}&provider_id={}", fixture.dee),
    )
    .await;
    let mut zeros = cy.clone();
    zeros["provider_id"] = json!(fixture.dee);
    zeros["provider"] = json!("Dr. Report Dee");
    assert_eq!(idle["items"], json!([zeros]));

    // Three days: Dr. Report Bo's slots the evening before and at the next midnight count too.
    let (before, after) = (today - Duration::days(1), today + Duration::days(1));
    let wider = report(
        &app,
        &admin,
        &format!("from={before}&to={after}&provider_id={}", fixture.bo),
    )
    .await;
    assert_eq!(wider["items"][0]["available_minutes"], 90);
    assert_eq!(wider["items"][0]["utilization"], 0.3333);

    // The same report as CSV: the fixed columns, then one per source and per visit type.
    let response = app
        .client
        .get(app.url(&format!("/api/v1/admin/reports?from={today}&to={today}")))
        .bearer_auth(&admin)
        .header("Accept", "text/csv")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let text = response.text().await.expect("body");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "provider_id",
            "provider",
            "available_minutes",
            "booked_minutes",
            "utilization",
            "bookings",
            "completed",
            "no_shows",
            "no_show_rate",
            "cancellations",
            "late_cancellations",
            "late_cancellation_rate",
            "median_lead_time_minutes",
            "source: back-pain-guide",
            "source: front_desk",
            "source: website",
            "visit type: Report evaluation",
            "visit type: No visit type",
        ]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("a row").iter().map(str::to_owned).collect())
        .collect();
    let (ada, bo, cy) = (
        fixture.ada.to_string(),
        fixture.bo.to_string(),
        fixture.cy.to_string(),
    );
    assert_eq!(
        rows,
        [
            vec![
                ada.as_str(),
                "Dr. Report Ada",
                "240",
                "150",
                "0.625",
                "9",
                "1",
                "1",
                "0.5",
                "5",
                "2",
                "0.2222",
                "1440",
                "1",
                "4",
                "4",
                "2",
                "7",
            ],
            vec![
                bo.as_str(),
                "Dr. Report Bo, DPT",
                "30",
                "30",
                "1",
                "1",
                "1",
                "0",
                "0",
                "0",
                "0",
                "0",
                "2880",
                "0",
                "0",
                "1",
                "0",
                "1",
            ],
            vec![
                cy.as_str(),
                "Dr. Report Cy",
                "0",
                "0",
                "",
                "0",
                "0",
                "0",
                "",
                "0",
                "0",
                "",
                "",
                "0",
                "0",
                "0",
                "0",
                "0"
            ],
        ]
    );

    // JSON unless CSV is preferred.
    for (accept, csv) in [
        ("application/json", false),
        ("text/csv;q=0.5, application/json", false),
        ("application/json, text/csv", false),
        ("text/plain, text/*;q=0.9, */*;q=0.1", true),
        ("text/html", false),
    ] {
        let response = app
            .client
            .get(app.url(&format!("/api/v1/admin/reports?from={today}&to={today}")))
            .bearer_auth(&admin)
            .header("Accept", accept)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{accept}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert_eq!(
            content_type.starts_with("text/csv"),
            csv,
            "{accept}: {content_type}"
        );
    }
}

async fn the_report_is_for_admins_and_refuses_bad_periods(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let path = "/api/v1/admin/reports?from=2020-01-01&to=2020-01-31";

    let anonymous = app.get(path).await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED).await;
    for role in ["front_desk", "provider"] {
        let token = app.staff_token(role).await;
        let refused = app.send(Method::GET, path, Some(&token), None).await;
        assert_problem(refused, StatusCode::FORBIDDEN).await;
    }

    // Years before the demo clinic's time. 2020 is a leap year: 2021-01-01 is 366 days after
    // 2020-01-01.
    let longest = report(&app, &admin, "from=2020-01-01&to=2021-01-01").await;
    assert_eq!(longest["items"], json!([]));
    for (query, named) in [
        ("from=2020-01-01&to=2021-01-02", "366 days"),
        ("from=2027-02-01&to=2027-01-31", "after"),
        ("from=2027-13-01&to=2027-12-31", "`from`"),
        ("from=2027-01-01&to=2027-01-32", "`to`"),
        ("from=2027-01-01T00:00:00Z&to=2027-01-02", "`from`"),
        ("from=2027-01-01", "to"),
        ("to=2027-01-01", "from"),
        (
            "from=2027-01-01&to=2027-01-02&provider_id=one",
            "invalid digit",
        ),
        ("from=2027-01-01&to=2027-01-02&location_id=1", "location_id"),
    ] {
        let response = app
            .send(
                Method::GET,
                &format!("/api/v1/admin/reports?{query}"),
                Some(&admin),
                None,
            )
            .await;
        let problem = assert_problem(response, StatusCode::BAD_REQUEST).await;
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(named), "{query}: {detail}");
    }
    for provider in ["999999", "99999999999"] {
        let response = app
            .send(
                Method::GET,
                &format!(
                    "/api/v1/admin/reports?from=2020-01-01&to=2020-01-02&provider_id={provider}"
                ),
                Some(&admin),
                None,
            )
            .await;
        assert_problem(response, StatusCode::NOT_FOUND).await;
    }
}
