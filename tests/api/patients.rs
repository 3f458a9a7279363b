//! Patients as records: matched on booking (address and date of birth), possible duplicates
//! flagged and merged or cleared, found by any word of the name, email, phone or reference; a
//! patient's page with its counts; staff notes on the day sheet and nowhere near the patient;
//! the right of access (export) and erasure, which leaves no personal data in any table or
//! mail file; the retention period; and the records the migration makes from earlier bookings.

use chrono::Duration;
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, Backend, TestApp, TestDatabase};
use clinic_booking::db;

crate::both_backends!(
    bookings_match_their_patient_and_possible_duplicates_are_flagged_for_staff,
    staff_find_patients_by_any_word_email_phone_or_reference,
    a_patients_page_counts_no_shows_and_late_cancellations,
    notes_show_on_the_day_sheet_and_never_reach_the_patient,
    an_export_holds_everything_and_an_erasure_leaves_no_personal_data,
    the_retention_period_erases_patients_without_recent_visits,
    an_admin_answers_access_and_erasure_requests_with_one_command_each,
    bookings_from_before_patients_become_patient_records,
);

fn person(name: &str, email: &str, phone: Option<&str>, born: Option<&str>) -> Value {
    let mut p = json!({"name": name, "email": email});
    if let Some(phone) = phone {
        p["phone"] = json!(phone);
    }
    if let Some(born) = born {
        p["date_of_birth"] = json!(born);
    }
    p
}

async fn search(app: &TestApp, token: &str, q: &str) -> Vec<Value> {
    let path = format!("/api/v1/patients?q={}", crate::helpers::urlencode(q));
    let found = app
        .send_ok(Method::GET, &path, token, None, StatusCode::OK)
        .await;
    found["items"].as_array().expect("items").clone()
}

async fn the_one(app: &TestApp, token: &str, q: &str) -> Value {
    let found = search(app, token, q).await;
    assert_eq!(found.len(), 1, "{q}: {found:?}");
    found[0].clone()
}

async fn page(app: &TestApp, token: &str, id: i64) -> Value {
    let path = format!("/api/v1/patients/{id}");
    app.send_ok(Method::GET, &path, token, None, StatusCode::OK)
        .await
}

fn references(page: &Value) -> Vec<String> {
    let mut refs: Vec<String> = page["visits"]
        .as_array()
        .expect("visits")
        .iter()
        .map(|v| v["reference"].as_str().expect("reference").to_owned())
        .collect();
    refs.sort();
    refs
}

fn reference(booking: &Value) -> String {
    booking["reference"].as_str().expect("reference").to_owned()
}

