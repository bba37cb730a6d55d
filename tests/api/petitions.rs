//! Petitions: the open letter, counts, progress, and what of a signer is public.

use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::fixtures;

const SLUG: &str = "open-letter-to-disney-alita-sequel";

db_tests!(
    the_open_letter_to_disney_is_open_with_a_goal,
    counts_include_private_signers_but_lists_show_only_public_ones,
    petitions_filter_by_status_and_film
);

async fn the_open_letter_to_disney_is_open_with_a_goal(app: TestApp) {
    let data = app
        .data(
            "query($slug: String!) { petition(slug: $slug) { title target goal status signatureCount progress viewerHasSigned film { slug } } }",
            json!({ "slug": SLUG }),
        )
        .await;
    let petition = &data["petition"];
    assert_eq!(petition["target"], "Disney");
    assert_eq!(petition["status"], "OPEN");
    assert!(petition["goal"].as_u64().unwrap() > 0);
    assert_eq!(petition["signatureCount"], 0);
    assert_eq!(petition["progress"], 0.0);
    assert_eq!(petition["viewerHasSigned"], false);
    assert_eq!(petition["film"]["slug"], "alita-battle-angel-sequel");
}

async fn counts_include_private_signers_but_lists_show_only_public_ones(app: TestApp) {
    let petition =
        app.data("query($slug: String!) { petition(slug: $slug) { id goal } }", json!({ "slug": SLUG })).await;
    let petition_id = fixtures::raw_id(petition["petition"]["id"].as_str().unwrap());
    let goal = petition["petition"]["goal"].as_f64().unwrap();
    let mut public_names = Vec::new();
    for i in 0..5 {
        let user = fixtures::user(&app.db, &format!("Fan {i}")).await;
        let public = i % 2 == 0;
        let country = if i < 3 { Some("US") } else { Some("JP") };
        fixtures::signature(&app.db, petition_id, user.id, public, country).await;
        if public {
            public_names.push(user.display_name);
        }
    }
    let data = app
        .data(
            "query($slug: String!) { petition(slug: $slug) { signatureCount progress signaturesByCountry { country count }
               signatures(first: 100) { totalCount nodes { displayName country comment } } } }",
            json!({ "slug": SLUG }),
        )
        .await;
    let petition = &data["petition"];
    assert_eq!(petition["signatureCount"], 5);
    assert!((petition["progress"].as_f64().unwrap() - 5.0 / goal).abs() < 1e-9);
    assert_eq!(
        petition["signaturesByCountry"],
        json!([{ "country": "US", "count": 3 }, { "country": "JP", "count": 2 }])
    );
    assert_eq!(petition["signatures"]["totalCount"], 3);
    let mut names: Vec<String> = petition["signatures"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["displayName"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    public_names.sort();
    assert_eq!(names, public_names);
}

async fn petitions_filter_by_status_and_film(app: TestApp) {
    fixtures::petitions(&app.db, 4).await;
    let query = "query($filter: PetitionFilter) { petitions(filter: $filter) { totalCount nodes { slug status } } }";
    let data = app.data(query, json!({ "filter": { "status": "CLOSED" } })).await;
    assert_eq!(data["petitions"]["totalCount"], 1);
    let film = app.data(r#"{ film(slug: "alita-battle-angel-sequel") { id } }"#, json!({})).await;
    let data = app.data(query, json!({ "filter": { "filmId": film["film"]["id"] } })).await;
    assert_eq!(data["petitions"]["nodes"], json!([{ "slug": SLUG, "status": "OPEN" }]));
    let data = app.data(query, json!({ "filter": { "status": "VICTORY" } })).await;
    assert_eq!(data["petitions"]["nodes"], Value::Array(vec![]));
}
