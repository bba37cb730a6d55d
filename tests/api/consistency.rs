//! The small rules a new user trips over, answered alike on SQLite and PostgreSQL: numbers that
//! fit their type, nulls that cannot clear a required field, capacities, cursors, billing order,
//! and the protocol details around the answers (socket close codes, metrics formats, preflights).

use entity::enums::Role;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::fixtures;
use crate::support::ws::{Event, Subscriber};

#[track_caller]
fn assert_bad_input(error: &Value, field: &str) {
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error}");
    assert_eq!(error["extensions"]["field"], field, "{error}");
}

const PETITION: &str = "open-letter-to-disney-alita-sequel";

async fn id_of(app: &crate::support::TestApp, field: &str, slug: &str) -> String {
    let data = app.data(&format!("{{ {field}(slug: \"{slug}\") {{ id }} }}"), json!({})).await;
    data[field]["id"].as_str().unwrap().to_owned()
}

db_tests!(
    a_petition_goal_beyond_a_32_bit_int_is_bad_user_input,
    null_for_a_required_field_of_an_update_is_bad_user_input,
    an_event_capacity_below_the_fans_already_going_is_bad_user_input,
    a_cursor_made_under_one_order_is_bad_user_input_under_any_other,
    a_billing_order_starts_at_one_as_its_doc_says,
    a_socket_with_a_bad_token_closes_with_4403,
    metrics_speak_the_classic_text_format_to_a_client_that_asks_for_text_plain,
    a_cors_preflight_asking_for_another_header_is_answered_without_it
);

