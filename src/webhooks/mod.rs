//! Webhook delivery: the HTTP side of `clinic::webhooks`. An endpoint's address is checked
//! against server-side request forgery when an admin registers it and again at every delivery:
//! names resolve only to public addresses (`PublicOnly`, the client's resolver, so a name that
//! later points inside the clinic's network is refused at the connection, not only at
//! registration), IP literals are judged as they are, and redirects are not followed.
//! Proxy settings in the environment are ignored for deliveries, which would otherwise resolve
//! the target elsewhere. `webhooks.allow_private_targets` lifts the check (a receiver on the
//! same host, the tests).

pub mod worker;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::webhook::{is_public, TargetUrl};
use crate::settings::WebhookSettings;

/// A resolver that answers only public addresses; a name with none is an error.
struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The client deliveries go through: public addresses only (unless allowed), no redirects,
/// a deadline per request.
pub fn client(settings: &WebhookSettings) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        // Straight to the target: through a proxy, the proxy would resolve the name (inside the
        // network), not `PublicOnly`.
        .no_proxy()
        .dns_resolver(Arc::new(PublicOnly {
            allow_private: settings.allow_private_targets,
        }))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(settings.timeout_seconds))
        .connect_timeout(Duration::from_secs(settings.timeout_seconds.min(5)))
        .user_agent(concat!(
            "clinic-booking-webhooks/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()?)
}

/// Whether `url` may be called: its host, an IP literal or a name, must be on the public
/// internet, unless private targets are allowed. A name is resolved now (and at each delivery
/// again, by the client's resolver).
pub async fn check_target(url: &TargetUrl, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let parsed = url::Url::parse(url.as_str()).map_err(|e| e.to_string())?;
    let refused = || {
        "url must point to the public internet, not to a loopback, private or link-local \
         address (webhooks.allow_private_targets allows those)"
            .to_string()
    };
    match parsed.host() {
        Some(url::Host::Ipv4(ip)) => is_public(IpAddr::V4(ip)).then_some(()).ok_or_else(refused),
        Some(url::Host::Ipv6(ip)) => is_public(IpAddr::V6(ip)).then_some(()).ok_or_else(refused),
        Some(url::Host::Domain(name)) => {
            let port = parsed.port_or_known_default().unwrap_or(443);
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
                .await
                .map_err(|_| format!("url's host {name} does not resolve"))?
                .collect();
            if found.is_empty() || found.iter().any(|a| !is_public(a.ip())) {
                return Err(refused());
            }
            Ok(())
        }
        None => Err("url must name a host".into()),
    }
}

/// Whether a delivery's address is an IP literal that is not public (the resolver sees only
/// names); checked before each request.
pub(crate) fn literal_refused(url: &str, allow_private: bool) -> bool {
    if allow_private {
        return false;
    }
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
        _ => false,
    }
}
