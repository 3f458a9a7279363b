//! Turns an outbox job and its booking into a message: subject, plain-text and HTML parts from
//! the templates in `templates/`, and the calendar invitation where the kind carries one.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::Message;
use minijinja::{context, Environment};
use sha2::{Digest, Sha256};

use super::ics::{calendar_of, Invitation};
use crate::auth::jwt::{TokenKeys, WaitlistLink};
use crate::clinic::appointments::BookingDetails;
use crate::clinic::waitlist::{OfferMail, WaitlistMail};
use crate::db::outbox::MailKind;
use crate::domain::booking::{BookingReference, BookingStatus};
use crate::domain::ids::MailJobId;
use crate::domain::language::Language;
use crate::domain::waitlist::{EntryStatus, OfferStatus};
use crate::settings::Settings;

/// The templates, compiled in: each patient-facing one in English (`name`) and Spanish
/// (`es/name`, from `templates/es/`), and the staff-facing ones in English only.
macro_rules! templates {
    (patients: $($name:literal),* ; staff: $($staff:literal),* $(,)?) => {
        const PATIENT_TEMPLATES: [(&str, &str); [$($name),*].len()] =
            [$(($name, include_str!(concat!("templates/", $name)))),*];
        const SPANISH_TEMPLATES: [(&str, &str); [$($name),*].len()] =
            [$((concat!("es/", $name), include_str!(concat!("templates/es/", $name)))),*];
        const STAFF_TEMPLATES: [(&str, &str); [$($staff),*].len()] =
            [$(($staff, include_str!(concat!("templates/", $staff)))),*];
    };
}

templates!(
    patients:
    "footer.txt",
    "footer.html",
    "visit.txt",
    "visit.html",
    "confirmation.subject",
    "confirmation.txt",
    "confirmation.html",
    "change.subject",
    "change.txt",
    "change.html",
    "cancellation.subject",
    "cancellation.txt",
    "cancellation.html",
    "reminder.subject",
    "reminder.txt",
    "reminder.html",
    "waitlist_footer.txt",
    "waitlist_footer.html",
    "waitlist_wish.txt",
    "waitlist_wish.html",
    "waitlist_verify.subject",
    "waitlist_verify.txt",
    "waitlist_verify.html",
    "waitlist_joined.subject",
    "waitlist_joined.txt",
    "waitlist_joined.html",
    "waitlist_offer.subject",
    "waitlist_offer.txt",
    "waitlist_offer.html",
    "waitlist_expired.subject",
    "waitlist_expired.txt",
    "waitlist_expired.html",
    "waitlist_accepted.subject",
    "waitlist_accepted.txt",
    "waitlist_accepted.html";
    staff: "webhook_disabled.subject", "webhook_disabled.txt", "webhook_disabled.html",
);

pub struct MailRenderer {
    env: Environment<'static>,
    from: Mailbox,
    clinic_name: String,
    clinic_address: String,
    clinic_phone: String,
    public_base_url: String,
    tokens: TokenKeys,
    /// How long a waitlist offer is held (`waitlist.offer_minutes`), as the mails say it.
    offer_minutes: i64,
    /// The right-hand side of every `Message-ID` (see [`message_id_domain`]).
    message_id_domain: String,
}

