//! The production switches: introspection and GraphiQL for admins only, no "did you mean"
//! suggestions; development keeps all three open.

use crate::support::TestApp;
use api::config::Environment;
use entity::enums::Role;
use serde_json::json;

const INTROSPECTION: &str = "{ __schema { queryType { name } } }";

db_tests!(
    in_production_only_admins_introspect_and_open_graphiql,
    in_production_unknown_names_get_no_suggestions,
    in_production_metrics_are_off_without_a_token_or_a_listener,
    with_a_token_metrics_answer_only_that_token,
    the_metrics_listen_address_serves_metrics
);

/// A `/metrics` token long enough to be accepted.
const METRICS_TOKEN: &str = "0123456789abcdef0123456789abcdef-metrics";

/// `GET path` on `base` with `headers`: the status and body.
async fn get_from(base: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let client = awc::Client::builder().timeout(std::time::Duration::from_secs(30)).finish();
    let mut request = client.get(format!("{base}{path}"));
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    let mut response = request.send().await.expect("send the request");
    let body = response.body().limit(16 * 1024 * 1024).await.expect("read the body");
    (response.status().as_u16(), String::from_utf8_lossy(&body).into_owned())
}

async fn in_production_only_admins_introspect_and_open_graphiql(app: TestApp) {
    let production = app.respawn(|settings| settings.environment = Environment::Production).await;
    let fan = production.sign_in_as(Role::Fan).await;
    let admin = production.sign_in_as(Role::Admin).await;

    let anonymous = production.error(INTROSPECTION, json!({})).await;
    assert_eq!(anonymous["extensions"]["code"], "UNAUTHENTICATED");
    let type_lookup = production.error("{ __type(name: \"Film\") { name } }", json!({})).await;
    assert_eq!(type_lookup["extensions"]["code"], "UNAUTHENTICATED");
    let as_fan = production.error_as(&fan.access_token, INTROSPECTION, json!({})).await;
    assert_eq!(as_fan["extensions"]["code"], "FORBIDDEN");
    let as_admin = production.data_as(&admin.access_token, INTROSPECTION, json!({})).await;
    assert_eq!(as_admin["__schema"]["queryType"]["name"], "Query");
    // Clients still get __typename, and ordinary queries run.
    let data = production.data("{ __typename films { totalCount } }", json!({})).await;
    assert_eq!(data["__typename"], "Query");

    assert_eq!(production.get("/graphiql").await.status, 404);
    let bearer = format!("Bearer {}", fan.access_token);
    assert_eq!(production.request("GET", "/graphiql", &[("authorization", &bearer)], None).await.status, 404);
    let bearer = format!("Bearer {}", admin.access_token);
    let page = production.request("GET", "/graphiql", &[("authorization", &bearer)], None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("GraphiQL"));

    // Development: open to all.
    assert_eq!(app.get("/graphiql").await.status, 200);
    app.data(INTROSPECTION, json!({})).await;
}

async fn in_production_unknown_names_get_no_suggestions(app: TestApp) {
    let typo = "{ films { nodes { titl } } }";
    let development = app.error(typo, json!({})).await;
    assert!(development["message"].as_str().unwrap().contains("Did you mean"), "{development}");
    let production = app.respawn(|settings| settings.environment = Environment::Production).await;
    let error = production.error(typo, json!({})).await;
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    assert!(!error["message"].as_str().unwrap().contains("Did you mean"), "{error}");
    assert!(!error["message"].as_str().unwrap().contains("title"), "{error}");
}

async fn in_production_metrics_are_off_without_a_token_or_a_listener(app: TestApp) {
    assert_eq!(app.get("/metrics").await.status, 200, "development keeps /metrics open");
    let production = app.respawn(|settings| settings.environment = Environment::Production).await;
    let admin = production.sign_in_as(Role::Admin).await;
    assert_eq!(production.get("/metrics").await.status, 404);
    assert_eq!(production.request("HEAD", "/metrics", &[], None).await.status, 404);
    let bearer = format!("Bearer {}", admin.access_token);
    assert_eq!(production.request("GET", "/metrics", &[("authorization", &bearer)], None).await.status, 404);
}