async fn bookings_match_their_patient_and_possible_duplicates_are_flagged_for_staff(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let desk = app.staff_token("front_desk").await;
    let slots = app.free_slot_ids_from(2).await;
    let ana = person("Ana Díaz", "ana.diaz@example.com", None, Some("1984-03-09"));
    let first = app.book_for(slots[0], &ana).await;
    // Same person: the address in other case, the same birth date; a new name and phone win.
    let again = person(
        "Ana María Díaz",
        "ANA.Diaz@example.com",
        Some("+1 602 555 0134"),
        Some("1984-03-09"),
    );
    let second = app.book_for(slots[1], &again).await;
    // Her daughter, booked from her address: another person, flagged, never merged silently.
    let child = person(
        "Lucía Díaz",
        "ana.diaz@example.com",
        None,
        Some("2015-06-01"),
    );
    let third = app.book_for(slots[2], &child).await;

    let found = search(&app, &desk, "ana.diaz@example.com").await;
    assert_eq!(found.len(), 2, "mother and daughter: {found:?}");
    let mother = found
        .iter()
        .find(|p| p["date_of_birth"] == "1984-03-09")
        .unwrap();
    let daughter = found
        .iter()
        .find(|p| p["date_of_birth"] == "2015-06-01")
        .unwrap();
    let (mother_id, daughter_id) = (
        mother["id"].as_i64().unwrap(),
        daughter["id"].as_i64().unwrap(),
    );
    assert_eq!(
        mother["name"], "Ana María Díaz",
        "the newest booking's name"
    );
    assert_eq!(mother["phone"], "+1 602 555 0134");
    assert_eq!(mother["visits"], 2);
    assert_eq!(mother["possible_duplicate_of"], Value::Null);
    assert_eq!(daughter["possible_duplicate_of"], mother_id);
    let mut expected = vec![reference(&first), reference(&second)];
    expected.sort();
    assert_eq!(references(&page(&app, &desk, mother_id).await), expected);
    assert_eq!(
        references(&page(&app, &desk, daughter_id).await),
        [reference(&third)]
    );

    let flagged = app
        .send_ok(
            Method::GET,
            "/api/v1/patients/duplicates",
            &desk,
            None,
            StatusCode::OK,
        )
        .await;
    let flagged: Vec<i64> = flagged["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(flagged, [daughter_id]);
    // Two people: the desk clears the flag.
    let cleared = app
        .send(
            Method::DELETE,
            &format!("/api/v1/patients/{daughter_id}/duplicate-flag"),
            Some(&desk),
            None,
        )
        .await;
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    let flagged = app
        .send_ok(
            Method::GET,
            "/api/v1/patients/duplicates",
            &desk,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(flagged["items"], json!([]));

    // The same Ana from another address is another record until the desk merges them.
    let other_address = person("Ana Diaz", "ana@work.example", None, None);
    let fourth = app.book_for(slots[3], &other_address).await;
    let work = the_one(&app, &desk, "ana@work").await;
    let work_id = work["id"].as_i64().unwrap();
    assert_ne!(work_id, mother_id);
    let merged = app
        .send_ok(
            Method::POST,
            &format!("/api/v1/patients/{work_id}/merge"),
            &desk,
            Some(&json!({"into": mother_id})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(merged["id"], mother_id);
    let mut expected = vec![reference(&first), reference(&second), reference(&fourth)];
    expected.sort();
    assert_eq!(references(&merged), expected, "both histories in one");
    assert_eq!(
        page(&app, &desk, work_id).await["id"],
        mother_id,
        "the merged record leads on"
    );
    // The merged address now finds, and books for, the record it joined.
    assert_eq!(the_one(&app, &desk, "ana@work").await["id"], mother_id);
    let fifth = app.book_for(slots[6], &other_address).await;
    assert!(references(&page(&app, &desk, mother_id).await).contains(&reference(&fifth)));
    let into_itself = app
        .send(
            Method::POST,
            &format!("/api/v1/patients/{mother_id}/merge"),
            Some(&desk),
            Some(&json!({"into": mother_id})),
        )
        .await;
    assert_problem(into_itself, StatusCode::UNPROCESSABLE_ENTITY).await;
    let admin = app.staff_token("admin").await;
    let trail = audit_of(&app, &admin, "patient").await;
    let actions: Vec<(&str, &str)> = trail
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["entity_id"].as_str().unwrap(),
            )
        })
        .collect();
    for expected in [
        ("patient.not_duplicate", daughter_id.to_string()),
        ("patient.merge", work_id.to_string()),
        ("patient.merge", mother_id.to_string()),
    ] {
        assert!(
            actions.contains(&(expected.0, expected.1.as_str())),
            "{expected:?} in {actions:?}"
        );
    }

    // Two bookings at once for someone new make one record, not two.
    let newcomer = person(
        "Nuevo Paciente",
        "nuevo@example.com",
        None,
        Some("1990-01-01"),
    );
    let (a, b) = futures::join!(
        app.book_for(slots[4], &newcomer),
        app.book_for(slots[5], &newcomer)
    );
    let record = the_one(&app, &desk, "nuevo@").await;
    let mut expected = vec![reference(&a), reference(&b)];
    expected.sort();
    assert_eq!(
        references(&page(&app, &desk, record["id"].as_i64().unwrap()).await),
        expected
    );

    let anonymous = app
        .send(Method::GET, "/api/v1/patients?q=ana", None, None)
        .await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED).await;
}

