//! Text messages through a local server speaking Twilio's Messages API shape (form fields, HTTP
//! basic auth): a patient who consents gets the confirmation, the reminder and the cancellation
//! at their number in E.164, with the manage link, retried after a failure; no consent, no
//! text; no SMS setting, nothing queued; consent without a number is refused.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::webhooks::Receiver;

crate::both_backends!(
    consenting_patients_get_their_texts_in_e164_through_the_messages_api,
    without_an_sms_setting_nothing_is_queued,
);

fn form(request: &Value) -> std::collections::HashMap<String, String> {
    serde_urlencoded::from_str(request["body"].as_str().unwrap()).expect("a form")
}

async fn app_with_texts(backend: Backend, receiver: &Receiver) -> TestApp {
    let base = receiver.url.trim_end_matches("/hooks").to_owned();
    spawn_app_with(backend, move |s| {
        s.sms.provider = "twilio".into();
        s.sms.account_sid = "AC0123456789".into();
        s.sms.auth_token = secrecy::SecretString::from("token-secret".to_owned());
        s.sms.from_number = "+16025550100".into();
        s.sms.base_url = base;
        s.mail.retry_base_seconds = 0.1;
        s.mail.retry_max_seconds = 0.2;
        s.mail.poll_interval_ms = 50;
    })
    .await
}

async fn book(app: &TestApp, slot: i64, patient: Value) -> Value {
    let response = app
        .post_json(
            "/api/v1/bookings",
            &json!({"slot_id": slot, "patient": patient}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn consenting_patients_get_their_texts_in_e164_through_the_messages_api(backend: Backend) {
    // The first request fails: the text is tried again.
    let provider = Receiver::start(&[500]).await;
    let app = app_with_texts(backend, &provider).await;
    // Three hours ahead: inside the reminder's lead, so the reminder is due at once too.
    let slot = app.insert_slot(180).await;
    let booking = book(
        &app,
        slot,
        json!({"name": "Ana Díaz", "email": "ana.texts@example.com", "phone": "(602) 555-0134", "sms_consent": true}),
    )
    .await;
    assert_eq!(booking["patient"]["sms_consent"], true);
    let reference = booking["reference"].as_str().unwrap().to_owned();
    // A patient who does not consent gets none.
    let other = app.insert_slot(240).await;
    book(
        &app,
        other,
        json!({"name": "Ben Ortiz", "email": "ben@example.com", "phone": "(602) 555-0177"}),
    )
    .await;

    let received = provider.wait_for(3).await;
    let auth = base64::engine::general_purpose::STANDARD.encode("AC0123456789:token-secret");
    for request in &received {
        assert_eq!(
            request["path"],
            "/2010-04-01/Accounts/AC0123456789/Messages.json"
        );
        assert_eq!(request["headers"]["authorization"], format!("Basic {auth}"));
        assert!(request["headers"]["content-type"]
            .as_str()
            .unwrap()
            .starts_with("application/x-www-form-urlencoded"));
        let form = form(request);
        assert_eq!(
            form["To"], "+16025550134",
            "E.164, and only the consenting patient"
        );
        assert_eq!(form["From"], "+16025550100");
        // Two messages at most (160 characters each, GSM-7), the link included.
        assert!(
            form["Body"].chars().count() <= 320,
            "short: {}",
            form["Body"]
        );
    }
    let bodies: Vec<String> = received.iter().map(|r| form(r)["Body"].clone()).collect();
    let confirmation = bodies
        .iter()
        .find(|b| b.contains("booked"))
        .expect("a confirmation");
    assert!(confirmation.contains(&reference), "{confirmation}");
    assert!(
        confirmation.contains("Desert Spine & Pain Clinic"),
        "{confirmation}"
    );
    // The short manage link leads to the booking page with a manage token that opens it.
    let link = confirmation
        .split_whitespace()
        .find(|w| w.contains("/m/"))
        .expect("a manage link");
    let path = &link[link.find("/m/").unwrap()..];
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let followed = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(followed.status(), StatusCode::SEE_OTHER);
    let location = followed.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains(&format!("/book?reference={reference}&token=")),
        "{location}"
    );
    let token = location.rsplit("token=").next().unwrap();
    assert_eq!(
        app.get_booking(&reference, token).await.status(),
        StatusCode::OK
    );
    // The tag's last character changed (to another one: a fixed stand-in would sometimes be
    // the same).
    let last = if path.ends_with('x') { 'y' } else { 'x' };
    let forged = format!("{}{last}", &path[..path.len() - 1]);
    assert_eq!(
        client.get(app.url(&forged)).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert!(bodies.iter().any(|b| b.contains("reminder")), "{bodies:?}");

    // Cancelled (at the desk: inside the cut-off): a text says so, with the clinic's phone.
    let desk = app.staff_token("front_desk").await;
    assert_eq!(
        app.cancel_overriding(&reference, &desk, "The patient called")
            .await
            .status(),
        StatusCode::OK
    );
    let all = provider.wait_for(4).await;
    let last = form(&all[3])["Body"].clone();
    assert!(
        last.contains("cancelled") && last.contains("555-0134"),
        "{last}"
    );

    // Every text of the booking went out; the failed one on its second attempt.
    let jobs = app
        .with_db(move |conn| {
            use clinic_booking::db::schema::bookings;
            use diesel::prelude::*;
            let booking_id: i32 = bookings::table
                .filter(bookings::reference.eq(reference))
                .select(bookings::id)
                .first(conn)
                .expect("the booking");
            clinic_booking::db::texts::for_booking(
                conn,
                clinic_booking::domain::ids::BookingId::new(booking_id),
            )
            .expect("texts")
        })
        .await;
    let kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
    assert_eq!(kinds, ["confirmation", "reminder", "cancellation"]);
    assert!(jobs.iter().all(|j| j.status == "sent"), "{jobs:?}");
    assert_eq!(jobs.iter().map(|j| j.attempts).max(), Some(2));
    assert_eq!(
        app.with_db(|conn| clinic_booking::db::texts::count(conn).expect("count"))
            .await,
        3
    );
}

async fn without_an_sms_setting_nothing_is_queued(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let slot = app.insert_slot(180).await;
    book(
        &app,
        slot,
        json!({"name": "Ana Díaz", "email": "ana@example.com", "phone": "(602) 555-0134", "sms_consent": true}),
    )
    .await;
    assert_eq!(
        app.with_db(|conn| clinic_booking::db::texts::count(conn).expect("count"))
            .await,
        0
    );
    // Consent needs a number to text.
    let response = app
        .post_json(
            "/api/v1/bookings",
            &json!({"slot_id": app.insert_slot(300).await, "patient": {"name": "Cy", "email": "cy@example.com", "sms_consent": true}}),
        )
        .await;
    let problem = crate::helpers::assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        problem["errors"]["patient.sms_consent"].is_string(),
        "{problem}"
    );
}
