//! Petitions: the open letter, counts, progress, and what of a signer is public.

use chrono::{Duration, Utc};
use entity::enums::{PetitionStatus, Role};
use entity::petition;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::fixtures;

const SLUG: &str = "open-letter-to-disney-alita-sequel";

db_tests!(
    the_open_letter_to_disney_is_open_with_a_goal,
    counts_include_private_signers_but_lists_show_only_public_ones,
    petitions_filter_by_status_and_film,
    a_petition_past_its_closing_time_reads_closed_everywhere
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
    // The first fixture is stored closed; the third is stored open but closed in 2020.
    let data = app.data(query, json!({ "filter": { "status": "CLOSED" } })).await;
    assert_eq!(data["petitions"]["totalCount"], 2);
    assert!(data["petitions"]["nodes"].as_array().unwrap().iter().all(|node| node["status"] == "CLOSED"), "{data}");
    let film = app.data(r#"{ film(slug: "alita-battle-angel-sequel") { id } }"#, json!({})).await;
    let data = app.data(query, json!({ "filter": { "filmId": film["film"]["id"] } })).await;
    assert_eq!(data["petitions"]["nodes"], json!([{ "slug": SLUG, "status": "OPEN" }]));
    let data = app.data(query, json!({ "filter": { "status": "VICTORY" } })).await;
    assert_eq!(data["petitions"]["nodes"], Value::Array(vec![]));
}

/// The planner's answer to a read, after checking the resolvers (`x-fandb-read-path: resolvers`)
/// give the same.
async fn on_both_paths(app: &TestApp, query: &str, variables: Value) -> Value {
    let answer = app.both_read_paths(None, query, &variables).await.unwrap_or_else(|mismatch| panic!("{mismatch}"));
    assert!(answer.get("errors").is_none(), "{answer}");
    answer["data"].clone()
}

fn slugs_of(nodes: &Value) -> Vec<&str> {
    nodes.as_array().unwrap().iter().map(|node| node["slug"].as_str().unwrap()).collect()
}

async fn a_petition_past_its_closing_time_reads_closed_everywhere(app: TestApp) {
    const CLOSED: &str = "closed-by-the-clock";
    let admin = app.sign_in_as(Role::Admin).await;
    let totals = "{ campaign { totals { petitions openPetitions } } }";
    let before = app.data(totals, json!({})).await["campaign"]["totals"].clone();
    let film = app.data(r#"{ film(slug: "alita-battle-angel-sequel") { id } }"#, json!({})).await["film"]["id"].clone();
    let input = json!({ "slug": CLOSED, "title": "Closed by the clock", "body": "Please.", "target": "A studio",
        "goal": 10, "filmId": film, "closesAt": (Utc::now() - Duration::hours(1)).to_rfc3339() });
    let created = app
        .data_as(
            &admin.access_token,
            "mutation($input: CreatePetitionInput!) { createPetition(input: $input) { id status } }",
            json!({ "input": input }),
        )
        .await;
    assert_eq!(created["createPetition"]["status"], "CLOSED");
    let id = created["createPetition"]["id"].clone();
    // Stored open, as no job has closed it; and the most signed petition, so a list that took it
    // for open would show it first.
    let row = petition::Entity::find_by_id(fixtures::raw_id(id.as_str().unwrap())).one(&app.db).await.unwrap().unwrap();
    assert_eq!(row.status, PetitionStatus::Open);
    let mut model: petition::ActiveModel = row.into();
    model.signature_count = Set(1_000);
    model.update(&app.db).await.unwrap();

    // The lookups, the lists and a film's petitions, on the planner's path and the resolvers'.
    let lookups = on_both_paths(
        &app,
        "query($slug: String!, $id: ID!) { petition(slug: $slug) { status } byId: petition(id: $id) { status }
           node(id: $id) { ... on Petition { status } } film(slug: \"alita-battle-angel-sequel\") { petitions { nodes { slug status } } } }",
        json!({ "slug": CLOSED, "id": id }),
    )
    .await;
    assert_eq!(lookups["petition"]["status"], "CLOSED");
    assert_eq!(lookups["byId"]["status"], "CLOSED");
    assert_eq!(lookups["node"]["status"], "CLOSED");
    let under_film = lookups["film"]["petitions"]["nodes"].as_array().unwrap();
    assert!(under_film.contains(&json!({ "slug": CLOSED, "status": "CLOSED" })), "{lookups}");
    let list = "query($status: PetitionStatus) { petitions(filter: { status: $status }, first: 100) { totalCount nodes { slug status } } }";
    let open = on_both_paths(&app, list, json!({ "status": "OPEN" })).await;
    assert!(!slugs_of(&open["petitions"]["nodes"]).contains(&CLOSED), "{open}");
    let closed = on_both_paths(&app, list, json!({ "status": "CLOSED" })).await;
    assert!(closed["petitions"]["nodes"].as_array().unwrap().contains(&json!({ "slug": CLOSED, "status": "CLOSED" })));

    // The campaign counts it among the petitions but not the open ones, and does not offer it.
    let campaign = on_both_paths(
        &app,
        "{ campaign { totals { petitions openPetitions } topPetitions(first: 20) { slug status } } }",
        json!({}),
    )
    .await;
    let after = &campaign["campaign"]["totals"];
    assert_eq!(after["petitions"], before["petitions"].as_u64().unwrap() + 1);
    assert_eq!(after["openPetitions"], before["openPetitions"]);
    assert_eq!(after["openPetitions"], open["petitions"]["totalCount"]);
    let top = &campaign["campaign"]["topPetitions"];
    assert!(!slugs_of(top).contains(&CLOSED), "{top}");
    assert!(top.as_array().unwrap().iter().all(|petition| petition["status"] == "OPEN"), "{top}");

    // Search shows it closed, and signing is refused.
    let hits = app
        .data("{ searchHits(query: \"closed by the clock\") { node { ... on Petition { slug status } } } }", json!({}))
        .await;
    assert_eq!(hits["searchHits"][0]["node"], json!({ "slug": CLOSED, "status": "CLOSED" }));
    let fan = app.sign_in_as(Role::Fan).await;
    let sign = "mutation($id: ID!) { signPetition(petitionId: $id) { id } }";
    assert_eq!(app.error_as(&fan.access_token, sign, json!({ "id": id })).await["extensions"]["code"], "CONFLICT");

    // A later closing time opens it again, everywhere at once.
    app.data_as(
        &admin.access_token,
        "mutation($id: ID!, $at: DateTime) { updatePetition(id: $id, input: { closesAt: $at }) { id } }",
        json!({ "id": id, "at": (Utc::now() + Duration::days(30)).to_rfc3339() }),
    )
    .await;
    let reopened = on_both_paths(
        &app,
        "query($slug: String!) { petition(slug: $slug) { status } campaign { totals { openPetitions } topPetitions(first: 1) { slug } } }",
        json!({ "slug": CLOSED }),
    )
    .await;
    assert_eq!(reopened["petition"]["status"], "OPEN");
    assert_eq!(reopened["campaign"]["totals"]["openPetitions"], before["openPetitions"].as_u64().unwrap() + 1);
    assert_eq!(reopened["campaign"]["topPetitions"][0]["slug"], CLOSED);
    app.data_as(&fan.access_token, sign, json!({ "id": id })).await;
}
