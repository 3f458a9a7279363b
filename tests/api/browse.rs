//! Browsing: health, providers, free slots, the call to action, unknown routes.

use reqwest::StatusCode;

use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, Backend};

crate::both_backends!(
    health_is_ok,
    providers_are_listed_and_unknown_ones_are_404,
    free_slots_are_ordered_and_inside_the_window,
    slot_windows_are_bounded,
    a_listed_slot_leaves_the_list_when_booked_and_returns_when_cancelled,
    a_change_made_elsewhere_shows_in_the_list_within_the_cache_time,
    schedule_appointment_lists_the_next_free_slots,
    unknown_routes_are_problem_documents,
);

async fn health_is_ok(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = app.get_json("/health").await;
    assert_eq!(body, serde_json::json!({"status": "ok"}));
}

async fn providers_are_listed_and_unknown_ones_are_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = app.get_json("/api/v1/providers").await;
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "the demo clinic has three providers");
    let specialties: Vec<&str> = items
        .iter()
        .map(|p| p["specialty"].as_str().unwrap())
        .collect();
    for s in ["pain_medicine", "physical_therapy", "massage_therapy"] {
        assert!(specialties.contains(&s), "{s} missing");
    }
    let id = items[0]["id"].as_i64().unwrap();
    let one = app.get_json(&format!("/api/v1/providers/{id}")).await;
    assert_eq!(one["name"], items[0]["name"]);
    assert_problem(
        app.get("/api/v1/providers/999999").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_problem(
        app.get("/api/v1/providers/99999999999999").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_problem(
        app.get("/api/v1/providers/abc").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn free_slots_are_ordered_and_inside_the_window(backend: Backend) {
    let app = spawn_app(backend).await;
    let from = chrono::Utc::now() + chrono::Duration::days(2);
    let to = from + chrono::Duration::days(5);
    let path = format!(
        "/api/v1/slots?from={}&to={}",
        from.format("%Y-%m-%dT%H:%M:%SZ"),
        to.format("%Y-%m-%dT%H:%M:%SZ")
    );
    let body = app.get_json(&path).await;
    let items = body["items"].as_array().unwrap();
    assert!(!items.is_empty());
    let starts: Vec<chrono::DateTime<chrono::Utc>> = items
        .iter()
        .map(|s| s["start"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "ordered by start");
    assert!(starts
        .iter()
        .all(|s| *s >= from - chrono::Duration::seconds(1) && *s < to));
    assert!(items.iter().all(|s| s["status"] == "free"));
    // Local time carries the clinic's offset (Phoenix: -07:00, no DST).
    assert!(items[0]["local_start"]
        .as_str()
        .unwrap()
        .ends_with("-07:00"));

    // One provider's slots only.
    let provider_id = items[0]["provider_id"].as_i64().unwrap();
    let body = app
        .get_json(&format!("{path}&provider_id={provider_id}"))
        .await;
    assert!(body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["provider_id"] == provider_id));

    // Paging with `limit` reports where to continue.
    let body = app.get_json(&format!("{path}&limit=3")).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 3);
    assert_eq!(body["next_from"], items[3]["start"]);

    // Dates are the clinic's local days.
    let body = app
        .get_json("/api/v1/slots?from=2026-01-05&to=2026-01-06")
        .await;
    assert_eq!(body["from"], "2026-01-05T07:00:00Z");
}

/// A week that starts in two days: lists with an explicit `from` are the ones kept in memory,
/// and its visits can still be cancelled online (the booking rules' cut-off is 24 hours).
fn a_week_ahead() -> String {
    let from = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive();
    format!(
        "/api/v1/slots?from={from}&to={}",
        from + chrono::Duration::days(7)
    )
}

fn listed_ids(list: &Value) -> Vec<i64> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect()
}

async fn a_listed_slot_leaves_the_list_when_booked_and_returns_when_cancelled(backend: Backend) {
    // A cache long enough that only invalidation can explain a changed list.
    let app = spawn_app_with(backend, |s| s.http.availability_cache_ms = 60_000).await;
    let path = a_week_ahead();
    let before = app.get_json(&path).await;
    assert_eq!(
        app.get_json(&path).await,
        before,
        "a repeated read is the same"
    );
    let slot_id = listed_ids(&before)[0];

    let booking = app.book_ok(slot_id).await;
    let after_booking = listed_ids(&app.get_json(&path).await);
    assert!(
        !after_booking.contains(&slot_id),
        "a booked slot is not offered"
    );
    assert_eq!(after_booking.len(), listed_ids(&before).len() - 1);

    let cancelled = app
        .cancel(
            booking["reference"].as_str().unwrap(),
            booking["manage_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    assert_eq!(
        app.get_json(&path).await,
        before,
        "the cancelled slot is offered again"
    );

    // A request that fails changes nothing, and the list is still right after it.
    assert_eq!(
        app.book(slot_id + 1_000_000).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get_json(&path).await, before);
}

async fn a_change_made_elsewhere_shows_in_the_list_within_the_cache_time(backend: Backend) {
    // Another copy of the server (here: a write straight to the database) does not tell this
    // one; the list may be stale for at most `availability_cache_ms`.
    let app = spawn_app_with(backend, |s| s.http.availability_cache_ms = 300).await;
    let path = a_week_ahead();
    let slot_id = listed_ids(&app.get_json(&path).await)[0];
    app.block_slot_behind_its_back(slot_id).await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(!listed_ids(&app.get_json(&path).await).contains(&slot_id));
}

async fn slot_windows_are_bounded(backend: Backend) {
    let app = spawn_app(backend).await;
    for bad in [
        "/api/v1/slots?from=2027-01-01&to=2027-03-05",
        "/api/v1/slots?from=2027-01-10&to=2027-01-01",
        "/api/v1/slots?from=2027-01-10&to=2027-01-10",
        "/api/v1/slots?from=yesterday",
        "/api/v1/slots?provider_id=x",
        "/api/v1/slots?limit=0",
        "/api/v1/slots?colour=blue",
    ] {
        assert_problem(app.get(bad).await, StatusCode::BAD_REQUEST).await;
    }
    app.get_json("/api/v1/slots?from=2027-01-01&to=2027-03-04")
        .await;
    assert_problem(
        app.get("/api/v1/slots?provider_id=424242").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn schedule_appointment_lists_the_next_free_slots(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = app.get_json("/api/v1/schedule-appointment").await;
    assert_eq!(body["headline"], "Schedule an appointment");
    assert!(body["text"].as_str().unwrap().contains("pain-free"));
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 5, "the configured count");
    let all = app.free_slots().await;
    let expected: Vec<&serde_json::Value> = all.iter().take(5).map(|s| &s["id"]).collect();
    let got: Vec<&serde_json::Value> = items.iter().map(|s| &s["id"]).collect();
    assert_eq!(got, expected, "the earliest free slots, in order");
    assert!(items[0]["provider"]["name"].is_string());
    assert_eq!(body["book"]["method"], "POST");
    assert_eq!(body["book"]["url"], "/api/v1/bookings");

    let body = app
        .get_json("/api/v1/schedule-appointment?limit=2&provider_id=2")
        .await;
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|s| s["provider"]["id"] == 2));
    assert_problem(
        app.get("/api/v1/schedule-appointment?limit=500").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

async fn unknown_routes_are_problem_documents(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_problem(app.get("/api/v1/nothing-here").await, StatusCode::NOT_FOUND).await;
}
