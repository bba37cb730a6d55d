//! Behind a load balancer: only a trusted proxy may name the client, in the one header it is
//! taken to write (`X-Forwarded-For`, or `Forwarded: for=` when so configured), and the request
//! budget, the sign-in throttle and the access log then key on that client; from any other peer
//! the headers are ignored. The chain is walked from the right: what a client wrote to the left
//! of its own address (`unknown`, garbage, another address) changes nothing.

use std::time::Duration;

use api::config::ForwardedHeader;
use api::config::{Limits, Settings, parse_trusted_proxies};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::process::ServerProcess;

/// The request budget of `small_budget`: larger than the five requests `refused_soon` sends, so
/// only an emptied bucket refuses one of them.
const BURST: u32 = 10;

/// A server on `app`'s database with a budget of `BURST` requests (refilled at 1/s) per client
/// and `trusted` as its proxies, writing `X-Forwarded-For`.
async fn small_budget(app: &TestApp, trusted: &[&str]) -> TestApp {
    small_budget_reading(app, trusted, ForwardedHeader::XForwardedFor).await
}

/// `small_budget` with proxies that write `header`.
async fn small_budget_reading(app: &TestApp, trusted: &[&str], header: ForwardedHeader) -> TestApp {
    let trusted: Vec<String> = trusted.iter().map(|entry| (*entry).to_owned()).collect();
    app.respawn(|settings: &mut Settings| {
        settings.limits = Limits { requests_per_second: 1, request_burst: BURST, ..settings.limits.clone() };
        settings.trusted_proxies = parse_trusted_proxies(&trusted).unwrap().with_header(header);
    })
    .await
}

/// `POST /graphql` of `{ __typename }` with `header` set; the status.
async fn status_with(app: &TestApp, header: (&str, &str)) -> u16 {
    status_with_all(app, &[header]).await
}

/// `POST /graphql` of `{ __typename }` with `headers` set; the status.
async fn status_with_all(app: &TestApp, headers: &[(&str, &str)]) -> u16 {
    let body = serde_json::to_vec(&json!({ "query": "{ __typename }" })).unwrap();
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    app.request("POST", "/graphql", &all, Some(body)).await.status
}

/// Sends requests with `headers` until one is refused (at most 4 × `BURST`), and checks that at
/// least `BURST` went through first: the bucket was full.
async fn exhaust_all(app: &TestApp, headers: &[(&str, &str)]) {
    for sent in 0..4 * BURST as usize {
        match status_with_all(app, headers).await {
            200 => {}
            429 => {
                assert!(sent >= BURST as usize, "{headers:?}: only {sent} requests before the limit");
                return;
            }
            other => panic!("{headers:?} answered {other}"),
        }
    }
    panic!("{headers:?}: {} requests and none refused", 4 * BURST);
}

/// `exhaust_all` with one header.
async fn exhaust(app: &TestApp, header: (&str, &str)) {
    exhaust_all(app, &[header]).await
}

/// Whether one of up to five requests with `headers` is refused: an emptied bucket, not a full
/// one of `BURST` (a slow machine may see the bucket refill one request a second, not five).
async fn refused_soon_all(app: &TestApp, headers: &[(&str, &str)]) -> bool {
    for _ in 0..5 {
        if status_with_all(app, headers).await == 429 {
            return true;
        }
    }
    false
}

/// `refused_soon_all` with one header.
async fn refused_soon(app: &TestApp, header: (&str, &str)) -> bool {
    refused_soon_all(app, &[header]).await
}

db_tests!(
    each_client_a_trusted_proxy_names_gets_its_own_budget,
    from_an_untrusted_peer_a_spoofed_client_does_not_escape_the_budget,
    the_sign_in_throttle_counts_the_forwarded_client,
    the_access_log_names_the_forwarded_client,
    unknown_left_of_the_client_counts_as_the_client,
    a_forwarded_header_the_proxy_did_not_write_is_ignored,
    a_malformed_entry_left_of_the_client_changes_nothing,
    chains_of_several_trusted_proxies_name_the_first_untrusted_hop
);

