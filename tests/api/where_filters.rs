//! Boolean `where` filters: every operator, the relation quantifiers, `not` with NULLs, the
//! visibility of related rows, the limits, and one SQL statement per root field. Every read here
//! also goes through the resolvers and must answer the same (`TestApp::graphql_as`).

use chrono::{NaiveDate, TimeZone, Utc};
use entity::enums::{CreditRole, FilmStatus, QuoteStatus, Role};
use entity::{film, petition_update};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::fixtures::{self, gid};

/// Four films of our own (slugs `w-a`…`w-d`), with NULLs in the optional fields on purpose.
async fn films(app: &TestApp) -> Vec<film::Model> {
    let rows = [
        (
            "w-a",
            "Where Alpha",
            Some("Iron City"),
            Some((2018, 5, 1)),
            Some(120),
            Some(50_000_000),
            FilmStatus::Released,
        ),
        ("w-b", "Where Beta", Some("iron age"), Some((2020, 12, 31)), Some(95), None, FilmStatus::Released),
        ("w-c", "Where Gamma", None, Some((2021, 1, 1)), None, Some(9_000_000_000), FilmStatus::InDevelopment),
        ("w-d", "Where Delta", Some("Ünïcode"), None, Some(140), None, FilmStatus::Announced),
    ];
    let mut films = Vec::new();
    for (day, (slug, title, tagline, release, runtime, budget, status)) in rows.into_iter().enumerate() {
        let at = Utc.with_ymd_and_hms(2021, 6, 1 + day as u32, 12, 0, 0).single().expect("an instant");
        let row = film::ActiveModel {
            slug: Set(slug.to_owned()),
            title: Set(title.to_owned()),
            tagline: Set(tagline.map(str::to_owned)),
            release_date: Set(release.map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).expect("a date"))),
            runtime_minutes: Set(runtime),
            budget_usd: Set(budget),
            status: Set(status),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .expect("insert a film");
        films.push(row);
    }
    films
}

/// The slugs of our films (`w-…`) that `where` keeps, in title order.
async fn slugs(app: &TestApp, filter: Value) -> Vec<String> {
    let data = app
        .data(
            "query($where: FilmWhere!) { films(where: {and: [{slug: {startsWith: \"w-\"}}, $where]}, first: 50) { nodes { slug } } }",
            json!({ "where": filter }),
        )
        .await;
    nodes(&data["films"], "slug")
}

fn nodes(connection: &Value, field: &str) -> Vec<String> {
    let mut values: Vec<String> = connection["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| node[field].as_str().expect("a string").to_owned())
        .collect();
    values.sort();
    values
}

fn list(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| (*value).to_owned()).collect()
}

/// The SQL statements the server runs for `query` (its planned path).
async fn statements_for(app: &TestApp, query: &str, variables: Value) -> (Value, u64) {
    let before = app.statements();
    let data = app.data(query, variables).await;
    (data, app.statements() - before)
}

db_tests!(
    each_string_operator_answers,
    each_ordered_operator_answers_on_ints_money_dates_and_instants,
    enum_and_id_filters_answer_and_a_bad_id_is_refused_with_its_path,
    not_matches_rows_whose_field_is_null_and_ne_does_not,
    and_or_not_combine_and_films_released_2018_to_2020_or_announced_is_one_statement,
    relation_quantifiers_answer_and_each_question_is_one_statement,
    a_pending_quote_is_never_matched_for_a_viewer_who_cannot_see_it,
    nested_connections_take_where_in_the_same_statement,
    petition_status_filters_go_by_the_status_a_petition_reads_as,
    admins_filter_users_and_the_audit_log,
    filters_past_the_limits_are_refused_naming_the_argument,
    where_and_filter_both_apply,
    counts_compare_the_stored_column_plus_the_slots_not_folded_yet,
    nested_where_on_the_resolver_path_costs_as_much_for_twelve_parents_as_for_two
);

