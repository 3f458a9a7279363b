//! The booking rules of issue 15 at every entry point that makes, cancels or moves a booking:
//! a table tries each entry point, as each caller it takes, against each rule. The table is
//! checked against the served OpenAPI document: an operation that writes bookings (any POST or
//! PATCH answering a booking, or under `/bookings`, `/schedule-appointment` or `/series`) without a row
//! here, or a caller the operation accepts without one, fails the test. The booking page and
//! the widget book, cancel and move through these same operations.
//!
//! Also: a staff member's override succeeds, and its reason and the rules it set aside are in
//! the audit log (and nowhere in the server's log); a patient's override is refused; the rules
//! are served at `GET /api/v1/booking-policy`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    another_patient, assert_problem, spawn_app, spawn_app_with, staff_override, Backend,
    ServerProcess, TestApp, TestDatabase, STAFF_PASSWORD,
};
use crate::waitlist::{link_token, wait_for_mails, OFFER};

crate::tests! {
    both_backends: [
        every_entry_point_meets_every_rule,
        the_booking_policy_is_served_as_configured,
        an_override_reason_stays_out_of_the_server_log,
        the_limit_holds_when_bookings_for_one_address_race,
    ],
}

/// The rules, as refusals name them in `rule`.
const RULES: [&str; 4] = ["min_notice", "horizon", "cancel_cutoff", "max_active"];

/// Minutes from now: inside the 2-hour notice; after it but inside the 24-hour cut-off; well
/// before the cut-off; past the 90-day horizon.
const TOO_SOON: i64 = 60;
const SOON: i64 = 5 * 60;
const LATER: i64 = 3 * 24 * 60;
const TOO_FAR: i64 = 91 * 24 * 60;

/// Who calls an entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// Anonymous, or with the booking's manage token.
    Patient,
    /// A front desk staff token.
    Staff,
}

/// What a rule does at an entry point.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// It refuses the request: 409 naming the rule, nothing changed. Staff then try again with
    /// an override, which succeeds (and is audited) if the rule can be set aside.
    Refuses,
    /// The call to action's search stays inside the rule: it books a time the rule allows, or
    /// none, and never answers with the rule.
    Avoids,
    /// The rule does not concern this entry point; why.
    NotApplicable(&'static str),
}

use Expect::{Avoids, NotApplicable, Refuses};

/// One entry point as one caller, and what each rule (in `RULES`' order) does there.
struct Row {
    operation: &'static str,
    caller: Caller,
    rules: [Expect; 4],
}

const NO_NEW_TIME: Expect = NotApplicable("it picks no new time");
const NOTHING_TO_CANCEL: Expect = NotApplicable("a new booking has nothing to cancel or move");
const ADDS_NO_VISIT: Expect = NotApplicable("it adds no visit to the address's count");

const TABLE: [Row; 12] = [
    Row {
        operation: "createBooking",
        caller: Caller::Patient,
        rules: [Refuses, Refuses, NOTHING_TO_CANCEL, Refuses],
    },
    Row {
        operation: "createBooking",
        caller: Caller::Staff,
        rules: [Refuses, Refuses, NOTHING_TO_CANCEL, Refuses],
    },
    Row {
        operation: "bookEarliest",
        caller: Caller::Patient,
        rules: [Avoids, Avoids, NOTHING_TO_CANCEL, Refuses],
    },
    Row {
        operation: "cancelBooking",
        caller: Caller::Patient,
        rules: [NO_NEW_TIME, NO_NEW_TIME, Refuses, ADDS_NO_VISIT],
    },
    Row {
        operation: "cancelBooking",
        caller: Caller::Staff,
        rules: [NO_NEW_TIME, NO_NEW_TIME, Refuses, ADDS_NO_VISIT],
    },
    Row {
        operation: "rescheduleBooking",
        caller: Caller::Patient,
        rules: [Refuses, Refuses, Refuses, ADDS_NO_VISIT],
    },
    Row {
        operation: "rescheduleBooking",
        caller: Caller::Staff,
        rules: [Refuses, Refuses, Refuses, ADDS_NO_VISIT],
    },
    Row {
        operation: "updateBookingStatus",
        caller: Caller::Staff,
        rules: [NO_NEW_TIME, NO_NEW_TIME, Refuses, ADDS_NO_VISIT],
    },
    Row {
        operation: "createSeries",
        caller: Caller::Patient,
        rules: [Refuses, Refuses, NOTHING_TO_CANCEL, Refuses],
    },
    Row {
        operation: "createSeries",
        caller: Caller::Staff,
        rules: [Refuses, Refuses, NOTHING_TO_CANCEL, Refuses],
    },
    Row {
        operation: "cancelSeries",
        caller: Caller::Staff,
        rules: [NO_NEW_TIME, NO_NEW_TIME, Refuses, ADDS_NO_VISIT],
    },
    // Offers are made only where the notice and the horizon allow; taking one is a booking, and
    // checks every rule again (an offer made two hours and a minute ahead, taken ten minutes
    // later, is inside the notice).
    Row {
        operation: "acceptWaitlistOffer",
        caller: Caller::Patient,
        rules: [Refuses, Refuses, NOTHING_TO_CANCEL, Refuses],
    },
];

