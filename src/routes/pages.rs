//! The booking page (`/book`), the waitlist page, the front-desk console (`/desk`) and the
//! embeddable widget (`/widget.js`), compiled into the binary from `static/`: no build step, no
//! CDN, nothing fetched at run time.

use actix_web::http::header;
use actix_web::HttpResponse;

/// Only our own scripts, styles and API; nothing inline, nothing framed.
const BOOK_CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str, cache: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}

#[utoipa::path(
    get,
    path = "/book",
    operation_id = "getBookingPage",
    summary = "The booking page",
    description = "An HTML page patients book from, on a phone or a desktop: a visit type first, then \
a provider who offers it and a time where it fits, then their details. `?visit_type_id=` starts with \
that type chosen, `?source=` attributes the booking to an article, `?reference=&token=` (the link \
in every email) shows one booking to move or cancel, and `?lang=en` or `?lang=es` chooses the language \
(else the browser's; the page has a switch).",
    tag = "pages",
    security(()),
    responses(
        (status = 200, description = "The booking page", body = String, content_type = "text/html"),
    ),
)]
pub(super) async fn book_page() -> HttpResponse {
    page(include_str!("../../static/book.html"))
}

/// A page of ours: its address may carry a token (a manage link's, a waitlist link's), so no
/// cache keeps it and no referrer carries it on; scripts and styles only from here.
fn page(html: &'static str) -> HttpResponse {
    let mut response = asset("text/html; charset=utf-8", html, "no-store");
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(BOOK_CSP),
    );
    headers.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    response
}

#[utoipa::path(
    get,
    path = "/waitlist",
    operation_id = "getWaitlistPage",
    summary = "The waitlist page",
    description = "Without parameters, the form that puts a patient on the waitlist (`?visit_type_id=` \
and `?provider_id=` preselect). The waitlist mails' links open it with their token: `?verify=` \
confirms the address, `?entry=` shows the entry (and leaves the list), `?offer=` shows a time held \
for the patient (`&answer=accept` books it at once, `&answer=decline` passes it on). `?lang=en` or \
`?lang=es` chooses the language (else the browser's; the page has a switch).",
    tag = "pages",
    security(()),
    responses(
        (status = 200, description = "The waitlist page", body = String, content_type = "text/html"),
    ),
)]
pub(super) async fn waitlist_page() -> HttpResponse {
    page(include_str!("../../static/waitlist.html"))
}

#[utoipa::path(
    get,
    path = "/waitlist.js",
    operation_id = "getWaitlistScript",
    summary = "The waitlist page's script",
    description = "The waitlist page's script",
    tag = "pages",
    security(()),
    responses(
        (status = 200, description = "The script of the waitlist page", body = String, content_type = "text/javascript"),
    ),
)]
pub(super) async fn waitlist_script() -> HttpResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../static/waitlist.js"),
        "public, max-age=300",
    )
}

#[utoipa::path(
    get,
    path = "/desk",
    operation_id = "getDeskPage",
    summary = "The front-desk console",
    description = "An HTML page the front desk runs the day from, after logging in with a staff \
account: the day sheet per provider and location with one-click arrived, completed and no-show, \
notes and red flags; patient search and booking by phone; moving and cancelling under the booking \
rules (with a staff override that asks for the reason); blocking a slot or a range; and, for \
admins, the mail queue. It calls the staff API with the login's token, kept for the browser tab \
only.",
    tag = "pages",
    security(()),
    responses(
        (status = 200, description = "The front-desk console", body = String, content_type = "text/html"),
    ),
)]
pub(super) async fn desk_page() -> HttpResponse {
    page(include_str!("../../static/desk.html"))
}

