//! Every staff endpoint against every role, table-driven: the roles the API contract names get
//! through, the others get 403, and no token at all gets 401. A patient's manage token opens
//! its own booking's read, cancel and reschedule routes and is a 401 everywhere else (even the
//! status change of that very booking).

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

/// The routes a booking's own manage token opens (docs/ARCHITECTURE.md: a booking's manage token
/// or any staff member may read, cancel or reschedule it).
const MANAGE_TOKEN_OPENS: &[&str] = &[
    "GET /bookings/{reference}",
    "POST /bookings/{reference}/cancel",
    "POST /bookings/{reference}/reschedule",
];

/// A fresh request to an endpoint, and the manage token of the booking it names (if it names
/// one).
struct Request {
    method: Method,
    path: String,
    body: Option<Value>,
    manage_token: Option<String>,
}

const ENDPOINTS: [Endpoint; 13] = [
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
    // Cancelling through a status change: any staff member, as the cancel route
    // (docs/ARCHITECTURE.md).
    Endpoint {
        name: "PATCH /bookings/{reference} cancelled",
        allowed: ANY,
        success: StatusCode::OK,
    },
    Endpoint {
        name: "POST /bookings/{reference}/cancel",
        allowed: ANY,
        success: StatusCode::OK,
    },
    Endpoint {
        name: "POST /bookings/{reference}/reschedule",
        allowed: ANY,
        success: StatusCode::OK,
    },
    Endpoint {
        name: "GET /audit",
        allowed: ADMIN,
        success: StatusCode::OK,
    },
];

/// A fresh request for `endpoint`.
async fn request_for(app: &TestApp, endpoint: &str, n: i64) -> Request {
    let booking = || async {
        let slot = app.insert_slot(60 * 24 * 20 + n * 60).await;
        let booked = app
            .book_for(slot, &crate::helpers::another_patient(n as usize))
            .await;
        (
            booked["reference"].as_str().unwrap().to_owned(),
            booked["manage_token"].as_str().unwrap().to_owned(),
        )
    };
    let plain = |method: Method, path: &str, body: Option<Value>| Request {
        method,
        path: path.to_owned(),
        body,
        manage_token: None,
    };
    match endpoint {
        "POST /providers" => plain(
            Method::POST,
            "/api/v1/providers",
            Some(json!({"name": format!("Dr. Role {n}"), "specialty": "pain_medicine"})),
        ),
        "PATCH /providers/{id}" => plain(
            Method::PATCH,
            "/api/v1/providers/1",
            Some(json!({"bio": format!("Edited {n}")})),
        ),
        "POST /providers/{id}/slots" => {
            let start =
                chrono::Utc::now() + chrono::Duration::days(40) + chrono::Duration::hours(n);
            let end = start + chrono::Duration::minutes(30);
            plain(
                Method::POST,
                "/api/v1/providers/2/slots",
                Some(json!({"start": start.to_rfc3339(), "end": end.to_rfc3339()})),
            )
        }
        "POST /providers/{id}/schedule" => {
            let day = chrono::Utc::now().date_naive() + chrono::Duration::days(50 + n);
            plain(
                Method::POST,
                "/api/v1/providers/3/schedule",
                Some(json!({
                    "from_date": day.to_string(), "to_date": day.to_string(),
                    "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    "start_time": "09:00", "end_time": "10:00", "slot_minutes": 30
                })),
            )
        }
        "PATCH /slots/{id}" => {
            let slot = app.insert_slot(60 * 24 * 25 + n * 60).await;
            plain(
                Method::PATCH,
                &format!("/api/v1/slots/{slot}"),
                Some(json!({"status": "blocked"})),
            )
        }
        "GET /bookings" => plain(Method::GET, "/api/v1/bookings", None),
        "POST /bookings" => {
            let slot = app.insert_slot(60 * 24 * 30 + n * 60).await;
            plain(
                Method::POST,
                "/api/v1/bookings",
                Some(
                    json!({"slot_id": slot, "patient": crate::helpers::another_patient(n as usize)}),
                ),
            )
        }
        "GET /bookings/{reference}" => {
            let (reference, token) = booking().await;
            Request {
                manage_token: Some(token),
                ..plain(Method::GET, &format!("/api/v1/bookings/{reference}"), None)
            }
        }
        "PATCH /bookings/{reference}" => {
            let (reference, token) = booking().await;
            // Within check-in hours, so a role that may check patients in can.
            app.move_visit(&reference, 30).await;
            Request {
                manage_token: Some(token),
                ..plain(
                    Method::PATCH,
                    &format!("/api/v1/bookings/{reference}"),
                    Some(json!({"status": "arrived"})),
                )
            }
        }
        "PATCH /bookings/{reference} cancelled" => {
            let (reference, token) = booking().await;
            Request {
                manage_token: Some(token),
                ..plain(
                    Method::PATCH,
                    &format!("/api/v1/bookings/{reference}"),
                    Some(json!({"status": "cancelled"})),
                )
            }
        }
        "POST /bookings/{reference}/cancel" => {
            let (reference, token) = booking().await;
            Request {
                manage_token: Some(token),
                ..plain(
                    Method::POST,
                    &format!("/api/v1/bookings/{reference}/cancel"),
                    None,
                )
            }
        }
        "POST /bookings/{reference}/reschedule" => {
            let (reference, token) = booking().await;
            let target = app.insert_slot(60 * 24 * 35 + n * 60).await;
            Request {
                manage_token: Some(token),
                ..plain(
                    Method::POST,
                    &format!("/api/v1/bookings/{reference}/reschedule"),
                    Some(json!({"slot_id": target})),
                )
            }
        }
        "GET /audit" => plain(Method::GET, "/api/v1/audit", None),
        other => panic!("no request for {other}"),
    }
}

