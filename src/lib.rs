//! clinic-booking: an appointment-booking backend for clinics.
//!
//! Layers, each importing only those below it (docs/ARCHITECTURE.md): `startup` builds the app
//! from `routes` (HTTP handlers and their extractors, with `idempotency` and `state`), which call
//! `clinic` (the clinic's use cases), which work on `db` (diesel over SQLite or PostgreSQL) with
//! `domain` types (valid by construction). `mail` sends what the outbox holds, `webhooks` the
//! webhook deliveries.
#![warn(unreachable_pub)]
// diesel's insert of a whole booking (21 columns) nests its trait checks deeper than the default.
#![recursion_limit = "256"]

pub(crate) mod abuse;
pub mod auth;
pub(crate) mod availability;
pub mod clinic;
pub mod db;
pub mod demo;
pub mod domain;
pub(crate) mod error;
pub(crate) mod idempotency;
pub mod mail;
pub(crate) mod metrics;
pub mod retention;
pub(crate) mod routes;
pub mod settings;
pub mod sms;
pub mod startup;
pub(crate) mod state;
pub(crate) mod sweeper;
pub mod telemetry;
pub mod webhooks;
pub(crate) mod workers;
