//! Webhooks as the Standard Webhooks specification has them: the events a clinic's systems can
//! subscribe to, the endpoint's signing secret (`whsec_` and base64), the signature of a message
//! (`v1,` and base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`), and which addresses an
//! endpoint may have.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

/// What happened, as a webhook's `type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    BookingCreated,
    BookingRescheduled,
    BookingCancelled,
    /// Checked in, completed or marked a no-show.
    BookingStatusChanged,
    WaitlistJoined,
    WaitlistOffered,
    WaitlistBooked,
    WaitlistRemoved,
    SeriesCreated,
    SeriesCancelled,
}

impl EventType {
    pub const ALL: [EventType; 10] = [
        Self::BookingCreated,
        Self::BookingRescheduled,
        Self::BookingCancelled,
        Self::BookingStatusChanged,
        Self::WaitlistJoined,
        Self::WaitlistOffered,
        Self::WaitlistBooked,
        Self::WaitlistRemoved,
        Self::SeriesCreated,
        Self::SeriesCancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BookingCreated => "booking.created",
            Self::BookingRescheduled => "booking.rescheduled",
            Self::BookingCancelled => "booking.cancelled",
            Self::BookingStatusChanged => "booking.status_changed",
            Self::WaitlistJoined => "waitlist.joined",
            Self::WaitlistOffered => "waitlist.offered",
            Self::WaitlistBooked => "waitlist.booked",
            Self::WaitlistRemoved => "waitlist.removed",
            Self::SeriesCreated => "series.created",
            Self::SeriesCancelled => "series.cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == value.trim())
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The events an endpoint receives: at least one, each once, in a stable order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTypes(Vec<EventType>);

impl EventTypes {
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, String> {
        let mut events = Vec::new();
        for name in names {
            let name = name.as_ref();
            let event = EventType::parse(name).ok_or_else(|| {
                let known: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
                format!("{name:?} is not an event type; one of {}", known.join(", "))
            })?;
            events.push(event);
        }
        events.sort();
        events.dedup();
        if events.is_empty() {
            return Err("name at least one event type".into());
        }
        Ok(Self(events))
    }

    /// As stored: comma-separated.
    pub fn from_stored(value: &str) -> Self {
        Self(value.split(',').filter_map(EventType::parse).collect())
    }

    pub fn stored(&self) -> String {
        self.names().join(",")
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|e| e.as_str()).collect()
    }

    pub fn contains(&self, event: EventType) -> bool {
        self.0.contains(&event)
    }
}

/// An endpoint's signing secret: `whsec_` and the base64 of 32 random bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

const SECRET_PREFIX: &str = "whsec_";

impl WebhookSecret {
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::rng().random();
        Self(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
    }

    /// A stored secret; `None` if it is not one (the column holds only what `generate` made).
    pub fn from_stored(value: &str) -> Option<Self> {
        let key = value.strip_prefix(SECRET_PREFIX)?;
        STANDARD.decode(key).ok().filter(|k| !k.is_empty())?;
        Some(Self(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn key(&self) -> Vec<u8> {
        STANDARD
            .decode(self.0.trim_start_matches(SECRET_PREFIX))
            .unwrap_or_default()
    }

    /// The `v1,` signature of a message: HMAC-SHA256 with the secret's bytes over
    /// `{id}.{timestamp}.{body}`, in base64.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key()) else {
            // HMAC takes a key of any length: unreachable, and an empty signature would only
            // fail verification.
            return String::from("v1,");
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

/// A message's id (`webhook-id`): `msg_` and 22 random characters.
pub fn message_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let code: String = (0..22)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("msg_{code}")
}

/// An endpoint's address: `https://` (or `http://`) with a host, no credentials in it, at most
/// 2000 characters. Where it points is checked separately (`is_public`), at registration and at
/// every delivery, since a name can point elsewhere later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUrl(String);

impl TargetUrl {
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.is_empty() || value.len() > 2000 {
            return Err("url must be 1 to 2000 characters".into());
        }
        let url = url::Url::parse(value).map_err(|_| "url must be an absolute http(s) URL")?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("url must start with https:// (or http://)".into());
        }
        if url.host().is_none() {
            return Err("url must name a host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("url must not carry credentials; the signature authenticates".into());
        }
        if url.fragment().is_some() {
            return Err("url must not have a #fragment".into());
        }
        Ok(Self(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local, shared
/// (carrier-grade NAT), unspecified, broadcast, multicast, documentation, benchmarking or
/// reserved space, in IPv4 or IPv6 (IPv4 inside IPv6 judged as IPv4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let segments = v6.segments();
            // 64:ff9b::/96, NAT64: the IPv4 address in its last 32 bits.
            let o = v6.octets();
            // An IPv4 address inside: NAT64 (64:ff9b::/96) and the deprecated IPv4-compatible
            // form (::/96) in the last 32 bits, 6to4 (2002::/16) in bits 16 to 48.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || segments[..6] == [0; 6] {
                return is_public_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            }
            if segments[0] == 0x2002 {
                return is_public_v4(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
                || (segments[0] == 0x2001 && segments[1] == 0) // Teredo 2001::/32
                || (segments[0] == 0x64 && segments[1] == 0xff9b && segments[2] == 1) // local NAT64
                || (segments[0] & 0xffc0) == 0xfec0) // site-local fec0::/10
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking 198.18.0.0/15
        || a >= 240) // reserved, and broadcast
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_not_public() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
            "::7f00:1",
            "2002:0a00:0001::1",
            "2002:7f00:0001::1",
            "2001:0:4136:e378::1",
            "64:ff9b:1::a00:1",
            "fec0::1",
        ] {
            let ip: IpAddr = internal.parse().unwrap();
            assert!(!is_public(ip), "{internal}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "64:ff9b::808:808",
        ] {
            let ip: IpAddr = public.parse().unwrap();
            assert!(is_public(ip), "{public}");
        }
    }

    #[test]
    fn target_urls_are_http_with_a_host_and_no_credentials() {
        assert!(TargetUrl::parse("https://ehr.example.com/hooks?x=1").is_ok());
        for bad in [
            "",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "/relative",
            "https://example.com/#frag",
            "javascript:alert(1)",
        ] {
            assert!(TargetUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn event_types_parse_sorted_and_once_each() {
        let types = EventTypes::parse(&["booking.cancelled", "booking.created", "booking.created"])
            .unwrap();
        assert_eq!(types.stored(), "booking.created,booking.cancelled");
        assert_eq!(EventTypes::from_stored(&types.stored()), types);
        assert!(EventTypes::parse::<&str>(&[]).is_err());
        assert!(EventTypes::parse(&["booking.eaten"]).is_err());
    }

    #[test]
    fn a_signature_is_hmac_sha256_of_id_timestamp_and_body() {
        // The Standard Webhooks specification's own example.
        let secret = WebhookSecret::from_stored("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            secret.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let fresh = WebhookSecret::generate();
        assert!(fresh.expose().starts_with("whsec_"));
        assert_eq!(fresh.key().len(), 32);
        assert_ne!(fresh, WebhookSecret::generate());
    }
}