/// The operations of the served document that make, cancel or move bookings, with the callers
/// each accepts (from its `security`) and whether its body offers `override`.
struct WritingOperation {
    id: String,
    callers: BTreeSet<&'static str>,
    takes_override: bool,
}

fn booking_writing_operations(document: &Value) -> Vec<WritingOperation> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if !matches!(method.as_str(), "post" | "patch" | "put" | "delete") {
                continue;
            }
            let answers_a_booking = operation["responses"]
                .as_object()
                .expect("responses")
                .iter()
                .filter(|(status, _)| status.starts_with('2'))
                .any(|(_, response)| response.to_string().contains("schemas/BookingView"));
            let booking_path = path.starts_with("/api/v1/bookings")
                || path.starts_with("/api/v1/schedule-appointment")
                || path.starts_with("/api/v1/series");
            // A staff note about a visit (`/bookings/{reference}/notes`) writes a note, not the
            // booking: no rule applies to it.
            let writes_a_note = path.ends_with("/notes");
            if !(answers_a_booking || booking_path) || writes_a_note {
                continue;
            }
            let mut callers = BTreeSet::new();
            for requirement in operation["security"].as_array().expect("security") {
                let requirement = requirement.as_object().expect("requirement");
                if requirement.is_empty()
                    || requirement.contains_key("manage_token")
                    || requirement.contains_key("waitlist_token")
                {
                    callers.insert("patient");
                }
                if requirement.contains_key("staff_jwt") {
                    callers.insert("staff");
                }
            }
            // The body's schema, or (an optional body) each of the schemas it may be.
            let body = &operation["requestBody"]["content"]["application/json"]["schema"];
            let mut schemas = vec![body];
            for choice in ["oneOf", "anyOf"] {
                schemas.extend(body[choice].as_array().into_iter().flatten());
            }
            let takes_override = schemas.iter().any(|schema| {
                let schema = match schema["$ref"].as_str() {
                    Some(reference) => {
                        &document["components"]["schemas"][reference.rsplit('/').next().unwrap()]
                    }
                    None => schema,
                };
                schema["properties"].get("override").is_some()
            });
            found.push(WritingOperation {
                id: operation["operationId"].as_str().expect("id").to_owned(),
                callers,
                takes_override,
            });
        }
    }
    found
}

fn caller_name(caller: Caller) -> &'static str {
    match caller {
        Caller::Patient => "patient",
        Caller::Staff => "staff",
    }
}

/// A request as one caller sends it.
struct Attempt {
    method: Method,
    path: String,
    body: Option<Value>,
    token: Option<String>,
    /// The booking the request is about (for its audit entries), if it exists beforehand.
    reference: Option<String>,
    /// Slots whose status the request must leave alone when refused.
    slots: Vec<i64>,
}

/// What the test needs of the app: a staff member, an admin for the audit log, and fresh
/// slots and patients.
struct Clinic<'a> {
    app: &'a TestApp,
    desk: String,
    admin: String,
    next: AtomicI64,
    /// A 30-minute visit type of provider 1 that patients may book courses of.
    course_type: i64,
}

