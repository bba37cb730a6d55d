//! The Alita data set: loading it again adds nothing, a bad data file names the record at fault,
//! and every record quotes its sources verbatim and names the article it comes from.

use crate::support::TestApp;
use api::commands::records::DataSet;
use api::commands::seed;
use serde_json::{Value, json};

/// The two source articles, named as they give themselves.
fn known_article(article: &Value) -> bool {
    *article
        == json!({ "publication": "Collider", "headline": "Alita: Battle Angel Star Rosa Salazar is Still Interested in Returning for a Sequel" })
        || *article == json!({ "publication": "ScreenCrush", "headline": null })
}

db_tests!(
    loading_the_data_set_twice_adds_nothing,
    a_data_file_with_a_dangling_reference_loads_nothing,
    a_data_file_holding_what_a_mutation_would_refuse_loads_nothing,
    every_seeded_record_names_its_source_article,
    the_data_set_quotes_its_sources_verbatim_and_marks_what_they_do_not_say,
    an_import_stores_the_articles_its_records_name
);

async fn loading_the_data_set_twice_adds_nothing(app: TestApp) {
    let query = "{ films { totalCount } people { totalCount } quotes { totalCount } events { totalCount } petitions { totalCount } }";
    let before = app.data(query, json!({})).await;
    let report = seed::load(&app.db, &DataSet::parse(seed::ALITA).unwrap()).await.unwrap();
    assert_eq!(report.inserted, 0);
    assert_eq!(app.data(query, json!({})).await, before);
    assert_eq!(
        before,
        json!({
            "films": { "totalCount": 2 }, "people": { "totalCount": 6 }, "quotes": { "totalCount": 3 },
            "events": { "totalCount": 2 }, "petitions": { "totalCount": 1 }
        })
    );
}

async fn a_data_file_with_a_dangling_reference_loads_nothing(app: TestApp) {
    let bad = r#"{ "people": [{ "slug": "new-person", "name": "New Person" }],
                   "films": [{ "slug": "new-film", "title": "New", "status": "ANNOUNCED",
                               "credits": [{ "person": "nobody", "role": "CAST" }] }] }"#;
    let error = seed::load(&app.db, &DataSet::parse(bad).unwrap()).await.unwrap_err();
    assert!(format!("{error:?}").contains("films[0].credits[0].person"), "{error:?}");
    let data = app.data(r#"{ person(slug: "new-person") { id } film(slug: "new-film") { id } }"#, json!({})).await;
    assert_eq!(data, json!({ "person": null, "film": null }));
}

async fn a_data_file_holding_what_a_mutation_would_refuse_loads_nothing(app: TestApp) {
    let bad = r#"{ "people": [{ "slug": "new-person", "name": "New Person" }],
                   "petitions": [{ "slug": "zero-goal", "title": "Zero", "body": "x", "target": "y", "goal": 0 }] }"#;
    let error = seed::load(&app.db, &DataSet::parse(bad).unwrap()).await.unwrap_err();
    assert!(format!("{error:?}").contains("\"petitions[0].goal\""), "{error:?}");
    let data = app.data(r#"{ person(slug: "new-person") { id } petition(slug: "zero-goal") { id } }"#, json!({})).await;
    assert_eq!(data, json!({ "person": null, "petition": null }));
}

async fn every_seeded_record_names_its_source_article(app: TestApp) {
    let articles = "sourceArticles { publication headline }";
    let query = format!("{{ films {{ nodes {{ slug {articles} }} }} people {{ nodes {{ slug {articles} }} }}
        quotes {{ nodes {{ text sourceUrl {articles} }} }} events {{ nodes {{ slug {articles} }} }} petitions {{ nodes {{ slug {articles} }} }} }}");
    let data = app.data(&query, json!({})).await;
    let mut records = 0;
    for list in ["films", "people", "quotes", "events", "petitions"] {
        for record in data[list]["nodes"].as_array().unwrap() {
            records += 1;
            let named = record["sourceArticles"].as_array().unwrap();
            assert!(!named.is_empty(), "{list}: {record}");
            assert!(named.iter().all(known_article), "{list}: {record}");
            if list == "quotes" {
                assert_eq!(record["sourceUrl"], Value::Null, "no URL is made up: {record}");
            }
        }
    }
    assert_eq!(records, 14);
}

async fn the_data_set_quotes_its_sources_verbatim_and_marks_what_they_do_not_say(app: TestApp) {
    let quotes = app.data("{ quotes { nodes { text } } }", json!({})).await;
    let texts: Vec<&str> =
        quotes["quotes"]["nodes"].as_array().unwrap().iter().map(|quote| quote["text"].as_str().unwrap()).collect();
    assert!(texts.contains(&"I\u{2019}m always bringing up Alita,"), "{texts:?}");
    assert!(texts.iter().all(|text| !text.contains('\'')), "the sources' apostrophes are typographic: {texts:?}");
    let events = app
        .data(
            r#"{ hour: event(slug: "alitasequel-worldwide-hashtag-hour-2019") { description onlineUrl }
                   screening: event(slug: "alitaarmy-fan-screenings") { description } }"#,
            json!({}),
        )
        .await;
    let hour = events["hour"]["description"].as_str().unwrap();
    assert!(hour.contains("For one hour we tweet we unleash hell."), "the fans' message is whole: {hour}");
    assert!(hour.contains("illustrative"), "{hour}");
    assert_eq!(events["hour"]["onlineUrl"], Value::Null, "no URL is made up");
    assert!(events["screening"]["description"].as_str().unwrap().contains("illustrative"));
    let petition = app.data(r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { body } }"#, json!({})).await;
    let body = petition["petition"]["body"].as_str().unwrap();
    assert!(body.contains("goal") && body.contains("illustrative"), "{body}");
}

async fn an_import_stores_the_articles_its_records_name(app: TestApp) {
    let file = std::env::temp_dir().join(format!(
        "fandb_import_sources_{}_{}.ndjson",
        std::process::id(),
        app.database_url.len()
    ));
    let line = json!({ "person": { "slug": "yukito-kishiro", "name": "Yukito Kishiro",
        "sources": [{ "publication": "ScreenCrush" }] } });
    std::fs::write(&file, format!("{line}\n")).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_fandb"))
        .args(["--database-url", &app.database_url, "import"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let data =
        app.data(r#"{ person(slug: "yukito-kishiro") { sourceArticles { publication headline } } }"#, json!({})).await;
    assert_eq!(data["person"]["sourceArticles"], json!([{ "publication": "ScreenCrush", "headline": null }]));
}
