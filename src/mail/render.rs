//! Turns an outbox job and its booking into a message: subject, plain-text and HTML parts from
//! the templates in `templates/`, and the calendar invitation where the kind carries one.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::Message;
use minijinja::{context, Environment};

use super::ics::Invitation;
use crate::auth::jwt::TokenKeys;
use crate::clinic::appointments::BookingDetails;
use crate::db::outbox::MailKind;
use crate::domain::booking::{BookingReference, BookingStatus};
use crate::settings::Settings;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("templates/", $name)))),*]
    };
}

const TEMPLATES: [(&str, &str); 16] = templates!(
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
);

pub struct MailRenderer {
    env: Environment<'static>,
    from: Mailbox,
    clinic_name: String,
    clinic_address: String,
    clinic_phone: String,
    tz: Tz,
    public_base_url: String,
    tokens: TokenKeys,
}

impl MailRenderer {
    pub fn new(settings: &Settings, tokens: TokenKeys) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        // HTML templates are escaped (auto-escape follows the `.html` name); a missing value is
        // an error rather than an empty gap in a patient's mail.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Self {
            env,
            from: settings.mail.from.parse()?,
            clinic_name: settings.clinic.name.clone(),
            clinic_address: settings.clinic.address.clone(),
            clinic_phone: settings.clinic.phone.clone(),
            tz: settings.clinic.timezone,
            public_base_url: settings
                .clinic
                .public_base_url
                .trim_end_matches('/')
                .to_owned(),
            tokens,
        })
    }

    /// The message for a job, or `None` when it no longer applies (a reminder for a visit that
    /// was cancelled or has passed).
    pub fn render(
        &self,
        kind: MailKind,
        sequence: i32,
        details: &BookingDetails,
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
            MailKind::Confirmation | MailKind::Change => cancelled,
            MailKind::Cancellation => false,
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
        let local = start.with_timezone(&self.tz);
        let ctx = context! {
            patient_name => &booking.patient_name,
            reference => reference.as_str(),
            manage_url => &manage_url,
            booking_url => format!("{}/book", self.public_base_url),
            clinic => context! {
                name => &self.clinic_name,
                address => &self.clinic_address,
                phone => &self.clinic_phone,
            },
            provider => context! {
                name => &details.provider.name,
                title => &details.provider.title,
            },
            visit => context! {
                date => local.format("%A, %B %-d, %Y").to_string(),
                time => local.format("%-I:%M %p").to_string(),
                timezone => format!("{}, {}", self.tz.name(), local.format("%Z")),
            },
        };
        let name = kind.as_str();
        let subject = self
            .env
            .get_template(&format!("{name}.subject"))?
            .render(&ctx)?;
        let text = self
            .env
            .get_template(&format!("{name}.txt"))?
            .render(&ctx)?;
        let html = self
            .env
            .get_template(&format!("{name}.html"))?
            .render(&ctx)?;

        let to = Mailbox::new(
            Some(booking.patient_name.clone()),
            booking.patient_email.parse()?,
        );
        let alternative = MultiPart::alternative_plain_html(text, html);
        let body = match kind {
            MailKind::Reminder => alternative,
            MailKind::Confirmation | MailKind::Change | MailKind::Cancellation => {
                let summary = format!(
                    "Appointment with {} at {}",
                    details.provider.name, self.clinic_name
                );
                let description = format!(
                    "Booking {}. Manage it at {}",
                    reference.as_str(),
                    manage_url
                );
                let invitation = Invitation {
                    uid: format!("{}@clinic-booking", reference.as_str()),
                    sequence: u32::try_from(sequence).unwrap_or(0),
                    start,
                    end,
                    summary: &summary,
                    location: &self.clinic_address,
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
                MultiPart::mixed().multipart(alternative).singlepart(
                    Attachment::new("appointment.ics".to_owned())
                        .body(invitation.to_ics(), content_type),
                )
            }
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject.trim())
            .multipart(body)?;
        Ok(Some(message))
    }
}
