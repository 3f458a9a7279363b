//! Staff login and what a staff token must be: every forged kind is a 401, the wrong role a 403.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, Backend, TestApp, STAFF_PASSWORD};

crate::both_backends!(
    login_returns_a_short_lived_staff_token,
    unknown_users_and_wrong_passwords_look_the_same,
    repeated_failures_are_throttled,
    concurrent_guesses_cannot_exceed_the_limit,
    forged_tokens_are_refused,
    forged_tokens_cannot_open_bookings,
    tokens_of_deactivated_accounts_are_refused,
    create_user_refuses_duplicates,
);

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("claims")
}

async fn login_returns_a_short_lived_staff_token(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.auth.staff_token_minutes = 20).await;
    let id = app
        .create_user("Desk@Clinic.example", "front_desk", STAFF_PASSWORD)
        .await;
    // Addresses are matched case-insensitively.
    let response = app.login("desk@clinic.EXAMPLE", STAFF_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 20 * 60);
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], "clinic-booking:staff");
    assert_eq!(claims["role"], "front_desk");
    assert_eq!(claims["sub"], id.to_string());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        20 * 60
    );
    assert!(claims.get("password").is_none());
}

async fn timed_login(app: &TestApp, email: &str, password: &str) -> (Duration, Value) {
    let started = Instant::now();
    let response = app.login(email, password).await;
    let elapsed = started.elapsed();
    (
        elapsed,
        assert_problem(response, StatusCode::UNAUTHORIZED).await,
    )
}

async fn unknown_users_and_wrong_passwords_look_the_same(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_user("admin@clinic.example", "admin", STAFF_PASSWORD)
        .await;
    let mut unknown = Duration::ZERO;
    let mut wrong = Duration::ZERO;
    let mut bodies = Vec::new();
    for i in 0..3 {
        let (t, body) = timed_login(
            &app,
            &format!("nobody{i}@clinic.example"),
            "whatever-password",
        )
        .await;
        unknown += t;
        bodies.push(body);
        let (t, body) =
            timed_login(&app, "admin@clinic.example", &format!("wrong-password-{i}")).await;
        wrong += t;
        bodies.push(body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "one answer for both: {bodies:?}"
    );
    // Both verify an argon2 hash; an unknown address must not answer in a fraction of the time.
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
    assert!(
        (0.25..4.0).contains(&ratio),
        "unknown {unknown:?} vs wrong password {wrong:?}"
    );
    // Missing fields are a 400, not a hint either way.
    let response = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "admin@clinic.example"}),
        )
        .await;
    assert_problem(response, StatusCode::BAD_REQUEST).await;
}

