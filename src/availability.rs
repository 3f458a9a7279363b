//! A short-lived cache of the free-slot lists patients browse (`GET /api/v1/slots`) and of the
//! call to action's offer (`GET /api/v1/schedule-appointment`).
//!
//! When an article or a campaign goes out, thousands of visitors load the same button and ask
//! for the same few weeks of the same providers; each answer is a database read and up to some
//! 25 KiB of JSON. This keeps the serialized answer for at most `http.availability_cache_ms`
//! and throws it away as soon as anything may have changed:
//!
//! - every state-changing request this process answers (any method but GET, HEAD and OPTIONS)
//!   moves a generation counter on when it ends (`invalidate_after_writes`), and an entry filled
//!   under an older generation is never served. The generation is read *before* the database, so
//!   an answer read while a write was committing is dropped rather than kept;
//! - a change made elsewhere (another copy of the server behind the same database, the CLI) is
//!   seen after at most the time to live;
//! - an entry whose earliest slot has started is not served (a fresh read would leave it out).
//!
//! A stale list costs nothing worse than what a slow patient meets anyway: claiming a slot is
//! the atomic write in `db::slots::claim`, and a slot someone else took answers 409.

use crate::clinic::locations::Directory;
use crate::domain::ids::{LocationId, ProviderId, VisitTypeId};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use chrono::NaiveDateTime;
use quick_cache::sync::Cache;
use quick_cache::Weighter;

/// Bytes of JSON kept at most, over all entries.
const CAPACITY_BYTES: u64 = 4 * 1024 * 1024;
/// Answers larger than this (long windows with thousands of slots) are not kept.
const LARGEST_ENTRY_BYTES: usize = 256 * 1024;

/// What a kept answer depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum AnswerKey {
    /// A list of free slots: provider (or all), visit type, location, the window asked for,
    /// and the limit.
    Window {
        provider_id: Option<ProviderId>,
        visit_type_id: Option<VisitTypeId>,
        location_id: Option<LocationId>,
        from: NaiveDateTime,
        to: NaiveDateTime,
        limit: i64,
    },
    /// The call to action's offer: the earliest free slots from now on (of one provider or
    /// visit type, or any), how many, and the `source` its booking hints repeat.
    Offer {
        provider_id: Option<ProviderId>,
        visit_type_id: Option<VisitTypeId>,
        location_id: Option<LocationId>,
        visit_type: Option<String>,
        limit: usize,
        source: Option<String>,
    },
}

#[derive(Clone)]
struct Entry {
    generation: u64,
    filled_at: Instant,
    /// Start of the earliest slot in the list, if any.
    first_start: Option<NaiveDateTime>,
    body: Bytes,
}

#[derive(Clone)]
struct ByLength;

impl Weighter<AnswerKey, Entry> for ByLength {
    fn weight(&self, _key: &AnswerKey, entry: &Entry) -> u64 {
        entry.body.len().max(1) as u64
    }
}

/// Serialized free-slot lists, shared by the HTTP workers of one process.
pub(crate) struct AvailabilityCache {
    generation: AtomicU64,
    time_to_live: Duration,
    entries: Option<Cache<AnswerKey, Entry, ByLength>>,
    /// The clinic's locations as the lists show them, with the generation and time they were
    /// read (see `directory`).
    directory: parking_lot::Mutex<Option<(u64, Instant, Arc<Directory>)>>,
}

/// How long the locations a list shows may be reused when nothing changed in this process. They
/// change a few times a year; reading them was one of the three round trips of a list that is
/// read from the database every time (PostgreSQL, issue 20).
const DIRECTORY_TIME_TO_LIVE: Duration = Duration::from_secs(1);

impl AvailabilityCache {
    /// A cache keeping answers for `time_to_live`; zero turns it off.
    pub(crate) fn new(time_to_live: Duration) -> Self {
        let entries =
            (!time_to_live.is_zero()).then(|| Cache::with_weighter(256, CAPACITY_BYTES, ByLength));
        Self {
            generation: AtomicU64::new(0),
            time_to_live,
            entries,
            directory: parking_lot::Mutex::new(None),
        }
    }

    /// The clinic's locations for the free-slot lists and the call to action, read by `load` at
    /// most once a second, and again after any state-changing request this process answered
    /// (the same generation as the lists'); whatever the lists' own time to live, even none. A
    /// location another copy of the server changed shows within the second.
    pub(crate) fn directory<E>(
        &self,
        load: impl FnOnce() -> Result<Directory, E>,
    ) -> Result<Arc<Directory>, E> {
        let generation = self.generation();
        if let Some((kept_at, filled_at, directory)) = &*self.directory.lock() {
            if *kept_at == generation && filled_at.elapsed() < DIRECTORY_TIME_TO_LIVE {
                return Ok(directory.clone());
            }
        }
        let directory = Arc::new(load()?);
        *self.directory.lock() = Some((generation, Instant::now(), directory.clone()));
        Ok(directory)
    }

