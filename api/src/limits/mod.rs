//! Every limit fandb enforces, one module per thing guarded: a GraphQL document (`document`),
//! the request budget of a client (`request`), what a client may do over WebSockets (`socket`),
//! and sign-ins (`sign_in`). Their numbers are settings (`config::Limits`,
//! `config::DocumentLimits`); what they share across processes lives in Redis
//! (`infra::shared_state`).

pub(crate) mod document;
pub(crate) mod request;
pub mod sign_in;
pub(crate) mod socket;

use std::time::Duration;

/// Seconds to wait, rounded up so a client that waits exactly that long is let in.
pub(crate) fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}
