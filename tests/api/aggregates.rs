//! `aggregate` and `groupedAggregates` on connections, and the `where` filters' example questions:
//! the numbers match SQL written by hand (on synthetic data and on fixtures), only what the viewer
//! may see is counted, and a root field with its aggregates, groups and a page is still one
//! statement.

use entity::enums::{QuoteStatus, Role};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};

use crate::support::backends::{Backend, Scratch, fresh_database};
use crate::support::{TestApp, fixtures};

db_tests!(
    aggregates_match_hand_written_sql_on_synthetic_data,
    grouped_quotes_count_only_what_the_viewer_may_see,
    aggregates_filter_group_and_keep_groups_by_count,
    a_list_with_its_aggregates_is_one_statement
);

/// Rows of a query written by hand, each column read as JSON text (`CAST(… AS TEXT)` in the SQL).
async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<Vec<Option<String>>> {
    let backend = db.get_database_backend();
    let results = db.query_all_raw(Statement::from_string(backend, sql.to_owned())).await.expect(sql);
    results
        .iter()
        .map(|row| {
            let columns = row.column_names().len();
            (0..columns).map(|index| row.try_get_by_index::<Option<String>>(index).expect(sql)).collect()
        })
        .collect()
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

async fn aggregates_match_hand_written_sql_on_synthetic_data(app: TestApp) {
    let backend = if app.database_url.starts_with("postgres") { Backend::Postgres } else { Backend::Sqlite };
    let url = fresh_database(backend).await.unwrap();
    let _removed_at_the_end = Scratch { backend, url: url.clone() };
    let seeded = std::process::Command::new(env!("CARGO_BIN_EXE_fandb"))
        .args(["--database-url", &url, "seed", "--synthetic", "--scale", "0.01"])
        .output()
        .expect("run fandb seed --synthetic");
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let server = TestApp::spawn(&url).await;

    // "Total box office" of the released films, with the other measures.
    let data = server
        .data(
            "{ films(filter: { status: RELEASED }) { totalCount aggregate { count distinctCount { distributor }
               sum { boxOfficeUsd budgetUsd } min { releaseDate } max { releaseDate } } } }",
            json!({}),
        )
        .await;
    let aggregate = &data["films"]["aggregate"];
    let expected = rows(
        &server.db,
        "SELECT CAST(COUNT(*) AS TEXT), CAST(COUNT(DISTINCT distributor) AS TEXT),
                CAST(CAST(SUM(box_office_usd) AS BIGINT) AS TEXT), CAST(CAST(SUM(budget_usd) AS BIGINT) AS TEXT),
                CAST(MIN(release_date) AS TEXT), CAST(MAX(release_date) AS TEXT)
         FROM films WHERE status = 'RELEASED'",
    )
    .await;
    let got = vec![
        text(&aggregate["count"]),
        text(&aggregate["distinctCount"]["distributor"]),
        text(&aggregate["sum"]["boxOfficeUsd"]),
        text(&aggregate["sum"]["budgetUsd"]),
        text(&aggregate["min"]["releaseDate"]),
        text(&aggregate["max"]["releaseDate"]),
    ];
    assert_eq!(got, expected[0]);
    assert_eq!(data["films"]["totalCount"], aggregate["count"]);

    // Petitions sorted by signatures, with the signatures' total.
    let data = server
        .data(
            "{ petitions(sort: [{ field: SIGNATURE_COUNT, direction: DESC }], first: 5) { nodes { signatureCount }
               aggregate { count sum { goal } avg { goal } } } }",
            json!({}),
        )
        .await;
    let counts: Vec<i64> =
        data["petitions"]["nodes"].as_array().unwrap().iter().map(|n| n["signatureCount"].as_i64().unwrap()).collect();
    let most =
        rows(&server.db, "SELECT CAST(COUNT(*) AS TEXT) FROM signatures GROUP BY petition_id ORDER BY COUNT(*) DESC")
            .await;
    let most: Vec<i64> = most.iter().take(5).map(|row| row[0].as_deref().unwrap().parse().unwrap()).collect();
    assert_eq!(counts, most, "the five most signed, most first");
    let goals = rows(&server.db, "SELECT CAST(COUNT(*) AS TEXT), CAST(SUM(goal) AS TEXT) FROM petitions").await;
    let aggregate = &data["petitions"]["aggregate"];
    assert_eq!(text(&aggregate["count"]), goals[0][0]);
    let sum = aggregate["sum"]["goal"].as_f64().unwrap();
    assert_eq!(sum, goals[0][1].as_deref().unwrap().parse::<f64>().unwrap());
    let count = aggregate["count"].as_f64().unwrap();
    assert!((aggregate["avg"]["goal"].as_f64().unwrap() - sum / count).abs() < 1e-6);

    // "Signatures per country per day" of the most signed petition (its public signatures, as its
    // list shows them).
    let slug = "synthetic-petition-1";
    let data = server
        .data(
            &format!(
                r#"{{ petition(slug: "{slug}") {{ signatures {{ groupedAggregates(groupBy: [COUNTRY, DAY]) {{ keys count }} }} }} }}"#
            ),
            json!({}),
        )
        .await;
    let day = match backend {
        Backend::Postgres => "to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        Backend::Sqlite => "strftime('%Y-%m-%d', s.created_at)",
    };
    let expected = rows(
        &server.db,
        &format!(
            "SELECT s.country, {day}, CAST(COUNT(*) AS TEXT) FROM signatures s JOIN petitions p ON p.id = s.petition_id
             WHERE p.slug = '{slug}' AND s.public GROUP BY 1, 2 ORDER BY 1 NULLS LAST, 2 NULLS LAST LIMIT 1000"
        ),
    )
    .await;
    let groups: Vec<Vec<Option<String>>> = data["petition"]["signatures"]["groupedAggregates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| vec![text(&group["keys"][0]), text(&group["keys"][1]), text(&group["count"])])
        .collect();
    assert!(groups.len() > 1, "more than one group: {groups:?}");
    assert_eq!(groups, expected);

    // The filters' questions, each one planned statement, against SQL written by hand.
    let count_of = |rows: Vec<Vec<Option<String>>>| -> i64 { rows[0][0].as_deref().unwrap().parse().unwrap() };
    let one_statement = async |query: &str, variables: Value| {
        let before = server.statements();
        let data = server.data(query, variables).await;
        assert_eq!(server.statements() - before, 1, "one statement for {query}");
        data
    };
    // "Films released 2018–2020 or announced", with the years and the status of the synthetic
    // films (released 1981–1999, two in development).
    let data = one_statement(
        r#"{ films(where: { or: [{ releaseDate: { gte: "1990-01-01", lte: "1995-12-31" } }, { status: { eq: IN_DEVELOPMENT } }] },
               first: 100) { totalCount nodes { slug } } }"#,
        json!({}),
    )
    .await;
    let expected = rows(
        &server.db,
        "SELECT slug FROM films WHERE (release_date >= '1990-01-01' AND release_date <= '1995-12-31')
           OR status = 'IN_DEVELOPMENT' ORDER BY slug",
    )
    .await;
    let expected: Vec<String> = expected.into_iter().map(|row| row[0].clone().unwrap()).collect();
    assert!(expected.len() > 2, "synthetic films match the question both ways");
    assert_eq!(data["films"]["totalCount"], json!(expected.len()));
    for node in data["films"]["nodes"].as_array().unwrap() {
        assert!(expected.iter().any(|slug| node["slug"] == json!(slug)), "{node} answers the question");
    }
    // "Quotes by any of these five people" (the published ones an anonymous client sees).
    let five =
        rows(&server.db, "SELECT CAST(person_id AS TEXT) FROM quotes GROUP BY person_id ORDER BY person_id LIMIT 5")
            .await;
    let five: Vec<String> = five.into_iter().map(|row| row[0].clone().unwrap()).collect();
    let ids: Vec<String> = five.iter().map(|id| fixtures::gid("Person", id.parse().unwrap())).collect();
    let data = one_statement(
        "query($people: [ID!]) { quotes(where: { person: { id: { in: $people } } }) { totalCount } }",
        json!({ "people": ids }),
    )
    .await;
    let expected = rows(
        &server.db,
        &format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM quotes WHERE status = 'PUBLISHED' AND person_id IN ({})",
            five.join(", ")
        ),
    )
    .await;
    assert!(count_of(expected.clone()) > 0, "the five people have published quotes");
    assert_eq!(data["quotes"]["totalCount"], json!(count_of(expected)));
    // "People with no credit on this film".
    let film =
        rows(&server.db, "SELECT CAST(film_id AS TEXT) FROM credits GROUP BY film_id ORDER BY film_id LIMIT 1").await;
    let film: i64 = film[0][0].as_deref().unwrap().parse().unwrap();
    let data = one_statement(
        "query($film: ID!) { people(where: { credits: { none: { film: { id: { eq: $film } } } } }) { totalCount } }",
        json!({ "film": fixtures::gid("Film", film) }),
    )
    .await;
    let expected = rows(
        &server.db,
        &format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM people p
             WHERE NOT EXISTS (SELECT 1 FROM credits c WHERE c.person_id = p.id AND c.film_id = {film})"
        ),
    )
    .await;
    let total = count_of(rows(&server.db, "SELECT CAST(COUNT(*) AS TEXT) FROM people").await);
    assert!((1..total).contains(&count_of(expected.clone())), "some people are credited on the film, some not");
    assert_eq!(data["people"]["totalCount"], json!(count_of(expected)));
}