impl MailRenderer {
    pub fn new(settings: &Settings, tokens: TokenKeys) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        // HTML templates are escaped (auto-escape follows the `.html` name); a missing value is
        // an error rather than an empty gap in a patient's mail.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let all = PATIENT_TEMPLATES.into_iter().chain(SPANISH_TEMPLATES);
        for (name, source) in all.chain(STAFF_TEMPLATES) {
            env.add_template(name, source)?;
        }
        let from: Mailbox = settings.mail.from.parse()?;
        let message_id_domain = message_id_domain(&from, &settings.clinic.public_base_url);
        Ok(Self {
            env,
            from,
            clinic_name: settings.clinic.name.clone(),
            clinic_address: settings.clinic.address.clone(),
            clinic_phone: settings.clinic.phone.clone(),
            public_base_url: settings
                .clinic
                .public_base_url
                .trim_end_matches('/')
                .to_owned(),
            tokens,
            offer_minutes: settings.waitlist.offer_minutes,
            message_id_domain,
        })
    }

    /// The message for job `id`, or `None` when it no longer applies (a reminder for a visit
    /// that was cancelled or has passed). Every rendering of one job carries the same
    /// `Message-ID` ([`Self::message_id`]).
    pub fn render(
        &self,
        id: MailJobId,
        kind: MailKind,
        sequence: i32,
        details: &BookingDetails,
        series: &[BookingDetails],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Message>> {
        let booking = &details.booking;
        let start = details.slot.starts_at.and_utc();
        let end = details.slot.ends_at.and_utc();
        // Mail that no longer applies: a reminder for a visit that is off or past, and a
        // confirmation or change that a retry delayed past the booking's cancellation (the
        // patient already has the cancellation; "confirmed" after it would mislead).
        let cancelled = booking.status == BookingStatus::Cancelled;
        let obsolete = match kind {
            MailKind::Reminder => booking.status != BookingStatus::Booked || start <= now,
            MailKind::Confirmation | MailKind::Change | MailKind::WaitlistAccepted => cancelled,
            MailKind::Cancellation => false,
            MailKind::WaitlistVerify
            | MailKind::WaitlistJoined
            | MailKind::WaitlistOffer
            | MailKind::WaitlistExpired
            | MailKind::WebhookDisabled => {
                anyhow::bail!("a {} mail is not about a booking", kind.as_str())
            }
        };
        if obsolete {
            return Ok(None);
        }
        let reference = BookingReference::parse(&booking.reference)
            .ok_or_else(|| anyhow::anyhow!("stored booking reference is malformed"))?;
        let token = self.tokens.issue_manage_token(&reference, end)?;
        let manage_url = format!(
            "{}/book?reference={}&token={}",
            self.public_base_url,
            reference.as_str(),
            token
        );
        // The visit's place and its wall clock: the location's, which may be another zone than
        // the clinic's head office.
        let location = &details.location;
        let tz: Tz = location.timezone.tz();
        let local = start.with_timezone(&tz);
        // Only the cancellation says why the clinic cancelled.
        let cancel_reason = match kind {
            MailKind::Cancellation => booking.cancel_reason.as_deref(),
            _ => None,
        };
        // A course of care's confirmation lists every visit (booked ones: a visit cancelled
        // before the mail went out is not announced).
        let series: Vec<&BookingDetails> = series
            .iter()
            .filter(|v| v.booking.status == BookingStatus::Booked)
            .collect();
        let language = booking.language;
        let series_visits: Vec<_> = series
            .iter()
            .map(|v| {
                let local = v.slot.starts_at.and_utc().with_timezone(&tz);
                context! {
                    date => written_date(&local, language),
                    time => written_time(&local, language),
                    reference => &v.booking.reference,
                }
            })
            .collect();
        let ctx = context! {
            series => series_visits,
            patient_name => &booking.patient_name,
            reference => reference.as_str(),
            manage_url => &manage_url,
            booking_url => format!("{}/book", self.public_base_url),
            clinic => context! {
                name => &self.clinic_name,
                address => &self.clinic_address,
                phone => &self.clinic_phone,
            },
            location => context! {
                name => &location.name,
                address => &location.address,
                phone => &location.phone,
            },
            cancel_reason => cancel_reason,
            provider => context! {
                name => &details.provider.name,
                title => &details.provider.title,
            },
            visit => context! {
                date => written_date(&local, language),
                time => written_time(&local, language),
                timezone => format!("{}, {}", tz.name(), local.format("%Z")),
                kind => details.visit_type.as_ref().map(|v| v.name.as_str()),
                minutes => (end - start).num_minutes(),
            },
        };
        let (subject, text, html) = self.parts(kind, language, &ctx)?;
        let to = Mailbox::new(
            Some(booking.patient_name.clone()),
            booking.patient_email.parse()?,
        );
        let alternative = MultiPart::alternative_plain_html(text, html);
        let body = match kind {
            MailKind::Reminder
            | MailKind::WaitlistVerify
            | MailKind::WaitlistJoined
            | MailKind::WaitlistOffer
            | MailKind::WaitlistExpired
            | MailKind::WebhookDisabled => alternative,
            MailKind::Confirmation
            | MailKind::Change
            | MailKind::Cancellation
            | MailKind::WaitlistAccepted => {
                let (summary, place, description) = visit_event_texts(details, &manage_url);
                let invitation = Invitation {
                    uid: format!("{}@clinic-booking", reference.as_str()),
                    sequence: u32::try_from(sequence).unwrap_or(0),
                    start,
                    end,
                    summary: &summary,
                    location: &place,
                    description: &description,
                    organizer_email: self.from.email.as_ref(),
                    organizer_name: &self.clinic_name,
                    attendee_email: &booking.patient_email,
                    cancelled: kind == MailKind::Cancellation,
                    stamp: now,
                };
                let content_type = ContentType::parse(&format!(
                    "text/calendar; charset=utf-8; method={}",
                    invitation.method()
                ))?;
                // A course's confirmation: one calendar with an event per visit, each under its
                // own booking's UID (so a later change or cancellation of one visit updates it).
                let ics = if kind == MailKind::Confirmation && !series.is_empty() {
                    let uids: Vec<String> = series
                        .iter()
                        .map(|v| format!("{}@clinic-booking", v.booking.reference))
                        .collect();
                    let visits: Vec<Invitation> = series
                        .iter()
                        .zip(&uids)
                        .map(|(v, uid)| Invitation {
                            uid: uid.clone(),
                            sequence: 0,
                            start: v.slot.starts_at.and_utc(),
                            end: v.slot.ends_at.and_utc(),
                            ..invitation.clone()
                        })
                        .collect();
                    calendar_of(&visits)
                } else {
                    invitation.to_ics()
                };
                MultiPart::mixed().multipart(alternative).singlepart(
                    Attachment::new("appointment.ics".to_owned()).body(ics, content_type),
                )
            }
        };
        let message = Message::builder()
            .message_id(Some(self.message_id(id, kind, reference.as_str())))
            .from(self.from.clone())
            .to(to)
            .subject(subject.trim())
            .multipart(body)?;
        Ok(Some(message))
    }

    /// The subject, plain text and HTML of a `kind` mail, from its templates.
    fn parts(
        &self,
        kind: MailKind,
        language: Language,
        ctx: &minijinja::Value,
    ) -> anyhow::Result<(String, String, String)> {
        let name = kind.as_str();
        let folder = match language {
            Language::En => "",
            Language::Es => "es/",
        };
        let render = |part: &str| {
            self.env
                .get_template(&format!("{folder}{name}.{part}"))?
                .render(ctx)
        };
        Ok((render("subject")?, render("txt")?, render("html")?))
    }

    /// A waitlist link (see `WaitlistLink`) on the patient's pages.
    fn waitlist_url(
        &self,
        link: WaitlistLink,
        subject: &str,
        expires: DateTime<Utc>,
        answer: Option<&str>,
    ) -> anyhow::Result<String> {
        let token = self.tokens.issue_waitlist_token(link, subject, expires)?;
        let name = match link {
            WaitlistLink::Entry => "entry",
            WaitlistLink::Verify => "verify",
            WaitlistLink::Offer => "offer",
        };
        let answer = answer.map_or(String::new(), |a| format!("&answer={a}"));
        Ok(format!(
            "{}/waitlist?{name}={token}{answer}",
            self.public_base_url
        ))
    }

    /// The message for waitlist job `id` (verification, "you are on the list", an offer, its
    /// expiry), or `None` when it no longer applies: a verification for an entry that counts
    /// already or left, "on the list" for one that left, an offer decided before it went out.
    pub fn render_waitlist(
        &self,
        id: MailJobId,
        kind: MailKind,
        mail: &WaitlistMail,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Message>> {
        let entry = &mail.entry;
        let offered = mail.offer.as_ref().map(|o| o.offer.status);
        let obsolete = match kind {
            MailKind::WaitlistVerify => entry.status != EntryStatus::Unverified,
            MailKind::WaitlistJoined => entry.status == EntryStatus::Removed,
            MailKind::WaitlistOffer => {
                offered != Some(OfferStatus::Offered)
                    || mail
                        .offer
                        .as_ref()
                        .is_some_and(|o| o.offer.expires_at.and_utc() <= now)
            }
            MailKind::WaitlistExpired => mail.offer.is_none(),
            MailKind::Confirmation
            | MailKind::Change
            | MailKind::Cancellation
            | MailKind::Reminder
            | MailKind::WaitlistAccepted
            | MailKind::WebhookDisabled => {
                anyhow::bail!("a {} mail is not about a waitlist entry", kind.as_str())
            }
        };
        if obsolete {
            return Ok(None);
        }
        // Links work until a day after the last date the entry asks for (an offer's, a week after
        // it ran out: a late click gets a clear page, not a broken link).
        let entry_ends = entry
            .latest_date
            .succ_opt()
            .unwrap_or(entry.latest_date)
            .and_hms_opt(23, 59, 59)
            .unwrap_or_default()
            .and_utc();
        let entry_url =
            self.waitlist_url(WaitlistLink::Entry, &entry.reference, entry_ends, None)?;
        let verify_url =
            self.waitlist_url(WaitlistLink::Verify, &entry.reference, entry_ends, None)?;
        let language = entry.language;
        let date = |d: chrono::NaiveDate| {
            d.format_localized(language.date_format(), language.locale())
                .to_string()
        };
        let preferences = entry.preferences();
        let words = WishWords::of(language);
        let days: Vec<&str> = preferences
            .days()
            .into_iter()
            .map(|d| words.day(d))
            .collect();
        let parts: Vec<&str> = preferences
            .parts()
            .into_iter()
            .map(|p| words.part(p))
            .collect();
        let wish = context! {
            kind => &mail.visit_type.name,
            minutes => mail.visit_type.duration_minutes,
            with => mail.provider.as_ref().map_or(words.any_provider.to_owned(), |p| p.name.clone()),
            place => mail.location.as_ref().map_or(words.any_location.to_owned(), |l| l.name.clone()),
            from => date(entry.earliest_date),
            until => date(entry.latest_date),
            days => if days.len() == 7 { words.any_day.to_owned() } else { days.join(", ") },
            parts => if parts.len() == 3 { words.any_time.to_owned() } else { parts.join(", ") },
            move_booking => &mail.move_booking,
        };
        let clinic = context! {
            name => &self.clinic_name,
            address => &self.clinic_address,
            phone => &self.clinic_phone,
        };
        let mut ctx = context! {
            patient_name => &entry.patient_name,
            reference => &entry.reference,
            clinic => clinic,
            wish => wish,
            entry_url => entry_url,
            verify_url => verify_url,
            offer_minutes => self.offer_minutes,
            booking_url => format!("{}/book", self.public_base_url),
        };
        if let Some(OfferMail {
            offer,
            provider,
            location,
        }) = &mail.offer
        {
            let tz: Tz = location.timezone.tz();
            let local = offer.starts_at.and_utc().with_timezone(&tz);
            let until = offer.expires_at.and_utc().with_timezone(&tz);
            let expires = offer.expires_at.and_utc() + chrono::Duration::days(7);
            let subject = offer.id.to_string();
            let offer_ctx = context! {
                visit => context! {
                    date => written_date(&local, language),
                    time => written_time(&local, language),
                    timezone => format!("{}, {}", tz.name(), local.format("%Z")),
                    kind => &mail.visit_type.name,
                    minutes => (offer.ends_at - offer.starts_at).num_minutes(),
                },
                provider => context! { name => &provider.name, title => &provider.title },
                location => context! { name => &location.name, address => &location.address },
                offer => context! { until => offer_until(&until, language) },
                accept_url => self.waitlist_url(WaitlistLink::Offer, &subject, expires, Some("accept"))?,
                decline_url => self.waitlist_url(WaitlistLink::Offer, &subject, expires, Some("decline"))?,
            };
            ctx = context! { ..offer_ctx, ..ctx };
        }
        let (subject, text, html) = self.parts(kind, language, &ctx)?;
        let to = Mailbox::new(
            Some(entry.patient_name.clone()),
            entry.patient_email.parse()?,
        );
        let message = Message::builder()
            .message_id(Some(self.message_id(id, kind, &entry.reference)))
            .from(self.from.clone())
            .to(to)
            .subject(subject.trim())
            .multipart(MultiPart::alternative_plain_html(text, html))?;
        Ok(Some(message))
    }

    /// The admins' mail about a webhook endpoint turned off for failing: which, why, and what
    /// to do. `None` when there is no active admin to write to.
    pub fn render_webhook_disabled(
        &self,
        id: MailJobId,
        endpoint: &crate::db::webhooks::Endpoint,
        admins: &[String],
    ) -> anyhow::Result<Option<Message>> {
        if admins.is_empty() || endpoint.active {
            return Ok(None);
        }
        let ctx = context! {
            clinic => context! { name => &self.clinic_name },
            endpoint => context! {
                id => endpoint.id.get(),
                url => &endpoint.url,
                reason => endpoint.disabled_reason.as_deref().unwrap_or("it kept failing"),
            },
            admin_url => format!("{}/docs/", self.public_base_url),
        };
        let (subject, text, html) = self.parts(MailKind::WebhookDisabled, Language::En, &ctx)?;
        let mut builder = Message::builder()
            .message_id(Some(self.message_id(
                id,
                MailKind::WebhookDisabled,
                &endpoint.id.to_string(),
            )))
            .from(self.from.clone())
            .subject(subject.trim());
        for admin in admins {
            builder = builder.to(Mailbox::new(None, admin.parse()?));
        }
        Ok(Some(builder.multipart(
            MultiPart::alternative_plain_html(text, html),
        )?))
    }

    /// The `Message-ID` of job `id`'s mail, e.g. `<42.confirmation.9f2c…@clinic.example>`: the
    /// job's id and kind, a digest of them with the booking's reference, and the sender's
    /// domain. Every attempt at one job renders the same id, so a mail sent again after a crash
    /// (accepted by the server, but not yet marked sent) is a duplicate that mail clients and
    /// relays recognise and drop. The reference in the digest tells apart jobs with the same id
    /// in different databases (a fresh install, staging); it is hashed, not shown, and nothing
    /// of the patient goes in.
    fn message_id(&self, id: MailJobId, kind: MailKind, reference: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"clinic-booking Message-ID\0");
        hasher.update(id.get().to_be_bytes());
        hasher.update(kind.as_str().as_bytes());
        hasher.update(b"\0");
        hasher.update(reference.as_bytes());
        let digest = hex::encode(&hasher.finalize()[..12]);
        format!(
            "<{}.{}.{digest}@{}>",
            id.get(),
            kind.as_str(),
            self.message_id_domain
        )
    }
}

