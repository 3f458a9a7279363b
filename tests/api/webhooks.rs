//! Webhooks, received by a real HTTP receiver in the test and verified with the Standard
//! Webhooks reference library for JavaScript (`tests/webhooks/verify.mjs`, npm
//! `standardwebhooks`), never with the project's own code: each booking change is delivered
//! once, signed; a receiver that fails gets it again, in order; patient data goes only where
//! asked for; internal targets are refused; 410 turns an endpoint off and the admins are mailed;
//! a rotated secret signs beside the old one; a kill -9 between the commit and the delivery loses
//! nothing.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    another_patient, node_result, spawn_app_on_with, spawn_app_with, Backend, ServerProcess,
    TestApp, TestDatabase,
};
use crate::smtp::unused_port;
use crate::waitlist::wait_for_mails;

fn the_webhook_library_is_there() -> Result<(), String> {
    crate::helpers::unless_required(
        "CLINIC_REQUIRE_NODE",
        crate::helpers::node_packages("tests/webhooks", &["standardwebhooks"]),
    )
}

crate::tests! {
    both_backends: [
        internal_targets_are_refused_and_fields_checked,
        patient_data_goes_only_to_an_endpoint_that_asks,
        a_410_turns_the_endpoint_off_and_failures_are_parked_then_retried,
        an_endpoint_failing_for_a_day_is_turned_off_and_the_admins_mailed,
        an_endpoint_turned_off_sends_nothing_more,
    ],
    both_backends_if(the_webhook_library_is_there): [
        booking_changes_each_deliver_one_webhook_that_verifies_with_standardwebhooks,
        a_receiver_that_fails_gets_the_delivery_again_in_order,
        a_kill_9_between_commit_and_delivery_loses_no_webhook,
    ],
    once_if(the_webhook_library_is_there): [a_rotated_secret_signs_beside_the_old_one],
}

/// An HTTP receiver: records every request (path, headers and body) and answers the statuses of
/// its script in turn, then 200 (the text messages' test uses it as a Messages API too).
pub(crate) struct Receiver {
    pub(crate) url: String,
    received: Arc<Mutex<Vec<Value>>>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    pub(crate) async fn start(script: &[u16]) -> Self {
        Self::start_on(unused_port(), script).await
    }

    async fn start_on(port: u16, script: &[u16]) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(
            script.iter().copied().collect::<VecDeque<u16>>(),
        ));
        let (log, plan) = (received.clone(), script.clone());
        let server = actix_web::HttpServer::new(move || {
            let (log, plan) = (log.clone(), plan.clone());
            actix_web::App::new().default_service(actix_web::web::to(
                move |req: actix_web::HttpRequest, body: actix_web::web::Bytes| {
                    let (log, plan) = (log.clone(), plan.clone());
                    async move {
                        let headers: serde_json::Map<String, Value> = req
                            .headers()
                            .iter()
                            .map(|(k, v)| (k.as_str().to_owned(), json!(v.to_str().unwrap_or(""))))
                            .collect();
                        log.lock().unwrap().push(json!({
                            "path": req.path(),
                            "headers": headers,
                            "body": String::from_utf8_lossy(&body),
                        }));
                        let status = plan.lock().unwrap().pop_front().unwrap_or(200);
                        actix_web::HttpResponse::build(
                            actix_web::http::StatusCode::from_u16(status).unwrap(),
                        )
                        .finish()
                    }
                },
            ))
        })
        .workers(1)
        .bind(("127.0.0.1", port))
        .expect("bind the receiver")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}/hooks"),
            received,
            handle,
        }
    }

    pub(crate) fn received(&self) -> Vec<Value> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (bounded) until `count` requests came, and answers them.
    pub(crate) async fn wait_for(&self, count: usize) -> Vec<Value> {
        for _ in 0..400 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{count} webhook requests expected within 20 s, got {:?}",
            self.received()
        );
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        tokio::spawn(async move { handle.stop(false).await });
    }
}