async fn grouped_quotes_count_only_what_the_viewer_may_see(app: TestApp) {
    let people = fixtures::people(&app.db, 2).await;
    fixtures::quotes(&app.db, people[0].id, None, 3, QuoteStatus::Pending).await;
    fixtures::quotes(&app.db, people[1].id, None, 2, QuoteStatus::Published).await;
    let query = "{ quotes { aggregate { count distinctCount { person } }
                   groupedAggregates(groupBy: [PERSON]) { keys count } } }";
    let count_of = |data: &Value, person: i64| {
        let id = fixtures::gid("Person", person);
        data["quotes"]["groupedAggregates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|group| group["keys"][0] == id.as_str())
            .map_or(0, |group| group["count"].as_i64().unwrap())
    };
    let anonymous = app.data(query, json!({})).await;
    assert_eq!(count_of(&anonymous, people[0].id), 0, "pending quotes are not counted for the public");
    assert_eq!(count_of(&anonymous, people[1].id), 2);
    let moderator = app.sign_in_as(Role::Moderator).await;
    let seen = app.data_as(&moderator.access_token, query, json!({})).await;
    assert_eq!(count_of(&seen, people[0].id), 3);
    let public_total = anonymous["quotes"]["aggregate"]["count"].as_i64().unwrap();
    let staff_total = seen["quotes"]["aggregate"]["count"].as_i64().unwrap();
    assert_eq!(staff_total - public_total, 3, "the pending quotes, for staff only");
    assert_eq!(
        seen["quotes"]["aggregate"]["distinctCount"]["person"].as_i64().unwrap()
            - anonymous["quotes"]["aggregate"]["distinctCount"]["person"].as_i64().unwrap(),
        1
    );
}

