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
that type chosen, `?source=` attributes the booking to an article, and `?reference=&token=` (the link \
in every email) shows one booking to move or cancel.",
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
for the patient (`&answer=accept` books it at once, `&answer=decline` passes it on).",
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
`data-visit-type-id` (without it, the patient chooses a visit type first).",
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
