//! Can clients' aliased searches slow everyone's cheap reads? Serves fandb in-process (release
//! build, synthetic data at scale 1; SQLite by default, PostgreSQL with
//! `FANDB_BENCH_POSTGRES_URL`) with the production request budget (10 a second, a burst of 50
//! per IP). Readers, each from its own loopback address and within its budget, read one film
//! (`synthetic-film-1`); first alone, then while 8 searchers (127.0.0.2–9) each send 4 aliased
//! searches of "e" (`first: 50`, 40 units) as often as their budget allows, waiting the
//! `retryAfter` they are told, and one more sends 15 (150 units: refused whole) nonstop. Prints
//! both phases side by side (p50, p99, throughput, the server's CPU per request) with what the
//! searchers got. Target (issue 24): the cheap reads' p99 under the searches within 2x of the
//! reads alone.
//!
//! Run: `cargo bench --bench reads_under_search` (`BENCH_SECONDS` sets each phase's length,
//! `BENCH_READERS` the readers).

#[path = "support/mod.rs"]
mod support;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use support::{cpu_seconds, percentile_ms as percentile};

const READ: &str = r#"{ film(slug: "synthetic-film-1") { title releaseDate } }"#;
const READ_P99_RATIO_TARGET: f64 = 2.0;
/// Each reader's pause between reads: about 7 a second, inside the budget of 10.
const READER_PAUSE: Duration = Duration::from_millis(150);
const SEARCHERS: u8 = 8;

fn searches(count: usize) -> serde_json::Value {
    let fields: Vec<String> =
        (0..count).map(|index| format!("s{index}: search(query: \"e\", first: 50) {{ __typename }}")).collect();
    json!({ "query": format!("{{ {} }}", fields.join(" ")) })
}

fn client_from(address: IpAddr) -> awc::Client {
    awc::Client::builder().timeout(Duration::from_secs(60)).local_address(address).finish()
}

/// Sends a body: `Ok(())` answered without errors, `Err(seconds)` refused or failed, with the
/// wait the server advised (0 when it named none).
async fn send(client: &awc::Client, url: &str, body: &serde_json::Value) -> Result<(), u64> {
    let mut response = client.post(url).send_json(body).await.map_err(|_| 0_u64)?;
    let json = response.json::<serde_json::Value>().limit(1 << 22).await.map_err(|_| 0_u64)?;
    if response.status().is_success() && json.get("errors").is_none() {
        return Ok(());
    }
    Err(json["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap_or(0))
}

struct Phase {
    reads: Vec<u64>,
    seconds: f64,
    server_cpu: f64,
    searches_run: usize,
    searches_refused: usize,
}

async fn phase(url: &str, readers: usize, seconds: u64, with_searcher: bool) -> Phase {
    let stop = Arc::new(AtomicBool::new(false));
    let (run, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut searchers = Vec::new();
    if with_searcher {
        for searcher in 0..=SEARCHERS {
            let (stop, run, refused, url) = (stop.clone(), run.clone(), refused.clone(), url.to_owned());
            searchers.push(actix_web::rt::spawn(async move {
                let client = client_from([127, 0, 0, 2 + searcher].into());
                // The last one sends what is refused whole, nonstop; the others 4 at their limit.
                let whole = searcher == SEARCHERS;
                let body = searches(if whole { 15 } else { 4 });
                while !stop.load(Ordering::Relaxed) {
                    match send(&client, &url, &body).await {
                        Ok(()) => {
                            run.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(wait) => {
                            refused.fetch_add(1, Ordering::Relaxed);
                            if !whole {
                                actix_web::rt::time::sleep(Duration::from_secs(wait.max(1))).await;
                            }
                        }
                    }
                }
            }));
        }
    }
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let stop_at = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for reader in 0..readers {
        let url = url.to_owned();
        tasks.push(actix_web::rt::spawn(async move {
            let address = IpAddr::from([127, 0, 1, u8::try_from(reader + 1).unwrap_or(u8::MAX)]);
            let client = client_from(address);
            let body = json!({ "query": READ });
            let mut latencies = Vec::new();
            while Instant::now() < stop_at {
                let sent = Instant::now();
                if send(&client, &url, &body).await.is_ok() {
                    latencies.push(sent.elapsed().as_micros() as u64);
                }
                actix_web::rt::time::sleep(READER_PAUSE).await;
            }
            latencies
        }));
    }
    let mut reads = Vec::new();
    for task in tasks {
        reads.extend(task.await.unwrap_or_default());
    }
    let seconds = started.elapsed().as_secs_f64();
    let server_cpu = cpu_seconds().server - cpu_before.server;
    stop.store(true, Ordering::Relaxed);
    for task in searchers {
        let _ = task.await;
    }
    reads.sort_unstable();
    Phase {
        reads,
        seconds,
        server_cpu,
        searches_run: run.load(Ordering::Relaxed),
        searches_refused: refused.load(Ordering::Relaxed),
    }
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(15);
    let readers: usize = std::env::var("BENCH_READERS").ok().and_then(|s| s.parse().ok()).unwrap_or(16);
    actix_web::rt::System::new().block_on(async move {
        let server = support::start_with(|settings| {
            settings.limits = api::config::Limits::default();
            settings.seed_when_empty = false;
        })
        .await;
        if let Err(error) = api::commands::synthetic::load(&server.db, 1.0, |_| {}).await {
            support::fail(&format!("load the synthetic data: {error}"));
        }
        let url = server.graphql.clone();
        // Warm-up: connections opened, caches filled.
        let _ = phase(&url, readers, 2, false).await;
        let alone = phase(&url, readers, seconds, false).await;
        let mixed = phase(&url, readers, seconds, true).await;

        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(0);
        println!(
            "reads under aliased searches ({seconds} s a phase, {readers} readers at ~7/s each, {SEARCHERS} searchers at their limit and 1 refused whole, {cores} cores, {}, synthetic scale 1)",
            server.backend
        );
        println!("| phase | reads | reads/s | p50 ms | p99 ms | search documents run | refused | server cores busy | server CPU ms/request |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (name, phase) in [("reads alone", &alone), ("reads + aliased searches", &mixed)] {
            // Every search document that ran holds 4 searches.
            let requests = phase.reads.len() + phase.searches_run + phase.searches_refused;
            println!(
                "| {name} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {:.2} | {:.3} |",
                phase.reads.len(),
                phase.reads.len() as f64 / phase.seconds,
                percentile(&phase.reads, 0.5),
                percentile(&phase.reads, 0.99),
                phase.searches_run,
                phase.searches_refused,
                phase.server_cpu / phase.seconds,
                phase.server_cpu * 1000.0 / requests.max(1) as f64,
            );
        }
        let ratio = percentile(&mixed.reads, 0.99) / percentile(&alone.reads, 0.99);
        let verdict = if ratio <= READ_P99_RATIO_TARGET { "met" } else { "NOT met" };
        println!("p99 ratio: {ratio:.2} (target <= {READ_P99_RATIO_TARGET:.2}): {verdict}");
    });
}