impl Clinic<'_> {
    fn fresh(&self) -> i64 {
        self.next.fetch_add(1, Ordering::SeqCst)
    }

    /// A patient no other case books for.
    fn patient(&self) -> Value {
        let n = self.fresh();
        json!({"name": format!("Rule Patient {n}"), "email": format!("rules-{n}@example.com")})
    }

    /// A free slot of `provider` starting `minutes` from now (and a few seconds, so that no two
    /// share a start; and half a second, so that none shares one with the demo clinic's slots,
    /// which start on whole minutes).
    async fn slot(&self, provider: i64, minutes: i64) -> i64 {
        let seconds = self.fresh();
        self.app
            .with_db(move |conn| {
                use clinic_booking::db::schema::slots;
                use diesel::prelude::*;
                let start = clinic_booking::db::now()
                    + Duration::minutes(minutes)
                    + Duration::seconds(seconds)
                    + Duration::milliseconds(500);
                diesel::insert_into(slots::table)
                    .values((
                        slots::provider_id.eq(provider as i32),
                        slots::starts_at.eq(start),
                        slots::ends_at.eq(start + Duration::minutes(30)),
                        slots::status.eq("free"),
                        slots::created_at.eq(clinic_booking::db::now()),
                    ))
                    .returning(slots::id)
                    .get_result::<i32>(conn)
                    .map(i64::from)
                    .expect("insert a slot")
            })
            .await
    }

    /// Two slots of provider 1, `minutes` ahead and a week after that: a course's two visits.
    async fn weekly_pair(&self, minutes: i64) -> (i64, i64) {
        let first = self.slot(1, minutes).await;
        let start: chrono::NaiveDateTime = self
            .app
            .with_db(move |conn| {
                use clinic_booking::db::schema::slots;
                use diesel::prelude::*;
                slots::table
                    .find(first as i32)
                    .select(slots::starts_at)
                    .first(conn)
                    .expect("the first slot")
            })
            .await;
        let second = self
            .app
            .with_db(move |conn| {
                use clinic_booking::db::schema::slots;
                use diesel::prelude::*;
                let start = start + Duration::weeks(1);
                diesel::insert_into(slots::table)
                    .values((
                        slots::provider_id.eq(1),
                        slots::starts_at.eq(start),
                        slots::ends_at.eq(start + Duration::minutes(30)),
                        slots::status.eq("free"),
                        slots::created_at.eq(clinic_booking::db::now()),
                    ))
                    .returning(slots::id)
                    .get_result::<i32>(conn)
                    .map(i64::from)
                    .expect("insert the second slot")
            })
            .await;
        (first, second)
    }

    /// A course of two weekly visits from `first`, for `patient`.
    fn course(&self, first: i64, patient: Value) -> Value {
        json!({"slot_id": first, "visit_type_id": self.course_type, "visits": 2, "patient": patient})
    }

    /// A booking, made online by `patient`, of a new slot `minutes` ahead: (reference, manage
    /// token, slot).
    async fn booking(&self, minutes: i64, patient: &Value) -> (String, String, i64) {
        let slot = self.slot(1, minutes).await;
        let booked = self.app.book_for(slot, patient).await;
        (
            booked["reference"].as_str().unwrap().to_owned(),
            booked["manage_token"].as_str().unwrap().to_owned(),
            slot,
        )
    }

    /// A provider of its own, so that the call to action's search sees only the slots a case
    /// gives it.
    async fn provider(&self) -> i64 {
        let n = self.fresh();
        self.app
            .send_ok(
                Method::POST,
                "/api/v1/providers",
                &self.admin,
                Some(&json!({"name": format!("Dr. Rule {n}"), "specialty": "pain_medicine"})),
                StatusCode::CREATED,
            )
            .await["id"]
            .as_i64()
            .unwrap()
    }

    fn token(&self, caller: Caller, manage_token: Option<String>) -> Option<String> {
        match caller {
            Caller::Patient => manage_token,
            Caller::Staff => Some(self.desk.clone()),
        }
    }

    /// The request of `operation`, as `caller`, that breaks `rule` and nothing else.
    async fn breaking(&self, operation: &str, caller: Caller, rule: &str) -> Attempt {
        let plain = |method, path: String, body, token, reference, slots| Attempt {
            method,
            path,
            body: Some(body),
            token,
            reference,
            slots,
        };
        match (operation, rule) {
            ("createBooking", "min_notice" | "horizon") => {
                let minutes = if rule == "min_notice" {
                    TOO_SOON
                } else {
                    TOO_FAR
                };
                let slot = self.slot(1, minutes).await;
                plain(
                    Method::POST,
                    "/api/v1/bookings".into(),
                    json!({"slot_id": slot, "patient": self.patient()}),
                    self.token(caller, None),
                    None,
                    vec![slot],
                )
            }
            ("createBooking" | "bookEarliest", "max_active") => {
                let patient = self.patient();
                for n in 0..3 {
                    self.booking(LATER + 60 * n, &patient).await;
                }
                // The same address in another case: the count ignores it.
                let mut shouting = patient.clone();
                shouting["email"] = json!(patient["email"].as_str().unwrap().to_uppercase());
                let slot = self.slot(1, LATER + 600).await;
                let (path, body) = if operation == "createBooking" {
                    (
                        "/api/v1/bookings",
                        json!({"slot_id": slot, "patient": shouting}),
                    )
                } else {
                    ("/api/v1/schedule-appointment", json!({"patient": shouting}))
                };
                plain(
                    Method::POST,
                    path.into(),
                    body,
                    self.token(caller, None),
                    None,
                    vec![slot],
                )
            }
            ("cancelBooking", "cancel_cutoff") => {
                let (reference, manage, slot) = self.booking(SOON, &self.patient()).await;
                Attempt {
                    method: Method::POST,
                    path: format!("/api/v1/bookings/{reference}/cancel"),
                    body: None,
                    token: self.token(caller, Some(manage)),
                    reference: Some(reference),
                    slots: vec![slot],
                }
            }
            ("updateBookingStatus", "cancel_cutoff") => {
                let (reference, manage, slot) = self.booking(SOON, &self.patient()).await;
                plain(
                    Method::PATCH,
                    format!("/api/v1/bookings/{reference}"),
                    json!({"status": "cancelled"}),
                    self.token(caller, Some(manage)),
                    Some(reference),
                    vec![slot],
                )
            }
            ("rescheduleBooking", _) => {
                let (booked_at, target_at) = match rule {
                    "cancel_cutoff" => (SOON, LATER),
                    "min_notice" => (LATER, TOO_SOON),
                    "horizon" => (LATER, TOO_FAR),
                    other => panic!("no reschedule breaks {other}"),
                };
                let (reference, manage, slot) = self.booking(booked_at, &self.patient()).await;
                let target = self.slot(1, target_at).await;
                plain(
                    Method::POST,
                    format!("/api/v1/bookings/{reference}/reschedule"),
                    json!({ "slot_id": target }),
                    self.token(caller, Some(manage)),
                    Some(reference),
                    vec![slot, target],
                )
            }
            ("createSeries", "min_notice" | "horizon" | "max_active") => {
                let patient = self.patient();
                let minutes = match rule {
                    "min_notice" => TOO_SOON,
                    "horizon" => TOO_FAR,
                    _ => {
                        for n in 0..3 {
                            self.booking(LATER + 60 * n, &patient).await;
                        }
                        LATER + 600
                    }
                };
                let (first, second) = self.weekly_pair(minutes).await;
                plain(
                    Method::POST,
                    "/api/v1/series".into(),
                    self.course(first, patient),
                    self.token(caller, None),
                    None,
                    vec![first, second],
                )
            }
            ("cancelSeries", "cancel_cutoff") => {
                let (first, second) = self.weekly_pair(SOON).await;
                let course = self
                    .app
                    .send_ok(
                        Method::POST,
                        "/api/v1/series",
                        &self.desk,
                        Some(&self.course(first, self.patient())),
                        StatusCode::CREATED,
                    )
                    .await;
                Attempt {
                    method: Method::POST,
                    path: format!(
                        "/api/v1/series/{}/cancel",
                        course["reference"].as_str().unwrap()
                    ),
                    body: None,
                    token: self.token(caller, None),
                    reference: course["visits"][0]["reference"].as_str().map(str::to_owned),
                    slots: vec![first, second],
                }
            }
            ("acceptWaitlistOffer", _) => {
                let (slot, token) = self.waitlist_offer(rule).await;
                Attempt {
                    method: Method::POST,
                    path: "/api/v1/waitlist/offers/current/accept".into(),
                    body: None,
                    token: Some(token),
                    reference: None,
                    slots: vec![slot],
                }
            }
            (operation, rule) => panic!("no request of {operation} breaks {rule}"),
        }
    }

    /// A waitlist offer that breaks `rule` when taken: a patient's entry for a provider and
    /// visit type of their own is offered a slot the front desk adds well ahead; then the slot
    /// moves inside the notice or past the horizon (behind the app's back), or the patient has
    /// three visits booked already. Answers the slot and the offer's token.
    async fn waitlist_offer(&self, rule: &str) -> (i64, String) {
        let provider = self.provider().await;
        let n = self.fresh();
        let visit_type = self
            .app
            .send_ok(
                Method::POST,
                "/api/v1/visit-types",
                &self.admin,
                Some(&json!({
                    "name": format!("Waitlist rule {n}"),
                    "duration_minutes": 30,
                    "provider_ids": [provider],
                })),
                StatusCode::CREATED,
            )
            .await["id"]
            .as_i64()
            .unwrap();
        let patient = self.patient();
        if rule == "max_active" {
            for n in 0..3 {
                self.booking(LATER + 60 * n, &patient).await;
            }
        }
        let today = chrono::Utc::now().date_naive();
        self.app
            .send_ok(
                Method::POST,
                "/api/v1/admin/waitlist",
                &self.desk,
                Some(&json!({
                    "visit_type_id": visit_type,
                    "provider_id": provider,
                    "earliest_date": (today - Duration::days(1)).to_string(),
                    "latest_date": (today + Duration::days(30)).to_string(),
                    "patient": patient,
                })),
                StatusCode::CREATED,
            )
            .await;
        let start = chrono::Utc::now() + Duration::minutes(LATER) + Duration::seconds(n);
        let slot = self
            .app
            .send_ok(
                Method::POST,
                &format!("/api/v1/providers/{provider}/slots"),
                &self.admin,
                Some(&json!({
                    "start": start.to_rfc3339(),
                    "end": (start + Duration::minutes(30)).to_rfc3339(),
                })),
                StatusCode::CREATED,
            )
            .await["id"]
            .as_i64()
            .unwrap();
        let email = patient["email"].as_str().unwrap().to_owned();
        let offer = wait_for_mails(|| self.app.written_mail(), &email, OFFER, 1).await;
        let token = link_token(&offer[0].1, "offer");
        let moved_to = match rule {
            "min_notice" => Some(TOO_SOON),
            "horizon" => Some(TOO_FAR),
            _ => None,
        };
        if let Some(minutes) = moved_to {
            self.app
                .with_db(move |conn| {
                    use clinic_booking::db::schema::slots;
                    use diesel::prelude::*;
                    let start = clinic_booking::db::now() + Duration::minutes(minutes);
                    diesel::update(slots::table.find(slot as i32))
                        .set((
                            slots::starts_at.eq(start),
                            slots::ends_at.eq(start + Duration::minutes(30)),
                        ))
                        .execute(conn)
                        .expect("move the offered slot");
                })
                .await;
        }
        (slot, token)
    }

    async fn send(&self, attempt: &Attempt, overriding: Option<&str>) -> reqwest::Response {
        let body = match (attempt.body.clone(), overriding) {
            (body, None) => body,
            (Some(mut body), Some(reason)) => {
                body["override"] = staff_override(reason);
                Some(body)
            }
            (None, Some(reason)) => Some(json!({ "override": staff_override(reason) })),
        };
        self.app
            .send(
                attempt.method.clone(),
                &attempt.path,
                attempt.token.as_deref(),
                body.as_ref(),
            )
            .await
    }

    /// The statuses of the attempt's slots and the state of its booking, as stored.
    async fn snapshot(&self, attempt: &Attempt) -> Value {
        let mut slots = Vec::new();
        for slot in &attempt.slots {
            slots.push(json!([
                self.app.slot_status(*slot).await,
                self.app.bookings_for_slot(*slot).await
            ]));
        }
        let booking = match &attempt.reference {
            Some(reference) => {
                let booking = self.app.booking_as_staff(&self.desk, reference).await;
                json!([booking["status"], booking["slot"]["id"]])
            }
            None => Value::Null,
        };
        json!({"slots": slots, "booking": booking})
    }
}

