//! The OpenAPI document describes every route the app serves, the docs page works from the
//! binary alone, and every response carries the security headers.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, Backend};

/// (path, method) of every route registered in `routes::configure`, read from its source: a
/// path literal followed by the methods routed to it. Docs assets (served by Swagger UI, with
/// no method routes) fall out on their own.
fn registered_routes() -> BTreeSet<(String, String)> {
    let source = include_str!("../../src/routes/mod.rs");
    let configure = &source[source.find("fn configure(").expect("configure")..];
    let configure = &configure[..configure.find("\n}\n").expect("end of configure")];
    let mut routes = BTreeSet::new();
    let mut prefix = String::new();
    let mut current: Option<String> = None;
    let mut rest = configure;
    while !rest.is_empty() {
        let next_path = rest.find("\"/");
        let next_method = [
            "web::get()",
            "web::post()",
            "web::patch()",
            "web::put()",
            "web::delete()",
        ]
        .iter()
        .filter_map(|m| rest.find(m).map(|i| (i, *m)))
        .min();
        match (next_path, next_method) {
            (Some(p), m) if m.is_none_or(|(i, _)| p < i) => {
                let literal = &rest[p + 1..];
                let end = literal.find('"').expect("closing quote");
                let path = literal[..end].to_owned();
                if rest[..p].trim_end().ends_with("web::scope(") {
                    prefix = path;
                    current = None;
                } else {
                    current = Some(format!("{prefix}{path}"));
                }
                rest = &literal[end..];
            }
            (_, Some((i, method))) => {
                if let Some(path) = &current {
                    let verb = method.trim_start_matches("web::").trim_end_matches("()");
                    routes.insert((path.clone(), verb.to_owned()));
                }
                rest = &rest[i + method.len()..];
            }
            _ => break,
        }
    }
    routes
}

fn the_route_reader_finds_the_routes() {
    let routes = registered_routes();
    assert!(
        routes.contains(&("/api/v1/bookings".into(), "post".into())),
        "{routes:?}"
    );
    assert!(
        routes.contains(&("/api/v1/bookings/{reference}".into(), "patch".into())),
        "{routes:?}"
    );
    assert!(
        routes.contains(&("/health".into(), "get".into())),
        "{routes:?}"
    );
    assert!(routes.len() >= 25, "{routes:?}");
}

crate::tests! {
    sync: [the_route_reader_finds_the_routes],
    both_backends: [
        every_route_is_documented,
        docs_are_served_from_the_binary,
        responses_carry_security_headers
    ],
}

async fn every_route_is_documented(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc = app.get_json("/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .map(move |method| (path.clone(), method.clone()))
        })
        .collect();
    let missing: Vec<_> = registered_routes()
        .difference(&documented)
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from /openapi.json: {missing:?}"
    );
    let stale: Vec<_> = documented
        .difference(&registered_routes())
        .cloned()
        .collect();
    assert!(stale.is_empty(), "documented but not routed: {stale:?}");

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["staff_jwt"]["scheme"], "bearer");
    assert_eq!(schemes["manage_token"]["scheme"], "bearer");
    let problem = &doc["components"]["schemas"]["ProblemDetails"]["properties"];
    for field in ["type", "title", "status", "detail", "errors"] {
        assert!(problem.get(field).is_some(), "ProblemDetails.{field}");
    }
    // Errors are documented as problem documents.
    let conflict = &doc["paths"]["/api/v1/bookings"]["post"]["responses"]["409"]["content"];
    assert!(
        conflict.get("application/problem+json").is_some(),
        "{conflict}"
    );
}

async fn docs_are_served_from_the_binary(backend: Backend) {
    let app = spawn_app(backend).await;
    let page = app.get("/docs/").await;
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui-bundle.js"));
    assert!(!html.contains("https://"), "no asset from a CDN");
    let bundle = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status(), StatusCode::OK);
    let init = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(init.contains("/docs/openapi.json"), "{init}");
    let doc: Value = app.get("/docs/openapi.json").await.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
}

async fn responses_carry_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in [
        "/health",
        "/api/v1/providers",
        "/api/v1/nowhere",
        "/api/v1/slots?from=nope",
        "/book",
    ] {
        let response = app.get(path).await;
        let headers = response.headers();
        let id = headers
            .get("x-request-id")
            .unwrap_or_else(|| panic!("{path}: no request id"));
        assert!(!id.is_empty());
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert!(headers.get("referrer-policy").is_some(), "{path}");
        if path.starts_with("/api/") {
            assert_eq!(headers["cache-control"], "no-store", "{path}");
        }
    }
    let a = app.get("/health").await.headers()["x-request-id"].clone();
    let b = app.get("/health").await.headers()["x-request-id"].clone();
    assert_ne!(a, b, "one id per request");
}