/// The status of a booking, straight from the database.
async fn stored_status(app: &TestApp, path: &str) -> String {
    use clinic_booking::db::schema::bookings;
    use diesel::prelude::*;
    let reference = path
        .trim_start_matches("/api/v1/bookings/")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    app.with_db(move |conn| {
        bookings::table
            .filter(bookings::reference.eq(reference))
            .select(bookings::status)
            .first(conn)
            .unwrap()
    })
    .await
}

async fn every_role_meets_every_staff_endpoint(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut tokens = Vec::new();
    for role in ["admin", "front_desk", "provider"] {
        tokens.push((role, app.staff_token(role).await));
    }
    // A manage token of some other booking, for the endpoints that name none.
    let other_booking = app.insert_slot(60 * 24 * 19).await;
    let other_manage_token = app.book_ok(other_booking).await["manage_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut n = 0;
    for endpoint in &ENDPOINTS {
        n += 1;
        let Request {
            method, path, body, ..
        } = request_for(&app, endpoint.name, n).await;
        let response = app.send(method, &path, None, body.as_ref()).await;
        if endpoint.name == "POST /bookings" {
            // Without a token it is the public booking form.
            assert_eq!(response.status(), StatusCode::CREATED);
            let booking: Value = response.json().await.unwrap();
            assert_eq!(booking["source"], "website");
        } else {
            assert_problem(response, StatusCode::UNAUTHORIZED).await;
        }
        // A patient's manage token: its own booking's read, cancel and reschedule, else 401.
        n += 1;
        let request = request_for(&app, endpoint.name, n).await;
        let own_booking = request.manage_token.is_some();
        let token = request.manage_token.unwrap_or(other_manage_token.clone());
        let status_before = if own_booking {
            Some(stored_status(&app, &request.path).await)
        } else {
            None
        };
        let response = app
            .send(
                request.method,
                &request.path,
                Some(&token),
                request.body.as_ref(),
            )
            .await;
        if MANAGE_TOKEN_OPENS.contains(&endpoint.name) {
            let status = response.status();
            let text = response.text().await.unwrap();
            assert_eq!(
                status,
                StatusCode::OK,
                "{} with its manage token: {text}",
                endpoint.name
            );
        } else {
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{} with a manage token",
                endpoint.name
            );
            assert_problem(response, StatusCode::UNAUTHORIZED).await;
            if let Some(before) = status_before {
                assert_eq!(
                    stored_status(&app, &request.path).await,
                    before,
                    "{} with a manage token changed the booking",
                    endpoint.name
                );
            }
        }
        for (role, token) in &tokens {
            n += 1;
            let Request {
                method, path, body, ..
            } = request_for(&app, endpoint.name, n).await;
            let response = app.send(method, &path, Some(token), body.as_ref()).await;
            if endpoint.allowed.contains(role) {
                let status = response.status();
                let text = response.text().await.unwrap();
                assert_eq!(
                    status, endpoint.success,
                    "{} as {role} should succeed: {text}",
                    endpoint.name
                );
                if endpoint.name.ends_with("cancelled") {
                    assert_eq!(stored_status(&app, &path).await, "cancelled", "as {role}");
                }
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