async fn a_petition_goal_beyond_a_32_bit_int_is_bad_user_input(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let token = &admin.access_token;
    let before = app.data("{ petitions { totalCount } }", json!({})).await;
    let inline = app
        .error_as(token, r#"mutation { createPetition(input: { title: "Big", body: "b", target: "t", goal: 3000000000 }) { goal } }"#, json!({}))
        .await;
    assert_bad_input(&inline, "input.goal");
    let create = "mutation($input: CreatePetitionInput!) { createPetition(input: $input) { goal } }";
    let variables = json!({ "input": { "title": "Big", "body": "b", "target": "t", "goal": 3_000_000_000_i64 } });
    let error = app.error_as(token, create, variables).await;
    assert_bad_input(&error, "input.goal");
    assert_eq!(app.data("{ petitions { totalCount } }", json!({})).await, before, "nothing was created");

    let id = id_of(&app, "petition", PETITION).await;
    let update = app
        .error_as(
            token,
            "mutation($id: ID!) { updatePetition(id: $id, input: { goal: 2147483648 }) { goal } }",
            json!({ "id": id }),
        )
        .await;
    assert_bad_input(&update, "input.goal");
    let largest = app
        .data_as(
            token,
            "mutation($id: ID!) { updatePetition(id: $id, input: { goal: 2147483647 }) { goal } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(largest["updatePetition"]["goal"], 2_147_483_647_i64, "the largest Int is a goal");
}

async fn null_for_a_required_field_of_an_update_is_bad_user_input(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let token = &admin.access_token;
    let film = id_of(&app, "film", "alita-battle-angel").await;
    let person = id_of(&app, "person", "rosa-salazar").await;
    let event = id_of(&app, "event", "alitaarmy-fan-screenings").await;
    let petition = id_of(&app, "petition", PETITION).await;
    let quote = app.data("{ quotes(first: 1) { nodes { id } } }", json!({})).await["quotes"]["nodes"][0]["id"].clone();
    let cases = [
        ("updateFilm", film.as_str(), "UpdateFilmInput", json!({ "title": null }), "input.title"),
        ("updateFilm", film.as_str(), "UpdateFilmInput", json!({ "status": null }), "input.status"),
        ("updateFilm", film.as_str(), "UpdateFilmInput", json!({ "slug": null }), "input.slug"),
        ("updatePerson", person.as_str(), "UpdatePersonInput", json!({ "name": null }), "input.name"),
        ("updateEvent", event.as_str(), "UpdateEventInput", json!({ "startsAt": null }), "input.startsAt"),
        ("updateEvent", event.as_str(), "UpdateEventInput", json!({ "timeZone": null }), "input.timeZone"),
        ("updateEvent", event.as_str(), "UpdateEventInput", json!({ "kind": null }), "input.kind"),
        ("updatePetition", petition.as_str(), "UpdatePetitionInput", json!({ "goal": null }), "input.goal"),
        ("updatePetition", petition.as_str(), "UpdatePetitionInput", json!({ "target": null }), "input.target"),
        ("updateQuote", quote.as_str().unwrap(), "UpdateQuoteInput", json!({ "text": null }), "input.text"),
        ("updateQuote", quote.as_str().unwrap(), "UpdateQuoteInput", json!({ "personId": null }), "input.personId"),
    ];
    let snapshot = "{ film(slug: \"alita-battle-angel\") { slug title status } person(slug: \"rosa-salazar\") { name }
        event(slug: \"alitaarmy-fan-screenings\") { kind startsAt timeZone } petition(slug: \"open-letter-to-disney-alita-sequel\") { goal target }
        quotes { nodes { text person { slug } } } }";
    let before = app.data(snapshot, json!({})).await;
    for (mutation, id, input_type, input, field) in cases {
        let query =
            format!("mutation($id: ID!, $input: {input_type}!) {{ {mutation}(id: $id, input: $input) {{ id }} }}");
        let error = app.error_as(token, &query, json!({ "id": id, "input": input })).await;
        assert_bad_input(&error, field);
    }
    let inline = app
        .error_as(
            token,
            "mutation($id: ID!) { updateFilm(id: $id, input: { title: null, tagline: \"x\" }) { id } }",
            json!({ "id": film }),
        )
        .await;
    assert_bad_input(&inline, "input.title");
    assert_eq!(app.data(snapshot, json!({})).await, before, "nothing changed");
    // Null still clears an optional field.
    let cleared = app
        .data_as(
            token,
            "mutation($id: ID!) { updateFilm(id: $id, input: { tagline: null }) { tagline } }",
            json!({ "id": film }),
        )
        .await;
    assert_eq!(cleared["updateFilm"]["tagline"], Value::Null);
}

async fn an_event_capacity_below_the_fans_already_going_is_bad_user_input(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let token = &admin.access_token;
    let created = app
        .data_as(
            token,
            r#"mutation { createEvent(input: { title: "Capacity Watch Party", kind: WATCH_PARTY,
            startsAt: "2031-02-14T19:00:00Z", timeZone: "UTC", capacity: 5 }) { id } }"#,
            json!({}),
        )
        .await;
    let id = created["createEvent"]["id"].as_str().unwrap().to_owned();
    for i in 0..3 {
        let (_, fan) = fixtures::fan(&app.db, &format!("Capacity Fan {i}")).await;
        app.data_as(&fan, "mutation($e: ID!) { rsvpEvent(eventId: $e, status: GOING) { id } }", json!({ "e": id }))
            .await;
    }
    let update = "mutation($id: ID!, $c: Int) { updateEvent(id: $id, input: { capacity: $c }) { capacity rsvpCount } }";
    let error = app.error_as(token, update, json!({ "id": id, "c": 2 })).await;
    assert_bad_input(&error, "input.capacity");
    let event = app
        .data("query($id: ID!) { node(id: $id) { ... on Event { capacity rsvpCount } } }", json!({ "id": id }))
        .await;
    assert_eq!(event["node"], json!({ "capacity": 5, "rsvpCount": 3 }), "nothing changed");
    let exact = app.data_as(token, update, json!({ "id": id, "c": 3 })).await;
    assert_eq!(exact["updateEvent"], json!({ "capacity": 3, "rsvpCount": 3 }), "as many seats as fans going is fine");
    let unlimited = app.data_as(token, update, json!({ "id": id, "c": null })).await;
    assert_eq!(unlimited["updateEvent"]["capacity"], Value::Null);
}

