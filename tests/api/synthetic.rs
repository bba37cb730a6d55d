//! `fandb seed --synthetic`: deterministic data at scale through the real schema, with counters
//! that match the rows, skewed signatures, and fans who can sign in.

use std::process::Command;

use serde_json::json;

use crate::support::TestApp;
use crate::support::backends::{Backend, Scratch, fresh_database};

fn seed_synthetic(database_url: &str, scale: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fandb"))
        .args(["--database-url", database_url, "seed", "--synthetic", "--scale", scale])
        .output()
        .expect("run fandb seed --synthetic")
}

db_tests!(synthetic_data_is_deterministic_consistent_and_needs_an_empty_database);

async fn synthetic_data_is_deterministic_consistent_and_needs_an_empty_database(app: TestApp) {
    let refused = seed_synthetic(&app.database_url, "0.01");
    assert!(!refused.status.success(), "the Alita database is not empty");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("empty database"));

    let backend = if app.database_url.starts_with("postgres") { Backend::Postgres } else { Backend::Sqlite };
    let mut snapshots = Vec::new();
    for _ in 0..2 {
        let url = fresh_database(backend).await.unwrap();
        let _removed_at_the_end = Scratch { backend, url: url.clone() };
        let loaded = seed_synthetic(&url, "0.04");
        assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
        assert!(String::from_utf8_lossy(&loaded.stderr).contains("synthetic data: signatures"), "progress is printed");
        let server = TestApp::spawn(&url).await;
        let data = server
            .data(
                r#"{
            films { totalCount }
            people { totalCount }
            quotes { totalCount }
            events { totalCount }
            petitions(first: 3) { totalCount nodes { slug signatureCount signatures { totalCount } } }
            film(slug: "synthetic-film-1") { title credits(first: 3) { totalCount nodes { role person { name } } } }
        }"#,
                json!({}),
            )
            .await;
        assert_eq!(data["films"]["totalCount"], 80);
        assert_eq!(data["people"]["totalCount"], 800);
        assert_eq!(data["events"]["totalCount"], 400);
        let top = &data["petitions"]["nodes"];
        let most = server.data(r#"{ petition(slug: "synthetic-petition-1") { signatureCount } last: petition(slug: "synthetic-petition-10") { signatureCount } }"#, json!({})).await;
        let first = most["petition"]["signatureCount"].as_i64().unwrap();
        let tenth = most["last"]["signatureCount"].as_i64().unwrap();
        assert!(first > 3 * tenth, "skewed: {first} vs {tenth}");
        // The maintained counter matches the rows (a quarter of signers are private, so the
        // public list is shorter).
        let total: i64 = server.data(r#"{ petitions(first: 40) { nodes { signatureCount } } }"#, json!({})).await["petitions"]["nodes"]
            .as_array().unwrap().iter().map(|node| node["signatureCount"].as_i64().unwrap()).sum();
        assert_eq!(total, 20_000, "every signature counted once");
        let credits = data["film"]["credits"]["totalCount"].as_i64().unwrap();
        assert!((10..=90).contains(&credits), "{credits}");
        // Synthetic fans sign in with the documented password.
        server.data(r#"mutation { login(input: { email: "fan7@synthetic.example", password: "synthetic-fan-password" }) { accessToken } }"#, json!({})).await;
        snapshots.push((data.clone(), top.clone()));
    }
    assert_eq!(snapshots[0], snapshots[1], "two loads give the same data");
}
