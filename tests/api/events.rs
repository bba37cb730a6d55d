//! Events: lookups, every filter, and the seeded hashtag hour.

use chrono::{Duration, Utc};
use entity::enums::Role;
use serde_json::json;

use crate::support::TestApp;
use crate::support::fixtures;

fn slugs(data: &serde_json::Value) -> Vec<String> {
    data["events"]["nodes"].as_array().unwrap().iter().map(|n| n["slug"].as_str().unwrap().to_owned()).collect()
}

db_tests!(
    the_hashtag_hour_is_one_hour_on_thursday_5_december_2019,
    events_filter_by_each_field,
    events_are_soonest_first_and_can_be_ordered_by_title,
    a_bad_date_time_in_a_filter_is_bad_user_input,
    a_live_event_counts_as_upcoming_until_it_ends
);

async fn the_hashtag_hour_is_one_hour_on_thursday_5_december_2019(app: TestApp) {
    let data = app
        .data(
            r#"{ event(slug: "alitasequel-worldwide-hashtag-hour-2019") { kind title hashtag startsAt endsAt timeZone isLive rsvpCount viewerRsvp { id } film { slug } } }"#,
            json!({}),
        )
        .await;
    let event = &data["event"];
    assert_eq!(event["kind"], "HASHTAG_CAMPAIGN");
    assert_eq!(event["hashtag"], "#AlitaSequel");
    assert_eq!(event["startsAt"], "2019-12-05T17:00:00Z");
    assert_eq!(event["endsAt"], "2019-12-05T18:00:00Z");
    assert_eq!(event["isLive"], false);
    assert_eq!(event["rsvpCount"], 0);
    assert_eq!(event["viewerRsvp"], serde_json::Value::Null);
    assert_eq!(event["film"]["slug"], "alita-battle-angel-sequel");
}

async fn events_filter_by_each_field(app: TestApp) {
    fixtures::events(&app.db, 6, None).await;
    let query = "query($filter: EventFilter) { events(filter: $filter, first: 100) { totalCount nodes { slug } } }";
    let count = |data: &serde_json::Value| data["events"]["totalCount"].as_u64().unwrap();

    let data = app.data(query, json!({ "filter": { "kind": "SCREENING" } })).await;
    assert_eq!(slugs(&data), vec!["alitaarmy-fan-screenings"]);
    let data = app.data(query, json!({ "filter": { "hashtag": "alitasequel" } })).await;
    assert_eq!(slugs(&data), vec!["alitasequel-worldwide-hashtag-hour-2019"]);
    let data = app.data(query, json!({ "filter": { "hashtag": "#AlitaArmy" } })).await;
    assert_eq!(slugs(&data), vec!["alitaarmy-fan-screenings"]);
    let data = app.data(query, json!({ "filter": { "city": "london" } })).await;
    assert_eq!(count(&data), 2);
    let data = app.data(query, json!({ "filter": { "country": "jp" } })).await;
    assert_eq!(count(&data), 4);
    let data = app.data(query, json!({ "filter": { "upcoming": true } })).await;
    assert_eq!(slugs(&data), vec!["alitaarmy-fan-screenings"]);
    let data = app.data(query, json!({ "filter": { "upcoming": false } })).await;
    assert_eq!(count(&data), 7);
    let data = app
        .data(
            query,
            json!({ "filter": { "startsAfter": "2019-12-01T00:00:00Z", "startsBefore": "2020-01-01T00:00:00Z" } }),
        )
        .await;
    assert_eq!(slugs(&data), vec!["alitasequel-worldwide-hashtag-hour-2019"]);
    let film = app.data(r#"{ film(slug: "alita-battle-angel") { id } }"#, json!({})).await;
    let data = app.data(query, json!({ "filter": { "filmId": film["film"]["id"] } })).await;
    assert_eq!(slugs(&data), vec!["alitaarmy-fan-screenings"]);
}

async fn events_are_soonest_first_and_can_be_ordered_by_title(app: TestApp) {
    fixtures::events(&app.db, 4, None).await;
    let data = app.data("{ events(first: 100) { nodes { startsAt } } }", json!({})).await;
    let starts: Vec<&str> =
        data["events"]["nodes"].as_array().unwrap().iter().map(|n| n["startsAt"].as_str().unwrap()).collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted);
    let data = app
        .data("{ events(first: 100, orderBy: { field: TITLE, direction: DESC }) { nodes { title } } }", json!({}))
        .await;
    let titles: Vec<&str> =
        data["events"]["nodes"].as_array().unwrap().iter().map(|n| n["title"].as_str().unwrap()).collect();
    let mut sorted = titles.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(titles, sorted);
}

async fn a_bad_date_time_in_a_filter_is_bad_user_input(app: TestApp) {
    let error = app
        .error(
            "query($filter: EventFilter) { events(filter: $filter) { totalCount } }",
            json!({ "filter": { "startsAfter": "next tuesday" } }),
        )
        .await;
    let code = error["extensions"]["code"].as_str().unwrap();
    assert!(code == "BAD_USER_INPUT" || code == "GRAPHQL_VALIDATION_FAILED", "{error}");
}

async fn a_live_event_counts_as_upcoming_until_it_ends(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let before = app.data("{ campaign { totals { upcomingEvents } } }", json!({})).await;
    let before = before["campaign"]["totals"]["upcomingEvents"].as_u64().unwrap();
    let now = Utc::now();
    let at = |minutes: i64| (now + Duration::minutes(minutes)).to_rfc3339();
    // Under way until its end; under way for the hour an event without an end is taken to last;
    // and one that is over.
    for (slug, starts, ends) in [
        ("live-watch-party", at(-30), Some(at(60))),
        ("live-open-ended", at(-30), None),
        ("over-already", at(-180), Some(at(-120))),
    ] {
        let input = json!({ "slug": slug, "kind": "WATCH_PARTY", "title": slug, "startsAt": starts, "endsAt": ends,
            "timeZone": "Europe/London", "onlineUrl": "https://example.com/party" });
        app.data_as(
            &admin.access_token,
            "mutation($input: CreateEventInput!) { createEvent(input: $input) { id } }",
            json!({ "input": input }),
        )
        .await;
    }
    let data = app
        .data(
            "{ events(filter: { upcoming: true }, first: 100) { totalCount nodes { slug isLive } }
               campaign { totals { upcomingEvents } upcomingEvents(first: 20) { slug isLive } } }",
            json!({}),
        )
        .await;
    let listed = |nodes: &serde_json::Value| -> Vec<(String, bool)> {
        nodes
            .as_array()
            .unwrap()
            .iter()
            .map(|node| (node["slug"].as_str().unwrap().to_owned(), node["isLive"].as_bool().unwrap()))
            .collect()
    };
    let upcoming = listed(&data["events"]["nodes"]);
    let campaign = listed(&data["campaign"]["upcomingEvents"]);
    for live in ["live-watch-party", "live-open-ended"] {
        assert!(upcoming.contains(&(live.to_owned(), true)), "{data}");
        assert!(campaign.contains(&(live.to_owned(), true)), "{data}");
    }
    assert!(!upcoming.iter().chain(&campaign).any(|(slug, _)| slug == "over-already"), "{data}");
    assert_eq!(campaign, upcoming, "the campaign lists what the filter does, soonest first");
    let totals = data["campaign"]["totals"]["upcomingEvents"].as_u64().unwrap();
    assert_eq!(totals, data["events"]["totalCount"].as_u64().unwrap());
    assert_eq!(totals, before + 2);
}
