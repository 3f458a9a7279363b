//! The FHIR R4 endpoint, read with other people's FHIR code (tests/fhir/check.mjs): fhir-kit-client
//! searches every resource type, pages through a week of one provider's free time by the
//! bundles' `next` links and resolves every reference; FHIR.js (the npm `fhir` package) validates
//! every resource answered against the R4 structure definitions, including the
//! CapabilityStatement and the OperationOutcomes of errors. The test then checks what it saw
//! against the REST API: the same free times, with the location's offset.
//!
//! Needs `node` and `npm ci --prefix tests/fhir`; without them the test is skipped (reported as
//! ignored, with what is missing), unless `CLINIC_REQUIRE_NODE=1` (CI sets it).

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use reqwest::{Method, StatusCode};

use crate::helpers::{node_result, spawn_app, spawn_app_with, Backend, TestApp};
use crate::waitlist::wait_for_mails;

fn the_fhir_tools_are_there() -> Result<(), String> {
    crate::helpers::unless_required(
        "CLINIC_REQUIRE_NODE",
        crate::helpers::node_packages("tests/fhir", &["fhir", "fhir-kit-client"]),
    )
}

crate::tests! {
    once_if(the_fhir_tools_are_there): [an_ehr_reads_the_clinic_through_fhir_with_a_third_party_client],
    both_backends: [
        an_appointment_created_through_fhir_is_a_booking_under_the_same_rules_and_mail,
        a_fhir_booking_and_a_rest_booking_racing_for_one_time_have_one_winner,
        appointments_and_patients_are_for_staff_and_the_booking_s_own_manage_token,
        an_appointment_is_cancelled_and_checked_in_by_updating_its_status,
        staff_search_appointments_and_patients,
        public_fhir_bookings_are_limited_per_client_like_rest_ones,
    ],
}

