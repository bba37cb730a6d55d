//! Petition updates: moderators and admins post news to a petition in Markdown; everyone reads it
//! as sanitized HTML in `Petition.updates` (newest first, paged), in search, on `/campaign` and
//! live through `petitionUpdates`. Fans and anonymous clients cannot post, bad input names its
//! field and writes nothing, and an update scheduled for later stays hidden from fans until then,
//! when subscribers get it.

use std::time::Duration;

use entity::enums::Role;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::browser::Browser;
use crate::support::ws::Subscriber;

const PETITION: &str = "open-letter-to-disney-alita-sequel";
const POST: &str = "mutation($petition: ID!, $input: PostPetitionUpdateInput!) {
    postPetitionUpdate(petitionId: $petition, input: $input) { id title body bodyHtml publishedAt petition { slug } } }";
const UPDATES: &str = "query($slug: String!, $first: Int, $after: String) { petition(slug: $slug) {
    updates(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
      nodes { id title bodyHtml publishedAt } } } }";
/// Markdown with what must not survive: a script, an inline handler and a `javascript:` link.
const HOSTILE: &str = "We are **almost there**!\n\n<script>alert('x')</script>\n\n\
    [click me](javascript:alert(1)) and <img src=x onerror=\"alert(2)\"> and [the letter](https://example.org/letter)";

db_tests!(
    a_moderator_posts_updates_that_everyone_reads_pages_and_finds,
    an_update_scheduled_for_later_is_hidden_from_fans_until_then,
    fans_and_anonymous_clients_cannot_post_and_bad_input_writes_nothing,
    a_subscriber_receives_each_new_update_in_order,
    a_scheduled_update_reaches_subscribers_when_its_time_comes_once,
    an_update_edited_to_be_published_now_reaches_subscribers,
    an_update_posted_through_one_server_process_reaches_subscribers_of_another,
    the_updates_of_many_petitions_cost_no_more_statements_than_of_two,
    the_campaign_page_shows_each_petitions_latest_update_sanitized
);

async fn petition_id(app: &TestApp) -> Value {
    app.data("query($s: String!) { petition(slug: $s) { id } }", json!({ "s": PETITION })).await["petition"]["id"]
        .clone()
}

async fn post(app: &TestApp, token: &str, petition: &Value, title: &str, body: &str) -> Value {
    let input = json!({ "title": title, "body": body });
    app.data_as(token, POST, json!({ "petition": petition, "input": input })).await["postPetitionUpdate"].clone()
}

async fn stored(app: &TestApp) -> u64 {
    entity::petition_update::Entity::find().count(&app.db).await.unwrap()
}

fn assert_sanitized(html: &str) {
    assert!(html.contains("<strong>almost there</strong>"), "Markdown is rendered: {html}");
    assert!(!html.contains("<script"), "no script: {html}");
    assert!(!html.contains("alert"), "no script text or handler survives: {html}");
    assert!(!html.contains("javascript:"), "no javascript: link: {html}");
    assert!(!html.contains("onerror"), "no event handler: {html}");
    assert!(html.contains("href=\"https://example.org/letter\""), "safe links stay: {html}");
}

