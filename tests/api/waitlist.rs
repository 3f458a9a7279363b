//! The waitlist (issue 16): a cancelled visit is offered to the first matching entry by mail,
//! with its time held; accepting books it, declining or letting it run out passes it to the
//! next entry; two accepts, or an accept and a public booking, never both win; entries whose
//! preferences do not match, or that are not verified, get nothing; time inside the booking
//! rules' notice is not offered; a kill -9 between the cancellation and the mail loses no offer.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate};
use futures::future::join_all;
use mail_parser::MessageParser;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    another_patient, assert_problem, smtp_to, spawn_app, spawn_app_on_with, spawn_app_with,
    Backend, ServerProcess, TestApp, TestDatabase,
};
use crate::smtp::{unused_port, SmtpSink};

crate::both_backends!(
    a_cancellation_is_offered_by_mail_and_one_click_books_it,
    decline_and_expiry_pass_the_time_to_the_next_entry,
    accepts_racing_each_other_and_a_public_booking_make_one_booking,
    entries_that_do_not_match_or_do_not_count_get_nothing,
    a_patient_joins_verifies_reads_and_leaves,
    the_front_desk_lists_and_removes_entries,
    a_hold_running_out_and_new_time_are_offered_too,
    an_entry_can_move_its_booking_earlier,
    one_address_never_holds_two_overlapping_offers,
    time_off_removed_and_a_schedule_added_are_offered,
    a_kill_9_between_the_cancellation_and_the_mail_loses_no_offer,
);

/// A Wednesday a few weeks ahead (Phoenix keeps UTC-7 all year).
fn day() -> NaiveDate {
    let mut day = chrono::Utc::now().date_naive() + Duration::days(20);
    while day.weekday() != chrono::Weekday::Wed {
        day += Duration::days(1);
    }
    day
}

fn local(time: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(&format!("{}T{time}:00-07:00", day())).expect("a time")
}

/// A provider of its own with half-hour slots, and a 30-minute visit type only they offer.
struct Clinic {
    admin: String,
    provider: i64,
    visit_type: i64,
}

impl Clinic {
    async fn open(app: &TestApp) -> Self {
        let admin = app.staff_token("admin").await;
        let provider = app
            .send_ok(
                Method::POST,
                "/api/v1/providers",
                &admin,
                Some(&json!({"name": "Dr. Wren Adler", "specialty": "pain_medicine"})),
                StatusCode::CREATED,
            )
            .await["id"]
            .as_i64()
            .expect("provider id");
        let visit_type = app
            .send_ok(
                Method::POST,
                "/api/v1/visit-types",
                &admin,
                Some(&json!({
                    "name": "Waitlist consult",
                    "duration_minutes": 30,
                    "buffer_minutes": 0,
                    "provider_ids": [provider],
                })),
                StatusCode::CREATED,
            )
            .await["id"]
            .as_i64()
            .expect("visit type id");
        Self {
            admin,
            provider,
            visit_type,
        }
    }

    /// A half-hour slot of the provider starting at local `time` on `day()`.
    async fn slot(&self, app: &TestApp, time: &str) -> i64 {
        self.slot_at(app, local(time)).await
    }

    async fn slot_at(&self, app: &TestApp, start: DateTime<FixedOffset>) -> i64 {
        app.send_ok(
            Method::POST,
            &format!("/api/v1/providers/{}/slots", self.provider),
            &self.admin,
            Some(&json!({
                "start": start.to_rfc3339(),
                "end": (start + Duration::minutes(30)).to_rfc3339(),
            })),
            StatusCode::CREATED,
        )
        .await["id"]
            .as_i64()
            .expect("slot id")
    }

