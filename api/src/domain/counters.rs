//! Changing a maintained counter in one statement: the new count and version come back with
//! `RETURNING`. Callers hold the counter's row lock (`write::lock`) from before they read what the
//! change depends on, so a check and the change it allows are one step on both databases.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IdenStatic};

use super::notify::{Counter, Notice};
use super::{DomainError, DomainResult};

/// Adds `delta` to `count_column` of row `id` of `E` and bumps its version; `None` when no row
/// matched.
pub(crate) async fn bump<E, C>(
    txn: &C,
    counter: Counter,
    id_column: E::Column,
    count_column: E::Column,
    version_column: E::Column,
    id: i64,
    delta: i64,
) -> DomainResult<Option<Notice>>
where
    E: EntityTrait + Default,
    C: ConnectionTrait,
{
    let mut statement = Query::update();
    statement
        .table(E::default())
        .value(count_column, Expr::col(count_column).add(delta))
        .value(version_column, Expr::col(version_column).add(1))
        .and_where(id_column.eq(id))
        .returning(Query::returning().columns([count_column, version_column]));
    let Some(row) = txn.query_one(&statement).await? else { return Ok(None) };
    let count: i64 =
        row.try_get("", count_column.as_str()).map_err(|error| DomainError::Internal(error.to_string()))?;
    let version: i64 =
        row.try_get("", version_column.as_str()).map_err(|error| DomainError::Internal(error.to_string()))?;
    Ok(Some(Notice { counter, id, count, version }))
}
