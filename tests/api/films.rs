//! Films: lookups, filters, ordering and relations.

use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::fixtures::{self, gid};

fn titles(connection: &Value) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| node["title"].as_str().expect("title").to_owned())
        .collect()
}

db_tests!(
    the_first_film_answers_with_its_makers_and_cast,
    the_sequel_is_requested_by_fans_and_follows_the_first_film,
    a_film_is_found_by_global_id_and_unknown_ones_are_null,
    a_film_lookup_needs_exactly_one_of_id_and_slug,
    a_film_id_of_another_type_is_refused_with_the_field,
    films_filter_by_title_status_and_release_dates,
    films_order_by_release_date_puts_undated_films_last_in_both_directions,
    films_list_their_quotes_events_and_petitions,
    credits_can_be_narrowed_to_one_role,
    a_title_filter_folds_titlecase_letters_on_both_databases
);

async fn the_first_film_answers_with_its_makers_and_cast(app: TestApp) {
    let data = app
        .data(
            r#"{ film(slug: "alita-battle-angel") { title status releaseDate budgetUsd boxOfficeUsd distributor
                 credits { totalCount nodes { role character person { name } } } } }"#,
            json!({}),
        )
        .await;
    let film = &data["film"];
    assert_eq!(film["title"], "Alita: Battle Angel");
    assert_eq!(film["status"], "RELEASED");
    assert_eq!(film["releaseDate"], "2019-02-14");
    assert_eq!(film["budgetUsd"], 170_000_000_i64);
    assert_eq!(film["boxOfficeUsd"], 400_000_000_i64);
    assert!(film["distributor"].as_str().unwrap().contains("Disney"));
    let credits: Vec<(String, String, Value)> = film["credits"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["person"]["name"].as_str().unwrap().to_owned(),
                c["role"].as_str().unwrap().to_owned(),
                c["character"].clone(),
            )
        })
        .collect();
    assert!(credits.contains(&("Robert Rodriguez".into(), "DIRECTOR".into(), Value::Null)));
    assert!(credits.contains(&("James Cameron".into(), "WRITER".into(), Value::Null)));
    assert!(credits.contains(&("James Cameron".into(), "PRODUCER".into(), Value::Null)));
    assert!(credits.contains(&("Jon Landau".into(), "PRODUCER".into(), Value::Null)));
    assert!(credits.contains(&("Rosa Salazar".into(), "CAST".into(), json!("Alita"))));
    assert!(credits.contains(&("Christoph Waltz".into(), "CAST".into(), json!("Dr. Dyson Ido"))));
    assert_eq!(film["credits"]["totalCount"], credits.len());
}

async fn the_sequel_is_requested_by_fans_and_follows_the_first_film(app: TestApp) {
    let data = app
        .data(
            r#"{ film(slug: "alita-battle-angel") { id sequels { nodes { title status sequelOf { slug } } } } }"#,
            json!({}),
        )
        .await;
    let sequels = data["film"]["sequels"]["nodes"].as_array().unwrap();
    assert_eq!(sequels.len(), 1);
    assert_eq!(sequels[0]["status"], "REQUESTED_BY_FANS");
    assert_eq!(sequels[0]["sequelOf"]["slug"], "alita-battle-angel");
}