    /// Books `slot` for patient `n`: (reference, manage token).
    async fn book(&self, app: &TestApp, slot: i64, n: usize) -> (String, String) {
        let response = app
            .post_json(
                "/api/v1/bookings",
                &json!({"slot_id": slot, "visit_type_id": self.visit_type, "patient": another_patient(n)}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let booked: Value = response.json().await.expect("json");
        (
            booked["reference"].as_str().unwrap().to_owned(),
            booked["manage_token"].as_str().unwrap().to_owned(),
        )
    }

    /// An entry the front desk adds for `email`, with `extra` fields over the defaults (this
    /// provider, the visit type, today to two months ahead, any day and time).
    async fn entry(&self, app: &TestApp, email: &str, extra: Value) -> Value {
        let mut body = self.entry_body(email);
        for (key, value) in extra.as_object().expect("fields") {
            body[key] = value.clone();
        }
        app.send_ok(
            Method::POST,
            "/api/v1/admin/waitlist",
            &self.admin,
            Some(&body),
            StatusCode::CREATED,
        )
        .await
    }

    fn entry_body(&self, email: &str) -> Value {
        // The clinic's today (Phoenix, UTC-7 all year): the wish's dates are its local days, and
        // between midnight UTC and 07:00 UTC the two differ.
        let today = (chrono::Utc::now() - Duration::hours(7)).date_naive();
        json!({
            "visit_type_id": self.visit_type,
            "provider_id": self.provider,
            "earliest_date": today.to_string(),
            "latest_date": (today + Duration::days(60)).to_string(),
            "patient": {"name": "Wait Listed", "email": email},
        })
    }
}

/// The mails written to `to` so far whose subject starts with `subject`, as (subject, text).
pub(crate) fn mails_to(raw: &[Vec<u8>], to: &str, subject: &str) -> Vec<(String, String)> {
    raw.iter()
        .filter_map(|m| MessageParser::default().parse(m))
        .filter(|m| {
            m.to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .is_some_and(|a| a.eq_ignore_ascii_case(to))
        })
        .map(|m| {
            (
                m.subject().unwrap_or_default().to_owned(),
                m.body_text(0).unwrap_or_default().into_owned(),
            )
        })
        .filter(|(s, _)| s.starts_with(subject))
        .collect()
}

/// Waits (bounded) for `count` mails to `to` with a subject starting `subject` among what
/// `written` reads, and returns them.
pub(crate) async fn wait_for_mails(
    written: impl Fn() -> Vec<Vec<u8>>,
    to: &str,
    subject: &str,
    count: usize,
) -> Vec<(String, String)> {
    for _ in 0..400 {
        let found = mails_to(&written(), to, subject);
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no {count} mail(s) {subject:?} to {to} within 20 s");
}

pub(crate) const OFFER: &str = "A time opened up";

/// The token of `name` (offer, verify, entry) in a mail's link.
pub(crate) fn link_token(text: &str, name: &str) -> String {
    let start = text
        .find(&format!("/waitlist?{name}="))
        .unwrap_or_else(|| panic!("a {name} link in {text}"))
        + "/waitlist?=".len()
        + name.len();
    text[start..]
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .next()
        .expect("a token")
        .to_owned()
}

async fn accept(app: &TestApp, token: &str) -> reqwest::Response {
    app.send(
        Method::POST,
        "/api/v1/waitlist/offers/current/accept",
        Some(token),
        None,
    )
    .await
}

/// Ends every live offer's hold as time would, behind the app's back; the sweeper then passes
/// the time on.
async fn let_offers_run_out(app: &TestApp) {
    app.with_db(|conn| {
        use clinic_booking::db::schema::{holds, slots, waitlist_offers};
        use diesel::prelude::*;
        let past = clinic_booking::db::now() - Duration::seconds(1);
        let held: Vec<i32> = waitlist_offers::table
            .filter(waitlist_offers::status.eq("offered"))
            .select(waitlist_offers::hold_id)
            .load(conn)
            .expect("offers");
        diesel::update(waitlist_offers::table.filter(waitlist_offers::status.eq("offered")))
            .set(waitlist_offers::expires_at.eq(past))
            .execute(conn)
            .expect("expire offers");
        diesel::update(holds::table.filter(holds::id.eq_any(&held)))
            .set(holds::expires_at.eq(past))
            .execute(conn)
            .expect("expire holds");
        diesel::update(slots::table.filter(slots::hold_id.eq_any(&held)))
            .set(slots::held_until.eq(past))
            .execute(conn)
            .expect("expire held slots");
    })
    .await;
}

/// Bookings of `slot` that are booked.
async fn booked_on(app: &TestApp, slot: i64) -> i64 {
    app.with_db(move |conn| {
        use clinic_booking::db::schema::bookings;
        use diesel::prelude::*;
        bookings::table
            .filter(bookings::slot_id.eq(slot as i32))
            .filter(bookings::status.eq("booked"))
            .count()
            .get_result(conn)
            .expect("count")
    })
    .await
}

fn fast_sweeps(settings: &mut clinic_booking::settings::Settings) {
    settings.waitlist.sweep_interval_ms = 100;
}

async fn a_cancellation_is_offered_by_mail_and_one_click_books_it(backend: Backend) {
    let sink = SmtpSink::start();
    let app = spawn_app_with(backend, smtp_to(sink.port)).await;
    let clinic = Clinic::open(&app).await;
    let slot = clinic.slot(&app, "10:00").await;
    let (reference, token) = clinic.book(&app, slot, 1).await;
    let first = clinic.entry(&app, "first@example.com", json!({})).await;
    assert_eq!(first["status"], "waiting", "{first}");
    clinic.entry(&app, "second@example.com", json!({})).await;

    let cancelled_at = std::time::Instant::now();
    assert_eq!(
        app.cancel(&reference, &token).await.status(),
        StatusCode::OK
    );
    let offers = wait_for_mails(|| sink.messages(), "first@example.com", OFFER, 1).await;
    let delivered_in = cancelled_at.elapsed();
    assert!(
        delivered_in < std::time::Duration::from_secs(10),
        "the offer reached the real SMTP server within seconds: {delivered_in:?}"
    );
    assert!(mails_to(&sink.messages(), "second@example.com", OFFER).is_empty());
    let (subject, text) = &offers[0];
    assert!(subject.contains("10:00 AM"), "{subject}");
    assert!(text.contains("holding it for you until"), "{text}");
    assert!(
        text.contains("America/Phoenix"),
        "the expiry in local time: {text}"
    );

    // The time is held: nobody else can book it meanwhile.
    let response = app
        .post_json(
            "/api/v1/bookings",
            &json!({"slot_id": slot, "visit_type_id": clinic.visit_type, "patient": another_patient(9)}),
        )
        .await;
    assert_problem(response, StatusCode::CONFLICT).await;

    // The accept link's token reads the offer and books it in one step.
    let offer_token = link_token(text, "offer");
    let offer = app
        .send_ok(
            Method::GET,
            "/api/v1/waitlist/offers/current",
            &offer_token,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(offer["status"], "offered");
    assert_eq!(offer["slot"]["id"], slot);
    assert!(offer["seconds_left"].as_i64().unwrap() > 14 * 60, "{offer}");
    let response = accept(&app, &offer_token).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let booking: Value = response.json().await.unwrap();
    assert_eq!(booking["slot"]["id"], slot);
    assert_eq!(booking["patient"]["email"], "first@example.com");
    assert_eq!(booking["source"], "waitlist");
    assert_eq!(booked_on(&app, slot).await, 1);
    let accepted = wait_for_mails(
        || sink.messages(),
        "first@example.com",
        "Booked from the waitlist",
        1,
    )
    .await;
    assert!(accepted[0]
        .1
        .contains(booking["reference"].as_str().unwrap()));

    // A second click gets a clear answer, not an error page, and books nothing more.
    let problem = assert_problem(accept(&app, &offer_token).await, StatusCode::CONFLICT).await;
    assert_eq!(problem["offer_status"], "accepted");
    assert_eq!(booked_on(&app, slot).await, 1);

    // Audit entries name the offer and its acceptance; metrics count them.
    let audit = app.audit(&clinic.admin, "limit=500").await;
    let actions: Vec<&str> = audit
        .iter()
        .filter(|e| e["entity_type"] == "waitlist_entry")
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["waitlist.join", "waitlist.offer", "waitlist.accept"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("clinic_waitlist_offers{status=\"accepted\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("clinic_waitlist_rebook_seconds_count 1"),
        "{metrics}"
    );
}

async fn decline_and_expiry_pass_the_time_to_the_next_entry(backend: Backend) {
    let app = spawn_app_with(backend, fast_sweeps).await;
    let clinic = Clinic::open(&app).await;
    let slot = clinic.slot(&app, "10:00").await;
    let (reference, token) = clinic.book(&app, slot, 1).await;
    for email in ["one@example.com", "two@example.com", "three@example.com"] {
        clinic.entry(&app, email, json!({})).await;
    }
    app.cancel(&reference, &token).await;
    let offer = wait_for_mails(|| app.written_mail(), "one@example.com", OFFER, 1).await;

    // The first declines: the second gets it at once.
    let declined = app
        .send(
            Method::POST,
            "/api/v1/waitlist/offers/current/decline",
            Some(&link_token(&offer[0].1, "offer")),
            None,
        )
        .await;
    assert_eq!(declined.status(), StatusCode::NO_CONTENT);
    let second = wait_for_mails(|| app.written_mail(), "two@example.com", OFFER, 1).await;

    // The second lets it run out: they are told, and the third gets it.
    let_offers_run_out(&app).await;
    wait_for_mails(
        || app.written_mail(),
        "two@example.com",
        "The time we held for you",
        1,
    )
    .await;
    let third = wait_for_mails(|| app.written_mail(), "three@example.com", OFFER, 1).await;
    let late = accept(&app, &link_token(&second[0].1, "offer")).await;
    let problem = assert_problem(late, StatusCode::CONFLICT).await;
    assert_eq!(problem["offer_status"], "expired");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("still on the waitlist"),
        "{problem}"
    );

    // Nobody gets it twice: once the third lets it go, the time is open to anyone again.
    let_offers_run_out(&app).await;
    wait_for_mails(
        || app.written_mail(),
        "three@example.com",
        "The time we held for you",
        1,
    )
    .await;
    assert_eq!(
        mails_to(&app.written_mail(), "one@example.com", OFFER).len(),
        1
    );
    assert_eq!(
        mails_to(&app.written_mail(), "two@example.com", OFFER).len(),
        1
    );
    assert_eq!(
        accept(&app, &link_token(&third[0].1, "offer"))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    clinic.book(&app, slot, 5).await;
}

async fn accepts_racing_each_other_and_a_public_booking_make_one_booking(backend: Backend) {
    let app = spawn_app(backend).await;
    let clinic = Clinic::open(&app).await;
    for (round, time) in ["10:00", "11:00"].into_iter().enumerate() {
        let slot = clinic.slot(&app, time).await;
        let (reference, token) = clinic.book(&app, slot, 10 + round).await;
        let email = format!("racer-{round}@example.com");
        clinic.entry(&app, &email, json!({})).await;
        app.cancel(&reference, &token).await;
        let offer = wait_for_mails(|| app.written_mail(), &email, OFFER, 1).await;
        let offer_token = link_token(&offer[0].1, "offer");
        if round == 1 {
            // The offer has just run out: its accepts race the public for the time.
            app.with_db(|conn| {
                use clinic_booking::db::schema::waitlist_offers;
                use diesel::prelude::*;
                diesel::update(waitlist_offers::table)
                    .set(waitlist_offers::expires_at.eq(clinic_booking::db::now()))
                    .execute(conn)
                    .expect("end the offer");
            })
            .await;
            let_offers_run_out(&app).await;
        }
        let body = json!({"slot_id": slot, "visit_type_id": clinic.visit_type});
        let accepts = (0..3).map(|_| accept(&app, &offer_token));
        let publics = (0..6).map(|n| {
            let mut body = body.clone();
            body["patient"] = another_patient(100 * round + n);
            let app = &app;
            async move { app.post_json("/api/v1/bookings", &body).await }
        });
        let (accepted, booked) = futures::join!(join_all(accepts), join_all(publics));
        let created = accepted
            .iter()
            .chain(booked.iter())
            .filter(|r| r.status() == StatusCode::CREATED)
            .count();
        assert_eq!(created, 1, "round {round}: exactly one booking");
        for response in accepted.iter().chain(booked.iter()) {
            assert!(
                [StatusCode::CREATED, StatusCode::CONFLICT].contains(&response.status()),
                "{:?}",
                response.status()
            );
        }
        assert_eq!(booked_on(&app, slot).await, 1);
        let accept_won = accepted.iter().any(|r| r.status() == StatusCode::CREATED);
        assert_eq!(accept_won, round == 0, "round {round}");
    }
}

async fn entries_that_do_not_match_or_do_not_count_get_nothing(backend: Backend) {
    let app = spawn_app_with(backend, fast_sweeps).await;
    let clinic = Clinic::open(&app).await;
    let morning = clinic.slot(&app, "09:00").await;
    // A visit three hours away, then (behind the app's back) only an hour away: inside the
    // 2-hour notice, where nobody may book it.
    let soon = clinic
        .slot_at(
            &app,
            (chrono::Utc::now() + Duration::minutes(180)).fixed_offset(),
        )
        .await;
    let (morning_ref, morning_token) = clinic.book(&app, morning, 1).await;
    let staff = app.staff_token("front_desk").await;
    let (soon_ref, _) = clinic.book(&app, soon, 2).await;
    app.move_visit(&soon_ref, 60).await;
    let wrong_day = clinic
        .entry(&app, "mondays@example.com", json!({"days": ["mon"]}))
        .await;
    assert_eq!(wrong_day["days"], json!(["mon"]));
    clinic
        .entry(
            &app,
            "afternoons@example.com",
            json!({"times": ["afternoon", "evening"]}),
        )
        .await;
    let other = app
        .send_ok(
            Method::POST,
            "/api/v1/providers",
            &clinic.admin,
            Some(&json!({"name": "Dr. Other", "specialty": "pain_medicine"})),
            StatusCode::CREATED,
        )
        .await;
    app.send_ok(
        Method::PATCH,
        &format!("/api/v1/visit-types/{}", clinic.visit_type),
        &clinic.admin,
        Some(&json!({"provider_ids": [clinic.provider, other["id"]]})),
        StatusCode::OK,
    )
    .await;
    clinic
        .entry(
            &app,
            "other@example.com",
            json!({"provider_id": other["id"]}),
        )
        .await;
    let later = (day() + Duration::days(7)).to_string();
    clinic
        .entry(&app, "later@example.com", json!({"earliest_date": later}))
        .await;
    // Not verified: joined on the website, the link never opened.
    let mut body = clinic.entry_body("unverified@example.com");
    body["provider_id"] = Value::Null;
    let joined = app.post_json("/api/v1/waitlist", &body).await;
    assert_eq!(joined.status(), StatusCode::CREATED);
    let joined: Value = joined.json().await.unwrap();
    assert_eq!(joined["status"], "unverified");
    // And one that matches, to show the cancellation did offer the time to someone.
    clinic
        .entry(&app, "match@example.com", json!({"times": ["morning"]}))
        .await;

    app.cancel(&morning_ref, &morning_token).await;
    wait_for_mails(|| app.written_mail(), "match@example.com", OFFER, 1).await;
    // Any day, any time, from yesterday on: only the notice keeps the soon visit from them.
    let yesterday = (chrono::Utc::now() - Duration::days(1)).date_naive();
    clinic
        .entry(
            &app,
            "anytime@example.com",
            json!({"earliest_date": yesterday.to_string()}),
        )
        .await;
    // The soon visit: cancelled by staff an hour before, inside the notice: nobody is offered it.
    let response = app
        .cancel_overriding(&soon_ref, &staff, "the patient called")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    crate::helpers::wait_until_due_mail_sent(&app.pool).await;
    let written = app.written_mail();
    for email in [
        "anytime@example.com",
        "mondays@example.com",
        "afternoons@example.com",
        "other@example.com",
        "later@example.com",
        "unverified@example.com",
    ] {
        assert!(
            mails_to(&written, email, OFFER).is_empty(),
            "{email} got an offer"
        );
    }
    assert_eq!(
        mails_to(&written, "match@example.com", OFFER).len(),
        1,
        "one offer only"
    );
}

async fn a_patient_joins_verifies_reads_and_leaves(backend: Backend) {
    let app = spawn_app(backend).await;
    let clinic = Clinic::open(&app).await;
    let mut body = clinic.entry_body("self@example.com");
    body["days"] = json!(["mon", "wed"]);
    body["times"] = json!(["morning"]);
    let response = app.post_json("/api/v1/waitlist", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let entry: Value = response.json().await.unwrap();
    assert_eq!(entry["status"], "unverified");
    let token = entry["token"]
        .as_str()
        .expect("the entry's token")
        .to_owned();
    assert!(entry["reference"].as_str().unwrap().starts_with("WL-"));

    // The entry's own token does not verify it: only the mailed link does.
    let refused = app
        .send(Method::POST, "/api/v1/waitlist/verify", Some(&token), None)
        .await;
    assert_problem(refused, StatusCode::UNAUTHORIZED).await;
    let mail = wait_for_mails(
        || app.written_mail(),
        "self@example.com",
        "Confirm your place",
        1,
    )
    .await;
    assert!(mail[0].1.contains("mon, wed; morning"), "{}", mail[0].1);
    let verify = link_token(&mail[0].1, "verify");
    let verified = app
        .send_ok(
            Method::POST,
            "/api/v1/waitlist/verify",
            &verify,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(verified["status"], "waiting");
    wait_for_mails(
        || app.written_mail(),
        "self@example.com",
        "You are on the waitlist",
        1,
    )
    .await;
    let read = app
        .send_ok(
            Method::GET,
            "/api/v1/waitlist/current",
            &token,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(read["status"], "waiting");
    assert_eq!(read["times"], json!(["morning"]));
    assert!(read.get("token").is_none());
    let left = app
        .send(
            Method::DELETE,
            "/api/v1/waitlist/current",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(left.status(), StatusCode::NO_CONTENT);
    let again = app
        .send(
            Method::DELETE,
            "/api/v1/waitlist/current",
            Some(&token),
            None,
        )
        .await;
    assert_problem(again, StatusCode::CONFLICT).await;

    // Bad input is a clear 4xx.
    let mut bad = clinic.entry_body("self@example.com");
    bad["days"] = json!(["someday"]);
    bad["latest_date"] = json!("2020-01-01");
    let problem = assert_problem(
        app.post_json("/api/v1/waitlist", &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(problem["errors"]["latest_date"].is_string(), "{problem}");
    let no_token = app
        .send(Method::GET, "/api/v1/waitlist/current", None, None)
        .await;
    assert_problem(no_token, StatusCode::UNAUTHORIZED).await;
}

async fn the_front_desk_lists_and_removes_entries(backend: Backend) {
    let app = spawn_app(backend).await;
    let clinic = Clinic::open(&app).await;
    let desk = app.staff_token("front_desk").await;
    let first = clinic.entry(&app, "a@example.com", json!({})).await;
    let second = clinic
        .entry(&app, "b@example.com", json!({"provider_id": null}))
        .await;
    let far = (day() + Duration::days(90)).to_string();
    clinic
        .entry(
            &app,
            "c@example.com",
            json!({"earliest_date": far, "latest_date": far}),
        )
        .await;
    let path = format!(
        "/api/v1/admin/waitlist?provider_id={}&date={}",
        clinic.provider,
        day()
    );
    let listed = app
        .send_ok(Method::GET, &path, &desk, None, StatusCode::OK)
        .await;
    let references: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["reference"].as_str())
        .collect();
    assert!(
        references
            .iter()
            .position(|r| *r == first["reference"])
            .unwrap()
            < references
                .iter()
                .position(|r| *r == second["reference"])
                .unwrap(),
        "in the order they joined: {references:?}"
    );
    assert!(listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["patient"]["email"] != "c@example.com"));
    let remove = format!(
        "/api/v1/admin/waitlist/{}",
        first["reference"].as_str().unwrap()
    );
    let response = app.send(Method::DELETE, &remove, Some(&desk), None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let listed = app
        .send_ok(Method::GET, &path, &desk, None, StatusCode::OK)
        .await;
    assert!(listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["reference"] != first["reference"]));
    let anonymous = app.send(Method::GET, &path, None, None).await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED).await;
}

async fn a_hold_running_out_and_new_time_are_offered_too(backend: Backend) {
    let app = spawn_app_with(backend, fast_sweeps).await;
    let clinic = Clinic::open(&app).await;
    let slot = clinic.slot(&app, "10:00").await;
    let response = app
        .post_json(
            "/api/v1/holds",
            &json!({"slot_id": slot, "visit_type_id": clinic.visit_type}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    clinic.entry(&app, "held@example.com", json!({})).await;
    // The patient who held it walks away; the hold runs out.
    app.with_db(move |conn| {
        use clinic_booking::db::schema::{holds, slots};
        use diesel::prelude::*;
        let past = clinic_booking::db::now() - Duration::seconds(1);
        diesel::update(holds::table.filter(holds::slot_id.eq(slot as i32)))
            .set(holds::expires_at.eq(past))
            .execute(conn)
            .expect("expire hold");
        diesel::update(slots::table.filter(slots::id.eq(slot as i32)))
            .set(slots::held_until.eq(past))
            .execute(conn)
            .expect("expire held slot");
    })
    .await;
    let offer = wait_for_mails(|| app.written_mail(), "held@example.com", OFFER, 1).await;
    assert!(offer[0].0.contains("10:00 AM"), "{}", offer[0].0);

    // New time the front desk adds goes to the waitlist first.
    clinic.entry(&app, "new-time@example.com", json!({})).await;
    clinic.slot(&app, "15:00").await;
    let offer = wait_for_mails(|| app.written_mail(), "new-time@example.com", OFFER, 1).await;
    assert!(offer[0].0.contains("3:00 PM"), "{}", offer[0].0);
}

async fn an_entry_can_move_its_booking_earlier(backend: Backend) {
    let app = spawn_app(backend).await;
    let clinic = Clinic::open(&app).await;
    let desk = app.staff_token("front_desk").await;
    let soon = |hours: i64| (chrono::Utc::now() + Duration::hours(hours)).fixed_offset();
    // The patient's visit is tomorrow, inside the 24-hour cut-off (they could not move it
    // online themselves), and they hold as many upcoming visits as one address may (3).
    let early = clinic.slot_at(&app, soon(3)).await;
    let late = clinic.slot_at(&app, soon(20)).await;
    let (early_ref, _) = clinic.book(&app, early, 1).await;
    let (late_ref, late_token) = clinic.book(&app, late, 2).await;
    for time in ["11:00", "11:30"] {
        let slot = clinic.slot(&app, time).await;
        clinic.book(&app, slot, 2).await;
    }
    let mut body = clinic.entry_body("patient-2@example.com");
    body["move_booking_token"] = json!(late_token);
    let response = app.post_json("/api/v1/waitlist", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let entry: Value = response.json().await.unwrap();
    assert_eq!(
        entry["status"], "waiting",
        "the manage token proves the address"
    );
    assert_eq!(entry["move_booking"], late_ref.as_str());

    // The earlier visit is cancelled at the desk: it is offered to the patient.
    let response = app
        .cancel_overriding(&early_ref, &desk, "the patient called")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let offer = wait_for_mails(|| app.written_mail(), "patient-2@example.com", OFFER, 1).await;
    assert!(offer[0].1.contains(&late_ref), "{}", offer[0].1);
    let response = accept(&app, &link_token(&offer[0].1, "offer")).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let moved = app.get_booking(&late_ref, &late_token).await;
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(moved["status"], "cancelled", "the later visit gives way");
    assert_eq!(booked_on(&app, early).await, 1);
    assert_eq!(booked_on(&app, late).await, 0);
    wait_for_mails(
        || app.written_mail(),
        "patient-2@example.com",
        "Appointment cancelled",
        1,
    )
    .await;
}

async fn one_address_never_holds_two_overlapping_offers(backend: Backend) {
    let app = spawn_app(backend).await;
    let clinic = Clinic::open(&app).await;
    let other = app
        .send_ok(
            Method::POST,
            "/api/v1/providers",
            &clinic.admin,
            Some(&json!({"name": "Dr. Second", "specialty": "pain_medicine"})),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    app.send_ok(
        Method::PATCH,
        &format!("/api/v1/visit-types/{}", clinic.visit_type),
        &clinic.admin,
        Some(&json!({"provider_ids": [clinic.provider, other]})),
        StatusCode::OK,
    )
    .await;
    let here = clinic.slot(&app, "10:00").await;
    let there = Clinic {
        admin: clinic.admin.clone(),
        provider: other,
        visit_type: clinic.visit_type,
    }
    .slot(&app, "10:00")
    .await;
    let (here_ref, here_token) = clinic.book(&app, here, 1).await;
    let (there_ref, there_token) = clinic.book(&app, there, 2).await;
    // One patient, two entries (one for each provider, the second under another case of the
    // same address); then someone else.
    clinic.entry(&app, "pat@example.com", json!({})).await;
    clinic
        .entry(&app, "Pat@Example.com", json!({"provider_id": other}))
        .await;
    clinic
        .entry(&app, "next@example.com", json!({"provider_id": null}))
        .await;

    app.cancel(&here_ref, &here_token).await;
    wait_for_mails(|| app.written_mail(), "pat@example.com", OFFER, 1).await;
    // The same hour with the other provider: Pat holds an offer for it already, so it goes on.
    app.cancel(&there_ref, &there_token).await;
    let next = wait_for_mails(|| app.written_mail(), "next@example.com", OFFER, 1).await;
    assert!(next[0].0.contains("Dr. Second"), "{}", next[0].0);
    crate::helpers::wait_until_due_mail_sent(&app.pool).await;
    assert_eq!(
        mails_to(&app.written_mail(), "pat@example.com", OFFER).len(),
        1,
        "one live offer for 10:00 per address"
    );
}

async fn time_off_removed_and_a_schedule_added_are_offered(backend: Backend) {
    let app = spawn_app(backend).await;
    let clinic = Clinic::open(&app).await;
    clinic.slot(&app, "14:00").await;
    let away = app
        .send_ok(
            Method::POST,
            &format!("/api/v1/providers/{}/time-off", clinic.provider),
            &clinic.admin,
            Some(&json!({
                "start": local("13:00").to_rfc3339(),
                "end": local("17:00").to_rfc3339(),
                "reason": "conference",
            })),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(away["blocked_slots"], 1);
    clinic
        .entry(
            &app,
            "afternoon@example.com",
            json!({"times": ["afternoon"]}),
        )
        .await;
    let response = app
        .send(
            Method::DELETE,
            &format!(
                "/api/v1/providers/{}/time-off/{}",
                clinic.provider, away["id"]
            ),
            Some(&clinic.admin),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let offer = wait_for_mails(|| app.written_mail(), "afternoon@example.com", OFFER, 1).await;
    assert!(offer[0].0.contains("2:00 PM"), "{}", offer[0].0);

    // A week of new time: the first start the entry's days allow is offered.
    clinic
        .entry(&app, "fridays@example.com", json!({"days": ["fri"]}))
        .await;
    let week = day() + Duration::days(7);
    app.send_ok(
        Method::POST,
        &format!("/api/v1/providers/{}/schedule", clinic.provider),
        &clinic.admin,
        Some(&json!({
            "from_date": week.to_string(),
            "to_date": (week + Duration::days(6)).to_string(),
            "weekdays": ["mon", "tue", "wed", "thu", "fri"],
            "start_time": "09:00",
            "end_time": "12:00",
            "slot_minutes": 30,
        })),
        StatusCode::OK,
    )
    .await;
    let offer = wait_for_mails(|| app.written_mail(), "fridays@example.com", OFFER, 1).await;
    assert!(
        offer[0].0.contains("Friday") && offer[0].0.contains("9:00 AM"),
        "{}",
        offer[0].0
    );
}

async fn a_kill_9_between_the_cancellation_and_the_mail_loses_no_offer(backend: Backend) {
    let database = TestDatabase::create(backend);
    // Mail goes nowhere while the first copy runs: nothing listens on its SMTP port.
    let mut server = ServerProcess::start(&database, unused_port()).await;
    let client = reqwest::Client::new();
    let address = server.address.clone();
    let from = (chrono::Utc::now() + Duration::days(3)).date_naive();
    let slots: Value = client
        .get(format!(
            "{address}/api/v1/slots?visit_type_id=1&from={from}"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let slot = &slots["items"][0];
    let booked: Value = client
        .post(format!("{address}/api/v1/bookings"))
        .json(&json!({"slot_id": slot["id"], "visit_type_id": 1, "patient": another_patient(1)}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let today = chrono::Utc::now().date_naive();
    let joined = client
        .post(format!("{address}/api/v1/waitlist"))
        .json(&json!({
            "visit_type_id": 1,
            "earliest_date": today.to_string(),
            "latest_date": (today + Duration::days(30)).to_string(),
            "patient": {"name": "Kill Nine", "email": "patient-3@example.com"},
            "move_booking_token": Value::Null,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), StatusCode::CREATED);
    // Staff-like standing without staff: the entry's address is proven by verifying it in the
    // database (its mail cannot go out while SMTP is down).
    let url = database.url.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        let pool = clinic_booking::db::build_pool(&url, 1).expect("pool");
        let mut conn = pool.get().expect("connection");
        diesel::sql_query("UPDATE waitlist_entries SET status = 'waiting'")
            .execute(&mut *conn)
            .expect("verify");
    })
    .await
    .unwrap();
    let cancelled = client
        .post(format!(
            "{address}/api/v1/bookings/{}/cancel",
            booked["reference"].as_str().unwrap()
        ))
        .bearer_auth(booked["manage_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), StatusCode::OK);
    server.kill();

    let sink = SmtpSink::start();
    let app = spawn_app_on_with(database, smtp_to(sink.port)).await;
    let offer = wait_for_mails(|| sink.messages(), "patient-3@example.com", OFFER, 1).await;
    assert!(offer[0].1.contains("/waitlist?offer="));
    crate::helpers::wait_until_due_mail_sent(&app.pool).await;
}
