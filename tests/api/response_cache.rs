//! The response cache: an anonymous query asked again is answered from memory, without a
//! statement, until a change to public data (by any request, on any process on the database), a
//! moved count or a scheduled update coming due drops it; requests with a viewer never touch it;
//! `FANDB_RESPONSE_CACHE=off` turns it off.

use std::time::{Duration, Instant};

use entity::enums::Role;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::process::ServerProcess;
use crate::support::{TestApp, fixtures};

const FILM: &str = r#"query Film { film(slug: "alita-battle-angel") { title } }"#;
const RENAME: &str = "mutation($id: ID!, $title: String!) { updateFilm(id: $id, input: { title: $title }) { title } }";
const PETITION_SLUG: &str = "open-letter-to-disney-alita-sequel";
const COUNT: &str = "query($slug: String!) { petition(slug: $slug) { id signatureCount } }";
const SIGN: &str = "mutation($p: ID!) { signPetition(petitionId: $p) { id } }";
const UPDATES: &str = "query($slug: String!) { petition(slug: $slug) { updates(first: 20) { nodes { title } } } }";
const POST_UPDATE: &str =
    "mutation($p: ID!, $input: PostPetitionUpdateInput!) { postPetitionUpdate(petitionId: $p, input: $input) { id } }";

/// How long a change may take to reach another process's cache before the test gives up (the
/// invalidation latency itself is milliseconds; this only bounds a busy machine).
const DEADLINE: Duration = Duration::from_secs(20);

/// A server on `database_url` with the response cache on, as in a deployment.
async fn cached(database_url: &str) -> TestApp {
    TestApp::spawn_with(database_url, |settings| settings.response_cache = true).await.without_differential()
}

/// The value of a counter in a `/metrics` text.
fn counter_in(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
}

/// Hits, misses and invalidations so far.
async fn counts(app: &TestApp) -> (u64, u64, u64) {
    let text = app.get("/metrics").await.body;
    (
        counter_in(&text, "fandb_response_cache_hits_total"),
        counter_in(&text, "fandb_response_cache_misses_total"),
        counter_in(&text, "fandb_response_cache_invalidations_total"),
    )
}

/// Asks for the petition's count until it reads `expected` (or the deadline passes).
async fn count_reaches(app: &TestApp, expected: i64) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let count = app.data(COUNT, json!({ "slug": PETITION_SLUG })).await["petition"]["signatureCount"].as_i64();
        if count == Some(expected) {
            break;
        }
        assert!(Instant::now() < deadline, "the kept count stayed at {count:?}, not {expected}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn film_title(app_answer: &Value) -> &str {
    app_answer["film"]["title"].as_str().unwrap()
}

db_tests!(
    a_repeated_anonymous_query_is_answered_from_memory_over_post_and_get,
    a_mutation_by_another_request_drops_the_kept_answers,
    requests_with_a_viewer_never_read_nor_fill_the_cache,
    a_signature_reaches_the_kept_count_within_the_window,
    a_scheduled_update_shows_once_it_is_due_without_any_write,
    the_cache_is_off_when_the_settings_say_so,
    a_change_on_one_process_drops_the_answers_another_process_kept,
    a_moved_count_drops_only_the_answers_that_read_it,
    renames_racing_kept_reads_never_leave_an_older_title_kept,
    renames_on_one_process_never_take_another_process_back_in_time,
    a_request_sent_again_byte_for_byte_is_answered_from_memory_and_still_pays_its_cost,
    a_hash_the_store_forgot_is_not_found_though_its_answer_is_kept,
);

async fn a_repeated_anonymous_query_is_answered_from_memory_over_post_and_get(app: TestApp) {
    let app = cached(&app.database_url).await;
    let first = app.graphql(FILM, json!({})).await;
    assert_eq!(film_title(&first["data"]), "Alita: Battle Angel", "{first}");
    assert_eq!(counts(&app).await, (0, 1, 0), "the first asking is a miss");

    let before = app.statements();
    let again = app.graphql(FILM, json!({})).await;
    assert_eq!(again, first);
    assert_eq!(app.statements(), before, "a kept answer runs no statement");

    let query = url_encoded(FILM);
    let get = app.request("GET", &format!("/graphql?query={query}"), &[], None).await;
    assert_eq!(get.status, 200);
    assert_eq!(get.json(), first, "GET shares the answer POST kept");
    assert!(get.header("cache-control").starts_with("public"), "still public for shared caches");
    let tag = get.header("etag").to_owned();
    let revalidated = app.request("GET", &format!("/graphql?query={query}"), &[("if-none-match", &tag)], None).await;
    assert_eq!(revalidated.status, 304, "the ETag of a kept answer is the ETag of the answer");
    assert_eq!(app.statements(), before);
    assert_eq!(counts(&app).await, (3, 1, 0));

    // Other variables are another answer.
    let other = app.graphql(COUNT, json!({ "slug": PETITION_SLUG })).await;
    assert!(other.get("errors").is_none(), "{other}");
    assert_eq!(counts(&app).await, (3, 2, 0));
}

