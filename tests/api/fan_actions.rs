//! Fan actions: signing petitions, RSVPs with a capacity, submitted quotes — exact under
//! concurrency, with the rules a campaign relies on.

use entity::enums::{PetitionStatus, Role, RsvpStatus};
use futures_util::future::join_all;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::fixtures::{self, gid};

const SIGN: &str = "mutation($p: ID!, $input: SignPetitionInput) { signPetition(petitionId: $p, input: $input) { id displayName country comment } }";
const RSVP: &str =
    "mutation($e: ID!, $s: RsvpStatus) { rsvpEvent(eventId: $e, status: $s) { id status event { slug } } }";

async fn petition_id(app: &TestApp) -> (i64, String) {
    let data = app.data(r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { id } }"#, json!({})).await;
    let global = data["petition"]["id"].as_str().unwrap().to_owned();
    (fixtures::raw_id(&global), global)
}

async fn signature_rows(app: &TestApp, petition: i64) -> u64 {
    entity::signature::Entity::find()
        .filter(entity::signature::Column::PetitionId.eq(petition))
        .count(&app.db)
        .await
        .unwrap()
}

/// An event a month from now with `capacity` seats: its id and global ID.
pub(crate) async fn event_with_capacity(app: &TestApp, capacity: i32) -> (i64, String) {
    let event = fixtures::events(&app.db, 1, None).await.remove(0);
    let mut model: entity::event::ActiveModel = event.into();
    model.capacity = Set(Some(capacity));
    model.starts_at = Set(chrono::Utc::now() + chrono::Duration::days(30));
    model.ends_at = Set(Some(chrono::Utc::now() + chrono::Duration::days(30) + chrono::Duration::hours(2)));
    let event = model.update(&app.db).await.unwrap();
    (event.id, gid("Event", event.id))
}

db_tests!(
    two_hundred_fans_signing_at_once_make_exactly_two_hundred_signatures,
    one_fan_signing_twenty_times_at_once_signs_once,
    a_signature_costs_three_statements_on_postgres_and_six_on_sqlite,
    signing_withdrawing_and_what_of_a_signer_is_public,
    bad_signatures_and_closed_petitions_are_refused,
    fifty_fans_rsvping_at_once_fill_ten_seats_exactly,
    rsvps_take_seats_only_when_going_and_free_them_when_cancelled,
    a_submitted_quote_is_pending_until_a_moderator_publishes_it,
    the_hashtag_hour_is_one_instant_in_los_angeles_london_and_tokyo,
    an_event_downloads_as_an_icalendar_file
);

async fn two_hundred_fans_signing_at_once_make_exactly_two_hundred_signatures(app: TestApp) {
    let (petition, global) = petition_id(&app).await;
    let mut tokens = Vec::new();
    for i in 0..200 {
        tokens.push(fixtures::fan(&app.db, &format!("Signer {i}")).await.1);
    }
    let responses =
        join_all(tokens.iter().map(|token| app.graphql_as(Some(token), SIGN, json!({ "p": global })))).await;
    for response in &responses {
        assert!(response.get("errors").is_none(), "{response}");
    }
    let data = app
        .data("query($p: ID!) { node(id: $p) { ... on Petition { signatureCount } } }", json!({ "p": global }))
        .await;
    assert_eq!(data["node"]["signatureCount"], 200);
    assert_eq!(signature_rows(&app, petition).await, 200);
}

