//! The OWASP API Security Top 10 items that apply here, as one table: each row is an attack
//! and the answer the API must give. Deeper tests of each live beside the feature (auth.rs,
//! roles.rs, bookings.rs, validation.rs, call_to_action.rs); this table keeps them in one view.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{patient, spawn_app_with, Backend};

crate::both_backends!(
    the_threat_table_holds,
    injection_strings_are_stored_and_returned_verbatim
);

struct Attack {
    owasp: &'static str,
    what: &'static str,
    method: Method,
    path: String,
    token: Option<String>,
    body: Option<Value>,
    raw_body: Option<String>,
    expect: StatusCode,
}

async fn the_threat_table_holds(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.http.rate_limit_per_minute = 20).await;
    let slots = app.free_slot_ids().await;
    let a = app.book_ok(slots[0]).await;
    let b = app.book_ok(slots[1]).await;
    let token_a = a["manage_token"].as_str().unwrap().to_owned();
    let ref_b = b["reference"].as_str().unwrap().to_owned();
    let provider = app.staff_token("provider").await;
    let desk = app.staff_token("front_desk").await;
    let attack =
        |owasp, what, method, path: String, token: Option<&String>, body: Option<Value>, expect| {
            Attack {
                owasp,
                what,
                method,
                path,
                token: token.cloned(),
                body,
                raw_body: None,
                expect,
            }
        };
    let mut table = vec![
        attack(
            "API1 broken object level authorization",
            "manage token of A reads B",
            Method::GET,
            format!("/api/v1/bookings/{ref_b}"),
            Some(&token_a),
            None,
            StatusCode::NOT_FOUND,
        ),
        attack(
            "API1",
            "manage token of A cancels B",
            Method::POST,
            format!("/api/v1/bookings/{ref_b}/cancel"),
            Some(&token_a),
            None,
            StatusCode::NOT_FOUND,
        ),
        attack(
            "API1",
            "manage token of A moves B",
            Method::POST,
            format!("/api/v1/bookings/{ref_b}/reschedule"),
            Some(&token_a),
            Some(json!({"slot_id": slots[2]})),
            StatusCode::NOT_FOUND,
        ),
        attack(
            "API2 broken authentication",
            "a manage token on the day sheet",
            Method::GET,
            "/api/v1/bookings".into(),
            Some(&token_a),
            None,
            StatusCode::UNAUTHORIZED,
        ),
        attack(
            "API2",
            "a made-up bearer token",
            Method::GET,
            format!("/api/v1/bookings/{ref_b}"),
            Some(&"eyJhbGciOiJub25lIn0.e30.".to_owned()),
            None,
            StatusCode::UNAUTHORIZED,
        ),
        attack(
            "API5 broken function level authorization",
            "a provider reads the audit log",
            Method::GET,
            "/api/v1/audit".into(),
            Some(&provider),
            None,
            StatusCode::FORBIDDEN,
        ),
        attack(
            "API5",
            "the front desk reads the mail queue",
            Method::GET,
            "/api/v1/admin/outbox".into(),
            Some(&desk),
            None,
            StatusCode::FORBIDDEN,
        ),
        attack(
            "API5",
            "the front desk creates a provider",
            Method::POST,
            "/api/v1/providers".into(),
            Some(&desk),
            Some(json!({"name": "Dr. Fake", "specialty": "x"})),
            StatusCode::FORBIDDEN,
        ),
        attack(
            "API3 broken object property level authorization",
            "a patient sets the status",
            Method::POST,
            "/api/v1/bookings".into(),
            None,
            Some(json!({"slot_id": slots[3], "patient": patient(), "status": "arrived"})),
            StatusCode::BAD_REQUEST,
        ),
        attack(
            "API3",
            "a patient claims the front desk as source",
            Method::POST,
            "/api/v1/bookings".into(),
            None,
            Some(json!({"slot_id": slots[3], "patient": patient(), "source": "front_desk"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        attack(
            "API3",
            "a patient clears the review flag",
            Method::POST,
            "/api/v1/schedule-appointment".into(),
            None,
            Some(json!({"patient": patient(), "needs_review": false})),
            StatusCode::BAD_REQUEST,
        ),
        attack(
            "API4 unrestricted resource consumption",
            "a window of years",
            Method::GET,
            "/api/v1/slots?from=2026-01-01&to=2029-01-01".into(),
            None,
            None,
            StatusCode::BAD_REQUEST,
        ),
        attack(
            "API4",
            "a page of a million",
            Method::GET,
            "/api/v1/slots?limit=1000000".into(),
            None,
            None,
            StatusCode::BAD_REQUEST,
        ),
        attack(
            "API4",
            "an audit page of a million",
            Method::GET,
            "/api/v1/audit?limit=1000000".into(),
            Some(&app.staff_token("admin").await),
            None,
            StatusCode::BAD_REQUEST,
        ),
    ];
    table.push(Attack {
        owasp: "API4",
        what: "a 1 MiB body",
        method: Method::POST,
        path: "/api/v1/bookings".into(),
        token: None,
        body: None,
        raw_body: Some(format!("{{\"reason\": \"{}\"}}", "x".repeat(1 << 20))),
        expect: StatusCode::PAYLOAD_TOO_LARGE,
    });
    for row in &table {
        let mut request = app.client.request(row.method.clone(), app.url(&row.path));
        if let Some(token) = &row.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = &row.body {
            request = request.json(body);
        }
        if let Some(raw) = &row.raw_body {
            request = request
                .header("content-type", "application/json")
                .body(raw.clone());
        }
        let response = request.send().await.expect("response");
        assert_eq!(response.status(), row.expect, "{}: {}", row.owasp, row.what);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            content_type, "application/problem+json",
            "{}: {}",
            row.owasp, row.what
        );
    }
    // B is untouched by everything above.
    let b_now = app
        .get_booking(&ref_b, b["manage_token"].as_str().unwrap())
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        (b_now["status"].as_str(), &b_now["slot"]["id"]),
        (Some("booked"), &json!(slots[1]))
    );

    // API4: a flood of public POSTs from one address meets 429 with Retry-After.
    let mut limited = 0;
    for _ in 0..30 {
        let response = app
            .post_json(
                "/api/v1/schedule-appointment",
                &json!({"patient": patient()}),
            )
            .await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().contains_key("retry-after"));
            limited += 1;
        }
    }
    assert!(limited > 0, "the flood was never limited");
}