async fn a_mutation_by_another_request_drops_the_kept_answers(app: TestApp) {
    let app = cached(&app.database_url).await;
    let admin = app.sign_in_as(Role::Admin).await;
    let film = app.data(r#"{ film(slug: "alita-battle-angel") { id title } }"#, json!({})).await;
    let id = film["film"]["id"].as_str().unwrap().to_owned();
    app.data(FILM, json!({})).await;
    assert_eq!(film_title(&app.data(FILM, json!({})).await), "Alita: Battle Angel");
    let (hits, _, invalidations) = counts(&app).await;
    assert_eq!(hits, 1);

    app.data_as(&admin.access_token, RENAME, json!({ "id": id, "title": "Alita: Battle Angel (2019)" })).await;
    let after = app.data(FILM, json!({})).await;
    assert_eq!(film_title(&after), "Alita: Battle Angel (2019)", "the very next read sees the change");
    let (_, _, now) = counts(&app).await;
    assert!(now > invalidations, "the mutation dropped the answers ({invalidations} -> {now})");
}

async fn requests_with_a_viewer_never_read_nor_fill_the_cache(app: TestApp) {
    let app = cached(&app.database_url).await;
    let fan = app.sign_in_as(Role::Fan).await;
    for _ in 0..2 {
        let before = app.statements();
        assert_eq!(film_title(&app.data_as(&fan.access_token, FILM, json!({})).await), "Alita: Battle Angel");
        assert!(app.statements() > before, "a viewer's query always runs");
    }
    assert_eq!(counts(&app).await, (0, 0, 0), "neither a hit nor a miss: the cache was not asked");
    // What an anonymous client got kept is not handed to a viewer either.
    app.data(FILM, json!({})).await;
    let before = app.statements();
    app.data_as(&fan.access_token, FILM, json!({})).await;
    assert!(app.statements() > before);
}

async fn a_signature_reaches_the_kept_count_within_the_window(app: TestApp) {
    let app = cached(&app.database_url).await;
    let petition = app.data(COUNT, json!({ "slug": PETITION_SLUG })).await;
    let start = petition["petition"]["signatureCount"].as_i64().unwrap();
    let petition_id = petition["petition"]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.data(COUNT, json!({ "slug": PETITION_SLUG })).await, petition, "kept");
    let (_, token) = fixtures::fan(&app.db, "Counted Fan").await;
    app.data_as(&token, SIGN, json!({ "p": petition_id })).await;
    count_reaches(&app, start + 1).await;
}

