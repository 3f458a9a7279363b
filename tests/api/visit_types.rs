//! Visit types of different lengths: who offers them, where each fits, the run of slots a visit
//! holds, and that overlapping visits never both win, whatever their lengths.

use std::collections::HashSet;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, patient, spawn_app, Backend, TestApp};

crate::both_backends!(
    the_demo_types_are_listed_and_admins_manage_them,
    availability_offers_only_starts_where_the_whole_visit_fits,
    a_visit_holds_every_slot_it_covers_until_cancelled_or_moved,
    overlapping_visits_of_different_lengths_never_both_win,
    returning_patient_types_need_an_earlier_visit_online,
    a_visit_type_may_set_its_own_booking_rules,
    an_inactive_providers_time_is_never_offered,
);

/// The day these tests schedule: a month ahead, after the demo clinic's two weeks, a Wednesday so
/// nothing about weekends matters. Phoenix keeps -07:00 all year.
fn day() -> NaiveDate {
    let mut day = chrono::Utc::now().date_naive() + Duration::days(30);
    while chrono::Datelike::weekday(&day) != chrono::Weekday::Wed {
        day += Duration::days(1);
    }
    day
}

fn local(time: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(&format!("{}T{time}:00-07:00", day())).expect("a time")
}

/// A new provider with back-to-back quarter-hour slots on `day()`, and the visit types a test
/// gives them.
struct Clinic {
    provider: i64,
    slots: Vec<(DateTime<FixedOffset>, i64)>,
}

impl Clinic {
    async fn open(app: &TestApp, admin: &str, from: &str, to: &str) -> Self {
        let provider = app
            .send_ok(
                Method::POST,
                "/api/v1/providers",
                admin,
                Some(&json!({"name": "Dr. Ines Park", "specialty": "pain_medicine"})),
                StatusCode::CREATED,
            )
            .await["id"]
            .as_i64()
            .expect("provider id");
        let mut slots = Vec::new();
        let (mut start, end) = (local(from), local(to));
        while start < end {
            let slot = app
                .send_ok(
                    Method::POST,
                    &format!("/api/v1/providers/{provider}/slots"),
                    admin,
                    Some(&json!({
                        "start": start.to_rfc3339(),
                        "end": (start + Duration::minutes(15)).to_rfc3339(),
                    })),
                    StatusCode::CREATED,
                )
                .await;
            slots.push((start, slot["id"].as_i64().expect("slot id")));
            start += Duration::minutes(15);
        }
        Self { provider, slots }
    }

    fn slot_at(&self, time: &str) -> i64 {
        let at = local(time);
        self.slots
            .iter()
            .find(|(start, _)| *start == at)
            .map(|(_, id)| *id)
            .unwrap_or_else(|| panic!("no slot at {time}"))
    }

    async fn visit_type(
        &self,
        app: &TestApp,
        admin: &str,
        name: &str,
        minutes: i64,
        buffer: i64,
    ) -> i64 {
        app.send_ok(
            Method::POST,
            "/api/v1/visit-types",
            admin,
            Some(&json!({
                "name": name,
                "duration_minutes": minutes,
                "buffer_minutes": buffer,
                "provider_ids": [self.provider],
            })),
            StatusCode::CREATED,
        )
        .await["id"]
            .as_i64()
            .expect("visit type id")
    }

    /// The local start times (HH:MM) offered for a visit type on `day()`.
    async fn offered(&self, app: &TestApp, visit_type: i64) -> Vec<String> {
        let list = app
            .get_json(&format!(
                "/api/v1/slots?provider_id={}&visit_type_id={visit_type}&from={}&to={}",
                self.provider,
                day(),
                day() + Duration::days(1)
            ))
            .await;
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|item| item["local_start"].as_str().expect("local_start")[11..16].to_owned())
            .collect()
    }
}

fn booking_body(slot_id: i64, visit_type: Option<i64>, email: &str) -> Value {
    let mut patient = patient();
    patient["email"] = json!(email);
    let mut body = json!({"slot_id": slot_id, "patient": patient});
    if let Some(visit_type) = visit_type {
        body["visit_type_id"] = json!(visit_type);
    }
    body
}

