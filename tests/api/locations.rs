//! Locations in their own time zones, and providers' time off: a schedule at 09:00 local in two
//! zones, what availability, bookings, the day sheet and the mail say about where a visit is;
//! time off that availability drops at once, refuses over booked visits or cancels them with
//! its reason, and frees only what it blocked when removed.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use mail_parser::MessageParser;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    assert_problem, patient, spawn_app, spawn_app_on, Backend, TestApp, TestDatabase,
};

crate::both_backends!(
    slots_from_before_locations_are_the_main_locations,
    two_locations_in_two_time_zones,
    a_visit_never_runs_across_two_locations,
    admins_keep_the_locations,
    availability_drops_time_off_at_once_and_gets_it_back_when_removed,
    time_off_over_booked_visits_is_refused_or_cancels_them_with_the_reason,
);

const PHOENIX: Tz = chrono_tz::America::Phoenix;
/// A zone that is never Phoenix's offset (two or three hours ahead), so every check below
/// tells the two apart whatever the season.
const NEW_YORK: Tz = chrono_tz::America::New_York;

/// The first Wednesday a month ahead: after the demo clinic's two weeks.
fn day() -> NaiveDate {
    let mut day = Utc::now().date_naive() + Duration::days(30);
    while chrono::Datelike::weekday(&day) != chrono::Weekday::Wed {
        day += Duration::days(1);
    }
    day
}

/// `time` on `date` in `tz`, as a UTC instant.
fn at(tz: Tz, date: NaiveDate, time: &str) -> DateTime<Utc> {
    let naive = date.and_time(chrono::NaiveTime::parse_from_str(time, "%H:%M").expect("a time"));
    tz.from_local_datetime(&naive)
        .single()
        .expect("an unambiguous time")
        .with_timezone(&Utc)
}

