//! Memory under load (issue 30): what a WebSocket subscriber costs the server, how fast one
//! signature reaches thousands of them, and what a burst of sign-ins leaves behind. Starts the
//! release `fandb` binary (one process per database, on SQLite and, when
//! `FANDB_BENCH_POSTGRES_URL` is set, on a fresh PostgreSQL database too) and measures its RSS from
//! `/proc`:
//!
//! 1. idle (after warm-up reads and one sign-in, whose first run pages in the code every sign-in
//!    runs), after 100 parallel logins (and the peak during them), and `BENCH_SETTLE_SECONDS`
//!    (60) after they ended;
//! 2. with 1,000, then 5,000, then 10,000 sockets each following one petition's
//!    `petitionSignatureCount`, while 20 fans sign it one after another: RSS per subscriber
//!    (over the RSS before the first socket), and delivery p50/p99 from each sign request's
//!    start to each subscriber's message. Every subscriber must get every count once, in order.
//!
//! Run: `FANDB_BENCH_POSTGRES_URL=postgres://fandb:fandb@127.0.0.1/fandb cargo bench --bench memory_under_load`
//! (the role needs CREATEDB); `FANDB_BENCH_SERVER=/path/to/old/fandb,/path/to/new/fandb` measures
//! other builds one after another, each on each database,
//! `BENCH_LEVELS=1000,5000` other subscriber counts, `BENCH_SETTLE_SECONDS` the wait after the
//! sign-ins. 10,000 sockets need about 10,100 file descriptors in the bench and
//! in the server: the bench raises its soft limit (`ulimit -n`) when the hard limit allows.

#[path = "support/mod.rs"]
mod support;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use awc::ws::{Frame, Message};
use entity::enums::{PetitionStatus, Role};
use entity::{petition, user};
use futures_util::{SinkExt, StreamExt};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Database, Set};
use serde_json::{Value, json};
use support::percentile_ms;

/// The password of every bench fan, and its hash by argon2id (m = 19 MiB, t = 2, p = 1): stored
/// as is, so no hashing happens before the idle figure.
const PASSWORD: &str = "long-enough-password";
const PASSWORD_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$L39j7JXPfoqai665MXGQGg$nRxf7HtUYKggFd4p0SBHJ7NpBh9pRZL9T43qqRQiGhQ";
const SIGN_INS: usize = 100;
/// Hashing threads and queue of the server: two threads (both cores), and room for the whole
/// burst, so every one of the 100 sign-ins is hashed.
const HASH_THREADS: usize = 2;
const HASH_QUEUE: usize = 128;
/// Argon2's working memory per hashing thread.
const ARGON2_MIB: f64 = 19.0;
const LEVELS: [usize; 3] = [1_000, 5_000, 10_000];
const SIGNATURES_PER_LEVEL: usize = 20;
/// Sockets being opened at once.
const OPENING: usize = 64;
const SUBSCRIBE: &str =
    "subscription($p: ID!) { petitionSignatureCount(petitionId: $p) { petitionId signatureCount goal } }";

/// Servers to stop when the bench stops, however it stops.
static SERVERS: Mutex<Vec<Child>> = Mutex::new(Vec::new());

fn fail(message: &str) -> ! {
    stop_servers();
    support::fail(message)
}

fn stop_servers() {
    let mut servers = SERVERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for mut server in servers.drain(..) {
        let _ = server.kill();
        let _ = server.wait();
    }
}

/// Makes sure this process may open `needed` files: raises the soft limit by running itself
/// again under `ulimit -n` when the hard limit allows, and stops when it does not.
fn ensure_file_limit(needed: u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let Some(line) = limits.lines().find(|line| line.starts_with("Max open files")) else { return };
    let numbers: Vec<u64> = line.split_whitespace().filter_map(|word| word.parse().ok()).collect();
    let (soft, hard) = match numbers.as_slice() {
        [soft, hard, ..] => (*soft, *hard),
        _ => return,
    };
    if soft >= needed {
        return;
    }
    if hard < needed || std::env::var_os("FANDB_BENCH_RAISED_FILES").is_some() {
        fail(&format!(
            "{needed} open files are needed, the limit is {soft} (hard {hard}): raise it, e.g. ulimit -n {needed}"
        ));
    }
    let exe = std::env::current_exe().unwrap_or_else(|error| fail(&format!("current_exe: {error}")));
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {hard} && exec \"$0\" \"$@\""))
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env("FANDB_BENCH_RAISED_FILES", "1")
        .status()
        .unwrap_or_else(|error| fail(&format!("sh: {error}")));
    std::process::exit(status.code().unwrap_or(1));
}

