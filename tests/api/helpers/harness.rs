//! The test binary's own harness (`harness = false`, built on `libtest-mimic`): it lists every
//! test of `tests/api`, skips what cannot run here as *ignored* with the reason (a PostgreSQL
//! variant without PostgreSQL, the browser test without Chromium), runs each test's async body
//! on a fresh two-worker tokio runtime, and then fails a test that left due mail undelivered.
//! Once every test has run, it drops the run's PostgreSQL database (`drop_run_database`).
//!
//! It reads the usual libtest arguments (a name filter, `--exact`, `--skip`, `--list`,
//! `--ignored`, `--include-ignored`, `--test-threads`, `--nocapture`, `-q`, `--format`), with one
//! difference: output is never captured, so what a test prints appears as it runs, `--nocapture`
//! or not. A failing test's panic message and location are repeated in the summary. Whether a
//! test is skipped is decided when its turn comes, so `--list` connects to nothing and no test is
//! ignored up front (`--ignored` selects none).

use std::cell::RefCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use libtest_mimic::{Arguments, Completion, Failed, Trial};

use super::{Backend, TestDatabase};

/// Registers the tests of a module with the harness, as `pub(crate) fn tests()`; `main.rs`
/// lists every module's `tests`. Groups, in any number:
///
/// - `both_backends: [name, …]`: `async fn name(backend: Backend)`, run as `module::sqlite::name`
///   and `module::postgres::name`; the PostgreSQL variant is skipped (ignored, with the reason)
///   when PostgreSQL cannot be reached, unless `CLINIC_REQUIRE_POSTGRES=1`.
/// - `once: [name, …]`: `async fn name()`, run as `module::name`.
/// - `once_if(check): [name, …]`: as `once`, skipped when `check()` returns `Err(reason)`.
/// - `sync: [name, …]`: a plain `fn name()`, no runtime.
///
/// Async bodies run on a fresh multi-thread tokio runtime with two workers. Every database the
/// test creates is checked once the body returns: see [`TestDatabase::expect_undelivered_mail`].
#[macro_export]
macro_rules! tests {
    ($($group:ident $(($check:path))? : [$($name:ident),* $(,)?]),* $(,)?) => {
        pub(crate) fn tests() -> ::std::vec::Vec<$crate::helpers::harness::Test> {
            let module = $crate::helpers::harness::module_name(module_path!());
            let groups: ::std::vec::Vec<::std::vec::Vec<$crate::helpers::harness::Test>> =
                ::std::vec![$($crate::tests!(@$group $(($check))? module, [$($name),*])),*];
            groups.into_iter().flatten().collect()
        }
    };
    (@both_backends $module:ident, [$($name:ident),*]) => {
        ::std::vec![$(
            $crate::helpers::harness::Test::on_backend(
                $module, stringify!($name), $crate::helpers::Backend::Sqlite, $name,
            ),
            $crate::helpers::harness::Test::on_backend(
                $module, stringify!($name), $crate::helpers::Backend::Postgres, $name,
            ),
        )*]
    };
    (@both_backends_if ($check:path) $module:ident, [$($name:ident),*]) => {
        ::std::vec![$(
            $crate::helpers::harness::Test::on_backend(
                $module, stringify!($name), $crate::helpers::Backend::Sqlite, $name,
            ).needing($check),
            $crate::helpers::harness::Test::on_backend(
                $module, stringify!($name), $crate::helpers::Backend::Postgres, $name,
            ).needing($check),
        )*]
    };
    (@once $module:ident, [$($name:ident),*]) => {
        ::std::vec![$(
            $crate::helpers::harness::Test::once($module, stringify!($name), None, $name),
        )*]
    };
    (@once_if ($check:path) $module:ident, [$($name:ident),*]) => {
        ::std::vec![$(
            $crate::helpers::harness::Test::once($module, stringify!($name), Some($check), $name),
        )*]
    };
    (@sync $module:ident, [$($name:ident),*]) => {
        ::std::vec![$(
            $crate::helpers::harness::Test::sync($module, stringify!($name), $name),
        )*]
    };
}

/// Runs a test function once per backend, as `sqlite::name` and `postgres::name`: short for
/// `tests! { both_backends: [..] }`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $crate::tests! { both_backends: [$($name),*] }
    };
}

/// Decides whether a test can run here: `Err(reason)` skips it (reported as ignored, with the
/// reason). A check that must not skip (e.g. CI requires PostgreSQL) panics instead, which fails
/// the test.
pub type Precondition = fn() -> Result<(), String>;

type AsyncBody = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>> + Send>;

enum Body {
    Sync(fn()),
    Async(AsyncBody),
}

/// One registered test.
pub struct Test {
    name: String,
    /// What must hold for it to run (each may skip it, or fail it where CI requires).
    preconditions: Vec<Precondition>,
    body: Body,
}

