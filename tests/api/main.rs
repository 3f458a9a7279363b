//! One integration-test binary: each test starts the real application on a random port against
//! a fresh database and speaks HTTP to it. Data-behaviour tests run on SQLite always and on
//! PostgreSQL when `TEST_DATABASE_URL` is set (see `helpers.rs`).

mod helpers;
mod smtp;
mod threats;

mod audit;
mod auth;
mod bookings;
mod browse;
mod browser;
mod call_to_action;
mod durability;
mod email;
mod front_desk;
mod migrations;
mod openapi;
mod operations;
mod privacy;
mod race;
mod reschedule;
mod roles;
mod scale_out;
mod schedule;
mod shutdown;
mod validation;
