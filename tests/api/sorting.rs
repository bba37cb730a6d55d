//! Sorting by several keys (`sort: [XOrder!]`), counts among them: the rows come in the order the
//! keys say (ties broken by id), paging forwards and backwards sees each row once, a count of
//! quotes counts only what the viewer may see, and the list is still one statement.

use entity::enums::{QuoteStatus, Role};
use entity::{event, petition, signature};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::json;

use crate::pagination::{List, assert_walks_agree};
use crate::support::{TestApp, fixtures};

db_tests!(
    petitions_sort_by_signature_count_then_title_both_ways,
    events_sort_by_going_count_and_people_by_credit_count,
    a_quote_count_counts_only_the_quotes_the_viewer_may_see,
    order_by_and_sort_combine_and_a_key_twice_is_refused,
    a_cursor_of_another_order_is_refused,
    a_list_sorted_by_counts_is_one_statement
);

/// `n` fans signing `petition` (users numbered from `first_user` to keep them apart).
async fn sign(app: &TestApp, petition: i64, n: usize, first_user: usize) {
    for k in 0..n {
        let user = fixtures::user(&app.db, &format!("Signer {}", first_user + k)).await;
        fixtures::signature(&app.db, petition, user.id, false, Some("GB")).await;
    }
}

fn gids(type_name: &str, ids: impl IntoIterator<Item = i64>) -> Vec<String> {
    ids.into_iter().map(|id| fixtures::gid(type_name, id)).collect()
}

async fn petitions_sort_by_signature_count_then_title_both_ways(app: TestApp) {
    let petitions = fixtures::petitions(&app.db, 13).await;
    let mut next_user = 0;
    for (i, petition) in petitions.iter().enumerate() {
        let n = i % 4;
        sign(&app, petition.id, n, next_user).await;
        next_user += n;
    }
    // By hand, from the signatures themselves (the test database may hold petitions of its own):
    // count descending, then title ascending, then id descending (the first key's way).
    let signatures = signature::Entity::find().all(&app.db).await.unwrap();
    let mut expected: Vec<(i64, String, i64)> = petition::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (signatures.iter().filter(|s| s.petition_id == row.id).count() as i64, row.title, row.id))
        .collect();
    expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(b.2.cmp(&a.2)));
    let open = "petitions(sort: [{ field: SIGNATURE_COUNT, direction: DESC }, { field: TITLE, direction: ASC }]";
    let ids = assert_walks_agree(&app, &List { open, pointer: "/petitions", outer: None }, expected.len() as u64).await;
    assert_eq!(ids, gids("Petition", expected.iter().map(|row| row.2)));

    // Ascending by count, the id breaks ties ascending.
    let open = "petitions(sort: [{ field: SIGNATURE_COUNT, direction: ASC }]";
    let ids = assert_walks_agree(&app, &List { open, pointer: "/petitions", outer: None }, expected.len() as u64).await;
    expected.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.cmp(&b.2)));
    assert_eq!(ids, gids("Petition", expected.iter().map(|row| row.2)));
    let data = app
        .data(
            "{ petitions(sort: [{ field: SIGNATURE_COUNT, direction: DESC }], first: 1) { nodes { signatureCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["petitions"]["nodes"][0]["signatureCount"], 3);
}