fn local(tz: Tz, instant: DateTime<Utc>) -> String {
    instant
        .with_timezone(&tz)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

fn utc(value: &Value) -> DateTime<Utc> {
    value.as_str().expect("instant").parse().expect("RFC 3339")
}

async fn new_provider(app: &TestApp, admin: &str, name: &str) -> i64 {
    app.send_ok(
        Method::POST,
        "/api/v1/providers",
        admin,
        Some(&json!({"name": name, "specialty": "pain_medicine"})),
        StatusCode::CREATED,
    )
    .await["id"]
        .as_i64()
        .expect("provider id")
}

async fn new_location(app: &TestApp, admin: &str, name: &str, tz: Tz) -> Value {
    app.send_ok(
        Method::POST,
        "/api/v1/locations",
        admin,
        Some(&json!({
            "name": name,
            "address": format!("1 {name} Plaza"),
            "phone": "+1 212 555 0100",
            "timezone": tz.name(),
        })),
        StatusCode::CREATED,
    )
    .await
}

/// The main location: the first of the public list.
async fn main_location(app: &TestApp) -> Value {
    app.get_json("/api/v1/locations").await["items"][0].clone()
}

/// Builds `provider`'s day `date` from `from` to `to` (local, 30-minute slots) at `location`
/// (none: the main one), and answers the schedule's result.
async fn schedule(
    app: &TestApp,
    staff: &str,
    provider: i64,
    location: Option<i64>,
    date: NaiveDate,
    (from, to): (&str, &str),
) -> Value {
    let weekday = date.format("%a").to_string().to_lowercase();
    let mut body = json!({
        "from_date": date.to_string(), "to_date": date.to_string(), "weekdays": [weekday],
        "start_time": from, "end_time": to, "slot_minutes": 30,
    });
    if let Some(id) = location {
        body["location_id"] = json!(id);
    }
    app.send_ok(
        Method::POST,
        &format!("/api/v1/providers/{provider}/schedule"),
        staff,
        Some(&body),
        StatusCode::OK,
    )
    .await
}

/// The free slots of `provider` on the days from `date` on (three days), with `extra` query.
async fn free(app: &TestApp, provider: i64, date: NaiveDate, extra: &str) -> Vec<Value> {
    let path = format!(
        "/api/v1/slots?provider_id={provider}&from={date}&to={}{extra}",
        date + Duration::days(3)
    );
    app.get_json(&path).await["items"]
        .as_array()
        .expect("items")
        .clone()
}

/// Waits (bounded) for a mail the app wrote whose text contains `needle`, and answers its text
/// and its calendar attachment.
async fn mail_containing(app: &TestApp, needle: &str) -> (String, String) {
    for _ in 0..200 {
        for raw in app.written_mail() {
            let message = MessageParser::default()
                .parse(&raw)
                .expect("a MIME message");
            let text = message.body_text(0).unwrap_or_default().into_owned();
            if text.contains(needle) {
                let ics = message
                    .attachments()
                    .map(|part| String::from_utf8_lossy(part.contents()).into_owned())
                    .find(|c| c.contains("BEGIN:VCALENDAR"))
                    .unwrap_or_default();
                return (text, ics);
            }
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("no mail containing {needle:?}");
}

/// An iCalendar property's value with its folded lines joined and its escapes undone.
fn ics_property(ics: &str, name: &str) -> String {
    let unfolded = ics.replace("\r\n ", "").replace("\n ", "");
    unfolded
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_default()
        .replace("\\,", ",")
        .replace("\\;", ";")
        .trim_end()
        .to_owned()
}

/// A database from before locations: its slots have none until the next start makes the clinic
/// of the settings the main location and gives them to it.
async fn slots_from_before_locations_are_the_main_locations(backend: Backend) {
    use clinic_booking::db::{self, schema::providers, schema::slots};
    use diesel::prelude::*;
    let database = TestDatabase::create(backend);
    let pool = db::build_pool(&database.url, 1).expect("pool");
    let start = (Utc::now() + Duration::days(3)).naive_utc();
    let start = chrono::SubsecRound::trunc_subsecs(start, 0);
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("connection");
        db::run_migrations(&mut conn).expect("up");
        db::revert_to_before(&mut conn, "2026-12-01-000007").expect("back to before locations");
        let now = db::now();
        diesel::insert_into(providers::table)
            .values((
                providers::name.eq("Dr. Rivera"),
                providers::title.eq(""),
                providers::specialty.eq("pain_medicine"),
                providers::created_at.eq(now),
                providers::updated_at.eq(now),
            ))
            .execute(&mut conn)
            .expect("provider");
        let provider: i32 = providers::table
            .select(providers::id)
            .first(&mut conn)
            .expect("provider id");
        diesel::insert_into(slots::table)
            .values((
                slots::provider_id.eq(provider),
                slots::starts_at.eq(start),
                slots::ends_at.eq(start + Duration::minutes(30)),
                slots::status.eq("free"),
                slots::created_at.eq(now),
            ))
            .execute(&mut conn)
            .expect("slot");
    })
    .await
    .expect("blocking task");
    let app = spawn_app_on(database).await;
    let main = main_location(&app).await;
    assert_eq!(main["name"], "Desert Spine & Pain Clinic");
    assert_eq!(
        main["address"],
        "4410 N 7th St, Suite 200, Phoenix, AZ 85014"
    );
    let unplaced = app
        .with_db(|conn| {
            slots::table
                .filter(slots::location_id.is_null())
                .count()
                .get_result::<i64>(conn)
                .expect("count")
        })
        .await;
    assert_eq!(unplaced, 0);
    let items = app.get_json("/api/v1/slots").await["items"].clone();
    assert_eq!(items.as_array().expect("items").len(), 1, "{items}");
    assert_eq!(items[0]["location_id"], main["id"]);
    assert_eq!(items[0]["timezone"], "America/Phoenix");
}

async fn two_locations_in_two_time_zones(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let main = main_location(&app).await;
    // The main location is the clinic of the settings.
    assert_eq!(main["name"], "Desert Spine & Pain Clinic");
    assert_eq!(main["timezone"], "America/Phoenix");
    let main_id = main["id"].as_i64().expect("id");
    let east = new_location(&app, &admin, "Midtown", NEW_YORK).await;
    let east_id = east["id"].as_i64().expect("id");
    let provider = new_provider(&app, &admin, "Dr. Ada Whitfield").await;
    let (wed, thu) = (day(), day() + Duration::days(1));

    // 09:00 local in each place: two different instants.
    let here = schedule(&app, &admin, provider, None, wed, ("09:00", "10:00")).await;
    assert_eq!(here["created"], 2);
    assert_eq!(here["location_id"], main_id);
    assert_eq!(here["timezone"], "America/Phoenix");
    let there = schedule(
        &app,
        &admin,
        provider,
        Some(east_id),
        thu,
        ("09:00", "10:00"),
    )
    .await;
    assert_eq!(there["created"], 2);
    assert_eq!(there["location_id"], east_id);
    assert_eq!(there["timezone"], "America/New_York");

    let everywhere = free(&app, provider, wed, "").await;
    assert_eq!(everywhere.len(), 4);
    let in_phoenix = free(&app, provider, wed, &format!("&location_id={main_id}")).await;
    let in_new_york = free(&app, provider, wed, &format!("&location_id={east_id}")).await;
    assert_eq!((in_phoenix.len(), in_new_york.len()), (2, 2));
    let (first_here, first_there) = (&in_phoenix[0], &in_new_york[0]);
    assert_eq!(utc(&first_here["start"]), at(PHOENIX, wed, "09:00"));
    assert_eq!(utc(&first_there["start"]), at(NEW_YORK, thu, "09:00"));
    assert_eq!(
        first_here["local_start"],
        local(PHOENIX, at(PHOENIX, wed, "09:00"))
    );
    assert_eq!(
        first_there["local_start"],
        local(NEW_YORK, at(NEW_YORK, thu, "09:00"))
    );
    assert!(first_there["local_start"]
        .as_str()
        .expect("local")
        .contains("T09:00:00-0"));
    assert_eq!(first_here["timezone"], "America/Phoenix");
    assert_eq!(first_there["timezone"], "America/New_York");
    assert_eq!(first_here["location_id"], main_id);
    assert_eq!(first_there["location_id"], east_id);
    // The call to action filters the same way.
    let offer = app
        .get_json(&format!(
            "/api/v1/schedule-appointment?provider_id={provider}&location_id={east_id}"
        ))
        .await;
    assert!(offer["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|s| s["location_id"] == east_id && s["timezone"] == "America/New_York"));
    for path in [
        "/api/v1/slots?location_id=999999".to_owned(),
        "/api/v1/schedule-appointment?location_id=999999".to_owned(),
        "/api/v1/slots?location_id=99999999999".to_owned(),
    ] {
        assert_problem(app.get(&path).await, StatusCode::NOT_FOUND).await;
    }

    // A provider is in one place at a time: the same hour at the main location overlaps.
    let overlap = app
        .send(
            Method::POST,
            &format!("/api/v1/providers/{provider}/slots"),
            Some(&admin),
            Some(&json!({
                "start": at(NEW_YORK, thu, "09:00").to_rfc3339(),
                "end": at(NEW_YORK, thu, "09:30").to_rfc3339(),
            })),
        )
        .await;
    assert_problem(overlap, StatusCode::CONFLICT).await;

    // The booking names its location, in its zone; so do the mail and the invitation.
    let slot_id = first_there["id"].as_i64().expect("slot id");
    let booking = app.book_ok(slot_id).await;
    let reference = booking["reference"].as_str().expect("reference").to_owned();
    assert_eq!(booking["location"]["id"], east_id);
    assert_eq!(booking["location"]["name"], "Midtown");
    assert_eq!(booking["location"]["address"], "1 Midtown Plaza");
    assert_eq!(booking["location"]["timezone"], "America/New_York");
    assert_eq!(booking["slot"]["location_id"], east_id);
    assert_eq!(booking["slot"]["local_start"], first_there["local_start"]);
    let (text, ics) = mail_containing(&app, &reference).await;
    assert!(text.contains("Where: Midtown, 1 Midtown Plaza"), "{text}");
    assert!(text.contains("at 9:00 AM (America/New_York"), "{text}");
    assert_eq!(ics_property(&ics, "LOCATION"), "Midtown, 1 Midtown Plaza");

    // The day sheet: the location's day, in its zone; the main location's Thursday is empty.
    let sheet = app
        .send_ok(
            Method::GET,
            &format!("/api/v1/bookings?date={thu}&location_id={east_id}"),
            &admin,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(sheet["timezone"], "America/New_York");
    assert_eq!(sheet["location_id"], east_id);
    let items = sheet["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["reference"], reference.as_str());
    assert_eq!(items[0]["location"]["name"], "Midtown");
    // Booking the earliest time at one place: the provider's first time in Phoenix is Wednesday,
    // but asked for Midtown it is Thursday's second, the first being taken.
    let earliest = app
        .post_json(
            "/api/v1/schedule-appointment",
            &json!({
                "patient": {"name": "Eli Park", "email": "eli.park@example.com"},
                "provider_id": provider,
                "location_id": east_id,
            }),
        )
        .await;
    assert_eq!(earliest.status(), StatusCode::CREATED);
    let earliest: Value = earliest.json().await.expect("json");
    assert_eq!(earliest["location"]["id"], east_id);
    assert_eq!(earliest["slot"]["id"], in_new_york[1]["id"]);
    let sheet = app
        .send_ok(
            Method::GET,
            &format!("/api/v1/bookings?date={thu}&location_id={main_id}&provider_id={provider}"),
            &admin,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(sheet["items"].as_array().expect("items").len(), 0);
    let unknown = app
        .send(
            Method::GET,
            "/api/v1/bookings?location_id=999999",
            Some(&admin),
            None,
        )
        .await;
    assert_problem(unknown, StatusCode::NOT_FOUND).await;
}

async fn a_visit_never_runs_across_two_locations(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let east = new_location(&app, &admin, "Harbor", NEW_YORK).await;
    let east_id = east["id"].as_i64().expect("id");
    let provider = new_provider(&app, &admin, "Dr. Ruth Okoye").await;
    // Two back-to-back half hours, the second at the other location (the provider's time runs
    // on without a gap, but not in one place).
    let start = at(PHOENIX, day(), "09:00");
    let mut slot_ids = Vec::new();
    for (offset, location) in [(0, None), (30, Some(east_id))] {
        let mut body = json!({
            "start": (start + Duration::minutes(offset)).to_rfc3339(),
            "end": (start + Duration::minutes(offset + 30)).to_rfc3339(),
        });
        if let Some(id) = location {
            body["location_id"] = json!(id);
        }
        let slot = app
            .send_ok(
                Method::POST,
                &format!("/api/v1/providers/{provider}/slots"),
                &admin,
                Some(&body),
                StatusCode::CREATED,
            )
            .await;
        slot_ids.push(slot["id"].as_i64().expect("slot id"));
    }
    let hour_long = app
        .send_ok(
            Method::POST,
            "/api/v1/visit-types",
            &admin,
            Some(&json!({"name": "Hour", "duration_minutes": 60, "provider_ids": [provider]})),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_i64()
        .expect("visit type id");
    let fitting = free(
        &app,
        provider,
        day(),
        &format!("&visit_type_id={hour_long}"),
    )
    .await;
    assert!(fitting.is_empty(), "{fitting:?}");
    let refused = app
        .post_json(
            "/api/v1/bookings",
            &json!({"slot_id": slot_ids[0], "visit_type_id": hour_long, "patient": patient()}),
        )
        .await;
    assert_problem(refused, StatusCode::CONFLICT).await;
    // Half an hour fits at either place.
    let half = app
        .send_ok(
            Method::POST,
            "/api/v1/visit-types",
            &admin,
            Some(&json!({"name": "Half", "duration_minutes": 30, "provider_ids": [provider]})),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_i64()
        .expect("visit type id");
    assert_eq!(
        free(&app, provider, day(), &format!("&visit_type_id={half}"))
            .await
            .len(),
        2
    );
}

async fn admins_keep_the_locations(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let desk = app.staff_token("front_desk").await;
    let body = json!({"name": "Mesa", "timezone": "America/Phoenix"});
    let refused = app
        .send(Method::POST, "/api/v1/locations", Some(&desk), Some(&body))
        .await;
    assert_problem(refused, StatusCode::FORBIDDEN).await;
    let anonymous = app
        .send(Method::POST, "/api/v1/locations", None, Some(&body))
        .await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED).await;
    let bad = app
        .send(
            Method::POST,
            "/api/v1/locations",
            Some(&admin),
            Some(&json!({"name": "Mars", "timezone": "Mars/Olympus_Mons"})),
        )
        .await;
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(problem["errors"]["timezone"].is_string(), "{problem}");

    let mesa = app
        .send_ok(
            Method::POST,
            "/api/v1/locations",
            &admin,
            Some(&body),
            StatusCode::CREATED,
        )
        .await;
    let mesa_id = mesa["id"].as_i64().expect("id");
    let duplicate = app
        .send(Method::POST, "/api/v1/locations", Some(&admin), Some(&body))
        .await;
    assert_problem(duplicate, StatusCode::UNPROCESSABLE_ENTITY).await;
    let names: Vec<Value> = app.get_json("/api/v1/locations").await["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| l["name"].clone())
        .collect();
    assert!(names.contains(&json!("Mesa")), "{names:?}");
    // The demo's satellite, in the zone of the Navajo Nation.
    let satellite = app.get_json("/api/v1/locations").await["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|l| l["name"] == "Desert Spine & Pain — Window Rock")
        .cloned()
        .expect("the demo's second location");
    assert_eq!(satellite["timezone"], "America/Denver");

    // Withdrawn: no longer listed, and no new schedules there.
    let withdrawn = app
        .send_ok(
            Method::PATCH,
            &format!("/api/v1/locations/{mesa_id}"),
            &admin,
            Some(&json!({"active": false})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(withdrawn["active"], false);
    let listed = app.get_json("/api/v1/locations").await;
    assert!(!listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .any(|l| l["id"] == mesa_id));
    let provider = new_provider(&app, &admin, "Dr. Mesa Gone").await;
    let refused = app
        .send(
            Method::POST,
            &format!("/api/v1/providers/{provider}/schedule"),
            Some(&desk),
            Some(&json!({
                "from_date": day().to_string(), "to_date": day().to_string(), "weekdays": ["wed"],
                "start_time": "09:00", "end_time": "10:00", "slot_minutes": 30,
                "location_id": mesa_id,
            })),
        )
        .await;
    let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(problem["errors"]["location_id"].is_string(), "{problem}");
    let missing = app
        .send(
            Method::PATCH,
            "/api/v1/locations/999999",
            Some(&admin),
            Some(&json!({"phone": "1"})),
        )
        .await;
    assert_problem(missing, StatusCode::NOT_FOUND).await;
    // Each change is in the audit log.
    let entries = app.audit(&admin, "limit=50").await;
    let actions: Vec<&str> = entries
        .iter()
        .filter(|e| e["entity_type"] == "location")
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"location.create"), "{actions:?}");
    assert!(actions.contains(&"location.update"), "{actions:?}");
}

/// A provider with a morning of six half-hour slots on `day()` at the main location, by start.
async fn morning(app: &TestApp, admin: &str) -> (i64, Vec<Value>) {
    let provider = new_provider(app, admin, "Dr. Lena Varga").await;
    schedule(app, admin, provider, None, day(), ("09:00", "12:00")).await;
    let slots = free(app, provider, day(), "").await;
    assert_eq!(slots.len(), 6);
    (provider, slots)
}

fn time_off(from: &str, to: &str, reason: &str, cancel: Option<bool>) -> Value {
    let mut body = json!({
        "start": at(PHOENIX, day(), from).to_rfc3339(),
        "end": at(PHOENIX, day(), to).to_rfc3339(),
        "reason": reason,
    });
    if let Some(cancel) = cancel {
        body["cancel_bookings"] = json!(cancel);
    }
    body
}

async fn availability_drops_time_off_at_once_and_gets_it_back_when_removed(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let desk = app.staff_token("front_desk").await;
    let clinician = app.staff_token("provider").await;
    let (provider, slots) = morning(&app, &admin).await;
    let path = format!("/api/v1/providers/{provider}/time-off");
    let id_of = |s: &Value| s["id"].as_i64().expect("slot id");
    // Staff block 11:30 by hand: no time off may free it.
    let by_hand = id_of(&slots[5]);
    app.send_ok(
        Method::PATCH,
        &format!("/api/v1/slots/{by_hand}"),
        &desk,
        Some(&json!({"status": "blocked"})),
        StatusCode::OK,
    )
    .await;
    // Availability asked for (and perhaps kept in the cache) before the time off.
    assert_eq!(free(&app, provider, day(), "").await.len(), 5);

    // Who may: the front desk and admins; a provider is refused, a stranger must log in.
    let body = time_off("09:00", "12:00", "Spine conference in Denver", None);
    let refused = app
        .send(Method::POST, &path, Some(&clinician), Some(&body))
        .await;
    assert_problem(refused, StatusCode::FORBIDDEN).await;
    assert_problem(
        app.send(Method::POST, &path, None, Some(&body)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let backwards = time_off("12:00", "09:00", "Oops", None);
    let problem = assert_problem(
        app.send(Method::POST, &path, Some(&desk), Some(&backwards))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(problem["errors"]["end"].is_string(), "{problem}");
    assert_problem(
        app.send(
            Method::POST,
            "/api/v1/providers/999999/time-off",
            Some(&desk),
            Some(&body),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let entered = app
        .send_ok(Method::POST, &path, &desk, Some(&body), StatusCode::CREATED)
        .await;
    assert_eq!(entered["blocked_slots"], 5);
    assert_eq!(entered["cancelled_bookings"], json!([]));
    assert_eq!(entered["reason"], "Spine conference in Denver");
    // At once: nothing of the morning is offered.
    assert!(free(&app, provider, day(), "").await.is_empty());
    // A second time off over part of it (a longer trip) holds 09:00-10:00 too.
    let longer = app
        .send_ok(
            Method::POST,
            &path,
            &admin,
            Some(&time_off("08:00", "10:00", "Travel day", None)),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(longer["blocked_slots"], 0);

    // Any staff read the list, latest start first, with reasons.
    let list = app
        .send_ok(Method::GET, &path, &clinician, None, StatusCode::OK)
        .await;
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["reason"], "Spine conference in Denver");
    assert_eq!(items[1]["reason"], "Travel day");

    // Removing the conference frees what it alone blocked: 10:00 to 11:30. The travel day
    // still holds 09:00 and 09:30; the slot blocked by hand stays blocked.
    let conference = entered["id"].as_i64().expect("id");
    let gone = app
        .send(
            Method::DELETE,
            &format!("{path}/{conference}"),
            Some(&desk),
            None,
        )
        .await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let starts: Vec<Value> = free(&app, provider, day(), "")
        .await
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(
        starts,
        vec![
            slots[2]["id"].clone(),
            slots[3]["id"].clone(),
            slots[4]["id"].clone()
        ]
    );
    assert_eq!(app.slot_status(by_hand).await, "blocked");
    let travel = longer["id"].as_i64().expect("id");
    app.send(
        Method::DELETE,
        &format!("{path}/{travel}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(free(&app, provider, day(), "").await.len(), 5);
    assert_eq!(app.slot_status(by_hand).await, "blocked");
    // Gone means gone.
    assert_problem(
        app.send(
            Method::DELETE,
            &format!("{path}/{travel}"),
            Some(&admin),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // The audit log has each, without the reasons.
    let entries = app.audit(&admin, "limit=100").await;
    let time_off_entries: Vec<&Value> = entries
        .iter()
        .filter(|e| e["entity_type"] == "time_off")
        .collect();
    assert_eq!(time_off_entries.len(), 4, "{time_off_entries:?}");
    let logged = serde_json::to_string(&time_off_entries).expect("json");
    assert!(
        !logged.contains("conference") && !logged.contains("Travel"),
        "{logged}"
    );
}

async fn time_off_over_booked_visits_is_refused_or_cancels_them_with_the_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.staff_token("admin").await;
    let desk = app.staff_token("front_desk").await;
    let (provider, slots) = morning(&app, &admin).await;
    let path = format!("/api/v1/providers/{provider}/time-off");
    let booking = app.book_ok(slots[2]["id"].as_i64().expect("slot id")).await;
    let reference = booking["reference"].as_str().expect("reference").to_owned();
    let reason = "Dr. Varga is called away to a family emergency";
    // (Waited for: a confirmation still queued when the visit is cancelled is never sent.)
    let (confirmation, _) = mail_containing(&app, "is booked.").await;
    assert!(confirmation.contains(&reference), "{confirmation}");

    // Refused with the list of visits (references and starts, no patient), nothing changed.
    let refused = app
        .send(
            Method::POST,
            &path,
            Some(&desk),
            Some(&time_off("09:00", "12:00", reason, None)),
        )
        .await;
    let problem = assert_problem(refused, StatusCode::CONFLICT).await;
    assert_eq!(
        problem["bookings"],
        json!([{"reference": reference, "start": booking["slot"]["start"]}])
    );
    let text = problem.to_string();
    assert!(
        !text.contains("Ana") && !text.contains("ana.diaz"),
        "{text}"
    );
    assert_eq!(free(&app, provider, day(), "").await.len(), 5);
    let unchanged = app.booking_as_staff(&desk, &reference).await;
    assert_eq!(unchanged["status"], "booked");
    let explicit = app
        .send(
            Method::POST,
            &path,
            Some(&desk),
            Some(&time_off("09:00", "12:00", reason, Some(false))),
        )
        .await;
    assert_problem(explicit, StatusCode::CONFLICT).await;

    // With cancel_bookings the visit is cancelled, its slot blocked with the rest, and the
    // patient's cancellation mail carries the reason.
    let entered = app
        .send_ok(
            Method::POST,
            &path,
            &desk,
            Some(&time_off("09:00", "12:00", reason, Some(true))),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(entered["cancelled_bookings"], json!([reference]));
    assert_eq!(entered["blocked_slots"], 6);
    assert!(free(&app, provider, day(), "").await.is_empty());
    let cancelled = app.booking_as_staff(&desk, &reference).await;
    assert_eq!(cancelled["status"], "cancelled");
    let (text, ics) = mail_containing(&app, "has been cancelled").await;
    assert!(text.contains(&reference), "{text}");
    assert!(text.contains(reason), "{text}");
    assert!(ics.contains("METHOD:CANCEL"), "{ics}");
    // The audit log names the cancellation as the desk's, and not the reason.
    let entries = app.audit(&admin, &format!("reference={reference}")).await;
    assert!(
        entries.iter().any(|e| e["to"]["status"] == "cancelled"),
        "{entries:?}"
    );
    assert!(!serde_json::to_string(&entries)
        .expect("json")
        .contains("family"));
}
