//! Bad input gets a clear 4xx problem document, never a 500.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, patient, spawn_app, Backend};

crate::both_backends!(
    invalid_fields_are_named,
    malformed_requests_are_400,
    oversized_bodies_are_413,
    hostile_text_is_stored_verbatim,
    nul_bytes_get_a_4xx_not_a_database_error,
    unknown_paths_and_wrong_methods_get_problem_documents,
);

async fn unknown_paths_and_wrong_methods_get_problem_documents(backend: Backend) {
    let app = spawn_app(backend).await;
    let request = |method: reqwest::Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .header("content-type", "application/json")
            .body("{}")
            .send()
    };
    let unknown = request(reqwest::Method::GET, "/api/v1/appointments")
        .await
        .unwrap();
    assert_problem(unknown, StatusCode::NOT_FOUND).await;
    for (method, path) in [
        (reqwest::Method::DELETE, "/api/v1/bookings"),
        (reqwest::Method::PUT, "/api/v1/providers/1"),
        (reqwest::Method::POST, "/health"),
        (reqwest::Method::GET, "/api/v1/auth/login"),
    ] {
        let response = request(method.clone(), path).await.unwrap();
        let problem = assert_problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
        assert_eq!(
            problem["detail"],
            format!("{method} is not allowed on {path}"),
            "{method} {path}"
        );
    }
}

async fn invalid_fields_are_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let slot_id = app.free_slot_ids().await[0];
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"slot_id": slot_id, "patient": {"name": "", "email": "not-an-email", "phone": "call me", "date_of_birth": "2999-01-01"}}),
            vec![
                "patient.name",
                "patient.email",
                "patient.phone",
                "patient.date_of_birth",
            ],
        ),
        (
            json!({"slot_id": slot_id, "patient": {"name": "x".repeat(101), "email": "a@example.com"}}),
            vec!["patient.name"],
        ),
        (
            json!({"slot_id": slot_id, "patient": {"name": "Ana", "email": "a@example.com", "date_of_birth": "1984-02-30"}}),
            vec!["patient.date_of_birth"],
        ),
        (
            json!({"patient": {}}),
            vec!["slot_id", "patient.name", "patient.email"],
        ),
        (json!({"slot_id": slot_id}), vec!["patient"]),
        (
            json!({"slot_id": slot_id, "patient": patient(), "source": "front_desk"}),
            vec!["source"],
        ),
        (
            json!({"slot_id": slot_id, "patient": patient(), "reason": "r".repeat(1001)}),
            vec!["reason"],
        ),
    ];
    for (body, fields) in cases {
        let problem = assert_problem(
            app.post_json("/api/v1/bookings", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        let errors = problem["errors"].as_object().expect("errors");
        for field in &fields {
            assert!(
                errors.contains_key(*field),
                "{field} not named in {errors:?}"
            );
        }
        assert_eq!(
            errors.len(),
            fields.len(),
            "only the bad fields: {errors:?}"
        );
    }
    assert_eq!(app.bookings_for_slot(slot_id).await, 0);
}

async fn malformed_requests_are_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let post_raw = |body: &'static str, content_type: &'static str| {
        let request = app
            .client
            .post(app.url("/api/v1/bookings"))
            .header("content-type", content_type)
            .body(body);
        async move { request.send().await.unwrap() }
    };
    for body in [
        "{",
        "[]",
        "null",
        "{\"slot_id\": \"one\"}",
        "{\"slot_id\": 1.5}",
        "{\"slot_id\": 1, \"status\": \"arrived\"}",
    ] {
        assert_problem(
            post_raw(body, "application/json").await,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    assert_problem(post_raw("{}", "text/plain").await, StatusCode::BAD_REQUEST).await;
    let booking = app.book_ok(app.free_slot_ids().await[0]).await;
    let reschedule = app
        .client
        .post(app.url(&format!(
            "/api/v1/bookings/{}/reschedule",
            booking["reference"].as_str().unwrap()
        )))
        .bearer_auth(booking["manage_token"].as_str().unwrap())
        .header("content-type", "application/json")
        .body("{\"slot\": 3}")
        .send()
        .await
        .unwrap();
    assert_problem(reschedule, StatusCode::BAD_REQUEST).await;
}

async fn oversized_bodies_are_413(backend: Backend) {
    let app = spawn_app(backend).await;
    let huge = json!({"slot_id": 1, "patient": patient(), "reason": "x".repeat(70 * 1024)});
    assert_problem(
        app.post_json("/api/v1/bookings", &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
}

async fn hostile_text_is_stored_verbatim(backend: Backend) {
    let app = spawn_app(backend).await;
    let slot_id = app.free_slot_ids().await[0];
    let name = "Robert'); DROP TABLE bookings;-- <script>alert(1)</script>";
    let reason = "' OR 1=1 -- {{7*7}} ${jndi:ldap://x}";
    let response = app
        .post_json(
            "/api/v1/bookings",
            &json!({"slot_id": slot_id, "patient": {"name": name, "email": "bobby@example.com"}, "reason": reason}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let booking: Value = response.json().await.unwrap();
    let read: Value = app.read_booking(&booking).await;
    assert_eq!(read["patient"]["name"], name);
    assert_eq!(read["reason"], reason);
    assert_eq!(
        app.get_json("/api/v1/providers").await["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

/// PostgreSQL refuses NUL in text: every place client text reaches a query must catch it first.
/// (Found by review; schemathesis ran on SQLite only at the time.)
async fn nul_bytes_get_a_4xx_not_a_database_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let cta = app.get("/api/v1/schedule-appointment?visit_type=%00").await;
    assert_problem(cta, StatusCode::BAD_REQUEST).await;
    let login = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "a\u{0}@example.com", "password": "x"}),
        )
        .await;
    assert_problem(login, StatusCode::UNAUTHORIZED).await;
    let slot = app.free_slot_ids().await[0];
    for patient in [
        json!({"name": "A\u{0}B", "email": "a@example.com"}),
        json!({"name": "Ana", "email": "a\u{0}@example.com"}),
        json!({"name": "Ana", "email": "a@example.com", "phone": "\u{0}"}),
    ] {
        let response = app
            .post_json(
                "/api/v1/bookings",
                &json!({"slot_id": slot, "patient": patient}),
            )
            .await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let reason = json!({"slot_id": slot, "patient": patient(), "reason": "x\u{0}"});
    assert_problem(
        app.post_json("/api/v1/bookings", &reason).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let key = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("Idempotency-Key", "a\tb")
        .json(&json!({"slot_id": slot, "patient": patient()}))
        .send()
        .await
        .unwrap();
    assert_problem(key, StatusCode::BAD_REQUEST).await;
}