async fn each_client_a_trusted_proxy_names_gets_its_own_budget(app: TestApp) {
    let app = small_budget(&app, &["127.0.0.1", "10.0.0.0/8"]).await;
    exhaust(&app, ("x-forwarded-for", "203.0.113.1")).await;
    // Another client behind the same proxy still has its whole budget.
    assert_eq!(status_with(&app, ("x-forwarded-for", "203.0.113.2")).await, 200);
    // Trusted hops on the right are skipped ...
    assert!(refused_soon(&app, ("x-forwarded-for", "203.0.113.1, 10.1.2.3")).await);
    // ... but an untrusted hop in the middle is the client: what it wrote to its left is not believed.
    assert_eq!(status_with(&app, ("x-forwarded-for", "203.0.113.1, 198.51.100.9, 10.1.2.3")).await, 200);

    // Proxies that write RFC 7239 `Forwarded` name clients the same way.
    let app = small_budget_reading(&app, &["127.0.0.1", "10.0.0.0/8"], ForwardedHeader::Forwarded).await;
    exhaust(&app, ("forwarded", "for=203.0.113.1;proto=https")).await;
    assert_eq!(status_with(&app, ("forwarded", "for=\"[2001:db8::7]:4711\"")).await, 200);
    assert!(refused_soon(&app, ("forwarded", "for=203.0.113.1, for=10.1.2.3")).await);
    assert_eq!(status_with(&app, ("forwarded", "for=203.0.113.1, for=198.51.100.10, for=10.1.2.3")).await, 200);
}

