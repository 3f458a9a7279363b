//! clinic-booking: an appointment-booking backend for clinics.
//!
//! `startup` builds the HTTP application over `routes` (handlers), `appointments` (booking
//! operations), `domain` (valid-by-construction types) and `db` (diesel over SQLite or
//! PostgreSQL). `accounts` owns staff accounts and logins, `audit` the record of who changed
//! what.

pub mod abuse;
pub mod auth;
pub mod availability;
pub mod clinic;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod idempotency;
pub mod mail;
pub mod metrics;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
pub mod telemetry;