async fn each_string_operator_answers(app: TestApp) {
    films(&app).await;
    let cases = [
        (json!({"tagline": {"eq": "Iron City"}}), list(&["w-a"])),
        (json!({"tagline": {"eq": "iron city"}}), list(&[])),
        (json!({"tagline": {"ne": "Iron City"}}), list(&["w-b", "w-d"])),
        (json!({"tagline": {"in": ["iron age", "Ünïcode", "nothing"]}}), list(&["w-b", "w-d"])),
        (json!({"tagline": {"notIn": ["iron age"]}}), list(&["w-a", "w-d"])),
        (json!({"tagline": {"in": []}}), list(&[])),
        (json!({"tagline": {"contains": "IRON"}}), list(&["w-a", "w-b"])),
        (json!({"tagline": {"contains": "ÜNÏ"}}), list(&["w-d"])),
        (json!({"tagline": {"startsWith": "iron"}}), list(&["w-a", "w-b"])),
        (json!({"tagline": {"startsWith": "city"}}), list(&[])),
        (json!({"tagline": {"contains": "%"}}), list(&[])),
        (json!({"tagline": {"isNull": true}}), list(&["w-c"])),
        (json!({"tagline": {"isNull": false}}), list(&["w-a", "w-b", "w-d"])),
        (json!({"title": {"contains": "e", "startsWith": "where b"}}), list(&["w-b"])),
    ];
    for (filter, expected) in cases {
        assert_eq!(slugs(&app, filter.clone()).await, expected, "{filter}");
    }
}

async fn each_ordered_operator_answers_on_ints_money_dates_and_instants(app: TestApp) {
    films(&app).await;
    let cases = [
        (json!({"runtimeMinutes": {"eq": 95}}), list(&["w-b"])),
        (json!({"runtimeMinutes": {"ne": 95}}), list(&["w-a", "w-d"])),
        (json!({"runtimeMinutes": {"in": [95, 140]}}), list(&["w-b", "w-d"])),
        (json!({"runtimeMinutes": {"notIn": [95]}}), list(&["w-a", "w-d"])),
        (json!({"runtimeMinutes": {"lt": 120}}), list(&["w-b"])),
        (json!({"runtimeMinutes": {"lte": 120}}), list(&["w-a", "w-b"])),
        (json!({"runtimeMinutes": {"gt": 120}}), list(&["w-d"])),
        (json!({"runtimeMinutes": {"gte": 120}}), list(&["w-a", "w-d"])),
        (json!({"runtimeMinutes": {"isNull": true}}), list(&["w-c"])),
        (json!({"budgetUsd": {"gt": 3_000_000_000_i64}}), list(&["w-c"])),
        (json!({"budgetUsd": {"lte": 50_000_000}}), list(&["w-a"])),
        (json!({"budgetUsd": {"isNull": true}}), list(&["w-b", "w-d"])),
        (json!({"releaseDate": {"gte": "2018-01-01", "lte": "2020-12-31"}}), list(&["w-a", "w-b"])),
        (json!({"releaseDate": {"gt": "2020-12-31"}}), list(&["w-c"])),
        (json!({"releaseDate": {"eq": "2018-05-01"}}), list(&["w-a"])),
        (json!({"releaseDate": {"in": ["2018-05-01", "2021-01-01"]}}), list(&["w-a", "w-c"])),
        (json!({"releaseDate": {"isNull": true}}), list(&["w-d"])),
        (json!({"createdAt": {"lt": "2021-06-02T12:00:00Z"}}), list(&["w-a"])),
        (json!({"createdAt": {"gte": "2021-06-03T14:00:00+02:00"}}), list(&["w-c", "w-d"])),
        (json!({"createdAt": {"eq": "2021-06-02T12:00:00Z"}}), list(&["w-b"])),
        (json!({"createdAt": {"notIn": ["2021-06-02T12:00:00Z"]}}), list(&["w-a", "w-c", "w-d"])),
    ];
    for (filter, expected) in cases {
        assert_eq!(slugs(&app, filter.clone()).await, expected, "{filter}");
    }
}