/// Every row of the table, against every rule; and the table against the document.
async fn every_entry_point_meets_every_rule(backend: Backend) {
    let app = spawn_app(backend).await;
    let clinic = Clinic {
        app: &app,
        desk: app.staff_token("front_desk").await,
        admin: app.staff_token("admin").await,
        next: AtomicI64::new(1),
        course_type: 0,
    };
    let clinic = Clinic {
        course_type: app
            .send_ok(
                Method::POST,
                "/api/v1/visit-types",
                &clinic.admin,
                Some(&json!({
                    "name": "Weekly therapy",
                    "duration_minutes": 30,
                    "series_online": true,
                    "provider_ids": [1],
                })),
                StatusCode::CREATED,
            )
            .await["id"]
            .as_i64()
            .expect("visit type"),
        ..clinic
    };

    // The table covers exactly the document's booking-writing operations, each as every caller
    // it accepts.
    let document = app.get_json("/openapi.json").await;
    let operations = booking_writing_operations(&document);
    let documented: BTreeSet<(String, &str)> = operations
        .iter()
        .flat_map(|op| op.callers.iter().map(|caller| (op.id.clone(), *caller)))
        .collect();
    let tabled: BTreeSet<(String, &str)> = TABLE
        .iter()
        .map(|row| (row.operation.to_owned(), caller_name(row.caller)))
        .collect();
    let untried: Vec<_> = documented.difference(&tabled).collect();
    assert!(
        untried.is_empty(),
        "these operations write bookings but the rules table does not try them (add rows, and \
         have them call the booking operations that check the rules): {untried:?}"
    );
    let stale: Vec<_> = tabled.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "rows for no documented operation: {stale:?}"
    );
    for rule in RULES {
        let i = RULES.iter().position(|r| *r == rule).unwrap();
        assert!(
            TABLE.iter().any(|row| matches!(row.rules[i], Refuses)),
            "no entry point is tried against {rule}"
        );
    }

    for row in &TABLE {
        let operation = operations
            .iter()
            .find(|op| op.id == row.operation)
            .expect("documented");
        for (rule, expect) in RULES.iter().zip(row.rules) {
            let case = format!("{} as {:?}, {rule}", row.operation, row.caller);
            match expect {
                Refuses => refuses(&clinic, row, operation, rule, &case).await,
                Avoids => avoids(&clinic, rule, &case).await,
                NotApplicable(why) => assert!(!why.is_empty(), "{case}: say why"),
            }
        }
    }
}

