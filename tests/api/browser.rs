//! A real browser books through the booking page and through the widget on an article from
//! another origin (tests/browser/book.mjs, Playwright driving Debian's Chromium). On the page the
//! patient chooses the visit type first (a 60-minute new-patient evaluation), books one of the
//! times where it fits, and moves it from the manage link; a returning-patients type is refused
//! with the reason shown. The widget books a massage from its visit type choice. The test then
//! finds both bookings through the API, with their visit types and lengths, and their
//! confirmations at the SMTP server. At every step axe-core finds no WCAG 2.2 A or AA violation
//! on the page or in the widget. The patient's side is also checked on a phone, with the keyboard
//! alone and in Spanish (tests/browser/patient.mjs). The front desk runs a day from the console
//! at `/desk` (tests/browser/desk.mjs), watched by a second desk. Screenshots land in
//! `target/screenshots/`.
//!
//! Needs `node`, `/usr/bin/chromium` and `npm ci --prefix tests/browser`; without them the test
//! is skipped (reported as ignored, with what is missing), unless `CLINIC_REQUIRE_BROWSER=1` (CI
//! sets it).

use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::helpers::{node_result, spawn_app_with, Backend};
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
    once_if(the_browser_can_run): [
        a_patient_books_through_the_page_and_the_widget_in_a_real_browser,
        the_patient_side_works_on_a_phone_with_the_keyboard_and_in_spanish,
        a_patient_joins_the_waitlist_and_takes_an_offer_in_a_real_browser,
        the_front_desk_runs_the_day_from_the_console_in_a_real_browser,
    ],
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
    let result = node_result(
        "tests/browser",
        "book.mjs",
        &[
            ("BASE_URL", &app.address),
            ("ARTICLE_PORT", &article_port.to_string()),
            ("SCREENSHOT_DIR", &screenshots.display().to_string()),
        ],
    )
    .await;
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
        .contains("Dr. Maya Chen"));
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