async fn repeated_failures_are_throttled(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_user("admin@clinic.example", "admin", STAFF_PASSWORD)
        .await;
    app.create_user("other@clinic.example", "admin", STAFF_PASSWORD)
        .await;
    for _ in 0..5 {
        let response = app.login("admin@clinic.example", "not-the-password").await;
        assert_problem(response, StatusCode::UNAUTHORIZED).await;
    }
    let response = app.login("admin@clinic.example", "not-the-password").await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    // Even the right password waits until the window has passed.
    let response = app.login("ADMIN@clinic.example", STAFF_PASSWORD).await;
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    // Another account is not affected.
    assert_eq!(
        app.login("other@clinic.example", STAFF_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    // Unknown addresses are throttled the same way, so a 429 does not reveal an account.
    for _ in 0..5 {
        let response = app.login("ghost@clinic.example", "not-the-password").await;
        assert_problem(response, StatusCode::UNAUTHORIZED).await;
    }
    let response = app.login("ghost@clinic.example", "not-the-password").await;
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS).await;

    // A success clears earlier failures.
    for _ in 0..4 {
        app.login("other@clinic.example", "not-the-password").await;
    }
    assert_eq!(
        app.login("other@clinic.example", STAFF_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    for _ in 0..4 {
        let response = app.login("other@clinic.example", "not-the-password").await;
        assert_problem(response, StatusCode::UNAUTHORIZED).await;
    }
}

async fn concurrent_guesses_cannot_exceed_the_limit(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_user("admin@clinic.example", "admin", STAFF_PASSWORD)
        .await;
    // Attempts are counted before the password is checked, so a burst gets exactly five tries.
    let guesses = (0..12).map(|i| {
        let app = &app;
        async move {
            app.login("admin@clinic.example", &format!("guess-number-{i}"))
                .await
                .status()
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let wrong = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!((wrong, refused), (5, 7), "{statuses:?}");
}

fn sign(app: &TestApp, claims: &Value) -> String {
    sign_with(app, Algorithm::HS256, claims)
}

/// Signs with the app's real secret under `algorithm`.
fn sign_with(app: &TestApp, algorithm: Algorithm, claims: &Value) -> String {
    encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(app.jwt_secret.as_bytes()),
    )
    .unwrap()
}

async fn forged_tokens_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin_id, _) = app.staff("admin").await;
    let now = chrono::Utc::now().timestamp();
    let claims = |aud: &str, exp: i64| {
        json!({
            "sub": admin_id.to_string(), "aud": aud, "iss": "clinic-booking",
            "iat": now, "exp": exp, "role": "admin", "email": "admin@clinic.example",
        })
    };
    // A genuine token shows the claims above are what the app accepts.
    let genuine = sign(&app, &claims("clinic-booking:staff", now + 600));
    let expired = sign(&app, &claims("clinic-booking:staff", now - 60));
    let wrong_audience = sign(&app, &claims("clinic-booking:manage", now + 600));
    let wrong_signature = encode(
        &Header::new(Algorithm::HS256),
        &claims("clinic-booking:staff", now + 600),
        &EncodingKey::from_secret(b"not-the-server-secret-but-long-enough"),
    )
    .unwrap();
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims("clinic-booking:staff", now + 600).to_string())
    );
    let mut other_issuer = claims("clinic-booking:staff", now + 600);
    other_issuer["iss"] = json!("someone-else");
    let wrong_issuer = sign(&app, &other_issuer);
    let hs512 = sign_with(
        &app,
        Algorithm::HS512,
        &claims("clinic-booking:staff", now + 600),
    );
    let slot = app.free_slot_ids().await[0];
    let manage_token = app.book_ok(slot).await["manage_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let endpoints = [
        (Method::GET, "/api/v1/bookings", None),
        (Method::GET, "/api/v1/audit", None),
        (
            Method::POST,
            "/api/v1/providers",
            Some(json!({"name": "Dr. X", "specialty": "pain_medicine"})),
        ),
        (
            Method::PATCH,
            "/api/v1/slots/1",
            Some(json!({"status": "blocked"})),
        ),
    ];
    for (method, path, body) in &endpoints {
        let response = app.send(method.clone(), path, None, body.as_ref()).await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_problem(response, StatusCode::UNAUTHORIZED).await;
        for (kind, token) in [
            ("expired", &expired),
            ("wrong signature", &wrong_signature),
            ("alg none", &alg_none),
            ("wrong audience", &wrong_audience),
            ("wrong issuer", &wrong_issuer),
            ("HS512 with the real secret", &hs512),
            ("manage token", &manage_token),
            ("garbage", &"not-a-jwt".to_owned()),
        ] {
            let response = app
                .send(method.clone(), path, Some(token), body.as_ref())
                .await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{kind} token on {method} {path}"
            );
            assert_problem(response, StatusCode::UNAUTHORIZED).await;
        }
    }
    let response = app
        .send(Method::GET, "/api/v1/audit", Some(&genuine), None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // A role the token claims but the role set does not know.
    let mut odd = claims("clinic-booking:staff", now + 600);
    odd["role"] = json!("superuser");
    let response = app
        .send(Method::GET, "/api/v1/audit", Some(&sign(&app, &odd)), None)
        .await;
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
    // A staff token is not a manage token for a booking route that takes either.
    let response = app
        .send(
            Method::POST,
            "/api/v1/bookings",
            Some(&expired),
            Some(&json!({})),
        )
        .await;
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
}

/// Every forged kind of token, shaped as a manage token for `reference` and as an admin's staff
/// token: `(kind, token)`; and first the genuine tokens each forgery differs from in one way.
fn forgeries(
    app: &TestApp,
    reference: &str,
    admin_id: i64,
) -> (Vec<String>, Vec<(String, String)>) {
    let now = chrono::Utc::now().timestamp();
    let manage = json!({
        "sub": reference, "aud": "clinic-booking:manage", "iss": "clinic-booking",
        "iat": now, "exp": now + 3600,
    });
    let staff = json!({
        "sub": admin_id.to_string(), "aud": "clinic-booking:staff", "iss": "clinic-booking",
        "iat": now, "exp": now + 600, "role": "admin", "email": "admin@clinic.example",
    });
    let mut forged = Vec::new();
    let mut genuine_tokens = Vec::new();
    for (shape, genuine) in [("manage", manage), ("staff", staff)] {
        genuine_tokens.push(sign(app, &genuine));
        let with = |key: &str, value: Value| {
            let mut claims = genuine.clone();
            claims[key] = value;
            claims
        };
        let alg_none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(genuine.to_string())
        );
        let wrong_signature = encode(
            &Header::new(Algorithm::HS256),
            &genuine,
            &EncodingKey::from_secret(b"not-the-server-secret-but-long-enough"),
        )
        .unwrap();
        for (kind, token) in [
            ("expired", sign(app, &with("exp", json!(now - 60)))),
            ("wrong signature", wrong_signature),
            ("alg none", alg_none),
            (
                "wrong audience",
                sign(app, &with("aud", json!("clinic-booking:elsewhere"))),
            ),
            (
                "wrong issuer",
                sign(app, &with("iss", json!("someone-else"))),
            ),
            (
                "HS512 with the real secret",
                sign_with(app, Algorithm::HS512, &genuine),
            ),
        ] {
            forged.push((format!("{kind} ({shape})"), token));
        }
    }
    (genuine_tokens, forged)
}