async fn staff_find_patients_by_any_word_email_phone_or_reference(backend: Backend) {
    let app = spawn_app(backend).await;
    let desk = app.staff_token("front_desk").await;
    let slots = app.free_slot_ids_from(2).await;
    let jose = person(
        "José García-López",
        "Jose.Garcia@example.org",
        Some("+1 (480) 555-0177"),
        None,
    );
    let booking = app.book_for(slots[0], &jose).await;
    app.book_for(
        slots[1],
        &person("Ana Díaz", "ana.diaz@example.com", None, None),
    )
    .await;
    app.book_for(
        slots[2],
        &person("Garrett Ng", "g.ng@example.net", None, None),
    )
    .await;

    for q in [
        "garcía",
        "GARCIA-L",
        "lopez",
        "López José",
        "jose.garcia@",
        "JOSE.GARCIA@EXAMPLE.ORG",
        "555-0177",
        "(480) 555-01",
        "14805550177",
        "4805550177",
    ] {
        assert_eq!(
            the_one(&app, &desk, q).await["name"],
            "José García-López",
            "{q}"
        );
    }
    let prefix = &reference(&booking)[..7];
    let by_reference = search(&app, &desk, &prefix.to_lowercase()).await;
    assert!(
        by_reference
            .iter()
            .any(|p| p["name"] == "José García-López"),
        "{prefix}"
    );
    let gar: Vec<String> = search(&app, &desk, "gar")
        .await
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(gar, ["Garrett Ng", "José García-López"], "by name");
    assert_eq!(the_one(&app, &desk, "ana d").await["name"], "Ana Díaz");
    assert!(search(&app, &desk, "zzz").await.is_empty());
    // Letters beyond ASCII, first in the query (the reference check must not cut one in half).
    app.book_for(slots[3], &person("Zoë Noël", "zoe@example.com", None, None))
        .await;
    for q in ["Zoë", "zoe noel", "NOËL", "Иван"] {
        let expected = usize::from(q != "Иван");
        assert_eq!(search(&app, &desk, q).await.len(), expected, "{q}");
    }
    for bad in ["a", "%20%20", &"x".repeat(101)] {
        let response = app
            .send(
                Method::GET,
                &format!("/api/v1/patients?q={bad}"),
                Some(&desk),
                None,
            )
            .await;
        assert_problem(response, StatusCode::BAD_REQUEST).await;
    }
    let too_many = app
        .send(
            Method::GET,
            "/api/v1/patients?q=ana&limit=1000",
            Some(&desk),
            None,
        )
        .await;
    assert_problem(too_many, StatusCode::BAD_REQUEST).await;
    let provider = app.staff_token("provider").await;
    assert_eq!(
        the_one(&app, &provider, "garcia").await["name"],
        "José García-López",
        "any staff"
    );
}