fn kind(delivery: &Value) -> String {
    let body: Value = serde_json::from_str(delivery["body"].as_str().unwrap()).unwrap();
    body["type"].as_str().unwrap().to_owned()
}

fn payload(delivery: &Value) -> Value {
    serde_json::from_str(delivery["body"].as_str().unwrap()).unwrap()
}

/// Reads `path` as `admin` until `done` holds of it (bounded: 5 s), and answers what it read last.
async fn read_until(
    app: &TestApp,
    admin: &str,
    path: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut read = Value::Null;
    for _ in 0..100 {
        read = app
            .send_ok(Method::GET, path, admin, None, StatusCode::OK)
            .await;
        if done(&read) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    read
}

/// A test app whose webhook worker may call the receiver on loopback, and retries fast.
async fn app_for_webhooks(backend: Backend, max_attempts: i32) -> TestApp {
    spawn_app_with(backend, move |s| {
        s.webhooks.allow_private_targets = true;
        s.webhooks.retry_base_seconds = 0.2;
        s.webhooks.retry_max_seconds = 0.5;
        s.webhooks.poll_interval_ms = 50;
        s.webhooks.max_attempts = max_attempts;
    })
    .await
}

async fn register(app: &TestApp, admin: &str, body: &Value) -> Value {
    app.send_ok(
        Method::POST,
        "/api/v1/admin/webhooks",
        admin,
        Some(body),
        StatusCode::CREATED,
    )
    .await
}

/// Verifies `deliveries` with the reference library against each of `secrets`.
async fn verified(deliveries: &[Value], secrets: &[&str]) -> Value {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_string(deliveries).unwrap()).unwrap();
    node_result(
        "tests/webhooks",
        "verify.mjs",
        &[
            ("DELIVERIES", file.path().to_str().unwrap()),
            ("SECRETS", &secrets.join(",")),
        ],
    )
    .await
}

async fn booking_changes_each_deliver_one_webhook_that_verifies_with_standardwebhooks(
    backend: Backend,
) {
    let receiver = Receiver::start(&[]).await;
    let app = app_for_webhooks(backend, 12).await;
    let admin = app.staff_token("admin").await;
    let endpoint = register(
        &app,
        &admin,
        &json!({
            "url": receiver.url,
            "events": ["booking.created", "booking.rescheduled", "booking.cancelled"],
        }),
    )
    .await;
    let secret = endpoint["secret"]
        .as_str()
        .expect("the secret, once")
        .to_owned();
    assert!(secret.starts_with("whsec_"));
    // Not shown again.
    let read = app
        .send_ok(
            Method::GET,
            &format!("/api/v1/admin/webhooks/{}", endpoint["id"]),
            &admin,
            None,
            StatusCode::OK,
        )
        .await;
    assert!(read.get("secret").is_none(), "{read}");

    let slots = app.free_slot_ids_from(2).await;
    let booking = app.book_ok(slots[0]).await;
    let reference = booking["reference"].as_str().unwrap();
    let token = booking["manage_token"].as_str().unwrap();
    assert_eq!(
        app.reschedule(reference, token, slots[1]).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.cancel(reference, token).await.status(), StatusCode::OK);

    let received = receiver.wait_for(3).await;
    // Exactly one each, in order (and nothing more comes).
    tokio::time::sleep(Duration::from_millis(600)).await;
    let received_now = receiver.received();
    assert_eq!(received_now.len(), 3, "{received_now:?}");
    let kinds: Vec<String> = received.iter().map(kind).collect();
    assert_eq!(
        kinds,
        [
            "booking.created",
            "booking.rescheduled",
            "booking.cancelled"
        ]
    );
    let mut ids: Vec<&str> = received
        .iter()
        .map(|d| d["headers"]["webhook-id"].as_str().unwrap())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "a message id per event");
    for delivery in &received {
        let body = payload(delivery);
        assert_eq!(body["data"]["reference"], reference);
        assert!(body["data"]["location"]["name"].is_string());
        assert!(body["data"]["start"].as_str().unwrap().ends_with('Z'));
        // No patient data by default.
        let text = delivery["body"].as_str().unwrap();
        for personal in ["Ana", "ana.diaz@example.com", "555"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
        assert_eq!(
            delivery["headers"]["content-type"], "application/json",
            "{delivery}"
        );
    }
    assert_eq!(
        payload(&received[0])["data"]["provider"]["id"],
        booking["provider"]["id"]
    );
    assert_eq!(payload(&received[2])["data"]["status"], "cancelled");

    // The reference library verifies every one (and rejects a tampered body).
    let checked = verified(&received, &[&secret]).await;
    assert_eq!(checked["tampered_rejected"], true, "{checked}");
    for result in checked["results"].as_array().unwrap() {
        assert_eq!(result["verified"][0]["ok"], true, "{result}");
    }

    // The admin sees them delivered.
    let listed = app
        .send_ok(
            Method::GET,
            &format!("/api/v1/admin/webhooks/{}/deliveries", endpoint["id"]),
            &admin,
            None,
            StatusCode::OK,
        )
        .await;
    let statuses: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["delivered", "delivered", "delivered"]);
}