/// `RssAnon` of a process (its heap and stacks), in MB.
fn anonymous_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("RssAnon:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb * 1024.0 / 1e6)
}

/// `VmRSS` and `VmHWM` of a process, in MB (10^6 bytes).
fn rss_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb * 1024.0 / 1e6)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A fresh database: `(url, admin url to drop it with, name)` on PostgreSQL, a temporary file on SQLite.
async fn fresh_database(backend: &str) -> (String, Option<(String, String)>) {
    if backend == "sqlite" {
        let path = std::env::temp_dir().join(format!("fandb_bench_memory_{}.sqlite", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        return (format!("sqlite://{}?mode=rwc", path.display()), None);
    }
    let admin_url = std::env::var("FANDB_BENCH_POSTGRES_URL").unwrap_or_default();
    let name = format!("fandb_bench_memory_{}", std::process::id());
    let admin =
        Database::connect(admin_url.as_str()).await.unwrap_or_else(|error| fail(&format!("PostgreSQL: {error}")));
    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\"")).await;
    if let Err(error) = admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await {
        fail(&format!("create the bench database: {error}"));
    }
    let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
    (format!("{base}/{name}"), Some((admin_url.clone(), name)))
}

async fn drop_database(admin: Option<(String, String)>) {
    if let Some((admin_url, name)) = admin
        && let Ok(admin) = Database::connect(admin_url.as_str()).await
    {
        let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
    }
}