#[utoipa::path(
    get,
    path = "/desk.js",
    operation_id = "getDeskScript",
    summary = "The front-desk console's script",
    description = "The front-desk console's script",
    tag = "pages",
    security(()),
    responses(
        (status = 200, description = "The script of the front-desk console", body = String, content_type = "text/javascript"),
    ),
)]
pub(super) async fn desk_script() -> HttpResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../static/desk.js"),
        "public, max-age=300",
    )
}

#[utoipa::path(
    get,
    path = "/desk.css",
    operation_id = "getDeskStyle",
    summary = "The front-desk console's style sheet",
    description = "The front-desk console's style sheet",
    tag = "pages",
    security(()),
    responses(
        (status = 200, description = "The style sheet of the front-desk console", body = String, content_type = "text/css"),
    ),
)]
pub(super) async fn desk_style() -> HttpResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../static/desk.css"),
        "public, max-age=300",
    )
}

#[utoipa::path(
    get,
    path = "/book.js",
    operation_id = "getBookingScript",
    summary = "The booking page's script",
    description = "The booking page's script",
    tag = "pages",
    security(()),
    responses(
        (status = 200, description = "The script of the booking page", body = String, content_type = "text/javascript"),
    ),
)]
pub(super) async fn book_script() -> HttpResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../static/book.js"),
        "public, max-age=300",
    )
}

#[utoipa::path(
    get,
    path = "/book.css",
    operation_id = "getBookingStyle",
    summary = "The booking page's style sheet",
    description = "The booking page's style sheet",
    tag = "pages",
    security(()),
    responses(
        (status = 200, description = "The style sheet of the booking page", body = String, content_type = "text/css"),
    ),
)]
pub(super) async fn book_style() -> HttpResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../static/book.css"),
        "public, max-age=300",
    )
}

#[utoipa::path(
    get,
    path = "/widget.js",
    operation_id = "getWidgetScript",
    summary = "The embeddable booking widget",
    description = "A script a clinic's page includes to show the next free times and book one: in \
`<div data-clinic-booking data-source=\"SLUG\">`, with optional `data-provider-id` and \
`data-visit-type-id` (without it, the patient chooses a visit type first) and `data-lang` (`en` or `es`; \
else the page's language, else the browser's); it links to the booking page for more times.",
    tag = "pages",
    security(()),
    responses(
        (status = 200, description = "The embeddable widget", body = String, content_type = "text/javascript"),
    ),
)]
pub(super) async fn widget_script() -> HttpResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../static/widget.js"),
        "public, max-age=300",
    )
}

#[utoipa::path(
    get,
    path = "/m/{code}",
    operation_id = "followManageLink",
    summary = "A text message's manage link",
    description = "The short link in text messages (a full manage token would take three messages): its code is \
the booking's reference and a tag only the server can make. It answers a redirect to the booking page with a manage \
token, which expires as any does, days after the visit. A code that is not one is a 404.",
    tag = "pages",
    security(()),
    params(("code" = String, Path, description = "The booking reference, a dot and the link's tag", max_length = 40, pattern = "^[A-Za-z0-9._-]+$")),
    responses(
        (status = 303, description = "To the booking page, on this booking", headers(("Location" = String, description = "/book?reference=…&token=…"))),
        (status = 404, description = "No such link"),
    ),
)]
pub(super) async fn manage_link(
    state: actix_web::web::Data<crate::state::AppState>,
    path: actix_web::web::Path<String>,
) -> Result<HttpResponse, crate::error::ApiError> {
    use crate::error::ApiError;
    let reference = state
        .tokens
        .verify_manage_link(&path)
        .ok_or_else(|| ApiError::not_found("link"))?;
    let lookup = reference.clone();
    let details = state
        .with_connection(move |conn| crate::clinic::appointments::load(conn, &lookup))
        .await?;
    let token = state
        .tokens
        .issue_manage_token(&reference, details.slot.ends_at.and_utc())?;
    let base = state.settings.clinic.public_base_url.trim_end_matches('/');
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("{base}/book?reference={}&token={token}", reference.as_str()),
        ))
        // The answer carries a token: no cache keeps it, no referrer passes it on.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .finish())
}