/// What one signature costs the database, the hashtag hour's hot path. On PostgreSQL the session
/// check, the one statement that holds the fan's and the petition's rows, inserts the signature
/// and moves the count's slot (see `domain::petitions`), and the signer's name. On SQLite the
/// transaction's steps run one by one: the fan's row, the petition, INSERT … RETURNING and the
/// slot (BEGIN and COMMIT are not counted). A second sign by the same fan reads its signature
/// instead of adding to a slot, in as many statements.
async fn a_signature_costs_three_statements_on_postgres_and_six_on_sqlite(app: TestApp) {
    let (_, global) = petition_id(&app).await;
    let (_, token) = fixtures::fan(&app.db, "Counted Signer").await;
    let before = app.statements();
    let first = app.data_as(&token, SIGN, json!({ "p": global })).await;
    let signing = app.statements() - before;
    let before = app.statements();
    let again = app.data_as(&token, SIGN, json!({ "p": global })).await;
    assert_eq!(again, first, "signing again answers the same signature");
    let signing_again = app.statements() - before;
    let expected = match app.db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => 3,
        _ => 6,
    };
    assert_eq!((signing, signing_again), (expected, expected), "statements per sign");
}

async fn one_fan_signing_twenty_times_at_once_signs_once(app: TestApp) {
    let (petition, global) = petition_id(&app).await;
    let (_, token) = fixtures::fan(&app.db, "Eager Fan").await;
    let responses = join_all((0..20).map(|_| app.graphql_as(Some(&token), SIGN, json!({ "p": global })))).await;
    let ids: std::collections::HashSet<String> = responses
        .iter()
        .map(|r| r["data"]["signPetition"]["id"].as_str().unwrap_or_else(|| panic!("{r}")).to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "every call returns the same signature");
    let data = app
        .data_as(
            &token,
            "query($p: ID!) { node(id: $p) { ... on Petition { signatureCount viewerHasSigned } } }",
            json!({ "p": global }),
        )
        .await;
    assert_eq!(data["node"], json!({ "signatureCount": 1, "viewerHasSigned": true }));
    assert_eq!(signature_rows(&app, petition).await, 1);
}

async fn signing_withdrawing_and_what_of_a_signer_is_public(app: TestApp) {
    let (_, global) = petition_id(&app).await;
    let (_, public_fan) = fixtures::fan(&app.db, "Public Fan").await;
    let (_, private_fan) = fixtures::fan(&app.db, "Private Fan").await;
    let signed = app
        .data_as(
            &public_fan,
            SIGN,
            json!({ "p": global, "input": { "public": true, "country": "nz", "comment": "For Alita!" } }),
        )
        .await;
    assert_eq!(signed["signPetition"]["displayName"], "Public Fan");
    assert_eq!(signed["signPetition"]["country"], "NZ");
    app.data_as(&private_fan, SIGN, json!({ "p": global, "input": { "country": "JP" } })).await;
    let query = "query($p: ID!) { node(id: $p) { ... on Petition { signatureCount signaturesByCountry { country count }
                   signatures { totalCount nodes { displayName comment } } } } }";
    let data = app.data(query, json!({ "p": global })).await;
    assert_eq!(data["node"]["signatureCount"], 2);
    assert_eq!(
        data["node"]["signaturesByCountry"],
        json!([{ "country": "JP", "count": 1 }, { "country": "NZ", "count": 1 }])
    );
    assert_eq!(data["node"]["signatures"]["nodes"], json!([{ "displayName": "Public Fan", "comment": "For Alita!" }]));

    let withdraw = "mutation($p: ID!) { withdrawSignature(petitionId: $p) }";
    assert_eq!(app.data_as(&private_fan, withdraw, json!({ "p": global })).await["withdrawSignature"], true);
    assert_eq!(app.data_as(&private_fan, withdraw, json!({ "p": global })).await["withdrawSignature"], false);
    let data = app
        .data_as(
            &private_fan,
            "query($p: ID!) { node(id: $p) { ... on Petition { signatureCount viewerHasSigned } } }",
            json!({ "p": global }),
        )
        .await;
    assert_eq!(data["node"], json!({ "signatureCount": 1, "viewerHasSigned": false }));
}