/// The waitlist page (tests/browser/waitlist.mjs): joining from the form, then an offer mail's
/// one-click link booking the time, then the same link again answering clearly.
async fn a_patient_joins_the_waitlist_and_takes_an_offer_in_a_real_browser() {
    use reqwest::{Method, StatusCode};
    use serde_json::json;

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let desk = app.staff_token("front_desk").await;
    // A visit of the 60-minute evaluation two days ahead or later, booked, and a patient on the
    // waitlist for it; the booking is cancelled and the patient is offered its time.
    let from = (Utc::now() + chrono::Duration::days(3)).date_naive();
    let slots = app
        .get_json(&format!("/api/v1/slots?visit_type_id=1&from={from}"))
        .await;
    let slot = slots["items"][0]["id"].as_i64().expect("a free start");
    let response = app
        .post_json(
            "/api/v1/bookings",
            &json!({"slot_id": slot, "visit_type_id": 1,
                    "patient": {"name": "Leaving Early", "email": "leaving@example.com"}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let booked: Value = response.json().await.expect("json");
    let today = Utc::now().date_naive();
    app.send_ok(
        Method::POST,
        "/api/v1/admin/waitlist",
        &desk,
        Some(&json!({
            "visit_type_id": 1,
            "provider_id": 1,
            "earliest_date": today.to_string(),
            "latest_date": (today + chrono::Duration::days(60)).to_string(),
            "patient": {"name": "Nora Quick", "email": "nora.quick@example.com"},
        })),
        StatusCode::CREATED,
    )
    .await;
    let reference = booked["reference"].as_str().expect("reference");
    let token = booked["manage_token"].as_str().expect("token");
    assert_eq!(app.cancel(reference, token).await.status(), StatusCode::OK);
    let offer = crate::waitlist::wait_for_mails(
        || app.written_mail(),
        "nora.quick@example.com",
        crate::waitlist::OFFER,
        1,
    )
    .await;
    let offer_token = crate::waitlist::link_token(&offer[0].1, "offer");
    let offer_url = format!("{}/waitlist?offer={offer_token}&answer=accept", app.address);

    // The first published slot's deep link, on this app's address (the files name the clinic's
    // public one).
    let slots = app
        .get("/fhir/$bulk-publish/slots.ndjson")
        .await
        .text()
        .await
        .expect("the slots file");
    let first: Value = serde_json::from_str(slots.lines().next().expect("a slot")).expect("json");
    let link = first["extension"][0]["valueUrl"]
        .as_str()
        .expect("a deep link");
    let deep_link = format!(
        "{}{}",
        app.address,
        &link[link.find("/book").expect("/book")..]
    );
    let deep_start = first["start"].as_str().expect("start").to_owned();

    let screenshots = root.join("target/screenshots");
    let result = node_result(
        "tests/browser",
        "waitlist.mjs",
        &[
            ("BASE_URL", &app.address),
            ("OFFER_URL", &offer_url),
            ("DEEP_LINK", &deep_link),
            ("SCREENSHOT_DIR", &screenshots.display().to_string()),
        ],
    )
    .await;
    assert_eq!(
        result["accessibility_violations"],
        serde_json::json!([]),
        "axe-core found WCAG violations"
    );
    assert_eq!(
        result["accessibility_checked"].as_array().map(Vec::len),
        Some(6)
    );
    // The form in Spanish (?lang=es), and back in English by the switch.
    let spanish = &result["spanish"];
    assert_eq!(spanish["lang"], "es", "{result}");
    assert_eq!(
        spanish["title"], "Anótese en la lista de espera",
        "{result}"
    );
    assert_eq!(
        spanish["submit"], "Anotarme en la lista de espera",
        "{result}"
    );
    assert_eq!(spanish["monday"], "lunes", "{result}");
    assert!(
        spanish["visit"]
            .as_str()
            .unwrap_or_default()
            .contains("minutos"),
        "{result}"
    );
    assert_eq!(spanish["pressed"], "true", "{result}");
    assert_eq!(result["switched_title"], "Join the waitlist", "{result}");
    // The deep link picked its time: the page names it, in the location's wall clock, and
    // holds it.
    let start = DateTime::parse_from_rfc3339(&deep_start).expect("an instant");
    let hour = start.format("%-I:%M").to_string();
    assert!(
        result["deep_chosen"]
            .as_str()
            .unwrap_or_default()
            .contains(&hour),
        "{hour} in {result}"
    );
    assert!(
        result["deep_held"]
            .as_str()
            .unwrap_or_default()
            .contains("holding"),
        "{result}"
    );
    let text = |key: &str| result[key].as_str().unwrap_or_default().to_owned();
    assert!(text("email_error").contains("email"), "{result}");
    assert_eq!(
        text("focus_after_error"),
        "email",
        "the invalid field gets the focus"
    );
    assert!(
        text("joined_status").contains("emailed you a link"),
        "{result}"
    );
    assert!(text("joined_details").contains("Monday"), "{result}");
    assert_eq!(text("booked_title"), "You're booked");
    assert_eq!(text("focus_after_booking"), "booked-title");
    assert!(text("booked_details").contains("Dr. Maya Chen"), "{result}");
    assert!(
        text("manage_href").starts_with("/book?reference=BK-"),
        "{result}"
    );
    assert!(
        text("again_text").contains("booked this time already"),
        "{result}"
    );
    assert_eq!(result["accept_disabled"], true);

    // The booking exists, for the patient on the waitlist, from the waitlist.
    let reference = text("manage_href")
        .split("reference=")
        .nth(1)
        .and_then(|r| r.split('&').next())
        .unwrap_or_default()
        .to_owned();
    let admin = app.staff_token("admin").await;
    let booking = app.booking_as_staff(&admin, &reference).await;
    assert_eq!(booking["status"], "booked");
    assert_eq!(booking["source"], "waitlist");
    assert_eq!(booking["patient"]["email"], "nora.quick@example.com");
    assert_eq!(booking["slot"]["id"], slot);
    // The page's join made an entry waiting for its verification link.
    let listed = app
        .send_ok(
            Method::GET,
            "/api/v1/admin/waitlist",
            &desk,
            None,
            StatusCode::OK,
        )
        .await;
    assert!(listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["patient"]["email"] == "rosa.villa@example.com" && e["status"] == "unverified"));
}

/// The front-desk console (tests/browser/desk.mjs): a desk logs in, finds a patient who booked
/// online before, books them by phone into a time inside the notice (with the override's
/// reason), checks them in, completes the visit, marks another visit a no-show, adds a note,
/// cancels one visit and moves another inside the cut-off (each with its reason) and blocks a
/// slot, while a second desk sees each change without reloading. The API then holds every
/// change.
async fn the_front_desk_runs_the_day_from_the_console_in_a_real_browser() {
    use reqwest::{Method, StatusCode};
    use serde_json::json;

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The clinic's zone is chosen so that its clock reads about noon now: the day's visits,
    // some started and some to come, all fall on the day the console opens on, whenever the
    // test runs.
    let hour = i32::try_from(chrono::Timelike::hour(&Utc::now())).unwrap_or(0);
    let ahead = 12 - hour;
    let zone = match ahead {
        0 => "Etc/GMT".to_owned(),
        // Etc/GMT-5 is five hours ahead of UTC (the POSIX sign).
        a if a > 0 => format!("Etc/GMT-{a}"),
        a => format!("Etc/GMT+{}", -a),
    };
    let tz: chrono_tz::Tz = zone.parse().expect("a zone");
    let app = spawn_app_with(Backend::Sqlite, move |s| s.clinic.timezone = tz).await;
    let admin = app.staff_token("admin").await;
    let desk_email = "desk@clinic.example";
    let admin_email = "admin.desk@clinic.example";
    app.create_user(desk_email, "front_desk", crate::helpers::STAFF_PASSWORD)
        .await;
    app.create_user(admin_email, "admin", crate::helpers::STAFF_PASSWORD)
        .await;

    // A provider whose afternoon is free, offering the 30-minute follow-up.
    let provider = app
        .send_ok(
            Method::POST,
            "/api/v1/providers",
            &admin,
            Some(&json!({"name": "Sam Rivera", "title": "DC", "specialty": "Chiropractic"})),
            StatusCode::CREATED,
        )
        .await;
    let provider_id = provider["id"].as_i64().expect("provider id");
    let types = app.get_json("/api/v1/visit-types").await;
    let follow_up = types["items"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == "Follow-up visit"))
        .expect("the follow-up visit type")
        .clone();
    let mut offering: Vec<Value> = follow_up["provider_ids"].as_array().unwrap().clone();
    offering.push(json!(provider_id));
    app.send_ok(
        Method::PATCH,
        &format!("/api/v1/visit-types/{}", follow_up["id"]),
        &admin,
        Some(&json!({"provider_ids": offering})),
        StatusCode::OK,
    )
    .await;
    // Five half-hour slots from the next quarter hour after 25 minutes from now.
    let now = Utc::now();
    let first = now + chrono::Duration::minutes(25);
    let first = first
        + chrono::Duration::minutes(i64::from((15 - chrono::Timelike::minute(&first) % 15) % 15));
    let first = chrono::DurationRound::duration_trunc(first, chrono::Duration::minutes(1))
        .expect("a minute");
    let mut slots = Vec::new();
    for n in 0..5 {
        let start = first + chrono::Duration::minutes(30 * n);
        let slot = app
            .send_ok(
                Method::POST,
                &format!("/api/v1/providers/{provider_id}/slots"),
                &admin,
                Some(&json!({"start": start.to_rfc3339(), "end": (start + chrono::Duration::minutes(30)).to_rfc3339()})),
                StatusCode::CREATED,
            )
            .await;
        slots.push(slot["id"].as_i64().expect("slot id"));
    }
    let book_today = |slot: i64, name: &str, email: &str| {
        json!({"slot_id": slot, "visit_type_id": follow_up["id"],
               "patient": {"name": name, "email": email},
               "override": {"reason": "seen today"}})
    };
    // Ben's visit has started and he is not here; Cleo's is later today.
    let ben = app
        .send_ok(
            Method::POST,
            "/api/v1/bookings",
            &admin,
            Some(&book_today(slots[2], "Ben Ortiz", "ben.ortiz@example.com")),
            StatusCode::CREATED,
        )
        .await;
    let ben = ben["reference"].as_str().expect("reference").to_owned();
    app.move_visit(&ben, -20).await;
    // The visit ends where its moved slot does.
    let moved = ben.clone();
    app.with_db(move |conn| {
        use clinic_booking::db::schema::{bookings, slots};
        use diesel::prelude::*;
        let end: chrono::NaiveDateTime = bookings::table
            .inner_join(slots::table)
            .filter(bookings::reference.eq(&moved))
            .select(slots::ends_at)
            .first(conn)
            .expect("the moved slot");
        diesel::update(bookings::table.filter(bookings::reference.eq(&moved)))
            .set(bookings::ends_at.eq(Some(end)))
            .execute(conn)
            .expect("the visit's end")
    })
    .await;
    let cleo = app
        .send_ok(
            Method::POST,
            "/api/v1/bookings",
            &admin,
            Some(&book_today(
                slots[3],
                "Cleo Marsh",
                "cleo.marsh@example.com",
            )),
            StatusCode::CREATED,
        )
        .await;
    let cleo = cleo["reference"].as_str().expect("reference").to_owned();
    // Dan asked for the earliest time with Sam Rivera from an article, reporting red flags.
    let response = app
        .post_json(
            "/api/v1/schedule-appointment",
            &json!({"patient": {"name": "Dan Whitehorse", "email": "dan.whitehorse@example.com"},
                    "provider_id": provider_id,
                    "concern": {"area": "lower_back", "onset": "sudden",
                                "red_flags": ["numbness", "weakness"]}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let dan: Value = response.json().await.expect("json");
    let dan = dan["reference"].as_str().expect("reference").to_owned();
    // Ana booked her new-patient evaluation online, for a day next week; today she phones.
    let later = (now + chrono::Duration::days(3)).date_naive();
    let open = app
        .get_json(&format!(
            "/api/v1/slots?visit_type_id=1&from={later}&limit=1"
        ))
        .await;
    let response = app
        .post_json(
            "/api/v1/bookings",
            &json!({"slot_id": open["items"][0]["id"], "visit_type_id": 1,
                    "patient": {"name": "Ana García", "email": "ana.garcia@example.org",
                                "phone": "+1 602 555 0100", "date_of_birth": "1980-02-03"}}),
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{}",
        response.text().await.unwrap_or_default()
    );

    let note = "Needs an interpreter (Spanish)";
    let screenshots = root.join("target/screenshots");
    let result = node_result(
        "tests/browser",
        "desk.mjs",
        &[
            ("BASE_URL", &app.address),
            ("SCREENSHOT_DIR", &screenshots.display().to_string()),
            ("STAFF_EMAIL", desk_email),
            ("STAFF_PASSWORD", crate::helpers::STAFF_PASSWORD),
            ("ADMIN_EMAIL", admin_email),
            ("ADMIN_PASSWORD", crate::helpers::STAFF_PASSWORD),
            ("PATIENT_QUERY", "ana gar"),
            ("PATIENT_NAME", "Ana García"),
            ("PATIENT_EMAIL", "ana.garcia@example.org"),
            ("PROVIDER_NAME", "Sam Rivera"),
            ("VISIT_TYPE", "Follow-up visit"),
            ("NO_SHOW_REFERENCE", &ben),
            ("CANCEL_REFERENCE", &cleo),
            ("NOTE_TEXT", note),
            ("REVIEW_REFERENCE", &dan),
        ],
    )
    .await;
    assert_eq!(
        result["accessibility_violations"],
        json!([]),
        "axe-core found WCAG violations"
    );
    assert_eq!(
        result["accessibility_checked"].as_array().map(Vec::len),
        Some(11),
        "every state was checked: {}",
        result["accessibility_checked"]
    );
    assert_eq!(
        result["page_errors"],
        json!([]),
        "script errors or refused resources"
    );
    let text = |key: &str| result[key].as_str().unwrap_or_default().to_owned();
    // Nothing of the staff's shows before the login; a wrong password is the API's detail, with
    // the focus on it; the token is kept for the tab only.
    assert_eq!(result["staff_shown_before_login"], false);
    assert!(
        text("login_error").contains("email or password is wrong"),
        "{result}"
    );
    assert_eq!(text("focus_after_login_error"), "login-error");
    assert_eq!(text("focus_after_login"), "sheet-title");
    assert_eq!(result["token_in_session_storage_only"], true);
    assert_eq!(result["mail_tab_for_desk"], false);
    assert_eq!(result["mail_tab_for_admin"], true);
    assert!(text("mail_summary").contains("due to go now"), "{result}");
    // Red flags show on the sheet.
    assert!(
        text("review_flag").contains("numbness, weakness"),
        "{result}"
    );
    // The patient found was the one who booked online, and the desk booked for that record.
    assert!(text("patient_card").contains("1980-02-03"), "{result}");
    assert!(
        text("booked_summary").contains("born 1980-02-03"),
        "{result}"
    );
    assert!(
        text("patient_card").contains("ana.garcia@example.org"),
        "{result}"
    );
    assert_eq!(text("booked_name"), "Ana García");
    // The time was inside the notice: the form said so before booking, and sent the reason.
    assert!(text("override_hint").contains("notice"), "{result}");
    assert!(
        text("book_policy").contains("cancelled or moved online"),
        "{result}"
    );
    assert_eq!(
        result["book_request"]["override"]["reason"],
        "Called in with acute back pain; seen today"
    );
    assert_eq!(result["book_request"]["slot_id"], slots[0]);
    let reference = text("reference");
    assert!(text("book_done").contains(&reference), "{result}");
    // After a check-in the focus waits on the next step, and `c` took it.
    assert_eq!(text("focus_after_arrived"), "completed");
    assert!(text("cancel_policy").contains("24 hours"), "{result}");
    assert!(text("cancel_without_reason").contains("reason"), "{result}");
    assert!(text("move_policy").contains("24 hours"), "{result}");
    // The second desk saw every change without reloading.
    assert_eq!(result["other_not_reloaded"], true);
    assert_eq!(
        result["other_seen"],
        json!({"completed": "Completed", "no_show": "No-show", "cancelled": "Cancelled",
               "moved": result["moved_when"], "note": result["other_seen"]["note"]})
    );
    assert!(
        result["other_seen"]["note"]
            .as_str()
            .unwrap_or_default()
            .contains(note),
        "{result}"
    );
    assert!(text("focus_after_j").starts_with("BK-"), "{result}");
    assert_eq!(result["shortcuts_open"], true);
    assert!(text("stale_note").contains("log in again"), "{result}");
    assert_eq!(result["stale_desk_hidden"], true);

    // The API holds it all: Ana's visit booked by the desk and completed, Ben's no-show, Cleo's
    // cancellation, the note on Ana's visit, the blocked slot.
    let desk_token = app
        .token_of("desk.check@clinic.example", "front_desk")
        .await;
    let booking = app.booking_as_staff(&desk_token, &reference).await;
    assert_eq!(booking["status"], "completed");
    assert_eq!(booking["source"], "front_desk");
    assert_eq!(booking["patient"]["email"], "ana.garcia@example.org");
    assert_eq!(booking["provider"]["id"], provider_id);
    assert_eq!(
        app.booking_as_staff(&desk_token, &ben).await["status"],
        "no_show"
    );
    assert_eq!(
        app.booking_as_staff(&desk_token, &cleo).await["status"],
        "cancelled"
    );
    let sheet = app
        .send_ok(
            Method::GET,
            &format!("/api/v1/bookings?provider_id={provider_id}"),
            &desk_token,
            None,
            StatusCode::OK,
        )
        .await;
    let ana = sheet["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["reference"] == reference.as_str()))
        .expect("Ana's visit on the day sheet");
    assert!(
        ana["notes"]
            .as_array()
            .is_some_and(|notes| notes.iter().any(|n| n["body"] == note
                && n["booking_reference"] == reference.as_str()
                && n["author"] == desk_email)),
        "{ana}"
    );
    // Dan's visit moved to the time chosen, with the reason in the audit log.
    let moved = app.booking_as_staff(&desk_token, &dan).await;
    assert_eq!(moved["slot"]["id"], result["moved_slot_id"], "{moved}");
    assert!(app
        .audit(&admin, &format!("reference={dan}"))
        .await
        .iter()
        .any(|e| e["to"]["override"]["reason"] == "Red flags: seen sooner"));
    let blocked = result["blocked_slot_id"].as_i64().expect("a slot id");
    assert_eq!(app.slot_status(blocked).await, "blocked");
    let overrides = app
        .audit(&admin, &format!("reference={cleo}"))
        .await
        .iter()
        .any(|e| e["to"]["override"]["reason"] == "Patient phoned: her car broke down");
    assert!(overrides, "the cancellation's reason is in the audit log");
    for shot in ["desk.png", "desk-second.png", "desk-tablet.png"] {
        assert!(screenshots.join(shot).exists(), "{shot}");
    }
}

/// The patient's side as issue 22 asks (tests/browser/patient.mjs): `/book`, the manage view and
/// the widget in every state at 1280×800 and 390×844 with no WCAG 2.2 A or AA violation; a
/// booking, a move and a cancellation with the keyboard alone, the focus where it should be after
/// each step; a booking in Spanish, stored in Spanish; no sideways scrolling at 320 px and no
/// control under 44×44 px; the outcomes named with the clinic's name, address and phone.
async fn the_patient_side_works_on_a_phone_with_the_keyboard_and_in_spanish() {
    use reqwest::{Method, StatusCode};

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let article_port = unused_port();
    let app = spawn_app_with(Backend::Sqlite, move |s| {
        s.http.allowed_origins = format!("http://127.0.0.1:{article_port}");
    })
    .await;
    // The catalogs the pages read, served by the binary.
    for lang in ["en", "es"] {
        let response = app.get(&format!("/i18n/{lang}.json")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let catalog: Value = response.json().await.expect("a JSON catalog");
        assert!(catalog["details.submit"].is_string(), "{lang}");
    }
    let providers = app.get_json("/api/v1/providers").await;
    let grace = providers["items"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "Grace Okafor"))
        .expect("the massage therapist")["id"]
        .to_string();
    let policy = app.get_json("/api/v1/booking-policy").await;
    let clinic_phone = policy["clinic_phone"].as_str().expect("the clinic's phone");

    let screenshots = root.join("target/screenshots");
    let result = node_result(
        "tests/browser",
        "patient.mjs",
        &[
            ("BASE_URL", &app.address),
            ("ARTICLE_PORT", &article_port.to_string()),
            ("WIDGET_PROVIDER_ID", &grace),
            ("SCREENSHOT_DIR", &screenshots.display().to_string()),
        ],
    )
    .await;
    assert_eq!(
        result["accessibility_violations"],
        serde_json::json!([]),
        "axe-core found WCAG violations"
    );
    assert_eq!(
        result["accessibility_checked"].as_array().map(Vec::len),
        Some(33),
        "every state was checked: {}",
        result["accessibility_checked"]
    );
    assert_eq!(
        result["small_targets"],
        serde_json::json!([]),
        "controls under 44×44 px"
    );
    assert_eq!(
        result["sideways_scroll"],
        serde_json::json!([]),
        "sideways scrolling"
    );
    assert!(
        result["narrow_scroll"]["scrollWidth"].as_i64()
            <= result["narrow_scroll"]["innerWidth"].as_i64(),
        "{}",
        result["narrow_scroll"]
    );
    assert_eq!(
        result["page_errors"],
        serde_json::json!([]),
        "script errors"
    );

    let admin = app.staff_token("admin").await;
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    for name in ["desktop", "mobile"] {
        let flow = &result["flows"][name];
        let said = |key: &str| text(&flow[key]);
        // One day's times, not a week of them.
        let times = flow["times_on_day"].as_i64().unwrap_or_default();
        assert!((1..=40).contains(&times), "{name}: {times} times on a day");
        assert!(said("times_title").starts_with("Times on "), "{flow}");
        assert_eq!(said("focus_after_time"), "name", "{name}");
        assert!(
            said("chosen").contains("New-patient evaluation (60 minutes)"),
            "{flow}"
        );
        // Two invalid fields: the first in the form's order has the focus, both are named.
        assert_eq!(said("focus_after_errors"), "name", "{name}");
        assert!(said("error_summary").starts_with("2 fields"), "{flow}");
        assert_eq!(said("email_invalid"), "true");
        assert_eq!(said("email_border"), "rgb(179, 38, 30)", "a red border");
        assert_eq!(
            flow["summary_in_view"], true,
            "{name}: the chosen time left the screen"
        );
        assert_eq!(said("booked_language"), "en");
        // The confirmation: focused, the clinic's name, address and phone, the manage link.
        assert_eq!(said("focus_after_booking"), "title", "{name}");
        assert_eq!(said("booked_title"), "You're booked");
        assert_eq!(flow["lead_hidden"], true);
        let booking = app.booking_as_staff(&admin, &said("reference")).await;
        for part in ["name", "address", "phone"] {
            let wanted = text(&booking["location"][part]);
            assert!(
                !wanted.is_empty() && said("booked_details").contains(&wanted),
                "{part}: {flow}"
            );
        }
        assert!(
            said("manage_href").starts_with("/book?reference=BK-"),
            "{flow}"
        );
        assert!(said("calendar_file").ends_with(".ics"), "{flow}");
        assert!(
            said("calendar_body").starts_with("BEGIN:VCALENDAR"),
            "{flow}"
        );
        // Moved and cancelled from the manage link, each confirmed, then announced and focused.
        assert_eq!(said("focus_on_move_question"), "move-question");
        assert_eq!(flow["moved_status"], 200);
        assert_eq!(said("focus_after_move"), "status");
        assert!(said("moved_message").contains("moved to"), "{flow}");
        assert_eq!(said("focus_on_cancel_question"), "cancel-question");
        assert!(
            said("cancel_question").starts_with("Cancel your appointment on"),
            "{flow}"
        );
        assert_eq!(said("focus_after_cancel"), "status");
        assert!(said("cancelled_message").contains("cancelled"), "{flow}");
        let visit_phone = text(&booking["location"]["phone"]);
        assert!(said("cancelled_help").contains(&visit_phone), "{flow}");
        assert!(said("book_again").starts_with("/book?"), "{flow}");
        assert!(said("call_href").starts_with("tel:"), "{flow}");
        assert_eq!(booking["status"], "cancelled", "{booking}");
        // A bad link says what to do and whom to call.
        assert_eq!(said("focus_on_bad_link"), "problem");
        assert!(said("bad_link").contains("expired"), "{flow}");
        assert!(said("bad_link").contains(clinic_phone), "{flow}");
        assert!(said("bad_link_call").starts_with("tel:"), "{flow}");
        // The widget: more times on /book with the same source and provider; the same focus
        // and errors as the page.
        let more = said("widget_more");
        for part in [
            "/book?",
            "source=massage-for-neck-tension",
            &format!("provider_id={grace}"),
            "lang=en",
        ] {
            assert!(more.contains(part), "{part} in {more}");
        }
        assert_eq!(said("widget_focus_after_time"), "name");
        assert_eq!(said("widget_focus_after_errors"), "name");
        assert_eq!(said("widget_email_invalid"), "true");
        assert_eq!(said("widget_email_border"), "rgb(179, 38, 30)");
        assert_eq!(said("widget_focus_after_booking"), "booked");
        let widget = app
            .booking_as_staff(&admin, &said("widget_reference"))
            .await;
        assert_eq!(widget["source"], "massage-for-neck-tension");
        assert_eq!(widget["provider"]["id"].to_string(), grace);
        assert!(
            said("widget_booked").contains(&text(&widget["location"]["address"])),
            "{flow}"
        );
    }

    // The keyboard alone, and where the focus landed after each step.
    let keys = &result["keyboard"];
    let at = |key: &str| text(&keys[key]);
    assert!(at("first_radio").starts_with("visit-type-"), "{keys}");
    for (step, wanted) in [
        ("after_radio_tab", "visit-continue"),
        ("after_see_times", "choose-title"),
        ("after_next_week", "next-week"),
        ("on_previous_week", "prev-week"),
        ("after_previous_disabled", "next-week"),
        ("after_choosing", "name"),
        ("after_name", "email"),
        ("after_booking", "title"),
        ("after_reschedule", "choose-title"),
        ("after_choosing_new_time", "move-question"),
        ("move_button", "move-yes"),
        ("after_move", "status"),
        ("after_cancel_asked", "cancel-question"),
        ("cancel_button", "cancel-yes"),
        ("after_cancel", "status"),
    ] {
        assert_eq!(at(step), wanted, "{step}: {keys}");
    }
    assert!(at("day_stop").starts_with("day:"), "{keys}");
    assert!(at("time_stop").starts_with("slot:"), "{keys}");
    assert!(
        at("time_after_arrow").starts_with("slot:") && at("time_after_arrow") != at("time_stop"),
        "{keys}"
    );
    assert_eq!(at("time_after_left"), at("time_stop"), "{keys}");
    assert_eq!(keys["moved_status"], 200);
    let by_keyboard = app.booking_as_staff(&admin, &at("reference")).await;
    assert_eq!(by_keyboard["status"], "cancelled", "{by_keyboard}");

    // In Spanish: the page, the widget and the booking itself.
    let es = &result["spanish"];
    let dijo = |key: &str| text(&es[key]);
    assert_eq!(dijo("switch_pressed"), "true");
    assert_eq!(dijo("title"), "Pida una cita");
    assert!(dijo("url").contains("lang=es"), "{es}");
    assert!(dijo("visit_title").starts_with("1. Elija"), "{es}");
    assert!(dijo("times_title").starts_with("Horarios del "), "{es}");
    let days: Vec<String> = es["day_names"]
        .as_array()
        .map(|d| d.iter().map(text).collect())
        .unwrap_or_default();
    assert_eq!(days.len(), 7, "{es}");
    assert!(
        days.iter()
            .all(|d| !["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].contains(&d.as_str())),
        "{days:?}"
    );
    assert!(dijo("chosen").starts_with("Eligió"), "{es}");
    assert!(dijo("hold").starts_with("Le guardamos"), "{es}");
    assert!(dijo("policy").starts_with("Las consultas"), "{es}");
    assert!(dijo("error_summary").contains("campos"), "{es}");
    assert_eq!(dijo("name_error"), "Escriba su nombre completo.");
    assert_eq!(dijo("sent_language"), "es");
    assert_eq!(dijo("booked_title"), "Su cita está reservada");
    assert!(dijo("booked_details").contains("Cuándo"), "{es}");
    assert!(dijo("next").contains("Le enviamos"), "{es}");
    assert_eq!(dijo("manage_title"), "Administre su cita");
    assert_eq!(
        es["manage_buttons"],
        serde_json::json!(["Elegir otra hora", "Cancelar esta cita"])
    );
    assert!(dijo("widget_text").contains("Ver más horarios"), "{es}");
    assert!(dijo("widget_more").contains("lang=es"), "{es}");
    let spanish = app
        .send_ok(
            Method::GET,
            &format!("/api/v1/bookings/{}", dijo("reference")),
            &admin,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(spanish["language"], "es", "{spanish}");
    // And so is its confirmation.
    let confirmation = crate::waitlist::wait_for_mails(
        || app.written_mail(),
        "lucia.ortega@example.com",
        "Cita confirmada",
        1,
    )
    .await;
    assert!(
        confirmation[0].1.contains(&dijo("reference")),
        "{confirmation:?}"
    );
    for shot in [
        "mobile-2-times.png",
        "mobile-4-booked.png",
        "mobile-es-booked.png",
    ] {
        assert!(screenshots.join(shot).exists(), "{shot}");
    }
}
