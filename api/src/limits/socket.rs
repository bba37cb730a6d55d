//! Guards the server against one client's WebSockets: what it may do over them: each operation a socket starts spends one request of
//! the client IP's `/graphql` budget (the same bucket HTTP draws from), a socket runs at most
//! `operations_per_socket` operations at once and starts them at a bounded rate, and an IP holds at
//! most `sockets_per_ip` sockets.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_graphql::http::WebSocketProtocols;
use governor::{DefaultDirectRateLimiter, Quota};
use serde::Deserialize;
use serde_json::{Value, json};

use super::request::RequestLimiter;
use crate::code;
use crate::config::Limits;

/// The close code for a client over a socket limit (as async-graphql uses for a repeated init).
pub(crate) const CLOSE_TOO_MANY: u16 = 4429;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The open sockets of every client IP of one server.
pub(crate) struct SocketRegistry {
    open: Mutex<HashMap<IpAddr, u32>>,
    per_ip: u32,
}

impl SocketRegistry {
    /// A registry allowing `limits.sockets_per_ip` sockets per IP.
    pub(crate) fn new(limits: &Limits) -> Self {
        Self { open: Mutex::new(HashMap::new()), per_ip: limits.sockets_per_ip }
    }

    /// A slot for one more socket from `ip`, held until the socket ends; `None` past the cap.
    pub(crate) fn open(self: &Arc<Self>, ip: IpAddr) -> Option<SocketSlot> {
        let mut open = lock(&self.open);
        let count = open.entry(ip).or_insert(0);
        if *count >= self.per_ip {
            return None;
        }
        *count += 1;
        Some(SocketSlot { registry: self.clone(), ip })
    }
}

/// One open socket counted against its IP.
pub(crate) struct SocketSlot {
    registry: Arc<SocketRegistry>,
    ip: IpAddr,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = lock(&self.registry.open);
        if let Some(count) = open.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// The `type` and `id` of a protocol message; the payload is skipped.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

/// What to do with a client message.
pub(crate) enum Admission {
    /// Hand it to the GraphQL socket.
    Pass,
    /// Drop it and send this message instead (an `error` for the refused operation).
    Refuse(String),
    /// Close the socket with [`CLOSE_TOO_MANY`] and this reason.
    Close(&'static str),
}

/// The budget of one socket.
pub(crate) struct SocketBudget {
    ip: Option<IpAddr>,
    requests: Arc<RequestLimiter>,
    rate: DefaultDirectRateLimiter,
    max_active: usize,
    protocol: WebSocketProtocols,
    active: Mutex<HashSet<String>>,
}

impl SocketBudget {
    /// The budget of a socket from `ip` speaking `protocol`.
    pub(crate) fn new(
        limits: &Limits,
        requests: Arc<RequestLimiter>,
        ip: Option<IpAddr>,
        protocol: WebSocketProtocols,
    ) -> Self {
        let per_second = NonZeroU32::new(limits.socket_operations_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(limits.socket_operation_burst).unwrap_or(per_second);
        Self {
            ip,
            requests,
            rate: DefaultDirectRateLimiter::direct(Quota::per_second(per_second).allow_burst(burst)),
            max_active: usize::try_from(limits.operations_per_socket).unwrap_or(usize::MAX),
            protocol,
            active: Mutex::new(HashSet::new()),
        }
    }

    /// Decides on a message from the client, and notes the operations it starts and stops.
    pub(crate) async fn admit(&self, message: &[u8]) -> Admission {
        let Ok(Envelope { kind, id: Some(id) }) = serde_json::from_slice::<Envelope>(message) else {
            return Admission::Pass;
        };
        match kind.as_str() {
            // async-graphql takes either name in either protocol.
            "subscribe" | "start" => {}
            "complete" | "stop" => {
                lock(&self.active).remove(&id);
                return Admission::Pass;
            }
            _ => return Admission::Pass,
        }
        if self.rate.check().is_err() {
            return Admission::Close("too many operations per second on this socket");
        }
        let full = {
            let active = lock(&self.active);
            // A repeated id replaces the running operation: it adds none.
            !active.contains(&id) && active.len() >= self.max_active
        };
        if full {
            let message = format!("at most {} operations may run on one socket; complete one first", self.max_active);
            return Admission::Refuse(self.error(&id, &message, json!({ "code": code::TOO_MANY_OPERATIONS })));
        }
        if let Some(ip) = self.ip
            && let Err(retry_after) = self.requests.spend(ip).await
        {
            let extensions = json!({ "code": code::RATE_LIMITED, "retryAfter": retry_after });
            return Admission::Refuse(self.error(&id, "too many requests; slow down", extensions));
        }
        lock(&self.active).insert(id);
        Admission::Pass
    }

    /// Whether operation `id` is running on this socket.
    pub(crate) fn running(&self, id: &str) -> bool {
        lock(&self.active).contains(id)
    }

    /// Notes a message the server sends: `complete` or `error` ends its operation.
    pub(crate) fn sent(&self, message: &str) {
        if let Ok(Envelope { kind, id: Some(id) }) = serde_json::from_str::<Envelope>(message)
            && matches!(kind.as_str(), "complete" | "error")
        {
            lock(&self.active).remove(&id);
        }
    }

    /// The `complete` message for every running operation (the server is going away).
    pub(crate) fn complete_all(&self) -> Vec<String> {
        let active = std::mem::take(&mut *lock(&self.active));
        active.into_iter().map(|id| json!({ "id": id, "type": "complete" }).to_string()).collect()
    }

    /// The `error` message refusing operation `id`, in the socket's protocol.
    fn error(&self, id: &str, message: &str, extensions: Value) -> String {
        let error = json!({ "message": message, "extensions": extensions });
        let payload = match self.protocol {
            WebSocketProtocols::GraphQLWS => json!([error]),
            // The legacy protocol's `error` carries one error object.
            WebSocketProtocols::SubscriptionsTransportWS => error,
        };
        json!({ "id": id, "type": "error", "payload": payload }).to_string()
    }
}
