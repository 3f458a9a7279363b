//! Generated values thrown at every parameter and JSON field of every operation the served
//! OpenAPI document describes, against the real `clinic-booking serve` binary, anonymously and
//! with an admin token. The server must never answer 5xx, every 4xx must be a problem document
//! with the security headers, and nothing may panic (the server's log is read at the end).

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};

use crate::helpers::{Backend, ServerProcess, TestDatabase, STAFF_PASSWORD};

/// Requests per operation and caller.
const CASES: usize = 24;

/// Values that have broken date, number and text handling somewhere: extreme and signed years,
/// integer limits, control characters, near-misses of the accepted forms.
fn nasty_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::from),
        "[ -~]{0,24}".prop_map(Value::from),
        prop::sample::select(vec![
            "",
            " ",
            "+262142-12-31",
            "-0001-01-01",
            "12026-01-01",
            "2200-01-01",
            "1899-12-31",
            "2026-02-30",
            "9999-12-31T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "2027-03-14T02:30:00-05:00",
            "2026-12-01",
            "09:00",
            "24:00",
            "23:59:60",
            "BK-7Q2M9XA4KD",
            "\u{0}",
            "a\u{85}b@example.com",
            "\"ana diaz\"@example.com",
            "ana@example.com",
            "booked",
            "no_show",
            "front_desk",
            "mon",
        ])
        .prop_map(Value::from),
        prop::sample::select(vec![
            i64::MIN,
            i64::from(i32::MIN) - 1,
            -1,
            0,
            1,
            2,
            366,
            i64::from(i32::MAX) + 1,
            i64::MAX,
        ])
        .prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn nasty_value() -> impl Strategy<Value = Value> {
    nasty_scalar().prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One operation of the document, as far as the fuzzer needs it.
#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    path: String,
    /// (name, where) of each parameter: `path`, `query` or `header`.
    parameters: Vec<(String, String)>,
    /// The body's property names, nested objects' names under their property.
    body: Option<Vec<(String, Option<Vec<String>>)>>,
}

/// The properties of a schema (following one `$ref`).
fn properties<'a>(document: &'a Value, schema: &'a Value) -> Option<&'a Map<String, Value>> {
    let schema = match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next()?;
            &document["components"]["schemas"][name]
        }
        None => schema,
    };
    schema["properties"].as_object()
}

fn operations(document: &Value) -> Vec<Operation> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let parameters = operation["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            let name = p["name"].as_str().unwrap_or_default().to_owned();
                            (name, p["in"].as_str().unwrap_or_default().to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default();
            let body = operation["requestBody"]["content"]["application/json"]["schema"].clone();
            let body = properties(document, &body).map(|props| {
                props
                    .iter()
                    .map(|(name, schema)| {
                        let nested = properties(document, schema)
                            .or_else(|| {
                                schema["oneOf"]
                                    .as_array()?
                                    .iter()
                                    .find_map(|s| properties(document, s))
                            })
                            .map(|p| p.keys().cloned().collect());
                        (name.clone(), nested)
                    })
                    .collect()
            });
            found.push(Operation {
                method,
                path: path.clone(),
                parameters,
                body,
            });
        }
    }
    found
}

/// The elements of a FHIR resource a client may send, as the fuzzer fills them: an
/// Appointment's (the only resource created or updated here), nested ones under theirs.
fn appointment_elements() -> Vec<(String, Option<Vec<String>>)> {
    let element = |name: &str, nested: &[&str]| {
        (
            name.to_owned(),
            (!nested.is_empty()).then(|| nested.iter().map(|n| (*n).to_owned()).collect()),
        )
    };
    vec![
        element("resourceType", &[]),
        element("id", &[]),
        element("status", &[]),
        element("start", &[]),
        element("end", &[]),
        element("slot", &["reference"]),
        element("participant", &["actor", "status"]),
        element(
            "contained",
            &["resourceType", "id", "name", "telecom", "birthDate"],
        ),
        element("serviceType", &["coding", "text"]),
        element("reasonCode", &["text"]),
        element("description", &[]),
    ]
}