async fn a_moderator_posts_updates_that_everyone_reads_pages_and_finds(app: TestApp) {
    let moderator = app.sign_in_as(Role::Moderator).await;
    let admin = app.sign_in_as(Role::Admin).await;
    let petition = petition_id(&app).await;
    let first = post(&app, &moderator.access_token, &petition, "Fifty thousand signatures", HOSTILE).await;
    assert_eq!(first["petition"]["slug"], PETITION);
    assert_eq!(first["body"], HOSTILE, "the Markdown is kept as written");
    assert_sanitized(first["bodyHtml"].as_str().unwrap());
    let second =
        post(&app, &admin.access_token, &petition, "Billboard in Times Square", "The *Zalemboard* is up.").await;
    let third = post(&app, &moderator.access_token, &petition, "Thank you", "On to **sixty** thousand.").await;

    // Newest first, paged with cursors; anonymous readers see the same.
    let page = app.data(UPDATES, json!({ "slug": PETITION, "first": 2 })).await["petition"]["updates"].clone();
    assert_eq!(page["totalCount"], 3);
    let ids: Vec<&Value> = page["nodes"].as_array().unwrap().iter().map(|node| &node["id"]).collect();
    assert_eq!(ids, [&third["id"], &second["id"]]);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let after = page["pageInfo"]["endCursor"].clone();
    let rest =
        app.data(UPDATES, json!({ "slug": PETITION, "first": 2, "after": after })).await["petition"]["updates"].clone();
    assert_eq!(rest["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(rest["nodes"][0]["id"], first["id"]);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    assert_sanitized(rest["nodes"][0]["bodyHtml"].as_str().unwrap());

    // A global ID like every other object.
    let node = app
        .data(
            "query($id: ID!) { node(id: $id) { __typename ... on PetitionUpdate { title } } }",
            json!({ "id": second["id"] }),
        )
        .await;
    assert_eq!(node["node"], json!({ "__typename": "PetitionUpdate", "title": "Billboard in Times Square" }));

    // Search finds updates by title and body, accents and case aside.
    let query = "query($q: String!) { search(query: $q) { __typename ... on PetitionUpdate { id title } } }";
    let found = app.data(query, json!({ "q": "zalemboard" })).await["search"].clone();
    assert_eq!(
        found,
        json!([{ "__typename": "PetitionUpdate", "id": second["id"], "title": "Billboard in Times Square" }])
    );
    let found = app.data(query, json!({ "q": "billbo" })).await["search"].clone();
    assert_eq!(found[0]["id"], second["id"], "{found}");

    // Edited: the HTML follows the Markdown, and search follows the text.
    let edit = "mutation($id: ID!, $input: EditPetitionUpdateInput!) { editPetitionUpdate(id: $id, input: $input) { title bodyHtml } }";
    let edited = app
        .data_as(
            &admin.access_token,
            edit,
            json!({ "id": second["id"], "input": { "body": "The __Ironcityboard__ is up." } }),
        )
        .await;
    assert_eq!(edited["editPetitionUpdate"]["title"], "Billboard in Times Square");
    assert!(edited["editPetitionUpdate"]["bodyHtml"].as_str().unwrap().contains("<strong>Ironcityboard</strong>"));
    assert_eq!(app.data(query, json!({ "q": "zalemboard" })).await["search"], json!([]));
    assert_eq!(app.data(query, json!({ "q": "ironcityboard" })).await["search"][0]["id"], second["id"]);

    // Deleted: gone from the list and from search.
    let delete = "mutation($id: ID!) { deletePetitionUpdate(id: $id) }";
    app.data_as(&moderator.access_token, delete, json!({ "id": second["id"] })).await;
    let after_delete =
        app.data(UPDATES, json!({ "slug": PETITION })).await["petition"]["updates"]["totalCount"].clone();
    assert_eq!(after_delete, 2);
    assert_eq!(app.data(query, json!({ "q": "ironcityboard" })).await["search"], json!([]));
    let again = app.error_as(&moderator.access_token, delete, json!({ "id": second["id"] })).await;
    assert_eq!(again["extensions"]["code"], "NOT_FOUND");
}

async fn an_update_scheduled_for_later_is_hidden_from_fans_until_then(app: TestApp) {
    let moderator = app.sign_in_as(Role::Moderator).await;
    let fan = app.sign_in_as(Role::Fan).await;
    let petition = petition_id(&app).await;
    let later = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let input = json!({ "title": "Premiere night", "body": "Embargoed Kuzuryuu news.", "publishedAt": later });
    let variables = json!({ "petition": petition, "input": input });
    let scheduled = app.data_as(&moderator.access_token, POST, variables).await["postPetitionUpdate"].clone();

    let count = |response: Value| response["petition"]["updates"]["totalCount"].clone();
    assert_eq!(count(app.data(UPDATES, json!({ "slug": PETITION })).await), 0, "anonymous");
    assert_eq!(count(app.data_as(&fan.access_token, UPDATES, json!({ "slug": PETITION })).await), 0, "fan");
    let staff = app.data_as(&moderator.access_token, UPDATES, json!({ "slug": PETITION })).await;
    assert_eq!(count(staff.clone()), 1, "moderators see what is scheduled");
    assert_eq!(staff["petition"]["updates"]["nodes"][0]["id"], scheduled["id"]);
    let node = "query($id: ID!) { node(id: $id) { id } }";
    assert_eq!(app.data(node, json!({ "id": scheduled["id"] })).await["node"], Value::Null);
    let search = "query($q: String!) { search(query: $q) { __typename } }";
    assert_eq!(app.data(search, json!({ "q": "kuzuryuu" })).await["search"], json!([]));

    // Once its time has come, everyone sees it.
    let now = chrono::Utc::now().to_rfc3339();
    let edit = "mutation($id: ID!, $at: DateTime!) { editPetitionUpdate(id: $id, input: { publishedAt: $at }) { id } }";
    app.data_as(&moderator.access_token, edit, json!({ "id": scheduled["id"], "at": now })).await;
    assert_eq!(count(app.data(UPDATES, json!({ "slug": PETITION })).await), 1);
    assert_eq!(
        app.data(search, json!({ "q": "kuzuryuu" })).await["search"],
        json!([{ "__typename": "PetitionUpdate" }])
    );
}

async fn fans_and_anonymous_clients_cannot_post_and_bad_input_writes_nothing(app: TestApp) {
    let moderator = app.sign_in_as(Role::Moderator).await;
    let fan = app.sign_in_as(Role::Fan).await;
    let petition = petition_id(&app).await;
    let good = json!({ "petition": petition, "input": { "title": "News", "body": "Some news." } });

    let anonymous = app.error(POST, good.clone()).await;
    assert_eq!(anonymous["extensions"]["code"], "UNAUTHENTICATED");
    let refused = app.error_as(&fan.access_token, POST, good.clone()).await;
    assert_eq!(refused["extensions"]["code"], "FORBIDDEN");

    let long_title = "t".repeat(201);
    let long_body = "b".repeat(20_001);
    let unknown = crate::support::fixtures::gid("Petition", 987_654);
    let film = crate::support::fixtures::gid("Film", 1);
    let news = json!({ "title": "News", "body": "Some news." });
    let cases = [
        (&petition, json!({ "title": "  ", "body": "Some news." }), "input.title"),
        (&petition, json!({ "title": long_title, "body": "Some news." }), "input.title"),
        (&petition, json!({ "title": "News", "body": "" }), "input.body"),
        (&petition, json!({ "title": "News", "body": long_body }), "input.body"),
        (&json!(unknown), news.clone(), "petitionId"),
        (&json!(film), news.clone(), "petitionId"),
        (&json!("not a global ID"), news.clone(), "petitionId"),
    ];
    for (petition, input, field) in cases {
        let variables = json!({ "petition": petition, "input": input });
        let error = app.error_as(&moderator.access_token, POST, variables).await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error}");
        assert_eq!(error["extensions"]["field"], field, "{error}");
    }
    assert_eq!(stored(&app).await, 0, "nothing was written");

    // Editing follows the same rules and changes nothing when refused.
    let posted = post(&app, &moderator.access_token, &petition, "News", "Some news.").await;
    let edit =
        "mutation($id: ID!, $input: EditPetitionUpdateInput!) { editPetitionUpdate(id: $id, input: $input) { id } }";
    let error =
        app.error_as(&moderator.access_token, edit, json!({ "id": posted["id"], "input": { "title": null } })).await;
    assert_eq!(error["extensions"]["field"], "input.title");
    let error =
        app.error_as(&fan.access_token, edit, json!({ "id": posted["id"], "input": { "title": "Mine" } })).await;
    assert_eq!(error["extensions"]["code"], "FORBIDDEN");
    let titles = app.data(UPDATES, json!({ "slug": PETITION })).await["petition"]["updates"]["nodes"].clone();
    assert_eq!(titles[0]["title"], "News");
    assert_eq!(stored(&app).await, 1);
}

/// Posts warm-up updates until `subscriber` receives one (the subscription sends nothing before,
/// so there is no other sign that it has started), then returns the last one posted as received.
async fn first_update(app: &TestApp, token: &str, petition: &Value, subscriber: &mut Subscriber) -> Value {
    for attempt in 0..40 {
        let posted = post(app, token, petition, &format!("Warm-up {attempt}"), "Hello.").await;
        let Ok(mut data) = tokio::time::timeout(Duration::from_millis(500), subscriber.next_data()).await else {
            continue;
        };
        // An earlier warm-up may have got there after all; the ones after it follow in order.
        while data["petitionUpdates"]["id"] != posted["id"] {
            assert!(data["petitionUpdates"]["title"].as_str().unwrap().starts_with("Warm-up"), "{data}");
            data = subscriber.next_data().await;
        }
        return data["petitionUpdates"].clone();
    }
    panic!("the subscription never started");
}

async fn a_subscriber_receives_each_new_update_in_order(app: TestApp) {
    let moderator = app.sign_in_as(Role::Moderator).await;
    let petition = petition_id(&app).await;
    let query = "subscription($p: ID!) { petitionUpdates(petitionId: $p) { id title bodyHtml petition { slug } } }";
    let mut subscriber = Subscriber::start(&app.address, None, query, json!({ "p": petition })).await.unwrap();

    let received = first_update(&app, &moderator.access_token, &petition, &mut subscriber).await;
    assert_eq!(received["petition"]["slug"], PETITION);

    let mut sent = Vec::new();
    for n in 0..5 {
        sent.push(post(&app, &moderator.access_token, &petition, &format!("News {n}"), HOSTILE).await["id"].clone());
    }
    for id in sent {
        let next = subscriber.next_data().await;
        assert_eq!(next["petitionUpdates"]["id"], id, "updates arrive in order, none skipped");
        assert_sanitized(next["petitionUpdates"]["bodyHtml"].as_str().unwrap());
    }

    let missing = crate::support::fixtures::gid("Petition", 987_654);
    let mut refused = Subscriber::start(&app.address, None, query, json!({ "p": missing })).await.unwrap();
    let message = refused.receive().await.unwrap();
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND", "{message}");
    assert_eq!(refused.receive().await.unwrap()["type"], "complete");
}

/// How long a test waits for a message the server owes: generous, so a busy machine does not fail
/// a test that waits for a scheduled time to come.
const DEADLINE: Duration = Duration::from_secs(30);

/// The next update `subscriber` receives, within `DEADLINE`.
async fn next_update(subscriber: &mut Subscriber) -> Value {
    let data = tokio::time::timeout(DEADLINE, subscriber.next_data()).await.expect("an update within the deadline");
    data["petitionUpdates"].clone()
}

fn instant(value: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap().into()
}

/// Posts an update as `token` with `publishedAt` set.
async fn post_at(
    app: &TestApp,
    token: &str,
    petition: &Value,
    title: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Value {
    let input = json!({ "title": title, "body": "Soon.", "publishedAt": at.to_rfc3339() });
    app.data_as(token, POST, json!({ "petition": petition, "input": input })).await["postPetitionUpdate"].clone()
}

const SUBSCRIBE: &str = "subscription($p: ID!) { petitionUpdates(petitionId: $p) { id title publishedAt } }";

async fn a_scheduled_update_reaches_subscribers_when_its_time_comes_once(app: TestApp) {
    let moderator = app.sign_in_as(Role::Moderator).await;
    let token = moderator.access_token.as_str();
    let petition = petition_id(&app).await;
    let mut subscriber = Subscriber::start(&app.address, None, SUBSCRIBE, json!({ "p": petition })).await.unwrap();
    first_update(&app, token, &petition, &mut subscriber).await;

    let scheduled =
        post_at(&app, token, &petition, "Scheduled", chrono::Utc::now() + chrono::Duration::seconds(2)).await;
    let immediate = post(&app, token, &petition, "Immediate", "Now.").await;
    // Normally the immediate one first; on a machine so busy that the scheduled one fell due
    // before the other was posted, the scheduled one. Either way by publication time.
    let (first, second) = (next_update(&mut subscriber).await, next_update(&mut subscriber).await);
    let received_at = chrono::Utc::now();
    let mut expected = [&immediate, &scheduled];
    expected.sort_by_key(|update| (instant(&update["publishedAt"]), update["title"] == "Immediate"));
    assert_eq!([&first["id"], &second["id"]], [&expected[0]["id"], &expected[1]["id"]], "{first} {second}");
    assert!(instant(&scheduled["publishedAt"]) <= received_at, "not before its time");

    // Sent once: what follows is the next update, not either again.
    let next = post(&app, token, &petition, "After", "Later still.").await;
    assert_eq!(next_update(&mut subscriber).await["id"], next["id"]);
}

async fn an_update_edited_to_be_published_now_reaches_subscribers(app: TestApp) {
    let moderator = app.sign_in_as(Role::Moderator).await;
    let token = moderator.access_token.as_str();
    let petition = petition_id(&app).await;
    let far = chrono::Utc::now() + chrono::Duration::days(3);
    // One scheduled before the subscription began, one after: both are owed once published.
    let before = post_at(&app, token, &petition, "Scheduled before", far).await;
    let mut subscriber = Subscriber::start(&app.address, None, SUBSCRIBE, json!({ "p": petition })).await.unwrap();
    first_update(&app, token, &petition, &mut subscriber).await;
    let after = post_at(&app, token, &petition, "Scheduled after", far).await;
    let immediate = post(&app, token, &petition, "Immediate", "Now.").await;
    assert_eq!(next_update(&mut subscriber).await["id"], immediate["id"], "the scheduled ones wait");

    let edit = "mutation($id: ID!, $at: DateTime!) { editPetitionUpdate(id: $id, input: { publishedAt: $at }) { id } }";
    for update in [&after, &before] {
        app.data_as(token, edit, json!({ "id": update["id"], "at": chrono::Utc::now().to_rfc3339() })).await;
        assert_eq!(next_update(&mut subscriber).await["id"], update["id"]);
    }
    // Backdated, behind every update sent so far: still sent, once it is posted.
    let backdated = post_at(&app, token, &petition, "Backdated", chrono::Utc::now() - chrono::Duration::hours(1)).await;
    assert_eq!(next_update(&mut subscriber).await["id"], backdated["id"]);
    // Editing the title of a published update sends nothing again.
    let retitle = "mutation($id: ID!) { editPetitionUpdate(id: $id, input: { title: \"Renamed\" }) { id } }";
    app.data_as(token, retitle, json!({ "id": before["id"] })).await;
    let next = post(&app, token, &petition, "After", "Later still.").await;
    assert_eq!(next_update(&mut subscriber).await["id"], next["id"]);
}

async fn the_campaign_page_shows_each_petitions_latest_update_sanitized(app: TestApp) {
    let moderator = app.sign_in_as(Role::Moderator).await;
    let petition = petition_id(&app).await;
    post(&app, &moderator.access_token, &petition, "Older news", "Old.").await;
    post(&app, &moderator.access_token, &petition, "Mind <b>the</b> gap", HOSTILE).await;
    let Some(mut browser) = Browser::open(&format!("{}/campaign", app.address)).await else { return };
    browser.wait_for("document.body.dataset.loaded === 'true'", Duration::from_secs(20)).await;
    let card = format!("document.querySelector('[data-slug=\"{PETITION}\"]')");
    let shown = browser
        .eval(&format!(
            "(() => {{ const update = {card}.querySelector('.update'); return {{
                updates: {card}.querySelectorAll('.update').length,
                heading: update.querySelector('h4').textContent,
                headingElements: update.querySelector('h4').children.length,
                html: update.querySelector('.update-body').innerHTML,
                strong: update.querySelector('.update-body strong')?.textContent,
                scripts: update.querySelectorAll('script').length,
            }}; }})()"
        ))
        .await;
    assert_eq!(shown["updates"], 1, "only the latest update: {shown}");
    assert_eq!(shown["heading"], "Update: Mind <b>the</b> gap", "the title is text, not markup: {shown}");
    assert_eq!(shown["headingElements"], 0, "{shown}");
    assert_eq!(shown["strong"], "almost there", "{shown}");
    assert_eq!(shown["scripts"], 0, "{shown}");
    assert_sanitized(shown["html"].as_str().unwrap());
}

