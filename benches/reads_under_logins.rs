//! Do logins stall reads, and do reads starve logins? Serves fandb in-process (release build,
//! SQLite by default, or PostgreSQL with `FANDB_BENCH_POSTGRES_URL`), saturates the cores with
//! readers of one film, and measures the reads alone, then the same reads while 20 clients log in
//! over and over. Prints both side by side (p50, p99, throughput, the server's CPU per request) with
//! the logins' p99. Targets (issue 14): login p99 under 2 s, and reads' p99 under the logins within
//! 2x of reads alone.
//!
//! Run: `cargo bench --bench reads_under_logins` (`BENCH_SECONDS` sets each phase's length,
//! `BENCH_READERS` the concurrent readers).

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use support::{client, cpu_seconds, percentile_ms as percentile, post};

const LOGINS: usize = 20;
const READ: &str = r#"{ film(slug: "alita-battle-angel") { title releaseDate } }"#;
const LOGIN_P99_TARGET_MS: f64 = 2_000.0;
const READ_P99_RATIO_TARGET: f64 = 2.0;

/// What one phase measured.
struct Phase {
    /// Read latencies in microseconds, sorted.
    reads: Vec<u64>,
    /// Login latencies in microseconds, sorted.
    logins: Vec<u64>,
    failed_logins: usize,
    seconds: f64,
    /// CPU seconds the server spent (all threads but the load driver's), and the hashing threads' part.
    server_cpu: f64,
    hashing_cpu: f64,
}

/// `readers` clients read for `seconds` (with `with_logins`, 20 more log in meanwhile).
async fn phase(url: &str, readers: usize, seconds: u64, with_logins: bool, run: u32) -> Phase {
    let stop = Arc::new(AtomicBool::new(false));
    let mut login_tasks = Vec::new();
    if with_logins {
        for i in 0..LOGINS {
            let (stop, url) = (stop.clone(), url.to_owned());
            login_tasks.push(actix_web::rt::spawn(async move {
                let client = client();
                let login = json!({ "query": format!(
                    r#"mutation {{ login(input: {{ email: "bench{run}-{i}@example.com", password: "bench-password-{i}" }}) {{ accessToken }} }}"#
                ) });
                let (mut latencies, mut failed) = (Vec::new(), 0);
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    if post(&client, &url, None, &login).await {
                        latencies.push(started.elapsed().as_micros() as u64);
                    } else {
                        failed += 1;
                    }
                }
                (latencies, failed)
            }));
        }
    }
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let stop_at = started + Duration::from_secs(seconds);
    let mut read_tasks = Vec::new();
    for _ in 0..readers {
        let url = url.to_owned();
        read_tasks.push(actix_web::rt::spawn(async move {
            let client = client();
            let body = json!({ "query": READ });
            let mut latencies = Vec::new();
            while Instant::now() < stop_at {
                let started = Instant::now();
                if post(&client, &url, None, &body).await {
                    latencies.push(started.elapsed().as_micros() as u64);
                }
            }
            latencies
        }));
    }
    let mut reads = Vec::new();
    for task in read_tasks {
        reads.extend(task.await.unwrap_or_default());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_after = cpu_seconds();
    stop.store(true, Ordering::Relaxed);
    let (mut logins, mut failed_logins) = (Vec::new(), 0);
    for task in login_tasks {
        if let Ok((latencies, failed)) = task.await {
            logins.extend(latencies);
            failed_logins += failed;
        }
    }
    reads.sort_unstable();
    logins.sort_unstable();
    Phase {
        reads,
        logins,
        failed_logins,
        seconds: elapsed,
        server_cpu: cpu_after.server - cpu_before.server,
        hashing_cpu: cpu_after.hashing - cpu_before.hashing,
    }
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let readers: usize = std::env::var("BENCH_READERS").ok().and_then(|s| s.parse().ok()).unwrap_or(16);
    actix_web::rt::System::new().block_on(async move {
        let server = support::start().await;
        let graphql = server.graphql.clone();
        let http = client();
        let run = std::process::id();
        for i in 0..LOGINS {
            let register = json!({ "query": format!(
                r#"mutation {{ register(input: {{ email: "bench{run}-{i}@example.com", password: "bench-password-{i}", displayName: "Bench {i}" }}) {{ accessToken }} }}"#
            ) });
            if !post(&http, &graphql, None, &register).await {
                support::fail("register a bench user");
            }
        }
        // Warm-up: connections opened, caches filled.
        let _ = phase(&graphql, readers, 1, false, run).await;

        let alone = phase(&graphql, readers, seconds, false, run).await;
        let mixed = phase(&graphql, readers, seconds, true, run).await;

        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(0);
        let limits = &server.settings.limits;
        println!(
            "reads under logins ({seconds} s a phase, {readers} readers, {LOGINS} login clients, {cores} cores, {} hashing threads, queue {}, {})",
            limits.hash_threads, limits.hash_queue, server.backend
        );
        println!("| phase | reads | reads/s | p50 ms | p99 ms | logins/s | login p50 ms | login p99 ms | failed logins | server cores busy | server CPU ms/read | hashing CPU ms/login |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (name, phase) in [("reads alone", &alone), ("reads + 20 logins", &mixed)] {
            let login_rate = phase.logins.len() as f64 / phase.seconds;
            let (login_p50, login_p99, per_login) = if phase.logins.is_empty() {
                ("-".to_owned(), "-".to_owned(), "-".to_owned())
            } else {
                (
                    format!("{:.0}", percentile(&phase.logins, 0.5)),
                    format!("{:.0}", percentile(&phase.logins, 0.99)),
                    format!("{:.1}", phase.hashing_cpu * 1000.0 / phase.logins.len() as f64),
                )
            };
            println!(
                "| {name} | {} | {:.0} | {:.2} | {:.2} | {login_rate:.1} | {login_p50} | {login_p99} | {} | {:.2} | {:.3} | {per_login} |",
                phase.reads.len(),
                phase.reads.len() as f64 / phase.seconds,
                percentile(&phase.reads, 0.5),
                percentile(&phase.reads, 0.99),
                phase.failed_logins,
                phase.server_cpu / phase.seconds,
                (phase.server_cpu - phase.hashing_cpu) * 1000.0 / phase.reads.len().max(1) as f64,
            );
        }
        let ratio = percentile(&mixed.reads, 0.99) / percentile(&alone.reads, 0.99);
        let login_p99 = percentile(&mixed.logins, 0.99);
        let verdict = |met: bool| if met { "met" } else { "NOT met" };
        println!("p99 ratio: {ratio:.2} (target <= {READ_P99_RATIO_TARGET:.2}): {}", verdict(ratio <= READ_P99_RATIO_TARGET));
        println!(
            "login p99: {login_p99:.0} ms (target < {LOGIN_P99_TARGET_MS:.0} ms, every login answered): {}",
            verdict(login_p99 < LOGIN_P99_TARGET_MS && mixed.failed_logins == 0)
        );
    });
}