async fn bad_signatures_and_closed_petitions_are_refused(app: TestApp) {
    let (petition, global) = petition_id(&app).await;
    let (_, token) = fixtures::fan(&app.db, "Careful Fan").await;
    let long = "x".repeat(501);
    for (input, field) in [(json!({ "comment": long }), "input.comment"), (json!({ "country": "XX" }), "input.country")]
    {
        let error = app.error_as(&token, SIGN, json!({ "p": global, "input": input })).await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(error["extensions"]["field"], field);
    }
    let wrong_type = app.error_as(&token, SIGN, json!({ "p": gid("Event", 1) })).await;
    assert_eq!(wrong_type["extensions"]["field"], "petitionId");
    let missing = app.error_as(&token, SIGN, json!({ "p": gid("Petition", 99_999) })).await;
    assert_eq!(missing["extensions"]["code"], "NOT_FOUND");

    let row = entity::petition::Entity::find_by_id(petition).one(&app.db).await.unwrap().unwrap();
    let mut model: entity::petition::ActiveModel = row.clone().into();
    model.status = Set(PetitionStatus::Closed);
    model.update(&app.db).await.unwrap();
    assert_eq!(app.error_as(&token, SIGN, json!({ "p": global })).await["extensions"]["code"], "CONFLICT");
    let mut model: entity::petition::ActiveModel = row.into();
    model.status = Set(PetitionStatus::Open);
    model.closes_at = Set(Some(chrono::Utc::now() - chrono::Duration::minutes(1)));
    model.update(&app.db).await.unwrap();
    assert_eq!(app.error_as(&token, SIGN, json!({ "p": global })).await["extensions"]["code"], "CONFLICT");
    assert_eq!(signature_rows(&app, petition).await, 0);
}

async fn fifty_fans_rsvping_at_once_fill_ten_seats_exactly(app: TestApp) {
    let (event, global) = event_with_capacity(&app, 10).await;
    let mut tokens = Vec::new();
    for i in 0..50 {
        tokens.push(fixtures::fan(&app.db, &format!("Rsvp Fan {i}")).await.1);
    }
    let responses =
        join_all(tokens.iter().map(|token| app.graphql_as(Some(token), RSVP, json!({ "e": global })))).await;
    let going = responses.iter().filter(|r| r["data"]["rsvpEvent"]["status"] == "GOING").count();
    let full = responses.iter().filter(|r| r["errors"][0]["extensions"]["code"] == "CONFLICT").count();
    let other: Vec<&Value> = responses
        .iter()
        .filter(|r| r["data"]["rsvpEvent"]["status"] != "GOING" && r["errors"][0]["extensions"]["code"] != "CONFLICT")
        .collect();
    assert_eq!((going, full), (10, 40), "other answers: {other:?}");
    let data = app
        .data("query($e: ID!) { node(id: $e) { ... on Event { rsvpCount capacity } } }", json!({ "e": global }))
        .await;
    assert_eq!(data["node"], json!({ "rsvpCount": 10, "capacity": 10 }));
    let rows = entity::rsvp::Entity::find()
        .filter(entity::rsvp::Column::EventId.eq(event))
        .filter(entity::rsvp::Column::Status.eq(RsvpStatus::Going))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(rows, 10);
}

