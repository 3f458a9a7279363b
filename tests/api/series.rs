//! Courses of care: every visit booked in one transaction or none, one confirmation listing them
//! all with a calendar of every visit, cancelling the course, and a weekly series that keeps its
//! local time across a daylight-saving change.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Weekday};
use icalendar::Component;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::email::parse;
use crate::helpers::{assert_problem, patient, smtp_to, spawn_app_with, Backend, TestApp};
use crate::smtp::SmtpSink;

crate::both_backends!(
    a_course_books_every_visit_with_one_confirmation,
    a_course_with_one_conflicting_date_books_nothing,
    cancelling_a_course_cancels_its_future_visits,
    a_weekly_course_keeps_its_local_time_across_a_dst_change,
);

/// The first Wednesday at least `days` ahead.
fn wednesday_after(days: i64) -> NaiveDate {
    let mut day = chrono::Utc::now().date_naive() + Duration::days(days);
    while day.weekday() != Weekday::Wed {
        day += Duration::days(1);
    }
    day
}

/// A provider with quarter-hour slots from 09:00 to 11:00 (local) on Wednesdays from `first`
/// for `weeks` weeks, and a 45-minute visit type they offer. Returns (provider, visit type).
async fn weekly_clinic(app: &TestApp, admin: &str, first: NaiveDate, weeks: i64) -> (i64, i64) {
    let provider = app
        .send_ok(
            Method::POST,
            "/api/v1/providers",
            admin,
            Some(&json!({"name": "Luis Romero", "specialty": "physical_therapy"})),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_i64()
        .expect("provider");
    app.send_ok(
        Method::POST,
        &format!("/api/v1/providers/{provider}/schedule"),
        admin,
        Some(&json!({
            "from_date": first.to_string(),
            "to_date": (first + Duration::weeks(weeks - 1)).to_string(),
            "weekdays": ["wed"],
            "start_time": "09:00",
            "end_time": "11:00",
            "slot_minutes": 15,
        })),
        StatusCode::OK,
    )
    .await;
    let visit_type = app
        .send_ok(
            Method::POST,
            "/api/v1/visit-types",
            admin,
            Some(&json!({
                "name": "Therapy session",
                "duration_minutes": 45,
                "provider_ids": [provider],
            })),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_i64()
        .expect("visit type");
    (provider, visit_type)
}

/// The provider's slot starting at `local` (e.g. "2027-01-06T09:00:00-07:00").
async fn slot_at(app: &TestApp, provider: i64, local: &str) -> i64 {
    let at: DateTime<FixedOffset> = local.parse().expect("a local time");
    let list = app
        .get_json(&format!(
            "/api/v1/slots?provider_id={provider}&from={}&to={}&limit=2000",
            at.date_naive(),
            at.date_naive() + Duration::days(1)
        ))
        .await;
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|s| {
            s["start"]
                .as_str()
                .and_then(|t| t.parse::<DateTime<FixedOffset>>().ok())
                == Some(at)
        })
        .and_then(|s| s["id"].as_i64())
        .unwrap_or_else(|| panic!("no free slot at {local}"))
}

fn course(slot_id: i64, visit_type: i64, visits: i64) -> Value {
    json!({"slot_id": slot_id, "visit_type_id": visit_type, "visits": visits, "patient": patient()})
}

async fn active_bookings_of(app: &TestApp, provider: i64) -> i64 {
    app.with_db(move |conn| {
        use clinic_booking::db::schema::{bookings, slots};
        use diesel::prelude::*;
        bookings::table
            .inner_join(slots::table)
            .filter(slots::provider_id.eq(provider as i32))
            .filter(bookings::status.ne("cancelled"))
            .count()
            .get_result(conn)
            .expect("count")
    })
    .await
}

async fn a_course_books_every_visit_with_one_confirmation(backend: Backend) {
    let sink = SmtpSink::start();
    let app = spawn_app_with(backend, smtp_to(sink.port)).await;
    let admin = app.staff_token("admin").await;
    let desk = app.staff_token("front_desk").await;
    let first = wednesday_after(21);
    let (provider, therapy) = weekly_clinic(&app, &admin, first, 4).await;
    let slot = slot_at(&app, provider, &format!("{first}T09:00:00-07:00")).await;

    // Patients may not book a course of this type online; the front desk may.
    let refused = app
        .post_json("/api/v1/series", &course(slot, therapy, 4))
        .await;
    assert_problem(refused, StatusCode::CONFLICT).await;
    let series = app
        .send_ok(
            Method::POST,
            "/api/v1/series",
            &desk,
            Some(&course(slot, therapy, 4)),
            StatusCode::CREATED,
        )
        .await;
    let reference = series["reference"].as_str().expect("reference");
    assert!(reference.starts_with("CS-"));
    let visits = series["visits"].as_array().expect("visits");
    assert_eq!(visits.len(), 4);
    for (week, visit) in visits.iter().enumerate() {
        let day = first + Duration::weeks(week as i64);
        assert_eq!(
            visit["slot"]["local_start"],
            format!("{day}T09:00:00-07:00"),
            "week {week}"
        );
        assert_eq!(visit["slot"]["local_end"], format!("{day}T09:45:00-07:00"));
        assert_eq!(visit["visit_type"]["name"], "Therapy session");
        assert!(visit["manage_token"].is_string());
    }
    assert_eq!(active_bookings_of(&app, provider).await, 4);

    // One confirmation for the course: every visit listed, one calendar with an event each,
    // read back with the icalendar parser.
    let mails = sink.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        sink.messages().len(),
        1,
        "one confirmation, not one per visit"
    );
    let mail = parse(&mails[0]);
    for visit in visits {
        let visit_reference = visit["reference"].as_str().unwrap();
        assert!(
            mail.text.contains(visit_reference),
            "{visit_reference} missing:\n{}",
            mail.text
        );
    }
    assert!(mail.text.contains("course of 4 visits"));
    let (_, ics) = mail.invitation.expect("a calendar");
    let calendar: icalendar::Calendar = ics.parse().expect("the calendar parses");
    let uids: Vec<String> = calendar
        .events()
        .map(|e| e.get_uid().expect("uid").to_owned())
        .collect();
    assert_eq!(uids.len(), 4);
    for visit in visits {
        let uid = format!("{}@clinic-booking", visit["reference"].as_str().unwrap());
        assert!(uids.contains(&uid), "{uid} not in {uids:?}");
    }

    // Staff read it back.
    let read = app
        .send_ok(
            Method::GET,
            &format!("/api/v1/series/{reference}"),
            &desk,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(read["visits"].as_array().unwrap().len(), 4);
    assert!(read["visits"][0]["manage_token"].is_null());
}

async fn a_course_with_one_conflicting_date_books_nothing(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let admin = app.staff_token("admin").await;
    let desk = app.staff_token("front_desk").await;
    let first = wednesday_after(21);
    let (provider, therapy) = weekly_clinic(&app, &admin, first, 4).await;
    // Someone holds 09:30 in the third week: a 45-minute visit from 09:00 no longer fits then.
    let third = first + Duration::weeks(2);
    let taken = slot_at(&app, provider, &format!("{third}T09:30:00-07:00")).await;
    assert_eq!(app.book(taken).await.status(), StatusCode::CREATED);

    let slot = slot_at(&app, provider, &format!("{first}T09:00:00-07:00")).await;
    let response = app
        .send(
            Method::POST,
            "/api/v1/series",
            Some(&desk),
            Some(&course(slot, therapy, 4)),
        )
        .await;
    let problem = assert_problem(response, StatusCode::CONFLICT).await;
    let conflicts = problem["conflicts"].as_array().expect("conflicts");
    assert_eq!(conflicts.len(), 1, "{problem}");
    assert_eq!(conflicts[0]["date"], third.to_string());
    assert_eq!(
        conflicts[0]["local_start"],
        format!("{third}T09:00:00-07:00")
    );
    // The nearest starts that fit that day: 09:45 (after the taken half hour), then 10:00.
    let alternatives: Vec<&str> = conflicts[0]["alternatives"]
        .as_array()
        .expect("alternatives")
        .iter()
        .map(|a| a["local_start"].as_str().unwrap())
        .collect();
    assert_eq!(
        alternatives[..2],
        [
            format!("{third}T09:45:00-07:00"),
            format!("{third}T10:00:00-07:00")
        ]
    );
    // Nothing of the course was booked: only the other patient's visit.
    assert_eq!(active_bookings_of(&app, provider).await, 1);
    assert_eq!(app.slot_status(slot).await, "free");
}

async fn cancelling_a_course_cancels_its_future_visits(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let admin = app.staff_token("admin").await;
    let desk = app.staff_token("front_desk").await;
    let first = wednesday_after(21);
    let (provider, therapy) = weekly_clinic(&app, &admin, first, 3).await;
    let slot = slot_at(&app, provider, &format!("{first}T10:00:00-07:00")).await;
    let series = app
        .send_ok(
            Method::POST,
            "/api/v1/series",
            &desk,
            Some(&course(slot, therapy, 3)),
            StatusCode::CREATED,
        )
        .await;
    let reference = series["reference"].as_str().unwrap();
    let cancelled = app
        .send_ok(
            Method::POST,
            &format!("/api/v1/series/{reference}/cancel"),
            &desk,
            None,
            StatusCode::OK,
        )
        .await;
    let statuses: Vec<&str> = cancelled["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["cancelled"; 3]);
    assert_eq!(active_bookings_of(&app, provider).await, 0);
    assert_eq!(app.slot_status(slot).await, "free");
    // Where the visit type allows it, patients book a course online themselves.
    app.send_ok(
        Method::PATCH,
        &format!("/api/v1/visit-types/{therapy}"),
        &admin,
        Some(&json!({"series_online": true})),
        StatusCode::OK,
    )
    .await;
    let online = app
        .post_json("/api/v1/series", &course(slot, therapy, 3))
        .await;
    assert_eq!(online.status(), StatusCode::CREATED);
    let online: Value = online.json().await.expect("json");
    assert_eq!(online["visits"][0]["source"], "website");
    assert_eq!(active_bookings_of(&app, provider).await, 3);
    // Patients cannot read a course through this API; an unknown reference is a 404.
    let anonymous = app
        .send(
            Method::GET,
            &format!("/api/v1/series/{reference}"),
            None,
            None,
        )
        .await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED).await;
    let unknown = app
        .send(
            Method::GET,
            "/api/v1/series/CS-0000000000",
            Some(&desk),
            None,
        )
        .await;
    assert_problem(unknown, StatusCode::NOT_FOUND).await;
}

/// New York moves its clocks forward on 2027-03-14: a Monday 09:00 series from 2027-03-01 stays
/// at 09:00 local, one hour earlier in UTC from the third visit on.
async fn a_weekly_course_keeps_its_local_time_across_a_dst_change(backend: Backend) {
    // A clinic that books a year ahead: March is past the default 90-day horizon.
    let app = spawn_app_with(backend, |s| {
        s.clinic.timezone = "America/New_York".parse().expect("zone");
        s.booking.horizon_days = 365;
    })
    .await;
    let admin = app.staff_token("admin").await;
    let desk = app.staff_token("front_desk").await;
    let provider = app
        .send_ok(
            Method::POST,
            "/api/v1/providers",
            &admin,
            Some(&json!({"name": "Dr. Park", "specialty": "physical_therapy"})),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    app.send_ok(
        Method::POST,
        &format!("/api/v1/providers/{provider}/schedule"),
        &admin,
        Some(&json!({
            "from_date": "2027-03-01", "to_date": "2027-03-22", "weekdays": ["mon"],
            "start_time": "09:00", "end_time": "10:00", "slot_minutes": 30,
        })),
        StatusCode::OK,
    )
    .await;
    let visit_type = app
        .send_ok(
            Method::POST,
            "/api/v1/visit-types",
            &admin,
            Some(&json!({"name": "Session", "duration_minutes": 30, "provider_ids": [provider]})),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let slot = slot_at(&app, provider, "2027-03-01T09:00:00-05:00").await;
    let series = app
        .send_ok(
            Method::POST,
            "/api/v1/series",
            &desk,
            Some(&course(slot, visit_type, 4)),
            StatusCode::CREATED,
        )
        .await;
    let starts: Vec<(&str, &str)> = series["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["slot"]["start"].as_str().unwrap(),
                v["slot"]["local_start"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        starts,
        [
            ("2027-03-01T14:00:00Z", "2027-03-01T09:00:00-05:00"),
            ("2027-03-08T14:00:00Z", "2027-03-08T09:00:00-05:00"),
            ("2027-03-15T13:00:00Z", "2027-03-15T09:00:00-04:00"),
            ("2027-03-22T13:00:00Z", "2027-03-22T09:00:00-04:00"),
        ]
    );
}
