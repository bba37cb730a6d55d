//! The admin mutations: creates, partial updates, deletes with their documented rules, and one
//! bad value per validated field, refused with the field's name and nothing changed.

use entity::enums::Role;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::fixtures::gid;

/// Everything the admin mutations can touch, as the API shows it, one list per query to stay
/// within the complexity budget.
const SNAPSHOT: [&str; 5] = [
    r#"{ films(first: 10) { totalCount nodes { id slug title tagline synopsis releaseDate runtimeMinutes status budgetUsd boxOfficeUsd distributor sequelOf { id } updatedAt
    credits(first: 40) { totalCount nodes { id role character billingOrder person { id } } } } } }"#,
    "{ people(first: 100) { totalCount nodes { id slug name bio birthDate } } }",
    "{ quotes(first: 100) { totalCount nodes { id text source sourceUrl saidOn context status film { id } person { id } } } }",
    "{ events(first: 100) { totalCount nodes { id slug kind title description startsAt endsAt timeZone venue city country onlineUrl hashtag capacity film { id } } } }",
    "{ petitions(first: 100) { totalCount nodes { id slug title body target goal status closesAt film { id } } } }",
];

async fn snapshot(app: &TestApp) -> Vec<Value> {
    let mut lists = Vec::new();
    for query in SNAPSHOT {
        lists.push(app.data(query, json!({})).await);
    }
    lists
}

async fn ids(app: &TestApp) -> Value {
    app.data(
        r#"{ film(slug: "alita-battle-angel") { id } sequel: film(slug: "alita-battle-angel-sequel") { id }
             person(slug: "rosa-salazar") { id } event(slug: "alitaarmy-fan-screenings") { id }
             petition(slug: "open-letter-to-disney-alita-sequel") { id } quotes(first: 1) { nodes { id } } }"#,
        json!({}),
    )
    .await
}

fn with(base: &Value, key: &str, value: Value) -> Value {
    let mut input = base.clone();
    input[key] = value;
    input
}

db_tests!(
    each_bad_value_is_refused_with_its_field_and_changes_nothing,
    creates_make_slugs_and_updates_change_only_what_is_given,
    deletes_follow_the_documented_rules
);

