//! Live counters over WebSocket: the current value first, then every change in order, from any
//! server process on the database.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;

use crate::support::TestApp;
use crate::support::ws::Subscriber;
use crate::support::{TEST_JWT_SECRET, fixtures};

const PETITION_COUNT: &str =
    "subscription($p: ID!) { petitionSignatureCount(petitionId: $p) { petitionId signatureCount goal } }";
const SIGN: &str = "mutation($p: ID!) { signPetition(petitionId: $p) { id } }";

db_tests!(
    a_subscriber_sees_the_count_rise_in_order_while_fifty_fans_sign,
    rsvp_counts_are_live_and_bad_subscriptions_are_refused,
    a_signature_made_through_one_server_process_reaches_subscribers_of_another,
    many_subscribers_of_one_petition_each_get_every_count_once_and_in_order,
    counters_served_by_their_sockets_send_byte_for_byte_what_the_schema_sends,
    a_counter_completed_as_soon_as_it_started_sends_nothing_more
);

async fn a_subscriber_sees_the_count_rise_in_order_while_fifty_fans_sign(app: TestApp) {
    let petition = app.data(r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { id goal } }"#, json!({})).await;
    let id = petition["petition"]["id"].clone();
    let mut subscriber = Subscriber::start(&app.address, None, PETITION_COUNT, json!({ "p": id })).await.unwrap();
    let first = subscriber.next_data().await;
    assert_eq!(
        first["petitionSignatureCount"],
        json!({ "petitionId": id, "signatureCount": 0, "goal": petition["petition"]["goal"] })
    );

    let mut tokens = Vec::new();
    for i in 0..50 {
        tokens.push(fixtures::fan(&app.db, &format!("Live Fan {i}")).await.1);
    }
    let responses = join_all(tokens.iter().map(|token| app.graphql_as(Some(token), SIGN, json!({ "p": id })))).await;
    assert!(responses.iter().all(|r| r.get("errors").is_none()));
    // Notices are coalesced (one per counter every 50 ms at most), so counts may be skipped, but
    // they only rise and the last commit's arrives within a second of its answer.
    let committed = std::time::Instant::now();
    let mut last = 0;
    while last < 50 {
        let count = subscriber.next_data().await["petitionSignatureCount"]["signatureCount"].as_i64().unwrap();
        assert!(count > last && count <= 50, "counts arrive in order: {count} after {last}");
        last = count;
    }
    let behind = committed.elapsed();
    assert!(behind < std::time::Duration::from_secs(1), "the last count came {behind:?} after its commit");
}

async fn rsvp_counts_are_live_and_bad_subscriptions_are_refused(app: TestApp) {
    let event = fixtures::events(&app.db, 1, None).await.remove(0);
    use sea_orm::{ActiveModelTrait, Set};
    let mut model: entity::event::ActiveModel = event.into();
    model.starts_at = Set(chrono::Utc::now() + chrono::Duration::days(3));
    model.ends_at = Set(None);
    let event = model.update(&app.db).await.unwrap();
    let id = fixtures::gid("Event", event.id);
    let (_, token) = fixtures::fan(&app.db, "Live Rsvp Fan").await;
    let query = "subscription($e: ID!) { eventRsvpCount(eventId: $e) { rsvpCount capacity } }";
    let mut subscriber = Subscriber::start(&app.address, Some(&token), query, json!({ "e": id })).await.unwrap();
    assert_eq!(subscriber.next_data().await["eventRsvpCount"], json!({ "rsvpCount": 0, "capacity": 10 }));
    app.data_as(&token, "mutation($e: ID!) { rsvpEvent(eventId: $e) { id } }", json!({ "e": id })).await;
    assert_eq!(subscriber.next_data().await["eventRsvpCount"]["rsvpCount"], 1);
    app.data_as(&token, "mutation($e: ID!) { cancelRsvp(eventId: $e) }", json!({ "e": id })).await;
    assert_eq!(subscriber.next_data().await["eventRsvpCount"]["rsvpCount"], 0);

    let refused = Subscriber::start(&app.address, Some("not-a-token"), query, json!({ "e": id })).await;
    assert!(refused.is_err(), "a bad token in connection_init closes the connection");

    let bomb = format!(
        "subscription {{ eventRsvpCount(eventId: {}\"x\"{}) {{ rsvpCount }} }}",
        "[".repeat(2_000),
        "]".repeat(2_000)
    );
    let mut deep = Subscriber::start(&app.address, None, &bomb, json!({})).await.unwrap();
    assert!(deep.receive().await.is_none(), "a nesting bomb ends the connection before the parser sees it");
    assert_eq!(
        app.data("{ events { totalCount } }", json!({})).await["events"]["totalCount"],
        3,
        "the server keeps serving"
    );

    let mut missing =
        Subscriber::start(&app.address, None, query, json!({ "e": fixtures::gid("Event", 99_999) })).await.unwrap();
    let message = missing.receive().await.unwrap();
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(missing.receive().await.unwrap()["type"], "complete");
}

