//! The `clinic-booking` command as a newcomer meets it: help that points to the settings, and
//! failures told in plain text on standard error, naming the setting to change.

use std::path::Path;
use std::process::{Command, Output};

crate::tests! {
    sync: [
        serve_help_points_to_the_settings_and_config,
        create_user_help_describes_each_flag,
        a_port_in_use_is_named_in_plain_text_on_stderr,
        a_sqlite_url_in_a_missing_directory_is_refused,
        the_default_data_directory_is_created_on_first_start,
        an_invalid_setting_names_its_variable,
        a_database_that_cannot_be_opened_names_its_url,
    ],
}

/// The binary, run in `workdir` with none of this environment's settings (nor colour wishes):
/// what a fresh checkout with no setup gets.
fn clinic_booking(workdir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_clinic-booking"));
    command.current_dir(workdir);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("APP_") || name == "NO_COLOR" || name == "RUST_LOG" {
            command.env_remove(&*name);
        }
    }
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("run clinic-booking")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Failed, with plain text only on both streams (they are pipes here, not a terminal).
fn assert_failed_plainly(output: &Output) {
    assert!(
        !output.status.success(),
        "expected a failure; stdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
    for (stream, text) in [("stdout", stdout(output)), ("stderr", stderr(output))] {
        assert!(
            !text.contains('\u{1b}'),
            "colour codes on {stream}, which is not a terminal:\n{text:?}"
        );
    }
}

fn serve_help_points_to_the_settings_and_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(clinic_booking(dir.path()).args(["serve", "--help"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let help = stdout(&output);
    for expected in [
        "config/default.toml",
        "config/production.toml",
        "APP_ENV",
        "APP__SECTION__KEY",
        "APP__SERVER__HOST",
        "APP__SERVER__PORT",
        "APP__DATABASE__URL",
        "APP__AUTH__JWT_SECRET",
        "README",
    ] {
        assert!(
            help.contains(expected),
            "`serve --help` lacks {expected}:\n{help}"
        );
    }
    assert!(
        !help.contains('\u{1b}'),
        "colour codes in piped help:\n{help:?}"
    );

    // The short help says the same, and the top level says where to look.
    let short = stdout(&run(clinic_booking(dir.path()).args(["serve", "-h"])));
    assert!(short.contains("APP__SERVER__PORT"), "{short}");
    let top = stdout(&run(clinic_booking(dir.path()).arg("--help")));
    assert!(top.contains("serve --help"), "{top}");
}

fn create_user_help_describes_each_flag() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(clinic_booking(dir.path()).args(["create-user", "--help"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let help = stdout(&output);
    let described = |flag: &str| {
        // clap's long help: the flag on one line, its text indented on the next.
        let mut lines = help
            .lines()
            .skip_while(|l| !l.trim_start().starts_with(flag));
        lines.next().is_some() && lines.next().is_some_and(|text| !text.trim().is_empty())
    };
    assert!(
        described("--email <ADDRESS>"),
        "--email has no help text:\n{help}"
    );
    assert!(
        described("--role <ROLE>"),
        "--role has no help text:\n{help}"
    );
    for role in ["admin:", "front_desk:", "provider:"] {
        assert!(
            help.contains(role),
            "--role does not describe {role}\n{help}"
        );
    }
    assert!(
        described("--provider <ID>"),
        "--provider has no help text:\n{help}"
    );
    assert!(help.contains("standard input"), "{help}");
    assert!(help.contains("12 characters"), "{help}");
    assert!(help.contains("APP__DATABASE__URL"), "{help}");

    // A role that does not exist is refused before anything is read or opened.
    let output = run(clinic_booking(dir.path()).args([
        "create-user",
        "--email",
        "a@clinic.example",
        "--role",
        "boss",
    ]));
    assert_failed_plainly(&output);
    assert!(
        stderr(&output).contains("front_desk"),
        "{}",
        stderr(&output)
    );
    assert!(
        !dir.path().join("data").exists(),
        "a refused command opened a database"
    );
    // `--provider` belongs to a provider's own account only.
    let output = run(clinic_booking(dir.path()).args([
        "create-user",
        "--email",
        "a@clinic.example",
        "--role",
        "admin",
        "--provider",
        "1",
    ]));
    assert_failed_plainly(&output);
    assert!(
        stderr(&output).contains("--role provider"),
        "{}",
        stderr(&output)
    );
    assert!(!dir.path().join("data").exists());
}

fn a_port_in_use_is_named_in_plain_text_on_stderr() {
    let dir = tempfile::tempdir().expect("temp dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = taken.local_addr().expect("address").port();
    let output = run(clinic_booking(dir.path())
        .arg("serve")
        .env("APP__SERVER__PORT", port.to_string())
        .env("APP__DEMO__SEED", "false"));
    assert_failed_plainly(&output);
    let stderr = stderr(&output);
    assert!(
        stderr.contains(&format!(
            "127.0.0.1:{port} is in use; set APP__SERVER__PORT"
        )),
        "{stderr}"
    );
    // The message is the line for a person, not a log line.
    assert!(!stderr.contains("ERROR"), "{stderr}");
    assert!(
        !stdout(&output).contains("is in use"),
        "the failure went to stdout too:\n{}",
        stdout(&output)
    );
    drop(taken);
}

fn a_sqlite_url_in_a_missing_directory_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-such-dir");
    let url = format!("sqlite://{}", missing.join("clinic.db").display());
    for command in ["serve", "migrate", "seed-demo"] {
        let output = run(clinic_booking(dir.path())
            .arg(command)
            .env("APP__DATABASE__URL", &url)
            .env("APP__SERVER__PORT", "0"));
        assert_failed_plainly(&output);
        let stderr = stderr(&output);
        assert!(stderr.contains("APP__DATABASE__URL"), "{command}: {stderr}");
        assert!(
            stderr.contains(&missing.display().to_string()),
            "{command}: {stderr}"
        );
        assert!(!missing.exists(), "{command} created {}", missing.display());
    }

    // A relative path in another directory than ./data is refused as well.
    let output = run(clinic_booking(dir.path())
        .arg("migrate")
        .env("APP__DATABASE__URL", "sqlite://elsewhere/clinic.db"));
    assert_failed_plainly(&output);
    assert!(stderr(&output).contains("APP__DATABASE__URL"));
    assert!(!dir.path().join("elsewhere").exists());
}

fn the_default_data_directory_is_created_on_first_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(clinic_booking(dir.path()).arg("migrate"));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(dir.path().join("data/clinic-booking.db").is_file());
    for (stream, text) in [("stdout", stdout(&output)), ("stderr", stderr(&output))] {
        assert!(
            !text.contains('\u{1b}'),
            "colour codes on {stream}:\n{text:?}"
        );
    }
}

fn an_invalid_setting_names_its_variable() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (variable, value) in [
        ("APP__SERVER__PORT", "eighty"),
        ("APP__CLINIC__TIMEZONE", "Mars/Olympus_Mons"),
        ("APP__HTTP__AVAILABILITY_CACHE_MS", "600000"),
    ] {
        let output = run(clinic_booking(dir.path())
            .arg("migrate")
            .env(variable, value));
        assert_failed_plainly(&output);
        let stderr = stderr(&output);
        assert!(
            stderr.starts_with("clinic-booking: invalid settings:"),
            "{stderr}"
        );
        assert!(stderr.contains(variable), "{variable}: {stderr}");
    }
}

fn a_database_that_cannot_be_opened_names_its_url() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Nothing listens on port 1; the password must not be echoed.
    let output = run(clinic_booking(dir.path()).arg("migrate").env(
        "APP__DATABASE__URL",
        "postgres://clinic:hunter2-secret@127.0.0.1:1/clinic",
    ));
    assert_failed_plainly(&output);
    let text = stderr(&output);
    assert!(
        text.contains("cannot open the database (check APP__DATABASE__URL)"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");

    let output = run(clinic_booking(dir.path())
        .arg("migrate")
        .env("APP__DATABASE__URL", "mysql://clinic@127.0.0.1/clinic"));
    assert_failed_plainly(&output);
    assert!(stderr(&output).contains("set APP__DATABASE__URL"));
}
