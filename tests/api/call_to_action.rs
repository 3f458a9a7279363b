//! "Schedule an appointment": book the earliest time that fits, the intake's red flags, where
//! bookings come from, and what guards the public form (rate limit, honeypot, CORS), plus the
//! booking page and widget being served.

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    another_patient, assert_problem, patient, spawn_app, spawn_app_with, Backend, TestApp,
};

crate::both_backends!(
    it_books_the_earliest_free_slot,
    provider_and_not_before_narrow_the_choice,
    when_nothing_fits_it_names_the_next_dates_with_room,
    red_flags_mark_the_booking_for_review_and_mail_still_goes,
    the_sources_report_counts_bookings_cancellations_and_no_shows,
    admins_see_and_retry_failed_mail,
    public_posts_are_rate_limited_per_client,
    public_posts_say_how_many_are_left,
    behind_a_trusted_proxy_each_patient_has_their_own_limit,
    the_offer_drops_a_booked_time_at_once_and_an_outside_change_within_the_cache_time,
    the_honeypot_rejects_naive_bots,
    cors_allows_the_configured_websites_only,
    the_booking_page_and_widget_are_served,
    the_offer_narrows_by_visit_type_and_carries_the_source,
);

const CTA: &str = "/api/v1/schedule-appointment";

fn start(slot: &Value) -> DateTime<Utc> {
    slot["start"].as_str().unwrap().parse().unwrap()
}

