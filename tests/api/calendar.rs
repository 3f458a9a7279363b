//! Providers' calendar feeds, read with Python's `icalendar` (tests/calendar/check.py), not the
//! server's own code: a provider's visits and nobody else's, no patient names unless the clinic
//! turns them on, a moved visit keeps its UID and shows its new time, a cancelled one leaves, an
//! unchanged poll is a 304, a rotated URL ends the old one; only an admin or the provider's own
//! account manages a feed.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{python_result, spawn_app_with, Backend, TestApp};

fn the_icalendar_parser_is_there() -> Result<(), String> {
    crate::helpers::unless_required(
        "CLINIC_REQUIRE_PYTHON",
        crate::helpers::python_module("icalendar"),
    )
}

crate::tests! {
    both_backends_if(the_icalendar_parser_is_there): [
        a_provider_s_feed_lists_their_visits_and_follows_each_change,
        patient_names_are_in_the_feed_only_when_the_clinic_turns_them_on,
    ],
    both_backends: [only_an_admin_or_the_provider_s_own_account_manages_a_feed],
}

/// A new feed for `provider`, made by `token`: its URL's path (`/calendar/….ics`).
async fn new_feed(app: &TestApp, token: &str, provider: i64) -> String {
    let made = app
        .send_ok(
            Method::POST,
            &format!("/api/v1/providers/{provider}/calendar-feed"),
            token,
            None,
            StatusCode::OK,
        )
        .await;
    let url = made["url"].as_str().expect("a url");
    assert!(made["webcal_url"]
        .as_str()
        .unwrap()
        .starts_with("webcal://"));
    url[url.find("/calendar/").expect("a feed path")..].to_owned()
}

/// The feed as Python's icalendar reads it, and its ETag.
async fn read_feed(app: &TestApp, path: &str) -> (Value, String) {
    let response = app.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_eq!(
        response.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let body = response.text().await.unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), body).unwrap();
    let parsed = python_result(
        "tests/calendar",
        "check.py",
        &[("FEED", file.path().to_str().unwrap())],
    )
    .await;
    (parsed, etag)
}

fn events(feed: &Value) -> &Vec<Value> {
    feed["events"].as_array().expect("events")
}

/// The first two free slots of `provider` two days or more from now.
async fn slots_of(app: &TestApp, provider: i64) -> Vec<Value> {
    app.free_slots_from(2)
        .await
        .into_iter()
        .filter(|s| s["provider_id"] == provider)
        .take(2)
        .collect()
}