/// The request that breaks `rule` is refused with a 409 naming it and changes nothing; a
/// patient's override is refused; a staff member's override succeeds where the rule allows one
/// and is audited, and changes nothing where it does not.
async fn refuses(
    clinic: &Clinic<'_>,
    row: &Row,
    operation: &WritingOperation,
    rule: &str,
    case: &str,
) {
    let attempt = clinic.breaking(row.operation, row.caller, rule).await;
    let before = clinic.snapshot(&attempt).await;
    let refused = clinic.send(&attempt, None).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT, "{case}");
    let problem = assert_problem(refused, StatusCode::CONFLICT).await;
    assert_eq!(problem["rule"], rule, "{case}: {problem}");
    assert_eq!(problem["clinic_phone"], "+1 (602) 555-0134", "{case}");
    assert!(
        problem["policy_text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{case}: {problem}"
    );
    if rule == "cancel_cutoff" {
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("+1 (602) 555-0134"), "{case}: {detail}");
    }
    assert_eq!(
        clinic.snapshot(&attempt).await,
        before,
        "{case} changed something"
    );

    let reason = format!("rules test: {case}");
    match row.caller {
        Caller::Patient => {
            // Only staff may set the rules aside: a field the patient's form does not offer
            // is refused as any unknown field is.
            let response = clinic.send(&attempt, Some(&reason)).await;
            if operation.takes_override {
                let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
                assert!(
                    problem["errors"]["override"].is_string(),
                    "{case}: {problem}"
                );
            } else {
                assert_problem(response, StatusCode::BAD_REQUEST).await;
            }
            assert_eq!(
                clinic.snapshot(&attempt).await,
                before,
                "{case}: a patient's override"
            );
        }
        Caller::Staff if rule == "max_active" => {
            let problem = assert_problem(
                clinic.send(&attempt, Some(&reason)).await,
                StatusCode::CONFLICT,
            )
            .await;
            assert_eq!(problem["rule"], rule, "{case}: nobody overrides the limit");
            assert_eq!(clinic.snapshot(&attempt).await, before, "{case}");
        }
        Caller::Staff => {
            let response = clinic.send(&attempt, Some(&reason)).await;
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            assert!(
                status.is_success(),
                "{case} with an override: {status} {body}"
            );
            // A booking's reference; for a course, its first visit's.
            let reference = attempt
                .reference
                .clone()
                .or_else(|| {
                    body["reference"]
                        .as_str()
                        .filter(|r| r.starts_with("BK-"))
                        .map(str::to_owned)
                })
                .or_else(|| body["visits"][0]["reference"].as_str().map(str::to_owned))
                .expect("a reference");
            let entries = clinic
                .app
                .audit(&clinic.admin, &format!("reference={reference}"))
                .await;
            let latest = &entries[0];
            assert_eq!(latest["actor"]["kind"], "staff", "{case}");
            assert_eq!(
                latest["to"]["override"],
                json!({"reason": reason, "rules": [rule]}),
                "{case}: the audit entry of the change"
            );
        }
    }
}