async fn the_demo_types_are_listed_and_admins_manage_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let listed = app.get_json("/api/v1/visit-types").await;
    let names: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|v| v["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "Follow-up visit",
            "New-patient evaluation",
            "Physical-therapy session",
            "Therapeutic massage"
        ]
    );
    let evaluation = &listed["items"][1];
    assert_eq!(evaluation["duration_minutes"], 60);
    assert_eq!(evaluation["new_patients_online"], true);
    assert!(!evaluation["provider_ids"]
        .as_array()
        .expect("ids")
        .is_empty());

    let admin = app.staff_token("admin").await;
    let desk = app.staff_token("front_desk").await;
    let body = json!({"name": "Dry needling", "duration_minutes": 30, "provider_ids": [1]});
    let refused = app
        .send(
            Method::POST,
            "/api/v1/visit-types",
            Some(&desk),
            Some(&body),
        )
        .await;
    assert_problem(refused, StatusCode::FORBIDDEN).await;
    let created = app
        .send_ok(
            Method::POST,
            "/api/v1/visit-types",
            &admin,
            Some(&body),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created["buffer_minutes"], 0);
    // A name in use, a length off the five-minute steps and an unknown provider: 422 each.
    for (bad, field) in [
        (
            json!({"name": "Dry needling", "duration_minutes": 30}),
            "name",
        ),
        (
            json!({"name": "Odd", "duration_minutes": 42}),
            "duration_minutes",
        ),
        (
            json!({"name": "Nobody's", "duration_minutes": 30, "provider_ids": [999]}),
            "provider_ids",
        ),
    ] {
        let response = app
            .send(
                Method::POST,
                "/api/v1/visit-types",
                Some(&admin),
                Some(&bad),
            )
            .await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(problem["errors"][field].is_string(), "{bad}: {problem}");
    }
    let id = created["id"].as_i64().expect("id");
    let withdrawn = app
        .send_ok(
            Method::PATCH,
            &format!("/api/v1/visit-types/{id}"),
            &admin,
            Some(&json!({"active": false})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(withdrawn["active"], false);
    assert_eq!(withdrawn["provider_ids"], json!([1]));
    let listed = app.get_json("/api/v1/visit-types").await;
    assert!(listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|v| v["id"] != id));
    // A withdrawn type offers no times.
    assert_problem(
        app.get(&format!("/api/v1/slots?visit_type_id={id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let audit = app.audit(&admin, "limit=500").await;
    let actions: Vec<&str> = audit
        .iter()
        .filter(|e| e["entity_type"] == "visit_type")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"visit_type.create") && actions.contains(&"visit_type.update"));
}

async fn availability_offers_only_starts_where_the_whole_visit_fits(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let clinic = Clinic::open(&app, &admin, "09:00", "11:00").await;
    let hour = clinic.visit_type(&app, &admin, "Evaluation", 60, 0).await;
    let half = clinic.visit_type(&app, &admin, "Follow-up", 30, 0).await;
    let buffered = clinic.visit_type(&app, &admin, "Therapy", 45, 15).await;
    assert_eq!(
        clinic.offered(&app, hour).await,
        ["09:00", "09:15", "09:30", "09:45", "10:00"]
    );

    // A quarter hour taken at 09:45 splits the morning into 09:00-09:45 and 10:00-11:00.
    let taken = clinic.slot_at("09:45");
    assert_eq!(app.book(taken).await.status(), StatusCode::CREATED);
    assert_eq!(clinic.offered(&app, hour).await, ["10:00"]);
    assert_eq!(
        clinic.offered(&app, half).await,
        ["09:00", "09:15", "10:00", "10:15", "10:30"]
    );
    // 45 minutes and a 15-minute buffer hold an hour.
    assert_eq!(clinic.offered(&app, buffered).await, ["10:00"]);
    // The call to action offers the same starts, though they are a month ahead: its short list
    // walks the free slots by start until its first starts are decided.
    let offer = app
        .get_json(&format!(
            "/api/v1/schedule-appointment?provider_id={}&visit_type_id={half}&limit=3",
            clinic.provider
        ))
        .await;
    let starts: Vec<&str> = offer["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| &i["local_start"].as_str().expect("local_start")[11..16])
        .collect();
    assert_eq!(starts, ["09:00", "09:15", "10:00"]);

    // Each offer ends where the visit would (without its buffer).
    let offer = app
        .get_json(&format!(
            "/api/v1/slots?provider_id={}&visit_type_id={buffered}&from={}",
            clinic.provider,
            day()
        ))
        .await;
    let first = &offer["items"][0];
    assert_eq!(first["id"], clinic.slot_at("10:00"));
    assert_eq!(first["local_end"].as_str().unwrap()[11..16], *"10:45");

    // Booking a start where the visit does not fit is refused, and holds nothing.
    let response = app
        .post_json(
            "/api/v1/bookings",
            &booking_body(clinic.slot_at("09:15"), Some(hour), "a@example.com"),
        )
        .await;
    let problem = assert_problem(response, StatusCode::CONFLICT).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("does not fit"),
        "{problem}"
    );
    assert_eq!(app.slot_status(clinic.slot_at("09:15")).await, "free");
    // A type the provider does not offer is named in a 422; an unknown one is a 404.
    let demo_massage = 4;
    let response = app
        .post_json(
            "/api/v1/bookings",
            &booking_body(clinic.slot_at("10:00"), Some(demo_massage), "a@example.com"),
        )
        .await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(problem["errors"]["visit_type_id"].is_string());
    let response = app
        .post_json(
            "/api/v1/bookings",
            &booking_body(clinic.slot_at("10:00"), Some(9999), "a@example.com"),
        )
        .await;
    assert_problem(response, StatusCode::NOT_FOUND).await;
}

async fn a_visit_holds_every_slot_it_covers_until_cancelled_or_moved(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let clinic = Clinic::open(&app, &admin, "09:00", "11:00").await;
    let therapy = clinic.visit_type(&app, &admin, "Therapy", 45, 15).await;
    let response = app
        .post_json(
            "/api/v1/bookings",
            &booking_body(clinic.slot_at("09:00"), Some(therapy), "b@example.com"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let booking: Value = response.json().await.expect("json");
    assert_eq!(booking["visit_type"]["name"], "Therapy");
    assert_eq!(booking["visit_type"]["duration_minutes"], 45);
    assert_eq!(
        booking["slot"]["local_start"].as_str().unwrap()[11..16],
        *"09:00"
    );
    assert_eq!(
        booking["slot"]["local_end"].as_str().unwrap()[11..16],
        *"09:45"
    );
    // The visit and its buffer: four quarter hours, none offered to anyone else.
    for time in ["09:00", "09:15", "09:30", "09:45"] {
        assert_eq!(
            app.slot_status(clinic.slot_at(time)).await,
            "busy",
            "{time}"
        );
    }
    assert_eq!(app.slot_status(clinic.slot_at("10:00")).await, "free");
    assert_eq!(clinic.offered(&app, therapy).await, ["10:00"]);

    // Moved by a quarter hour: it takes back three of its own slots and one more.
    let (reference, token) = (
        booking["reference"].as_str().unwrap(),
        booking["manage_token"].as_str().unwrap(),
    );
    let moved = app
        .reschedule(reference, token, clinic.slot_at("09:15"))
        .await;
    assert_eq!(moved.status(), StatusCode::OK);
    let moved: Value = moved.json().await.expect("json");
    assert_eq!(
        moved["slot"]["local_end"].as_str().unwrap()[11..16],
        *"10:00"
    );
    assert_eq!(app.slot_status(clinic.slot_at("09:00")).await, "free");
    for time in ["09:15", "09:30", "09:45", "10:00"] {
        assert_eq!(
            app.slot_status(clinic.slot_at(time)).await,
            "busy",
            "{time}"
        );
    }
    // Somewhere it does not fit (10:30 leaves only half an hour): refused, nothing changes.
    let refused = app
        .reschedule(reference, token, clinic.slot_at("10:30"))
        .await;
    assert_problem(refused, StatusCode::CONFLICT).await;
    assert_eq!(app.slot_status(clinic.slot_at("09:15")).await, "busy");
    assert_eq!(app.slot_status(clinic.slot_at("10:30")).await, "free");

    // The front desk sees the visit type on the day sheet.
    let sheet = app
        .send_ok(
            Method::GET,
            &format!(
                "/api/v1/bookings?date={}&provider_id={}",
                day(),
                clinic.provider
            ),
            &admin,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(sheet["items"][0]["visit_type"]["name"], "Therapy");

    // Cancelled: every slot it held is free again.
    assert_eq!(app.cancel(reference, token).await.status(), StatusCode::OK);
    for time in ["09:15", "09:30", "09:45", "10:00"] {
        assert_eq!(
            app.slot_status(clinic.slot_at(time)).await,
            "free",
            "{time}"
        );
    }
    assert_eq!(
        clinic.offered(&app, therapy).await,
        ["09:00", "09:15", "09:30", "09:45", "10:00"]
    );
}

/// Fifty patients at once over one hour: some want the whole hour, some its first half, some its
/// second half. Whoever wins, no two winners' visits overlap and no slot is held twice.
async fn overlapping_visits_of_different_lengths_never_both_win(backend: Backend) {
    const RACERS: usize = 50;
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let clinic = Clinic::open(&app, &admin, "09:00", "10:00").await;
    let hour = clinic.visit_type(&app, &admin, "Evaluation", 60, 0).await;
    let half = clinic.visit_type(&app, &admin, "Follow-up", 30, 0).await;
    let wants = [
        (clinic.slot_at("09:00"), hour),
        (clinic.slot_at("09:00"), half),
        (clinic.slot_at("09:30"), half),
    ];
    let requests = (0..RACERS).map(|i| {
        let (slot, visit_type) = wants[i % wants.len()];
        let body = booking_body(slot, Some(visit_type), &format!("racer{i}@example.com"));
        let request = app.client.post(app.url("/api/v1/bookings")).json(&body);
        async move {
            let response = request.send().await.expect("response");
            let status = response.status();
            (status, response.json::<Value>().await.expect("json"))
        }
    });
    let answers = join_all(requests).await;
    let mut winners = Vec::new();
    for (status, body) in &answers {
        match *status {
            StatusCode::CREATED => winners.push((
                DateTime::parse_from_rfc3339(body["slot"]["start"].as_str().unwrap()).unwrap(),
                DateTime::parse_from_rfc3339(body["slot"]["end"].as_str().unwrap()).unwrap(),
            )),
            StatusCode::CONFLICT => {}
            other => panic!("every loser gets a 409, not {other}: {body}"),
        }
    }
    assert!(!winners.is_empty(), "someone wins the hour");
    for (i, a) in winners.iter().enumerate() {
        for b in &winners[i + 1..] {
            assert!(a.1 <= b.0 || b.1 <= a.0, "overlapping winners: {winners:?}");
        }
    }
    // Either the whole hour went to one patient, or its two halves to two.
    let minutes: i64 = winners.iter().map(|(s, e)| (*e - *s).num_minutes()).sum();
    assert_eq!(
        minutes, 60,
        "the hour is fully used by the winners: {winners:?}"
    );
    // And the database agrees: each slot of the hour is held once, by an active booking.
    let held = app
        .with_db(|conn| {
            use clinic_booking::db::schema::booking_slots;
            use diesel::prelude::*;
            booking_slots::table
                .select(booking_slots::slot_id)
                .load::<i32>(conn)
                .expect("held slots")
        })
        .await;
    let ours: HashSet<i64> = clinic.slots.iter().map(|(_, id)| *id).collect();
    let held: Vec<i64> = held
        .into_iter()
        .map(i64::from)
        .filter(|id| ours.contains(id))
        .collect();
    assert_eq!(held.len(), 4, "{held:?}");
    assert_eq!(held.iter().collect::<HashSet<_>>().len(), 4);
}

async fn returning_patient_types_need_an_earlier_visit_online(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let clinic = Clinic::open(&app, &admin, "09:00", "11:00").await;
    let follow_up = clinic.visit_type(&app, &admin, "Follow-up", 30, 0).await;
    app.send_ok(
        Method::PATCH,
        &format!("/api/v1/visit-types/{follow_up}"),
        &admin,
        Some(&json!({"new_patients_online": false})),
        StatusCode::OK,
    )
    .await;
    let email = "returning@example.com";
    let online = booking_body(clinic.slot_at("09:00"), Some(follow_up), email);
    let problem = assert_problem(
        app.post_json("/api/v1/bookings", &online).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("returning patients"));
    // The front desk books it for anyone.
    let desk = app.staff_token("front_desk").await;
    let by_staff = app
        .send_ok(
            Method::POST,
            "/api/v1/bookings",
            &desk,
            Some(&online),
            StatusCode::CREATED,
        )
        .await;
    // Once that visit is completed, the patient books the next one online.
    let reference = by_staff["reference"].as_str().unwrap().to_owned();
    app.with_db(move |conn| {
        use clinic_booking::db::schema::bookings;
        use diesel::prelude::*;
        diesel::update(bookings::table.filter(bookings::reference.eq(reference)))
            .set(bookings::status.eq("completed"))
            .execute(conn)
            .expect("complete the visit");
    })
    .await;
    let next = booking_body(clinic.slot_at("10:00"), Some(follow_up), email);
    assert_eq!(
        app.post_json("/api/v1/bookings", &next).await.status(),
        StatusCode::CREATED
    );
}

/// A visit type with a horizon of its own: its times a month ahead are neither offered nor
/// booked (409 naming the rule) while the clinic's 90 days would allow them; the policy answer
/// for the type says so; cleared (`null`), the clinic's rule holds again.
async fn a_visit_type_may_set_its_own_booking_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let clinic = Clinic::open(&app, &admin, "09:00", "10:00").await;
    let visit = clinic
        .visit_type(&app, &admin, "Short-notice check", 30, 0)
        .await;
    let set = |rules: Value| {
        let (app, admin) = (&app, &admin);
        async move {
            app.send_ok(
                Method::PATCH,
                &format!("/api/v1/visit-types/{visit}"),
                admin,
                Some(&rules),
                StatusCode::OK,
            )
            .await
        }
    };
    let own = set(json!({"horizon_days": 14, "cancel_cutoff_hours": 48})).await;
    assert_eq!(own["horizon_days"], 14);
    assert_eq!(own["min_notice_minutes"], Value::Null);
    let policy = app
        .get_json(&format!("/api/v1/booking-policy?visit_type_id={visit}"))
        .await;
    assert_eq!(policy["horizon_days"], 14);
    assert_eq!(policy["cancel_cutoff_hours"], 48);
    assert_eq!(
        policy["min_notice_minutes"], 120,
        "the clinic's, not overridden"
    );
    assert_eq!(
        app.get_json("/api/v1/booking-policy").await["horizon_days"],
        90
    );

    assert!(
        clinic.offered(&app, visit).await.is_empty(),
        "a month is past 14 days"
    );
    let body = booking_body(clinic.slot_at("09:00"), Some(visit), "rules@example.com");
    let problem = assert_problem(
        app.post_json("/api/v1/bookings", &body).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem["rule"], "horizon", "{problem}");
    // The same slot without the visit type follows the clinic's 90 days.
    assert!(!app
        .get_json(&format!(
            "/api/v1/slots?provider_id={}&from={}&to={}",
            clinic.provider,
            day(),
            day() + Duration::days(1)
        ))
        .await["items"]
        .as_array()
        .expect("items")
        .is_empty());

    let cleared = set(json!({"horizon_days": null})).await;
    assert_eq!(cleared["horizon_days"], Value::Null);
    assert_eq!(cleared["cancel_cutoff_hours"], 48, "left as it was");
    assert_eq!(
        clinic.offered(&app, visit).await,
        ["09:00", "09:15", "09:30"]
    );
    assert_eq!(
        app.post_json("/api/v1/bookings", &body).await.status(),
        StatusCode::CREATED
    );
    // Out-of-range rules are named.
    let response = app
        .send(
            Method::PATCH,
            &format!("/api/v1/visit-types/{visit}"),
            Some(&admin),
            Some(&json!({"horizon_days": 0, "min_notice_minutes": -1})),
        )
        .await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        problem["errors"]["horizon_days"].is_string()
            && problem["errors"]["min_notice_minutes"].is_string()
    );
}

/// The demo's follow-up is offered by its first two providers. Once the first is made inactive,
/// the call to action and the lists offer only the second's times, though the first's free
/// slots come first in the walk.
async fn an_inactive_providers_time_is_never_offered(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let follow_up = 2;
    let providers_offered = |offer: &Value| -> HashSet<i64> {
        offer["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["provider"]["id"].as_i64().expect("provider"))
            .collect()
    };
    let path = format!("/api/v1/schedule-appointment?visit_type_id={follow_up}&limit=20");
    assert!(providers_offered(&app.get_json(&path).await).contains(&1));
    app.send_ok(
        Method::PATCH,
        "/api/v1/providers/1",
        &admin,
        Some(&json!({"active": false})),
        StatusCode::OK,
    )
    .await;
    let offer = app.get_json(&path).await;
    assert_eq!(providers_offered(&offer), HashSet::from([2]), "{offer}");
    assert_eq!(offer["items"].as_array().map(Vec::len), Some(20));
    let list = app
        .get_json(&format!("/api/v1/slots?visit_type_id={follow_up}&limit=50"))
        .await;
    assert_eq!(providers_offered(&list), HashSet::from([2]), "{list}");
}
