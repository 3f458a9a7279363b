//! What protects the public endpoints from floods: a per-client-address rate limit on the
//! public POSTs (bookings and the call to action), and CORS limited to the clinic's websites.
//! (The booking forms' honeypot is in `routes::patient_form::reject_bots`.)

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use actix_cors::Cors;
use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::StateInformationMiddleware;
use actix_governor::governor::NotUntil;
use actix_governor::{
    Governor, GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError,
};
use actix_web::dev::ServiceRequest;
use actix_web::http::{header, Method};
use actix_web::middleware::Condition;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use ipnet::IpNet;

use crate::error::ApiError;
use crate::settings::HttpSettings;

const FORWARDED_FOR: &str = "x-forwarded-for";

/// The headers the limit adds to the answers of the requests it counts (`actix-governor` writes
/// them): the limit, what is left of it, and on a 429 the seconds to wait, as `Retry-After`.
pub(crate) const LIMIT_HEADER: &str = "x-ratelimit-limit";
pub(crate) const REMAINING_HEADER: &str = "x-ratelimit-remaining";
pub(crate) const AFTER_HEADER: &str = "x-ratelimit-after";

/// Keys the limit on the client's address: the peer's, or, when the peer is one of the trusted
/// proxies (`http.trusted_proxies`), the one its `X-Forwarded-For` names.
#[derive(Debug, Clone)]
pub(crate) struct ClientAddress {
    proxies: Arc<[IpNet]>,
}

impl ClientAddress {
    pub(crate) fn new(proxies: Vec<IpNet>) -> Self {
        Self {
            proxies: proxies.into(),
        }
    }

    fn is_proxy(&self, address: IpAddr) -> bool {
        self.proxies.iter().any(|net| net.contains(&address))
    }

    /// The client behind `peer`. Proxies append the address they received a request from to
    /// `X-Forwarded-For`, so read from the right: the first address that is not a trusted proxy
    /// is the client; anything to its left came from the client and could be made up. An entry
    /// that is not an address ends the walk at the last proxy that vouched for it.
    /// `forwarded_for` holds the header's lines in order; several read as one list.
    pub(crate) fn client_of(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.is_proxy(client) {
            return client;
        }
        let hops = forwarded_for
            .iter()
            .rev()
            .flat_map(|line| line.split(',').rev());
        for hop in hops {
            let Some(address) = parse_hop(hop.trim()) else {
                break;
            };
            client = address;
            if !self.is_proxy(address) {
                break;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, perhaps with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|a| a.ip()))
        .ok()
        .map(|a| a.to_canonical())
}

/// Who a request comes from, for counting what one client keeps (`clinic::holds`): a keyed
/// SHA-256 of the client's address (as the rate limit finds it), so the database holds no
/// address. `None` when the request has no peer address.
pub(crate) fn client_key(
    req: &actix_web::HttpRequest,
    settings: &HttpSettings,
    secret: &str,
) -> Option<String> {
    use sha2::{Digest, Sha256};
    let peer = req.peer_addr()?;
    let forwarded_for = req
        .headers()
        .get_all(FORWARDED_FOR)
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>();
    // The settings' proxies were checked at start: a list that no longer parses trusts none.
    let client = ClientAddress::new(settings.proxies().unwrap_or_default())
        .client_of(peer.ip(), &forwarded_for);
    let mut hasher = Sha256::new();
    hasher.update(b"clinic-booking client key\0");
    hasher.update(secret.as_bytes());
    hasher.update(client.to_string().as_bytes());
    Some(hex::encode(hasher.finalize()))
}

impl KeyExtractor for ClientAddress {
    type Key = IpAddr;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<IpAddr, Self::KeyExtractionError> {
        let peer = req
            .peer_addr()
            .ok_or_else(|| SimpleKeyExtractionError::new("no peer address"))?;
        let forwarded_for = req
            .headers()
            .get_all(FORWARDED_FOR)
            .filter_map(|value| value.to_str().ok())
            .collect::<Vec<_>>();
        Ok(self.client_of(peer.ip(), &forwarded_for))
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
        // The governor set both to its wait in whole seconds rounded down (0 under a second): a
        // client that waits only that long is refused again. They say what the detail says.
        response
            .insert_header((header::RETRY_AFTER, wait))
            .insert_header((AFTER_HEADER, wait))
            .insert_header((header::CONTENT_TYPE, crate::error::PROBLEM_JSON))
            .body(problem.into_body())
    }
}

type RateLimitConfig = GovernorConfig<ClientAddress, StateInformationMiddleware>;

/// The limit on public POSTs. Built once, so every worker and both routes share its counters.
/// Its answers carry `X-RateLimit-Limit` and `X-RateLimit-Remaining` (`use_headers`), so a form
/// can tell a patient before the 429.
#[derive(Clone)]
pub(crate) struct PublicPostLimit {
    config: RateLimitConfig,
    enabled: bool,
}

impl PublicPostLimit {
    /// `rate_limit_per_minute = 0` turns the limit off.
    pub(crate) fn new(settings: &HttpSettings) -> anyhow::Result<Self> {
        let per_minute = settings.rate_limit_per_minute.max(1);
        let config = GovernorConfigBuilder::default()
            .key_extractor(ClientAddress::new(settings.proxies()?))
            .requests_per_minute(u64::from(per_minute))
            .burst_size(per_minute)
            .use_headers()
            .finish()
            .ok_or_else(|| anyhow::anyhow!("invalid rate limit"))?;
        Ok(Self {
            config,
            enabled: settings.rate_limit_per_minute > 0,
        })
    }

