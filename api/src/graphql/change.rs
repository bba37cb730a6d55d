//! One helper per kind of audited change a mutation makes (create, upsert, update, delete): each
//! takes this request's actor, runs the change in one write transaction and leaves its audit row
//! in that same transaction, so a resolver says only what changes and under which action name.

use async_graphql::Context;
use sea_orm::{DatabaseTransaction, EntityTrait, ModelTrait, PrimaryKeyTrait};

use super::errors::GqlResult;
use super::{actor, db};
use crate::domain::DomainResult;
use crate::domain::audit::{self, Actor, Audited};
use crate::domain::write::{self, Upserted};

/// Runs `change` (a creation) and records the row it made as `action`.
pub(crate) async fn create<M>(
    ctx: &Context<'_>,
    action: &str,
    change: impl AsyncFnOnce(&DatabaseTransaction, &Actor) -> DomainResult<M>,
) -> GqlResult<M>
where
    M: ModelTrait,
    M::Entity: Audited,
{
    let actor = actor(ctx)?;
    let created =
        write::transaction(db(ctx)?, async |txn| audit::created(txn, &actor, action, change(txn, &actor).await?).await);
    Ok(created.await?)
}

/// Runs `change` (an upsert) and records it as `action`: the whole row when it was created, the
/// changed fields when a stored row was updated.
pub(crate) async fn upsert<M>(
    ctx: &Context<'_>,
    action: &str,
    change: impl AsyncFnOnce(&DatabaseTransaction, &Actor) -> DomainResult<Upserted<M>>,
) -> GqlResult<Upserted<M>>
where
    M: ModelTrait,
    M::Entity: Audited,
{
    let actor = actor(ctx)?;
    let upserted = write::transaction(db(ctx)?, async |txn| {
        audit::upserted(txn, &actor, action, change(txn, &actor).await?).await
    });
    Ok(upserted.await?)
}

/// Runs `change` on row `id` of `E` after reading it under its lock, and records the fields it
/// changed as `action` (see `audit::updating`).
pub(crate) async fn update<E>(
    ctx: &Context<'_>,
    action: &str,
    id: i64,
    change: impl AsyncFnOnce(&DatabaseTransaction, &Actor) -> DomainResult<E::Model>,
) -> GqlResult<E::Model>
where
    E: Audited,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
{
    let actor = actor(ctx)?;
    let updated = write::transaction(db(ctx)?, async |txn| {
        audit::updating::<E, _>(txn, &actor, action, id, change(txn, &actor)).await
    });
    Ok(updated.await?)
}

/// Runs `change` (the deletion of row `id` of `E`) and records the row as it was as `action`.
pub(crate) async fn delete<E>(
    ctx: &Context<'_>,
    action: &str,
    id: i64,
    change: impl AsyncFnOnce(&DatabaseTransaction) -> DomainResult<()>,
) -> GqlResult<()>
where
    E: EntityTrait + Audited,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
{
    let actor = actor(ctx)?;
    let deleted =
        write::transaction(db(ctx)?, async |txn| audit::deleting::<E, _>(txn, &actor, action, id, change(txn)).await);
    Ok(deleted.await?)
}