async fn each_bad_value_is_refused_with_its_field_and_changes_nothing(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let ids = ids(&app).await;
    let film = ids["film"]["id"].clone();
    let person = ids["person"]["id"].clone();
    let event = ids["event"]["id"].clone();
    let petition = ids["petition"]["id"].clone();
    let quote = ids["quotes"]["nodes"][0]["id"].clone();
    let long = |n: usize| json!("x".repeat(n));
    let missing_film = json!(gid("Film", 999_999));

    let film_base = json!({ "title": "A Valid Film", "status": "ANNOUNCED" });
    let person_base = json!({ "name": "A Valid Person" });
    let quote_base = json!({ "text": "A valid quote.", "personId": person, "source": "A source" });
    let event_base = json!({ "title": "A Valid Event", "kind": "MEETUP", "startsAt": "2030-01-01T18:00:00Z", "timeZone": "Europe/London" });
    let petition_base = json!({ "title": "A Valid Petition", "body": "Please.", "target": "A studio", "goal": 10 });
    let credit_base = json!({ "filmId": film, "personId": person, "role": "CREW" });

    let create_film = "mutation($input: CreateFilmInput!) { createFilm(input: $input) { id } }";
    let update_film = "mutation($id: ID!, $input: UpdateFilmInput!) { updateFilm(id: $id, input: $input) { id } }";
    let create_person = "mutation($input: CreatePersonInput!) { createPerson(input: $input) { id } }";
    let update_person =
        "mutation($id: ID!, $input: UpdatePersonInput!) { updatePerson(id: $id, input: $input) { id } }";
    let create_quote = "mutation($input: CreateQuoteInput!) { createQuote(input: $input) { id } }";
    let update_quote = "mutation($id: ID!, $input: UpdateQuoteInput!) { updateQuote(id: $id, input: $input) { id } }";
    let create_event = "mutation($input: CreateEventInput!) { createEvent(input: $input) { id } }";
    let update_event = "mutation($id: ID!, $input: UpdateEventInput!) { updateEvent(id: $id, input: $input) { id } }";
    let create_petition = "mutation($input: CreatePetitionInput!) { createPetition(input: $input) { id } }";
    let update_petition =
        "mutation($id: ID!, $input: UpdatePetitionInput!) { updatePetition(id: $id, input: $input) { id } }";
    let add_credit = "mutation($input: AddCreditInput!) { addCredit(input: $input) { id } }";

    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (create_film, json!({ "input": with(&film_base, "title", json!("   ")) }), "input.title", "BAD_USER_INPUT"),
        (create_film, json!({ "input": with(&film_base, "title", long(201)) }), "input.title", "BAD_USER_INPUT"),
        (
            create_film,
            json!({ "input": with(&film_base, "slug", json!("Not A Slug")) }),
            "input.slug",
            "BAD_USER_INPUT",
        ),
        (
            create_film,
            json!({ "input": with(&film_base, "slug", json!("alita-battle-angel")) }),
            "input.slug",
            "CONFLICT",
        ),
        (
            create_film,
            json!({ "input": with(&film_base, "title", json!("Alita: Battle Angel")) }),
            "input.slug",
            "CONFLICT",
        ),
        (create_film, json!({ "input": with(&film_base, "tagline", long(301)) }), "input.tagline", "BAD_USER_INPUT"),
        (
            create_film,
            json!({ "input": with(&film_base, "synopsis", long(10_001)) }),
            "input.synopsis",
            "BAD_USER_INPUT",
        ),
        (
            create_film,
            json!({ "input": with(&film_base, "runtimeMinutes", json!(0)) }),
            "input.runtimeMinutes",
            "BAD_USER_INPUT",
        ),
        (
            create_film,
            json!({ "input": with(&film_base, "budgetUsd", json!(-1)) }),
            "input.budgetUsd",
            "BAD_USER_INPUT",
        ),
        (
            create_film,
            json!({ "input": with(&film_base, "boxOfficeUsd", json!(-400)) }),
            "input.boxOfficeUsd",
            "BAD_USER_INPUT",
        ),
        (
            create_film,
            json!({ "input": with(&film_base, "distributor", long(201)) }),
            "input.distributor",
            "BAD_USER_INPUT",
        ),
        (
            create_film,
            json!({ "input": with(&film_base, "sequelOfId", missing_film.clone()) }),
            "input.sequelOfId",
            "BAD_USER_INPUT",
        ),
        (
            create_film,
            json!({ "input": with(&film_base, "sequelOfId", person.clone()) }),
            "input.sequelOfId",
            "BAD_USER_INPUT",
        ),
        (update_film, json!({ "id": film, "input": { "title": "" } }), "input.title", "BAD_USER_INPUT"),
        (update_film, json!({ "id": film, "input": { "slug": "-bad-" } }), "input.slug", "BAD_USER_INPUT"),
        (
            update_film,
            json!({ "id": film, "input": { "slug": "alita-battle-angel-sequel" } }),
            "input.slug",
            "CONFLICT",
        ),
        (
            update_film,
            json!({ "id": film, "input": { "runtimeMinutes": -3 } }),
            "input.runtimeMinutes",
            "BAD_USER_INPUT",
        ),
        (update_film, json!({ "id": film, "input": { "sequelOfId": film } }), "input.sequelOfId", "BAD_USER_INPUT"),
        (update_film, json!({ "id": film, "input": { "budgetUsd": -5 } }), "input.budgetUsd", "BAD_USER_INPUT"),
        (update_film, json!({ "id": missing_film, "input": { "title": "Nope" } }), "", "NOT_FOUND"),
        (create_person, json!({ "input": with(&person_base, "name", json!("")) }), "input.name", "BAD_USER_INPUT"),
        (
            create_person,
            json!({ "input": with(&person_base, "slug", json!("rosa_salazar")) }),
            "input.slug",
            "BAD_USER_INPUT",
        ),
        (
            create_person,
            json!({ "input": with(&person_base, "slug", json!("rosa-salazar")) }),
            "input.slug",
            "CONFLICT",
        ),
        (
            create_person,
            json!({ "input": with(&person_base, "birthDate", json!("2999-01-01")) }),
            "input.birthDate",
            "BAD_USER_INPUT",
        ),
        (create_person, json!({ "input": with(&person_base, "bio", long(10_001)) }), "input.bio", "BAD_USER_INPUT"),
        (update_person, json!({ "id": person, "input": { "name": long(201) } }), "input.name", "BAD_USER_INPUT"),
        (create_quote, json!({ "input": with(&quote_base, "text", json!(" ")) }), "input.text", "BAD_USER_INPUT"),
        (create_quote, json!({ "input": with(&quote_base, "text", long(2_001)) }), "input.text", "BAD_USER_INPUT"),
        (
            create_quote,
            json!({ "input": with(&quote_base, "personId", json!(gid("Person", 999_999))) }),
            "input.personId",
            "BAD_USER_INPUT",
        ),
        (
            create_quote,
            json!({ "input": with(&quote_base, "filmId", missing_film.clone()) }),
            "input.filmId",
            "BAD_USER_INPUT",
        ),
        (create_quote, json!({ "input": with(&quote_base, "source", json!("")) }), "input.source", "BAD_USER_INPUT"),
        (
            create_quote,
            json!({ "input": with(&quote_base, "sourceUrl", json!("not a url")) }),
            "input.sourceUrl",
            "BAD_USER_INPUT",
        ),
        (
            create_quote,
            json!({ "input": with(&quote_base, "sourceUrl", json!("javascript:alert(1)")) }),
            "input.sourceUrl",
            "BAD_USER_INPUT",
        ),
        (
            create_quote,
            json!({ "input": with(&quote_base, "saidOn", json!("2999-12-31")) }),
            "input.saidOn",
            "BAD_USER_INPUT",
        ),
        (
            create_quote,
            json!({ "input": with(&quote_base, "context", long(2_001)) }),
            "input.context",
            "BAD_USER_INPUT",
        ),
        (
            update_quote,
            json!({ "id": quote, "input": { "sourceUrl": "ftp://example.com/x" } }),
            "input.sourceUrl",
            "BAD_USER_INPUT",
        ),
        (create_event, json!({ "input": with(&event_base, "title", json!("")) }), "input.title", "BAD_USER_INPUT"),
        (
            create_event,
            json!({ "input": with(&event_base, "timeZone", json!("Mars/Olympus_Mons")) }),
            "input.timeZone",
            "BAD_USER_INPUT",
        ),
        (
            create_event,
            json!({ "input": with(&event_base, "endsAt", json!("2030-01-01T17:00:00Z")) }),
            "input.endsAt",
            "BAD_USER_INPUT",
        ),
        (
            create_event,
            json!({ "input": with(&event_base, "endsAt", json!("2030-01-01T18:00:00Z")) }),
            "input.endsAt",
            "BAD_USER_INPUT",
        ),
        (
            create_event,
            json!({ "input": with(&event_base, "country", json!("ZZ")) }),
            "input.country",
            "BAD_USER_INPUT",
        ),
        (
            create_event,
            json!({ "input": with(&event_base, "country", json!("USA")) }),
            "input.country",
            "BAD_USER_INPUT",
        ),
        (
            create_event,
            json!({ "input": with(&event_base, "onlineUrl", json!("javascript:alert(1)")) }),
            "input.onlineUrl",
            "BAD_USER_INPUT",
        ),
        (
            create_event,
            json!({ "input": with(&event_base, "hashtag", json!("#two words")) }),
            "input.hashtag",
            "BAD_USER_INPUT",
        ),
        (
            create_event,
            json!({ "input": with(&event_base, "capacity", json!(-1)) }),
            "input.capacity",
            "BAD_USER_INPUT",
        ),
        (
            create_event,
            json!({ "input": with(&event_base, "filmId", missing_film.clone()) }),
            "input.filmId",
            "BAD_USER_INPUT",
        ),
        (
            create_event,
            json!({ "input": with(&event_base, "slug", json!("alitaarmy-fan-screenings")) }),
            "input.slug",
            "CONFLICT",
        ),
        (create_event, json!({ "input": with(&event_base, "venue", long(201)) }), "input.venue", "BAD_USER_INPUT"),
        (create_event, json!({ "input": with(&event_base, "city", long(101)) }), "input.city", "BAD_USER_INPUT"),
        (
            create_event,
            json!({ "input": with(&event_base, "description", long(10_001)) }),
            "input.description",
            "BAD_USER_INPUT",
        ),
        (
            update_event,
            json!({ "id": event, "input": { "endsAt": "2000-01-01T00:00:00Z" } }),
            "input.endsAt",
            "BAD_USER_INPUT",
        ),
        (
            update_event,
            json!({ "id": event, "input": { "timeZone": "Nowhere/Land" } }),
            "input.timeZone",
            "BAD_USER_INPUT",
        ),
        (create_petition, json!({ "input": with(&petition_base, "goal", json!(0)) }), "input.goal", "BAD_USER_INPUT"),
        (create_petition, json!({ "input": with(&petition_base, "goal", json!(-10)) }), "input.goal", "BAD_USER_INPUT"),
        (create_petition, json!({ "input": with(&petition_base, "body", json!("")) }), "input.body", "BAD_USER_INPUT"),
        (
            create_petition,
            json!({ "input": with(&petition_base, "target", json!(" ")) }),
            "input.target",
            "BAD_USER_INPUT",
        ),
        (
            create_petition,
            json!({ "input": with(&petition_base, "title", long(201)) }),
            "input.title",
            "BAD_USER_INPUT",
        ),
        (
            create_petition,
            json!({ "input": with(&petition_base, "filmId", missing_film.clone()) }),
            "input.filmId",
            "BAD_USER_INPUT",
        ),
        (update_petition, json!({ "id": petition, "input": { "goal": 0 } }), "input.goal", "BAD_USER_INPUT"),
        (add_credit, json!({ "input": with(&credit_base, "role", json!("CAST")) }), "input.role", "CONFLICT"),
        (
            add_credit,
            json!({ "input": with(&credit_base, "filmId", missing_film.clone()) }),
            "input.filmId",
            "BAD_USER_INPUT",
        ),
        (
            add_credit,
            json!({ "input": with(&credit_base, "personId", json!(gid("Person", 999_999))) }),
            "input.personId",
            "BAD_USER_INPUT",
        ),
        (
            add_credit,
            json!({ "input": with(&credit_base, "billingOrder", json!(-1)) }),
            "input.billingOrder",
            "BAD_USER_INPUT",
        ),
        (
            add_credit,
            json!({ "input": with(&credit_base, "character", long(201)) }),
            "input.character",
            "BAD_USER_INPUT",
        ),
    ];
    let before = snapshot(&app).await;
    for (operation, variables, field, expected_code) in cases {
        let error = app.error_as(&admin.access_token, operation, variables.clone()).await;
        assert_eq!(error["extensions"]["code"], expected_code, "{variables}: {error}");
        if !field.is_empty() {
            assert_eq!(error["extensions"]["field"], field, "{variables}: {error}");
        }
        assert_eq!(snapshot(&app).await, before, "{variables} changed the database");
    }
}