async fn an_update_posted_through_one_server_process_reaches_subscribers_of_another(app: TestApp) {
    if !app.database_url.starts_with("postgres") {
        return; // Notices cross processes only through PostgreSQL; SQLite serves one process.
    }
    let moderator = app.sign_in_as(Role::Moderator).await;
    let petition = petition_id(&app).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut second = std::process::Command::new(env!("CARGO_BIN_EXE_fandb"))
        .args(["serve", "--no-seed"])
        .env("DATABASE_URL", &app.database_url)
        .env("FANDB_LISTEN", format!("127.0.0.1:{port}"))
        .env("FANDB_JWT_SECRET", crate::support::TEST_JWT_SECRET)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start a second fandb process");
    let mut ready = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            ready = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let query = "subscription($p: ID!) { petitionUpdates(petitionId: $p) { id title } }";
    let result = async {
        assert!(ready, "the second process did not start listening");
        let mut subscriber =
            Subscriber::start(&format!("http://127.0.0.1:{port}"), None, query, json!({ "p": petition })).await?;
        first_update(&app, &moderator.access_token, &petition, &mut subscriber).await;
        let posted = post(&app, &moderator.access_token, &petition, "Across processes", "Hello from :first.").await;
        Ok::<_, String>((posted, subscriber.next_data().await))
    }
    .await;
    let _ = second.kill();
    let _ = second.wait();
    let (posted, received) = result.unwrap();
    assert_eq!(received["petitionUpdates"], json!({ "id": posted["id"], "title": "Across processes" }));
}