/// The routes that take a manage token or a staff token refuse every forged kind of either, and
/// the booking stays as it was.
async fn forged_tokens_cannot_open_bookings(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin_id, _) = app.staff("admin").await;
    // Days ahead, so that the genuine token can still cancel it online at the end.
    let slots = app.free_slot_ids_from(2).await;
    let booked = app.book_ok(slots[0]).await;
    let reference = booked["reference"].as_str().unwrap().to_owned();
    let manage_token = booked["manage_token"].as_str().unwrap().to_owned();
    let read = || async {
        let response = app.get_booking(&reference, &manage_token).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()
    };
    let before = read().await;
    let (genuine, forged) = forgeries(&app, &reference, admin_id);
    assert_eq!(forged.len(), 12);
    for token in &genuine {
        assert_eq!(
            app.get_booking(&reference, token).await.status(),
            StatusCode::OK
        );
    }
    for (kind, token) in &forged {
        for (what, response) in [
            ("GET", app.get_booking(&reference, token).await),
            ("cancel", app.cancel(&reference, token).await),
            (
                "reschedule",
                app.reschedule(&reference, token, slots[1]).await,
            ),
        ] {
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{kind} token on {what}"
            );
            assert_problem(response, StatusCode::UNAUTHORIZED).await;
        }
    }
    assert_eq!(read().await, before, "the booking is unchanged");
    assert_eq!(app.slot_status(slots[1]).await, "free");
    // The genuine token still opens it: the forgeries failed for what they got wrong.
    assert_eq!(
        app.cancel(&reference, &manage_token).await.status(),
        StatusCode::OK
    );
}

