//! Curation at scale: credits given with a film or person (by id, by slug or created there) in one
//! transaction, `updateCredit`, and the upserts by slug that say whether they created or updated.

use entity::enums::Role;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::fixtures::gid;

db_tests!(
    a_film_is_created_with_credits_naming_people_by_id_slug_and_new,
    a_person_is_created_with_credits_naming_films_by_id_slug_and_new,
    one_bad_credit_refuses_the_whole_mutation_with_the_element_named,
    update_film_adds_and_changes_credits_and_keeps_the_rest,
    update_person_adds_credits_and_a_nested_create_brings_none,
    update_credit_patches_and_refuses_a_taken_role_a_missing_credit_and_non_admins,
    each_upsert_creates_then_updates_and_says_which,
    an_upsert_is_validated_like_create_and_writes_nothing_when_refused,
    an_event_upsert_keeps_the_seats_fans_hold,
    records_created_and_credits_given_inside_a_mutation_are_each_audited,
    more_credits_than_the_limit_are_refused_and_nothing_is_written
);

const CREATE_FILM: &str = "mutation($input: CreateFilmInput!) { createFilm(input: $input) { id credits { nodes { id role character billingOrder person { slug name } } } } }";
const UPDATE_FILM: &str = "mutation($id: ID!, $input: UpdateFilmInput!) { updateFilm(id: $id, input: $input) { id credits { nodes { id role character billingOrder person { slug } } } } }";
const CREATE_PERSON: &str = "mutation($input: CreatePersonInput!) { createPerson(input: $input) { id credits { nodes { role character film { slug title } } } } }";
const UPDATE_CREDIT: &str = "mutation($id: ID!, $input: UpdateCreditInput!) { updateCredit(id: $id, input: $input) { id role character billingOrder } }";

/// The number of films, people and credits stored.
async fn counts(app: &TestApp) -> (u64, u64, u64) {
    (
        entity::film::Entity::find().count(&app.db).await.unwrap(),
        entity::person::Entity::find().count(&app.db).await.unwrap(),
        entity::credit::Entity::find().count(&app.db).await.unwrap(),
    )
}