async fn creates_make_slugs_and_updates_change_only_what_is_given(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let token = admin.access_token.as_str();
    let created = app
        .data_as(
            token,
            r#"mutation { createFilm(input: { title: "Wētā: Making Alita", status: IN_DEVELOPMENT, tagline: "How", budgetUsd: 2500000000, releaseDate: "2031-05-01" }) {
                 id slug title tagline status budgetUsd releaseDate createdAt updatedAt } }"#,
            json!({}),
        )
        .await;
    let film = &created["createFilm"];
    assert_eq!(film["slug"], "weta-making-alita");
    assert_eq!(film["budgetUsd"], 2_500_000_000_i64, "money beyond 2^31");
    let id = film["id"].clone();

    let updated = app
        .data_as(
            token,
            "mutation($id: ID!) { updateFilm(id: $id, input: { title: \"Wētā: Making Alita (2031)\", tagline: null }) { slug title tagline status budgetUsd releaseDate createdAt updatedAt } }",
            json!({ "id": id }),
        )
        .await;
    let after = &updated["updateFilm"];
    assert_eq!(after["title"], "Wētā: Making Alita (2031)");
    assert_eq!(after["tagline"], Value::Null, "null clears");
    assert_eq!(after["slug"], "weta-making-alita", "the slug stays unless given");
    assert_eq!(after["status"], "IN_DEVELOPMENT");
    assert_eq!(after["budgetUsd"], 2_500_000_000_i64);
    assert_eq!(after["releaseDate"], "2031-05-01");
    assert_eq!(after["createdAt"], film["createdAt"]);
    let instant = |value: &Value| chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap();
    assert!(instant(&after["updatedAt"]) > instant(&film["updatedAt"]), "updatedAt moves");

    let person = app
        .data_as(
            token,
            r#"mutation { createPerson(input: { name: "Yukito Kishiro", bio: "Created Gunnm." }) { id slug } }"#,
            json!({}),
        )
        .await;
    assert_eq!(person["createPerson"]["slug"], "yukito-kishiro");
    let credit = app
        .data_as(
            token,
            "mutation($film: ID!, $person: ID!) { addCredit(input: { filmId: $film, personId: $person, role: WRITER, billingOrder: 1 }) { id role film { id } person { slug } } }",
            json!({ "film": id, "person": person["createPerson"]["id"] }),
        )
        .await;
    assert_eq!(credit["addCredit"]["person"]["slug"], "yukito-kishiro");

    let event = app
        .data_as(
            token,
            r#"mutation { createEvent(input: { title: "Alita Anniversary Watch Party", kind: WATCH_PARTY, startsAt: "2031-02-14T19:00:00+01:00",
                 timeZone: "Europe/Paris", country: "fr", hashtag: "AlitaArmy", capacity: 0, onlineUrl: "https://example.com/party" }) {
                 slug startsAt country hashtag capacity timeZone } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        event["createEvent"],
        json!({ "slug": "alita-anniversary-watch-party", "startsAt": "2031-02-14T18:00:00Z", "country": "FR", "hashtag": "#AlitaArmy", "capacity": 0, "timeZone": "Europe/Paris" })
    );
    let petition = app
        .data_as(
            token,
            r#"mutation { createPetition(input: { title: "Bring Alita to 4K", body: "Please.", target: "Disney", goal: 5000 }) { slug status goal signatureCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        petition["createPetition"],
        json!({ "slug": "bring-alita-to-4k", "status": "OPEN", "goal": 5000, "signatureCount": 0 })
    );
    let quote = app
        .data_as(
            token,
            "mutation($person: ID!) { createQuote(input: { text: \"Panzer Kunst.\", personId: $person, source: \"Gunnm\", sourceUrl: \"https://example.com/gunnm\" }) { status source sourceUrl person { slug } } }",
            json!({ "person": person["createPerson"]["id"] }),
        )
        .await;
    assert_eq!(quote["createQuote"]["status"], "PUBLISHED");
}