async fn from_an_untrusted_peer_a_spoofed_client_does_not_escape_the_budget(app: TestApp) {
    // No proxy trusted, and proxies trusted that are not this peer (127.0.0.1).
    for trusted in [&[][..], &["10.0.0.0/8", "::1"][..]] {
        let app = small_budget(&app, trusted).await;
        let mut refused = false;
        for i in 0..4 * BURST {
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
        assert!(refused, "trusting {trusted:?}: every spoofed client was given a budget of its own");
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

async fn unknown_left_of_the_client_counts_as_the_client(app: TestApp) {
    // A client (or a Squid in front of it) sends `X-Forwarded-For: unknown`; the trusted proxy
    // appends the address it saw.
    let app = small_budget(&app, &["127.0.0.1"]).await;
    exhaust(&app, ("x-forwarded-for", "unknown, 203.0.113.7")).await;
    assert!(
        refused_soon(&app, ("x-forwarded-for", "203.0.113.7")).await,
        "`unknown, 203.0.113.7` was not counted as 203.0.113.7"
    );
    // Neither the proxy itself nor the other clients of one that sends `unknown` pay for it.
    assert_eq!(status_with(&app, ("x-request-id", "from-the-proxy-itself")).await, 200);
    assert_eq!(status_with(&app, ("x-forwarded-for", "unknown, 203.0.113.8")).await, 200);
}

async fn a_forwarded_header_the_proxy_did_not_write_is_ignored(app: TestApp) {
    // The proxy writes X-Forwarded-For; the client adds a `Forwarded` of its own choosing.
    let app = small_budget(&app, &["127.0.0.1"]).await;
    let spoofing = [("forwarded", "for=8.8.8.8"), ("x-forwarded-for", "203.0.113.9")];
    exhaust_all(&app, &spoofing).await;
    assert!(
        refused_soon(&app, ("x-forwarded-for", "203.0.113.9")).await,
        "the client's own `Forwarded` moved it out of its bucket"
    );
    assert_eq!(status_with(&app, ("x-forwarded-for", "8.8.8.8")).await, 200, "8.8.8.8 paid for it");
    assert_eq!(status_with(&app, ("forwarded", "for=8.8.8.8")).await, 200, "a lone `Forwarded` is the proxy");

    // Sign-ins too: the client's `Forwarded` gets it no fresh sign-in budget.
    let app = app
        .respawn(|settings| {
            settings.limits.sign_ins_per_minute = 1;
            settings.trusted_proxies = parse_trusted_proxies(&["127.0.0.1".to_owned()]).unwrap();
        })
        .await;
    let login = |headers: &'static [(&'static str, &'static str)]| {
        let body = json!({
            "query": "mutation { login(input: { email: \"nobody@iron.city\", password: \"not-the-password\" }) { accessToken } }"
        });
        let app = &app;
        async move {
            let mut all = vec![("content-type", "application/json")];
            all.extend_from_slice(headers);
            let response = app.request("POST", "/graphql", &all, Some(serde_json::to_vec(&body).unwrap())).await;
            let body: Value = response.json();
            body["errors"][0]["extensions"]["code"].as_str().unwrap_or("none").to_owned()
        }
    };
    assert_eq!(login(&[("x-forwarded-for", "203.0.113.9")]).await, "UNAUTHENTICATED");
    assert_eq!(login(&[("x-forwarded-for", "203.0.113.9")]).await, "RATE_LIMITED");
    assert_eq!(login(&[("forwarded", "for=8.8.8.8"), ("x-forwarded-for", "203.0.113.9")]).await, "RATE_LIMITED");

    // A proxy that writes `Forwarded`: a client's X-Forwarded-For is ignored the same way.
    let app = small_budget_reading(&app, &["127.0.0.1"], ForwardedHeader::Forwarded).await;
    exhaust(&app, ("forwarded", "for=203.0.113.9")).await;
    assert!(
        refused_soon_all(&app, &[("x-forwarded-for", "8.8.4.4"), ("forwarded", "for=203.0.113.9")]).await,
        "the client's own X-Forwarded-For moved it out of its bucket"
    );
}

async fn a_malformed_entry_left_of_the_client_changes_nothing(app: TestApp) {
    let app = small_budget(&app, &["127.0.0.1"]).await;
    exhaust(&app, ("x-forwarded-for", "203.0.113.7")).await;
    for chain in ["junk, 203.0.113.7", "unknown,,203.0.113.7", "[::1, 203.0.113.7", "999.1.1.1, 203.0.113.7"] {
        assert!(refused_soon(&app, ("x-forwarded-for", chain)).await, "{chain:?} escaped 203.0.113.7's bucket");
    }
    let app = small_budget_reading(&app, &["127.0.0.1"], ForwardedHeader::Forwarded).await;
    exhaust(&app, ("forwarded", "for=203.0.113.7")).await;
    for chain in ["for=unknown, for=203.0.113.7", "for=_hidden, for=203.0.113.7", "for=\"[::1, for=203.0.113.7"] {
        assert!(refused_soon(&app, ("forwarded", chain)).await, "{chain:?} escaped 203.0.113.7's bucket");
    }
}

async fn chains_of_several_trusted_proxies_name_the_first_untrusted_hop(app: TestApp) {
    // A CDN edge (10.0.0.0/8) in front of the local proxy (127.0.0.1).
    let app = small_budget(&app, &["127.0.0.1", "10.0.0.0/8"]).await;
    exhaust(&app, ("x-forwarded-for", "203.0.113.7, 10.0.0.5, 10.0.0.6")).await;
    for chain in ["203.0.113.7", "unknown, 203.0.113.7, 10.0.0.5", "198.51.100.1, 203.0.113.7, 10.0.0.6"] {
        assert!(refused_soon(&app, ("x-forwarded-for", chain)).await, "{chain:?} escaped 203.0.113.7's bucket");
    }
    // An edge that could not name its client is that client: not the local proxy, not anyone else.
    exhaust(&app, ("x-forwarded-for", "unknown, 10.0.0.5")).await;
    assert!(refused_soon(&app, ("x-forwarded-for", "10.0.0.5")).await);
    assert_eq!(status_with(&app, ("x-forwarded-for", "unknown, 10.0.0.6")).await, 200);
    assert_eq!(status_with(&app, ("x-request-id", "from-the-proxy-itself")).await, 200);
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
