//! Booking benchmarks driven by `bench/run.sh` (harness = false):
//!
//! - `ceiling DATABASE_URL CONCURRENCY SECONDS IDS_FILE`: the database's ceiling for a booking.
//!   `appointments::book` inside `db::write_transaction` in a loop, on CONCURRENCY threads
//!   sharing a pool built exactly as the server builds it (`config/default.toml`'s pool size),
//!   each booking a different free slot taken from IDS_FILE (one slot id a line).
//! - `race BASE_URL SLOT_ID RACERS`: RACERS clients, each on its own already-open connection,
//!   POST a booking of the same slot at the same moment. Exactly one 201 must come back and no
//!   5xx; prints the latency of the requests.
//!
//! Each prints one line of `key=value` pairs that the script reads.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use clinic_booking::clinic::appointments::{self, Intake};
use clinic_booking::db;
use clinic_booking::domain::actor::Actor;
use clinic_booking::domain::booking::BookingSource;
use clinic_booking::domain::ids::SlotId;
use clinic_booking::settings::Settings;

mod common;

fn main() -> anyhow::Result<()> {
    // The ceiling runs SQLite as the server does.
    // SAFETY: no thread has been started yet, so none is using SQLite.
    unsafe {
        clinic_booking::db::tune_sqlite_library();
    }
    // `cargo bench` appends `--bench`; positional arguments only.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    match args.first().map(String::as_str) {
        Some("ceiling") if args.len() == 5 => ceiling(
            &args[1],
            args[2].parse()?,
            args[3].parse()?,
            Path::new(&args[4]),
        ),
        Some("race") if args.len() == 4 => race(&args[1], args[2].parse()?, args[3].parse()?),
        _ => anyhow::bail!(
            "usage: booking ceiling DATABASE_URL CONCURRENCY SECONDS IDS_FILE | race BASE_URL SLOT_ID RACERS"
        ),
    }
}

/// p50, p99 and max of the latencies, in milliseconds.
fn percentiles(latencies: &mut [Duration]) -> (f64, f64, f64) {
    latencies.sort_unstable();
    let at = |q: f64| {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    (at(0.50), at(0.99), at(1.0))
}

fn ceiling(url: &str, concurrency: usize, seconds: u64, ids_file: &Path) -> anyhow::Result<()> {
    let settings = Settings::load_from(Path::new("config"), "default")?;
    let pool = db::build_pool(url, settings.database.pool_size)?;
    let ids: Arc<Vec<SlotId>> = Arc::new(
        std::fs::read_to_string(ids_file)?
            .lines()
            .filter_map(|l| l.trim().parse().ok().map(SlotId::new))
            .collect(),
    );
    let policy = Arc::new(common::booking_policy(&settings));
    let next = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(concurrency));
    let deadline = Duration::from_secs(seconds);
    let began = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (pool, ids, next, start, policy) = (
                pool.clone(),
                ids.clone(),
                next.clone(),
                start.clone(),
                policy.clone(),
            );
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut failed = 0usize;
                start.wait();
                let began = Instant::now();
                while began.elapsed() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&slot_id) = ids.get(n) else {
                        break;
                    };
                    let request = Intake {
                        patient: common::bench_patient(n).expect("a valid bench patient"),
                        reason: None,
                        source: BookingSource::named(BookingSource::WEBSITE),
                        concern: None,
                        visit_type_id: None,
                        series_id: None,
                        hold: None,
                    };
                    let t = Instant::now();
                    let mut conn = pool.get().expect("pooled connection");
                    let booked = db::write_transaction(&mut conn, |conn| {
                        let now = db::now();
                        appointments::book(
                            conn,
                            slot_id,
                            &request,
                            &Actor::Public,
                            &policy,
                            None,
                            now,
                        )
                    });
                    drop(conn);
                    latencies.push(t.elapsed());
                    if booked.is_err() {
                        failed += 1;
                    }
                }
                (latencies, failed)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failed = 0;
    for worker in workers {
        let (l, f) = worker
            .join()
            .map_err(|_| anyhow::anyhow!("worker panicked"))?;
        latencies.extend(l);
        failed += f;
    }
    let elapsed = began.elapsed().as_secs_f64();
    let ok = latencies.len() - failed;
    let (p50, p99, max) = percentiles(&mut latencies);
    println!(
        "rps={:.1} p50_ms={p50:.2} p99_ms={p99:.2} max_ms={max:.2} ok={ok} failed={failed}",
        ok as f64 / elapsed
    );
    Ok(())
}

fn race(base: &str, slot_id: i64, racers: usize) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // One client (so one connection) per racer, opened before the race starts.
        let mut clients = Vec::with_capacity(racers);
        for _ in 0..racers {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(60))
                .build()?;
            clients.push(client);
        }
        let warm = clients
            .iter()
            .map(|c| c.get(format!("{base}/health")).send());
        for r in futures::future::join_all(warm).await {
            r?.error_for_status()?;
        }
        let body = serde_json::json!({
            "slot_id": slot_id,
            "patient": {"name": "Racing Patient", "email": format!("race-{slot_id}@example.com")},
        });
        let gate = Arc::new(tokio::sync::Barrier::new(racers));
        let tasks: Vec<_> = clients
            .into_iter()
            .map(|client| {
                let (gate, body, url) = (gate.clone(), body.clone(), format!("{base}/api/v1/bookings"));
                tokio::spawn(async move {
                    gate.wait().await;
                    let t = Instant::now();
                    let status = client.post(url).json(&body).send().await.map(|r| r.status().as_u16());
                    (status, t.elapsed())
                })
            })
            .collect();
        let mut latencies = Vec::with_capacity(racers);
        let (mut created, mut conflicts, mut server_errors, mut other) = (0, 0, 0, 0);
        for task in tasks {
            let (status, took) = task.await?;
            latencies.push(took);
            match status {
                Ok(201) => created += 1,
                Ok(409) => conflicts += 1,
                Ok(s) if s >= 500 => server_errors += 1,
                _ => other += 1,
            }
        }
        let (p50, p99, max) = percentiles(&mut latencies);
        println!(
            "created={created} conflicts={conflicts} server_errors={server_errors} other={other} p50_ms={p50:.2} p99_ms={p99:.2} max_ms={max:.2}"
        );
        Ok(())
    })
}
