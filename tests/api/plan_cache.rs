//! Plan once per document: a planned root field asked again with the same document, variables and
//! viewer reuses its statement and `Out` tree without planning (`/metrics` counts hits and
//! misses), answers the same, re-binds the time it read, and is never shared across variables or
//! viewers; the resolver path never touches it.

use std::time::{Duration, Instant};

use entity::enums::Role;
use serde_json::{Value, json};

use crate::support::TestApp;

const FILM: &str = r#"query Film { film(slug: "alita-battle-angel") { title releaseDate } }"#;
const FILMS: &str = "query($first: Int!) { films(first: $first) { nodes { title } } }";
const SEQUEL: &str = r#"{ film(slug: "alita-battle-angel-sequel") { id } }"#;
const CLOSING: &str = "closing-in-a-moment";
const CREATE_PETITION: &str = "mutation($input: CreatePetitionInput!) { createPetition(input: $input) { id } }";
const OPEN_PETITIONS: &str =
    "query($film: ID!) { petitions(filter: { status: OPEN, filmId: $film }, first: 50) { nodes { slug status } } }";

/// How long a busy machine may take before the test gives up.
const DEADLINE: Duration = Duration::from_secs(20);

/// Plan-cache hits and misses so far.
async fn counts(app: &TestApp) -> (u64, u64) {
    let text = app.get("/metrics").await.body;
    let counter = |name: &str| -> u64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
    };
    (counter("fandb_read_plan_cache_hits_total"), counter("fandb_read_plan_cache_misses_total"))
}

db_tests!(
    a_repeated_document_reuses_its_plan_and_answers_the_same,
    other_variables_or_another_viewer_plan_again,
    a_kept_plan_reads_the_time_of_each_request,
);

async fn a_repeated_document_reuses_its_plan_and_answers_the_same(app: TestApp) {
    // Every read here is also sent through the resolvers (the differential check), which must
    // neither use nor fill the plan cache.
    assert_eq!(counts(&app).await, (0, 0));
    let first = app.data(FILM, json!({})).await;
    assert_eq!(first["film"]["title"], "Alita: Battle Angel");
    assert_eq!(counts(&app).await, (0, 1), "planned once");
    let before = app.statements();
    let second = app.data(FILM, json!({})).await;
    assert_eq!(second, first, "the kept plan answers the same");
    assert_eq!(counts(&app).await, (1, 1), "the second request reused the plan");
    assert_eq!(app.statements() - before, 1, "still one statement for the root field");
}

async fn other_variables_or_another_viewer_plan_again(app: TestApp) {
    let one = app.data(FILMS, json!({ "first": 1 })).await;
    let two = app.data(FILMS, json!({ "first": 2 })).await;
    assert_eq!(counts(&app).await, (0, 2), "other variables, another plan");
    assert_eq!(one["films"]["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(two["films"]["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(app.data(FILMS, json!({ "first": 1 })).await, one);
    assert_eq!(counts(&app).await, (1, 2), "the same variables again reuse their plan");

    let fan = app.sign_in_as(Role::Fan).await;
    assert_eq!(app.data_as(&fan.access_token, FILMS, json!({ "first": 1 })).await, one);
    assert_eq!(counts(&app).await, (1, 3), "a signed-in viewer does not reuse the anonymous plan");
    app.data_as(&fan.access_token, FILMS, json!({ "first": 1 })).await;
    assert_eq!(counts(&app).await, (2, 3), "but reuses their own");
    let other = app.sign_in_as(Role::Fan).await;
    app.data_as(&other.access_token, FILMS, json!({ "first": 1 })).await;
    assert_eq!(counts(&app).await, (2, 4), "nor another viewer's");
}

async fn a_kept_plan_reads_the_time_of_each_request(app: TestApp) {
    // Two identical requests in a row may answer differently here (the petition closes).
    let app = app.without_differential();
    let admin = app.sign_in_as(Role::Admin).await;
    let film = app.data(SEQUEL, json!({})).await["film"]["id"].clone();
    let closes = chrono::Utc::now() + chrono::Duration::seconds(6);
    let input = json!({ "slug": CLOSING, "title": "Closing in a moment", "body": "Quick.", "target": "A studio",
        "goal": 10, "filmId": film, "closesAt": closes.to_rfc3339() });
    app.data_as(&admin.access_token, CREATE_PETITION, json!({ "input": input })).await;
    let listed = |answer: &Value| -> bool {
        answer["petitions"]["nodes"].as_array().unwrap().iter().any(|node| node["slug"] == CLOSING)
    };
    // The open petitions are those not closed by now: the plan binds the time. It is kept once two
    // plannings agree, and reused while the petition is open.
    let mut reused = false;
    while !reused && chrono::Utc::now() + chrono::Duration::seconds(1) < closes {
        let (hits, _) = counts(&app).await;
        let answer = app.data(OPEN_PETITIONS, json!({ "film": film })).await;
        if chrono::Utc::now() < closes {
            assert!(listed(&answer), "still open: {answer}");
        }
        reused = counts(&app).await.0 > hits;
    }
    assert!(reused, "no request reused the plan before the petition closed");
    // Once it closes, the same kept plan, with the time of the request bound, leaves it out.
    let day = chrono::Utc::now().date_naive();
    let deadline = Instant::now() + DEADLINE;
    loop {
        let (hits, misses) = counts(&app).await;
        let answer = app.data(OPEN_PETITIONS, json!({ "film": film })).await;
        if !listed(&answer) {
            // A plan is used only on the day it was confirmed: past midnight it is planned again.
            if chrono::Utc::now().date_naive() == day {
                assert_eq!(counts(&app).await, (hits + 1, misses), "the answer without it reused the plan");
            }
            break;
        }
        assert!(Instant::now() < deadline, "the petition never closed: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
