//! The hot row and the hashtag hour, side by side in one run.
//!
//! Hot row: 16, then 64 fans alternate `signPetition` and `withdrawSignature` on ONE petition for
//! `BENCH_SECONDS` each; transitions/s and the p50/p99 of one request. On PostgreSQL the same
//! transition runs in pgbench at the same concurrency and length, twice: with a counter row (lock
//! the row, insert or delete, update the counter, commit) and as the insert or delete alone (the
//! ceiling). Each pgbench transaction is one transition: the script reads whether its client's row
//! is there and inserts or deletes it. After each fandb run the count must equal the rows, and
//! within 20 s the fold must have moved every slot into the petition's own column.
//!
//! Hashtag hour: 1,000 fans each sign 20 petitions one after another (one of them the watched
//! petition, at a place in each fan's order that differs from fan to fan), while 200 clients poll
//! the watched petition's `signatureCount` through `node`. Every poll is checked: never lower than one the
//! same poller saw before, never higher than the signatures sent before its answer came, and never
//! missing a signature acknowledged more than `STATED_LAG` (100 ms) before it was sent: its lag,
//! printed as p99 and max, is how long the first signature it left out had been acknowledged.
//!
//! Runs on SQLite, and first on PostgreSQL when `FANDB_BENCH_POSTGRES_URL` is set (an admin URL:
//! its role needs CREATEDB; pgbench and the database must be on this machine's PATH and network):
//! `FANDB_BENCH_POSTGRES_URL=postgres://fandb:fandb@127.0.0.1:5432/fandb cargo bench --bench hot_row`.
//! `BENCH_SECONDS` (default 10) is each run's length. Exits non-zero when a count is not exact.

#[path = "support/mod.rs"]
mod support;

use std::cell::{Cell, RefCell};
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant};