/// The SQL statements one read costs, through the resolvers (`Petition.updates` is theirs).
async fn statements(app: &TestApp, query: &str, variables: Value) -> u64 {
    let body = serde_json::to_vec(&json!({ "query": query, "variables": variables })).unwrap();
    let headers = [("content-type", "application/json"), ("x-fandb-read-path", "resolvers")];
    let before = app.statements();
    let response = app.request("POST", "/graphql", &headers, Some(body)).await;
    let spent = app.statements() - before;
    let json = response.json();
    assert!(json.get("errors").is_none(), "unexpected errors: {json}");
    spent
}

async fn the_updates_of_many_petitions_cost_no_more_statements_than_of_two(app: TestApp) {
    let moderator = app.sign_in_as(Role::Moderator).await;
    for petition in crate::support::fixtures::petitions(&app.db, 12).await {
        let id = json!(crate::support::fixtures::gid("Petition", petition.id));
        for n in 0..3 {
            post(&app, &moderator.access_token, &id, &format!("{} news {n}", petition.slug), "News.").await;
        }
    }
    let query = "query($first: Int!) { petitions(first: $first) { nodes { slug
        updates(first: 2) { totalCount pageInfo { hasNextPage } nodes { id title bodyHtml petition { slug } } } } } }";
    let two = statements(&app, query, json!({ "first": 2 })).await;
    let twelve = statements(&app, query, json!({ "first": 12 })).await;
    assert_eq!(two, twelve, "one batch of updates and one of counts, whatever the number of petitions");
    let data = app.data(query, json!({ "first": 12 })).await;
    let nodes = data["petitions"]["nodes"].as_array().unwrap();
    assert!(nodes.len() >= 11, "{data}");
    for petition in nodes.iter().filter(|petition| petition["slug"].as_str().unwrap().starts_with("fixture-")) {
        assert_eq!(petition["updates"]["totalCount"], 3, "{petition}");
        assert_eq!(petition["updates"]["nodes"].as_array().unwrap().len(), 2, "{petition}");
    }
}
