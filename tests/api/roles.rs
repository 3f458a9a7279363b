//! Every staff endpoint against every role, table-driven: the roles the API contract names get
//! through, the others get 403, and no token at all gets 401.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, Backend, TestApp};

crate::both_backends!(every_role_meets_every_staff_endpoint);

const ADMIN: &[&str] = &["admin"];
const DESK: &[&str] = &["admin", "front_desk"];
const ANY: &[&str] = &["admin", "front_desk", "provider"];

/// One staff endpoint: who may call it, and how to make a fresh request to it (some requests
/// use up what they act on, e.g. a booking that gets cancelled).
struct Endpoint {
    name: &'static str,
    allowed: &'static [&'static str],
    success: StatusCode,
}

const ENDPOINTS: [Endpoint; 12] = [
    Endpoint {
        name: "POST /providers",
        allowed: ADMIN,
        success: StatusCode::CREATED,
    },
    Endpoint {
        name: "PATCH /providers/{id}",
        allowed: ADMIN,
        success: StatusCode::OK,
    },
    Endpoint {
        name: "POST /providers/{id}/slots",
        allowed: DESK,
        success: StatusCode::CREATED,
    },
    Endpoint {
        name: "POST /providers/{id}/schedule",
        allowed: DESK,
        success: StatusCode::OK,
    },
    Endpoint {
        name: "PATCH /slots/{id}",
        allowed: DESK,
        success: StatusCode::OK,
    },
    Endpoint {
        name: "GET /bookings",
        allowed: ANY,
        success: StatusCode::OK,
    },
    Endpoint {
        name: "POST /bookings",
        allowed: ANY,
        success: StatusCode::CREATED,
    },
    Endpoint {
        name: "GET /bookings/{reference}",
        allowed: ANY,
        success: StatusCode::OK,
    },
    Endpoint {
        name: "PATCH /bookings/{reference}",
        allowed: ANY,
        success: StatusCode::OK,
    },
    Endpoint {
        name: "POST /bookings/{reference}/cancel",
        allowed: DESK,
        success: StatusCode::OK,
    },
    Endpoint {
        name: "POST /bookings/{reference}/reschedule",
        allowed: DESK,
        success: StatusCode::OK,
    },
    Endpoint {
        name: "GET /audit",
        allowed: ADMIN,
        success: StatusCode::OK,
    },
];

/// A fresh request for `endpoint`: method, path, body.
async fn request_for(app: &TestApp, endpoint: &str, n: i64) -> (Method, String, Option<Value>) {
    let booking = || async {
        let slot = app.insert_slot(60 * 24 * 20 + n * 60).await;
        app.book_ok(slot).await["reference"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    match endpoint {
        "POST /providers" => (
            Method::POST,
            "/api/v1/providers".into(),
            Some(json!({"name": format!("Dr. Role {n}"), "specialty": "pain_medicine"})),
        ),
        "PATCH /providers/{id}" => (
            Method::PATCH,
            "/api/v1/providers/1".into(),
            Some(json!({"bio": format!("Edited {n}")})),
        ),
        "POST /providers/{id}/slots" => {
            let start =
                chrono::Utc::now() + chrono::Duration::days(40) + chrono::Duration::hours(n);
            let end = start + chrono::Duration::minutes(30);
            (
                Method::POST,
                "/api/v1/providers/2/slots".into(),
                Some(json!({"start": start.to_rfc3339(), "end": end.to_rfc3339()})),
            )
        }
        "POST /providers/{id}/schedule" => (
            Method::POST,
            "/api/v1/providers/3/schedule".into(),
            Some(json!({
                "from_date": "2027-06-01", "to_date": "2027-06-07", "weekdays": ["tue"],
                "start_time": "09:00", "end_time": "10:00", "slot_minutes": 30
            })),
        ),
        "PATCH /slots/{id}" => {
            let slot = app.insert_slot(60 * 24 * 25 + n * 60).await;
            (
                Method::PATCH,
                format!("/api/v1/slots/{slot}"),
                Some(json!({"status": "blocked"})),
            )
        }
        "GET /bookings" => (Method::GET, "/api/v1/bookings".into(), None),
        "POST /bookings" => {
            let slot = app.insert_slot(60 * 24 * 30 + n * 60).await;
            (
                Method::POST,
                "/api/v1/bookings".into(),
                Some(json!({"slot_id": slot, "patient": crate::helpers::patient()})),
            )
        }
        "GET /bookings/{reference}" => (
            Method::GET,
            format!("/api/v1/bookings/{}", booking().await),
            None,
        ),
        "PATCH /bookings/{reference}" => (
            Method::PATCH,
            format!("/api/v1/bookings/{}", booking().await),
            Some(json!({"status": "arrived"})),
        ),
        "POST /bookings/{reference}/cancel" => (
            Method::POST,
            format!("/api/v1/bookings/{}/cancel", booking().await),
            None,
        ),
        "POST /bookings/{reference}/reschedule" => {
            let reference = booking().await;
            let target = app.insert_slot(60 * 24 * 35 + n * 60).await;
            (
                Method::POST,
                format!("/api/v1/bookings/{reference}/reschedule"),
                Some(json!({"slot_id": target})),
            )
        }
        "GET /audit" => (Method::GET, "/api/v1/audit".into(), None),
        other => panic!("no request for {other}"),
    }
}

async fn every_role_meets_every_staff_endpoint(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut tokens = Vec::new();
    for role in ["admin", "front_desk", "provider"] {
        tokens.push((role, app.staff_token(role).await));
    }
    let mut n = 0;
    for endpoint in &ENDPOINTS {
        n += 1;
        let (method, path, body) = request_for(&app, endpoint.name, n).await;
        let response = app.send(method, &path, None, body.as_ref()).await;
        if endpoint.name == "POST /bookings" {
            // Without a token it is the public booking form.
            assert_eq!(response.status(), StatusCode::CREATED);
            let booking: Value = response.json().await.unwrap();
            assert_eq!(booking["source"], "website");
        } else {
            assert_problem(response, StatusCode::UNAUTHORIZED).await;
        }
        for (role, token) in &tokens {
            n += 1;
            let (method, path, body) = request_for(&app, endpoint.name, n).await;
            let response = app.send(method, &path, Some(token), body.as_ref()).await;
            if endpoint.allowed.contains(role) {
                let status = response.status();
                let text = response.text().await.unwrap();
                assert_eq!(
                    status, endpoint.success,
                    "{} as {role} should succeed: {text}",
                    endpoint.name
                );
            } else {
                assert_eq!(
                    response.status(),
                    StatusCode::FORBIDDEN,
                    "{} as {role} should be forbidden",
                    endpoint.name
                );
                let problem = assert_problem(response, StatusCode::FORBIDDEN).await;
                assert!(problem["detail"]
                    .as_str()
                    .unwrap()
                    .contains("needs the role"));
            }
        }
    }
}