async fn injection_strings_are_stored_and_returned_verbatim(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let hostile = [
        "Robert'); DROP TABLE bookings;--",
        "<img src=x onerror=alert(1)>",
        "{{7*7}} ${7*7} <%= 7*7 %>",
        "' OR '1'='1",
        "\u{202e}gnp.exe",
        "../../etc/passwd",
    ];
    let admin = app.staff_token("admin").await;
    for (i, text) in hostile.iter().enumerate() {
        let slot = app.free_slot_ids().await[0];
        let body = json!({
            "slot_id": slot,
            "patient": {"name": text, "email": format!("p{i}@example.com")},
            "reason": text,
        });
        let response = app.post_json("/api/v1/bookings", &body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{text}");
        let booking: Value = response.json().await.unwrap();
        let read: Value = app.read_booking(&booking).await;
        assert_eq!(read["patient"]["name"], *text);
        assert_eq!(read["reason"], *text);

        let provider = app
            .send_ok(
                Method::POST,
                "/api/v1/providers",
                &admin,
                Some(&json!({"name": format!("Dr. {text}"), "specialty": "pain_medicine", "bio": text})),
                StatusCode::CREATED,
            )
            .await;
        assert_eq!(provider["bio"], *text);
    }
    // Nothing was executed: every table still answers.
    assert!(
        app.get_json("/api/v1/providers").await["items"]
            .as_array()
            .unwrap()
            .len()
            >= 3
    );
    app.send_ok(Method::GET, "/api/v1/audit", &admin, None, StatusCode::OK)
        .await;
}