async fn an_ehr_reads_the_clinic_through_fhir_with_a_third_party_client() {
    // Links (paging, the published files) start from the clinic's public address: here, this
    // app's own.
    let port = crate::smtp::unused_port();
    let app = spawn_app_with(Backend::Sqlite, move |s| {
        s.server.port = port;
        s.clinic.public_base_url = format!("http://127.0.0.1:{port}");
    })
    .await;
    let desk = app.staff_token("front_desk").await;
    let seen = node_result(
        "tests/fhir",
        "check.mjs",
        &[("BASE_URL", &app.address), ("STAFF_TOKEN", &desk)],
    )
    .await;

    // Everything answered is valid R4, by FHIR.js.
    assert_eq!(
        seen["invalid"],
        json!([]),
        "FHIR.js found invalid resources"
    );
    assert_eq!(seen["fhir_version"], "4.0.1");
    assert_eq!(
        seen["supported"],
        json!([
            "Practitioner",
            "Location",
            "HealthcareService",
            "Schedule",
            "Slot",
            "Appointment",
            "Patient"
        ])
    );
    for kind in [
        "CapabilityStatement",
        "Bundle",
        "Practitioner",
        "Location",
        "HealthcareService",
        "Schedule",
        "Slot",
        "OperationOutcome",
    ] {
        assert!(
            seen["validated"][kind].as_u64().unwrap_or(0) > 0,
            "{kind} was validated: {}",
            seen["validated"]
        );
    }
    // The demo clinic: three providers, two locations, four visit types; one provider works at
    // both locations (a schedule at each).
    assert_eq!(
        seen["counts"],
        json!({"Practitioner": 3, "Location": 2, "HealthcareService": 4, "Schedule": 4})
    );
    assert_eq!(seen["unresolved"], json!([]), "every reference reads");
    assert!(seen["references_resolved"].as_u64().unwrap_or(0) >= 5);

    // Paging: five at a time through every `next` link, no slot twice, in order of start, all
    // of provider 1 at the main location, with the clinic's offset.
    assert!(seen["slot_pages"].as_u64().unwrap_or(0) >= 2, "{seen}");
    let ids: Vec<&str> = seen["slot_ids"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut distinct = ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), ids.len(), "no slot twice across pages");
    let starts: Vec<DateTime<Utc>> = seen["slot_starts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let text = s.as_str().unwrap();
            assert!(text.ends_with("-07:00"), "Phoenix's offset: {text}");
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc)
        })
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    assert_eq!(seen["slot_schedules"], json!(["Schedule/1-1"]));

    // The same free times the REST API lists.
    let rest = app
        .get_json(&format!(
            "/api/v1/slots?provider_id=1&from={}&limit={}",
            crate::helpers::urlencode(&starts[0].to_rfc3339()),
            ids.len()
        ))
        .await;
    let rest_ids: Vec<String> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].to_string())
        .collect();
    assert_eq!(ids, rest_ids);

    // A visit type's starts end where the visit would (the evaluation: 60 minutes).
    for slot in seen["typed_slots"].as_array().unwrap() {
        let start = DateTime::parse_from_rfc3339(slot["start"].as_str().unwrap()).unwrap();
        let end = DateTime::parse_from_rfc3339(slot["end"].as_str().unwrap()).unwrap();
        assert_eq!(end - start, Duration::minutes(60), "{slot}");
        assert!(slot["id"].as_str().unwrap().ends_with(".1"), "{slot}");
        assert_eq!(slot["serviceType"][0]["coding"][0]["code"], "1");
    }
    assert_eq!(seen["first_slot_read"]["status"], "free");

    // SMART Scheduling Links: the manifest names the three files; each line of each is valid
    // (checked above with the rest), every Slot's schedule and every Schedule's location is in
    // the files, and polling again with the ETag costs a 304.
    let bulk = &seen["bulk"];
    let manifest = &bulk["manifest"];
    assert!(
        manifest["transactionTime"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{manifest}"
    );
    assert!(manifest["request"]
        .as_str()
        .is_some_and(|r| r.ends_with("/fhir/$bulk-publish")));
    let types: Vec<&str> = manifest["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["type"].as_str())
        .collect();
    assert_eq!(types, ["Location", "Schedule", "Slot"]);
    assert_eq!(manifest["error"], json!([]));
    assert_eq!(bulk["cache_control"], "public, max-age=300");
    assert_eq!(bulk["manifest_again"], 304);
    for kind in ["Location", "Schedule", "Slot"] {
        let file = &bulk["files"][kind];
        assert_eq!(file["status"], 200, "{kind}: {file}");
        assert_eq!(file["contentType"], "application/fhir+ndjson");
        assert_eq!(file["again"], 304, "{kind}: {file}");
        assert!(
            bulk["counts"][kind].as_u64().unwrap_or(0) > 0,
            "{kind}: {bulk}"
        );
    }
    assert_eq!(bulk["slots_without_schedule"], 0);
    assert_eq!(bulk["schedules_without_location"], 0);
    assert_eq!(bulk["slots_without_deep_link"], 0);
    assert_eq!(bulk["slots_without_phone"], 0);
    // The guide's Location: an address (in parts: both demo addresses are US ones), a phone and
    // an identifier; the manifest names the state its files cover.
    for location in bulk["locations"].as_array().unwrap() {
        assert!(
            location["address"]["text"].is_string(),
            "the guide wants an address: {location}"
        );
        assert_eq!(location["address"]["state"], "AZ", "{location}");
        assert!(location["address"]["postalCode"].is_string(), "{location}");
        assert!(location["address"]["city"].is_string(), "{location}");
        assert!(location["telecom"][0]["value"].is_string(), "{location}");
        assert!(
            location["identifier"][0]["system"]
                .as_str()
                .is_some_and(|s| s.ends_with("/api/v1/locations")),
            "{location}"
        );
        assert_eq!(location["identifier"][0]["value"], location["id"]);
    }
    for output in manifest["output"].as_array().unwrap() {
        assert_eq!(output["extension"]["state"], json!(["AZ"]), "{output}");
    }
    // The deep link opens the booking page on that time and visit type.
    let link = bulk["first_deep_link"].as_str().expect("a deep link");
    let path = &link[link.find("/book").expect("a /book link")..];
    assert!(
        path.contains("provider_id=") && path.contains("start=") && path.contains("visit_type_id="),
        "{path}"
    );
    assert_eq!(app.get(path).await.status(), reqwest::StatusCode::OK);

    // A date is its whole local day: `start=<date>` finds that day's free time and no other.
    // The day: one three or more days ahead on which Practitioner/1 works (not every weekday).
    let theirs = app
        .get_json(&format!(
            "/api/v1/slots?provider_id=1&from={}&limit=1",
            (Utc::now() + Duration::days(3)).date_naive()
        ))
        .await;
    let day = &theirs["items"][0]["local_start"]
        .as_str()
        .expect("a free slot")[..10];
    let that_day = app
        .get_json(&format!(
            "/fhir/Slot?schedule.actor=Practitioner/1&start={day}&_count=500"
        ))
        .await;
    let entries = that_day["entry"].as_array().expect("entries");
    assert!(!entries.is_empty(), "{that_day}");
    assert!(entries.iter().all(|e| e["resource"]["start"]
        .as_str()
        .is_some_and(|s| s.starts_with(&day.to_string()))));
    assert_eq!(that_day["total"], entries.len());
    // An unknown reference finds nothing; a malformed one is a 400.
    let unknown = app.get_json("/fhir/Slot?schedule.actor=Location/999").await;
    assert_eq!(unknown["total"], 0, "{unknown}");
    assert_eq!(
        app.get("/fhir/Slot?schedule.actor=Location/abc")
            .await
            .status(),
        reqwest::StatusCode::BAD_REQUEST
    );

    // Booking with fhir-kit-client: a patient's app books a Slot (If-None-Exist), reads it
    // with the manage token and cancels it; the EHR finds it and its patient, resolves every
    // reference and books by start for that Patient; a taken time is a 409, no token a 401,
    // another booking's manage token a 403, a bad Appointment a 422, each an OperationOutcome
    // that FHIR.js validated with everything else above.
    let booking = &seen["booking"];
    let booked = &booking["booked"];
    let id = booked["id"].as_str().expect("an id");
    assert_eq!(booked["status"], "booked");
    assert_eq!(booking["own_read"], id);
    assert!(
        booking["found"].as_array().unwrap().contains(&json!(id)),
        "{booking}"
    );
    assert_eq!(booking["patients"], json!([id]));
    assert_eq!(booking["unresolved"], json!([]));
    assert_eq!(booking["booked_slot"], "busy");
    assert_eq!(booking["cancelled"], "cancelled");
    assert_eq!(booking["freed_slot"], "free");
    assert_eq!(booking["second"]["status"], "booked");
    assert_eq!(booking["second"]["start"], booking["free_second_start"]);
    assert_eq!(booking["second"]["patient"], "Rosa Client");
    assert_eq!(booking["conflict"], 409);
    assert_eq!(booking["unauthorized"], 401);
    assert_eq!(booking["forbidden"], 403);
    assert_eq!(booking["unprocessable"], 422);
    for kind in ["Appointment", "Patient"] {
        assert!(seen["validated"][kind].as_u64().unwrap_or(0) > 0, "{kind}");
    }

    // Errors: a 404 and a 400, each an OperationOutcome.
    assert_eq!(seen["not_found"]["status"], 404);
    assert_eq!(
        seen["not_found"]["body"]["resourceType"],
        "OperationOutcome"
    );
    assert_eq!(seen["bad_search"]["status"], 400);
    assert_eq!(seen["bad_search"]["body"]["issue"][0]["code"], "invalid");
}

/// An `Appointment` to create: `status: booked`, the time (a `slot` reference), and the patient
/// contained, as a patient's app would send it.
fn appointment_for(slot: &str, name: &str, email: &str) -> Value {
    json!({
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": slot}],
        "reasonCode": [{"text": "Lower-back pain"}],
        "contained": [{
            "resourceType": "Patient",
            "id": "p",
            "name": [{"given": [name], "family": "Fhir"}],
            "telecom": [
                {"system": "email", "value": email},
                {"system": "phone", "value": "+1 602 555 0100"},
            ],
            "birthDate": "1980-02-03",
        }],
        "participant": [
            {"actor": {"reference": "#p"}, "status": "accepted"},
        ],
    })
}

/// Sends a FHIR request (`application/fhir+json`), with a bearer token and extra headers.
async fn fhir(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/fhir+json")
            .body(body.to_string());
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    )
}

