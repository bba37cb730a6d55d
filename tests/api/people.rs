//! People: lookups, filters and relations.

use serde_json::json;

use crate::support::TestApp;
use crate::support::fixtures::gid;

db_tests!(
    a_person_is_found_by_slug_with_credits_and_quotes,
    people_filter_by_name_and_by_film,
    a_filter_id_of_the_wrong_type_names_the_field,
    people_are_ordered_by_name_by_default
);

async fn a_person_is_found_by_slug_with_credits_and_quotes(app: TestApp) {
    let data = app
        .data(
            r#"{ person(slug: "rosa-salazar") { name credits { nodes { role character film { title } } }
                 quotes { totalCount nodes { text source film { slug } } } } }"#,
            json!({}),
        )
        .await;
    let person = &data["person"];
    assert_eq!(person["name"], "Rosa Salazar");
    assert_eq!(person["credits"]["nodes"][0]["character"], "Alita");
    assert_eq!(person["quotes"]["totalCount"], 3);
    let texts: Vec<&str> =
        person["quotes"]["nodes"].as_array().unwrap().iter().map(|q| q["text"].as_str().unwrap()).collect();
    assert!(texts.contains(&"I’m always bringing up Alita,"));
    assert!(texts.contains(&"It still might happen."));
    assert!(texts.iter().any(|t| t.contains("I love a collaborative process")));
    assert!(person["quotes"]["nodes"].as_array().unwrap().iter().all(|q| q["source"] == "Collider"));
}

async fn people_filter_by_name_and_by_film(app: TestApp) {
    let data = app.data(r#"{ people(filter: { nameContains: "CAMERON" }) { nodes { name } } }"#, json!({})).await;
    assert_eq!(data["people"]["nodes"], json!([{ "name": "James Cameron" }]));

    let film = app.data(r#"{ film(slug: "alita-battle-angel-sequel") { id } }"#, json!({})).await;
    let data = app
        .data(
            "query($film: ID!) { people(filter: { filmId: $film }) { totalCount nodes { name } } }",
            json!({ "film": film["film"]["id"] }),
        )
        .await;
    assert_eq!(data["people"]["totalCount"], 1);
    assert_eq!(data["people"]["nodes"][0]["name"], "Rosa Salazar");
}

async fn a_filter_id_of_the_wrong_type_names_the_field(app: TestApp) {
    let error = app
        .error(
            "query($film: ID!) { people(filter: { filmId: $film }) { totalCount } }",
            json!({ "film": gid("Quote", 1) }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(error["extensions"]["field"], "filter.filmId");
}

async fn people_are_ordered_by_name_by_default(app: TestApp) {
    let data = app.data("{ people { nodes { name } } }", json!({})).await;
    let names: Vec<&str> =
        data["people"]["nodes"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names.len(), 6);
    assert_eq!(names, sorted);
}
