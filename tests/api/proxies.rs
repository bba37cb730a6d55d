//! Behind a load balancer: only a trusted proxy may name the client (`X-Forwarded-For`,
//! `Forwarded: for=`), and the request budget, the sign-in throttle and the access log then key
//! on that client; from any other peer the headers are ignored.

use std::time::Duration;

use api::config::{Limits, Settings, parse_trusted_proxies};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::process::ServerProcess;

/// A server on `app`'s database with a budget of 3 requests (refilled at 1/s) per client and
/// `trusted` as its proxies.
async fn small_budget(app: &TestApp, trusted: &[&str]) -> TestApp {
    let trusted: Vec<String> = trusted.iter().map(|entry| (*entry).to_owned()).collect();
    app.respawn(|settings: &mut Settings| {
        settings.limits = Limits { requests_per_second: 1, request_burst: 3, ..settings.limits.clone() };
        settings.trusted_proxies = parse_trusted_proxies(&trusted).unwrap();
    })
    .await
}

/// `POST /graphql` of `{ __typename }` with `header` set; the status.
async fn status_with(app: &TestApp, header: (&str, &str)) -> u16 {
    let body = serde_json::to_vec(&json!({ "query": "{ __typename }" })).unwrap();
    app.request("POST", "/graphql", &[("content-type", "application/json"), header], Some(body)).await.status
}

/// Sends requests with `header` until one is refused (at most 20); how many went through.
async fn exhaust(app: &TestApp, header: (&str, &str)) -> usize {
    for sent in 0..20 {
        match status_with(app, header).await {
            200 => {}
            429 => return sent,
            other => panic!("{header:?} answered {other}"),
        }
    }
    panic!("{header:?}: 20 requests and none refused");
}

/// Whether one of up to five requests with `header` is refused (a slow machine may see the
/// bucket refill one request a second, not five).
async fn refused_soon(app: &TestApp, header: (&str, &str)) -> bool {
    for _ in 0..5 {
        if status_with(app, header).await == 429 {
            return true;
        }
    }
    false
}

db_tests!(
    each_client_a_trusted_proxy_names_gets_its_own_budget,
    from_an_untrusted_peer_a_spoofed_client_does_not_escape_the_budget,
    the_sign_in_throttle_counts_the_forwarded_client,
    the_access_log_names_the_forwarded_client
);

async fn each_client_a_trusted_proxy_names_gets_its_own_budget(app: TestApp) {
    let app = small_budget(&app, &["127.0.0.1", "10.0.0.0/8"]).await;
    let sent = exhaust(&app, ("x-forwarded-for", "203.0.113.1")).await;
    assert!(sent >= 3, "only {sent} requests before the limit");
    // Another client behind the same proxy still has its whole budget.
    assert_eq!(status_with(&app, ("x-forwarded-for", "203.0.113.2")).await, 200);
    // RFC 7239 names the same client the same way.
    assert!(refused_soon(&app, ("forwarded", "for=203.0.113.1;proto=https")).await);
    assert_eq!(status_with(&app, ("forwarded", "for=\"[2001:db8::7]:4711\"")).await, 200);
    // Trusted hops on the right are skipped ...
    assert!(refused_soon(&app, ("x-forwarded-for", "203.0.113.1, 10.1.2.3")).await);
    // ... but an untrusted hop in the middle is the client: what it wrote to its left is not believed.
    assert_eq!(status_with(&app, ("x-forwarded-for", "203.0.113.1, 198.51.100.9, 10.1.2.3")).await, 200);
    assert_eq!(status_with(&app, ("forwarded", "for=203.0.113.1, for=198.51.100.10, for=10.1.2.3")).await, 200);
}

