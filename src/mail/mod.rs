//! Email: the transports mail leaves through, the templates it is written from, the calendar
//! invitation it carries, and the outbox worker that delivers it.

pub(crate) mod ics;
pub mod render;
pub mod worker;

use std::time::Duration;

use anyhow::Context;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::settings::{MailSettings, MailTransportKind, SmtpTls};

/// Where mail goes: an SMTP server, or `.eml` files in a folder (development).
#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

/// How the SMTP server's certificate is checked: against the web's public roots, plus the
/// certificates in `mail.smtp_ca_file` (a relay with its own authority), for `mail.smtp_host`.
fn tls_parameters(settings: &MailSettings) -> anyhow::Result<TlsParameters> {
    let mut parameters = TlsParameters::builder(settings.smtp_host.clone());
    if !settings.smtp_ca_file.is_empty() {
        let path = &settings.smtp_ca_file;
        let pem = std::fs::read(path)
            .with_context(|| format!("mail.smtp_ca_file: cannot read {path}"))?;
        let certificate = Certificate::from_pem(&pem).map_err(|e| {
            anyhow::anyhow!("mail.smtp_ca_file: {path} is not PEM certificates: {e}")
        })?;
        parameters = parameters.add_root_certificate(certificate);
    }
    Ok(parameters.build()?)
}

impl Mailer {
    pub fn from_settings(settings: &MailSettings) -> anyhow::Result<Self> {
        match settings.transport {
            MailTransportKind::File => {
                std::fs::create_dir_all(&settings.file_dir)?;
                Ok(Self::File(AsyncFileTransport::new(&settings.file_dir)))
            }
            MailTransportKind::Smtp => {
                let host = settings.smtp_host.as_str();
                let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host);
                let builder = match settings.smtp_tls {
                    SmtpTls::None => builder,
                    SmtpTls::Starttls => builder.tls(Tls::Required(tls_parameters(settings)?)),
                    SmtpTls::Tls => builder.tls(Tls::Wrapper(tls_parameters(settings)?)),
                };
                let mut builder = builder
                    .port(settings.smtp_port)
                    .timeout(Some(Duration::from_secs(settings.smtp_timeout_seconds)));
                if !settings.smtp_username.is_empty() {
                    builder = builder.credentials(Credentials::new(
                        settings.smtp_username.clone(),
                        settings.smtp_password.expose_secret().to_owned(),
                    ));
                }
                Ok(Self::Smtp(builder.build()))
            }
        }
    }

    /// Sends one message. The error text may quote the server (and so an address): it is kept
    /// with the job for staff, never logged.
    pub async fn send(&self, message: Message) -> Result<(), String> {
        match self {
            Self::Smtp(transport) => transport
                .send(message)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Self::File(transport) => transport
                .send(message)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
        }
    }
}

/// Removes the stored copies of mails about an erased patient: with the file transport the sent
/// mails are files of ours, and an erasure must reach them too (SMTP keeps no copy here). A file
/// goes when it is addressed to one of `addresses` (whole, lower case) and names one of
/// `markers` (the patient's booking and waitlist references): a mail to an address two people
/// share, about the other one, stays. Answers how many files it removed.
pub fn erase_stored_copies(
    settings: &MailSettings,
    addresses: &[String],
    markers: &[String],
) -> std::io::Result<usize> {
    if settings.transport != crate::settings::MailTransportKind::File || addresses.is_empty() {
        return Ok(0);
    }
    let entries = match std::fs::read_dir(&settings.file_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path)?).to_lowercase();
        let to_them = addresses
            .iter()
            .any(|a| crate::db::erasure::names_address(&text, a));
        if to_them && markers.iter().any(|m| text.contains(m.as_str())) {
            std::fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}