    /// The generation to pass to `insert`: read it before reading the database.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Forgets every list: something may have changed.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The kept answer for `key`, if it is still what a fresh read at `now` would give.
    pub(crate) fn get(&self, key: &AnswerKey, now: NaiveDateTime) -> Option<Bytes> {
        let entry = self.entries.as_ref()?.get(key)?;
        let fresh = entry.generation == self.generation()
            && entry.filled_at.elapsed() < self.time_to_live
            && entry.first_start.is_none_or(|start| start > now);
        fresh.then_some(entry.body)
    }

    /// Keeps `body`, read from the database after `generation` was read.
    pub(crate) fn insert(
        &self,
        key: AnswerKey,
        generation: u64,
        first_start: Option<NaiveDateTime>,
        body: Bytes,
    ) {
        let Some(entries) = &self.entries else {
            return;
        };
        if body.len() > LARGEST_ENTRY_BYTES || generation != self.generation() {
            return;
        }
        entries.insert(
            key,
            Entry {
                generation,
                filled_at: Instant::now(),
                first_start,
                body,
            },
        );
    }
}

/// Moves the cache's generation on when a state-changing request ends, however it ends (the
/// guard also fires when the client goes away and the request is dropped).
pub(crate) async fn invalidate_after_writes(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let guard = match *request.method() {
        Method::GET | Method::HEAD | Method::OPTIONS => None,
        _ => request
            .app_data::<web::Data<AvailabilityCache>>()
            .map(|cache| Invalidate(cache.clone().into_inner())),
    };
    let response = next.call(request).await;
    drop(guard);
    response
}

struct Invalidate(Arc<AvailabilityCache>);

impl Drop for Invalidate {
    fn drop(&mut self) {
        self.0.invalidate();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> AnswerKey {
        let at = |h| {
            chrono::NaiveDate::from_ymd_opt(2030, 1, 2)
                .and_then(|d| d.and_hms_opt(h, 0, 0))
                .expect("valid")
        };
        AnswerKey::Window {
            provider_id: Some(ProviderId::new(1)),
            visit_type_id: None,
            location_id: None,
            from: at(0),
            to: at(23),
            limit: 500,
        }
    }

    fn now() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2030, 1, 1)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .expect("valid")
    }

    #[test]
    fn serves_what_it_kept_until_something_changes() {
        let cache = AvailabilityCache::new(Duration::from_secs(60));
        let generation = cache.generation();
        cache.insert(key(), generation, None, Bytes::from_static(b"[]"));
        assert_eq!(cache.get(&key(), now()).as_deref(), Some(&b"[]"[..]));
        cache.invalidate();
        assert!(cache.get(&key(), now()).is_none());
    }

    #[test]
    fn drops_an_answer_read_while_a_write_ended() {
        let cache = AvailabilityCache::new(Duration::from_secs(60));
        let generation = cache.generation();
        cache.invalidate();
        cache.insert(key(), generation, None, Bytes::from_static(b"[]"));
        assert!(cache.get(&key(), now()).is_none());
    }

    #[test]
    fn does_not_serve_a_list_whose_first_slot_has_started() {
        let cache = AvailabilityCache::new(Duration::from_secs(60));
        let start = now() + chrono::Duration::minutes(1);
        cache.insert(
            key(),
            cache.generation(),
            Some(start),
            Bytes::from_static(b"[1]"),
        );
        assert!(cache.get(&key(), now()).is_some());
        assert!(cache.get(&key(), start).is_none());
    }

    #[test]
    fn expires_and_can_be_off() {
        let cache = AvailabilityCache::new(Duration::from_millis(1));
        cache.insert(key(), cache.generation(), None, Bytes::from_static(b"[]"));
        std::thread::sleep(Duration::from_millis(5));
        assert!(cache.get(&key(), now()).is_none());
        let off = AvailabilityCache::new(Duration::ZERO);
        off.insert(key(), off.generation(), None, Bytes::from_static(b"[]"));
        assert!(off.get(&key(), now()).is_none());
    }

    #[test]
    fn locations_are_read_again_after_a_change_even_with_the_lists_cache_off() {
        let cache = AvailabilityCache::new(Duration::ZERO);
        let mut reads = 0;
        let mut read = || -> Result<Directory, ()> {
            reads += 1;
            Ok(Directory::of_locations(Vec::new()))
        };
        cache.directory(&mut read).expect("read");
        cache.directory(&mut read).expect("kept");
        cache.invalidate();
        cache.directory(&mut read).expect("read again");
        assert_eq!(reads, 2);
        assert!(cache.directory(|| Err::<Directory, _>("failed")).is_ok());
    }
}
