//! The retention period (`privacy.retention_days`): once a day the server erases the patients
//! with no visit in that many days (`clinic::privacy::erase_inactive`), and the stored copies of
//! the mails sent to them. `clinic-booking erase-inactive` runs the same pass on demand. Copies
//! of the app may run it at once: a patient already erased is not found again.

use std::time::Duration;

use tokio::sync::watch;

use crate::clinic::privacy;
use crate::db::{self, Pool};
use crate::settings::MailSettings;

/// What one pass erased: patients, and files of sent mail.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub patients: usize,
    pub mail_files: usize,
}

/// One pass, blocking: erase the patients inactive for `days` days.
pub fn erase_inactive(pool: &Pool, mail: &MailSettings, days: u32) -> anyhow::Result<Swept> {
    let mut conn = pool.get()?;
    let mut swept = Swept::default();
    // Each patient's mail files go right after their erasure commits, so a later failure
    // leaves none of an erased patient's behind.
    privacy::erase_inactive(&mut conn, days, db::now(), |erasure| {
        swept.patients += 1;
        swept.mail_files +=
            crate::mail::erase_stored_copies(mail, &erasure.emails, &erasure.markers)?;
        Ok(())
    })?;
    Ok(swept)
}

pub(crate) async fn run(
    pool: Pool,
    mail: MailSettings,
    days: u32,
    mut stopped: watch::Receiver<bool>,
) {
    if days == 0 {
        return;
    }
    let mut daily = tokio::time::interval(Duration::from_secs(24 * 3600));
    daily.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*stopped.borrow() {
        tokio::select! {
            _ = daily.tick() => {}
            _ = stopped.changed() => break,
        }
        let (pool, mail) = (pool.clone(), mail.clone());
        match tokio::task::spawn_blocking(move || erase_inactive(&pool, &mail, days)).await {
            Ok(Ok(swept)) if swept.patients == 0 => {}
            Ok(Ok(swept)) => tracing::info!(
                patients = swept.patients,
                mail_files = swept.mail_files,
                retention_days = days,
                "erased patients past the retention period"
            ),
            Ok(Err(e)) => tracing::warn!(error = format!("{e:#}"), "retention pass failed"),
            Err(e) => tracing::warn!(error = %e, "retention task failed"),
        }
    }
}