async fn a_scheduled_update_shows_once_it_is_due_without_any_write(app: TestApp) {
    let app = cached(&app.database_url).await;
    let moderator = app.sign_in_as(Role::Moderator).await;
    let petition = app.data(COUNT, json!({ "slug": PETITION_SLUG })).await;
    let petition_id = petition["petition"]["id"].as_str().unwrap().to_owned();
    let due = chrono::Utc::now() + chrono::Duration::seconds(8);
    let input = json!({ "title": "Scheduled news", "body": "Soon.", "publishedAt": due.to_rfc3339() });
    app.data_as(&moderator.access_token, POST_UPDATE, json!({ "p": petition_id, "input": input })).await;
    let titles = |answer: Value| -> Vec<String> {
        answer["petition"]["updates"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| node["title"].as_str().unwrap().to_owned())
            .collect()
    };
    // Until it is due the update stays hidden, and the answer hiding it is kept (on PostgreSQL the
    // mutation's own notices come back through LISTEN a moment later and drop it once more, so
    // the first answer kept may not be the one that stays).
    let mut kept = false;
    while !kept && chrono::Utc::now() + chrono::Duration::seconds(2) < due {
        let (hits, _, _) = counts(&app).await;
        let shown = titles(app.data(UPDATES, json!({ "slug": PETITION_SLUG })).await);
        if chrono::Utc::now() < due {
            assert!(!shown.contains(&"Scheduled news".to_owned()), "not yet due: {shown:?}");
        }
        kept = counts(&app).await.0 > hits;
    }
    assert!(kept || chrono::Utc::now() + chrono::Duration::seconds(2) >= due, "an answer before the due time was kept");
    let deadline = Instant::now() + DEADLINE;
    loop {
        let now = titles(app.data(UPDATES, json!({ "slug": PETITION_SLUG })).await);
        if now.contains(&"Scheduled news".to_owned()) {
            break;
        }
        assert!(Instant::now() < deadline, "the update never showed: {now:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn the_cache_is_off_when_the_settings_say_so(app: TestApp) {
    let server = ServerProcess::start(&app.database_url, &[("FANDB_RESPONSE_CACHE", "off")]);
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    for _ in 0..3 {
        let mut response =
            client.post(format!("{}/graphql", server.address)).send_json(&json!({ "query": FILM })).await.unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(film_title(&body["data"]), "Alita: Battle Angel", "{body}");
    }
    let mut metrics = client.get(format!("{}/metrics", server.address)).send().await.unwrap();
    let text = String::from_utf8(metrics.body().await.unwrap().to_vec()).unwrap();
    assert_eq!(counter_in(&text, "fandb_response_cache_hits_total"), 0);
    assert_eq!(counter_in(&text, "fandb_response_cache_misses_total"), 0, "not even asked");
}

/// `fandb serve` as a child process on the same database, and a client for it.
struct OtherProcess {
    server: ServerProcess,
    client: awc::Client,
}

impl OtherProcess {
    fn start(database_url: &str) -> Self {
        let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
        Self { server: ServerProcess::start(database_url, &[]), client }
    }

    /// Its response cache's hits so far.
    async fn hits(&self) -> u64 {
        let request = self.client.get(format!("{}/metrics", self.server.address));
        let text = String::from_utf8(request.send().await.unwrap().body().await.unwrap().to_vec()).unwrap();
        counter_in(&text, "fandb_response_cache_hits_total")
    }

    /// Its answer to `FILM`, anonymous.
    async fn film(&self) -> Value {
        let request = self.client.post(format!("{}/graphql", self.server.address));
        let mut response = request.send_json(&json!({ "query": FILM })).await.unwrap();
        response.json::<Value>().await.unwrap()
    }
}

/// The cross-process case: `fandb serve` as a child process keeps an answer, a server on the same
/// database changes the film, and the child's next reads see the change once the notice arrives.
async fn a_change_on_one_process_drops_the_answers_another_process_kept(app: TestApp) {
    if !app.database_url.starts_with("postgres") {
        // SQLite serves one database from one process: there is no other process to tell.
        return;
    }
    let reader = OtherProcess::start(&app.database_url);
    let ask = || reader.film();
    let hits = || reader.hits();
    assert_eq!(film_title(&ask().await["data"]), "Alita: Battle Angel");
    assert_eq!(film_title(&ask().await["data"]), "Alita: Battle Angel");
    assert_eq!(hits().await, 1, "the child kept the answer");

    let admin = app.sign_in_as(Role::Admin).await;
    let film = app.data(r#"{ film(slug: "alita-battle-angel") { id } }"#, json!({})).await;
    let id = film["film"]["id"].as_str().unwrap().to_owned();
    app.data_as(&admin.access_token, RENAME, json!({ "id": id, "title": "Alita (renamed elsewhere)" })).await;
    let changed = Instant::now();
    loop {
        let answer = ask().await;
        if film_title(&answer["data"]) == "Alita (renamed elsewhere)" {
            break;
        }
        assert!(changed.elapsed() < DEADLINE, "the other process still answers {answer}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!("the change reached the other process's cache after {:?}", changed.elapsed());
}

/// `text` percent-encoded for a query string.
fn url_encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

async fn a_moved_count_drops_only_the_answers_that_read_it(app: TestApp) {
    let app = cached(&app.database_url).await;
    // A root field the planner does not read (`__typename`) may have read anything.
    let film_and_more = r#"query FilmAndMore { film(slug: "alita-battle-angel") { title } __typename }"#;
    let petition = app.data(COUNT, json!({ "slug": PETITION_SLUG })).await;
    let start = petition["petition"]["signatureCount"].as_i64().unwrap();
    let petition_id = petition["petition"]["id"].as_str().unwrap().to_owned();
    let film = app.graphql(FILM, json!({})).await;
    app.graphql(film_and_more, json!({})).await;
    let (_, token) = fixtures::fan(&app.db, "Counted Fan").await;
    app.data_as(&token, SIGN, json!({ "p": petition_id })).await;
    count_reaches(&app, start + 1).await;
    let before = app.statements();
    assert_eq!(app.graphql(FILM, json!({})).await, film);
    assert_eq!(app.statements(), before, "the film's answer read no count and was kept through the signature");
    app.graphql(film_and_more, json!({})).await;
    assert!(app.statements() > before, "an answer the planner did not read whole went with the count");
}

/// The title of take `round` of the race tests (take 0 is the seed's).
fn take(round: usize) -> String {
    if round == 0 { "Alita: Battle Angel".to_owned() } else { format!("Alita: Battle Angel (take {round})") }
}

/// Which take `title` is.
fn take_of(title: &str) -> usize {
    (0..=ROUNDS).find(|round| take(*round) == title).unwrap_or_else(|| panic!("no take is titled {title}"))
}

/// Rounds of the race tests.
const ROUNDS: usize = 30;

/// 30 rounds of a rename racing anonymous reads on one process: four clients read the film over
/// and over for as long as the rename takes, each read a document of its own (an alias per read),
/// so each is a miss that runs its statement and keeps its answer. A read whose statement ran
/// before the rename committed and that keeps its answer after the change dropped the cache would
/// keep the older title: it must not. So every racing read sees this round's title or the last one,
/// and once the rename has answered, each of those documents asked again answers the new title.
async fn renames_racing_kept_reads_never_leave_an_older_title_kept(app: TestApp) {
    let app = cached(&app.database_url).await;
    let admin = app.sign_in_as(Role::Admin).await;
    let film = app.data(r#"{ film(slug: "alita-battle-angel") { id } }"#, json!({})).await;
    let id = film["film"]["id"].as_str().unwrap().to_owned();
    let document = |alias: &str| format!(r#"{{ {alias}: film(slug: "alita-battle-angel") {{ title }} }}"#);
    let title_of = |answer: &Value, alias: &str| take_of(answer[alias]["title"].as_str().unwrap());
    for round in 1..=ROUNDS {
        let renaming = std::sync::atomic::AtomicBool::new(true);
        let reader = |client: usize| {
            let (renaming, document) = (&renaming, &document);
            let app = &app;
            async move {
                let mut seen = Vec::new();
                while renaming.load(std::sync::atomic::Ordering::SeqCst) {
                    let alias = format!("r{round}_c{client}_n{}", seen.len());
                    let answer = app.data(&document(&alias), json!({})).await;
                    seen.push((title_of(&answer, &alias), alias));
                }
                seen
            }
        };
        let rename = async {
            let renamed = app.data_as(&admin.access_token, RENAME, json!({ "id": id, "title": take(round) })).await;
            renaming.store(false, std::sync::atomic::Ordering::SeqCst);
            renamed
        };
        let (racing, renamed) = futures_util::join!(join_all((0..4).map(reader)), rename);
        assert_eq!(renamed["updateFilm"]["title"], json!(take(round)));
        let racing: Vec<(usize, String)> = racing.into_iter().flatten().collect();
        for (seen, alias) in &racing {
            assert!(seen + 1 == round || *seen == round, "round {round}: racing read {alias} saw take {seen}");
        }
        for (_, alias) in &racing {
            let again = title_of(&app.data(&document(alias), json!({})).await, alias);
            assert_eq!(again, round, "round {round}: {alias} asked again after the rename answered take {again}");
        }
    }
}

/// The same race across processes: renames on this server, a reader on another process polling
/// the film through its cache. The reader may see a rename late (the notice's latency), but never
/// a title older than one it saw before, and each rename reaches it.
async fn renames_on_one_process_never_take_another_process_back_in_time(app: TestApp) {
    if !app.database_url.starts_with("postgres") {
        // SQLite serves one database from one process: there is no other process to tell.
        return;
    }
    let reader = OtherProcess::start(&app.database_url);
    let ask = || async { take_of(film_title(&reader.film().await["data"])) };
    let admin = app.sign_in_as(Role::Admin).await;
    let film = app.data(r#"{ film(slug: "alita-battle-angel") { id } }"#, json!({})).await;
    let id = film["film"]["id"].as_str().unwrap().to_owned();
    let mut highest = ask().await;
    for round in 1..=ROUNDS {
        let rename = app.data_as(&admin.access_token, RENAME, json!({ "id": id, "title": take(round) }));
        let (racing, _) = futures_util::join!(join_all((0..4).map(|_| ask())), rename);
        let renamed = Instant::now();
        for seen in racing {
            assert!(seen + 1 >= round && seen <= round, "round {round}: a racing read saw take {seen}");
        }
        loop {
            let seen = ask().await;
            assert!(seen >= highest, "round {round}: the reader went back from take {highest} to take {seen}");
            highest = seen;
            if seen == round {
                break;
            }
            assert!(renamed.elapsed() < DEADLINE, "round {round}: the rename never reached the other process");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// A search costs 10 units of the budget of 50: the first asking runs, the second is answered by
/// key, the next ones as sent (their JSON never parsed), and each pays its 10 units until the
/// budget refuses one, with the same `RATE_LIMITED` answer as a request that runs.
async fn a_request_sent_again_byte_for_byte_is_answered_from_memory_and_still_pays_its_cost(app: TestApp) {
    let app = TestApp::spawn_with(&app.database_url, |settings| {
        settings.response_cache = true;
        // The default burst of 50, refilled slowly (see `request_cost`).
        settings.limits = api::config::Limits { requests_per_second: 1, ..api::config::Limits::default() };
    })
    .await
    .without_differential();
    let body =
        serde_json::to_vec(&json!({ "query": "{ search(query: \"alita\", first: 5) { __typename } }" })).unwrap();
    let send = || app.request("POST", "/graphql", &[("content-type", "application/json")], Some(body.clone()));
    let started = Instant::now();
    let first = send().await.json();
    assert!(first.get("errors").is_none(), "{first}");
    let before = app.statements();
    let mut answered = 1;
    let refused = loop {
        let answer = send().await.json();
        if answer.get("errors").is_some() {
            break answer;
        }
        assert_eq!(answer, first, "a kept answer is the answer");
        answered += 1;
        assert!(answered <= 20, "the budget never refused a search");
    };
    assert_eq!(refused["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{refused}");
    // 50 units pay for 5 searches, plus one per 10 s of refill while the test ran.
    let refilled = started.elapsed().as_secs() / 10;
    assert!(answered <= 5 + refilled, "{answered} searches answered from a budget of 50");
    let (hits, misses, _) = counts(&app).await;
    // Every asking after the first was a hit; the refused one never reached the cache.
    assert_eq!((hits, misses), (answered - 1, 1));
    assert_eq!(app.statements(), before, "answers from memory run no statement");
}

/// Without a manifest, the automatic store keeps at most 1,024 documents. Once it forgot one, the
/// request that names it by hash alone is answered `PERSISTED_QUERY_NOT_FOUND` (the client then
/// sends the text again), though the same bytes were answered from memory before and the answer
/// is still kept.
async fn a_hash_the_store_forgot_is_not_found_though_its_answer_is_kept(app: TestApp) {
    let app = cached(&app.database_url).await;
    let persisted = |hash: &str| json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let post = |body: Value| {
        let body = serde_json::to_vec(&body).unwrap();
        app.request("POST", "/graphql", &[("content-type", "application/json")], Some(body))
    };
    let hash = api::graphql::persisted::sha256_hex(FILM.as_bytes());
    let registered = post(json!({ "query": FILM, "extensions": persisted(&hash) })).await.json();
    assert_eq!(film_title(&registered["data"]), "Alita: Battle Angel", "{registered}");
    for _ in 0..3 {
        let by_hash = post(json!({ "extensions": persisted(&hash) })).await.json();
        assert_eq!(by_hash, registered);
    }
    for index in 0..1_024 {
        let other = format!("query Other{index} {{ __typename }}");
        let other_hash = api::graphql::persisted::sha256_hex(other.as_bytes());
        let answer = post(json!({ "query": other, "extensions": persisted(&other_hash) })).await.json();
        assert!(answer.get("errors").is_none(), "{answer}");
    }
    let forgotten = post(json!({ "extensions": persisted(&hash) })).await.json();
    assert_eq!(forgotten["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND", "{forgotten}");
    assert_eq!(film_title(&app.data(FILM, json!({})).await), "Alita: Battle Angel", "the text still runs");
}