async fn enum_and_id_filters_answer_and_a_bad_id_is_refused_with_its_path(app: TestApp) {
    let rows = films(&app).await;
    let cases = [
        (json!({"status": {"eq": "RELEASED"}}), list(&["w-a", "w-b"])),
        (json!({"status": {"ne": "RELEASED"}}), list(&["w-c", "w-d"])),
        (json!({"status": {"in": ["ANNOUNCED", "IN_DEVELOPMENT"]}}), list(&["w-c", "w-d"])),
        (json!({"status": {"notIn": ["ANNOUNCED", "RELEASED"]}}), list(&["w-c"])),
        (json!({"id": {"eq": gid("Film", rows[1].id)}}), list(&["w-b"])),
        (json!({"id": {"in": [gid("Film", rows[0].id), gid("Film", rows[3].id)]}}), list(&["w-a", "w-d"])),
        (json!({"id": {"notIn": [gid("Film", rows[0].id)]}}), list(&["w-b", "w-c", "w-d"])),
    ];
    for (filter, expected) in cases {
        assert_eq!(slugs(&app, filter.clone()).await, expected, "{filter}");
    }
    let error = app.error(r#"{ films(where: {id: {in: ["UGVyc29uOjE="]}}) { nodes { slug } } }"#, json!({})).await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error}");
    assert_eq!(error["extensions"]["field"], "where.id.in", "{error}");
}

async fn not_matches_rows_whose_field_is_null_and_ne_does_not(app: TestApp) {
    films(&app).await;
    // `not` is the plain negation: a NULL tagline is not "Iron City", so it is kept.
    assert_eq!(slugs(&app, json!({"not": {"tagline": {"eq": "Iron City"}}})).await, list(&["w-b", "w-c", "w-d"]));
    // `ne` compares, and a comparison never matches NULL.
    assert_eq!(slugs(&app, json!({"tagline": {"ne": "Iron City"}})).await, list(&["w-b", "w-d"]));
    // Negating twice gives back the rows, NULLs and all: SQL's UNKNOWN never leaks.
    assert_eq!(slugs(&app, json!({"not": {"not": {"tagline": {"eq": "Iron City"}}}})).await, list(&["w-a"]));
    assert_eq!(
        slugs(&app, json!({"not": {"runtimeMinutes": {"lt": 130}}})).await,
        list(&["w-c", "w-d"]),
        "a NULL runtime is not below 130"
    );
    assert_eq!(slugs(&app, json!({"not": {"tagline": {"contains": "iron"}}})).await, list(&["w-c", "w-d"]));
    assert_eq!(
        slugs(&app, json!({"not": {"sequelOf": {"title": {"eq": "x"}}}})).await,
        list(&["w-a", "w-b", "w-c", "w-d"])
    );
    assert_eq!(slugs(&app, json!({"or": []})).await, list(&[]), "an empty `or` matches nothing");
    assert_eq!(
        slugs(&app, json!({"and": []})).await,
        list(&["w-a", "w-b", "w-c", "w-d"]),
        "an empty `and` matches all"
    );
}

async fn and_or_not_combine_and_films_released_2018_to_2020_or_announced_is_one_statement(app: TestApp) {
    films(&app).await;
    let query = r#"{ films(where: {and: [{slug: {startsWith: "w-"}}, {or: [
                       {releaseDate: {gte: "2018-01-01", lte: "2020-12-31"}}, {status: {eq: ANNOUNCED}}]}]}) {
                       totalCount nodes { slug } } }"#;
    let (data, statements) = statements_for(&app, query, json!({})).await;
    assert_eq!(nodes(&data["films"], "slug"), list(&["w-a", "w-b", "w-d"]));
    assert_eq!(data["films"]["totalCount"], 3);
    assert_eq!(statements, 1, "one planned statement");
    assert_eq!(
        slugs(&app, json!({"and": [{"status": {"eq": "RELEASED"}}, {"not": {"runtimeMinutes": {"eq": 95}}}]})).await,
        list(&["w-a"])
    );
}