/// The manage token a created Appointment carries in its extension.
fn manage_token(created: &Value) -> String {
    created["extension"]
        .as_array()
        .and_then(|all| {
            all.iter().find(|e| {
                e["url"]
                    .as_str()
                    .is_some_and(|u| u.ends_with("/manage-token"))
            })
        })
        .and_then(|e| e["valueString"].as_str())
        .unwrap_or_else(|| panic!("a manage token in {created}"))
        .to_owned()
}

async fn create(app: &TestApp, slot_id: i64, email: &str) -> Value {
    let body = appointment_for(&format!("Slot/{slot_id}"), "Ana", email);
    let (status, created, _) = fhir(
        app,
        Method::POST,
        "/fhir/Appointment",
        None,
        Some(&body),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

fn outcome_code(body: &Value) -> &str {
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    body["issue"][0]["code"].as_str().unwrap_or_default()
}

async fn an_appointment_created_through_fhir_is_a_booking_under_the_same_rules_and_mail(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let slot = app.free_slots_from(2).await[0].clone();
    let slot_id = slot["id"].as_i64().expect("a slot");
    let body = appointment_for(&format!("Slot/{slot_id}"), "Ana", "ana.fhir@example.com");
    let (status, created, headers) = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment",
        None,
        Some(&body),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let reference = created["id"].as_str().expect("an id").to_owned();
    assert!(reference.starts_with("BK-"), "{created}");
    assert!(headers["location"]
        .to_str()
        .unwrap()
        .ends_with(&format!("/fhir/Appointment/{reference}")));
    assert_eq!(
        headers["content-type"],
        "application/fhir+json; charset=utf-8"
    );
    assert_eq!(created["status"], "booked");
    assert_eq!(created["slot"][0]["reference"], format!("Slot/{slot_id}"));
    assert_eq!(
        created["participant"][1]["actor"]["reference"],
        format!("Practitioner/{}", slot["provider_id"])
    );

    // A booking like any other: the REST API reads it with the manage token, its slot is
    // taken, and the same confirmation mail goes out.
    let token = manage_token(&created);
    let booking = app.get_booking(&reference, &token).await;
    assert_eq!(booking.status(), StatusCode::OK);
    let booking: Value = booking.json().await.unwrap();
    assert_eq!(booking["patient"]["name"], "Ana Fhir");
    assert_eq!(booking["source"], "fhir");
    assert_eq!(booking["reason"], "Lower-back pain");
    assert_eq!(app.slot_status(slot_id).await, "busy");
    let mails = wait_for_mails(
        || app.written_mail(),
        "ana.fhir@example.com",
        "Appointment confirmed",
        1,
    )
    .await;
    assert!(mails[0].1.contains(&reference), "{}", mails[0].1);

    // The time is taken now: 409, an OperationOutcome.
    let (status, outcome, _) = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment",
        None,
        Some(&appointment_for(
            &format!("Slot/{slot_id}"),
            "Ben",
            "ben@example.com",
        )),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{outcome}");
    assert_eq!(outcome_code(&outcome), "conflict");

    // The booking rules hold: a time inside the minimum notice is refused.
    let soon = app.insert_slot(30).await;
    let (status, outcome, _) = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment",
        None,
        Some(&appointment_for(
            &format!("Slot/{soon}"),
            "Cy",
            "cy@example.com",
        )),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{outcome}");
    assert!(
        outcome["issue"][0]["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("ahead")),
        "{outcome}"
    );
    assert_eq!(app.bookings_for_slot(soon).await, 0);

    // By start and practitioner instead of a slot, with a visit type's code.
    let next = app.free_slots_from(3).await;
    let start = next[0]["start"].as_str().unwrap().to_owned();
    let provider = next[0]["provider_id"].as_i64().unwrap();
    let mut by_start = appointment_for("", "Di", "di@example.com");
    by_start.as_object_mut().unwrap().remove("slot");
    by_start["start"] = json!(start);
    by_start["participant"].as_array_mut().unwrap().push(
        json!({"actor": {"reference": format!("Practitioner/{provider}")}, "status": "accepted"}),
    );
    let (status, made, _) = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment",
        None,
        Some(&by_start),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(
        DateTime::parse_from_rfc3339(made["start"].as_str().unwrap()).unwrap(),
        DateTime::parse_from_rfc3339(&start).unwrap()
    );

    // Retries are safe: the same Idempotency-Key replays the first answer; If-None-Exist
    // answers what its criteria made, 200, without booking again.
    let again_slot = next[1]["id"].as_i64().unwrap();
    let retry = appointment_for(&format!("Slot/{again_slot}"), "Ed", "ed@example.com");
    let key = [("Idempotency-Key", "fhir-retry-1")];
    let (first, one, _) = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment",
        None,
        Some(&retry),
        &key,
    )
    .await;
    let (second, two, _) = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment",
        None,
        Some(&retry),
        &key,
    )
    .await;
    assert_eq!((first, second), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(one["id"], two["id"]);
    let ine_slot = next[2]["id"].as_i64().unwrap();
    let conditional = appointment_for(&format!("Slot/{ine_slot}"), "Flo", "flo@example.com");
    let criteria = [(
        "If-None-Exist",
        "identifier=https://ehr.example/visits|4711",
    )];
    let (first, one, _) = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment",
        None,
        Some(&conditional),
        &criteria,
    )
    .await;
    let (second, two, _) = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment",
        None,
        Some(&conditional),
        &criteria,
    )
    .await;
    assert_eq!(
        (first, second),
        (StatusCode::CREATED, StatusCode::OK),
        "{two}"
    );
    assert_eq!(one["id"], two["id"]);
    assert_eq!(app.bookings_for_slot(ine_slot).await, 1);
    // The same criteria from a public caller with another body is not the same request: it
    // gets no one else's booking (nor its manage token), only a 422.
    let intruder = appointment_for(&format!("Slot/{ine_slot}"), "Mallory", "m@example.com");
    let (status, outcome, _) = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment",
        None,
        Some(&intruder),
        &criteria,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
    assert!(!outcome.to_string().contains(one["id"].as_str().unwrap()));
    assert_eq!(app.bookings_for_slot(again_slot).await, 1);

    // Bad requests: no patient, a status other than booked, not JSON, not FHIR JSON.
    let mut nobody = appointment_for(&format!("Slot/{}", next[3]["id"]), "G", "g@example.com");
    nobody["participant"] = json!([]);
    nobody["status"] = json!("proposed");
    let (status, outcome, _) = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment",
        None,
        Some(&nobody),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
    let expressions: Vec<&str> = outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["expression"][0].as_str())
        .collect();
    assert_eq!(
        expressions,
        ["Appointment.participant", "Appointment.status"]
    );
    let (status, outcome, _) = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment",
        None,
        Some(&json!("not a resource")),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(outcome_code(&outcome), "invalid");
    let response = app
        .client
        .post(app.url("/fhir/Appointment"))
        .header("Content-Type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

async fn a_fhir_booking_and_a_rest_booking_racing_for_one_time_have_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    for slot_id in app.free_slot_ids_from(2).await.into_iter().take(3) {
        let requests = (0..20).map(|n| {
            let app = &app;
            async move {
                if n % 2 == 0 {
                    let body = appointment_for(
                        &format!("Slot/{slot_id}"),
                        "Racer",
                        &format!("fhir{n}@example.com"),
                    );
                    fhir(
                        app,
                        Method::POST,
                        "/fhir/Appointment",
                        None,
                        Some(&body),
                        &[],
                    )
                    .await
                    .0
                } else {
                    app.post_json(
                        "/api/v1/bookings",
                        &json!({"slot_id": slot_id, "patient": crate::helpers::another_patient(n)}),
                    )
                    .await
                    .status()
                }
            }
        });
        let statuses = futures::future::join_all(requests).await;
        let created = statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count();
        let conflicts = statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count();
        assert_eq!((created, conflicts), (1, 19), "{statuses:?}");
        assert_eq!(app.bookings_for_slot(slot_id).await, 1);
    }
}

