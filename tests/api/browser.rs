//! A real browser books through the booking page and through the widget on an article from
//! another origin (tests/browser/book.mjs, Playwright driving Debian's Chromium). The test then
//! finds both bookings through the API and their confirmations at the SMTP server. Screenshots
//! land in `target/screenshots/`.
//!
//! Needs `node`, `/usr/bin/chromium` and `npm ci --prefix tests/browser`; without them the test
//! is skipped (reported as ignored, with what is missing), unless `CLINIC_REQUIRE_BROWSER=1` (CI
//! sets it).

use std::path::Path;

use serde_json::Value;

use crate::helpers::{spawn_app_with, Backend};
use crate::smtp::{unused_port, SmtpSink};

fn browser_available() -> Result<(), String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Err(format!("{chromium} not found"));
    }
    crate::helpers::node_packages("tests/browser", &["playwright-core"])
}

/// The harness's precondition: Chromium and the driver, required with `CLINIC_REQUIRE_BROWSER=1`.
fn the_browser_can_run() -> Result<(), String> {
    crate::helpers::unless_required("CLINIC_REQUIRE_BROWSER", browser_available())
}

crate::tests! {
    once_if(the_browser_can_run): [a_patient_books_through_the_page_and_the_widget_in_a_real_browser],
}

async fn a_patient_books_through_the_page_and_the_widget_in_a_real_browser() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sink = SmtpSink::start();
    let article_port = unused_port();
    let smtp_port = sink.port;
    let app = spawn_app_with(Backend::Sqlite, move |s| {
        s.mail.transport = clinic_booking::settings::MailTransportKind::Smtp;
        s.mail.smtp_host = "127.0.0.1".into();
        s.mail.smtp_port = smtp_port;
        s.mail.reminder_hours_before = 1;
        s.http.allowed_origins = format!("http://127.0.0.1:{article_port}");
    })
    .await;

    let screenshots = root.join("target/screenshots");
    let output = tokio::process::Command::new("node")
        .arg(root.join("tests/browser/book.mjs"))
        .env("BASE_URL", &app.address)
        .env("ARTICLE_PORT", article_port.to_string())
        .env("SCREENSHOT_DIR", &screenshots)
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "browser run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("no result line ({e}):\n{stdout}"));
    assert!(
        result["email_error"]
            .as_str()
            .unwrap_or_default()
            .contains("email"),
        "the inline error came from the API's problem details: {result}"
    );

    // Both bookings exist, with where they came from.
    let admin = app.staff_token("admin").await;
    let mut sources = Vec::new();
    for key in ["page_reference", "widget_reference"] {
        let reference = result[key].as_str().expect("reference");
        let booking = app.booking_as_staff(&admin, reference).await;
        assert_eq!(booking["status"], "booked");
        sources.push(booking["source"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(sources, ["website", "stress-and-back-pain"]);

    // And their confirmations reached the mail server.
    let mails = sink.wait_for(2).await;
    for key in ["page_reference", "widget_reference"] {
        let reference = result[key].as_str().unwrap_or_default();
        assert!(
            mails
                .iter()
                .any(|m| String::from_utf8_lossy(m).contains(reference)),
            "no confirmation for {reference}"
        );
    }
    assert!(screenshots.join("book.png").exists());
}