/// The domain a `Message-ID` ends with: the sender's (`mail.from`), the owner of the name space
/// relays de-duplicate in; failing that (an internationalized domain would need encoding the
/// header cannot carry), the host of `clinic.public_base_url`; failing that,
/// `clinic-booking.invalid`, a name that is nobody's.
fn message_id_domain(from: &Mailbox, public_base_url: &str) -> String {
    let plain = |domain: &str| {
        !domain.is_empty()
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    };
    let sender = from.email.domain();
    if plain(sender) {
        return sender.to_ascii_lowercase();
    }
    let host = public_base_url
        .split_once("://")
        .map_or(public_base_url, |(_, rest)| rest)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
    let host = host.split(':').next().unwrap_or_default();
    if plain(host) {
        return host.to_ascii_lowercase();
    }
    "clinic-booking.invalid".to_owned()
}

/// A visit's calendar event, in its booking's language: the summary ("New-patient evaluation
/// with Dr. Rivera at Desert Spine"), the place (calendars show LOCATION as where to go: the
/// name, then the address) and the description (the reference and the manage link).
pub(crate) fn visit_event_texts(
    details: &BookingDetails,
    manage_url: &str,
) -> (String, String, String) {
    let language = details.booking.language;
    let location = &details.location;
    let (with, at) = match language {
        Language::En => ("with", "at"),
        Language::Es => ("con", "en"),
    };
    let kind = match (&details.visit_type, language) {
        (Some(v), _) => v.name.as_str(),
        (None, Language::En) => "Appointment",
        (None, Language::Es) => "Cita",
    };
    let summary = format!(
        "{kind} {with} {} {at} {}",
        details.provider.name, location.name
    );
    let place = if location.address.is_empty() {
        location.name.clone()
    } else {
        format!("{}, {}", location.name, location.address)
    };
    let reference = &details.booking.reference;
    let description = match language {
        Language::En => format!("Booking {reference}. Manage it at {manage_url}"),
        Language::Es => format!("Reserva {reference}. Adminístrela en {manage_url}"),
    };
    (summary, place, description)
}

