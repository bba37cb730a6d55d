//! Images by URL: `Film.posterUrl`, `Person.photoUrl`, `Event.imageUrl` and `Petition.imageUrl`
//! take an https URL of at most 2,048 characters, refused otherwise with the field named and
//! nothing written, and the campaign page shows them with the record's title as `alt` text.

use std::time::Duration;

use entity::enums::Role;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::support::TestApp;
use crate::support::browser::Browser;

const PETITION: &str = "open-letter-to-disney-alita-sequel";
const POSTER: &str = "https://images.example.org/posters/alita.jpg?size=large";

db_tests!(
    an_https_image_url_is_stored_and_read_back_on_every_type,
    image_urls_that_are_not_https_or_too_long_are_refused_with_the_field,
    the_campaign_page_shows_images_with_alt_text
);

async fn an_https_image_url_is_stored_and_read_back_on_every_type(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let token = &admin.access_token;
    let created = app
        .data_as(
            token,
            "mutation($url: String!) { createFilm(input: { title: \"Alita: Fallen Angel\", status: ANNOUNCED, posterUrl: $url }) { id posterUrl } }",
            json!({ "url": POSTER }),
        )
        .await;
    assert_eq!(created["createFilm"]["posterUrl"], POSTER);
    let film = created["createFilm"]["id"].clone();
    // Read back through both read paths (the planner and the resolvers agree; see `both_read_paths`).
    let read = app.data("query($id: ID!) { film(id: $id) { posterUrl } }", json!({ "id": film })).await;
    assert_eq!(read["film"]["posterUrl"], POSTER);

    let photo = "https://images.example.org/people/rosa.png";
    let person = app
        .data_as(
            token,
            "mutation($url: String) { createPerson(input: { name: \"Photo Person\", photoUrl: $url }) { id photoUrl } }",
            json!({ "url": photo }),
        )
        .await["createPerson"]
        .clone();
    assert_eq!(person["photoUrl"], photo);
    let event = app
        .data_as(
            token,
            "mutation { createEvent(input: { kind: SCREENING, title: \"Poster night\", startsAt: \"2030-01-01T20:00:00Z\",
                timeZone: \"UTC\", imageUrl: \"https://example.org/e.jpg\" }) { id imageUrl } }",
            json!({}),
        )
        .await["createEvent"]
        .clone();
    assert_eq!(event["imageUrl"], "https://example.org/e.jpg");
    let petition = app
        .data("query($s: String!) { petition(slug: $s) { id imageUrl } }", json!({ "s": PETITION }))
        .await["petition"]
        .clone();
    assert_eq!(petition["imageUrl"], json!(null));
    let update = "mutation($id: ID!, $url: String) { updatePetition(id: $id, input: { imageUrl: $url }) { imageUrl } }";
    let set = app.data_as(token, update, json!({ "id": petition["id"], "url": "https://example.org/p.webp" })).await;
    assert_eq!(set["updatePetition"]["imageUrl"], "https://example.org/p.webp");
    let listed = app.data("{ petitions(first: 100) { nodes { slug imageUrl } } }", json!({})).await;
    let shown =
        listed["petitions"]["nodes"].as_array().unwrap().iter().find(|p| p["slug"] == PETITION).unwrap().clone();
    assert_eq!(shown["imageUrl"], "https://example.org/p.webp");

    // The planner reads the columns itself: each lookup is one statement.
    let lookups = [
        ("query($id: ID!) { film(id: $id) { posterUrl } }", film.clone()),
        ("query($id: ID!) { person(id: $id) { photoUrl } }", person["id"].clone()),
        ("query($id: ID!) { event(id: $id) { imageUrl } }", event["id"].clone()),
        ("query($id: ID!) { petition(id: $id) { imageUrl } }", petition["id"].clone()),
    ];
    for (query, id) in lookups {
        let before = app.statements();
        app.data(query, json!({ "id": id })).await;
        assert_eq!(app.statements() - before, 1, "planned: {query}");
    }

    // Null clears it.
    let cleared = app.data_as(token, update, json!({ "id": petition["id"], "url": null })).await;
    assert_eq!(cleared["updatePetition"]["imageUrl"], json!(null));
    let people = app
        .data("query($id: ID!) { node(id: $id) { ... on Person { photoUrl } } }", json!({ "id": person["id"] }))
        .await;
    assert_eq!(people["node"]["photoUrl"], photo);
}