/// The call to action books the earliest time the rule allows, and no time it does not.
async fn avoids(clinic: &Clinic<'_>, rule: &str, case: &str) {
    let provider = clinic.provider().await;
    let body = |patient: Value| json!({"patient": patient, "provider_id": provider});
    match rule {
        "min_notice" => {
            let too_soon = clinic.slot(provider, TOO_SOON).await;
            let allowed = clinic.slot(provider, SOON).await;
            let response = clinic
                .app
                .post_json("/api/v1/schedule-appointment", &body(clinic.patient()))
                .await;
            assert_eq!(response.status(), StatusCode::CREATED, "{case}");
            let booked: Value = response.json().await.unwrap();
            assert_eq!(booked["slot"]["id"], allowed, "{case}");
            assert_eq!(clinic.app.slot_status(too_soon).await, "free", "{case}");
        }
        "horizon" => {
            let too_far = clinic.slot(provider, TOO_FAR).await;
            let response = clinic
                .app
                .post_json("/api/v1/schedule-appointment", &body(clinic.patient()))
                .await;
            let problem = assert_problem(response, StatusCode::CONFLICT).await;
            assert!(problem.get("rule").is_none(), "{case}: {problem}");
            assert_eq!(problem["next_available_dates"].as_array().unwrap().len(), 1);
            assert_eq!(clinic.app.slot_status(too_far).await, "free", "{case}");
        }
        other => panic!("the call to action does not avoid {other}"),
    }
}

