//! Subscriptions over WebSocket on `GET /graphql` (`graphql-transport-ws`, and the older
//! `graphql-ws`). The access token comes in `connection_init`'s payload as
//! `{"authorization": "Bearer …"}`; a bad token closes the connection instead of going on as anonymous,
//! and a socket whose session has ended since (or whose token has expired) is closed with 4403 at the
//! next operation it starts.
//! Every operation is held to the client's limits (see `limits::socket`); when the server stops,
//! each socket completes its operations and closes with 1001 (going away).
//! A plain counter subscription (`graphql::live_counts`) is served by the socket itself, outside
//! the schema's executor: one receiver of change notices per socket, and per subscription an id
//! and the version last sent.

use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::AggregatedMessage;
use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage};
use async_graphql::{Data, Request};
use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::AppState;
use crate::auth::ClientIp;
use crate::domain::DomainError;
use crate::domain::Viewer;
use crate::domain::notify::Change;
use crate::domain::sessions::authenticate;
use crate::graphql::cost::{Budget, Charge};
use crate::graphql::live_counts::{LiveCount, LiveCounts};
use crate::graphql::request_data;
use crate::limits::document;
use crate::limits::socket::{Admission, CLOSE_TOO_MANY, SocketBudget};

/// The largest message a client may send.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Whether a client message carries a document nested too deep to parse safely (such a message
/// ends the connection before the parser sees it).
fn query_too_deep(message: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(message)
        .ok()
        .and_then(|message| message["payload"]["query"].as_str().map(document::too_deep))
        .unwrap_or(false)
}