async fn image_urls_that_are_not_https_or_too_long_are_refused_with_the_field(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let token = &admin.access_token;
    let films_before = entity::film::Entity::find().count(&app.db).await.unwrap();
    let too_long = format!("https://example.org/{}", "a".repeat(2049 - "https://example.org/".len()));
    assert_eq!(too_long.len(), 2049);
    let just_right = &too_long[..2048];
    for bad in [
        "http://example.org/poster.jpg",
        too_long.as_str(),
        "not a url",
        "https://",
        "ftp://example.org/x.jpg",
        "data:image/png;base64,AAAA",
        "https://exa\tmple.org/x.jpg",
        "https:\\\\example.org\\x.jpg",
        "https://user:secret@example.org/x.jpg",
    ] {
        let error = app
            .error_as(
                token,
                "mutation($url: String!) { createFilm(input: { title: \"Bad Poster\", status: ANNOUNCED, posterUrl: $url }) { id } }",
                json!({ "url": bad }),
            )
            .await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{bad}: {error}");
        assert_eq!(error["extensions"]["field"], "input.posterUrl", "{bad}: {error}");
    }
    assert_eq!(entity::film::Entity::find().count(&app.db).await.unwrap(), films_before, "nothing was written");

    let person = crate::support::fixtures::people(&app.db, 1).await.remove(0);
    let person_id = crate::support::fixtures::gid("Person", person.id);
    let error = app
        .error_as(
            token,
            "mutation($id: ID!) { updatePerson(id: $id, input: { name: \"Renamed\", photoUrl: \"http://example.org/p.jpg\" }) { id } }",
            json!({ "id": person_id }),
        )
        .await;
    assert_eq!(error["extensions"]["field"], "input.photoUrl");
    let unchanged = entity::person::Entity::find_by_id(person.id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(unchanged.name, person.name, "a refused update changes nothing");
    assert_eq!(unchanged.photo_url, None);

    let event = crate::support::fixtures::events(&app.db, 1, None).await.remove(0);
    let error = app
        .error_as(
            token,
            "mutation($id: ID!) { updateEvent(id: $id, input: { imageUrl: \"javascript:alert(1)\" }) { id } }",
            json!({ "id": crate::support::fixtures::gid("Event", event.id) }),
        )
        .await;
    assert_eq!(error["extensions"]["field"], "input.imageUrl");
    let petition = app.data("query($s: String!) { petition(slug: $s) { id } }", json!({ "s": PETITION })).await;
    let error = app
        .error_as(
            token,
            "mutation($id: ID!, $url: String!) { updatePetition(id: $id, input: { imageUrl: $url }) { id } }",
            json!({ "id": petition["petition"]["id"], "url": too_long }),
        )
        .await;
    assert_eq!(error["extensions"]["field"], "input.imageUrl");

    // 2,048 characters is allowed.
    let ok = app
        .data_as(
            token,
            "mutation($id: ID!, $url: String!) { updatePetition(id: $id, input: { imageUrl: $url }) { imageUrl } }",
            json!({ "id": petition["petition"]["id"], "url": just_right }),
        )
        .await;
    assert_eq!(ok["updatePetition"]["imageUrl"], just_right);
}

async fn the_campaign_page_shows_images_with_alt_text(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let petition = app.data("query($s: String!) { petition(slug: $s) { id title } }", json!({ "s": PETITION })).await;
    let image = "https://images.example.org/petition.jpg";
    app.data_as(
        &admin.access_token,
        "mutation($id: ID!, $url: String!) { updatePetition(id: $id, input: { title: \"Alita <2> & friends\", imageUrl: $url }) { id } }",
        json!({ "id": petition["petition"]["id"], "url": image }),
    )
    .await;
    let Some(mut browser) = Browser::open(&format!("{}/campaign", app.address)).await else { return };
    browser.wait_for("document.body.dataset.loaded === 'true'", Duration::from_secs(20)).await;
    let shown = browser
        .eval(&format!(
            "(() => {{ const img = document.querySelector('[data-slug=\"{PETITION}\"] img.picture');
                return img && {{ src: img.getAttribute('src'), alt: img.getAttribute('alt'),
                  title: document.querySelector('[data-slug=\"{PETITION}\"] h3').innerHTML }}; }})()"
        ))
        .await;
    assert_eq!(shown["src"], image, "{shown}");
    assert_eq!(shown["alt"], "Alita <2> & friends", "the alt text is the title: {shown}");
    assert_eq!(shown["title"], "Alita &lt;2&gt; &amp; friends", "the title is escaped: {shown}");
}
