//! The binary as operators run it: JSON logs with request ids and no secrets, and SIGTERM that
//! finishes in-flight requests, commits what they wrote, and exits 0.

use std::time::Duration;

use entity::user;
use futures_util::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::support::TEST_JWT_SECRET;
use crate::support::TestApp;
use crate::support::process::ServerProcess;

const PASSWORD: &str = "drain-test-password-2563";

db_tests!(sigterm_finishes_in_flight_requests_commits_them_and_exits_zero);

async fn sigterm_finishes_in_flight_requests_commits_them_and_exits_zero(app: TestApp) {
    let mut server = ServerProcess::start(&app.database_url, &[]);
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let url = format!("{}/graphql", server.address);
    // Twenty registrations, each a password hash: the server is busy with them for a while.
    let first_answer = std::cell::Cell::new(false);
    let requests = (0..20).map(|i| {
        let body = json!({
            "query": "mutation Register($input: RegisterInput!) { register(input: $input) { user { email } } }",
            "variables": { "input": { "email": format!("drain{i}@iron.city"), "password": PASSWORD, "displayName": "Drain" } }
        });
        let request = client.post(&url).insert_header(("x-request-id", format!("drain-{i}"))).send_json(&body);
        let first_answer = &first_answer;
        async move {
            // A request still connecting when the server stops listening is refused: that is fine.
            let mut response = request.await.ok()?;
            first_answer.set(true);
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("a JSON body");
            Some((status, body, std::time::Instant::now()))
        }
    });
    let all = join_all(requests);
    // SIGTERM as soon as the first registration is answered: the rest are still hashing.
    let terminate = async {
        while !first_answer.get() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        server.terminate();
        std::time::Instant::now()
    };
    let (answers, terminated_at) = futures_util::join!(all, terminate);
    let answered: Vec<_> = answers.into_iter().flatten().collect();
    for (status, body, _) in &answered {
        assert_eq!(*status, 200, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
    }
    let after_sigterm = answered.iter().filter(|(_, _, at)| *at > terminated_at).count();
    assert!(after_sigterm >= 3, "only {after_sigterm} requests were still in flight at SIGTERM");
    assert_eq!(server.wait(Duration::from_secs(30)), Some(0), "exit code after SIGTERM");
    let stored =
        user::Entity::find().filter(user::Column::Email.like("drain%@iron.city")).count(&app.db).await.unwrap();
    assert_eq!(stored, answered.len() as u64, "every answered registration is committed, no other");

    // Every log line is one JSON object; request lines carry their id; no secret is written.
    let output = server.output();
    assert!(output.len() > 20, "{output:?}");
    let mut served_ids = Vec::new();
    for line in &output {
        let entry: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
        assert!(entry["level"].is_string() && entry["timestamp"].is_string(), "{line}");
        if entry["fields"]["message"] == "served" {
            served_ids.push(entry["span"]["id"].as_str().unwrap_or_default().to_owned());
            if entry["span"]["id"].as_str().is_some_and(|id| id.starts_with("drain-")) {
                assert_eq!(entry["span"]["operation"], "Register", "{line}");
            }
        }
        for secret in [PASSWORD, TEST_JWT_SECRET, "$argon2", "Bearer ", "accessToken", "refreshToken"] {
            assert!(!line.contains(secret), "a log line holds `{secret}`: {line}");
        }
    }
    let drained = served_ids.iter().filter(|id| id.starts_with("drain-")).count();
    assert_eq!(drained, answered.len(), "one access line per answered request: {output:?}");
}