/// The interactions `/fhir/metadata` lists, as operations: `read` and `update` on
/// `/fhir/{type}/{id}`, `search-type` with each search parameter, `create` on `/fhir/{type}`.
fn fhir_operations(capability: &Value) -> Vec<Operation> {
    let mut found = Vec::new();
    for resource in capability["rest"][0]["resource"]
        .as_array()
        .expect("resources")
    {
        let kind = resource["type"].as_str().expect("type");
        let search: Vec<(String, String)> = resource["searchParam"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| p["name"].as_str())
                    .chain(["_count", "_offset"])
                    .map(|name| (name.to_owned(), "query".to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        for interaction in resource["interaction"].as_array().expect("interactions") {
            let id = || vec![("id".to_owned(), "path".to_owned())];
            let (method, path, parameters, body) = match interaction["code"].as_str() {
                Some("read") => (Method::GET, format!("/fhir/{kind}/{{id}}"), id(), None),
                Some("search-type") => (Method::GET, format!("/fhir/{kind}"), search.clone(), None),
                Some("create") => (
                    Method::POST,
                    format!("/fhir/{kind}"),
                    vec![
                        ("If-None-Exist".to_owned(), "header".to_owned()),
                        ("Idempotency-Key".to_owned(), "header".to_owned()),
                    ],
                    Some(appointment_elements()),
                ),
                Some("update") => (
                    Method::PUT,
                    format!("/fhir/{kind}/{{id}}"),
                    id(),
                    Some(appointment_elements()),
                ),
                other => panic!("an interaction the fuzzer does not know: {other:?}"),
            };
            found.push(Operation {
                method,
                path,
                parameters,
                body,
            });
        }
    }
    found
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Percent-encodes a path segment.
fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A sample of `strategy` from `runner`'s generator.
fn sample<S: Strategy>(runner: &mut TestRunner, strategy: &S) -> S::Value {
    strategy
        .new_tree(runner)
        .expect("a generated value")
        .current()
}

struct Sent {
    /// Sent to `/fhir`, which answers errors as OperationOutcomes.
    fhir: bool,
    request: String,
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn send_generated(
    client: &reqwest::Client,
    base: &str,
    operation: &Operation,
    token: Option<&str>,
    runner: &mut TestRunner,
) -> Sent {
    let present = any::<bool>();
    let mut path = operation.path.clone();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    for (name, place) in &operation.parameters {
        let value = text_of(&sample(runner, &nasty_scalar()));
        match place.as_str() {
            "path" => path = path.replace(&format!("{{{name}}}"), &segment(&value)),
            "query" if sample(runner, &present) => query.push((name.clone(), value)),
            "header" if sample(runner, &present) => headers.push((name.clone(), value)),
            _ => {}
        }
    }
    let mut request = client.request(operation.method.clone(), format!("{base}{path}"));
    if !query.is_empty() {
        request = request.query(&query);
    }
    for (name, value) in &headers {
        if let Ok(value) = reqwest::header::HeaderValue::from_str(value) {
            request = request.header(name.as_str(), value);
        }
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let mut body = None;
    if let Some(fields) = &operation.body {
        let generated = if sample(runner, &(0..10u8)) == 0 {
            // Now and then not an object at all.
            sample(runner, &nasty_value())
        } else {
            let mut object = Map::new();
            for (name, nested) in fields {
                if !sample(runner, &present) {
                    continue;
                }
                let value = match nested {
                    Some(inner) if sample(runner, &(0..4u8)) != 0 => {
                        let mut child = Map::new();
                        for name in inner {
                            if sample(runner, &present) {
                                child.insert(name.clone(), sample(runner, &nasty_value()));
                            }
                        }
                        Value::Object(child)
                    }
                    _ => sample(runner, &nasty_value()),
                };
                object.insert(name.clone(), value);
            }
            Value::Object(object)
        };
        let mut generated = generated;
        if let (true, Some(object)) = (
            operation.path.starts_with("/fhir") && sample(runner, &(0..4u8)) != 0,
            generated.as_object_mut(),
        ) {
            // Mostly an Appointment, so that the fuzz gets past the first check.
            object.insert("resourceType".into(), json!("Appointment"));
        }
        request = request.json(&generated);
        body = Some(generated);
    }
    let description = format!(
        "{} {path}?{query:?} headers {headers:?} token {} body {}",
        operation.method,
        token.is_some(),
        body.map(|b| b.to_string()).unwrap_or_default()
    );
    let response = request.send().await.unwrap_or_else(|e| {
        panic!("no answer to {description}: {e}");
    });
    let status = response.status();
    let response_headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    Sent {
        fhir: operation.path.starts_with("/fhir"),
        request: description,
        status,
        headers: response_headers,
        body: text,
    }
}

/// What is wrong with an answer, if anything.
fn fault(sent: &Sent) -> Option<String> {
    if sent.status.is_server_error() {
        return Some(format!("{}: {}", sent.status, sent.body));
    }
    if sent.status.is_client_error() {
        let content_type = sent
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let expected = if sent.fhir {
            "application/fhir+json; charset=utf-8"
        } else {
            "application/problem+json"
        };
        if content_type != expected {
            return Some(format!(
                "{} as {content_type:?}: {}",
                sent.status, sent.body
            ));
        }
        for name in [
            "x-request-id",
            "x-content-type-options",
            "referrer-policy",
            "cache-control",
        ] {
            if !sent.headers.contains_key(name) {
                return Some(format!("{} without {name}", sent.status));
            }
        }
    }
    None
}

async fn generated_requests_never_break_the_server(backend: Backend) {
    let database = TestDatabase::create(backend);
    let mail = tempfile::tempdir().expect("mail dir");
    let mail_dir = mail.path().display().to_string();
    let server = ServerProcess::start_with(
        &database,
        9,
        &[
            ("APP__MAIL__TRANSPORT", "file"),
            ("APP__MAIL__FILE_DIR", &mail_dir),
            ("RUST_LOG", "info"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let base = server.address.clone();

    // An admin account, made as `create-user` makes it, and its token.
    let url = database.url.clone();
    tokio::task::spawn_blocking(move || {
        use clinic_booking::domain::actor::Actor;
        use clinic_booking::domain::staff::{NewPassword, Role, StaffEmail};
        let pool = clinic_booking::db::build_pool(&url, 1).expect("pool");
        clinic_booking::clinic::accounts::create_user(
            &mut pool.get().expect("connection"),
            &StaffEmail::parse("fuzz-admin@clinic.example").expect("email"),
            Role::Admin,
            &NewPassword::parse(STAFF_PASSWORD).expect("password"),
            &Actor::CommandLine,
        )
        .expect("admin");
    })
    .await
    .expect("create the admin");
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "fuzz-admin@clinic.example", "password": STAFF_PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login json");
    let admin = login["access_token"].as_str().expect("token").to_owned();

    let document: Value = client
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .expect("document")
        .json()
        .await
        .expect("document json");
    let mut operations = operations(&document);
    assert!(operations.len() >= 30, "{} operations", operations.len());
    // The FHIR endpoint, as its CapabilityStatement describes it.
    let capability: Value = client
        .get(format!("{base}/fhir/metadata"))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("metadata json");
    let fhir = fhir_operations(&capability);
    assert!(fhir.len() >= 16, "{} FHIR interactions", fhir.len());
    operations.extend(fhir);

    // A fresh seed each run (set CLINIC_FUZZ_SEED to replay one); a failure names it.
    let seed: u64 = std::env::var("CLINIC_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let mut faults: BTreeMap<String, String> = BTreeMap::new();
    let mut answered = 0;
    for operation in &operations {
        // Logins are throttled per address and slow on purpose; a handful suffices.
        let cases = if operation.path.ends_with("/auth/login") {
            4
        } else {
            CASES
        };
        for token in [None, Some(admin.as_str())] {
            for _ in 0..cases {
                let sent = send_generated(&client, &base, operation, token, &mut runner).await;
                answered += 1;
                if let Some(fault) = fault(&sent) {
                    faults
                        .entry(format!("{} {}", operation.method, operation.path))
                        .or_insert(format!("{fault}\n  after {}", sent.request));
                }
            }
        }
    }
    let log = server.log();
    let panics: Vec<&str> = log.lines().filter(|l| l.contains("panicked")).collect();
    assert!(
        faults.is_empty() && panics.is_empty(),
        "{answered} requests (CLINIC_FUZZ_SEED={seed} replays them); faults:\n{}\npanics:\n{}",
        faults
            .iter()
            .map(|(op, f)| format!("{op}: {f}"))
            .collect::<Vec<_>>()
            .join("\n"),
        panics.join("\n")
    );
    drop(server);
    let _ = mail;
}

crate::both_backends!(generated_requests_never_break_the_server);
