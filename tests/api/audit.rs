//! The audit log: one entry per change, written with the change, naming who did it, and holding
//! no passwords, tokens or patient details.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{another_patient, assert_problem, spawn_app, Backend, STAFF_PASSWORD};

crate::both_backends!(every_change_is_audited, the_audit_log_filters_and_pages);

fn actions(entries: &[Value]) -> Vec<String> {
    // Newest first from the API; read oldest first.
    entries
        .iter()
        .rev()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn every_change_is_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin_id, admin) = app.staff("admin").await;
    let (desk_id, desk) = app.staff("front_desk").await;

    // Users: created from the command line.
    let users = app.audit(&admin, "").await;
    assert_eq!(actions(&users), ["user.create", "user.create"]);
    assert_eq!(users[0]["actor"]["kind"], "command_line");
    assert_eq!(users[0]["entity_type"], "user");
    assert_eq!(users[0]["to"]["role"], "front_desk");
    assert_eq!(users[0]["entity_id"], desk_id.to_string());

    // Providers: created, edited, deactivated.
    let provider = app
        .send_ok(
            Method::POST,
            "/api/v1/providers",
            &admin,
            Some(&json!({"name": "Dr. Audit", "specialty": "pain_medicine"})),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    app.send_ok(
        Method::PATCH,
        &format!("/api/v1/providers/{provider}"),
        &admin,
        Some(&json!({"title": "MD", "active": false})),
        StatusCode::OK,
    )
    .await;
    let entries = app.audit(&admin, &format!("user_id={admin_id}")).await;
    assert_eq!(actions(&entries), ["provider.create", "provider.update"]);
    assert_eq!(entries[0]["from"], json!({"title": "", "active": true}));
    assert_eq!(entries[0]["to"], json!({"title": "MD", "active": false}));
    assert_eq!(entries[0]["actor"]["kind"], "staff");
    assert_eq!(entries[0]["actor"]["user_id"], admin_id);
    app.send_ok(
        Method::PATCH,
        &format!("/api/v1/providers/{provider}"),
        &admin,
        Some(&json!({"active": true})),
        StatusCode::OK,
    )
    .await;

    // Slots and schedules, by the front desk. The slot is a month ahead, within the booking
    // horizon, so that a patient can book it below (Phoenix keeps -07:00 all year).
    let day = (chrono::Utc::now() + chrono::Duration::days(30)).date_naive();
    let slot = app
        .send_ok(
            Method::POST,
            &format!("/api/v1/providers/{provider}/slots"),
            &desk,
            Some(&json!({"start": format!("{day}T09:00:00-07:00"), "end": format!("{day}T09:30:00-07:00")})),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    for status in ["blocked", "free", "free"] {
        app.send_ok(
            Method::PATCH,
            &format!("/api/v1/slots/{slot}"),
            &desk,
            Some(&json!({ "status": status })),
            StatusCode::OK,
        )
        .await;
    }
    app.send_ok(
        Method::POST,
        &format!("/api/v1/providers/{provider}/schedule"),
        &desk,
        Some(&json!({
            "from_date": "2027-05-05", "to_date": "2027-05-05", "weekdays": ["wed"],
            "start_time": "09:00", "end_time": "10:00", "slot_minutes": 30
        })),
        StatusCode::OK,
    )
    .await;
    let entries = app.audit(&admin, &format!("user_id={desk_id}")).await;
    // Freeing a slot that is already free changes nothing and records nothing.
    assert_eq!(
        actions(&entries),
        [
            "slot.create",
            "slot.status",
            "slot.status",
            "schedule.apply"
        ]
    );
    assert_eq!(entries[2]["from"], json!({"status": "free"}));
    assert_eq!(entries[2]["to"], json!({"status": "blocked"}));
    assert_eq!(entries[2]["entity_id"], slot.to_string());
    assert_eq!(entries[0]["to"]["created"], 2);

    // Bookings: a patient books and moves it, the desk checks them in; another is cancelled by
    // its patient.
    let booking = app.book_ok(slot).await;
    let (reference, token) = (
        booking["reference"].as_str().unwrap().to_owned(),
        booking["manage_token"].as_str().unwrap().to_owned(),
    );
    let other_slot = app.free_slot_ids().await[0];
    app.reschedule(&reference, &token, other_slot).await;
    app.move_visit(&reference, -5).await;
    app.send_ok(
        Method::PATCH,
        &format!("/api/v1/bookings/{reference}"),
        &desk,
        Some(&json!({"status": "arrived"})),
        StatusCode::OK,
    )
    .await;
    let cancelled = app.book_ok(slot).await;
    let cancelled_ref = cancelled["reference"].as_str().unwrap();
    app.cancel(cancelled_ref, cancelled["manage_token"].as_str().unwrap())
        .await;
    let by_desk = app
        .send_ok(
            Method::POST,
            "/api/v1/bookings",
            &desk,
            Some(&json!({"slot_id": slot, "patient": crate::helpers::patient()})),
            StatusCode::CREATED,
        )
        .await;

    let entries = app.audit(&admin, &format!("reference={reference}")).await;
    assert_eq!(
        actions(&entries),
        ["booking.create", "booking.reschedule", "booking.status"]
    );
    let (created, moved, arrived) = (&entries[2], &entries[1], &entries[0]);
    assert_eq!(created["actor"]["kind"], "public");
    assert_eq!(created["to"]["status"], "booked");
    assert_eq!(created["to"]["slot_id"], slot);
    assert_eq!(moved["actor"]["kind"], "manage_token");
    assert_eq!(
        moved["actor"]["name"],
        format!("manage token of {reference}")
    );
    assert_eq!(moved["from"], json!({"slot_id": slot}));
    assert_eq!(moved["to"], json!({"slot_id": other_slot}));
    assert_eq!(arrived["actor"]["user_id"], desk_id);
    assert_eq!(arrived["from"], json!({"status": "booked"}));
    assert_eq!(arrived["to"], json!({"status": "arrived"}));

    let entries = app
        .audit(&admin, &format!("reference={cancelled_ref}"))
        .await;
    assert_eq!(actions(&entries), ["booking.create", "booking.status"]);
    assert_eq!(entries[0]["to"], json!({"status": "cancelled"}));
    let entries = app
        .audit(
            &admin,
            &format!("reference={}", by_desk["reference"].as_str().unwrap()),
        )
        .await;
    assert_eq!(entries[0]["to"]["source"], "front_desk");
    assert_eq!(entries[0]["actor"]["user_id"], desk_id);

    // Nothing secret or personal in the whole log.
    let everything = serde_json::to_string(&app.audit(&admin, "limit=500").await).unwrap();
    for secret in [
        STAFF_PASSWORD,
        "$argon2",
        token.as_str(),
        admin.as_str(),
        "ana.diaz@example.com",
        "Ana Díaz",
        "555-0134",
    ] {
        assert!(!everything.contains(secret), "the audit log holds {secret}");
    }
    // A refused change leaves no entry.
    let before = app.audit(&admin, "limit=500").await.len();
    let response = app
        .send(
            Method::PATCH,
            &format!("/api/v1/bookings/{reference}"),
            Some(&desk),
            Some(&json!({"status": "no_show"})),
        )
        .await;
    assert_problem(response, StatusCode::CONFLICT).await;
    assert_eq!(app.audit(&admin, "limit=500").await.len(), before);
}

async fn the_audit_log_filters_and_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let slots = app.free_slot_ids().await;
    for (n, slot) in slots[..5].iter().enumerate() {
        app.book_for(*slot, &another_patient(n)).await;
    }
    let first = app.audit(&admin, "limit=2").await;
    assert_eq!(first.len(), 2);
    let page = app
        .send_ok(
            Method::GET,
            "/api/v1/audit?limit=2",
            &admin,
            None,
            StatusCode::OK,
        )
        .await;
    let next = page["next_before_id"].as_i64().unwrap();
    assert_eq!(next, first[1]["id"].as_i64().unwrap());
    let second = app
        .audit(&admin, &format!("limit=2&before_id={next}"))
        .await;
    assert!(second[0]["id"].as_i64().unwrap() < next);
    let all = app.audit(&admin, "").await;
    assert_eq!(all.len(), 6, "one user and five bookings");
    let last = app
        .send_ok(
            Method::GET,
            "/api/v1/audit?limit=6",
            &admin,
            None,
            StatusCode::OK,
        )
        .await;
    assert!(last["next_before_id"].is_null());

    // Time filters: nothing before 2000 or after 2100, everything in between.
    assert!(app.audit(&admin, "to=2000-01-01").await.is_empty());
    assert!(app.audit(&admin, "from=2100-01-01").await.is_empty());
    assert_eq!(
        app.audit(&admin, "from=2000-01-01&to=2100-01-01")
            .await
            .len(),
        6
    );
    for bad in ["limit=501", "limit=0", "from=yesterday", "reference=42"] {
        let response = app
            .send(
                Method::GET,
                &format!("/api/v1/audit?{bad}"),
                Some(&admin),
                None,
            )
            .await;
        assert_problem(response, StatusCode::BAD_REQUEST).await;
    }
}
