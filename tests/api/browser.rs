//! A real browser books through the booking page and through the widget on an article from
//! another origin (tests/browser/book.mjs, Playwright driving Debian's Chromium). On the page the
//! patient chooses the visit type first (a 60-minute new-patient evaluation), books one of the
//! times where it fits, and moves it from the manage link; a returning-patients type is refused
//! with the reason shown. The widget books a massage from its visit type choice. The test then
//! finds both bookings through the API, with their visit types and lengths, and their
//! confirmations at the SMTP server. At every step axe-core finds no WCAG 2.2 A or AA violation
//! on the page or in the widget. Screenshots land in `target/screenshots/`.
//!
//! Needs `node`, `/usr/bin/chromium` and `npm ci --prefix tests/browser`; without them the test
//! is skipped (reported as ignored, with what is missing), unless `CLINIC_REQUIRE_BROWSER=1` (CI
//! sets it).

use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::helpers::{spawn_app_with, Backend};
use crate::smtp::{unused_port, SmtpSink};

fn browser_available() -> Result<(), String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Err(format!("{chromium} not found"));
    }
    crate::helpers::node_packages("tests/browser", &["playwright-core", "axe-core"])
}

/// The harness's precondition: Chromium and the driver, required with `CLINIC_REQUIRE_BROWSER=1`.
fn the_browser_can_run() -> Result<(), String> {
    crate::helpers::unless_required("CLINIC_REQUIRE_BROWSER", browser_available())
}

crate::tests! {
    once_if(the_browser_can_run): [a_patient_books_through_the_page_and_the_widget_in_a_real_browser],
}

fn instant(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .unwrap_or_else(|| panic!("not an instant: {value}"))
        .with_timezone(&Utc)
}

/// The visit a booking holds: its type's name, and its length in minutes from start to end.
fn visit(booking: &Value) -> (String, i64) {
    let name = booking["visit_type"]["name"].as_str().unwrap_or_default();
    let length = instant(&booking["slot"]["end"]) - instant(&booking["slot"]["start"]);
    (name.to_owned(), length.num_minutes())
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
    assert_eq!(
        result["accessibility_violations"],
        serde_json::json!([]),
        "axe-core found WCAG violations"
    );
    assert_eq!(
        result["accessibility_checked"].as_array().map(Vec::len),
        Some(8),
        "every step was checked: {}",
        result["accessibility_checked"]
    );
    assert!(
        result["email_error"]
            .as_str()
            .unwrap_or_default()
            .contains("email"),
        "the inline error came from the API's problem details: {result}"
    );
    // The visit type came first: the evaluation's only provider was offered, and the page showed
    // the type and the hour it takes at each step.
    assert_eq!(
        result["providers"],
        serde_json::json!(["Dr. Maya Chen — MD, Pain Medicine"])
    );
    for key in [
        "chosen_text",
        "done_visit_type",
        "manage_text",
        "managed_text",
    ] {
        assert!(
            result[key]
                .as_str()
                .unwrap_or_default()
                .contains("New-patient evaluation (60 minutes)"),
            "{key} does not name the visit type: {result}"
        );
    }
    assert!(result["done_text"]
        .as_str()
        .unwrap_or_default()
        .contains("with Dr. Maya Chen"));
    // Picking the time held it, with a countdown from the five minutes, and the booking named
    // the hold, which it booked; the widget held its time too and booked with it.
    let timer = result["hold_timer"].as_str().unwrap_or_default();
    assert!(
        timer.starts_with("4:") || timer.starts_with("5:"),
        "countdown: {result}"
    );
    assert_eq!(result["booked_with_hold"], true, "{result}");
    let hold_token = result["hold_token"].as_str().expect("hold token");
    let hold = app
        .send_ok(
            reqwest::Method::GET,
            "/api/v1/holds/current",
            hold_token,
            None,
            reqwest::StatusCode::OK,
        )
        .await;
    assert_eq!(hold["status"], "booked", "{hold}");
    assert!(
        result["widget_hold_text"]
            .as_str()
            .unwrap_or_default()
            .contains("holding this time"),
        "{result}"
    );
    assert_eq!(result["widget_booked_with_hold"], true, "{result}");
    assert_eq!(result["returning_legend"], "Returning patient?");
    assert!(
        result["returning_error"]
            .as_str()
            .unwrap_or_default()
            .contains("is for returning patients"),
        "the 409's reason was shown: {result}"
    );

    // Both bookings exist, with where they came from and the visit booked: an hour each.
    let admin = app.staff_token("admin").await;
    let mut sources = Vec::new();
    let mut visits = Vec::new();
    for key in ["page_reference", "widget_reference"] {
        let reference = result[key].as_str().expect("reference");
        let booking = app.booking_as_staff(&admin, reference).await;
        assert_eq!(booking["status"], "booked");
        sources.push(booking["source"].as_str().unwrap_or_default().to_owned());
        visits.push(visit(&booking));
        assert_eq!(booking["visit_type"]["duration_minutes"], 60, "{booking}");
    }
    assert_eq!(sources, ["website", "stress-and-back-pain"]);
    assert_eq!(
        visits,
        [
            ("New-patient evaluation".to_owned(), 60),
            ("Therapeutic massage".to_owned(), 60)
        ]
    );

    // The page's booking was moved, among times where its own type fits, and stayed an hour.
    let page = app
        .booking_as_staff(
            &admin,
            result["page_reference"].as_str().unwrap_or_default(),
        )
        .await;
    assert_eq!(
        result["move_visit_type_id"].as_str(),
        Some(page["visit_type"]["id"].to_string().as_str())
    );
    assert_eq!(
        instant(&page["slot"]["start"]),
        instant(&result["moved_start"])
    );
    assert_ne!(
        instant(&result["moved_start"]),
        instant(&result["booked_start"])
    );
    assert_eq!(page["provider"]["name"], "Dr. Maya Chen");

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