use api::auth::Auth;
use entity::enums::{PetitionStatus, Role};
use entity::{petition, signature, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use serde_json::json;
use support::{Server, fail, percentile_ms, post};

/// Concurrent fans on the hot row, one run each.
const CONNECTIONS: [usize; 2] = [16, 64];
/// Fans signing in the hashtag hour, and the petitions each signs.
const FANS: usize = 1_000;
const PETITIONS_PER_FAN: usize = 20;
/// Clients polling the watched petition meanwhile.
const POLLERS: usize = 200;

/// One line of the hot-row table.
struct HotRow {
    database: &'static str,
    what: String,
    connections: usize,
    per_second: f64,
    p50: f64,
    p99: f64,
    note: String,
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let postgres = std::env::var("FANDB_BENCH_POSTGRES_URL").ok();
    actix_web::rt::System::new().block_on(async move {
        let mut table = Vec::new();
        let mut hours = Vec::new();
        let mut exact = true;
        for database in [postgres.as_deref(), None] {
            if database.is_none() && postgres.is_some() && std::env::var("BENCH_SKIP_SQLITE").is_ok() {
                continue;
            }
            let server = support::start_on(database, |_| {}).await;
            let auth = Auth::new(&server.settings.jwt_secret, &server.settings.limits);
            let fans = tokens(&server, &auth, "hot", 64).await;
            for connections in CONNECTIONS {
                let (row, counted_right) = fandb_hot_row(&server, &fans[..connections], seconds).await;
                exact &= counted_right;
                table.push(row);
                if server.backend == "postgres" {
                    table.extend(pgbench_hot_row(&server, connections, seconds).await);
                }
            }
            let fans = tokens(&server, &auth, "hour", FANS).await;
            let (line, right) = hashtag_hour(&server, &fans, seconds).await;
            exact &= right;
            hours.push(line);
        }
        println!("hot row ({seconds} s per run; fandb: alternating signPetition / withdrawSignature on one petition)");
        println!("| database | what | connections | transitions/s | p50 ms | p99 ms | note |");
        println!("| --- | --- | ---: | ---: | ---: | ---: | --- |");
        for row in &table {
            println!(
                "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} |",
                row.database, row.what, row.connections, row.per_second, row.p50, row.p99, row.note
            );
        }
        for row in table.iter().filter(|row| row.database == "postgres" && row.what == "fandb") {
            let ceiling = table.iter().find(|other| other.what.contains("alone") && other.connections == row.connections);
            if let Some(ceiling) = ceiling {
                println!(
                    "postgres, {} connections: fandb at {:.0}% of the insert/delete-only ceiling (target 50%), p99 {:.1} ms (target 50 ms at 16)",
                    row.connections,
                    100.0 * row.per_second / ceiling.per_second,
                    row.p99
                );
            }
        }
        println!();
        println!("hashtag hour ({FANS} fans signing {PETITIONS_PER_FAN} petitions each, {POLLERS} clients polling one petition's signatureCount, {seconds} s at most)");
        println!("| database | signatures/s | sign p50 / p99 ms | polls/s | poll p50 / p99 ms | polls | count lag p99 / max ms | more than 100 ms behind, lower than seen before, or too high |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for line in &hours {
            println!("{line}");
        }
        println!("counts exact and folded: {}", if exact { "yes" } else { "NO" });
        if !exact {
            std::process::exit(1);
        }
    });
}

/// `count` fans with sessions, named after `prefix`.
async fn tokens(server: &Server, auth: &Auth, prefix: &str, count: usize) -> Vec<(i64, String)> {
    let mut tokens = Vec::with_capacity(count);
    for i in 0..count {
        let fan = insert_user(&server.db, format!("{prefix}{i}")).await;
        let id = fan.id;
        match api::domain::sessions::start_session(&server.db, auth, fan).await {
            Ok(session) => tokens.push((id, session.access_token)),
            Err(error) => fail(&format!("token: {error:?}")),
        }
    }
    tokens
}

async fn insert_user(db: &DatabaseConnection, name: String) -> user::Model {
    let now = chrono::Utc::now();
    user::ActiveModel {
        email: Set(format!("{name}@bench.example")),
        display_name: Set(name),
        password_hash: Set(
            "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0YmVuY2g$YmVuY2hoYXNoYmVuY2hoYXNoYmVuY2hoYXNoYmVuY2g".to_owned(),
        ),
        role: Set(Role::Fan),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap_or_else(|error| fail(&format!("insert a fan: {error}")))
}

async fn insert_petition(db: &DatabaseConnection, slug: String) -> i64 {
    let now = chrono::Utc::now();
    petition::ActiveModel {
        slug: Set(slug.clone()),
        title: Set(slug),
        body: Set("Bench".to_owned()),
        target: Set("Bench".to_owned()),
        goal: Set(1_000_000),
        status: Set(PetitionStatus::Open),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap_or_else(|error| fail(&format!("insert a petition: {error}")))
    .id
}

fn petition_gid(id: i64) -> String {
    api::graphql::ids::global_id(api::graphql::ids::NodeType::Petition, id).0
}

fn body(query: &str, petition: &str) -> serde_json::Value {
    json!({ "query": query, "variables": { "p": petition } })
}

const SIGN: &str = "mutation($p: ID!) { signPetition(petitionId: $p) { id } }";
const WITHDRAW: &str = "mutation($p: ID!) { withdrawSignature(petitionId: $p) }";
const POLL: &str = "query($p: ID!) { node(id: $p) { ... on Petition { signatureCount } } }";

/// The signature rows of `petition`.
async fn rows(db: &DatabaseConnection, petition: i64) -> i64 {
    let rows = signature::Entity::find().filter(signature::Column::PetitionId.eq(petition)).count(db).await;
    i64::try_from(rows.unwrap_or_else(|error| fail(&error.to_string()))).unwrap_or(i64::MAX)
}

/// One value of one raw SQL query.
async fn scalar(db: &DatabaseConnection, sql: String) -> i64 {
    let statement = sea_orm::Statement::from_string(db.get_database_backend(), sql);
    match db.query_one_raw(statement).await {
        Ok(Some(row)) => row.try_get_by_index(0).unwrap_or_else(|error| fail(&error.to_string())),
        Ok(None) => fail("no row"),
        Err(error) => fail(&error.to_string()),
    }
}

/// `fans` alternate signing and withdrawing on one new petition; whether the count then equals
/// the rows, and does again in the petition's own column once folded.
async fn fandb_hot_row(server: &Server, fans: &[(i64, String)], seconds: u64) -> (HotRow, bool) {
    let petition = insert_petition(&server.db, format!("hot-row-{}", fans.len())).await;
    let gid = petition_gid(petition);
    let stop = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let failed = Rc::new(Cell::new(0_u64));
    let mut tasks = Vec::new();
    for (_, token) in fans {
        let (graphql, token, gid, failed) = (server.graphql.clone(), token.clone(), gid.clone(), failed.clone());
        tasks.push(actix_web::rt::spawn(async move {
            let client = support::client();
            let mut latencies = Vec::new();
            let mut signed = false;
            while Instant::now() < stop {
                let sent = Instant::now();
                let query = if signed { WITHDRAW } else { SIGN };
                if post(&client, &graphql, Some(&token), &body(query, &gid)).await {
                    latencies.push(sent.elapsed().as_micros() as u64);
                    signed = !signed;
                } else {
                    failed.set(failed.get() + 1);
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap_or_default());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let rows = rows(&server.db, petition).await;
    let counted = server_count(server, petition).await;
    let folded = wait_folded(&server.db, petition).await;
    let right = counted == rows && folded == Some(rows);
    let note = format!(
        "{} failed; count {counted} / rows {rows}; folded: {}",
        failed.get(),
        folded.map_or("NOT within 20 s".to_owned(), |stored| format!("{stored}"))
    );
    let row = HotRow {
        database: server.backend,
        what: "fandb".to_owned(),
        connections: fans.len(),
        per_second: latencies.len() as f64 / elapsed,
        p50: percentile_ms(&latencies, 0.5),
        p99: percentile_ms(&latencies, 0.99),
        note,
    };
    (row, right)
}

/// The petition's signatureCount as the API shows it.
async fn server_count(server: &Server, petition: i64) -> i64 {
    let client = support::client();
    let answer = client.post(&server.graphql).send_json(&body(POLL, &petition_gid(petition))).await;
    let json: serde_json::Value = match answer {
        Ok(mut response) => response.json().await.unwrap_or_default(),
        Err(error) => fail(&format!("poll: {error}")),
    };
    json["data"]["node"]["signatureCount"].as_i64().unwrap_or(-1)
}

/// The petition's own stored column once no slot of it is left (the server folds every second);
/// `None` when slots are still there after 20 s.
async fn wait_folded(db: &DatabaseConnection, petition: i64) -> Option<i64> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let left =
            scalar(db, format!("SELECT COUNT(*) FROM petition_count_slots WHERE petition_id = {petition}")).await;
        if left == 0 {
            return Some(scalar(db, format!("SELECT signature_count FROM petitions WHERE id = {petition}")).await);
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// pgbench of the same transition with a counter row, then of the insert or delete alone.
async fn pgbench_hot_row(server: &Server, connections: usize, seconds: u64) -> Vec<HotRow> {
    let setup = [
        "CREATE TABLE IF NOT EXISTS bench_hot_counter (id INT PRIMARY KEY, count BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS bench_hot_rows (user_id INT PRIMARY KEY, created_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    ];
    for sql in setup {
        if let Err(error) = server.db.execute_unprepared(sql).await {
            fail(&format!("pgbench tables: {error}"));
        }
    }
    let fsync = show(&server.db, "fsync").await;
    let synchronous = show(&server.db, "synchronous_commit").await;
    let read = "SELECT count(*) AS have FROM bench_hot_rows WHERE user_id = :client_id \\gset\n";
    let with_counter = format!(
        "{read}\\if :have = 0\nBEGIN;\nSELECT count FROM bench_hot_counter WHERE id = 1 FOR UPDATE;\n\
         INSERT INTO bench_hot_rows (user_id) VALUES (:client_id);\n\
         UPDATE bench_hot_counter SET count = count + 1 WHERE id = 1;\nCOMMIT;\n\\else\nBEGIN;\n\
         SELECT count FROM bench_hot_counter WHERE id = 1 FOR UPDATE;\n\
         DELETE FROM bench_hot_rows WHERE user_id = :client_id;\n\
         UPDATE bench_hot_counter SET count = count - 1 WHERE id = 1;\nCOMMIT;\n\\endif\n"
    );
    let alone = format!(
        "{read}\\if :have = 0\nINSERT INTO bench_hot_rows (user_id) VALUES (:client_id);\n\\else\n\
         DELETE FROM bench_hot_rows WHERE user_id = :client_id;\n\\endif\n"
    );
    let mut out = Vec::new();
    for (what, script) in [("pgbench, counter row", with_counter), ("pgbench, insert/delete alone", alone)] {
        let reset =
            "TRUNCATE bench_hot_rows; DELETE FROM bench_hot_counter; INSERT INTO bench_hot_counter VALUES (1, 0)";
        if let Err(error) = server.db.execute_unprepared(reset).await {
            fail(&format!("pgbench reset: {error}"));
        }
        let (per_second, p50, p99) = pgbench(&server.url, &script, connections, seconds);
        out.push(HotRow {
            database: "postgres",
            what: what.to_owned(),
            connections,
            per_second,
            p50,
            p99,
            note: format!("fsync={fsync}, synchronous_commit={synchronous}"),
        });
    }
    out
}

async fn show(db: &DatabaseConnection, setting: &str) -> String {
    let statement = sea_orm::Statement::from_string(db.get_database_backend(), format!("SHOW {setting}"));
    match db.query_one_raw(statement).await {
        Ok(Some(row)) => row.try_get_by_index::<String>(0).unwrap_or_default(),
        _ => "?".to_owned(),
    }
}

/// Runs `script` in pgbench; transactions/s and the p50/p99 latency from its per-transaction log.
fn pgbench(url: &str, script: &str, connections: usize, seconds: u64) -> (f64, f64, f64) {
    let dir = std::env::temp_dir().join(format!("fandb_hot_row_{}_{connections}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|error| fail(&format!("pgbench dir: {error}")));
    let file = dir.join("script.sql");
    std::fs::write(&file, script).unwrap_or_else(|error| fail(&format!("pgbench script: {error}")));
    let output = Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-j", "2", "--log"])
        .arg(format!("--log-prefix={}", dir.join("log").display()))
        .arg(format!("-c{connections}"))
        .arg(format!("-T{seconds}"))
        .arg("-f")
        .arg(&file)
        .arg(url)
        .output()
        .unwrap_or_else(|error| fail(&format!("pgbench: {error}")));
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        fail(&format!("pgbench failed: {}{}", stdout, String::from_utf8_lossy(&output.stderr)));
    }
    let tps = stdout
        .lines()
        .find(|line| line.starts_with("tps = "))
        .and_then(|line| line.trim_start_matches("tps = ").split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN);
    // Each log line: client, transaction number, latency in µs, ...
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with("log") {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            latencies.extend(text.lines().filter_map(|line| line.split_whitespace().nth(2)?.parse::<u64>().ok()));
        }
    }
    latencies.sort_unstable();
    let _ = std::fs::remove_dir_all(&dir);
    (tps, percentile_ms(&latencies, 0.5), percentile_ms(&latencies, 0.99))
}

/// What the hashtag hour's signers have done with the watched petition so far.
#[derive(Default)]
struct Watched {
    /// Signatures sent.
    sent: Cell<i64>,
    /// Signatures acknowledged.
    acknowledged: Cell<i64>,
    /// When each signature was acknowledged, in order.
    acknowledged_at: RefCell<Vec<Instant>>,
}

/// How far a polled count may trail the signatures acknowledged before the poll was sent: a
/// count notice goes out at most every 50 ms, and the response cache drops counts at most every
/// 50 ms (docs/OPERATIONS.md, "The response cache").
const STATED_LAG: Duration = Duration::from_millis(100);

/// The hashtag hour: `fans` sign while `POLLERS` poll; one table line, and whether every poll and
/// the final count were right.
async fn hashtag_hour(server: &Server, fans: &[(i64, String)], seconds: u64) -> (String, bool) {
    let mut petitions = Vec::with_capacity(PETITIONS_PER_FAN);
    for i in 0..PETITIONS_PER_FAN {
        petitions.push(insert_petition(&server.db, format!("hashtag-hour-{i}")).await);
    }
    let watched_id = petitions[0];
    let watched = petition_gid(watched_id);
    let state = Rc::new(Watched::default());
    let stop = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    // The connector of one client opens at most 100 connections: 1,000 fans share 4 clients.
    let sign_clients: Vec<awc::Client> = (0..4).map(|_| support::client()).collect();
    let mut signers = Vec::new();
    for (index, (_, token)) in fans.iter().enumerate() {
        // Each fan starts at another petition, so the watched one comes at every place.
        let mut order: Vec<i64> = petitions.clone();
        order.rotate_left(index % PETITIONS_PER_FAN);
        let client = sign_clients[index % sign_clients.len()].clone();
        let (graphql, token, state) = (server.graphql.clone(), token.clone(), state.clone());
        signers.push(actix_web::rt::spawn(async move {
            let mut latencies = Vec::new();
            for petition in order {
                if Instant::now() >= stop {
                    break;
                }
                let is_watched = petition == watched_id;
                if is_watched {
                    state.sent.set(state.sent.get() + 1);
                }
                let sent = Instant::now();
                if post(&client, &graphql, Some(&token), &body(SIGN, &petition_gid(petition))).await {
                    latencies.push(sent.elapsed().as_micros() as u64);
                    if is_watched {
                        state.acknowledged.set(state.acknowledged.get() + 1);
                        state.acknowledged_at.borrow_mut().push(Instant::now());
                    }
                }
            }
            latencies
        }));
    }
    let done = Rc::new(Cell::new(false));
    let poll_clients: Vec<awc::Client> = (0..3).map(|_| support::client()).collect();
    let violations = Rc::new(RefCell::new(Vec::<String>::new()));
    let mut pollers = Vec::new();
    for index in 0..POLLERS {
        let client = poll_clients[index % poll_clients.len()].clone();
        let (graphql, watched, state, done, violations) =
            (server.graphql.clone(), watched.clone(), state.clone(), done.clone(), violations.clone());
        pollers.push(actix_web::rt::spawn(async move {
            let mut latencies = Vec::new();
            let mut polls = Vec::new();
            let mut seen = 0;
            while !done.get() {
                let sent = Instant::now();
                let answer = client.post(&graphql).send_json(&body(POLL, &watched)).await;
                let Ok(mut response) = answer else { continue };
                let json: serde_json::Value = response.json().await.unwrap_or_default();
                latencies.push(sent.elapsed().as_micros() as u64);
                let ceiling = state.sent.get();
                let Some(count) = json["data"]["node"]["signatureCount"].as_i64() else {
                    violations.borrow_mut().push(format!("no count: {json}"));
                    continue;
                };
                if count < seen || count > ceiling {
                    violations.borrow_mut().push(format!("{count} (seen {seen}, sent {ceiling})"));
                }
                polls.push((sent, count));
                seen = seen.max(count);
            }
            (latencies, polls)
        }));
    }
    let mut sign_latencies = Vec::new();
    for signer in signers {
        sign_latencies.extend(signer.await.unwrap_or_default());
    }
    let elapsed = started.elapsed().as_secs_f64();
    done.set(true);
    let mut poll_latencies = Vec::new();
    let mut polls = Vec::new();
    for poller in pollers {
        let (latencies, answers) = poller.await.unwrap_or_default();
        poll_latencies.extend(latencies);
        polls.extend(answers);
    }
    sign_latencies.sort_unstable();
    poll_latencies.sort_unstable();
    // Each poll's lag: how long the first acknowledged signature its count leaves out had been
    // acknowledged when the poll was sent (0 when it left out none).
    let mut lags: Vec<u64> = {
        let acknowledged_at = state.acknowledged_at.borrow();
        polls
            .iter()
            .map(|(sent, count)| {
                let missing = usize::try_from(*count).ok().and_then(|count| acknowledged_at.get(count));
                missing.map_or(0, |at| sent.saturating_duration_since(*at).as_micros() as u64)
            })
            .collect()
    };
    lags.sort_unstable();
    for lag in lags.iter().filter(|lag| Duration::from_micros(**lag) > STATED_LAG) {
        violations.borrow_mut().push(format!("a count {} ms behind", lag / 1_000));
    }
    let rows = rows(&server.db, watched_id).await;
    // The last signatures reach the polled count within the stated lag.
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut counted = server_count(server, watched_id).await;
    while counted != rows && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        counted = server_count(server, watched_id).await;
    }
    let violations = violations.borrow();
    for violation in violations.iter().take(5) {
        eprintln!("hashtag hour, {}: a poll: {violation}", server.backend);
    }
    let right = violations.is_empty() && rows == counted && rows == state.acknowledged.get();
    let line = format!(
        "| {} | {:.0} | {:.2} / {:.2} | {:.0} | {:.2} / {:.2} | {} | {:.1} / {:.1} | {} (final count {counted}, rows {rows}) |",
        server.backend,
        sign_latencies.len() as f64 / elapsed,
        percentile_ms(&sign_latencies, 0.5),
        percentile_ms(&sign_latencies, 0.99),
        poll_latencies.len() as f64 / elapsed,
        percentile_ms(&poll_latencies, 0.5),
        percentile_ms(&poll_latencies, 0.99),
        poll_latencies.len(),
        percentile_ms(&lags, 0.99),
        lags.last().copied().unwrap_or_default() as f64 / 1_000.0,
        violations.len(),
    );
    (line, right)
}
