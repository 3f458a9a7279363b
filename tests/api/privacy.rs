//! Patient data never reaches the log: a whole booking flow against the real binary, with
//! debug logging on, leaves no name, email, phone, date of birth or token in its output.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{Backend, ServerProcess, TestDatabase};
use crate::smtp::SmtpSink;

crate::both_backends!(the_log_of_a_booking_flow_holds_no_patient_data);

async fn the_log_of_a_booking_flow_holds_no_patient_data(backend: Backend) {
    let database = TestDatabase::create(backend);
    let sink = SmtpSink::start();
    let server = ServerProcess::start(&database, sink.port).await;
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.address);
    // Days ahead: the booking is moved online below, before the booking rules' cut-off.
    let from = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive();
    let slots: Value = client
        .get(url(&format!("/api/v1/slots?from={from}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<i64> = slots["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    let patient = json!({
        "name": "Zebulon Quixote-Farnsworth",
        "email": "zebulon.quixote@example.org",
        "phone": "+1 (480) 555-0199",
        "date_of_birth": "1971-07-14"
    });
    let booking: Value = client
        .post(url("/api/v1/bookings"))
        .json(&json!({"slot_id": ids[0], "patient": patient, "reason": "Sciatica flare-up"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reference = booking["reference"].as_str().unwrap();
    let token = booking["manage_token"].as_str().unwrap();
    let with_token = |r: reqwest::RequestBuilder| r.bearer_auth(token);
    let read = with_token(client.get(url(&format!("/api/v1/bookings/{reference}"))))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let moved = with_token(client.post(url(&format!("/api/v1/bookings/{reference}/reschedule"))))
        .json(&json!({"slot_id": ids[1]}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::OK);
    // Invalid input echoed back in errors must not be logged either.
    let invalid = client
        .post(url("/api/v1/bookings"))
        .json(&json!({"slot_id": ids[2], "patient": {"name": "Zebulon Quixote-Farnsworth", "email": "zebulon.quixote@"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let malformed = client
        .post(url("/api/v1/bookings"))
        .header("content-type", "application/json")
        .body(r#"{"slot_id": "Zebulon Quixote-Farnsworth"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let cancelled = with_token(client.post(url(&format!("/api/v1/bookings/{reference}/cancel"))))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), StatusCode::OK);
    // The cancellation always goes out (a confirmation or change still queued when the booking
    // was cancelled is dropped as obsolete).
    sink.wait_for(1).await;
    // Staff find the patient, note something about them, export and erase them: their record,
    // the search words and the note's text stay out of the log too.
    let admin = crate::helpers::admin_token_on(&database, &server.address).await;
    let staff = |r: reqwest::RequestBuilder| r.bearer_auth(&admin);
    let found: Value = staff(client.get(url("/api/v1/patients?q=Quixote")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let patient_id = found["items"][0]["id"].as_i64().expect("found");
    let noted = staff(client.post(url(&format!("/api/v1/patients/{patient_id}/notes"))))
        .json(&json!({"body": "Prefers the Tuesday physio, Hyperborean accent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(noted.status(), StatusCode::CREATED);
    for (method, path) in [("GET", "export"), ("POST", "erase")] {
        let request = match method {
            "GET" => client.get(url(&format!("/api/v1/admin/patients/{patient_id}/{path}"))),
            _ => client.post(url(&format!("/api/v1/admin/patients/{patient_id}/{path}"))),
        };
        assert_eq!(
            staff(request).send().await.unwrap().status(),
            StatusCode::OK,
            "{path}"
        );
    }
    // Give the worker a moment to log the deliveries it just made.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let log = server.log();
    assert!(
        log.contains("request finished"),
        "the log was captured:\n{log}"
    );
    assert!(
        log.contains("mail delivered"),
        "the worker logged its work:\n{log}"
    );
    for secret in [
        "Zebulon",
        "Quixote",
        "zebulon.quixote",
        "555-0199",
        "1971-07-14",
        "Sciatica",
        "Hyperborean",
        token,
        &token[token.len() - 20..],
    ] {
        assert!(!log.contains(secret), "{secret:?} found in the log:\n{log}");
    }
}