async fn relation_quantifiers_answer_and_each_question_is_one_statement(app: TestApp) {
    let rows = films(&app).await;
    let people = fixtures::people(&app.db, 7).await;
    // w-a: people 0 and 1 (cast); w-b: person 1 (director); w-c: none; w-d: person 2 (cast).
    fixtures::credit(&app.db, rows[0].id, people[0].id, CreditRole::Cast, Some(1)).await;
    fixtures::credit(&app.db, rows[0].id, people[1].id, CreditRole::Cast, Some(2)).await;
    fixtures::credit(&app.db, rows[1].id, people[1].id, CreditRole::Director, None).await;
    fixtures::credit(&app.db, rows[3].id, people[2].id, CreditRole::Cast, Some(1)).await;
    let person = |index: usize| people[index].slug.clone();
    let cases = [
        (json!({"credits": {"some": {"person": {"slug": {"eq": person(1)}}}}}), list(&["w-a", "w-b"])),
        (json!({"credits": {"none": {"role": {"eq": "CAST"}}}}), list(&["w-b", "w-c"])),
        (json!({"credits": {"every": {"role": {"eq": "CAST"}}}}), list(&["w-a", "w-c", "w-d"])),
        (json!({"credits": {"some": {}, "every": {"billingOrder": {"isNull": false}}}}), list(&["w-a", "w-d"])),
        (json!({"not": {"credits": {"some": {"person": {"slug": {"eq": person(0)}}}}}}), list(&["w-b", "w-c", "w-d"])),
    ];
    for (filter, expected) in cases {
        assert_eq!(slugs(&app, filter.clone()).await, expected, "{filter}");
    }

    // "People with no credit on this film", one statement.
    let query = r#"query($film: String!) { people(where: {and: [{slug: {startsWith: "fixture-person-"}},
                     {credits: {none: {film: {slug: {eq: $film}}}}}]}) { nodes { slug } } }"#;
    let (data, statements) = statements_for(&app, query, json!({"film": "w-a"})).await;
    assert_eq!(nodes(&data["people"], "slug"), list(&[&person(2), &person(3), &person(4), &person(5), &person(6)]));
    assert_eq!(statements, 1);

    // "Quotes by any of these five people", one statement.
    for (index, person) in people.iter().enumerate() {
        fixtures::quotes(&app.db, person.id, Some(rows[index % 4].id), 1, QuoteStatus::Published).await;
    }
    let five: Vec<String> = people.iter().take(5).map(|person| gid("Person", person.id)).collect();
    let query = r#"query($people: [ID!]) { quotes(where: {person: {id: {in: $people}}}, first: 50) {
                     totalCount nodes { person { slug } film { slug } } } }"#;
    let (data, statements) = statements_for(&app, query, json!({"people": five})).await;
    assert_eq!(data["quotes"]["totalCount"], 5, "{data}");
    assert_eq!(statements, 1);
    // A to-one relation by the related type's where.
    let data = app
        .data(r#"{ quotes(where: {film: {title: {contains: "where al"}}}) { nodes { film { slug } } } }"#, json!({}))
        .await;
    assert_eq!(data["quotes"]["nodes"].as_array().map(Vec::len), Some(2), "{data}");
}

async fn a_pending_quote_is_never_matched_for_a_viewer_who_cannot_see_it(app: TestApp) {
    let rows = films(&app).await;
    let people = fixtures::people(&app.db, 1).await;
    fixtures::quotes(&app.db, people[0].id, Some(rows[2].id), 1, QuoteStatus::Pending).await;
    let pending = json!({"quotes": {"some": {"status": {"eq": "PENDING"}}}});
    assert_eq!(slugs(&app, pending.clone()).await, list(&[]), "anonymous readers match no pending quote");
    assert_eq!(
        slugs(&app, json!({"quotes": {"every": {"status": {"eq": "PUBLISHED"}}}})).await,
        list(&["w-a", "w-b", "w-c", "w-d"]),
        "nor does a hidden quote count against `every`"
    );
    let data = app.data(r#"{ quotes(where: {status: {eq: PENDING}}) { totalCount } }"#, json!({})).await;
    assert_eq!(data["quotes"]["totalCount"], 0);
    let fan = app.sign_in_as(Role::Fan).await;
    let query = "query($where: FilmWhere) { films(where: $where) { nodes { slug } } }";
    let data = app.data_as(&fan.access_token, query, json!({"where": pending.clone()})).await;
    assert_eq!(nodes(&data["films"], "slug"), list(&[]), "nor do fans");
    let moderator = app.sign_in_as(Role::Moderator).await;
    let data = app.data_as(&moderator.access_token, query, json!({"where": pending})).await;
    assert_eq!(nodes(&data["films"], "slug"), list(&["w-c"]), "moderators see every quote");
}

async fn nested_connections_take_where_in_the_same_statement(app: TestApp) {
    let rows = films(&app).await;
    let people = fixtures::people(&app.db, 3).await;
    for (index, person) in people.iter().enumerate() {
        let role = if index == 0 { CreditRole::Director } else { CreditRole::Cast };
        fixtures::credit(&app.db, rows[0].id, person.id, role, Some(index as i32 + 1)).await;
        fixtures::quotes(&app.db, person.id, Some(rows[0].id), 2, QuoteStatus::Published).await;
    }
    let query = r#"query($slug: String!) { films(where: {slug: {eq: "w-a"}}) { nodes {
                     cast: credits(where: {role: {eq: CAST}}) { totalCount nodes { person { slug } } }
                     late: credits(where: {billingOrder: {gt: 2}}) { nodes { person { slug } } }
                     quotes(where: {person: {slug: {eq: $slug}}}) { totalCount nodes { text } } } } }"#;
    let (data, statements) = statements_for(&app, query, json!({"slug": people[1].slug})).await;
    assert_eq!(statements, 1, "one planned statement");
    let film = &data["films"]["nodes"][0];
    assert_eq!(film["cast"]["totalCount"], 2, "{data}");
    assert_eq!(film["late"]["nodes"][0]["person"]["slug"], people[2].slug.as_str(), "{data}");
    assert_eq!(film["quotes"]["totalCount"], 2, "{data}");
    let data = app
        .data(
            r#"{ person(slug: "rosa-salazar") { credits(where: {film: {slug: {eq: "alita-battle-angel"}}}) {
                   nodes { role } } quotes(where: {text: {contains: "alita"}}) { totalCount } } }"#,
            json!({}),
        )
        .await;
    assert!(!data["person"]["credits"]["nodes"].as_array().expect("credits").is_empty(), "{data}");
    assert!(data["person"]["quotes"]["totalCount"].as_u64().unwrap_or(0) >= 1, "{data}");
}