async fn rsvps_take_seats_only_when_going_and_free_them_when_cancelled(app: TestApp) {
    let (_, global) = event_with_capacity(&app, 1).await;
    let (_, first) = fixtures::fan(&app.db, "First Fan").await;
    let (_, second) = fixtures::fan(&app.db, "Second Fan").await;
    let count = || async {
        app.data("query($e: ID!) { node(id: $e) { ... on Event { rsvpCount } } }", json!({ "e": global })).await["node"]
            ["rsvpCount"]
            .clone()
    };

    assert_eq!(app.data_as(&first, RSVP, json!({ "e": global })).await["rsvpEvent"]["status"], "GOING");
    assert_eq!(
        app.data_as(&first, RSVP, json!({ "e": global })).await["rsvpEvent"]["status"],
        "GOING",
        "answering again is harmless"
    );
    assert_eq!(count().await, 1);
    assert_eq!(app.error_as(&second, RSVP, json!({ "e": global })).await["extensions"]["code"], "CONFLICT");
    assert_eq!(
        app.data_as(&second, RSVP, json!({ "e": global, "s": "INTERESTED" })).await["rsvpEvent"]["status"],
        "INTERESTED"
    );
    assert_eq!(count().await, 1);
    let mine = app
        .data_as(
            &second,
            "query($e: ID!) { node(id: $e) { ... on Event { viewerRsvp { status } } } }",
            json!({ "e": global }),
        )
        .await;
    assert_eq!(mine["node"]["viewerRsvp"]["status"], "INTERESTED");

    app.data_as(&first, RSVP, json!({ "e": global, "s": "INTERESTED" })).await;
    assert_eq!(count().await, 0, "switching to INTERESTED frees the seat");
    assert_eq!(app.data_as(&second, RSVP, json!({ "e": global })).await["rsvpEvent"]["status"], "GOING");
    let cancel = "mutation($e: ID!) { cancelRsvp(eventId: $e) }";
    assert_eq!(app.data_as(&second, cancel, json!({ "e": global })).await["cancelRsvp"], true);
    assert_eq!(app.data_as(&second, cancel, json!({ "e": global })).await["cancelRsvp"], false);
    assert_eq!(count().await, 0);

    let past = app.data(r#"{ event(slug: "alitasequel-worldwide-hashtag-hour-2019") { id } }"#, json!({})).await;
    let over = app.error_as(&first, RSVP, json!({ "e": past["event"]["id"] })).await;
    assert_eq!(over["extensions"]["code"], "CONFLICT", "the hashtag hour of 2019 is over");
}

async fn a_submitted_quote_is_pending_until_a_moderator_publishes_it(app: TestApp) {
    let ids =
        app.data(r#"{ person(slug: "rosa-salazar") { id } film(slug: "alita-battle-angel") { id } }"#, json!({})).await;
    let (_, fan) = fixtures::fan(&app.db, "Quote Hunter").await;
    let submit = "mutation($input: SubmitQuoteInput!) { submitQuote(input: $input) { id status text } }";
    let submitted = app
        .data_as(
            &fan,
            submit,
            json!({ "input": { "text": "Motorball is life.", "personId": ids["person"]["id"], "filmId": ids["film"]["id"], "source": "A fan panel", "sourceUrl": "https://example.com/panel" } }),
        )
        .await;
    assert_eq!(submitted["submitQuote"]["status"], "PENDING");
    let id = submitted["submitQuote"]["id"].clone();
    let everywhere = r#"query($id: ID!) { quote(id: $id) { id } node(id: $id) { id } quotes(first: 100) { totalCount }
        film(slug: "alita-battle-angel") { quotes(first: 100) { totalCount } } person(slug: "rosa-salazar") { quotes(first: 100) { totalCount } } }"#;

    let public = app.data(everywhere, json!({ "id": id })).await;
    assert_eq!((&public["quote"], &public["node"]), (&Value::Null, &Value::Null));
    assert_eq!(public["quotes"]["totalCount"], 3);
    assert_eq!(public["film"]["quotes"]["totalCount"], 2);
    assert_eq!(public["person"]["quotes"]["totalCount"], 3);

    let own = app.data_as(&fan, everywhere, json!({ "id": id })).await;
    assert_eq!(own["quote"]["id"], id, "the submitter sees their own quote");
    assert_eq!(own["quotes"]["totalCount"], 4);
    let (_, other_fan) = fixtures::fan(&app.db, "Other Fan").await;
    assert_eq!(app.data_as(&other_fan, everywhere, json!({ "id": id })).await["quote"], Value::Null);

    let moderator = app.sign_in_as(Role::Moderator).await;
    assert_eq!(app.data_as(&moderator.access_token, everywhere, json!({ "id": id })).await["quotes"]["totalCount"], 4);
    let bad = app
        .error_as(&fan, submit, json!({ "input": { "text": "", "personId": ids["person"]["id"], "source": "x" } }))
        .await;
    assert_eq!(bad["extensions"]["field"], "input.text");

    let moderate = "mutation($id: ID!, $s: QuoteStatus!) { moderateQuote(id: $id, status: $s) { status } }";
    assert_eq!(
        app.error_as(&fan, moderate, json!({ "id": id, "s": "PUBLISHED" })).await["extensions"]["code"],
        "FORBIDDEN"
    );
    assert_eq!(
        app.data_as(&moderator.access_token, moderate, json!({ "id": id, "s": "PUBLISHED" })).await["moderateQuote"]["status"],
        "PUBLISHED"
    );
    let public = app.data(everywhere, json!({ "id": id })).await;
    assert_eq!(public["quote"]["id"], id);
    assert_eq!(public["quotes"]["totalCount"], 4);
    assert_eq!(public["film"]["quotes"]["totalCount"], 3);
}

async fn the_hashtag_hour_is_one_instant_in_los_angeles_london_and_tokyo(app: TestApp) {
    let data = app
        .data(
            r#"{ event(slug: "alitasequel-worldwide-hashtag-hour-2019") { startsAt
                 la: startsAtLocal(timeZone: "America/Los_Angeles") london: startsAtLocal(timeZone: "Europe/London")
                 tokyo: startsAtLocal(timeZone: "Asia/Tokyo") } }"#,
            json!({}),
        )
        .await;
    let event = &data["event"];
    assert_eq!(event["la"], "2019-12-05T09:00:00-08:00");
    assert_eq!(event["tokyo"], "2019-12-06T02:00:00+09:00");
    let instant = |value: &Value| chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap().timestamp();
    let utc = instant(&event["startsAt"]);
    assert_eq!((instant(&event["la"]), instant(&event["london"]), instant(&event["tokyo"])), (utc, utc, utc));
    let error = app
        .error(
            r#"{ event(slug: "alitasequel-worldwide-hashtag-hour-2019") { startsAtLocal(timeZone: "Middle/Earth") } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(error["extensions"]["field"], "timeZone");
}