async fn set_active(app: &TestApp, user_id: i64, active: bool) {
    app.with_db(move |conn| {
        use clinic_booking::db::schema::users;
        use diesel::prelude::*;
        diesel::update(users::table.find(user_id as i32))
            .set(users::active.eq(active))
            .execute(conn)
            .unwrap()
    })
    .await;
}

/// A staff token stops working once its account is deactivated, though it has not expired:
/// 401 on every kind of staff route (also where its role would have been a 403), and back when
/// the account is active again.
async fn tokens_of_deactivated_accounts_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin_id, admin) = app.staff("admin").await;
    let (provider_id, provider) = app.staff("provider").await;
    let slots = app.free_slot_ids().await;
    let reference = app.book_ok(slots[0]).await["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let booking_path = format!("/api/v1/bookings/{reference}");
    let requests = [
        (Method::GET, "/api/v1/audit".to_owned(), None),
        (Method::GET, "/api/v1/bookings".to_owned(), None),
        (Method::GET, booking_path.clone(), None),
        (
            Method::POST,
            "/api/v1/bookings".to_owned(),
            Some(json!({"slot_id": slots[1], "patient": crate::helpers::patient()})),
        ),
        (
            Method::POST,
            format!("{booking_path}/reschedule"),
            Some(json!({"slot_id": slots[2]})),
        ),
        (Method::POST, format!("{booking_path}/cancel"), None),
    ];
    // Active: the admin's read works, the provider is a 403 on the admin's audit log.
    assert_eq!(
        app.send(Method::GET, "/api/v1/audit", Some(&admin), None)
            .await
            .status(),
        StatusCode::OK
    );
    assert_problem(
        app.send(Method::GET, "/api/v1/audit", Some(&provider), None)
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;

    set_active(&app, admin_id, false).await;
    set_active(&app, provider_id, false).await;
    for token in [&admin, &provider] {
        for (method, path, body) in &requests {
            let response = app
                .send(method.clone(), path, Some(token), body.as_ref())
                .await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} with a deactivated account's token"
            );
            assert_problem(response, StatusCode::UNAUTHORIZED).await;
        }
    }
    // Nothing those requests asked for happened.
    assert_eq!(app.slot_status(slots[0]).await, "busy");
    assert_eq!(app.slot_status(slots[1]).await, "free");
    assert_eq!(app.slot_status(slots[2]).await, "free");

    // Reactivated, the same (unexpired) token works again.
    set_active(&app, admin_id, true).await;
    assert_eq!(
        app.send(Method::GET, &booking_path, Some(&admin), None)
            .await
            .status(),
        StatusCode::OK
    );
}

async fn create_user_refuses_duplicates(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_user("admin@clinic.example", "admin", STAFF_PASSWORD)
        .await;
    let outcome = app
        .with_db(|conn| {
            use clinic_booking::domain::actor::Actor;
            use clinic_booking::domain::staff::{NewPassword, Role, StaffEmail};
            clinic_booking::clinic::accounts::create_user(
                conn,
                &StaffEmail::parse("Admin@Clinic.Example").unwrap(),
                Role::FrontDesk,
                &NewPassword::parse("another-long-password").unwrap(),
                &Actor::CommandLine,
            )
            .map(|u| u.id)
            .map_err(|e| e.to_string())
        })
        .await;
    assert_eq!(
        outcome,
        Err("a user with this email already exists".to_owned())
    );
    // The original password still works; the stored value is an argon2id hash.
    assert_eq!(
        app.login("admin@clinic.example", STAFF_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    let stored: String = app
        .with_db(|conn| {
            use clinic_booking::db::schema::users;
            use diesel::prelude::*;
            users::table
                .select(users::password_hash)
                .first(conn)
                .unwrap()
        })
        .await;
    assert!(stored.starts_with("$argon2id$"));
    assert!(!stored.contains(STAFF_PASSWORD));
}