async fn a_film_is_found_by_global_id_and_unknown_ones_are_null(app: TestApp) {
    let data = app.data(r#"{ film(slug: "alita-battle-angel") { id } }"#, json!({})).await;
    let id = data["film"]["id"].as_str().unwrap().to_owned();
    let by_id = app.data("query($id: ID!) { film(id: $id) { slug } }", json!({ "id": id })).await;
    assert_eq!(by_id["film"]["slug"], "alita-battle-angel");
    let missing = app.data("query($id: ID!) { film(id: $id) { slug } }", json!({ "id": gid("Film", 999_999) })).await;
    assert_eq!(missing["film"], Value::Null);
    let missing = app.data(r#"{ film(slug: "no-such-film") { slug } }"#, json!({})).await;
    assert_eq!(missing["film"], Value::Null);
}

async fn a_film_lookup_needs_exactly_one_of_id_and_slug(app: TestApp) {
    let error = app.error("{ film { slug } }", json!({})).await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    let error = app
        .error(
            r#"query($id: ID!) { film(id: $id, slug: "alita-battle-angel") { slug } }"#,
            json!({ "id": gid("Film", 1) }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
}

async fn a_film_id_of_another_type_is_refused_with_the_field(app: TestApp) {
    let error = app.error("query($id: ID!) { film(id: $id) { slug } }", json!({ "id": gid("Person", 1) })).await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(error["extensions"]["field"], "id");
}

async fn films_filter_by_title_status_and_release_dates(app: TestApp) {
    fixtures::films(&app.db, 6).await;
    let query = "query($filter: FilmFilter) { films(filter: $filter, first: 100) { totalCount nodes { title status releaseDate } } }";

    let data = app.data(query, json!({ "filter": { "titleContains": "battle ANGEL" } })).await;
    assert_eq!(titles(&data["films"]), vec!["Alita: Battle Angel", "Alita: Battle Angel sequel"]);

    let data = app.data(query, json!({ "filter": { "status": "REQUESTED_BY_FANS" } })).await;
    assert_eq!(titles(&data["films"]), vec!["Alita: Battle Angel sequel"]);
    assert_eq!(data["films"]["totalCount"], 1);

    let data = app.data(query, json!({ "filter": { "releasedAfter": "2019-01-01" } })).await;
    assert_eq!(titles(&data["films"]), vec!["Alita: Battle Angel"]);

    let data = app.data(query, json!({ "filter": { "releasedBefore": "2019-01-01", "status": "ANNOUNCED" } })).await;
    for node in data["films"]["nodes"].as_array().unwrap() {
        assert_eq!(node["status"], "ANNOUNCED");
        assert!(node["releaseDate"].as_str().unwrap() < "2019-01-01");
    }
    assert_eq!(data["films"]["totalCount"], data["films"]["nodes"].as_array().unwrap().len());
    assert!(data["films"]["totalCount"].as_u64().unwrap() >= 1);

    let data = app.data(query, json!({ "filter": { "titleContains": "100%_" } })).await;
    assert_eq!(data["films"]["totalCount"], 0, "LIKE wildcards in the needle are matched literally");
}

async fn films_order_by_release_date_puts_undated_films_last_in_both_directions(app: TestApp) {
    fixtures::films(&app.db, 6).await;
    let query = "query($dir: OrderDirection!) { films(first: 100, orderBy: { field: RELEASE_DATE, direction: $dir }) { nodes { releaseDate } } }";
    for direction in ["ASC", "DESC"] {
        let data = app.data(query, json!({ "dir": direction })).await;
        let dates: Vec<Value> =
            data["films"]["nodes"].as_array().unwrap().iter().map(|n| n["releaseDate"].clone()).collect();
        let first_null = dates.iter().position(Value::is_null).expect("some films have no date");
        assert!(dates[first_null..].iter().all(Value::is_null), "{direction}: nulls last: {dates:?}");
        let dated: Vec<&str> = dates[..first_null].iter().map(|d| d.as_str().unwrap()).collect();
        let mut sorted = dated.clone();
        sorted.sort();
        if direction == "DESC" {
            sorted.reverse();
        }
        assert_eq!(dated, sorted, "{direction}");
    }
}

async fn films_list_their_quotes_events_and_petitions(app: TestApp) {
    let data = app
        .data(
            r#"{ film(slug: "alita-battle-angel-sequel") {
                   quotes { nodes { text } }
                   events { nodes { slug } }
                   petitions { nodes { slug target } } } }"#,
            json!({}),
        )
        .await;
    let film = &data["film"];
    assert_eq!(film["quotes"]["nodes"][0]["text"], "It still might happen.");
    assert_eq!(film["events"]["nodes"][0]["slug"], "alitasequel-worldwide-hashtag-hour-2019");
    assert_eq!(film["petitions"]["nodes"][0]["target"], "Disney");
}

async fn credits_can_be_narrowed_to_one_role(app: TestApp) {
    let data = app
        .data(r#"{ film(slug: "alita-battle-angel") { credits(role: CAST) { totalCount nodes { person { name } character } } } }"#, json!({}))
        .await;
    let credits = &data["film"]["credits"];
    assert_eq!(credits["totalCount"], 2);
    assert_eq!(credits["nodes"][0]["person"]["name"], "Rosa Salazar");
    assert_eq!(credits["nodes"][1]["character"], "Dr. Dyson Ido");
}

async fn a_title_filter_folds_titlecase_letters_on_both_databases(app: TestApp) {
    use sea_orm::{ActiveModelTrait, ActiveValue, EntityTrait};
    // `ǅ` is neither upper nor lower case: SQLite's ASCII-only folding and a pattern built from
    // `to_lowercase`/`to_uppercase` alone both missed it, PostgreSQL's `lower()` does not.
    let film = entity::film::Entity::find().one(&app.db).await.unwrap().unwrap();
    let mut row: entity::film::ActiveModel = film.into();
    row.title = ActiveValue::Set("ǅemal and the ᾈngel".to_owned());
    row.update(&app.db).await.unwrap();
    for needle in ["ǆemal", "ǄEMAL", "ǅemal", "ᾀngel"] {
        let found = app
            .data(
                "query($t: String!) { films(filter: { titleContains: $t }) { nodes { title } } }",
                json!({ "t": needle }),
            )
            .await;
        assert_eq!(titles(&found["films"]), ["ǅemal and the ᾈngel"], "{needle}");
    }
}