/// A visit's date as the patient reads it: "Tuesday, December 22, 2026" or "martes, 22 de
/// diciembre de 2026".
fn written_date<Z: chrono::TimeZone>(local: &DateTime<Z>, language: Language) -> String
where
    Z::Offset: std::fmt::Display,
{
    local
        .format_localized(language.date_format(), language.locale())
        .to_string()
}

/// A visit's time: "9:00 AM" or "9:00 a. m.".
fn written_time<Z: chrono::TimeZone>(local: &DateTime<Z>, language: Language) -> String
where
    Z::Offset: std::fmt::Display,
{
    local
        .format_localized(language.time_format(), language.locale())
        .to_string()
}

/// Until when an offer holds its time: "2:15 PM on Tuesday, December 22" or "2:15 p. m. del
/// martes, 22 de diciembre".
fn offer_until<Z: chrono::TimeZone>(until: &DateTime<Z>, language: Language) -> String
where
    Z::Offset: std::fmt::Display,
{
    let format = match language {
        Language::En => "%-I:%M %p on %A, %B %-d",
        Language::Es => "%-I:%M %p del %A, %-d de %B",
    };
    until
        .format_localized(format, language.locale())
        .to_string()
}

/// The words a waitlist wish is told in, beyond its names.
struct WishWords {
    any_provider: &'static str,
    any_location: &'static str,
    any_day: &'static str,
    any_time: &'static str,
    days: [&'static str; 7],
    parts: [&'static str; 3],
}

impl WishWords {
    fn of(language: Language) -> Self {
        match language {
            Language::En => Self {
                any_provider: "any provider",
                any_location: "any of our locations",
                any_day: "any day",
                any_time: "any time of day",
                days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                parts: ["morning", "afternoon", "evening"],
            },
            Language::Es => Self {
                any_provider: "cualquier proveedor",
                any_location: "cualquiera de nuestras sedes",
                any_day: "cualquier día",
                any_time: "a cualquier hora del día",
                days: ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"],
                parts: ["mañana", "tarde", "noche"],
            },
        }
    }

    /// A weekday (by its API name, `mon`…) in these words.
    fn day(&self, api_name: &str) -> &'static str {
        crate::domain::waitlist::WEEKDAY_NAMES
            .iter()
            .position(|d| *d == api_name)
            .map_or("", |i| self.days[i])
    }

    /// A part of the day (`morning`, `afternoon`, `evening`) in these words.
    fn part(&self, api_name: &str) -> &'static str {
        ["morning", "afternoon", "evening"]
            .iter()
            .position(|p| *p == api_name)
            .map_or("", |i| self.parts[i])
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::Path;

    use chrono::{NaiveDate, NaiveDateTime, TimeZone};
    use secrecy::SecretString;

    use super::*;
    use crate::db::bookings::Booking;
    use crate::db::locations::Location;
    use crate::db::providers::Provider;
    use crate::db::slots::Slot;
    use crate::domain::booking::BookingSource;
    use crate::domain::ids::{BookingId, ProviderId, SlotId};
    use crate::domain::slot::SlotStatus;

    /// The tags and values of a template, with the Spanish folder left out of include names.
    fn skeleton(source: &str) -> Vec<String> {
        let mut parts = Vec::new();
        for (open, close) in [("{{", "}}"), ("{%", "%}")] {
            let mut rest = source;
            while let Some(at) = rest.find(open) {
                let end = rest[at..].find(close).map_or(rest.len(), |e| at + e + 2);
                parts.push(rest[at..end].replace("\"es/", "\""));
                rest = &rest[end..];
            }
        }
        // A sentence may put its values in another order in Spanish.
        parts.sort();
        parts
    }

    #[test]
    fn every_patient_mail_is_written_in_spanish_too_with_the_same_values() {
        let spanish: std::collections::HashMap<&str, &str> = SPANISH_TEMPLATES
            .iter()
            .map(|(name, source)| (name.trim_start_matches("es/"), *source))
            .collect();
        for (name, source) in PATIENT_TEMPLATES {
            let twin = spanish
                .get(name)
                .unwrap_or_else(|| panic!("{name} has no Spanish version in templates/es/"));
            assert!(!twin.trim().is_empty(), "es/{name} is empty");
            assert_eq!(
                skeleton(twin),
                skeleton(source),
                "es/{name} uses other values or tags"
            );
        }
        assert_eq!(spanish.len(), PATIENT_TEMPLATES.len());
    }

    const PATIENT_NAME: &str = "Ada Lovelace";
    const PATIENT_EMAIL: &str = "ada.lovelace@patients.example";
    const REFERENCE: &str = "BK-7Q2M9XA4KD";

    fn renderer() -> MailRenderer {
        let settings = Settings::load_from(Path::new("config"), "default").expect("defaults");
        let tokens = TokenKeys::new(
            &SecretString::from("a-secret-of-sufficient-length-000000".to_owned()),
            30,
        );
        MailRenderer::new(&settings, tokens).expect("renderer")
    }

    fn at(day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2030, 1, day)
            .and_then(|d| d.and_hms_opt(hour, 0, 0))
            .expect("a time")
    }