async fn a_signature_made_through_one_server_process_reaches_subscribers_of_another(app: TestApp) {
    if !app.database_url.starts_with("postgres") {
        return; // Notices cross processes only through PostgreSQL; SQLite serves one process.
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut second = std::process::Command::new(env!("CARGO_BIN_EXE_fandb"))
        .args(["serve", "--no-seed"])
        .env("DATABASE_URL", &app.database_url)
        .env("FANDB_LISTEN", format!("127.0.0.1:{port}"))
        .env("FANDB_JWT_SECRET", TEST_JWT_SECRET)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start a second fandb process");
    let second_address = format!("http://127.0.0.1:{port}");
    let mut ready = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            ready = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the second process did not start listening");

    let petition = app.data(r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { id } }"#, json!({})).await;
    let id = petition["petition"]["id"].clone();
    let subscribed = Subscriber::start(&second_address, None, PETITION_COUNT, json!({ "p": id })).await;
    let result = async {
        let mut subscriber = subscribed?;
        let first = subscriber.next_data().await;
        let (_, token) = fixtures::fan(&app.db, "Cross Process Fan").await;
        app.data_as(&token, SIGN, json!({ "p": id })).await;
        let next = subscriber.next_data().await;
        Ok::<_, String>((first, next))
    }
    .await;
    let _ = second.kill();
    let _ = second.wait();
    let (first, next) = result.unwrap();
    assert_eq!(first["petitionSignatureCount"]["signatureCount"], 0);
    assert_eq!(
        next["petitionSignatureCount"]["signatureCount"], 1,
        "the signature made through the first process arrived"
    );
}

async fn many_subscribers_of_one_petition_each_get_every_count_once_and_in_order(app: TestApp) {
    const SUBSCRIBERS: usize = 50;
    const SIGNATURES: i64 = 4;
    let petition = app.data(r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { id } }"#, json!({})).await;
    let id = petition["petition"]["id"].clone();
    let started =
        join_all((0..SUBSCRIBERS).map(|_| Subscriber::start(&app.address, None, PETITION_COUNT, json!({ "p": id }))))
            .await;
    let mut subscribers: Vec<Subscriber> = started.into_iter().collect::<Result<_, _>>().unwrap();
    for (index, first) in join_all(subscribers.iter_mut().map(Subscriber::next_data)).await.iter().enumerate() {
        assert_eq!(first["petitionSignatureCount"]["signatureCount"], 0, "subscriber {index}'s first value");
    }
    let mut tokens = Vec::new();
    for i in 0..SIGNATURES {
        tokens.push(fixtures::fan(&app.db, &format!("Watched Fan {i}")).await.1);
    }
    // One signature at a time, each awaited on every socket before the next: a count repeated or
    // skipped on any socket would show as the wrong next message there.
    for (count, token) in (1..=SIGNATURES).zip(&tokens) {
        let answer = app.graphql_as(Some(token), SIGN, json!({ "p": id })).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let received = join_all(subscribers.iter_mut().map(Subscriber::receive)).await;
        for (index, message) in received.into_iter().enumerate() {
            let message = message.unwrap_or_else(|| panic!("subscriber {index} was closed"));
            assert_eq!(message["type"], "next", "{message}");
            assert_eq!(message["id"], "1", "{message}");
            assert_eq!(
                message["payload"]["data"]["petitionSignatureCount"]["signatureCount"], count,
                "subscriber {index}: {message}"
            );
        }
    }
    // A second operation on each socket answers with the current count at once: any copy of an
    // earlier count still owed to the first would have come before it.
    for subscriber in &mut subscribers {
        subscriber.subscribe("2", PETITION_COUNT, json!({ "p": id })).await;
    }
    for (index, message) in join_all(subscribers.iter_mut().map(Subscriber::receive)).await.into_iter().enumerate() {
        let message = message.unwrap_or_else(|| panic!("subscriber {index} was closed"));
        assert_eq!(message["id"], "2", "subscriber {index} got more than one message per count: {message}");
        assert_eq!(message["payload"]["data"]["petitionSignatureCount"]["signatureCount"], SIGNATURES, "{message}");
    }
}

/// A counter subscription the socket serves itself: aliases, `__typename` and a field order of the
/// client's own.
const LIVE: &str = "subscription($p: ID!) { live: petitionSignatureCount(petitionId: $p) { __typename n: signatureCount goal petitionId } }";
/// The same selection with a directive, which only the schema's executor runs.
const LIVE_BY_SCHEMA: &str = "subscription($p: ID!) { live: petitionSignatureCount(petitionId: $p) { __typename n: signatureCount goal @include(if: true) petitionId } }";

/// `fandb_live_counts_served`, read from `/metrics`.
async fn served_by_sockets(app: &TestApp) -> i64 {
    let metrics = app.get("/metrics").await.body;
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("fandb_live_counts_served "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("fandb_live_counts_served is exported: {metrics}"))
}

/// Waits (up to 15 s) for `fandb_live_counts_served` to read `expected`.
async fn until_served(app: &TestApp, expected: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let served = served_by_sockets(app).await;
        if served == expected {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{served} counter subscriptions served by sockets, not {expected}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn counters_served_by_their_sockets_send_byte_for_byte_what_the_schema_sends(app: TestApp) {
    let petition = app.data(r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { id } }"#, json!({})).await;
    let id = petition["petition"]["id"].clone();
    let variables = json!({ "p": id });
    // The schema runs a document the first time and keeps it parsed; from then on sockets serve it.
    let mut by_schema = Subscriber::start(&app.address, None, LIVE, variables.clone()).await.unwrap();
    let first = by_schema.raw().await.unwrap();
    assert_eq!(served_by_sockets(&app).await, 0);
    let mut by_socket = Subscriber::start(&app.address, None, LIVE, variables.clone()).await.unwrap();
    assert_eq!(by_socket.raw().await.unwrap(), first);
    assert_eq!(served_by_sockets(&app).await, 1, "the second subscriber is served by its socket");
    let mut directed = Subscriber::start(&app.address, None, LIVE_BY_SCHEMA, variables.clone()).await.unwrap();
    assert_eq!(directed.raw().await.unwrap(), first);
    let mut again = Subscriber::start(&app.address, None, LIVE_BY_SCHEMA, variables.clone()).await.unwrap();
    assert_eq!(again.raw().await.unwrap(), first);
    assert_eq!(served_by_sockets(&app).await, 1, "a directive keeps a document with the schema");
    let typename = r#""__typename":"PetitionCount","n":0,"goal":"#;
    assert!(
        first.starts_with(r#"{"type":"next","id":"1","payload":{"data":{"live":{"#) && first.contains(typename),
        "{first}"
    );

    let mut tokens = Vec::new();
    for i in 0..3 {
        tokens.push(fixtures::fan(&app.db, &format!("Byte Fan {i}")).await.1);
    }
    for (count, token) in (1..=2).zip(&tokens) {
        let answer = app.graphql_as(Some(token), SIGN, json!({ "p": id })).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let expected = by_schema.raw().await.unwrap();
        assert!(expected.contains(&format!(r#""n":{count},"#)), "{expected}");
        assert_eq!(by_socket.raw().await.unwrap(), expected, "count {count}");
        assert_eq!(directed.raw().await.unwrap(), expected, "count {count}");
        assert_eq!(again.raw().await.unwrap(), expected, "count {count}");
    }

    // `complete` ends it as the schema ends one: a `complete` back, and nothing after.
    by_socket.complete("1").await;
    assert_eq!(by_socket.raw().await.unwrap(), r#"{"type":"complete","id":"1"}"#);
    until_served(&app, 0).await;
    // Ids are the client's: "1" again, and "2" beside it; a petition that is not there is the
    // schema's to refuse, as before.
    by_socket.subscribe("1", LIVE, variables.clone()).await;
    assert!(by_socket.raw().await.unwrap().contains(r#""n":2,"#));
    by_socket.subscribe("2", PETITION_COUNT, variables.clone()).await;
    let second = by_socket.receive().await.unwrap();
    assert_eq!(
        (&second["id"], &second["payload"]["data"]["petitionSignatureCount"]["signatureCount"]),
        (&json!("2"), &json!(2))
    );
    by_socket.subscribe("3", PETITION_COUNT, json!({ "p": fixtures::gid("Petition", 99_999) })).await;
    let missing = by_socket.receive().await.unwrap();
    assert_eq!(missing["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND", "{missing}");
    assert_eq!(by_socket.receive().await.unwrap(), json!({ "type": "complete", "id": "3" }));
    // "2" was this server's first `PETITION_COUNT`, so the schema runs it.
    until_served(&app, 1).await;

    let answer = app.graphql_as(Some(&tokens[2]), SIGN, json!({ "p": id })).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let message = by_socket.receive().await.unwrap();
        assert_eq!(message["type"], "next", "{message}");
        let count = if message["id"] == "1" {
            message["payload"]["data"]["live"]["n"].clone()
        } else {
            message["payload"]["data"]["petitionSignatureCount"]["signatureCount"].clone()
        };
        assert_eq!(count, 3, "{message}");
        ids.push(message["id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    assert_eq!(ids, ["1", "2"], "each operation gets the count once");
    assert_eq!(by_schema.raw().await.unwrap(), by_schema_expected(&first, 3));

    drop(by_socket);
    until_served(&app, 0).await;
}

/// `first` (a `next` at count 0) at `count`.
fn by_schema_expected(first: &str, count: i64) -> String {
    first.replacen(r#""n":0,"#, &format!(r#""n":{count},"#), 1)
}

/// `subscribe`, `complete` and `subscribe` again, sent at once (as a UI that mounts, unmounts and
/// mounts again does): the first subscription ends for good, whatever the socket had started.
async fn a_counter_completed_as_soon_as_it_started_sends_nothing_more(app: TestApp) {
    let petition = app.data(r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { id } }"#, json!({})).await;
    let id = petition["petition"]["id"].clone();
    let variables = json!({ "p": id });
    // The schema keeps the document parsed; from then on sockets serve it.
    let mut warm = Subscriber::start(&app.address, None, PETITION_COUNT, variables.clone()).await.unwrap();
    warm.next_data().await;
    let (_, token) = fixtures::fan(&app.db, "Remounting Fan").await;
    let mut socket = Subscriber::connect(&app.address, None).await.unwrap();
    for round in 0..10 {
        let (first, second) = (format!("a{round}"), format!("b{round}"));
        let subscribe = |id: &str| json!({ "id": id, "type": "subscribe", "payload": { "query": PETITION_COUNT, "variables": variables } });
        socket
            .send_together(&[subscribe(&first), json!({ "id": first, "type": "complete" }), subscribe(&second)])
            .await;
        let mut seen = Vec::new();
        while seen.len() < 3 {
            let message = socket.receive().await.unwrap();
            seen.push((message["type"].as_str().unwrap().to_owned(), message["id"].as_str().unwrap().to_owned()));
        }
        assert_eq!(
            seen,
            [
                ("next".to_owned(), first.clone()),
                ("complete".to_owned(), first.clone()),
                ("next".to_owned(), second.clone())
            ],
            "round {round}"
        );
        until_served(&app, 1).await;
        // A change reaches the second subscription only.
        let mutation = if round % 2 == 0 { SIGN } else { "mutation($p: ID!) { withdrawSignature(petitionId: $p) }" };
        let answer = app.graphql_as(Some(&token), mutation, json!({ "p": id })).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let next = socket.receive().await.unwrap();
        assert_eq!((&next["type"], &next["id"]), (&json!("next"), &json!(second)), "round {round}: {next}");
        socket.complete(&second).await;
        assert_eq!(socket.receive().await.unwrap(), json!({ "type": "complete", "id": second }));
        warm.next_data().await;
    }
    // None is left running: every subscription the socket served has ended.
    until_served(&app, 0).await;
}
