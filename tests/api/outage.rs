//! With the database gone, every request gets `SERVICE_UNAVAILABLE` (no 500, no hang) and
//! `/readyz` says 503; when it returns, the server serves again within five seconds, untouched.
//! On PostgreSQL the database is taken away by cutting a proxy in front of it. An SQLite file
//! cannot go away under open handles; what it can do is stay locked by another writer (a bulk
//! job, a migration run elsewhere): then writes get `SERVICE_UNAVAILABLE` once the busy timeout
//! passes, reads go on (WAL), and writes succeed again as soon as the lock is released.

use std::time::{Duration, Instant};

use sea_orm::{ConnectOptions, ConnectionTrait, Database};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::proxy::DatabaseProxy;

const READ: &str = "{ films { totalCount } }";
const WRITE: &str = "mutation($input: RegisterInput!) { register(input: $input) { user { email } } }";

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or("none")
}

/// What a client sees of one write (and one read, unless reads can go on) while the database is
/// gone.
async fn assert_unavailable(server: &TestApp, reads_fail: bool) {
    let started = Instant::now();
    let read = server.graphql(READ, json!({})).await;
    if reads_fail {
        assert_eq!(code(&read), "SERVICE_UNAVAILABLE", "{read}");
    } else {
        assert!(read.get("errors").is_none(), "reads go on: {read}");
    }
    let write = server.graphql(WRITE, json!({ "input": { "email": "outage@iron.city", "password": "long-enough-password", "displayName": "Outage" } })).await;
    assert_eq!(code(&write), "SERVICE_UNAVAILABLE", "{write}");
    assert!(started.elapsed() < Duration::from_secs(15), "answers took {:?}", started.elapsed());
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status, if reads_fail { 503 } else { 200 }, "{}", ready.body);
    assert_eq!(server.get("/healthz").await.status, 200, "the process itself is alive");
}

/// After the database returns: serving again within five seconds, and the refused write absent.
async fn assert_recovers(server: &TestApp, returned: Instant) {
    loop {
        let read = server.graphql(READ, json!({})).await;
        if read.get("errors").is_none() {
            break;
        }
        assert!(returned.elapsed() < Duration::from_secs(5), "still failing after {:?}: {read}", returned.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(returned.elapsed() < Duration::from_secs(5), "recovered only after {:?}", returned.elapsed());
    assert_eq!(server.get("/readyz").await.status, 200);
    let login = server.graphql("mutation { login(input: { email: \"outage@iron.city\", password: \"long-enough-password\" }) { accessToken } }", json!({})).await;
    assert_eq!(code(&login), "UNAUTHENTICATED", "the write refused during the outage left nothing: {login}");
}

db_tests!(without_its_database_the_server_says_unavailable_and_recovers_by_itself);

async fn without_its_database_the_server_says_unavailable_and_recovers_by_itself(app: TestApp) {
    if app.database_url.starts_with("postgres") {
        let rest = app.database_url.split_once("://").unwrap().1;
        let (credentials, rest) = rest.split_once('@').unwrap();
        let (host_port, database) = rest.split_once('/').unwrap();
        let upstream = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") };
        let mut proxy = DatabaseProxy::start(&upstream).await;
        let proxied = format!("postgres://{credentials}@{}/{database}", proxy.address);
        // A read and its resolver-path duplicate may fall on either side of the cut or of the
        // recovery, so they are not compared here.
        let server = TestApp::spawn(&proxied).await.without_differential();
        server.data(READ, json!({})).await;
        // Cut mid-load: whatever was in flight is answered, and only with SERVICE_UNAVAILABLE.
        let load = (0..24).map(|i| {
            let server = &server;
            async move {
                let body = if i % 3 == 0 {
                    json!({ "query": WRITE, "variables": { "input": { "email": format!("load{i}@iron.city"), "password": "long-enough-password", "displayName": "Load" } } })
                } else {
                    json!({ "query": "{ films { nodes { title credits { nodes { person { name } } } } } }" })
                };
                server.request("POST", "/graphql", &[("content-type", "application/json")], Some(serde_json::to_vec(&body).unwrap())).await
            }
        });
        let cut = async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            proxy.cut();
        };
        let (answers, ()) = futures_util::join!(futures_util::future::join_all(load), cut);
        for answer in answers {
            assert!(answer.status == 200 || answer.status == 503, "{} {}", answer.status, answer.body);
            let body = answer.json();
            if let Some(errors) = body["errors"].as_array() {
                for error in errors {
                    assert_eq!(error["extensions"]["code"], "SERVICE_UNAVAILABLE", "{body}");
                }
            }
        }
        assert_unavailable(&server, true).await;
        proxy.restore().await;
        assert_recovers(&server, Instant::now()).await;
    } else {
        app.data(READ, json!({})).await;
        let mut options = ConnectOptions::new(app.database_url.clone());
        options.max_connections(1).min_connections(1).sqlx_logging(false);
        let holder = Database::connect(options).await.unwrap();
        holder.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
        holder.execute_unprepared("UPDATE films SET title = title WHERE id < 0").await.unwrap();
        assert_unavailable(&app, false).await;
        holder.execute_unprepared("COMMIT").await.unwrap();
        holder.close().await.unwrap();
        assert_recovers(&app, Instant::now()).await;
    }
}

/// PostgreSQL: a signature stuck behind another transaction's lock on its petition past the 5 s
/// statement timeout is `SERVICE_UNAVAILABLE` (try again), not an internal error, and nothing of
/// it is kept. (The timeout's SQLSTATE, 57014, is all digits, like many PostgreSQL codes.)
#[test]
fn a_write_held_past_the_statement_timeout_is_service_unavailable_and_keeps_nothing() {
    use sea_orm::TransactionTrait;

    crate::support::backends::run(crate::support::Backend::Postgres, |app| async move {
        const PETITION: &str = r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { id signatureCount } }"#;
        const SIGN: &str = "mutation($p: ID!) { signPetition(petitionId: $p) { id } }";
        let (_, token) = crate::support::fixtures::fan(&app.db, "Patient Fan").await;
        let petition = app.data(PETITION, json!({})).await;
        let petition_id = petition["petition"]["id"].as_str().unwrap().to_owned();
        let holder = app.db.begin().await.unwrap();
        holder
            .execute_unprepared(&format!(
                "SELECT id FROM petitions WHERE id = {} FOR UPDATE",
                crate::support::fixtures::raw_id(&petition_id)
            ))
            .await
            .unwrap();
        let response = app.graphql_as(Some(&token), SIGN, json!({ "p": petition_id })).await;
        assert_eq!(code(&response), "SERVICE_UNAVAILABLE", "{response}");
        holder.rollback().await.unwrap();
        let after = app.data(PETITION, json!({})).await;
        assert_eq!(after["petition"]["signatureCount"], petition["petition"]["signatureCount"]);
        let signed = app.data_as(&token, SIGN, json!({ "p": petition_id })).await;
        assert!(signed["signPetition"]["id"].is_string(), "{signed}");
    });
}