async fn petition_status_filters_go_by_the_status_a_petition_reads_as(app: TestApp) {
    let petitions = fixtures::petitions(&app.db, 4).await;
    let fan = fixtures::user(&app.db, "Where Signer").await;
    fixtures::signature(&app.db, petitions[1].id, fan.id, true, Some("FR")).await;
    let query =
        "query($where: PetitionWhere!) { petitions(where: {and: [{slug: {startsWith: \"fixture-\"}}, $where]}) {
                   nodes { slug status } } }";
    let data = app.data(query, json!({"where": {"status": {"eq": "CLOSED"}}})).await;
    let closed = nodes(&data["petitions"], "slug");
    let open = nodes(&app.data(query, json!({"where": {"status": {"ne": "CLOSED"}}})).await["petitions"], "slug");
    let not_closed =
        nodes(&app.data(query, json!({"where": {"not": {"status": {"eq": "CLOSED"}}}})).await["petitions"], "slug");
    assert_eq!(open, not_closed, "ne and not agree: every petition reads as one status");
    assert_eq!(closed.len() + open.len(), 4, "closed {closed:?}, open {open:?}");
    for node in data["petitions"]["nodes"].as_array().expect("nodes") {
        assert_eq!(node["status"], "CLOSED");
    }
    let data = app.data(query, json!({"where": {"signatures": {"some": {"country": {"eq": "FR"}}}}})).await;
    assert_eq!(nodes(&data["petitions"], "slug"), list(&["fixture-petition-1"]));
    let data = app
        .data(
            r#"query($slug: String!) { petition(slug: $slug) { signatures(where: {country: {in: ["FR"]}}) { totalCount }
                 updates(where: {title: {contains: "x"}}) { totalCount } } }"#,
            json!({"slug": "fixture-petition-1"}),
        )
        .await;
    assert_eq!(data["petition"]["signatures"]["totalCount"], 1, "{data}");
    assert_eq!(data["petition"]["updates"]["totalCount"], 0, "{data}");
}

