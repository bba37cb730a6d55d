//! Clients that push: a WebSocket spends the same per-IP budget as HTTP and is capped in the
//! operations it runs and starts, an IP in the sockets it holds; SIGTERM closes open sockets at once;
//! a client that trickles its request is cut off.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::TestApp;
use crate::support::process::ServerProcess;
use crate::support::ws::{Event, Subscriber};

const FILMS: &str = "{ films { totalCount } }";
const PETITION_COUNT: &str = "subscription($p: ID!) { petitionSignatureCount(petitionId: $p) { signatureCount } }";

/// The message an event must be.
fn message(event: Event) -> Value {
    match event {
        Event::Message(message) => message,
        Event::Closed(code) => panic!("the socket closed ({code:?}) where a message was expected"),
    }
}

/// Whether `error` (an `error` message) refuses its operation with `RATE_LIMITED`.
#[track_caller]
fn assert_rate_limited(error: &Value) {
    assert_eq!(error["type"], "error", "{error}");
    let extensions = &error["payload"][0]["extensions"];
    assert_eq!(extensions["code"], "RATE_LIMITED", "{error}");
    assert!(extensions["retryAfter"].as_u64().is_some_and(|seconds| seconds >= 1), "{error}");
}

async fn petition_id(app: &TestApp) -> Value {
    app.data(r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { id } }"#, json!({})).await["petition"]["id"]
        .clone()
}

/// Runs `id` (a query) on `socket` to its end: `Ok` when it ran, `Err` with the refusal.
async fn run(socket: &mut Subscriber, id: &str) -> Result<(), Value> {
    socket.subscribe(id, FILMS, json!({})).await;
    loop {
        let message = message(socket.event().await);
        assert_eq!(message["id"], id, "{message}");
        match message["type"].as_str() {
            Some("next") => assert!(message["payload"].get("errors").is_none(), "{message}"),
            Some("complete") => return Ok(()),
            _ => return Err(message),
        }
    }
}

async fn http_query(app: &TestApp) -> crate::support::app::RawResponse {
    let body = serde_json::to_vec(&json!({ "query": FILMS })).unwrap();
    app.request("POST", "/graphql", &[("content-type", "application/json")], Some(body)).await
}

/// Everything the server writes until it closes the connection.
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0_u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(count) => answer.extend_from_slice(&buffer[..count]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server neither answered nor closed within 15 s");
    String::from_utf8_lossy(&answer).into_owned()
}

db_tests!(
    one_socket_cannot_spend_more_than_the_http_budget,
    the_legacy_protocol_spends_the_same_budget,
    http_and_websocket_draw_from_one_budget,
    a_socket_runs_at_most_its_share_of_operations,
    an_ip_holds_at_most_its_share_of_sockets,
    a_socket_starting_operations_too_fast_is_closed,
    sigterm_completes_open_subscriptions_and_exits_at_once,
    a_client_trickling_its_request_is_cut_off
);

async fn one_socket_cannot_spend_more_than_the_http_budget(app: TestApp) {
    let app = app
        .respawn(|settings| {
            settings.limits.requests_per_second = 1;
            settings.limits.request_burst = 5;
        })
        .await;
    let started = Instant::now();
    // The upgrade itself is one request of the five.
    let mut socket = Subscriber::connect(&app.address, None).await.unwrap();
    for id in 0..20 {
        socket.subscribe(&id.to_string(), FILMS, json!({})).await;
    }
    let (mut ran, mut refused, mut answered) = (HashSet::new(), HashSet::new(), HashSet::new());
    while ran.len() + refused.len() < 20 {
        let message = message(socket.event().await);
        let id = message["id"].as_str().unwrap().to_owned();
        match message["type"].as_str().unwrap() {
            "next" => {
                assert!(message["payload"].get("errors").is_none(), "{message}");
                answered.insert(id);
            }
            "complete" => assert!(ran.insert(id)),
            _ => {
                assert_rate_limited(&message);
                assert!(refused.insert(id));
            }
        }
    }
    assert!(refused.is_disjoint(&answered), "a refused operation ran: {refused:?} {answered:?}");
    assert!(ran.is_disjoint(&refused));
    // Four left in the burst, one more per second since.
    let allowed = 4 + started.elapsed().as_secs() as usize + 1;
    assert!(ran.len() <= allowed, "{} operations ran on one socket; the budget allows {allowed}", ran.len());
    assert!(!refused.is_empty());
}