async fn the_booking_policy_is_served_as_configured(backend: Backend) {
    let app = spawn_app(backend).await;
    let policy = app.get_json("/api/v1/booking-policy").await;
    assert_eq!(
        (
            &policy["min_notice_minutes"],
            &policy["horizon_days"],
            &policy["cancel_cutoff_hours"],
            &policy["max_active_per_email"],
        ),
        (&json!(120), &json!(90), &json!(24), &json!(3)),
        "the issue's defaults"
    );
    assert_eq!(
        policy["summary"],
        "Visits can be booked from 2 hours to 90 days ahead, and cancelled or moved online until \
         24 hours before they start. One email address can hold up to 3 upcoming visits."
    );
    assert!(policy["text"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(policy["clinic_phone"], "+1 (602) 555-0134");
    let document = app.get_json("/openapi.json").await;
    let operation = &document["paths"]["/api/v1/booking-policy"]["get"];
    assert_eq!(operation["operationId"], "getBookingPolicy");
    assert_eq!(operation["security"], json!([{}]), "public");

    let app = spawn_app_with(backend, |s| {
        s.booking.min_notice_minutes = 30;
        s.booking.horizon_days = 14;
        s.booking.cancel_cutoff_hours = 48;
        s.booking.max_active_per_email = 1;
        s.booking.policy_text = "Late cancellations are charged.".into();
    })
    .await;
    let policy = app.get_json("/api/v1/booking-policy").await;
    assert_eq!(policy["min_notice_minutes"], 30);
    assert_eq!(policy["horizon_days"], 14);
    assert_eq!(policy["cancel_cutoff_hours"], 48);
    assert_eq!(policy["max_active_per_email"], 1);
    assert_eq!(policy["text"], "Late cancellations are charged.");
    assert!(policy["summary"]
        .as_str()
        .unwrap()
        .contains("from 30 minutes to 14 days ahead"));
    // The free times offered follow the same rules.
    let horizon = chrono::Utc::now() + Duration::days(14);
    let earliest = chrono::Utc::now() + Duration::minutes(30);
    let from = chrono::Utc::now().date_naive();
    let list = app
        .get_json(&format!(
            "/api/v1/slots?from={from}&to={}",
            from + Duration::days(20)
        ))
        .await;
    let starts: Vec<chrono::DateTime<chrono::Utc>> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(!starts.is_empty());
    assert!(
        starts.iter().all(|s| *s >= earliest && *s < horizon),
        "patients are offered only times they may book: {starts:?}"
    );
}

/// The reason is what a staff member typed about a patient: the audit log keeps it, the server's
/// log (at debug) never shows it.
async fn an_override_reason_stays_out_of_the_server_log(backend: Backend) {
    let database = TestDatabase::create(backend);
    let sink = crate::smtp::SmtpSink::start();
    let server = ServerProcess::start(&database, sink.port).await;
    let url = database.url.clone();
    tokio::task::spawn_blocking(move || {
        use clinic_booking::domain::actor::Actor;
        use clinic_booking::domain::staff::{NewPassword, Role, StaffEmail};
        let pool = clinic_booking::db::build_pool(&url, 1).expect("pool");
        clinic_booking::clinic::accounts::create_user(
            &mut pool.get().expect("connection"),
            &StaffEmail::parse("rules-admin@clinic.example").expect("email"),
            Role::Admin,
            &NewPassword::parse(STAFF_PASSWORD).expect("password"),
            &Actor::CommandLine,
        )
        .expect("a staff account");
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let address = server.address.clone();
    let login: Value = client
        .post(format!("{address}/api/v1/auth/login"))
        .json(&json!({"email": "rules-admin@clinic.example", "password": STAFF_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap();
    // The first free time: the override is recorded whether or not it set a rule aside.
    let slots: Value = client
        .get(format!("{address}/api/v1/slots?limit=1"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let slot = slots["items"][0]["id"].as_i64().unwrap();
    let reason = "Quentin Marchbanks, sciatica flare-up, squeezed in";
    let booked = client
        .post(format!("{address}/api/v1/bookings"))
        .bearer_auth(token)
        .json(&json!({
            "slot_id": slot,
            "patient": {"name": "Walk In", "email": "walk.in@example.com"},
            "override": {"reason": reason},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(booked.status(), StatusCode::CREATED);
    let booked: Value = booked.json().await.unwrap();
    let reference = booked["reference"].as_str().unwrap();
    let audit: Value = client
        .get(format!("{address}/api/v1/audit?reference={reference}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["items"][0]["to"]["override"]["reason"], reason);
    sink.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = server.log();
    assert!(
        log.contains("request finished"),
        "the log was captured:\n{log}"
    );
    for secret in ["Quentin", "Marchbanks", "sciatica"] {
        assert!(!log.contains(secret), "{secret:?} found in the log:\n{log}");
    }
}

/// Bookings for one address at once cannot all fit under the limit: with two upcoming visits
/// booked, of ten racing for ten different slots exactly one gets the third.
async fn the_limit_holds_when_bookings_for_one_address_race(backend: Backend) {
    let app = spawn_app(backend).await;
    let slots = app.free_slot_ids_from(2).await;
    let patient = another_patient(1);
    for slot in &slots[..2] {
        app.book_for(*slot, &patient).await;
    }
    let racers = futures::future::join_all(slots[2..12].iter().map(|slot| {
        let request = app
            .client
            .post(app.url("/api/v1/bookings"))
            .json(&json!({"slot_id": slot, "patient": patient}));
        async move {
            let response = request.send().await.expect("an answer");
            let status = response.status();
            (status, response.json::<Value>().await.expect("json"))
        }
    }))
    .await;
    let outcomes: Vec<(u16, &Value)> = racers
        .iter()
        .map(|(status, body)| (status.as_u16(), &body["rule"]))
        .collect();
    let created = outcomes.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(created, 1, "one third visit: {outcomes:?}");
    for (status, body) in &racers {
        if *status != StatusCode::CREATED {
            assert_eq!(*status, StatusCode::CONFLICT, "{body}");
            assert_eq!(body["rule"], "max_active", "{body}");
        }
    }
}
