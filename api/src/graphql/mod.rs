//! The GraphQL layer: thin resolvers that read the request context (viewer, database, loaders),
//! call the domain, and wrap models in API types. Built once per process; per-request data is
//! attached to each request by the HTTP layer.

pub(crate) mod account_mail;
pub(crate) mod accounts;
pub(crate) mod aggregates;
pub(crate) mod audit;
pub(crate) mod change;
mod changed;
pub(crate) mod connection;
pub(crate) mod cost;
pub(crate) mod documents;
pub(crate) mod errors;
pub(crate) mod events;
pub(crate) mod films;
pub(crate) mod guards;
pub mod ids;
pub(crate) mod input_text;
pub(crate) mod inputs;
pub(crate) mod live_counts;
pub(crate) mod node;
pub(crate) mod operation;
pub(crate) mod people;
pub mod persisted;
pub(crate) mod petition_updates;
pub(crate) mod petitions;
pub(crate) mod plan;
pub(crate) mod production;
pub(crate) mod quotes;
pub(crate) mod read_your_writes;
pub(crate) mod scalars;
pub(crate) mod search;
pub(crate) mod sources;
pub(crate) mod stats;
pub(crate) mod subscriptions;
pub(crate) mod users;
pub(crate) mod where_inputs;
pub(crate) mod where_types;

mod codes;
mod error_order;
mod pipeline;

use std::sync::Arc;

use async_graphql::{Context, ID, MergedObject, Schema};
use sea_orm::DatabaseConnection;

use crate::auth::Auth;
use crate::config::Environment;
use crate::domain::DomainError;
use crate::domain::audit::{Actor, RequestId};
use crate::domain::notify::Notifier;
use crate::loaders::{ById, Cached, Keyed, Loaders};
use errors::GqlResult;

/// Every query field, merged from the per-domain query structs.
#[derive(MergedObject, Default)]
pub(crate) struct Query(
    node::NodeQuery,
    films::FilmQuery,
    people::PersonQuery,
    quotes::QuoteQuery,
    events::EventQuery,
    petitions::PetitionQuery,
    search::SearchQuery,
    stats::CampaignQuery,
    users::UserQuery,
    audit::AuditQuery,
);

/// Every mutation field, merged from the per-domain mutation structs.
#[derive(MergedObject, Default)]
pub(crate) struct Mutation(
    accounts::AccountMutation,
    account_mail::AccountMailMutation,
    films::FilmMutation,
    people::PersonMutation,
    quotes::QuoteMutation,
    events::EventMutation,
    petitions::PetitionMutation,
    petitions::SignatureMutation,
    petition_updates::PetitionUpdateMutation,
    events::RsvpMutation,
    quotes::FanQuoteMutation,
);

/// The fandb schema type.
pub(crate) type AppSchema = Schema<Query, Mutation, subscriptions::Subscription>;

/// The most a query may cost, with every list costed by its page size.
pub(crate) const MAX_COMPLEXITY: usize = 5000;

/// Builds the schema; the database connection, the auth keys, the mailer and the cache of parsed
/// documents are shared by every request. In production, introspection is for admins and unknown
/// names get no "did you mean" suggestions.
pub(crate) fn build_schema(
    db: DatabaseConnection,
    auth: Arc<Auth>,
    notifier: Arc<Notifier>,
    environment: Environment,
    document_limits: crate::config::DocumentLimits,
    read_routing: Option<Arc<crate::infra::replica::ReadRouting>>,
    mailer: Arc<crate::infra::mail::Mailer>,
    policy: crate::domain::account_mail::AccountPolicy,
    plan_counters: plan::PlanCounters,
    documents: Arc<documents::DocumentCache>,
) -> AppSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), subscriptions::Subscription)
        .data(db)
        .data(auth)
        .data(notifier)
        .data(mailer)
        .data(policy)
        .data(plan_counters)
        .data(crate::domain::expensive::ExpensiveReads::default())
        .limit_complexity(MAX_COMPLEXITY);
    if let Some(routing) = read_routing {
        builder = builder.data(routing);
    }
    let production = matches!(environment, Environment::Production);
    builder = builder.extension(pipeline::Pipeline::new(documents, document_limits, production));
    builder = plan::install(builder);
    if production { builder.disable_suggestions().finish() } else { builder.finish() }
}

/// The schema without a database, for printing the SDL.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), subscriptions::Subscription).finish().sdl()
}

/// The data one request carries: its loaders (which know the viewer).
pub(crate) fn request_data(db: &DatabaseConnection, viewer: crate::domain::Viewer) -> Arc<Loaders> {
    Arc::new(Loaders::new(db, viewer))
}

/// The database connection this request reads and writes through (a query may read from the
/// replica, see `replica`).
pub(crate) fn db<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
}

/// The loaders of this request.
pub(crate) fn loaders<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Arc<Loaders>> {
    ctx.data::<Arc<Loaders>>()
}

/// The row a record's foreign key points at, through the request's cached loader: one that is
/// gone (or the viewer cannot see) is `NOT_FOUND` naming `what`.
pub(crate) async fn parent<E>(loader: &Cached<ById<E>>, id: i64, what: &'static str) -> GqlResult<Arc<E::Model>>
where
    E: Keyed + Send + Sync + 'static,
    E::Model: Send + Sync,
{
    Ok(loader.load_one(id).await?.ok_or(DomainError::NotFound(what))?)
}

/// The change notifier.
pub(crate) fn notifier<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Notifier> {
    Ok(ctx.data::<Arc<Notifier>>()?.as_ref())
}

/// The signed-in viewer's user id (guards have already required one).
pub(crate) fn viewer_id(ctx: &Context<'_>) -> async_graphql::Result<i64> {
    Ok(loaders(ctx)?.viewer.user_id.ok_or(DomainError::Unauthenticated)?)
}

/// Who makes this request's changes (the viewer) and the request's id, for `domain::audit`.
pub(crate) fn actor(ctx: &Context<'_>) -> async_graphql::Result<Actor> {
    Ok(Actor { user_id: loaders(ctx)?.viewer.user_id, request_id: ctx.data_opt::<RequestId>().map(|id| id.0.clone()) })
}

/// Exactly one of `id` and `slug`: `Ok(id)` or `Err(slug)`.
pub(crate) fn one_of(id: Option<ID>, slug: Option<String>) -> Result<Result<ID, String>, DomainError> {
    match (id, slug) {
        (Some(id), None) => Ok(Ok(id)),
        (None, Some(slug)) => Ok(Err(slug)),
        (Some(_), Some(_)) => Err(DomainError::invalid("slug", "give either `id` or `slug`, not both")),
        (None, None) => Err(DomainError::invalid("id", "give `id` or `slug`")),
    }
}