async fn the_legacy_protocol_spends_the_same_budget(app: TestApp) {
    let app = app
        .respawn(|settings| {
            settings.limits.requests_per_second = 1;
            settings.limits.request_burst = 3;
        })
        .await;
    let mut socket = Subscriber::connect_with_protocol(&app.address, "graphql-ws", None).await.unwrap();
    let mut refusal = None;
    for id in 0..20 {
        socket.send(json!({ "id": id.to_string(), "type": "start", "payload": { "query": FILMS } })).await;
        let reply = message(socket.event().await);
        assert_eq!(reply["id"], id.to_string(), "{reply}");
        if reply["type"] == "error" {
            refusal = Some(reply);
            break;
        }
        assert_eq!(reply["type"], "data", "{reply}");
        assert_eq!(message(socket.event().await)["type"], "complete");
    }
    let refusal = refusal.expect("a start refused once the budget is spent");
    // The legacy protocol's error carries one error object.
    assert_eq!(refusal["payload"]["extensions"]["code"], "RATE_LIMITED", "{refusal}");
    assert!(refusal["payload"]["extensions"]["retryAfter"].as_u64().is_some_and(|seconds| seconds >= 1));
}

async fn http_and_websocket_draw_from_one_budget(app: TestApp) {
    let app = app
        .respawn(|settings| {
            settings.limits.requests_per_second = 1;
            settings.limits.request_burst = 3;
        })
        .await;
    let mut socket = Subscriber::connect(&app.address, None).await.unwrap();

    // Spent over HTTP, refused over the socket. (A request may refill between the two on a
    // slow machine: then the operation runs, and the test spends again.)
    let mut refused_on_socket = None;
    for attempt in 0..5 {
        while http_query(&app).await.status != 429 {}
        if let Err(refusal) = run(&mut socket, &format!("after-http-{attempt}")).await {
            refused_on_socket = Some(refusal);
            break;
        }
    }
    assert_rate_limited(&refused_on_socket.expect("an operation refused after the budget was spent over HTTP"));

    // Spent over the socket, refused over HTTP.
    let mut refused_over_http = None;
    for attempt in 0..5 {
        let mut operation = 0;
        while run(&mut socket, &format!("spend-{attempt}-{operation}")).await.is_ok() {
            operation += 1;
        }
        let response = http_query(&app).await;
        if response.status == 429 {
            refused_over_http = Some(response);
            break;
        }
    }
    let response = refused_over_http.expect("a request refused after the budget was spent over the socket");
    assert_eq!(response.json()["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    assert!(!response.header("retry-after").is_empty());
}

async fn a_socket_runs_at_most_its_share_of_operations(app: TestApp) {
    let app = app.respawn(|settings| settings.limits.operations_per_socket = 2).await;
    let petition = petition_id(&app).await;
    let mut socket = Subscriber::connect(&app.address, None).await.unwrap();
    for id in ["a", "b"] {
        socket.subscribe(id, PETITION_COUNT, json!({ "p": petition })).await;
        let first = message(socket.event().await);
        assert_eq!((first["id"].as_str(), first["type"].as_str()), (Some(id), Some("next")), "{first}");
    }
    socket.subscribe("c", PETITION_COUNT, json!({ "p": petition })).await;
    let refusal = message(socket.event().await);
    assert_eq!((refusal["id"].as_str(), refusal["type"].as_str()), (Some("c"), Some("error")), "{refusal}");
    assert_eq!(refusal["payload"][0]["extensions"]["code"], "TOO_MANY_OPERATIONS", "{refusal}");
    let refusal = run(&mut socket, "query").await.expect_err("a query counts as an operation too");
    assert_eq!(refusal["payload"][0]["extensions"]["code"], "TOO_MANY_OPERATIONS", "{refusal}");

    // Completing one makes room.
    socket.complete("a").await;
    socket.subscribe("d", PETITION_COUNT, json!({ "p": petition })).await;
    loop {
        let message = message(socket.event().await);
        if message["id"] == "a" && message["type"] == "complete" {
            continue;
        }
        assert_eq!((message["id"].as_str(), message["type"].as_str()), (Some("d"), Some("next")), "{message}");
        break;
    }
}

async fn an_ip_holds_at_most_its_share_of_sockets(app: TestApp) {
    let app = app.respawn(|settings| settings.limits.sockets_per_ip = 2).await;
    let first = Subscriber::connect(&app.address, None).await.unwrap();
    let mut second = Subscriber::connect(&app.address, None).await.unwrap();
    match Subscriber::connect_silently(&app.address).await.unwrap() {
        Event::Closed(code) => assert_eq!(code, Some(4429)),
        Event::Message(message) => panic!("a third socket was served: {message}"),
    }
    run(&mut second, "still-served").await.expect("the open sockets keep working");

    // A closed socket gives its place back (once the server has seen it go).
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut third = loop {
        if let Ok(socket) = Subscriber::connect(&app.address, None).await {
            break socket;
        }
        assert!(Instant::now() < deadline, "the closed socket's place was not given back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    run(&mut third, "third").await.unwrap();
}

async fn a_socket_starting_operations_too_fast_is_closed(app: TestApp) {
    let app = app
        .respawn(|settings| {
            settings.limits.socket_operations_per_second = 1;
            settings.limits.socket_operation_burst = 3;
        })
        .await;
    let mut socket = Subscriber::connect(&app.address, None).await.unwrap();
    for id in 0..30 {
        if !socket.try_subscribe(&id.to_string(), FILMS, json!({})).await {
            break;
        }
    }
    let mut completed = 0;
    let code = loop {
        match socket.event().await {
            Event::Message(message) if message["type"] == "next" => {}
            Event::Message(message) if message["type"] == "complete" => completed += 1,
            Event::Message(message) => panic!("unexpected {message}"),
            Event::Closed(code) => break code,
        }
    };
    assert_eq!(code, Some(4429));
    assert!(completed < 30, "every operation ran: the rate was not enforced");
    assert!(app.data(FILMS, json!({})).await["films"]["totalCount"].is_u64(), "the server keeps serving");
}

async fn sigterm_completes_open_subscriptions_and_exits_at_once(app: TestApp) {
    let petition = petition_id(&app).await;
    let mut server = ServerProcess::start(&app.database_url, &[]);
    let mut subscriber =
        Subscriber::start(&server.address, None, PETITION_COUNT, json!({ "p": petition })).await.unwrap();
    assert_eq!(subscriber.next_data().await["petitionSignatureCount"]["signatureCount"], 0);

    server.terminate();
    let complete = message(subscriber.event().await);
    assert_eq!(complete, json!({ "id": "1", "type": "complete" }));
    match subscriber.event().await {
        Event::Closed(code) => assert_eq!(code, Some(1001), "closed as going away"),
        Event::Message(message) => panic!("after complete: {message}"),
    }
    // Well before the 30 s the server gives requests in flight.
    assert_eq!(server.wait(Duration::from_secs(15)), Some(0), "exit code after SIGTERM");
}

async fn a_client_trickling_its_request_is_cut_off(app: TestApp) {
    let app = app.respawn(|settings| settings.limits.request_read_timeout = Duration::from_secs(1)).await;
    let address = app.address.trim_start_matches("http://").to_owned();

    // Headers, and part of the body, then nothing.
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"query\": \"{ films")
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("REQUEST_TIMEOUT"), "{answer}");

    // Part of the headers, then nothing.
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream.write_all(b"POST /graphql HTTP/1.1\r\nHost: localhost\r\n").await.unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");

    // A whole request within the deadline is served as before.
    assert!(app.data(FILMS, json!({})).await["films"]["totalCount"].is_u64());
}
