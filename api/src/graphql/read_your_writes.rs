//! After a mutation, notes how far the primary's WAL had gone, so that the viewer's later queries
//! wait for the read replica to replay it (see `replica`). Runs for every transport (HTTP and
//! WebSocket), from the request pipeline (`pipeline`), and only when a replica is configured.

use std::sync::Arc;

use async_graphql::extensions::ExtensionContext;

use crate::auth::ClientIp;
use crate::infra::replica::ReadRouting;
use crate::loaders::Loaders;

/// Called once a document ran. Any mutation in the document counts (`has_mutation`): one statement
/// too many is cheaper than a read that misses the viewer's own write.
pub(super) async fn executed(ctx: &ExtensionContext<'_>, has_mutation: bool) {
    if has_mutation
        && let Some(routing) = ctx.data_opt::<Arc<ReadRouting>>()
        && let Some(loaders) = ctx.data_opt::<Arc<Loaders>>()
    {
        let client = ctx.data_opt::<ClientIp>().and_then(|ip| ip.0);
        routing.wrote(loaders.viewer.user_id, client).await;
    }
}
