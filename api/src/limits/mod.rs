//! Every limit fandb enforces, one module per thing guarded: a GraphQL document (`document`),
//! the request budget of a client (`request`), what a client may do over WebSockets (`socket`),
//! and sign-ins (`sign_in`). Their numbers are settings (`config::Limits`,
//! `config::DocumentLimits`); what they share across processes lives in Redis
//! (`infra::shared_state`).

pub mod document;
pub mod request;
pub mod sign_in;
pub mod socket;

use std::time::Duration;

/// Seconds to wait, rounded up so a client that waits exactly that long is let in.
pub fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}
