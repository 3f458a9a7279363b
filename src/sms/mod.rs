//! Text messages: the worker that sends what `text_messages` holds, through Twilio's Messages
//! API (`POST {base}/2010-04-01/Accounts/{sid}/Messages.json`, form fields `To`, `From`, `Body`,
//! HTTP basic auth with the account SID and auth token), or any provider that speaks it at
//! `sms.base_url`. Replies such as STOP are the provider's to handle: Twilio stops delivering to a
//! number that opted out and answers 21610, which parks the text as failed.

pub mod worker;

use std::time::Duration;

use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::settings::SmsSettings;

/// How long one send may take.
pub(crate) const SEND_TIMEOUT_SECONDS: u64 = 15;

/// A Messages API client.
pub(crate) struct Twilio {
    client: reqwest::Client,
    url: String,
    account_sid: String,
    auth_token: secrecy::SecretString,
    from: String,
}

/// What a send came to.
pub(crate) enum Sent {
    /// Accepted, with the provider's id for the message.
    Accepted(Option<String>),
    /// Worth another try later (no answer, 429, 5xx).
    Retry(String),
    /// Refused for good (a number that cannot take texts, or opted out): the error as the
    /// provider put it, without the number.
    Refused(String),
}

#[derive(Deserialize)]
struct Accepted {
    sid: Option<String>,
}

#[derive(Deserialize)]
struct Refusal {
    code: Option<i64>,
}

impl Twilio {
    pub(crate) fn new(settings: &SmsSettings) -> anyhow::Result<Self> {
        let base = settings.base_url.trim_end_matches('/');
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(SEND_TIMEOUT_SECONDS))
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            url: format!(
                "{base}/2010-04-01/Accounts/{}/Messages.json",
                settings.account_sid
            ),
            account_sid: settings.account_sid.clone(),
            auth_token: settings.auth_token.clone(),
            from: settings.from_number.clone(),
        })
    }

    pub(crate) async fn send(&self, to: &str, body: &str) -> Sent {
        let sent = self
            .client
            .post(&self.url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .form(&[("To", to), ("From", self.from.as_str()), ("Body", body)])
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) if e.is_timeout() => return Sent::Retry("no answer from the provider".into()),
            Err(_) => return Sent::Retry("could not reach the provider".into()),
        };
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            let sid = serde_json::from_str::<Accepted>(&text)
                .ok()
                .and_then(|a| a.sid);
            return Sent::Accepted(sid);
        }
        // The provider's code, not its message: the message may quote the number.
        let code = serde_json::from_str::<Refusal>(&text)
            .ok()
            .and_then(|r| r.code)
            .map_or(String::new(), |c| format!(" (code {c})"));
        let error = format!("the provider answered {status}{code}");
        match status.as_u16() {
            429 | 500..=599 => Sent::Retry(error),
            // The clinic's account, not the patient's number: every text would fail alike, so
            // none is given up; the log says what to fix.
            401 | 403 | 404 => {
                tracing::error!(
                    status = status.as_u16(),
                    "the SMS provider refused the account: check sms.account_sid, sms.auth_token and sms.base_url"
                );
                Sent::Retry(error)
            }
            _ => Sent::Refused(error),
        }
    }
}