async fn a_receiver_that_fails_gets_the_delivery_again_in_order(backend: Backend) {
    let receiver = Receiver::start(&[500]).await;
    let app = app_for_webhooks(backend, 12).await;
    let admin = app.staff_token("admin").await;
    let endpoint = register(
        &app,
        &admin,
        &json!({"url": receiver.url, "events": ["booking.created", "booking.cancelled"]}),
    )
    .await;
    let slot = app.free_slot_ids_from(2).await[0];
    let booking = app.book_ok(slot).await;
    let reference = booking["reference"].as_str().unwrap();
    // Cancelled while the first delivery waits for its retry: the cancellation waits behind it.
    assert_eq!(
        app.cancel(reference, booking["manage_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
    let received = receiver.wait_for(3).await;
    let kinds: Vec<String> = received.iter().map(kind).collect();
    assert_eq!(
        kinds,
        ["booking.created", "booking.created", "booking.cancelled"]
    );
    assert_eq!(
        received[0]["headers"]["webhook-id"], received[1]["headers"]["webhook-id"],
        "the same message, again"
    );
    let checked = verified(&received, &[endpoint["secret"].as_str().unwrap()]).await;
    for result in checked["results"].as_array().unwrap() {
        assert_eq!(result["verified"][0]["ok"], true, "{result}");
    }
    let listed = app
        .send_ok(
            Method::GET,
            &format!("/api/v1/admin/webhooks/{}/deliveries", endpoint["id"]),
            &admin,
            None,
            StatusCode::OK,
        )
        .await;
    let created = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["event_type"] == "booking.created")
        .unwrap()
        .clone();
    assert_eq!(created["attempts"], 2, "{created}");
    assert_eq!(created["status"], "delivered");
}

async fn patient_data_goes_only_to_an_endpoint_that_asks(backend: Backend) {
    let plain = Receiver::start(&[]).await;
    let with_patient = Receiver::start(&[]).await;
    let app = app_for_webhooks(backend, 12).await;
    let admin = app.staff_token("admin").await;
    register(
        &app,
        &admin,
        &json!({"url": plain.url, "events": ["booking.created"]}),
    )
    .await;
    register(
        &app,
        &admin,
        &json!({"url": with_patient.url, "events": ["booking.created"], "include_patient_data": true}),
    )
    .await;
    let slot = app.free_slot_ids_from(2).await[0];
    app.book_for(slot, &another_patient(7)).await;
    let email = another_patient(7)["email"].as_str().unwrap().to_owned();
    let told = payload(&with_patient.wait_for(1).await[0]);
    assert_eq!(told["data"]["patient"]["email"], email.as_str());
    let untold = plain.wait_for(1).await;
    assert!(
        !untold[0]["body"].as_str().unwrap().contains(&email),
        "{untold:?}"
    );
    assert_eq!(
        untold[0]["headers"]["webhook-id"],
        with_patient.received()[0]["headers"]["webhook-id"],
        "one event, one id, for every endpoint"
    );
}

async fn internal_targets_are_refused_and_fields_checked(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let admin = app.staff_token("admin").await;
    for url in [
        "http://127.0.0.1:9/hooks",
        "http://10.0.0.7/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hooks",
        "http://localhost:8080/hooks",
        "http://192.168.1.20/hooks",
    ] {
        let response = app
            .send(
                Method::POST,
                "/api/v1/admin/webhooks",
                Some(&admin),
                Some(&json!({"url": url, "events": ["booking.created"]})),
            )
            .await;
        let problem =
            crate::helpers::assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(
            problem["errors"]["url"]
                .as_str()
                .is_some_and(|m| m.contains("public")),
            "{url}: {problem}"
        );
    }
    let response = app
        .send(
            Method::POST,
            "/api/v1/admin/webhooks",
            Some(&admin),
            Some(&json!({"url": "ftp://example.com/x", "events": ["booking.eaten"]})),
        )
        .await;
    let problem = crate::helpers::assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(problem["errors"]["url"].is_string() && problem["errors"]["events"].is_string());
    // Admins only.
    let desk = app.staff_token("front_desk").await;
    let response = app
        .send(Method::GET, "/api/v1/admin/webhooks", Some(&desk), None)
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .send(Method::GET, "/api/v1/admin/webhooks", None, None)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

async fn a_410_turns_the_endpoint_off_and_failures_are_parked_then_retried(backend: Backend) {
    let gone = Receiver::start(&[410]).await;
    let failing = Receiver::start(&[500, 500]).await;
    let app = app_for_webhooks(backend, 2).await;
    // An admin whose address the mail about the endpoint goes to.
    let admin_email = "hooks-admin@clinic.example";
    let admin = app.token_of(admin_email, "admin").await;
    let off = register(
        &app,
        &admin,
        &json!({"url": gone.url, "events": ["booking.created"]}),
    )
    .await;
    let parked = register(
        &app,
        &admin,
        &json!({"url": failing.url, "events": ["booking.created"]}),
    )
    .await;
    let slot = app.free_slot_ids_from(2).await[0];
    app.book_ok(slot).await;
    gone.wait_for(1).await;
    failing.wait_for(2).await;

    // 410: off, with the reason; the admins are mailed.
    let endpoint = read_until(
        &app,
        &admin,
        &format!("/api/v1/admin/webhooks/{}", off["id"]),
        |e| e["active"] == false,
    )
    .await;
    assert_eq!(endpoint["active"], false, "{endpoint}");
    assert!(endpoint["disabled_reason"]
        .as_str()
        .is_some_and(|r| r.contains("410")));
    wait_for_mails(|| app.written_mail(), admin_email, "Webhook turned off", 1).await;

    // Two failures: parked as failed, with the last status.
    let path = format!("/api/v1/admin/webhooks/{}/deliveries", parked["id"]);
    let listed = read_until(&app, &admin, &path, |l| l["items"][0]["status"] == "failed").await;
    let delivery = listed["items"][0].clone();
    assert_eq!(delivery["status"], "failed", "{delivery}");
    assert_eq!(delivery["attempts"], 2);
    assert_eq!(delivery["last_status_code"], 500);
    // The admin retries it; the receiver works now.
    app.send_ok(
        Method::POST,
        &format!("/api/v1/admin/webhooks/deliveries/{}/retry", delivery["id"]),
        &admin,
        None,
        StatusCode::OK,
    )
    .await;
    failing.wait_for(3).await;
    // A disabled endpoint's deliveries wait until it is on again.
    let off_deliveries = app
        .send_ok(
            Method::GET,
            &format!("/api/v1/admin/webhooks/{}/deliveries", off["id"]),
            &admin,
            None,
            StatusCode::OK,
        )
        .await;
    let response = app
        .send(
            Method::POST,
            &format!(
                "/api/v1/admin/webhooks/deliveries/{}/retry",
                off_deliveries["items"][0]["id"]
            ),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Deleting an endpoint takes its deliveries with it.
    let response = app
        .send(
            Method::DELETE,
            &format!("/api/v1/admin/webhooks/{}", off["id"]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let audit = app.audit(&admin, "limit=200").await;
    let actions: Vec<&str> = audit
        .iter()
        .filter(|e| e["entity_type"] == "webhook_endpoint")
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["webhook.create", "webhook.disable", "webhook.delete"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

async fn an_endpoint_failing_for_a_day_is_turned_off_and_the_admins_mailed(backend: Backend) {
    let failing = Receiver::start(&[500, 500, 500, 500]).await;
    let app = app_for_webhooks(backend, 12).await;
    let admin_email = "day-admin@clinic.example";
    let admin = app.token_of(admin_email, "admin").await;
    let endpoint = register(
        &app,
        &admin,
        &json!({"url": failing.url, "events": ["booking.created"]}),
    )
    .await;
    let path = format!("/api/v1/admin/webhooks/{}", endpoint["id"]);
    // A first failure starts the clock.
    app.book_ok(app.free_slot_ids_from(2).await[0]).await;
    failing.wait_for(1).await;
    let read = read_until(&app, &admin, &path, |e| e["failing_since"].is_string()).await;
    assert!(read["failing_since"].is_string(), "{read}");
    assert_eq!(read["active"], true);
    // ...which reads a day and an hour ago: the next failure turns it off.
    let id = endpoint["id"].as_i64().unwrap() as i32;
    app.with_db(move |conn| {
        use clinic_booking::db::schema::webhook_endpoints;
        use diesel::prelude::*;
        diesel::update(webhook_endpoints::table.find(id))
            .set(webhook_endpoints::failing_since.eq(Some(
                clinic_booking::db::now() - chrono::Duration::hours(25),
            )))
            .execute(conn)
            .expect("back-date the failures");
    })
    .await;
    failing.wait_for(2).await;
    let read = read_until(&app, &admin, &path, |e| e["active"] == false).await;
    assert_eq!(read["active"], false, "{read}");
    assert!(
        read["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.contains("24 hours")),
        "{read}"
    );
    let mails = wait_for_mails(|| app.written_mail(), admin_email, "Webhook turned off", 1).await;
    assert!(mails[0].1.contains(failing.url.as_str()), "{}", mails[0].1);
    // On again: it starts afresh.
    let on = app
        .send_ok(
            Method::PATCH,
            &path,
            &admin,
            Some(&json!({"active": true})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(on["active"], true);
    assert!(
        on["disabled_reason"].is_null() && on["failing_since"].is_null(),
        "{on}"
    );
}

async fn a_rotated_secret_signs_beside_the_old_one() {
    let receiver = Receiver::start(&[]).await;
    let app = app_for_webhooks(Backend::Sqlite, 12).await;
    let admin = app.staff_token("admin").await;
    let endpoint = register(
        &app,
        &admin,
        &json!({"url": receiver.url, "events": ["booking.created"]}),
    )
    .await;
    let old = endpoint["secret"].as_str().unwrap().to_owned();
    let rotated = app
        .send_ok(
            Method::POST,
            &format!("/api/v1/admin/webhooks/{}/rotate-secret", endpoint["id"]),
            &admin,
            Some(&json!({"overlap_hours": 2})),
            StatusCode::OK,
        )
        .await;
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    assert!(rotated["previous_secret_until"].is_string());
    app.book_ok(app.free_slot_ids_from(2).await[0]).await;
    let received = receiver.wait_for(1).await;
    let signatures = received[0]["headers"]["webhook-signature"]
        .as_str()
        .unwrap();
    assert_eq!(signatures.split(' ').count(), 2, "{signatures}");
    let checked = verified(&received, &[&old, &new]).await;
    let result = &checked["results"][0]["verified"];
    assert_eq!(result[0]["ok"], true, "the old secret: {checked}");
    assert_eq!(result[1]["ok"], true, "the new secret: {checked}");
}

async fn a_kill_9_between_commit_and_delivery_loses_no_webhook(backend: Backend) {
    let database = TestDatabase::create(backend);
    let port = unused_port();
    let mut server = ServerProcess::start_with(
        &database,
        unused_port(),
        &[
            ("APP__WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true"),
            ("APP__WEBHOOKS__RETRY_BASE_SECONDS", "0.2"),
            ("APP__WEBHOOKS__RETRY_MAX_SECONDS", "0.5"),
            ("APP__WEBHOOKS__POLL_INTERVAL_MS", "50"),
        ],
    )
    .await;
    let address = server.address.clone();
    let client = reqwest::Client::new();
    let admin = crate::helpers::admin_token_on(&database, &address).await;
    // The receiver is down: every attempt fails until after the kill.
    let url = format!("http://127.0.0.1:{port}/hooks");
    let created = client
        .post(format!("{address}/api/v1/admin/webhooks"))
        .bearer_auth(&admin)
        .json(&json!({"url": url, "events": ["booking.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let slots: Value = client
        .get(format!("{address}/api/v1/slots"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut references = Vec::new();
    for (n, slot) in slots["items"].as_array().unwrap()[..3].iter().enumerate() {
        let booking: Value = client
            .post(format!("{address}/api/v1/bookings"))
            .json(&json!({"slot_id": slot["id"], "patient": another_patient(n)}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        references.push(booking["reference"].as_str().unwrap().to_owned());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill();

    let receiver = Receiver::start_on(port, &[]).await;
    let _app = spawn_app_on_with(database, |s| {
        s.webhooks.allow_private_targets = true;
        s.webhooks.poll_interval_ms = 50;
        s.webhooks.retry_base_seconds = 0.2;
        s.webhooks.retry_max_seconds = 0.5;
    })
    .await;
    let received = receiver.wait_for(3).await;
    let mut delivered: Vec<String> = received
        .iter()
        .map(|d| payload(d)["data"]["reference"].as_str().unwrap().to_owned())
        .collect();
    delivered.sort();
    delivered.dedup();
    references.sort();
    assert_eq!(delivered, references);
    let checked = verified(&received, &[created["secret"].as_str().unwrap()]).await;
    for result in checked["results"].as_array().unwrap() {
        assert_eq!(result["verified"][0]["ok"], true, "{result}");
    }
}

async fn an_endpoint_turned_off_sends_nothing_more(backend: Backend) {
    // Nothing listens there: the delivery keeps failing and waits for its next try.
    let url = format!("http://127.0.0.1:{}/hooks", unused_port());
    let app = app_for_webhooks(backend, 12).await;
    let admin = app.staff_token("admin").await;
    let endpoint = register(
        &app,
        &admin,
        &json!({"url": url, "events": ["booking.created"]}),
    )
    .await;
    app.book_ok(app.free_slot_ids_from(2).await[0]).await;
    let deliveries = format!("/api/v1/admin/webhooks/{}/deliveries", endpoint["id"]);
    let tried = read_until(&app, &admin, &deliveries, |l| {
        l["items"][0]["attempts"].as_i64().unwrap_or(0) >= 1
    })
    .await;
    assert_eq!(tried["items"][0]["status"], "pending", "{tried}");
    app.send_ok(
        Method::PATCH,
        &format!("/api/v1/admin/webhooks/{}", endpoint["id"]),
        &admin,
        Some(&json!({"active": false})),
        StatusCode::OK,
    )
    .await;
    // Parked at once, and no further attempt is made.
    let parked = app
        .send_ok(Method::GET, &deliveries, &admin, None, StatusCode::OK)
        .await;
    assert_eq!(parked["items"][0]["status"], "failed", "{parked}");
    let attempts = parked["items"][0]["attempts"].clone();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let later = app
        .send_ok(Method::GET, &deliveries, &admin, None, StatusCode::OK)
        .await;
    assert_eq!(later["items"][0]["attempts"], attempts);
    assert_eq!(later["items"][0]["status"], "failed");
}