    /// The middleware for a public POST route: every request it wraps counts. It wraps routes,
    /// not resources, so that the GETs beside them neither count nor carry its headers.
    pub(crate) fn middleware(
        &self,
    ) -> Condition<Governor<ClientAddress, StateInformationMiddleware>> {
        Condition::new(self.enabled, Governor::new(&self.config))
    }
}

/// CORS for the configured website origins only; other origins get no CORS headers, so browsers
/// refuse them, while same-origin pages (`/book`) and non-browser clients are unaffected.
pub(crate) fn cors(settings: &HttpSettings) -> Cors {
    settings
        .origins()
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::AUTHORIZATION,
            header::HeaderName::from_static("idempotency-key"),
            // A patient app's FHIR create, conditional (`/fhir/Appointment`).
            header::HeaderName::from_static("if-none-exist"),
        ])
        // Scripts on those sites read the limit's headers too, to tell a patient before the 429.
        .expose_headers([
            header::RETRY_AFTER.as_str(),
            // Where a FHIR create put what it made.
            header::LOCATION.as_str(),
            LIMIT_HEADER,
            REMAINING_HEADER,
            AFTER_HEADER,
        ])
        .max_age(3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn with_proxies(proxies: &str) -> HttpSettings {
        HttpSettings {
            allowed_origins: String::new(),
            rate_limit_per_minute: 30,
            availability_cache_ms: 0,
            trusted_proxies: proxies.into(),
        }
    }

    fn behind(proxies: &str) -> ClientAddress {
        ClientAddress::new(with_proxies(proxies).proxies().unwrap())
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let direct = behind("");
        assert_eq!(
            direct.client_of(ip("127.0.0.1"), &["203.0.113.5"]),
            ip("127.0.0.1")
        );
        // Nor does a trusted range help a peer outside it.
        let proxied = behind("10.0.0.0/8");
        assert_eq!(
            proxied.client_of(ip("192.0.2.9"), &["203.0.113.5"]),
            ip("192.0.2.9")
        );
    }

    #[test]
    fn behind_a_proxy_the_last_address_it_did_not_write_itself_is_the_client() {
        let proxied = behind("127.0.0.1, 10.0.0.0/8");
        assert_eq!(
            proxied.client_of(ip("127.0.0.1"), &["203.0.113.5"]),
            ip("203.0.113.5")
        );
        // What the client put in front is not believed.
        assert_eq!(
            proxied.client_of(ip("127.0.0.1"), &["198.51.100.1, 203.0.113.5"]),
            ip("203.0.113.5")
        );
        // A chain of proxies, over two header lines, with a port.
        assert_eq!(
            proxied.client_of(
                ip("127.0.0.1"),
                &["198.51.100.1, 203.0.113.5:4711", "10.1.2.3"]
            ),
            ip("203.0.113.5")
        );
        assert_eq!(
            proxied.client_of(ip("::ffff:127.0.0.1"), &["[2001:db8::7]:443"]),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn a_missing_or_broken_header_leaves_the_last_proxy_that_vouched() {
        let proxied = behind("127.0.0.1, 10.0.0.0/8");
        assert_eq!(proxied.client_of(ip("127.0.0.1"), &[]), ip("127.0.0.1"));
        assert_eq!(
            proxied.client_of(ip("127.0.0.1"), &["203.0.113.5, unknown, 10.1.2.3"]),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn trusted_proxies_must_be_addresses_or_ranges() {
        assert_eq!(
            with_proxies(" 127.0.0.1 , ::1, 10.0.0.0/8")
                .proxies()
                .unwrap()
                .len(),
            3
        );
        assert!(with_proxies("proxy.internal").proxies().is_err());
        assert!(with_proxies("10.0.0.0/33").proxies().is_err());
    }
}