async fn from_an_untrusted_peer_a_spoofed_client_does_not_escape_the_budget(app: TestApp) {
    // No proxy trusted, and proxies trusted that are not this peer (127.0.0.1).
    for trusted in [&[][..], &["10.0.0.0/8", "::1"][..]] {
        let app = small_budget(&app, trusted).await;
        let mut refused = false;
        for i in 0..20 {
            let (name, value) = if i % 2 == 0 {
                ("x-forwarded-for", format!("203.0.113.{i}"))
            } else {
                ("forwarded", format!("for=203.0.113.{i}"))
            };
            match status_with(&app, (name, &value)).await {
                200 => {}
                429 => {
                    refused = true;
                    break;
                }
                other => panic!("{name}: {value} answered {other}"),
            }
        }
        assert!(refused, "trusting {trusted:?}: twenty spoofed clients were each given a budget of their own");
    }
}

async fn the_sign_in_throttle_counts_the_forwarded_client(app: TestApp) {
    let app = app
        .respawn(|settings| {
            settings.limits.sign_ins_per_minute = 1;
            settings.trusted_proxies = parse_trusted_proxies(&["127.0.0.1".to_owned()]).unwrap();
        })
        .await;
    let login = |client: &'static str| {
        let body = json!({
            "query": "mutation { login(input: { email: \"nobody@iron.city\", password: \"not-the-password\" }) { accessToken } }"
        });
        let app = &app;
        async move {
            let headers = [("content-type", "application/json"), ("x-forwarded-for", client)];
            let response = app.request("POST", "/graphql", &headers, Some(serde_json::to_vec(&body).unwrap())).await;
            let body: Value = response.json();
            body["errors"][0]["extensions"]["code"].as_str().unwrap_or("none").to_owned()
        }
    };
    assert_eq!(login("203.0.113.1").await, "UNAUTHENTICATED");
    assert_eq!(login("203.0.113.1").await, "RATE_LIMITED");
    assert_eq!(login("203.0.113.2").await, "UNAUTHENTICATED", "another client has its own sign-in budget");
}

async fn the_access_log_names_the_forwarded_client(app: TestApp) {
    let server = ServerProcess::start(&app.database_url, &[("FANDB_TRUSTED_PROXIES", "127.0.0.1/32, ::1")]);
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let url = format!("{}/graphql", server.address);
    for (id, forwarded) in [("via-proxy", "198.51.100.4"), ("malformed", "not an address")] {
        let response = client
            .post(&url)
            .insert_header(("x-request-id", id))
            .insert_header(("x-forwarded-for", forwarded))
            .send_json(&json!({ "query": "{ __typename }" }))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }
    let logged = |id: &str| {
        let started = std::time::Instant::now();
        loop {
            let line = server.output().into_iter().find_map(|line| {
                let entry: Value = serde_json::from_str(&line).ok()?;
                (entry["fields"]["message"] == "served" && entry["span"]["id"] == id).then_some(entry)
            });
            if let Some(entry) = line {
                return entry["span"]["client_ip"].as_str().unwrap_or_default().to_owned();
            }
            assert!(started.elapsed() < Duration::from_secs(30), "no access line for {id}: {:?}", server.output());
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    assert_eq!(logged("via-proxy"), "198.51.100.4");
    assert_eq!(logged("malformed"), "127.0.0.1", "a malformed header falls back to the peer");
}

#[test]
fn a_trusted_proxy_that_is_not_a_network_stops_the_server_with_a_clear_error() {
    for bad in ["10.0.0.0/33", "proxy.internal", "10.0.0.0/8,300.1.1.1"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_fandb"))
            .args(["export-schema", "/dev/null"])
            .env("FANDB_TRUSTED_PROXIES", bad)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{bad}: {stderr}");
        assert!(
            stderr.contains("FANDB_TRUSTED_PROXIES") && stderr.contains("is not an IP address or CIDR"),
            "{bad}: {stderr}"
        );
    }
    for good in ["127.0.0.1/32,10.0.0.0/8,::1/128", "192.0.2.7, 2001:db8::/32"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_fandb"))
            .args(["export-schema", "/dev/null"])
            .env("FANDB_TRUSTED_PROXIES", good)
            .output()
            .unwrap();
        assert!(output.status.success(), "{good}: {}", String::from_utf8_lossy(&output.stderr));
    }
}
