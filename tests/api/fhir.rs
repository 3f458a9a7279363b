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

use crate::helpers::{node_result, spawn_app_with, Backend};

fn the_fhir_tools_are_there() -> Result<(), String> {
    crate::helpers::unless_required(
        "CLINIC_REQUIRE_NODE",
        crate::helpers::node_packages("tests/fhir", &["fhir", "fhir-kit-client"]),
    )
}

crate::tests! {
    once_if(the_fhir_tools_are_there): [an_ehr_reads_the_clinic_through_fhir_with_a_third_party_client],
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
    let seen = node_result("tests/fhir", "check.mjs", &[("BASE_URL", &app.address)]).await;

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
            "Slot"
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
    for location in bulk["locations"].as_array().unwrap() {
        assert!(
            location["address"]["text"].is_string(),
            "the guide wants an address: {location}"
        );
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
    let day = (Utc::now() + Duration::days(3)).date_naive();
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

    // Errors: a 404 and a 400, each an OperationOutcome.
    assert_eq!(seen["not_found"]["status"], 404);
    assert_eq!(
        seen["not_found"]["body"]["resourceType"],
        "OperationOutcome"
    );
    assert_eq!(seen["bad_search"]["status"], 400);
    assert_eq!(seen["bad_search"]["body"]["issue"][0]["code"], "invalid");
}