async fn appointments_and_patients_are_for_staff_and_the_booking_s_own_manage_token(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let slots = app.free_slot_ids_from(2).await;
    let mine = create(&app, slots[0], "mine@example.com").await;
    let theirs = app.book_ok(slots[1]).await;
    let (mine_id, token) = (mine["id"].as_str().unwrap(), manage_token(&mine));
    let theirs_id = theirs["reference"].as_str().unwrap();
    let desk = app.staff_token("front_desk").await;

    for path in [
        format!("/fhir/Appointment/{theirs_id}"),
        format!("/fhir/Patient/{theirs_id}"),
        "/fhir/Appointment?status=booked".to_owned(),
        "/fhir/Patient?name=ana".to_owned(),
    ] {
        // No token: 401; this booking's manage token for another's: 403; staff: 200.
        let (status, outcome, _) = fhir(&app, Method::GET, &path, None, None, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(outcome_code(&outcome), "security");
        let (status, outcome, _) = fhir(&app, Method::GET, &path, Some(&token), None, &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(outcome_code(&outcome), "security");
        let (status, _, headers) = fhir(&app, Method::GET, &path, Some(&desk), None, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers["cache-control"], "no-store");
    }
    // The manage token reads its own Appointment and Patient.
    let (status, own, _) = fhir(
        &app,
        Method::GET,
        &format!("/fhir/Appointment/{mine_id}"),
        Some(&token),
        None,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(own["id"], mine_id);
    let (status, patient, _) = fhir(
        &app,
        Method::GET,
        &format!("/fhir/Patient/{mine_id}"),
        Some(&token),
        None,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(patient["telecom"][0]["value"], "mine@example.com");
    assert_eq!(patient["birthDate"], "1980-02-03");
    // A token that is no token at all: 401.
    let (status, _, _) = fhir(
        &app,
        Method::GET,
        &format!("/fhir/Appointment/{mine_id}"),
        Some("not-a-token"),
        None,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // An unknown booking is a 404 for staff.
    let (status, _, _) = fhir(
        &app,
        Method::GET,
        "/fhir/Appointment/BK-0000000000",
        Some(&desk),
        None,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A public app books for a patient it contains; by reference is the front desk's.
    let mut by_reference = appointment_for(&format!("Slot/{}", slots[2]), "X", "x@example.com");
    by_reference["participant"] =
        json!([{"actor": {"reference": format!("Patient/{theirs_id}")}, "status": "accepted"}]);
    let (status, _, _) = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment",
        None,
        Some(&by_reference),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, made, _) = fhir(
        &app,
        Method::POST,
        "/fhir/Appointment",
        Some(&desk),
        Some(&by_reference),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(
        made["participant"][0]["actor"]["display"],
        theirs["patient"]["name"]
    );
    let booking = app
        .booking_as_staff(&desk, made["id"].as_str().unwrap())
        .await;
    assert_eq!(booking["source"], "front_desk");
    assert_eq!(booking["patient"]["email"], theirs["patient"]["email"]);
}

async fn an_appointment_is_cancelled_and_checked_in_by_updating_its_status(backend: Backend) {
    let app = spawn_app(backend).await;
    let slots = app.free_slot_ids_from(2).await;
    let created = create(&app, slots[0], "cancel.me@example.com").await;
    let (id, token) = (
        created["id"].as_str().unwrap().to_owned(),
        manage_token(&created),
    );
    let path = format!("/fhir/Appointment/{id}");
    let (_, mut current, _) = fhir(&app, Method::GET, &path, Some(&token), None, &[]).await;

    // Only the status changes: a new start is refused, and so is checking in with a manage
    // token (the desk's step).
    let mut moved = current.clone();
    moved["start"] = json!("2031-01-01T09:00:00-07:00");
    moved["status"] = json!("cancelled");
    let (status, outcome, _) =
        fhir(&app, Method::PUT, &path, Some(&token), Some(&moved), &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
    assert_eq!(outcome["issue"][0]["expression"][0], "Appointment.start");
    current["status"] = json!("arrived");
    let (status, _, _) = fhir(&app, Method::PUT, &path, Some(&token), Some(&current), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = fhir(
        &app,
        Method::PUT,
        &format!("/fhir/Appointment/{}", "BK-0000000000"),
        Some(&token),
        Some(&current),
        &[],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "another booking's manage token"
    );

    // The patient's app cancels: the slot is free again and the cancellation mail goes out.
    current["status"] = json!("cancelled");
    let (status, cancelled, _) =
        fhir(&app, Method::PUT, &path, Some(&token), Some(&current), &[]).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(app.slot_status(slots[0]).await, "free");
    wait_for_mails(
        || app.written_mail(),
        "cancel.me@example.com",
        "Appointment cancelled",
        1,
    )
    .await;
    // Again: nothing more happens (the same status), and booked cannot come back.
    let (status, _, _) = fhir(&app, Method::PUT, &path, Some(&token), Some(&current), &[]).await;
    assert_eq!(status, StatusCode::OK);
    current["status"] = json!("booked");
    let (status, outcome, _) =
        fhir(&app, Method::PUT, &path, Some(&token), Some(&current), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{outcome}");
    let desk = app.staff_token("front_desk").await;
    let (status, outcome, _) =
        fhir(&app, Method::PUT, &path, Some(&desk), Some(&current), &[]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{outcome}");

    // The desk checks a patient in and completes the visit, by status, within the hours
    // around it.
    let soon = app.insert_slot(60).await;
    let desk_booking = app
        .send_ok(
            Method::POST,
            "/api/v1/bookings",
            &desk,
            Some(&json!({"slot_id": soon, "patient": crate::helpers::patient(), "override": {"reason": "walk-in"}})),
            StatusCode::CREATED,
        )
        .await;
    let path = format!(
        "/fhir/Appointment/{}",
        desk_booking["reference"].as_str().unwrap()
    );
    let (_, mut visit, _) = fhir(&app, Method::GET, &path, Some(&desk), None, &[]).await;
    for (status, expected) in [("arrived", "arrived"), ("fulfilled", "fulfilled")] {
        visit["status"] = json!(status);
        let (code, answer, _) =
            fhir(&app, Method::PUT, &path, Some(&desk), Some(&visit), &[]).await;
        assert_eq!(code, StatusCode::OK, "{answer}");
        assert_eq!(answer["status"], expected);
    }
}

async fn staff_search_appointments_and_patients(backend: Backend) {
    let app = spawn_app(backend).await;
    let slots = app.free_slots_from(2).await;
    let first = create(&app, slots[0]["id"].as_i64().unwrap(), "repeat@example.com").await;
    let second = create(&app, slots[1]["id"].as_i64().unwrap(), "Repeat@Example.com").await;
    let other = create(&app, slots[2]["id"].as_i64().unwrap(), "other@example.com").await;
    let desk = app.staff_token("provider").await;
    let search = |query: String| {
        let (app, desk) = (&app, desk.clone());
        async move {
            let (status, bundle, _) = fhir(
                app,
                Method::GET,
                &format!("/fhir/{query}"),
                Some(&desk),
                None,
                &[],
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{query}: {bundle}");
            assert_eq!(bundle["type"], "searchset");
            bundle["entry"]
                .as_array()
                .map(|e| {
                    e.iter()
                        .map(|e| e["resource"]["id"].as_str().unwrap_or_default().to_owned())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        }
    };
    let ids = |all: &[&Value]| {
        all.iter()
            .map(|v| v["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };

    // One patient, two visits: the patient's address whatever its case.
    let first_id = first["id"].as_str().unwrap();
    assert_eq!(
        search(format!("Appointment?patient=Patient/{first_id}")).await,
        ids(&[&first, &second])
    );
    assert_eq!(
        search(format!(
            "Appointment?identifier={}",
            other["id"].as_str().unwrap()
        ))
        .await,
        ids(&[&other])
    );
    // By day: the first slot's local date, and the practitioner.
    let day = &slots[0]["local_start"].as_str().unwrap()[..10];
    let provider = slots[0]["provider_id"].as_i64().unwrap();
    let on_day = search(format!(
        "Appointment?date={day}&practitioner=Practitioner/{provider}"
    ))
    .await;
    assert!(on_day.contains(&first_id.to_owned()), "{on_day:?}");
    assert!(search(format!("Appointment?date=lt{day}")).await.is_empty());
    assert_eq!(
        search("Appointment?status=cancelled".into()).await,
        Vec::<String>::new()
    );
    assert_eq!(
        search("Appointment?status=booked&_count=2".into())
            .await
            .len(),
        2
    );
    // A status no booking has finds nothing; so does an identifier that is no reference, whatever
    // the other parameters say.
    assert!(search("Appointment?status=proposed".into())
        .await
        .is_empty());
    assert!(search("Appointment?identifier=x&status=booked".into())
        .await
        .is_empty());
    // Paging: a next link carries on where the page stopped.
    let (_, page, _) = fhir(
        &app,
        Method::GET,
        "/fhir/Appointment?_count=2",
        Some(&desk),
        None,
        &[],
    )
    .await;
    let next = page["link"][1]["url"].as_str().expect("a next link");
    let next = &next[next.find("/fhir/").unwrap()..];
    let (_, rest, _) = fhir(&app, Method::GET, next, Some(&desk), None, &[]).await;
    assert_eq!(rest["entry"].as_array().unwrap().len(), 1, "{rest}");

    // Patients: one per address, as the newest booking names them.
    let found = search("Patient?email=REPEAT@example.com".into()).await;
    assert_eq!(found, ids(&[&second]));
    assert_eq!(search("Patient?name=fhir".into()).await.len(), 2);
    assert_eq!(search("Patient?birthdate=1980-02-03".into()).await.len(), 2);
    assert!(search("Patient?name=nobody".into()).await.is_empty());
    // A search names what it looks for: not every patient at once.
    let (status, _, _) = fhir(&app, Method::GET, "/fhir/Patient", Some(&desk), None, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = fhir(
        &app,
        Method::GET,
        "/fhir/Patient?birthdate=soon",
        Some(&desk),
        None,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn public_fhir_bookings_are_limited_per_client_like_rest_ones(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.http.rate_limit_per_minute = 2).await;
    let slots = app.free_slot_ids_from(2).await;
    let mut statuses = Vec::new();
    let mut last = Value::Null;
    for (n, slot) in slots.iter().take(3).enumerate() {
        let body = appointment_for(
            &format!("Slot/{slot}"),
            "Rate",
            &format!("rate{n}@example.com"),
        );
        let (status, answer, _) = fhir(
            &app,
            Method::POST,
            "/fhir/Appointment",
            None,
            Some(&body),
            &[],
        )
        .await;
        statuses.push(status);
        last = answer;
    }
    assert_eq!(
        statuses,
        [
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    assert_eq!(outcome_code(&last), "throttled");
}