    fn details() -> BookingDetails {
        BookingDetails {
            booking: Booking {
                id: BookingId::new(7),
                reference: REFERENCE.to_owned(),
                slot_id: SlotId::new(3),
                patient_name: PATIENT_NAME.to_owned(),
                patient_email: PATIENT_EMAIL.to_owned(),
                patient_phone: None,
                patient_date_of_birth: None,
                reason: None,
                source: BookingSource::named(BookingSource::WEBSITE),
                status: BookingStatus::Booked,
                created_at: at(1, 9),
                updated_at: at(1, 9),
                concern_area: None,
                concern_onset: None,
                red_flags: None,
                needs_review: false,
                visit_type_id: None,
                series_id: None,
                ends_at: None,
                cancel_reason: None,
                sms_consent: false,
                patient_id: None,
                cancelled_at: None,
                language: Language::En,
            },
            slot: Slot {
                id: SlotId::new(3),
                provider_id: ProviderId::new(1),
                starts_at: at(20, 16),
                ends_at: at(20, 17),
                status: SlotStatus::Busy,
                visit_type: None,
                created_at: at(1, 8),
                location_id: None,
                hold_id: None,
                held_until: None,
            },
            provider: Provider {
                id: ProviderId::new(1),
                name: "Dr. Grace Hopper".to_owned(),
                title: "MD".to_owned(),
                specialty: "Pain medicine".to_owned(),
                bio: String::new(),
                active: true,
                created_at: at(1, 8),
                updated_at: at(1, 8),
            },
            visit_type: None,
            location: Location {
                id: crate::domain::ids::LocationId::new(1),
                name: "Desert Spine & Pain Clinic".to_owned(),
                address: "4410 N 7th St, Phoenix, AZ 85014".to_owned(),
                phone: "+1 (602) 555-0134".to_owned(),
                timezone: crate::domain::location::TimeZone::new(chrono_tz::America::Phoenix),
                active: true,
                created_at: at(1, 8),
                updated_at: at(1, 8),
            },
        }
    }

