//! What the benchmarks share: starting fandb in-process on a fresh database, and percentiles.

use std::time::Duration;

use api::config::Settings;
use api::startup::Application;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

/// A running server and a connection to its database.
#[allow(dead_code, reason = "each benchmark uses the fields it needs")]
pub struct Server {
    pub graphql: String,
    pub db: DatabaseConnection,
    pub backend: &'static str,
    pub settings: Settings,
    /// The database's URL.
    pub url: String,
}

/// Starts fandb on a fresh database: a new PostgreSQL database when `FANDB_BENCH_POSTGRES_URL`
/// is set (its role needs CREATEDB), else a temporary SQLite file.
#[allow(dead_code, reason = "each benchmark uses the start it needs")]
pub async fn start() -> Server {
    start_with(|_| {}).await
}

/// Like `start`, with the settings changed by `configure` last.
#[allow(dead_code, reason = "each benchmark uses the start it needs")]
pub async fn start_with(configure: impl FnOnce(&mut Settings)) -> Server {
    start_on(std::env::var("FANDB_BENCH_POSTGRES_URL").ok().as_deref(), configure).await
}

/// Like `start_with`, on a new PostgreSQL database made through `postgres` (an admin URL) when
/// given, else on a temporary SQLite file, whatever the environment says.
#[allow(dead_code, reason = "each benchmark uses the start it needs")]
pub async fn start_on(postgres: Option<&str>, configure: impl FnOnce(&mut Settings)) -> Server {
    // One database per start: a bench may start several servers.
    static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let start = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let suffix = if start == 0 { String::new() } else { format!("_{start}") };
    let (url, backend) = match postgres {
        Some(admin_url) => {
            let name = format!("fandb_bench_{}{suffix}", std::process::id());
            let admin =
                Database::connect(admin_url).await.unwrap_or_else(|error| fail(&format!("PostgreSQL: {error}")));
            let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\"")).await;
            if let Err(error) = admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await {
                fail(&format!("create the bench database: {error}"));
            }
            let base = admin_url.rsplit_once('/').map(|(base, _)| base).unwrap_or(admin_url).to_owned();
            (format!("{base}/{name}"), "postgres")
        }
        None => {
            let path = std::env::temp_dir().join(format!("fandb_bench_{}{suffix}.sqlite", std::process::id()));
            let _ = std::fs::remove_file(&path);
            (format!("sqlite://{}?mode=rwc", path.display()), "sqlite")
        }
    };
    let mut settings = Settings::new(&url);
    settings.listen = "127.0.0.1:0".to_owned();
    // Every simulated client shares one IP here: measure the server, not its rate limits.
    settings.limits = api::config::Limits {
        requests_per_second: 1_000_000,
        request_burst: 1_000_000,
        sign_ins_per_minute: 1_000_000,
        failures_before_delay: 1_000_000,
        lock_after_ips: 1_000_000,
        ..api::config::Limits::default()
    };
    configure(&mut settings);
    let db = api::infra::db::connect(&url).await.unwrap_or_else(|error| fail(&format!("connect: {error}")));
    let application = Application::build_with_db(&settings, db.clone())
        .await
        .unwrap_or_else(|error| fail(&format!("start: {error}")));
    let graphql = format!("http://127.0.0.1:{}/graphql", application.port());
    actix_web::rt::spawn(application.run_until_stopped());
    Server { graphql, db, backend, settings, url }
}

/// Stops the benchmark with a message.
pub fn fail(message: &str) -> ! {
    eprintln!("benchmark failed: {message}");
    std::process::exit(1)
}

/// The `p` quantile of sorted microseconds, in milliseconds.
pub fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index] as f64 / 1000.0
}

/// CPU seconds used so far by this process's threads, split for the in-process benches.
#[allow(dead_code, reason = "each benchmark uses the helpers it needs")]
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSeconds {
    /// Every thread but the main one (which drives the load): the server, its database threads
    /// and its password hashing.
    pub server: f64,
    /// The password hashing threads (`fandb-hash-*`) alone.
    pub hashing: f64,
}

/// This process's CPU time from `/proc` (Linux; zeros elsewhere). Threads that have exited count
/// in the process total, so `server` is the total less the main thread's.
#[allow(dead_code, reason = "each benchmark uses the helpers it needs")]
pub fn cpu_seconds() -> CpuSeconds {
    // utime and stime, in clock ticks (100 a second on Linux), after the `(comm)` field.
    fn ticks(stat: &str) -> Option<(String, u64)> {
        let (head, rest) = stat.rsplit_once(')')?;
        let name = head.split_once('(')?.1.to_owned();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let user: u64 = fields.get(11)?.parse().ok()?;
        let system: u64 = fields.get(12)?.parse().ok()?;
        Some((name, user + system))
    }
    const TICKS_PER_SECOND: f64 = 100.0;
    let read = |path: String| std::fs::read_to_string(path).ok().and_then(|stat| ticks(&stat));
    let pid = std::process::id();
    let total = read("/proc/self/stat".to_owned()).map_or(0, |(_, ticks)| ticks);
    let main = read(format!("/proc/self/task/{pid}/stat")).map_or(0, |(_, ticks)| ticks);
    let mut hashing = 0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Some((name, ticks)) = read(format!("{}/stat", task.path().display()))
                && name.starts_with("fandb-hash")
            {
                hashing += ticks;
            }
        }
    }
    CpuSeconds {
        server: total.saturating_sub(main) as f64 / TICKS_PER_SECOND,
        hashing: hashing as f64 / TICKS_PER_SECOND,
    }
}

/// An HTTP client for the load.
#[allow(dead_code, reason = "each benchmark uses the helpers it needs")]
pub fn client() -> awc::Client {
    awc::Client::builder().timeout(Duration::from_secs(60)).finish()
}

/// POSTs a GraphQL body; whether it succeeded without errors.
#[allow(dead_code, reason = "each benchmark uses the helpers it needs")]
pub async fn post(client: &awc::Client, url: &str, token: Option<&str>, body: &serde_json::Value) -> bool {
    let mut request = client.post(url);
    if let Some(token) = token {
        request = request.insert_header(("authorization", format!("Bearer {token}")));
    }
    match request.send_json(body).await {
        Ok(mut response) => match response.json::<serde_json::Value>().limit(1 << 20).await {
            Ok(json) => response.status().is_success() && json.get("errors").is_none(),
            Err(_) => false,
        },
        Err(_) => false,
    }
}

/// Every petition's signature count added up: the stored counts and their slots not folded yet.
#[allow(dead_code, reason = "each benchmark uses the helpers it needs")]
pub async fn total_signatures(db: &DatabaseConnection) -> i64 {
    let sql = "SELECT CAST(COALESCE((SELECT SUM(signature_count) FROM petitions), 0) \
               + COALESCE((SELECT SUM(delta) FROM petition_count_slots), 0) AS BIGINT) AS total";
    let statement = sea_orm::Statement::from_string(db.get_database_backend(), sql);
    match db.query_one_raw(statement).await {
        Ok(Some(row)) => row.try_get("", "total").unwrap_or_else(|error| fail(&error.to_string())),
        Ok(None) => fail("no total"),
        Err(error) => fail(&error.to_string()),
    }
}
