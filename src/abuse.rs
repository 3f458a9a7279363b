//! What protects the public endpoints from floods: a per-client-address rate limit on the
//! public POSTs (bookings and the call to action), and CORS limited to the clinic's websites.
//! (The booking forms' honeypot is in `routes::bookings::reject_bots`.)

use std::net::IpAddr;

use actix_cors::Cors;
use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::governor::NotUntil;
use actix_governor::{
    Governor, GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError,
};
use actix_web::dev::ServiceRequest;
use actix_web::http::{header, Method};
use actix_web::middleware::Condition;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};

use crate::error::ApiError;
use crate::settings::HttpSettings;

/// Keys the limit on the peer address. Behind a reverse proxy every client shares the proxy's
/// address: terminate there with its own limit, or keep this one off (see the README).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress;

impl KeyExtractor for ClientAddress {
    type Key = IpAddr;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<IpAddr, Self::KeyExtractionError> {
        req.peer_addr()
            .map(|addr| addr.ip())
            .ok_or_else(|| SimpleKeyExtractionError::new("no peer address"))
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        mut response: HttpResponseBuilder,
    ) -> HttpResponse {
        let wait = negative
            .wait_time_from(DefaultClock::default().now())
            .as_secs()
            + 1;
        let problem = ApiError::TooManyRequests {
            detail: format!("too many booking requests from your address; try again in {wait} s"),
            retry_after_secs: wait,
        }
        .error_response();
        response
            .insert_header((header::CONTENT_TYPE, crate::error::PROBLEM_JSON))
            .body(problem.into_body())
    }
}

type RateLimitConfig = GovernorConfig<ClientAddress, NoOpMiddleware<QuantaInstant>>;

/// The limit on public POSTs. Built once, so every worker shares its counters.
#[derive(Clone)]
pub struct PublicPostLimit {
    config: RateLimitConfig,
    enabled: bool,
}

impl PublicPostLimit {
    /// `rate_limit_per_minute = 0` turns the limit off.
    pub fn new(settings: &HttpSettings) -> anyhow::Result<Self> {
        let per_minute = settings.rate_limit_per_minute.max(1);
        let config = GovernorConfigBuilder::default()
            .key_extractor(ClientAddress)
            .requests_per_minute(u64::from(per_minute))
            .burst_size(per_minute)
            .methods(vec![Method::POST])
            .finish()
            .ok_or_else(|| anyhow::anyhow!("invalid rate limit"))?;
        Ok(Self {
            config,
            enabled: settings.rate_limit_per_minute > 0,
        })
    }

    /// The middleware for a public resource; only its POSTs count.
    pub fn middleware(&self) -> Condition<Governor<ClientAddress, NoOpMiddleware<QuantaInstant>>> {
        Condition::new(self.enabled, Governor::new(&self.config))
    }
}

/// CORS for the configured website origins only; other origins get no CORS headers, so browsers
/// refuse them, while same-origin pages (`/book`) and non-browser clients are unaffected.
pub fn cors(settings: &HttpSettings) -> Cors {
    settings
        .origins()
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods([Method::GET, Method::POST, Method::PATCH])
        .allowed_headers([
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::AUTHORIZATION,
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([header::RETRY_AFTER])
        .max_age(3600)
}