async fn a_provider_s_feed_lists_their_visits_and_follows_each_change(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let admin = app.staff_token("admin").await;
    let path = new_feed(&app, &admin, 1).await;

    let mine = slots_of(&app, 1).await;
    let booking = app.book_ok(mine[0]["id"].as_i64().unwrap()).await;
    let reference = booking["reference"].as_str().unwrap().to_owned();
    let token = booking["manage_token"].as_str().unwrap().to_owned();
    // Another provider's visit is not in this feed.
    let theirs = slots_of(&app, 2).await;
    let other = app
        .book_for(
            theirs[0]["id"].as_i64().unwrap(),
            &crate::helpers::another_patient(3),
        )
        .await;

    let (feed, etag) = read_feed(&app, &path).await;
    assert_eq!(feed["version"], "2.0");
    assert!(
        feed["name"].as_str().unwrap().contains("Dr. Maya Chen"),
        "{feed}"
    );
    assert!(feed["refresh"].is_string(), "{feed}");
    let listed = events(&feed);
    assert_eq!(listed.len(), 1, "{feed}");
    let event = &listed[0];
    assert!(event["uid"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{reference}@")));
    assert!(
        event["summary"].as_str().unwrap().contains(&reference),
        "{event}"
    );
    assert!(
        !event["summary"].as_str().unwrap().contains("Ana"),
        "no patient name: {event}"
    );
    assert!(
        event["location"].as_str().unwrap().contains("Phoenix"),
        "{event}"
    );
    assert_eq!(event["status"], "CONFIRMED");
    let start = chrono::DateTime::parse_from_rfc3339(event["start"].as_str().unwrap()).unwrap();
    let booked = chrono::DateTime::parse_from_rfc3339(mine[0]["start"].as_str().unwrap()).unwrap();
    assert_eq!(start, booked);
    assert!(!serde_json::to_string(&feed)
        .unwrap()
        .contains(other["reference"].as_str().unwrap()));

    // Polling again unchanged: a 304.
    let again = app
        .client
        .get(app.url(&path))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // Moved: the same UID at the new time, and a new ETag.
    assert_eq!(
        app.reschedule(&reference, &token, mine[1]["id"].as_i64().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
    let (moved, moved_etag) = read_feed(&app, &path).await;
    assert_ne!(moved_etag, etag);
    let event = &events(&moved)[0];
    assert!(event["uid"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{reference}@")));
    let start = chrono::DateTime::parse_from_rfc3339(event["start"].as_str().unwrap()).unwrap();
    let new = chrono::DateTime::parse_from_rfc3339(mine[1]["start"].as_str().unwrap()).unwrap();
    assert_eq!(start, new);

    // Cancelled: gone.
    assert_eq!(
        app.cancel(&reference, &token).await.status(),
        StatusCode::OK
    );
    let (after, _) = read_feed(&app, &path).await;
    assert!(events(&after).is_empty(), "{after}");

    // A new URL ends the old one.
    let newer = new_feed(&app, &admin, 1).await;
    assert_ne!(newer, path);
    assert_eq!(app.get(&path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&newer).await.status(), StatusCode::OK);
    assert_eq!(
        app.get("/calendar/not-a-token.ics").await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn patient_names_are_in_the_feed_only_when_the_clinic_turns_them_on(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.calendar.include_patient_names = true).await;
    let admin = app.staff_token("admin").await;
    let path = new_feed(&app, &admin, 1).await;
    let slot = slots_of(&app, 1).await[0]["id"].as_i64().unwrap();
    app.book_ok(slot).await;
    let (feed, _) = read_feed(&app, &path).await;
    assert!(
        events(&feed)[0]["summary"]
            .as_str()
            .unwrap()
            .contains("Ana Díaz"),
        "{feed}"
    );
}

async fn only_an_admin_or_the_provider_s_own_account_manages_a_feed(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let path = "/api/v1/providers/1/calendar-feed";
    let desk = app.staff_token("front_desk").await;
    let stranger = app.staff_token("provider").await;
    for token in [&desk, &stranger] {
        let response = app.send(Method::POST, path, Some(token), None).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(
        app.send(Method::POST, path, None, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Dr. Chen's own account, linked as `create-user --provider 1` links it.
    let email = "maya.chen@clinic.example";
    let own = app.token_of(email, "provider").await;
    app.with_db(move |conn| {
        use clinic_booking::db::schema::users;
        use diesel::prelude::*;
        diesel::update(users::table.filter(users::email.eq(email)))
            .set(users::provider_id.eq(Some(1)))
            .execute(conn)
            .expect("link the account");
    })
    .await;
    let feed = new_feed(&app, &own, 1).await;
    assert_eq!(app.get(&feed).await.status(), StatusCode::OK);
    // Not another provider's.
    let response = app
        .send(
            Method::POST,
            "/api/v1/providers/2/calendar-feed",
            Some(&own),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Ended: the URL answers 404; ending it again is a 404 too.
    let response = app.send(Method::DELETE, path, Some(&own), None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(&feed).await.status(), StatusCode::NOT_FOUND);
    let response = app.send(Method::DELETE, path, Some(&own), None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Audited.
    let admin = app.staff_token("admin").await;
    let audit = app.audit(&admin, "limit=200").await;
    let actions: Vec<&str> = audit.iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"calendar_feed.rotate") && actions.contains(&"calendar_feed.revoke"));
}