/// The patient pages' texts, one catalog per language: a flat object of key → text, with
/// `{name}` placeholders the scripts fill in. The booking page, the widget and the waitlist page
/// read the one for the language the patient chose.
const CATALOG_EN: &str = include_str!("../../static/i18n/en.json");
const CATALOG_ES: &str = include_str!("../../static/i18n/es.json");

fn catalog(body: &'static str) -> HttpResponse {
    asset(
        "application/json; charset=utf-8",
        body,
        "public, max-age=300",
    )
}

#[utoipa::path(
    get,
    path = "/i18n/en.json",
    operation_id = "getEnglishTexts",
    summary = "The patient pages' texts in English",
    description = "Every text of the booking page, the manage view, the widget and the waitlist page in English: an object of \
message keys to texts, with `{name}` placeholders the pages fill in.",
    tag = "pages",
    security(()),
    responses(
        (status = 200, description = "The English catalog", body = Object, content_type = "application/json"),
    ),
)]
pub(super) async fn texts_en() -> HttpResponse {
    catalog(CATALOG_EN)
}

#[utoipa::path(
    get,
    path = "/i18n/es.json",
    operation_id = "getSpanishTexts",
    summary = "The patient pages' texts in Spanish",
    description = "Every text of the booking page, the manage view, the widget and the waitlist page in Spanish, under the same \
keys as the English catalog and with the same placeholders.",
    tag = "pages",
    security(()),
    responses(
        (status = 200, description = "The Spanish catalog", body = Object, content_type = "application/json"),
    ),
)]
pub(super) async fn texts_es() -> HttpResponse {
    catalog(CATALOG_ES)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::{CATALOG_EN, CATALOG_ES};

    fn parse(name: &str, text: &str) -> BTreeMap<String, String> {
        serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("{name} is not a flat object of strings: {e}"))
    }

    /// The `{name}` placeholders of a text.
    fn placeholders(text: &str) -> BTreeSet<&str> {
        text.split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .filter(|name| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
            .collect()
    }

    /// The keys a script asks for literally: `t("key"` and `plural("key"` (the latter in its
    /// `.one` and `.other` forms). Keys built at run time end with a dot and are left out.
    fn keys_used(script: &str) -> BTreeSet<String> {
        let mut keys = BTreeSet::new();
        for (call, forms) in [("t(\"", &[""][..]), ("plural(\"", &[".one", ".other"][..])] {
            for (at, _) in script.match_indices(call) {
                let before = script[..at].chars().next_back();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || "_$.".contains(c)) {
                    continue;
                }
                let rest = &script[at + call.len()..];
                let Some((key, _)) = rest.split_once('"') else {
                    continue;
                };
                if key.is_empty() || key.ends_with('.') {
                    continue;
                }
                for form in forms {
                    keys.insert(format!("{key}{form}"));
                }
            }
        }
        keys
    }

    /// The keys the page's HTML names (`data-i18n="key"`, `data-i18n-label="key"`).
    fn keys_in_html(html: &str) -> BTreeSet<String> {
        let mut keys = BTreeSet::new();
        for attribute in ["data-i18n=\"", "data-i18n-label=\""] {
            for (at, _) in html.match_indices(attribute) {
                if let Some((key, _)) = html[at + attribute.len()..].split_once('"') {
                    keys.insert(key.to_owned());
                }
            }
        }
        keys
    }

    #[test]
    fn both_languages_have_every_message_with_the_same_placeholders() {
        let en = parse("en.json", CATALOG_EN);
        let es = parse("es.json", CATALOG_ES);
        let only_en: Vec<_> = en.keys().filter(|k| !es.contains_key(*k)).collect();
        let only_es: Vec<_> = es.keys().filter(|k| !en.contains_key(*k)).collect();
        assert!(only_en.is_empty(), "missing in es.json: {only_en:?}");
        assert!(only_es.is_empty(), "missing in en.json: {only_es:?}");
        for (key, english) in &en {
            let spanish = &es[key];
            assert!(!english.trim().is_empty(), "{key} is empty in en.json");
            assert!(!spanish.trim().is_empty(), "{key} is empty in es.json");
            assert_eq!(
                placeholders(english),
                placeholders(spanish),
                "{key}: the placeholders differ between en.json and es.json"
            );
        }
    }

    #[test]
    fn every_message_the_pages_and_the_widget_ask_for_is_in_the_catalogs() {
        let en = parse("en.json", CATALOG_EN);
        let mut wanted = keys_in_html(include_str!("../../static/book.html"));
        wanted.extend(keys_used(include_str!("../../static/book.js")));
        wanted.extend(keys_used(include_str!("../../static/widget.js")));
        // Keys the scripts build from the API's own names.
        for rule in crate::domain::rules::Rule::ALL {
            wanted.insert(format!("refusal.{}", rule.as_str()));
        }
        for status in crate::domain::booking::BookingStatus::ALL {
            wanted.insert(format!("status.{}", status.as_str()));
        }
        for field in ["name", "email", "phone", "date_of_birth", "reason"] {
            wanted.insert(format!("field.{field}"));
            wanted.insert(format!("error.{field}.missing"));
            wanted.insert(format!("error.{field}.invalid"));
        }
        wanted.extend(waitlist_keys());
        assert!(wanted.len() > 50, "the scan found too few keys: {wanted:?}");
        let missing: Vec<_> = wanted.iter().filter(|k| !en.contains_key(*k)).collect();
        assert!(
            missing.is_empty(),
            "asked for but not in the catalogs: {missing:?}"
        );
    }

    /// The keys the waitlist page asks for: those its HTML and script name, and those its
    /// script builds from the API's own names.
    fn waitlist_keys() -> BTreeSet<String> {
        let mut keys = keys_in_html(include_str!("../../static/waitlist.html"));
        keys.extend(keys_used(include_str!("../../static/waitlist.js")));
        for day in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {
            keys.insert(format!("waitlist.day.{day}"));
        }
        for part in ["morning", "afternoon", "evening"] {
            keys.insert(format!("waitlist.time.{part}"));
        }
        for field in ["name", "email", "phone", "earliest_date", "latest_date"] {
            keys.insert(format!("waitlist.error.{field}.missing"));
            keys.insert(format!("waitlist.error.{field}.invalid"));
        }
        keys
    }

    #[test]
    fn the_waitlist_page_has_its_own_messages_in_both_languages() {
        let en = parse("en.json", CATALOG_EN);
        let es = parse("es.json", CATALOG_ES);
        let wanted = waitlist_keys();
        assert!(wanted.len() > 60, "the scan found too few keys: {wanted:?}");
        // Its texts are its own: no /book key reused for other words.
        let borrowed: Vec<_> = wanted
            .iter()
            .filter(|k| !k.starts_with("waitlist."))
            .collect();
        assert!(borrowed.is_empty(), "not waitlist.* keys: {borrowed:?}");
        let missing: Vec<_> = wanted
            .iter()
            .filter(|k| !en.contains_key(*k) || !es.contains_key(*k))
            .collect();
        assert!(missing.is_empty(), "missing in a catalog: {missing:?}");
    }

    #[test]
    fn the_placeholder_scan_reads_names_only() {
        assert_eq!(
            placeholders("{day}, {start} to {end} {not a name}"),
            BTreeSet::from(["day", "start", "end"])
        );
        assert_eq!(
            keys_used("el.createElement(\"a\"); t(\"x.y\"); plural(\"n\", 2); t(\"s.\" + k)"),
            BTreeSet::from(["x.y".to_owned(), "n.one".to_owned(), "n.other".to_owned()])
        );
    }
}