/// The server binaries the bench starts, one after another: this build's, or the builds
/// `FANDB_BENCH_SERVER` names (comma-separated, e.g. an older commit's and this one's, to compare
/// them in one run).
fn server_binaries() -> Vec<String> {
    std::env::var("FANDB_BENCH_SERVER")
        .ok()
        .map(|servers| servers.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .filter(|servers: &Vec<String>| !servers.is_empty())
        .unwrap_or_else(|| vec![env!("CARGO_BIN_EXE_fandb").to_owned()])
}

/// Starts `server` on `url` with the limits lifted for one client address; its pid and base URL
/// once `/readyz` answers.
async fn start_server(server: &str, url: &str, backend: &str) -> (u32, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap_or_else(|error| fail(&format!("a free port: {error}")))
        .port();
    let log = std::env::temp_dir().join(format!("fandb_bench_memory_{}_{backend}.log", std::process::id()));
    let log_file = std::fs::File::create(&log).unwrap_or_else(|error| fail(&format!("{}: {error}", log.display())));
    let child = Command::new(server)
        .args(["serve", "--no-seed"])
        .env("DATABASE_URL", url)
        .env("FANDB_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        // Every simulated client shares one address: measure the server, not its per-IP limits.
        .env("FANDB_RATE_LIMIT_PER_SECOND", "1000000")
        .env("FANDB_RATE_LIMIT_BURST", "1000000")
        .env("FANDB_SIGN_INS_PER_MINUTE", "1000000")
        .env("FANDB_SOCKETS_PER_IP", "100000")
        .env("FANDB_HASH_THREADS", HASH_THREADS.to_string())
        .env("FANDB_HASH_QUEUE", HASH_QUEUE.to_string())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|error| fail(&format!("start {server}: {error}")));
    let pid = child.id();
    SERVERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(child);
    let base = format!("http://127.0.0.1:{port}");
    let client = support::client();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status().is_success()
        {
            return (pid, base);
        }
        if Instant::now() > deadline {
            fail(&format!("the server did not become ready (log: {})", log.display()));
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The bench's fans (stored with `PASSWORD_HASH`) and the watched petition; its global id.
async fn seed(url: &str, base: &str) -> String {
    let db = Database::connect(url).await.unwrap_or_else(|error| fail(&format!("connect: {error}")));
    let now = chrono::Utc::now();
    for index in 0..SIGN_INS {
        let fan = user::ActiveModel {
            email: Set(format!("fan{index}@bench.example")),
            display_name: Set(format!("Fan {index}")),
            password_hash: Set(PASSWORD_HASH.to_owned()),
            role: Set(Role::Fan),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        fan.insert(&db).await.unwrap_or_else(|error| fail(&format!("insert a fan: {error}")));
    }
    let watched = petition::ActiveModel {
        slug: Set("bench-watched".to_owned()),
        title: Set("Watched".to_owned()),
        body: Set("Bench".to_owned()),
        target: Set("Bench".to_owned()),
        goal: Set(1_000_000),
        status: Set(PetitionStatus::Open),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    watched.insert(&db).await.unwrap_or_else(|error| fail(&format!("insert the petition: {error}")));
    let answer =
        graphql(&support::client(), base, None, &json!({ "query": "{ petition(slug: \"bench-watched\") { id } }" }))
            .await;
    answer["data"]["petition"]["id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| fail(&format!("the petition: {answer}")))
}

async fn graphql(client: &awc::Client, base: &str, token: Option<&str>, body: &Value) -> Value {
    let mut request = client.post(format!("{base}/graphql"));
    if let Some(token) = token {
        request = request.insert_header(("authorization", format!("Bearer {token}")));
    }
    match request.send_json(body).await {
        Ok(mut response) => {
            response.json::<Value>().limit(1 << 20).await.unwrap_or_else(|error| json!({ "bench": error.to_string() }))
        }
        Err(error) => json!({ "bench": error.to_string() }),
    }
}

/// The sign-in figures: RSS in MB.
struct SignIns {
    idle: f64,
    /// The anonymous (heap, stacks) part of `idle` and of `settled`; the rest is the binary's
    /// code and libraries, paged in from their files.
    idle_anonymous: f64,
    settled_anonymous: f64,
    peak: f64,
    after: f64,
    settled: f64,
    settle_seconds: u64,
    signed_in: usize,
    took: Duration,
    tokens: Vec<String>,
}

async fn sign_ins(pid: u32, base: &str) -> SignIns {
    let client = support::client();
    // Warm up the ordinary paths (connections, the schema) without hashing anything.
    for _ in 0..20 {
        graphql(
            &client,
            base,
            None,
            &json!({ "query": "{ petition(slug: \"bench-watched\") { id signatureCount } }" }),
        )
        .await;
    }
    // And one sign-in: the first one pages in the code of every sign-in (hashing, tokens,
    // sessions) once for the server's life, whatever the burst. Then its hashing memory goes
    // (after 2 s without a job).
    login(&client, base, 0).await;
    actix_web::rt::time::sleep(Duration::from_secs(4)).await;
    let (idle, _) = rss_mb(pid);
    let idle_anonymous = anonymous_mb(pid);
    let started = Instant::now();
    let logins = (0..SIGN_INS).map(|index| async move { login(&support::client(), base, index).await });
    let tokens: Vec<String> = futures_util::future::join_all(logins).await.into_iter().flatten().collect();
    let took = started.elapsed();
    let (after, peak) = rss_mb(pid);
    let settle_seconds: u64 = std::env::var("BENCH_SETTLE_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    actix_web::rt::time::sleep(Duration::from_secs(settle_seconds)).await;
    let (settled, _) = rss_mb(pid);
    let settled_anonymous = anonymous_mb(pid);
    SignIns {
        idle,
        idle_anonymous,
        settled_anonymous,
        peak,
        after,
        settled,
        settle_seconds,
        signed_in: tokens.len(),
        took,
        tokens,
    }
}

/// Signs bench fan `index` in; the access token.
async fn login(client: &awc::Client, base: &str, index: usize) -> Option<String> {
    let body = json!({
        "query": "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }",
        "variables": { "e": format!("fan{index}@bench.example"), "p": PASSWORD },
    });
    let answer = graphql(client, base, None, &body).await;
    answer["data"]["login"]["accessToken"].as_str().map(str::to_owned)
}

/// One subscriber's counts, each with its arrival time.
type Seen = Rc<RefCell<Vec<(i64, Instant)>>>;

/// What the subscribers saw: per subscriber, each count with its arrival time.
#[derive(Default)]
struct Arrivals {
    seen: Vec<Seen>,
    /// How many subscribers have received each count.
    per_count: Rc<RefCell<HashMap<i64, usize>>>,
    closed: Rc<Cell<usize>>,
}

/// The `signatureCount` in a `next` message, read without parsing the JSON.
fn count_of(message: &[u8]) -> Option<i64> {
    const KEY: &[u8] = b"\"signatureCount\":";
    let at = message.windows(KEY.len()).position(|window| window == KEY)? + KEY.len();
    let digits: Vec<u8> = message.get(at..)?.iter().copied().take_while(u8::is_ascii_digit).collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

/// Opens one subscriber: `connection_init`, its ack, `subscribe`, and the first value.
async fn open_subscriber(
    client: &awc::Client,
    url: &str,
    subscribe: &str,
) -> Result<(actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>, i64), String> {
    let (_, mut socket) =
        client.ws(url).protocols(["graphql-transport-ws"]).connect().await.map_err(|error| error.to_string())?;
    let init = json!({ "type": "connection_init", "payload": {} }).to_string();
    socket.send(Message::Text(init.into())).await.map_err(|error| error.to_string())?;
    let mut subscribed = false;
    loop {
        match socket.next().await {
            Some(Ok(Frame::Text(bytes))) => {
                if !subscribed {
                    subscribed = true;
                    socket.send(Message::Text(subscribe.to_owned().into())).await.map_err(|error| error.to_string())?;
                } else if let Some(count) = count_of(&bytes) {
                    return Ok((socket, count));
                } else {
                    return Err(String::from_utf8_lossy(&bytes).into_owned());
                }
            }
            Some(Ok(Frame::Ping(payload))) => {
                socket.send(Message::Pong(payload)).await.map_err(|error| error.to_string())?;
            }
            Some(Ok(Frame::Close(reason))) => return Err(format!("closed: {reason:?}")),
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(error.to_string()),
            None => return Err("the socket ended".to_owned()),
        }
    }
}

/// Opens `count` more subscribers and starts reading each.
async fn add_subscribers(arrivals: &mut Arrivals, ws_url: &str, petition: &str, count: usize) {
    let client = awc::Client::builder()
        .connector(awc::Connector::new().limit(0).timeout(Duration::from_secs(30)))
        .timeout(Duration::from_secs(60))
        .finish();
    let subscribe =
        json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIBE, "variables": { "p": petition } } })
            .to_string();
    let opened: Vec<_> = futures_util::stream::iter(0..count)
        .map(|_| open_subscriber(&client, ws_url, &subscribe))
        .buffer_unordered(OPENING)
        .collect()
        .await;
    for result in opened {
        let (mut socket, first) = result.unwrap_or_else(|error| fail(&format!("a subscriber could not open: {error}")));
        let seen = Rc::new(RefCell::new(vec![(first, Instant::now())]));
        arrivals.seen.push(seen.clone());
        let (per_count, closed) = (arrivals.per_count.clone(), arrivals.closed.clone());
        actix_web::rt::spawn(async move {
            while let Some(frame) = socket.next().await {
                match frame {
                    Ok(Frame::Text(bytes)) => {
                        if let Some(count) = count_of(&bytes) {
                            seen.borrow_mut().push((count, Instant::now()));
                            *per_count.borrow_mut().entry(count).or_insert(0) += 1;
                        }
                    }
                    Ok(Frame::Ping(payload)) => {
                        if socket.send(Message::Pong(payload)).await.is_err() {
                            break;
                        }
                    }
                    Ok(Frame::Close(_)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            closed.set(closed.get() + 1);
        });
    }
}

/// One level's figures.
struct Level {
    subscribers: usize,
    rss: f64,
    peak: f64,
    per_subscriber_kb: f64,
    p50: f64,
    p99: f64,
    max: f64,
    missed: usize,
    closed: usize,
}

/// 20 signatures, one after another, each waited for until every subscriber has its count (or
/// 30 s have passed); the latency of every delivery from its sign request's start.
async fn deliver(arrivals: &Arrivals, base: &str, petition: &str, tokens: &[String]) -> (Vec<u64>, usize) {
    let client = support::client();
    let subscribers = arrivals.seen.len();
    let mut sent_at: HashMap<i64, Instant> = HashMap::new();
    for token in tokens {
        let started = Instant::now();
        let body = json!({ "query": "mutation($p: ID!) { signPetition(petitionId: $p) { petition { signatureCount } } }", "variables": { "p": petition } });
        let answer = graphql(&client, base, Some(token), &body).await;
        let count = answer["data"]["signPetition"]["petition"]["signatureCount"]
            .as_i64()
            .unwrap_or_else(|| fail(&format!("a signature failed: {answer}")));
        sent_at.insert(count, started);
        let deadline = started + Duration::from_secs(30);
        while arrivals.per_count.borrow().get(&count).copied().unwrap_or(0) < subscribers && Instant::now() < deadline {
            actix_web::rt::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let mut latencies = Vec::with_capacity(subscribers * tokens.len());
    for seen in &arrivals.seen {
        for (count, at) in seen.borrow().iter() {
            if let Some(started) = sent_at.get(count) {
                latencies.push(at.saturating_duration_since(*started).as_micros() as u64);
            }
        }
    }
    let missed = subscribers * tokens.len() - latencies.len();
    latencies.sort_unstable();
    (latencies, missed)
}

/// Every subscriber's counts go up by exactly one each time: none skipped, repeated or reordered.
fn in_order(arrivals: &Arrivals) -> usize {
    arrivals.seen.iter().filter(|seen| seen.borrow().windows(2).any(|pair| pair[1].0 != pair[0].0 + 1)).count()
}

async fn subscribers(pid: u32, base: &str, petition: &str, tokens: &[String]) -> (f64, Vec<Level>, usize) {
    let ws_url = format!("{}/graphql", base.replacen("http://", "ws://", 1));
    actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    let (before, _) = rss_mb(pid);
    let mut arrivals = Arrivals::default();
    let mut levels = Vec::new();
    let mut signers = tokens.chunks(SIGNATURES_PER_LEVEL);
    for target in levels_asked() {
        let more = target - arrivals.seen.len();
        add_subscribers(&mut arrivals, &ws_url, petition, more).await;
        let batch = signers.next().unwrap_or_else(|| fail("not enough signed-in fans to sign"));
        let (latencies, missed) = deliver(&arrivals, base, petition, batch).await;
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
        let (rss, peak) = rss_mb(pid);
        levels.push(Level {
            subscribers: target,
            rss,
            peak,
            per_subscriber_kb: (rss - before) * 1e6 / 1024.0 / target as f64,
            p50: percentile_ms(&latencies, 0.5),
            p99: percentile_ms(&latencies, 0.99),
            max: latencies.last().map_or(f64::NAN, |max| *max as f64 / 1000.0),
            missed,
            closed: arrivals.closed.get(),
        });
    }
    (before, levels, in_order(&arrivals))
}

/// The subscriber counts to measure at: `BENCH_LEVELS` (comma-separated, rising), else `LEVELS`.
fn levels_asked() -> Vec<usize> {
    std::env::var("BENCH_LEVELS")
        .ok()
        .map(|levels| levels.split(',').filter_map(|level| level.trim().parse().ok()).collect::<Vec<usize>>())
        .filter(|levels| !levels.is_empty() && levels.is_sorted())
        .unwrap_or_else(|| LEVELS.to_vec())
}

async fn bench(server: &str, backend: &'static str) -> bool {
    let (url, admin) = fresh_database(backend).await;
    let (pid, base) = start_server(server, &url, backend).await;
    let petition = seed(&url, &base).await;
    let signed = sign_ins(pid, &base).await;
    if signed.tokens.len() < SIGNATURES_PER_LEVEL * levels_asked().len() {
        fail(&format!("only {} of {SIGN_INS} sign-ins succeeded", signed.tokens.len()));
    }
    let (before, levels, disordered) = subscribers(pid, &base, &petition, &signed.tokens).await;
    stop_servers();
    drop_database(admin).await;

    println!("memory under load ({backend}, server {server}, {HASH_THREADS} hashing threads)");
    println!();
    println!("| sign-ins | server RSS (MB) |");
    println!("| --- | ---: |");
    println!("| idle, after one sign-in | {:.1} (anonymous {:.1}) |", signed.idle, signed.idle_anonymous);
    println!(
        "| peak during {SIGN_INS} parallel logins ({} signed in, {:.1} s) | {:.1} |",
        signed.signed_in,
        signed.took.as_secs_f64(),
        signed.peak
    );
    println!("| when they had all answered | {:.1} |", signed.after);
    println!(
        "| {} s later | {:.1} (anonymous {:.1}) |",
        signed.settle_seconds, signed.settled, signed.settled_anonymous
    );
    println!();
    println!(
        "| subscribers | server RSS (MB) | peak RSS (MB) | RSS per subscriber (KB) | delivery p50 (ms) | delivery p99 (ms) | max (ms) | missed | sockets closed |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for level in &levels {
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} |",
            level.subscribers,
            level.rss,
            level.peak,
            level.per_subscriber_kb,
            level.p50,
            level.p99,
            level.max,
            level.missed,
            level.closed
        );
    }
    println!();
    println!(
        "RSS before the first subscriber {before:.1} MB; {SIGNATURES_PER_LEVEL} signatures per level, one after another; delivery from each sign request's start; subscribers with a count skipped, repeated or out of order: {disordered}"
    );
    let bound = signed.idle + HASH_THREADS as f64 * ARGON2_MIB * 1.048_576 + 25.0;
    let verdict = |met: bool, figure: f64| match (figure.is_nan(), met) {
        (true, _) => "not measured",
        (false, true) => "met",
        (false, false) => "NOT met",
    };
    let at = |subscribers: usize| levels.iter().find(|level| level.subscribers == subscribers);
    let per_subscriber = at(10_000).map_or(f64::NAN, |level| level.per_subscriber_kb);
    let none_missed = levels.iter().all(|level| level.missed == 0 && level.closed == 0) && disordered == 0;
    let p99 = at(5_000).map_or(f64::NAN, |level| level.p99);
    let settled = signed.settled <= signed.idle * 1.1;
    println!(
        "target ≤ 16 KB per subscriber at 10,000, none missed: {per_subscriber:.1} KB, {} — {}",
        if none_missed { "none missed" } else { "SOME MISSED" },
        verdict(per_subscriber <= 16.0 && none_missed, per_subscriber)
    );
    println!("target delivery p99 ≤ 100 ms at 5,000: {p99:.1} ms — {}", verdict(p99 <= 100.0, p99));
    println!(
        "target peak RSS of the sign-in burst ≤ idle + {HASH_THREADS} × 19 MiB + 25 MB = {bound:.1} MB: {:.1} MB — {}",
        signed.peak,
        verdict(signed.peak <= bound, signed.peak)
    );
    println!(
        "target RSS {} s after the burst within 10 % of idle ({:.1} MB): {:.1} MB — {}",
        signed.settle_seconds,
        signed.idle * 1.1,
        signed.settled,
        verdict(settled, signed.settled)
    );
    println!();
    none_missed
}

fn main() {
    ensure_file_limit(levels_asked().last().copied().unwrap_or(0) as u64 + 1_000);
    let mut backends = vec!["sqlite"];
    if std::env::var_os("FANDB_BENCH_POSTGRES_URL").is_some() {
        backends.push("postgres");
    }
    let exact = actix_web::rt::System::new().block_on(async move {
        let mut exact = true;
        for backend in backends {
            for server in server_binaries() {
                exact &= bench(&server, backend).await;
            }
        }
        exact
    });
    stop_servers();
    if !exact {
        std::process::exit(1);
    }
}