/// `api::audit` → `audit`: test names start at the binary's modules, as libtest's do.
pub fn module_name(path: &'static str) -> &'static str {
    path.split_once("::").map_or("", |(_, module)| module)
}

impl Test {
    /// `module::sqlite::name` or `module::postgres::name`.
    pub fn on_backend<F, Fut>(module: &str, name: &str, backend: Backend, body: F) -> Self
    where
        F: FnOnce(Backend) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let (variant, preconditions): (&str, Vec<Precondition>) = match backend {
            Backend::Sqlite => ("sqlite", Vec::new()),
            Backend::Postgres => ("postgres", vec![super::postgres_available]),
        };
        Self {
            name: format!("{module}::{variant}::{name}"),
            preconditions,
            body: Body::Async(Box::new(move || Box::pin(body(backend)))),
        }
    }

    /// `module::name`, an async body run once.
    pub fn once<F, Fut>(
        module: &str,
        name: &str,
        precondition: Option<Precondition>,
        body: F,
    ) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        Self {
            name: format!("{module}::{name}"),
            preconditions: precondition.into_iter().collect(),
            body: Body::Async(Box::new(move || Box::pin(body()))),
        }
    }

    /// This test needs `check` too (e.g. a backend's test that also runs node).
    pub fn needing(mut self, check: Precondition) -> Self {
        self.preconditions.push(check);
        self
    }

    /// `module::name`, a plain function.
    pub fn sync(module: &str, name: &str, body: fn()) -> Self {
        Self {
            name: format!("{module}::{name}"),
            preconditions: Vec::new(),
            body: Body::Sync(body),
        }
    }

    fn into_trial(self) -> Trial {
        let Self {
            name,
            preconditions,
            body,
        } = self;
        Trial::ignorable_test(name.clone(), move || run(name, preconditions, body))
    }
}

/// The binary's `main`: every module's tests, run as the command line asks.
pub fn main(modules: &[fn() -> Vec<Test>]) -> ExitCode {
    let arguments = Arguments::from_args();
    remember_panic_locations();
    let mut tests: Vec<Test> = modules.iter().flat_map(|tests| tests()).collect();
    tests.push(Test::sync(
        "helpers::harness",
        "no_test_is_left_to_libtest_attributes",
        no_test_is_left_to_libtest_attributes,
    ));
    let mut names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    if let Some(twice) = names.windows(2).find(|w| w[0] == w[1]) {
        panic!("{} is registered twice", twice[0]);
    }
    let trials = tests.into_iter().map(Test::into_trial).collect();
    let conclusion = libtest_mimic::run(&arguments, trials);
    // Every test has finished, and its apps and pools with it.
    super::drop_run_database();
    conclusion.exit_code()
}

thread_local! {
    /// Where the last panic on this thread happened, for the failure summary.
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Keeps the default panic message (printed as the panic happens) and notes its location too.
fn remember_panic_locations() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let location = info.location().map(|l| l.to_string());
        PANIC_LOCATION.with(|cell| *cell.borrow_mut() = location);
        default(info);
    }));
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("(a panic without a message)");
    match PANIC_LOCATION.with(|cell| cell.borrow_mut().take()) {
        Some(location) => format!("panicked at {location}:\n{message}"),
        None => format!("panicked:\n{message}"),
    }
}

/// Runs one test on a thread named after it (as libtest does, so panic messages say which
/// test): its precondition, its body, and the mail check.
fn run(name: String, preconditions: Vec<Precondition>, body: Body) -> Result<Completion, Failed> {
    let thread_name = name.clone();
    let thread = std::thread::Builder::new()
        .name(thread_name)
        .spawn(move || {
            catch_unwind(AssertUnwindSafe(|| -> Result<Completion, String> {
                for check in preconditions {
                    if let Err(reason) = check() {
                        return Ok(Completion::ignored_with(reason));
                    }
                }
                match body {
                    Body::Sync(body) => body(),
                    Body::Async(body) => run_async(&name, body)?,
                }
                Ok(Completion::Completed)
            }))
            .unwrap_or_else(|payload| Err(panic_message(&*payload)))
        })
        .map_err(|e| format!("could not start the test's thread: {e}"))?;
    thread
        .join()
        .unwrap_or_else(|payload| Err(panic_message(&*payload)))
        .map_err(Failed::from)
}

/// What one running test has created that the harness checks afterwards.
#[derive(Default)]
pub(super) struct TrialState {
    pub(super) databases: Mutex<Vec<TestDatabase>>,
}

tokio::task_local! {
    pub(super) static TRIAL: Arc<TrialState>;
}

/// The body on a fresh multi-thread runtime with two workers (as
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` had it), then, on the same
/// runtime while the apps the body started still run, the mail check of its databases.
fn run_async(name: &str, body: AsyncBody) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(format!("{name} (worker)"))
        .enable_all()
        .build()
        .expect("a tokio runtime for the test");
    let state = Arc::new(TrialState::default());
    let checked = runtime.block_on(TRIAL.scope(state.clone(), async {
        body().await;
        let databases = state.databases.lock().expect("databases").clone();
        super::mail::check_no_due_mail_left(&databases).await
    }));
    // The apps stop with their runtime; their databases (temp dirs) go after them.
    drop(runtime);
    drop(state);
    checked
}

/// With `harness = false`, `#[test]` and `#[tokio::test]` functions are compiled out without a
/// word: a test written that way would never run. Every test goes through `tests!` instead.
fn no_test_is_left_to_libtest_attributes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api");
    let mut files = vec![root];
    let mut found = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read tests/api") {
                files.push(entry.expect("directory entry").path());
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).expect("read a test file");
            for (i, line) in source.lines().enumerate() {
                let line = line.trim_start();
                if line.starts_with("#[test]") || line.starts_with("#[tokio::test") {
                    found.push(format!("{}:{}", path.display(), i + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "register these with `tests!` (they would never run): {found:?}"
    );
}