async fn aggregates_filter_group_and_keep_groups_by_count(app: TestApp) {
    let films = fixtures::films(&app.db, 12).await;
    for film in &films {
        let budget = film.id * 10;
        app.db
            .execute_raw(Statement::from_string(
                app.db.get_database_backend(),
                format!(
                    "UPDATE films SET budget_usd = {budget}, runtime_minutes = {} WHERE id = {}",
                    60 + film.id % 7,
                    film.id
                ),
            ))
            .await
            .unwrap();
    }
    let query = "query($having: FilmHaving) { films(filter: { titleContains: \"fixture\" }) {
                   aggregate { count sum { budgetUsd runtimeMinutes } max { budgetUsd } }
                   groupedAggregates(groupBy: [STATUS, RELEASE_YEAR], having: $having) {
                     keys count sum { budgetUsd } min { releaseDate } } } }";
    let data = app.data(query, json!({})).await;
    let expected = rows(
        &app.db,
        "SELECT CAST(COUNT(*) AS TEXT), CAST(CAST(SUM(budget_usd) AS BIGINT) AS TEXT), CAST(MAX(budget_usd) AS TEXT)
         FROM films WHERE LOWER(title) LIKE '%fixture%'",
    )
    .await;
    let aggregate = &data["films"]["aggregate"];
    assert_eq!(
        vec![text(&aggregate["count"]), text(&aggregate["sum"]["budgetUsd"]), text(&aggregate["max"]["budgetUsd"])],
        expected[0]
    );
    let runtime: i64 = films.iter().map(|film| 60 + film.id % 7).sum();
    assert_eq!(aggregate["sum"]["runtimeMinutes"].as_f64().unwrap(), runtime as f64);

    let year = match app.db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => "to_char(release_date, 'YYYY')",
        _ => "strftime('%Y', release_date)",
    };
    let expected = rows(
        &app.db,
        &format!(
            "SELECT status, {year}, CAST(COUNT(*) AS TEXT), CAST(CAST(SUM(budget_usd) AS BIGINT) AS TEXT),
                    CAST(MIN(release_date) AS TEXT)
             FROM films WHERE LOWER(title) LIKE '%fixture%' GROUP BY 1, 2 ORDER BY 1 NULLS LAST, 2 NULLS LAST"
        ),
    )
    .await;
    let groups = |data: &Value| -> Vec<Vec<Option<String>>> {
        data["films"]["groupedAggregates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|group| {
                vec![
                    text(&group["keys"][0]),
                    text(&group["keys"][1]),
                    text(&group["count"]),
                    text(&group["sum"]["budgetUsd"]),
                    text(&group["min"]["releaseDate"]),
                ]
            })
            .collect()
    };
    assert_eq!(groups(&data), expected);

    // `having` keeps the groups of more rows than the smallest.
    let count = |row: &Vec<Option<String>>| row[2].as_deref().unwrap().parse::<i64>().unwrap();
    let smallest = expected.iter().map(count).min().unwrap();
    let data = app.data(query, json!({ "having": { "count": { "gt": smallest } } })).await;
    let kept: Vec<_> = expected.iter().filter(|row| count(row) > smallest).cloned().collect();
    assert!(kept.len() < expected.len(), "some groups are dropped");
    assert_eq!(groups(&data), kept);

    let error = app.error("{ films { groupedAggregates(groupBy: [SLUG]) { count } } }", json!({})).await;
    assert!(error["message"].as_str().unwrap().contains("SLUG"), "{error}");
}

async fn a_list_with_its_aggregates_is_one_statement(app: TestApp) {
    fixtures::petitions(&app.db, 6).await;
    let query = "{ petitions(sort: [{ field: SIGNATURE_COUNT, direction: DESC }], first: 3) {
                   totalCount nodes { title } aggregate { count sum { goal } }
                   groupedAggregates(groupBy: [STATUS, FILM]) { keys count } } }";
    let before = app.statements();
    let data = app.data(query, json!({})).await;
    assert_eq!(app.statements() - before, 1);
    assert_eq!(data["petitions"]["aggregate"]["count"], data["petitions"]["totalCount"]);
    let grouped: i64 =
        data["petitions"]["groupedAggregates"].as_array().unwrap().iter().map(|g| g["count"].as_i64().unwrap()).sum();
    assert_eq!(Value::from(grouped), data["petitions"]["totalCount"]);
}