async fn deletes_follow_the_documented_rules(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let token = admin.access_token.as_str();
    let before = app
        .data(
            r#"{ film(slug: "alita-battle-angel") { id credits(first: 1) { nodes { id } } } sequel: film(slug: "alita-battle-angel-sequel") { id } }"#,
            json!({}),
        )
        .await;
    let film = before["film"]["id"].clone();
    let credit = before["film"]["credits"]["nodes"][0]["id"].clone();

    let deleted = app.data_as(token, "mutation($id: ID!) { deleteFilm(id: $id) }", json!({ "id": film })).await;
    assert_eq!(deleted["deleteFilm"], film, "returns the deleted ID");
    let after = app
        .data(
            r#"query($film: ID!, $credit: ID!) { node(id: $film) { id } credit: node(id: $credit) { id }
                 sequel: film(slug: "alita-battle-angel-sequel") { sequelOf { id } }
                 quotes(filter: { textContains: "always bringing up" }) { nodes { film { id } } }
                 screenings: event(slug: "alitaarmy-fan-screenings") { film { id } } }"#,
            json!({ "film": film, "credit": credit }),
        )
        .await;
    assert_eq!(after["node"], Value::Null);
    assert_eq!(after["credit"], Value::Null, "credits go with their film");
    assert_eq!(after["sequel"]["sequelOf"], Value::Null, "sequels stay, unlinked");
    assert_eq!(after["quotes"]["nodes"][0]["film"], Value::Null, "quotes stay, unlinked");
    assert_eq!(after["screenings"]["film"], Value::Null, "events stay, unlinked");

    let again = app.error_as(token, "mutation($id: ID!) { deleteFilm(id: $id) }", json!({ "id": film })).await;
    assert_eq!(again["extensions"]["code"], "NOT_FOUND");

    let person = app.data(r#"{ person(slug: "rosa-salazar") { id } }"#, json!({})).await["person"]["id"].clone();
    app.data_as(token, "mutation($id: ID!) { deletePerson(id: $id) }", json!({ "id": person })).await;
    let quotes = app.data("{ quotes { totalCount } }", json!({})).await;
    assert_eq!(quotes["quotes"]["totalCount"], 0, "a person's quotes go with them");

    let petition = app.data(r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { id } }"#, json!({})).await["petition"]["id"].clone();
    app.data_as(token, "mutation($id: ID!) { deletePetition(id: $id) }", json!({ "id": petition })).await;
    let event =
        app.data(r#"{ event(slug: "alitaarmy-fan-screenings") { id } }"#, json!({})).await["event"]["id"].clone();
    app.data_as(token, "mutation($id: ID!) { deleteEvent(id: $id) }", json!({ "id": event })).await;
    let left = app.data("{ petitions { totalCount } events { totalCount } }", json!({})).await;
    assert_eq!(left, json!({ "petitions": { "totalCount": 0 }, "events": { "totalCount": 1 } }));
}
