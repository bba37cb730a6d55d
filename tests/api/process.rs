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

db_tests!(logs_to_a_pipe_carry_no_colour_codes);

async fn logs_to_a_pipe_carry_no_colour_codes(app: TestApp) {
    // Text logs (JSON never had colours), and an empty NO_COLOR, which asks for nothing.
    let mut server = ServerProcess::start(&app.database_url, &[("FANDB_LOG_FORMAT", "text"), ("NO_COLOR", "")]);
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let body = json!({ "query": "{ films { totalCount } }" });
    let response = client.post(format!("{}/graphql", server.address)).send_json(&body).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    server.terminate();
    assert_eq!(server.wait(Duration::from_secs(30)), Some(0));
    let output = server.output();
    assert!(output.iter().any(|line| line.contains("served")), "a request's log line: {output:?}");
    for line in &output {
        assert!(!line.contains("\u{1b}["), "a colour code in a log written to a pipe: {line:?}");
    }
}

/// `fandb export-schema` (which logs one line and needs no database) with `NO_COLOR` as given,
/// on a terminal of its own when `terminal` is set; what it wrote, or `None` without `script`.
fn export_schema_output(terminal: bool, no_color: &str) -> Option<String> {
    let schema =
        std::env::temp_dir().join(format!("fandb_colour_{}_{terminal}_{no_color}.graphql", std::process::id()));
    let mut command = if terminal {
        if !crate::support::process::script_available() {
            return None;
        }
        let mut command = std::process::Command::new("script");
        command
            .args(["--quiet", "--return", "--command", r#"exec "$FANDB_BIN" export-schema "$SCHEMA""#, "/dev/null"])
            .env("SHELL", "/bin/sh")
            .env("FANDB_BIN", env!("CARGO_BIN_EXE_fandb"));
        command
    } else {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_fandb"));
        command.args(["export-schema", schema.to_str().unwrap()]);
        command
    };
    let output = command
        .env("SCHEMA", &schema)
        .env("NO_COLOR", no_color)
        .env("RUST_LOG", "info")
        .env_remove("FANDB_LOG_FORMAT")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&schema);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.contains("schema written"), "{text:?}");
    Some(text)
}

#[test]
fn logs_are_coloured_only_on_a_terminal_and_never_with_no_color() {
    let piped = export_schema_output(false, "").unwrap();
    assert!(!piped.contains("\u{1b}["), "colour codes in a pipe: {piped:?}");
    let Some(terminal) = export_schema_output(true, "") else { return };
    assert!(terminal.contains("\u{1b}["), "no colours on a terminal: {terminal:?}");
    let no_color = export_schema_output(true, "1").unwrap();
    assert!(!no_color.contains("\u{1b}["), "colour codes despite NO_COLOR: {no_color:?}");
}
