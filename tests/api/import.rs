//! `fandb import FILE`: JSON or NDJSON, validated like the mutations, upserted by slug, all or
//! nothing, with the bad record and its field named.

use std::process::Command;

use crate::support::TestApp;
use serde_json::json;

fn import(database_url: &str, file: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fandb"))
        .args(["--database-url", database_url, "import"])
        .arg(file)
        .output()
        .expect("run fandb import")
}

fn write(name: &str, lines: &[serde_json::Value]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("fandb_import_{}_{name}.ndjson", std::process::id()));
    let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

fn film(slug: &str, title: &str, sequel_of: Option<&str>) -> serde_json::Value {
    json!({ "film": { "slug": slug, "title": title, "status": "ANNOUNCED", "sequelOf": sequel_of,
        "credits": [{ "person": "yukito-kishiro", "role": "WRITER" }] } })
}

db_tests!(
    an_ndjson_file_upserts_by_slug_and_a_second_run_changes_what_changed,
    an_imported_petition_without_a_status_opens_as_with_the_mutation,
    an_imported_petition_goal_beyond_a_32_bit_int_is_refused_like_the_mutation,
    one_bad_record_imports_nothing_and_is_named_with_its_field
);

async fn an_ndjson_file_upserts_by_slug_and_a_second_run_changes_what_changed(app: TestApp) {
    let name = format!("upsert_{}", app.database_url.len());
    let file = write(
        &name,
        &[
            json!({ "person": { "slug": "yukito-kishiro", "name": "Yukito Kishiro", "bio": "Created Gunnm.", "photoUrl": "https://example.com/kishiro.jpg" } }),
            film("last-order", "Alita: Last Order", Some("gunnm-origins")),
            film("gunnm-origins", "Gunnm Origins", None),
            json!({ "quote": { "person": "yukito-kishiro", "film": "gunnm-origins", "text": "Alita is a survivor.", "source": "Interview" } }),
            json!({ "event": { "slug": "kishiro-panel", "kind": "PANEL", "title": "Kishiro panel", "startsAt": "2031-05-01T18:00:00Z", "timeZone": "Asia/Tokyo", "onlineUrl": "https://example.com/live" } }),
            json!({ "petition": { "slug": "adapt-last-order", "title": "Adapt Last Order", "body": "Please.", "target": "The studio", "goal": 5000, "status": "OPEN", "film": "last-order" } }),
        ],
    );
    let output = import(&app.database_url, &file);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("6/6 records"), "progress is printed");
    let query = r#"{ film(slug: "last-order") { title sequelOf { slug } credits { nodes { role person { name } } } petitions { nodes { goal } } }
                     person(slug: "yukito-kishiro") { bio photoUrl quotes { nodes { text film { slug } } } } event(slug: "kishiro-panel") { kind } }"#;
    let data = app.data(query, json!({})).await;
    assert_eq!(data["film"]["sequelOf"]["slug"], "gunnm-origins", "a sequel may come later in the file");
    assert_eq!(data["film"]["credits"]["nodes"][0]["person"]["name"], "Yukito Kishiro");
    assert_eq!(data["film"]["petitions"]["nodes"][0]["goal"], 5000);
    assert_eq!(data["person"]["quotes"]["nodes"][0]["film"]["slug"], "gunnm-origins");
    assert_eq!(data["event"]["kind"], "PANEL");
    assert_eq!(data["person"]["photoUrl"], "https://example.com/kishiro.jpg");

    // The same file again: every record is updated through the upserts instead of failing.
    let output = import(&app.database_url, &file);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(app.data(query, json!({})).await, data, "a re-import changes nothing");

    // Again, with one change: updated in place, nothing duplicated.
    let file = write(
        &name,
        &[json!({ "person": { "slug": "yukito-kishiro", "name": "Yukito Kishiro", "bio": "Created Gunnm (1990)." } })],
    );
    assert!(import(&app.database_url, &file).status.success());
    let again = app.data(query, json!({})).await;
    assert_eq!(again["person"]["bio"], "Created Gunnm (1990).");
    assert_eq!(again["film"]["credits"], data["film"]["credits"]);
    let counts = app.data(r#"{ people(filter: { nameContains: "Kishiro" }) { totalCount } films(filter: { titleContains: "Last Order" }) { totalCount } }"#, json!({})).await;
    assert_eq!(counts, json!({ "people": { "totalCount": 1 }, "films": { "totalCount": 1 } }));
}

