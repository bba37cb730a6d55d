//! Every URL column stores only normalized URLs: links (an event's online address, a quote's
//! source) are absolute http(s) URLs with a host, without whitespace, control characters,
//! backslashes or credentials, kept in the URL standard's normal form; rows stored before the rule
//! are mended or cleared by a migration; nothing a fan typed reaches a calendar file as a new line.

use entity::enums::Role;
use entity::{event, quote};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ActiveModelTrait, ActiveValue, EntityTrait};
use serde_json::{Value, json};

use crate::support::{TestApp, fixtures};

db_tests!(
    links_with_line_breaks_markup_or_credentials_are_refused_and_stored_normalized,
    the_migration_mends_or_clears_stored_urls
);

const SUBMIT: &str = "mutation($input: SubmitQuoteInput!) { submitQuote(input: $input) { id } }";
const CREATE_EVENT: &str = "mutation($input: CreateEventInput!) { createEvent(input: $input) { id slug onlineUrl } }";

fn event_input(online_url: &str) -> Value {
    json!({ "input": { "title": "URL Watch Party", "kind": "WATCH_PARTY", "startsAt": "2031-02-14T19:00:00Z",
        "timeZone": "Europe/London", "onlineUrl": online_url } })
}

async fn links_with_line_breaks_markup_or_credentials_are_refused_and_stored_normalized(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let events_before = app.data("{ events { totalCount } }", json!({})).await;
    for bad in [
        "https://example.com/\r\nX-Injected: 1",
        "http://user:pw@127.0.0.1/",
        "javascript:alert(1)",
        "https://exa mple.com/",
    ] {
        let error = app.error_as(&admin.access_token, CREATE_EVENT, event_input(bad)).await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{bad}: {error}");
        assert_eq!(error["extensions"]["field"], "input.onlineUrl", "{bad}: {error}");
    }
    assert_eq!(app.data("{ events { totalCount } }", json!({})).await, events_before, "a refused event was stored");
    let created =
        app.data_as(&admin.access_token, CREATE_EVENT, event_input("HTTPS://Example.COM/watch?q=\"alita\"")).await;
    assert_eq!(created["createEvent"]["onlineUrl"], "https://example.com/watch?q=%22alita%22");

    let ids =
        app.data(r#"{ person(slug: "rosa-salazar") { id } film(slug: "alita-battle-angel") { id } }"#, json!({})).await;
    let (_, fan) = fixtures::fan(&app.db, "Link Fan").await;
    let quote = |source_url: &str| {
        json!({ "input": { "text": "Motorball is life.", "personId": ids["person"]["id"], "filmId": ids["film"]["id"],
            "source": "A fan panel", "sourceUrl": source_url } })
    };
    for bad in
        [r#"http://x.example/"><img src=x onerror=alert(1)>"#, "http://user:pw@127.0.0.1/", "http://x.example\\@evil/"]
    {
        let error = app.error_as(&fan, SUBMIT, quote(bad)).await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{bad}: {error}");
        assert_eq!(error["extensions"]["field"], "input.sourceUrl", "{bad}: {error}");
    }
    let submitted = app.data_as(&fan, SUBMIT, quote(r#"http://x.example/"><b>"#)).await;
    let id = fixtures::raw_id(submitted["submitQuote"]["id"].as_str().unwrap());
    let stored = quote::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(stored.source_url.as_deref(), Some("http://x.example/%22%3E%3Cb%3E"));
}

async fn the_migration_mends_or_clears_stored_urls(app: TestApp) {
    // Rows as an older fandb may have stored them.
    let stored = event::Entity::find().one(&app.db).await.unwrap().unwrap();
    let mut row: event::ActiveModel = stored.clone().into();
    row.online_url = ActiveValue::Set(Some("https://example.com/\r\nX-Injected: 1".to_owned()));
    row.image_url = ActiveValue::Set(Some("HTTPS://Images.Example/Poster.jpg".to_owned()));
    row.update(&app.db).await.unwrap();

    // Run this migration (and any after it) again.
    let position = Migrator::migrations()
        .iter()
        .position(|migration| migration.name() == "m20261207_000001_normalize_urls")
        .expect("the URL migration");
    let after = u32::try_from(Migrator::migrations().len() - position).unwrap();
    Migrator::down(&app.db, Some(after)).await.unwrap();
    Migrator::up(&app.db, None).await.unwrap();

    let mended = event::Entity::find_by_id(stored.id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(mended.online_url, None, "a URL with a line break is cleared");
    assert_eq!(mended.image_url.as_deref(), Some("https://images.example/Poster.jpg"));
    let calendar = app.get(&format!("/events/{}.ics", mended.slug)).await;
    assert!(!calendar.body.contains("X-Injected"), "{}", calendar.body);
}