/// `GET /graphql` with `Upgrade: websocket`.
pub(crate) async fn websocket(
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
    let peer = super::client_ip::client_ip(&request);
    let slot = match peer {
        Some(ip) => match state.sockets.open(ip) {
            Some(slot) => Some(slot),
            None => {
                actix_web::rt::spawn(session.close(Some(too_many("too many open sockets from this address"))));
                return Ok(response);
            }
        },
        None => None,
    };
    let budget = Arc::new(SocketBudget::new(&state.limits, state.request_limiter.clone(), peer, protocol));
    let token = Arc::new(OnceLock::new());
    let sessions = SessionCheck { state: state.clone(), token: token.clone() };
    let live = Arc::new(Handover::default());
    let charge = peer.map(|client| Charge { budget: state.request_limiter.clone(), client });
    let counters = (protocol == WebSocketProtocols::GraphQLWS).then(|| CounterService {
        counts: state.live_counts.clone(),
        handover: live.clone(),
        charge,
        initialised: false,
        served: std::collections::HashSet::new(),
    });
    let input = admitted(messages, budget.clone(), sessions, counters, session.clone());
    let init_state = state.clone();
    let client_ip = ClientIp(peer);
    let refusal = Arc::new(OnceLock::new());
    let init_refusal = refusal.clone();
    let socket = WebSocket::new(state.schema.clone(), input, protocol).on_connection_init(move |payload| async move {
        let presented = ["authorization", "Authorization"]
            .iter()
            .find_map(|key| payload.get(*key).and_then(|value| value.as_str()))
            .map(|value| value.trim().strip_prefix("Bearer ").unwrap_or(value.trim()).trim().to_owned());
        let viewer = match presented {
            None => Viewer::anonymous(),
            Some(presented) => {
                let viewer = authenticate(&init_state.db, &init_state.auth, &presented).await.map_err(|error| {
                    let (code, message) = match DomainError::from(error) {
                        DomainError::Unavailable => (CLOSE_TRY_AGAIN, "the service is unavailable; try again shortly"),
                        _ => (CLOSE_FORBIDDEN, "invalid or expired access token"),
                    };
                    let _ = init_refusal.set(code);
                    async_graphql::Error::new(message)
                })?;
                let _ = token.set(presented);
                viewer
            }
        };
        let mut data = Data::default();
        data.insert(request_data(&init_state.db, viewer));
        data.insert(client_ip);
        if let Some(client) = client_ip.0 {
            let budget: Arc<dyn Budget> = init_state.request_limiter.clone();
            data.insert(Charge { budget, client });
        }
        Ok(data)
    });
    let live_counts = state.live_counts.clone();
    let open = state.metrics.subscriber_opened();
    let mut shutdown = state.shutdown.clone();
    actix_web::rt::spawn(async move {
        let (_open, _slot) = (open, slot);
        let stopping = async move {
            // Without a sender no stop can come: serve on.
            if shutdown.wait_for(|stopping| *stopping).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::pin!(stopping, socket);
        let mut counts = SocketCounts::default();
        loop {
            let message = tokio::select! {
                biased;
                () = &mut stopping => {
                    for complete in budget.complete_all() {
                        if session.text(complete).await.is_err() {
                            return;
                        }
                    }
                    let reason = actix_ws::CloseReason {
                        code: actix_ws::CloseCode::Away,
                        description: Some("the server is shutting down".to_owned()),
                    };
                    let _ = session.close(Some(reason)).await;
                    return;
                }
                () = live.wake.notified() => {
                    let (owed, lagged) = counts.take(&live);
                    for text in owed {
                        if session.text(text).await.is_err() {
                            return;
                        }
                    }
                    if lagged {
                        reread_later(live_counts.clone());
                    }
                    continue;
                }
                change = counts.next_change(), if counts.listening() => {
                    match change {
                        Ok(change) => {
                            for text in counts.messages(&change) {
                                if session.text(text).await.is_err() {
                                    return;
                                }
                            }
                        }
                        Err(RecvError::Lagged(_)) => reread_later(live_counts.clone()),
                        Err(RecvError::Closed) => {
                            for complete in counts.end_all() {
                                budget.sent(&complete);
                                if session.text(complete).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                    continue;
                }
                message = socket.next() => message,
            };
            match message {
                Some(WsMessage::Text(text)) => {
                    if !is_result(&text) {
                        budget.sent(&text);
                    }
                    if session.text(text).await.is_err() {
                        return;
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    // async-graphql closes a refused `connection_init` with 1002 (protocol error);
                    // graphql-transport-ws says 4403 for a refused token.
                    let code = refusal.get().copied().filter(|_| code == CLOSE_PROTOCOL_ERROR).unwrap_or(code);
                    let reason = actix_ws::CloseReason { code: code.into(), description: Some(reason) };
                    let _ = session.close(Some(reason)).await;
                    return;
                }
                None => break,
            }
        }
        let _ = session.close(None).await;
    });
    Ok(response)
}

/// The close code of a socket whose token is refused or whose session ended (graphql-transport-ws'
/// "Forbidden").
const CLOSE_FORBIDDEN: u16 = 4403;

/// The close code of a socket whose token could not be checked because the database is down
/// (WebSocket's "Try Again Later").
const CLOSE_TRY_AGAIN: u16 = 1013;

/// The close code async-graphql gives a refused `connection_init`.
const CLOSE_PROTOCOL_ERROR: u16 = 1002;

/// Whether a server message is a result (`next`, or the legacy `data`): the one sent per notice
/// to every subscriber, and one that ends no operation, so the budget need not parse it.
/// async-graphql writes the `type` tag first.
fn is_result(message: &str) -> bool {
    message.starts_with(r#"{"type":"next","#) || message.starts_with(r#"{"type":"data","#)
}

/// Whether a client message starts an operation (`subscribe`, or the legacy `start`).
fn starts_operation(message: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Kind<'a> {
        #[serde(rename = "type", borrow)]
        kind: std::borrow::Cow<'a, str>,
    }
    serde_json::from_slice::<Kind<'_>>(message).is_ok_and(|message| matches!(&*message.kind, "subscribe" | "start"))
}

/// Checks, before each operation a signed-in socket starts, that its session has not ended since
/// `connection_init` (a logout, a password or role change, a deleted user): the same one-statement
/// lookup an HTTP request makes, so an ended session is refused on every process at its next
/// operation, over a socket as over HTTP.
struct SessionCheck {
    state: Arc<AppState>,
    /// The access token `connection_init` presented, once accepted.
    token: Arc<OnceLock<String>>,
}

impl SessionCheck {
    /// `false` once the socket's session has ended; anonymous sockets have none to end. A database
    /// that cannot answer right now does not end it: the operation then fails on its own terms.
    async fn still_signed_in(&self) -> bool {
        let Some(token) = self.token.get() else { return true };
        match authenticate(&self.state.db, &self.state.auth, token).await.map_err(DomainError::from) {
            Ok(_) | Err(DomainError::Unavailable) => true,
            Err(_) => false,
        }
    }
}

fn too_many(description: &str) -> actix_ws::CloseReason {
    actix_ws::CloseReason { code: CLOSE_TOO_MANY.into(), description: Some(description.to_owned()) }
}

/// How long a socket whose receiver of change notices lagged waits before asking again when the
/// re-read failed.
const REREAD_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// Reads every watched counter afresh, in the background, after a socket's receiver of change
/// notices lagged: the values arrive through the notices, as every re-read's do.
fn reread_later(counts: Arc<LiveCounts>) {
    actix_web::rt::spawn(async move {
        while let Err(error) = counts.reread().await {
            tracing::warn!(%error, "live counters: re-read after a lag failed, retrying");
            tokio::time::sleep(REREAD_RETRY).await;
        }
    });
}

/// The counter subscriptions the client's messages started or ended, on their way to the socket's
/// loop, which sends their counts.
#[derive(Default)]
struct Handover {
    pending: std::sync::Mutex<Pending>,
    wake: Notify,
}

/// What the client's messages did, in the order they did it: a subscription ended and started
/// again under one id, or started and ended before the loop looked, is applied as it happened.
#[derive(Default)]
struct Pending(Vec<Handed>);

enum Handed {
    /// A subscription started, with the receiver of change notices it took before its first read.
    Started(String, LiveCount, Receiver<Change>),
    Ended(String),
}

impl Handover {
    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The counter subscriptions a socket's loop serves: the `next` message prefix of each
/// (`{"type":"next","id":…,"payload":`) and its count.
#[derive(Default)]
struct SocketCounts {
    changes: Option<Receiver<Change>>,
    running: Vec<(Box<str>, String, LiveCount)>,
}

impl SocketCounts {
    /// Applies what the client's messages handed over, in order. Returns the counts a started
    /// subscription is owed (those its own receiver holds, which the socket's receiver may have
    /// passed on before it was handed over), and whether a receiver lagged.
    fn take(&mut self, handover: &Handover) -> (Vec<String>, bool) {
        let Pending(handed) = std::mem::take(&mut *handover.pending());
        let mut owed = Vec::new();
        let mut lagged = false;
        for handed in handed {
            match handed {
                Handed::Ended(id) => self.stop(&id),
                Handed::Started(id, mut count, mut changes) => {
                    self.stop(&id);
                    let prefix = format!(r#"{{"type":"next","id":{},"payload":"#, json_string(&id)).into_boxed_str();
                    if self.changes.is_none() {
                        // The socket's only one: its receiver becomes the socket's, which has
                        // passed nothing on.
                        self.changes = Some(changes);
                    } else {
                        loop {
                            match changes.try_recv() {
                                Ok(change) => {
                                    if let Some(payload) = count.next(&change) {
                                        owed.push(format!("{prefix}{payload}}}"));
                                    }
                                }
                                Err(TryRecvError::Lagged(_)) => lagged = true,
                                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                            }
                        }
                    }
                    self.running.push((prefix, id, count));
                }
            }
        }
        (owed, lagged)
    }

    /// Stops subscription `id`; with none left, the socket's receiver goes too (unread, it would
    /// keep the hub's every notice since).
    fn stop(&mut self, id: &str) {
        self.running.retain(|(_, running, _)| running != id);
        if self.running.is_empty() {
            self.changes = None;
        }
    }

    fn listening(&self) -> bool {
        self.changes.is_some() && !self.running.is_empty()
    }

    async fn next_change(&mut self) -> Result<Change, RecvError> {
        match &mut self.changes {
            Some(changes) => changes.recv().await,
            None => std::future::pending().await,
        }
    }

    /// The `next` message of every subscription `change` moves.
    fn messages(&mut self, change: &Change) -> Vec<String> {
        self.running
            .iter_mut()
            .filter_map(|(prefix, _, count)| count.next(change).map(|payload| format!("{prefix}{payload}}}")))
            .collect()
    }

    /// The `complete` message of every subscription, which all end (no notice can come any more).
    fn end_all(&mut self) -> Vec<String> {
        self.changes = None;
        self.running.drain(..).map(|(_, id, _)| complete(&id)).collect()
    }
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// The `complete` message of operation `id`, as async-graphql writes it.
fn complete(id: &str) -> String {
    format!(r#"{{"type":"complete","id":{}}}"#, json_string(id))
}

/// What a client message asks of a socket's counter service.
enum Asked {
    Nothing,
    /// `connection_init`, on its way to the schema.
    Init,
    /// `complete` (or the legacy `stop`) of a subscription served here.
    End(String),
    /// `subscribe` (or the legacy `start`): the request, when the socket may serve it itself.
    Start(String, Option<Box<Request>>),
}

/// Where a client message went.
enum Routed {
    /// On to the schema.
    Schema,
    /// Answered here.
    Answered,
    /// The socket is gone.
    Gone,
}

/// A socket's service of plain counter subscriptions (`graphql-transport-ws` only).
struct CounterService {
    counts: Arc<LiveCounts>,
    handover: Arc<Handover>,
    charge: Option<Charge>,
    /// Set once `connection_init` went to the schema, which reads no further message until it
    /// has accepted it (or closed the socket).
    initialised: bool,
    /// The ids of the subscriptions served here.
    served: std::collections::HashSet<String>,
}

impl CounterService {
    /// What `message` asks, read before the budget admits it (and notes its id as running).
    fn asked(&self, message: &[u8], budget: &SocketBudget) -> Asked {
        /// The `type` and `id` of a message, whatever else it holds (as the budget reads them).
        #[derive(serde::Deserialize)]
        struct Envelope {
            #[serde(rename = "type")]
            kind: String,
            id: Option<String>,
        }
        #[derive(serde::Deserialize)]
        struct Payload {
            payload: Request,
        }
        let Ok(envelope) = serde_json::from_slice::<Envelope>(message) else { return Asked::Nothing };
        match (envelope.kind.as_str(), envelope.id) {
            ("connection_init", _) => Asked::Init,
            ("complete" | "stop", Some(id)) if self.served.contains(&id) => Asked::End(id),
            ("subscribe" | "start", Some(id)) => {
                // Under the id of an operation the schema runs, the schema replaces its own.
                let here = self.initialised && (self.served.contains(&id) || !budget.running(&id));
                let request = here
                    .then(|| serde_json::from_slice::<Payload>(message).ok())
                    .flatten()
                    .map(|payload| Box::new(payload.payload));
                Asked::Start(id, request)
            }
            _ => Asked::Nothing,
        }
    }

    fn end(&mut self, id: &str) {
        if self.served.remove(id) {
            self.handover.pending().0.push(Handed::Ended(id.to_owned()));
            self.handover.wake.notify_one();
        }
    }

    /// Serves what an admitted message asks, or leaves it to the schema.
    async fn route(&mut self, asked: Asked, replies: &mut actix_ws::Session) -> Routed {
        match asked {
            Asked::Nothing => Routed::Schema,
            Asked::Init => {
                self.initialised = true;
                Routed::Schema
            }
            Asked::End(id) => {
                self.end(&id);
                // As the schema answers a `complete` of an operation it runs.
                match replies.text(complete(&id)).await {
                    Ok(()) => Routed::Answered,
                    Err(_) => Routed::Gone,
                }
            }
            Asked::Start(id, request) => {
                self.end(&id);
                let Some(request) = request else { return Routed::Schema };
                let changes = self.counts.changes();
                let Some((count, first)) = Box::pin(self.counts.start(*request, self.charge.as_ref())).await else {
                    return Routed::Schema;
                };
                let next = format!(r#"{{"type":"next","id":{},"payload":{first}}}"#, json_string(&id));
                if replies.text(next).await.is_err() {
                    return Routed::Gone;
                }
                self.served.insert(id.clone());
                self.handover.pending().0.push(Handed::Started(id, count, changes));
                self.handover.wake.notify_one();
                Routed::Answered
            }
        }
    }
}

/// The client's messages that may reach GraphQL: the stream ends at a close, an error, a document
/// nested too deep or an operation rate past the socket's; a refused operation is answered on
/// `replies` and dropped; a plain counter subscription, once the connection is initialised, is
/// started here, answered on `replies` and handed to the socket's loop (see `live_counts`).
fn admitted(
    messages: actix_ws::MessageStream,
    budget: Arc<SocketBudget>,
    sessions: SessionCheck,
    counters: Option<CounterService>,
    mut replies: actix_ws::Session,
) -> impl futures_util::Stream<Item = Bytes> {
    let messages =
        messages.max_frame_size(MAX_MESSAGE_BYTES).aggregate_continuations().max_continuation_size(MAX_MESSAGE_BYTES);
    async_stream::stream! {
        let mut messages = std::pin::pin!(messages);
        let mut counters = counters;
        while let Some(message) = messages.next().await {
            let bytes = match message {
                Ok(AggregatedMessage::Text(text)) => text.into_bytes(),
                Ok(AggregatedMessage::Binary(bytes)) => bytes,
                Ok(AggregatedMessage::Close(_)) | Err(_) => break,
                Ok(_) => continue,
            };
            if query_too_deep(&bytes) {
                break;
            }
            // The checks' futures are boxed: inline, their room (a query's, a limiter's) would stay
            // in every idle socket's stream.
            if starts_operation(&bytes) && !Box::pin(sessions.still_signed_in()).await {
                let reason = actix_ws::CloseReason {
                    code: actix_ws::CloseCode::Other(CLOSE_FORBIDDEN),
                    description: Some("the session has ended; sign in again".to_owned()),
                };
                let _ = replies.clone().close(Some(reason)).await;
                break;
            }
            let asked = counters.as_ref().map(|counters| counters.asked(&bytes, &budget));
            match Box::pin(budget.admit(&bytes)).await {
                Admission::Pass => {
                    if let (Some(counters), Some(asked)) = (&mut counters, asked) {
                        match Box::pin(counters.route(asked, &mut replies)).await {
                            Routed::Schema => {}
                            Routed::Answered => continue,
                            Routed::Gone => break,
                        }
                    }
                    yield bytes;
                }
                Admission::Refuse(reply) => {
                    if replies.text(reply).await.is_err() {
                        break;
                    }
                }
                Admission::Close(description) => {
                    let _ = replies.clone().close(Some(too_many(description))).await;
                    break;
                }
            }
        }
    }
}
