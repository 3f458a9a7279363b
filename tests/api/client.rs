//! A TypeScript client generated from the served `/openapi.json` books an appointment: the test
//! downloads the document from the running app into a temp dir, generates `schema.d.ts` with
//! `openapi-typescript`, type-checks the hand-written walk-through (`tests/client/walkthrough.ts`,
//! requests through `openapi-fetch`) against it with `tsc --strict` and compiles it, then runs it
//! against the app: providers, a free time, a booking with an `Idempotency-Key` and its replay,
//! read, reschedule, a taken slot (409), an invalid email (422), cancel. A document (or a
//! generator version) that would give web developers a wrong client fails here.
//!
//! Needs `node` and `npm ci --prefix tests/client`; without them the test is skipped (reported
//! as ignored, with what is missing), unless `CLINIC_REQUIRE_NODE=1` (CI sets it).

use std::path::Path;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, Backend};

/// What the walk-through needs from `tests/client/node_modules`.
const PACKAGES: [&str; 4] = [
    "openapi-typescript",
    "openapi-fetch",
    "typescript",
    "@types/node",
];

/// The harness's precondition: the client's tools, required with `CLINIC_REQUIRE_NODE=1`.
fn the_client_can_be_generated() -> Result<(), String> {
    crate::helpers::unless_required(
        "CLINIC_REQUIRE_NODE",
        crate::helpers::node_packages("tests/client", &PACKAGES),
    )
}

crate::tests! {
    once_if(the_client_can_be_generated): [a_client_generated_from_the_served_document_books_an_appointment],
}

/// Runs `node args…` in `dir`; panics with its output unless it succeeds. Returns its stdout.
async fn node(dir: &Path, what: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = tokio::process::Command::new("node")
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{what}: run node: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

async fn a_client_generated_from_the_served_document_books_an_appointment() {
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/client");
    let app = spawn_app(Backend::Sqlite).await;

    // The client project as a web developer has it: the walk-through, its package and tsconfig,
    // the pinned tools, and the document as the server serves it.
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    for file in ["package.json", "tsconfig.json", "walkthrough.ts"] {
        std::fs::copy(sources.join(file), dir.join(file)).expect(file);
    }
    std::os::unix::fs::symlink(sources.join("node_modules"), dir.join("node_modules"))
        .expect("link node_modules");
    let document = app.get("/openapi.json").await;
    assert_eq!(document.status(), StatusCode::OK);
    let document = document.bytes().await.expect("document");
    std::fs::write(dir.join("openapi.json"), &document).expect("write the document");

    node(
        dir,
        "openapi-typescript",
        &[
            "node_modules/openapi-typescript/bin/cli.js",
            "openapi.json",
            "--output",
            "schema.d.ts",
        ],
        &[],
    )
    .await;
    // Type-checks the generated types and the walk-through (the tsconfig checks declaration
    // files too, and emits nothing on an error), then compiles it to out/.
    node(
        dir,
        "tsc --strict",
        &[
            "node_modules/typescript/bin/tsc",
            "--project",
            "tsconfig.json",
            "--strict",
            "--pretty",
            "false",
        ],
        &[],
    )
    .await;
    let stdout = node(
        dir,
        "the walk-through",
        &["out/walkthrough.js"],
        &[("BASE_URL", &app.address)],
    )
    .await;
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("no result line ({e}):\n{stdout}"));

    // What the walk-through did, seen from the server.
    let reference = result["reference"].as_str().expect("reference");
    let first = result["first_slot"].as_i64().expect("first slot");
    let second = result["second_slot"].as_i64().expect("second slot");
    assert_eq!(result["status"], "cancelled", "{result}");
    assert_eq!(result["conflict"]["status"], 409, "{result}");
    assert!(
        result["email_error"]
            .as_str()
            .is_some_and(|m| m.contains("email")),
        "{result}"
    );
    let admin = app.staff_token("admin").await;
    let booking = app.booking_as_staff(&admin, reference).await;
    assert_eq!(booking["status"], "cancelled");
    assert_eq!(booking["slot"]["id"], second);
    // One booking, moved: the replay made no second one, nor did the 409 and the 422.
    assert_eq!(app.bookings_for_slot(first).await, 0);
    assert_eq!(app.bookings_for_slot(second).await, 1);
    assert_eq!(app.slot_status(first).await, "free");
    assert_eq!(app.slot_status(second).await, "free");
}
