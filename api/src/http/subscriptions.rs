//! Subscriptions over WebSocket on `GET /graphql` (`graphql-transport-ws`, and the older
//! `graphql-ws`). The access token comes in `connection_init`'s payload as
//! `{"authorization": "Bearer …"}`; a bad token closes the connection instead of going on as anonymous.

use std::future::ready;
use std::str::FromStr;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::AggregatedMessage;
use async_graphql::Data;
use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage};
use futures_util::StreamExt;

use super::{AppState, limits};
use crate::auth::{ClientIp, Viewer, authenticate};
use crate::graphql::request_data;

/// The largest message a client may send.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Whether a client message carries a document nested too deep to parse safely (such a message
/// ends the connection before the parser sees it).
fn query_too_deep(message: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(message)
        .ok()
        .and_then(|message| message["payload"]["query"].as_str().map(limits::too_deep))
        .unwrap_or(false)
}

/// `GET /graphql` with `Upgrade: websocket`.
pub async fn websocket(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let protocol = request
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .and_then(|offered| offered.split(',').find_map(|name| WebSocketProtocols::from_str(name.trim()).ok()))
        .ok_or_else(|| actix_web::error::ErrorBadRequest("offer the graphql-transport-ws subprotocol"))?;
    let (response, mut session, messages) =
        actix_ws::handle_with_protocols(&request, body, &[protocol.sec_websocket_protocol()])?;
    let state = state.into_inner();
    let input = messages
        .max_frame_size(MAX_MESSAGE_BYTES)
        .aggregate_continuations()
        .max_continuation_size(MAX_MESSAGE_BYTES)
        .take_while(|message| {
            ready(match message {
                Ok(AggregatedMessage::Close(_)) | Err(_) => false,
                Ok(AggregatedMessage::Text(text)) => !query_too_deep(text.as_bytes()),
                Ok(AggregatedMessage::Binary(bytes)) => !query_too_deep(bytes),
                Ok(_) => true,
            })
        })
        .filter_map(|message| {
            ready(match message {
                Ok(AggregatedMessage::Text(text)) => Some(text.into_bytes()),
                Ok(AggregatedMessage::Binary(bytes)) => Some(bytes),
                _ => None,
            })
        });
    let init_state = state.clone();
    let client_ip = ClientIp(request.peer_addr().map(|address| address.ip()));
    let mut socket =
        WebSocket::new(state.schema.clone(), input, protocol).on_connection_init(move |payload| async move {
            let token = ["authorization", "Authorization"]
                .iter()
                .find_map(|key| payload.get(*key).and_then(|value| value.as_str()))
                .map(|value| value.trim().strip_prefix("Bearer ").unwrap_or(value.trim()).trim().to_owned());
            let viewer = match token {
                None => Viewer::anonymous(),
                Some(token) => authenticate(&init_state.db, &init_state.auth, &token)
                    .await
                    .map_err(|_| async_graphql::Error::new("invalid or expired access token"))?,
            };
            let mut data = Data::default();
            data.insert(request_data(&init_state.db, viewer));
            data.insert(client_ip);
            Ok(data)
        });
    let open = state.metrics.subscriber_opened();
    actix_web::rt::spawn(async move {
        let _open = open;
        while let Some(message) = socket.next().await {
            match message {
                WsMessage::Text(text) => {
                    if session.text(text).await.is_err() {
                        return;
                    }
                }
                WsMessage::Close(code, reason) => {
                    let reason = actix_ws::CloseReason { code: code.into(), description: Some(reason) };
                    let _ = session.close(Some(reason)).await;
                    return;
                }
            }
        }
        let _ = session.close(None).await;
    });
    Ok(response)
}
