//! One integration-test binary: each test starts the real application on a random port against
//! a fresh database and speaks HTTP to it. Data-behaviour tests run on SQLite always and on
//! PostgreSQL when it can be reached (see `helpers.rs`). The binary has its own harness
//! (`helpers/harness.rs`): each module registers its tests with `tests!` or `both_backends!`,
//! and `main` lists the modules.

mod helpers;
mod smtp;
mod threats;

mod audit;
mod auth;
mod bookings;
mod browse;
mod browser;
mod calendar;
mod call_to_action;
mod cli;
mod client;
mod durability;
mod email;
mod fhir;
mod front_desk;
mod fuzz;
mod holds;
mod languages;
mod locations;
mod migrations;
mod openapi;
mod operations;
mod patients;
mod privacy;
mod race;
mod redelivery;
mod reports;
mod reschedule;
mod robustness;
mod roles;
mod rules;
mod scale_out;
mod schedule;
mod series;
mod shutdown;
mod test_databases;
mod texts;
mod validation;
mod visit_types;
mod waitlist;
mod webhooks;

fn main() -> std::process::ExitCode {
    helpers::harness::main(&[
        audit::tests,
        auth::tests,
        bookings::tests,
        calendar::tests,
        browse::tests,
        browser::tests,
        call_to_action::tests,
        cli::tests,
        client::tests,
        durability::tests,
        email::tests,
        fhir::tests,
        front_desk::tests,
        fuzz::tests,
        holds::tests,
        languages::tests,
        locations::tests,
        migrations::tests,
        openapi::tests,
        operations::tests,
        patients::tests,
        privacy::tests,
        race::tests,
        redelivery::tests,
        reports::tests,
        reschedule::tests,
        robustness::tests,
        roles::tests,
        rules::tests,
        scale_out::tests,
        series::tests,
        schedule::tests,
        shutdown::tests,
        test_databases::tests,
        texts::tests,
        threats::tests,
        validation::tests,
        visit_types::tests,
        waitlist::tests,
        webhooks::tests,
    ])
}