async fn id_of(app: &TestApp, field: &str, slug: &str) -> String {
    let data = app.data(&format!(r#"{{ {field}(slug: "{slug}") {{ id }} }}"#), json!({})).await;
    data[field]["id"].as_str().unwrap().to_owned()
}

fn credit_of<'a>(credits: &'a Value, slug: &str, role: &str) -> &'a Value {
    credits["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|credit| credit["person"]["slug"] == slug && credit["role"] == role)
        .unwrap_or_else(|| panic!("no {role} credit for {slug} in {credits}"))
}

async fn a_film_is_created_with_credits_naming_people_by_id_slug_and_new(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let rosa = id_of(&app, "person", "rosa-salazar").await;
    let input = json!({ "title": "Alita: Fallen Angel", "status": "ANNOUNCED", "credits": [
        { "person": { "id": rosa }, "role": "CAST", "character": "Alita", "billingOrder": 1 },
        { "person": { "slug": "robert-rodriguez" }, "role": "DIRECTOR" },
        { "person": { "create": { "name": "Nova Newcomer", "bio": "First role." } }, "role": "CAST", "character": "Zapan", "billingOrder": 2 },
    ] });
    let before = counts(&app).await;
    let data = app.data_as(&admin.access_token, CREATE_FILM, json!({ "input": input })).await;
    let credits = &data["createFilm"]["credits"];
    assert_eq!(credits["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(credit_of(credits, "rosa-salazar", "CAST")["character"], "Alita");
    assert_eq!(credit_of(credits, "robert-rodriguez", "DIRECTOR")["billingOrder"], Value::Null);
    let newcomer = credit_of(credits, "nova-newcomer", "CAST");
    assert_eq!(newcomer["person"]["name"], "Nova Newcomer");
    assert_eq!(newcomer["billingOrder"], 2);
    let after = counts(&app).await;
    assert_eq!((after.0, after.1, after.2), (before.0 + 1, before.1 + 1, before.2 + 3));
}

async fn a_person_is_created_with_credits_naming_films_by_id_slug_and_new(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let film = id_of(&app, "film", "alita-battle-angel").await;
    let input = json!({ "name": "Kei Ueda", "credits": [
        { "film": { "id": film }, "role": "CREW" },
        { "film": { "slug": "alita-battle-angel" }, "role": "WRITER" },
        { "film": { "create": { "title": "Gunnm: Mars Chronicle", "status": "ANNOUNCED" } }, "role": "CAST", "character": "Erica" },
    ] });
    let data = app.data_as(&admin.access_token, CREATE_PERSON, json!({ "input": input })).await;
    let nodes = data["createPerson"]["credits"]["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 3);
    assert!(nodes.iter().any(|credit| credit["film"]["slug"] == "alita-battle-angel" && credit["role"] == "CREW"));
    assert!(nodes.iter().any(|credit| credit["film"]["slug"] == "alita-battle-angel" && credit["role"] == "WRITER"));
    assert!(
        nodes.iter().any(|credit| credit["film"]["title"] == "Gunnm: Mars Chronicle" && credit["character"] == "Erica")
    );
}

async fn one_bad_credit_refuses_the_whole_mutation_with_the_element_named(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let good =
        |index: usize| json!({ "person": { "create": { "name": format!("Good Person {index}") } }, "role": "CREW" });
    let cases = [
        (
            json!({ "person": { "slug": "rosa-salazar" }, "role": "CAST", "billingOrder": 0 }),
            "input.credits[3].billingOrder",
            "BAD_USER_INPUT",
        ),
        (
            json!({ "person": { "slug": "no-such-person" }, "role": "CAST" }),
            "input.credits[3].person.slug",
            "BAD_USER_INPUT",
        ),
        (
            json!({ "person": { "id": gid("Person", 999_999) }, "role": "CAST" }),
            "input.credits[3].person.id",
            "BAD_USER_INPUT",
        ),
        (json!({ "person": { "id": gid("Film", 1) }, "role": "CAST" }), "input.credits[3].person.id", "BAD_USER_INPUT"),
        (
            json!({ "person": { "create": { "name": "  " } }, "role": "CAST" }),
            "input.credits[3].person.create.name",
            "BAD_USER_INPUT",
        ),
        (
            json!({ "person": { "create": { "name": "Rosa Salazar" } }, "role": "CAST" }),
            "input.credits[3].person.create.slug",
            "CONFLICT",
        ),
        (
            json!({ "person": { "slug": "rosa-salazar" }, "role": "CAST", "character": "x".repeat(201) }),
            "input.credits[3].character",
            "BAD_USER_INPUT",
        ),
        // Element 2 already lists this person in this role.
        (
            json!({ "person": { "slug": "rosa-salazar" }, "role": "PRODUCER", "character": "Again" }),
            "input.credits[3].role",
            "CONFLICT",
        ),
    ];
    for (bad, field, code) in cases {
        let before = counts(&app).await;
        let credits = json!([good(0), good(1), { "person": { "slug": "rosa-salazar" }, "role": "PRODUCER" }, bad]);
        let input = json!({ "title": "Never Stored", "status": "ANNOUNCED", "credits": credits });
        let error = app.error_as(&admin.access_token, CREATE_FILM, json!({ "input": input })).await;
        assert_eq!(error["extensions"]["code"], code, "{error}");
        assert_eq!(error["extensions"]["field"], field, "{error}");
        assert_eq!(counts(&app).await, before, "nothing is written when {field} is refused");
    }
    // The same on update and on createPerson.
    let film = id_of(&app, "film", "alita-battle-angel").await;
    let before = counts(&app).await;
    let input = json!({ "title": "Renamed", "credits": [good(2), { "person": { "slug": "rosa-salazar" }, "role": "CAST", "billingOrder": -1 }] });
    let error = app.error_as(&admin.access_token, UPDATE_FILM, json!({ "id": film, "input": input })).await;
    assert_eq!(error["extensions"]["field"], "input.credits[1].billingOrder");
    let input = json!({ "name": "Never Stored", "credits": [{ "film": { "create": { "title": "", "status": "ANNOUNCED" } }, "role": "CREW" }] });
    let error = app.error_as(&admin.access_token, CREATE_PERSON, json!({ "input": input })).await;
    assert_eq!(error["extensions"]["field"], "input.credits[0].film.create.title");
    assert_eq!(counts(&app).await, before);
    let title = app.data(r#"{ film(slug: "alita-battle-angel") { title } }"#, json!({})).await;
    assert_eq!(title["film"]["title"], "Alita: Battle Angel", "the refused update changed nothing");
}

async fn update_film_adds_and_changes_credits_and_keeps_the_rest(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let film = id_of(&app, "film", "alita-battle-angel").await;
    let before = app.data_as(&admin.access_token, UPDATE_FILM, json!({ "id": film, "input": {} })).await;
    let before = before["updateFilm"]["credits"]["nodes"].as_array().unwrap().len();
    let input = json!({ "credits": [
        { "person": { "slug": "rosa-salazar" }, "role": "CAST", "character": "Alita (Gally)", "billingOrder": 1 },
        { "person": { "slug": "rosa-salazar" }, "role": "PRODUCER" },
    ] });
    let data = app.data_as(&admin.access_token, UPDATE_FILM, json!({ "id": film, "input": input })).await;
    let credits = &data["updateFilm"]["credits"];
    assert_eq!(credits["nodes"].as_array().unwrap().len(), before + 1, "one added, one changed, none removed");
    assert_eq!(credit_of(credits, "rosa-salazar", "CAST")["character"], "Alita (Gally)");
    assert_eq!(credit_of(credits, "christoph-waltz", "CAST")["character"], "Dr. Dyson Ido");
}

async fn update_credit_patches_and_refuses_a_taken_role_a_missing_credit_and_non_admins(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let input = json!({ "title": "Credit Test", "status": "ANNOUNCED", "credits": [
        { "person": { "slug": "james-cameron" }, "role": "WRITER", "billingOrder": 3 },
        { "person": { "slug": "james-cameron" }, "role": "PRODUCER" },
    ] });
    let data = app.data_as(&admin.access_token, CREATE_FILM, json!({ "input": input })).await;
    let credits = &data["createFilm"]["credits"];
    let writer = credit_of(credits, "james-cameron", "WRITER")["id"].as_str().unwrap().to_owned();

    let data = app
        .data_as(&admin.access_token, UPDATE_CREDIT, json!({ "id": writer, "input": { "character": "Himself" } }))
        .await;
    assert_eq!(
        data["updateCredit"],
        json!({ "id": writer, "role": "WRITER", "character": "Himself", "billingOrder": 3 })
    );
    let data = app
        .data_as(
            &admin.access_token,
            UPDATE_CREDIT,
            json!({ "id": writer, "input": { "billingOrder": null, "role": "CREW" } }),
        )
        .await;
    assert_eq!(
        data["updateCredit"],
        json!({ "id": writer, "role": "CREW", "character": "Himself", "billingOrder": null })
    );

    let refused = [
        (json!({ "id": writer, "input": { "role": "PRODUCER" } }), "CONFLICT", Some("input.role")),
        (json!({ "id": writer, "input": { "role": null } }), "BAD_USER_INPUT", Some("input.role")),
        (json!({ "id": writer, "input": { "billingOrder": 0 } }), "BAD_USER_INPUT", Some("input.billingOrder")),
        (json!({ "id": gid("Credit", 999_999), "input": { "character": "x" } }), "NOT_FOUND", None),
        (json!({ "id": gid("Film", 1), "input": { "character": "x" } }), "BAD_USER_INPUT", Some("id")),
    ];
    for (variables, code, field) in refused {
        let error = app.error_as(&admin.access_token, UPDATE_CREDIT, variables).await;
        assert_eq!(error["extensions"]["code"], code, "{error}");
        if let Some(field) = field {
            assert_eq!(error["extensions"]["field"], field, "{error}");
        }
    }
    let change = json!({ "id": writer, "input": { "character": "Changed" } });
    for role in [Role::Fan, Role::Moderator] {
        let user = app.sign_in_as(role).await;
        let error = app.error_as(&user.access_token, UPDATE_CREDIT, change.clone()).await;
        assert_eq!(error["extensions"]["code"], "FORBIDDEN");
    }
    let error = app.error(UPDATE_CREDIT, change).await;
    assert_eq!(error["extensions"]["code"], "UNAUTHENTICATED");
    let stored =
        app.data(r#"{ film(slug: "credit-test") { credits(role: CREW) { nodes { character } } } }"#, json!({})).await;
    assert_eq!(stored["film"]["credits"]["nodes"][0]["character"], "Himself", "the refused changes wrote nothing");
}

/// The upsert mutations, each with its input type and the payload field holding the record.
const UPSERTS: [(&str, &str, &str); 4] = [
    ("upsertFilm", "CreateFilmInput", "film"),
    ("upsertPerson", "CreatePersonInput", "person"),
    ("upsertEvent", "CreateEventInput", "event"),
    ("upsertPetition", "CreatePetitionInput", "petition"),
];

fn upsert_document(mutation: &str, input_type: &str, field: &str, selection: &str) -> String {
    format!(
        "mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ created {field} {{ id slug {selection} }} }} }}"
    )
}

async fn each_upsert_creates_then_updates_and_says_which(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let cases = [
        (
            json!({ "slug": "upserted-film", "title": "First", "status": "ANNOUNCED", "tagline": "Once" }),
            json!({ "slug": "upserted-film", "title": "Second", "status": "IN_PRODUCTION" }),
            "title tagline",
            json!({ "title": "Second", "tagline": null }),
        ),
        (
            json!({ "slug": "upserted-person", "name": "First", "bio": "Once" }),
            json!({ "slug": "upserted-person", "name": "Second" }),
            "name bio",
            json!({ "name": "Second", "bio": null }),
        ),
        (
            json!({ "slug": "upserted-event", "kind": "MEETUP", "title": "First", "startsAt": "2031-01-01T18:00:00Z", "timeZone": "Europe/London", "capacity": 10 }),
            json!({ "slug": "upserted-event", "kind": "SCREENING", "title": "Second", "startsAt": "2031-02-01T18:00:00Z", "timeZone": "Europe/Paris" }),
            "title kind timeZone capacity",
            json!({ "title": "Second", "kind": "SCREENING", "timeZone": "Europe/Paris", "capacity": null }),
        ),
        (
            json!({ "slug": "upserted-petition", "title": "First", "body": "Please.", "target": "A studio", "goal": 10, "status": "CLOSED" }),
            json!({ "slug": "upserted-petition", "title": "Second", "body": "Pretty please.", "target": "A studio", "goal": 20 }),
            "title body goal status",
            json!({ "title": "Second", "body": "Pretty please.", "goal": 20, "status": "CLOSED" }),
        ),
    ];
    for ((mutation, input_type, field), (first, second, selection, expected)) in UPSERTS.into_iter().zip(cases) {
        let document = upsert_document(mutation, input_type, field, selection);
        let created = app.data_as(&admin.access_token, &document, json!({ "input": first })).await;
        assert_eq!(created[mutation]["created"], true, "{mutation} creates: {created}");
        let updated = app.data_as(&admin.access_token, &document, json!({ "input": second })).await;
        assert_eq!(updated[mutation]["created"], false, "{mutation} updates: {updated}");
        let record = &updated[mutation][field];
        assert_eq!(record["id"], created[mutation][field]["id"], "{mutation} keeps the row");
        for (key, value) in expected.as_object().unwrap() {
            assert_eq!(&record[key], value, "{mutation}: {key} after the update");
        }
    }
    // Credits given to an upsert are added or changed as on update.
    let document = upsert_document("upsertFilm", "CreateFilmInput", "film", "credits { totalCount }");
    let input = json!({ "slug": "upserted-film", "title": "Third", "status": "ANNOUNCED", "credits": [
        { "person": { "slug": "rosa-salazar" }, "role": "CAST" }] });
    for _ in 0..2 {
        let data = app.data_as(&admin.access_token, &document, json!({ "input": input })).await;
        assert_eq!(data["upsertFilm"]["created"], false);
        assert_eq!(data["upsertFilm"]["film"]["credits"]["totalCount"], 1);
    }
}

async fn an_upsert_is_validated_like_create_and_writes_nothing_when_refused(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let refused = [
        (json!({ "slug": "alita-battle-angel", "title": " ", "status": "ANNOUNCED" }), "input.title"),
        (json!({ "slug": "Not A Slug", "name": "Somebody" }), "input.slug"),
        (
            json!({ "slug": "bad-event", "kind": "MEETUP", "title": "Bad", "startsAt": "2031-01-01T18:00:00Z", "timeZone": "Mars/Olympus" }),
            "input.timeZone",
        ),
        (
            json!({ "slug": "bad-petition", "title": "Bad", "body": "Please.", "target": "A studio", "goal": 0 }),
            "input.goal",
        ),
    ];
    for ((mutation, input_type, field), (input, at)) in UPSERTS.into_iter().zip(refused) {
        let before = counts(&app).await;
        let document = upsert_document(mutation, input_type, field, "");
        let error = app.error_as(&admin.access_token, &document, json!({ "input": input })).await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{mutation}: {error}");
        assert_eq!(error["extensions"]["field"], at, "{mutation}: {error}");
        assert_eq!(counts(&app).await, before);
    }
    let title = app.data(r#"{ film(slug: "alita-battle-angel") { title } }"#, json!({})).await;
    assert_eq!(title["film"]["title"], "Alita: Battle Angel");
    // A film upserted as its own sequel is refused like the update.
    let film = id_of(&app, "film", "alita-battle-angel").await;
    let document = upsert_document("upsertFilm", "CreateFilmInput", "film", "");
    let input = json!({ "slug": "alita-battle-angel", "title": "Alita", "status": "RELEASED", "sequelOfId": film });
    let error = app.error_as(&admin.access_token, &document, json!({ "input": input })).await;
    assert_eq!(error["extensions"]["field"], "input.sequelOfId");
}

async fn an_event_upsert_keeps_the_seats_fans_hold(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let document = upsert_document("upsertEvent", "CreateEventInput", "event", "capacity rsvpCount");
    let input = |capacity: Value| {
        json!({ "input": { "slug": "small-meetup", "kind": "MEETUP", "title": "Small meetup",
            "startsAt": "2031-01-01T18:00:00Z", "timeZone": "Europe/London", "capacity": capacity } })
    };
    let created = app.data_as(&admin.access_token, &document, input(json!(5))).await;
    let event = created["upsertEvent"]["event"]["id"].clone();
    for _ in 0..2 {
        let fan = app.sign_in_as(Role::Fan).await;
        app.data_as(&fan.access_token, "mutation($id: ID!) { rsvpEvent(eventId: $id) { id } }", json!({ "id": event }))
            .await;
    }
    let error = app.error_as(&admin.access_token, &document, input(json!(1))).await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error}");
    assert_eq!(error["extensions"]["field"], "input.capacity");
    let stored = app.data(r#"{ event(slug: "small-meetup") { capacity rsvpCount } }"#, json!({})).await;
    assert_eq!(stored["event"], json!({ "capacity": 5, "rsvpCount": 2 }), "the refused upsert wrote nothing");
    let updated = app.data_as(&admin.access_token, &document, input(json!(2))).await;
    assert_eq!(
        updated["upsertEvent"],
        json!({ "created": false, "event": { "id": event, "slug": "small-meetup", "capacity": 2, "rsvpCount": 2 } })
    );
}

async fn update_person_adds_credits_and_a_nested_create_brings_none(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let person = id_of(&app, "person", "rosa-salazar").await;
    let update = "mutation($id: ID!, $input: UpdatePersonInput!) { updatePerson(id: $id, input: $input) { credits { nodes { role character film { slug } } } } }";
    let input = json!({ "credits": [
        { "film": { "slug": "alita-battle-angel" }, "role": "CAST", "character": "Alita / Gally" },
        { "film": { "create": { "title": "Motorball", "slug": "motorball", "status": "IN_DEVELOPMENT" } }, "role": "PRODUCER" },
    ] });
    let data = app.data_as(&admin.access_token, update, json!({ "id": person, "input": input })).await;
    let nodes = data["updatePerson"]["credits"]["nodes"].as_array().unwrap().clone();
    let alita: Vec<_> = nodes.iter().filter(|credit| credit["film"]["slug"] == "alita-battle-angel").collect();
    assert_eq!(alita.len(), 1, "the stored CAST credit is changed, not doubled: {nodes:?}");
    assert_eq!(alita[0]["character"], "Alita / Gally");
    assert!(nodes.iter().any(|credit| credit["film"]["slug"] == "motorball" && credit["role"] == "PRODUCER"));

    let before = counts(&app).await;
    let nested = json!({ "title": "Deeper", "status": "ANNOUNCED", "credits": [
        { "person": { "create": { "name": "Deep Person", "credits": [{ "film": { "slug": "motorball" }, "role": "CREW" }] } }, "role": "CREW" },
    ] });
    let error = app.error_as(&admin.access_token, CREATE_FILM, json!({ "input": nested })).await;
    assert_eq!(error["extensions"]["field"], "input.credits[0].person.create.credits", "{error}");
    assert_eq!(counts(&app).await, before);
}

async fn records_created_and_credits_given_inside_a_mutation_are_each_audited(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let token = admin.access_token.as_str();
    let input = json!({ "title": "Audited Credits", "status": "ANNOUNCED", "credits": [
        { "person": { "slug": "rosa-salazar" }, "role": "CAST", "character": "Alita" },
        { "person": { "create": { "name": "Audited Newcomer" } }, "role": "CAST" },
    ] });
    let film = app.data_as(token, CREATE_FILM, json!({ "input": input })).await["createFilm"]["id"].clone();
    let change = json!({ "credits": [{ "person": { "slug": "rosa-salazar" }, "role": "CAST", "character": "Alita", "billingOrder": 1 }] });
    app.data_as(token, UPDATE_FILM, json!({ "id": film, "input": change })).await;

    let log =
        app.data_as(token, "{ auditLog(first: 20) { nodes { action entityType after before } } }", json!({})).await;
    let mut rows: Vec<(String, String)> = log["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["action"].as_str().unwrap().to_owned(), row["entityType"].as_str().unwrap().to_owned()))
        .collect();
    rows.reverse();
    let rows: Vec<(&str, &str)> = rows.iter().map(|(action, kind)| (action.as_str(), kind.as_str())).collect();
    assert_eq!(
        rows,
        [
            ("addCredit", "Credit"),
            ("createPerson", "Person"),
            ("addCredit", "Credit"),
            ("createFilm", "Film"),
            ("updateCredit", "Credit"),
            ("updateFilm", "Film"),
        ],
        "each nested record and credit has its row, before the mutation's own: {log}"
    );
    let changed = &log["auditLog"]["nodes"][1];
    assert_eq!(changed["before"], r#"{"billingOrder":null}"#);
    assert_eq!(changed["after"], r#"{"billingOrder":1}"#);
}

async fn more_credits_than_the_limit_are_refused_and_nothing_is_written(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let credits: Vec<Value> = (1..=201)
        .map(|order| json!({ "person": { "slug": "rosa-salazar" }, "role": "CAST", "billingOrder": order }))
        .collect();
    let before = counts(&app).await;
    let error = app
        .error_as(
            &admin.access_token,
            CREATE_FILM,
            json!({ "input": { "title": "Too Many Credits", "status": "ANNOUNCED", "credits": credits } }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error}");
    assert_eq!(error["extensions"]["field"], "input.credits", "{error}");
    assert_eq!(counts(&app).await, before, "nothing was written");
}
