//! A `graphql-transport-ws` client for subscription tests.

use std::time::Duration;

use actix_web::web::Bytes;
use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};

/// What the server sent next.
#[derive(Debug)]
pub enum Event {
    Message(Value),
    /// The server closed the socket, with this close code.
    Closed(Option<u16>),
}

/// One open subscription.
pub struct Subscriber {
    framed: actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>,
}

impl Subscriber {
    /// Connects to `base` (an `http://` address), sends `connection_init` with `token`, waits for
    /// the acknowledgement, and subscribes to `query`.
    pub async fn start(base: &str, token: Option<&str>, query: &str, variables: Value) -> Result<Self, String> {
        let mut subscriber = Self::connect(base, token).await?;
        subscriber.subscribe("1", query, variables).await;
        Ok(subscriber)
    }

    /// Connects and sends `connection_init` with `token`; waits for the acknowledgement.
    pub async fn connect(base: &str, token: Option<&str>) -> Result<Self, String> {
        Self::connect_with_protocol(base, "graphql-transport-ws", token).await
    }

    /// Like `connect`, speaking `protocol` (`graphql-ws` is the legacy one).
    pub async fn connect_with_protocol(base: &str, protocol: &str, token: Option<&str>) -> Result<Self, String> {
        let url = format!("{}/graphql", base.replacen("http://", "ws://", 1));
        let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
        let (_, framed) =
            client.ws(url).protocols([protocol]).connect().await.map_err(|error| format!("connect: {error}"))?;
        let mut subscriber = Self { framed };
        let payload = match token {
            Some(token) => json!({ "authorization": format!("Bearer {token}") }),
            None => json!({}),
        };
        subscriber.send(json!({ "type": "connection_init", "payload": payload })).await;
        let ack = subscriber.receive().await.ok_or("closed before connection_ack")?;
        if ack["type"] != "connection_ack" {
            return Err(format!("expected connection_ack, got {ack}"));
        }
        Ok(subscriber)
    }

    /// Connects, sends `connection_init` with `token`, and returns what the server answers (for a
    /// refused token: the close and its code).
    pub async fn init(base: &str, token: &str) -> Result<Event, String> {
        let url = format!("{}/graphql", base.replacen("http://", "ws://", 1));
        let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
        let (_, framed) = client
            .ws(url)
            .protocols(["graphql-transport-ws"])
            .connect()
            .await
            .map_err(|error| format!("connect: {error}"))?;
        let mut subscriber = Self { framed };
        subscriber
            .send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } }))
            .await;
        Ok(subscriber.event().await)
    }

    /// Connects and, sending nothing, waits for the first thing the server sends (a refused
    /// socket's close).
    pub async fn connect_silently(base: &str) -> Result<Event, String> {
        let url = format!("{}/graphql", base.replacen("http://", "ws://", 1));
        let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
        let (_, framed) = client
            .ws(url)
            .protocols(["graphql-transport-ws"])
            .connect()
            .await
            .map_err(|error| format!("connect: {error}"))?;
        Ok(Self { framed }.event().await)
    }

    /// Starts operation `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// Starts operation `id`; `false` when the connection no longer takes messages.
    pub async fn try_subscribe(&mut self, id: &str, query: &str, variables: Value) -> bool {
        let message = json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } });
        self.framed.send(Message::Text(message.to_string().into())).await.is_ok()
    }

    /// Stops operation `id`.
    pub async fn complete(&mut self, id: &str) {
        self.send(json!({ "id": id, "type": "complete" })).await;
    }

    /// The text of the next protocol message, exactly as the server wrote it (pings answered on
    /// the way), or `None` once the server closes.
    pub async fn raw(&mut self) -> Option<String> {
        loop {
            let frame =
                tokio::time::timeout(Duration::from_secs(15), self.framed.next()).await.expect("a message within 15 s");
            match frame?.expect("a frame") {
                Frame::Text(bytes) => {
                    let text = String::from_utf8(bytes.to_vec()).expect("UTF-8");
                    if serde_json::from_str::<Value>(&text).expect("JSON")["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Some(text);
                }
                Frame::Ping(bytes) => {
                    let _ = self.framed.send(Message::Pong(Bytes::copy_from_slice(&bytes))).await;
                }
                Frame::Close(_) => return None,
                _ => {}
            }
        }
    }

    /// The next protocol message or the close (with its code), pings answered on the way.
    pub async fn event(&mut self) -> Event {
        loop {
            let frame =
                tokio::time::timeout(Duration::from_secs(15), self.framed.next()).await.expect("a message within 15 s");
            let Some(frame) = frame else { return Event::Closed(None) };
            match frame.expect("a frame") {
                Frame::Text(bytes) | Frame::Binary(bytes) => {
                    let message: Value = serde_json::from_slice(&bytes).expect("JSON");
                    if message["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Event::Message(message);
                }
                Frame::Ping(bytes) => {
                    let _ = self.framed.send(Message::Pong(Bytes::copy_from_slice(&bytes))).await;
                }
                Frame::Close(reason) => return Event::Closed(reason.map(|reason| u16::from(reason.code))),
                _ => {}
            }
        }
    }

    /// Sends protocol messages in one write, so that the server reads them together.
    pub async fn send_together(&mut self, messages: &[Value]) {
        for message in messages {
            self.framed.feed(Message::Text(message.to_string().into())).await.expect("queue a message");
        }
        self.framed.flush().await.expect("send the messages");
    }

    /// Sends one protocol message.
    pub async fn send(&mut self, message: Value) {
        self.framed.send(Message::Text(message.to_string().into())).await.expect("send a message");
    }

    /// The next protocol message (pings answered on the way), or `None` once the server closes.
    pub async fn receive(&mut self) -> Option<Value> {
        match self.event().await {
            Event::Message(message) => Some(message),
            Event::Closed(_) => None,
        }
    }

    /// The `data` of the next `next` message.
    pub async fn next_data(&mut self) -> Value {
        let message = self.receive().await.expect("the subscription is still open");
        assert_eq!(message["type"], "next", "{message}");
        message["payload"]["data"].clone()
    }
}