async fn events_sort_by_going_count_and_people_by_credit_count(app: TestApp) {
    let events = fixtures::events(&app.db, 9, None).await;
    for (i, row) in events.iter().enumerate() {
        let mut active: event::ActiveModel = row.clone().into();
        active.going_count = Set((i % 3) as i64 * 5);
        active.update(&app.db).await.unwrap();
    }
    let all = event::Entity::find().all(&app.db).await.unwrap();
    let mut expected: Vec<(i64, i64)> = all.iter().map(|row| (row.going_count, row.id)).collect();
    expected.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    let open = "events(sort: [{ field: GOING_COUNT, direction: DESC }]";
    let ids = assert_walks_agree(&app, &List { open, pointer: "/events", outer: None }, all.len() as u64).await;
    assert_eq!(ids, gids("Event", expected.iter().map(|row| row.1)));

    let films = fixtures::films(&app.db, 3).await;
    let people = fixtures::people(&app.db, 7).await;
    for (i, person) in people.iter().enumerate() {
        for film in films.iter().take(i % 4) {
            fixtures::credit(&app.db, film.id, person.id, entity::enums::CreditRole::Cast, None).await;
        }
    }
    let data = app
        .data(
            "{ people(sort: [{ field: CREDIT_COUNT, direction: DESC }, { field: NAME, direction: DESC }], first: 100) { nodes { id name credits { totalCount } } } }",
            json!({}),
        )
        .await;
    let nodes = data["people"]["nodes"].as_array().unwrap();
    let keys: Vec<(u64, String)> = nodes
        .iter()
        .map(|node| (node["credits"]["totalCount"].as_u64().unwrap(), node["name"].as_str().unwrap().to_owned()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(keys, sorted, "credit count descending, then name descending");
    assert_eq!(keys[0].0, 3);
}

async fn a_quote_count_counts_only_the_quotes_the_viewer_may_see(app: TestApp) {
    let films = fixtures::films(&app.db, 2).await;
    let people = fixtures::people(&app.db, 2).await;
    // The first person and film have three pending quotes; the second one published quote.
    fixtures::quotes(&app.db, people[0].id, Some(films[0].id), 3, QuoteStatus::Pending).await;
    fixtures::quotes(&app.db, people[1].id, Some(films[1].id), 1, QuoteStatus::Published).await;
    let people_query = "{ people(sort: [{ field: QUOTE_COUNT, direction: DESC }], first: 100) { nodes { id } } }";
    let films_query = "{ films(sort: [{ field: QUOTE_COUNT, direction: DESC }], first: 100) { nodes { id } } }";
    // Whether the first of two rows comes before the second in a list.
    let before = |data: &serde_json::Value, list: &str, first: String, second: String| {
        let ids: Vec<&str> =
            data[list]["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
        let at = |id: &str| ids.iter().position(|known| *known == id).unwrap();
        at(&first) < at(&second)
    };
    let person = |i: usize| fixtures::gid("Person", people[i].id);
    let film = |i: usize| fixtures::gid("Film", films[i].id);

    // Anonymous: the pending quotes do not count, so one published quote comes first.
    let data = app.data(people_query, json!({})).await;
    assert!(before(&data, "people", person(1), person(0)));
    let data = app.data(films_query, json!({})).await;
    assert!(before(&data, "films", film(1), film(0)));

    let moderator = app.sign_in_as(Role::Moderator).await;
    let data = app.data_as(&moderator.access_token, people_query, json!({})).await;
    assert!(before(&data, "people", person(0), person(1)));
    let data = app.data_as(&moderator.access_token, films_query, json!({})).await;
    assert!(before(&data, "films", film(0), film(1)));
}

async fn order_by_and_sort_combine_and_a_key_twice_is_refused(app: TestApp) {
    fixtures::petitions(&app.db, 6).await;
    // `orderBy`'s key comes first, `sort`'s after it.
    let data = app
        .data(
            "{ petitions(orderBy: { field: GOAL, direction: ASC }, sort: [{ field: TITLE, direction: DESC }], first: 100) { nodes { goal title } } }",
            json!({}),
        )
        .await;
    let rows: Vec<(u64, String)> = data["petitions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| (node["goal"].as_u64().unwrap(), node["title"].as_str().unwrap().to_owned()))
        .collect();
    let mut sorted = rows.clone();
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    assert_eq!(rows, sorted);

    let error = app
        .error(
            "{ petitions(orderBy: { field: GOAL, direction: ASC }, sort: [{ field: GOAL, direction: DESC }]) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(error["extensions"]["field"], "sort");
}

async fn a_cursor_of_another_order_is_refused(app: TestApp) {
    fixtures::petitions(&app.db, 4).await;
    let data = app
        .data(
            "{ petitions(sort: [{ field: GOAL, direction: ASC }, { field: TITLE, direction: ASC }], first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let cursor = data["petitions"]["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    for other in [
        "sort: [{ field: GOAL, direction: ASC }]",
        "sort: [{ field: GOAL, direction: ASC }, { field: TITLE, direction: DESC }]",
        "sort: [{ field: GOAL, direction: ASC }, { field: SIGNATURE_COUNT, direction: ASC }]",
    ] {
        let query = format!("query($after: String) {{ petitions({other}, after: $after) {{ totalCount }} }}");
        let error = app.error(&query, json!({ "after": cursor })).await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{other}");
        assert_eq!(error["extensions"]["field"], "after", "{other}");
    }
    // The same order reads on from it.
    let query = "query($after: String) { petitions(sort: [{ field: GOAL, direction: ASC }, { field: TITLE, direction: ASC }], after: $after) { nodes { id } } }";
    let data = app.data(query, json!({ "after": cursor })).await;
    assert_eq!(data["petitions"]["nodes"].as_array().unwrap().len(), 4);
}

async fn a_list_sorted_by_counts_is_one_statement(app: TestApp) {
    let people = fixtures::people(&app.db, 5).await;
    fixtures::quotes(&app.db, people[0].id, None, 2, QuoteStatus::Published).await;
    for query in [
        "{ people(sort: [{ field: QUOTE_COUNT, direction: DESC }, { field: CREDIT_COUNT, direction: ASC }], first: 3) { totalCount edges { cursor node { name } } pageInfo { endCursor } } }",
        "{ films(sort: [{ field: QUOTE_COUNT, direction: DESC }]) { nodes { title } } }",
        "{ petitions(sort: [{ field: SIGNATURE_COUNT, direction: DESC }], last: 2) { edges { cursor } } }",
        "{ events(sort: [{ field: GOING_COUNT, direction: ASC }, { field: STARTS_AT, direction: DESC }]) { edges { cursor } } }",
    ] {
        let before = app.statements();
        app.data(query, json!({})).await;
        assert_eq!(app.statements() - before, 1, "{query}");
    }
}