async fn with_a_token_metrics_answer_only_that_token(app: TestApp) {
    for environment in [Environment::Production, Environment::Development] {
        let guarded = app
            .respawn(|settings| {
                settings.environment = environment;
                settings.metrics_token = Some(api::config::Secret::new(METRICS_TOKEN));
            })
            .await;
        let admin = guarded.sign_in_as(Role::Admin).await;
        let admin_bearer = format!("Bearer {}", admin.access_token);
        let wrong = format!("Bearer {METRICS_TOKEN}x");
        let prefix = format!("Bearer {}", &METRICS_TOKEN[..METRICS_TOKEN.len() - 1]);
        let basic = format!("Basic {METRICS_TOKEN}");
        for headers in [
            &[][..],
            &[("authorization", wrong.as_str())][..],
            &[("authorization", prefix.as_str())][..],
            &[("authorization", basic.as_str())][..],
            &[("authorization", admin_bearer.as_str())][..],
        ] {
            let refused = guarded.request("GET", "/metrics", headers, None).await;
            assert_eq!(refused.status, 401, "{environment:?} {headers:?}");
            assert!(refused.header("www-authenticate").starts_with("Bearer"), "{:?}", refused.headers);
            assert!(!refused.body.contains("fandb_"), "{}", refused.body);
        }
        let bearer = format!("Bearer {METRICS_TOKEN}");
        let scraped = guarded.request("GET", "/metrics", &[("authorization", &bearer)], None).await;
        assert_eq!(scraped.status, 200, "{environment:?}");
        assert!(scraped.body.contains("fandb_http_responses_total"), "{}", scraped.body);
    }
}

async fn the_metrics_listen_address_serves_metrics(app: TestApp) {
    let production = app
        .respawn(|settings| {
            settings.environment = Environment::Production;
            settings.metrics_listen = Some("127.0.0.1:0".to_owned());
        })
        .await;
    production.data("query Counted { films { totalCount } }", json!({})).await;
    let own = production.metrics_address.clone().expect("a metrics listener");
    let (status, body) = get_from(&own, "/metrics", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("fandb_graphql_operation_duration_seconds_count{operation=\"Counted\"} 1"), "{body}");
    // Only /metrics there, and no /metrics on the API's address.
    assert_eq!(get_from(&own, "/graphql?query=%7B__typename%7D", &[]).await.0, 404);
    assert_eq!(get_from(&own, "/healthz", &[]).await.0, 404);
    assert_eq!(production.get("/metrics").await.status, 404);

    // With a token as well, the token is asked for there too.
    let both = app
        .respawn(|settings| {
            settings.environment = Environment::Production;
            settings.metrics_listen = Some("127.0.0.1:0".to_owned());
            settings.metrics_token = Some(api::config::Secret::new(METRICS_TOKEN));
        })
        .await;
    let own = both.metrics_address.clone().expect("a metrics listener");
    assert_eq!(get_from(&own, "/metrics", &[]).await.0, 401);
    let bearer = format!("Bearer {METRICS_TOKEN}");
    assert_eq!(get_from(&own, "/metrics", &[("authorization", &bearer)]).await.0, 200);
    assert_eq!(both.request("GET", "/metrics", &[("authorization", &bearer)], None).await.status, 200);
}

#[test]
fn a_short_metrics_token_stops_the_server_with_a_clear_error() {
    let run = |token: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_fandb"))
            .args(["export-schema", "/dev/null"])
            .env("FANDB_METRICS_TOKEN", token)
            .output()
            .unwrap()
    };
    let short = run("metrics");
    let stderr = String::from_utf8_lossy(&short.stderr);
    assert!(!short.status.success(), "{stderr}");
    assert!(stderr.contains("FANDB_METRICS_TOKEN must be at least 32 bytes"), "{stderr}");
    let long = run(METRICS_TOKEN);
    assert!(long.status.success(), "{}", String::from_utf8_lossy(&long.stderr));
}

#[test]
fn a_metrics_listen_address_in_use_stops_the_server_naming_the_setting() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let directory = std::env::temp_dir().join(format!("fandb-metrics-listen-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fandb"))
        .args(["serve", "--no-seed"])
        .current_dir(&directory)
        .env("DATABASE_URL", "sqlite::memory:")
        .env("FANDB_JWT_SECRET", crate::support::TEST_JWT_SECRET)
        .env("FANDB_LISTEN", "127.0.0.1:0")
        .env("FANDB_METRICS_LISTEN", &address)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the server started on a metrics address that is taken");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let _ = std::fs::remove_dir_all(&directory);
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains(&format!("FANDB_METRICS_LISTEN {address}")), "{stderr}");
    drop(taken);
}
