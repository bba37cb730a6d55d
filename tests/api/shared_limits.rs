//! Several fandb processes on one Redis (`FANDB_REDIS_URL`) share one request budget and one
//! sign-in budget per client IP, and the failed-login defences (delays per email and address, the
//! email lock and its known-good addresses); when Redis goes away (or freezes) reads still answer
//! within each process's own budget, sign-ins are refused with `SERVICE_UNAVAILABLE`, `/readyz`
//! says degraded, and when it is back everything is shared again without a restart.

use std::time::{Duration, Instant};

use api::config::Limits;
use api::config::Secret;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::process::ServerProcess;
use crate::support::redis::RedisServer;

const READ: &str = "{ films { totalCount } }";
const REGISTER: &str = "mutation($email: String!) { register(input: { email: $email, password: \"long-enough-password\", displayName: \"Fan\" }) { accessToken } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: { email: $email, password: $password }) { accessToken } }";

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or("none")
}

/// A server on the test's database keeping its limits in `redis`.
async fn on_redis(app: &TestApp, redis: &RedisServer, limits: Limits) -> TestApp {
    let url = redis.url();
    app.respawn(move |settings| {
        settings.limits = limits;
        settings.redis_url = Some(Secret::new(url));
    })
    .await
}

fn no_request_budget() -> Limits {
    Limits { requests_per_second: 1_000_000, request_burst: 1_000_000, ..Limits::default() }
}

async fn login_from(app: &TestApp, ip: &str, email: &str, password: &str) -> Value {
    app.graphql_from(ip, LOGIN, json!({ "email": email, "password": password })).await
}

async fn login(app: &TestApp, attempt: usize) -> Value {
    app.graphql(LOGIN, json!({ "email": format!("nobody{attempt}@iron.city"), "password": "wrong-password" })).await
}

db_tests!(
    two_processes_share_one_request_budget,
    the_fandb_binary_takes_its_redis_from_fandb_redis_url,
    an_outage_is_logged_once_and_its_end_once,
    two_processes_share_one_sign_in_budget,
    failing_addresses_on_two_processes_lock_an_email_on_both_except_for_known_good_ones,
    one_address_failing_through_two_processes_waits_as_if_on_one,
    without_redis_reads_pass_and_sign_ins_are_refused_until_it_is_back,
    a_frozen_redis_leaves_every_limit_on_answers_fast_and_is_reported_until_it_thaws
);

async fn two_processes_share_one_request_budget(app: TestApp) {
    let Some(redis) = RedisServer::start() else { return };
    // A burst of 20 refilled at one a second: spending it from both servers takes far less
    // than the 20 s it would need to refill to twice the burst, even on a loaded machine.
    let limits = Limits { requests_per_second: 1, request_burst: 20, ..no_request_budget() };
    let servers = [on_redis(&app, &redis, limits.clone()).await, on_redis(&app, &redis, limits).await];
    let body = serde_json::to_vec(&json!({ "query": READ })).unwrap();
    let headers = [("content-type", "application/json")];
    let mut allowed = 0;
    let refusal = loop {
        let server = &servers[allowed % 2];
        let response = server.request("POST", "/graphql", &headers, Some(body.clone())).await;
        if response.status == 429 {
            break response;
        }
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(response.header("ratelimit-limit"), "20");
        if allowed == 0 {
            assert_eq!(response.header("ratelimit-remaining"), "19");
        }
        allowed += 1;
        assert!(allowed < 40, "two servers let through twice the burst: the budget is not shared");
    };
    assert!((20..30).contains(&allowed), "{allowed} requests went through on a shared burst of 20");
    let seconds: u64 = refusal.header("retry-after").parse().expect("a Retry-After in seconds");
    assert_eq!(seconds, 1);
    assert_eq!(refusal.header("ratelimit-remaining"), "0");
    assert_eq!(code(&refusal.json()), "RATE_LIMITED");
    // The other server refuses this client too.
    let other = servers[(allowed + 1) % 2].request("POST", "/graphql", &headers, Some(body)).await;
    assert_eq!(other.status, 429, "{}", other.body);
    // Another client IP has a budget of its own.
    let elsewhere = servers[0].graphql_from("127.0.0.2", READ, json!({})).await;
    assert!(elsewhere["data"]["films"]["totalCount"].is_u64(), "{elsewhere}");
}