async fn admins_filter_users_and_the_audit_log(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    fixtures::user(&app.db, "Where Fan").await;
    let data = app
        .data_as(
            &admin.access_token,
            r#"{ users(where: {and: [{displayName: {startsWith: "where"}}, {role: {eq: FAN}}, {lastLoginAt: {isNull: true}}]}) {
                 nodes { displayName } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(nodes(&data["users"], "displayName"), list(&["Where Fan"]));
    app.data_as(
        &admin.access_token,
        r#"mutation { createFilm(input: {title: "Audited Where", status: ANNOUNCED}) { id } }"#,
        json!({}),
    )
    .await;
    let data = app
        .data_as(
            &admin.access_token,
            r#"query($admin: ID!) { auditLog(where: {entityType: {eq: "Film"}, actor: {id: {eq: $admin}}}) { nodes { action } } }"#,
            json!({"admin": admin.global_id}),
        )
        .await;
    assert_eq!(nodes(&data["auditLog"], "action"), list(&["createFilm"]), "{data}");
    let fan = app.sign_in_as(Role::Fan).await;
    let error =
        app.error_as(&fan.access_token, r#"{ users(where: {role: {eq: ADMIN}}) { totalCount } }"#, json!({})).await;
    assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{error}");
}

async fn filters_past_the_limits_are_refused_naming_the_argument(app: TestApp) {
    // Seven levels of `not`.
    let deep =
        r#"{ films(where: {not: {not: {not: {not: {not: {not: {not: {title: {eq: "x"}}}}}}}}}) { totalCount } }"#;
    let error = app.error(deep, json!({})).await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error}");
    assert_eq!(error["extensions"]["field"], "where.not.not.not.not.not.not.not", "{error}");
    let many: Vec<Value> = (0..51).map(|index| json!({"title": {"eq": format!("t{index}")}})).collect();
    let error = app
        .error("query($where: FilmWhere) { films(where: $where) { totalCount } }", json!({"where": {"or": many}}))
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error}");
    assert_eq!(error["extensions"]["field"], "where.or[50].title.eq", "{error}");
    let long: Vec<String> = (0..101).map(|index| format!("t{index}")).collect();
    let error = app
        .error(
            "query($titles: [String!]) { films(where: {title: {in: $titles}}) { totalCount } }",
            json!({"titles": long}),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error}");
    assert_eq!(error["extensions"]["field"], "where.title.in", "{error}");
    let error = app.error(r#"{ films(where: {credits: {}}) { totalCount } }"#, json!({})).await;
    assert_eq!(error["extensions"]["field"], "where.credits", "{error}");
    // The same limits hold in a nested connection.
    let error = app
        .error(r#"{ films { nodes { credits(where: {not: {not: {not: {not: {not: {not: {not: {}}}}}}}}) { totalCount } } } }"#, json!({}))
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error}");
}

async fn where_and_filter_both_apply(app: TestApp) {
    films(&app).await;
    let data = app
        .data(
            r#"{ films(filter: {status: RELEASED}, where: {slug: {startsWith: "w-"}, runtimeMinutes: {gt: 100}}) { nodes { slug } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(nodes(&data["films"], "slug"), list(&["w-a"]));
}

/// Runs `sql` on the test's own connection, behind the server's back.
async fn execute(app: &TestApp, sql: String) {
    use sea_orm::{ConnectionTrait, Statement};
    app.db.execute_raw(Statement::from_string(app.db.get_database_backend(), sql)).await.expect("run the statement");
}

/// Moves a count as a signer's or RSVP's transaction does before the background fold: `delta` into
/// slot `slot` of row `id` (`table` is `petitions` or `events`), the row's own column untouched.
/// The server folds only the counters it moved itself, so these slots stay until the test ends.
async fn unfolded(app: &TestApp, table: &str, id: i64, slot: i32, delta: i64) {
    let (slots, key) = match table {
        "petitions" => ("petition_count_slots", "petition_id"),
        _ => ("event_count_slots", "event_id"),
    };
    execute(app, format!("INSERT INTO {slots} ({key}, slot, delta, version) VALUES ({id}, {slot}, {delta}, 1)")).await;
}

async fn counts_compare_the_stored_column_plus_the_slots_not_folded_yet(app: TestApp) {
    let film = films(&app).await.remove(0);
    let petitions = fixtures::petitions(&app.db, 3).await;
    // Exact counts: petition 0 is 12 (all in slots), 1 is 3 (all folded), 2 is 10 (4 folded + 6).
    unfolded(&app, "petitions", petitions[0].id, 0, 5).await;
    unfolded(&app, "petitions", petitions[0].id, 1, 7).await;
    execute(&app, format!("UPDATE petitions SET signature_count = 3 WHERE id = {}", petitions[1].id)).await;
    execute(&app, format!("UPDATE petitions SET signature_count = 4 WHERE id = {}", petitions[2].id)).await;
    unfolded(&app, "petitions", petitions[2].id, 9, 6).await;
    let ids: Vec<i64> = petitions.iter().map(|petition| petition.id).collect();
    execute(
        &app,
        format!("UPDATE petitions SET film_id = {} WHERE id IN ({}, {}, {})", film.id, ids[0], ids[1], ids[2]),
    )
    .await;
    for (id, exact) in ids.iter().zip([12, 3, 10]) {
        assert_eq!(fixtures::stored_count(&app.db, "petitions", *id).await, exact, "the fixture's count");
    }

    let query = r#"query($where: PetitionWhere!) { petitions(where: {and: [{slug: {startsWith: "fixture-"}}, $where]},
                     sort: [{field: SIGNATURE_COUNT, direction: DESC}]) { nodes { slug signatureCount } } }"#;
    let cases = [
        (json!({"signatureCount": {"gt": 5}}), vec![("fixture-petition-0", 12), ("fixture-petition-2", 10)]),
        (json!({"signatureCount": {"eq": 10}}), vec![("fixture-petition-2", 10)]),
        (json!({"signatureCount": {"in": [12, 3]}}), vec![("fixture-petition-0", 12), ("fixture-petition-1", 3)]),
        (json!({"signatureCount": {"isNull": false, "lte": 4}}), vec![("fixture-petition-1", 3)]),
        (json!({"signatureCount": {"isNull": true}}), vec![]),
        (json!({"not": {"signatureCount": {"lt": 11}}}), vec![("fixture-petition-0", 12)]),
        (json!({}), vec![("fixture-petition-0", 12), ("fixture-petition-2", 10), ("fixture-petition-1", 3)]),
    ];
    for (filter, expected) in cases {
        let (data, statements) = statements_for(&app, query, json!({"where": filter})).await;
        let found: Vec<(String, i64)> = data["petitions"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|node| {
                (node["slug"].as_str().expect("a slug").to_owned(), node["signatureCount"].as_i64().expect("a count"))
            })
            .collect();
        let expected: Vec<(String, i64)> = expected.into_iter().map(|(slug, count)| (slug.to_owned(), count)).collect();
        assert_eq!(found, expected, "{filter}: filtered and sorted by the exact count");
        assert_eq!(statements, 1, "{filter}: one planned statement");
    }

    // In a nested connection and through a relation, the same count.
    let data = app
        .data(
            r#"query($film: String!) { film(slug: $film) { petitions(where: {signatureCount: {gte: 10}}) { nodes { slug } } }
                 films(where: {petitions: {some: {signatureCount: {eq: 12}}}}) { nodes { slug } } }"#,
            json!({"film": film.slug}),
        )
        .await;
    assert_eq!(nodes(&data["film"]["petitions"], "slug"), list(&["fixture-petition-0", "fixture-petition-2"]));
    assert_eq!(nodes(&data["films"], "slug"), list(&[&film.slug]));

    // An event's fans going: 4 in slots beside 2 folded.
    let events = fixtures::events(&app.db, 2, None).await;
    execute(&app, format!("UPDATE events SET going_count = 2 WHERE id = {}", events[1].id)).await;
    unfolded(&app, "events", events[0].id, 3, 4).await;
    let query = r#"query($where: EventWhere!) { events(where: {and: [{slug: {startsWith: "fixture-"}}, $where]},
                     sort: [{field: GOING_COUNT, direction: ASC}]) { nodes { slug rsvpCount } } }"#;
    let data = app.data(query, json!({"where": {"rsvpCount": {"gte": 3}}})).await;
    assert_eq!(data["events"]["nodes"], json!([{"slug": "fixture-event-0", "rsvpCount": 4}]), "{data}");
    let data = app.data(query, json!({"where": {"rsvpCount": {"gt": 0}}})).await;
    let slugs: Vec<&str> =
        data["events"]["nodes"].as_array().expect("nodes").iter().filter_map(|node| node["slug"].as_str()).collect();
    assert_eq!(slugs, ["fixture-event-1", "fixture-event-0"], "sorted by the exact count: {data}");
}