async fn an_event_downloads_as_an_icalendar_file(app: TestApp) {
    let response = app.get("/events/alitasequel-worldwide-hashtag-hour-2019.ics").await;
    assert_eq!(response.status, 200);
    assert!(response.header("content-type").starts_with("text/calendar"));
    let body = &response.body;
    assert!(body.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"), "{body}");
    assert!(body.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
    for expected in [
        "DTSTART:20191205T170000Z",
        "DTEND:20191205T180000Z",
        "SUMMARY:#AlitaSequel worldwide hashtag hour",
        "UID:event-",
    ] {
        assert!(body.contains(expected), "{expected} in {body}");
    }
    for line in body.split("\r\n") {
        assert!(line.len() <= 75, "a line longer than 75 octets: {line}");
    }
    assert!(!body.replace("\r\n", "").contains('\n'), "bare newlines are escaped");
    let missing = app.get("/events/no-such-event.ics").await;
    assert_eq!(missing.status, 404);
    // The same error shape as every other HTTP refusal.
    assert_eq!(missing.json()["errors"][0]["extensions"]["code"], "NOT_FOUND", "{}", missing.body);
}

db_tests!(
    an_events_calendar_uid_does_not_depend_on_the_host_it_was_fetched_by,
    calendar_text_values_are_escaped_and_stored_line_breaks_start_no_line
);

/// The `UID` of an event's `.ics` fetched with these request headers.
async fn calendar_uid(app: &TestApp, slug: &str, headers: &[(&str, &str)]) -> String {
    let response = app.request("GET", &format!("/events/{slug}.ics"), headers, None).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let unfolded = response.body.replace("\r\n ", "");
    unfolded.split("\r\n").find_map(|line| line.strip_prefix("UID:")).expect("a UID").to_owned()
}

async fn an_events_calendar_uid_does_not_depend_on_the_host_it_was_fetched_by(app: TestApp) {
    let slug = "alitasequel-worldwide-hashtag-hour-2019";
    let id = fixtures::raw_id(
        app.data(&format!(r#"{{ event(slug: "{slug}") {{ id }} }}"#), json!({})).await["event"]["id"].as_str().unwrap(),
    );
    // Two names for one server (and a forwarded one): one event, one UID.
    let one = calendar_uid(&app, slug, &[("host", "alita.example")]).await;
    let other = calendar_uid(&app, slug, &[("host", "fans.example:8443")]).await;
    let forwarded = calendar_uid(&app, slug, &[("x-forwarded-host", "proxy.example")]).await;
    assert_eq!(one, other);
    assert_eq!(one, forwarded);
    assert_eq!(one, format!("event-{id}@fandb.invalid"), "without FANDB_PUBLIC_URL, the documented fixed name");

    // With FANDB_PUBLIC_URL, its host, whatever the request's.
    let public = app
        .respawn(|settings| settings.mail.public_url = Some("https://Campaign.Alita.example:8443/fans".to_owned()))
        .await;
    for host in ["alita.example", "127.0.0.1"] {
        let uid = calendar_uid(&public, slug, &[("host", host)]).await;
        assert_eq!(uid, format!("event-{id}@campaign.alita.example"), "fetched as {host}");
    }
}

async fn calendar_text_values_are_escaped_and_stored_line_breaks_start_no_line(app: TestApp) {
    // Stored values written behind the API's back: whatever is in the database, the file holds.
    let event = fixtures::events(&app.db, 1, None).await.remove(0);
    let slug = event.slug.clone();
    let mut model: entity::event::ActiveModel = event.into();
    model.title = Set("Watch, party; \\ \"Alita\"\rEND:VEVENT".to_owned());
    model.description = Set(Some("one\r\ntwo\rthree\nSUMMARY:forged\u{7}\ttab".to_owned()));
    model.venue = Set(Some("Iron City, Zalem; Level 3".to_owned()));
    model.online_url = Set(Some("https://alita.example/watch\r\nX-FORGED:1".to_owned()));
    model.hashtag = Set(Some("AlitaArmy,Sequel".to_owned()));
    model.update(&app.db).await.unwrap();

    let response = app.get(&format!("/events/{slug}.ics")).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let body = &response.body;
    assert!(!body.replace("\r\n", "").contains(['\r', '\n']), "a bare CR or LF: {body:?}");
    let lines: Vec<String> = body.replace("\r\n ", "").split("\r\n").map(str::to_owned).collect();
    for forged in ["END:VEVENT", "SUMMARY:forged", "X-FORGED"] {
        let count = lines.iter().filter(|line| line.starts_with(forged)).count();
        let expected = usize::from(forged == "END:VEVENT");
        assert_eq!(count, expected, "{forged} starts a line of its own: {lines:#?}");
    }
    let property = |name: &str| {
        lines
            .iter()
            .find_map(|line| line.strip_prefix(&format!("{name}:")).map(str::to_owned))
            .unwrap_or_else(|| panic!("no {name} in {lines:#?}"))
    };
    assert_eq!(property("SUMMARY"), "Watch\\, party\\; \\\\ \"Alita\"\\nEND:VEVENT");
    assert_eq!(property("DESCRIPTION"), "one\\ntwo\\nthree\\nSUMMARY:forged\ttab");
    assert!(property("LOCATION").starts_with("Iron City\\, Zalem\\; Level 3\\, "), "{}", property("LOCATION"));
    assert_eq!(property("CATEGORIES"), "AlitaArmy\\,Sequel");
    assert_eq!(property("URL"), "https://alita.example/watchX-FORGED:1");
}
