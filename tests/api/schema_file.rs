//! `schema.graphql` must equal the schema the code builds.

#[test]
fn the_committed_schema_file_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let built = api::graphql::sdl();
    if std::env::var("UPDATE_SCHEMA").is_ok_and(|value| value == "1") {
        std::fs::write(&path, &built).expect("write schema.graphql");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == built,
        "schema.graphql is out of date with the code: run `cargo run -- export-schema` (or `UPDATE_SCHEMA=1 cargo test schema_file`) and commit it"
    );
}