async fn a_cursor_made_under_one_order_is_bad_user_input_under_any_other(app: TestApp) {
    fixtures::films(&app.db, 3).await;
    fixtures::events(&app.db, 3, None).await;
    fixtures::petitions(&app.db, 3).await;
    let cursor = |data: &Value, list: &str| data[list]["edges"][0]["cursor"].as_str().unwrap().to_owned();
    let ascending = app
        .data("{ films(first: 1, orderBy: { field: TITLE, direction: ASC }) { edges { cursor } } }", json!({}))
        .await;
    let by_title = cursor(&ascending, "films");
    let error = app
        .error("query($c: String) { films(first: 1, after: $c, orderBy: { field: TITLE, direction: DESC }) { totalCount } }", json!({ "c": by_title }))
        .await;
    assert_bad_input(&error, "after");
    let error = app
        .error("query($c: String) { films(last: 1, before: $c, orderBy: { field: TITLE, direction: DESC }) { totalCount } }", json!({ "c": by_title }))
        .await;
    assert_bad_input(&error, "before");
    // Another list sorted by a column of the same name is another order too.
    let events = app
        .data("{ events(first: 1, orderBy: { field: TITLE, direction: ASC }) { edges { cursor } } }", json!({}))
        .await;
    let error = app
        .error("query($c: String) { petitions(first: 1, after: $c, orderBy: { field: TITLE, direction: ASC }) { totalCount } }", json!({ "c": cursor(&events, "events") }))
        .await;
    assert_bad_input(&error, "after");
    // Under its own order the cursor pages on.
    let next = app
        .data("query($c: String) { films(first: 1, after: $c, orderBy: { field: TITLE, direction: ASC }) { pageInfo { hasPreviousPage } } }", json!({ "c": by_title }))
        .await;
    assert_eq!(next["films"]["pageInfo"]["hasPreviousPage"], true);
}

async fn a_billing_order_starts_at_one_as_its_doc_says(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let token = &admin.access_token;
    let film = id_of(&app, "film", "alita-battle-angel-sequel").await;
    let person = id_of(&app, "person", "christoph-waltz").await;
    let add = "mutation($f: ID!, $p: ID!, $b: Int) { addCredit(input: { filmId: $f, personId: $p, role: CAST, billingOrder: $b }) { billingOrder } }";
    let error = app.error_as(token, add, json!({ "f": film, "p": person, "b": 0 })).await;
    assert_bad_input(&error, "input.billingOrder");
    let added = app.data_as(token, add, json!({ "f": film, "p": person, "b": 1 })).await;
    assert_eq!(added["addCredit"]["billingOrder"], 1);
    let schema = app.data("{ __type(name: \"AddCreditInput\") { inputFields { name description } } }", json!({})).await;
    let doc = schema["__type"]["inputFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|field| field["name"] == "billingOrder")
        .unwrap()["description"]
        .clone();
    assert!(doc.as_str().unwrap_or_default().contains("from 1"), "{doc}");
}

async fn a_socket_with_a_bad_token_closes_with_4403(app: TestApp) {
    match Subscriber::init(&app.address, "not-a-token").await.unwrap() {
        Event::Closed(code) => assert_eq!(code, Some(4403)),
        Event::Message(message) => panic!("a bad token was answered instead of refused: {message}"),
    }
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({ "sub": "1", "sid": "x", "role": "FAN", "iat": 1, "exp": 2, "iss": "fandb", "aud": "fandb-api" }),
        &jsonwebtoken::EncodingKey::from_secret(crate::support::TEST_JWT_SECRET.as_bytes()),
    )
    .unwrap();
    match Subscriber::init(&app.address, &expired).await.unwrap() {
        Event::Closed(code) => assert_eq!(code, Some(4403)),
        Event::Message(message) => panic!("an expired token was answered instead of refused: {message}"),
    }
}

async fn metrics_speak_the_classic_text_format_to_a_client_that_asks_for_text_plain(app: TestApp) {
    app.data("{ films { totalCount } }", json!({})).await;
    let classic = app.request("GET", "/metrics", &[("accept", "text/plain")], None).await;
    assert_eq!(classic.status, 200);
    assert!(
        classic.header("content-type").starts_with("text/plain; version=0.0.4"),
        "{}",
        classic.header("content-type")
    );
    let text = &classic.body;
    assert!(text.contains("# TYPE fandb_http_responses_total counter\n"), "{text}");
    assert!(text.contains("# HELP fandb_http_responses_total "), "{text}");
    assert!(text.contains("fandb_http_responses_total{status=\"200\"} "), "{text}");
    assert!(text.contains("# TYPE fandb_graphql_operation_duration_seconds histogram\n"), "{text}");
    assert!(!text.contains("# EOF"), "{text}");
    // Every sample's metric is typed, as a classic parser reads it.
    for line in text.lines().filter(|line| !line.starts_with('#') && !line.is_empty()) {
        let name = line.split(['{', ' ']).next().unwrap();
        let typed = ["", "_bucket", "_sum", "_count"]
            .iter()
            .any(|suffix| name.strip_suffix(suffix).is_some_and(|base| text.contains(&format!("# TYPE {base} "))));
        assert!(typed, "`{name}` has no # TYPE line");
    }
    // Prometheus' own Accept prefers OpenMetrics; no Accept gets OpenMetrics too.
    let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let open = app.request("GET", "/metrics", &[("accept", prometheus)], None).await;
    assert!(open.header("content-type").starts_with("application/openmetrics-text"), "{}", open.header("content-type"));
    assert!(open.body.trim_end().ends_with("# EOF"));
    let default = app.get("/metrics").await;
    assert!(default.header("content-type").starts_with("application/openmetrics-text"));
}

