//! After a mutation, notes how far the primary's WAL had gone, so that the viewer's later queries
//! wait for the read replica to replay it (see `replica`). Runs for every transport (HTTP and
//! WebSocket), and only when a replica is configured.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Response, ServerResult, Variables};

use crate::auth::ClientIp;
use crate::loaders::Loaders;
use crate::replica::ReadRouting;

/// Registers the extension.
pub struct ReadYourWrites;

impl ExtensionFactory for ReadYourWrites {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PerRequest::default())
    }
}

/// Whether this request's document holds a mutation.
#[derive(Default)]
struct PerRequest {
    mutation: AtomicBool,
}

#[async_trait::async_trait]
impl Extension for PerRequest {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        // Any mutation in the document counts: one statement too many is cheaper than a read that
        // misses the viewer's own write.
        let mutation = document.operations.iter().any(|(_, operation)| operation.node.ty == OperationType::Mutation);
        self.mutation.store(mutation, Ordering::Relaxed);
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let response = next.run(ctx, operation_name).await;
        if self.mutation.load(Ordering::Relaxed)
            && let Some(routing) = ctx.data_opt::<Arc<ReadRouting>>()
            && let Some(loaders) = ctx.data_opt::<Arc<Loaders>>()
        {
            let client = ctx.data_opt::<ClientIp>().and_then(|ip| ip.0);
            routing.wrote(&loaders.viewer, client).await;
        }
        response
    }
}