async fn an_imported_petition_without_a_status_opens_as_with_the_mutation(app: TestApp) {
    let name = format!("no_status_{}", app.database_url.len());
    let file = write(
        &name,
        &[
            json!({ "petition": { "slug": "no-status-given", "title": "No status given", "body": "Please.", "target": "The studio", "goal": 500 } }),
        ],
    );
    let output = import(&app.database_url, &file);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let data = app.data(r#"{ petition(slug: "no-status-given") { status goal } }"#, json!({})).await;
    assert_eq!(data["petition"], json!({ "status": "OPEN", "goal": 500 }));
    // A later line without a status leaves the status as it is, as `updatePetition` does.
    let closed = write(
        &name,
        &[
            json!({ "petition": { "slug": "no-status-given", "title": "No status given", "body": "Please.", "target": "The studio", "goal": 500, "status": "CLOSED" } }),
        ],
    );
    assert!(import(&app.database_url, &closed).status.success());
    assert!(import(&app.database_url, &file).status.success());
    let data = app.data(r#"{ petition(slug: "no-status-given") { status } }"#, json!({})).await;
    assert_eq!(data["petition"]["status"], "CLOSED");
}

async fn an_imported_petition_goal_beyond_a_32_bit_int_is_refused_like_the_mutation(app: TestApp) {
    let name = format!("big_goal_{}", app.database_url.len());
    let file = write(
        &name,
        &[
            json!({ "petition": { "slug": "big-goal", "title": "Big goal", "body": "Please.", "target": "The studio", "goal": 3_000_000_000_i64, "status": "OPEN" } }),
        ],
    );
    let output = import(&app.database_url, &file);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 1") && stderr.contains("input.goal"), "{stderr}");
}

async fn one_bad_record_imports_nothing_and_is_named_with_its_field(app: TestApp) {
    let name = format!("bad_{}", app.database_url.len());
    let before = app.data("{ films { totalCount } people { totalCount } }", json!({})).await;
    let file = write(
        &name,
        &[
            json!({ "person": { "slug": "yukito-kishiro", "name": "Yukito Kishiro" } }),
            film("fine-film", "A fine film", None),
            json!({ "petition": { "slug": "zero-goal", "title": "Zero", "body": "x", "target": "y", "goal": 0, "status": "OPEN" } }),
            film("never-reached", "Never reached", None),
        ],
    );
    let output = import(&app.database_url, &file);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 3") && stderr.contains("input.goal"), "{stderr}");
    assert_eq!(app.data("{ films { totalCount } people { totalCount } }", json!({})).await, before, "nothing imported");

    let file = write(&name, &[json!({ "person": { "slug": "x" } })]);
    let stderr = String::from_utf8_lossy(&import(&app.database_url, &file).stderr).to_string();
    assert!(
        stderr.contains("line 1") && stderr.contains("name"),
        "a record that does not parse is named too: {stderr}"
    );
    let file = write(
        &name,
        &[
            json!({ "person": { "slug": "yukito-kishiro", "name": "Yukito Kishiro" } }),
            film("dangling", "Dangling", Some("no-such-film")),
        ],
    );
    let stderr = String::from_utf8_lossy(&import(&app.database_url, &file).stderr).to_string();
    assert!(stderr.contains("sequelOf") && stderr.contains("no-such-film"), "{stderr}");

    // An image URL is held to the mutations' rule: https only.
    let file = write(
        &name,
        &[
            json!({ "person": { "slug": "yukito-kishiro", "name": "Yukito Kishiro", "photoUrl": "http://example.com/k.jpg" } }),
        ],
    );
    let stderr = String::from_utf8_lossy(&import(&app.database_url, &file).stderr).to_string();
    assert!(stderr.contains("line 1") && stderr.contains("photoUrl"), "{stderr}");
    assert_eq!(app.data("{ films { totalCount } people { totalCount } }", json!({})).await, before, "nothing imported");
}
