//! English and Spanish: a booking keeps the language it was made in (the form's
//! `patient.language`, else the request's `Accept-Language`), and every mail about it, the
//! confirmation and the reminder that comes later, is written in it, dates included; its calendar
//! file can be downloaded from the booking page.

use icalendar::{CalendarDateTime, Component, DatePerhapsTime};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::email::parse;
use crate::helpers::{assert_problem, smtp_to, spawn_app, spawn_app_with, Backend};
use crate::smtp::SmtpSink;

crate::both_backends!(
    a_patient_who_books_in_spanish_gets_every_mail_in_spanish,
    a_booking_downloads_as_a_calendar_file_in_its_language,
    a_patient_who_joins_the_waitlist_in_spanish_is_written_to_in_spanish,
);

const SPANISH_DAYS: [&str; 7] = [
    "lunes",
    "martes",
    "miércoles",
    "jueves",
    "viernes",
    "sábado",
    "domingo",
];

async fn a_patient_who_books_in_spanish_gets_every_mail_in_spanish(backend: Backend) {
    let sink = SmtpSink::start();
    // Reminders four hours ahead and a visit in three: the reminder follows the confirmation.
    let app = spawn_app_with(backend, |settings| {
        smtp_to(sink.port)(settings);
        settings.mail.reminder_hours_before = 4;
    })
    .await;
    let soon = app.insert_slot(180).await;
    let patient = json!({"name": "Lucía Ramírez", "email": "lucia@example.com"});
    let booked: Value = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("Accept-Language", "es-MX,es;q=0.9,en;q=0.5")
        .json(&json!({"slot_id": soon, "patient": patient}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(booked["language"], "es", "{booked}");
    let mails: Vec<_> = sink.wait_for(2).await.iter().map(|m| parse(m)).collect();
    let confirmation = mails
        .iter()
        .find(|m| m.invitation.is_some())
        .expect("a confirmation");
    let reminder = mails
        .iter()
        .find(|m| m.invitation.is_none())
        .expect("a reminder");
    assert!(
        confirmation.subject.starts_with("Cita confirmada:"),
        "{}",
        confirmation.subject
    );
    assert!(
        reminder.subject.starts_with("Recordatorio:"),
        "{}",
        reminder.subject
    );
    for mail in [confirmation, reminder] {
        let subject = mail.subject.to_lowercase();
        assert!(
            SPANISH_DAYS.iter().any(|d| subject.contains(d)),
            "a Spanish weekday: {subject}"
        );
        assert!(subject.contains(" de "), "a Spanish date: {subject}");
        assert!(mail.text.contains("Hola, Lucía Ramírez"), "{}", mail.text);
        assert!(
            mail.html.contains("lang=\"es\"") || mail.html.contains("Hola"),
            "{}",
            mail.html
        );
    }
    let (_, ics) = confirmation.invitation.as_ref().unwrap();
    let calendar: icalendar::Calendar = ics.parse().expect("iCalendar");
    let event = calendar.events().next().expect("an event");
    assert!(
        event
            .get_summary()
            .unwrap_or_default()
            .starts_with("Cita con "),
        "{ics}"
    );
    assert!(event
        .get_description()
        .unwrap_or_default()
        .starts_with("Reserva "));

    // The form's own choice wins over the header; a language we do not write in is refused.
    let later = app.insert_slot(600).await;
    let english: Value = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("Accept-Language", "es")
        .json(&json!({"slot_id": later, "patient": {"name": "Ana", "email": "ana@example.com", "language": "en"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(english["language"], "en");
    let french = app
        .post_json(
            "/api/v1/bookings",
            &json!({"slot_id": later, "patient": {"name": "Zoé", "email": "zoe@example.com", "language": "fr"}}),
        )
        .await;
    let problem = assert_problem(french, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        problem["errors"]["patient.language"].is_string(),
        "{problem}"
    );
    // No header, no choice: English.
    let plain = app.book_ok(app.insert_slot(900).await).await;
    assert_eq!(plain["language"], "en");
}

async fn a_booking_downloads_as_a_calendar_file_in_its_language(backend: Backend) {
    let app = spawn_app(backend).await;
    let slot = app.free_slots_from(2).await[0].clone();
    let booked = app
        .book_for(
            slot["id"].as_i64().unwrap(),
            &json!({"name": "Lucía Ramírez", "email": "lucia@example.com", "language": "es"}),
        )
        .await;
    let reference = booked["reference"].as_str().unwrap();
    let token = booked["manage_token"].as_str().unwrap();
    let path = format!("/api/v1/bookings/{reference}/calendar.ics");
    let response = app
        .client
        .get(app.url(&path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/calendar"), "{content_type}");
    let ics = response.text().await.unwrap();
    let calendar: icalendar::Calendar = ics.parse().expect("iCalendar");
    let event = calendar.events().next().expect("an event");
    assert!(
        event
            .get_summary()
            .unwrap_or_default()
            .starts_with("Cita con "),
        "{ics}"
    );
    let start = match event.get_start() {
        Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(start))) => start,
        other => panic!("DTSTART should be UTC, got {other:?}"),
    };
    let expected: chrono::DateTime<chrono::Utc> = slot["start"].as_str().unwrap().parse().unwrap();
    assert_eq!(start, expected);
    let anonymous = app.client.get(app.url(&path)).send().await.unwrap();
    assert_problem(anonymous, StatusCode::UNAUTHORIZED).await;
    let other = app
        .client
        .get(app.url("/api/v1/bookings/BK-0000000000/calendar.ics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(matches!(
        other.status(),
        StatusCode::NOT_FOUND | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    ));
}

async fn a_patient_who_joins_the_waitlist_in_spanish_is_written_to_in_spanish(backend: Backend) {
    let app = spawn_app(backend).await;
    let types = app.get_json("/api/v1/visit-types").await;
    let online = types["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["new_patients_online"] == true)
        .expect("a type new patients book online")["id"]
        .clone();
    let today = (chrono::Utc::now() - chrono::Duration::hours(7)).date_naive();
    let response = app
        .post_json(
            "/api/v1/waitlist",
            &json!({
                "visit_type_id": online,
                "earliest_date": today.to_string(),
                "latest_date": (today + chrono::Duration::days(30)).to_string(),
                "patient": {"name": "Lucía Ramírez", "email": "lucia.wait@example.com", "language": "es"},
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    for _ in 0..200 {
        let subjects: Vec<String> = app
            .written_mail()
            .iter()
            .map(|m| parse(m).subject)
            .collect();
        if let Some(subject) = subjects.first() {
            assert!(
                subject.starts_with("Confirme su lugar en la lista de espera"),
                "{subject}"
            );
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no verification mail was written");
}