async fn it_books_the_earliest_free_slot(backend: Backend) {
    let app = spawn_app(backend).await;
    let offered = app.get_json(CTA).await;
    let first = offered["items"][0].clone();
    let response = app.post_json(CTA, &json!({"patient": patient()})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let booking: Value = response.json().await.unwrap();
    assert_eq!(booking["slot"]["id"], first["id"], "the earliest free slot");
    assert_eq!(booking["source"], "schedule_cta");
    assert_eq!(booking["confirmation_email"], "queued");
    assert!(booking["manage_token"].is_string());
    // The next request gets the next slot.
    let second: Value = app
        .post_json(CTA, &json!({"patient": patient()}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["slot"]["id"], offered["items"][1]["id"]);
    let invalid = app
        .post_json(CTA, &json!({"patient": {"name": "", "email": "x"}}))
        .await;
    let problem = assert_problem(invalid, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(problem["errors"]["patient.email"].is_string());
}

async fn provider_and_not_before_narrow_the_choice(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .post_json(CTA, &json!({"patient": patient(), "provider_id": 2}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let booking: Value = response.json().await.unwrap();
    assert_eq!(booking["provider"]["id"], 2);

    let not_before = (Utc::now() + Duration::days(5)).date_naive();
    let body = json!({"patient": patient(), "not_before": not_before.to_string(), "source": "stress-and-back-pain"});
    let booking: Value = app.post_json(CTA, &body).await.json().await.unwrap();
    let local_date = &booking["slot"]["local_start"].as_str().unwrap()[..10];
    assert!(
        local_date >= not_before.to_string().as_str(),
        "{local_date} before {not_before}"
    );
    assert_eq!(booking["source"], "stress-and-back-pain");
    // And it is the earliest slot from then on.
    let from = format!("/api/v1/slots?from={not_before}&limit=1");
    let earliest_left = app.get_json(&from).await;
    assert!(start(&earliest_left["items"][0]) > start(&booking["slot"]));

    assert_problem(
        app.post_json(CTA, &json!({"patient": patient(), "provider_id": 4242}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let bad = app
        .post_json(CTA, &json!({"patient": patient(), "not_before": "soon"}))
        .await;
    assert!(
        assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await["errors"]["not_before"]
            .is_string()
    );
}

async fn when_nothing_fits_it_names_the_next_dates_with_room(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.booking.horizon_days = 2).await;
    let not_before = (Utc::now() + Duration::days(6)).date_naive();
    let response = app
        .post_json(
            CTA,
            &json!({"patient": patient(), "not_before": not_before.to_string()}),
        )
        .await;
    let problem = assert_problem(response, StatusCode::CONFLICT).await;
    assert!(problem["detail"].as_str().unwrap().contains("no free time"));
    let dates = problem["next_available_dates"].as_array().unwrap();
    assert!(!dates.is_empty() && dates.len() <= 5);
    assert!(dates
        .iter()
        .all(|d| d.as_str().unwrap() >= not_before.to_string().as_str()));
    assert!(
        dates.windows(2).all(|w| w[0].as_str() < w[1].as_str()),
        "distinct, ascending"
    );
    assert_eq!(app.bookings_for_slot(1).await, 0, "nothing was booked");

    // Past every slot there is: no dates at all, still a clear 409.
    let far = (Utc::now() + Duration::days(200)).date_naive();
    let response = app
        .post_json(
            CTA,
            &json!({"patient": patient(), "not_before": far.to_string()}),
        )
        .await;
    let problem = assert_problem(response, StatusCode::CONFLICT).await;
    assert_eq!(problem["next_available_dates"], json!([]));
}

async fn red_flags_mark_the_booking_for_review_and_mail_still_goes(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = json!({
        "patient": patient(),
        "reason": "Lower back has ached for weeks",
        "concern": {"area": "lower_back", "onset": "gradual", "red_flags": ["tingling", "numbness"]}
    });
    let booking: Value = app.post_json(CTA, &body).await.json().await.unwrap();
    assert_eq!(booking["needs_review"], true);
    assert_eq!(
        booking["concern"]["red_flags"],
        json!(["numbness", "tingling"])
    );
    let calm: Value = app
        .post_json(
            CTA,
            &json!({"patient": patient(), "concern": {"area": "upper_back", "onset": "gradual"}}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(calm["needs_review"], false);
    // One box per flag: a longer list is refused, as an unknown flag is.
    let repeated = ["numbness"; 5];
    let five = json!({"patient": patient(), "concern": {"red_flags": repeated}});
    assert_problem(app.post_json(CTA, &five).await, StatusCode::BAD_REQUEST).await;

    let desk = app.staff_token("front_desk").await;
    let date = &booking["slot"]["local_start"].as_str().unwrap()[..10];
    let sheet = app
        .send_ok(
            Method::GET,
            &format!("/api/v1/bookings?date={date}"),
            &desk,
            None,
            StatusCode::OK,
        )
        .await;
    let row = sheet["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["reference"] == booking["reference"])
        .expect("on the day sheet");
    assert_eq!(row["needs_review"], true);
    assert_eq!(row["concern"]["area"], "lower_back");

    let admin = app.staff_token("admin").await;
    let queued = app
        .send_ok(
            Method::GET,
            "/api/v1/admin/outbox",
            &admin,
            None,
            StatusCode::OK,
        )
        .await;
    assert!(queued["items"].as_array().unwrap().iter().any(|j| {
        j["booking_reference"] == booking["reference"] && j["kind"] == "confirmation"
    }));
    let bad = app
        .post_json(
            CTA,
            &json!({"patient": patient(), "concern": {"area": "knee"}}),
        )
        .await;
    assert_problem(bad, StatusCode::BAD_REQUEST).await;
}

async fn the_sources_report_counts_bookings_cancellations_and_no_shows(backend: Backend) {
    let app = spawn_app(backend).await;
    // Days ahead, so that the patient may still cancel online (the cut-off is 24 hours).
    let not_before = (Utc::now() + Duration::days(3)).date_naive().to_string();
    let article =
        json!({"patient": patient(), "source": "stress-and-back-pain", "not_before": not_before});
    let a: Value = app.post_json(CTA, &article).await.json().await.unwrap();
    let _b: Value = app.post_json(CTA, &article).await.json().await.unwrap();
    let c: Value = app.post_json(CTA, &article).await.json().await.unwrap();
    let slot = app.free_slot_ids().await[0];
    app.book_for(slot, &another_patient(1)).await;
    app.cancel(
        a["reference"].as_str().unwrap(),
        a["manage_token"].as_str().unwrap(),
    )
    .await;
    let admin = app.staff_token("admin").await;
    // A no-show once the visit has started.
    app.move_visit(c["reference"].as_str().unwrap(), -5).await;
    app.send_ok(
        Method::PATCH,
        &format!("/api/v1/bookings/{}", c["reference"].as_str().unwrap()),
        &admin,
        Some(&json!({"status": "no_show"})),
        StatusCode::OK,
    )
    .await;

    let report = app
        .send_ok(
            Method::GET,
            "/api/v1/admin/reports/sources",
            &admin,
            None,
            StatusCode::OK,
        )
        .await;
    let items = report["items"].as_array().unwrap();
    assert_eq!(
        items[0],
        json!({"source": "stress-and-back-pain", "bookings": 3, "cancelled": 1, "no_shows": 1})
    );
    assert_eq!(
        items[1],
        json!({"source": "website", "bookings": 1, "cancelled": 0, "no_shows": 0})
    );

    // A period before any of it counts nothing.
    let earlier = app
        .send_ok(
            Method::GET,
            "/api/v1/admin/reports/sources?from=2026-01-01&to=2026-02-01",
            &admin,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(earlier["items"], json!([]));
    let desk = app.staff_token("front_desk").await;
    let forbidden = app
        .send(
            Method::GET,
            "/api/v1/admin/reports/sources",
            Some(&desk),
            None,
        )
        .await;
    assert_problem(forbidden, StatusCode::FORBIDDEN).await;
    let anonymous = app.get("/api/v1/admin/reports/sources").await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED).await;
    let too_long = app
        .send(
            Method::GET,
            "/api/v1/admin/reports/sources?from=2020-01-01&to=2026-01-01",
            Some(&admin),
            None,
        )
        .await;
    assert_problem(too_long, StatusCode::BAD_REQUEST).await;
}

async fn admins_see_and_retry_failed_mail(backend: Backend) {
    let port = crate::smtp::unused_port();
    let app = spawn_app_with(backend, |s| {
        s.mail.transport = clinic_booking::settings::MailTransportKind::Smtp;
        s.mail.smtp_host = "127.0.0.1".into();
        s.mail.smtp_port = port;
        s.mail.max_attempts = 1;
        s.mail.smtp_timeout_seconds = 5;
        s.mail.reminder_hours_before = 1;
    })
    .await;
    let booking = app.book_ok(app.free_slot_ids().await[0]).await;
    let admin = app.staff_token("admin").await;
    let mut failed = Value::Null;
    for _ in 0..600 {
        failed = app
            .send_ok(
                Method::GET,
                "/api/v1/admin/outbox?status=failed",
                &admin,
                None,
                StatusCode::OK,
            )
            .await;
        if !failed["items"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let job = failed["items"][0].clone();
    assert_eq!(job["booking_reference"], booking["reference"]);
    assert_eq!(job["kind"], "confirmation");
    assert_eq!(job["attempts"], 1);
    assert!(job["last_error"].as_str().unwrap().contains("send"));

    let sink = crate::smtp::SmtpSink::start_on(port);
    let path = format!("/api/v1/admin/outbox/{}/retry", job["id"]);
    let retried = app
        .send_ok(Method::POST, &path, &admin, None, StatusCode::OK)
        .await;
    assert_eq!(retried["status"], "pending");
    sink.wait_for(1).await;
    // A job that is not failed cannot be retried; an unknown one is 404.
    for _ in 0..600 {
        let sent = app
            .send_ok(
                Method::GET,
                "/api/v1/admin/outbox?status=sent",
                &admin,
                None,
                StatusCode::OK,
            )
            .await;
        if !sent["items"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_problem(
        app.send(Method::POST, &path, Some(&admin), None).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_problem(
        app.send(
            Method::POST,
            "/api/v1/admin/outbox/999999/retry",
            Some(&admin),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let desk = app.staff_token("front_desk").await;
    assert_problem(
        app.send(Method::GET, "/api/v1/admin/outbox", Some(&desk), None)
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_problem(
        app.get("/api/v1/admin/outbox?status=lost").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

async fn public_posts_are_rate_limited_per_client(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.http.rate_limit_per_minute = 3).await;
    let slots = app.free_slot_ids().await;
    for id in &slots[..3] {
        assert_eq!(app.book(*id).await.status(), StatusCode::CREATED);
    }
    let limited = app.book(slots[3]).await;
    let retry_after: u64 = header(&limited, "retry-after").parse().unwrap();
    assert!(retry_after >= 1);
    assert_eq!(
        header(&limited, "x-ratelimit-after"),
        retry_after.to_string()
    );
    let problem = assert_problem(limited, StatusCode::TOO_MANY_REQUESTS).await;
    // The header and the words agree: waiting that long is enough.
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .ends_with(&format!("try again in {retry_after} s")),
        "{problem}"
    );
    assert_problem(
        app.post_json(CTA, &json!({"patient": patient()})).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    assert_eq!(app.bookings_for_slot(slots[3]).await, 0);
    // Reading is not limited.
    for _ in 0..10 {
        assert_eq!(
            app.get("/api/v1/slots?limit=1").await.status(),
            StatusCode::OK
        );
    }
}

/// A header's value as text; the test fails if it is missing.
fn header(response: &reqwest::Response, name: &str) -> String {
    let value = response.headers().get(name);
    let value = value.unwrap_or_else(|| panic!("no {name} header"));
    value.to_str().expect("a text header").to_owned()
}

/// Both public POSTs say the limit and what is left of it, counting down across both, on a 4xx
/// as on a 201; the reads beside them do not count and carry no limit headers.
async fn public_posts_say_how_many_are_left(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.http.rate_limit_per_minute = 3).await;
    let slots = app.free_slot_ids().await;
    let booked = app.book(slots[0]).await;
    assert_eq!(booked.status(), StatusCode::CREATED);
    assert_eq!(header(&booked, "x-ratelimit-limit"), "3");
    assert_eq!(header(&booked, "x-ratelimit-remaining"), "2");

    let earliest = app.post_json(CTA, &json!({"patient": patient()})).await;
    assert_eq!(earliest.status(), StatusCode::CREATED);
    assert_eq!(header(&earliest, "x-ratelimit-limit"), "3");
    assert_eq!(header(&earliest, "x-ratelimit-remaining"), "1");

    let invalid = app
        .post_json(CTA, &json!({"patient": {"name": "", "email": "x"}}))
        .await;
    assert_eq!(header(&invalid, "x-ratelimit-remaining"), "0");
    assert_problem(invalid, StatusCode::UNPROCESSABLE_ENTITY).await;

    let limited = app.book(slots[1]).await;
    assert_eq!(header(&limited, "x-ratelimit-limit"), "3");
    assert_eq!(header(&limited, "x-ratelimit-remaining"), "0");
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS).await;

    for path in [CTA, "/api/v1/slots?limit=1"] {
        let read = app.get(path).await;
        assert_eq!(read.status(), StatusCode::OK, "{path}");
        for name in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-whitelisted",
        ] {
            assert!(!read.headers().contains_key(name), "{path}: {name}");
        }
    }

    // With the limit off, nothing is counted and nothing is said.
    let unlimited = spawn_app_with(backend, |s| s.http.rate_limit_per_minute = 0).await;
    let slot = unlimited.free_slot_ids().await[0];
    let booked = unlimited.book(slot).await;
    assert_eq!(booked.status(), StatusCode::CREATED);
    assert!(!booked.headers().contains_key("x-ratelimit-limit"));
}

fn offered_ids(offer: &Value) -> Vec<i64> {
    offer["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["id"].as_i64().expect("id"))
        .collect()
}

async fn the_offer_drops_a_booked_time_at_once_and_an_outside_change_within_the_cache_time(
    backend: Backend,
) {
    // A long cache: only invalidation can explain a changed offer.
    let app = spawn_app_with(backend, |s| s.http.availability_cache_ms = 60_000).await;
    let before = app.get_json(CTA).await;
    assert_eq!(
        app.get_json(CTA).await,
        before,
        "a repeated read is the same"
    );
    let first = offered_ids(&before)[0];
    app.book_ok(first).await;
    let after = offered_ids(&app.get_json(CTA).await);
    assert!(!after.contains(&first), "a booked time is not offered");
    assert_eq!(after[..after.len() - 1], offered_ids(&before)[1..]);
    // The answer quotes the source back: each source has its own.
    let from_article = app.get_json(&format!("{CTA}?source=article")).await;
    assert_eq!(from_article["book"]["body"]["source"], "article");
    assert_eq!(offered_ids(&from_article), after);

    // A change the process does not see (another copy, here a write to the database) shows
    // within the cache time.
    let app = spawn_app_with(backend, |s| s.http.availability_cache_ms = 300).await;
    let first = offered_ids(&app.get_json(CTA).await)[0];
    app.block_slot_behind_its_back(first).await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(!offered_ids(&app.get_json(CTA).await).contains(&first));
}

/// Books `slot_id` through a proxy (this test) that says the patient is at `forwarded_for`.
async fn book_forwarded(app: &TestApp, slot_id: i64, forwarded_for: &str) -> StatusCode {
    app.client
        .post(app.url("/api/v1/bookings"))
        .header("X-Forwarded-For", forwarded_for)
        .json(&json!({"slot_id": slot_id, "patient": patient()}))
        .send()
        .await
        .expect("request")
        .status()
}

async fn behind_a_trusted_proxy_each_patient_has_their_own_limit(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.http.rate_limit_per_minute = 2;
        s.http.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    let slots = app.free_slot_ids().await;
    for id in &slots[..2] {
        assert_eq!(
            book_forwarded(&app, *id, "203.0.113.5").await,
            StatusCode::CREATED
        );
    }
    // An address the patient adds in front does not buy another turn.
    assert_eq!(
        book_forwarded(&app, slots[2], "198.51.100.1, 203.0.113.5").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another patient behind the same proxy books.
    assert_eq!(
        book_forwarded(&app, slots[2], "203.0.113.6").await,
        StatusCode::CREATED
    );

    // Without trusted proxies the header changes nothing: the peer's address counts.
    let app = spawn_app_with(backend, |s| s.http.rate_limit_per_minute = 2).await;
    let slots = app.free_slot_ids().await;
    for (id, client) in slots[..2].iter().zip(["203.0.113.5", "203.0.113.6"]) {
        assert_eq!(book_forwarded(&app, *id, client).await, StatusCode::CREATED);
    }
    assert_eq!(
        book_forwarded(&app, slots[2], "203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn the_honeypot_rejects_naive_bots(backend: Backend) {
    let app = spawn_app(backend).await;
    let slot = app.free_slot_ids().await[0];
    let bot =
        json!({"slot_id": slot, "patient": patient(), "company_website": "http://spam.example"});
    assert_problem(
        app.post_json("/api/v1/bookings", &bot).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let bot = json!({"patient": patient(), "company_website": "buy now"});
    assert_problem(app.post_json(CTA, &bot).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(app.bookings_for_slot(slot).await, 0);
    let person = json!({"slot_id": slot, "patient": patient(), "company_website": ""});
    assert_eq!(
        app.post_json("/api/v1/bookings", &person).await.status(),
        StatusCode::CREATED
    );
}

async fn cors_allows_the_configured_websites_only(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.http.allowed_origins =
            "https://www.desertspine.example, https://blog.desertspine.example".into();
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/v1/bookings"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "content-type, idempotency-key",
            )
            .send()
    };
    let allowed = preflight("https://blog.desertspine.example").await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://blog.desertspine.example"
    );
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let get = |origin: &'static str| {
        app.client
            .get(app.url("/api/v1/schedule-appointment"))
            .header("Origin", origin)
            .send()
    };
    let response = get("https://www.desertspine.example").await.unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://www.desertspine.example"
    );
    // The widget may read the rate limit's headers (and Retry-After) on the answers it gets.
    let exposed = header(&response, "access-control-expose-headers").to_lowercase();
    for name in [
        "retry-after",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-after",
    ] {
        assert!(exposed.contains(name), "{name} not in {exposed}");
    }
    let response = get("https://evil.example").await.unwrap();
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

async fn the_booking_page_and_widget_are_served(backend: Backend) {
    let app = spawn_app(backend).await;
    let page = app.get("/book").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<form") && html.contains("/book.js") && html.contains("company_website")
    );
    for (path, kind) in [
        ("/book.js", "text/javascript"),
        ("/book.css", "text/css"),
        ("/widget.js", "text/javascript"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind),
            "{path}"
        );
    }
    let widget = app.get("/widget.js").await.text().await.unwrap();
    assert!(
        widget.contains("/api/v1/schedule-appointment") && widget.contains("data-clinic-booking")
    );
}

async fn the_offer_narrows_by_visit_type_and_carries_the_source(backend: Backend) {
    let app = spawn_app(backend).await;
    let ids: Vec<i32> = app
        .free_slot_ids()
        .await
        .iter()
        .skip(7)
        .step_by(3)
        .take(4)
        .map(|i| *i as i32)
        .collect();
    let typed = ids.clone();
    app.with_db(move |conn| {
        use clinic_booking::db::schema::slots;
        use diesel::prelude::*;
        diesel::update(slots::table.filter(slots::id.eq_any(typed)))
            .set(slots::visit_type.eq("massage_60"))
            .execute(conn)
            .expect("type slots")
    })
    .await;
    let offer = app
        .get_json("/api/v1/schedule-appointment?visit_type=massage_60&source=stress-and-back-pain&limit=10")
        .await;
    let offered: Vec<i64> = offer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        offered,
        ids.iter().map(|i| i64::from(*i)).collect::<Vec<_>>()
    );
    assert!(offer["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["visit_type"] == "massage_60"));
    assert_eq!(offer["book"]["body"]["source"], "stress-and-back-pain");
    assert_eq!(
        offer["book_earliest"]["body"]["source"],
        "stress-and-back-pain"
    );
    assert_problem(
        app.get("/api/v1/schedule-appointment?source=Not%20A%20Slug")
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let none = app
        .get_json("/api/v1/schedule-appointment?visit_type=acupuncture")
        .await;
    assert_eq!(none["items"], json!([]));
}
