//! A `graphql-transport-ws` client for subscription tests.

use std::time::Duration;

use actix_web::web::Bytes;
use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};

/// One open subscription.
pub struct Subscriber {
    framed: actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>,
}

impl Subscriber {
    /// Connects to `base` (an `http://` address), sends `connection_init` with `token`, waits for
    /// the acknowledgement, and subscribes to `query`.
    pub async fn start(base: &str, token: Option<&str>, query: &str, variables: Value) -> Result<Self, String> {
        let url = format!("{}/graphql", base.replacen("http://", "ws://", 1));
        let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
        let (_, framed) = client
            .ws(url)
            .protocols(["graphql-transport-ws"])
            .connect()
            .await
            .map_err(|error| format!("connect: {error}"))?;
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
        subscriber
            .send(json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
        Ok(subscriber)
    }

    async fn send(&mut self, message: Value) {
        self.framed.send(Message::Text(message.to_string().into())).await.expect("send a message");
    }

    /// The next protocol message (pings answered on the way), or `None` once the server closes.
    pub async fn receive(&mut self) -> Option<Value> {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(15), self.framed.next())
                .await
                .expect("a message within 15 s")?;
            match frame.expect("a frame") {
                Frame::Text(bytes) | Frame::Binary(bytes) => {
                    let message: Value = serde_json::from_slice(&bytes).expect("JSON");
                    if message["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Some(message);
                }
                Frame::Ping(bytes) => {
                    let _ = self.framed.send(Message::Pong(Bytes::copy_from_slice(&bytes))).await;
                }
                Frame::Close(_) => return None,
                _ => {}
            }
        }
    }

    /// The `data` of the next `next` message.
    pub async fn next_data(&mut self) -> Value {
        let message = self.receive().await.expect("the subscription is still open");
        assert_eq!(message["type"], "next", "{message}");
        message["payload"]["data"].clone()
    }
}