/// The SQL statements one read costs through the resolvers, and its data.
async fn resolver_statements(app: &TestApp, query: &str, variables: Value) -> (Value, u64) {
    let body = serde_json::to_vec(&json!({ "query": query, "variables": variables })).expect("JSON");
    let headers = [("content-type", "application/json"), ("x-fandb-read-path", "resolvers")];
    let before = app.statements();
    let response = app.request("POST", "/graphql", &headers, Some(body)).await;
    let spent = app.statements() - before;
    let json = response.json();
    assert!(json.get("errors").is_none(), "unexpected errors: {json}");
    (json["data"].clone(), spent)
}

async fn nested_where_on_the_resolver_path_costs_as_much_for_twelve_parents_as_for_two(app: TestApp) {
    let films = fixtures::films(&app.db, 12).await;
    let people = fixtures::people(&app.db, 12).await;
    let petitions = fixtures::petitions(&app.db, 12).await;
    let fan = fixtures::user(&app.db, "Narrowed Signer").await;
    let published = Utc.with_ymd_and_hms(2021, 1, 1, 12, 0, 0).single().expect("an instant");
    for (index, film) in films.iter().enumerate() {
        let (cast, director) = (&people[index], &people[(index + 1) % 12]);
        fixtures::credit(&app.db, film.id, cast.id, CreditRole::Cast, Some(1)).await;
        fixtures::credit(&app.db, film.id, director.id, CreditRole::Director, None).await;
        fixtures::quotes(&app.db, cast.id, Some(film.id), 2, QuoteStatus::Published).await;
        let petition = petitions[index].id;
        execute(&app, format!("UPDATE petitions SET film_id = {} WHERE id = {petition}", film.id)).await;
        let country = if index.is_multiple_of(2) { "FR" } else { "DE" };
        fixtures::signature(&app.db, petition, fan.id, true, Some(country)).await;
        for title in ["Good news", "Other"] {
            petition_update::ActiveModel {
                petition_id: Set(petition),
                title: Set(format!("{title} for {}", film.slug)),
                body_markdown: Set("News.".to_owned()),
                body_html: Set("<p>News.</p>".to_owned()),
                published_at: Set(published),
                created_at: Set(published),
                updated_at: Set(published),
                ..Default::default()
            }
            .insert(&app.db)
            .await
            .expect("insert an update");
        }
    }

    // Every nested connection of a film and of its petitions, each narrowed by `where`; one
    // petition filter reads the time (its status), which must not split the batch.
    let by_film = r#"query($first: Int!) { films(where: {slug: {startsWith: "fixture-film-"}}, first: $first) {
        nodes { slug
          cast: credits(where: {role: {eq: CAST}}, first: 3) { totalCount nodes { person { slug } } }
          directed: credits(where: {role: {eq: DIRECTOR}}, first: 3) { nodes { person { slug } } }
          quotes(where: {person: {slug: {startsWith: "fixture-"}}}, first: 1) { totalCount nodes { text } }
          sequels(where: {title: {contains: "x"}}, first: 1) { totalCount }
          events(where: {kind: {eq: MEETUP}}, first: 1) { totalCount }
          petitions(where: {status: {ne: VICTORY}}, first: 2) { nodes { slug
            signatures(where: {country: {eq: "FR"}}, first: 2) { totalCount nodes { country } }
            updates(where: {title: {startsWith: "good"}}, first: 2) { totalCount nodes { title } } } } } } }"#;
    let by_person = r#"query($first: Int!) { people(where: {slug: {startsWith: "fixture-person-"}}, first: $first) {
        nodes { slug credits(where: {role: {eq: DIRECTOR}}, first: 2) { totalCount nodes { film { slug } } }
                quotes(where: {saidOn: {isNull: false}}, first: 2) { totalCount } } } }"#;
    for query in [by_film, by_person] {
        let (_, two) = resolver_statements(&app, query, json!({"first": 2})).await;
        let (data, twelve) = resolver_statements(&app, query, json!({"first": 12})).await;
        assert_eq!(twelve, two, "12 parents cost {twelve} statements, 2 cost {two}:\n{query}");
        let parents = data.as_object().and_then(|fields| fields.values().next()).expect("the root field");
        assert_eq!(parents["nodes"].as_array().map(Vec::len), Some(12), "{data}");
    }

    // Batched, each parent still gets its own rows.
    let (data, _) = resolver_statements(&app, by_film, json!({"first": 12})).await;
    for node in data["films"]["nodes"].as_array().expect("films") {
        let slug = node["slug"].as_str().expect("a slug");
        let index: usize = slug.trim_start_matches("fixture-film-").parse().expect("a fixture index");
        assert_eq!(node["cast"]["totalCount"], 1, "{node}");
        assert_eq!(node["cast"]["nodes"][0]["person"]["slug"], people[index].slug.as_str(), "{node}");
        assert_eq!(node["directed"]["nodes"][0]["person"]["slug"], people[(index + 1) % 12].slug.as_str(), "{node}");
        assert_eq!(node["quotes"]["totalCount"], 2, "{node}");
        assert_eq!(node["sequels"]["totalCount"], 0, "{node}");
        let petition = &node["petitions"]["nodes"][0];
        assert_eq!(petition["slug"], petitions[index].slug.as_str(), "{node}");
        assert_eq!(petition["signatures"]["totalCount"], u64::from(index.is_multiple_of(2)), "{node}");
        assert_eq!(petition["updates"]["totalCount"], 1, "{node}");
        assert_eq!(petition["updates"]["nodes"][0]["title"], format!("Good news for {slug}"), "{node}");
    }
    // And the planner answers the same (`data` compares both read paths).
    let planned = app.data(by_film, json!({"first": 12})).await;
    assert_eq!(planned["films"]["nodes"].as_array().map(Vec::len), Some(12));
}