async fn a_patients_page_counts_no_shows_and_late_cancellations(backend: Backend) {
    let app = spawn_app(backend).await;
    let desk = app.staff_token("front_desk").await;
    let slots = app.free_slot_ids_from(3).await;
    let who = person(
        "Counted Patient",
        "counted@example.com",
        None,
        Some("1970-05-05"),
    );
    let missed = app.book_for(slots[0], &who).await;
    let seen = app.book_for(slots[1], &who).await;
    let early = app.book_for(slots[2], &who).await;
    // Cancelled three days ahead by the patient: a cancellation, not a late one.
    let response = app
        .cancel(&reference(&early), early["manage_token"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let late = app.book_for(slots[3], &who).await;
    // The patient calls an hour before: inside the 24-hour cut-off, the desk cancels anyway.
    app.move_visit(&reference(&late), 60).await;
    let response = app
        .cancel_overriding(&reference(&late), &desk, "called in sick")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    app.move_visit(&reference(&missed), -60).await;
    app.move_visit(&reference(&seen), -180).await;
    let status = |s: &str| json!({"status": s});
    for (booking, steps) in [
        (&missed, vec!["no_show"]),
        (&seen, vec!["arrived", "completed"]),
    ] {
        for step in steps {
            app.send_ok(
                Method::PATCH,
                &format!("/api/v1/bookings/{}", reference(booking)),
                &desk,
                Some(&status(step)),
                StatusCode::OK,
            )
            .await;
        }
    }
    let id = the_one(&app, &desk, "counted").await["id"]
        .as_i64()
        .unwrap();
    let shown = page(&app, &desk, id).await;
    assert_eq!(
        shown["counts"],
        json!({"visits": 2, "upcoming": 0, "completed": 1, "no_shows": 1, "cancellations": 2, "late_cancellations": 1})
    );
    let statuses: Vec<&str> = shown["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 4);
    for s in ["no_show", "completed", "cancelled"] {
        assert!(statuses.contains(&s), "{s} in {statuses:?}");
    }
    let missing = app
        .send(Method::GET, "/api/v1/patients/99999", Some(&desk), None)
        .await;
    assert_problem(missing, StatusCode::NOT_FOUND).await;
    let huge = app
        .send(
            Method::GET,
            "/api/v1/patients/99999999999",
            Some(&desk),
            None,
        )
        .await;
    assert_problem(huge, StatusCode::NOT_FOUND).await;
}

async fn notes_show_on_the_day_sheet_and_never_reach_the_patient(backend: Backend) {
    let app = spawn_app(backend).await;
    let desk = app.staff_token("front_desk").await;
    let slot = app.free_slots_from(1).await[0].clone();
    let booking = app
        .book_for(
            slot["id"].as_i64().unwrap(),
            &person("Noted Patient", "noted@example.com", None, None),
        )
        .await;
    let reference = reference(&booking);
    let late = app
        .send_ok(
            Method::POST,
            &format!("/api/v1/bookings/{reference}/notes"),
            &desk,
            Some(&json!({"body": "Running 10 minutes late"})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(late["booking_reference"], reference.as_str());
    let id = the_one(&app, &desk, "noted").await["id"].as_i64().unwrap();
    let interpreter = app
        .send_ok(
            Method::POST,
            &format!("/api/v1/patients/{id}/notes"),
            &desk,
            Some(&json!({"body": "Needs a Spanish interpreter"})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(interpreter["booking_reference"], Value::Null);
    assert!(interpreter["author"]
        .as_str()
        .unwrap()
        .ends_with("@clinic.example"));

    let date = &slot["local_start"].as_str().unwrap()[..10];
    let sheet = app
        .send_ok(
            Method::GET,
            &format!("/api/v1/bookings?date={date}"),
            &desk,
            None,
            StatusCode::OK,
        )
        .await;
    let entry = sheet["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference"] == reference.as_str())
        .expect("on the sheet")
        .clone();
    assert_eq!(entry["patient_id"], id);
    let bodies: Vec<&str> = entry["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        ["Running 10 minutes late", "Needs a Spanish interpreter"]
    );

    let changed = app
        .send_ok(
            Method::PATCH,
            &format!("/api/v1/notes/{}", late["id"]),
            &desk,
            Some(&json!({"body": "Running 20 minutes late"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(changed["body"], "Running 20 minutes late");
    let deleted = app
        .send(
            Method::DELETE,
            &format!("/api/v1/notes/{}", interpreter["id"]),
            Some(&desk),
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app
        .send(
            Method::DELETE,
            &format!("/api/v1/notes/{}", interpreter["id"]),
            Some(&desk),
            None,
        )
        .await;
    assert_problem(gone, StatusCode::NOT_FOUND).await;
    for bad in [
        json!({"body": ""}),
        json!({"body": "x".repeat(501)}),
        json!({"body": "a\u{0}b"}),
    ] {
        let response = app
            .send(
                Method::POST,
                &format!("/api/v1/patients/{id}/notes"),
                Some(&desk),
                Some(&bad),
            )
            .await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let admin = app.staff_token("admin").await;
    let trail = audit_of(&app, &admin, "note").await;
    let actions: Vec<&str> = trail
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in ["note.create", "note.update", "note.delete"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let trail_text = serde_json::to_string(&trail).unwrap();
    assert!(
        !trail_text.contains("minutes late") && !trail_text.contains("interpreter"),
        "the audit keeps who, not what"
    );

    // The patient's own view and every mail to them leave the notes out.
    let own = app.read_booking(&booking).await;
    assert!(!own.to_string().contains("late"), "{own}");
    wait_for_mails(&app, 1).await;
    let response = app
        .cancel(&reference, booking["manage_token"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mails = wait_for_mails(&app, 2).await;
    for mail in mails {
        let text = String::from_utf8_lossy(&mail).to_lowercase();
        assert!(!text.contains("minutes late") && !text.contains("interpreter"));
    }
}

/// The audit entries about one kind of thing (the log lists the latest 500).
async fn audit_of(app: &TestApp, admin: &str, kind: &str) -> Vec<Value> {
    let all = app.audit(admin, "limit=500").await;
    all.into_iter()
        .filter(|e| e["entity_type"] == kind)
        .collect()
}

/// The mails written so far, once there are at least `count`.
async fn wait_for_mails(app: &TestApp, count: usize) -> Vec<Vec<u8>> {
    for _ in 0..200 {
        let mails = app.written_mail();
        if mails.len() >= count {
            return mails;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {count} mails were written");
}

/// Every value of every table, as text, one line per row (the erasure test greps it).
fn dump_database(conn: &mut db::DbConnection) -> String {
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text)]
        line: String,
    }
    let sqlite = matches!(conn, db::DbConnection::Sqlite(_));
    let tables: Vec<Line> = if sqlite {
        diesel::sql_query("SELECT name AS line FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .load(conn)
            .expect("tables")
    } else {
        diesel::sql_query("SELECT table_name::text AS line FROM information_schema.tables WHERE table_schema = 'public'")
            .load(conn)
            .expect("tables")
    };
    let mut dump = String::new();
    for table in tables {
        let name = table.line;
        let query = if sqlite {
            let columns: Vec<Line> = diesel::sql_query(format!(
                "SELECT name AS line FROM pragma_table_info('{name}')"
            ))
            .load(conn)
            .expect("columns");
            let parts: Vec<String> = columns
                .iter()
                .map(|c| format!("coalesce(CAST(\"{}\" AS TEXT), '')", c.line))
                .collect();
            format!(
                "SELECT {} AS line FROM \"{name}\"",
                parts.join(" || '|' || ")
            )
        } else {
            format!("SELECT t::text AS line FROM \"{name}\" t")
        };
        let rows: Vec<Line> = diesel::sql_query(query).load(conn).expect("rows");
        for row in rows {
            dump.push_str(&name);
            dump.push(':');
            dump.push_str(&row.line);
            dump.push('\n');
        }
    }
    dump
}

async fn an_export_holds_everything_and_an_erasure_leaves_no_personal_data(backend: Backend) {
    let app = spawn_app(backend).await;
    let desk = app.staff_token("front_desk").await;
    let admin = app.staff_token("admin").await;
    let slots = app.free_slot_ids_from(2).await;
    let name = "Zebulon Quixote-Farnsworth";
    let (email, phone, born) = (
        "zebulon.quixote@example.org",
        "+1 (480) 555-0199",
        "1971-07-14",
    );
    let zeb = json!({"name": name, "email": email, "phone": phone, "date_of_birth": born, "sms_consent": false});
    // A booking with an Idempotency-Key (its answer, with the patient, is kept for replays) and
    // an intake, and one the desk makes and cancels with a reason that names him.
    let first: Value = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("Idempotency-Key", "erasure-test-key-0001")
        .json(&json!({"slot_id": slots[0], "patient": zeb, "reason": "Zebulon's lower back pain"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second = app
        .send_ok(
            Method::POST,
            "/api/v1/bookings",
            &desk,
            Some(&json!({"slot_id": slots[1], "patient": zeb})),
            StatusCode::CREATED,
        )
        .await;
    // Both confirmations go out before the cancellations (a confirmation still queued when its
    // booking is cancelled is dropped as obsolete).
    wait_for_mails(&app, 2).await;
    let response = app
        .cancel_overriding(
            &reference(&second),
            &desk,
            "Zebulon Quixote-Farnsworth moved away",
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let first_ref = reference(&first);
    let response = app
        .cancel(&first_ref, first["manage_token"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // Another patient born the same day, booked with a key too: an erasure of Zebulon leaves
    // her alone.
    let ada = json!({"name": "Ada Lovelace", "email": "ada@example.net", "date_of_birth": born});
    let hers: Value = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("Idempotency-Key", "erasure-test-key-0002")
        .json(&json!({"slot_id": slots[3], "patient": ada, "reason": "Neck stiffness"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = the_one(&app, &desk, "zebulon").await["id"]
        .as_i64()
        .unwrap();
    app.send_ok(
        Method::POST,
        &format!("/api/v1/patients/{id}/notes"),
        &desk,
        Some(&json!({"body": "Zebulon prefers mornings"})),
        StatusCode::CREATED,
    )
    .await;
    // Both confirmations, both cancellations and her confirmation are written before anything
    // is erased.
    wait_for_mails(&app, 5).await;
    assert!(app
        .written_mail()
        .iter()
        .any(|m| String::from_utf8_lossy(m).contains(email)));

    let export = app
        .send_ok(
            Method::GET,
            &format!("/api/v1/admin/patients/{id}/export"),
            &admin,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(export["patient"]["name"], name);
    assert_eq!(export["patient"]["date_of_birth"], born);
    let exported: Vec<&str> = export["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["reference"].as_str().unwrap())
        .collect();
    assert_eq!(exported.len(), 2);
    assert!(exported.contains(&first_ref.as_str()));
    assert_eq!(export["notes"][0]["body"], "Zebulon prefers mornings");
    let mails: Vec<&str> = export["mails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        mails.iter().filter(|k| **k == "confirmation").count(),
        2,
        "{mails:?}"
    );
    assert_eq!(
        mails.iter().filter(|k| **k == "cancellation").count(),
        2,
        "{mails:?}"
    );
    let audited: Vec<&str> = export["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in ["booking.create", "note.create"] {
        assert!(audited.contains(&action), "{action} in {audited:?}");
    }
    let desk_export = app
        .send(
            Method::GET,
            &format!("/api/v1/admin/patients/{id}/export"),
            Some(&desk),
            None,
        )
        .await;
    assert_problem(desk_export, StatusCode::FORBIDDEN).await;

    let erased = app
        .send_ok(
            Method::POST,
            &format!("/api/v1/admin/patients/{id}/erase"),
            &admin,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(erased["bookings"], 2);
    assert!(erased["mail_files"].as_i64().unwrap() >= 4, "{erased}");
    let dump = app.with_db(dump_database).await.to_lowercase();
    let needles = [
        "zebulon",
        "quixote",
        "farnsworth",
        email,
        "480) 555",
        "4805550199",
        born,
        "prefers mornings",
        "lower back",
    ];
    let her_reference = reference(&hers).to_lowercase();
    let not_hers = |l: &&str| !l.contains("ada@example.net") && !l.contains(&her_reference);
    for needle in needles {
        let found: Vec<&str> = dump
            .lines()
            .filter(not_hers)
            .filter(|l| l.contains(needle))
            .collect();
        assert!(found.is_empty(), "{needle} still stored: {found:#?}");
    }
    // Hers are whole: her booking, her record, her replay record, her mail.
    let kept = app.booking_as_staff(&admin, &reference(&hers)).await;
    assert_eq!(kept["patient"]["name"], "Ada Lovelace");
    assert_eq!(kept["patient"]["date_of_birth"], born);
    assert_eq!(kept["reason"], "Neck stiffness");
    let replay: Value = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("Idempotency-Key", "erasure-test-key-0002")
        .json(&json!({"slot_id": slots[3], "patient": ada, "reason": "Neck stiffness"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        replay["patient"]["name"], "Ada Lovelace",
        "her replay answers as before"
    );
    assert!(app
        .written_mail()
        .iter()
        .any(|m| String::from_utf8_lossy(m).contains("ada@example.net")));
    for mail in app.written_mail() {
        let text = String::from_utf8_lossy(&mail).to_lowercase();
        assert!(
            !text.contains(email) && !text.contains("zebulon"),
            "a mail file still holds him"
        );
    }
    // The facts reports need stay: two cancelled visits, their times and sources.
    let booking = app.booking_as_staff(&admin, &first_ref).await;
    assert_eq!(booking["status"], "cancelled");
    assert_eq!(booking["patient"]["name"], "[erased]");
    let trail = audit_of(&app, &admin, "patient").await;
    assert!(trail
        .iter()
        .any(|e| e["action"] == "patient.erase" && e["entity_id"] == id.to_string().as_str()));
    // Erasing again changes nothing; a patient with a visit ahead is refused, listing it.
    app.send_ok(
        Method::POST,
        &format!("/api/v1/admin/patients/{id}/erase"),
        &admin,
        None,
        StatusCode::OK,
    )
    .await;
    let coming = app
        .book_for(
            slots[2],
            &person("Coming Soon", "coming@example.com", None, None),
        )
        .await;
    let coming_id = the_one(&app, &desk, "coming").await["id"].as_i64().unwrap();
    let refused = app
        .send(
            Method::POST,
            &format!("/api/v1/admin/patients/{coming_id}/erase"),
            Some(&admin),
            None,
        )
        .await;
    let problem = assert_problem(refused, StatusCode::CONFLICT).await;
    assert_eq!(problem["bookings"], json!([reference(&coming)]));
}

async fn the_retention_period_erases_patients_without_recent_visits(backend: Backend) {
    let app = spawn_app(backend).await;
    let desk = app.staff_token("front_desk").await;
    let slots = app.free_slot_ids_from(2).await;
    let old = app
        .book_for(
            slots[0],
            &person("Long Gone", "gone@example.com", None, None),
        )
        .await;
    let recent = app
        .book_for(
            slots[1],
            &person("Still Here", "here@example.com", None, None),
        )
        .await;
    // Both confirmations go out first (a confirmation still queued when its booking is cancelled
    // is dropped as obsolete, and the mail count below would vary).
    wait_for_mails(&app, 2).await;
    for booking in [&old, &recent] {
        let response = app
            .cancel(
                &reference(booking),
                booking["manage_token"].as_str().unwrap(),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    // Long Gone's visit, booking and record are 400 days old; Still Here's visit was 10 days ago.
    let (old_ref, recent_ref) = (reference(&old), reference(&recent));
    app.with_db(move |conn| {
        use clinic_booking::db::schema::{bookings, patients, slots};
        let age = |days| db::now() - Duration::days(days);
        for (reference, days) in [(old_ref, 400), (recent_ref, 10)] {
            let (slot, patient): (i32, Option<i32>) = bookings::table
                .filter(bookings::reference.eq(&reference))
                .select((bookings::slot_id, bookings::patient_id))
                .first(conn)
                .unwrap();
            diesel::update(slots::table.find(slot))
                .set((
                    slots::starts_at.eq(age(days)),
                    slots::ends_at.eq(age(days) + Duration::minutes(30)),
                ))
                .execute(conn)
                .unwrap();
            diesel::update(bookings::table.filter(bookings::reference.eq(&reference)))
                .set(bookings::created_at.eq(age(days + 5)))
                .execute(conn)
                .unwrap();
            diesel::update(patients::table.find(patient.unwrap()))
                .set(patients::created_at.eq(age(days + 5)))
                .execute(conn)
                .unwrap();
        }
    })
    .await;
    // Both patients' confirmations and cancellations are written first.
    wait_for_mails(&app, 4).await;
    let pool = app.pool.clone();
    let mail = test_mail_settings(&app);
    let swept = tokio::task::spawn_blocking(move || {
        clinic_booking::retention::erase_inactive(&pool, &mail, 365)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        swept.mail_files, 2,
        "Long Gone's confirmation and cancellation"
    );
    let mails: Vec<String> = app
        .written_mail()
        .iter()
        .map(|m| String::from_utf8_lossy(m).to_lowercase())
        .collect();
    assert!(mails.iter().all(|m| !m.contains("gone@example.com")));
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.contains("here@example.com"))
            .count(),
        2
    );
    let dump = app.with_db(dump_database).await.to_lowercase();
    assert!(
        !dump.contains("gone@example.com") && !dump.contains("long gone"),
        "erased everywhere"
    );
    assert_eq!(swept.patients, 1);
    assert!(search(&app, &desk, "gone").await.is_empty(), "erased");
    assert_eq!(the_one(&app, &desk, "here@").await["name"], "Still Here");
    let admin = app.staff_token("admin").await;
    let trail = audit_of(&app, &admin, "patient").await;
    let erasure = trail
        .iter()
        .find(|e| e["action"] == "patient.erase")
        .expect("audited");
    assert_eq!(erasure["actor"]["kind"], "system");
}

/// `clinic-booking export-patient` and `erase-patient` against the app's database, as an admin
/// at a terminal would run them; `erase-inactive` without a period says which setting it needs.
async fn an_admin_answers_access_and_erasure_requests_with_one_command_each(backend: Backend) {
    let app = spawn_app(backend).await;
    let desk = app.staff_token("front_desk").await;
    let slot = app.free_slot_ids_from(2).await[0];
    let who = person(
        "Olga Command",
        "olga@example.com",
        Some("+1 602 555 0142"),
        None,
    );
    let booking = app.book_for(slot, &who).await;
    wait_for_mails(&app, 1).await;
    let response = app
        .cancel(
            &reference(&booking),
            booking["manage_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    wait_for_mails(&app, 2).await;
    let id = the_one(&app, &desk, "olga").await["id"].as_i64().unwrap();
    let (url, mail_dir) = (app.database.url.clone(), app.mail_dir().to_owned());
    let run = move |args: Vec<String>| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_clinic-booking"))
            .args(&args)
            .env("APP__DATABASE__URL", &url)
            .env("APP__DEMO__SEED", "false")
            .env("APP__MAIL__TRANSPORT", "file")
            .env("APP__MAIL__FILE_DIR", &mail_dir)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run clinic-booking");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (
            output.status.success(),
            text(&output.stdout),
            text(&output.stderr),
        )
    };
    let command = |args: &[&str]| {
        let run = run.clone();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        tokio::task::spawn_blocking(move || run(args))
    };
    let id_arg = id.to_string();
    let (ok, out, err) = command(&["export-patient", "--id", &id_arg]).await.unwrap();
    assert!(ok, "{err}");
    let export: Value = serde_json::from_str(&out).expect("JSON on stdout");
    assert_eq!(export["patient"]["name"], "Olga Command");
    assert_eq!(
        export["bookings"][0]["reference"],
        reference(&booking).as_str()
    );
    let (ok, out, err) = command(&["erase-patient", "--id", &id_arg]).await.unwrap();
    assert!(ok, "{err}");
    let erased: Value = serde_json::from_str(out.trim()).expect("JSON on stdout");
    assert_eq!(erased["bookings"], 1);
    assert_eq!(erased["mail_files"], 2);
    assert!(search(&app, &desk, "olga").await.is_empty());
    let dump = app.with_db(dump_database).await.to_lowercase();
    assert!(!dump.contains("olga") && !dump.contains("5550142"));
    let (ok, _, err) = command(&["erase-inactive"]).await.unwrap();
    assert!(!ok && err.contains("APP__PRIVACY__RETENTION_DAYS"), "{err}");
    let (ok, _, err) = command(&["export-patient", "--id", "999999"])
        .await
        .unwrap();
    assert!(!ok && err.contains("patient not found"), "{err}");
}

/// The app's mail settings (the file transport into its directory).
fn test_mail_settings(app: &TestApp) -> clinic_booking::settings::MailSettings {
    crate::helpers::test_settings(&app.database.url, app.mail_dir()).mail
}

/// The patients migration makes one record per address and date of birth from the bookings
/// before it, flags a record whose address another has, and the server indexes them for search.
async fn bookings_from_before_patients_become_patient_records(backend: Backend) {
    use clinic_booking::db::schema::{bookings, patients, providers, slots};
    let database = TestDatabase::create(backend);
    let url = database.url.clone();
    tokio::task::spawn_blocking(move || {
        let pool = db::build_pool(&url, 1).expect("pool");
        let mut conn = pool.get().expect("connection");
        db::run_migrations(&mut conn).expect("up");
        db::revert_to_before(&mut conn, "2026-12-01-000015").expect("back to before patients");
        let now = db::now();
        diesel::insert_into(providers::table)
            .values((
                providers::id.eq(1),
                providers::name.eq("Dr. Rivera"),
                providers::title.eq(""),
                providers::specialty.eq("pain_medicine"),
                providers::created_at.eq(now),
                providers::updated_at.eq(now),
            ))
            .execute(&mut conn)
            .expect("provider");
        let rows = [
            (
                1,
                "Ana Díaz",
                "ana@example.com",
                Some("1984-03-09"),
                "completed",
            ),
            (
                2,
                "Ana M. Díaz",
                "ANA@example.com",
                Some("1984-03-09"),
                "cancelled",
            ),
            (
                3,
                "Lucía Díaz",
                "ana@example.com",
                Some("2015-06-01"),
                "booked",
            ),
            (4, "Ben Ode", "ben@example.com", None, "booked"),
        ];
        for (id, name, email, born, status) in rows {
            let start = now + Duration::hours(id.into());
            diesel::insert_into(slots::table)
                .values((
                    slots::id.eq(id),
                    slots::provider_id.eq(1),
                    slots::starts_at.eq(start),
                    slots::ends_at.eq(start + Duration::minutes(30)),
                    slots::status.eq("busy"),
                    slots::created_at.eq(now),
                ))
                .execute(&mut conn)
                .expect("slot");
            diesel::insert_into(bookings::table)
                .values((
                    bookings::id.eq(id),
                    bookings::reference.eq(format!("BK-OLD000000{id}")),
                    bookings::slot_id.eq(id),
                    bookings::patient_name.eq(name),
                    bookings::patient_email.eq(email),
                    bookings::patient_date_of_birth
                        .eq(born.map(|b| b.parse::<chrono::NaiveDate>().unwrap())),
                    bookings::source.eq("website"),
                    bookings::status.eq(status),
                    bookings::created_at.eq(now),
                    bookings::updated_at.eq(now),
                ))
                .execute(&mut conn)
                .expect("booking");
        }
        assert!(db::run_migrations(&mut conn).expect("patients and what follows") >= 1);
        let of: Vec<(i32, Option<i32>)> = bookings::table
            .order(bookings::id)
            .select((bookings::id, bookings::patient_id))
            .load(&mut conn)
            .expect("bookings");
        let patient = |booking: usize| of[booking - 1].1.expect("a patient");
        assert_eq!(
            patient(1),
            patient(2),
            "one address and birth date, one patient"
        );
        assert_ne!(patient(1), patient(3));
        assert_ne!(patient(1), patient(4));
        let records: Vec<(i32, String, Option<i32>)> = patients::table
            .order(patients::id)
            .select((patients::id, patients::name, patients::duplicate_of))
            .load(&mut conn)
            .expect("patients");
        assert_eq!(records.len(), 3);
        let record = |id: i32| records.iter().find(|r| r.0 == id).unwrap().clone();
        assert_eq!(
            record(patient(1)).1,
            "Ana M. Díaz",
            "named as in the latest booking"
        );
        assert_eq!(
            record(patient(3)).2,
            Some(patient(1)),
            "the daughter is flagged"
        );
        assert_eq!(record(patient(4)).2, None);
    })
    .await
    .expect("blocking task");
    // The server indexes them as it starts: found by an accent-free word.
    let app = crate::helpers::spawn_app_on(database).await;
    let desk = app.staff_token("front_desk").await;
    assert_eq!(search(&app, &desk, "lucia").await.len(), 1);
    assert_eq!(search(&app, &desk, "diaz").await.len(), 2);
}
