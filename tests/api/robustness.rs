//! Inputs at the edges of what the API accepts: dates and instants far outside the calendar's
//! range in every parameter and body field that takes one, addresses the mailer cannot send to,
//! and answers the framework makes itself (a wrong method, an unknown docs asset, a refused CORS
//! preflight). Each is a 4xx problem document with the security headers, never a 5xx.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{patient, spawn_app, spawn_app_with, Backend, TestApp};

/// Dates and instants chrono (or a lenient parser) reads but the clinic's calendar does not
/// hold: signed and five-digit years, years before 1900 and after 2199.
const FAR_DATES: [&str; 5] = [
    "+262142-12-31",
    "-0001-01-01",
    "12026-01-01",
    "2200-01-01",
    "1899-12-31",
];
const FAR_INSTANTS: [&str; 4] = [
    "9999-12-31T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "2200-01-01T00:00:00+00:00",
    "1899-12-31T12:00:00+00:00",
];

/// Asserts a 4xx problem document with the security headers, and returns its body.
async fn refused(response: Response, what: &str) -> Value {
    let status = response.status();
    assert!(status.is_client_error(), "{what}: {status}");
    let headers = response.headers().clone();
    for name in [
        "x-request-id",
        "x-content-type-options",
        "referrer-policy",
        "cache-control",
    ] {
        assert!(headers.contains_key(name), "{what}: no {name} ({status})");
    }
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "{what}"
    );
    let body: Value = response.json().await.expect("problem json");
    assert_eq!(body["status"], status.as_u16(), "{what}");
    body
}

/// The refusal names `field`: in `errors` (422) or in the detail (400).
fn names(body: &Value, field: &str) -> bool {
    body["errors"].get(field).is_some() || body["detail"].as_str().unwrap_or("").contains(field)
}

async fn far_dates_and_instants_are_refused_naming_the_parameter(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let every = FAR_DATES.iter().chain(FAR_INSTANTS.iter());
    for value in every.clone() {
        let encoded = value.replace('+', "%2B");
        for (path, field, token) in [
            (format!("/api/v1/slots?from={encoded}"), "from", None),
            (format!("/api/v1/slots?to={encoded}"), "to", None),
            (
                format!("/api/v1/audit?from={encoded}"),
                "from",
                Some(&admin),
            ),
            (format!("/api/v1/audit?to={encoded}"), "to", Some(&admin)),
            (
                format!("/api/v1/admin/reports/sources?from={encoded}"),
                "from",
                Some(&admin),
            ),
            (
                format!("/api/v1/admin/reports/sources?to={encoded}"),
                "to",
                Some(&admin),
            ),
        ] {
            let response = app
                .send(Method::GET, &path, token.map(String::as_str), None)
                .await;
            let body = refused(response, &path).await;
            assert!(names(&body, field), "{path}: {body}");
        }
        let body = json!({"patient": patient(), "not_before": value});
        let response = app.post_json("/api/v1/schedule-appointment", &body).await;
        let problem = refused(response, &format!("not_before {value}")).await;
        assert!(names(&problem, "not_before"), "{problem}");
    }
    for date in FAR_DATES {
        let path = format!("/api/v1/bookings?date={}", date.replace('+', "%2B"));
        let response = app.send(Method::GET, &path, Some(&admin), None).await;
        let body = refused(response, &path).await;
        assert!(names(&body, "date"), "{path}: {body}");

        let mut born = patient();
        born["date_of_birth"] = json!(date);
        let slot = app.free_slot_ids().await[0];
        let response = app
            .post_json(
                "/api/v1/bookings",
                &json!({"slot_id": slot, "patient": born}),
            )
            .await;
        let body = refused(response, &format!("date_of_birth {date}")).await;
        assert!(names(&body, "patient.date_of_birth"), "{body}");

        let schedule = json!({
            "from_date": date, "to_date": date, "weekdays": ["mon"],
            "start_time": "09:00", "end_time": "10:00", "slot_minutes": 30
        });
        let response = app
            .send(
                Method::POST,
                "/api/v1/providers/2/schedule",
                Some(&admin),
                Some(&schedule),
            )
            .await;
        let body = refused(response, &format!("schedule {date}")).await;
        assert!(
            names(&body, "from_date") && names(&body, "to_date"),
            "{body}"
        );
    }
    for instant in FAR_INSTANTS {
        for field in ["start", "end"] {
            let mut slot = json!({"start": "2030-01-07T16:00:00Z", "end": "2030-01-07T16:30:00Z"});
            slot[field] = json!(instant);
            let response = app
                .send(
                    Method::POST,
                    "/api/v1/providers/2/slots",
                    Some(&admin),
                    Some(&slot),
                )
                .await;
            let body = refused(response, &format!("slot {field} {instant}")).await;
            assert!(names(&body, field), "{body}");
        }
    }
    // Nothing of it reached the database: the demo clinic is as it was.
    assert!(!app.free_slot_ids().await.is_empty());
}

async fn addresses_the_mailer_cannot_send_to_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let slot = app.free_slot_ids().await[0];
    for email in [r#""ana diaz"@example.com"#, r#""ana@home"@example.com"#] {
        let mut someone = patient();
        someone["email"] = json!(email);
        let response = app
            .post_json(
                "/api/v1/bookings",
                &json!({"slot_id": slot, "patient": someone}),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{email}"
        );
        let body = refused(response, email).await;
        assert!(names(&body, "patient.email"), "{body}");
    }
    assert_eq!(app.bookings_for_slot(slot).await, 0);
}

async fn the_frameworks_own_refusals_are_problem_documents(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.http.allowed_origins = "https://clinic.example".into();
    })
    .await;
    let wrong_method = app
        .send(Method::DELETE, "/api/v1/providers", None, None)
        .await;
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    refused(wrong_method, "405").await;

    let asset = app.get("/docs/no-such-asset.js").await;
    assert_eq!(asset.status(), StatusCode::NOT_FOUND);
    refused(asset, "an unknown docs asset").await;

    let preflight = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/bookings"))
        .header("Origin", "https://elsewhere.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .expect("preflight");
    refused(preflight, "a refused CORS preflight").await;

    let admin = app.staff_token("admin").await;
    for (path, token) in [
        ("/api/v1/schedule-appointment?provider_id=999", None),
        ("/api/v1/bookings?provider_id=999", Some(admin.as_str())),
        ("/api/v1/slots?provider_id=999", None),
    ] {
        let response = app.send(Method::GET, path, token, None).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body = refused(response, path).await;
        assert!(names(&body, "provider"), "{path}: {body}");
    }
}

async fn docs_without_the_slash_redirects_to_the_docs_page(app: &TestApp) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let response = client.get(app.url("/docs")).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(response.headers()["location"], "/docs/");
    let page = app.get("/docs").await;
    assert_eq!(page.status(), StatusCode::OK, "followed to the page");
}

async fn docs_redirect(backend: Backend) {
    let app = spawn_app(backend).await;
    docs_without_the_slash_redirects_to_the_docs_page(&app).await;
}

crate::tests! {
    both_backends: [
        far_dates_and_instants_are_refused_naming_the_parameter,
        addresses_the_mailer_cannot_send_to_are_refused,
        the_frameworks_own_refusals_are_problem_documents,
        docs_redirect,
    ],
}
