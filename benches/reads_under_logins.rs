//! Do logins stall reads? Serves fandb in-process (release build, SQLite by default, or PostgreSQL
//! with `FANDB_BENCH_POSTGRES_URL`), measures a simple query's latency alone, then again while 20 clients log in
//! as fast as they can, and prints both with the ratio of their p99s (target: at most 2x).
//!
//! Run: `cargo bench --bench reads_under_logins` (`BENCH_SECONDS` sets each phase's length).

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use support::{client, percentile_ms as percentile, post};

const READERS: usize = 4;
const LOGINS: usize = 20;
const READ: &str = r#"{ film(slug: "alita-battle-angel") { title releaseDate } }"#;

/// Reads for `seconds` with `READERS` clients; the latencies in microseconds, sorted.
async fn read_phase(url: &str, seconds: u64) -> Vec<u64> {
    let stop = Instant::now() + Duration::from_secs(seconds);
    let mut handles = Vec::new();
    for _ in 0..READERS {
        let url = url.to_owned();
        handles.push(actix_web::rt::spawn(async move {
            let client = client();
            let body = json!({ "query": READ });
            let mut latencies = Vec::new();
            while Instant::now() < stop {
                let started = Instant::now();
                if post(&client, &url, None, &body).await {
                    latencies.push(started.elapsed().as_micros() as u64);
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for handle in handles {
        all.extend(handle.await.unwrap_or_default());
    }
    all.sort_unstable();
    all
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
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

        let alone = read_phase(&graphql, seconds).await;

        let stop = Arc::new(AtomicBool::new(false));
        let logins = Arc::new(AtomicU64::new(0));
        let mut login_tasks = Vec::new();
        for i in 0..LOGINS {
            let (stop, logins, graphql) = (stop.clone(), logins.clone(), graphql.clone());
            login_tasks.push(actix_web::rt::spawn(async move {
                let client = client();
                let login = json!({ "query": format!(
                    r#"mutation {{ login(input: {{ email: "bench{run}-{i}@example.com", password: "bench-password-{i}" }}) {{ accessToken }} }}"#
                ) });
                while !stop.load(Ordering::Relaxed) {
                    if post(&client, &graphql, None, &login).await {
                        logins.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        let with_logins = read_phase(&graphql, seconds).await;
        stop.store(true, Ordering::Relaxed);
        for task in login_tasks {
            let _ = task.await;
        }

        let ratio = percentile(&with_logins, 0.99) / percentile(&alone, 0.99);
        println!("reads under logins ({seconds} s a phase, {READERS} readers, {LOGINS} login clients, {})", server.backend);
        println!("| phase | reads | reads/s | p50 ms | p99 ms | logins/s |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: |");
        for (name, latencies, login_rate) in [("reads alone", &alone, 0.0), ("reads + 20 logins", &with_logins, logins.load(Ordering::Relaxed) as f64 / seconds as f64)] {
            println!(
                "| {name} | {} | {:.0} | {:.2} | {:.2} | {login_rate:.1} |",
                latencies.len(),
                latencies.len() as f64 / seconds as f64,
                percentile(latencies, 0.5),
                percentile(latencies, 0.99)
            );
        }
        println!("p99 ratio: {ratio:.2} (target <= 2.00): {}", if ratio <= 2.0 { "met" } else { "NOT met" });
    });
}