    fn message_id(renderer: &MailRenderer, id: i32, kind: MailKind, now: NaiveDateTime) -> String {
        let message = renderer
            .render(
                MailJobId::new(id),
                kind,
                0,
                &details(),
                &[],
                Utc.from_utc_datetime(&now),
            )
            .expect("rendered")
            .expect("a mail that applies");
        message
            .headers()
            .get_raw("Message-ID")
            .expect("a Message-ID")
            .to_owned()
    }

    #[test]
    fn every_attempt_at_a_job_carries_the_same_message_id() {
        let renderer = renderer();
        for kind in MailKind::ABOUT_BOOKINGS {
            let first = message_id(&renderer, 42, kind, at(1, 9));
            let retried = message_id(&renderer, 42, kind, at(2, 14));
            assert_eq!(first, retried, "{kind:?}");
            // And another renderer built from the same settings (the next start) agrees.
            assert_eq!(
                first,
                message_id(&super::tests::renderer(), 42, kind, at(3, 8))
            );
        }
    }

    #[test]
    fn different_jobs_carry_different_message_ids() {
        let renderer = renderer();
        let now = at(1, 9);
        let ids: Vec<String> = [
            (1, MailKind::Confirmation),
            (2, MailKind::Reminder),
            (3, MailKind::Change),
            (4, MailKind::Reminder),
            (5, MailKind::Cancellation),
            // The same number in another kind (and so another table's history) differs too.
            (1, MailKind::Reminder),
        ]
        .into_iter()
        .map(|(id, kind)| message_id(&renderer, id, kind, now))
        .collect();
        let distinct: HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len(), "{ids:?}");
    }

    #[test]
    fn a_message_id_is_well_formed_and_names_nothing_of_the_patient() {
        let id = message_id(&renderer(), 42, MailKind::Confirmation, at(1, 9));
        // The demo sender is appointments@clinic.example.
        assert!(id.starts_with("<42.confirmation."), "{id}");
        assert!(id.ends_with("@clinic.example>"), "{id}");
        assert!(id.is_ascii() && !id.contains(char::is_whitespace), "{id}");
        assert_eq!(id.matches('@').count(), 1, "{id}");
        // Written as it is: on one line, neither folded nor encoded.
        let message = renderer()
            .render(
                MailJobId::new(42),
                MailKind::Confirmation,
                0,
                &details(),
                &[],
                Utc.from_utc_datetime(&at(1, 9)),
            )
            .expect("rendered")
            .expect("a mail that applies");
        let formatted = String::from_utf8(message.formatted()).expect("UTF-8");
        let header = format!("Message-ID: {id}");
        assert!(formatted.lines().any(|l| l == header), "{formatted}");
        let lower = id.to_ascii_lowercase();
        for private in [
            PATIENT_NAME,
            "ada",
            "lovelace",
            PATIENT_EMAIL,
            REFERENCE,
            "7q2m9xa4kd",
        ] {
            assert!(
                !lower.contains(&private.to_ascii_lowercase()),
                "{id} names {private}"
            );
        }
    }

    #[test]
    fn the_message_id_domain_is_the_senders_or_a_plain_fallback() {
        let mailbox = |address: &str| -> Mailbox { address.parse().expect("a mailbox") };
        let base = "https://book.clinic.example:8443/widget";
        assert_eq!(
            message_id_domain(&mailbox("Clinic <appointments@Mail.Clinic.example>"), base),
            "mail.clinic.example"
        );
        // A non-ASCII domain would need encoding the header cannot carry: the site's host.
        let idn = mailbox("appointments@klinik-müller.example");
        assert_eq!(message_id_domain(&idn, base), "book.clinic.example");
        assert_eq!(
            message_id_domain(&idn, "http://[::1]:8080"),
            "clinic-booking.invalid"
        );
    }
}