async fn a_cors_preflight_asking_for_another_header_is_answered_without_it(app: TestApp) {
    let app = app.respawn(|settings| settings.cors_origins = vec!["https://alita-army.example".to_owned()]).await;
    let preflight = app
        .request(
            "OPTIONS",
            "/graphql",
            &[
                ("origin", "https://alita-army.example"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "authorization, x-custom-tracing, content-type"),
            ],
            None,
        )
        .await;
    assert!(preflight.status < 300, "{} {}", preflight.status, preflight.body);
    assert_eq!(preflight.header("access-control-allow-origin"), "https://alita-army.example");
    let allowed = preflight.header("access-control-allow-headers").to_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"), "{allowed}");
    assert!(!allowed.contains("x-custom-tracing"), "{allowed}");
    let only_other = app
        .request(
            "OPTIONS",
            "/graphql",
            &[
                ("origin", "https://alita-army.example"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "x-custom-tracing"),
            ],
            None,
        )
        .await;
    assert!(only_other.status < 300, "{} {}", only_other.status, only_other.body);
    assert!(!only_other.header("access-control-allow-headers").to_lowercase().contains("x-custom-tracing"));
}

db_tests!(case_insensitive_filters_fold_every_script_alike_on_both_databases);

async fn case_insensitive_filters_fold_every_script_alike_on_both_databases(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let token = &admin.access_token;
    let create = "mutation($input: CreateFilmInput!) { createFilm(input: $input) { id } }";
    for title in ["Ünïcode Ärger", "Star*Light [Redux]?", "Plain Title"] {
        app.data_as(token, create, json!({ "input": { "title": title, "status": "ANNOUNCED" } })).await;
    }
    let films = "query($t: String) { films(filter: { titleContains: $t }) { nodes { title } } }";
    for needle in ["Ünï", "ünï", "ÜNÏ", "ärger", "CODE ÄR"] {
        let data = app.data(films, json!({ "t": needle })).await;
        assert_eq!(data["films"]["nodes"], json!([{ "title": "Ünïcode Ärger" }]), "{needle}");
    }
    // Pattern characters of either database are matched as themselves.
    for needle in ["*", "?", "[redux]", "%", "_"] {
        let data = app.data(films, json!({ "t": needle })).await;
        let expected =
            if matches!(needle, "%" | "_") { json!([]) } else { json!([{ "title": "Star*Light [Redux]?" }]) };
        assert_eq!(data["films"]["nodes"], expected, "{needle}");
    }
    let people = app.data(r#"{ people(filter: { nameContains: "WĒTĀ" }) { nodes { name } } }"#, json!({})).await;
    assert_eq!(people["people"]["nodes"], json!([{ "name": "Wētā" }]));
    let quotes = app.data(r#"{ quotes(filter: { textContains: "WĒTĀ…" }) { totalCount } }"#, json!({})).await;
    assert_eq!(quotes["quotes"]["totalCount"], 1);

    let event = r##"mutation { createEvent(input: { title: "Zürich screening", kind: SCREENING, startsAt: "2031-03-01T19:00:00Z",
        timeZone: "Europe/Zurich", city: "Zürich", country: "CH", hashtag: "#ÄlitaZüri" }) { id } }"##;
    app.data_as(token, event, json!({})).await;
    for (filter, value) in [("city", "ZÜRICH"), ("city", "zürich"), ("hashtag", "#älitazüri"), ("hashtag", "ÄLITAZÜRI")]
    {
        let query = format!("query($v: String) {{ events(filter: {{ {filter}: $v }}) {{ nodes {{ title }} }} }}");
        let data = app.data(&query, json!({ "v": value })).await;
        assert_eq!(data["events"]["nodes"], json!([{ "title": "Zürich screening" }]), "{filter}: {value}");
    }
    let none = app.data(r#"{ events(filter: { city: "Züric" }) { totalCount } }"#, json!({})).await;
    assert_eq!(none["events"]["totalCount"], 0, "a city filter is equality, not a substring");
}