async fn the_fandb_binary_takes_its_redis_from_fandb_redis_url(app: TestApp) {
    let Some(redis) = RedisServer::start() else { return };
    let url = redis.url();
    let binary = ServerProcess::start(
        &app.database_url,
        &[("FANDB_REDIS_URL", url.as_str()), ("FANDB_RATE_LIMIT_BURST", "5"), ("FANDB_RATE_LIMIT_PER_SECOND", "1")],
    );
    let limits = Limits { requests_per_second: 1, request_burst: 5, ..no_request_budget() };
    let in_process = on_redis(&app, &redis, limits).await;
    let body = serde_json::to_vec(&json!({ "query": READ })).unwrap();
    let headers = [("content-type", "application/json")];
    let mut allowed = 0;
    while in_process.request("POST", "/graphql", &headers, Some(body.clone())).await.status == 200 {
        allowed += 1;
        assert!(allowed < 10, "a burst of 5 was never exhausted");
    }
    // The budget the in-process server spent is the one the binary reads.
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let response =
        client.post(format!("{}/graphql", binary.address)).send_json(&json!({ "query": READ })).await.unwrap();
    assert_eq!(response.status().as_u16(), 429);
}

async fn an_outage_is_logged_once_and_its_end_once(app: TestApp) {
    let Some(mut redis) = RedisServer::start() else { return };
    let url = redis.url();
    let binary = ServerProcess::start(&app.database_url, &[("FANDB_REDIS_URL", url.as_str())]);
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let login = |attempt: usize| {
        let request = client.post(format!("{}/graphql", binary.address));
        let variables = json!({ "email": format!("nobody{attempt}@iron.city"), "password": "wrong-password" });
        async move {
            let mut response = request.send_json(&json!({ "query": LOGIN, "variables": variables })).await.unwrap();
            let body: Value = response.json().await.unwrap();
            code(&body).to_owned()
        }
    };
    assert_eq!(login(0).await, "UNAUTHENTICATED");
    redis.stop();
    for attempt in 1..=5 {
        assert_eq!(login(attempt).await, "SERVICE_UNAVAILABLE");
    }
    redis.resume();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut attempt = 6;
    while login(attempt).await != "UNAUTHENTICATED" {
        assert!(Instant::now() < deadline, "sign-ins still refused a minute after Redis came back");
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let count = |needle: &str| binary.output().iter().filter(|line| line.contains(needle)).count();
    assert_eq!(count("Redis is unreachable"), 1, "{:?}", binary.output());
    assert_eq!(count("Redis answers again"), 1, "{:?}", binary.output());
}

async fn two_processes_share_one_sign_in_budget(app: TestApp) {
    let Some(redis) = RedisServer::start() else { return };
    // Two a minute: one attempt every 30 s, far longer than hashing four passwords takes.
    let limits = Limits { sign_ins_per_minute: 2, ..no_request_budget() };
    let servers = [on_redis(&app, &redis, limits.clone()).await, on_redis(&app, &redis, limits).await];
    assert_eq!(code(&login(&servers[0], 0).await), "UNAUTHENTICATED");
    assert_eq!(code(&login(&servers[1], 1).await), "UNAUTHENTICATED");
    for (attempt, server) in servers.iter().enumerate() {
        let refused = login(server, attempt + 2).await;
        assert_eq!(code(&refused), "RATE_LIMITED", "{refused}");
        let retry_after = refused["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap();
        assert!((1..=30).contains(&retry_after), "retryAfter {retry_after}");
    }
    // Reads are not sign-ins.
    assert!(servers[1].data(READ, json!({})).await["films"]["totalCount"].is_u64());
}

async fn failing_addresses_on_two_processes_lock_an_email_on_both_except_for_known_good_ones(app: TestApp) {
    let Some(redis) = RedisServer::start() else { return };
    app.data(REGISTER, json!({ "email": "yugo@iron.city" })).await;
    // A 100-minute lock once four addresses fail on an email (no loaded machine outlives it); no
    // per-address delays in the way.
    let limits = Limits {
        sign_ins_per_minute: 1_000_000,
        failures_before_delay: 1_000,
        lock_after_ips: 4,
        lock_duration: Duration::from_secs(6000),
        known_good_duration: Duration::from_secs(3600),
        ..no_request_budget()
    };
    let servers = [on_redis(&app, &redis, limits.clone()).await, on_redis(&app, &redis, limits).await];
    // The owner signs in on one process: known-good on both.
    let owner = login_from(&servers[0], "127.0.0.1", "yugo@iron.city", "long-enough-password").await;
    assert!(owner["data"]["login"]["accessToken"].is_string(), "{owner}");

    for (index, ip) in ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"].iter().enumerate() {
        let failed = login_from(&servers[index % 2], ip, "yugo@iron.city", "not-the-password").await;
        assert_eq!(code(&failed), "UNAUTHENTICATED", "{ip}: {failed}");
    }
    // Two addresses per process: locked on both, for the right password too.
    for server in &servers {
        let refused = login_from(server, "127.0.0.6", "yugo@iron.city", "long-enough-password").await;
        assert_eq!(code(&refused), "RATE_LIMITED", "{refused}");
        let wait = refused["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap();
        assert!((5000..=6000).contains(&wait), "a 100-minute lock, {wait} s left");
    }
    // The owner's address is known-good on the other process too.
    let owner = login_from(&servers[1], "127.0.0.1", "yugo@iron.city", "long-enough-password").await;
    assert!(owner["data"]["login"]["accessToken"].is_string(), "{owner}");
}

async fn one_address_failing_through_two_processes_waits_as_if_on_one(app: TestApp) {
    let Some(redis) = RedisServer::start() else { return };
    // Three free attempts per (email, address), then waits of 100 s, 200 s, 400 s …: none runs
    // out while a loaded machine hashes passwords.
    let limits = Limits {
        sign_ins_per_minute: 1_000_000,
        failures_before_delay: 3,
        first_delay: Duration::from_secs(100),
        max_delay: Duration::from_secs(3200),
        ..no_request_budget()
    };
    let servers = [on_redis(&app, &redis, limits.clone()).await, on_redis(&app, &redis, limits).await];
    // Alternating servers: each alone would allow three free attempts (six in all); together
    // the third is the last before the waits, so the fourth is refused.
    let mut attempts = 0;
    let wait = loop {
        let response = login_from(&servers[attempts % 2], "127.0.0.2", "gally@iron.city", "not-the-password").await;
        attempts += 1;
        if code(&response) == "RATE_LIMITED" {
            break response["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap();
        }
        assert_eq!(code(&response), "UNAUTHENTICATED", "{response}");
        assert!(attempts < 6, "six failures let through: each process counted its own");
    };
    assert_eq!(attempts, 4, "refused at attempt {attempts}");
    assert_eq!(wait, 200, "an early attempt doubles the wait");
    // Another address on the same email is untouched.
    let other = login_from(&servers[0], "127.0.0.3", "gally@iron.city", "not-the-password").await;
    assert_eq!(code(&other), "UNAUTHENTICATED", "{other}");
}

async fn without_redis_reads_pass_and_sign_ins_are_refused_until_it_is_back(app: TestApp) {
    let Some(mut redis) = RedisServer::start() else { return };
    let server = on_redis(&app, &redis, Limits { request_burst: 1_000, ..Limits::default() }).await;
    assert_eq!(code(&login(&server, 0).await), "UNAUTHENTICATED");
    redis.stop();

    // The request budget is this process's own meanwhile: reads answer, metered here.
    let body = serde_json::to_vec(&json!({ "query": READ })).unwrap();
    let headers = [("content-type", "application/json")];
    for _ in 0..3 {
        let read = server.request("POST", "/graphql", &headers, Some(body.clone())).await;
        assert_eq!(read.status, 200, "{}", read.body);
        assert!(read.json()["data"]["films"]["totalCount"].is_u64(), "{}", read.body);
        assert_eq!(read.header("ratelimit-limit"), "1000", "{:?}", read.headers);
    }
    // Fail closed for sign-ins.
    let refused = login(&server, 1).await;
    assert_eq!(code(&refused), "SERVICE_UNAVAILABLE", "{refused}");
    assert!(refused["data"].is_null(), "{refused}");
    let metrics = server.get("/metrics").await.body;
    let errors = metrics
        .lines()
        .find_map(|line| line.strip_prefix("fandb_redis_errors_total "))
        .unwrap_or_else(|| panic!("no fandb_redis_errors_total in {metrics}"));
    assert!(errors.trim().parse::<f64>().unwrap() >= 1.0, "fandb_redis_errors_total {errors}");

    // Back on the same port: the same server signs people in again.
    redis.resume();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut attempt = 2;
    loop {
        let response = login(&server, attempt).await;
        if code(&response) == "UNAUTHENTICATED" {
            break;
        }
        assert_eq!(code(&response), "SERVICE_UNAVAILABLE", "{response}");
        assert!(Instant::now() < deadline, "sign-ins still refused a minute after Redis came back");
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let read = server.request("POST", "/graphql", &headers, Some(body)).await;
    assert_eq!(read.header("ratelimit-limit"), "1000", "the request budget is metered again");
}

#[test]
fn a_malformed_fandb_redis_url_stops_the_server_without_echoing_it() {
    let database = std::env::temp_dir().join(format!("fandb_test_redis_url_{}.sqlite", std::process::id()));
    let database_url = format!("sqlite://{}?mode=rwc", database.display());
    for bad in ["http://user:hunter2@127.0.0.1:6379", "redis://:hunter2@/0"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_fandb"))
            .args(["--database-url", &database_url, "--listen", "127.0.0.1:0", "serve", "--no-seed"])
            .env("FANDB_REDIS_URL", bad)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{bad}: {stderr}");
        assert!(stderr.contains("FANDB_REDIS_URL"), "{bad}: {stderr}");
        assert!(!stderr.contains("hunter2"), "the password was echoed: {stderr}");
    }
    let _ = std::fs::remove_file(database);
}

async fn a_frozen_redis_leaves_every_limit_on_answers_fast_and_is_reported_until_it_thaws(app: TestApp) {
    let Some(redis) = RedisServer::start() else { return };
    let server =
        on_redis(&app, &redis, Limits { requests_per_second: 1, request_burst: 10, ..Limits::default() }).await;
    assert_eq!(server.get("/readyz").await.status, 200);
    redis.freeze();

    // The budget holds in this process alone: 10 at once, then 429, from one address.
    let body = serde_json::to_vec(&json!({ "query": READ })).unwrap();
    let headers = [("content-type", "application/json")];
    let mut statuses = Vec::new();
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        let read = server.request("POST", "/graphql", &headers, Some(body.clone())).await;
        slowest = slowest.max(started.elapsed());
        statuses.push(read.status);
    }
    let refused = statuses.iter().filter(|status| **status == 429).count();
    assert!(refused >= 5, "a frozen Redis switched the request budget off: {statuses:?}");
    assert!(statuses.iter().all(|status| *status == 200 || *status == 429), "{statuses:?}");
    // A call waits for Redis at most 150 ms, and not at all while the breaker is open; before, each
    // request waited up to a second. Generous for a loaded machine, far below 20 such waits.
    assert!(slowest < Duration::from_secs(3), "a request took {slowest:?} while Redis was frozen");

    // Sign-ins fail closed, and promptly; readiness says why.
    let refused = login_from(&server, "127.0.0.3", "nobody@iron.city", "wrong-password").await;
    assert_eq!(code(&refused), "SERVICE_UNAVAILABLE", "{refused}");
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(ready.body.contains("degraded"), "{}", ready.body);

    // Thawed: shared again, with no restart.
    redis.thaw();
    let deadline = Instant::now() + Duration::from_secs(60);
    for attempt in 1_u32.. {
        // A fresh address each time, so the small request budget does not answer for Redis.
        let address = format!("127.0.2.{}", attempt % 250 + 1);
        let response = login_from(&server, &address, "nobody@iron.city", "wrong-password").await;
        if code(&response) == "UNAUTHENTICATED" {
            break;
        }
        assert!(Instant::now() < deadline, "sign-ins still refused a minute after Redis thawed: {response}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(server.get("/readyz").await.status, 200);
}
